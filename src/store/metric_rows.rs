//! Every check's labels and state for `/metrics`, read a thousand checks to a query with
//! each query's rows packed into one text, and unpacked without copying.

use futures_util::stream::{self, StreamExt};
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

/// Checks read per query of [`Store::each_metric_row`], packed into one text.
const METRIC_ROWS_PER_PACK: i64 = 1_024;
/// Packs read at once (each on a read connection of its own).
const PACKS_IN_FLIGHT: usize = 2;
/// What separates the checks of a pack, and the fields of one check. Neither can occur in
/// a field: names and stacks are lowercase letters, digits and a few marks, numbers are
/// digits, and votes are JSON, which escapes control characters.
const PACK_ROW: char = '\u{1e}';
const PACK_FIELD: char = '\u{1f}';

/// One pack of metric rows as the query gives it (`None` when its range holds no check).
#[derive(FromRow)]
struct MetricPack {
    rows: Option<String>,
}

/// The checks of one pack, each handed to `each`.
fn unpack_metric_rows<'p>(
    pack: &'p str,
    each: &mut impl FnMut(MetricRow<'p>),
) -> Result<(), StoreError> {
    for record in pack.split(PACK_ROW) {
        let corrupt = |reason: &str| StoreError::Corrupt {
            name: record
                .split(PACK_FIELD)
                .next()
                .unwrap_or_default()
                .to_owned(),
            reason: format!("metric row: {reason}"),
        };
        let mut fields = record.split(PACK_FIELD);
        let mut field = || fields.next().ok_or_else(|| corrupt("too few fields"));
        let number = |f: &str| -> Result<Option<i64>, StoreError> {
            present(f)
                .map(|f| f.parse().map_err(|_| corrupt("a number is not one")))
                .transpose()
        };
        let name = field()?;
        let stack = present(field()?);
        let health = number(field()?)?;
        let cert_not_after = number(field()?)?;
        let kind = field()?;
        let heartbeat = kind == Target::HEARTBEAT;
        let domain = kind == Target::DOMAIN;
        let votes = present(field()?);
        each(MetricRow {
            name,
            stack,
            health,
            cert_not_after,
            heartbeat,
            domain,
            votes,
        });
    }
    Ok(())
}

/// A packed field: empty for none.
fn present(field: &str) -> Option<&str> {
    (!field.is_empty()).then_some(field)
}

impl Store {
    /// Every check's labels and state for `/metrics`, handed to `each` in id order as it is
    /// read: no spec parsed, no uptime tallied and no list of them all held (some 10 MB at
    /// 100,000 checks).
    ///
    /// Each query reads one range of ids (about [`METRIC_ROWS_PER_PACK`] checks) packed
    /// into one text, as a row of a SQLite result costs a few microseconds of the driver's
    /// handing over: a million checks, one row each, took 3 to 9 s to read where 1,024 a
    /// row take well under one. [`PACKS_IN_FLIGHT`] ranges are read at once, on as many
    /// read connections, while the pack before them is handed out.
    pub async fn each_metric_row(
        &self,
        mut each: impl FnMut(MetricRow<'_>),
    ) -> Result<(), StoreError> {
        let (highest, count): (Option<i64>, i64) = Sql::new("SELECT MAX(id), COUNT(*) FROM checks")
            .fetch_one(self.reader())
            .await?;
        let Some(highest) = highest else {
            return Ok(());
        };
        let width = pack_width(highest, count);
        let rows = self.dialect().join_text("line", &PACK_ROW.to_string());
        let text = format!(
            "SELECT {rows} AS rows FROM (\
             SELECT c.id, c.name || '{PACK_FIELD}' || COALESCE(c.stack, '') || '{PACK_FIELD}' \
                 || COALESCE(CAST(s.health AS TEXT), '') || '{PACK_FIELD}' \
                 || COALESCE(CAST(s.cert_not_after AS TEXT), '') || '{PACK_FIELD}' \
                 || c.kind || '{PACK_FIELD}' || COALESCE(s.votes, '') AS line \
             FROM checks c LEFT JOIN check_state s ON s.check_id = c.id \
             WHERE c.id > $1 AND c.id <= $2 ORDER BY c.id) pack"
        );
        let text = text.as_str();
        let starts = (0..highest).step_by(usize::try_from(width).unwrap_or(usize::MAX));
        let mut packs = stream::iter(starts)
            .map(|after| async move {
                Sql::new(text)
                    .bind(after)
                    .bind(after.saturating_add(width))
                    .fetch_one::<MetricPack>(self.reader())
                    .await
            })
            .buffered(PACKS_IN_FLIGHT);
        while let Some(pack) = packs.next().await {
            if let Some(rows) = pack?.rows {
                unpack_metric_rows(&rows, &mut each)?;
            }
        }
        Ok(())
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

    fn unpack(pack: &str) -> Result<Vec<MetricRow<'_>>, StoreError> {
        let mut rows = Vec::new();
        unpack_metric_rows(pack, &mut |row| rows.push(row))?;
        Ok(rows)
    }

    #[test]
    fn a_pack_gives_each_check_with_empty_fields_as_none() {
        let pack = format!(
            "web{f}shop{f}0{f}1700000000000{f}http{f}{{\"fra\":1}}{r}job{f}{f}{f}{f}heartbeat{f}",
            f = PACK_FIELD,
            r = PACK_ROW
        );
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
                    votes: Some("{\"fra\":1}"),
                },
                MetricRow {
                    name: "job",
                    stack: None,
                    health: None,
                    cert_not_after: None,
                    heartbeat: true,
                    domain: false,
                    votes: None,
                },
            ]
        );
    }

    #[test]
    fn a_pack_of_a_domain_check_says_so() {
        let pack = format!(
            "example-org{f}{f}0{f}1800000000000{f}domain{f}",
            f = PACK_FIELD
        );
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
    fn a_pack_cut_short_or_with_a_bad_number_is_refused_naming_the_check() {
        let short = format!("web{f}shop{f}0", f = PACK_FIELD);
        let bad = format!("web{f}{f}up{f}{f}http{f}", f = PACK_FIELD);
        for pack in [short, bad] {
            match unpack(&pack) {
                Err(StoreError::Corrupt { name, .. }) => assert_eq!(name, "web"),
                other => panic!("{pack:?}: {other:?}"),
            }
        }
    }
}
