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

/// The array fields of StatusCake's forms. Its published clients send each as one
/// comma-joined value (`tags=sdk,shop`), older clients and forms as repeated
/// `tags[]=sdk&tags[]=shop`; both read the same.
const ARRAY_FIELDS: [&str; 9] = [
    "alert_at",
    "contact_groups",
    "dns_ips",
    "email_addresses",
    "integrations",
    "mobile_numbers",
    "regions",
    "tags",
    "tests",
];

/// Parses an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> FormFields {
    let mut fields = FormFields::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        let key = key.strip_suffix("[]").unwrap_or(&key).to_owned();
        let values = fields.entry(key.clone()).or_default();
        if ARRAY_FIELDS.contains(&key.as_str()) {
            values.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
            );
        } else {
            values.push(value.into_owned());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_joined_and_repeated_arrays_read_the_same() {
        let joined = parse_form(b"name=a%2Cb&tags=sdk%2Cshop&contact_groups=1,%202");
        let repeated =
            parse_form(b"name=a%2Cb&tags[]=sdk&tags[]=shop&contact_groups=1&contact_groups=2");
        assert_eq!(joined, repeated);
        assert_eq!(joined["tags"], ["sdk", "shop"]);
        assert_eq!(joined["name"], ["a,b"]);
        assert_eq!(parse_form(b"tags=")["tags"], Vec::<String>::new());
    }
}
