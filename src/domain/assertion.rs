//! Assertions on an HTTP answer beyond its status and keywords: values of a JSON body by
//! JSONPath (RFC 9535, as `serde_json_path` implements it), response headers by a
//! pattern, and the body by a regular expression (the `regex` crate: linear time, bounded
//! size). Each is parsed when the check is registered, so none can fail at probe time
//! but by not holding; a failure names what was looked at, what was expected and what
//! was found.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};
use serde_json_path::JsonPath;
use utoipa::ToSchema;

use super::{Failure, Unmet, glob_matches};

/// The most assertions of each sort a check may have.
pub const MOST_ASSERTIONS: usize = 16;
/// The longest path, header pattern or body pattern, in characters.
pub const MOST_PATTERN_CHARS: usize = 1_024;
/// The most memory a compiled body pattern may take.
const PATTERN_BYTES: usize = 256 * 1024;

/// A test of the values a JSONPath query selects in a JSON body: it holds when the query
/// selects at least one value and every one passes (or, with `exists = false`, when it
/// selects none). Exactly one of `equals`, `not_equals`, `less_than`, `greater_than`,
/// `exists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonAssertion {
    /// A JSONPath query (RFC 9535), e.g. `$.status`, `$.db.latency_ms`,
    /// `$.pools[*].state`.
    #[schema(value_type = String, min_length = 1, max_length = 1024, example = "$.status")]
    pub path: JsonPath,
    /// Every value selected equals this JSON value (`"UP"`, `true`, `3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// No value selected equals this JSON value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Value>,
    /// Every value selected is a number below this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64)]
    pub less_than: Option<Number>,
    /// Every value selected is a number above this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64)]
    pub greater_than: Option<Number>,
    /// `true`: the query selects something; `false`: it selects nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

impl JsonAssertion {
    /// Reads one assertion as a client wrote it; the reason when it is not one.
    pub fn read(value: Value) -> Result<Self, String> {
        let Value::Object(mut fields) = value else {
            return Err("must be an object with a path and one test".to_owned());
        };
        let path = match fields.remove("path") {
            Some(Value::String(path)) if path.chars().count() <= MOST_PATTERN_CHARS => path,
            Some(Value::String(_)) => {
                return Err(format!("path: at most {MOST_PATTERN_CHARS} characters"));
            }
            _ => return Err("path: is required, a JSONPath text such as $.status".to_owned()),
        };
        let path = JsonPath::parse(&path).map_err(|e| format!("path: not JSONPath: {e}"))?;
        let mut assertion = Self {
            path,
            equals: None,
            not_equals: None,
            less_than: None,
            greater_than: None,
            exists: None,
        };
        let mut tests = 0;
        for (key, value) in fields.into_iter().filter(|(_, v)| !v.is_null()) {
            tests += 1;
            match (key.as_str(), value) {
                ("equals", v) => assertion.equals = Some(v),
                ("not_equals", v) => assertion.not_equals = Some(v),
                ("less_than", Value::Number(n)) => assertion.less_than = Some(n),
                ("greater_than", Value::Number(n)) => assertion.greater_than = Some(n),
                ("exists", Value::Bool(b)) => assertion.exists = Some(b),
                ("less_than" | "greater_than", _) => {
                    return Err(format!("{key}: must be a number"));
                }
                ("exists", _) => return Err("exists: must be true or false".to_owned()),
                (other, _) => {
                    return Err(format!(
                        "{other}: unknown; a test is equals, not_equals, less_than, greater_than or exists"
                    ));
                }
            }
        }
        if tests != 1 {
            return Err(
                "must have exactly one of equals, not_equals, less_than, greater_than, exists"
                    .to_owned(),
            );
        }
        Ok(assertion)
    }

    /// The assertion in words: `JSON $.status equal to "UP"`.
    pub fn describe(&self) -> String {
        format!("JSON {} {}", self.path, self.expected())
    }

    /// What the assertion expects, in words: `equal to "UP"`.
    fn expected(&self) -> String {
        match self {
            Self {
                equals: Some(v), ..
            } => format!("equal to {v}"),
            Self {
                not_equals: Some(v),
                ..
            } => format!("not equal to {v}"),
            Self {
                less_than: Some(n), ..
            } => format!("less than {n}"),
            Self {
                greater_than: Some(n),
                ..
            } => format!("greater than {n}"),
            Self {
                exists: Some(false),
                ..
            } => "nothing".to_owned(),
            _ => "a value".to_owned(),
        }
    }

    fn passes(&self, value: &Value) -> bool {
        let number = |n: &Number| n.as_f64();
        match self {
            Self {
                equals: Some(v), ..
            } => same(value, v),
            Self {
                not_equals: Some(v),
                ..
            } => !same(value, v),
            Self {
                less_than: Some(n), ..
            } => value.as_f64().zip(number(n)).is_some_and(|(a, b)| a < b),
            Self {
                greater_than: Some(n),
                ..
            } => value.as_f64().zip(number(n)).is_some_and(|(a, b)| a > b),
            _ => true,
        }
    }

    /// The failure of this assertion on `document`, if it does not hold.
    pub fn check(&self, document: &Value) -> Option<Failure> {
        let selected = self.path.query(document).all();
        let subject = format!("JSON {}", self.path);
        let fail = |actual: String| {
            Some(Failure::AssertionFailed(Box::new(Unmet {
                subject: subject.clone(),
                expected: self.expected(),
                actual,
            })))
        };
        match (self.exists, selected.as_slice()) {
            (Some(false), []) => None,
            (Some(false), found) => fail(shown_values(found)),
            (_, []) => fail("missing".to_owned()),
            (_, found) => match found.iter().find(|v| !self.passes(v)) {
                Some(wrong) => fail(wrong.to_string()),
                None => None,
            },
        }
    }
}

/// Whether two JSON values are the same, numbers by value (`1` and `1.0` are).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn shown_values(values: &[&Value]) -> String {
    match values {
        [one] => one.to_string(),
        many => format!("{} values, the first {}", many.len(), many[0]),
    }
}

/// A header's expected value: text where `*` stands for any run of characters and `?`
/// for one (`application/json*`), as in routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct HeaderPattern(String);

impl HeaderPattern {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn read(text: String) -> Result<Self, String> {
        if text.chars().count() > MOST_PATTERN_CHARS {
            return Err(format!("at most {MOST_PATTERN_CHARS} characters"));
        }
        if text.chars().any(char::is_control) {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Self(text))
    }

    /// Whether `value` matches: `*` any run of characters, `?` any one.
    pub fn matches(&self, value: &str) -> bool {
        glob_matches(&self.0, value)
    }
}

/// The failure of `expected` headers on an answer's `headers` (names lowercase), if any.
pub fn check_headers(
    expected: &BTreeMap<String, HeaderPattern>,
    headers: &[(String, String)],
) -> Option<Failure> {
    expected.iter().find_map(|(name, pattern)| {
        let actual = headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        match actual {
            Some(value) if pattern.matches(value) => None,
            other => Some(Failure::AssertionFailed(Box::new(Unmet {
                subject: format!("header {name}"),
                expected: format!("{:?}", pattern.0),
                actual: other.map_or_else(|| "missing".to_owned(), |v| format!("{v:?}")),
            }))),
        }
    })
}

/// A regular expression the body must match (the `regex` crate's syntax; linear time).
#[derive(Clone)]
pub struct BodyPattern(regex::bytes::Regex);

impl BodyPattern {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn read(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.chars().count() > MOST_PATTERN_CHARS {
            return Err(format!("must be 1-{MOST_PATTERN_CHARS} characters"));
        }
        regex::bytes::RegexBuilder::new(text)
            .size_limit(PATTERN_BYTES)
            .dfa_size_limit(PATTERN_BYTES)
            .build()
            .map(Self)
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => "is too large once compiled".to_owned(),
                other => format!(
                    "is not a regular expression: {}",
                    first_line(&other.to_string())
                ),
            })
    }

    /// The failure when `body` does not match.
    pub fn check(&self, body: &[u8]) -> Option<Failure> {
        (!self.0.is_match(body)).then(|| {
            Failure::AssertionFailed(Box::new(Unmet {
                subject: "body".to_owned(),
                expected: format!("to match {:?}", self.0.as_str()),
                actual: "no match".to_owned(),
            }))
        })
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| text.lines().last().unwrap_or_default())
        .trim()
        .to_owned()
}

impl PartialEq for BodyPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for BodyPattern {}

impl fmt::Debug for BodyPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BodyPattern({:?})", self.0.as_str())
    }
}

impl Serialize for BodyPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for BodyPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::read(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for BodyPattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MOST_PATTERN_CHARS))
            .into()
    }
}

impl ToSchema for BodyPattern {}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    fn assertion(value: Value) -> JsonAssertion {
        JsonAssertion::read(value).unwrap()
    }

    #[test]
    fn json_assertions_say_what_they_found() {
        let body = json!({"status": "DOWN", "db": {"latency_ms": 350}, "pools": [
            {"state": "up"}, {"state": "up"}]});
        let up = assertion(json!({"path": "$.status", "equals": "UP"}));
        assert_eq!(
            up.check(&body).unwrap().to_string(),
            "JSON $.status is \"DOWN\", expected equal to \"UP\""
        );
        let fast = assertion(json!({"path": "$.db.latency_ms", "less_than": 200}));
        assert_eq!(
            fast.check(&body).unwrap().to_string(),
            "JSON $.db.latency_ms is 350, expected less than 200"
        );
        let pools = assertion(json!({"path": "$.pools[*].state", "equals": "up"}));
        assert_eq!(pools.check(&body), None);
        let gone = assertion(json!({"path": "$.cache", "exists": true}));
        assert!(
            gone.check(&body)
                .unwrap()
                .to_string()
                .ends_with("is missing, expected a value")
        );
        let absent = assertion(json!({"path": "$.error", "exists": false}));
        assert_eq!(absent.check(&body), None);
        assert_eq!(
            assertion(json!({"path": "$.db.latency_ms", "equals": 350.0})).check(&body),
            None
        );
    }

    #[test]
    fn a_bad_assertion_is_refused_with_its_reason() {
        let refused = |v: Value| JsonAssertion::read(v).unwrap_err();
        assert!(refused(json!({"path": "status", "equals": 1})).starts_with("path: not JSONPath"));
        assert!(refused(json!({"path": "$.a"})).starts_with("must have exactly one"));
        assert!(
            refused(json!({"path": "$.a", "equals": 1, "exists": true}))
                .starts_with("must have exactly one")
        );
        assert_eq!(
            refused(json!({"path": "$.a", "less_than": "3"})),
            "less_than: must be a number"
        );
        assert!(refused(json!({"path": "$.a", "matches": "x"})).starts_with("matches: unknown"));
    }

    #[test]
    fn header_patterns_and_body_patterns() {
        let json_type = HeaderPattern::read("application/json*".into()).unwrap();
        assert!(json_type.matches("application/json; charset=utf-8"));
        assert!(!json_type.matches("text/html"));
        let expected = BTreeMap::from([("content-type".to_owned(), json_type)]);
        let failure = check_headers(&expected, &[("content-type".into(), "text/html".into())]);
        assert_eq!(
            failure.unwrap().to_string(),
            "header content-type is \"text/html\", expected \"application/json*\""
        );
        let pattern = BodyPattern::read(r"version: \d+\.\d+").unwrap();
        assert_eq!(pattern.check(b"version: 2.14"), None);
        assert!(pattern.check(b"version: two").is_some());
        assert!(
            BodyPattern::read("(unclosed")
                .unwrap_err()
                .starts_with("is not a regular")
        );
        assert_eq!(
            BodyPattern::read(&"a{1000}".repeat(20)).unwrap_err(),
            "is too large once compiled"
        );
    }
}
