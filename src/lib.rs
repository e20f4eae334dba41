//! stackwatch: a self-hosted uptime checker with a write API for automation.
//!
//! The crate's parts, and the one direction their dependencies point:
//!
//! ```text
//! domain  ←  probe, store, notify  ←  monitor, dispatch, api  ←  app, agent  ←  main (the binary)
//! settings, telemetry: leaves beside domain (settings uses domain's name and cron rules;
//! notify and app read the settings types)
//! ```
//!
//! - [`domain`]: pure types and rules: checks and their bounds, probe outcomes, the state
//!   machine, alert decisions, maintenance windows, schedule arithmetic. No I/O.
//! - [`probe`]: the HTTP(S) prober (hyper + rustls): one fresh connection per probe.
//! - [`store`]: SQLite through sqlx: every read and write of persistent state.
//! - [`notify`]: Slack, email and webhook notifiers and the rendering of their messages.
//! - [`monitor`]: the scheduler, its pure plan, the offline guard and its canaries, the
//!   batching recorder (never drops a state change or alert), the vitals, the rollup job.
//! - [`dispatch`]: the alert outbox's delivery loop, with retries.
//! - [`api`]: the axum HTTP API: auth, validation, problem+json errors, OpenAPI.
//! - [`web`]: the dashboard, check pages, public status pages and `/metrics` (maud).
//! - [`settings`]: configuration layering and validation; the only reader of the environment.
//! - [`telemetry`]: tracing setup.
//! - [`import`]: `stackwatch import statuscake`, a client of StatusCake's API and of
//!   stackwatch's own `/v1` over HTTP; it imports nothing else of the crate.
//! - [`app`]: the composition root; builds everything from `Settings`, supervises every
//!   background task, runs the watchdog and owns shutdown.
//! - [`agent`]: `stackwatch agent`, the composition of a location's prober, plan and
//!   outbox, talking to a server over HTTP (the wire types are `domain::wire`).
//!
//! Nothing imports `api`, `app` or `agent`; `monitor` never imports `notify`; `domain` imports
//! nothing of the crate.

pub mod agent;
pub mod api;
pub mod app;
pub mod dispatch;
pub mod domain;
pub mod import;
pub mod monitor;
pub mod notify;
pub mod probe;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod web;
