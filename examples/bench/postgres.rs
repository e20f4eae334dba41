//! The benchmark on PostgreSQL: the server's CPU (its postmaster and every backend, read
//! from /proc, so it must run on this machine and its data directory be readable) and the
//! bytes results take in its tables.

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection};

use crate::report::{Disk, Pages};

/// The process id of the server at `url`, from `postmaster.pid` in its data directory;
/// `None` when it cannot be read (another machine, or no right to read it).
pub async fn postmaster_pid(url: &str) -> anyhow::Result<Option<u32>> {
    let mut conn = PgConnection::connect(url).await?;
    let dir: String = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    let Ok(text) = std::fs::read_to_string(format!("{dir}/postmaster.pid")) else {
        return Ok(None);
    };
    Ok(text.lines().next().and_then(|l| l.trim().parse().ok()))
}

/// CPU ticks of the postmaster and its children (backends, writers, autovacuum) now.
pub fn server_ticks(postmaster: u32) -> anyhow::Result<u64> {
    let mut total = crate::report::cpu_ticks(postmaster)?;
    for entry in std::fs::read_dir("/proc")? {
        let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if parent(pid) == Some(postmaster) {
            // A backend that ended since the listing is simply not counted.
            total += crate::report::cpu_ticks(pid).unwrap_or(0);
        }
    }
    Ok(total)
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// After the run: the database's size and the bytes results take, as the open hour keeps
/// them (rows of `results`) and once the rollup job has compacted their hours into blocks
/// (run here as if two hours had passed; `VACUUM FULL` then gives back the rows' space).
pub async fn disk_use(url: &str) -> anyhow::Result<Disk> {
    let open_hour = pages(url).await?;
    let store = stackwatch::store::Store::open_postgres(
        url,
        "the benchmark's database",
        &stackwatch::store::StoreOptions {
            busy_timeout: Duration::from_secs(30),
            read_connections: 1,
        },
    )
    .await?;
    crate::compact(&store).await?;
    store.close().await;
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query("VACUUM FULL results, result_blocks")
        .execute(&mut conn)
        .await?;
    let file_bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    let compacted = pages(url).await?;
    Ok(Disk {
        file_bytes: u64::try_from(file_bytes).unwrap_or(0),
        open_hour,
        compacted,
    })
}

/// Results stored and the bytes of the two tables that hold them (with their indexes).
async fn pages(url: &str) -> anyhow::Result<Pages> {
    let mut conn = PgConnection::connect(url).await?;
    let (results, bytes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM results) + \
                (SELECT COALESCE(SUM(count), 0)::BIGINT FROM result_blocks), \
                pg_total_relation_size('results') + pg_total_relation_size('result_blocks')",
    )
    .fetch_one(&mut conn)
    .await
    .context("cannot measure the results' tables")?;
    conn.close().await?;
    Ok(Pages {
        results: u64::try_from(results).unwrap_or(0),
        bytes: u64::try_from(bytes).unwrap_or(0),
    })
}
