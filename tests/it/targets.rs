//! Real targets for probes, on 127.0.0.1: an HTTP/1.1 server whose paths behave well or
//! badly on purpose (optionally behind TLS), an HTTP/2 server, and certificates from a
//! test CA made with rcgen.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A running target. Behaviour by path:
/// `/ok` 200 "OK"; `/status` the switchable status with body "OK"; `/code/N` status N;
/// `/body` 200 "hello stackwatch"; `/redirect/N` N redirects then 200; `/loop/a` and
/// `/loop/b` redirect to each other; `/slow` 200 after 3 s; `/hang` never answers;
/// `/truncated` announces 100 bytes and sends 10; `/garbage` is not HTTP; `/reset` resets.
pub struct Target {
    pub addr: SocketAddr,
    /// The status `/status` answers with; tests flip it to make a check fail or recover.
    pub status: Arc<AtomicU16>,
}

impl Target {
    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }
}

/// A plain HTTP/1.1 target.
pub async fn http_target() -> Target {
    spawn_target(None).await
}

/// An HTTPS (HTTP/1.1) target presenting `identity`.
pub async fn https_target(identity: &Identity) -> Target {
    spawn_target(Some(acceptor(identity, b"http/1.1"))).await
}

/// A TLS acceptor presenting `identity` and offering one ALPN protocol.
fn acceptor(identity: &Identity, alpn: &[u8]) -> TlsAcceptor {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        std::iter::once(identity.cert.clone())
            .chain(identity.chain.iter().cloned())
            .collect(),
        identity.key(),
    )
    .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

async fn spawn_target(tls: Option<TlsAcceptor>) -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let status = Arc::new(AtomicU16::new(200));
    let status_ = status.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            stream.set_nodelay(true).unwrap();
            let (tls, status) = (tls.clone(), status_.clone());
            tokio::spawn(async move {
                match tls {
                    None => serve(stream, status).await,
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve(stream, status).await;
                        }
                    }
                }
            });
        }
    });
    Target { addr, status }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin + ResetOnDrop>(
    mut stream: S,
    status: Arc<AtomicU16>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let reply = |code: u16, extra: &str, body: &str| {
        format!(
            "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
            body.len()
        )
    };
    // The query is the request's own: routes are by path.
    let response = match path.split('?').next().unwrap_or("/") {
        "/ok" => reply(200, "", "OK"),
        "/status" => reply(status.load(Ordering::SeqCst), "", "OK"),
        "/body" => reply(200, "", "hello stackwatch"),
        "/echo-auth" => {
            let auth = text
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap_or("none")
                .to_owned();
            reply(200, "", &auth)
        }
        "/loop/a" => reply(302, "Location: /loop/b\r\n", ""),
        "/loop/b" => reply(302, "Location: /loop/a\r\n", ""),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            reply(200, "", "OK")
        }
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            return;
        }
        "/truncated" => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b".to_owned(),
        "/garbage" => "SSH-2.0-OpenSSH_9.6\r\n\r\n".to_owned(),
        "/reset" => {
            stream.reset_on_drop();
            return;
        }
        other => {
            if let Some(n) = other
                .strip_prefix("/redirect/")
                .and_then(|n| n.parse::<u32>().ok())
            {
                if n == 0 {
                    reply(200, "", "arrived")
                } else {
                    reply(301, &format!("Location: /redirect/{}\r\n", n - 1), "")
                }
            } else if let Some(code) = other.strip_prefix("/code/").and_then(|c| c.parse().ok()) {
                reply(code, "", "")
            } else {
                reply(404, "", "no such path")
            }
        }
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Closing with SO_LINGER 0 makes the kernel send a reset instead of a clean close.
trait ResetOnDrop {
    fn reset_on_drop(&mut self);
}

impl ResetOnDrop for TcpStream {
    fn reset_on_drop(&mut self) {
        #[allow(deprecated)] // set_linger is the only way to ask for a reset here
        let _ = self.set_linger(Some(Duration::ZERO));
    }
}

impl ResetOnDrop for tokio_rustls::server::TlsStream<TcpStream> {
    fn reset_on_drop(&mut self) {
        self.get_mut().0.reset_on_drop();
    }
}

/// An HTTPS target speaking HTTP/2 (ALPN h2) that answers 200 with the protocol version.
pub async fn h2_target(identity: &Identity) -> SocketAddr {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;

    let acceptor = acceptor(identity, b"h2");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // An axum router as every well-formed stub, driven by hyper's connection builder
    // because axum::serve takes no TLS.
    let app = axum::Router::new().fallback(|request: axum::extract::Request| async move {
        format!("{:?}", request.version())
    });
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    addr
}

/// A certificate and its key.
pub struct Identity {
    pub cert: CertificateDer<'static>,
    /// What the server sends after its own certificate: intermediates, or anything else.
    pub chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl Identity {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }
}

/// A test certificate authority; its PEM goes into the prober's CA bundle.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
    /// An intermediate's own certificate and those above it but the root: what a server
    /// of a certificate it issues sends after its own.
    chain: Vec<CertificateDer<'static>>,
}

impl TestCa {
    pub fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "stackwatch test CA");
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
            chain: Vec::new(),
        }
    }

    /// An intermediate authority named `name`, issued by this one, expiring in
    /// `not_after_days` days.
    pub fn intermediate(&self, name: &str, not_after_days: i64) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(not_after_days);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let mut chain = vec![cert.der().clone()];
        chain.extend(self.chain.iter().cloned());
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
            chain,
        }
    }

    /// A certificate for `names`, valid from `not_before` to `not_after` (days from now).
    pub fn issue(&self, names: &[&str], not_before_days: i64, not_after_days: i64) -> Identity {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(not_before_days);
        params.not_after = now + time::Duration::days(not_after_days);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity {
            cert: cert.der().clone(),
            chain: self.chain.clone(),
            key: key.serialize_der(),
        }
    }
}

/// A self-signed certificate for 127.0.0.1, trusted by nobody.
pub fn self_signed() -> Identity {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    Identity {
        cert: cert.der().clone(),
        chain: Vec::new(),
        key: key.serialize_der(),
    }
}

/// A target that can be switched off: while off, every connection is reset at once (a
/// connection-level failure, as when the network is gone); while on, `GET` answers 200 "OK".
#[derive(Clone)]
pub struct Switchable {
    pub addr: SocketAddr,
    up: Arc<std::sync::atomic::AtomicBool>,
}

impl Switchable {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Self {
            addr: listener.local_addr().unwrap(),
            up: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        };
        let up = target.up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                if !up.load(Ordering::SeqCst) {
                    let _ = stream.set_zero_linger();
                    drop(stream);
                    continue;
                }
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
                        )
                        .await;
                });
            }
        });
        target
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

/// A self-signed certificate for 127.0.0.1 that is also a CA (what `openssl req -x509`
/// makes with its defaults), with its PEM for a CA bundle.
pub fn self_signed_ca() -> (Identity, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params.self_signed(&key).unwrap();
    let identity = Identity {
        cert: cert.der().clone(),
        chain: Vec::new(),
        key: key.serialize_der(),
    };
    (identity, cert.pem())
}

/// A target that answers each request with the raw bytes `answer(path)` returns, then
/// closes: for answers no well-behaved server would send.
pub async fn scripted_target(answer: fn(&str) -> Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let _ = stream.write_all(&answer(&path)).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}
