//! TLS client configurations for probes (ring provider only): one that verifies against the
//! webpki roots plus an optional CA bundle, one that accepts any certificate for checks
//! with `verify_tls = false`. Also reads a certificate's expiry.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::domain::{Timestamp, bound_text};

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read the CA bundle {path}: {reason}")]
    CaBundle { path: String, reason: String },
    #[error("TLS configuration failed")]
    Rustls(#[from] rustls::Error),
}

/// ALPN: HTTP/2 when the server offers it, HTTP/1.1 otherwise.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The two client configurations every probe chooses from.
#[derive(Debug, Clone)]
pub struct TlsConfigs {
    pub verified: Arc<ClientConfig>,
    pub unverified: Arc<ClientConfig>,
}

impl TlsConfigs {
    /// Builds both; `ca_bundle` adds trusted roots (PEM) to the webpki set.
    pub fn new(ca_bundle: Option<&Path>) -> Result<Self, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_bundle {
            let bundle_error = |reason: String| TlsSetupError::CaBundle {
                path: path.display().to_string(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bundle_error(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bundle_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(bundle_error("no certificate in it".to_owned()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| bundle_error(e.to_string()))?;
            }
        }
        let mut verified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        verified.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        let mut unverified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider().signature_verification_algorithms,
            }))
            .with_no_client_auth();
        unverified.alpn_protocols = verified.alpn_protocols.clone();
        Ok(Self {
            verified: Arc::new(verified),
            unverified: Arc::new(unverified),
        })
    }
}

/// For `verify_tls = false`: any chain and name are accepted, but handshake signatures are
/// still checked, so the session is at least with the holder of the presented key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The certificate of a chain that expires first.
pub struct FirstToExpire {
    pub not_after: Timestamp,
    /// Which it is when not the server's own: `intermediate "R3"`.
    pub which: Option<Box<str>>,
}

/// The certificate of the server's chain whose `notAfter` comes first: a chain is valid
/// only as long as each of its certificates. The chain is walked from the server's own
/// certificate (sent first) to each one's issuer among those sent, so a certificate sent
/// but not on the path is not counted. Ties go to the server's own.
pub fn first_to_expire(sent: &[CertificateDer<'_>]) -> Option<FirstToExpire> {
    let parsed: Vec<_> = sent
        .iter()
        .filter_map(|c| x509_parser::parse_x509_certificate(c.as_ref()).ok())
        .map(|(_, cert)| cert)
        .collect();
    let mut path = vec![0];
    while let Some(&last) = path.last() {
        let current = parsed.get(last)?;
        if current.issuer().as_raw() == current.subject().as_raw() {
            break;
        }
        let issuer = (0..parsed.len()).find(|i| {
            !path.contains(i) && parsed[*i].subject().as_raw() == current.issuer().as_raw()
        });
        match issuer {
            Some(i) => path.push(i),
            None => break,
        }
    }
    let not_after = |i: usize| {
        Timestamp(
            parsed[i]
                .validity()
                .not_after
                .timestamp()
                .saturating_mul(1_000),
        )
    };
    let first = path.into_iter().min_by_key(|i| (not_after(*i), *i))?;
    let which = (first > 0).then(|| {
        let subject = parsed[first].subject();
        let name = subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok().map(str::to_owned))
            .unwrap_or_else(|| subject.to_string());
        bound_text(&format!("intermediate {name:?}")).into_boxed_str()
    });
    Some(FirstToExpire {
        not_after: not_after(first),
        which,
    })
}
