//! A check's body as clients write it: a JSON object read into the domain's `CheckSpec`
//! (which declares and checks every field), plus what depends on where it was sent — the
//! name, the stack and the paused flag.

use serde_json::{Map, Value};

use super::problem::ApiError;
use crate::domain::{CheckName, CheckSpec, FieldError, FieldErrors, Form, Registry, StackName};
use crate::store::CheckWrite;

/// A check's body as sent: a JSON object.
pub type CheckObject = Map<String, Value>;

/// Where a body is being read: it decides where the name and the stack come from.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// `PUT /checks/{name}`: the name is in the path; the body may set the stack.
    Single,
    /// `PUT /stacks/{stack}`: the body names the check; the stack is the path's.
    InStack(&'a StackName),
}

/// Parses a path segment as a check name, or a 422 naming the field.
pub(super) fn check_name(raw: String) -> Result<CheckName, ApiError> {
    CheckName::try_from(raw).map_err(|e| ApiError::invalid("name", e.to_string()))
}

pub(super) fn not_found(name: &CheckName) -> ApiError {
    ApiError::NotFound(format!("there is no check named {name}"))
}

/// Reads a single check's body (no name, no stack from a path) into its spec.
pub fn spec_of(body: CheckObject) -> Result<CheckSpec, FieldErrors> {
    read_check(body, Place::Single, None).map(|(_, write)| write.spec)
}

/// Reads a body into a name (inside a stack only) and what to store, every problem
/// reported at once. With `known`, every contact and location must be one of them.
pub fn read_check(
    body: CheckObject,
    place: Place<'_>,
    known: Option<Registry<'_>>,
) -> Result<(Option<CheckName>, CheckWrite), FieldErrors> {
    let mut form = Form::new(body);
    let name = match (place, form.take::<String>("name")) {
        (Place::Single, Some(_)) => {
            form.error("name", "is given by the URL path, not the body");
            None
        }
        (Place::Single, None) => None,
        (Place::InStack(_), None) => {
            form.error("name", "is required");
            None
        }
        (Place::InStack(_), Some(n)) => parse_name_into("name", n, &mut form),
    };
    let stack = match (place, form.take::<String>("stack")) {
        (Place::InStack(path_stack), Some(s)) if s != path_stack.as_str() => {
            form.error(
                "stack",
                format!("must be left out or equal the stack in the path ({path_stack})"),
            );
            None
        }
        (Place::InStack(path_stack), _) => Some(path_stack.clone()),
        (Place::Single, Some(s)) => parse_name_into("stack", s, &mut form),
        (Place::Single, None) => None,
    };
    let paused = form.take::<bool>("paused");
    let spec = CheckSpec::read(&mut form, known).map(|spec| spec.in_stack(stack));
    // An icmp check this box cannot probe would only ever read DOWN: refused now.
    if let Some(spec) = &spec
        && matches!(spec.target(), crate::domain::Target::Icmp(_))
        && let Err(reason) = crate::monitor::icmp_allowed()
    {
        form.error(
            "kind",
            crate::domain::Failure::IcmpNotAllowed { detail: reason }.to_string(),
        );
    }
    let write = form.finish(spec.map(|spec| CheckWrite { spec, paused }))?;
    Ok((name, write))
}

fn parse_name_into<T: TryFrom<String, Error = crate::domain::NameError>>(
    field: &str,
    value: String,
    form: &mut Form,
) -> Option<T> {
    T::try_from(value)
        .map_err(|e| form.error(field, e.to_string()))
        .ok()
}

/// Parses a name-like value, recording a field error when it is invalid.
pub(super) fn parse_name<T: TryFrom<String, Error = crate::domain::NameError>>(
    field: &str,
    value: String,
    errors: &mut FieldErrors,
) -> Option<T> {
    T::try_from(value)
        .map_err(|e| errors.push(FieldError::new(field, e.to_string())))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: Value) -> CheckObject {
        match json {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn error_fields(json: Value, place: Place<'_>) -> Vec<String> {
        match read_check(body(json), place, None) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn url_alone_gives_the_documented_defaults() {
        let (name, write) = read_check(
            body(serde_json::json!({"url": "http://127.0.0.1/"})),
            Place::Single,
            None,
        )
        .unwrap();
        assert_eq!(name, None);
        assert_eq!(write.paused, None);
        assert_eq!(
            write.spec,
            CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap())
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let fields = error_fields(
            serde_json::json!({
                "url": "ftp://x/", "method": "PATCH", "check_rate": 5, "timeout": 100,
                "expected_status": [200, "abc"], "failures_to_confirm": 0,
                "tags": ["ok", "Not OK"], "contacts": ["ops", "bad name"],
                "headers": {"Content-Length": "1"}, "stack": "-x", "name": "n",
                "verify_tls": "yes", "colour": "red", "port": 80
            }),
            Place::Single,
        );
        assert_eq!(
            fields,
            vec![
                "name",
                "stack",
                "url",
                "method",
                "headers.Content-Length",
                "expected_status[1]",
                "verify_tls",
                "check_rate",
                "timeout",
                "failures_to_confirm",
                "contacts[1]",
                "tags[1]",
                "colour",
                "port"
            ]
        );
    }

    #[test]
    fn stack_items_need_a_name_and_take_the_path_stack() {
        let stack: StackName = "acme".parse().unwrap();
        assert_eq!(
            error_fields(
                serde_json::json!({"url": "http://127.0.0.1/"}),
                Place::InStack(&stack)
            ),
            vec!["name"]
        );
        assert_eq!(
            error_fields(
                serde_json::json!({"name": "a", "url": "http://127.0.0.1/", "stack": "other"}),
                Place::InStack(&stack)
            ),
            vec!["stack"]
        );
        let (name, write) = read_check(
            body(serde_json::json!({"name": "a", "url": "http://127.0.0.1/"})),
            Place::InStack(&stack),
            None,
        )
        .unwrap();
        assert_eq!(name.unwrap().as_str(), "a");
        assert_eq!(write.spec.stack(), Some(&stack));
    }

    #[test]
    fn equivalent_spellings_parse_to_equal_specs() {
        let a = spec_of(body(serde_json::json!({
            "url": "http://127.0.0.1/", "method": "get", "tags": ["b", "a", "a"],
            "expected_status": ["200-299", 204], "headers": {"X-A": "1"}
        })));
        let b = spec_of(body(serde_json::json!({
            "url": "http://127.0.0.1/", "method": "GET", "tags": ["a", "b"],
            "expected_status": ["200-299"], "headers": {"x-a": "1"}
        })));
        assert_eq!(a.unwrap(), b.unwrap());
    }

    #[test]
    fn relations_are_checked_once_fields_are_valid() {
        assert_eq!(
            error_fields(
                serde_json::json!({"url": "http://127.0.0.1/", "check_rate": 10, "retry_interval": 20}),
                Place::Single
            ),
            vec!["retry_interval"]
        );
        assert_eq!(
            error_fields(
                serde_json::json!({"url": "http://127.0.0.1/", "expected_status": []}),
                Place::Single
            ),
            vec!["expected_status"]
        );
    }

    #[test]
    fn a_field_of_another_kind_is_refused_by_name() {
        assert_eq!(
            error_fields(
                serde_json::json!({"kind": "tcp", "host": "127.0.0.1", "port": 1, "url": "http://x/"}),
                Place::Single
            ),
            vec!["url"]
        );
        let errors = read_check(
            body(serde_json::json!({"kind": "dns", "host": "a.example", "period": 60})),
            Place::Single,
            None,
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "period");
        assert_eq!(errors[0].reason, "is only for heartbeat checks, not dns");
    }
}
