//! `stackwatch probe URL`: one probe exactly as the scheduler runs it, described for a person.

use std::fmt::Write;

use anyhow::{Context, bail};

use crate::api::spec_of;
use crate::domain::{CheckSpec, Outcome, Target, Timestamp};
use crate::probe::Prober;
use crate::settings::Settings;

/// What the probe found, as text, and whether the check would be up.
pub struct ProbeReport {
    pub up: bool,
    pub text: String,
}

/// Builds a check from the same JSON the API takes, with the same validation.
pub fn spec_from_json(body: serde_json::Value) -> anyhow::Result<CheckSpec> {
    let serde_json::Value::Object(body) = body else {
        bail!("invalid probe options: not a JSON object");
    };
    match spec_of(body) {
        Ok(spec) => Ok(spec),
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            bail!("invalid probe options:\n{}", lines.join("\n"))
        }
    }
}

/// Probes once with the configured prober settings (CA bundle, user agent, name server).
pub async fn run(spec: &CheckSpec, settings: &Settings) -> anyhow::Result<ProbeReport> {
    let prober = Prober::configured(&settings.probe).context("cannot set up TLS for probes")?;
    let outcome = prober.probe(spec).await;
    Ok(ProbeReport {
        up: outcome.is_up(),
        text: describe(spec, &outcome, Timestamp::now()),
    })
}

fn describe(spec: &CheckSpec, outcome: &Outcome, now: Timestamp) -> String {
    let mut text = String::new();
    let verdict = match &outcome.failure {
        None => "UP".to_owned(),
        Some(failure) => format!("DOWN: {failure}"),
    };
    let what = match &spec.target() {
        Target::Http(http) => format!("{} {}", http.method().as_str(), http.url()),
        other => other.address(),
    };
    let _ = writeln!(text, "{what} -> {verdict}");
    if let Some(status) = outcome.status {
        let _ = writeln!(text, "  status       {status}");
    }
    let t = &outcome.timings;
    for (label, value) in [
        ("dns", t.dns_ms),
        ("connect", t.connect_ms),
        ("tls", t.tls_ms),
        ("first byte", t.ttfb_ms),
        ("total", Some(t.total_ms)),
    ] {
        if let Some(ms) = value {
            let _ = writeln!(text, "  {label:<12} {ms} ms");
        }
    }
    if let Some(not_after) = outcome.cert_not_after {
        let days = (not_after.0 - now.0) / 86_400_000;
        let _ = writeln!(
            text,
            "  certificate  expires {} ({days} days)",
            not_after.to_rfc3339()
        );
    }
    text
}
