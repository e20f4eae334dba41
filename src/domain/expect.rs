//! Judging a response against a check's expectations: status, keywords, assertions
//! (JSON values, headers, a body pattern), response time. Pure, so every rule is tested
//! with a table of cases.

use super::{Failure, HttpTarget, Unmet, check_headers};

/// How much of a body keyword checks look at.
pub const BODY_INSPECT_LIMIT: usize = 64 * 1024;

/// The first failed expectation, or `None` when the response counts as up. `headers` are
/// those `headers_expect` names (lowercase); `body` is at most the first
/// [`BODY_INSPECT_LIMIT`] bytes; `elapsed_ms` is the whole probe.
pub fn judge(
    spec: &HttpTarget,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    elapsed_ms: u32,
) -> Option<Failure> {
    if !spec.expected_status.contains(status) {
        return Some(Failure::BadStatus { status });
    }
    let body = &body[..body.len().min(BODY_INSPECT_LIMIT)];
    if let Some(keyword) = &spec.more().body_contains
        && !contains(body, keyword.as_bytes())
    {
        return Some(Failure::KeywordMissing {
            keyword: keyword.clone(),
        });
    }
    if let Some(keyword) = &spec.more().body_not_contains
        && contains(body, keyword.as_bytes())
    {
        return Some(Failure::KeywordPresent {
            keyword: keyword.clone(),
        });
    }
    if !spec.more().json.is_empty() {
        let document = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(document) => document,
            Err(e) => {
                return Some(Failure::AssertionFailed(Box::new(Unmet {
                    subject: "the body".to_owned(),
                    expected: "JSON".to_owned(),
                    actual: format!("not JSON ({e})"),
                })));
            }
        };
        if let Some(failure) = spec.more().json.iter().find_map(|a| a.check(&document)) {
            return Some(failure);
        }
    }
    if let Some(failure) = check_headers(&spec.more().headers_expect, headers) {
        return Some(failure);
    }
    if let Some(failure) = spec
        .more()
        .body_matches
        .as_ref()
        .and_then(|p| p.check(body))
    {
        return Some(failure);
    }
    if let Some(max_ms) = spec.more().max_response_time_ms
        && elapsed_ms > max_ms
    {
        return Some(Failure::TooSlow {
            ms: elapsed_ms,
            max_ms,
        });
    }
    None
}

/// Whether the body must be read at all for the check's keyword and assertion rules.
pub fn needs_body(spec: &HttpTarget) -> bool {
    let more = spec.more();
    more.body_contains.is_some()
        || more.body_not_contains.is_some()
        || !more.json.is_empty()
        || more.body_matches.is_some()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{StatusRange, StatusRanges};

    fn spec() -> HttpTarget {
        HttpTarget::get("http://127.0.0.1/".parse().unwrap())
    }

    #[test]
    fn judge_applies_each_rule_in_order() {
        let mut keyed = spec();
        let more = keyed.more_mut();
        more.body_contains = Some("OK".into());
        more.body_not_contains = Some("ERROR".into());
        more.max_response_time_ms = Some(500);
        let mut only_204 = spec();
        only_204.expected_status =
            StatusRanges::new(vec![StatusRange { lo: 204, hi: 204 }]).unwrap();

        let plain = spec();
        type Case<'a> = (&'a HttpTarget, u16, &'a [u8], u32, Option<&'a str>);
        let cases: Vec<Case> = vec![
            (&plain, 200, b"", 10, None),
            (&plain, 301, b"", 10, None),
            (&plain, 404, b"", 10, Some("bad_status")),
            (&plain, 500, b"", 10, Some("bad_status")),
            (&only_204, 200, b"", 10, Some("bad_status")),
            (&only_204, 204, b"", 10, None),
            (&keyed, 200, b"status: OK", 10, None),
            (&keyed, 200, b"status: ok", 10, Some("keyword_missing")),
            (&keyed, 200, b"OK but ERROR", 10, Some("keyword_present")),
            (&keyed, 500, b"OK", 10, Some("bad_status")),
            (&keyed, 200, b"OK", 501, Some("too_slow")),
            (&keyed, 200, b"OK", 500, None),
        ];
        for (spec, status, body, ms, want) in cases {
            let got = judge(spec, status, &[], body, ms);
            assert_eq!(
                got.as_ref().map(Failure::kind),
                want,
                "{status} {body:?} {ms}"
            );
        }
    }

    #[test]
    fn keywords_beyond_the_inspected_prefix_do_not_count() {
        let mut keyed = spec();
        keyed.more_mut().body_contains = Some("tail".into());
        let mut body = vec![b'x'; BODY_INSPECT_LIMIT];
        body.extend_from_slice(b"tail");
        assert_eq!(
            judge(&keyed, 200, &[], &body, 1).map(|f| f.kind()),
            Some("keyword_missing")
        );
    }
}
