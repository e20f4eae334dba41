//! Names that identify things: checks, stacks, tags, contacts and locations. Each is a newtype that can
//! only hold a valid value, so the rest of the code never re-checks a bare string.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must start with a lowercase letter or a digit")]
    BadStart,
    #[error("may only contain {allowed}; found {found:?}")]
    BadChar { allowed: &'static str, found: char },
}

/// The character rules of one kind of name.
struct Rule {
    max: usize,
    allowed: &'static str,
    extra: &'static [char],
}

impl Rule {
    fn check(&self, s: &str) -> Result<(), NameError> {
        let mut chars = s.chars();
        let first = chars.next().ok_or(NameError::Empty)?;
        if s.len() > self.max {
            return Err(NameError::TooLong { max: self.max });
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(NameError::BadStart);
        }
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || self.extra.contains(&c);
        match chars.find(|c| !ok(*c)) {
            Some(found) => Err(NameError::BadChar {
                allowed: self.allowed,
                found,
            }),
            None => Ok(()),
        }
    }
}

const NAME_RULE: Rule = Rule {
    max: 128,
    allowed: "lowercase letters, digits, '.', '_' and '-'",
    extra: &['.', '_', '-'],
};
const TAG_RULE: Rule = Rule {
    max: 64,
    allowed: "lowercase letters, digits, '.', '_', '-', ':' and '='",
    extra: &['.', '_', '-', ':', '='],
};
const LOCATION_RULE: Rule = Rule {
    max: 32,
    allowed: "lowercase letters, digits and '-'",
    extra: &['-'],
};
const CONTACT_RULE: Rule = Rule {
    max: 64,
    allowed: "lowercase letters, digits, '.', '_' and '-'",
    extra: &['.', '_', '-'],
};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $rule:expr, $pattern:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
        )]
        #[serde(try_from = "String", into = "String")]
        #[schema(pattern = $pattern)]
        pub struct $name(Box<str>);

        impl $name {
            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                $rule.check(&s)?;
                Ok(Self(s.into_boxed_str()))
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0.into_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// A check's unique name, `[a-z0-9][a-z0-9._-]{0,127}`: the key automation upserts by.
    CheckName,
    NAME_RULE,
    "^[a-z0-9][a-z0-9._-]{0,127}$"
);
/// The longest name a slug makes, in characters.
const SLUG_MAX: usize = 120;

impl CheckName {
    /// The check name a StatusCake-style name becomes — the one slug rule, which the
    /// Ansible collection follows too (`tests/slug-vectors.json` holds the cases both test
    /// suites read): a valid check name stays as it is; anything else is lowercased, each
    /// run of characters other than `a-z` and `0-9` becomes one `-` (none at the start),
    /// cut to 120 characters with no `-` at the end, and `check` when nothing is left.
    pub fn from_display(text: &str) -> Self {
        if let Ok(name) = Self::try_from(text.to_owned()) {
            return name;
        }
        let mut slug = String::new();
        for c in text.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug: String = slug.chars().take(SLUG_MAX).collect();
        let slug = slug.trim_end_matches('-');
        // Lowercase letters and digits with single inner dashes, at most 120: always valid.
        Self::try_from(slug.to_owned()).unwrap_or_else(|_| Self("check".into()))
    }
}

name_type!(
    /// The name of a customer stack that owns a set of checks; same rule as check names.
    StackName,
    NAME_RULE,
    "^[a-z0-9][a-z0-9._-]{0,127}$"
);
name_type!(
    /// A free label for filtering, `[a-z0-9][a-z0-9._:=-]{0,63}` (e.g. `env:prod`).
    Tag,
    TAG_RULE,
    "^[a-z0-9][a-z0-9._:=-]{0,63}$"
);
name_type!(
    /// The name of a configured notifier that alerts are sent to.
    ContactName,
    CONTACT_RULE,
    "^[a-z0-9][a-z0-9._-]{0,63}$"
);

name_type!(
    /// Where probes are made from: the server's `[monitor] location` or an agent's,
    /// `[a-z0-9][a-z0-9-]{0,31}` (e.g. `fra`, `us-east-1`).
    LocationName,
    LOCATION_RULE,
    "^[a-z0-9][a-z0-9-]{0,31}$"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuscake_names_become_check_names_by_the_shared_vectors() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/slug-vectors.json")).unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 10);
        for pair in vectors {
            let (display, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(
                CheckName::from_display(display).as_str(),
                want,
                "{display:?}"
            );
        }
    }

    #[test]
    fn check_names_follow_the_documented_pattern() {
        let cases: &[(&str, bool)] = &[
            ("acme-readiness", true),
            ("0", true),
            ("a.b_c-d", true),
            (&"a".repeat(128), true),
            (&"a".repeat(129), false),
            ("", false),
            ("-acme", false),
            (".acme", false),
            ("Acme", false),
            ("acme readiness", false),
            ("acme/readiness", false),
            ("acme:x", false),
            ("ünï", false),
        ];
        for (input, valid) in cases {
            assert_eq!(
                input.parse::<CheckName>().is_ok(),
                *valid,
                "check name {input:?}"
            );
        }
    }

    #[test]
    fn tags_allow_key_value_forms() {
        assert!("env:prod".parse::<Tag>().is_ok());
        assert!("tier=1".parse::<Tag>().is_ok());
        assert_eq!(
            "Env".parse::<Tag>(),
            Err(NameError::BadStart),
            "uppercase start"
        );
    }

    #[test]
    fn errors_name_the_offending_character() {
        let err = "acme readiness".parse::<CheckName>().unwrap_err();
        assert!(err.to_string().contains("' '"), "{err}");
    }

    /// A name is a pointer and a length, so a stack's name in a spec takes 16 bytes, and
    /// a `Check` in its `Arc` (16 bytes of counts) fits the allocator's 192-byte class.
    #[test]
    fn a_name_is_two_words_and_a_check_fits_192_bytes_with_its_counts() {
        let name: CheckName = "web-1".parse().unwrap();
        assert_eq!(String::from(name.clone()), "web-1");
        assert_eq!(std::mem::size_of::<CheckName>(), 16);
        assert_eq!(std::mem::size_of::<Option<StackName>>(), 16);
        let check = std::mem::size_of::<crate::domain::Check>();
        assert!(check + 16 <= 192, "{check}");
    }
}
