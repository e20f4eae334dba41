//! Check kinds beyond HTTP against real listeners: TCP open, closed, silent, with send and
//! expect; SMTP greetings of 220 and 554; an SSH banner and garbage; the body's rules per
//! kind; and an SMTP check alerting DOWN and RECOVERED once each through a webhook.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use stackwatch::app::probe_once::spec_from_json;
use stackwatch::probe::Prober;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::binary::wait_for;
use crate::helpers::{error_fields, spawn_with, spawn_with_webhook, test_settings};
use crate::receivers::HookReceiver;

/// A listener that writes `greeting` to each connection (after reading one chunk when
/// `wait_for_input`), then closes it.
async fn talker(greeting: &'static [u8], wait_for_input: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if wait_for_input {
                    let mut buf = [0u8; 64];
                    let _ = stream.read(&mut buf).await;
                }
                let _ = stream.write_all(greeting).await;
            });
        }
    });
    addr
}

/// A listener that accepts and never says anything.
async fn silent() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (addr, task)
}

async fn kind_of(body: Value) -> &'static str {
    let spec = spec_from_json(body).unwrap();
    let outcome = Prober::new(None, "stackwatch-test")
        .unwrap()
        .probe(&spec)
        .await;
    outcome.failure.as_ref().map_or("up", |f| f.kind())
}

#[tokio::test]
async fn tcp_smtp_and_ssh_targets_are_judged_by_what_they_answer() {
    let open = talker(b"", false).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (quiet, _quiet_task) = silent().await;
    let pong = talker(b"+PONG\r\n", true).await;
    let smtp_ok = talker(b"220 mail.test ESMTP ready\r\n", false).await;
    let smtp_refusing = talker(b"554 no service here\r\n", false).await;
    let ssh_ok = talker(b"SSH-2.0-OpenSSH_9.6\r\n", false).await;
    let garbage = talker(b"HTTP/1.1 400 Bad Request\r\n\r\n", false).await;
    let host = "127.0.0.1";
    let cases = [
        (
            json!({"kind": "tcp", "host": host, "port": open.port()}),
            "up",
        ),
        (
            json!({"kind": "tcp", "host": host, "port": closed.port()}),
            "connection_refused",
        ),
        (
            json!({"kind": "tcp", "host": host, "port": quiet.port()}),
            "up",
        ),
        (
            json!({"kind": "tcp", "host": host, "port": quiet.port(), "expect": "READY", "timeout": 1}),
            "timeout",
        ),
        (
            json!({"kind": "tcp", "host": host, "port": pong.port(), "send": "PING\r\n", "expect": "PONG"}),
            "up",
        ),
        (
            json!({"kind": "tcp", "host": host, "port": pong.port(), "send": "PING\r\n", "expect": "READY"}),
            "unexpected_answer",
        ),
        (
            json!({"kind": "smtp", "host": host, "port": smtp_ok.port()}),
            "up",
        ),
        (
            json!({"kind": "smtp", "host": host, "port": smtp_refusing.port()}),
            "unexpected_answer",
        ),
        (
            json!({"kind": "ssh", "host": host, "port": ssh_ok.port()}),
            "up",
        ),
        (
            json!({"kind": "ssh", "host": host, "port": garbage.port()}),
            "unexpected_answer",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(kind_of(body.clone()).await, want, "{body}");
    }
    let spec = spec_from_json(json!({"kind": "smtp", "host": host, "port": smtp_refusing.port()}))
        .unwrap();
    let cause = Prober::new(None, "t")
        .unwrap()
        .probe(&spec)
        .await
        .failure
        .unwrap()
        .to_string();
    assert_eq!(
        cause,
        "expected an SMTP greeting (220), got \"554 no service here\""
    );
}

#[tokio::test]
async fn each_kind_takes_only_its_own_fields() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let cases = [
        (json!({"kind": "tcp"}), vec!["host", "port"]),
        (
            json!({"kind": "tcp", "host": "db.internal", "port": 70000}),
            vec!["port"],
        ),
        (
            json!({"kind": "tcp", "host": "bad host!", "port": 6379}),
            vec!["host"],
        ),
        (
            json!({"kind": "smtp", "host": "mail.internal", "url": "http://x/", "send": "HELO"}),
            vec!["send", "url"],
        ),
        (
            json!({"url": "http://127.0.0.1/", "host": "x"}),
            vec!["host"],
        ),
        (json!({"kind": "gopher", "host": "x"}), vec!["kind"]),
    ];
    for (body, fields) in cases {
        let (status, problem) = app.put("/api/v1/checks/kinds", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        let mut got = error_fields(&problem);
        got.sort();
        assert_eq!(got, fields, "{body}: {problem}");
    }
    let (status, created) = app
        .put(
            "/api/v1/checks/redis",
            &json!({"kind": "tcp", "host": "127.0.0.1", "port": 6379, "send": "PING\r\n", "expect": "PONG"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let check = &created["check"];
    assert_eq!(
        (check["kind"].as_str(), check["port"].as_u64()),
        (Some("tcp"), Some(6379))
    );
    assert!(
        check.get("url").is_none(),
        "no HTTP field on a tcp check: {check}"
    );
    let (_, ssh) = app
        .put(
            "/api/v1/checks/bastion",
            &json!({"kind": "ssh", "host": "127.0.0.1"}),
        )
        .await;
    assert_eq!(ssh["check"]["port"], 22, "ssh's default port");
}

#[tokio::test]
async fn an_smtp_check_alerts_down_and_recovered_once_each() {
    let refusing = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let flag = refusing.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let greeting: &[u8] = if flag.load(Ordering::SeqCst) {
                b"554 closed for maintenance\r\n"
            } else {
                b"220 mail ready\r\n"
            };
            let _ = stream.write_all(greeting).await;
        }
    });
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let body = json!({"kind": "smtp", "host": "127.0.0.1", "port": port, "check_rate": 10, "retry_interval": 1});
    assert_eq!(app.put("/api/v1/checks/mail", &body).await.0, 201);
    let state = async |want: &str| {
        wait_for(want, 60, async || {
            let (_, check) = app.get("/api/v1/checks/mail").await;
            (check["state"] == want).then_some(())
        })
        .await
    };
    state("up").await;
    refusing.store(true, Ordering::SeqCst);
    state("down").await;
    refusing.store(false, Ordering::SeqCst);
    state("up").await;
    let events = wait_for("two webhook calls", 30, async || {
        let got: Vec<String> = hook
            .accepted()
            .iter()
            .map(|r| r.body["event"].as_str().unwrap_or_default().to_owned())
            .collect();
        (got.len() >= 2).then_some(got)
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(events, vec!["down", "recovered"]);
    assert_eq!(hook.accepted().len(), 2, "once each");
    let down = &hook.accepted()[0].body;
    assert_eq!(down["url"], format!("smtp://127.0.0.1:{port}"));
    assert!(
        down["cause"]
            .as_str()
            .unwrap()
            .contains("554 closed for maintenance"),
        "{down}"
    );
}

/// A listener answering each connection with one of two texts, by a switch.
async fn switchable_talker(good: &'static [u8], bad: &'static [u8]) -> (u16, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let flag = failing.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let text = if flag.load(Ordering::SeqCst) {
                bad
            } else {
                good
            };
            let _ = stream.write_all(text).await;
        }
    });
    (port, failing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_ssh_and_dns_checks_alert_down_and_recovered_once_each() {
    let (tcp_port, tcp_failing) = switchable_talker(b"READY\r\n", b"BUSY\r\n").await;
    let (ssh_port, ssh_failing) = switchable_talker(b"SSH-2.0-test\r\n", b"garbage\r\n").await;
    let (dns, dns_failing) = crate::dns::switchable_dns_server().await;
    let hook = HookReceiver::start().await;
    let (app, _dir) = spawn_with_webhook(&hook).await;
    let common = json!({"check_rate": 10, "retry_interval": 1, "timeout": 2});
    let bodies = [
        (
            "cache",
            json!({"kind": "tcp", "host": "127.0.0.1", "port": tcp_port, "expect": "READY"}),
        ),
        (
            "bastion",
            json!({"kind": "ssh", "host": "127.0.0.1", "port": ssh_port}),
        ),
        (
            "domain",
            json!({"kind": "dns", "host": "ok.test", "nameserver": dns.to_string()}),
        ),
    ];
    for (name, mut body) in bodies {
        body.as_object_mut()
            .unwrap()
            .extend(common.as_object().unwrap().clone());
        assert_eq!(
            app.put(&format!("/api/v1/checks/{name}"), &body).await.0,
            201
        );
    }
    let all_in = async |want: &str| {
        for name in ["cache", "bastion", "domain"] {
            wait_for(&format!("{name} {want}"), 60, async || {
                let (_, check) = app.get(&format!("/api/v1/checks/{name}")).await;
                (check["state"] == want).then_some(())
            })
            .await;
        }
    };
    all_in("up").await;
    for flag in [&tcp_failing, &ssh_failing, &dns_failing] {
        flag.store(true, Ordering::SeqCst);
    }
    all_in("down").await;
    for flag in [&tcp_failing, &ssh_failing, &dns_failing] {
        flag.store(false, Ordering::SeqCst);
    }
    all_in("up").await;
    wait_for("six webhook calls", 30, async || {
        (hook.accepted().len() >= 6).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    for name in ["cache", "bastion", "domain"] {
        let events: Vec<String> = hook
            .accepted()
            .iter()
            .filter(|r| r.body["check"] == name)
            .map(|r| r.body["event"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(events, vec!["down", "recovered"], "{name}");
    }
}
