//! A StatusCake maintenance-window form as stackwatch windows: one per test and per tag
//! it names, `repeat_interval` as a cron expression read in the window's time zone, every
//! problem named by its StatusCake field.

use chrono::{Datelike, TimeZone, Timelike};

use super::V1Error;
use super::form_reader::{FieldProblems, FormFields};
use crate::api::ApiState;
use crate::api::maintenance::{MaintenanceBody, parse_window};
use crate::domain::{CheckId, MaintenanceWindow, Timestamp, WindowTiming, parse_timezone};

/// The StatusCake field a native window field's error belongs to.
fn statuscake_field(native: &str) -> &'static str {
    match native {
        "starts_at" => "start_at",
        "ends_at" | "duration" => "end_at",
        "cron" => "repeat_interval",
        "timezone" => "timezone",
        "reason" => "name",
        _ => "tests",
    }
}

fn problem(problems: &mut FieldProblems, field: &str, reason: impl Into<String>) {
    problems
        .entry(field.to_owned())
        .or_default()
        .push(reason.into());
}

/// The cron expression of a repeat interval starting at `start` in `zone`, or why none.
fn cron_of(interval: &str, start: Timestamp, zone: &str) -> Result<Option<String>, String> {
    let tz = parse_timezone(zone).ok_or_else(|| format!("{zone:?} is not an IANA time zone"))?;
    let local = tz
        .timestamp_millis_opt(start.0)
        .single()
        .ok_or("start_at is out of range")?;
    let (m, h) = (local.minute(), local.hour());
    Ok(match interval {
        "" | "never" => None,
        "1d" => Some(format!("{m} {h} * * *")),
        "1w" => Some(format!("{m} {h} * * {}", local.weekday())),
        "1m" => Some(format!("{m} {h} {} * *", local.day())),
        "2w" => {
            return Err(
                "every two weeks has no cron form here; use 1w, or one window per occurrence"
                    .into(),
            );
        }
        other => return Err(format!("must be never, 1d, 1w, 2w or 1m, not {other:?}")),
    })
}

/// The repeat interval a stored cron expression was made from (`never` for other forms).
pub(super) fn interval_of(cron: &str) -> &'static str {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    match fields.as_slice() {
        [_, _, "*", "*", "*"] => "1d",
        [_, _, "*", "*", _] => "1w",
        [_, _, _, "*", "*"] => "1m",
        _ => "never",
    }
}

/// The stackwatch windows a StatusCake window form makes: one per test and per tag.
/// `timing`: keep this timing rather than reading the form's.
pub(super) async fn windows_of(
    state: &ApiState,
    form: &FormFields,
    timing: Option<&WindowTiming>,
) -> Result<Vec<MaintenanceWindow>, V1Error> {
    let text = |f: &str| form.get(f).and_then(|v| v.last()).cloned();
    let mut problems = FieldProblems::new();
    let name = text("name").filter(|n| !n.trim().is_empty());
    if name.is_none() {
        problem(&mut problems, "name", "is required");
    }
    let time = |field: &str, problems: &mut FieldProblems| match text(field) {
        None => {
            problem(problems, field, "is required");
            None
        }
        Some(t) => Timestamp::parse_rfc3339(&t).or_else(|| {
            problem(problems, field, "must be an RFC 3339 time");
            None
        }),
    };
    let start = time("start_at", &mut problems);
    let end = time("end_at", &mut problems);
    let zone = text("timezone").unwrap_or_else(|| "UTC".to_owned());
    let interval = text("repeat_interval").unwrap_or_default();
    let cron = match start.map(|s| cron_of(&interval, s, &zone)) {
        Some(Ok(cron)) => cron,
        Some(Err(reason)) => {
            let field = if reason.contains("time zone") {
                "timezone"
            } else {
                "repeat_interval"
            };
            problem(&mut problems, field, reason);
            None
        }
        None => None,
    };
    let mut scopes: Vec<(&str, String)> = Vec::new();
    for test in form
        .get("tests")
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
    {
        let check = match test.parse::<i64>() {
            Ok(id) => state.store.check_by_id(CheckId(id)).await?,
            Err(_) => None,
        };
        match check {
            Some(check) => scopes.push(("check", check.name.to_string())),
            None => problem(&mut problems, "tests", format!("no check has id {test}")),
        }
    }
    for tag in form
        .get("tags")
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
    {
        scopes.push(("tag", tag.clone()));
    }
    if scopes.is_empty() && !problems.contains_key("tests") {
        problem(
            &mut problems,
            "tests",
            "name at least one check (tests[]) or tag (tags[])",
        );
    }
    let (Some(start), Some(end)) = (start, end) else {
        return Err(V1Error::Invalid(problems));
    };
    if end <= start {
        problem(&mut problems, "end_at", "must be after start_at");
    }
    let now = Timestamp::now();
    let duration = u32::try_from((end.0 - start.0) / 1000).unwrap_or(u32::MAX);
    let mut windows = Vec::new();
    for (scope, target) in scopes {
        let body = MaintenanceBody {
            scope: scope.to_owned(),
            target: Some(target.clone()),
            // A repeating window's first start, to the minute as its cron reads it.
            starts_at: Some(match cron {
                Some(_) => Timestamp(start.0 - start.0.rem_euclid(60_000)).to_rfc3339(),
                None => start.to_rfc3339(),
            }),
            ends_at: cron.is_none().then(|| end.to_rfc3339()),
            duration: cron.is_some().then_some(duration),
            cron: cron.clone(),
            timezone: cron.is_some().then(|| zone.clone()),
            reason: name.clone(),
            public: None,
        };
        match parse_window(body, now) {
            Ok(window) => windows.push(window),
            Err(errors) => {
                for e in errors {
                    let field = if e.field == "target" && scope == "tag" {
                        "tags"
                    } else {
                        statuscake_field(&e.field)
                    };
                    problem(&mut problems, field, e.reason);
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(V1Error::Invalid(problems));
    }
    if let Some(timing) = timing {
        for w in &mut windows {
            w.timing = timing.clone();
        }
    }
    Ok(windows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_intervals_become_cron_in_the_window_zone_and_back() {
        let start = Timestamp::parse_rfc3339("2026-11-29T01:30:00Z").unwrap();
        let daily = cron_of("1d", start, "Europe/Paris").unwrap();
        assert_eq!(daily.as_deref(), Some("30 2 * * *"));
        let weekly = cron_of("1w", start, "UTC").unwrap();
        assert_eq!(
            weekly.as_deref(),
            Some("30 1 * * Sun"),
            "29 Nov 2026 is a Sunday"
        );
        let monthly = cron_of("1m", start, "UTC").unwrap();
        assert_eq!(monthly.as_deref(), Some("30 1 29 * *"));
        for cron in [daily, weekly, monthly].into_iter().flatten() {
            assert_ne!(interval_of(&cron), "never");
        }
        assert_eq!(cron_of("never", start, "UTC"), Ok(None));
        assert!(cron_of("2w", start, "UTC").is_err());
        assert!(cron_of("1d", start, "Mars/Olympus").is_err());
    }
}
