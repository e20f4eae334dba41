//! Real receivers for alerts, on 127.0.0.1: an HTTP listener (an axum router, as every
//! well-formed HTTP stub in these tests is) that records what Slack and webhook contacts
//! are sent, and a small SMTP server that records mails. Each can be switched to refuse,
//! to test retries.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One POST the HTTP receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    /// The status the receiver answered with.
    pub answered: u16,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// How a receiver judges a payload: `Err(code)` is answered 400 with the code.
pub type Rules = fn(&serde_json::Value) -> Result<(), &'static str>;

/// An HTTP listener recording every request; answers `status` (200 by default).
#[derive(Clone)]
pub struct HookReceiver {
    pub addr: SocketAddr,
    /// Checks each payload as the service would; `Err(code)` is answered 400 with the code
    /// as the body, as Slack answers.
    validate: Option<Rules>,
    pub status: Arc<AtomicU16>,
    /// Seconds sent as `Retry-After` with every answer, when set.
    pub retry_after: Arc<Mutex<Option<u64>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

/// Slack's documented limits for incoming webhooks: a `text` or blocks; at most 50 blocks;
/// a header's text at most 150 characters, a section's at most 3,000; answers
/// `invalid_blocks`, `no_text` or `msg_too_long` otherwise.
pub fn slack_rules(payload: &serde_json::Value) -> Result<(), &'static str> {
    let text = payload["text"].as_str().unwrap_or("");
    if text.chars().count() > 40_000 {
        return Err("msg_too_long");
    }
    let mut blocks: Vec<&serde_json::Value> = Vec::new();
    for attachment in payload["attachments"].as_array().into_iter().flatten() {
        blocks.extend(attachment["blocks"].as_array().into_iter().flatten());
    }
    blocks.extend(payload["blocks"].as_array().into_iter().flatten());
    if text.is_empty() && blocks.is_empty() {
        return Err("no_text");
    }
    if blocks.len() > 50 {
        return Err("invalid_blocks");
    }
    for block in blocks {
        let length = block["text"]["text"]
            .as_str()
            .map_or(0, |t| t.chars().count());
        let limit = match block["type"].as_str() {
            Some("header") => 150,
            Some("section") => 3_000,
            _ => usize::MAX,
        };
        if length > limit {
            return Err("invalid_blocks");
        }
    }
    Ok(())
}

impl HookReceiver {
    /// A receiver that accepts any payload (a generic webhook).
    pub async fn start() -> Self {
        Self::with_rules(None).await
    }

    /// A receiver that refuses what Slack refuses ([`slack_rules`]).
    pub async fn slack() -> Self {
        Self::with_rules(Some(slack_rules)).await
    }

    pub async fn with_rules(validate: Option<Rules>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Self {
            validate,
            addr: listener.local_addr().unwrap(),
            status: Arc::new(AtomicU16::new(200)),
            retry_after: Arc::new(Mutex::new(None)),
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new()
            .fallback(Self::record)
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Records one request and answers it as the service would.
    async fn record(State(this): State<Self>, request: Request) -> Response {
        let (path, headers) = path_and_headers(&request);
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        let refused = this.validate.and_then(|rules| rules(&body).err());
        let answered = match refused {
            Some(_) => 400,
            None => this.status.load(Ordering::SeqCst),
        };
        // Slack's answers are a code word: `ok`, or why a payload was refused; a
        // status set by the test comes with no body.
        let text = match refused {
            Some(code) => code,
            None if (200..300).contains(&answered) => "ok",
            None => "",
        };
        this.received.lock().unwrap().push(Received {
            path,
            headers,
            body,
            answered,
            at: std::time::Instant::now(),
        });
        let mut response = (StatusCode::from_u16(answered).unwrap(), text).into_response();
        if let Some(seconds) = *this.retry_after.lock().unwrap() {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        response
    }

    /// Everything received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// What was received and answered with 2xx: what the contact really got.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Each accepted webhook document's `event` and `check`, in order.
    pub fn events_and_checks(&self) -> Vec<(String, String)> {
        self.accepted()
            .iter()
            .map(|r| {
                (
                    r.body["event"].as_str().unwrap_or_default().to_owned(),
                    r.body["check"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// A request's path with its query, and its headers (names lowercase, as HTTP/2 and hyper
/// give them).
pub fn path_and_headers(request: &Request) -> (String, Vec<(String, String)>) {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            (name.as_str().to_owned(), value.trim().to_owned())
        })
        .collect();
    (path, headers)
}

/// One mail the SMTP receiver accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender.
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A small SMTP server (no TLS) recording mails; `refuse` makes it answer 451 to MAIL.
#[derive(Clone)]
pub struct SmtpReceiver {
    pub addr: SocketAddr,
    pub refuse: Arc<AtomicBool>,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Self {
            addr: listener.local_addr().unwrap(),
            refuse: Arc::new(AtomicBool::new(false)),
            mails: Arc::new(Mutex::new(Vec::new())),
        };
        let this = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let this = this.clone();
                tokio::spawn(async move { this.serve(stream).await });
            }
        });
        receiver
    }

    async fn serve(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 receiver.test ESMTP\r\n").await;
        let (mut from, mut to) = (String::new(), Vec::new());
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-receiver.test\r\n250 8BITMIME\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                if self.refuse.load(Ordering::SeqCst) {
                    b"451 try again later\r\n"
                } else {
                    from = line[10..].trim().trim_matches(['<', '>']).to_owned();
                    b"250 ok\r\n"
                }
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                b"250 ok\r\n"
            } else if upper == "DATA" {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(&line);
                    data.push('\n');
                }
                self.mails.lock().unwrap().push(Mail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 queued\r\n"
            } else if upper == "QUIT" {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else if upper == "RSET" || upper == "NOOP" {
                b"250 ok\r\n"
            } else {
                b"502 not implemented\r\n"
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}
