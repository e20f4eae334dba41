//! Probing from several locations, with real network trouble: a server on a bridge of the
//! test's own, two `stackwatch agent` processes (`fra`, `nyc`) and a target web server,
//! each in a network namespace of its own, addresses from a documentation range. Routes
//! are cut inside a namespace; an agent is killed with -9.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stackwatch::domain::{LocationName, Timestamp};
use stackwatch::settings::Secret;

use crate::binary::wait_for;
use crate::helpers::{
    READ_TOKEN, TestApp, outbox_settled, spawn_with, test_settings, text_as, with_webhook,
};
use crate::netns::Net;
use crate::receivers::{HookReceiver, Received};

const BIN: &str = env!("CARGO_BIN_EXE_stackwatch");
const AGENTS: [(&str, &str); 2] = [
    ("fra", "agent-token-for-fra-0123456789"),
    ("nyc", "agent-token-for-nyc-0123456789"),
];

/// Gives each of [`AGENTS`] its token.
fn with_agents(settings: &mut stackwatch::settings::Settings) {
    settings.auth.agent_tokens = AGENTS
        .iter()
        .map(|(l, t)| (l.parse::<LocationName>().unwrap(), Secret::new(*t)))
        .collect();
}

/// The server, its agents and the target, all up.
struct World {
    net: Net,
    app: TestApp,
    hook: HookReceiver,
    /// Namespaces by host name (`fra`, `nyc`).
    hosts: BTreeMap<&'static str, String>,
    /// Agent processes by location, for [`Net::kill9`].
    agents: BTreeMap<&'static str, usize>,
    target: String,
    _dir: tempfile::TempDir,
}

/// Builds the world on `block` and registers check `web` probed from `local`, `fra` and
/// `nyc` with quorum 2, every 10 s, confirmed by 2 failures 2 s apart; returns once every
/// location has confirmed it up.
async fn world(tag: char, block: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new(tag, block);
    let target_ns = net.host("target", 10);
    let target = net.address(10);
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "ok").unwrap();
    let www = www.to_string_lossy().into_owned();
    net.spawn_in(
        &target_ns,
        "python3",
        &[
            "-m",
            "http.server",
            "8080",
            "--bind",
            &target,
            "--directory",
            &www,
        ],
        &[],
        &dir.path().join("target.log"),
    );
    let hook = HookReceiver::start().await;
    let mut settings = with_webhook(test_settings(&dir.path().join("data")), &hook);
    settings.server.listen = format!("{}:0", net.gateway()).parse().unwrap();
    with_agents(&mut settings);
    let app = spawn_with(settings).await;
    let server = format!("http://{}", app.addr);
    let mut hosts = BTreeMap::new();
    let mut agents = BTreeMap::new();
    for (octet, (location, token)) in (11..).zip(AGENTS) {
        let namespace = net.host(location, octet);
        let agent = net.spawn_in(
            &namespace,
            BIN,
            &["agent", "--server", &server, "--location", location],
            &[("STACKWATCH_AGENT_TOKEN", token)],
            &dir.path().join(format!("agent-{location}.log")),
        );
        hosts.insert(location, namespace);
        agents.insert(location, agent);
    }
    let (status, body) = app
        .put(
            "/api/v1/checks/web",
            &json!({
                "url": format!("http://{target}:8080/"),
                "check_rate": 10,
                "retry_interval": 2,
                "failures_to_confirm": 2,
                "locations": ["local", "fra", "nyc"],
                "quorum": 2,
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let world = World {
        net,
        app,
        hook,
        hosts,
        agents,
        target,
        _dir: dir,
    };
    world
        .wait_for_states(
            "every location to confirm the target up",
            &[("fra", "up"), ("local", "up"), ("nyc", "up")],
        )
        .await;
    world
}

impl World {
    /// Each location's confirmed verdict on `web`.
    async fn states(&self) -> BTreeMap<String, String> {
        let (_, check) = self.app.get("/api/v1/checks/web").await;
        check["location_states"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["location"].as_str().unwrap().to_owned(),
                    s["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn check_state(&self) -> String {
        let (_, check) = self.app.get("/api/v1/checks/web").await;
        check["state"].as_str().unwrap_or_default().to_owned()
    }

    async fn wait_for_states(&self, what: &str, want: &[(&str, &str)]) {
        let want: BTreeMap<String, String> = want
            .iter()
            .map(|(l, s)| ((*l).to_owned(), (*s).to_owned()))
            .collect();
        wait_for(what, 90, async || {
            (self.states().await == want).then_some(())
        })
        .await;
    }

    /// The alerts the contact got of `event`.
    fn got(&self, event: &str) -> Vec<Received> {
        self.hook
            .accepted()
            .into_iter()
            .filter(|r| r.body["event"] == event)
            .collect()
    }

    async fn wait_for_alert(&self, event: &str, nth: usize) -> Value {
        wait_for(&format!("alert {event} #{nth}"), 120, async || {
            self.got(event).get(nth - 1).map(|r| r.body.clone())
        })
        .await
    }

    /// Results of `web` from `location` in `[since, until)`.
    async fn results(&self, location: &str, since: Timestamp, until: Timestamp) -> Vec<Value> {
        let (status, page) = self
            .app
            .get(&format!(
                "/api/v1/checks/web/results?location={location}&since={}{}&limit=1000",
                since.to_rfc3339(),
                if until.0 == i64::MAX {
                    String::new()
                } else {
                    format!("&until={}", until.to_rfc3339())
                }
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        page["results"].as_array().unwrap().clone()
    }

    /// Waits until every location in `locations` has probed twice since `since`: each has
    /// then judged the check again since whatever happened at `since`.
    async fn wait_for_probes_after(&self, locations: &[&str], since: Timestamp) {
        for location in locations {
            wait_for(&format!("two probes from {location}"), 60, async || {
                (self
                    .results(location, since, Timestamp(i64::MAX))
                    .await
                    .len()
                    >= 2)
                    .then_some(())
            })
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_location_cut_off_alerts_nobody_two_make_one_down_and_one_recovered() {
    let world = world('q', "198.51.100.0/25").await;

    // fra loses its route to the target: fra confirms DOWN, the check stays UP.
    world.net.cut(&world.hosts["fra"], &world.target);
    world
        .wait_for_states(
            "fra to confirm the target down",
            &[("fra", "down"), ("local", "up"), ("nyc", "up")],
        )
        .await;
    assert_eq!(world.check_state().await, "up");
    let page = text_as(&world.app.url("/checks/web"), READ_TOKEN).await;
    assert!(page.contains("Locations"), "{page}");
    assert!(page.contains("<td>fra</td><td>down</td>"), "{page}");
    let metrics = text_as(&world.app.url("/metrics"), READ_TOKEN).await;
    let location_up = |location: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("stackwatch_check_location_up{check=\"web\",")
                    && l.contains(&format!("location=\"{location}\"}}"))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    };
    assert_eq!(location_up("fra").as_deref(), Some("0"), "{metrics}");
    assert_eq!(location_up("local").as_deref(), Some("1"), "{metrics}");

    // nyc too: two of three, the quorum: one DOWN naming both and their cause.
    world.net.cut(&world.hosts["nyc"], &world.target);
    let down = world.wait_for_alert("down", 1).await;
    let locations = down["locations"].as_str().unwrap();
    assert!(
        locations.starts_with("down from fra and nyc (") && locations.ends_with("up from local"),
        "{locations}"
    );
    assert!(down["text"].as_str().unwrap().contains(locations), "{down}");
    assert_eq!(world.check_state().await, "down");

    // Both routes back: one RECOVERED (when the first of them is UP again), naming each
    // location's verdict then.
    world.net.restore(&world.hosts["fra"], &world.target);
    world.net.restore(&world.hosts["nyc"], &world.target);
    let recovered = world.wait_for_alert("recovered", 1).await;
    let locations = recovered["locations"].as_str().unwrap();
    assert!(
        locations.contains("up from") && locations.contains("local"),
        "{recovered}"
    );
    let recovered_at = Timestamp::parse_rfc3339(recovered["created_at"].as_str().unwrap()).unwrap();
    world
        .wait_for_probes_after(&["local", "fra", "nyc"], recovered_at)
        .await;
    outbox_settled(&world.app.client, &world.app.url("")).await;
    let events: Vec<String> = world
        .hook
        .accepted()
        .iter()
        .map(|r| r.body["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, vec!["down", "recovered"], "exactly one of each");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_agent_is_offline_once_its_results_arrive_after_and_its_votes_drop_out() {
    let mut world = world('s', "203.0.113.0/25").await;
    let server = world.net.gateway();

    // fra cannot reach the server for a minute: it keeps probing, goes offline after its
    // bound (one alert), online when it reports again (one alert), and the results of the
    // minute away arrive afterwards.
    let cut_at = Timestamp::now();
    world.net.cut(&world.hosts["fra"], &server);
    let offline = world.wait_for_alert("offline", 1).await;
    assert_eq!(offline["location"], "fra", "{offline}");
    let away = tokio::time::Instant::now()
        + std::time::Duration::from_millis(
            u64::try_from(60_000 - (Timestamp::now().0 - cut_at.0)).unwrap_or(0),
        );
    tokio::time::sleep_until(away).await;
    let restore_at = Timestamp::now();
    world.net.restore(&world.hosts["fra"], &server);
    let online = world.wait_for_alert("online", 1).await;
    assert_eq!(online["location"], "fra", "{online}");
    // Every 10 s for a minute: at least five of the six probes of the minute away.
    wait_for("fra's results of the minute away", 60, async || {
        (world.results("fra", cut_at, restore_at).await.len() >= 5).then_some(())
    })
    .await;

    // fra votes DOWN; nyc is killed: its silence is no vote. Of the two locations still
    // reporting, the quorum needs both: the check stays UP.
    world.net.cut(&world.hosts["fra"], &world.target);
    world
        .wait_for_states(
            "fra to confirm the target down",
            &[("fra", "down"), ("local", "up"), ("nyc", "up")],
        )
        .await;
    let nyc = world.agents["nyc"];
    world.net.kill9(nyc);
    let offline = world.wait_for_alert("offline", 2).await;
    assert_eq!(offline["location"], "nyc", "{offline}");
    let dashboard = text_as(&world.app.url("/"), READ_TOKEN).await;
    assert!(
        dashboard.contains("Location nyc is offline") && dashboard.contains("fra reporting"),
        "{dashboard}"
    );
    let offline_at = Timestamp::parse_rfc3339(offline["created_at"].as_str().unwrap()).unwrap();
    world
        .wait_for_probes_after(&["local", "fra"], offline_at)
        .await;
    assert_eq!(world.check_state().await, "up");
    outbox_settled(&world.app.client, &world.app.url("")).await;
    let events: Vec<(String, String)> = world
        .hook
        .accepted()
        .iter()
        .map(|r| {
            (
                r.body["event"].as_str().unwrap().to_owned(),
                r.body["location"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("offline".to_owned(), "fra".to_owned()),
            ("online".to_owned(), "fra".to_owned()),
            ("offline".to_owned(), "nyc".to_owned()),
        ]
    );
}

/// An agent token pulls its location's checks and pushes their results, and reaches
/// nothing else; no other token reaches the agents' routes.
#[tokio::test]
async fn an_agent_token_reaches_its_location_s_checks_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    with_agents(&mut settings);
    let app = spawn_with(settings).await;
    let (fra, fra_token) = AGENTS[0];
    for (name, body) in [
        (
            "both",
            json!({"url": "http://127.0.0.1:9/", "locations": ["local", fra],
                   "headers": {"Authorization": "Bearer target-secret"}}),
        ),
        ("here", json!({"url": "http://127.0.0.1:9/"})),
    ] {
        let (status, body) = app.put(&format!("/api/v1/checks/{name}"), &body).await;
        assert_eq!(status, 201, "{body}");
    }
    let client = &app.client;
    let pull = |token: Option<&str>| {
        let request = client.get(app.url("/api/v1/agent/checks"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };
    let pulled: Value = pull(Some(fra_token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let checks = pulled["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{pulled}");
    assert_eq!(checks[0]["name"], "both");
    // The agent probes with the check's header: it gets the secret, and only it.
    assert!(
        checks[0]["spec"]
            .as_str()
            .unwrap()
            .contains("target-secret")
    );
    assert_eq!(pulled["silent_after_s"], 180, "3 × the 60 s rate");
    for (token, status) in [
        (None, 401),
        (Some(READ_TOKEN), 403),
        (Some(crate::helpers::ADMIN_TOKEN), 403),
    ] {
        assert_eq!(pull(token).send().await.unwrap().status(), status);
    }
    for path in ["/api/v1/checks", "/api/v1/checks/both", "/api/v1/summary"] {
        let response = client
            .get(app.url(path))
            .bearer_auth(fra_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }

    let id = |name: &str| {
        pulled["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["id"].as_i64().unwrap())
    };
    let both = id("both").unwrap();
    let outcome = |status: u16| {
        json!({"started_at": Timestamp::now().0, "status": status, "cert_not_after": null,
               "failure": null, "timings": {"dns_ms": null, "connect_ms": 1, "lost": null,
               "tls_ms": null, "ttfb_ms": 2, "total_ms": 3}})
    };
    let push = async |body: Value| {
        let response = client
            .post(app.url("/api/v1/agent/results"))
            .bearer_auth(fra_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    let (status, problem) = push(json!({"results": [
        {"check": both, "outcome": outcome(200)},
        {"check": both, "outcome": outcome(1_000)},
    ]}))
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        crate::helpers::error_fields(&problem),
        vec!["results[1].outcome.status"]
    );
    // A result of a check fra does not probe is dropped, not refused (it may have been
    // moved while the agent held it).
    let (_, here) = app.get("/api/v1/checks/here").await;
    assert!(here["location_states"].is_null());
    let (status, taken) = push(json!({"results": [
        {"check": both, "outcome": outcome(200)},
        {"check": both + 1_000, "outcome": outcome(200)},
    ]}))
    .await;
    assert_eq!(
        (status, &taken),
        (202, &json!({"accepted": 1, "dropped": 1}))
    );
    wait_for("fra's result", 10, async || {
        let (_, page) = app.get("/api/v1/checks/both/results?location=fra").await;
        (page["results"].as_array()?.len() == 1).then_some(())
    })
    .await;
    let (_, page) = app.get("/api/v1/checks/both/results?location=Fra").await;
    assert_eq!(crate::helpers::error_fields(&page), vec!["location"]);
}

/// StatusCake's `regions` that name known locations become the check's locations, and its
/// `confirmation` their quorum; `/v1` answers them back as its servers.
#[tokio::test]
async fn statuscake_regions_and_confirmation_become_locations_and_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    with_agents(&mut settings);
    let app = spawn_with(settings).await;
    let form = "name=Shop&test_type=HTTP&website_url=http%3A%2F%2F127.0.0.1%3A9%2F&check_rate=60\
                &confirmation=1&regions%5B%5D=FRA&regions%5B%5D=nyc&regions%5B%5D=london";
    let response = app
        .client
        .post(app.url("/v1/uptime"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let (status, created) = crate::helpers::status_and_json(response).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["new_id"].as_str().unwrap().to_owned();
    let (_, check) = app.get("/api/v1/checks/shop").await;
    assert_eq!(
        (
            &check["locations"],
            &check["quorum"],
            &check["failures_to_confirm"]
        ),
        (&json!(["fra", "nyc"]), &json!(2), &json!(2)),
        "{check}"
    );
    let (_, uptime) = app.get(&format!("/v1/uptime/{id}")).await;
    let servers: Vec<&str> = uptime["data"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["region_code"].as_str().unwrap())
        .collect();
    assert_eq!(servers, vec!["fra", "nyc"], "{uptime}");
    assert_eq!(uptime["data"]["confirmation"], 1);
    assert_eq!(uptime["data"]["regions"], json!(["FRA", "nyc", "london"]));
}

/// An agent whose canaries all fail is offline by the server's rule: its failures reach
/// the server marked as its own and never confirm its location DOWN.
#[tokio::test(flavor = "multi_thread")]
async fn an_agent_whose_canaries_fail_marks_its_failures_as_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HookReceiver::start().await;
    let mut settings = with_webhook(test_settings(dir.path()), &hook);
    with_agents(&mut settings);
    let app = spawn_with(settings).await;
    // Nothing listens on these ports: the check's target and the canary refuse alike.
    let closed = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let (target, canary) = (closed(), closed());
    let (status, body) = app
        .put(
            "/api/v1/checks/web",
            &json!({"url": format!("http://{target}/"), "check_rate": 10, "retry_interval": 2,
                    "locations": ["fra"], "quorum": 1}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (fra, token) = AGENTS[0];
    let mut agent = std::process::Command::new(BIN)
        .args(["agent", "--server", &app.url(""), "--location", fra])
        .env("STACKWATCH_AGENT_TOKEN", token)
        .env(
            "STACKWATCH__MONITOR__CANARIES",
            format!("[\"http://{canary}/\"]"),
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let since = Timestamp(Timestamp::now().0 - 60_000);
    let world_results = async || {
        let (_, page) = app
            .get(&format!(
                "/api/v1/checks/web/results?location=fra&since={}",
                since.to_rfc3339()
            ))
            .await;
        page["results"].as_array().cloned().unwrap_or_default()
    };
    let results = wait_for("four results from fra", 90, async || {
        let results = world_results().await;
        (results.len() >= 4).then_some(results)
    })
    .await;
    agent.kill().unwrap();
    agent.wait().unwrap();
    let marked = results
        .iter()
        .filter(|r| r["error"].as_str().unwrap_or_default().contains("offline"))
        .count();
    assert!(marked >= 3, "{results:?}");
    let (_, check) = app.get("/api/v1/checks/web").await;
    assert_ne!(check["state"], "down", "{check}");
    assert!(
        check["location_states"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|s| s["state"] != "down"),
        "{check}"
    );
    assert!(hook.accepted().iter().all(|r| r.body["event"] != "down"));
}
