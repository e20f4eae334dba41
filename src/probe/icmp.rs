//! ICMP echo through an unprivileged ICMP socket (Linux's `ping_group_range`; Docker allows
//! it by default), so stackwatch needs no root: `packets` echo requests a second apart at
//! most, up when any is answered; the average round trip is recorded. A kernel that refuses
//! the socket makes the check DOWN with that cause, never a crash.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::exchange::resolve;
use super::names::Names;
use super::{Phase, Trace, elapsed_ms};
use crate::domain::{Failure, IcmpTarget};

/// The longest wait for one reply before the next request goes out.
const PER_PACKET: Duration = Duration::from_secs(1);
const PAYLOAD: &[u8] = b"stackwatch";

/// An unprivileged ICMP socket for `ip`'s family.
pub fn icmp_socket(ip: IpAddr) -> io::Result<UdpSocket> {
    let (domain, protocol) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(protocol))?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(std::net::UdpSocket::from(socket))
}

/// Whether this process may open an unprivileged ICMP socket (checked at start).
pub fn icmp_allowed() -> Result<(), String> {
    icmp_socket(IpAddr::from([127, 0, 0, 1]))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Pings once per packet; `Ok` when any reply came back.
pub async fn probe(target: &IcmpTarget, names: &Names, trace: &mut Trace) -> Result<(), Failure> {
    trace.phase = Phase::Dns;
    let addrs = resolve(names, &target.host, 0, trace).await?;
    let ip = addrs
        .first()
        .map(SocketAddr::ip)
        .ok_or_else(|| Failure::Dns {
            detail: format!("{} has no address", target.host),
        })?;
    trace.phase = Phase::Connect;
    let socket = icmp_socket(ip).map_err(|e| Failure::IcmpNotAllowed {
        detail: e.to_string(),
    })?;
    let echo_type = if ip.is_ipv4() { 8 } else { 128 };
    let reply_type = if ip.is_ipv4() { 0 } else { 129 };
    let mut round_trips = Vec::new();
    for seq in 1..=u16::from(target.packets) {
        let mut packet = vec![echo_type, 0, 0, 0, 0, 0];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(PAYLOAD);
        let sent = Instant::now();
        if socket
            .send_to(&packet, SocketAddr::new(ip, 0))
            .await
            .is_err()
        {
            continue;
        }
        let wait = async {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((n, _)) = socket.recv_from(&mut buf).await else {
                    return false;
                };
                // The kernel strips the IP header of a datagram ICMP socket's replies.
                if n >= 8 && buf[0] == reply_type && buf[6..8] == seq.to_be_bytes() {
                    return true;
                }
            }
        };
        if let Ok(true) = tokio::time::timeout(PER_PACKET, wait).await {
            round_trips.push(elapsed_ms(sent));
        }
    }
    let answered = u8::try_from(round_trips.len()).unwrap_or(u8::MAX);
    trace.timings.lost = Some(target.packets.saturating_sub(answered));
    if round_trips.is_empty() {
        return Err(Failure::NoEchoReply {
            packets: target.packets,
        });
    }
    let average =
        round_trips.iter().map(|ms| u64::from(*ms)).sum::<u64>() / round_trips.len() as u64;
    trace.timings.connect_ms = Some(u32::try_from(average).unwrap_or(u32::MAX));
    Ok(())
}
