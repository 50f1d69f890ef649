//! Validation failures of value objects.

use std::fmt;

/// Why a raw value was refused by a value object's constructor. The message
/// is meant for API clients ("must be at most 100 characters").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValueError {
    message: String,
}

impl ValueError {
    /// A refusal with a client-facing message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks that `value` holds between `min` and `max` Unicode scalar values
/// and no NUL character (which no text column can store).
pub(crate) fn check_chars(value: &str, min: usize, max: usize) -> Result<(), ValueError> {
    if value.contains('\0') {
        return Err(ValueError::new("must not contain NUL characters"));
    }
    let count = value.chars().count();
    if count < min {
        return Err(if min == 1 {
            ValueError::new("must not be empty")
        } else {
            ValueError::new(format!("must be at least {min} characters"))
        });
    }
    if count > max {
        return Err(ValueError::new(format!("must be at most {max} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_refused() {
        assert!(check_chars("a\0b", 1, 10).is_err());
        assert!(check_chars("a\tb\n", 1, 10).is_ok());
    }
}
