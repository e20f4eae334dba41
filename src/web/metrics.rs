//! `GET /metrics` in the Prometheus text format: each check's state and certificate
//! expiry, probe phase durations and scheduling lag (histograms), probes and alert
//! deliveries by result, stackwatch's own health, and process figures from /proc; sent in
//! chunks as it is written.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::aside::{Aside, HELD_BYTES};
use super::chunked::{self, Answer, Stop};
use super::session::viewer;
use super::{PageError, WebState};
use crate::domain::Health;
use crate::monitor::HistogramSnapshot;

/// Answers with the first chunk once it is written (see [`chunked`]).
pub async fn metrics(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if viewer(&state, &headers, peer.ip()).is_none() {
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a read or admin token is needed\n",
        )
            .into_response());
    }
    let (mut answer, written) = Answer::new();
    tokio::spawn(async move {
        if let Err(Stop::Failed(e)) = render(&state, &mut answer).await {
            answer.fail(e).await;
        }
    });
    chunked::respond(written, "text/plain; version=0.0.4; charset=utf-8").await
}

async fn render(state: &WebState, answer: &mut Answer) -> Result<(), Stop> {
    header_line(
        &mut answer.text,
        "stackwatch_check_up",
        "gauge",
        "1 when the check is confirmed up (degraded or not), 0 when down (absent until confirmed)",
    );
    // One pass over the checks: the other metrics' lines are set aside, as a metric's lines
    // must follow its header together.
    let aside = || Aside::new(state.data_dir.clone(), HELD_BYTES);
    let mut certs = aside();
    let mut news = aside();
    let mut locations = aside();
    let mut degraded = aside();
    let mut domains = aside();
    // A check's labels are escaped once, into `labels`, and copied into each of its lines.
    let mut labels = String::new();
    let packs = state.store.metric_packs().await?;
    let mut packs = std::pin::pin!(packs);
    while let Some(pack) = packs.next().await {
        let out = &mut answer.text;
        pack?.each_row(&mut |row| {
            labels.clear();
            check_labels(&mut labels, &row);
            let labels = labels.as_str();
            let health = row
                .health
                .and_then(|h| u8::try_from(h).ok())
                .map(Health::from_code);
            let up = match health {
                Some(Health::Up | Health::Degraded) => Some(true),
                Some(Health::Down) => Some(false),
                _ => None,
            };
            if let Some(up) = up {
                push_line(out, "stackwatch_check_up{", labels, gauge_end(up));
                // Only a check with a `degraded_after_ms` can be degraded (or still be, as
                // the setting was just removed): a gauge that is always 0 says nothing.
                let slow = health == Some(Health::Degraded);
                if row.degradable || slow {
                    push_line(
                        &mut degraded.text,
                        "stackwatch_check_degraded{",
                        labels,
                        gauge_end(slow),
                    );
                }
            }
            for (location, health) in row.location_healths() {
                let value = match health {
                    Health::Up | Health::Degraded => 1,
                    Health::Down => 0,
                    Health::Unknown => continue,
                };
                let lines = &mut locations.text;
                lines.push_str("stackwatch_check_location_up{");
                lines.push_str(labels);
                lines.push_str(",location=\"");
                push_escaped(lines, location.as_str());
                let _ = writeln!(lines, "\"}} {value}");
            }
            if row.heartbeat && row.health.is_none() {
                push_line(&mut news.text, "stackwatch_check_new{", labels, "} 1\n");
            }
            if let Some(t) = row.cert_not_after {
                let (lines, metric) = if row.domain {
                    (
                        &mut domains.text,
                        "stackwatch_check_domain_expiry_timestamp_seconds{",
                    )
                } else {
                    (
                        &mut certs.text,
                        "stackwatch_check_cert_expiry_timestamp_seconds{",
                    )
                };
                lines.push_str(metric);
                lines.push_str(labels);
                let _ = writeln!(lines, "}} {}", t / 1_000);
            }
        })?;
        answer.send_full().await?;
        for lines in [
            &mut certs,
            &mut news,
            &mut locations,
            &mut degraded,
            &mut domains,
        ] {
            lines.spill().await?;
        }
    }
    header_line(
        &mut answer.text,
        "stackwatch_check_degraded",
        "gauge",
        "1 when the check is confirmed degraded (slower than its degraded_after_ms), 0 when up or down (absent without degraded_after_ms)",
    );
    degraded.send(answer).await?;
    header_line(
        &mut answer.text,
        "stackwatch_check_cert_expiry_timestamp_seconds",
        "gauge",
        "when the check's TLS certificate expires",
    );
    certs.send(answer).await?;
    header_line(
        &mut answer.text,
        "stackwatch_check_domain_expiry_timestamp_seconds",
        "gauge",
        "when a domain check's registration expires",
    );
    domains.send(answer).await?;
    header_line(
        &mut answer.text,
        "stackwatch_check_new",
        "gauge",
        "1 for a heartbeat that has not been pinged yet (absent otherwise)",
    );
    news.send(answer).await?;
    header_line(
        &mut answer.text,
        "stackwatch_check_location_up",
        "gauge",
        "for a check probed from several locations: 1 when that location confirms it up, 0 down",
    );
    locations.send(answer).await?;
    let metrics = state.vitals.metrics();
    header_line(
        &mut answer.text,
        "stackwatch_probe_duration_seconds",
        "histogram",
        "time spent in each phase of a probe",
    );
    for (phase, snapshot) in metrics.phases() {
        histogram(
            &mut answer.text,
            "stackwatch_probe_duration_seconds",
            &format!("phase=\"{phase}\""),
            &snapshot,
        );
    }
    header_line(
        &mut answer.text,
        "stackwatch_scheduler_lag_seconds",
        "histogram",
        "from a probe's due time to its start",
    );
    histogram(
        &mut answer.text,
        "stackwatch_scheduler_lag_seconds",
        "",
        &metrics.lag(),
    );
    let (up, down) = metrics.probes();
    header_line(
        &mut answer.text,
        "stackwatch_probes_total",
        "counter",
        "probes finished since start, by result",
    );
    let _ = writeln!(answer.text, "stackwatch_probes_total{{result=\"up\"}} {up}");
    let _ = writeln!(
        answer.text,
        "stackwatch_probes_total{{result=\"down\"}} {down}"
    );
    header_line(
        &mut answer.text,
        "stackwatch_alerts_total",
        "counter",
        "alert deliveries by contact, kind and status",
    );
    for (contact, kind, status, n) in state.store.delivery_counts().await? {
        let _ = writeln!(
            answer.text,
            "stackwatch_alerts_total{{contact=\"{}\",kind=\"{}\",status=\"{}\"}} {n}",
            escape(&contact),
            escape(&kind),
            escape(&status)
        );
    }
    let healthy = state.vitals.readiness(&state.store).await.is_empty();
    header_line(
        &mut answer.text,
        "stackwatch_up",
        "gauge",
        "1 when the scheduler, the recorder and the database are healthy (the /readyz rule)",
    );
    let _ = writeln!(answer.text, "stackwatch_up {}", u8::from(healthy));
    process_metrics(&mut answer.text);
    answer.flush().await
}

fn header_line(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn check_labels(out: &mut String, row: &crate::store::MetricRow) {
    out.push_str("check=\"");
    push_escaped(out, row.name);
    out.push_str("\",stack=\"");
    push_escaped(out, row.stack.unwrap_or(""));
    out.push('"');
}

/// The end of a 0/1 gauge's sample line, after its labels.
fn gauge_end(on: bool) -> &'static str {
    if on { "} 1\n" } else { "} 0\n" }
}

/// Appends one sample line: the metric's name and `{`, the labels, and the end (`} 1\n`).
fn push_line(out: &mut String, start: &str, labels: &str, end: &str) {
    out.push_str(start);
    out.push_str(labels);
    out.push_str(end);
}

/// Appends a label value as the text format wants it: the runs between the characters
/// it escapes are copied whole. They are looked for byte by byte (they are ASCII, so a
/// byte equal to one is that character), which a scrape of a million names does faster
/// than a search for any of several characters.
fn push_escaped(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(at) = rest.bytes().position(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    push_escaped(&mut escaped, value);
    escaped
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &HistogramSnapshot) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (bound, count) in &h.buckets {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum_s);
    let _ = writeln!(out, "{name}_count{braces} {}", h.count);
}

/// Resident memory, CPU time, open descriptors and start time, from /proc (Linux).
fn process_metrics(out: &mut String) {
    let page_size = 4_096.0;
    let ticks = 100.0;
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm")
        && let Some(resident) = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<f64>().ok())
    {
        header_line(
            out,
            "process_resident_memory_bytes",
            "gauge",
            "resident memory size in bytes",
        );
        let _ = writeln!(
            out,
            "process_resident_memory_bytes {}",
            resident * page_size
        );
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
    {
        // After the command name: field 3 is the state; utime and stime are fields 14 and 15.
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        if let (Some(user), Some(system)) = (number(11), number(12)) {
            header_line(
                out,
                "process_cpu_seconds_total",
                "counter",
                "user and system CPU time in seconds",
            );
            let _ = writeln!(out, "process_cpu_seconds_total {}", (user + system) / ticks);
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        header_line(out, "process_open_fds", "gauge", "open file descriptors");
        let _ = writeln!(out, "process_open_fds {}", fds.count());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut out = String::from("x=\"");
        push_escaped(&mut out, "a\\b\"c\nd é");
        out.push('"');
        assert_eq!(out, r#"x="a\\b\"c\nd é""#);
        assert_eq!(escape("plain"), "plain");
    }
}
