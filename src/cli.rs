//! The command line of the `stackwatch` binary: its commands, flags and help text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "stackwatch",
    version,
    about = "Self-hosted uptime checker with a REST API for automation",
    after_help = "Examples:
  stackwatch                                   serve on 127.0.0.1:8080 with data in ./data
  stackwatch serve --listen 0.0.0.0:8080 --data-dir /var/lib/stackwatch
  stackwatch serve --config /etc/stackwatch.toml
  stackwatch migrate --data-dir /var/lib/stackwatch
  STACKWATCH__DATABASE__URL=postgres://stackwatch@db/stackwatch stackwatch migrate --from-sqlite /var/lib/stackwatch/stackwatch.db
  stackwatch healthcheck --url http://127.0.0.1:8080/healthz
  stackwatch probe https://acme.example.com/readiness --contains OK
  stackwatch probe http://127.0.0.1:9000/ -X POST -H 'X-Probe: 1' --expect-status 200-299
  stackwatch notify-test ops-slack --config /etc/stackwatch.toml
  STACKWATCH_AGENT_TOKEN=… stackwatch agent --server https://stackwatch.example --location fra
  stackwatch routes explain acme-readiness down --config /etc/stackwatch.toml

Configuration layers: config/default.toml (built in), --config or STACKWATCH_CONFIG,
STACKWATCH__SECTION__KEY variables, STACKWATCH_LISTEN / STACKWATCH_DATA_DIR /
STACKWATCH_ADMIN_TOKEN / STACKWATCH_READ_TOKEN, then these flags."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Configuration file laid over the built-in defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory for the database and the generated admin token.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Create or upgrade the database, then exit.
    Migrate {
        /// Copy this SQLite database (e.g. /var/lib/stackwatch/stackwatch.db) into the
        /// empty PostgreSQL database of database.url.
        #[arg(long, value_name = "FILE")]
        from_sqlite: Option<PathBuf>,
    },
    /// Exit 0 when the service's /healthz answers (for a container HEALTHCHECK).
    Healthcheck {
        /// URL to check; by default /healthz on the configured listen address.
        #[arg(long)]
        url: Option<String>,
    },
    /// Probe one URL exactly as the scheduler would; exit 0 when up, 1 when down.
    Probe(ProbeArgs),
    /// Send a test message through one configured contact; exit 0 when it was accepted.
    NotifyTest {
        /// The contact's name, as under [notifiers.NAME].
        contact: String,
    },
    /// Move checks from another service into a running stackwatch.
    #[command(subcommand)]
    Import(ImportFrom),
    /// Probe one location's checks for a server elsewhere: no database, no inbound port.
    Agent(AgentArgs),
    /// The [[routes]] of the configuration.
    #[command(subcommand)]
    Routes(RoutesCommand),
}

#[derive(Subcommand)]
pub enum RoutesCommand {
    /// Print which routes and contacts an alert of a check would go to now.
    Explain {
        /// The check's name.
        check: String,
        /// down, recovered, reminder, cert_expiring, flapping, settled, acknowledged or
        /// escalated.
        event: String,
        /// The running stackwatch to read the check from; by default the configured
        /// listen address.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// A read or admin token of it; by default the configuration's first.
        #[arg(long, env = "STACKWATCH_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct AgentArgs {
    /// The server's base URL, e.g. https://stackwatch.example (agent.server).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The location's agent token (agent.token); the environment or the configuration
    /// file keep it out of the process list.
    #[arg(long, env = "STACKWATCH_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The location the token is for (agent.location).
    #[arg(long, value_name = "NAME")]
    pub location: Option<String>,
}

#[derive(Subcommand)]
pub enum ImportFrom {
    /// A StatusCake account: uptime checks, heartbeats, contact groups, maintenance windows.
    Statuscake(StatusCakeArgs),
}

#[derive(clap::Args)]
pub struct StatusCakeArgs {
    /// The StatusCake API's base URL, in front of /v1.
    #[arg(long, default_value = "https://api.statuscake.com", value_name = "URL")]
    pub api_url: String,
    /// The StatusCake API key (read from the API).
    #[arg(long, env = "STATUSCAKE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Read JSON files of the API's answers instead (uptime*.json, heartbeat*.json,
    /// contact-groups*.json, maintenance-windows*.json).
    #[arg(long, value_name = "DIR", conflicts_with = "api_key")]
    pub from_dir: Option<PathBuf>,
    /// The stackwatch to import into.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub url: String,
    /// An admin token of that stackwatch.
    #[arg(long, env = "STACKWATCH_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Report what would be done; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// The http or https URL to probe.
    pub url: String,
    /// GET, HEAD, POST or PUT.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
    /// A request header, "Name: value"; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Codes or ranges that count as up, e.g. 200-299 or 200,301.
    #[arg(long, value_delimiter = ',', default_value = "200-399")]
    pub expect_status: Vec<String>,
    /// The body must contain this text.
    #[arg(long)]
    pub contains: Option<String>,
    /// Seconds the whole probe may take.
    #[arg(long, default_value_t = 10)]
    pub timeout: u32,
    /// Follow redirects (up to 10).
    #[arg(short = 'L', long)]
    pub follow_redirects: bool,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long)]
    pub insecure: bool,
}
