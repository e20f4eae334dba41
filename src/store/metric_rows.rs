//! Every check's labels and state for `/metrics`, read a thousand checks to a query with
//! each query's rows packed into three texts, and unpacked without copying.

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
/// Packs asked for at once, each on a read connection of its own. The stream asks for
/// the next pack only as it hands one out, so while a pack is written out the other two
/// are read; with two, one query ran at a time.
const PACKS_IN_FLIGHT: usize = 3;
/// What separates the checks in a packed column. It cannot occur in a field: names and
/// stacks are lowercase letters, digits and a few marks, numbers are digits, and votes
/// are JSON, which escapes control characters.
const PACK_ROW: u8 = 0x1e;
/// What separates a check's state code from its expiry and its votes in the states
/// column; both are left out, with their separators, when the check has neither.
const PACK_FIELD: u8 = 0x1f;
/// The hundreds of a state code for a check without a state yet (health codes are 0 to 3).
const NO_HEALTH: u16 = 9;
/// The tens of a state code: the kinds `/metrics` tells apart.
const KIND_HEARTBEAT: u16 = 1;
const KIND_DOMAIN: u16 = 2;

/// One pack of metric rows as the query gives it: each column of the range's checks
/// joined by [`PACK_ROW`], all in the same order, an absent stack as an empty field
/// (every column `None` when the range holds no check).
///
/// A check's state is one field: a code of three digits (the health code or
/// [`NO_HEALTH`], the kind, 1 when it is degradable), followed, only when the check has
/// an expiry or votes, by [`PACK_FIELD`], the expiry (empty for none), [`PACK_FIELD`] and
/// the votes (empty for none). A number in the common case, it spares SQLite a text
/// built for each check, and four aggregates (see [`Store::metric_packs`]).
#[derive(FromRow, Default)]
pub struct MetricPack {
    names: Option<String>,
    stacks: Option<String>,
    states: Option<String>,
}

/// The checks of one pack, each handed to `each`.
fn unpack_metric_rows<'p>(
    pack: &'p MetricPack,
    each: &mut impl FnMut(MetricRow<'p>),
) -> Result<(), StoreError> {
    let Some(names) = pack.names.as_deref() else {
        return Ok(());
    };
    let column =
        |packed: &'p Option<String>| fields(packed.as_deref().unwrap_or_default(), PACK_ROW);
    let mut stacks = column(&pack.stacks);
    let mut states = column(&pack.states);
    for name in fields(names, PACK_ROW) {
        let corrupt = |reason: &str| StoreError::Corrupt {
            name: name.to_owned(),
            reason: format!("metric row: {reason}"),
        };
        let (Some(stack), Some(state)) = (stacks.next(), states.next()) else {
            return Err(corrupt("too few fields"));
        };
        let mut state = fields(state, PACK_FIELD);
        let code = state.next().and_then(StateCode::parse);
        let code = code.ok_or_else(|| corrupt("not a state code"))?;
        let (cert_not_after, votes) = match (state.next(), state.next(), state.next()) {
            (None, ..) => ("", ""),
            (Some(cert_not_after), Some(votes), None) => (cert_not_after, votes),
            _ => {
                return Err(corrupt(
                    "a state's fields are not a code, an expiry and votes",
                ));
            }
        };
        let cert_not_after = present(cert_not_after)
            .map(|t| t.parse().map_err(|_| corrupt("an expiry is not a number")))
            .transpose()?;
        each(MetricRow {
            name,
            stack: present(stack),
            health: code.health,
            cert_not_after,
            heartbeat: code.kind == KIND_HEARTBEAT,
            domain: code.kind == KIND_DOMAIN,
            degradable: code.degradable,
            votes: present(votes),
        });
    }
    if stacks.next().is_some() || states.next().is_some() {
        return Err(StoreError::Corrupt {
            name: fields(names, PACK_ROW)
                .last()
                .unwrap_or_default()
                .to_owned(),
            reason: "metric row: more fields than checks".to_owned(),
        });
    }
    Ok(())
}

/// A check's state code, read (see [`MetricPack`]).
struct StateCode {
    health: Option<i64>,
    kind: u16,
    degradable: bool,
}

impl StateCode {
    /// The code's three digits, each in its range.
    fn parse(code: &str) -> Option<Self> {
        let code: u16 = code.parse().ok()?;
        let (health, kind, degradable) = (code / 100, code / 10 % 10, code % 10);
        let health = match health {
            NO_HEALTH => None,
            0..=3 => Some(i64::from(health)),
            _ => return None,
        };
        (kind <= KIND_DOMAIN && degradable <= 1).then_some(Self {
            health,
            kind,
            degradable: degradable == 1,
        })
    }
}

/// The fields of `packed` between each `separator` (ASCII), as `str::split` gives them.
/// The separator is looked for byte by byte: a field is a few bytes, and a search per
/// field, a million of them a scrape, cost more than the looking.
fn fields(packed: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(packed);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.bytes().position(|b| b == separator) {
            Some(at) => {
                rest = Some(&text[at + 1..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
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
    /// column is packed by one aggregate, and there are three (see [`MetricPack`]): the
    /// million's ranges took the `sqlite3` shell 1.3 s with seven and 0.6 s with three,
    /// and a text joined by `||` for every check took longer than an aggregate more. Up to
    /// [`PACKS_IN_FLIGHT`] ranges are read at once, on as many read connections.
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
            let joined = self
                .dialect()
                .join_text(expr, &char::from(PACK_ROW).to_string());
            format!("{joined} AS {column}")
        };
        let code = format!(
            "CAST(COALESCE(s.health, {NO_HEALTH}) * 100 \
             + CASE c.kind WHEN '{}' THEN {} WHEN '{}' THEN {} ELSE 0 END \
             + CASE WHEN c.degraded_after_ms IS NULL THEN 0 ELSE 1 END AS TEXT)",
            Target::HEARTBEAT,
            KIND_HEARTBEAT * 10,
            Target::DOMAIN,
            KIND_DOMAIN * 10,
        );
        let field = char::from(PACK_FIELD);
        let state = format!(
            "CASE WHEN s.cert_not_after IS NULL AND s.votes IS NULL THEN {code} \
             ELSE {code} || '{field}' || COALESCE(CAST(s.cert_not_after AS TEXT), '') \
             || '{field}' || COALESCE(s.votes, '') END"
        );
        // Every aggregate steps through the same rows in the same order, so the columns
        // line up. No ordered subquery: SQLite walks the range in id order anyway, and it
        // read the subquery through a co-routine, half as long again.
        let text: Arc<str> = format!(
            "SELECT {}, {}, {} \
             FROM checks c LEFT JOIN check_state s ON s.check_id = c.id \
             WHERE c.id > $1 AND c.id <= $2",
            packed("c.name", "names"),
            packed("COALESCE(c.stack, '')", "stacks"),
            packed(&state, "states"),
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
mod tests;
