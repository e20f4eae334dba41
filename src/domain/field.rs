//! Field-level validation: the error that names a field and why, and the bounded integer
//! fields of a check with their defaults (the single table the API and docs read from).

use std::fmt;

/// One rejected input field: the JSON path of the field and the reason, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field as the client wrote it, e.g. `check_rate` or `checks[2].url`.
    pub field: String,
    /// Why the value was rejected.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error, with its field placed under `prefix` (e.g. `checks[3]`).
    pub fn under(self, prefix: &str) -> Self {
        Self {
            field: format!("{prefix}.{}", self.field),
            reason: self.reason,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Every problem found in one input, so a client can fix them all at once.
pub type FieldErrors = Vec<FieldError>;

/// A bounded whole-number field of a check: its name, default, and inclusive bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntField {
    /// The field's name in the API.
    pub name: &'static str,
    /// Value used when the field is left out.
    pub default: u32,
    /// Smallest accepted value.
    pub min: u32,
    /// Largest accepted value.
    pub max: u32,
}

impl IntField {
    /// The given value, or the default when absent; out-of-bounds values are reported.
    pub fn resolve(&self, value: Option<u32>, errors: &mut FieldErrors) -> u32 {
        let v = value.unwrap_or(self.default);
        if !(self.min..=self.max).contains(&v) {
            errors.push(FieldError::new(
                self.name,
                format!("must be between {} and {}, got {v}", self.min, self.max),
            ));
        }
        v
    }

    /// Like [`IntField::resolve`] for a field that is off when absent.
    pub fn resolve_optional(&self, value: Option<u32>, errors: &mut FieldErrors) -> Option<u32> {
        value.map(|v| self.resolve(Some(v), errors))
    }
}

/// Bounds and defaults of every numeric check field. Durations are seconds.
pub mod limits {
    use super::IntField;

    pub const CHECK_RATE: IntField = IntField {
        name: "check_rate",
        default: 60,
        min: 10,
        max: 86_400,
    };
    /// A domain check's rate: its registration is looked up once a day.
    pub const DOMAIN_CHECK_RATE: IntField = IntField {
        name: "check_rate",
        default: 86_400,
        min: 10,
        max: 86_400,
    };
    pub const TIMEOUT: IntField = IntField {
        name: "timeout",
        default: 10,
        min: 1,
        max: 75,
    };
    /// Off by default; when set, a slower answer counts as down.
    pub const MAX_RESPONSE_TIME_MS: IntField = IntField {
        name: "max_response_time_ms",
        default: 0,
        min: 1,
        max: 75_000,
    };
    /// Off by default; when set, a slower answer that is otherwise up counts as slow, and
    /// slow answers confirmed make the check DEGRADED.
    pub const DEGRADED_AFTER_MS: IntField = IntField {
        name: "degraded_after_ms",
        default: 0,
        min: 1,
        max: 75_000,
    };
    pub const CERT_EXPIRY_DAYS: IntField = IntField {
        name: "cert_expiry_days",
        default: 14,
        min: 0,
        max: 365,
    };
    /// A domain check warns this many days before its registration expires.
    pub const DOMAIN_EXPIRY_DAYS: IntField = IntField {
        name: "domain_expiry_days",
        default: 30,
        min: 1,
        max: 365,
    };
    pub const FAILURES_TO_CONFIRM: IntField = IntField {
        name: "failures_to_confirm",
        default: 2,
        min: 1,
        max: 10,
    };
    pub const SUCCESSES_TO_RECOVER: IntField = IntField {
        name: "successes_to_recover",
        default: 1,
        min: 1,
        max: 10,
    };
    pub const RETRY_INTERVAL: IntField = IntField {
        name: "retry_interval",
        default: 10,
        min: 1,
        max: 3_600,
    };
    /// Off by default; when set, the DOWN alert is repeated this often while down.
    pub const REMINDER_EVERY: IntField = IntField {
        name: "reminder_every",
        default: 0,
        min: 60,
        max: 604_800,
    };
    /// How many of a check's locations must confirm DOWN (default: a majority).
    pub const QUORUM: IntField = IntField {
        name: "quorum",
        default: 0,
        min: 1,
        max: 16,
    };

    /// Confirmed changes between UP and DOWN within `flap_window` beyond which a check is
    /// flapping (as Nagios's default: more than 4 changes among its last 21 results).
    pub const FLAP_THRESHOLD: IntField = IntField {
        name: "flap_threshold",
        default: 4,
        min: 2,
        max: 1_000,
    };
    /// The window flapping is counted over, and how long a flapping check must stay
    /// without a change to be stable again: 1 minute to a day (default 30 minutes).
    pub const FLAP_WINDOW: IntField = IntField {
        name: "flap_window",
        default: 1_800,
        min: 60,
        max: 86_400,
    };

    /// Minutes an outage may go unacknowledged before `escalate_to` is alerted too: up
    /// to a week (off by default).
    pub const ESCALATE_AFTER: IntField = IntField {
        name: "escalate_after",
        default: 0,
        min: 1,
        max: 10_080,
    };

    /// A heartbeat's expected interval between pings: 10 s to 30 days.
    pub const PERIOD: IntField = IntField {
        name: "period",
        default: 0,
        min: 10,
        max: 2_592_000,
    };
    /// How late a heartbeat's ping may be: up to 30 days.
    pub const GRACE: IntField = IntField {
        name: "grace",
        default: 0,
        min: 0,
        max: 2_592_000,
    };

    /// How long a new heartbeat waits for its first ping: up to 60 days.
    pub const GRACE_FIRST: IntField = IntField {
        name: "grace_first",
        default: 0,
        min: 10,
        max: 5_184_000,
    };

    /// A heartbeat's shortest acceptable run (from `/start` to its end): up to 30 days.
    pub const MIN_RUNTIME: IntField = IntField {
        name: "min_runtime",
        default: 0,
        min: 1,
        max: 2_592_000,
    };

    /// A heartbeat's longest acceptable run: up to 30 days.
    pub const MAX_RUNTIME: IntField = IntField {
        name: "max_runtime",
        default: 0,
        min: 1,
        max: 2_592_000,
    };

    /// The shortest acceptable time between two of a heartbeat's runs: up to 30 days.
    pub const MIN_INTERVAL: IntField = IntField {
        name: "min_interval",
        default: 0,
        min: 1,
        max: 2_592_000,
    };

    /// Longest request body a check may send, in bytes.
    pub const MAX_BODY_BYTES: usize = 65_536;
    /// Longest keyword for `body_contains` / `body_not_contains`, in bytes.
    pub const MAX_KEYWORD_BYTES: usize = 1_024;
    /// Most custom headers on one check.
    pub const MAX_HEADERS: usize = 50;
    /// Most names in a check's `secret_names`.
    pub const MAX_SECRET_NAMES: usize = 32;
    /// Most tags on one check.
    pub const MAX_TAGS: usize = 32;
    /// Most contacts on one check.
    pub const MAX_CONTACTS: usize = 16;
    /// The most checks a `depends_on` may name.
    pub const MAX_DEPENDS_ON: usize = 16;
    /// Most locations probing one check.
    pub const MAX_LOCATIONS: usize = 16;
    /// Longest URL, in bytes.
    pub const MAX_URL_BYTES: usize = 2_048;
    /// Most bytes of a tcp check's `send` and `expect`, and of each dns `expect` value.
    pub const MAX_EXCHANGE_BYTES: usize = 1_024;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_uses_default_and_reports_bounds() {
        let mut errors = Vec::new();
        assert_eq!(limits::CHECK_RATE.resolve(None, &mut errors), 60);
        assert!(errors.is_empty());
        assert_eq!(limits::CHECK_RATE.resolve(Some(5), &mut errors), 5);
        assert_eq!(
            errors,
            vec![FieldError::new(
                "check_rate",
                "must be between 10 and 86400, got 5"
            )]
        );
    }

    #[test]
    fn optional_field_stays_off_when_absent() {
        let mut errors = Vec::new();
        assert_eq!(
            limits::REMINDER_EVERY.resolve_optional(None, &mut errors),
            None
        );
        assert_eq!(
            limits::REMINDER_EVERY.resolve_optional(Some(30), &mut errors),
            Some(30)
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "reminder_every");
    }
}
