//! The importer's HTTP client: JSON GETs and form writes with a bearer token, over rustls
//! (ring, webpki roots) so it reaches StatusCake's HTTPS API as well as a local stackwatch.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// One request may take this long in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read; a larger one is an error, not a reason to run out of memory.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// An answer: its status and its body as JSON (`null` when empty or not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// A client for one API: its base URL (in front of `/v1`) and token.
#[derive(Clone)]
pub struct ApiClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: String,
    token: String,
}

impl ApiClient {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .context("TLS set-up")?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(Method::GET, path, None).await
    }

    /// Sends `fields` form-encoded, as StatusCake's API takes writes.
    pub async fn send_form(
        &self,
        method: Method,
        path: &str,
        fields: &[(String, String)],
    ) -> anyhow::Result<Answer> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in fields {
            form.append_pair(key, value);
        }
        self.send(method, path, Some(form.finish())).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        form: Option<String>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(USER_AGENT, "stackwatch-import");
        if form.is_some() {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .with_context(|| format!("{url} is not a URL"))?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status().as_u16();
            let bytes = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| match e.downcast::<http_body_util::LengthLimitError>() {
                    Ok(_) => anyhow!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                    Err(e) => anyhow!(e),
                })?
                .to_bytes();
            anyhow::Ok(Answer {
                status,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("{method} {url}: no answer within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{method} {url}"))
    }
}
