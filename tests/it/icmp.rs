//! ICMP checks: an echo to 127.0.0.1 through an unprivileged ICMP socket, or a raw one where
//! the kernel refuses those (`net.ipv4.ping_group_range` excludes this process) and the
//! process has CAP_NET_RAW. No test changes the machine's settings: the one that needs the
//! unprivileged socket refused does it in a network namespace of its own.

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

/// In a thread of its own, moved into a new network namespace (so the machine's settings
/// are untouched): loopback up, unprivileged ICMP refused as on a stock box (`1 0`), then
/// one probe of 127.0.0.1. Root only, as CI runs; elsewhere the namespace cannot be made.
fn probe_in_a_namespace_refusing_unprivileged_icmp() -> Result<stackwatch::domain::Outcome, String>
{
    std::thread::spawn(|| {
        // SAFETY: unshare(2) with CLONE_NEWNET moves only this thread; no memory is touched.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(format!("unshare: {}", std::io::Error::last_os_error()));
        }
        let up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .map_err(|e| e.to_string())?;
        if !up.success() {
            return Err("ip link set lo up failed".to_owned());
        }
        // /proc/sys/net is this thread's namespace's.
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", "1 0").map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let spec =
            spec_from_json(json!({"kind": "icmp", "host": "127.0.0.1", "packets": 2})).unwrap();
        Ok(runtime.block_on(async { Prober::new(None, "t").unwrap().probe(&spec).await }))
    })
    .join()
    .unwrap()
}

#[test]
fn with_cap_net_raw_an_icmp_check_is_up_where_unprivileged_icmp_is_refused() {
    if !is_root() {
        // Without root there is neither a namespace to make nor CAP_NET_RAW to use.
        let refused = probe_in_a_namespace_refusing_unprivileged_icmp();
        assert!(refused.is_err(), "a namespace needs root: {refused:?}");
        return;
    }
    let outcome = probe_in_a_namespace_refusing_unprivileged_icmp().unwrap();
    assert_eq!(outcome.failure, None, "the raw socket answered");
    assert_eq!(outcome.timings.lost, Some(0));
}
