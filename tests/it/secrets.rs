//! Secrets stay secret: the `stackwatch` binary, run with notifiers whose URLs, headers and
//! passwords hold secrets, never writes them to its log or into API answers, even while
//! deliveries fail and are retried. Also `stackwatch notify-test`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::status_and_json;
use crate::receivers::{HookReceiver, SmtpReceiver};

const BIN: &str = env!("CARGO_BIN_EXE_stackwatch");
const ADMIN: &str = "admin-token-for-the-secret-test";
const SECRETS: [&str; 4] = [
    "slack-secret-path-7f3a",
    "smtp-secret-password-9c1d",
    "webhook-secret-header-2b8e",
    ADMIN,
];

/// A check's own secrets: a query value and a header value.
const CHECK_SECRETS: [&str; 2] = ["query-secret-4d2c", "header-secret-81f0"];

/// The Slack URL and the SMTP password come from the environment, as `${VAR}`.
fn config(smtp: &SmtpReceiver, hook: &HookReceiver, level: &str) -> String {
    format!(
        r#"
[log]
level = "{level}"

[alerting]
default_contacts = ["ops-slack", "oncall", "pager"]

[notifiers.ops-slack]
kind = "slack"
webhook_url = "${{TEST_SLACK_URL}}"

[notifiers.oncall]
kind = "email"
smtp_url = "smtp://{smtp}"
tls = "none"
username = "stackwatch"
password = "${{TEST_SMTP_PASSWORD}}"
from = "stackwatch@example.com"
to = ["oncall@example.com"]

[notifiers.pager]
kind = "webhook"
url = "{hook}"
headers = {{ Authorization = "Bearer {header}" }}
"#,
        smtp = smtp.addr,
        hook = hook.url("/hook"),
        header = SECRETS[2],
    )
}

/// Runs the binary until alerts for a failing check have been attempted everywhere.
async fn run_with_failing_deliveries(level: &str) -> (String, String, String) {
    let slack = HookReceiver::slack().await;
    slack.status.store(500, Ordering::SeqCst);
    let smtp = SmtpReceiver::start().await;
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("stackwatch.toml");
    std::fs::write(&config_path, config(&smtp, &hook, level)).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .arg("--data-dir")
        .arg(dir.path())
        .env("STACKWATCH_ADMIN_TOKEN", ADMIN)
        .env(
            "TEST_SLACK_URL",
            slack.url(&format!("/services/{}", SECRETS[0])),
        )
        .env("TEST_SMTP_PASSWORD", SECRETS[1])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let addr = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let text = log.lock().unwrap().clone();
        if let Some(rest) = text.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server stopped: {text}"
        );
    };
    let client = reqwest::Client::new();
    let api = |path: &str| format!("http://{addr}/api/v1{path}");
    let put = client
        .put(api("/checks/refused"))
        .bearer_auth(ADMIN)
        .json(&json!({
            "url": format!("http://127.0.0.1:9/?apikey={}", CHECK_SECRETS[0]),
            "headers": {"X-Api-Key": CHECK_SECRETS[1]},
            "check_rate": 10,
            "retry_interval": 1
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    // A heartbeat pinged: its key is in the request path.
    let (_, job) = status_and_json(
        client
            .put(api("/checks/job"))
            .bearer_auth(ADMIN)
            .json(&json!({"kind": "heartbeat", "period": 3600, "grace": 60, "contacts": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ping = job["check"]["ping_url"].as_str().unwrap().to_owned();
    let pinged = client
        .post(format!("http://{addr}{ping}"))
        .send()
        .await
        .unwrap();
    assert_eq!(pinged.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let answer = loop {
        let (_, list) = status_and_json(
            client
                .get(api("/alerts"))
                .bearer_auth(ADMIN)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let attempted = list["alerts"][0]["deliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 3 && d.iter().all(|d| d["attempts"].as_i64() >= Some(1)));
        if attempted && slack.received().len() >= 2 {
            break list;
        }
        assert!(tokio::time::Instant::now() < deadline, "{list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let failed: Vec<&Value> = answer["alerts"][0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["last_error"].is_string())
        .collect();
    assert!(
        failed.len() >= 2,
        "slack (500) and email (no AUTH offered) fail: {answer}"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    let text = log.lock().unwrap().clone();
    let key = ping.trim_start_matches("/ping/").to_owned();
    (text, answer.to_string(), key)
}

#[tokio::test]
async fn secrets_never_reach_the_log_or_the_api() {
    for level in ["info", "debug"] {
        let (log, answer, ping_key) = run_with_failing_deliveries(level).await;
        assert!(
            log.contains("alert delivery failed"),
            "failures are logged: {log}"
        );
        for secret in SECRETS
            .iter()
            .chain(&CHECK_SECRETS)
            .chain([&ping_key.as_str()])
        {
            assert!(!log.contains(secret), "{secret} in the {level} log:\n{log}");
            assert!(
                !answer.contains(secret),
                "{secret} in the API answer: {answer}"
            );
        }
    }
}

#[tokio::test]
async fn notify_test_sends_one_message_through_one_contact() {
    let hook = HookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    // A second contact needs a variable that is not set: notify-test of `pager` needs only
    // `pager`'s settings, so it still runs.
    std::fs::write(
        &path,
        format!(
            "[notifiers.pager]\nkind = \"webhook\"\nurl = \"{}\"\n\n\
             [notifiers.oncall]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:9\"\n\
             password = \"${{STACKWATCH_TEST_UNSET_PASSWORD}}\"\nfrom = \"a@example.com\"\n\
             to = [\"b@example.com\"]\n",
            hook.url("/t")
        ),
    )
    .unwrap();
    // The receiver runs on this test's runtime, so the command runs on a blocking thread.
    let notify_test = |path: std::path::PathBuf, data: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["notify-test", "pager", "--config"])
                .arg(path)
                .env("STACKWATCH_DATA_DIR", data)
                .output()
                .unwrap()
        })
    };
    let sent = notify_test(path.clone(), dir.path().to_owned())
        .await
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let received = hook.accepted();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body["event"], "test");

    hook.status.store(502, Ordering::SeqCst);
    let failed = notify_test(path.clone(), dir.path().to_owned())
        .await
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("the receiver answered HTTP 502"));

    // Serving needs every contact complete, and says which variable is missing.
    let served = Command::new(BIN)
        .args(["migrate", "--config"])
        .arg(&path)
        .env("STACKWATCH_DATA_DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&served.stderr);
    assert_eq!(served.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("notifiers.oncall.password: environment variable STACKWATCH_TEST_UNSET_PASSWORD is not set"),
        "{stderr}"
    );
}

#[test]
fn a_default_contact_that_does_not_exist_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[alerting]\ndefault_contacts = [\"ghost\"]\n").unwrap();
    let output = Command::new(BIN)
        .args(["migrate", "--config"])
        .arg(&path)
        .env("STACKWATCH_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("alerting.default_contacts[0]: no notifier is named \"ghost\""),
        "{stderr}"
    );
}
