//! Configuration: the built-in defaults (config/default.toml), an optional file, environment
//! variables and command-line flags, layered and validated into `Settings`. This is the only
//! module that reads the environment.

mod alerting;
mod load;
mod routes;
mod tokens;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use crate::domain::LocationName;

pub use crate::domain::Secret;
pub use crate::notify::{
    DiscordSettings, EmailSettings, MatrixSettings, NotifierSettings, NtfySettings,
    OpsgeniePriority, OpsgenieRegion, OpsgenieSettings, PagerDutySettings, PagerDutySeverity,
    PushoverSettings, SlackSettings, SmtpEndpoint, SmtpTls, TeamsSettings, TelegramSettings,
    WebhookSettings,
};
pub use alerting::{AlertingSettings, GroupBy};
pub use routes::{DuringSettings, RouteSettings};
pub use tokens::{Refusal, Role, Tokens};

/// The built-in layer: every key with its default, compiled in so the binary runs alone.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// File name of the admin token generated at the first start, inside the data directory
/// (when no admin token is configured).
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Shortest accepted API token, so a guessable one is refused at start.
pub const MIN_TOKEN_LEN: usize = 16;

/// Everything stackwatch is configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub probe: ProbeSettings,
    pub monitor: MonitorSettings,
    pub retention: RetentionSettings,
    pub alerting: AlertingSettings,
    pub watchdog: WatchdogSettings,
    pub agent: AgentSettings,
    pub dashboard: DashboardSettings,
    pub status_pages: StatusPageSettings,
    /// Contacts by name.
    pub notifiers: BTreeMap<String, NotifierSettings>,
    /// `[[routes]]`: which contacts alerts go to (see `domain::routing`).
    #[serde(default)]
    pub routes: Vec<RouteSettings>,
}

impl Settings {
    /// The routes and default contacts, read once; `Err` lists every problem of the routes.
    pub fn routing(&self) -> Result<crate::domain::Routing, Vec<String>> {
        routes::routing(&self.routes, &self.alerting.default_contacts, &|name| {
            self.notifiers.contains_key(name)
        })
    }
}

/// `[probe]`: how targets are contacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSettings {
    /// Extra trusted CA certificates (PEM); empty for none.
    pub ca_bundle: PathBuf,
    /// The User-Agent of every probe.
    pub user_agent: String,
    /// The DNS server HTTP, TCP, SMTP, SSH and ICMP probes ask ("address" or
    /// "address:port"); empty for the system's configuration.
    pub nameserver: String,
    /// Where IANA's RDAP bootstrap file is refreshed from, at most daily while domain
    /// checks use it; empty to keep the copy built in.
    pub rdap_bootstrap_url: String,
    /// RDAP services asked before the bootstrap file's, by top-level domain (or a longer
    /// suffix): base URLs.
    #[serde(default)]
    pub rdap_servers: BTreeMap<String, String>,
}

impl ProbeSettings {
    /// The bootstrap file's URL, when refreshing is on (validation reports a bad one).
    pub fn rdap_bootstrap_url(&self) -> Option<url::Url> {
        let text = self.rdap_bootstrap_url.trim();
        url::Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
    }

    /// `rdap_servers` as base URLs, by lower-case suffix (validation reports bad ones).
    pub fn rdap_servers(&self) -> BTreeMap<String, url::Url> {
        self.rdap_servers
            .iter()
            .filter_map(|(suffix, url)| {
                Some((
                    suffix.trim_matches('.').to_ascii_lowercase(),
                    crate::domain::base_url(url).ok()?,
                ))
            })
            .collect()
    }

    /// The CA bundle's path, when one is configured.
    pub fn ca_bundle(&self) -> Option<&Path> {
        (!self.ca_bundle.as_os_str().is_empty()).then_some(self.ca_bundle.as_path())
    }

    /// The configured DNS server (port 53 unless given); `None` for the system's, and for
    /// a value that does not parse (validation reports it).
    pub fn nameserver(&self) -> Option<std::net::SocketAddr> {
        let text = self.nameserver.trim();
        if text.is_empty() {
            return None;
        }
        text.parse::<std::net::SocketAddr>().ok().or_else(|| {
            text.parse::<std::net::IpAddr>()
                .ok()
                .map(|ip| std::net::SocketAddr::new(ip, 53))
        })
    }
}

/// `[monitor]`: the scheduler.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSettings {
    /// Probes in flight at once.
    pub max_concurrent_probes: u32,
    /// Reference URLs that answer whenever the box's network works; with any, the offline
    /// rule holds connection-level failures until a canary has been probed.
    pub canaries: Vec<String>,
    /// Where this process probes from.
    pub location: LocationName,
    /// The home location (default: `location`): that of the checks that name none, whose
    /// instances judge every check. Every instance of a cluster names the same one.
    pub home: Option<LocationName>,
    /// The locations of a cluster's instances away from home: checks may name them, and
    /// each is watched for silence as an agent's location is.
    pub cluster_locations: Vec<LocationName>,
}

impl MonitorSettings {
    /// The home location: `home`, or this process's own `location`.
    pub fn home(&self) -> &LocationName {
        self.home.as_ref().unwrap_or(&self.location)
    }

    /// Whether this process judges checks (it is at home) rather than only probing them
    /// for the instances at home.
    pub fn is_home(&self) -> bool {
        self.home() == &self.location
    }

    /// The locations a check may name: home, this process's own, the cluster's others and
    /// each agent token's.
    pub fn known_locations<'a>(
        &'a self,
        agents: impl Iterator<Item = &'a LocationName> + 'a,
    ) -> std::collections::BTreeSet<&'a LocationName> {
        [self.home(), &self.location]
            .into_iter()
            .chain(&self.cluster_locations)
            .chain(agents)
            .collect()
    }
}

/// `[dashboard]`: who may see the dashboard, check pages and `/metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSettings {
    /// Anyone may look, without a token (on a trusted network only).
    pub public: bool,
}

/// Which stacks have a public status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusPagesEnabled {
    /// Every stack.
    All,
    /// Stacks whose `PUT /api/v1/stacks/{stack}` said `"status_page": true`.
    Chosen,
    /// None.
    None,
}

/// `[status_pages]`: public status pages at `/status/{stack}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageSettings {
    pub enabled: StatusPagesEnabled,
    /// The `frame-ancestors` of status pages' content security policy, e.g.
    /// `"'self' https://acme.example"` to embed them; `"'none'"` forbids framing.
    pub frame_ancestors: String,
    /// The email contact that mails subscribers of status pages; empty: no subscriptions.
    pub subscriptions_via: String,
    /// `[status_pages.pages.STACK]`: a stack page's own host names and look.
    #[serde(default)]
    pub pages: BTreeMap<String, PageLook>,
}

/// `[status_pages.pages.STACK]`: where and how one stack's status page shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageLook {
    /// Host names that serve the page at `/` (e.g. `status.acme.example`).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The page's title instead of "STACK status".
    pub title: Option<String>,
    /// An http(s) URL of a logo image shown in the page's header.
    pub logo_url: Option<String>,
    /// Where the header's logo or title leads (the customer's site).
    pub link: Option<String>,
}

/// `[agent]`: what `stackwatch agent` works for (its flags override each key).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// The server's base URL.
    pub server: String,
    /// The agent token the server knows this location by.
    pub token: Secret,
    /// The token's location.
    pub location: String,
}

/// `[watchdog]`: a dead man's switch pinged while stackwatch is healthy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchdogSettings {
    /// URL sent a GET every `interval` seconds while healthy; empty for none.
    pub url: String,
    /// Seconds between pings.
    pub interval: u64,
}

/// `[retention]`: how long results are kept, and when the rollup job runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    pub raw_days: u32,
    pub hourly_days: u32,
    pub daily_days: u32,
    /// Cron expression (5 or 6 fields, UTC).
    pub schedule: String,
}

/// `[server]`: where the API listens and where data lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the HTTP API binds; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Directory for the database file and the generated admin token.
    pub data_dir: PathBuf,
    /// Seconds a request may take.
    pub request_timeout: u64,
    /// Seconds a client has to send a request head; also how long a keep-alive connection
    /// may idle.
    pub header_timeout: u64,
    /// Connections served at once; a few reserved slots beyond them keep `/healthz` answering.
    pub max_connections: u32,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_grace: u64,
}

/// `[auth]`: bearer tokens by role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Tokens that may read and write.
    pub admin_tokens: Vec<Secret>,
    /// Tokens that may only read.
    pub read_tokens: Vec<Secret>,
    /// Agents' tokens by location: each may only pull its location's checks and push
    /// their results.
    pub agent_tokens: BTreeMap<LocationName, Secret>,
    /// Failed tokens one client address may present in a minute before it must wait
    /// (ten times as many from all addresses together).
    pub failed_tokens_per_minute: u32,
}

/// `[database]`: where the data lives and how it is reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// A PostgreSQL URL (`postgres://user:password@host:port/database`); unset, the data
    /// lives in SQLite in the data directory. A secret: it may carry a password.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Milliseconds to wait for a lock held elsewhere.
    pub busy_timeout_ms: u64,
    /// Size of the read pool.
    pub read_connections: u32,
    /// Seconds a lease on a share of the checks lasts unless renewed (PostgreSQL).
    pub lease_s: u64,
}

/// `[log]`: what is logged and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter directive, e.g. `info`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir DIR`.
    pub data_dir: Option<PathBuf>,
}

/// The configuration could not be loaded; one line per problem, naming source and key.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

impl SettingsError {
    pub(crate) fn one(problem: String) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

impl Settings {
    /// The built-in defaults alone, as a starting point for tests and tools.
    pub fn defaults() -> Result<Self, SettingsError> {
        let settings: Settings = Figment::from(Toml::string(DEFAULT_TOML))
            .extract()
            .map_err(|e| SettingsError::one(format!("built-in defaults: {e}")))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Path of the SQLite database inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.server.data_dir.join("stackwatch.db")
    }

    /// Where the data lives: SQLite in the data directory, or the PostgreSQL of
    /// `database.url` (validated at load).
    pub fn database(&self) -> Database {
        match &self.database.url {
            Some(url) => Database::Postgres {
                place: postgres_place(url.expose()).unwrap_or_default(),
                url: url.clone(),
            },
            None => Database::Sqlite(self.database_path()),
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Database {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database: its URL (a secret) and where it is, as logs may show it.
    Postgres { url: Secret, place: String },
}

/// A PostgreSQL URL's place without its credentials, `host:port/database`, or why the URL
/// is not one: the scheme must be `postgres` or `postgresql`, with a host.
pub fn postgres_place(url: &str) -> Result<String, String> {
    // The URL's own text never goes into the reason: it may carry a password.
    let parsed = url::Url::parse(url).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "must be a postgres:// URL (unset keeps SQLite in the data directory), not {}://",
            parsed.scheme()
        ));
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err("names no host".to_owned());
    };
    let port = parsed.port().unwrap_or(5432);
    let database = parsed.path().trim_start_matches('/');
    Ok(format!("{host}:{port}/{database}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_defaults_are_valid_and_safe() {
        let settings = Settings::defaults().unwrap();
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.server.data_dir, PathBuf::from("./data"));
        assert!(settings.auth.admin_tokens.is_empty());
    }

    #[test]
    fn subscriptions_need_an_email_contact_and_the_public_url() {
        let mut settings = Settings::defaults().unwrap();
        settings.status_pages.subscriptions_via = "nobody".into();
        let text = settings.validate().unwrap_err().to_string();
        assert!(
            text.contains("status_pages.subscriptions_via: \"nobody\" is not an email contact"),
            "{text}"
        );
        assert!(
            text.contains("status_pages.subscriptions_via: needs alerting.public_url"),
            "{text}"
        );
    }

    #[test]
    fn a_page_look_is_checked_key_by_key() {
        let mut settings = Settings::defaults().unwrap();
        let look = |hosts: &[&str], title: &str, logo: &str| PageLook {
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            title: Some(title.to_owned()),
            logo_url: Some(logo.to_owned()),
            link: None,
        };
        settings.status_pages.pages = [
            (
                "acme".to_owned(),
                look(
                    &["status.acme.example"],
                    "Acme",
                    "https://cdn.acme.example/l.png",
                ),
            ),
            (
                "Bad Stack".to_owned(),
                look(
                    &["Status.Acme.Example", "10.0.0.1", "a:80"],
                    " ",
                    "javascript:x",
                ),
            ),
        ]
        .into();
        let problems = settings.validate().unwrap_err().problems;
        assert_eq!(
            problems,
            [
                "status_pages.pages.Bad Stack: \"Bad Stack\" is not a stack name",
                "status_pages.pages.Bad Stack.hosts[1]: \"10.0.0.1\" is not a host name",
                "status_pages.pages.Bad Stack.hosts[2]: \"a:80\" is not a host name",
                "status_pages.pages.Bad Stack.title: must be 1-100 characters without control characters",
                "status_pages.pages.Bad Stack.logo_url: must be an http or https URL",
                "status_pages.pages.acme.hosts[0]: \"status.acme.example\" serves another page too",
            ]
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("super-secret-token-value");
        assert!(!format!("{s:?}").contains("super"));
    }

    #[test]
    fn an_agent_token_needs_a_strong_token_and_a_location_of_its_own() {
        let mut settings = Settings::defaults().unwrap();
        settings.auth.agent_tokens = [
            ("fra".parse().unwrap(), Secret::new("short")),
            (
                "local".parse().unwrap(),
                Secret::new("a-long-enough-token-0123"),
            ),
        ]
        .into();
        let err = settings.validate().unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 2, "{text}");
        assert!(text.contains("auth.agent_tokens.fra: "), "{text}");
        assert!(
            text.contains("auth.agent_tokens.local: is monitor.location"),
            "{text}"
        );
        assert!(!text.contains("a-long-enough"), "no token is shown: {text}");
    }

    #[test]
    fn only_a_postgresql_cluster_has_instances_away_from_home_each_listed() {
        let problems = |settings: &Settings| match settings.validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.problems,
        };
        let mut settings = Settings::defaults().unwrap();
        settings.monitor.location = "fra".parse().unwrap();
        settings.monitor.home = Some("hq".parse().unwrap());
        assert_eq!(
            problems(&settings),
            [
                "monitor.home: differs from monitor.location, but only an instance of a \
                 PostgreSQL cluster may probe for instances elsewhere",
                "monitor.cluster_locations: must name fra, this instance's location away \
                 from home (every instance's configuration lists them all)"
            ]
        );
        settings.database.url = Some(Secret::new("postgres://stackwatch@127.0.0.1/stackwatch"));
        settings.auth.admin_tokens = vec![Secret::new("an-admin-token-long-enough")];
        settings.monitor.cluster_locations = vec!["fra".parse().unwrap()];
        assert_eq!(problems(&settings), Vec::<String>::new());
        settings
            .monitor
            .cluster_locations
            .push("hq".parse().unwrap());
        settings.auth.agent_tokens = [
            (
                "hq".parse().unwrap(),
                Secret::new("a-long-enough-token-0123"),
            ),
            (
                "fra".parse().unwrap(),
                Secret::new("a-long-enough-token-4567"),
            ),
        ]
        .into();
        assert_eq!(
            problems(&settings),
            [
                "auth.agent_tokens.fra: is monitor.location, this server's own location: an \
                 agent needs a location of its own",
                "auth.agent_tokens.hq: is monitor.home, the cluster's home: an agent needs a \
                 location of its own",
                "monitor.cluster_locations: names hq, the home location",
            ]
        );
    }

    #[test]
    fn validate_reports_every_problem() {
        let mut settings = Settings::defaults().unwrap();
        settings.server.request_timeout = 0;
        settings.auth.read_tokens = vec![Secret::new("short")];
        settings.log.level = "info,=[".to_owned();
        let err = settings.validate().unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 3, "{text}");
        assert!(text.contains("server.request_timeout"), "{text}");
        assert!(text.contains("auth.read_tokens[0]"), "{text}");
        assert!(text.contains("log.level"), "{text}");
    }
}
