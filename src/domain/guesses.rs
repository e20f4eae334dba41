//! How fast tokens may be guessed: failed sign-ins and failed bearer tokens counted per
//! client address and in total, with a growing wait once a limit is passed. Pure: `now` is
//! a parameter; the API and the pages share one `Guesses` behind a lock.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// The limits on failed tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessLimits {
    /// Failures one client address may make within `window_ms` before it must wait.
    pub per_client: usize,
    /// Failures all addresses together may make within `window_ms`; past it, every address
    /// with a failure in the window waits (an address with none is never held up).
    pub total: usize,
    pub window_ms: i64,
    /// The longest wait: each time an address passes its limit again, its wait doubles.
    pub max_wait_ms: i64,
}

impl GuessLimits {
    /// `per_minute` failures per address, ten times as many in total, the default waits.
    pub fn per_minute(per_minute: u32) -> Self {
        let per_client = usize::try_from(per_minute).unwrap_or(usize::MAX);
        Self {
            per_client,
            total: per_client.saturating_mul(10),
            ..Self::DEFAULT
        }
    }

    /// 10 failures a minute per address, 100 in total, waits of 1 minute up to 1 hour.
    pub const DEFAULT: Self = Self {
        per_client: 10,
        total: 100,
        window_ms: 60_000,
        max_wait_ms: 3_600_000,
    };
}

/// Most client addresses remembered; past it the quietest are forgotten first.
const MAX_CLIENTS: usize = 65_536;

#[derive(Debug, Default)]
struct Client {
    /// Times of the failures within the window, oldest first.
    failures: VecDeque<i64>,
    /// Refused until then.
    wait_until: i64,
    /// How many times the address passed its limit (its wait doubles with each).
    strikes: u32,
}

/// A refused attempt: how long to wait, and whether to log (at most once a minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after_s: u64,
    pub log: bool,
    /// Attempts refused since the last log line.
    pub refused_since_log: u64,
}

/// Failed attempts by client address, and in total.
#[derive(Debug)]
pub struct Guesses {
    limits: GuessLimits,
    clients: HashMap<IpAddr, Client>,
    total: VecDeque<i64>,
    last_log: Option<i64>,
    /// When old failures were last dropped: at most once a second, so a token check does
    /// not walk every remembered address.
    last_pruned: Option<i64>,
    refused: u64,
}

/// The key an address is counted under: IPv6 clients by their /64, since one host holds
/// a whole /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

impl Guesses {
    pub fn new(limits: GuessLimits) -> Self {
        Self {
            limits,
            clients: HashMap::new(),
            total: VecDeque::new(),
            last_log: None,
            last_pruned: None,
            refused: 0,
        }
    }

    /// Whether `ip` may present a token now; asked before the token is looked at, so a
    /// refused client learns nothing of it.
    pub fn admit(&mut self, ip: IpAddr, now: i64) -> Result<(), Refused> {
        if self.last_pruned.is_none_or(|t| now - t >= 1_000) {
            self.forget_before(now - self.limits.window_ms);
            self.last_pruned = Some(now);
        }
        let client = self.clients.get(&key(ip));
        let own_wait = client.map_or(0, |c| c.wait_until - now);
        let total_wait = match (client, self.total.front()) {
            (Some(c), Some(oldest))
                if !c.failures.is_empty() && self.total.len() >= self.limits.total =>
            {
                oldest + self.limits.window_ms - now
            }
            _ => 0,
        };
        let wait = own_wait.max(total_wait);
        if wait <= 0 {
            return Ok(());
        }
        self.refused += 1;
        let log = self.last_log.is_none_or(|t| now - t >= 60_000);
        let refused_since_log = self.refused;
        if log {
            self.last_log = Some(now);
            self.refused = 0;
        }
        Err(Refused {
            retry_after_s: u64::try_from(wait).unwrap_or(1).div_ceil(1_000).max(1),
            log,
            refused_since_log,
        })
    }

    /// Counts a failed token from `ip`.
    pub fn failed(&mut self, ip: IpAddr, now: i64) {
        if self.clients.len() >= MAX_CLIENTS && !self.clients.contains_key(&key(ip)) {
            self.forget_quietest();
        }
        let limits = self.limits;
        let client = self.clients.entry(key(ip)).or_default();
        client.failures.push_back(now);
        self.total.push_back(now);
        if client.failures.len() >= limits.per_client {
            client.strikes = client.strikes.saturating_add(1);
            let doubling = 1i64 << client.strikes.saturating_sub(1).min(20);
            client.wait_until = now + (limits.window_ms * doubling).min(limits.max_wait_ms);
            client.failures.clear();
        }
        if self.total.len() > limits.total * 2 {
            self.total.pop_front();
        }
    }

    /// Drops failures older than `cutoff`, and addresses with nothing left to remember.
    fn forget_before(&mut self, cutoff: i64) {
        while self.total.front().is_some_and(|t| *t < cutoff) {
            self.total.pop_front();
        }
        let max_wait = self.limits.max_wait_ms;
        self.clients.retain(|_, c| {
            while c.failures.front().is_some_and(|t| *t < cutoff) {
                c.failures.pop_front();
            }
            // A struck address is remembered long enough for its next wait to double.
            !c.failures.is_empty() || c.wait_until + max_wait > cutoff
        });
    }

    fn forget_quietest(&mut self) {
        let quietest = self
            .clients
            .iter()
            .min_by_key(|(_, c)| (c.wait_until, c.failures.back().copied()))
            .map(|(ip, _)| *ip);
        if let Some(ip) = quietest {
            self.clients.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: GuessLimits = GuessLimits {
        per_client: 3,
        total: 5,
        window_ms: 60_000,
        max_wait_ms: 240_000,
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_waits_after_its_limit_and_twice_as_long_the_next_time() {
        let mut guesses = Guesses::new(LIMITS);
        let attacker = ip("192.0.2.1");
        for t in 0..3 {
            assert!(guesses.admit(attacker, t).is_ok());
            guesses.failed(attacker, t);
        }
        let refused = guesses.admit(attacker, 10).unwrap_err();
        assert_eq!(refused.retry_after_s, 60);
        assert!(refused.log);
        assert!(
            !guesses.admit(attacker, 11).unwrap_err().log,
            "logged once a minute"
        );
        // Another address is not held up.
        assert!(guesses.admit(ip("198.51.100.7"), 10).is_ok());
        let free_at = 2 + 60_000;
        assert!(guesses.admit(attacker, free_at).is_ok());
        for t in 0..3 {
            guesses.failed(attacker, free_at + t);
        }
        assert_eq!(
            guesses
                .admit(attacker, free_at + 2)
                .unwrap_err()
                .retry_after_s,
            120
        );
    }

    #[test]
    fn many_addresses_together_hold_up_only_those_that_failed() {
        let mut guesses = Guesses::new(LIMITS);
        for i in 0..5 {
            let from = ip(&format!("203.0.113.{i}"));
            assert!(guesses.admit(from, i).is_ok());
            guesses.failed(from, i);
        }
        assert!(guesses.admit(ip("203.0.113.0"), 100).is_err());
        assert!(
            guesses.admit(ip("198.51.100.9"), 100).is_ok(),
            "an admin elsewhere"
        );
        assert!(guesses.admit(ip("203.0.113.0"), 60_001).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let mut guesses = Guesses::new(LIMITS);
        for i in 1..=3 {
            guesses.failed(ip(&format!("2001:db8::{i}")), 0);
        }
        assert!(guesses.admit(ip("2001:db8::ffff"), 1).is_err());
        assert!(guesses.admit(ip("2001:db8:0:1::1"), 1).is_ok());
    }
}
