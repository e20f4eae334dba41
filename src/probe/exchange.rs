//! One HTTP exchange on a fresh connection: resolve, connect, TLS, send, read the answer.
//! Each phase updates the probe's `Trace` as it completes.

use std::net::SocketAddr;
use std::time::Instant;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use url::Url;

use super::classify::{http_failure, tls_failure};
use super::names::{self, Names};
use super::tls::{TlsConfigs, first_to_expire};
use super::{Phase, Trace, elapsed_ms};
use crate::domain::{
    BODY_INSPECT_LIMIT, Failure, HttpTarget, Method, needs_body, stays_with_origin,
};

/// Most response headers accepted (hyper's default is 100; browsers take many more).
pub const MAX_RESPONSE_HEADERS: usize = 1_000;

/// What to send.
pub struct Request<'a> {
    pub url: &'a Url,
    pub method: Method,
    pub body: Option<&'a str>,
    pub http: &'a HttpTarget,
    pub user_agent: &'a str,
    /// Whether the check's credentials go with this request: false on a redirect to
    /// another origin, unless the check trusts it (`redirect_credentials`).
    pub credentials: bool,
}

/// What came back.
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    /// At most the first 64 KiB of the body (the rest was read to its end, not kept).
    pub body: Vec<u8>,
    /// The headers `headers_expect` names (lowercase), each value as text; nothing else.
    pub headers: Vec<(String, String)>,
}

/// Runs one exchange on a new connection.
pub async fn run(
    tls: &TlsConfigs,
    names: &Names,
    request: &Request<'_>,
    trace: &mut Trace,
) -> Result<Response, Failure> {
    let url = request.url;
    let host = url.host_str().ok_or_else(|| Failure::Connect {
        detail: "the URL has no host".to_owned(),
    })?;
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = open(names, host, port, trace).await?;
    // Boxed: a probe still resolving or connecting (a silent target holds it there until
    // the timeout) keeps only what connecting needs; the TLS and HTTP state, some 9 KB,
    // is allocated once connected.
    Box::pin(connected(tls, request, host, tcp, trace)).await
}

/// The rest of an exchange once connected: TLS when the URL asks, then HTTP.
async fn connected(
    tls: &TlsConfigs,
    request: &Request<'_>,
    host: &str,
    tcp: tokio::net::TcpStream,
    trace: &mut Trace,
) -> Result<Response, Failure> {
    let url = request.url;
    if url.scheme() == "https" {
        trace.phase = Phase::Tls;
        let phase_start = Instant::now();
        let config = if request.http.verify_tls() {
            tls.verified.clone()
        } else {
            tls.unverified.clone()
        };
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|e| Failure::TlsHandshake {
                detail: format!("invalid server name: {e}"),
            })?
            .to_owned();
        let stream = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| tls_failure(&e))?;
        trace.timings.tls_ms = Some(elapsed_ms(phase_start));
        let session = stream.get_ref().1;
        if let Some(first) = session.peer_certificates().and_then(first_to_expire) {
            trace.cert_not_after = Some(first.not_after);
            trace.cert_of = first.which;
        }
        let h2 = session.alpn_protocol() == Some(b"h2");
        exchange(stream, h2, request, trace).await
    } else {
        exchange(tcp, false, request, trace).await
    }
}

/// Resolves `host` and races a connection to its addresses, timing both phases.
pub(super) async fn open(
    names: &Names,
    host: &str,
    port: u16,
    trace: &mut Trace,
) -> Result<tokio::net::TcpStream, Failure> {
    trace.phase = Phase::Dns;
    let addrs = resolve(names, host, port, trace).await?;
    trace.phase = Phase::Connect;
    let connected = super::connect::race(&addrs).await?;
    trace.timings.connect_ms =
        Some(u32::try_from(connected.connect_time.as_millis()).unwrap_or(u32::MAX));
    Ok(connected.stream)
}

/// The addresses of `host`; the lookup is timed when it was a name.
pub(super) async fn resolve(
    names: &Names,
    host: &str,
    port: u16,
    trace: &mut Trace,
) -> Result<Vec<SocketAddr>, Failure> {
    if let Some(addr) = names::literal(host, port) {
        return Ok(vec![addr]);
    }
    let phase_start = Instant::now();
    // Boxed: the resolver's future is larger than the rest of a waiting probe, and a probe
    // of an address never makes it.
    let addrs = Box::pin(names.lookup(host, port))
        .await
        .map_err(|detail| Failure::Dns { detail })?;
    trace.timings.dns_ms = Some(elapsed_ms(phase_start));
    Ok(addrs)
}

async fn exchange<S>(
    stream: S,
    h2: bool,
    request: &Request<'_>,
    trace: &mut Trace,
) -> Result<Response, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    trace.phase = Phase::Response;
    let http_request = build_request(request, h2)?;
    let io = TokioIo::new(stream);
    let sent = Instant::now();
    // The connection is driven in this task, beside the exchange, and dropped with it:
    // nothing is pooled or reused, and a probe costs one task.
    if h2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| http_failure(&e))?;
        let exchange = async {
            let response = sender.send_request(http_request).await;
            read(response, request, trace, sent).await
        };
        beside(exchange, connection).await
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
            // Browsers accept far more than hyper's default of 100 headers; the head's bytes
            // stay bounded by hyper's buffer limit.
            .max_headers(MAX_RESPONSE_HEADERS)
            .handshake(io)
            .await
            .map_err(|e| http_failure(&e))?;
        let exchange = async {
            let response = sender.send_request(http_request).await;
            read(response, request, trace, sent).await
        };
        beside(exchange, connection).await
    }
}

/// Runs `exchange` to its end while driving `connection`; a connection that ends first
/// (closed, failed) leaves the exchange to see that and answer. When the exchange saw only
/// that the connection closed, the connection's own error says why: a reset while the
/// request was being written surfaces in the exchange as "canceled", and is a reset.
async fn beside<C>(
    exchange: impl Future<Output = Result<Response, Failure>>,
    connection: C,
) -> Result<Response, Failure>
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    let mut exchange = std::pin::pin!(exchange);
    let mut connection = std::pin::pin!(connection);
    let mut connection_error = None;
    let mut connection_open = true;
    let result = loop {
        tokio::select! {
            result = &mut exchange => break result,
            ended = &mut connection, if connection_open => {
                connection_open = false;
                connection_error = ended.err();
            }
        }
    };
    match (result, connection_error) {
        (Err(Failure::ClosedEarly), Some(error)) => Err(http_failure(&error)),
        (result, _) => result,
    }
}

async fn read(
    response: Result<hyper::Response<hyper::body::Incoming>, hyper::Error>,
    request: &Request<'_>,
    trace: &mut Trace,
    sent: Instant,
) -> Result<Response, Failure> {
    let response = response.map_err(|e| http_failure(&e))?;
    trace.timings.ttfb_ms = Some(elapsed_ms(sent));
    let status = response.status().as_u16();
    trace.status = Some(status);
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| location_text(v.as_bytes()));
    let headers = request
        .http
        .headers_expect()
        .keys()
        .filter_map(|name| {
            let value = response.headers().get(name.as_str())?;
            Some((
                name.clone(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ))
        })
        .collect();
    let mut body = Vec::new();
    if request.method != Method::Head {
        let keep = if needs_body(request.http) {
            BODY_INSPECT_LIMIT
        } else {
            0
        };
        let mut incoming = response.into_body();
        // Keep the first 64 KiB when a keyword needs them, and read (without keeping) the
        // rest to its declared end, so a body cut short is a failure however long it is.
        // The probe's timeout bounds how long this may take.
        loop {
            match incoming.frame().await {
                None => break,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        let room = keep.saturating_sub(body.len());
                        body.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                Some(Err(e)) => return Err(http_failure(&e)),
            }
        }
    }
    Ok(Response {
        status,
        location,
        body,
        headers,
    })
}

/// A `Location` header as text: bytes outside visible ASCII (a UTF-8 path, most often) are
/// percent-encoded, as browsers do, so the redirect can be followed.
fn location_text(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_graphic() {
            text.push(char::from(b));
        } else {
            text.push_str(&format!("%{b:02X}"));
        }
    }
    text
}

fn build_request(request: &Request<'_>, h2: bool) -> Result<hyper::Request<Full<Bytes>>, Failure> {
    let url = request.url;
    let target = if h2 {
        url.as_str().to_owned()
    } else {
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        path
    };
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(target)
        .header(header::USER_AGENT, request.user_agent)
        .header(header::ACCEPT, "*/*");
    if !h2 {
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        builder = builder.header(header::HOST, host);
    }
    if let Some(auth) = request
        .http
        .basic_auth()
        .as_ref()
        .filter(|_| request.credentials)
    {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", auth.username, auth.password));
        builder = builder.header(header::AUTHORIZATION, format!("Basic {encoded}"));
    }
    let mut http_request = builder
        .body(Full::new(Bytes::from(
            request.body.unwrap_or_default().to_owned(),
        )))
        .map_err(|e| Failure::Protocol {
            detail: format!("cannot build the request: {e}"),
        })?;
    for (name, value) in request.http.headers() {
        // Validated at registration; a header that fails here is skipped, not sent broken.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            if (h2 && name == header::HOST)
                || (!request.credentials
                    && stays_with_origin(name.as_str(), request.http.secret_names()))
            {
                continue;
            }
            http_request.headers_mut().insert(name, value);
        }
    }
    Ok(http_request)
}
