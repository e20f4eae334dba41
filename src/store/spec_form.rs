//! How a check's spec is stored: JSON with a `version`, so a stored row can always be read
//! and moved forward. Version 1 (before check kinds) was flat, HTTP only; version 2 nested
//! the kind's fields under `target` with a `kind` tag; version 3 is the domain's own form,
//! the one the API answers with: flat again beside `kind`, `expected_status` as codes and
//! ranges (`[200, "300-399"]`). Reading upgrades old forms in memory; at open,
//! `upgrade_stored_specs` rewrites every row still in an old form.

use serde::Serialize;
use serde_json::Value;

use super::db::Sql;
use super::{Store, StoreError};
use crate::domain::CheckSpec;

/// The stored form this build writes. A new field with `#[serde(default)]` needs no new
/// version; renaming or reshaping a field does, with its step in `upgrade`.
pub const SPEC_VERSION: u64 = 3;

#[derive(Serialize)]
struct Versioned<'a> {
    version: u64,
    #[serde(flatten)]
    spec: &'a CheckSpec,
}

/// The stored text of `spec`, in the current form.
pub fn encode(spec: &CheckSpec) -> Result<String, String> {
    serde_json::to_string(&Versioned {
        version: SPEC_VERSION,
        spec,
    })
    .map_err(|e| e.to_string())
}

/// A spec from its stored text, whatever known version it was written in.
pub fn decode(text: &str) -> Result<CheckSpec, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(mut object) = upgrade(value)? else {
        return Err("the stored spec is not a JSON object".to_owned());
    };
    object.remove("version");
    serde_json::from_value(Value::Object(object)).map_err(|e| e.to_string())
}

/// The stored value moved forward to the current version.
pub fn upgrade(value: Value) -> Result<Value, String> {
    let Value::Object(mut object) = value else {
        return Err("the stored spec is not a JSON object".to_owned());
    };
    let version = object.get("version").and_then(Value::as_u64).unwrap_or(1);
    if version > SPEC_VERSION {
        return Err(format!(
            "stored in form {version}, newer than this stackwatch reads ({SPEC_VERSION}): \
             run the newer version"
        ));
    }
    if version < 2 {
        // Version 1 held only HTTP checks, their fields at the top.
        object.insert("kind".to_owned(), Value::String("http".to_owned()));
    }
    if version == 2
        && let Some(Value::Object(target)) = object.remove("target")
    {
        object.extend(target);
    }
    if version < 3
        && let Some(Value::Array(ranges)) = object.get_mut("expected_status")
    {
        // Versions 1 and 2 wrote each range as `{"lo": 200, "hi": 299}`.
        for range in ranges.iter_mut() {
            let (Some(lo), Some(hi)) = (
                range.get("lo").and_then(Value::as_u64),
                range.get("hi").and_then(Value::as_u64),
            ) else {
                continue;
            };
            *range = if lo == hi {
                Value::from(lo)
            } else {
                Value::String(format!("{lo}-{hi}"))
            };
        }
    }
    object.insert("version".to_owned(), Value::from(SPEC_VERSION));
    Ok(Value::Object(object))
}

impl Store {
    /// Rewrites every stored spec still in an older form (done at open); returns how many.
    pub async fn upgrade_stored_specs(&self) -> Result<u64, StoreError> {
        let rows: Vec<(i64, String, String)> = Sql::new(format!(
            "SELECT id, name, spec FROM checks WHERE {} < $1",
            self.dialect().spec_version()
        ))
        .bind(i64::try_from(SPEC_VERSION).unwrap_or(i64::MAX))
        .fetch_all(self.writer())
        .await?;
        let mut tx = self.begin_config().await?;
        for (id, name, text) in &rows {
            let spec = decode(text).map_err(|reason| StoreError::Corrupt {
                name: name.clone(),
                reason,
            })?;
            let upgraded = encode(&spec).map_err(|reason| StoreError::Corrupt {
                name: name.clone(),
                reason,
            })?;
            Sql::new("UPDATE checks SET spec = $1, kind = $2 WHERE id = $3")
                .bind(upgraded)
                .bind(spec.target().kind())
                .bind(*id)
                .execute(tx.on())
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::Method;

    /// A row as version 1 wrote it.
    const V1: &str = r#"{"url":"https://acme.example/ready","method":"HEAD","headers":{"x-probe":"1"},
        "body":null,"basic_auth":null,"check_rate":30,"timeout":5,"expected_status":[{"lo":200,"hi":299}],
        "body_contains":"OK","body_not_contains":null,"max_response_time_ms":null,
        "follow_redirects":true,"verify_tls":false,"cert_expiry_days":7,"failures_to_confirm":3,
        "successes_to_recover":1,"retry_interval":5,"contacts":null,"reminder_every":null,
        "stack":"acme","tags":["env:prod"]}"#;

    /// A row as version 2 wrote it.
    const V2: &str = r#"{"version":2,"target":{"kind":"tcp","host":"127.0.0.1","port":6379,
        "send":"PING\r\n","expect":"+PONG"},"check_rate":60,"timeout":10,
        "failures_to_confirm":2,"successes_to_recover":1,"retry_interval":10,"contacts":["ops"],
        "reminder_every":null,"stack":null,"tags":[]}"#;

    #[test]
    fn a_version_1_row_reads_as_an_http_check_with_every_field() {
        let spec = decode(V1).unwrap_or_else(|e| panic!("{e}"));
        let http = spec.http().unwrap();
        assert_eq!(http.url(), "https://acme.example/ready");
        assert_eq!(http.method(), Method::Head);
        assert_eq!(http.headers()["x-probe"], "1");
        assert_eq!(http.body_contains(), Some("OK"));
        assert!(http.follow_redirects() && !http.verify_tls());
        assert_eq!(http.cert_expiry_days(), 7);
        assert_eq!(
            (
                spec.check_rate(),
                spec.timeout(),
                spec.failures_to_confirm()
            ),
            (30, 5, 3)
        );
        assert_eq!(spec.stack().as_ref().map(|s| s.as_str()), Some("acme"));
        assert_eq!(
            *http.expected_status(),
            crate::domain::StatusRanges::new(vec![crate::domain::StatusRange { lo: 200, hi: 299 }])
                .unwrap()
        );
    }

    #[test]
    fn a_version_2_row_reads_with_its_kind_and_fields() {
        let spec = decode(V2).unwrap_or_else(|e| panic!("{e}"));
        let crate::domain::Target::Tcp(tcp) = &spec.target() else {
            panic!("not tcp: {spec:?}");
        };
        assert_eq!((tcp.host().as_str(), tcp.port()), ("127.0.0.1", 6379));
        assert_eq!(tcp.send(), Some("PING\r\n"));
        assert_eq!(tcp.expect(), Some("+PONG"));
        assert_eq!(spec.contacts().map(<[_]>::len), Some(1));
    }

    #[test]
    fn the_current_form_round_trips_and_says_its_version() {
        let spec = decode(V1).unwrap();
        let text = encode(&spec).unwrap();
        assert!(
            text.contains("\"version\":3")
                && text.contains("\"kind\":\"http\"")
                && text.contains("\"expected_status\":[\"200-299\"]"),
            "{text}"
        );
        assert_eq!(decode(&text).unwrap(), spec);
    }

    #[test]
    fn a_newer_form_is_refused_in_words() {
        let err = decode(r#"{"version": 9}"#).unwrap_err();
        assert!(
            err.contains("form 9, newer than this stackwatch reads"),
            "{err}"
        );
    }
}
