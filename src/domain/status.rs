//! `expected_status`: the HTTP status codes that count as up, as codes and inclusive ranges.
//! Kept sorted and merged, so two spellings of the same set compare equal.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

/// An inclusive range of HTTP status codes; a single code is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

impl StatusRange {
    /// Parses `"200"` or `"200-299"`; codes must lie in 100..=599.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (lo, hi) = match s.split_once('-') {
            Some((lo, hi)) => (parse_code(lo)?, parse_code(hi)?),
            None => {
                let code = parse_code(s)?;
                (code, code)
            }
        };
        if lo > hi {
            return Err(format!("range {s:?} ends before it starts"));
        }
        Ok(Self { lo, hi })
    }
}

fn parse_code(s: &str) -> Result<u16, String> {
    let code: u16 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a status code or a range like \"200-299\""))?;
    if (100..=599).contains(&code) {
        Ok(code)
    } else {
        Err(format!("status code {code} is outside 100-599"))
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// One entry of `expected_status` as written: a code (`200`) or a code or range as text
/// (`"200-299"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatusItem {
    Code(u16),
    Text(String),
}

impl utoipa::PartialSchema for StatusItem {
    /// A code of 100-599, or text the parser reads as one or as a range (never narrower).
    fn schema() -> RefOr<Schema> {
        let code = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(100))
            .maximum(Some(599));
        let text = ObjectBuilder::new().schema_type(Type::String).pattern(Some(
            "^\\s*\\+?0*[1-5][0-9]{2}\\s*(-\\s*\\+?0*[1-5][0-9]{2}\\s*)?$",
        ));
        OneOfBuilder::new()
            .item(code)
            .item(text)
            .description(Some(
                "A status code (`200`) or a code or range as text (`\"200-299\"`), 100-599.",
            ))
            .into()
    }
}

impl ToSchema for StatusItem {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("StatusItem")
    }
}

impl From<StatusRange> for StatusItem {
    fn from(r: StatusRange) -> Self {
        if r.lo == r.hi {
            Self::Code(r.lo)
        } else {
            Self::Text(r.to_string())
        }
    }
}

impl StatusItem {
    /// The range this entry spells.
    pub fn parse(&self) -> Result<StatusRange, String> {
        match self {
            Self::Code(code) => StatusRange::parse(&code.to_string()),
            Self::Text(text) => StatusRange::parse(text),
        }
    }
}

/// A non-empty set of status codes, normalised: sorted, overlapping and adjacent ranges merged.
/// Written as a list of codes and ranges, e.g. `[200, "300-399"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(into = "Vec<StatusItem>", try_from = "Vec<StatusItem>")]
#[schema(value_type = Vec<StatusItem>)]
pub struct StatusRanges(Vec<StatusRange>);

impl From<StatusRanges> for Vec<StatusItem> {
    fn from(ranges: StatusRanges) -> Self {
        ranges.0.into_iter().map(StatusItem::from).collect()
    }
}

impl TryFrom<Vec<StatusItem>> for StatusRanges {
    type Error = String;
    fn try_from(items: Vec<StatusItem>) -> Result<Self, String> {
        let ranges = items
            .iter()
            .map(StatusItem::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(ranges).ok_or_else(|| "must list at least one code".to_owned())
    }
}

impl StatusRanges {
    /// The default: any 2xx or 3xx answer is up.
    pub fn default_up() -> Self {
        Self(vec![StatusRange { lo: 200, hi: 399 }])
    }

    /// Normalises the given ranges; `None` when there are none.
    pub fn new(mut ranges: Vec<StatusRange>) -> Option<Self> {
        ranges.sort();
        let mut merged: Vec<StatusRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.lo <= last.hi.saturating_add(1) => last.hi = last.hi.max(r.hi),
                _ => merged.push(r),
            }
        }
        (!merged.is_empty()).then_some(Self(merged))
    }

    /// Whether `code` is one of the expected codes.
    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|r| (r.lo..=r.hi).contains(&code))
    }

    /// The normalised ranges, in order.
    pub fn ranges(&self) -> &[StatusRange] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(items: &[&str]) -> StatusRanges {
        let parsed = items
            .iter()
            .map(|s| StatusRange::parse(s).unwrap())
            .collect();
        StatusRanges::new(parsed).unwrap()
    }

    #[test]
    fn parse_accepts_codes_and_ranges() {
        let cases: &[(&str, Option<(u16, u16)>)] = &[
            ("200", Some((200, 200))),
            ("200-299", Some((200, 299))),
            (" 301 ", Some((301, 301))),
            ("299-200", None),
            ("99", None),
            ("600", None),
            ("2xx", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = StatusRange::parse(input).ok().map(|r| (r.lo, r.hi));
            assert_eq!(got, *want, "input {input:?}");
        }
    }

    #[test]
    fn equal_sets_normalise_equal() {
        assert_eq!(ranges(&["204", "200-203", "205-299"]), ranges(&["200-299"]));
        assert_eq!(ranges(&["301", "200"]).ranges().len(), 2);
        assert!(StatusRanges::new(Vec::new()).is_none());
    }

    #[test]
    fn contains_checks_every_range() {
        let set = ranges(&["200-204", "301"]);
        assert!(set.contains(200) && set.contains(204) && set.contains(301));
        assert!(!set.contains(205) && !set.contains(302) && !set.contains(500));
    }
}
