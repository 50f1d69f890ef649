//! Naming every field of a JSON document that does not fit its type, not
//! only the first one serde meets.
//!
//! Runs only on the cold path, after the one fast pass over the bytes has
//! failed: the document is deserialised again from a [`Value`], and each
//! time a field fails it is recorded and its slot filled with a placeholder
//! so the next pass gets past it.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::without_position;
use crate::error::FieldError;

/// At most this many field errors are reported for one document.
pub(super) const MAX_ERRORS: usize = 32;

/// At most this many deserialisation passes are spent on one document, so
/// a 64 KiB body of garbage costs a bounded amount of work (measured: 128
/// passes over 64 KiB of UUIDs, about 12 ms in a release build). Reporting the
/// [`MAX_ERRORS`] errors of a realistic body takes far fewer: a run of bad
/// array elements costs about one pass each.
const MAX_PASSES: usize = 128;

/// Every field of `document` that keeps it from deserialising as `T`, in
/// the order serde meets them, each field once, at most [`MAX_ERRORS`].
///
/// A missing field is `parent.name` with "is required"; a wrong type or
/// value is its path (`email`, `nested.inner`, `member_ids[2]`) with
/// serde's message. A document that is not an object, or an error serde
/// places at the root, is one `body` error. Empty when `document` fits `T`.
pub(super) fn collect<T: DeserializeOwned>(mut document: Value) -> Vec<FieldError> {
    let mut passes = Passes::default();
    let mut next = passes.first_error::<T>(&document);
    if !document.is_object() {
        return next
            .map(|found| vec![FieldError::new("body", found.error.message)])
            .unwrap_or_default();
    }
    let mut errors: Vec<FieldError> = Vec::new();
    while let Some(found) = next {
        if !errors.iter().any(|known| known.field == found.error.field) {
            errors.push(found.error.clone());
        }
        if errors.len() >= MAX_ERRORS {
            break;
        }
        match passes.get_past::<T>(&mut document, &found) {
            Some(after) => next = after,
            None => break,
        }
    }
    errors
}

/// The field error for the failure serde reported at `path`. serde reports
/// a missing field at its parent's path, naming it in the message ("missing
/// field `email`"); that becomes `parent.email`, "is required".
pub(super) fn field_error(path: &str, error: &serde_json::Error) -> FieldError {
    let message = without_position(error);
    let parent = if path == "." { "" } else { path };
    if let Some(name) = missing_field(&message) {
        let field = if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        };
        return FieldError::new(field, "is required");
    }
    let field = if parent.is_empty() { "body" } else { parent };
    FieldError::new(field, message)
}

fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
}

/// One step from a value to a part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object member (a struct field, a map key, an enum variant).
    Key(String),
    /// An array element.
    Index(usize),
    /// A place serde could not name (a non-string map key).
    Unknown,
}

/// A failure of one pass, and the slot in the document it is about.
#[derive(Debug)]
struct Failure {
    /// What the client is told.
    error: FieldError,
    /// Where the offending value is (or, for a missing field, would be).
    slot: Vec<Step>,
    /// For an unknown enum variant, the first variant serde expects: the
    /// placeholder most likely to get past it.
    variant: Option<String>,
}

impl Failure {
    fn new(path: &serde_path_to_error::Path, error: &serde_json::Error) -> Self {
        let field = field_error(&path.to_string(), error);
        let mut slot: Vec<Step> = path
            .iter()
            .map(|segment| match segment {
                Segment::Seq { index } => Step::Index(*index),
                Segment::Map { key } | Segment::Enum { variant: key } => Step::Key(key.clone()),
                Segment::Unknown => Step::Unknown,
            })
            .collect();
        let message = without_position(error);
        if let Some(name) = missing_field(&message) {
            slot.push(Step::Key(name.to_owned()));
        }
        Self {
            error: field,
            slot,
            variant: expected_variant(&message),
        }
    }
}

/// The first variant named in serde's "unknown variant `x`, expected `a`",
/// "… expected `a` or `b`" or "… expected one of `a`, `b`, `c`".
fn expected_variant(message: &str) -> Option<String> {
    let expected = message
        .strip_prefix("unknown variant `")?
        .split_once("`, expected ")?
        .1;
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    let name = expected.strip_prefix('`')?.split('`').next()?;
    Some(name.to_owned())
}

/// Placeholders tried in a failing slot, in this order: between them they
/// satisfy every field type the API's bodies use.
fn placeholders() -> [Value; 8] {
    [
        Value::Null,
        Value::String(String::new()),
        Value::from(0),
        Value::Bool(false),
        Value::Array(Vec::new()),
        Value::Object(serde_json::Map::new()),
        Value::String(uuid::Uuid::nil().to_string()),
        Value::String("1970-01-01T00:00:00Z".to_owned()),
    ]
}

/// The deserialisation passes spent on one document.
#[derive(Debug, Default)]
struct Passes {
    /// How many have run.
    spent: usize,
    /// The placeholder that last got past a slot: a run of bad array
    /// elements is usually a run of the same type.
    last_good: Option<Value>,
}

impl Passes {
    /// Deserialises `T` from `document`; the first failure, if any.
    fn first_error<T: DeserializeOwned>(&mut self, document: &Value) -> Option<Failure> {
        self.spent += 1;
        serde_path_to_error::deserialize::<_, T>(document)
            .err()
            .map(|error| Failure::new(error.path(), error.inner()))
    }

    /// Fills the slot of `failure` with the first placeholder after which
    /// the next failure is elsewhere, and returns that next failure (`None`
    /// inside when the document now fits). A placeholder after which serde
    /// fails at an enclosing value (a flattened struct, an array read as a
    /// struct) is kept only when no other gets past. An enum that names its
    /// variants when refusing a placeholder gets its first variant next.
    ///
    /// `None` when the slot is the root, cannot be reached, no placeholder
    /// gets past it, or the passes are spent; the document is then as before.
    fn get_past<T: DeserializeOwned>(
        &mut self,
        document: &mut Value,
        failure: &Failure,
    ) -> Option<Option<Failure>> {
        let slot = failure.slot.as_slice();
        if slot.is_empty() {
            return None;
        }
        let mut queue: Vec<Value> = failure
            .variant
            .clone()
            .map(Value::String)
            .into_iter()
            .chain(self.last_good.clone())
            .chain(placeholders())
            .collect();
        let mut fallback: Option<(Value, Failure)> = None;
        let mut tried = 0;
        while let Some(placeholder) = queue.get(tried).cloned() {
            tried += 1;
            if self.spent >= MAX_PASSES {
                break;
            }
            let previous = put(document, slot, placeholder.clone())?;
            let Some(next) = self.first_error::<T>(document) else {
                self.last_good = Some(placeholder);
                return Some(None);
            };
            if !slot.starts_with(&next.slot) {
                self.last_good = Some(placeholder);
                return Some(Some(next));
            }
            if next.slot.len() < slot.len() && fallback.is_none() {
                fallback = Some((placeholder, next));
            } else if let Some(variant) = next.variant {
                // An enum that refused a placeholder of the wrong type
                // names its variants when given a string.
                let variant = Value::String(variant);
                if !queue.contains(&variant) {
                    queue.insert(tried, variant);
                }
            }
            restore(document, slot, previous);
        }
        let (placeholder, next) = fallback?;
        put(document, slot, placeholder)?;
        Some(Some(next))
    }
}

/// Puts `value` at `slot` (adding the member when the object lacks it) and
/// returns what was there, `Some(None)` for an absent member. `None`, with
/// `document` untouched, when the slot cannot be reached.
fn put(document: &mut Value, slot: &[Step], value: Value) -> Option<Option<Value>> {
    let (last, parents) = slot.split_last()?;
    match (last, at(document, parents)?) {
        (Step::Key(key), Value::Object(members)) => Some(members.insert(key.clone(), value)),
        (Step::Index(index), Value::Array(elements)) => {
            let element = elements.get_mut(*index)?;
            Some(Some(std::mem::replace(element, value)))
        }
        _ => None,
    }
}

/// Undoes [`put`]: `previous` is what it returned.
fn restore(document: &mut Value, slot: &[Step], previous: Option<Value>) {
    match previous {
        Some(value) => {
            put(document, slot, value);
        }
        None => {
            if let Some((Step::Key(key), parents)) = slot.split_last()
                && let Some(Value::Object(members)) = at(document, parents)
            {
                members.remove(key);
            }
        }
    }
}

/// The value at `path`, if there is one.
fn at<'a>(document: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(document, |value, step| match (step, value) {
            (Step::Key(key), Value::Object(members)) => members.get_mut(key),
            (Step::Index(index), Value::Array(elements)) => elements.get_mut(*index),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_expected_variant_is_read_from_each_of_serdes_phrasings() {
        for (message, variant) in [
            ("unknown variant `x`, expected `a`", Some("a")),
            ("unknown variant `x`, expected `a` or `b`", Some("a")),
            (
                "unknown variant `x`, expected one of `a`, `b`, `c`",
                Some("a"),
            ),
            ("unknown variant `x`, there are no variants", None),
            ("invalid type: integer `5`, expected a string", None),
        ] {
            assert_eq!(expected_variant(message).as_deref(), variant, "{message}");
        }
    }

    #[test]
    fn put_and_restore_leave_the_document_as_it_was() {
        let original = serde_json::json!({"a": {"b": [1, 2]}});
        let mut document = original.clone();
        for slot in [
            vec![Step::Key("a".into()), Step::Key("c".into())],
            vec![Step::Key("a".into()), Step::Key("b".into()), Step::Index(1)],
        ] {
            let previous = put(&mut document, &slot, Value::Null).expect("reachable");
            assert_ne!(document, original);
            restore(&mut document, &slot, previous);
            assert_eq!(document, original);
        }
        let unreachable = [Step::Key("a".into()), Step::Index(0)];
        assert!(put(&mut document, &unreachable, Value::Null).is_none());
        assert!(put(&mut document, &[Step::Unknown], Value::Null).is_none());
        assert_eq!(document, original);
    }
}
