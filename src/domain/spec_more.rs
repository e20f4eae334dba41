//! The fields of a check most checks leave empty, kept in memory in one box beside the
//! others, and the way between a spec in memory and its written form.

use super::check::{CheckFields, CheckSpec};
use super::name::{CheckName, ContactName, LocationName};

/// The fields of a check most checks leave empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::domain) struct SpecMore {
    pub(in crate::domain) degraded_after_ms: Option<u32>,
    pub(in crate::domain) reminder_every: Option<u32>,
    pub(in crate::domain) display_name: Option<String>,
    pub(in crate::domain) locations: Option<Vec<LocationName>>,
    pub(in crate::domain) quorum: Option<u32>,
    pub(in crate::domain) flap_threshold: Option<u32>,
    pub(in crate::domain) flap_window: Option<u32>,
    pub(in crate::domain) escalate_after: Option<u32>,
    pub(in crate::domain) escalate_to: Option<Vec<ContactName>>,
    pub(in crate::domain) depends_on: Vec<CheckName>,
}

impl SpecMore {
    /// Every field empty: what a spec without the box reads.
    const EMPTY: &'static Self = &Self {
        degraded_after_ms: None,
        reminder_every: None,
        display_name: None,
        locations: None,
        quorum: None,
        flap_threshold: None,
        flap_window: None,
        escalate_after: None,
        escalate_to: None,
        depends_on: Vec::new(),
    };
}

impl Default for SpecMore {
    fn default() -> Self {
        Self::EMPTY.clone()
    }
}

/// Equal when every field is: an absent [`SpecMore`] equals an empty one.
impl PartialEq for CheckSpec {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target
            && self.check_rate == other.check_rate
            && self.timeout == other.timeout
            && self.failures_to_confirm == other.failures_to_confirm
            && self.successes_to_recover == other.successes_to_recover
            && self.retry_interval == other.retry_interval
            && self.contacts == other.contacts
            && self.stack == other.stack
            && self.tags == other.tags
            && self.more() == other.more()
    }
}

impl From<CheckFields> for CheckSpec {
    fn from(f: CheckFields) -> Self {
        let more = SpecMore {
            degraded_after_ms: f.degraded_after_ms,
            reminder_every: f.reminder_every,
            display_name: f.display_name,
            locations: f.locations,
            quorum: f.quorum,
            flap_threshold: f.flap_threshold,
            flap_window: f.flap_window,
            escalate_after: f.escalate_after,
            escalate_to: f.escalate_to,
            depends_on: f.depends_on,
        };
        Self {
            target: f.target,
            check_rate: f.check_rate,
            timeout: f.timeout,
            failures_to_confirm: f.failures_to_confirm,
            successes_to_recover: f.successes_to_recover,
            retry_interval: f.retry_interval,
            contacts: f.contacts,
            stack: f.stack,
            tags: f.tags,
            more: (more != *SpecMore::EMPTY).then(|| Box::new(more)),
        }
    }
}

impl From<CheckSpec> for CheckFields {
    fn from(s: CheckSpec) -> Self {
        let more = s.more.map_or_else(SpecMore::default, |more| *more);
        Self {
            target: s.target,
            check_rate: s.check_rate,
            timeout: s.timeout,
            failures_to_confirm: s.failures_to_confirm,
            successes_to_recover: s.successes_to_recover,
            retry_interval: s.retry_interval,
            contacts: s.contacts,
            degraded_after_ms: more.degraded_after_ms,
            reminder_every: more.reminder_every,
            stack: s.stack,
            tags: s.tags,
            display_name: more.display_name,
            locations: more.locations,
            quorum: more.quorum,
            flap_threshold: more.flap_threshold,
            flap_window: more.flap_window,
            escalate_after: more.escalate_after,
            escalate_to: more.escalate_to,
            depends_on: more.depends_on,
        }
    }
}

impl CheckSpec {
    /// The fields most checks leave empty.
    pub(in crate::domain) fn more(&self) -> &SpecMore {
        self.more.as_deref().unwrap_or(SpecMore::EMPTY)
    }

    /// Those fields to set, for tests building a spec field by field.
    #[cfg(test)]
    pub(in crate::domain) fn more_mut(&mut self) -> &mut SpecMore {
        self.more.get_or_insert_with(Box::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FieldErrors, Form};

    /// Reads `body` as the API does, without a registry of contacts and locations.
    fn read(body: serde_json::Value) -> Result<CheckSpec, FieldErrors> {
        let serde_json::Value::Object(fields) = body else {
            panic!("not an object");
        };
        let mut form = Form::new(fields);
        let spec = CheckSpec::read(&mut form, None);
        form.finish(spec)
    }

    #[test]
    fn a_plain_spec_holds_no_rare_fields_and_is_written_whole() {
        let plain = read(serde_json::json!({"url": "https://a.example/"})).unwrap();
        assert!(plain.more.is_none());
        let written = serde_json::to_value(&plain).unwrap();
        for field in [
            "display_name",
            "locations",
            "quorum",
            "escalate_to",
            "depends_on",
        ] {
            assert!(
                written.get(field).is_some(),
                "{field} is written: {written}"
            );
        }
        let back: CheckSpec = serde_json::from_value(written).unwrap();
        assert_eq!(back, plain);
        assert!(back.more.is_none(), "empty fields read back take no box");
        assert!(
            std::mem::size_of::<CheckSpec>() + 100 < std::mem::size_of::<CheckFields>(),
            "{} against {}",
            std::mem::size_of::<CheckSpec>(),
            std::mem::size_of::<CheckFields>()
        );
    }

    #[test]
    fn a_spec_with_rare_fields_keeps_them_through_writing() {
        let spec = read(serde_json::json!({
            "url": "https://a.example/",
            "display_name": "Shop",
            "reminder_every": 600,
            "depends_on": ["db"],
        }))
        .unwrap();
        assert_eq!(spec.display_name(), Some("Shop"));
        assert_eq!(spec.reminder_every(), Some(600));
        assert_eq!(spec.depends_on().len(), 1);
        let back: CheckSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
        let mut emptied = spec.clone();
        *emptied.more_mut() = SpecMore::default();
        let plain = read(serde_json::json!({"url": "https://a.example/"})).unwrap();
        assert_ne!(spec, plain);
        assert_eq!(emptied, plain, "an emptied box equals none");
    }
}
