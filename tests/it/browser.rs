//! The pages in a real browser: headless Chromium driven over WebDriver (chromedriver), as a
//! person would use them: sign in through the form, see the dashboard, follow a link to a
//! check page, then to the stack's status page. Screenshots go to target/screenshots/.
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::binary::wait_for;
use crate::helpers::READ_TOKEN;
use crate::web::app_with_checks;

/// A chromedriver process and one browser session in it, driven through fantoccini.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: Client,
}

impl Browser {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The reader is in Tokyo: the pages' times show in their time zone.
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TZ", "Asia/Tokyo")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (apt-get install chromium chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        wait_for("chromedriver", 30, async || {
            let response = http.get(format!("{base}/status")).send().await.ok()?;
            response.status().is_success().then_some(())
        })
        .await;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,1000",
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium", "args": args}),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&base)
            .await
            .expect("a WebDriver session");
        let session = client
            .session_id()
            .await
            .unwrap()
            .expect("the session's id");
        Self {
            driver,
            base,
            session,
            client,
        }
    }

    async fn go(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn click(&self, css: &str) {
        let element = self.client.find(Locator::Css(css)).await.unwrap();
        element.click().await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.client.find(Locator::Css(css)).await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Waits until the page's title contains `part`.
    async fn wait_title(&self, part: &str) {
        wait_for(&format!("a page titled {part}"), 30, async || {
            let title = self.client.title().await.ok()?;
            title.contains(part).then_some(())
        })
        .await;
    }

    /// Runs `script` (a function body) in the page; its return value.
    async fn run(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// How far the page scrolls sideways, in CSS pixels (0 when it fits).
    async fn sideways(&self) -> i64 {
        self.run(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        )
        .await
        .as_i64()
        .unwrap()
    }

    /// The serious and critical accessibility violations axe-core finds on the page
    /// (WCAG 2 A and AA rules): `[rule, impact, [each element and why]]`.
    async fn serious_violations(&self) -> Vec<serde_json::Value> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe/axe.min.js");
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (scripts/axe-core puts it there)", path.display()));
        self.client
            .execute(&format!("{axe}\nreturn typeof axe;"), Vec::new())
            .await
            .unwrap();
        let found = self
            .client
            .execute_async(
                "var done = arguments[arguments.length - 1];\
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})\
                   .then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(' ') + ': ' + (n.any[0] || {}).message)])))\
                   .catch(e => done([['axe failed', String(e), []]]));",
                Vec::new(),
            )
            .await
            .unwrap();
        found
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| {
                matches!(v[1].as_str(), Some("serious" | "critical")) || v[0] == "axe failed"
            })
            .cloned()
            .collect()
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    /// Ends the session first, which makes chromedriver quit Chromium: killing only the
    /// driver left Chromium running after the tests, busy enough to skew any benchmark run
    /// later on the same machine. Plain blocking HTTP, as `drop` cannot await (fantoccini
    /// ends the session from its own task, which may not run before the driver is killed).
    fn drop(&mut self) {
        let host = self.base.trim_start_matches("http://").to_owned();
        if let Ok(mut stream) = std::net::TcpStream::connect(&host) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
            let _ = write!(
                stream,
                "DELETE /session/{} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
                self.session
            );
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_and_follows_the_dashboard_to_a_check_and_its_status_page() {
    let (app, _dir, _target) = app_with_checks().await;
    let browser = Browser::start().await;

    browser.go(&app.url("/")).await;
    browser.wait_title("Sign in").await;
    browser.type_into("#token", READ_TOKEN).await;
    browser.click("button[type=submit]").await;
    browser.wait_title("Checks").await;
    let dashboard = browser.source().await;
    assert!(dashboard.contains("acme-readiness") && dashboard.contains("▼ down"));
    let shot = browser.screenshot("dashboard.png").await;
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real picture"
    );

    browser.click("a[href=\"/checks/acme-readiness\"]").await;
    browser.wait_title("acme-readiness").await;
    let check = browser.source().await;
    assert!(check.contains("90 days") && check.contains("Response time"));
    browser.screenshot("check.png").await;

    // The team tells the customers; a window is announced.
    let update = json!({"status": "identified", "checks": ["acme-readiness"],
        "message": "The readiness probe fails after the **database upgrade**; rolling back."});
    assert_eq!(
        app.post_json("/api/v1/stacks/acme/updates", &update)
            .await
            .0,
        201
    );
    let (cron_day, day) = crate::helpers::window_day();
    let window = json!({"scope": "stack", "target": "acme", "cron": format!("0 2 * * {cron_day}"),
        "duration": 3600, "timezone": "Europe/Paris", "reason": "database maintenance", "public": true});
    assert_eq!(app.post_json("/api/v1/maintenance", &window).await.0, 201);

    browser.click("a[href=\"/status/acme\"]").await;
    browser.wait_title("acme status").await;
    let status = browser.source().await;
    assert!(status.contains("Partial outage"));
    assert!(
        status.contains("<strong>database upgrade</strong>"),
        "{status}"
    );
    assert!(
        status.contains(&format!("Scheduled: </strong>{day}")),
        "{status}"
    );
    let shown = browser
        .run("var t = document.querySelector('article.update time'); return [t.textContent, t.title];")
        .await;
    let (local, utc) = (shown[0].as_str().unwrap(), shown[1].as_str().unwrap());
    assert!(utc.ends_with(" UTC"), "{utc}");
    assert!(
        local.contains("GMT+9") || local.contains("JST"),
        "in the reader's zone: {local}"
    );
    let brand = browser
        .run("return document.querySelector('a.brand').getAttribute('href');")
        .await;
    assert_eq!(
        brand, "/status/acme",
        "the logo keeps a visitor on the page"
    );
    browser.screenshot("status.png").await;
    let violations = browser.serious_violations().await;
    assert!(
        violations.is_empty(),
        "accessibility (axe-core): {violations:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_line_up_fill_their_cards_and_fit_a_phone() {
    let (app, _dir, target) = app_with_checks().await;
    let other = json!({"checks": [
        {"name": "shop-a-much-longer-check-name-than-the-others-have", "url": target.url("http", "/ok"), "check_rate": 10},
    ]});
    assert_eq!(app.put("/api/v1/stacks/shop", &other).await.0, 200);
    let browser = Browser::start().await;
    browser.go(&app.url("/")).await;
    browser.wait_title("Sign in").await;
    browser
        .type_into("#token", crate::helpers::ADMIN_TOKEN)
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_title("Checks").await;

    let widths = browser
        .run("return Array.from(document.querySelectorAll('section.stack table')).map(t => \
              Array.from(t.querySelectorAll('th')).map(th => Math.round(th.getBoundingClientRect().width)));")
        .await;
    let widths = widths.as_array().unwrap();
    assert!(widths.len() >= 3, "{widths:?}");
    assert!(
        widths.iter().all(|w| w == &widths[0]),
        "every stack's columns alike: {widths:?}"
    );
    let row = browser
        .run("var r = Array.from(document.querySelectorAll('tr')).find(r => r.textContent.includes('acme-readiness')); \
              return Array.from(r.querySelectorAll('td')).map(td => td.textContent.trim());")
        .await;
    assert_eq!(
        row[4], "–",
        "no response time for a refused connection: {row}"
    );
    assert!(
        row[6].as_str().unwrap().contains("connection refused"),
        "the cause: {row}"
    );
    assert!(browser.source().await.contains(">Sign out</button>"));

    browser.go(&app.url("/checks/acme-readiness")).await;
    browser.wait_title("acme-readiness").await;
    let filled = browser
        .run("return ['svg.bar', 'svg.chart'].map(s => { var e = document.querySelector(s); \
              var card = e.closest('.card'); var style = getComputedStyle(card); \
              var inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight); \
              return e.getBoundingClientRect().width / inner; });")
        .await;
    for share in filled.as_array().unwrap() {
        assert!(
            share.as_f64().unwrap() > 0.97,
            "charts fill their card: {filled}"
        );
    }
    let text = browser.run("return document.body.innerText;").await;
    let text = text.as_str().unwrap();
    let raw_iso = text
        .split_whitespace()
        .any(|w| w.len() >= 16 && w.as_bytes()[4] == b'-' && w.as_bytes()[10] == b'T');
    assert!(!raw_iso, "no raw ISO time on the page: {text}");

    browser.client.set_window_size(390, 844).await.unwrap();
    for (path, title) in [
        ("/", "Checks"),
        ("/checks/acme-readiness", "acme-readiness"),
        ("/status/acme", "acme status"),
        ("/stacks/acme", "Stack acme"),
    ] {
        browser.go(&app.url(path)).await;
        browser.wait_title(title).await;
        assert_eq!(browser.sideways().await, 0, "{path} fits a phone");
        let boxes = browser
            .run("return Array.from(document.querySelectorAll('section, .card')).map(e => [e.scrollWidth - e.clientWidth, \
                  Array.from(e.querySelectorAll('th')).map(th => Math.round(th.getBoundingClientRect().width)), e.clientWidth]);")
            .await;
        for b in boxes.as_array().unwrap() {
            assert_eq!(b[0], 0, "{path}: nothing on it scrolls sideways: {boxes}");
        }
    }
    browser.go(&app.url("/")).await;
    browser.wait_title("Checks").await;
    browser.screenshot("dashboard-phone.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_reads_an_update_subscribes_confirms_and_gets_the_next_one() {
    use crate::subscriptions::{app_with_subscriptions, link_path, mail_to};
    let smtp = crate::receivers::SmtpReceiver::start().await;
    let (app, _dir) = app_with_subscriptions(&smtp).await;
    let first = json!({"status": "investigating", "message": "Pages load slowly; we are on it."});
    assert_eq!(
        app.post_json("/api/v1/stacks/acme/updates", &first).await.0,
        201
    );
    let browser = Browser::start().await;

    browser.go(&app.url("/status/acme")).await;
    browser.wait_title("acme status").await;
    assert!(
        browser
            .source()
            .await
            .contains("Pages load slowly; we are on it.")
    );
    let violations = browser.serious_violations().await;
    assert!(
        violations.is_empty(),
        "accessibility of the form (axe-core): {violations:?}"
    );
    browser
        .type_into("form.subscribe input[name=email]", "visitor@example.com")
        .await;
    browser.click("form.subscribe button[type=submit]").await;
    wait_for("the answer to the subscription", 30, async || {
        browser
            .source()
            .await
            .contains("Check your inbox")
            .then_some(())
    })
    .await;

    let confirmation = mail_to(
        &smtp,
        "visitor@example.com",
        "[acme] Confirm your subscription",
    )
    .await;
    browser
        .go(&app.url(&link_path(&confirmation.text, "/confirm/")))
        .await;
    browser.click("button[type=submit]").await;
    wait_for("the confirmation", 30, async || {
        browser
            .source()
            .await
            .contains("You are subscribed")
            .then_some(())
    })
    .await;

    let next = json!({"status": "monitoring", "message": "A fix is out; watching."});
    assert_eq!(
        app.post_json("/api/v1/stacks/acme/updates", &next).await.0,
        201
    );
    let mail = mail_to(&smtp, "visitor@example.com", "[acme] Monitoring").await;
    assert!(
        mail.text.contains("A fix is out; watching."),
        "{}",
        mail.text
    );
}
