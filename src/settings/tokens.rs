//! API tokens and their roles: admin tokens read and write, read tokens only read, an agent
//! token only pulls its location's checks and pushes their results. Tokens
//! are compared in constant time; a token is never logged. Shared by the API and the pages,
//! with one count of failed tokens per client address (`domain::Guesses`).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use subtle::ConstantTimeEq;

use super::Secret;
use crate::domain::{GuessLimits, Guesses, LocationName, Timestamp};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Read,
    Admin,
    /// An agent's: bound to one location (see [`Tokens::verify_agent`]), no other route.
    Agent,
}

impl Role {
    /// What this role may see of a check's secrets (the rule is the domain's).
    pub fn viewer(self) -> crate::domain::Viewer {
        match self {
            Self::Admin => crate::domain::Viewer::Admin,
            Self::Read | Self::Agent => crate::domain::Viewer::Other,
        }
    }
}

/// The configured tokens and their roles, and the failed attempts to guess one. Clones
/// share the count.
#[derive(Debug, Clone)]
pub struct Tokens {
    entries: Vec<(Secret, Role, Option<LocationName>)>,
    guesses: Arc<Mutex<Guesses>>,
}

/// Why a presented token gives no role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such token.
    Unknown,
    /// This client failed too often: it may try again after this many seconds.
    Wait { retry_after_s: u64 },
}

impl Tokens {
    /// Tokens with the default guessing limits.
    pub fn new(admin: &[Secret], read: &[Secret]) -> Self {
        Self::limited(admin, read, GuessLimits::DEFAULT)
    }

    /// These tokens and agent tokens, each bound to its location.
    pub fn with_agents<'a>(
        mut self,
        agents: impl IntoIterator<Item = (&'a LocationName, &'a Secret)>,
    ) -> Self {
        self.entries.extend(
            agents
                .into_iter()
                .map(|(location, token)| (token.clone(), Role::Agent, Some(location.clone()))),
        );
        self
    }

    /// Tokens whose failed attempts are held to `limits`.
    pub fn limited(admin: &[Secret], read: &[Secret], limits: GuessLimits) -> Self {
        let entries = admin
            .iter()
            .map(|t| (t.clone(), Role::Admin, None))
            .chain(read.iter().map(|t| (t.clone(), Role::Read, None)))
            .collect();
        Self {
            entries,
            guesses: Arc::new(Mutex::new(Guesses::new(limits))),
        }
    }

    /// The role of the token `presented` by `client`, counting a failure against the
    /// client; a client past its limit is refused before its token is compared.
    pub fn verify(&self, client: IpAddr, presented: &str) -> Result<Role, Refusal> {
        self.verify_entry(client, presented).map(|(role, _)| role)
    }

    /// The location of the agent token `presented` by `client` (`None`: a token of another
    /// role), counting a failure against the client as [`Self::verify`] does.
    pub fn verify_agent(
        &self,
        client: IpAddr,
        presented: &str,
    ) -> Result<Option<LocationName>, Refusal> {
        self.verify_entry(client, presented)
            .map(|(_, location)| location)
    }

    fn verify_entry(
        &self,
        client: IpAddr,
        presented: &str,
    ) -> Result<(Role, Option<LocationName>), Refusal> {
        let now = Timestamp::now().0;
        let Ok(mut guesses) = self.guesses.lock() else {
            return Err(Refusal::Unknown);
        };
        if let Err(refused) = guesses.admit(client, now) {
            if refused.log {
                tracing::warn!(
                    client = %client,
                    refused = refused.refused_since_log,
                    "too many failed tokens: refusing guesses (logged at most once a minute)"
                );
            }
            return Err(Refusal::Wait {
                retry_after_s: refused.retry_after_s,
            });
        }
        match self.entry_of(presented) {
            Some(entry) => Ok(entry),
            None => {
                guesses.failed(client, now);
                Err(Refusal::Unknown)
            }
        }
    }

    /// The role of `presented`, if it is a known token. Every token is compared, whatever
    /// matches, so the time taken does not tell which one (or whether one) matched.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        self.entry_of(presented).map(|(role, _)| role)
    }

    fn entry_of(&self, presented: &str) -> Option<(Role, Option<LocationName>)> {
        let mut found = None;
        for (token, role, location) in &self.entries {
            if bool::from(token.expose().as_bytes().ct_eq(presented.as_bytes())) {
                found = Some((*role, location));
            }
        }
        found.map(|(role, location)| (role, location.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_of_matches_whole_tokens_only() {
        let tokens = Tokens::new(
            &[Secret::new("admin-token-0123456789")],
            &[Secret::new("read-token-0123456789")],
        );
        assert_eq!(tokens.role_of("admin-token-0123456789"), Some(Role::Admin));
        assert_eq!(tokens.role_of("read-token-0123456789"), Some(Role::Read));
        assert_eq!(tokens.role_of("admin-token-012345678"), None);
        assert_eq!(tokens.role_of(""), None);
    }

    #[test]
    fn a_client_that_guesses_waits_and_the_right_token_elsewhere_passes() {
        let tokens = Tokens::new(&[Secret::new("admin-token-0123456789")], &[]);
        let attacker: IpAddr = "192.0.2.9".parse().unwrap();
        for _ in 0..GuessLimits::DEFAULT.per_client {
            assert_eq!(tokens.verify(attacker, "guess"), Err(Refusal::Unknown));
        }
        assert!(matches!(
            tokens.verify(attacker, "admin-token-0123456789"),
            Err(Refusal::Wait { .. })
        ));
        let admin: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            tokens.verify(admin, "admin-token-0123456789"),
            Ok(Role::Admin)
        );
    }
}
