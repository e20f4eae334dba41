//! Configuration: the built-in defaults (config/default.toml), an optional file, environment
//! variables and command-line flags, layered and validated into `Settings`. This is the only
//! module that reads the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Deserialize;

/// The built-in layer: every key with its default, compiled in so the binary runs alone.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

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
    /// Contacts by name.
    pub notifiers: BTreeMap<String, NotifierSettings>,
}

/// `[alerting]`: who is told by default, and for how long deliveries are retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSettings {
    /// Contacts of checks that name none.
    pub default_contacts: Vec<String>,
    /// Base URL for links in alerts; empty for none.
    pub public_url: String,
    /// Hours before a failing delivery is given up.
    pub give_up_after_hours: u32,
}

/// One contact: where alerts go.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NotifierSettings {
    Slack(SlackSettings),
    Email(EmailSettings),
    Webhook(WebhookSettings),
}

/// `kind = "slack"`: a Slack incoming webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    pub webhook_url: Secret,
}

/// How an email contact's SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Implicit,
    /// No TLS at all: only for a relay on a trusted network.
    None,
}

/// `kind = "email"`: SMTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `smtp://host:port` (or `smtps://` for implicit TLS).
    pub smtp_url: String,
    #[serde(default)]
    pub tls: Option<SmtpTls>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
}

/// `kind = "webhook"`: a POST of the alert as JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub url: Secret,
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}

/// `[probe]`: how targets are contacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSettings {
    /// Extra trusted CA certificates (PEM); empty for none.
    pub ca_bundle: PathBuf,
    /// The User-Agent of every probe.
    pub user_agent: String,
}

impl ProbeSettings {
    /// The CA bundle's path, when one is configured.
    pub fn ca_bundle(&self) -> Option<&Path> {
        (!self.ca_bundle.as_os_str().is_empty()).then_some(self.ca_bundle.as_path())
    }
}

/// `[monitor]`: the scheduler.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSettings {
    /// Probes in flight at once.
    pub max_concurrent_probes: u32,
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
}

/// `[database]`: SQLite connection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Milliseconds to wait for a lock held elsewhere.
    pub busy_timeout_ms: u64,
    /// Size of the read pool.
    pub read_connections: u32,
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

/// A secret string (an API token): compared and used, never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for comparison or for writing it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
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
    fn one(problem: String) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

impl Settings {
    /// Loads every layer: defaults, the config file, the environment, then `overrides`.
    pub fn load(overrides: &Overrides) -> Result<Self, SettingsError> {
        let config_file = overrides
            .config_file
            .clone()
            .or_else(|| std::env::var_os("STACKWATCH_CONFIG").map(PathBuf::from));
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = &config_file {
            figment = figment.merge(config_file_layer(path)?);
        }
        figment = figment
            .merge(Env::prefixed("STACKWATCH__").split("__"))
            .merge(Env::raw().filter_map(|key| {
                if key == "STACKWATCH_LISTEN" {
                    Some("server.listen".into())
                } else if key == "STACKWATCH_DATA_DIR" {
                    Some("server.data_dir".into())
                } else {
                    None
                }
            }));
        if let Some(listen) = overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen.to_string()));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("server.data_dir", dir));
        }
        let mut settings: Settings = figment.extract().map_err(describe_figment_error)?;
        settings.add_env_tokens();
        settings.interpolate_env()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The built-in defaults alone, as a starting point for tests and tools.
    pub fn defaults() -> Result<Self, SettingsError> {
        let settings: Settings = Figment::from(Toml::string(DEFAULT_TOML))
            .extract()
            .map_err(describe_figment_error)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Path of the SQLite database inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.server.data_dir.join("stackwatch.db")
    }

    /// Replaces `${VAR}` in notifier values with the environment variable's value.
    fn interpolate_env(&mut self) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let lookup = |name: &str| std::env::var(name).ok();
        for (name, notifier) in &mut self.notifiers {
            let mut fill = |key: &str, value: &mut String| {
                if let Err(missing) = interpolate(value, &lookup) {
                    problems.push(format!(
                        "notifiers.{name}.{key}: environment variable {missing} is not set"
                    ));
                }
            };
            match notifier {
                NotifierSettings::Slack(s) => fill("webhook_url", &mut s.webhook_url.0),
                NotifierSettings::Email(e) => {
                    fill("smtp_url", &mut e.smtp_url);
                    fill("from", &mut e.from);
                    if let Some(user) = &mut e.username {
                        fill("username", user);
                    }
                    if let Some(password) = &mut e.password {
                        fill("password", &mut password.0);
                    }
                    for to in &mut e.to {
                        fill("to", to);
                    }
                }
                NotifierSettings::Webhook(w) => {
                    fill("url", &mut w.url.0);
                    for (header, value) in &mut w.headers {
                        fill(&format!("headers.{header}"), &mut value.0);
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError { problems })
        }
    }

    // Tokens are read raw: figment would parse an all-digit token as a number.
    fn add_env_tokens(&mut self) {
        if let Ok(token) = std::env::var("STACKWATCH_ADMIN_TOKEN") {
            self.auth.admin_tokens.push(Secret(token));
        }
        if let Ok(token) = std::env::var("STACKWATCH_READ_TOKEN") {
            self.auth.read_tokens.push(Secret(token));
        }
    }

    /// Problems of `[alerting]` and `[notifiers]`: names, references, URLs, addresses.
    /// Values are never echoed, since they may hold secrets.
    fn alerting_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, contact) in self.alerting.default_contacts.iter().enumerate() {
            if !self.notifiers.contains_key(contact) {
                problems.push(format!(
                    "alerting.default_contacts[{i}]: no notifier is named {contact:?}"
                ));
            }
        }
        if !self.alerting.public_url.is_empty() && !is_http_url(&self.alerting.public_url) {
            problems.push("alerting.public_url: must be an http or https URL".to_owned());
        }
        for (name, notifier) in &self.notifiers {
            if let Err(e) = name.parse::<crate::domain::ContactName>() {
                problems.push(format!("notifiers.{name}: the name {e}"));
            }
            let key = |field: &str| format!("notifiers.{name}.{field}");
            match notifier {
                NotifierSettings::Slack(s) => {
                    if !is_http_url(s.webhook_url.expose()) {
                        problems.push(format!(
                            "{}: must be an http or https URL",
                            key("webhook_url")
                        ));
                    }
                }
                NotifierSettings::Webhook(w) => {
                    if !is_http_url(w.url.expose()) {
                        problems.push(format!("{}: must be an http or https URL", key("url")));
                    }
                    for (header, value) in &w.headers {
                        if http::HeaderName::from_bytes(header.as_bytes()).is_err()
                            || http::HeaderValue::from_str(value.expose()).is_err()
                        {
                            problems.push(format!(
                                "{}: not a valid header",
                                key(&format!("headers.{header}"))
                            ));
                        }
                    }
                }
                NotifierSettings::Email(e) => {
                    if let Err(reason) = e.smtp_endpoint() {
                        problems.push(format!("{}: {reason}", key("smtp_url")));
                    }
                    if !looks_like_address(&e.from) {
                        problems.push(format!("{}: not an email address", key("from")));
                    }
                    if e.to.is_empty() {
                        problems.push(format!("{}: needs at least one address", key("to")));
                    }
                    for (i, to) in e.to.iter().enumerate() {
                        if !looks_like_address(to) {
                            problems.push(format!("{}[{i}]: not an email address", key("to")));
                        }
                    }
                    if e.password.is_some() && e.username.is_none() {
                        problems.push(format!("{}: a password needs a username", key("password")));
                    }
                }
            }
        }
        problems
    }

    /// Checks what types alone cannot: ranges, token strength, the log filter.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let mut range = |key: &str, value: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&value) {
                problems.push(format!("{key}: must be between {lo} and {hi}, got {value}"));
            }
        };
        range(
            "server.request_timeout",
            self.server.request_timeout,
            1,
            300,
        );
        range("server.shutdown_grace", self.server.shutdown_grace, 0, 300);
        range(
            "database.busy_timeout_ms",
            self.database.busy_timeout_ms,
            100,
            60_000,
        );
        range(
            "database.read_connections",
            u64::from(self.database.read_connections),
            1,
            64,
        );
        range(
            "monitor.max_concurrent_probes",
            u64::from(self.monitor.max_concurrent_probes),
            1,
            65_536,
        );
        range(
            "retention.raw_days",
            u64::from(self.retention.raw_days),
            1,
            3_650,
        );
        range(
            "retention.hourly_days",
            u64::from(self.retention.hourly_days),
            1,
            3_650,
        );
        range(
            "retention.daily_days",
            u64::from(self.retention.daily_days),
            1,
            36_500,
        );
        range(
            "alerting.give_up_after_hours",
            u64::from(self.alerting.give_up_after_hours),
            1,
            168,
        );
        problems.extend(self.alerting_problems());
        for (key, tokens) in [
            ("auth.admin_tokens", &self.auth.admin_tokens),
            ("auth.read_tokens", &self.auth.read_tokens),
        ] {
            for (i, token) in tokens.iter().enumerate() {
                if let Some(reason) = token_problem(token.expose()) {
                    problems.push(format!("{key}[{i}]: {reason}"));
                }
            }
        }
        if let Err(reason) = crate::domain::schedule::parse_cron(&self.retention.schedule) {
            problems.push(format!("retention.schedule: {reason}"));
        }
        if let Some(path) = self.probe.ca_bundle()
            && !path.is_file()
        {
            problems.push(format!("probe.ca_bundle: {} is not a file", path.display()));
        }
        if self.probe.user_agent.is_empty()
            || http::HeaderValue::from_str(&self.probe.user_agent).is_err()
        {
            problems.push("probe.user_agent: must be non-empty visible ASCII".to_owned());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            problems.push(format!("log.level: not a valid filter ({e})"));
        }
        if self.server.data_dir.as_os_str().is_empty() {
            problems.push("server.data_dir: must not be empty".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError { problems })
        }
    }
}

fn is_http_url(value: &str) -> bool {
    url::Url::parse(value)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `name@domain`, or `Name <name@domain>`: enough to catch a typo at start.
fn looks_like_address(value: &str) -> bool {
    let address = match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    let mut parts = address.trim().splitn(2, '@');
    matches!((parts.next(), parts.next()), (Some(local), Some(domain))
        if !local.is_empty() && domain.contains('.') && !domain.contains(' '))
}

/// Where an email contact's SMTP server is, and how to secure the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
}

impl EmailSettings {
    /// The host, port and TLS mode from `smtp_url` and `tls`.
    pub fn smtp_endpoint(&self) -> Result<SmtpEndpoint, String> {
        let url = url::Url::parse(&self.smtp_url)
            .map_err(|_| "not a URL like smtp://host:587".to_owned())?;
        let (default_tls, default_port) = match url.scheme() {
            "smtp" => (SmtpTls::Starttls, 587),
            "smtps" => (SmtpTls::Implicit, 465),
            other => return Err(format!("scheme must be smtp or smtps, not {other}")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("must name a host")?;
        Ok(SmtpEndpoint {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: url.port().unwrap_or(default_port),
            tls: self.tls.unwrap_or(default_tls),
        })
    }
}

/// Replaces every `${NAME}` in `value` using `lookup`; the first unknown name is the error.
fn interpolate(value: &mut String, lookup: &impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        out.push_str(&lookup(name).ok_or_else(|| name.to_owned())?);
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    *value = out;
    Ok(())
}

fn token_problem(token: &str) -> Option<String> {
    if token.len() < MIN_TOKEN_LEN {
        Some(format!("a token needs at least {MIN_TOKEN_LEN} characters"))
    } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Some("a token may only contain visible ASCII characters".to_owned())
    } else {
        None
    }
}

fn config_file_layer(path: &Path) -> Result<Figment, SettingsError> {
    if !path.is_file() {
        return Err(SettingsError::one(format!(
            "{}: the configuration file does not exist or is not a file",
            path.display()
        )));
    }
    Ok(Figment::from(Toml::file_exact(path)))
}

/// One line per figment error: where the value came from, which key, and why.
fn describe_figment_error(error: figment::Error) -> SettingsError {
    let problems = error
        .into_iter()
        .map(|e| {
            let mut path = e.path.clone();
            if let figment::error::Kind::UnknownField(field, _) = &e.kind
                && path.last() != Some(field)
            {
                path.push(field.clone());
            }
            let source = match &e.metadata {
                Some(md) => match &md.source {
                    Some(figment::Source::File(file)) => file.display().to_string(),
                    _ => md.name.to_string(),
                },
                None => "configuration".to_owned(),
            };
            let key = if path.is_empty() {
                "(top level)".to_owned()
            } else {
                path.join(".")
            };
            format!("{source}: {key}: {}", e.kind)
        })
        .collect();
    SettingsError { problems }
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
    fn interpolate_replaces_known_variables_only() {
        let lookup = |name: &str| (name == "HOOK").then(|| "https://hooks/x".to_owned());
        let mut value = "${HOOK}?a=${HOOK}".to_owned();
        interpolate(&mut value, &lookup).unwrap();
        assert_eq!(value, "https://hooks/x?a=https://hooks/x");
        let mut plain = "no variables, {braces} and $dollars".to_owned();
        interpolate(&mut plain, &lookup).unwrap();
        assert_eq!(plain, "no variables, {braces} and $dollars");
        let mut missing = "x${NOPE}".to_owned();
        assert_eq!(interpolate(&mut missing, &lookup), Err("NOPE".to_owned()));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("super-secret-token-value");
        assert!(!format!("{s:?}").contains("super"));
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
