//! The OpenAPI document's error responses, completed from what every route really does, so
//! that the contract lists each status a route can answer: 401 without a valid token, 429
//! after too many failed tokens from one address, 403
//! for a read token writing, 400/413/415 for a body that is not acceptable JSON, 422 for a
//! field or parameter that fails validation, 404 for a path naming nothing.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// What a route can answer besides its own responses, and why.
fn implied_statuses(method: &str, op: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut statuses = Vec::new();
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let writes = matches!(method, "put" | "post" | "patch" | "delete");
    let params = op.parameters.as_deref().unwrap_or_default();
    let in_path = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    if authenticated {
        statuses.push(("401", "Missing or unknown bearer token"));
        statuses.push((
            "429",
            "Too many failed tokens from this address: wait `Retry-After` seconds",
        ));
        if writes {
            statuses.push(("403", "A read-only token cannot write"));
        }
    }
    if op.request_body.is_some() {
        statuses.push(("400", "The body is not valid JSON or not a JSON object"));
        statuses.push(("413", "The body is larger than 1 MiB"));
        statuses.push(("415", "The body is not application/json"));
    }
    if op.request_body.is_some() || !params.is_empty() {
        statuses.push((
            "422",
            "A field or parameter is invalid; `errors` names each",
        ));
    }
    // Deleting is idempotent (200 whether or not it existed); other routes with a path
    // parameter answer 404 when it names nothing.
    if in_path && method != "delete" {
        statuses.push(("404", "No such check, stack or window"));
    }
    statuses
}

/// Adds every implied status, as a problem+json `Problem`, where a route does not already
/// document it.
pub fn complete_error_responses(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        for (method, op) in operations {
            let Some(op) = op else { continue };
            for (status, description) in implied_statuses(method, op) {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem_response(description));
            }
        }
    }
}

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// What each `PUT` makes reachable, for link-following clients (and the contract test's
/// stateful phase): the path, its parameter, the answers that carry links, the operations.
const LINKS: [(&str, &str, &[&str], &[&str]); 2] = [
    (
        "/api/v1/checks/{name}",
        "name",
        &["200", "201"],
        &[
            "get_check",
            "check_results",
            "check_uptime",
            "pause_check",
            "resume_check",
            "delete_check",
        ],
    ),
    (
        "/api/v1/stacks/{stack}",
        "stack",
        &["200"],
        &["get_stack", "delete_stack"],
    ),
];

/// Adds `LINKS` to the rendered document (written here rather than through utoipa, whose
/// links come out as `operation_id` where OpenAPI says `operationId`).
pub fn add_links(doc: &mut serde_json::Value) {
    for (path, parameter, statuses, operations) in LINKS {
        let escaped = path.replace('~', "~0").replace('/', "~1");
        for status in statuses {
            let pointer = format!("/paths/{escaped}/put/responses/{status}");
            let Some(response) = doc.pointer_mut(&pointer).and_then(|r| r.as_object_mut()) else {
                continue;
            };
            let links: serde_json::Map<String, serde_json::Value> = operations
                .iter()
                .map(|operation| {
                    let link = serde_json::json!({
                        "operationId": operation,
                        "parameters": { parameter: format!("$request.path.{parameter}") },
                    });
                    ((*operation).to_owned(), link)
                })
                .collect();
            response.insert("links".to_owned(), serde_json::Value::Object(links));
        }
    }
}

/// Links a posted status update to the operations on it, by the stack of the request and
/// the id of the answer.
pub fn add_update_links(doc: &mut serde_json::Value) {
    let pointer = "/paths/~1api~1v1~1stacks~1{stack}~1updates/post/responses/201";
    let Some(response) = doc.pointer_mut(pointer).and_then(|r| r.as_object_mut()) else {
        return;
    };
    let links: serde_json::Map<String, serde_json::Value> =
        ["get_update", "edit_update", "delete_update"]
            .iter()
            .map(|operation| {
                let link = serde_json::json!({
                    "operationId": operation,
                    "parameters": {"stack": "$request.path.stack", "id": "$response.body#/id"},
                });
                ((*operation).to_owned(), link)
            })
            .collect();
    response.insert("links".to_owned(), serde_json::Value::Object(links));
}

/// Writes a field whose type has a schema of its own (a host, say) as that schema with the
/// field's description, as a field of a plain type is written: utoipa inlines it as a
/// `oneOf` of one choice beside the description, which says the same less plainly.
pub fn inline_single_choices(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            let single = match object.get("oneOf").and_then(|c| c.as_array()) {
                Some(choices) if choices.len() == 1 => choices[0]
                    .as_object()
                    .filter(|c| !c.contains_key("$ref"))
                    .cloned(),
                _ => None,
            };
            if let Some(choice) = single {
                object.remove("oneOf");
                for (key, field) in choice {
                    object.entry(key).or_insert(field);
                }
            }
            object.values_mut().for_each(inline_single_choices);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(inline_single_choices),
        _ => {}
    }
}

/// States which contacts a check may name: the configured notifiers (none configured: an
/// empty list only), so the document says what the validation enforces.
pub fn name_the_contacts(
    doc: &mut serde_json::Value,
    contacts: &std::collections::BTreeSet<String>,
) {
    name_the_items(doc, "contacts", contacts);
    name_the_items(doc, "escalate_to", contacts);
}

/// States which locations a check may name: the server's own and each agent token's.
pub fn name_the_locations(
    doc: &mut serde_json::Value,
    locations: &std::collections::BTreeSet<String>,
) {
    name_the_items(doc, "locations", locations);
}

/// Sets the names the items of list `field` of a check's body may take (none: only an
/// empty list).
fn name_the_items(
    doc: &mut serde_json::Value,
    field: &str,
    names: &std::collections::BTreeSet<String>,
) {
    for body in ["CheckBody", "StackCheckBody"] {
        let pointer = format!("/components/schemas/{body}/oneOf");
        let Some(shapes) = doc.pointer_mut(&pointer).and_then(|s| s.as_array_mut()) else {
            continue;
        };
        for shape in shapes {
            let Some(list) = shape
                .pointer_mut(&format!("/properties/{field}"))
                .and_then(|c| c.as_object_mut())
            else {
                continue;
            };
            if names.is_empty() {
                list.insert("maxItems".to_owned(), 0.into());
            } else if let Some(items) = list.get_mut("items").and_then(|i| i.as_object_mut()) {
                let names = names.iter().cloned().map(serde_json::Value::from);
                items.insert("enum".to_owned(), names.collect());
            }
        }
    }
}
