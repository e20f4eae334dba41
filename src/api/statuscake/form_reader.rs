//! A StatusCake form: parsed from its urlencoded body, then read field by field (its last
//! value, whole numbers and flags) with every problem kept by field name as StatusCake
//! answers them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// A form's fields: `contact_groups[]` and `contact_groups` are one field; every value kept.
pub type FormFields = BTreeMap<String, Vec<String>>;

/// Problems by StatusCake field name, as StatusCake answers them.
pub type FieldProblems = BTreeMap<String, Vec<String>>;

/// The status codes a StatusCake check can list.
pub(super) const STATUS_CODES: std::ops::RangeInclusive<u16> = 100..=599;

/// Parses an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> FormFields {
    let mut fields = FormFields::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        let key = key.strip_suffix("[]").unwrap_or(&key).to_owned();
        fields.entry(key).or_default().push(value.into_owned());
    }
    fields
}

pub(super) struct Reader<'a> {
    pub(super) form: &'a FormFields,
    pub(super) problems: FieldProblems,
}

impl<'a> Reader<'a> {
    /// A reader of `form`, and a native body holding the form's name as `display_name`
    /// (a missing name is its first problem).
    pub(super) fn start(form: &'a FormFields) -> (Self, Map<String, Value>) {
        let mut reader = Self {
            form,
            problems: FieldProblems::new(),
        };
        let mut body = Map::new();
        match reader.text("name").as_deref().map(str::trim) {
            None | Some("") => reader.problem("name", "is required"),
            Some(name) => {
                body.insert("display_name".into(), json!(name));
            }
        }
        (reader, body)
    }

    pub(super) fn problem(&mut self, field: &str, reason: &str) {
        self.problems
            .entry(field.to_owned())
            .or_default()
            .push(reason.to_owned());
    }

    /// The field's last value.
    pub(super) fn text(&self, field: &str) -> Option<String> {
        self.form.get(field).and_then(|v| v.last()).cloned()
    }

    pub(super) fn int(&mut self, field: &str) -> Option<u32> {
        let text = self.text(field)?;
        match text.trim().parse::<u32>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(field, &format!("must be a whole number (got {text:?})"));
                None
            }
        }
    }

    pub(super) fn flag(&mut self, field: &str) -> Option<bool> {
        let text = self.text(field)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" | "" => Some(false),
            _ => {
                self.problem(field, &format!("must be true or false (got {text:?})"));
                None
            }
        }
    }
}
