//! Badges: a published stack's and its checks' state and uptime as valid SVG to anyone,
//! cacheable for a minute; nothing of an unpublished stack to a stranger.

use crate::helpers::READ_TOKEN;
use crate::web::app_with_checks;

/// An anonymous GET: status, content type, cache control and body.
async fn fetch(url: String, token: Option<&str>) -> (u16, String, String, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    let status = response.status().as_u16();
    (status, content_type, cache, response.text().await.unwrap())
}

/// The badge's accessible name, after checking it is an SVG document a parser accepts.
fn read_svg(body: &str) -> String {
    let document = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert_eq!(root.attribute("role"), Some("img"));
    let title = root
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert_eq!(root.attribute("aria-label"), Some(title));
    title.to_owned()
}

#[tokio::test]
async fn badges_show_a_published_stack_and_its_checks_to_anyone_and_nothing_else() {
    let (app, _dir, _target) = app_with_checks().await;

    let (status, content_type, cache, body) = fetch(app.url("/status/acme/badge.svg"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "image/svg+xml");
    assert_eq!(cache, "public, max-age=60");
    assert_eq!(read_svg(&body), "acme: partial outage");

    let (_, _, _, body) = fetch(app.url("/checks/acme-liveness/badge.svg"), None).await;
    assert_eq!(read_svg(&body), "acme-liveness: up");
    let (_, _, _, body) = fetch(app.url("/checks/acme-readiness/badge.svg"), None).await;
    assert_eq!(read_svg(&body), "acme-readiness: down");

    for window in ["24h", "30d", "90d"] {
        let (status, _, _, body) = fetch(
            app.url(&format!("/status/acme/badge.svg?uptime={window}")),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let title = read_svg(&body);
        let percent = title
            .strip_prefix(&format!("acme uptime {window}: "))
            .and_then(|p| p.strip_suffix('%'))
            .unwrap_or_else(|| panic!("{title}"));
        let percent: f64 = percent.parse().unwrap();
        assert!(
            percent > 0.0 && percent < 100.0,
            "one of two checks is down: {title}"
        );
    }
    let (_, _, _, body) = fetch(app.url("/checks/acme-liveness/badge.svg?uptime=24h"), None).await;
    assert_eq!(read_svg(&body), "acme-liveness uptime 24h: 100.00%");
    let (status, _, _, body) = fetch(app.url("/status/acme/badge.svg?uptime=7y"), None).await;
    assert_eq!(
        (status, body.as_str()),
        (400, "uptime: must be 24h, 30d or 90d")
    );

    // An unpublished stack's badges are as absent as its page, to a stranger.
    for path in [
        "/status/hidden/badge.svg",
        "/checks/hidden-liveness/badge.svg",
        "/checks/no-such-check/badge.svg",
        "/status/no-such-stack/badge.svg",
    ] {
        assert_eq!(fetch(app.url(path), None).await.0, 404, "{path}");
    }
    let (status, _, cache, body) = fetch(
        app.url("/checks/hidden-liveness/badge.svg"),
        Some(READ_TOKEN),
    )
    .await;
    assert_eq!(status, 200, "a signed-in viewer sees it");
    assert_eq!(cache, "private, max-age=60");
    assert_eq!(read_svg(&body), "hidden-liveness: up");
}
