//! `stackwatch import statuscake`: reads a StatusCake account (its API, or JSON files of its
//! API's answers) and writes it into a stackwatch through stackwatch's own StatusCake-
//! compatible `/v1`, so every field is translated exactly as for a StatusCake client.
//! Idempotent: a check whose name exists is updated in place, and reported unchanged when
//! the update changed nothing.

mod client;
mod forms;
mod notifiers;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::Value;

use client::ApiClient;
use write::{by_name, refusal, write};

/// Where the account is read from.
pub enum Source {
    /// StatusCake's API (or another in front of `/v1`) with its API key.
    Api { base: String, key: String },
    /// A directory of JSON answers: `uptime*.json`, `heartbeat*.json`, `ssl*.json`,
    /// `contact-groups*.json`, `maintenance-windows*.json`.
    Dir(PathBuf),
}

/// What to import into.
pub struct Target {
    /// stackwatch's base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// An admin token.
    pub token: String,
    /// Report what would be done; write nothing.
    pub dry_run: bool,
}

/// What an import did, a line per object, and the suggested configuration.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
    /// `[notifiers.…]` blocks for contact groups stackwatch has no contact for.
    pub notifiers: String,
}

impl Report {
    fn line(&mut self, kind: &str, outcome: &str, name: &str, detail: &str) {
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        self.lines
            .push(format!("{kind:<12} {outcome:<10} {name}{detail}"));
    }
}

/// Every item of a resource, from the API (all pages) or from the directory's files.
async fn read_all(
    source: &Source,
    client: Option<&ApiClient>,
    resource: &str,
) -> anyhow::Result<Vec<Value>> {
    match (source, client) {
        (Source::Api { .. }, Some(client)) => read_pages(client, resource).await,
        (Source::Dir(dir), _) => read_dir(dir, resource),
        (Source::Api { .. }, None) => bail!("no client for the source API"),
    }
}

/// Most pages read of one resource (a million checks at 100 a page); an API that claims
/// more is refused rather than followed into memory.
pub const MAX_PAGES: u64 = 10_000;
/// How long reading one resource may take in all.
const READ_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

async fn read_pages(client: &ApiClient, resource: &str) -> anyhow::Result<Vec<Value>> {
    let started = std::time::Instant::now();
    let mut items = Vec::new();
    for page in 1.. {
        if page > MAX_PAGES {
            bail!(
                "GET /v1/{resource} has more than {MAX_PAGES} pages: stopped there (is this a \
                 StatusCake API?)"
            );
        }
        if started.elapsed() > READ_TIME_LIMIT {
            bail!(
                "GET /v1/{resource}: reading every page took more than {} minutes: stopped at \
                 page {page}",
                READ_TIME_LIMIT.as_secs() / 60
            );
        }
        let answer = client
            .get(&format!("/v1/{resource}?page={page}&limit=100"))
            .await?;
        if answer.status != 200 {
            bail!(
                "GET /v1/{resource} answered {}: {}",
                answer.status,
                answer.body
            );
        }
        let data = answer.body["data"].as_array().cloned().unwrap_or_default();
        let empty = data.is_empty();
        items.extend(data);
        let pages = answer.body["metadata"]["page_count"].as_u64().unwrap_or(1);
        if empty || page >= pages {
            break;
        }
    }
    Ok(items)
}

/// The account's SSL tests: none, with a line saying why, when its API refuses or does
/// not know the list (an account without the feature, an older API).
async fn read_ssl(
    source: &Source,
    client: Option<&ApiClient>,
    report: &mut Report,
) -> anyhow::Result<Vec<Value>> {
    if let Some(client) = client {
        let first = client.get("/v1/ssl?page=1&limit=1").await?;
        if matches!(first.status, 403 | 404) {
            let why = format!("GET /v1/ssl answered {}: none read", first.status);
            report.line("ssl", "skipped", "SSL tests", &why);
            return Ok(Vec::new());
        }
    }
    read_all(source, client, "ssl").await
}

fn read_dir(dir: &Path, resource: &str) -> anyhow::Result<Vec<Value>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(resource) && name.ends_with(".json")
        })
        .collect();
    files.sort();
    let mut items = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let answer: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        match answer.get("data").unwrap_or(&answer) {
            Value::Array(list) => items.extend(list.iter().cloned()),
            one @ Value::Object(_) => items.push(one.clone()),
            _ => bail!("{} holds no StatusCake answer (no data)", file.display()),
        }
    }
    Ok(items)
}

/// Imports the account; every object is reported, none stops the others.
pub async fn run(source: Source, target: Target) -> anyhow::Result<Report> {
    let source_client = match &source {
        Source::Api { base, key } => Some(ApiClient::new(base, key)?),
        Source::Dir(_) => None,
    };
    let dest = ApiClient::new(&target.url, &target.token)?;
    let mut report = Report::default();

    let groups = read_all(&source, source_client.as_ref(), "contact-groups").await?;
    let mut uptime = read_all(&source, source_client.as_ref(), "uptime").await?;
    if let Some(client) = &source_client {
        // The list answers an overview; each check's own answer has every field.
        for check in &mut uptime {
            let id = check["id"].as_str().unwrap_or("").to_owned();
            let answer = client.get(&format!("/v1/uptime/{id}")).await?;
            if answer.status == 200 {
                *check = answer.body["data"].clone();
            }
        }
    }
    let heartbeats = read_all(&source, source_client.as_ref(), "heartbeat").await?;
    let ssl_tests = read_ssl(&source, source_client.as_ref(), &mut report).await?;
    let windows = read_all(&source, source_client.as_ref(), "maintenance-windows").await?;

    // Contact groups: the account's ids to the ids stackwatch gives its contacts.
    let configured = read_pages(&dest, "contact-groups").await?;
    let mut group_ids = HashMap::new();
    for group in &groups {
        let name = notifiers::contact_name(group["name"].as_str().unwrap_or(""));
        let here = configured.iter().find(|c| c["name"] == name.as_str());
        let id = group["id"].as_str().unwrap_or("").to_owned();
        match here.and_then(|c| c["id"].as_str()) {
            Some(dest_id) => {
                group_ids.insert(id, dest_id.to_owned());
                report.line("contact", "mapped", &name, "configured here");
            }
            None => {
                report
                    .notifiers
                    .push_str(&notifiers::notifier_blocks(group));
                report.line(
                    "contact",
                    "suggested",
                    &name,
                    "add the block below to the configuration",
                );
            }
        }
    }

    let mut check_ids: HashMap<String, String> = HashMap::new();
    let existing = by_name(&read_pages(&dest, "uptime").await?);
    for check in &uptime {
        let (form, notes) = forms::uptime_form(check, &group_ids);
        let moved = write(
            &dest,
            "uptime",
            check,
            form,
            &existing,
            target.dry_run,
            &mut report,
        )
        .await?;
        if let Some(id) = moved {
            check_ids.insert(check["id"].as_str().unwrap_or("").to_owned(), id);
        }
        for note in notes {
            report.line("", "note", check["name"].as_str().unwrap_or(""), &note);
        }
    }
    let existing = by_name(&read_pages(&dest, "heartbeat").await?);
    for check in &heartbeats {
        let (form, notes) = forms::heartbeat_form(check, &group_ids);
        let moved = write(
            &dest,
            "heartbeat",
            check,
            form,
            &existing,
            target.dry_run,
            &mut report,
        )
        .await?;
        let name = check["name"].as_str().unwrap_or("");
        if let (Some(id), false) = (moved, target.dry_run) {
            let answer = dest.get(&format!("/v1/heartbeat/{id}")).await?;
            let url = answer.body["data"]["url"].as_str().unwrap_or("").to_owned();
            report.line("", "note", name, &format!("the job must now call {url}"));
        }
        for note in notes {
            report.line("", "note", name, &note);
        }
    }
    // SSL tests have no name: the URL they test names them.
    let named = |tests: Vec<Value>| -> Vec<Value> {
        let mut tests = tests;
        for test in &mut tests {
            test["name"] = test["website_url"].clone();
        }
        tests
    };
    let existing = by_name(&named(read_pages(&dest, "ssl").await?));
    for test in named(ssl_tests) {
        let (form, notes) = forms::ssl_form(&test, &group_ids);
        write(
            &dest,
            "ssl",
            &test,
            form,
            &existing,
            target.dry_run,
            &mut report,
        )
        .await?;
        for note in notes {
            report.line("", "note", test["name"].as_str().unwrap_or(""), &note);
        }
    }
    let present = read_pages(&dest, "maintenance-windows").await?;
    for window in &windows {
        let name = window["name"].as_str().unwrap_or("");
        // Windows are matched by name: a recurring one's start moves on with time.
        if present.iter().any(|p| p["name"] == window["name"]) {
            report.unchanged += 1;
            report.line("window", "unchanged", name, "");
            continue;
        }
        match forms::window_form(window, &check_ids) {
            Err(why) => {
                report.skipped += 1;
                report.line("window", "skipped", name, &why);
            }
            Ok(_) if target.dry_run => {
                report.created += 1;
                report.line("window", "would add", name, "");
            }
            Ok(form) => {
                let answer = dest
                    .send_form(Method::POST, "/v1/maintenance-windows", &form)
                    .await?;
                if answer.status == 201 {
                    report.created += 1;
                    report.line("window", "created", name, "");
                } else {
                    report.skipped += 1;
                    report.line("window", "skipped", name, &refusal(&answer.body));
                }
            }
        }
    }
    Ok(report)
}
