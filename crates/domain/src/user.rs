//! Users and their value objects.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::value::{ValueError, check_chars};

/// A registered user, as every other user may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier.
    pub id: UserId,
    /// Normalised (trimmed, lower-case) e-mail address; unique.
    pub email: Email,
    /// Display name.
    pub full_name: FullName,
    /// When the account was created.
    pub created_at: OffsetDateTime,
}

/// An e-mail address, trimmed and lower-cased, that looks like
/// `local@domain.tld`. Two addresses differing only in case or surrounding
/// whitespace are the same address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321's path limit).
    pub const MAX_CHARS: usize = 254;

    /// Normalises and validates an address.
    ///
    /// # Errors
    /// [`ValueError`] when the address is empty, too long, contains
    /// whitespace, or is not of the form `local@domain.tld`.
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(ValueError::new("must not be empty"));
        }
        if email.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(format!(
                "must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        let invalid = || ValueError::new("must be a valid email address");
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.chars().count() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's display name: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FullName(String);

impl FullName {
    /// Longest name accepted, in Unicode scalar values.
    pub const MAX_CHARS: usize = 100;

    /// Trims and validates a name.
    ///
    /// # Errors
    /// [`ValueError`] when the trimmed name is empty or longer than
    /// [`Self::MAX_CHARS`].
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        check_chars(raw, 0, Self::MAX_CHARS)?;
        let name = raw.trim();
        check_chars(name, 1, Self::MAX_CHARS)?;
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FullName {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<FullName> for String {
    fn from(value: FullName) -> Self {
        value.0
    }
}

/// A plaintext password that satisfies the password policy: 8–128
/// characters, taken as given (no trimming). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Shortest password accepted.
    pub const MIN_CHARS: usize = 8;
    /// Longest password accepted.
    pub const MAX_CHARS: usize = 128;

    /// Checks a new password against the policy.
    ///
    /// # Errors
    /// [`ValueError`] when it is shorter than [`Self::MIN_CHARS`] or longer
    /// than [`Self::MAX_CHARS`] characters.
    pub fn new(raw: impl Into<String>) -> Result<Self, ValueError> {
        let raw = raw.into();
        check_chars(&raw, Self::MIN_CHARS, Self::MAX_CHARS)?;
        Ok(Self(raw))
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in PHC string format, as produced by a
/// [`crate::ports::PasswordHasher`]. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by a hasher or read from storage.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user as stored: the public view plus the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentials {
    /// The user.
    pub user: User,
    /// Their password hash.
    pub password_hash: PasswordHash,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::new("  Ada.Lovelace@Example.ORG \n").expect("valid");
        assert_eq!(email.as_str(), "ada.lovelace@example.org");
    }

    #[test]
    fn email_must_look_like_an_address() {
        for bad in [
            "",
            "   ",
            "plain",
            "@example.org",
            "ada@",
            "ada@example",
            "ada@@example.org",
            "a da@example.org",
            "ada@.example.org",
            "ada@example..org",
            "ada@-example.org",
        ] {
            assert!(Email::new(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn email_longer_than_254_characters_is_refused() {
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(Email::new(&long).is_err());
    }

    #[test]
    fn full_name_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(FullName::new("  Ada  ").expect("valid").as_str(), "Ada");
        assert!(FullName::new("   ").is_err());
        assert!(FullName::new(&"é".repeat(100)).is_ok());
        assert!(FullName::new(&"é".repeat(101)).is_err());
    }

    #[test]
    fn password_policy_is_8_to_128_characters() {
        assert!(Password::new("1234567").is_err());
        assert!(Password::new("12345678").is_ok());
        assert!(Password::new("ü".repeat(128)).is_ok());
        assert!(Password::new("ü".repeat(129)).is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let password = Password::new("hunter2hunter2").expect("valid");
        let hash = PasswordHash::new("$argon2id$secret");
        assert!(!format!("{password:?}").contains("hunter2"));
        assert!(!format!("{hash:?}").contains("secret"));
    }
}
