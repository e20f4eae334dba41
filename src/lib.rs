//! stackwatch: a self-hosted uptime checker with a write API for automation.
//!
//! The crate's parts, and the one direction their dependencies point:
//!
//! ```text
//! domain  ←  store  ←  api  ←  app  ←  main (the binary)
//! settings, telemetry: used by app, use nothing of the crate
//! ```
//!
//! - [`domain`]: pure types and rules (checks, names, bounds); no I/O.
//! - [`store`]: SQLite through sqlx; every read and write of persistent state.
//! - [`api`]: the axum HTTP API: auth, validation, problem+json errors, OpenAPI.
//! - [`settings`]: configuration layering and validation; the only reader of the environment.
//! - [`telemetry`]: tracing setup.
//! - [`app`]: the composition root; builds everything from `Settings` and owns shutdown.
//!
//! Nothing imports `api` or `app`; `domain` imports nothing of the crate.

pub mod api;
pub mod app;
pub mod dispatch;
pub mod domain;
pub mod monitor;
pub mod notify;
pub mod probe;
pub mod settings;
pub mod store;
pub mod telemetry;
