//! ICMP checks: an echo to 127.0.0.1 through an unprivileged ICMP socket. Where the kernel
//! refuses such sockets (`net.ipv4.ping_group_range` excludes this process), the test, when
//! it runs as root as CI does, allows them as the README says; otherwise it checks that the
//! check is DOWN with the cause that says how to allow them.

use serde_json::json;
use stackwatch::app::probe_once::spec_from_json;
use stackwatch::probe::{Prober, icmp_allowed};

use crate::helpers::{error_fields, spawn_with, test_settings};

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test]
async fn an_icmp_echo_to_loopback_is_answered() {
    if icmp_allowed().is_err() && is_root() {
        eprintln!("allowing unprivileged ICMP: net.ipv4.ping_group_range = 0 2147483647");
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", "0 2147483647").unwrap();
    }
    let spec = spec_from_json(json!({"kind": "icmp", "host": "127.0.0.1", "packets": 2})).unwrap();
    let outcome = Prober::new(None, "t").unwrap().probe(&spec).await;
    match icmp_allowed() {
        Ok(()) => {
            assert_eq!(outcome.failure, None);
            assert!(
                outcome.timings.connect_ms.is_some(),
                "the round trip is recorded"
            );
            assert_eq!(outcome.timings.lost, Some(0), "no echo request was lost");
        }
        Err(reason) => {
            eprintln!("unprivileged ICMP is not allowed here ({reason}): checking the cause");
            let cause = outcome.failure.expect("DOWN").to_string();
            assert!(cause.contains("ping_group_range"), "{cause}");
        }
    }
}

#[tokio::test]
async fn icmp_fields_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    for (body, fields) in [
        (json!({"kind": "icmp"}), vec!["host"]),
        (
            json!({"kind": "icmp", "host": "127.0.0.1", "packets": 11}),
            vec!["packets"],
        ),
        (
            json!({"kind": "icmp", "host": "127.0.0.1", "port": 1}),
            vec!["port"],
        ),
        (
            json!({"kind": "tcp", "host": "127.0.0.1", "port": 1, "packets": 2}),
            vec!["packets"],
        ),
    ] {
        let (status, problem) = app.put("/api/v1/checks/ping-fields", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(error_fields(&problem), fields, "{body}: {problem}");
    }
    let (status, created) = app
        .put(
            "/api/v1/checks/gateway",
            &json!({"kind": "icmp", "host": "127.0.0.1"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["check"]["packets"], 3, "the default");
}

#[tokio::test]
async fn an_icmp_result_carries_its_loss_and_round_trip() {
    if icmp_allowed().is_err() && is_root() {
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", "0 2147483647").unwrap();
    }
    if let Err(reason) = icmp_allowed() {
        eprintln!("skipped: unprivileged ICMP is not allowed here ({reason})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    let body = json!({"kind": "icmp", "host": "127.0.0.1", "packets": 2, "check_rate": 10});
    assert_eq!(app.put("/api/v1/checks/loopback", &body).await.0, 201);
    let mut results = serde_json::Value::Null;
    for _ in 0..100 {
        results = app.get("/api/v1/checks/loopback/results").await.1;
        if results["results"].as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let first = &results["results"][0];
    assert_eq!(first["up"], true, "{results}");
    assert_eq!(first["lost"], 0, "{results}");
    assert!(first["connect_ms"].is_u64(), "{results}");
}
