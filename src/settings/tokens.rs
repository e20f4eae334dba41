//! API tokens and their roles: admin tokens read and write, read tokens only read. Tokens
//! are compared in constant time; a token is never logged. Shared by the API and the pages.

use subtle::ConstantTimeEq;

use super::Secret;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Read,
    Admin,
}

/// The configured tokens and their roles.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<(Secret, Role)>,
}

impl Tokens {
    pub fn new(admin: &[Secret], read: &[Secret]) -> Self {
        let entries = admin
            .iter()
            .map(|t| (t.clone(), Role::Admin))
            .chain(read.iter().map(|t| (t.clone(), Role::Read)))
            .collect();
        Self { entries }
    }

    /// The role of `presented`, if it is a known token. Every token is compared, whatever
    /// matches, so the time taken does not tell which one (or whether one) matched.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let mut role = None;
        for (token, token_role) in &self.entries {
            if bool::from(token.expose().as_bytes().ct_eq(presented.as_bytes())) {
                role = Some(*token_role);
            }
        }
        role
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
}
