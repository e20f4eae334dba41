//! An acknowledgement of an outage: who took it and a note, read once from what a person
//! typed (the API's body or the check page's form) into values that cannot be invalid.

use super::{FieldError, FieldErrors};

/// Longest `by`, in characters.
pub const MAX_BY_CHARS: usize = 100;
/// Longest `note`, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// Who acknowledged, and why; both without white space around them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    by: String,
    note: Option<String>,
}

impl Acknowledgement {
    /// Reads `by` and `note` (an empty note is none): every problem, each naming its field.
    pub fn read(by: &str, note: Option<&str>) -> Result<Self, FieldErrors> {
        let mut errors = Vec::new();
        let empty = trim(by).is_empty().then(|| "must not be empty".to_owned());
        if let Some(reason) = empty.or_else(|| problem(by, MAX_BY_CHARS, false)) {
            errors.push(FieldError::new("by", reason));
        }
        if let Some(reason) = note.and_then(|n| problem(n, MAX_NOTE_CHARS, true)) {
            errors.push(FieldError::new("note", reason));
        }
        let by = trim(by);
        let note = note.map(trim).filter(|n| !n.is_empty());
        if errors.is_empty() {
            Ok(Self {
                by: by.to_owned(),
                note: note.map(str::to_owned),
            })
        } else {
            Err(errors)
        }
    }

    pub fn by(&self) -> &str {
        &self.by
    }

    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// `text` without ASCII white space around it (the API's pattern allows any other).
fn trim(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// Why a text (as given, white space and all) is refused, if it is.
fn problem(text: &str, max: usize, multiline: bool) -> Option<String> {
    let count = text.chars().count();
    if count > max {
        Some(format!("must be at most {max} characters, got {count}"))
    } else if text
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r')))
    {
        Some("must not contain control characters".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_is_required_and_both_are_bounded_plain_text() {
        let ack = Acknowledgement::read("  alice ", Some(" restarting\nthe pool ")).unwrap();
        assert_eq!(
            (ack.by(), ack.note()),
            ("alice", Some("restarting\nthe pool"))
        );
        assert_eq!(
            Acknowledgement::read("bob", Some("  ")).unwrap().note(),
            None
        );
        let fields = |by: &str, note: &str| match Acknowledgement::read(by, Some(note)) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        };
        assert_eq!(fields(" ", "ok"), ["by: must not be empty"]);
        // Counted as sent, as the API's maxLength counts.
        assert_eq!(
            fields(&format!(" {}", "a".repeat(100)), "ok"),
            ["by: must be at most 100 characters, got 101"]
        );
        assert_eq!(
            fields("a\u{7}", &"n".repeat(1_001)),
            [
                "by: must not contain control characters",
                "note: must be at most 1000 characters, got 1001"
            ]
        );
    }
}
