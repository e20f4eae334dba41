//! The `stackwatch` binary itself: configuration errors, serve, healthcheck, migrate.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_stackwatch");

/// A command for the binary with no STACKWATCH variables inherited from the caller.
pub fn stackwatch(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("STACKWATCH") {
            command.env_remove(key);
        }
    }
    command.env("STACKWATCH_DATA_DIR", data_dir);
    command
}

pub fn run(command: &mut Command) -> (i32, String) {
    let Output { status, stderr, .. } = command.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn an_unknown_key_in_the_config_file_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\nlisten_port = 80\n",
    )
    .unwrap();
    let (code, stderr) = run(stackwatch(dir.path()).arg("--config").arg(&config));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("server.listen_port"), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
}

#[test]
fn bad_values_stop_the_start_one_line_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\nlisten = \"nowhere\"\n").unwrap();
    let (code, stderr) = run(stackwatch(dir.path()).arg("--config").arg(&config));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("server.listen"), "{stderr}");

    std::fs::write(
        &config,
        "[server]\nrequest_timeout = 0\n[auth]\nread_tokens = [\"short\"]\n",
    )
    .unwrap();
    let (code, stderr) = run(stackwatch(dir.path()).arg("--config").arg(&config));
    assert_eq!(code, 2, "{stderr}");
    let problems: Vec<&str> = stderr.lines().skip(1).collect();
    assert_eq!(problems.len(), 2, "{stderr}");
    let file = config.display().to_string();
    assert!(
        problems[0].starts_with(&format!("{file}: server.request_timeout: must be between")),
        "{stderr}"
    );
    assert!(
        problems[1].starts_with(&format!("{file}: auth.read_tokens[0]: ")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("\"short\""),
        "tokens are not echoed: {stderr}"
    );
}

#[test]
fn every_unknown_or_ill_typed_key_is_reported_each_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("many.toml");
    std::fs::write(
        &config,
        "[server]\nlisten_port = 80\nrequest_timeout = \"soon\"\n\n[monitor]\nmax_probes = 5\n\n\
         [retention]\nraw_days = 0\n",
    )
    .unwrap();
    let (code, stderr) = run(stackwatch(dir.path()).arg("--config").arg(&config));
    assert_eq!(code, 2, "{stderr}");
    let file = config.display().to_string();
    let mut problems: Vec<&str> = stderr.lines().skip(1).collect();
    problems.sort_unstable();
    assert_eq!(problems.len(), 4, "{stderr}");
    for (line, key) in problems.iter().zip([
        "monitor.max_probes: unknown field",
        "retention.raw_days: must be between 1 and",
        "server.listen_port: unknown field",
        "server.request_timeout: invalid type",
    ]) {
        assert!(
            line.starts_with(&format!("{file}: {key}")),
            "{line:?} in\n{stderr}"
        );
    }
}

#[test]
fn a_bad_environment_variable_is_named_by_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .env("STACKWATCH_READ_TOKEN", "short")
        .env("STACKWATCH__SERVER__REQUEST_TIMEOUT", "0"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("environment variable STACKWATCH_READ_TOKEN: a token needs at least"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "environment variable STACKWATCH__SERVER__REQUEST_TIMEOUT: server.request_timeout: must be between"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("read_tokens[0]"), "{stderr}");
}

#[test]
fn environment_variables_are_a_layer_and_are_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .env("STACKWATCH__DATABASE__READ_CONNECTIONS", "many"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("database.read_connections"), "{stderr}");
    assert!(stderr.contains("STACKWATCH__"), "{stderr}");
}

#[test]
fn a_missing_config_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) =
        run(stackwatch(dir.path()).env("STACKWATCH_CONFIG", dir.path().join("nope.toml")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nope.toml"), "{stderr}");
}

#[test]
fn migrate_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(stackwatch(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("stackwatch.db").exists());
}

#[test]
fn migrate_creates_a_missing_data_directory_and_says_a_failure_once() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("not/yet/there");
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .arg("--data-dir")
        .arg(&nested));
    assert_eq!(code, 0, "{stderr}");
    assert!(nested.join("stackwatch.db").is_file());

    let blocked = dir.path().join("blocked");
    std::fs::create_dir_all(blocked.join("stackwatch.db")).unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .arg("--data-dir")
        .arg(&blocked));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("unable to open database file").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("stackwatch.db"), "{stderr}");
}

#[test]
fn help_shows_examples_and_version_prints() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success());
    assert!(
        text.contains("Examples:") && text.contains("healthcheck"),
        "{text}"
    );
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("stackwatch {}", env!("CARGO_PKG_VERSION"))
    );
}

/// A `stackwatch serve` process on port 0.
struct Served {
    child: Child,
    addr: String,
    /// Log lines up to the one that gave the address.
    log: String,
    /// Log lines after it.
    lines: mpsc::Receiver<String>,
}

/// Starts `stackwatch serve` on port 0 and reads its address from its log.
fn serve(data_dir: &Path) -> Served {
    let mut child = stackwatch(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = String::new();
    loop {
        let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not log its address: {log}");
        };
        log.push_str(&line);
        log.push('\n');
        if let Some(addr) = line.split("addr=").nth(1) {
            let addr = addr.trim().to_owned();
            return Served {
                child,
                addr,
                log,
                lines,
            };
        }
    }
}

#[test]
fn serve_generates_a_token_logs_its_path_answers_healthcheck_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let Served {
        mut child,
        addr,
        log,
        lines,
    } = serve(dir.path());
    let token = std::fs::read_to_string(dir.path().join("admin.token")).unwrap();
    let token = token.trim();
    assert!(
        log.contains("admin.token"),
        "the log names the token file: {log}"
    );
    assert!(!log.contains(token), "the log never shows the token");

    let (code, stderr) = run(stackwatch(dir.path()).args([
        "healthcheck",
        "--url",
        &format!("http://{addr}/healthz"),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _) =
        run(stackwatch(dir.path()).args(["healthcheck", "--url", "http://127.0.0.1:9/healthz"]));
    assert_eq!(code, 1, "a refused connection is unhealthy");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "a SIGTERM stop is clean: {status}");
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("SIGTERM")), "{rest:?}");
    assert!(!rest.iter().any(|l| l.contains(token)));
}

#[test]
fn a_generated_token_made_stale_by_a_configured_one_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let Served { mut child, .. } = serve(dir.path());
    let token_file = dir.path().join("admin.token");
    assert!(token_file.is_file());
    child.kill().unwrap();
    child.wait().unwrap();

    let mut child = stackwatch(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "STACKWATCH_ADMIN_TOKEN",
            "configured-admin-token-0123456789",
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("addr=") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!token_file.exists(), "the dead token's file is gone: {log}");
    assert!(
        log.contains("removed its file") && log.contains("admin.token"),
        "{log}"
    );
}

#[tokio::test]
async fn probe_prints_the_phases_and_exits_by_verdict() {
    let target = crate::targets::http_target().await;
    let up_url = target.url("http", "/body");
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            let output = stackwatch(dir.path())
                .arg("probe")
                .args(args)
                .output()
                .unwrap();
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
            )
        })
    };
    let (code, text) = run(vec![
        up_url.clone(),
        "--contains".into(),
        "stackwatch".into(),
    ])
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("-> UP") && text.contains("status       200") && text.contains("first byte"),
        "{text}"
    );
    let (code, text) = run(vec![up_url, "--contains".into(), "absent".into()])
        .await
        .unwrap();
    assert_eq!(code, Some(1));
    assert!(
        text.contains("DOWN: \"absent\" not found in the body"),
        "{text}"
    );
    let (code, text) = run(vec!["http://127.0.0.1:9/".into()]).await.unwrap();
    assert_eq!(code, Some(1));
    assert!(text.contains("DOWN: connection refused"), "{text}");
    let (code, _) = run(vec!["ftp://127.0.0.1/".into()]).await.unwrap();
    assert_eq!(code, Some(1), "an invalid URL is refused");
}

#[test]
fn a_nameserver_that_is_not_an_address_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("migrate")
        .env("STACKWATCH__PROBE__NAMESERVER", "resolver.local"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "environment variable STACKWATCH__PROBE__NAMESERVER: probe.nameserver: \"resolver.local\" is not an IP address or address:port"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_held_data_directory_refuses_a_second_serve_or_migrate_until_its_holder_dies() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let first = crate::binary::start(&data, "").await;
    let holder = first.pid().to_string();
    let second = || {
        let mut command = stackwatch(&data);
        command.args(["serve", "--listen", "127.0.0.1:0"]);
        command
    };
    for (what, mut command) in [
        ("serve", second()),
        ("migrate", {
            let mut m = stackwatch(&data);
            m.arg("migrate");
            m
        }),
    ] {
        let (code, stderr) = run(&mut command);
        assert_eq!(code, 2, "{what}: {stderr}");
        assert!(
            stderr.contains(&data.display().to_string()) && stderr.contains(&holder),
            "{what} names the directory and the holder: {stderr}"
        );
    }
    // kill -9 leaves no shutdown behind, and the kernel releases the lock.
    first.kill9();
    let again = crate::binary::start(&data, "").await;
    let (status, _) = again.get("/api/v1/checks").await;
    assert_eq!(status, 200);
}

#[test]
fn an_agent_server_url_with_credentials_stops_the_agent_naming_the_key_not_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .args(["agent", "--location", "fra", "--server"])
        .arg("https://ops:hunter2-in-the-url@stackwatch.invalid/")
        .env("STACKWATCH_AGENT_TOKEN", "an-agent-token-of-fra"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("agent.server: must not carry a user name or password"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");

    let (code, stderr) = run(stackwatch(dir.path())
        .args(["agent", "--location", "fra", "--server"])
        .arg("https://stackwatch.invalid/?token=x")
        .env("STACKWATCH_AGENT_TOKEN", "an-agent-token-of-fra"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("agent.server: must be a base URL, without a query or fragment"),
        "{stderr}"
    );
}
