//! What the team tells a stack's customers on its status page: an update with a stage
//! (investigating, identified, monitoring, resolved), a message in plain text or a small
//! Markdown subset, and the checks it concerns; read once from the API's body or the
//! dashboard's form into values that cannot be invalid.

use super::{CheckName, FieldError, FieldErrors};

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 5_000;
/// Most checks one update may name.
pub const MAX_AFFECTED: usize = 100;

/// Where the team stands with a problem, in the order it usually goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStage {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl UpdateStage {
    pub const ALL: [Self; 4] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }

    /// The stage as a page shows it: "Investigating".
    pub fn title(self) -> &'static str {
        match self {
            Self::Investigating => "Investigating",
            Self::Identified => "Identified",
            Self::Monitoring => "Monitoring",
            Self::Resolved => "Resolved",
        }
    }
}

impl std::str::FromStr for UpdateStage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| {
                format!("must be investigating, identified, monitoring or resolved, not {s:?}")
            })
    }
}

/// The words of an update: 1 to [`MAX_MESSAGE_CHARS`] characters, no control characters
/// but line breaks, no white space around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMessage(String);

impl UpdateMessage {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for UpdateMessage {
    type Error = String;

    fn try_from(text: &str) -> Result<Self, String> {
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let count = text.chars().count();
        if count == 0 {
            Err("must not be empty".to_owned())
        } else if count > MAX_MESSAGE_CHARS {
            Err(format!(
                "must be at most {MAX_MESSAGE_CHARS} characters, got {count}"
            ))
        } else if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            Err("must not contain control characters other than line breaks".to_owned())
        } else {
            Ok(Self(text.replace("\r\n", "\n")))
        }
    }
}

/// An update as the team wrote it, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateText {
    pub stage: UpdateStage,
    pub message: UpdateMessage,
    /// The checks it concerns, each once, in the order given.
    pub checks: Vec<CheckName>,
}

impl UpdateText {
    /// Reads a stage, a message and check names: every problem, each naming its field.
    pub fn read(stage: &str, message: &str, checks: &[String]) -> Result<Self, FieldErrors> {
        let mut errors = Vec::new();
        let stage = stage
            .parse::<UpdateStage>()
            .map_err(|e| errors.push(FieldError::new("status", e)))
            .ok();
        let message = UpdateMessage::try_from(message)
            .map_err(|e| errors.push(FieldError::new("message", e)))
            .ok();
        let affected = read_checks(checks).map_err(|e| errors.extend(e)).ok();
        match (stage, message, affected) {
            (Some(stage), Some(message), Some(checks)) if errors.is_empty() => Ok(Self {
                stage,
                message,
                checks,
            }),
            _ => Err(errors),
        }
    }
}

/// A subscriber's mail of a new update: subject and body (the message as written; the
/// sender adds the page's and the unsubscribe link).
pub fn update_mail(stack: &super::StackName, text: &UpdateText) -> (String, String) {
    let checks: Vec<&str> = text.checks.iter().map(CheckName::as_str).collect();
    let subject = if checks.is_empty() {
        format!("[{stack}] {}", text.stage.title())
    } else {
        format!("[{stack}] {}: {}", text.stage.title(), checks.join(", "))
    };
    (subject, text.message.as_str().to_owned())
}

/// A subscriber's mail of an announced maintenance window: subject and body.
pub fn window_mail(stack: &super::StackName, when: &str, reason: Option<&str>) -> (String, String) {
    let subject = format!("[{stack}] Scheduled maintenance: {when}");
    let body = match reason {
        Some(reason) => format!("Scheduled maintenance: {when}\n\n{reason}"),
        None => format!("Scheduled maintenance: {when}"),
    };
    (subject, body)
}

/// Check names, each once: a name given twice is kept once.
pub fn read_checks(names: &[String]) -> Result<Vec<CheckName>, FieldErrors> {
    if names.len() > MAX_AFFECTED {
        return Err(vec![FieldError::new(
            "checks",
            format!("at most {MAX_AFFECTED} checks, got {}", names.len()),
        )]);
    }
    let mut errors = Vec::new();
    let mut checks: Vec<CheckName> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        match name.parse::<CheckName>() {
            Ok(name) if checks.contains(&name) => {}
            Ok(name) => checks.push(name),
            Err(e) => errors.push(FieldError::new(format!("checks[{i}]"), e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(checks)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(stage: &str, message: &str, checks: &[&str]) -> Vec<String> {
        let checks: Vec<String> = checks.iter().map(|c| (*c).to_owned()).collect();
        match UpdateText::read(stage, message, &checks) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn an_update_is_read_once_with_every_problem_named() {
        let text = UpdateText::read(
            "identified",
            "  The database ran out of disk.\r\nFreeing space. ",
            &["acme-web".into(), "acme-api".into(), "acme-web".into()],
        )
        .unwrap();
        assert_eq!(text.stage, UpdateStage::Identified);
        assert_eq!(
            text.message.as_str(),
            "The database ran out of disk.\nFreeing space."
        );
        assert_eq!(text.checks.len(), 2);
        assert_eq!(
            fields("fixed", " ", &["Bad Name"]),
            [
                "status: must be investigating, identified, monitoring or resolved, not \"fixed\"",
                "message: must not be empty",
                "checks[0]: must start with a lowercase letter or a digit",
            ]
        );
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            fields("resolved", &long, &[]),
            ["message: must be at most 5000 characters, got 5001"]
        );
        assert_eq!(
            fields("resolved", "a\u{7}b", &[]),
            ["message: must not contain control characters other than line breaks"]
        );
    }
}
