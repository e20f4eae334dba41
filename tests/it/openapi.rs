//! The OpenAPI document lists every route the API serves.

use crate::helpers::spawn_app;

/// Every route of the API, as (method, path). Adding a route means adding it here.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/checks"),
    ("put", "/api/v1/checks/{name}"),
    ("get", "/api/v1/checks/{name}"),
    ("delete", "/api/v1/checks/{name}"),
    ("post", "/api/v1/checks/{name}/pause"),
    ("post", "/api/v1/checks/{name}/resume"),
    ("put", "/api/v1/stacks/{stack}"),
    ("get", "/api/v1/stacks/{stack}"),
    ("delete", "/api/v1/stacks/{stack}"),
    ("get", "/api/v1/summary"),
    ("get", "/api/v1/checks/{name}/results"),
    ("get", "/api/v1/checks/{name}/uptime"),
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/alerts"),
    ("post", "/api/v1/maintenance"),
    ("get", "/api/v1/maintenance"),
    ("delete", "/api/v1/maintenance/{id}"),
    ("get", "/ping/{key}"),
    ("post", "/ping/{key}"),
    ("get", "/ping/{key}/fail"),
    ("post", "/ping/{key}/fail"),
    ("get", "/ping/{key}/start"),
    ("post", "/ping/{key}/start"),
];

#[tokio::test]
async fn openapi_lists_every_route_and_nothing_else() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);

    for (method, path) in ROUTES {
        let concrete = path
            .replace("{key}", "0123456789abcdef0123456789abcdef")
            .replace("{name}", "probe-x")
            .replace("{stack}", "stack-x");
        let request = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        // A ping with an unknown key is a 404 too: told apart from a missing route by its words.
        let served =
            status != 405 && (status != 404 || body.contains("no heartbeat check has this key"));
        assert!(
            served,
            "{method} {path} is documented but not served ({status} {body})"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "CheckBody",
        "CheckView",
        "CheckChange",
        "StackBody",
        "StackChange",
        "Problem",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} is missing");
    }
}

#[tokio::test]
async fn openapi_states_the_bounds_the_validation_enforces_and_every_error_status() {
    use stackwatch::domain::limits;
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = &doc["components"]["schemas"]["CheckBody"]["properties"];
    for field in [
        limits::CHECK_RATE,
        limits::TIMEOUT,
        limits::MAX_RESPONSE_TIME_MS,
        limits::CERT_EXPIRY_DAYS,
        limits::FAILURES_TO_CONFIRM,
        limits::SUCCESSES_TO_RECOVER,
        limits::RETRY_INTERVAL,
        limits::REMINDER_EVERY,
    ] {
        let schema = &body[field.name];
        assert_eq!(schema["minimum"], field.min, "{}: {schema}", field.name);
        assert_eq!(schema["maximum"], field.max, "{}: {schema}", field.name);
    }
    assert_eq!(body["url"]["maxLength"], limits::MAX_URL_BYTES);
    assert_eq!(body["body"]["maxLength"], limits::MAX_BODY_BYTES);
    assert_eq!(body["tags"]["maxItems"], limits::MAX_TAGS);
    assert_eq!(body["contacts"]["maxItems"], limits::MAX_CONTACTS);
    // What a body needs depends on its kind: the schema requires nothing, names the
    // kinds, says which kinds have each field, and refuses fields it does not list.
    let check_body = &doc["components"]["schemas"]["CheckBody"];
    assert!(check_body.get("required").is_none(), "{check_body}");
    assert_eq!(check_body["additionalProperties"], false);
    assert_eq!(
        body["kind"]["enum"],
        serde_json::json!(stackwatch::domain::KINDS)
    );
    for (field, kinds) in [
        ("url", "http: "),
        ("host", "tcp, smtp, ssh: "),
        ("period", "heartbeat: "),
    ] {
        let description = body[field]["description"].as_str().unwrap_or_default();
        assert!(description.starts_with(kinds), "{field}: {description}");
    }

    // A write with a body can answer every error status; a read only its own.
    let put = &doc["paths"]["/api/v1/checks/{name}"]["put"]["responses"];
    for status in ["400", "401", "403", "404", "413", "415", "422"] {
        assert!(
            put.get(status).is_some(),
            "PUT /checks/{{name}} lacks {status}"
        );
    }
    let list = &doc["paths"]["/api/v1/checks"]["get"]["responses"];
    assert!(list.get("401").is_some() && list.get("422").is_some());
    assert!(list.get("403").is_none(), "a read never answers 403");
    let health = &doc["paths"]["/healthz"]["get"]["responses"];
    assert!(health.get("401").is_none(), "health needs no token");

    // What a PUT creates, the document links to (for link-following clients and the
    // contract test's stateful phase), by operation ids that exist, spelt as OpenAPI does.
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    for (path, status, count) in [
        ("/api/v1/checks/{name}", "201", 6),
        ("/api/v1/checks/{name}", "200", 6),
        ("/api/v1/stacks/{stack}", "200", 2),
    ] {
        let links = doc["paths"][path]["put"]["responses"][status]["links"]
            .as_object()
            .unwrap_or_else(|| panic!("PUT {path} {status} has no links"));
        assert_eq!(links.len(), count, "{path}");
        for link in links.values() {
            let id = link["operationId"].as_str().unwrap_or_default();
            assert!(ids.contains(&id), "{path}: {link}");
            assert!(link.get("operation_id").is_none(), "{link}");
        }
    }
}
