//! The benchmark's command line: every option with its default, parsed by hand.

use anyhow::{Context, bail};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Checks registered.
    pub checks: u32,
    /// Seconds between probes of one check.
    pub rate: u32,
    /// A probe's timeout, seconds.
    pub timeout: u32,
    /// Seconds after registration before measuring; by default one interval and 30 s, so
    /// the first round (each check's first probe, at its phase within one interval once
    /// the quick first probes' budget is spent, and the confirmation of its failures) is
    /// over and the steady state is measured.
    pub warmup: u64,
    /// Seconds measured.
    pub measure: u64,
    /// Fraction of checks whose target never answers the connect (until the timeout).
    pub hang: f64,
    /// Fraction of checks whose target answers after `slow_ms`.
    pub slow: f64,
    pub slow_ms: u64,
    /// Fraction of checks whose target answers 500.
    pub error: f64,
    /// Listening ports the answering targets spread over (new connections per second are
    /// bounded by the ports of one address a client can use against one port).
    pub ports: usize,
    /// Host names the targets are addressed by, spread over the checks, resolved through
    /// the benchmark's own name server; 0 for addresses (127.0.0.1) in the URLs.
    pub names: u32,
    /// `monitor.max_concurrent_probes` of the stackwatch under test.
    pub max_concurrent: u32,
    /// Print JSON instead of a table.
    pub json: bool,
    /// Stop once every check is registered, printing the registration's time and the
    /// peak RSS so far: registration measured without the run after it.
    pub register_only: bool,
    /// Keep stackwatch's data here (created if missing) instead of a temporary directory.
    pub data_dir: Option<std::path::PathBuf>,
    /// Start stackwatch through this program, given the binary and its arguments (a
    /// profiler's launcher; it should `exec` so the measured process is stackwatch).
    pub wrap: Option<std::path::PathBuf>,
    /// A PostgreSQL database (`postgres://…`, best an empty one) instead of SQLite.
    pub store: Option<String>,
    /// Instances of stackwatch sharing `store`.
    pub instances: u32,
    /// `stackwatch agent` processes (locations `a0`, `a1`, …) that probe every check in
    /// the server's place; the server only judges.
    pub agents: u32,
}

const USAGE: &str = "usage: bench [--checks N] [--rate S] [--timeout S] [--warmup S] \
[--measure S] [--hang F] [--slow F] [--slow-ms MS] [--error F] [--ports N] \
[--names N] [--max-concurrent N] [--data-dir DIR] [--wrap PROGRAM] [--store URL] \
[--instances N] [--agents N] [--json] [--register-only]";

impl Options {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut o = Self {
            checks: 1_000,
            rate: 60,
            timeout: 10,
            warmup: 0,
            measure: 120,
            hang: 0.0,
            slow: 0.0,
            slow_ms: 2_000,
            error: 0.0,
            ports: 32,
            names: 0,
            max_concurrent: 32_768,
            json: false,
            register_only: false,
            data_dir: None,
            wrap: None,
            store: None,
            instances: 1,
            agents: 0,
        };
        let mut warmup = None;
        while let Some(flag) = args.next() {
            if flag == "--json" {
                o.json = true;
                continue;
            }
            if flag == "--register-only" {
                o.register_only = true;
                continue;
            }
            if flag == "--help" || flag == "-h" {
                bail!("{USAGE}");
            }
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            let bad = || format!("{flag}: not a valid value: {value}\n{USAGE}");
            match flag.as_str() {
                "--checks" => o.checks = value.parse().with_context(bad)?,
                "--rate" => o.rate = value.parse().with_context(bad)?,
                "--timeout" => o.timeout = value.parse().with_context(bad)?,
                "--warmup" => warmup = Some(value.parse().with_context(bad)?),
                "--measure" => o.measure = value.parse().with_context(bad)?,
                "--hang" => o.hang = value.parse().with_context(bad)?,
                "--slow" => o.slow = value.parse().with_context(bad)?,
                "--slow-ms" => o.slow_ms = value.parse().with_context(bad)?,
                "--error" => o.error = value.parse().with_context(bad)?,
                "--ports" => o.ports = value.parse().with_context(bad)?,
                "--names" => o.names = value.parse().with_context(bad)?,
                "--max-concurrent" => o.max_concurrent = value.parse().with_context(bad)?,
                "--data-dir" => o.data_dir = Some(value.into()),
                "--wrap" => o.wrap = Some(value.into()),
                "--store" => o.store = Some(value),
                "--instances" => o.instances = value.parse().with_context(bad)?,
                "--agents" => o.agents = value.parse().with_context(bad)?,
                _ => bail!("unknown option {flag}\n{USAGE}"),
            }
        }
        if o.hang + o.slow + o.error > 1.0 || [o.hang, o.slow, o.error].iter().any(|f| *f < 0.0) {
            bail!("--hang, --slow and --error are fractions that add up to at most 1");
        }
        if o.checks == 0 || o.rate < 10 || o.ports == 0 {
            bail!("--checks must be positive, --rate at least 10, --ports at least 1");
        }
        if o.instances == 0 || (o.instances > 1 && o.store.is_none()) {
            bail!("--instances must be positive, and above 1 only with --store");
        }
        if o.store
            .as_ref()
            .is_some_and(|url| !url.starts_with("postgres"))
        {
            bail!("--store takes a postgres:// URL");
        }
        o.warmup = warmup.unwrap_or(u64::from(o.rate) + 30);
        Ok(o)
    }

    /// How many checks of each behaviour: (hang, slow, error); the rest answer 200.
    pub fn split(&self) -> (u32, u32, u32) {
        let n = f64::from(self.checks);
        let count = |f: f64| (n * f).round() as u32;
        (count(self.hang), count(self.slow), count(self.error))
    }
}
