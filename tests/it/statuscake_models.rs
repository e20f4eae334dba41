//! StatusCake's published API contract and a check of an answer against it.
//!
//! The contract is `tests/statuscake/models.json`: the model and endpoint definitions of
//! StatusCake's generated Python client (github.com/StatusCakeDev/statuscake-py, package
//! 1.2.0-beta.1, commit 6ea2a65, API version 1.2.0; MIT licence, kept beside it), which is
//! generated from StatusCake's OpenAPI document and extracted by `scripts/statuscake-models`.
//! An answer is held to it as that client's strict model validation holds it: required
//! fields present, no null where the model has no null, types, enum values, minimums and
//! maximums, and RFC 3339 times (the format the models' descriptions name).

use serde_json::Value;

pub struct Contract {
    doc: Value,
}

impl Contract {
    pub fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/statuscake/models.json");
        let text = std::fs::read_to_string(path).unwrap();
        Self {
            doc: serde_json::from_str(&text).unwrap(),
        }
    }

    /// Every operation StatusCake's clients call: `(id, method, path)`, path as
    /// `/v1/uptime/{test_id}`.
    pub fn operations(&self) -> Vec<(String, String, String)> {
        self.doc["operations"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, op)| {
                let path = format!("/v1{}", op["path"].as_str().unwrap());
                (id.clone(), op["method"].as_str().unwrap().to_owned(), path)
            })
            .collect()
    }

    /// What is wrong with answering `body` with `status` to `operation`: a success must
    /// be the operation's model (or no model, for those without one), a failure the
    /// models' `APIError`.
    pub fn problems(&self, operation: &str, status: u16, body: &Value) -> Vec<String> {
        let op = &self.doc["operations"][operation];
        assert!(op.is_object(), "StatusCake has no operation {operation}");
        let mut problems = Vec::new();
        if (200..300).contains(&status) {
            match &op["response"] {
                Value::Null => {}
                kind => self.check(kind, body, "$", &mut problems),
            }
        } else {
            self.check(
                &serde_json::json!({"ref": "APIError"}),
                body,
                "$",
                &mut problems,
            );
            if body["message"].as_str().is_none_or(str::is_empty) {
                problems.push("$: an error without a message".into());
            }
        }
        problems
    }

    fn check(&self, kind: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        let mut wrong = |what: &str| out.push(format!("{at}: {what}, got {value}"));
        match kind {
            Value::String(simple) => match (simple.as_str(), value) {
                ("string", Value::String(_))
                | ("boolean", Value::Bool(_))
                | ("number", Value::Number(_))
                | ("object", Value::Object(_)) => {}
                ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => {}
                ("date-time", Value::String(s))
                    if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {}
                ("date", Value::String(s))
                    if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {}
                (other, _) => wrong(&format!("expected {other}")),
            },
            Value::Object(k) if k.contains_key("array") => match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(&k["array"], item, &format!("{at}[{i}]"), out);
                    }
                }
                _ => wrong("expected an array"),
            },
            Value::Object(k) if k.contains_key("map") => match value {
                Value::Object(entries) => {
                    for (key, item) in entries {
                        self.check(&k["map"], item, &format!("{at}.{key}"), out);
                    }
                }
                _ => wrong("expected an object"),
            },
            Value::Object(k) if k.contains_key("any_of") => {
                let fits = k["any_of"].as_array().unwrap().iter().any(|kind| {
                    let mut none = Vec::new();
                    self.check(kind, value, at, &mut none);
                    none.is_empty()
                });
                if !fits {
                    wrong(&format!("expected one of {}", k["any_of"]));
                }
            }
            Value::Object(k) if k.contains_key("ref") => {
                let name = k["ref"].as_str().unwrap();
                self.model(name, value, at, out);
            }
            other => panic!("unknown kind {other} in the contract"),
        }
    }

    fn model(&self, name: &str, value: &Value, at: &str, out: &mut Vec<String>) {
        let model = &self.doc["models"][name];
        assert!(model.is_object(), "the contract has no model {name}");
        if let Some(values) = model.get("enum") {
            self.check(&model["type"], value, at, out);
            if !values.as_array().unwrap().contains(value) {
                out.push(format!("{at}: {value} is not one of {name}'s {values}"));
            }
            return;
        }
        let Value::Object(fields) = value else {
            if !(value.is_null() && model["nullable"] == true) {
                out.push(format!("{at}: expected a {name} object, got {value}"));
            }
            return;
        };
        for required in model["required"].as_array().unwrap() {
            let required = required.as_str().unwrap();
            if !fields.contains_key(required) {
                out.push(format!("{at}: {name} requires {required}"));
            }
        }
        for (field, kind) in model["properties"].as_object().unwrap() {
            let Some(v) = fields.get(field) else { continue };
            let here = format!("{at}.{field}");
            if v.is_null() {
                if !allows_null(kind) {
                    out.push(format!("{here}: null, which {name} does not allow"));
                }
                continue;
            }
            self.check(kind, v, &here, out);
            if let Some(values) = model["enums"].get(field)
                && !values.as_array().unwrap().contains(v)
            {
                out.push(format!("{here}: {v} is not one of {values}"));
            }
            if let Some(rules) = model["validations"].get(field) {
                bounds(rules, v, &here, out);
            }
        }
    }
}

fn allows_null(kind: &Value) -> bool {
    kind == "null"
        || kind["any_of"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "null"))
}

/// openapi-generator's validations: inclusive bounds, lengths and item counts.
fn bounds(rules: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    for (rule, limit) in rules.as_object().unwrap() {
        let limit = limit.as_f64();
        let length = v
            .as_str()
            .map(|s| s.chars().count() as f64)
            .or_else(|| v.as_array().map(|a| a.len() as f64));
        let (actual, holds): (Option<f64>, fn(f64, f64) -> bool) = match rule.as_str() {
            "inclusive_minimum" => (v.as_f64(), |a, l| a >= l),
            "inclusive_maximum" => (v.as_f64(), |a, l| a <= l),
            "exclusive_minimum" => (v.as_f64(), |a, l| a > l),
            "exclusive_maximum" => (v.as_f64(), |a, l| a < l),
            "min_length" | "min_items" => (length, |a, l| a >= l),
            "max_length" | "max_items" => (length, |a, l| a <= l),
            other => panic!("unknown validation {other} in the contract"),
        };
        if let (Some(actual), Some(limit)) = (actual, limit)
            && !holds(actual, limit)
        {
            out.push(format!("{at}: {v} breaks {rule} {limit}"));
        }
    }
}

#[test]
fn the_check_catches_what_a_strict_client_refuses() {
    let contract = Contract::load();
    let page = |count: u64, total: u64| {
        serde_json::json!({"data": [], "metadata": {
            "page": 1, "per_page": 25, "page_count": count, "total_count": total}})
    };
    assert!(
        contract
            .problems("list_heartbeat_tests", 200, &page(1, 1))
            .is_empty()
    );
    let zero = contract.problems("list_heartbeat_tests", 200, &page(0, 1));
    assert_eq!(zero.len(), 1, "{zero:?}");
    assert!(zero[0].contains("page_count"), "{zero:?}");

    let group = |ping: Value| {
        serde_json::json!({"data": {"id": "1", "name": "ops", "email_addresses": [],
            "integrations": [], "mobile_numbers": [], "ping_url": ping}})
    };
    assert!(
        contract
            .problems("get_contact_group", 200, &group("https://x".into()))
            .is_empty()
    );
    let null = contract.problems("get_contact_group", 200, &group(Value::Null));
    assert_eq!(null.len(), 1, "{null:?}");

    let history = serde_json::json!({"data": [{"created_at": "yesterday"}], "links": {}});
    let found = contract.problems("list_uptime_test_history", 200, &history);
    assert_eq!(found.len(), 2, "{found:?}");

    let refused = serde_json::json!({"message": "x", "errors": {"name": ["is required"]}});
    assert!(
        contract
            .problems("create_uptime_test", 400, &refused)
            .is_empty()
    );
    let ours = serde_json::json!({"type": "about:blank", "title": "Unauthorized", "status": 401,
        "errors": [{"field": "name"}]});
    assert_eq!(contract.problems("list_uptime_tests", 401, &ours).len(), 2);
}
