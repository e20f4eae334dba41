//! ICMP echo: through an unprivileged ICMP socket where the kernel allows one (Linux's
//! `ping_group_range`; Docker allows it by default), else through a raw socket when the
//! process has `CAP_NET_RAW` (root, or the capability on the binary), so a box where `ping`
//! works is never DOWN for want of a socket. `packets` echo requests a second apart at most,
//! up when any is answered; the average round trip is recorded. When neither socket can be
//! had the check is DOWN with that cause, never a crash.

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

/// An ICMP socket and how the kernel treats it.
pub struct Pinger {
    socket: UdpSocket,
    /// A raw socket: this side writes the identifier and the IPv4 checksum, and sees every
    /// ICMP packet the host receives (IPv4 ones with their IP header).
    raw: bool,
    /// The identifier of a raw socket's requests (the kernel picks it for a datagram one).
    id: u16,
}

fn socket_of(ip: IpAddr, kind: Type) -> io::Result<Socket> {
    let (domain, protocol) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let socket = Socket::new(domain, kind, Some(protocol))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// An ICMP socket for `ip`'s family, unprivileged where allowed, else raw; `true` for raw.
fn either_socket(ip: IpAddr) -> io::Result<(Socket, bool)> {
    match socket_of(ip, Type::DGRAM) {
        Ok(socket) => Ok((socket, false)),
        Err(unprivileged) => match socket_of(ip, Type::RAW) {
            Ok(socket) => Ok((socket, true)),
            Err(raw) => Err(io::Error::new(
                unprivileged.kind(),
                format!("unprivileged socket: {unprivileged}; raw socket: {raw}"),
            )),
        },
    }
}

/// An ICMP socket for `ip`'s family, ready for the runtime.
pub fn icmp_socket(ip: IpAddr) -> io::Result<Pinger> {
    let (socket, raw) = either_socket(ip)?;
    let mut id = [0u8; 2];
    if raw {
        getrandom::fill(&mut id).map_err(|e| io::Error::other(e.to_string()))?;
    }
    Ok(Pinger {
        socket: UdpSocket::from_std(std::net::UdpSocket::from(socket))?,
        raw,
        id: u16::from_be_bytes(id),
    })
}

/// Whether this process may open an ICMP socket of either kind (checked at start and when
/// an `icmp` check is registered); needs no runtime.
pub fn icmp_allowed() -> Result<(), String> {
    either_socket(IpAddr::from([127, 0, 0, 1]))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The Internet checksum (RFC 1071) of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0)
}

impl Pinger {
    /// An echo request: type, code, checksum, identifier, sequence, payload.
    fn request(&self, ip: IpAddr, seq: u16) -> Vec<u8> {
        let echo_type = if ip.is_ipv4() { 8 } else { 128 };
        let mut packet = vec![echo_type, 0, 0, 0];
        packet.extend_from_slice(&self.id.to_be_bytes());
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(PAYLOAD);
        // The kernel fills the checksum of a datagram socket's requests and of ICMPv6.
        if self.raw && ip.is_ipv4() {
            let sum = checksum(&packet);
            packet[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        packet
    }

    /// Whether `received` is the reply to request `seq`.
    fn is_reply(&self, ip: IpAddr, received: &[u8], seq: u16) -> bool {
        let reply_type = if ip.is_ipv4() { 0 } else { 129 };
        // A raw IPv4 socket hands over the IP header too; the others start at ICMP.
        let icmp = match (self.raw, ip) {
            (true, IpAddr::V4(_)) => {
                let header = usize::from(received.first().map_or(0, |b| b & 0x0f)) * 4;
                received.get(header..).unwrap_or_default()
            }
            _ => received,
        };
        icmp.len() >= 8
            && icmp[0] == reply_type
            && icmp[6..8] == seq.to_be_bytes()
            // A datagram socket only sees its own replies; a raw one sees every ping's.
            && (!self.raw || icmp[4..6] == self.id.to_be_bytes())
    }
}

/// Pings once per packet; `Ok` when any reply came back.
pub async fn probe(target: &IcmpTarget, names: &Names, trace: &mut Trace) -> Result<(), Failure> {
    trace.phase = Phase::Dns;
    let addrs = resolve(names, target.host().as_str(), 0, trace).await?;
    let ip = addrs
        .first()
        .map(SocketAddr::ip)
        .ok_or_else(|| Failure::Dns {
            detail: format!("{} has no address", target.host()),
        })?;
    trace.phase = Phase::Connect;
    let pinger = icmp_socket(ip).map_err(|e| Failure::IcmpNotAllowed {
        detail: e.to_string(),
    })?;
    let mut round_trips = Vec::new();
    for seq in 1..=u16::from(target.packets()) {
        let packet = pinger.request(ip, seq);
        let sent = Instant::now();
        if pinger
            .socket
            .send_to(&packet, SocketAddr::new(ip, 0))
            .await
            .is_err()
        {
            continue;
        }
        let wait = async {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((n, from)) = pinger.socket.recv_from(&mut buf).await else {
                    return false;
                };
                if from.ip() == ip && pinger.is_reply(ip, &buf[..n], seq) {
                    return true;
                }
            }
        };
        if let Ok(true) = tokio::time::timeout(PER_PACKET, wait).await {
            round_trips.push(elapsed_ms(sent));
        }
    }
    let answered = u8::try_from(round_trips.len()).unwrap_or(u8::MAX);
    trace.timings.lost = Some(target.packets().saturating_sub(answered));
    if round_trips.is_empty() {
        return Err(Failure::NoEchoReply {
            packets: target.packets(),
        });
    }
    let average =
        round_trips.iter().map(|ms| u64::from(*ms)).sum::<u64>() / round_trips.len() as u64;
    trace.timings.connect_ms = Some(u32::try_from(average).unwrap_or(u32::MAX));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_rfc_1071s() {
        // An echo request of id 1, seq 1 and no payload: 0xf7fd.
        assert_eq!(checksum(&[8, 0, 0, 0, 0, 1, 0, 1]), 0xf7fd);
        let mut odd = vec![8, 0, 0, 0, 0x12, 0x34, 0, 7, b'x'];
        let sum = checksum(&odd);
        odd[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&odd), 0, "a packet with its checksum sums to zero");
    }

    #[test]
    fn a_raw_socket_matches_only_its_own_replies_past_the_ip_header() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let pinger = Pinger {
            socket: socket_of_test(),
            raw: true,
            id: 0xbeef,
        };
        let mut reply = vec![0x45; 1];
        reply.extend_from_slice(&[0; 19]);
        reply.extend_from_slice(&[0, 0, 0, 0, 0xbe, 0xef, 0, 3]);
        assert!(pinger.is_reply(ip, &reply, 3));
        assert!(!pinger.is_reply(ip, &reply, 4), "another sequence");
        reply[24..26].copy_from_slice(&[0, 1]);
        assert!(!pinger.is_reply(ip, &reply, 3), "another process's ping");
    }

    fn socket_of_test() -> UdpSocket {
        let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        std.set_nonblocking(true).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        UdpSocket::from_std(std).unwrap()
    }
}
