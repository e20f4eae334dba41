//! What the benchmark measured: snapshots of stackwatch's `/metrics` and CPU time before
//! and after the window, the gaps between a check's arrivals at its target, and the table.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::Server;
use crate::options::Options;
use crate::targets::Accesses;

/// The process's memory, in KiB.
pub struct MemoryKib {
    /// Peak RSS (VmHWM).
    pub peak: u64,
    /// Resident anonymous memory at the end (RssAnon).
    pub anonymous: u64,
    /// Resident file-backed pages at the end (RssFile): the binary's code, mostly.
    pub file: u64,
}

/// Counters read at one moment.
pub struct Snapshot {
    pub at: Instant,
    probes: f64,
    probes_down: f64,
    /// The scheduling-lag histogram: (upper bound in seconds, cumulative count).
    lag: Vec<(f64, f64)>,
    /// CPU time before the scrape was asked for and once its whole answer arrived, so the
    /// window counts stackwatch's own work and not the benchmark's scrapes (at 400 checks
    /// a scrape costs several percent of the window's CPU).
    cpu_ticks_before: u64,
    cpu_ticks_after: u64,
    /// The same for the PostgreSQL server, when it is measured.
    pg_ticks_before: Option<u64>,
    pg_ticks_after: Option<u64>,
    /// When `cpu_ticks_before` and `cpu_ticks_after` were read.
    cpu_read_before: Instant,
    cpu_read_after: Instant,
    /// The agents' CPU, together, at `cpu_read_before` and `cpu_read_after`.
    agent_ticks_before: u64,
    agent_ticks_after: u64,
}

impl Snapshot {
    /// Reads the counters of every instance (summed) and the CPU of the instances and of
    /// the PostgreSQL server (`postgres`: its postmaster), if any. The moment is when the
    /// first answer's head arrived: a server renders the whole text (reading the counters
    /// last) before it sends the head, while the body of a scrape of 100,000 checks takes
    /// a while longer to arrive.
    pub async fn take(
        client: &reqwest::Client,
        servers: &[Server],
        agents: &[u32],
        postgres: Option<u32>,
        token: &str,
    ) -> anyhow::Result<Self> {
        let cpu_read_before = Instant::now();
        let agent_ticks_before = agents
            .iter()
            .map(|&pid| cpu_ticks(pid))
            .sum::<anyhow::Result<u64>>()?;
        let (cpu_ticks_before, pg_ticks_before) = ticks(servers, postgres)?;
        let mut at = None;
        let mut texts = Vec::new();
        for server in servers {
            let response = client
                .get(format!("{}/metrics", server.base))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?;
            at.get_or_insert_with(Instant::now);
            texts.push(response.text().await?);
        }
        let (cpu_ticks_after, pg_ticks_after) = ticks(servers, postgres)?;
        let agent_ticks_after = agents
            .iter()
            .map(|&pid| cpu_ticks(pid))
            .sum::<anyhow::Result<u64>>()?;
        let cpu_read_after = Instant::now();
        let mut probes = 0.0;
        let mut probes_down = 0.0;
        let mut lag: Vec<(f64, f64)> = Vec::new();
        for line in texts
            .iter()
            .flat_map(|t| t.lines())
            .filter(|l| !l.starts_with('#'))
        {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            if name.starts_with("stackwatch_probes_total") {
                probes += value;
                if name.contains("down") {
                    probes_down += value;
                }
            } else if let Some(le) = name
                .strip_prefix("stackwatch_scheduler_lag_seconds_bucket{le=\"")
                .and_then(|rest| rest.strip_suffix("\"}"))
            {
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse()?
                };
                match lag.iter_mut().find(|(b, _)| *b == bound) {
                    Some((_, count)) => *count += value,
                    None => lag.push((bound, value)),
                }
            }
        }
        Ok(Self {
            at: at.unwrap_or_else(Instant::now),
            probes,
            probes_down,
            lag,
            cpu_ticks_before,
            cpu_ticks_after,
            pg_ticks_before,
            pg_ticks_after,
            cpu_read_before,
            cpu_read_after,
            agent_ticks_before,
            agent_ticks_after,
        })
    }
}

/// CPU ticks of the instances together, and of the PostgreSQL server if it is measured.
fn ticks(servers: &[Server], postgres: Option<u32>) -> anyhow::Result<(u64, Option<u64>)> {
    let mut instances = 0;
    for server in servers {
        instances += cpu_ticks(server.pid())?;
    }
    let server = postgres.map(crate::postgres::server_ticks).transpose()?;
    Ok((instances, server))
}

/// User plus system CPU time of a process, in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat.rsplit_once(')').context("odd /proc/PID/stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3, utime 14 and stime 15 of the whole line.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

/// Percentiles of how far the gaps between a check's arrivals strayed from its rate.
#[derive(Debug, Default, Serialize)]
pub struct Gaps {
    /// Requests that reached the targets in the window.
    pub arrivals: usize,
    pub gaps: usize,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

pub fn gap_jitter(accesses: &Accesses, from_ms: u32, to_ms: u32, rate_ms: u64) -> Gaps {
    let mut by_check: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut arrivals = 0;
    for &(check, at) in accesses {
        if (from_ms..=to_ms).contains(&at) {
            by_check.entry(check).or_default().push(at);
            arrivals += 1;
        }
    }
    let mut jitter: Vec<u64> = Vec::new();
    for times in by_check.values_mut() {
        times.sort_unstable();
        for pair in times.windows(2) {
            jitter.push((u64::from(pair[1] - pair[0])).abs_diff(rate_ms));
        }
    }
    jitter.sort_unstable();
    let at = |p: f64| {
        let i = ((jitter.len() as f64 * p).ceil() as usize).saturating_sub(1);
        jitter.get(i).copied().unwrap_or(0)
    };
    Gaps {
        arrivals,
        gaps: jitter.len(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: jitter.last().copied().unwrap_or(0),
    }
}

/// The upper bound (ms) of the bucket holding the `p` quantile of the lag histogram's
/// growth between two snapshots; the largest bucket that grew for `p = 1`.
fn lag_quantile(before: &[(f64, f64)], after: &[(f64, f64)], p: f64) -> Option<f64> {
    let deltas: Vec<(f64, f64)> = after
        .iter()
        .map(|(bound, count)| {
            let earlier = before
                .iter()
                .find(|(b, _)| b == bound)
                .map_or(0.0, |(_, c)| *c);
            (*bound, count - earlier)
        })
        .collect();
    let total = deltas.last()?.1;
    if total <= 0.0 {
        return None;
    }
    deltas
        .iter()
        .find(|(_, cumulative)| *cumulative >= total * p)
        .map(|(bound, _)| bound * 1_000.0)
}

/// What the database holds after the run.
#[derive(Debug, Serialize)]
pub struct Disk {
    pub file_bytes: u64,
    /// As the open hour keeps them: rows of `results`.
    pub open_hour: Pages,
    /// Once their hours are closed and compacted into blocks.
    pub compacted: Pages,
}

/// Results stored and the bytes of the pages holding them.
#[derive(Debug, Serialize)]
pub struct Pages {
    pub results: u64,
    pub bytes: u64,
}

impl Pages {
    pub fn per_result(&self) -> f64 {
        if self.results > 0 {
            self.bytes as f64 / self.results as f64
        } else {
            0.0
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub cores: usize,
    /// `sqlite`, or `postgresql` with the number of instances sharing it.
    pub store: String,
    pub instances: u32,
    pub checks: u32,
    pub rate_s: u32,
    pub timeout_s: u32,
    pub hang: f64,
    /// Host names the targets were addressed by (0: addresses).
    pub names: u32,
    pub slow: f64,
    pub error: f64,
    pub registration_s: f64,
    pub measured_s: f64,
    pub probes_per_s_expected: f64,
    pub probes_per_s_achieved: f64,
    /// Of those, probes that found the target down.
    pub down_probes_per_s: f64,
    pub rate_held: f64,
    /// Upper bounds of the histogram buckets holding p50, p99 and the largest lag.
    pub lag_p50_ms: Option<f64>,
    pub lag_p99_ms: Option<f64>,
    pub lag_max_ms: Option<f64>,
    pub target_gap_jitter: Gaps,
    pub cpu_percent_of_one_core: f64,
    pub cpu_us_per_probe: f64,
    /// The PostgreSQL server's CPU (postmaster and backends) per probe, when measured.
    pub postgres_cpu_us_per_probe: Option<f64>,
    pub postgres_cpu_percent_of_one_core: Option<f64>,
    /// Memory figures are summed over the instances.
    pub rss_after_registration_mib: f64,
    pub peak_rss_mib: f64,
    /// Resident at the end of the window: anonymous memory and file-backed pages.
    pub rss_anonymous_mib: f64,
    pub rss_file_mib: f64,
    pub disk: Disk,
    /// Pages per stored result once its hour is closed and compacted.
    pub disk_bytes_per_result: f64,
    /// Pages per stored result while its hour is open (rows of `results`).
    pub disk_bytes_per_result_open_hour: f64,
    /// `stackwatch agent` processes probing every check in the server's place.
    pub agents: u32,
    /// The agents' CPU per probe (probes counted at the targets), when there are agents.
    pub agent_cpu_us_per_probe: Option<f64>,
    pub agent_cpu_percent_of_one_core: Option<f64>,
    /// The largest agent's peak RSS.
    pub agent_peak_rss_mib: Option<f64>,
    /// How long the read paths answered once the window was over.
    pub reads: Vec<crate::reads::Read>,
    /// Kept to compute the agents' figures.
    #[serde(skip)]
    agent_cpu_s: f64,
    #[serde(skip)]
    cpu_seconds: f64,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        options: &Options,
        before: &Snapshot,
        after: &Snapshot,
        target_gap_jitter: Gaps,
        (rss_registered_kib, memory): (u64, MemoryKib),
        disk: Disk,
        registration: Duration,
    ) -> Self {
        let seconds = after.at.duration_since(before.at).as_secs_f64();
        // With agents the server probes nothing itself: the targets count the probes.
        let probes = if options.agents > 0 {
            target_gap_jitter.arrivals as f64
        } else {
            after.probes - before.probes
        };
        // Each agent probes every check.
        let expected =
            f64::from(options.checks) / f64::from(options.rate) * f64::from(options.agents.max(1));
        // CPU from the end of the first scrape to the start of the second, and the probes
        // of that same stretch at the rate measured over the window.
        let cpu_s = after
            .cpu_ticks_before
            .saturating_sub(before.cpu_ticks_after) as f64
            / 100.0;
        let cpu_seconds = after
            .cpu_read_before
            .duration_since(before.cpu_read_after)
            .as_secs_f64();
        let cpu_probes = probes * cpu_seconds / seconds;
        let pg_s = after
            .pg_ticks_before
            .zip(before.pg_ticks_after)
            .map(|(a, b)| a.saturating_sub(b) as f64 / 100.0);
        Self {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            store: if options.store.is_some() {
                "postgresql".to_owned()
            } else {
                "sqlite".to_owned()
            },
            instances: options.instances,
            checks: options.checks,
            rate_s: options.rate,
            timeout_s: options.timeout,
            hang: options.hang,
            names: options.names,
            slow: options.slow,
            error: options.error,
            registration_s: registration.as_secs_f64(),
            measured_s: seconds,
            probes_per_s_expected: expected,
            probes_per_s_achieved: probes / seconds,
            down_probes_per_s: (after.probes_down - before.probes_down) / seconds,
            rate_held: probes / seconds / expected,
            lag_p50_ms: lag_quantile(&before.lag, &after.lag, 0.50),
            lag_p99_ms: lag_quantile(&before.lag, &after.lag, 0.99),
            lag_max_ms: lag_quantile(&before.lag, &after.lag, 1.0),
            target_gap_jitter,
            cpu_percent_of_one_core: cpu_s / cpu_seconds * 100.0,
            cpu_us_per_probe: if cpu_probes > 0.0 {
                cpu_s * 1e6 / cpu_probes
            } else {
                0.0
            },
            postgres_cpu_us_per_probe: pg_s
                .filter(|_| cpu_probes > 0.0)
                .map(|s| s * 1e6 / cpu_probes),
            postgres_cpu_percent_of_one_core: pg_s.map(|s| s / cpu_seconds * 100.0),
            rss_after_registration_mib: rss_registered_kib as f64 / 1024.0,
            peak_rss_mib: memory.peak as f64 / 1024.0,
            rss_anonymous_mib: memory.anonymous as f64 / 1024.0,
            rss_file_mib: memory.file as f64 / 1024.0,
            disk_bytes_per_result: disk.compacted.per_result(),
            disk_bytes_per_result_open_hour: disk.open_hour.per_result(),
            disk,
            agents: 0,
            agent_cpu_us_per_probe: None,
            agent_cpu_percent_of_one_core: None,
            agent_peak_rss_mib: None,
            reads: Vec::new(),
            agent_cpu_s: after
                .agent_ticks_before
                .saturating_sub(before.agent_ticks_after) as f64
                / 100.0,
            cpu_seconds,
        }
    }

    /// Adds the agents' figures: their CPU over the same stretch as the server's, per
    /// probe counted at the targets, and the largest one's peak memory.
    pub fn with_agents(mut self, agents: u32, peak_kib: u64) -> Self {
        if agents == 0 {
            return self;
        }
        let probes = self.probes_per_s_achieved * self.cpu_seconds;
        self.agents = agents;
        self.agent_cpu_us_per_probe = (probes > 0.0).then(|| self.agent_cpu_s * 1e6 / probes);
        self.agent_cpu_percent_of_one_core = Some(self.agent_cpu_s / self.cpu_seconds * 100.0);
        self.agent_peak_rss_mib = Some(peak_kib as f64 / 1024.0);
        self
    }

    pub fn with_reads(mut self, reads: Vec<crate::reads::Read>) -> Self {
        self.reads = reads;
        self
    }

    pub fn print(&self) {
        let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("≤ {v} ms"));
        let rows = [
            ("machine", format!("{} cores", self.cores)),
            (
                "store",
                match self.store.as_str() {
                    "sqlite" => "SQLite".to_owned(),
                    _ => format!("PostgreSQL, {} instance(s)", self.instances),
                },
            ),
            (
                "checks",
                format!(
                    "{} at {} s (timeout {} s; hang {}, slow {}, 500 {}; {})",
                    self.checks,
                    self.rate_s,
                    self.timeout_s,
                    self.hang,
                    self.slow,
                    self.error,
                    match self.names {
                        0 => "addresses".to_owned(),
                        n => format!("{n} host names"),
                    }
                ),
            ),
            ("registration", format!("{:.1} s", self.registration_s)),
            (
                "probes/s",
                format!(
                    "{:.1} achieved of {:.1} expected ({:.4} held) over {:.0} s; {:.1} down",
                    self.probes_per_s_achieved,
                    self.probes_per_s_expected,
                    self.rate_held,
                    self.measured_s,
                    self.down_probes_per_s
                ),
            ),
            (
                "scheduling lag",
                format!(
                    "p50 {}, p99 {}, max {} (stackwatch's histogram)",
                    ms(self.lag_p50_ms),
                    ms(self.lag_p99_ms),
                    ms(self.lag_max_ms)
                ),
            ),
            (
                "gap jitter at targets",
                format!(
                    "p50 {} ms, p99 {} ms, max {} ms ({} gaps, {:.1} arrivals/s)",
                    self.target_gap_jitter.p50_ms,
                    self.target_gap_jitter.p99_ms,
                    self.target_gap_jitter.max_ms,
                    self.target_gap_jitter.gaps,
                    self.target_gap_jitter.arrivals as f64 / self.measured_s
                ),
            ),
            (
                "CPU",
                format!(
                    "{:.1} % of one core, {:.0} µs per probe",
                    self.cpu_percent_of_one_core, self.cpu_us_per_probe
                ),
            ),
            (
                "agents",
                match (self.agent_cpu_us_per_probe, self.agent_peak_rss_mib) {
                    (Some(us), Some(mib)) => format!(
                        "{} probing every check: {:.1} % of one core, {us:.0} µs per probe; \
                         peak RSS {mib:.1} MiB (the largest); the server above only judges",
                        self.agents,
                        self.agent_cpu_percent_of_one_core.unwrap_or(0.0)
                    ),
                    _ => "none (the server probes)".to_owned(),
                },
            ),
            (
                "PostgreSQL CPU",
                match (
                    self.postgres_cpu_percent_of_one_core,
                    self.postgres_cpu_us_per_probe,
                ) {
                    (Some(percent), Some(us)) => {
                        format!("{percent:.1} % of one core, {us:.0} µs per probe")
                    }
                    _ => "not measured".to_owned(),
                },
            ),
            (
                "peak RSS",
                format!(
                    "{:.1} MiB ({:.1} MiB once registered; at the end {:.1} MiB anonymous, \
                     {:.1} MiB file-backed)",
                    self.peak_rss_mib,
                    self.rss_after_registration_mib,
                    self.rss_anonymous_mib,
                    self.rss_file_mib
                ),
            ),
            (
                "disk",
                format!(
                    "{:.1} bytes per result once its hour is closed, {:.1} in the open hour \
                     ({} results; file {} bytes)",
                    self.disk_bytes_per_result,
                    self.disk_bytes_per_result_open_hour,
                    self.disk.compacted.results,
                    self.disk.file_bytes
                ),
            ),
        ];
        println!("| figure | value |\n|---|---|");
        for (name, value) in rows {
            println!("| {name} | {value} |");
        }
        for read in &self.reads {
            println!(
                "| read `{}` | {:.0} ms (slowest of 3; {} bytes) |",
                read.path, read.slowest_ms, read.bytes
            );
        }
    }
}
