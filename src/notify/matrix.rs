//! `kind = "matrix"`: an `m.room.message` (`m.text`, so it notifies as a person's message
//! does; `m.notice` is muted by default push rules) sent through the client-server API with
//! an access token. Its transaction id is derived from the alert and the room, so a
//! delivery repeated after a crash is the same transaction, which the homeserver does not
//! post twice. The HTML body escapes every outside text.

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Body, HttpClient};
use super::kinds::{Channel, http_url_problem};
use super::render::{fit_lines, html_escaped as escaped, text, title_within};
use super::{AlertMessage, Notifier, NotifyError, SendFuture};
use crate::domain::{Secret, Timestamp};

/// Characters of body kept: the event, both bodies together, stays well within the
/// 65,536 bytes a homeserver accepts.
const BODY_MAX: usize = 6_000;
/// The most bytes of an event sent with its HTML body; beyond, the plain body alone.
const EVENT_BYTES_MAX: usize = 60_000;

/// `kind = "matrix"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixSettings {
    /// The homeserver's client-server API (`https://matrix.example.org`).
    pub homeserver: String,
    /// The sending user's access token; the user must have joined the room.
    pub access_token: Secret,
    /// The room's id (`!abcdef:example.org`; an alias `#…` is not an id).
    pub room_id: String,
}

impl Channel for MatrixSettings {
    fn values_mut(&mut self) -> Vec<(String, &mut String)> {
        vec![
            ("homeserver".to_owned(), &mut self.homeserver),
            ("access_token".to_owned(), self.access_token.expose_mut()),
            ("room_id".to_owned(), &mut self.room_id),
        ]
    }

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = http_url_problem("homeserver", &self.homeserver)
            .into_iter()
            .collect();
        let room = &self.room_id;
        if !room.starts_with('!') || !room.contains(':') || room.len() > 255 {
            problems.push((
                "room_id".to_owned(),
                "must be a room id, !opaque:server (find it in the room's settings)".to_owned(),
            ));
        }
        if self.access_token.expose().is_empty() {
            problems.push(("access_token".to_owned(), "must not be empty".to_owned()));
        }
        problems
    }

    fn notifier(&self, client: &HttpClient) -> Result<Arc<dyn Notifier>, NotifyError> {
        let mut token = HeaderValue::from_str(&format!("Bearer {}", self.access_token.expose()))
            .map_err(|_| NotifyError::Config("the access token is invalid".to_owned()))?;
        token.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, token);
        let room: String = url::form_urlencoded::byte_serialize(self.room_id.as_bytes()).collect();
        Ok(Arc::new(MatrixNotifier {
            client: client.clone(),
            send_url: format!(
                "{}/_matrix/client/v3/rooms/{room}/send/m.room.message",
                self.homeserver.trim_end_matches('/')
            ),
            room_id: self.room_id.clone(),
            headers,
        }))
    }
}

/// Posts to one room.
pub struct MatrixNotifier {
    client: HttpClient,
    send_url: String,
    room_id: String,
    headers: HeaderMap,
}

impl Notifier for MatrixNotifier {
    fn send<'a>(&'a self, message: &'a AlertMessage, now: Timestamp) -> SendFuture<'a> {
        Box::pin(async move {
            let txn = transaction_id(message, &self.room_id);
            let full = event(message, now);
            let url = format!("{}/{txn}", self.send_url);
            let sent = self
                .client
                .exchange(Method::PUT, &url, &self.headers, Body::Json(&full))
                .await;
            match sent {
                // M_BAD_JSON, M_TOO_LARGE: once more, plainly, as a transaction of its own.
                Err(NotifyError::Status {
                    status: 400 | 413, ..
                }) => {
                    tracing::warn!("the homeserver refused the message's form; sending it plainly");
                    let plain = json!({"msgtype": "m.text",
                        "body": text(message, now).lines().next().unwrap_or_default()});
                    let url = format!("{}/{txn}-plain", self.send_url);
                    self.client
                        .exchange(Method::PUT, &url, &self.headers, Body::Json(&plain))
                        .await
                }
                other => other,
            }
        })
    }
}

/// The transaction id of `message` in `room`: the same for every attempt at it, different
/// for any other message or room.
pub fn transaction_id(message: &AlertMessage, room: &str) -> String {
    let identity = format!(
        "{}\n{}\n{}\n{}\n{}",
        message.alert_id,
        message.kind.as_str(),
        message.check,
        message.created_at.0,
        room
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, identity.as_bytes());
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("stackwatch-{hex}")
}

/// The room message: plain body and HTML body of the same lines.
pub fn event(message: &AlertMessage, now: Timestamp) -> Value {
    let title = title_within(message, 250);
    let lines: Vec<String> = text(message, now).lines().map(str::to_owned).collect();
    let body = fit_lines(&lines, BODY_MAX);
    let html = format!(
        "<strong>{}</strong><br>{}",
        escaped(&title),
        body.lines().map(escaped).collect::<Vec<_>>().join("<br>")
    );
    let event = json!({
        "msgtype": "m.text",
        "body": format!("{title}\n{body}"),
        "format": "org.matrix.custom.html",
        "formatted_body": html,
    });
    if event.to_string().len() <= EVENT_BYTES_MAX {
        event
    } else {
        json!({"msgtype": "m.text", "body": format!("{title}\n{body}")})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertFacts, AlertKind};

    fn message(id: i64) -> AlertMessage {
        AlertMessage {
            alert_id: id,
            check: "acme-web".to_owned(),
            kind: AlertKind::Down,
            facts: AlertFacts {
                cause: Some("<script>alert(1)</script>".to_owned()),
                ..AlertFacts::default()
            },
            created_at: Timestamp(0),
            link: None,
            held: Vec::new(),
            ack_link: None,
        }
    }

    #[test]
    fn one_alert_is_one_transaction_per_room_and_its_html_is_inert() {
        assert_eq!(
            transaction_id(&message(1), "!a:x"),
            transaction_id(&message(1), "!a:x")
        );
        assert_ne!(
            transaction_id(&message(1), "!a:x"),
            transaction_id(&message(2), "!a:x")
        );
        assert_ne!(
            transaction_id(&message(1), "!a:x"),
            transaction_id(&message(1), "!b:x")
        );
        let event = event(&message(1), Timestamp(0));
        let html = event["formatted_body"].as_str().unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(event["body"].as_str().unwrap().contains("<script>"));
    }
}
