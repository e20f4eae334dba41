//! `[[routes]]` through the real server: alerts of checks that name no contacts go where
//! the first matching route says (and on, past one that continues), a check's own
//! contacts override every route, and `stackwatch routes explain` says which applied.
//! A route naming an unknown contact stops the start, naming its key.

use std::path::{Path, PathBuf};

use serde_json::json;
use stackwatch::settings::{Overrides, Settings};

use crate::binary::wait_for;
use crate::cli::{run, stackwatch};
use crate::helpers::{ADMIN_TOKEN, TestApp, spawn_with, test_settings};
use crate::receivers::HookReceiver;

/// Three webhook contacts and two routes: `acme-*` stacks to `acme` and on; DOWNs of
/// checks tagged `env:prod` to `night`; everything else to `pager`.
fn config(pager: &HookReceiver, acme: &HookReceiver, night: &HookReceiver) -> String {
    format!(
        r#"
[alerting]
default_contacts = ["pager"]

[notifiers.pager]
kind = "webhook"
url = "{}"

[notifiers.acme]
kind = "webhook"
url = "{}"

[notifiers.night]
kind = "webhook"
url = "{}"

[[routes]]
stacks = ["acme-*"]
contacts = ["acme"]
continue = true

[[routes]]
tags = ["env:prod"]
events = ["down"]
contacts = ["night"]
"#,
        pager.url("/hook"),
        acme.url("/hook"),
        night.url("/hook")
    )
}

/// Settings with the notifiers, routes and default contacts of `config`, written to a
/// file in `dir` (returned, for `routes explain`).
fn settings_with(config: &str, dir: &Path) -> (Settings, PathBuf) {
    let file = dir.join("routes.toml");
    std::fs::write(&file, config).unwrap();
    let from_file = Settings::load(&Overrides {
        config_file: Some(file.clone()),
        listen: None,
        data_dir: None,
    })
    .unwrap();
    let mut settings = test_settings(&dir.join("data"));
    settings.notifiers = from_file.notifiers;
    settings.routes = from_file.routes;
    settings.alerting.default_contacts = from_file.alerting.default_contacts;
    (settings, file)
}

/// What `stackwatch routes explain CHECK EVENT` prints for `app` with the routes of `file`.
fn explain(dir: &Path, file: &Path, app: &TestApp, check: &str, event: &str) -> String {
    let mut command = stackwatch(&dir.join("cli"));
    command
        .args(["routes", "explain", check, event, "--url", &app.url("")])
        .arg("--config")
        .arg(file)
        .env("STACKWATCH_TOKEN", ADMIN_TOKEN);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn checks_told(receiver: &HookReceiver) -> Vec<String> {
    let mut checks: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| r.body["check"].as_str().unwrap_or_default().to_owned())
        .collect();
    checks.sort();
    checks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_follow_the_first_matching_route_and_explain_says_which() {
    let (pager, acme, night) = (
        HookReceiver::start().await,
        HookReceiver::start().await,
        HookReceiver::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let (mut settings, file) = settings_with(&config(&pager, &acme, &night), dir.path());
    settings.alerting.group_by = stackwatch::settings::GroupBy::None;
    let app = spawn_with(settings).await;
    let down = json!({"url": "http://127.0.0.1:9/", "check_rate": 10, "failures_to_confirm": 1});
    for (name, extra) in [
        (
            "acme-web",
            json!({"stack": "acme-prod", "tags": ["env:prod"]}),
        ),
        ("shop-web", json!({"stack": "shop"})),
        ("shop-prod", json!({"stack": "shop", "tags": ["env:prod"]})),
        (
            "acme-own",
            json!({"stack": "acme-test", "contacts": ["pager"]}),
        ),
    ] {
        let mut body = down.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, created) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{created}");
    }
    // Each check's DOWN filed (some go to two contacts), then every delivery settled.
    wait_for("a DOWN of each check", 60, async || {
        let mut told = checks_told(&pager);
        told.extend(checks_told(&acme));
        told.extend(checks_told(&night));
        told.sort();
        told.dedup();
        (told.len() == 4).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(checks_told(&acme), ["acme-web"]);
    assert_eq!(checks_told(&night), ["acme-web", "shop-prod"]);
    assert_eq!(checks_told(&pager), ["acme-own", "shop-web"]);

    let explain = |check: &str, event: &str| explain(dir.path(), &file, &app, check, event);
    assert_eq!(
        explain("acme-web", "down"),
        "acme-web, event down:\nroutes[0] matches and continues\nroutes[1] matches\ncontacts: acme, night\n"
    );
    assert_eq!(
        explain("acme-web", "recovered"),
        "acme-web, event recovered:\nroutes[0] matches and continues\ncontacts: acme\n"
    );
    assert_eq!(
        explain("shop-web", "down"),
        "shop-web, event down:\nno route matches: alerting.default_contacts: pager\n"
    );
    assert_eq!(
        explain("acme-own", "down"),
        "acme-own, event down:\nthe check names its own contacts, which override every route: pager\n"
    );
    app.stop().await;
}

/// An escalation route: stacks `acme-*` escalate to `oncall` after a minute; `shop` does
/// not escalate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_route_escalates_its_stacks_unacknowledged_outages_once() {
    let (pager, oncall) = (HookReceiver::start().await, HookReceiver::start().await);
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[alerting]
default_contacts = ["pager"]

[notifiers.pager]
kind = "webhook"
url = "{}"

[notifiers.oncall]
kind = "webhook"
url = "{}"

[[routes]]
stacks = ["acme-*"]
escalate_after = 1
contacts = ["oncall"]
"#,
        pager.url("/hook"),
        oncall.url("/hook")
    );
    let (settings, file) = settings_with(&config, dir.path());
    let app = spawn_with(settings).await;
    let down = |stack: &str| {
        json!({"url": "http://127.0.0.1:9/", "check_rate": 10, "failures_to_confirm": 1,
            "stack": stack})
    };
    // The stack that does not escalate fails first: were it escalated, it would be no
    // later than the other.
    assert_eq!(
        app.put("/api/v1/checks/shop-web", &down("shop")).await.0,
        201
    );
    wait_for("shop-web's DOWN", 60, async || {
        (checks_told(&pager) == ["shop-web"]).then_some(())
    })
    .await;
    assert_eq!(
        app.put("/api/v1/checks/acme-web", &down("acme-prod"))
            .await
            .0,
        201
    );
    wait_for("the escalation", 150, async || {
        (!oncall.accepted().is_empty()).then_some(())
    })
    .await;
    crate::helpers::outbox_settled(&app.client, &app.url("")).await;
    assert_eq!(
        oncall.events_and_checks(),
        [("escalated".to_owned(), "acme-web".to_owned())]
    );
    assert_eq!(checks_told(&pager), ["acme-web", "shop-web"], "the DOWNs");

    let explain = |check: &str| explain(dir.path(), &file, &app, check, "escalated");
    assert_eq!(
        explain("acme-web"),
        "acme-web, event escalated:\nroutes[0] escalates after 1 min\ncontacts: oncall\n"
    );
    assert_eq!(
        explain("shop-web"),
        "shop-web, event escalated:\nno escalation: neither the check nor a route escalates\n"
    );
    app.stop().await;
}

#[test]
fn a_route_naming_an_unknown_contact_stops_the_start_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[routes]]\nstacks = [\"acme-*\"]\ncontacts = [\"nobody\"]\nevents = [\"sometimes\"]\n\n\
         [[routes]]\nstacks = [\"shop\"]\ncontacts = [\"nobody\"]\nevents = [\"down\"]\n\
         escalate_after = 20000\n",
    )
    .unwrap();
    let (code, stderr) = run(stackwatch(dir.path())
        .arg("--config")
        .arg(&file)
        .arg("migrate"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("routes[0].contacts[0]: no notifier named nobody is configured"),
        "{stderr}"
    );
    assert!(
        stderr.contains("routes[0].events[0]: must be one of down,"),
        "{stderr}"
    );
    assert!(
        stderr.contains("routes[1].escalate_after: must be between 1 and 10080 minutes, got 20000"),
        "{stderr}"
    );
    assert!(
        stderr.contains("routes[1].escalate_after: an escalation route takes neither events"),
        "{stderr}"
    );
}
