//! The pages in a real browser: headless Chromium driven over WebDriver (chromedriver), as a
//! person would use them: sign in through the form, see the dashboard, follow a link to a
//! check page, then to the stack's status page. Screenshots go to target/screenshots/.
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use serde_json::{Value, json};

use crate::binary::wait_for;
use crate::helpers::READ_TOKEN;
use crate::web::app_with_checks;

/// A chromedriver process and one browser session in it.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
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
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Self {
            driver,
            base,
            session,
            http,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method.clone(), url);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(answer["value"]["error"].is_null(), "{path}: {answer}");
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        // The element reference is the one value of the object (its key is WebDriver's
        // fixed element identifier).
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    async fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn title(&self) -> String {
        self.command(reqwest::Method::GET, "/title", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the page's title contains `part`.
    async fn wait_title(&self, part: &str) {
        wait_for(&format!("a page titled {part}"), 30, async || {
            self.title().await.contains(part).then_some(())
        })
        .await;
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Browser {
    /// Ends the session first, which makes chromedriver quit Chromium: killing only the
    /// driver left Chromium running after the tests, busy enough to skew any benchmark run
    /// later on the same machine. Plain blocking HTTP, as `drop` cannot await.
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

    browser.click("a[href=\"/status/acme\"]").await;
    browser.wait_title("acme status").await;
    assert!(browser.source().await.contains("Partial outage"));
    browser.screenshot("status.png").await;
}
