//! The compact form of one check's results of one closed hour: columns of delta-encoded
//! varints (timestamps delta-of-delta), runs of zeros stored as a count, errors as a small
//! dictionary. A steady check's hour of results costs a few bytes per probe instead of a row.

use super::results::ResultRow;

/// The first byte of every block: the form it was written in. Form 1 had no locations
/// (its results were all the server's, at its default location); form 2 adds them.
const FORM: u8 = 2;
const FORM_BEFORE_LOCATIONS: u8 = 1;
/// The location of every result of a form 1 block.
const LOCATION_BEFORE_LOCATIONS: &str = "local";

/// More results than one hour of probes can hold (one a millisecond), against damaged counts.
const MAX_ROWS: usize = 3_600_000;

/// A block that cannot be read back: the database was altered or damaged.
#[derive(Debug, thiserror::Error)]
#[error("a stored block of results cannot be read: {0}")]
pub struct BadBlock(&'static str);

/// Encodes rows (sorted by `at`, all in the hour starting at `hour_start_ms`).
pub fn encode(hour_start_ms: i64, rows: &[ResultRow]) -> Vec<u8> {
    let mut out = vec![FORM];
    put_varint(&mut out, rows.len() as u64);
    let column = |f: &dyn Fn(&ResultRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let at = column(&|r| r.at - hour_start_ms);
    put_column(&mut out, &deltas(&deltas(&at)));
    let optional = |v: Option<i64>| v.map_or(0, |v| v.saturating_add(1));
    for values in [
        column(&|r| r.outcome),
        column(&|r| optional(r.status)),
        column(&|r| optional(r.dns_ms)),
        column(&|r| optional(r.connect_ms)),
        column(&|r| optional(r.tls_ms)),
        column(&|r| optional(r.ttfb_ms)),
        column(&|r| r.total_ms),
        column(&|r| optional(r.lost)),
    ] {
        put_column(&mut out, &deltas(&values));
    }
    put_texts(&mut out, rows.iter().map(|r| r.error.as_deref()));
    put_texts(&mut out, rows.iter().map(|r| Some(r.location.as_str())));
    out
}

/// A column of optional texts: each an index into a dictionary of the distinct ones (0 for
/// none), then the dictionary.
fn put_texts<'a>(out: &mut Vec<u8>, texts: impl Iterator<Item = Option<&'a str>>) {
    let mut dictionary: Vec<&str> = Vec::new();
    let mut indexes = Vec::new();
    for text in texts {
        indexes.push(match text {
            None => 0,
            Some(text) => {
                let index = match dictionary.iter().position(|d| *d == text) {
                    Some(index) => index,
                    None => {
                        dictionary.push(text);
                        dictionary.len() - 1
                    }
                };
                index as i64 + 1
            }
        });
    }
    put_column(out, &deltas(&indexes));
    put_varint(out, dictionary.len() as u64);
    for text in dictionary {
        put_varint(out, text.len() as u64);
        out.extend_from_slice(text.as_bytes());
    }
}

/// Decodes a block written by [`encode`], rows in time order.
pub fn decode(hour_start_ms: i64, block: &[u8]) -> Result<Vec<ResultRow>, BadBlock> {
    let mut input = Reader { rest: block };
    let form = input.byte()?;
    if form != FORM && form != FORM_BEFORE_LOCATIONS {
        return Err(BadBlock("unknown form"));
    }
    let n = usize::try_from(input.varint()?).map_err(|_| BadBlock("count"))?;
    if n > MAX_ROWS {
        return Err(BadBlock("more results than an hour can hold"));
    }
    let at = sums(&sums(&input.column(n)?));
    let mut columns = Vec::with_capacity(8);
    for _ in 0..8 {
        columns.push(sums(&input.column(n)?));
    }
    let mut errors = input.texts(n)?.into_iter();
    let mut locations = if form == FORM {
        input.texts(n)?
    } else {
        vec![Some(LOCATION_BEFORE_LOCATIONS.to_owned()); n]
    }
    .into_iter();
    let optional = |v: i64| (v != 0).then(|| v - 1);
    (0..n)
        .map(|i| {
            let error = errors.next().ok_or(BadBlock("error count"))?;
            let location = locations.next().flatten().ok_or(BadBlock("location"))?;
            Ok(ResultRow {
                at: hour_start_ms + at[i],
                location,
                outcome: columns[0][i],
                status: optional(columns[1][i]),
                dns_ms: optional(columns[2][i]),
                connect_ms: optional(columns[3][i]),
                tls_ms: optional(columns[4][i]),
                ttfb_ms: optional(columns[5][i]),
                total_ms: columns[6][i],
                lost: optional(columns[7][i]),
                error,
            })
        })
        .collect()
}

fn deltas(values: &[i64]) -> Vec<i64> {
    let mut previous = 0i64;
    values
        .iter()
        .map(|v| {
            let d = v.wrapping_sub(previous);
            previous = *v;
            d
        })
        .collect()
}

fn sums(deltas: &[i64]) -> Vec<i64> {
    let mut total = 0i64;
    deltas
        .iter()
        .map(|d| {
            total = total.wrapping_add(*d);
            total
        })
        .collect()
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A column: each value zigzag-varint encoded, a run of zeros as `0` and the run's length.
fn put_column(out: &mut Vec<u8>, values: &[i64]) {
    let mut i = 0;
    while i < values.len() {
        if values[i] == 0 {
            let run = values[i..].iter().take_while(|v| **v == 0).count();
            out.push(0);
            put_varint(out, run as u64);
            i += run;
        } else {
            put_varint(out, zigzag(values[i]));
            i += 1;
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, BadBlock> {
        let (first, rest) = self.rest.split_first().ok_or(BadBlock("ends early"))?;
        self.rest = rest;
        Ok(*first)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], BadBlock> {
        if len > self.rest.len() {
            return Err(BadBlock("ends early"));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn varint(&mut self) -> Result<u64, BadBlock> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BadBlock("varint too long"))
    }

    fn column(&mut self, n: usize) -> Result<Vec<i64>, BadBlock> {
        let mut values = Vec::with_capacity(n.min(4096));
        while values.len() < n {
            match self.varint()? {
                0 => {
                    let run = usize::try_from(self.varint()?).map_err(|_| BadBlock("run"))?;
                    if run == 0 || run > n - values.len() {
                        return Err(BadBlock("run longer than the column"));
                    }
                    values.resize(values.len() + run, 0);
                }
                v => values.push(unzigzag(v)),
            }
        }
        Ok(values)
    }

    /// A column written by [`put_texts`].
    fn texts(&mut self, n: usize) -> Result<Vec<Option<String>>, BadBlock> {
        let indexes = sums(&self.column(n)?);
        let words = usize::try_from(self.varint()?).map_err(|_| BadBlock("dictionary size"))?;
        let mut dictionary = Vec::with_capacity(words.min(self.rest.len()));
        for _ in 0..words {
            let len = usize::try_from(self.varint()?).map_err(|_| BadBlock("text length"))?;
            let text = self.take(len)?;
            dictionary.push(String::from_utf8(text.to_vec()).map_err(|_| BadBlock("text"))?);
        }
        indexes
            .into_iter()
            .map(|k| match k {
                0 => Ok(None),
                k => usize::try_from(k - 1)
                    .ok()
                    .and_then(|k| dictionary.get(k))
                    .cloned()
                    .map(Some)
                    .ok_or(BadBlock("text index")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000 * 490_000;

    fn row(i: i64) -> ResultRow {
        let up = i % 7 != 3;
        ResultRow {
            at: HOUR + i * 60_000 + (i * 37) % 11,
            location: if i % 3 == 0 { "fra" } else { "local" }.to_owned(),
            outcome: if up { 0 } else { 5 },
            status: up.then_some(200),
            dns_ms: Some(i % 3),
            connect_ms: Some(1),
            tls_ms: None,
            ttfb_ms: Some(20 + i % 13),
            total_ms: 21 + i % 17,
            error: (!up).then(|| format!("status {}", 500 + i % 2)),
            lost: None,
        }
    }

    #[test]
    fn an_hour_comes_back_exactly_as_it_went_in() {
        let rows: Vec<ResultRow> = (0..60).map(row).collect();
        let block = encode(HOUR, &rows);
        assert_eq!(decode(HOUR, &block).unwrap(), rows);
        // Eight bytes a result, and one more for a location that changes every few.
        assert!(
            block.len() < 60 * 9,
            "{} bytes for 60 varied results",
            block.len()
        );
    }

    #[test]
    fn a_steady_hour_costs_a_few_bytes_per_result() {
        let rows: Vec<ResultRow> = (0..60)
            .map(|i| ResultRow {
                at: HOUR + i * 60_000 + i % 2,
                location: "local".to_owned(),
                outcome: 0,
                status: Some(200),
                dns_ms: Some(0),
                connect_ms: Some(0),
                tls_ms: None,
                ttfb_ms: Some(1),
                total_ms: 1,
                error: None,
                lost: None,
            })
            .collect();
        let block = encode(HOUR, &rows);
        assert_eq!(decode(HOUR, &block).unwrap(), rows);
        assert!(block.len() < 60 * 3, "{} bytes", block.len());
    }

    #[test]
    fn extreme_values_and_an_empty_hour_survive() {
        let mut odd = row(1);
        odd.total_ms = i64::from(u32::MAX);
        odd.lost = Some(0);
        odd.error = Some("ünïcode ✓".into());
        let rows = vec![odd];
        assert_eq!(decode(HOUR, &encode(HOUR, &rows)).unwrap(), rows);
        assert_eq!(decode(HOUR, &encode(HOUR, &[])).unwrap(), vec![]);
    }

    /// A block written before locations existed reads back as the server's results at
    /// its default location.
    #[test]
    fn a_block_from_before_locations_reads_as_the_default_location() {
        let rows: Vec<ResultRow> = (0..60)
            .map(|i| ResultRow {
                location: LOCATION_BEFORE_LOCATIONS.to_owned(),
                ..row(i)
            })
            .collect();
        let mut block = encode(HOUR, &rows);
        let mut location_column = Vec::new();
        put_texts(
            &mut location_column,
            rows.iter().map(|r| Some(r.location.as_str())),
        );
        assert!(block.ends_with(&location_column));
        block.truncate(block.len() - location_column.len());
        block[0] = FORM_BEFORE_LOCATIONS;
        assert_eq!(decode(HOUR, &block).unwrap(), rows);
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_panic() {
        let block = encode(HOUR, &(0..60).map(row).collect::<Vec<_>>());
        for cut in 0..block.len() {
            assert!(decode(HOUR, &block[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(HOUR, &[FORM, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(decode(HOUR, &[9]).is_err());
    }
}
