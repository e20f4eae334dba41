//! Every check's labels and state for `/metrics`, read a thousand checks to a query with
//! each query's rows packed into one text, and unpacked without copying.

use sqlx::FromRow;

use super::db::{Dialect, Sql};
use super::{Store, StoreError};
use crate::domain::{Health, LocationName};

/// What `/metrics` shows of one check: its labels and confirmed state, nothing parsed,
/// borrowed from the pack it was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricRow<'a> {
    pub name: &'a str,
    pub stack: Option<&'a str>,
    /// The health code; `None` before the first probe.
    pub health: Option<i64>,
    pub cert_not_after: Option<i64>,
    /// A heartbeat (it has a ping key).
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
/// What separates the checks of a pack, and the fields of one check. Neither can occur in
/// a field: names and stacks are lowercase letters, digits and a few marks, numbers are
/// digits, and votes are JSON, which escapes control characters.
const PACK_ROW: char = '\u{1e}';
const PACK_FIELD: char = '\u{1f}';

/// One pack of metric rows as the query gives it: the last check id in it, and the rows.
#[derive(FromRow)]
struct MetricPack {
    last: Option<i64>,
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
        let heartbeat = field()? == "1";
        let domain = field()? == "1";
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
    /// Every check's labels and state for `/metrics`, handed to `each` as it is read: no
    /// spec parsed, no uptime tallied and no list of them all held (some 10 MB at 100,000
    /// checks). They come in id order, [`METRIC_ROWS_PER_PACK`] per query packed into one
    /// text, as a row of a SQLite result costs a few microseconds of the driver's handing
    /// over: a million checks, one row each, took 3 to 9 s to read where 1,024 a row take
    /// well under one.
    pub async fn each_metric_row(
        &self,
        mut each: impl FnMut(MetricRow<'_>),
    ) -> Result<(), StoreError> {
        let aggregate = match self.dialect() {
            Dialect::Sqlite => "group_concat",
            Dialect::Postgres => "string_agg",
        };
        let text = format!(
            "SELECT MAX(id) AS last, {aggregate}(line, '{PACK_ROW}') AS rows FROM (\
             SELECT c.id, c.name || '{PACK_FIELD}' || COALESCE(c.stack, '') || '{PACK_FIELD}' \
                 || COALESCE(CAST(s.health AS TEXT), '') || '{PACK_FIELD}' \
                 || COALESCE(CAST(s.cert_not_after AS TEXT), '') || '{PACK_FIELD}' \
                 || CASE WHEN c.ping_key IS NULL THEN '0' ELSE '1' END || '{PACK_FIELD}' \
                 || CASE WHEN c.kind = 'domain' THEN '1' ELSE '0' END || '{PACK_FIELD}' \
                 || COALESCE(s.votes, '') AS line \
             FROM checks c LEFT JOIN check_state s ON s.check_id = c.id \
             WHERE c.id > $1 ORDER BY c.id LIMIT $2) pack"
        );
        let mut after = 0;
        loop {
            let pack: MetricPack = Sql::new(text.as_str())
                .bind(after)
                .bind(METRIC_ROWS_PER_PACK)
                .fetch_one(self.reader())
                .await?;
            let (Some(last), Some(rows)) = (pack.last, pack.rows) else {
                return Ok(());
            };
            unpack_metric_rows(&rows, &mut each)?;
            after = last;
        }
    }
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
            "web{f}shop{f}0{f}1700000000000{f}0{f}0{f}{{\"fra\":1}}{r}job{f}{f}{f}{f}1{f}0{f}",
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
    fn a_pack_cut_short_or_with_a_bad_number_is_refused_naming_the_check() {
        let short = format!("web{f}shop{f}0", f = PACK_FIELD);
        let bad = format!("web{f}{f}up{f}{f}0{f}0{f}", f = PACK_FIELD);
        for pack in [short, bad] {
            match unpack(&pack) {
                Err(StoreError::Corrupt { name, .. }) => assert_eq!(name, "web"),
                other => panic!("{pack:?}: {other:?}"),
            }
        }
    }
}
