//! Reading request bodies: size and media type, then JSON into a typed body, telling a
//! malformed document (400) apart from a well-formed one with bad fields (422).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use crate::domain::FieldError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Parses a JSON request body into `T`.
pub fn parse_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let ok = content_type
            .to_str()
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_ok_and(|m| m == "application/json" || m.ends_with("+json"));
        if !ok {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            }
        } else {
            ApiError::MalformedJson(rejection.body_text())
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson(
            "the body is empty; expected a JSON object".to_owned(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer
        .end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !inner.is_data() {
        return ApiError::MalformedJson(inner.to_string());
    }
    let message = strip_position(&inner.to_string());
    let field = if path == "." {
        "(body)".to_owned()
    } else {
        path
    };
    ApiError::Invalid(vec![FieldError::new(field, message)])
}

/// serde_json appends " at line L column C"; the field path says more to a client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        rate: Option<u32>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        x: u32,
    }

    fn parse(body: &str) -> Result<Probe, ApiError> {
        parse_body(&HeaderMap::new(), Ok(Bytes::from(body.to_owned())))
    }

    fn field_of(result: Result<Probe, ApiError>) -> String {
        match result {
            Err(ApiError::Invalid(errors)) => errors[0].field.clone(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_and_data_errors_name_the_field() {
        assert!(matches!(parse("{"), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse(""), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse("{} x"), Err(ApiError::MalformedJson(_))));
        assert_eq!(field_of(parse(r#"{"rate": "x"}"#)), "rate");
        assert_eq!(field_of(parse(r#"{"rate": -1}"#)), "rate");
        assert_eq!(field_of(parse(r#"{"bogus": 1}"#)), "bogus");
        assert_eq!(field_of(parse(r#"{"inner": {"y": 1}}"#)), "inner.y");
        assert_eq!(field_of(parse("[]")), "(body)");
    }
}
