//! The prober against real targets: every way a target can fail is a DOWN outcome with
//! the right cause, never a panic or an error.

use std::path::PathBuf;

use serde_json::json;
use stackwatch::app::probe_once::spec_from_json;
use stackwatch::domain::{CheckSpec, Outcome};
use stackwatch::probe::Prober;

use crate::targets::{TestCa, h2_target, http_target, https_target, self_signed};

fn spec(body: serde_json::Value) -> CheckSpec {
    spec_from_json(body).unwrap()
}

async fn probe(prober: &Prober, body: serde_json::Value) -> Outcome {
    prober.probe(&spec(body)).await
}

fn kind(outcome: &Outcome) -> &'static str {
    outcome.failure.as_ref().map_or("up", |f| f.kind())
}

/// A prober that trusts `ca` besides the public roots.
fn prober_trusting(ca: &TestCa) -> (Prober, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("ca.pem");
    std::fs::write(&path, &ca.pem).unwrap();
    (Prober::new(Some(&path), "stackwatch-test").unwrap(), dir)
}

#[tokio::test]
async fn http_outcomes_name_their_cause() {
    let target = http_target().await;
    let prober = Prober::new(None, "stackwatch-test").unwrap();
    let url = |path: &str| target.url("http", path);
    let cases = vec![
        (json!({"url": url("/ok")}), "up"),
        (json!({"url": url("/code/500")}), "bad_status"),
        (json!({"url": url("/code/404")}), "bad_status"),
        (
            json!({"url": url("/code/204"), "expected_status": [204]}),
            "up",
        ),
        (
            json!({"url": url("/code/200"), "expected_status": [204]}),
            "bad_status",
        ),
        (json!({"url": url("/redirect/3")}), "up"),
        (
            json!({"url": url("/redirect/3"), "follow_redirects": true, "body_contains": "arrived"}),
            "up",
        ),
        (
            json!({"url": url("/redirect/11"), "follow_redirects": true}),
            "too_many_redirects",
        ),
        (
            json!({"url": url("/loop/a"), "follow_redirects": true}),
            "redirect_loop",
        ),
        (
            json!({"url": url("/body"), "body_contains": "stackwatch"}),
            "up",
        ),
        (
            json!({"url": url("/body"), "body_contains": "absent"}),
            "keyword_missing",
        ),
        (
            json!({"url": url("/body"), "body_not_contains": "hello"}),
            "keyword_present",
        ),
        (json!({"url": url("/slow"), "timeout": 1}), "timeout"),
        (json!({"url": url("/hang"), "timeout": 1}), "timeout"),
        (json!({"url": url("/truncated")}), "closed_early"),
        (json!({"url": url("/garbage")}), "protocol"),
        (json!({"url": url("/reset")}), "reset"),
        (json!({"url": url("/ok"), "method": "HEAD"}), "up"),
        (
            json!({"url": url("/ok"), "method": "POST", "body": "{}"}),
            "up",
        ),
        (json!({"url": "http://127.0.0.1:9/"}), "connection_refused"),
    ];
    for (body, want) in cases {
        let outcome = probe(&prober, body.clone()).await;
        assert_eq!(kind(&outcome), want, "{body}: {:?}", outcome.failure);
    }
}

#[tokio::test]
async fn timings_status_and_too_slow_are_recorded() {
    let target = http_target().await;
    let prober = Prober::new(None, "stackwatch-test").unwrap();
    let up = probe(&prober, json!({"url": target.url("http", "/ok")})).await;
    assert_eq!(up.status, Some(200));
    assert!(up.timings.connect_ms.is_some() && up.timings.ttfb_ms.is_some());
    assert_eq!(up.timings.dns_ms, None, "an IP address needs no DNS");
    assert_eq!(up.timings.tls_ms, None);

    let slow = probe(
        &prober,
        json!({"url": target.url("http", "/slow"), "timeout": 10, "max_response_time_ms": 1000}),
    )
    .await;
    assert_eq!(kind(&slow), "too_slow", "{:?}", slow.failure);
    assert_eq!(slow.status, Some(200));
    assert!(slow.timings.total_ms >= 3_000);
}

#[tokio::test]
async fn basic_auth_and_headers_are_sent() {
    let target = http_target().await;
    let prober = Prober::new(None, "stackwatch-test").unwrap();
    let outcome = probe(
        &prober,
        json!({"url": target.url("http", "/echo-auth"), "basic_auth": {"username": "u", "password": "p"},
               "body_contains": "Basic dTpw"}),
    )
    .await;
    assert_eq!(kind(&outcome), "up", "{:?}", outcome.failure);
}

#[tokio::test]
async fn a_chain_expires_with_its_first_certificate_and_says_which() {
    let root = TestCa::new();
    let (prober, _dir) = prober_trusting(&root);
    // The server's own certificate has 60 days, its intermediate 5.
    let short = root.intermediate("stackwatch short intermediate", 5);
    let chained = https_target(&short.issue(&["127.0.0.1"], -1, 60)).await;
    let outcome = probe(&prober, json!({"url": chained.url("https", "/ok")})).await;
    assert_eq!(kind(&outcome), "up", "{:?}", outcome.failure);
    let days_left =
        (outcome.cert_not_after.unwrap().0 - stackwatch::domain::Timestamp::now().0) / 86_400_000;
    assert!((4..=5).contains(&days_left), "{days_left}");
    assert_eq!(
        outcome.cert_of.as_deref(),
        Some("intermediate \"stackwatch short intermediate\"")
    );

    // A certificate sent but not on the path (another authority's, expiring sooner)
    // does not count; the server's own, the first to expire on its path, is not named.
    let long = root.intermediate("stackwatch long intermediate", 400);
    let mut identity = long.issue(&["127.0.0.1"], -1, 30);
    let stray = TestCa::new().intermediate("stackwatch stray", 2);
    identity
        .chain
        .extend(stray.issue(&["stray.example"], -1, 1).chain);
    let padded = https_target(&identity).await;
    let outcome = probe(&prober, json!({"url": padded.url("https", "/ok")})).await;
    assert_eq!(kind(&outcome), "up", "{:?}", outcome.failure);
    let days_left =
        (outcome.cert_not_after.unwrap().0 - stackwatch::domain::Timestamp::now().0) / 86_400_000;
    assert!((29..=30).contains(&days_left), "{days_left}");
    assert_eq!(outcome.cert_of, None);
}

#[tokio::test]
async fn https_certificates_are_verified_and_their_expiry_recorded() {
    let ca = TestCa::new();
    let (prober, _dir) = prober_trusting(&ca);
    let valid = https_target(&ca.issue(&["127.0.0.1"], -1, 30)).await;
    let expired = https_target(&ca.issue(&["127.0.0.1"], -30, -2)).await;
    let wrong_name = https_target(&ca.issue(&["other.example"], -1, 30)).await;
    let untrusted = https_target(&self_signed()).await;

    let ok = probe(&prober, json!({"url": valid.url("https", "/ok")})).await;
    assert_eq!(kind(&ok), "up", "{:?}", ok.failure);
    assert!(ok.timings.tls_ms.is_some());
    let days_left =
        (ok.cert_not_after.unwrap().0 - stackwatch::domain::Timestamp::now().0) / 86_400_000;
    assert!((29..=30).contains(&days_left), "{days_left}");

    let cases = [
        (&expired, "tls_expired"),
        (&wrong_name, "tls_wrong_name"),
        (&untrusted, "tls_untrusted"),
    ];
    for (target, want) in cases {
        let outcome = probe(&prober, json!({"url": target.url("https", "/ok")})).await;
        assert_eq!(kind(&outcome), want, "{:?}", outcome.failure);
        assert_eq!(outcome.status, None);
        let insecure = probe(
            &prober,
            json!({"url": target.url("https", "/ok"), "verify_tls": false}),
        )
        .await;
        assert_eq!(
            kind(&insecure),
            "up",
            "verify_tls=false accepts it: {:?}",
            insecure.failure
        );
    }
    let outcome = probe(&prober, json!({"url": expired.url("https", "/ok")})).await;
    assert!(
        outcome
            .failure
            .unwrap()
            .to_string()
            .starts_with("TLS certificate expired at")
    );
}

#[tokio::test]
async fn http2_is_used_when_the_server_offers_it() {
    let ca = TestCa::new();
    let (prober, _dir) = prober_trusting(&ca);
    let addr = h2_target(&ca.issue(&["127.0.0.1"], -1, 30)).await;
    let outcome = probe(
        &prober,
        json!({"url": format!("https://{addr}/"), "body_contains": "HTTP/2.0"}),
    )
    .await;
    assert_eq!(kind(&outcome), "up", "{:?}", outcome.failure);
}

#[tokio::test]
async fn a_plain_http_target_behind_https_is_a_handshake_failure() {
    let target = http_target().await;
    let prober = Prober::new(None, "stackwatch-test").unwrap();
    let outcome = probe(
        &prober,
        json!({"url": target.url("https", "/ok"), "timeout": 2}),
    )
    .await;
    assert!(
        matches!(kind(&outcome), "tls_handshake" | "timeout" | "reset"),
        "{:?}",
        outcome.failure
    );
    assert!(outcome.failure.is_some());
}
