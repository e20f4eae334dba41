//! Turning transport errors into `Failure`s. Kept apart from the probe loop: it walks an
//! error's `source()` chain for the io or TLS error that says what really happened.

use std::error::Error as StdError;
use std::io;

use rustls::CertificateError;

use crate::domain::{Failure, Timestamp};

/// The first `io::Error` in the chain of `error`, itself included.
fn find_io<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&'a (dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

/// The first rustls error in the chain, including one carried inside an `io::Error`.
fn find_tls<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&'a (dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref())
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls);
        }
        current = e.source();
    }
    None
}

/// A failed TCP connect.
pub fn connect_failure(error: &io::Error) -> Failure {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => Failure::ConnectionRefused,
        io::ErrorKind::TimedOut => Failure::ConnectTimeout,
        _ => Failure::Connect {
            detail: error.to_string(),
        },
    }
}

/// A failed TLS handshake.
pub fn tls_failure(error: &io::Error) -> Failure {
    if let Some(tls) = find_tls(error) {
        return match tls {
            rustls::Error::InvalidCertificate(cert) => certificate_failure(cert),
            other => Failure::TlsHandshake {
                detail: tls_words(other),
            },
        };
    }
    match error.kind() {
        io::ErrorKind::ConnectionReset => Failure::Reset,
        io::ErrorKind::UnexpectedEof => Failure::TlsHandshake {
            detail: "the server closed the connection during the handshake".to_owned(),
        },
        _ => Failure::TlsHandshake {
            detail: error.to_string(),
        },
    }
}

fn certificate_failure(error: &CertificateError) -> Failure {
    match error {
        CertificateError::Expired => Failure::TlsExpired { not_after: None },
        CertificateError::ExpiredContext { not_after, .. } => Failure::TlsExpired {
            not_after: i64::try_from(not_after.as_secs())
                .ok()
                .map(|s| Timestamp(s.saturating_mul(1_000))),
        },
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            Failure::TlsWrongName
        }
        other => Failure::TlsUntrusted {
            detail: untrusted_detail(other),
        },
    }
}

/// Why a certificate is not trusted, in words (never rustls' or webpki's debug text).
fn untrusted_detail(error: &CertificateError) -> String {
    match error {
        CertificateError::UnknownIssuer => "issued by an unknown authority (self-signed?)".into(),
        CertificateError::BadSignature => "its signature does not verify".into(),
        CertificateError::BadEncoding => "it is not a well-formed certificate".into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet (check the clocks)".into()
        }
        CertificateError::Revoked => "it has been revoked".into(),
        CertificateError::UnhandledCriticalExtension => {
            "it has a critical extension that is not understood".into()
        }
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "it is signed with an unsupported algorithm".into()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "it is not meant for a TLS server".into()
        }
        CertificateError::Other(other) => webpki_words(&other.to_string()),
        other => format!("rejected ({})", words(&format!("{other:?}"))),
    }
}

/// webpki's error names (carried as text by rustls) in words.
fn webpki_words(name: &str) -> String {
    let name = name.split(['(', ' ', '{']).next().unwrap_or(name);
    match name {
        "CaUsedAsEndEntity" => {
            "it is a CA certificate used as the server's own (a self-signed CA; issue a server \
             certificate from it instead)"
                .into()
        }
        "EndEntityUsedAsCa" => "the chain uses a server certificate as a CA".into(),
        "UnknownIssuer" => "issued by an unknown authority (self-signed?)".into(),
        "PathLenConstraintViolated" => "the chain is longer than its CA allows".into(),
        "MaximumPathDepthExceeded" => "the chain is too long".into(),
        other => format!("rejected ({})", words(other)),
    }
}

/// A TLS failure other than a certificate's, in words.
fn tls_words(error: &rustls::Error) -> String {
    match error {
        rustls::Error::AlertReceived(alert) => format!(
            "the server refused the handshake ({})",
            words(&format!("{alert:?}"))
        ),
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".into(),
        rustls::Error::PeerIncompatible(why) => format!(
            "the server's TLS is incompatible ({})",
            words(&format!("{why:?}"))
        ),
        rustls::Error::PeerMisbehaved(why) => format!(
            "the server broke the TLS protocol ({})",
            words(&format!("{why:?}"))
        ),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => {
            "the server sent something that is not valid TLS".into()
        }
        rustls::Error::DecryptError => "the server's data could not be decrypted".into(),
        rustls::Error::PeerSentOversizedRecord => "the server sent an oversized TLS record".into(),
        rustls::Error::NoApplicationProtocol => "no common application protocol (ALPN)".into(),
        other => words(&format!("{other:?}")),
    }
}

/// `CaUsedAsEndEntity` → "ca used as end entity": a debug name as lower-case words, with
/// anything after the name (fields, parentheses) dropped.
fn words(name: &str) -> String {
    let name = name.split(['(', ' ', '{']).next().unwrap_or(name);
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A failure while exchanging HTTP (request, response headers or body).
pub fn http_failure(error: &hyper::Error) -> Failure {
    if let Some(io) = find_io(error) {
        match io.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => return Failure::Reset,
            io::ErrorKind::UnexpectedEof => return Failure::ClosedEarly,
            _ => {}
        }
    }
    if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
        return Failure::ClosedEarly;
    }
    if error.is_parse() || error.is_parse_status() || error.is_user() {
        return Failure::Protocol {
            detail: error.to_string(),
        };
    }
    // An HTTP/2 stream reset or a body that ends early surfaces here.
    let detail = match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    };
    if detail.contains("connection reset") {
        return Failure::Reset;
    }
    if detail.contains("end of file") || detail.contains("before message completed") {
        return Failure::ClosedEarly;
    }
    Failure::Protocol { detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_become_plain_causes() {
        let io = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let cases = [
            (CertificateError::Expired, "tls_expired"),
            (CertificateError::UnknownIssuer, "tls_untrusted"),
            (CertificateError::NotValidForName, "tls_wrong_name"),
            (CertificateError::BadSignature, "tls_untrusted"),
        ];
        for (cert, kind) in cases {
            let failure = tls_failure(&io(rustls::Error::InvalidCertificate(cert.clone())));
            assert_eq!(failure.kind(), kind, "{cert:?}");
        }
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(tls_failure(&reset), Failure::Reset);
    }

    #[test]
    fn tls_causes_read_in_words_never_debug_text() {
        assert_eq!(words("CaUsedAsEndEntity"), "ca used as end entity");
        assert_eq!(words("HandshakeFailure"), "handshake failure");
        let alert = tls_words(&rustls::Error::AlertReceived(
            rustls::AlertDescription::HandshakeFailure,
        ));
        assert_eq!(
            alert,
            "the server refused the handshake (handshake failure)"
        );
        let ca = webpki_words("CaUsedAsEndEntity");
        assert!(
            ca.starts_with("it is a CA certificate used as the server's own"),
            "{ca}"
        );
        for detail in [ca, alert, untrusted_detail(&CertificateError::Revoked)] {
            assert!(
                !detail.contains("Other(") && !detail.contains("Error("),
                "{detail}"
            );
        }
    }

    #[test]
    fn connect_errors_are_classified_by_kind() {
        assert_eq!(
            connect_failure(&io::Error::from(io::ErrorKind::ConnectionRefused)),
            Failure::ConnectionRefused
        );
        assert_eq!(
            connect_failure(&io::Error::from(io::ErrorKind::TimedOut)),
            Failure::ConnectTimeout
        );
    }
}
