//! Hostile clients and hostile targets: slow or stalled API clients are cut off, the
//! connection cap keeps `/healthz` answering, running out of file descriptors is survived;
//! a target cannot decide how much is stored or alerted, and odd but valid answers (a UTF-8
//! Location, many headers) are read as browsers read them.

use std::time::Duration;

use serde_json::json;
use stackwatch::domain::Outcome;
use stackwatch::probe::Prober;
use stackwatch::settings::{NotifierSettings, Secret, SlackSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary::wait_for;
use crate::helpers::{TestApp, error_fields, spawn_with, test_settings};
use crate::receivers::HookReceiver;
use crate::targets::{https_target, scripted_target, self_signed_ca};

/// An app whose clients have `header_timeout` seconds to send a request head, with the
/// smallest connection cap.
async fn strict_app(header_timeout: u64) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.server.header_timeout = header_timeout;
    settings.server.max_connections = 16;
    (spawn_with(settings).await, dir)
}

/// A connection that sent an unfinished request head.
async fn slow_client(app: &TestApp) -> TcpStream {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    stream
}

/// Whether the server closes `stream` within `secs` seconds (a read sees the end).
async fn closed_within(stream: &mut TcpStream, secs: u64) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// `/healthz` through a new connection each time.
async fn healthz(app: &TestApp) -> Option<u16> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let response = client.get(app.url("/healthz")).send().await.ok()?;
    Some(response.status().as_u16())
}

#[tokio::test]
async fn slow_header_clients_are_cut_off_while_others_are_served() {
    let (app, _dir) = strict_app(2).await;
    let mut slow = Vec::new();
    for _ in 0..10 {
        slow.push(slow_client(&app).await);
    }
    assert_eq!(healthz(&app).await, Some(200), "served meanwhile");
    for stream in &mut slow {
        assert!(
            closed_within(stream, 15).await,
            "a head that never completes is cut off"
        );
    }

    // A keep-alive connection that goes quiet after a request is closed too.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut idle, 15).await,
        "idle keep-alive is closed"
    );
}

#[tokio::test]
async fn more_connections_than_the_cap_do_not_stop_healthz() {
    // The normal slots stay taken for the whole test; only the reserved ones turn over.
    let (app, _dir) = strict_app(300).await;
    // 16 normal slots, 16 reserved ones, and more: every one stalls its head.
    let mut slow = Vec::new();
    for _ in 0..48 {
        slow.push(slow_client(&app).await);
    }
    let status = wait_for("/healthz while the cap is reached", 20, async || {
        healthz(&app).await.filter(|s| *s == 200)
    })
    .await;
    assert_eq!(status, 200);
    drop(slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_is_survived() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The binary, with few descriptors and a connection cap above them.
    let p = crate::binary::start_with_limit(
        &data,
        "",
        96,
        &[("STACKWATCH__SERVER__HEADER_TIMEOUT", "2")],
    )
    .await;
    let addr = p.addr.clone();
    let mut slow = Vec::new();
    for _ in 0..150 {
        if let Ok(Ok(mut s)) =
            tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr.as_str())).await
        {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\n").await;
            slow.push(s);
        }
    }
    let log = wait_for("the accept loop to report exhaustion", 20, async || {
        let log = p.log();
        log.contains("accepting a connection failed").then_some(log)
    })
    .await;
    assert!(log.contains("Too many open files"), "{log}");
    drop(slow);
    let (status, _) = wait_for("/healthz after the flood", 30, async || {
        let response = reqwest::get(p.url("/healthz")).await.ok()?;
        Some((response.status().as_u16(), ()))
    })
    .await;
    assert_eq!(status, 200);
    let reports = p.log().matches("accepting a connection failed").count();
    assert_eq!(reports, 1, "logged once a minute, not per failed accept");
}

/// A listener whose backlog is full: SYNs to it are dropped, so connects hang.
async fn black_hole() -> (tokio::net::TcpListener, Vec<TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    while let Ok(Ok(stream)) =
        tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await
    {
        fillers.push(stream);
        assert!(fillers.len() < 64, "the backlog never filled");
    }
    (listener, fillers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_hanging_probes_than_open_files_wait_for_a_slot_and_lose_nothing() {
    let (hole, _fillers) = black_hole().await;
    let url = format!("http://{}/", hole.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    // 512 descriptors, 500 checks whose connects all hang for 5 seconds, all first probed
    // within 5 seconds: were every probe to start at once, some would fail to open a
    // socket, and SQLite and the API would have none left.
    let p = crate::binary::start_with_limit(
        &dir.path().join("data"),
        "",
        512,
        &[
            ("STACKWATCH__MONITOR__MAX_CONCURRENT_PROBES", "4096"),
            ("STACKWATCH__SERVER__MAX_CONNECTIONS", "16"),
        ],
    )
    .await;
    let checks: Vec<_> = (0..500)
        .map(|i| json!({"name": format!("hang-{i}"), "url": url, "timeout": 5, "check_rate": 60}))
        .collect();
    let (status, body) = p
        .put("/api/v1/stacks/black-hole", &json!({ "checks": checks }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        p.log().contains(
            "monitor.max_concurrent_probes leaves too few open files for the database and the API"
        ),
        "{}",
        p.log()
    );

    // 240 probes at a time, five seconds each: every check probed within some 20 seconds.
    let errors = wait_for("a result for every check", 90, async || {
        let (status, list) = p.get("/api/v1/checks?stack=black-hole&limit=1000").await;
        assert_eq!(status, 200, "{list}");
        let errors: Vec<String> = list["checks"]
            .as_array()?
            .iter()
            .map(|c| c["last_result"]["error"].as_str().map(str::to_owned))
            .collect::<Option<_>>()?;
        (errors.len() == 500).then_some(errors)
    })
    .await;
    assert!(
        errors.iter().all(|e| e == "connection timed out"),
        "{:?}",
        errors.iter().find(|e| *e != "connection timed out")
    );
    let log = p.log();
    assert!(!log.contains("Too many open files"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
}

fn long_location(_: &str) -> Vec<u8> {
    let location = format!("ftp://x/{}", "a".repeat(300_000));
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn a_long_location_is_bounded_in_results_and_alerts() {
    let target = scripted_target(long_location).await;
    let slack = HookReceiver::slack().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.notifiers.insert(
        "ops-slack".into(),
        NotifierSettings::Slack(SlackSettings {
            webhook_url: Secret::new(slack.url("/slack")),
        }),
    );
    settings.alerting.default_contacts = vec!["ops-slack".into()];
    let app = spawn_with(settings).await;
    let body = json!({"url": format!("http://{target}/"), "follow_redirects": true,
        "failures_to_confirm": 1, "check_rate": 10});
    assert_eq!(app.put("/api/v1/checks/long-location", &body).await.0, 201);

    let message = wait_for("the DOWN alert", 30, async || {
        slack.accepted().into_iter().next()
    })
    .await;
    let text = message.body.to_string();
    assert!(text.len() < 4_096, "alert of {} bytes", text.len());
    assert!(text.contains("[cut, "), "{text}");
    let (_, results) = app.get("/api/v1/checks/long-location/results").await;
    let error = results["results"][0]["error"].as_str().unwrap().to_owned();
    assert!(error.len() < 1_024, "stored cause of {} bytes", error.len());
    let (_, incidents) = app.get("/api/v1/incidents").await;
    assert!(incidents.to_string().len() < 4_096);
}

fn utf8_redirect(path: &str) -> Vec<u8> {
    if path == "/caf%C3%A9" {
        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\narrived".to_vec()
    } else {
        let mut answer = b"HTTP/1.1 302 Found\r\nLocation: /caf".to_vec();
        answer.extend_from_slice(&[0xc3, 0xa9]);
        answer.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        answer
    }
}

fn truncated_large_body(_: &str) -> Vec<u8> {
    let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".to_vec();
    answer.extend(std::iter::repeat_n(b'x', 500_000));
    answer
}

fn many_headers(_: &str) -> Vec<u8> {
    let mut answer = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..150 {
        answer.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    answer.push_str("Content-Length: 2\r\n\r\nOK");
    answer.into_bytes()
}

async fn probe(url: String, extra: serde_json::Value) -> Outcome {
    let mut body = json!({"url": url});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let spec = stackwatch::app::probe_once::spec_from_json(body).unwrap();
    Prober::new(None, "stackwatch-test")
        .unwrap()
        .probe(&spec)
        .await
}

#[tokio::test]
async fn odd_but_valid_answers_are_read_as_browsers_read_them() {
    let redirect = scripted_target(utf8_redirect).await;
    let outcome = probe(
        format!("http://{redirect}/start"),
        json!({"follow_redirects": true, "body_contains": "arrived"}),
    )
    .await;
    assert_eq!(outcome.failure, None, "the UTF-8 Location is followed");

    let headers = scripted_target(many_headers).await;
    let outcome = probe(format!("http://{headers}/"), json!({})).await;
    assert_eq!(outcome.failure, None, "150 headers are fine");

    let truncated = scripted_target(truncated_large_body).await;
    let outcome = probe(format!("http://{truncated}/"), json!({})).await;
    assert_eq!(
        outcome.failure.as_ref().map(|f| f.kind()),
        Some("closed_early"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_certificate_that_is_its_own_ca_reads_in_words() {
    let (identity, pem) = self_signed_ca();
    let target = https_target(&identity).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, pem).unwrap();
    let prober = Prober::new(Some(&bundle), "stackwatch-test").unwrap();
    let spec =
        stackwatch::app::probe_once::spec_from_json(json!({"url": target.url("https", "/ok")}))
            .unwrap();
    let outcome = prober.probe(&spec).await;
    let cause = outcome.failure.expect("not trusted").to_string();
    assert!(
        cause.contains("CA certificate used as the server's own"),
        "{cause}"
    );
    assert!(
        !cause.contains("Other(") && !cause.contains("OtherError"),
        "{cause}"
    );
}

#[tokio::test]
async fn a_url_with_line_breaks_or_spaces_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    for url in [
        "http://127.0.0.1:9/\r\nX-Injected: 1",
        "http://127.0.0.1:9/a b",
        "http://127.0.0.1:9/\u{0}",
        " http://127.0.0.1:9/",
    ] {
        let (status, problem) = app
            .put("/api/v1/checks/bad-url", &json!({"url": url}))
            .await;
        assert_eq!(status, 422, "{url:?}: {problem}");
        assert_eq!(error_fields(&problem), vec!["url"], "{problem}");
    }
    let (status, _) = app.get("/api/v1/checks/bad-url").await;
    assert_eq!(status, 404, "nothing was written");
}
