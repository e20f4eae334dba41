//! What types alone cannot check in the settings: ranges, token strength, URLs, the log
//! filter, the schedule. Each problem is `key: reason`; loading names its source.

use super::{MIN_TOKEN_LEN, Settings, SettingsError, alerting};

impl Settings {
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
        range("server.header_timeout", self.server.header_timeout, 1, 300);
        range(
            "server.max_connections",
            u64::from(self.server.max_connections),
            16,
            65_536,
        );
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
        range("database.lease_s", self.database.lease_s, 3, 300);
        range(
            "alerting.group_interval",
            u64::from(self.alerting.group_interval),
            0,
            3_600,
        );
        range(
            "alerting.max_per_minute",
            u64::from(self.alerting.max_per_minute),
            1,
            10_000,
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
        range("watchdog.interval", self.watchdog.interval, 5, 3_600);
        range(
            "auth.failed_tokens_per_minute",
            u64::from(self.auth.failed_tokens_per_minute),
            1,
            10_000,
        );
        let ancestors = &self.status_pages.frame_ancestors;
        if ancestors.trim().is_empty()
            || ancestors.contains([';', ',', '\r', '\n'])
            || http::HeaderValue::from_str(ancestors).is_err()
        {
            problems.push(
                "status_pages.frame_ancestors: must be CSP sources separated by spaces, e.g. \"'none'\" or \"'self' https://acme.example\"".to_owned(),
            );
        }
        let mut hosts_seen = std::collections::BTreeSet::new();
        for (stack, look) in &self.status_pages.pages {
            let key = format!("status_pages.pages.{stack}");
            if stack.parse::<crate::domain::StackName>().is_err() {
                problems.push(format!("{key}: {stack:?} is not a stack name"));
            }
            for (i, host) in look.hosts.iter().enumerate() {
                let lower = host.to_ascii_lowercase();
                let plain = crate::domain::Host::parse(host).is_ok()
                    && !host.contains(':')
                    && lower.chars().any(|c| c.is_ascii_alphabetic());
                if !plain {
                    problems.push(format!("{key}.hosts[{i}]: {host:?} is not a host name"));
                } else if !hosts_seen.insert(lower.trim_end_matches('.').to_owned()) {
                    problems.push(format!(
                        "{key}.hosts[{i}]: {host:?} serves another page too"
                    ));
                }
            }
            if let Some(title) = &look.title
                && (title.trim().is_empty()
                    || title.chars().count() > 100
                    || title.chars().any(char::is_control))
            {
                problems.push(format!(
                    "{key}.title: must be 1-100 characters without control characters"
                ));
            }
            for (field, value) in [("logo_url", &look.logo_url), ("link", &look.link)] {
                if let Some(url) = value
                    && (!crate::notify::is_http_url(url) || url.contains(['"', '\'', ' ']))
                {
                    problems.push(format!("{key}.{field}: must be an http or https URL"));
                }
            }
        }
        let via = &self.status_pages.subscriptions_via;
        if !via.is_empty() {
            if !matches!(
                self.notifiers.get(via),
                Some(crate::notify::NotifierSettings::Email(_))
            ) {
                problems.push(format!(
                    "status_pages.subscriptions_via: {via:?} is not an email contact of [notifiers]"
                ));
            }
            if self.alerting.public_url.is_empty() {
                problems.push(
                    "status_pages.subscriptions_via: needs alerting.public_url, where the mails' confirm and unsubscribe links lead".to_owned(),
                );
            }
        }
        problems.extend(alerting::problems(&self.alerting, &self.notifiers));
        if let Err(routes) = self.routing() {
            problems.extend(routes);
        }
        for (i, url) in self.monitor.canaries.iter().enumerate() {
            if let Err(reason) = crate::domain::ProbeUrl::parse(url) {
                problems.push(format!("monitor.canaries[{i}]: {reason}"));
            }
        }
        if !self.watchdog.url.is_empty()
            && let Err(reason) = crate::domain::ProbeUrl::parse(&self.watchdog.url)
        {
            problems.push(format!("watchdog.url: {reason}"));
        }
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
        for (location, token) in &self.auth.agent_tokens {
            if let Some(reason) = token_problem(token.expose()) {
                problems.push(format!("auth.agent_tokens.{location}: {reason}"));
            }
            if *location == self.monitor.location {
                problems.push(format!(
                    "auth.agent_tokens.{location}: is monitor.location, this server's own \
                     location: an agent needs a location of its own"
                ));
            } else if location == self.monitor.home() {
                problems.push(format!(
                    "auth.agent_tokens.{location}: is monitor.home, the cluster's home: an \
                     agent needs a location of its own"
                ));
            } else if self.monitor.cluster_locations.contains(location) {
                problems.push(format!(
                    "auth.agent_tokens.{location}: is in monitor.cluster_locations, where \
                     instances probe: an agent needs a location of its own"
                ));
            }
        }
        problems.extend(self.cluster_problems());
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
        if !self.probe.nameserver.trim().is_empty() && self.probe.nameserver().is_none() {
            problems.push(format!(
                "probe.nameserver: {:?} is not an IP address or address:port",
                self.probe.nameserver
            ));
        }
        if !self.probe.rdap_bootstrap_url.trim().is_empty()
            && self.probe.rdap_bootstrap_url().is_none()
        {
            problems.push(format!(
                "probe.rdap_bootstrap_url: {:?} is not an http:// or https:// URL",
                self.probe.rdap_bootstrap_url
            ));
        }
        for (suffix, url) in &self.probe.rdap_servers {
            if let Err(reason) = crate::domain::base_url(url) {
                problems.push(format!("probe.rdap_servers.{suffix}: {url:?} {reason}"));
            }
            let labels_ok = !suffix.trim_matches('.').is_empty()
                && suffix.trim_matches('.').split('.').all(|l| {
                    !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !labels_ok {
                problems.push(format!(
                    "probe.rdap_servers.{suffix}: must be a top-level domain or a domain suffix"
                ));
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            problems.push(format!("log.level: not a valid filter ({e})"));
        }
        if self.server.data_dir.as_os_str().is_empty() {
            problems.push("server.data_dir: must not be empty".to_owned());
        }
        if let Some(url) = &self.database.url
            && let Err(reason) = super::postgres_place(url.expose())
        {
            problems.push(format!("database.url: {reason}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError { problems })
        }
    }
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

impl Settings {
    /// What `monitor.home` and `monitor.cluster_locations` must satisfy: only instances of a
    /// PostgreSQL cluster are away from home, and each is listed.
    fn cluster_problems(&self) -> Vec<String> {
        let monitor = &self.monitor;
        let mut problems = Vec::new();
        let shared = matches!(self.database(), super::Database::Postgres { .. });
        if !shared && !monitor.is_home() {
            problems.push(
                "monitor.home: differs from monitor.location, but only an instance of a \
                 PostgreSQL cluster may probe for instances elsewhere"
                    .to_owned(),
            );
        }
        if !shared && !monitor.cluster_locations.is_empty() {
            problems.push(
                "monitor.cluster_locations: only a PostgreSQL cluster has instances elsewhere"
                    .to_owned(),
            );
        }
        if monitor.cluster_locations.contains(monitor.home()) {
            problems.push(format!(
                "monitor.cluster_locations: names {}, the home location",
                monitor.home()
            ));
        }
        if !monitor.is_home() && !monitor.cluster_locations.contains(&monitor.location) {
            problems.push(format!(
                "monitor.cluster_locations: must name {}, this instance's location away from \
                 home (every instance's configuration lists them all)",
                monitor.location
            ));
        }
        problems
    }
}
