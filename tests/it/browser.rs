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

    browser.click("a[href=\"/status/acme\"]").await;
    browser.wait_title("acme status").await;
    assert!(browser.source().await.contains("Partial outage"));
    browser.screenshot("status.png").await;
}
