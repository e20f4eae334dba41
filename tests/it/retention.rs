//! The rollup job: raw results become hourly and daily rollups, then are pruned by age;
//! uptime keeps counting what was pruned.

use stackwatch::domain::{
    AlertMemory, CheckName, CheckState, Failure, Outcome, Timestamp, Timings,
};
use stackwatch::monitor::rollup_once;
use stackwatch::store::{
    Change, CheckWrite, DashboardQuery, Record, Retention, Store, Write, WriteMode,
};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const SLOW_AFTER_MS: u32 = 105;

pub fn outcome(at: i64, up: bool, total_ms: u32) -> Outcome {
    Outcome {
        started_at: Timestamp(at),
        status: Some(if up { 200 } else { 500 }),
        timings: Timings {
            total_ms,
            ..Timings::default()
        },
        cert_not_after: None,
        cert_of: None,
        failure: (!up).then_some(Failure::BadStatus { status: 500 }),
    }
}

/// The suite's store for `dir` holding one HTTP check named `name`, whose answers over
/// 105 ms are slow.
async fn store_with_check(
    dir: &std::path::Path,
    name: &str,
) -> (Store, CheckName, stackwatch::domain::Check) {
    let store = crate::helpers::open_suite_store(dir).await;
    let name: CheckName = name.parse().unwrap();
    let check = store
        .upsert_check(
            &name,
            CheckWrite {
                spec: stackwatch::app::probe_once::spec_from_json(serde_json::json!({
                    "url": "http://127.0.0.1:9/",
                    "degraded_after_ms": SLOW_AFTER_MS,
                }))
                .unwrap(),
                paused: None,
            },
            WriteMode::commit(Timestamp(0)),
        )
        .await
        .unwrap()
        .check()
        .clone();
    (store, name, check)
}

#[tokio::test]
async fn rollups_keep_the_counts_that_pruning_removes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, check) = store_with_check(dir.path(), "rolled").await;

    // Four days of results, one every 10 minutes; every sixth one fails.
    let now = Timestamp(20_000 * DAY + 30 * 60_000);
    let start = now.0 - 4 * DAY;
    let mut records = Vec::new();
    let mut at = start;
    let mut i = 0;
    while at < now.0 {
        let up = i % 6 != 0;
        records.push(Record {
            check_id: check.id,
            location: std::sync::Arc::new("local".parse().unwrap()),
            outcome: outcome(at, up, 100 + (i % 10) as u32),
            change: None,
        });
        at += 10 * 60_000;
        i += 1;
    }
    let total = records.len() as i64;
    let failed = records.iter().filter(|r| !r.outcome.is_up()).count() as i64;
    let slow = records
        .iter()
        .filter(|r| r.outcome.is_up() && r.outcome.timings.total_ms > SLOW_AFTER_MS)
        .count() as i64;
    assert!(slow > 0 && slow < total - failed);
    let within_slo = |uptime: &stackwatch::store::Uptime| {
        let month = uptime.iter().find(|w| w.window == "30d").unwrap();
        (month.uptime_percent, month.within_slo_percent)
    };
    let figures = (
        Some((total - failed) as f64 * 100.0 / total as f64),
        Some((total - failed - slow) as f64 * 100.0 / total as f64),
    );
    let writes: Vec<Write> = records.into_iter().map(Write::Probe).collect();
    store.record(&writes).await.unwrap();

    let retention = Retention {
        raw_days: 1,
        hourly_days: 90,
        daily_days: 1825,
    };
    let everything = (Timestamp(0), Timestamp(i64::MAX));
    let before = store
        .results(check.id, everything.0, everything.1, 10_000)
        .await
        .unwrap();
    let day_ago = Timestamp(now.0 - DAY);
    let series_before = store
        .latency_series(check.id, day_ago, now, 96)
        .await
        .unwrap();
    let first = rollup_once(&store, &retention, now).await.unwrap();
    assert_eq!(first.hourly_rows, 4 * 24, "every complete hour");
    assert_eq!(first.daily_rows, 4, "four days are complete");
    assert!(first.results_pruned > 0);
    let again = rollup_once(&store, &retention, now).await.unwrap();
    assert_eq!(
        (again.hourly_rows, again.results_pruned),
        (0, 0),
        "nothing twice"
    );

    let kept = store
        .results(check.id, Timestamp(0), Timestamp(i64::MAX), 10_000)
        .await
        .unwrap();
    assert!(
        kept.iter().all(|r| r.at >= now.0 - DAY),
        "older raw results are gone"
    );
    assert!(!kept.is_empty());
    let younger: Vec<_> = before
        .iter()
        .filter(|r| r.at >= kept.last().unwrap().at)
        .cloned()
        .collect();
    assert_eq!(
        kept, younger,
        "compacted hours read back as they were written"
    );
    let series_after = store
        .latency_series(check.id, day_ago, now, 96)
        .await
        .unwrap();
    assert_eq!(series_after, series_before);
    let newest_two = store
        .results(check.id, everything.0, everything.1, 2)
        .await
        .unwrap();
    assert_eq!(newest_two, before[..2]);
    let an_hour_ago = store
        .results(
            check.id,
            Timestamp(now.0 - 2 * HOUR),
            Timestamp(now.0 - HOUR),
            3,
        )
        .await
        .unwrap();
    let expected: Vec<_> = before
        .iter()
        .filter(|r| r.at >= now.0 - 2 * HOUR && r.at < now.0 - HOUR)
        .take(3)
        .cloned()
        .collect();
    assert_eq!(an_hour_ago, expected);

    let uptime = store
        .uptime(check.id, now, Some(SLOW_AFTER_MS))
        .await
        .unwrap();
    assert_eq!(
        within_slo(&uptime),
        figures,
        "from rollups, raw results pruned"
    );
    let month = uptime.iter().find(|w| w.window == "30d").unwrap();
    assert_eq!(month.probes, total, "rollups still count pruned probes");
    assert_eq!(month.up_probes, total - failed);
    let day = uptime.iter().find(|w| w.window == "24h").unwrap();
    assert!(day.probes < total && day.probes >= 144);
    assert!(month.p50_ms.is_some_and(|p| (100..=109).contains(&p)));
    // The 90-day bars read daily rollups, hourly ones of days not rolled up, and raw
    // results of hours not rolled up: every probe once.
    let bars = store.daily_uptimes(&[check.id], 90, now).await.unwrap();
    let days = &bars[&check.id];
    assert_eq!(days.len(), 90);
    let probes: i64 = days.iter().map(|d| d.tally.probes).sum();
    let up: i64 = days.iter().map(|d| d.tally.up).sum();
    assert_eq!((probes, up), (total, total - failed));
    assert_eq!(store.daily_uptime(check.id, 90, now).await.unwrap(), *days);
    let newest = store.newest_results(&[check.id]).await.unwrap();
    assert_eq!(newest[&check.id], before[0], "the newest result, raw");

    let mut side = crate::helpers::SideDb::open(dir.path()).await;
    let counts = side
        .ints(
            "SELECT (SELECT COUNT(*) FROM results), COUNT(*), CAST(SUM(count) AS BIGINT) \
             FROM result_blocks",
            &[],
        )
        .await;
    let [raw, blocks, in_blocks] = [0, 1, 2].map(|i| counts[i].unwrap());
    assert_eq!(raw, 3, "only the open hour's results stay rows");
    assert_eq!(blocks, 24, "a block for each closed hour of the last day");
    assert_eq!(raw + in_blocks, kept.len() as i64);
    let counts = side
        .ints(
            "SELECT COUNT(*), CAST(SUM(count) AS BIGINT) FROM rollups_daily WHERE check_id = $1",
            &[check.id.0],
        )
        .await;
    let [days, counted] = [0, 1].map(|i| counts[i].unwrap());
    assert_eq!(days, 4);
    assert!(
        counted <= total && counted >= total - 6 - 1,
        "{counted} of {total}"
    );

    // Much later: the last partial hour and day are rolled up too; past the hourly
    // retention every hourly row goes, and the daily rows stay.
    let later = Timestamp(now.0 + 95 * DAY);
    let report = rollup_once(&store, &retention, later).await.unwrap();
    assert_eq!((report.hourly_rows, report.daily_rows), (1, 1));
    assert_eq!(report.hourly_pruned, 4 * 24 + 1);
    let days_left = side.ints("SELECT COUNT(*) FROM rollups_daily", &[]).await[0];
    assert_eq!(days_left, Some(5));
    let raw_left = side.ints("SELECT COUNT(*) FROM results", &[]).await[0];
    assert_eq!(
        raw_left,
        Some(0),
        "everything older than a day is gone once rolled up"
    );
}

/// Probes that change nothing write no state row, so "last probe" on the dashboard and the
/// check page comes from the newest result: a raw row while its hour is open, and after the
/// rollup job compacts the hour, the newest block (the job keeps its time in the state row,
/// where the scheduler reads a heartbeat's last ping).
#[tokio::test]
async fn the_last_result_is_shown_though_steady_probes_write_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let (store, name, check) = store_with_check(dir.path(), "steady").await;
    // The first result writes the state; the next three, an hour later, only results.
    let first = 20_000 * DAY;
    let later = [first + HOUR, first + HOUR + 60_000, first + HOUR + 120_000];
    let record = |at: i64, total_ms: u32, write_state: bool| {
        Write::Probe(Record {
            check_id: check.id,
            location: std::sync::Arc::new("local".parse().unwrap()),
            outcome: outcome(at, true, total_ms),
            change: write_state.then(|| {
                Box::new(Change {
                    check_name: name.clone(),
                    votes: Default::default(),
                    state: CheckState::new(Timestamp(first)),
                    transition: None,
                    memory: AlertMemory::default(),
                    alerts: Vec::new(),
                    version: 1,
                })
            }),
        })
    };
    let mut writes = vec![record(first, 50, true)];
    writes.extend(later.iter().map(|&at| record(at, 70, false)));
    writes.push(record(later[2] + 1, 80, false));
    store.record(&writes).await.unwrap();
    let newest = later[2] + 1;

    let now = Timestamp(newest + 1_000);
    let shown = |live: stackwatch::store::LiveCheck| live.last.map(|r| (r.at, r.total_ms));
    let one = store.live_check(check.clone()).await.unwrap();
    let groups = store.state_groups(&[]).await.unwrap();
    let all = store
        .dashboard_page(&DashboardQuery::default(), &[], &groups, 0, 10, now)
        .await
        .unwrap()
        .rows
        .pop()
        .unwrap()
        .live;
    assert_eq!(shown(one), Some((newest, 80)), "from the raw rows");
    assert_eq!(shown(all), Some((newest, 80)));
    let mut side = crate::helpers::SideDb::open(dir.path()).await;
    let state_last_at = async |side: &mut crate::helpers::SideDb| {
        side.ints(
            "SELECT last_at FROM check_state WHERE check_id = $1",
            &[check.id.0],
        )
        .await[0]
            .unwrap()
    };
    assert_eq!(
        state_last_at(&mut side).await,
        first,
        "steady results left the row alone"
    );

    // Two hours on, every result so far is in a block: none is a raw row any more.
    let retention = Retention {
        raw_days: 30,
        hourly_days: 90,
        daily_days: 1825,
    };
    let now = Timestamp(first + 3 * HOUR);
    rollup_once(&store, &retention, now).await.unwrap();
    let raw = side.ints("SELECT COUNT(*) FROM results", &[]).await[0];
    assert_eq!(raw, Some(0), "every result is in a block");
    assert_eq!(state_last_at(&mut side).await, newest);
    let one = store.live_check(check.clone()).await.unwrap();
    let groups = store.state_groups(&[]).await.unwrap();
    let all = store
        .dashboard_page(&DashboardQuery::default(), &[], &groups, 0, 10, now)
        .await
        .unwrap()
        .rows
        .pop()
        .unwrap()
        .live;
    assert_eq!(shown(one), Some((newest, 80)), "read from the newest block");
    assert_eq!(shown(all), Some((newest, 80)));
}
