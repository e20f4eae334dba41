//! The check's configuration read from JSON: defaults, relations, the domain kind.

use super::*;
use crate::domain::Method;
use crate::domain::field::FieldErrors;
use crate::domain::form::Form;

fn fields(errors: &FieldErrors) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

/// Reads `body` as the API does, with the shipped RDAP directory.
fn read(body: serde_json::Value) -> Result<CheckSpec, FieldErrors> {
    let serde_json::Value::Object(fields) = body else {
        panic!("not an object");
    };
    let (contacts, locations) = (BTreeSet::new(), BTreeSet::new());
    let rdap = crate::domain::RdapDirectory::shipped();
    let known = Registry {
        contacts: &contacts,
        locations: &locations,
        rdap: &rdap,
    };
    let mut form = Form::new(fields);
    let spec = CheckSpec::read(&mut form, Some(known));
    form.finish(spec)
}

#[test]
fn a_domain_check_is_looked_up_daily_and_only_where_rdap_answers() {
    let spec = read(serde_json::json!({"kind": "domain", "domain": "Acme.COM"})).unwrap();
    assert_eq!(spec.check_rate(), 86_400, "its own default rate");
    assert_eq!(spec.cadence().rate_ms, 86_400_000);
    assert_eq!(
        spec.thresholds(),
        Thresholds {
            failures_to_confirm: 1,
            successes_to_recover: 1
        },
        "a registry's answer is final"
    );
    let written = serde_json::to_string(&spec).unwrap();
    assert!(
        written.starts_with("{\"kind\":\"domain\",\"domain\":\"acme.com\""),
        "the store finds domain checks by this prefix: {written}"
    );
    let refused = |body: serde_json::Value| {
        read(body)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.reason))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        refused(serde_json::json!({"kind": "domain", "domain": "shop.de"})),
        [(
            "domain".to_owned(),
            ".de has no RDAP service in IANA's bootstrap file (published 2025-11-06), so \
             the expiry of shop.de cannot be read"
                .to_owned()
        )]
    );
    for (body, field) in [
        (
            serde_json::json!({"kind": "domain", "domain": "acme.com", "check_rate": 60}),
            "check_rate",
        ),
        (
            serde_json::json!({"kind": "domain", "domain": "acme.com", "locations": []}),
            "locations",
        ),
        (
            serde_json::json!({"kind": "domain", "domain": "192.0.2.1"}),
            "domain",
        ),
        (
            serde_json::json!({"kind": "domain", "domain": "acme.com", "domain_expiry_days": 0}),
            "domain_expiry_days",
        ),
        (
            serde_json::json!({"kind": "domain", "domain": "acme.com", "degraded_after_ms": 100}),
            "degraded_after_ms",
        ),
        (
            serde_json::json!({"kind": "domain", "domain": "acme.com", "url": "http://acme.com/"}),
            "url",
        ),
    ] {
        let errors = refused(body.clone());
        assert_eq!(errors.len(), 1, "{body}: {errors:?}");
        assert_eq!(errors[0].0, field, "{body}");
    }
}

#[test]
fn defaults_have_no_relation_errors() {
    assert!(
        CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap())
            .relation_errors()
            .is_empty()
    );
}

#[test]
fn relation_errors_name_each_field() {
    let mut spec = CheckSpec::with_defaults("http://127.0.0.1/".parse().unwrap());
    spec.retry_interval = 61;
    let more = spec.http_mut().unwrap().more_mut();
    more.body = Some("x".into());
    more.max_response_time_ms = Some(10_000);
    more.body_contains = Some("ok".into());
    more.body_not_contains = Some("ok".into());
    assert_eq!(
        fields(&spec.relation_errors()),
        vec![
            "body",
            "max_response_time_ms",
            "body_not_contains",
            "retry_interval"
        ]
    );
    spec.retry_interval = 60;
    let http = spec.http_mut().unwrap();
    http.method = Method::Post;
    let more = http.more_mut();
    more.max_response_time_ms = Some(9_999);
    more.body_not_contains = None;
    assert!(spec.relation_errors().is_empty());
}
