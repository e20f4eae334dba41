//! `stackwatch healthcheck`: one GET of `/healthz` over plain HTTP, for a container's
//! HEALTHCHECK. Kept minimal: a fresh connection, a short timeout, success on 2xx.

use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The whole check must finish within this time.
const TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `url` and succeeds when it answers with a 2xx status.
pub async fn check(url: &str) -> anyhow::Result<()> {
    tokio::time::timeout(TIMEOUT, get(url))
        .await
        .with_context(|| format!("{url} did not answer within {} s", TIMEOUT.as_secs()))?
}

async fn get(url: &str) -> anyhow::Result<()> {
    let uri: hyper::Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("healthcheck supports http:// URLs only");
    }
    let host = uri.host().context("the URL has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .with_context(|| format!("cannot connect to {host}:{port}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    tokio::spawn(connection);
    let authority = uri.authority().map(ToString::to_string).unwrap_or_default();
    let request = hyper::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .context("cannot build the request")?;
    let response = sender
        .send_request(request)
        .await
        .context("request failed")?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(())
}
