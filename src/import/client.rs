//! The importer's HTTP client: JSON GETs and form writes with a bearer token, through
//! reqwest over rustls (ring, webpki roots), so it reaches StatusCake's HTTPS API as well as
//! a local stackwatch.

use std::time::Duration;

use anyhow::{Context, anyhow};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
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
    client: reqwest::Client,
    base: String,
    token: String,
}

impl ApiClient {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        // No redirect is followed: the token goes only where it was given.
        let client = reqwest::Client::builder()
            .user_agent("stackwatch-import")
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("HTTP client set-up")?;
        Ok(Self {
            client,
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
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token));
        if let Some(form) = form {
            request = request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form);
        }
        let exchange = async {
            let mut response = request.send().await.map_err(|e| {
                if e.is_timeout() {
                    anyhow!("no answer within {REQUEST_TIMEOUT:?}")
                } else {
                    anyhow!(e.without_url())
                }
            })?;
            let status = response.status().as_u16();
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| anyhow!(e.without_url()))?
            {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(anyhow!(
                        "the answer is larger than {MAX_ANSWER_BYTES} bytes"
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            anyhow::Ok(Answer {
                status,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            })
        };
        exchange.await.with_context(|| format!("{method} {url}"))
    }
}
