//! The composition root: builds the store, the prober, the scheduler, the recorder, the API
//! and the listener from `Settings`, runs them until a shutdown signal, and stops them in
//! order (API, scheduler, recorder flush, database).

mod admin_token;
mod cluster;
pub mod data_dir;
pub mod healthcheck;
pub mod open_files;
pub mod probe_once;
pub mod routes_explain;
mod server;
mod supervisor;
mod watchdog;

pub use server::{MAX_HEAD_BYTES, RESERVED_SLOTS, ServerLimits};
pub use supervisor::{Supervisor, TaskEnded};
pub use watchdog::Watchdog;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiDeps, Tokens};
use crate::dispatch::{Dispatcher, RetryPolicy};
use crate::domain::schedule::parse_cron;
use crate::domain::{ContactName, GuessLimits, LocationName};
use crate::monitor::{self, Command, MonitorHandle, Recorder, Scheduler, SchedulerDeps, Vitals};
use crate::notify::{HttpClient, Notifiers};
use crate::settings::{Database, Settings};
use crate::store::{Retention, Store, StoreOptions, Write};
use crate::web::{self, Sessions, WebState};
use cluster::Lessee;

/// A built application: bound to its port, database open, checks scheduled, ready to run.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    scheduler: Scheduler,
    commands: mpsc::UnboundedReceiver<Command>,
    records: mpsc::Receiver<Write>,
    vitals: Vitals,
    watchdog: Option<Watchdog>,
    retention: Retention,
    rollup_schedule: cron::Schedule,
    dispatcher: Dispatcher,
    shutdown_grace: Duration,
    limits: ServerLimits,
    /// The data directory, held until the database is closed.
    held: data_dir::Held,
    /// The scheduler's handle, for what the recorder and the change log tell it.
    monitor: MonitorHandle,
    /// On a shared (PostgreSQL) database: the position of the change log the scheduler's
    /// load saw, from which other instances' changes are followed.
    follow: Option<monitor::LogPosition>,
    /// On a shared database: this instance's lease keeper.
    lessee: Option<Lessee>,
    /// With agents configured: the watch over their silence.
    agent_watch: Option<monitor::AgentWatch>,
    /// Files escalations as they fall due.
    escalations: monitor::EscalationWatch,
    /// Tells status pages' subscribers (mail and webhooks).
    mailer: crate::dispatch::mailer::Mailer,
}

impl App {
    /// Opens the data directory and database, prepares tokens and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let data_dir = &settings.server.data_dir;
        if settings.auth.admin_tokens.is_empty()
            && matches!(settings.database(), Database::Postgres { .. })
        {
            anyhow::bail!(
                "auth.admin_tokens: must be set when database.url is: instances sharing one \
                 database must accept the same admin token, and a generated one is kept per \
                 data directory"
            );
        }
        let (store, held) = open_store(&settings).await?;
        let mut admin = settings.auth.admin_tokens.clone();
        if admin.is_empty() {
            admin.push(admin_token::load_or_create(data_dir)?);
        } else {
            admin_token::remove_stale(data_dir)?;
        }
        // Acknowledgement links are signed under the first admin token: the same on every
        // instance of a cluster, and a new token makes old links void.
        let ack_key = crate::domain::AckKey::from_admin_token(
            admin.first().map_or("", |token| token.expose()),
        );
        let tokens = Tokens::limited(
            &admin,
            &settings.auth.read_tokens,
            GuessLimits::per_minute(settings.auth.failed_tokens_per_minute),
        )
        .with_agents(&settings.auth.agent_tokens);
        let rdap = crate::monitor::Rdap::configured(&settings.probe, Some(data_dir.clone()));
        let prober = crate::probe::Prober::configured(&settings.probe)
            .context("cannot set up TLS for probes")?
            .with_rdap(rdap.clone());
        if let Err(detail) = crate::probe::icmp_allowed() {
            tracing::warn!(
                "icmp checks are refused and existing ones are not judged: {}",
                crate::domain::Failure::IcmpNotAllowed { detail }
            );
        }
        let notifiers =
            Notifiers::from_settings(&settings.notifiers).context("cannot set up the notifiers")?;
        if settings.alerting.default_contacts.is_empty() {
            tracing::warn!(
                "alerting.default_contacts is empty: a check that names no contacts alerts \
                 nobody (its alerts say \"{}\")",
                crate::domain::NOBODY_TOLD
            );
        }
        let default_contacts = settings
            .alerting
            .default_contacts
            .iter()
            .map(|c| c.parse::<ContactName>())
            .collect::<Result<Vec<_>, _>>()
            .context("alerting.default_contacts")?;
        // Validated at load: an error here names what changed since.
        let routing = Arc::new(
            settings
                .routing()
                .map_err(|problems| anyhow::anyhow!(problems.join("\n")))?,
        );
        let max_concurrent_probes = probes_within_file_limit(&settings);
        let (records_tx, records) = monitor::record_channel();
        let vitals = Vitals::new();
        // Read before the load: a change made meanwhile is read again, never missed.
        let shared = matches!(settings.database(), Database::Postgres { .. });
        let change_log_at = if shared {
            Some(monitor::LogPosition::newest(&store).await?)
        } else {
            None
        };
        // The first round of leases is taken before the checks are loaded: the scheduler
        // probes its shards from its first tick, with the states read after taking them.
        let leases = if shared {
            Some(
                Lessee::first_round(
                    &store,
                    settings.database.lease_s,
                    &settings.monitor.location,
                    settings.monitor.home(),
                )
                .await?,
            )
        } else {
            None
        };
        let scheduler = Scheduler::load(SchedulerDeps {
            store: store.clone(),
            prober: Arc::new(prober),
            records: records_tx,
            max_concurrent_probes,
            default_contacts: default_contacts.clone(),
            routing: routing.clone(),
            canaries: settings.monitor.canaries.clone(),
            vitals: vitals.clone(),
            leases: leases.as_ref().map(|(_, receiver)| receiver.clone()),
            location: Arc::new(settings.monitor.location.clone()),
            home: Arc::new(settings.monitor.home().clone()),
        })
        .await
        .context("cannot load the checks to schedule")?;
        let lessee = leases.map(|(lessee, _)| lessee);
        let (monitor, commands) = MonitorHandle::channel();
        let follow = change_log_at;
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
        // Whoever files an alert wakes the dispatcher with it.
        let alerts_filed = Arc::new(tokio::sync::Notify::new());
        let pages = web::router(WebState {
            store: store.clone(),
            vitals: vitals.clone(),
            tokens: Arc::new(tokens.clone()),
            sessions: Sessions::default(),
            public: settings.dashboard.public,
            status_pages: settings.status_pages.enabled,
            frame_ancestors: settings.status_pages.frame_ancestors.clone(),
            secure_cookies: settings.alerting.public_url.starts_with("https://"),
            public_url: settings.alerting.public_url.clone(),
            subscriptions: !settings.status_pages.subscriptions_via.is_empty(),
            looks: Arc::new(settings.status_pages.pages.clone()),
            subscribe_guard: Arc::new(std::sync::Mutex::new(crate::domain::Guesses::new(
                web::SUBSCRIBE_LIMITS,
            ))),
            routing: routing.clone(),
            alerts_filed: alerts_filed.clone(),
            ack_key: ack_key.clone(),
            data_dir: settings.server.data_dir.as_path().into(),
        });
        let router = api::router(ApiDeps {
            vitals: vitals.clone(),
            store: store.clone(),
            tokens,
            monitor: monitor.clone(),
            contacts: notifiers.names().map(str::to_owned).collect(),
            location: settings.monitor.home().clone(),
            locations: settings
                .monitor
                .known_locations(settings.auth.agent_tokens.keys())
                .into_iter()
                .map(ToString::to_string)
                .collect(),
            default_contacts: default_contacts.iter().map(ToString::to_string).collect(),
            request_timeout: Duration::from_secs(settings.server.request_timeout),
            alerts_filed: alerts_filed.clone(),
            routing: routing.clone(),
            rdap,
        })
        .merge(pages);
        let public_url = Some(settings.alerting.public_url.clone()).filter(|u| !u.is_empty());
        let dispatcher = Dispatcher {
            store: store.clone(),
            notifiers,
            policy: RetryPolicy::with_give_up(Duration::from_secs(
                u64::from(settings.alerting.give_up_after_hours) * 3_600,
            )),
            public_url,
            wake: alerts_filed,
            max_per_minute: settings.alerting.max_per_minute,
            group_by: settings.alerting.group_by.clone(),
            group_interval: Duration::from_secs(u64::from(settings.alerting.group_interval)),
            ack_key: Some(ack_key.clone()),
        };
        let rollup_schedule = parse_cron(&settings.retention.schedule)
            .map_err(|e| anyhow::anyhow!("retention.schedule: {e}"))?;
        let watchdog = if settings.watchdog.url.is_empty() {
            None
        } else {
            Some(Watchdog {
                url: settings.watchdog.url.clone(),
                interval: Duration::from_secs(settings.watchdog.interval),
                client: HttpClient::new().context("cannot set up the watchdog's client")?,
                store: store.clone(),
                vitals: vitals.clone(),
            })
        };
        // Agents' locations, and those of the cluster's instances away from home.
        let watched: Vec<LocationName> = settings
            .auth
            .agent_tokens
            .keys()
            .chain(&settings.monitor.cluster_locations)
            .cloned()
            .collect();
        let agent_watch = (!watched.is_empty()).then(|| monitor::AgentWatch {
            store: store.clone(),
            monitor: monitor.clone(),
            alerts_written: dispatcher.wake.clone(),
            default_contacts: default_contacts.clone(),
            locations: watched,
            first_silence: crate::api::agent::MIN_SILENCE,
        });
        let escalations = monitor::EscalationWatch {
            store: store.clone(),
            alerts_written: dispatcher.wake.clone(),
            routing,
        };
        let email = match settings
            .notifiers
            .get(&settings.status_pages.subscriptions_via)
        {
            Some(crate::notify::NotifierSettings::Email(email)) => Some(Arc::new(
                crate::notify::EmailNotifier::new(email)
                    .context("status_pages.subscriptions_via: cannot set up its mail")?,
            )),
            _ => None,
        };
        let mailer = crate::dispatch::mailer::Mailer {
            store: store.clone(),
            email,
            http: HttpClient::new().context("cannot set up the subscribers' client")?,
            public_url: settings
                .alerting
                .public_url
                .trim_end_matches('/')
                .to_owned(),
        };
        Ok(Self {
            agent_watch,
            escalations,
            mailer,
            listener,
            router,
            store,
            scheduler,
            commands,
            records,
            vitals,
            watchdog,
            retention: Retention {
                raw_days: settings.retention.raw_days,
                hourly_days: settings.retention.hourly_days,
                daily_days: settings.retention.daily_days,
            },
            rollup_schedule,
            dispatcher,
            shutdown_grace: Duration::from_secs(settings.server.shutdown_grace),
            held,
            monitor,
            follow,
            lessee,
            limits: ServerLimits {
                header_timeout: Duration::from_secs(settings.server.header_timeout),
                max_connections: settings.server.max_connections as usize,
            },
        })
    }

    /// The address the API is listening on (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests
    /// finish (up to the configured grace) and closes the database. A background task that
    /// ends or panics before that stops everything and is returned as the error.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let stop_signal = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop_signal.cancel();
        });
        let mut supervisor = Supervisor::new();
        let background = CancellationToken::new();
        let recorder_stop = CancellationToken::new();
        let recorder = supervisor.spawn(
            "recorder",
            Recorder::new(
                self.store.clone(),
                self.vitals.clone(),
                self.dispatcher.wake.clone(),
                self.monitor.clone(),
            )
            .run(self.records, recorder_stop.clone()),
        );
        tracing::info!(checks = self.scheduler.active_checks(), "scheduler started");
        let scheduler = supervisor.spawn(
            "scheduler",
            self.scheduler.run(self.commands, background.clone()),
        );
        let dispatcher = supervisor.spawn("dispatcher", self.dispatcher.run(background.clone()));
        let rollups = supervisor.spawn(
            "rollup",
            monitor::run_rollups(
                self.store.clone(),
                self.retention,
                self.rollup_schedule,
                background.clone(),
            ),
        );
        let watchdog = self
            .watchdog
            .map(|w| supervisor.spawn("watchdog", w.run(background.clone())));
        let agent_watch = self
            .agent_watch
            .map(|w| supervisor.spawn("agent watch", w.run(background.clone())));
        let escalations = supervisor.spawn("escalations", self.escalations.run(background.clone()));
        let mailer = supervisor.spawn("subscribers' mailer", self.mailer.run(background.clone()));
        // The leases let go after probing stopped, so the others take the shards over at once.
        let keeper_stop = CancellationToken::new();
        let keeper = self.lessee.map(|lessee| {
            supervisor.spawn(
                "lease keeper",
                monitor::keep_leases(
                    self.store.clone(),
                    lessee.me,
                    lessee.lease,
                    lessee.owned,
                    keeper_stop.clone(),
                ),
            )
        });
        let follower = self.follow.map(|after| {
            supervisor.spawn(
                "change log",
                monitor::follow_changes(
                    self.store.clone(),
                    self.monitor.clone(),
                    after,
                    background.clone(),
                ),
            )
        });
        tracing::info!(addr = %self.listener.local_addr()?, "stackwatch is listening");
        let serve = server::serve(
            self.listener,
            self.router,
            self.limits,
            stop.clone(),
            self.shutdown_grace,
        );
        let result = tokio::select! {
            () = serve => Ok(()),
            ended = supervisor.first_ended() => {
                tracing::error!(task = ended.task, how = %ended.how, "a background task stopped; stackwatch exits so that it is restarted");
                Err(anyhow::Error::new(ended))
            }
        };
        // Probing stops first; then the recorder writes what is queued; then the database closes.
        background.cancel();
        let _ = scheduler.await;
        let _ = rollups.await;
        if let Some(watchdog) = watchdog {
            let _ = watchdog.await;
        }
        if let Some(agent_watch) = agent_watch {
            let _ = agent_watch.await;
        }
        let _ = escalations.await;
        let _ = mailer.await;
        if let Some(follower) = follower {
            let _ = follower.await;
        }
        keeper_stop.cancel();
        if let Some(keeper) = keeper {
            let _ = keeper.await;
        }
        recorder_stop.cancel();
        let _ = recorder.await;
        let _ = dispatcher.await;
        self.store.close().await;
        drop(self.held);
        tracing::info!("stackwatch stopped");
        result
    }
}

/// `monitor.max_concurrent_probes`, or fewer when the open-file limit (raised to its hard
/// ceiling first) leaves less room; said in a warning naming the key.
fn probes_within_file_limit(settings: &Settings) -> usize {
    let configured = settings.monitor.max_concurrent_probes as usize;
    let Some(limit) = open_files::raise() else {
        return configured;
    };
    let budget = open_files::probe_budget(
        configured,
        limit.soft,
        u64::from(settings.server.max_connections),
    );
    if budget < configured {
        tracing::warn!(
            configured,
            probes = budget,
            open_files = limit.soft,
            "monitor.max_concurrent_probes leaves too few open files for the database and the \
             API under this open-file limit; at most {budget} probes run at once (raise the \
             limit: ulimit -n, or the container's nofile)"
        );
    }
    budget
}

/// Creates the data directory if need be, holds it for this process, opens the database and
/// applies migrations (also what `stackwatch migrate` does). The directory stays held while
/// the returned `Held` lives.
pub async fn open_store(settings: &Settings) -> anyhow::Result<(Store, data_dir::Held)> {
    let data_dir = &settings.server.data_dir;
    let held = data_dir::prepare(data_dir)?;
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(settings.database.busy_timeout_ms),
        read_connections: settings.database.read_connections,
    };
    // The store's error names the database file, or the server without its credentials.
    let store = match settings.database() {
        Database::Sqlite(path) => Store::open(&path, &options).await?,
        Database::Postgres { url, place } => {
            Store::open_postgres(url.expose(), &place, &options).await?
        }
    };
    Ok((store, held))
}

/// `stackwatch notify-test CONTACT`: one test message through one contact, right now.
pub async fn notify_test(settings: &Settings, contact: &str) -> anyhow::Result<()> {
    // Only this contact is built: the others may lack variables notify-test does not need.
    let only: std::collections::BTreeMap<_, _> = settings
        .notifiers
        .iter()
        .filter(|(name, _)| name.as_str() == contact)
        .map(|(name, notifier)| (name.clone(), notifier.clone()))
        .collect();
    let notifiers = Notifiers::from_settings(&only).context("cannot set up the notifier")?;
    let Some(notifier) = notifiers.get(contact) else {
        let known: Vec<&str> = settings.notifiers.keys().map(String::as_str).collect();
        anyhow::bail!(
            "no notifier named {contact:?} is configured (configured: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let now = crate::domain::Timestamp::now();
    let message = crate::notify::AlertMessage {
        alert_id: 0,
        check: "stackwatch".to_owned(),
        kind: crate::domain::AlertKind::Test,
        facts: crate::domain::AlertFacts::default(),
        created_at: now,
        link: None,
        held: Vec::new(),
        ack_link: None,
    };
    notifier
        .send(&message, now)
        .await
        .with_context(|| format!("the test message through {contact} failed"))
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
