//! ICMP checks: an echo to 127.0.0.1 through an unprivileged ICMP socket, or a raw one where
//! the kernel refuses those (`net.ipv4.ping_group_range` excludes this process) and the
//! process has CAP_NET_RAW. No test changes the machine's settings: the one that needs the
//! unprivileged socket refused does it in a network namespace of its own.

use serde_json::json;
use stackwatch::app::probe_once::spec_from_json;
use stackwatch::probe::{Prober, icmp_allowed};

use crate::helpers::{error_fields, spawn_with, sqlite_test_settings, test_settings};

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

/// This thread's capability sets without CAP_NET_RAW (capabilities are per thread on
/// Linux; threads it starts inherit them), through capget(2)/capset(2).
fn drop_cap_net_raw_from_this_thread() -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_RAW: u32 = 13;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: both point to live structs of the layout the kernel reads and writes.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } != 0 {
        return Err(format!("capget: {}", std::io::Error::last_os_error()));
    }
    data[0].effective &= !(1 << CAP_NET_RAW);
    data[0].permitted &= !(1 << CAP_NET_RAW);
    // SAFETY: as above.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } != 0 {
        return Err(format!("capset: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// A box with no ICMP socket at all: a thread in a network namespace of its own that
/// refuses unprivileged ICMP, without CAP_NET_RAW. A new `icmp` check is refused with a 422
/// naming the sysctl and the capability; one registered before (on a box that could ping)
/// is probed but never judged: no DOWN, no alert, and `/readyz` and the dashboard say why.
#[test]
fn without_any_icmp_socket_icmp_checks_are_refused_and_existing_ones_alert_nobody() {
    if !is_root() {
        let refused = std::thread::spawn(|| unsafe { libc::unshare(libc::CLONE_NEWNET) }).join();
        assert_ne!(refused.unwrap(), 0, "a namespace needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    // Registered where ICMP works, paused so it has no result yet. The second start runs
    // in a network namespace of its own, where no database server is reachable: SQLite.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let app = spawn_with(sqlite_test_settings(&data)).await;
        let body = json!({"kind": "icmp", "host": "127.0.0.1", "packets": 1,
            "check_rate": 10, "paused": true});
        let (status, answer) = app.put("/api/v1/checks/gateway", &body).await;
        assert_eq!(status, 201, "{answer}");
        app.stop().await;
    });
    std::thread::spawn(move || {
        // SAFETY: unshare(2) with CLONE_NEWNET moves only this thread; no memory is touched.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(up.success());
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", "1 0").unwrap();
        drop_cap_net_raw_from_this_thread().unwrap();
        assert!(icmp_allowed().is_err(), "neither socket can be had here");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(no_socket_in_this_thread(&data));
    })
    .join()
    .unwrap();
}

async fn no_socket_in_this_thread(data: &std::path::Path) {
    use serde_json::Value;
    let hook = crate::receivers::HookReceiver::start().await;
    let mut settings = sqlite_test_settings(data);
    settings.notifiers.insert(
        "pager".into(),
        stackwatch::settings::NotifierSettings::Webhook(stackwatch::settings::WebhookSettings {
            url: stackwatch::settings::Secret::new(hook.url("/hook")),
            headers: Default::default(),
        }),
    );
    settings.alerting.default_contacts = vec!["pager".into()];
    let app = spawn_with(settings).await;
    let body = json!({"kind": "icmp", "host": "127.0.0.1"});
    let (status, problem) = app.put("/api/v1/checks/new-gateway", &body).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(error_fields(&problem), ["kind"], "{problem}");
    let reason = problem["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("net.ipv4.ping_group_range") && reason.contains("CAP_NET_RAW"),
        "{reason}"
    );
    assert_eq!(app.post("/api/v1/checks/gateway/resume").await.0, 200);
    // Three results with the default confirmation of two failures: enough to go DOWN.
    let results = crate::binary::wait_for("three probes of the gateway", 60, async || {
        let page = app.get("/api/v1/checks/gateway/results").await.1;
        let results = page["results"].as_array()?.clone();
        (results.len() >= 3).then_some(results)
    })
    .await;
    for result in &results {
        assert_eq!(result["up"], false, "{result}");
        let error = result["error"].as_str().unwrap();
        assert!(error.contains("no ICMP socket"), "{result}");
    }
    let (_, check) = app.get("/api/v1/checks/gateway").await;
    assert_ne!(check["state"], "down", "{check}");
    let answer = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(answer.status(), 503);
    let readyz: Value = answer.json().await.unwrap();
    let why = "1 icmp checks are not judged (they alert nobody)";
    assert!(
        readyz["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().starts_with(why)
                && p.as_str().unwrap().contains("CAP_NET_RAW")),
        "{readyz}"
    );
    let dashboard = crate::helpers::text_as(&app.url("/"), crate::helpers::ADMIN_TOKEN).await;
    assert!(dashboard.contains("Monitoring is impaired") && dashboard.contains(why));
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    let (_, alerts) = app.get("/api/v1/alerts").await;
    assert_eq!(alerts["alerts"], json!([]), "{alerts}");
    assert!(hook.received().is_empty(), "nobody was told");
    app.stop().await;
}
