//! DNS checks against a DNS server started by the test (a UDP socket answering canned
//! records, built with hickory's protocol crate): right, wrong and missing records, a TXT
//! record, and a server that never answers.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{RData, Record};
use serde_json::{Value, json};
use stackwatch::app::probe_once::spec_from_json;
use stackwatch::probe::Prober;
use tokio::net::UdpSocket;

use crate::helpers::{error_fields, spawn_with, test_settings};

/// Answers: `ok.test` A 127.0.0.1, `txt.test` TXT "v=spf1 -all", `missing.test` NXDOMAIN,
/// `slow.test` never.
async fn dns_server() -> SocketAddr {
    switchable_dns_server().await.0
}

/// As `dns_server`, with a switch that makes every name NXDOMAIN while set.
pub async fn switchable_dns_server() -> (SocketAddr, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let flag = failing.clone();
    let addr = dns_responder(move |question, answer| {
        let name = if flag.load(Ordering::SeqCst) {
            "nothing.test.".to_owned()
        } else {
            question.name().to_string()
        };
        match name.as_str() {
            "ok.test." => {
                answer.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(127, 0, 0, 1))),
                ));
            }
            "txt.test." => {
                answer.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::TXT(TXT::new(vec!["v=spf1 -all".to_owned()])),
                ));
            }
            "slow.test." => return false,
            _ => {
                answer.set_response_code(ResponseCode::NXDomain);
            }
        }
        true
    })
    .await;
    (addr, failing)
}

/// A DNS server on a UDP socket of 127.0.0.1: each question gets an authoritative answer
/// that `answer` fills in; when it returns false, nothing is sent.
pub async fn dns_responder(
    answer: impl Fn(&Query, &mut Message) -> bool + Send + 'static,
) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(question) = query.queries().first().cloned() else {
                continue;
            };
            let mut response = Message::new();
            response
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_recursion_available(true)
                .set_authoritative(true)
                .add_query(question.clone());
            if answer(&question, &mut response) {
                let _ = socket.send_to(&response.to_vec().unwrap(), peer).await;
            }
        }
    });
    addr
}

async fn kind_of(body: Value) -> String {
    let spec = spec_from_json(body).unwrap();
    let outcome = Prober::new(None, "t").unwrap().probe(&spec).await;
    match outcome.failure {
        None => "up".to_owned(),
        Some(f) => format!("{}: {f}", f.kind()),
    }
}

#[tokio::test]
async fn dns_checks_hold_the_expected_answers() {
    let server = dns_server().await.to_string();
    let q = |host: &str, extra: Value| {
        let mut body = json!({"kind": "dns", "host": host, "nameserver": server, "timeout": 2});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    assert_eq!(kind_of(q("ok.test", json!({}))).await, "up");
    assert_eq!(
        kind_of(q("ok.test", json!({"expect": ["127.0.0.1"]}))).await,
        "up"
    );
    let wrong = kind_of(q("ok.test", json!({"expect": "127.0.0.2"}))).await;
    assert!(
        wrong.starts_with(
            "unexpected_answer: expected A records holding \"127.0.0.2\", got \"127.0.0.1\""
        ),
        "{wrong}"
    );
    let txt = kind_of(q(
        "txt.test",
        json!({"record_type": "TXT", "expect": ["v=spf1 -all"]}),
    ))
    .await;
    assert_eq!(txt, "up");
    let missing = kind_of(q("missing.test", json!({}))).await;
    assert!(missing.starts_with("dns: "), "{missing}");
    let silent = kind_of(q("slow.test", json!({}))).await;
    assert!(
        silent.starts_with("dns: ") || silent.starts_with("timeout: "),
        "{silent}"
    );
}

#[tokio::test]
async fn dns_fields_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(test_settings(dir.path())).await;
    for (body, fields) in [
        (json!({"kind": "dns"}), vec!["host"]),
        (
            json!({"kind": "dns", "host": "a.test", "record_type": "SRV"}),
            vec!["record_type"],
        ),
        (
            json!({"kind": "dns", "host": "a.test", "nameserver": "resolver.local"}),
            vec!["nameserver"],
        ),
        (
            json!({"kind": "dns", "host": "a.test", "port": 53}),
            vec!["port"],
        ),
        (
            json!({"kind": "tcp", "host": "a.test", "port": 1, "expect": ["x"]}),
            vec!["expect"],
        ),
        (
            json!({"url": "http://127.0.0.1/", "record_type": "A"}),
            vec!["record_type"],
        ),
    ] {
        let (status, problem) = app.put("/api/v1/checks/dns-fields", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(error_fields(&problem), fields, "{body}: {problem}");
    }
    let (status, created) = app
        .put(
            "/api/v1/checks/acme-mx",
            &json!({"kind": "dns", "host": "acme.test", "record_type": "mx", "expect": "mail.acme.test", "nameserver": "127.0.0.1:5353"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let check = &created["check"];
    assert_eq!(check["record_type"], "MX");
    assert_eq!(check["expect"], json!(["mail.acme.test"]));
    assert_eq!(check["nameserver"], "127.0.0.1:5353");
}
