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
    ("get", "/api/v1/checks/{name}/results"),
    ("get", "/api/v1/checks/{name}/uptime"),
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/alerts"),
    ("post", "/api/v1/maintenance"),
    ("get", "/api/v1/maintenance"),
    ("delete", "/api/v1/maintenance/{id}"),
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
            .replace("{name}", "probe-x")
            .replace("{stack}", "stack-x");
        let request = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
        let status = request.send().await.unwrap().status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {path} is documented but not served ({status})"
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
