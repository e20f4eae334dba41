//! What the StatusCake-compatible API needs beyond checks: a check by its numeric id, the
//! StatusCake fields kept beside a check, and writes of a check together with them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::check_write::upsert_in;
use super::checks::{CheckRow, SELECT_CHECK, fetch_check};
use super::db::Sql;
use super::{CheckWrite, Store, StoreError, Upsert, WriteMode};
use crate::domain::{Check, CheckId, CheckName};

/// StatusCake fields kept beside a check, as a JSON object.
pub type StatusCakeFields = Map<String, Value>;

/// The kept field that marks a check made through `/v1/ssl` (an SSL test, not an uptime
/// test), as key and value.
const SSL_TEST: (&str, &str) = ("test_kind", "ssl");

/// Marks `fields` as those of an SSL test.
pub fn mark_ssl_test(fields: &mut StatusCakeFields) {
    fields.insert(SSL_TEST.0.into(), Value::from(SSL_TEST.1));
}

/// Whether these kept fields are an SSL test's.
pub fn is_ssl_test(fields: &StatusCakeFields) -> bool {
    fields.get(SSL_TEST.0).and_then(Value::as_str) == Some(SSL_TEST.1)
}

/// A `LIKE` pattern matching the stored fields of every SSL test. Kept fields are written
/// by `serde_json` without spaces, and a quote inside a value is escaped, so only the key
/// itself matches.
pub(super) fn ssl_test_pattern() -> String {
    format!("%\"{}\":\"{}\"%", SSL_TEST.0, SSL_TEST.1)
}

impl Store {
    /// The check with this id, if any.
    pub async fn check_by_id(&self, id: CheckId) -> Result<Option<Check>, StoreError> {
        let row: Option<CheckRow> = Sql::new(format!("{SELECT_CHECK} WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.reader())
            .await?;
        row.map(Check::try_from).transpose()
    }

    /// The StatusCake fields of these checks (those written through `/v1`).
    pub async fn statuscake_fields(
        &self,
        ids: &[CheckId],
    ) -> Result<HashMap<CheckId, StatusCakeFields>, StoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(super::checks::NAMES_PER_QUERY) {
            let mut query = Sql::new("SELECT check_id, fields FROM statuscake_fields");
            query.push(" WHERE check_id IN ");
            query.push_list(chunk.iter().map(|id| id.0));

            let rows: Vec<(i64, String)> = query.fetch_all(self.reader()).await?;
            for (id, text) in rows {
                // A row that no longer parses is answered as if absent, not as an error.
                if let Ok(Value::Object(fields)) = serde_json::from_str(&text) {
                    found.insert(CheckId(id), fields);
                }
            }
        }
        Ok(found)
    }

    /// Writes a check and its StatusCake fields in one transaction. With `pick_free_name`
    /// the check is new: `name` is a first choice, and `name-2`, `name-3`… are tried
    /// while the name is taken.
    pub async fn write_statuscake_check(
        &self,
        name: &CheckName,
        pick_free_name: bool,
        write: CheckWrite,
        fields: &StatusCakeFields,
        mode: WriteMode,
    ) -> Result<Upsert, StoreError> {
        let mut tx = self.begin_config().await?;
        let mut chosen = name.clone();
        let mut n = 1;
        while pick_free_name && fetch_check(tx.on(), &chosen).await?.is_some() {
            n += 1;
            let suffix = format!("-{n}");
            let stem: String = name
                .as_str()
                .chars()
                .take(128 - suffix.len())
                .collect::<String>()
                .trim_end_matches(['-', '.', '_'])
                .to_owned();
            chosen = CheckName::try_from(format!("{stem}{suffix}")).map_err(|e| {
                StoreError::Corrupt {
                    name: name.to_string(),
                    reason: e.to_string(),
                }
            })?;
        }
        let outcome = upsert_in(&mut tx, &chosen, write, mode.now).await?;
        Sql::new(
            "INSERT INTO statuscake_fields (check_id, fields) VALUES ($1, $2) \
             ON CONFLICT (check_id) DO UPDATE SET fields = excluded.fields",
        )
        .bind(outcome.check().id.0)
        .bind(Value::Object(fields.clone()).to_string())
        .execute(tx.on())
        .await?;
        mode.finish(tx).await?;
        Ok(outcome)
    }
}
