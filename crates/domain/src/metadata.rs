//! Free-form metadata on chats and messages: what a transcript store needs
//! beside the text (a model name, token usage, a tool call id, an external
//! reference), as one JSON object.

use serde_json::{Map, Value};

use crate::value::ValueError;

/// A JSON object of at most [`Metadata::MAX_KEYS`] top-level keys and
/// [`Metadata::MAX_BYTES`] serialised, nesting allowed, with no NUL
/// character anywhere (no database stores one in text). Empty by default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    /// Most top-level keys.
    pub const MAX_KEYS: usize = 64;
    /// Longest serialised form, in bytes.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// Checks a client's metadata.
    ///
    /// # Errors
    /// [`ValueError`] when it is not an object, has too many keys, is too
    /// large serialised, or contains a NUL character.
    pub fn new(value: Value) -> Result<Self, ValueError> {
        let Value::Object(map) = value else {
            return Err(ValueError::new("must be a JSON object"));
        };
        if map.len() > Self::MAX_KEYS {
            return Err(ValueError::new(format!(
                "must have at most {} keys",
                Self::MAX_KEYS
            )));
        }
        let serialised =
            serde_json::to_string(&map).map_err(|_| ValueError::new("must be a JSON object"))?;
        if serialised.len() > Self::MAX_BYTES {
            return Err(ValueError::new(format!(
                "must be at most {} bytes serialised",
                Self::MAX_BYTES
            )));
        }
        // Escaped in the serialised text, a NUL is "\u0000".
        if serialised.contains("\\u0000") {
            return Err(ValueError::new("must not contain NUL characters"));
        }
        Ok(Self(map))
    }

    /// Metadata as stored (already checked when it was set); a stored
    /// value that is not an object reads as empty.
    pub fn from_stored(value: Option<Value>) -> Self {
        match value {
            Some(Value::Object(map)) => Self(map),
            _ => Self::default(),
        }
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The object as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// The object, for storage: `None` when empty.
    pub fn to_stored(&self) -> Option<Value> {
        (!self.is_empty()).then(|| self.to_value())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_objects_are_metadata() {
        for bad in [json!([]), json!("x"), json!(1), json!(null), json!(true)] {
            assert!(Metadata::new(bad).is_err());
        }
        let nested = json!({"model": "gpt", "usage": {"in": 10, "out": [1, 2]}});
        assert_eq!(
            Metadata::new(nested.clone()).expect("valid").to_value(),
            nested
        );
    }

    #[test]
    fn keys_size_and_nul_are_bounded() {
        let keys: Map<String, Value> = (0..=Metadata::MAX_KEYS)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect();
        assert!(Metadata::new(Value::Object(keys.clone())).is_err());
        let mut fewer = keys;
        fewer.remove("k0");
        assert!(Metadata::new(Value::Object(fewer)).is_ok());

        let big = json!({"text": "x".repeat(Metadata::MAX_BYTES)});
        assert!(Metadata::new(big).is_err());
        assert!(Metadata::new(json!({"nul": "a\u{0}b"})).is_err());
        assert!(Metadata::new(json!({"a\u{0}": 1})).is_err());
    }

    #[test]
    fn empty_metadata_is_stored_as_nothing() {
        assert_eq!(Metadata::default().to_stored(), None);
        assert_eq!(Metadata::from_stored(None), Metadata::default());
        assert_eq!(Metadata::from_stored(Some(json!([1]))), Metadata::default());
    }
}
