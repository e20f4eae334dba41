//! The load benchmark: local targets, the release binary as a separate process, N checks at
//! rate R registered through the API, then T seconds measured after a warm-up. Prints one
//! table (or `--json`): probes/s expected and achieved, scheduling lag from stackwatch's own
//! histogram and the gaps the targets saw, CPU per probe, peak RSS, disk per result after a
//! checkpoint, registration time. Only 127.0.0.1 is contacted. With `--store URL` the
//! instances (`--instances N`) share that PostgreSQL database, and the server's own CPU
//! is measured too.
//!
//! ```sh
//! cargo run --release --example bench -- --checks 1000 --rate 60
//! cargo run --release --example bench -- --checks 100000 --rate 60 --hang 0.1 --json
//! cargo run --release --example bench -- --checks 100000 --store postgres://… --instances 2
//! cargo run --release --example bench -- --checks 1000 --agents 1
//! ```
//!
//! With `--agents N`, N `stackwatch agent` processes probe every check (each check names
//! their N locations and not the server's): the probes are counted at the targets, the
//! agents' CPU and memory are reported beside the server's, which only judges.

mod names;
mod options;
mod postgres;
mod reads;
mod report;
mod targets;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use options::Options;
use report::{Report, Snapshot, gap_jitter};
use targets::Targets;

const TOKEN: &str = "bench-admin-token-0123456789abcdef";
/// Most checks one stack may hold; registration sends stacks of this size.
const STACK_SIZE: u32 = 1_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    let binary = build_release()?;
    let targets = Arc::new(Targets::start(&options).await?);
    let temporary = tempfile::tempdir()?;
    let data = match &options.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => temporary.path().to_owned(),
    };
    let nameserver = match options.names {
        0 => None,
        _ => Some(names::start().await?),
    };
    let mut servers = Vec::new();
    for n in 0..options.instances {
        let dir = match options.instances {
            1 => data.clone(),
            _ => data.join(format!("instance-{n}")),
        };
        std::fs::create_dir_all(&dir)?;
        servers.push(Server::start(&binary, &dir, &options, nameserver)?);
    }
    let mut agents = Vec::new();
    for n in 0..options.agents {
        agents.push(Agent::start(
            &binary,
            &servers[0].base,
            n,
            &options,
            nameserver,
        )?);
    }
    let postgres = match &options.store {
        Some(url) => postgres::postmaster_pid(url).await?,
        None => None,
    };
    if options.store.is_some() && postgres.is_none() {
        eprintln!(
            "bench: the PostgreSQL server's process cannot be read here; its CPU is not measured"
        );
    }
    let client = reqwest::Client::new();

    let registered = Instant::now();
    register(&client, &servers[0].base, &targets, &options).await?;
    let registration = registered.elapsed();
    let rss_after_registration_kib = memory_kib(&servers)?.peak;
    if options.register_only {
        for agent in &mut agents {
            agent.child.kill()?;
            agent.child.wait()?;
        }
        for server in &mut servers {
            server.stop()?;
        }
        println!(
            "registration {:.3} s, peak RSS {:.1} MiB",
            registration.as_secs_f64(),
            rss_after_registration_kib as f64 / 1024.0
        );
        return Ok(());
    }

    tokio::time::sleep(Duration::from_secs(options.warmup)).await;
    let agent_pids: Vec<u32> = agents.iter().map(|a| a.child.id()).collect();
    let before = Snapshot::take(&client, &servers, &agent_pids, postgres, TOKEN).await?;
    tokio::time::sleep(Duration::from_secs(options.measure)).await;
    let after = Snapshot::take(&client, &servers, &agent_pids, postgres, TOKEN).await?;
    let (window_start, window_end) = (targets.ms_at(before.at), targets.ms_at(after.at));

    let memory = memory_kib(&servers)?;
    let reads = reads::measure(&client, &servers[0].base, TOKEN, options.checks).await?;
    let mut agent_peak_kib = 0;
    for agent in &mut agents {
        agent_peak_kib = agent_peak_kib.max(process_memory_kib(agent.child.id())?.peak);
        agent.child.kill()?;
        agent.child.wait()?;
    }
    for server in &mut servers {
        server.stop()?;
    }
    let disk = match &options.store {
        Some(url) => postgres::disk_use(url).await?,
        None => disk_use(&data.join("stackwatch.db")).await?,
    };
    let gaps = gap_jitter(
        &targets.accesses(),
        window_start,
        window_end,
        u64::from(options.rate) * 1_000,
    );
    let report = Report::new(
        &options,
        &before,
        &after,
        gaps,
        (rss_after_registration_kib, memory),
        disk,
        registration,
    )
    .with_agents(options.agents, agent_peak_kib)
    .with_reads(reads);
    if options.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        report.print();
    }
    Ok(())
}

/// Builds the release binary and answers its path.
fn build_release() -> anyhow::Result<PathBuf> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "--quiet", "--bin", "stackwatch"])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Ok(root.join("target/release/stackwatch"))
}

/// The stackwatch process under test.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    fn start(
        binary: &Path,
        data: &Path,
        options: &Options,
        nameserver: Option<std::net::SocketAddr>,
    ) -> anyhow::Result<Self> {
        let mut command = match &options.wrap {
            Some(wrapper) => {
                let mut command = Command::new(wrapper);
                command.arg(binary);
                command
            }
            None => Command::new(binary),
        };
        if let Some(url) = &options.store {
            command.env("STACKWATCH__DATABASE__URL", url);
        }
        for n in 0..options.agents {
            command.env(
                format!("STACKWATCH__AUTH__AGENT_TOKENS__A{n}"),
                agent_token(n),
            );
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("STACKWATCH_ADMIN_TOKEN", TOKEN)
            .env(
                "STACKWATCH__MONITOR__MAX_CONCURRENT_PROBES",
                options.max_concurrent.to_string(),
            )
            .env(
                "STACKWATCH__PROBE__NAMESERVER",
                nameserver.map(|a| a.to_string()).unwrap_or_default(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start stackwatch")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line?;
            if let Some(rest) = line.split("stackwatch is listening addr=").nth(1) {
                addr = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
        }
        let Some(addr) = addr else {
            bail!("stackwatch did not say where it listens");
        };
        // Keep reading its log so a full pipe never blocks it; show warnings and errors.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.contains("WARN") || line.contains("ERROR") {
                    eprintln!("stackwatch: {line}");
                }
            }
        });
        Ok(Self {
            child,
            base: format!("http://{addr}"),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak RSS so far, and what is resident now: anonymous memory (the process's own) and
    /// file-backed pages (the binary's code and read-only data, shared with the page cache).
    fn memory_kib(&self) -> anyhow::Result<report::MemoryKib> {
        process_memory_kib(self.pid())
    }

    /// Stops it with SIGTERM (a clean shutdown checkpoints the database) and waits.
    fn stop(&mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("stackwatch exited with {status}");
        }
        Ok(())
    }
}

/// A process's peak RSS so far, and what is resident now: anonymous memory (the process's
/// own) and file-backed pages (the binary's code and read-only data, shared with the page
/// cache).
fn process_memory_kib(pid: u32) -> anyhow::Result<report::MemoryKib> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in /proc/PID/status"))
    };
    Ok(report::MemoryKib {
        peak: field("VmHWM:")?,
        anonymous: field("RssAnon:")?,
        file: field("RssFile:")?,
    })
}

/// The token of agent `n` (location `a{n}`).
fn agent_token(n: u32) -> String {
    format!("bench-agent-token-{n}-0123456789abcdef")
}

/// A `stackwatch agent` under test.
struct Agent {
    child: Child,
}

impl Agent {
    fn start(
        binary: &Path,
        server: &str,
        n: u32,
        options: &Options,
        nameserver: Option<std::net::SocketAddr>,
    ) -> anyhow::Result<Self> {
        let child = Command::new(binary)
            .args(["agent", "--server", server, "--location", &format!("a{n}")])
            .env("STACKWATCH_AGENT_TOKEN", agent_token(n))
            .env(
                "STACKWATCH__MONITOR__MAX_CONCURRENT_PROBES",
                options.max_concurrent.to_string(),
            )
            .env(
                "STACKWATCH__PROBE__NAMESERVER",
                nameserver.map(|a| a.to_string()).unwrap_or_default(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start stackwatch agent")?;
        Ok(Self { child })
    }
}

/// The instances' memory, summed.
fn memory_kib(servers: &[Server]) -> anyhow::Result<report::MemoryKib> {
    let mut total = report::MemoryKib {
        peak: 0,
        anonymous: 0,
        file: 0,
    };
    for server in servers {
        let one = server.memory_kib()?;
        total.peak += one.peak;
        total.anonymous += one.anonymous;
        total.file += one.file;
    }
    Ok(total)
}

/// Registers every check, in stacks of `STACK_SIZE`, four requests at a time.
async fn register(
    client: &reqwest::Client,
    base: &str,
    targets: &Targets,
    options: &Options,
) -> anyhow::Result<()> {
    let stacks: Vec<u32> = (0..options.checks.div_ceil(STACK_SIZE)).collect();
    for group in stacks.chunks(4) {
        let mut requests = Vec::new();
        for &stack in group {
            let first = stack * STACK_SIZE;
            let last = (first + STACK_SIZE).min(options.checks);
            let checks: Vec<serde_json::Value> = (first..last)
                .map(|i| {
                    json!({
                        "name": format!("c{i}"),
                        "url": targets.url(i),
                        "check_rate": options.rate,
                        "timeout": options.timeout,
                        "retry_interval": options.rate.min(10),
                        "contacts": [],
                        "locations": match options.agents {
                            0 => serde_json::Value::Null,
                            n => (0..n).map(|i| format!("a{i}")).collect(),
                        },
                    })
                })
                .collect();
            let url = format!("{base}/api/v1/stacks/bench-{stack}");
            requests.push(
                client
                    .put(url)
                    .bearer_auth(TOKEN)
                    .json(&json!({ "checks": checks }))
                    .send(),
            );
        }
        for response in futures_join(requests).await {
            let response = response?;
            if !response.status().is_success() {
                bail!("registration failed: {}", response.text().await?);
            }
        }
    }
    Ok(())
}

/// Awaits every future, concurrently, in order.
async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(output) = handle.await {
            outputs.push(output);
        }
    }
    outputs
}

/// After the clean stop (WAL checkpointed): the database file's size and the pages the
/// results take (SQLite's `dbstat`), first as the open hour keeps them (rows of `results`),
/// then once the rollup job has compacted their hours into blocks (run here on the stopped
/// database as if two hours had passed).
async fn disk_use(path: &Path) -> anyhow::Result<report::Disk> {
    let file_bytes = std::fs::metadata(path)?.len();
    let open_hour = results_pages(path).await?;
    let store = stackwatch::store::Store::open(
        path,
        &stackwatch::store::StoreOptions {
            busy_timeout: Duration::from_secs(5),
            read_connections: 1,
        },
    )
    .await?;
    compact(&store).await?;
    drop(store);
    let compacted = results_pages(path).await?;
    Ok(report::Disk {
        file_bytes,
        open_hour,
        compacted,
    })
}

/// Runs the rollup job as if two hours had passed, so every hour measured is closed and
/// compacted into blocks, keeping everything (a year of each kind).
pub async fn compact(store: &stackwatch::store::Store) -> anyhow::Result<()> {
    let later =
        stackwatch::domain::Timestamp(stackwatch::domain::Timestamp::now().0 + 2 * 3_600_000);
    let retention = stackwatch::store::Retention {
        raw_days: 365,
        hourly_days: 365,
        daily_days: 365,
    };
    stackwatch::monitor::rollup_once(store, &retention, later).await?;
    Ok(())
}

/// Results stored and the pages of the two tables that hold them.
async fn results_pages(path: &Path) -> anyhow::Result<report::Pages> {
    use sqlx::Connection as _;
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await?;
    let (results, bytes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM results) + \
                (SELECT COALESCE(SUM(count), 0) FROM result_blocks), \
                (SELECT COALESCE(SUM(pgsize), 0) FROM dbstat \
                 WHERE name IN ('results', 'result_blocks'))",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(report::Pages {
        results: u64::try_from(results).unwrap_or(0),
        bytes: u64::try_from(bytes).unwrap_or(0),
    })
}
