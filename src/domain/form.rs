//! Reading a check from the JSON object a client sent: one field at a time, each with the
//! type the domain declares for it, every problem collected under the field's name, so a
//! client learns of all of them at once.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::field::{FieldError, FieldErrors, IntField};

/// A JSON object being read field by field; what was not read is left over.
#[derive(Debug, Default)]
pub struct Form {
    fields: Map<String, Value>,
    errors: FieldErrors,
}

impl Form {
    pub fn new(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            errors: Vec::new(),
        }
    }

    /// Takes `name` out of the object. Absent and `null` are `None`; a value of the wrong
    /// shape is an error naming the field (and the place inside it).
    pub fn take<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let value = self.fields.remove(name)?;
        if value.is_null() {
            return None;
        }
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let path = e.path().to_string();
                let field = if path == "." {
                    name.to_owned()
                } else {
                    format!("{name}.{path}")
                };
                self.errors
                    .push(FieldError::new(field, e.into_inner().to_string()));
                None
            }
        }
    }

    /// A bounded whole number, its default when left out.
    pub fn int(&mut self, field: IntField) -> u32 {
        let value = self.take(field.name);
        field.resolve(value, &mut self.errors)
    }

    /// A bounded whole number that is off when left out.
    pub fn optional_int(&mut self, field: IntField) -> Option<u32> {
        let value = self.take(field.name);
        field.resolve_optional(value, &mut self.errors)
    }

    /// Whether `name` was given (and is not `null`), without taking it.
    pub fn given(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|v| !v.is_null())
    }

    /// Records a problem with a field.
    pub fn error(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    /// Records problems found elsewhere.
    pub fn extend(&mut self, errors: FieldErrors) {
        self.errors.extend(errors);
    }

    /// Whether no problem was found so far.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// The names of the fields not read, in the object's order; they are dropped.
    pub fn leftover(&mut self) -> Vec<String> {
        std::mem::take(&mut self.fields)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// `value` when no problem was found, else every problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, FieldErrors> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(self.errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(json: Value) -> Form {
        match json {
            Value::Object(map) => Form::new(map),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn take_collects_every_bad_field_with_its_path() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            x: u32,
        }
        let mut f = form(serde_json::json!({"a": "x", "b": {"y": 1}, "c": null, "d": 5}));
        assert_eq!(f.take::<u32>("a"), None);
        assert!(f.take::<Inner>("b").is_none());
        assert_eq!(f.take::<u32>("c"), None);
        assert_eq!(f.take::<u32>("missing"), None);
        assert_eq!(f.leftover(), vec!["d".to_owned()]);
        let errors = f.finish(Some(())).unwrap_err();
        let fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["a", "b.y"]);
    }
}
