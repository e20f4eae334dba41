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
                detail: other.to_string(),
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

fn untrusted_detail(error: &CertificateError) -> String {
    match error {
        CertificateError::UnknownIssuer => "issued by an unknown authority (self-signed?)".into(),
        other => format!("{other:?}"),
    }
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
