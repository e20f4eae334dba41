//! The `stackwatch` command: parse the command line, load settings, run the chosen command.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use stackwatch::app::{self, App};
use stackwatch::settings::{Database, Overrides, Settings, SettingsError};
use stackwatch::telemetry;

mod cli;

use cli::{Cli, Command, ImportFrom, ProbeArgs, RoutesCommand, StatusCakeArgs};

/// The process's allocator: jemalloc, for Rust and for the C code linked in (SQLite). On
/// the 100,000-check benchmark it took some 14 % less CPU per probe than glibc's malloc
/// and held 14 to 16 MiB less once running (docs/performance.md). A unit value: it holds
/// no state of ours.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit code for a configuration that cannot be used.
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    // Whatever stackwatch creates (the database, its journal, the token) is its user's alone.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let overrides = Overrides {
        config_file: cli.config,
        listen: cli.listen,
        data_dir: cli.data_dir,
    };
    // notify-test needs its own contact to be complete, not every other one.
    let only_contact = match &cli.command {
        Some(Command::NotifyTest { contact }) => Some(contact.clone()),
        _ => None,
    };
    let settings = match Settings::load_for(&overrides, only_contact.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stackwatch: invalid configuration:\n{e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stackwatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    match runtime.block_on(run(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stackwatch: {}", causes(&e));
            if e.downcast_ref::<app::data_dir::UnsafePath>().is_some()
                || e.downcast_ref::<app::data_dir::InUse>().is_some()
                || e.downcast_ref::<SettingsError>().is_some()
            {
                ExitCode::from(EXIT_BAD_CONFIG)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// An error and its causes on one line, each said once: a cause whose text its parent
/// already shows (as sqlx's database errors do) is left out.
fn causes(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            telemetry::init(&settings.log);
            App::build(settings)
                .await?
                .run_until_stopped(app::shutdown_signal())
                .await
        }
        Command::Migrate { from_sqlite } => {
            telemetry::init(&settings.log);
            match (settings.database(), from_sqlite) {
                (Database::Sqlite(_), Some(_)) => {
                    anyhow::bail!(
                        "migrate --from-sqlite copies into PostgreSQL: set database.url \
                         (STACKWATCH__DATABASE__URL) to an empty PostgreSQL database"
                    );
                }
                (Database::Postgres { url, place }, Some(file)) => {
                    let report =
                        stackwatch::store::copy_from_sqlite(&file, url.expose(), &place).await?;
                    for (table, rows) in report.tables {
                        println!("{table}: {rows} rows");
                    }
                    println!("copied {} into PostgreSQL database {place}", file.display());
                }
                (Database::Sqlite(path), None) => {
                    let (store, held) = app::open_store(&settings).await?;
                    store.close().await;
                    drop(held);
                    println!("database {} is up to date", path.display());
                }
                (Database::Postgres { url, place }, None) => {
                    stackwatch::store::migrate_postgres(url.expose(), &place).await?;
                    println!("PostgreSQL database {place} is up to date");
                }
            }
            Ok(())
        }
        Command::Healthcheck { url } => {
            let url = url.unwrap_or_else(|| default_health_url(settings.server.listen));
            app::healthcheck::check(&url).await
        }
        Command::Probe(args) => probe(args, &settings).await,
        Command::Agent(args) => {
            let config =
                stackwatch::agent::config(&settings, args.server, args.token, args.location)
                    .map_err(|problems| {
                        anyhow::Error::new(SettingsError {
                            problems: problems.lines().map(str::to_owned).collect(),
                        })
                        .context("invalid configuration")
                    })?;
            telemetry::init(&settings.log);
            stackwatch::agent::run_until_stopped(config, &settings, app::shutdown_signal()).await
        }
        Command::Import(ImportFrom::Statuscake(args)) => import_statuscake(args).await,
        Command::Routes(RoutesCommand::Explain {
            check,
            event,
            url,
            token,
        }) => {
            let url = url.unwrap_or_else(|| {
                default_health_url(settings.server.listen).replace("/healthz", "")
            });
            let token = token
                .or_else(|| {
                    settings
                        .auth
                        .read_tokens
                        .iter()
                        .chain(&settings.auth.admin_tokens)
                        .next()
                        .map(|t| t.expose().to_owned())
                })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "a token is needed: --token, STACKWATCH_TOKEN or auth.read_tokens"
                    )
                })?;
            let text =
                app::routes_explain::explain(&settings, &url, &token, &check, &event).await?;
            println!("{text}");
            Ok(())
        }
        Command::NotifyTest { contact } => {
            app::notify_test(&settings, &contact).await?;
            println!("test message sent through {contact}");
            Ok(())
        }
    }
}

/// `stackwatch import statuscake`: prints a line per object, a summary, and the suggested
/// notifier blocks; fails when the source or stackwatch cannot be read.
async fn import_statuscake(args: StatusCakeArgs) -> anyhow::Result<()> {
    let source = match (args.from_dir, args.api_key) {
        (Some(dir), _) => stackwatch::import::Source::Dir(dir),
        (None, Some(key)) => stackwatch::import::Source::Api {
            base: args.api_url,
            key,
        },
        (None, None) => anyhow::bail!("give --api-key (or STATUSCAKE_API_KEY) or --from-dir"),
    };
    let target = stackwatch::import::Target {
        url: args.url,
        token: args.token,
        dry_run: args.dry_run,
    };
    let report = stackwatch::import::run(source, target).await?;
    for line in &report.lines {
        println!("{line}");
    }
    let verb = if args.dry_run { "would be " } else { "" };
    println!(
        "\n{} {verb}created, {} {verb}updated, {} unchanged, {} skipped",
        report.created, report.updated, report.unchanged, report.skipped
    );
    if !report.notifiers.is_empty() {
        println!(
            "\n# Suggested notifiers for the configuration file; fill in the ${{VARS}}:\n\n{}",
            report.notifiers.trim_end()
        );
    }
    Ok(())
}

/// `stackwatch probe`: builds the check from the flags, probes once, prints what it saw.
async fn probe(args: ProbeArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut headers = serde_json::Map::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--header {header:?} is not \"Name: value\""))?;
        headers.insert(name.trim().to_owned(), value.trim().into());
    }
    let body = serde_json::json!({
        "url": args.url,
        "method": args.method,
        "headers": headers,
        "expected_status": args.expect_status,
        "body_contains": args.contains,
        "timeout": args.timeout,
        "follow_redirects": args.follow_redirects,
        "verify_tls": !args.insecure,
    });
    let spec = app::probe_once::spec_from_json(body)?;
    let report = app::probe_once::run(&spec, settings).await?;
    print!("{}", report.text);
    if report.up {
        Ok(())
    } else {
        std::process::exit(1)
    }
}

/// `/healthz` on the listen address, reached through loopback when it listens on all.
fn default_health_url(listen: SocketAddr) -> String {
    let ip = match listen {
        SocketAddr::V4(a) if a.ip().is_unspecified() => "127.0.0.1".to_owned(),
        SocketAddr::V6(a) if a.ip().is_unspecified() => "[::1]".to_owned(),
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    format!("http://{ip}:{}/healthz", listen.port())
}
