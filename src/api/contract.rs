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
    let writes = matches!(method, "put" | "post" | "delete");
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

/// Writes the response links' fields as OpenAPI spells them (`operationId`, `operationRef`,
/// `requestBody`): utoipa 5 writes them in snake case, which link-following clients reject.
pub fn links_in_camel_case(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(|responses| responses.as_object_mut())
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
            continue;
        };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.remove(snake) {
                    link.insert(camel.to_owned(), value);
                }
            }
        }
    }
}
