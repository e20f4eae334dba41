//! Every check's labels and state for `/metrics`, read a thousand checks to a query with
//! each query's rows packed into one text, and unpacked without copying.

use std::sync::Arc;

use futures_util::stream::{self, Stream, StreamExt};
use sqlx::FromRow;

use super::db::Sql;
use super::{Store, StoreError};
use crate::domain::{Health, LocationName, Target};

/// What `/metrics` shows of one check: its labels and confirmed state, nothing parsed,
/// borrowed from the pack it was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricRow<'a> {
    pub name: &'a str,
    pub stack: Option<&'a str>,
    /// The health code; `None` before the first probe.
    pub health: Option<i64>,
    pub cert_not_after: Option<i64>,
    /// A heartbeat.
    pub heartbeat: bool,
    /// A domain check (`cert_not_after` is its registration's expiry).
    pub domain: bool,
    /// It has a `degraded_after_ms`: it can be degraded.
    pub degradable: bool,
    /// Each location's verdict, for a check probed from several (see `domain::Votes`).
    pub votes: Option<&'a str>,
}

impl MetricRow<'_> {
    /// Each location's health, for a check probed from several.
    pub fn location_healths(&self) -> Vec<(LocationName, Health)> {
        super::states::votes_of(self.votes)
            .iter()
            .map(|(location, vote)| (location.clone(), vote.state.health))
            .collect()
    }
}

/// Checks read per query of [`Store::metric_packs`], each column packed into one text.
const METRIC_ROWS_PER_PACK: i64 = 1_024;
/// Packs read at once (each on a read connection of its own).
const PACKS_IN_FLIGHT: usize = 2;
/// What separates the checks in a packed column. It cannot occur in a field: names and
/// stacks are lowercase letters, digits and a few marks, numbers are digits, kinds are
/// fixed words, and votes are JSON, which escapes control characters.
const PACK_ROW: char = '\u{1e}';

/// One pack of metric rows as the query gives it: each column of the range's checks
/// joined by [`PACK_ROW`], all in the same order, an absent value as an empty field
/// (every column `None` when the range holds no check).
#[derive(FromRow, Default)]
pub struct MetricPack {
    names: Option<String>,
    stacks: Option<String>,
    healths: Option<String>,
    certs: Option<String>,
    kinds: Option<String>,
    votes: Option<String>,
    degradables: Option<String>,
}

/// The checks of one pack, each handed to `each`.
fn unpack_metric_rows<'p>(
    pack: &'p MetricPack,
    each: &mut impl FnMut(MetricRow<'p>),
) -> Result<(), StoreError> {
    let Some(names) = pack.names.as_deref() else {
        return Ok(());
    };
    let column = |packed: &'p Option<String>| packed.as_deref().unwrap_or_default().split(PACK_ROW);
    let mut columns = [
        column(&pack.stacks),
        column(&pack.healths),
        column(&pack.certs),
        column(&pack.kinds),
        column(&pack.votes),
        column(&pack.degradables),
    ];
    for name in names.split(PACK_ROW) {
        let corrupt = |reason: &str| StoreError::Corrupt {
            name: name.to_owned(),
            reason: format!("metric row: {reason}"),
        };
        let mut fields = [""; 6];
        for (field, column) in fields.iter_mut().zip(&mut columns) {
            *field = column.next().ok_or_else(|| corrupt("too few fields"))?;
        }
        let [stack, health, cert_not_after, kind, votes, degradable] = fields;
        let number = |f: &str| -> Result<Option<i64>, StoreError> {
            present(f)
                .map(|f| f.parse().map_err(|_| corrupt("a number is not one")))
                .transpose()
        };
        each(MetricRow {
            name,
            stack: present(stack),
            health: number(health)?,
            cert_not_after: number(cert_not_after)?,
            heartbeat: kind == Target::HEARTBEAT,
            domain: kind == Target::DOMAIN,
            degradable: !degradable.is_empty(),
            votes: present(votes),
        });
    }
    if columns.iter_mut().any(|column| column.next().is_some()) {
        return Err(StoreError::Corrupt {
            name: names.rsplit(PACK_ROW).next().unwrap_or_default().to_owned(),
            reason: "metric row: more fields than checks".to_owned(),
        });
    }
    Ok(())
}

/// A packed field: empty for none.
fn present(field: &str) -> Option<&str> {
    (!field.is_empty()).then_some(field)
}

impl MetricPack {
    /// Hands each check of this pack to `each`, in the pack's order.
    pub fn each_row(&self, each: &mut impl FnMut(MetricRow<'_>)) -> Result<(), StoreError> {
        unpack_metric_rows(self, each)
    }
}

impl Store {
    /// Every check's labels and state for `/metrics`, as packs of about
    /// [`METRIC_ROWS_PER_PACK`] checks, range of ids by range (in id order on SQLite): no
    /// spec parsed, no uptime tallied and no list of them all held (some 10 MB at 100,000
    /// checks), so the caller can send each pack's lines before the next is read.
    ///
    /// Each query reads one range of ids, each column packed into one text, as a row of a
    /// SQLite result costs a few microseconds of the driver's handing over: a million
    /// checks, one row each, took 3 to 9 s to read where 1,024 a row take well under one. A
    /// column is packed by one aggregate: joining each check's fields into one text first
    /// took SQLite twice as long, a new string for each `||`. [`PACKS_IN_FLIGHT`] ranges are
    /// read at once, on as many read connections, while the pack before them is handed out.
    pub async fn metric_packs(
        &self,
    ) -> Result<impl Stream<Item = Result<MetricPack, StoreError>> + '_, StoreError> {
        // Apart, as together SQLite reads every row for the maximum too.
        let (highest, count): (Option<i64>, i64) =
            Sql::new("SELECT (SELECT MAX(id) FROM checks), (SELECT COUNT(*) FROM checks)")
                .fetch_one(self.reader())
                .await?;
        let width = pack_width(highest.unwrap_or(0), count);
        let packed = |expr: &str, column: &str| {
            let joined = self.dialect().join_text(expr, &PACK_ROW.to_string());
            format!("{joined} AS {column}")
        };
        // Every aggregate steps through the same rows in the same order, so the columns
        // line up. No ordered subquery: SQLite walks the range in id order anyway, and it
        // read the subquery through a co-routine, half as long again.
        let text: Arc<str> = format!(
            "SELECT {}, {}, {}, {}, {}, {}, {} \
             FROM checks c LEFT JOIN check_state s ON s.check_id = c.id \
             WHERE c.id > $1 AND c.id <= $2",
            packed("c.name", "names"),
            packed("COALESCE(c.stack, '')", "stacks"),
            packed("COALESCE(CAST(s.health AS TEXT), '')", "healths"),
            packed("COALESCE(CAST(s.cert_not_after AS TEXT), '')", "certs"),
            packed("c.kind", "kinds"),
            packed("COALESCE(s.votes, '')", "votes"),
            packed(
                "CASE WHEN c.degraded_after_ms IS NULL THEN '' ELSE '1' END",
                "degradables",
            ),
        )
        .into();
        let starts =
            (0..highest.unwrap_or(0)).step_by(usize::try_from(width).unwrap_or(usize::MAX));
        Ok(stream::iter(starts)
            .map(move |after| {
                let text = Arc::clone(&text);
                async move {
                    Sql::new(&*text)
                        .bind(after)
                        .bind(after.saturating_add(width))
                        .fetch_one::<MetricPack>(self.reader())
                        .await
                        .map_err(StoreError::from)
                }
            })
            .buffered(PACKS_IN_FLIGHT))
    }
}

/// How many ids one pack's range spans, so that it holds about [`METRIC_ROWS_PER_PACK`]
/// of the `count` checks whose ids reach `highest` (ids of deleted checks are not reused,
/// so they thin out over time).
fn pack_width(highest: i64, count: i64) -> i64 {
    let per_check = highest.checked_div(count).unwrap_or(1).max(1);
    METRIC_ROWS_PER_PACK.saturating_mul(per_check)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pack of these checks' fields (name, stack, health, expiry, kind, votes, degradable).
    fn pack(checks: &[[&str; 7]]) -> MetricPack {
        let column = |i: usize| {
            let fields: Vec<&str> = checks.iter().map(|c| c[i]).collect();
            (!checks.is_empty()).then(|| fields.join(&PACK_ROW.to_string()))
        };
        MetricPack {
            names: column(0),
            stacks: column(1),
            healths: column(2),
            certs: column(3),
            kinds: column(4),
            votes: column(5),
            degradables: column(6),
        }
    }

    fn unpack(pack: &MetricPack) -> Result<Vec<MetricRow<'_>>, StoreError> {
        let mut rows = Vec::new();
        unpack_metric_rows(pack, &mut |row| rows.push(row))?;
        Ok(rows)
    }

    #[test]
    fn a_pack_gives_each_check_with_empty_fields_as_none() {
        let pack = pack(&[
            [
                "web",
                "shop",
                "0",
                "1700000000000",
                "http",
                "{\"fra\":1}",
                "1",
            ],
            ["job", "", "", "", "heartbeat", "", ""],
        ]);
        let rows = unpack(&pack).unwrap();
        assert_eq!(
            rows,
            vec![
                MetricRow {
                    name: "web",
                    stack: Some("shop"),
                    health: Some(0),
                    cert_not_after: Some(1_700_000_000_000),
                    heartbeat: false,
                    domain: false,
                    degradable: true,
                    votes: Some("{\"fra\":1}"),
                },
                MetricRow {
                    name: "job",
                    stack: None,
                    health: None,
                    cert_not_after: None,
                    heartbeat: true,
                    domain: false,
                    degradable: false,
                    votes: None,
                },
            ]
        );
        assert_eq!(unpack(&MetricPack::default()).unwrap(), vec![]);
    }

    #[test]
    fn a_pack_of_a_domain_check_says_so() {
        let pack = pack(&[["example-org", "", "0", "1800000000000", "domain", "", ""]]);
        let rows = unpack(&pack).unwrap();
        assert!(rows[0].domain && !rows[0].heartbeat);
        assert_eq!(rows[0].cert_not_after, Some(1_800_000_000_000));
    }

    #[test]
    fn a_pack_spans_more_ids_as_deleted_checks_thin_them_out() {
        assert_eq!(pack_width(1_000_000, 1_000_000), METRIC_ROWS_PER_PACK);
        assert_eq!(pack_width(5, 1_000), METRIC_ROWS_PER_PACK);
        assert_eq!(pack_width(4_000_000, 1_000_000), 4 * METRIC_ROWS_PER_PACK);
        assert_eq!(pack_width(7, 0), METRIC_ROWS_PER_PACK);
    }

    #[test]
    fn a_pack_whose_columns_disagree_or_with_a_bad_number_is_refused_naming_a_check() {
        let web = ["web", "shop", "0", "", "http", "", ""];
        let mut short = pack(&[web, ["db", "", "1", "", "tcp", "", ""]]);
        short.certs = Some(String::new());
        let mut long = pack(&[web]);
        long.kinds = Some(format!("http{PACK_ROW}tcp"));
        let bad = pack(&[["web", "", "up", "", "http", "", ""]]);
        for (pack, check) in [(short, "db"), (long, "web"), (bad, "web")] {
            match unpack(&pack) {
                Err(StoreError::Corrupt { name, .. }) => assert_eq!(name, check),
                other => panic!("{check}: {other:?}"),
            }
        }
    }
}
