//! Starting the application for a test and talking to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stackwatch::app::App;
use stackwatch::settings::{Secret, Settings};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const READ_TOKEN: &str = "test-read-token-0123456789";

/// A running application and what a test needs to reach it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: Option<TempDir>,
}

/// Settings for a test: port 0, the given data directory, one admin and one read token,
/// and the suite's database (see [`suite_database`]).
pub fn test_settings(data_dir: &Path) -> Settings {
    let mut settings = sqlite_test_settings(data_dir);
    settings.database.url = suite_database(data_dir).map(Secret::new);
    settings
}

/// [`test_settings`] on SQLite in the data directory whatever the suite's database: for
/// the tests of the SQLite file itself (its lock, its disk, its older forms).
pub fn sqlite_test_settings(data_dir: &Path) -> Settings {
    let mut settings = Settings::defaults().expect("built-in defaults are valid");
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.server.data_dir = data_dir.to_path_buf();
    settings.auth.admin_tokens = vec![Secret::new(ADMIN_TOKEN)];
    settings.auth.read_tokens = vec![Secret::new(READ_TOKEN)];
    // No download of IANA's RDAP bootstrap file: tests reach only their own servers.
    settings.probe.rdap_bootstrap_url = String::new();
    settings
}

/// The PostgreSQL test server's URL (`TEST_POSTGRES_URL`, which `./scripts/test` sets).
pub fn postgres_server() -> url::Url {
    let url = std::env::var("TEST_POSTGRES_URL").expect(
        "TEST_POSTGRES_URL names the PostgreSQL server for the tests: ./scripts/test starts a \
         throw-away one (scripts/postgres-cluster)",
    );
    url.parse().unwrap()
}

/// The database the suite runs on: with `TEST_STORE=postgres`, the URL of a PostgreSQL
/// database of its own for `data_dir` (the same one each time the test starts the
/// application on that directory, so a restart finds its data); otherwise `None`, SQLite
/// in the data directory. `./scripts/test` runs the suite once each way.
pub fn suite_database(data_dir: &Path) -> Option<String> {
    match std::env::var("TEST_STORE").as_deref() {
        Ok("postgres") => {}
        Ok("sqlite") | Err(_) => return None,
        Ok(other) => panic!("TEST_STORE={other:?}: sqlite or postgres"),
    }
    // FNV-1a of the directory: a name PostgreSQL takes, the same for the same directory.
    let hash = data_dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    let mut url = postgres_server();
    url.set_path(&format!("suite_{hash:016x}"));
    Some(url.to_string())
}

/// Creates the database `url` names when it does not exist yet.
pub async fn ensure_database(url: &str) {
    use sqlx::Connection as _;
    let url: url::Url = url.parse().unwrap();
    let name = url.path().trim_start_matches('/').to_owned();
    let mut server = url.clone();
    server.set_path("postgres");
    let mut admin = sqlx::PgConnection::connect(server.as_str()).await.unwrap();
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

/// The store of a test on the suite's database (see [`suite_database`]) for `data_dir`.
pub async fn open_suite_store(data_dir: &Path) -> stackwatch::store::Store {
    let options = stackwatch::store::StoreOptions {
        busy_timeout: std::time::Duration::from_secs(5),
        read_connections: 2,
    };
    match suite_database(data_dir) {
        Some(url) => {
            ensure_database(&url).await;
            stackwatch::store::Store::open_postgres(&url, "the suite's database", &options)
                .await
                .unwrap()
        }
        None => stackwatch::store::Store::open(&data_dir.join("stackwatch.db"), &options)
            .await
            .unwrap(),
    }
}

/// Starts the application with one webhook contact, `pager`, posting to `hook`, as the
/// default contact.
pub async fn spawn_with_webhook(hook: &crate::receivers::HookReceiver) -> (TestApp, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = with_webhook(test_settings(dir.path()), hook);
    (spawn_with(settings).await, dir)
}

/// `settings` with one webhook contact, `pager`, posting to `hook`, as the default contact.
pub fn with_webhook(mut settings: Settings, hook: &crate::receivers::HookReceiver) -> Settings {
    settings.notifiers.insert(
        "pager".into(),
        stackwatch::settings::NotifierSettings::Webhook(stackwatch::settings::WebhookSettings {
            url: Secret::new(hook.url("/hook")),
            headers: Default::default(),
        }),
    );
    settings.alerting.default_contacts = vec!["pager".into()];
    settings
}

/// Starts the application on a fresh temporary data directory.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_with(test_settings(dir.path())).await;
    app._dir = Some(dir);
    app
}

/// Starts the application with the given settings.
pub async fn spawn_with(settings: Settings) -> TestApp {
    let data_dir = settings.server.data_dir.clone();
    if let Some(url) = &settings.database.url {
        ensure_database(url.expose()).await;
    }
    let app = App::build(settings).await.expect("the application builds");
    let addr = app.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        data_dir,
        stop: Some(stop),
        task: Some(task),
        _dir: None,
    }
}

impl TestApp {
    /// Keeps `dir` (the data directory) as long as the application.
    pub fn keep(&mut self, dir: TempDir) {
        self._dir = Some(dir);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the application and waits until it has closed its database; keeps the data.
    pub async fn stop(mut self) -> Option<TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self._dir.take()
    }

    /// One request to the API with `token` (and `body` as JSON, when given).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        status_and_json(request.send().await.unwrap()).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, ADMIN_TOKEN, Some(body))
            .await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, READ_TOKEN, None)
            .await
    }

    pub async fn post(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, ADMIN_TOKEN, None)
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, ADMIN_TOKEN, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, ADMIN_TOKEN, None)
            .await
    }

    /// Every check, following pagination.
    pub async fn all_check_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let query = match &after {
                Some(a) => format!("?limit=7&after={a}"),
                None => "?limit=7".to_owned(),
            };
            let (status, page) = self.get(&format!("/api/v1/checks{query}")).await;
            assert_eq!(status, 200, "{page}");
            names.extend(listed_names(&page));
            match page["next_after"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return names,
            }
        }
    }
}

/// The names of the checks a list of checks (`{"checks": [...]}`) holds, in order.
pub fn listed_names(page: &Value) -> Vec<String> {
    page["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, value)
}

/// The fields named by a problem+json answer's `errors` list.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The body of a GET of `url` with `token` as the bearer, as text.
pub async fn text_as(url: &str, token: &str) -> String {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the outbox of the stackwatch at `base` holds no pending delivery: every
/// alert decided so far has been delivered or given up. Only then does "nothing more was
/// sent" mean something; a fixed sleep would pass with a duplicate still queued.
pub async fn outbox_settled(client: &reqwest::Client, base: &str) {
    crate::binary::wait_for("the outbox to hold nothing pending", 90, async || {
        let response = client
            .get(format!("{base}/api/v1/alerts?status=pending&limit=1000"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .ok()?;
        let list: Value = response.json().await.ok()?;
        list["alerts"]
            .as_array()
            .filter(|pending| pending.is_empty())
            .map(|_| ())
    })
    .await;
}

/// A connection of a test's own to the database the application of `data_dir` uses, to
/// look at its rows or to break it, on either backend; statements use `$1`, `$2`, ….
pub enum SideDb {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl SideDb {
    pub async fn open(data_dir: &Path) -> Self {
        use sqlx::Connection as _;
        match suite_database(data_dir) {
            Some(url) => Self::Postgres(sqlx::PgConnection::connect(&url).await.unwrap()),
            None => Self::Sqlite(
                sqlx::SqliteConnection::connect(&format!(
                    "sqlite://{}",
                    data_dir.join("stackwatch.db").display()
                ))
                .await
                .unwrap(),
            ),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// Closes the connection, its last statement done, before the application opens the
    /// database.
    pub async fn close(self) {
        use sqlx::Connection as _;
        match self {
            Self::Sqlite(conn) => conn.close().await.unwrap(),
            Self::Postgres(conn) => conn.close().await.unwrap(),
        }
    }

    /// Runs `sql` with these texts as its arguments.
    pub async fn execute(&mut self, sql: &str, args: &[&str]) {
        macro_rules! run {
            ($conn:expr) => {{
                let mut query = sqlx::query(sql);
                for arg in args {
                    query = query.bind(*arg);
                }
                query.execute($conn).await.unwrap();
            }};
        }
        match self {
            Self::Sqlite(conn) => run!(conn),
            Self::Postgres(conn) => run!(conn),
        }
    }

    /// The one row `sql` answers, each column read as an integer (NULL as `None`).
    pub async fn ints(&mut self, sql: &str, args: &[i64]) -> Vec<Option<i64>> {
        use sqlx::Row as _;
        macro_rules! read {
            ($conn:expr) => {{
                let mut query = sqlx::query(sql);
                for arg in args {
                    query = query.bind(*arg);
                }
                let row = query.fetch_one($conn).await.unwrap();
                (0..row.len())
                    .map(|i| row.try_get::<Option<i64>, _>(i).unwrap())
                    .collect()
            }};
        }
        match self {
            Self::Sqlite(conn) => read!(conn),
            Self::Postgres(conn) => read!(conn),
        }
    }
}

/// The day of a weekly maintenance window that a test expects to be ahead, not open:
/// three days after today (UTC), as the cron's day and the day's name. A fixed day would
/// have the window open, and the checks in maintenance, for one hour of every week.
pub fn window_day() -> (&'static str, &'static str) {
    use chrono::Datelike;
    const DAYS: [(&str, &str); 7] = [
        ("Mon", "Monday"),
        ("Tue", "Tuesday"),
        ("Wed", "Wednesday"),
        ("Thu", "Thursday"),
        ("Fri", "Friday"),
        ("Sat", "Saturday"),
        ("Sun", "Sunday"),
    ];
    let today = chrono::Utc::now().weekday().num_days_from_monday() as usize;
    DAYS[(today + 3) % 7]
}
