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
    ("post", "/api/v1/incidents/{id}/ack"),
    ("get", "/api/v1/alerts"),
    ("post", "/api/v1/maintenance"),
    ("get", "/api/v1/maintenance"),
    ("delete", "/api/v1/maintenance/{id}"),
    ("post", "/api/v1/stacks/{stack}/updates"),
    ("get", "/api/v1/stacks/{stack}/updates"),
    ("get", "/api/v1/stacks/{stack}/updates/{id}"),
    ("patch", "/api/v1/stacks/{stack}/updates/{id}"),
    ("delete", "/api/v1/stacks/{stack}/updates/{id}"),
    ("post", "/api/v1/stacks/{stack}/subscribers"),
    ("get", "/api/v1/stacks/{stack}/subscribers"),
    ("delete", "/api/v1/stacks/{stack}/subscribers/{id}"),
    ("get", "/ping/{key}"),
    ("post", "/ping/{key}"),
    ("get", "/ping/{key}/fail"),
    ("post", "/ping/{key}/fail"),
    ("get", "/ping/{key}/start"),
    ("post", "/ping/{key}/start"),
    ("get", "/ping/{key}/{exit_code}"),
    ("post", "/ping/{key}/{exit_code}"),
];

/// The served OpenAPI document.
async fn document(app: &crate::helpers::TestApp) -> serde_json::Value {
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn openapi_lists_every_route_and_nothing_else() {
    let app = spawn_app().await;
    let doc = document(&app).await;
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
            .replace("{stack}", "stack-x")
            .replace("{exit_code}", "3");
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
        "StackCheckBody",
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
    let doc = document(&app).await;
    // One shape per kind; each states the bounds of the fields it has.
    let shapes = doc["components"]["schemas"]["CheckBody"]["oneOf"]
        .as_array()
        .unwrap()
        .clone();
    let shape = |kind: &str| {
        shapes
            .iter()
            .find(|s| s["properties"]["kind"]["enum"][0] == kind)
            .unwrap_or_else(|| panic!("no shape for {kind}"))
            .clone()
    };
    let http = shape("http");
    let body = &http["properties"];
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
    // The contacts a check may name are the configured notifiers: none here.
    assert_eq!(body["contacts"]["maxItems"], 0);
    let hook = crate::receivers::HookReceiver::start().await;
    let (with_pager, _dir) = crate::helpers::spawn_with_webhook(&hook).await;
    let doc_with_pager = document(&with_pager).await;
    for body in ["CheckBody", "StackCheckBody"] {
        for shape in doc_with_pager["components"]["schemas"][body]["oneOf"]
            .as_array()
            .unwrap()
        {
            let contacts = &shape["properties"]["contacts"];
            assert_eq!(contacts["maxItems"], limits::MAX_CONTACTS, "{contacts}");
            assert_eq!(contacts["items"]["enum"], serde_json::json!(["pager"]));
        }
    }
    // What a body needs depends on its kind: one shape per kind, each refusing fields it
    // does not list, requiring what the kind cannot do without (`kind` but for http), with
    // the common fields and its kind's; a stack's check also requires its name.
    let kinds: Vec<serde_json::Value> = shapes
        .iter()
        .map(|s| s["properties"]["kind"]["enum"][0].clone())
        .collect();
    assert_eq!(
        serde_json::Value::from(kinds),
        serde_json::json!(stackwatch::domain::KINDS)
    );
    for shape in &shapes {
        let kind = shape["properties"]["kind"]["enum"][0].as_str().unwrap();
        assert_eq!(shape["additionalProperties"], false, "{kind}");
        let mut required: Vec<&str> = shape["required"]
            .as_array()
            .map(|r| r.iter().map(|f| f.as_str().unwrap()).collect())
            .unwrap_or_default();
        required.sort_unstable();
        let mut expected = stackwatch::domain::Target::required_fields(kind).to_vec();
        if kind != "http" {
            expected.push("kind");
        }
        expected.sort_unstable();
        assert_eq!(required, expected, "{kind}");
        assert!(shape["properties"].get("name").is_none(), "{kind}");
        assert!(shape["properties"]["check_rate"].is_object(), "{kind}");
    }
    assert!(shape("tcp")["properties"]["port"].is_object());
    assert!(shape("tcp")["properties"].get("url").is_none());
    assert_eq!(
        shape("dns")["properties"]["host"]["pattern"],
        stackwatch::domain::HOST_PATTERN
    );
    let stack_shapes = doc["components"]["schemas"]["StackCheckBody"]["oneOf"]
        .as_array()
        .unwrap();
    for shape in stack_shapes {
        assert!(
            shape["required"]
                .as_array()
                .unwrap()
                .contains(&"name".into())
        );
    }
    // The answer is one object whose descriptions say which kinds have each field.
    let view = &doc["components"]["schemas"]["CheckView"]["properties"];
    for (field, kinds) in [
        ("url", "http: "),
        ("host", "tcp, smtp, ssh: "),
        ("period", "heartbeat: "),
    ] {
        let description = view[field]["description"].as_str().unwrap_or_default();
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

/// Every example the document gives is accepted as it stands: a check of each kind, a
/// stack of them, and each kind of maintenance window.
#[tokio::test]
async fn every_example_in_the_document_is_accepted() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let examples = |schema: &serde_json::Value| -> Vec<serde_json::Value> {
        schema["examples"].as_array().cloned().unwrap_or_default()
    };
    let icmp = stackwatch::probe::icmp_allowed().is_ok();
    let mut stack = Vec::new();
    for shape in schemas["CheckBody"]["oneOf"].as_array().unwrap() {
        let kind = shape["properties"]["kind"]["enum"][0].as_str().unwrap();
        let [example] = examples(shape).try_into().unwrap();
        let (status, answer) = app
            .put(&format!("/api/v1/checks/ex-{kind}"), &example)
            .await;
        let expected = if kind == "icmp" && !icmp { 422 } else { 201 };
        assert_eq!(status, expected, "{kind}: {example} {answer}");
    }
    for shape in schemas["StackCheckBody"]["oneOf"].as_array().unwrap() {
        let kind = shape["properties"]["kind"]["enum"][0].as_str().unwrap();
        if kind != "icmp" || icmp {
            stack.extend(examples(shape));
        }
    }
    let body = serde_json::json!({ "checks": stack });
    let (status, answer) = app.put("/api/v1/stacks/shop", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["created"].as_array().unwrap().len(), stack.len());
    let windows = examples(&schemas["MaintenanceBody"]);
    assert_eq!(windows.len(), 3);
    for window in windows {
        let response = app
            .client
            .post(app.url("/api/v1/maintenance"))
            .bearer_auth(crate::helpers::ADMIN_TOKEN)
            .json(&window)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(status, 201, "{window}: {}", response.text().await.unwrap());
    }
}
