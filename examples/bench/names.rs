//! The benchmark's name server, for `--names`: a UDP socket of 127.0.0.1 answering every
//! name under `bench.test` with 127.0.0.1 (TTL 300 s), and its AAAA question with no
//! address and the zone's SOA, as a real server does, so both answers can be kept.

use std::net::{Ipv4Addr, SocketAddr};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// How long an answer may be kept.
const TTL_S: u32 = 300;

/// The host name of the `k`th of the benchmark's names.
pub fn host(k: u32) -> String {
    format!("n{k}.bench.test")
}

/// Starts the server; its address is what `probe.nameserver` is set to.
pub async fn start() -> anyhow::Result<SocketAddr> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let addr = socket.local_addr()?;
    let zone = Name::from_ascii("bench.test.")?;
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(question) = query.queries().first().cloned() else {
                continue;
            };
            let mut answer = Message::new();
            answer
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_authoritative(true)
                .add_query(question.clone());
            let name = question.name().clone();
            if !zone.zone_of(&name) {
                answer.set_response_code(ResponseCode::NXDomain);
            } else if question.query_type() == RecordType::A {
                let a = RData::A(A(Ipv4Addr::LOCALHOST));
                answer.add_answer(Record::from_rdata(name, TTL_S, a));
            } else {
                let soa = SOA::new(zone.clone(), zone.clone(), 1, 3600, 600, 86400, TTL_S);
                answer.add_name_server(Record::from_rdata(zone.clone(), TTL_S, RData::SOA(soa)));
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    Ok(addr)
}
