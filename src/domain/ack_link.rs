//! The signed one-click link in an alert that acknowledges its outage: valid for one
//! incident until a time, signed with HMAC-SHA256 under a key derived from the admin
//! token (the same on every instance), so nobody can make one for another incident or
//! keep one past its time.

use ring::hmac;

use super::Timestamp;

/// How long a link in an alert acknowledges its incident.
pub const ACK_LINK_VALID_MS: i64 = 24 * 3_600_000;

/// The key links are signed with.
#[derive(Clone)]
pub struct AckKey(hmac::Key);

impl std::fmt::Debug for AckKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckKey(<redacted>)")
    }
}

impl AckKey {
    /// The key of links signed for the holder of `admin_token`.
    pub fn from_admin_token(admin_token: &str) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"stackwatch acknowledgement links"),
            admin_token.as_bytes(),
        );
        Self(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    /// The signature of a link to `incident` valid until `until`, in hex.
    pub fn sign(&self, incident: i64, until: Timestamp) -> String {
        let tag = hmac::sign(&self.0, message(incident, until).as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `signature` is this key's for `incident` until `until`, and `until` has
    /// not passed at `now`.
    pub fn verify(&self, incident: i64, until: Timestamp, signature: &str, now: Timestamp) -> bool {
        let Some(bytes) = unhex(signature) else {
            return false;
        };
        now.0 < until.0
            && hmac::verify(&self.0, message(incident, until).as_bytes(), &bytes).is_ok()
    }

    /// The path and query of a link to `incident` made at `now`.
    pub fn path(&self, incident: i64, now: Timestamp) -> String {
        let until = Timestamp(now.0 + ACK_LINK_VALID_MS);
        format!(
            "/ack/{incident}?until={}&sig={}",
            until.0,
            self.sign(incident, until)
        )
    }
}

fn message(incident: i64, until: Timestamp) -> String {
    format!("ack:{incident}:{}", until.0)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_acknowledges_its_incident_until_its_time_and_no_other() {
        let key = AckKey::from_admin_token("an-admin-token-long-enough");
        let until = Timestamp(1_000);
        let sig = key.sign(7, until);
        assert!(key.verify(7, until, &sig, Timestamp(999)));
        assert!(!key.verify(7, until, &sig, Timestamp(1_000)), "expired");
        assert!(
            !key.verify(8, until, &sig, Timestamp(0)),
            "another incident"
        );
        assert!(
            !key.verify(7, Timestamp(2_000), &sig, Timestamp(0)),
            "a longer life"
        );
        let other = AckKey::from_admin_token("another-admin-token-long");
        assert!(
            !other.verify(7, until, &sig, Timestamp(0)),
            "another server"
        );
        assert!(!key.verify(7, until, "zz", Timestamp(0)));
        assert_eq!(
            key.path(7, Timestamp(0)),
            format!(
                "/ack/7?until={ACK_LINK_VALID_MS}&sig={}",
                key.sign(7, Timestamp(ACK_LINK_VALID_MS))
            )
        );
    }
}
