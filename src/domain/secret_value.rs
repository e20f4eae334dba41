//! A secret string from the configuration (a token, a webhook URL, a password): compared
//! and used, never printed.

use std::fmt;

use serde::Deserialize;

/// A secret string: its `Debug` shows no value, and reading it is explicit.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for comparison or for writing it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret itself, to fill in `${VAR}` from the environment when it is read.
    pub fn expose_mut(&mut self) -> &mut String {
        &mut self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}
