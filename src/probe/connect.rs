//! Connecting as RFC 8305 ("Happy Eyeballs v2") says: addresses interleaved by family, a
//! new attempt every `ATTEMPT_DELAY` while earlier ones are still pending (or at once when
//! one fails), the first to connect wins and the others are dropped. So one dead address, a
//! silently dropping IPv6 route most often, is not reported as an outage.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::net::TcpStream;

use super::classify::connect_failure;
use crate::domain::Failure;

/// RFC 8305's recommended "Connection Attempt Delay".
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// A connection and how long its own attempt took.
#[derive(Debug)]
pub struct Connected {
    pub stream: TcpStream,
    pub addr: SocketAddr,
    /// From the start of the winning attempt to its connection.
    pub connect_time: Duration,
}

/// Orders addresses for racing: alternating families, starting with the family of the first
/// address (the resolver's preference), each family keeping its own order.
pub fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut preferred, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
        .iter()
        .copied()
        .partition(|a| a.is_ipv6() == first.is_ipv6());
    preferred.reverse();
    other.reverse();
    let mut ordered = Vec::with_capacity(addrs.len());
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// Races connections to `addrs`; the caller's timeout bounds the whole. All failing, the
/// last failure says why.
pub async fn race(addrs: &[SocketAddr]) -> Result<Connected, Failure> {
    let mut waiting = interleave(addrs).into_iter();
    let mut attempts = FuturesUnordered::new();
    let mut last = Failure::Connect {
        detail: "no address to connect to".to_owned(),
    };
    let attempt = |addr: SocketAddr| async move {
        let started = Instant::now();
        (addr, started, TcpStream::connect(addr).await)
    };
    if let Some(addr) = waiting.next() {
        attempts.push(attempt(addr));
    }
    while !attempts.is_empty() {
        let next_attempt = tokio::time::sleep(ATTEMPT_DELAY);
        tokio::select! {
            Some((addr, started, result)) = attempts.next() => match result {
                Ok(stream) => {
                    // Without it, Nagle's algorithm can hold the request back by ~40 ms.
                    let _ = stream.set_nodelay(true);
                    return Ok(Connected { stream, addr, connect_time: started.elapsed() });
                }
                Err(e) => {
                    last = connect_failure(&e);
                    // A failed attempt starts the next one at once.
                    if let Some(addr) = waiting.next() {
                        attempts.push(attempt(addr));
                    }
                }
            },
            () = next_attempt, if waiting.len() > 0 => {
                if let Some(addr) = waiting.next() {
                    attempts.push(attempt(addr));
                }
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_starting_with_the_first() {
        let addrs = [
            a("[2001:db8::1]:80"),
            a("[2001:db8::2]:80"),
            a("192.0.2.1:80"),
            a("[2001:db8::3]:80"),
            a("192.0.2.2:80"),
        ];
        assert_eq!(
            interleave(&addrs),
            vec![
                a("[2001:db8::1]:80"),
                a("192.0.2.1:80"),
                a("[2001:db8::2]:80"),
                a("192.0.2.2:80"),
                a("[2001:db8::3]:80"),
            ]
        );
        assert_eq!(interleave(&[a("192.0.2.1:80")]), vec![a("192.0.2.1:80")]);
        assert!(interleave(&[]).is_empty());
    }
}
