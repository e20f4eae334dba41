//! An email address a visitor typed to subscribe: `local@domain`, read once. The domain
//! is kept in lower case (so one mailbox is one subscription); the local part as typed.

/// Longest address (RFC 5321's path limit, less the brackets).
pub const MAX_ADDRESS_BYTES: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is required".to_owned());
        }
        if text.len() > MAX_ADDRESS_BYTES {
            return Err(format!("must be at most {MAX_ADDRESS_BYTES} bytes"));
        }
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err("must be an address like name@example.com".to_owned());
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
        } else {
            Err("must be an address like name@example.com".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_are_read_and_nothing_that_could_inject_a_header() {
        assert_eq!(
            EmailAddress::parse(" Ops.Team+status@Example.COM ")
                .unwrap()
                .as_str(),
            "Ops.Team+status@example.com"
        );
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a@localhost",
            "a@exa mple.com",
            "a@example.com\r\nBcc: x@evil.example",
            "\"quoted\"@example.com",
            "Name <a@example.com>",
            "a..b@example.com",
            "a@-example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
