//! Validated paging parameters: a value of these types is always in range,
//! so use cases and adapters never check a range again.

use crate::value::ValueError;

/// A page size between 1 and `MAX` (each list has its own maximum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageLimit<const MAX: u32>(u32);

impl<const MAX: u32> PageLimit<MAX> {
    /// The largest page.
    pub const MAX: u32 = MAX;

    /// Checks a requested page size.
    ///
    /// # Errors
    /// [`ValueError`] outside 1–`MAX`.
    pub fn new(requested: i64) -> Result<Self, ValueError> {
        u32::try_from(requested)
            .ok()
            .filter(|n| (1..=MAX).contains(n))
            .map(Self)
            .ok_or_else(|| ValueError::new(format!("must be between 1 and {MAX}")))
    }

    /// The size.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A position in a chat's sequence (or a count of positions): never
/// negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seq(i64);

impl Seq {
    /// Checks a position given by a client.
    ///
    /// # Errors
    /// [`ValueError`] when negative.
    pub fn new(value: i64) -> Result<Self, ValueError> {
        if value < 0 {
            return Err(ValueError::new("must not be negative"));
        }
        Ok(Self(value))
    }

    /// A position computed from stored ones, negative values counted as 0.
    pub fn clamped(value: i64) -> Self {
        Self(value.max(0))
    }

    /// The position.
    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limits_are_1_to_their_maximum() {
        assert!(PageLimit::<200>::new(0).is_err());
        assert!(PageLimit::<200>::new(-1).is_err());
        assert!(PageLimit::<200>::new(201).is_err());
        assert!(PageLimit::<200>::new(i64::MAX).is_err());
        assert_eq!(PageLimit::<200>::new(200).expect("valid").get(), 200);
        assert_eq!(PageLimit::<100>::new(1).expect("valid").get(), 1);
        assert_eq!(
            PageLimit::<100>::new(101).expect_err("too big").message(),
            "must be between 1 and 100"
        );
    }

    #[test]
    fn seqs_are_never_negative() {
        assert!(Seq::new(-1).is_err());
        assert_eq!(Seq::new(0).expect("valid").get(), 0);
        assert_eq!(Seq::clamped(-5).get(), 0);
    }
}
