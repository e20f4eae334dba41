//! Names in HTTP and socket checks resolved through a DNS server started by the test (a UDP
//! socket answering canned records and counting the questions): an answer is kept for its
//! TTL and asked again after it, "no such name" is a DOWN with its cause, and the running
//! service asks the server `probe.nameserver` names.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use serde_json::json;
use stackwatch::domain::{CheckSpec, Failure};
use stackwatch::probe::Prober;
use stackwatch::probe::names::Names;

use crate::binary::wait_for;
use crate::dns::dns_responder;
use crate::helpers::{spawn_with, test_settings};
use crate::targets::http_target;

/// How long `app.test`'s address may be kept.
const TTL_S: u32 = 1;

/// Questions asked, by name and record type ("app.test. A").
type Asked = Arc<Mutex<HashMap<String, u32>>>;

/// Answers `app.test` A 127.0.0.1 (TTL `TTL_S`) and no AAAA; every other name NXDOMAIN.
async fn counting_dns_server() -> (SocketAddr, Asked) {
    let asked: Asked = Arc::default();
    let counts = asked.clone();
    let addr = dns_responder(move |question, answer| {
        let name = question.name().to_string();
        *counts
            .lock()
            .unwrap()
            .entry(format!("{name} {}", question.query_type()))
            .or_default() += 1;
        match (name.as_str(), question.query_type()) {
            ("app.test.", RecordType::A) => {
                answer.add_answer(Record::from_rdata(
                    question.name().clone(),
                    TTL_S,
                    RData::A(A(Ipv4Addr::LOCALHOST)),
                ));
            }
            ("app.test.", _) => {}
            _ => {
                answer.set_response_code(ResponseCode::NXDomain);
            }
        }
        true
    })
    .await;
    (addr, asked)
}

fn asked(counts: &Asked, question: &str) -> u32 {
    counts.lock().unwrap().get(question).copied().unwrap_or(0)
}

#[tokio::test]
async fn an_answer_is_kept_for_its_ttl_and_asked_again_after() {
    let (dns, counts) = counting_dns_server().await;
    let target = http_target().await;
    let prober = Prober::resolving_with(None, "stackwatch-test", Names::nameserver(dns)).unwrap();
    let spec = CheckSpec::with_defaults(
        format!("http://app.test:{}/ok", target.addr.port())
            .parse()
            .unwrap(),
    );
    for _ in 0..3 {
        let outcome = prober.probe(&spec).await;
        assert_eq!(outcome.failure, None, "{outcome:?}");
        assert_eq!(outcome.status, Some(200));
        assert!(outcome.timings.dns_ms.is_some(), "{outcome:?}");
    }
    assert_eq!(asked(&counts, "app.test. A"), 1, "{counts:?}");
    tokio::time::sleep(Duration::from_millis(u64::from(TTL_S) * 1_000 + 500)).await;
    let outcome = prober.probe(&spec).await;
    assert_eq!(outcome.failure, None, "{outcome:?}");
    assert_eq!(asked(&counts, "app.test. A"), 2, "{counts:?}");
}

#[tokio::test]
async fn a_name_that_does_not_exist_is_down_with_its_cause() {
    let (dns, counts) = counting_dns_server().await;
    let target = http_target().await;
    let prober = Prober::resolving_with(None, "stackwatch-test", Names::nameserver(dns)).unwrap();
    let spec = CheckSpec::with_defaults(
        format!("http://gone.test:{}/ok", target.addr.port())
            .parse()
            .unwrap(),
    );
    let outcome = prober.probe(&spec).await;
    match &outcome.failure {
        Some(Failure::Dns { detail }) => {
            assert_eq!(detail, "gone.test: no such name", "{outcome:?}");
        }
        other => panic!("expected a DNS failure, got {other:?}"),
    }
    assert!(asked(&counts, "gone.test. A") >= 1, "{counts:?}");
    // An address in the URL is never looked up.
    let direct = CheckSpec::with_defaults(target.url("http", "/ok").parse().unwrap());
    let before: u32 = counts.lock().unwrap().values().sum();
    let outcome = prober.probe(&direct).await;
    assert_eq!(outcome.failure, None, "{outcome:?}");
    assert_eq!(outcome.timings.dns_ms, None);
    assert_eq!(counts.lock().unwrap().values().sum::<u32>(), before);
}

#[tokio::test]
async fn the_service_asks_the_configured_nameserver() {
    let (dns, counts) = counting_dns_server().await;
    let target = http_target().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.probe.nameserver = dns.to_string();
    let app = spawn_with(settings).await;
    let url = format!("http://app.test:{}/ok", target.addr.port());
    let (status, created) = app
        .put(
            "/api/v1/checks/by-name",
            &json!({"url": url, "check_rate": 10}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    wait_for("the check UP through app.test", 30, async || {
        let (_, check) = app.get("/api/v1/checks/by-name").await;
        (check["state"] == "up").then_some(())
    })
    .await;
    assert!(asked(&counts, "app.test. A") >= 1, "{counts:?}");
}
