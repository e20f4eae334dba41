//! The one face over both databases: SQL text with `$n` parameters and its arguments, run
//! on SQLite or PostgreSQL through each one's own sqlx driver, rows decoded natively (a
//! SQLite INTEGER flag reads as a bool, a PostgreSQL BOOLEAN too). Every query of the store
//! is written once in the SQL both read; the few spellings that differ live in [`Dialect`].
//! On SQLite, parameters numbered in order are bound as anonymous `?` (see `sqlite_params`).

use std::borrow::Cow;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{FromRow, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

/// A value bound to a `$n` parameter.
#[derive(Debug, Clone)]
pub(super) enum Arg<'a> {
    Int(Option<i64>),
    Bool(bool),
    Text(Option<Cow<'a, str>>),
    Bytes(Cow<'a, [u8]>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Self::Text(Some(Cow::Owned(v)))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Self::Text(v.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Self::Text(v.as_deref().map(Cow::Borrowed))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Self::Text(v.map(Cow::Owned))
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Self::Bytes(Cow::Borrowed(v))
    }
}

impl From<Vec<u8>> for Arg<'_> {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(Cow::Owned(v))
    }
}

/// A row type both drivers can decode.
pub(super) trait Rows:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Rows for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// Where a statement runs: a pool, or a connection (inside a transaction).
pub(super) enum On<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    Sqlite(&'c mut SqliteConnection),
    Pg(&'c mut PgConnection),
}

/// An open transaction on either database.
pub(super) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// Where the transaction's next statement runs.
    pub fn on(&mut self) -> On<'_> {
        match self {
            Self::Sqlite(tx) => On::Sqlite(tx),
            Self::Pg(tx) => On::Pg(tx),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Pg(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Pg(tx) => tx.rollback().await,
        }
    }
}

/// The spellings that differ between the two databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The `version` member of a stored spec (JSON text in column `spec`), 1 when absent.
    pub fn spec_version(self) -> &'static str {
        match self {
            Self::Sqlite => "COALESCE(json_extract(spec, '$.version'), 1)",
            Self::Postgres => "COALESCE((spec::jsonb ->> 'version')::BIGINT, 1)",
        }
    }

    /// The aggregate joining the texts `expr` of a group's rows with `separator` between
    /// them (`NULL` for no rows).
    pub fn join_text(self, expr: &str, separator: &str) -> String {
        match self {
            Self::Sqlite => format!("group_concat({expr}, '{separator}')"),
            Self::Postgres => format!("string_agg({expr}, '{separator}')"),
        }
    }

    /// What ends a `SELECT` over `table` (an alias) that claims the rows it reads: on
    /// PostgreSQL they are locked until the transaction ends and rows another transaction
    /// has locked are skipped; SQLite has one writer, whose transaction excludes the rest.
    pub fn skip_locked(self, table: &str) -> String {
        match self {
            Self::Sqlite => String::new(),
            Self::Postgres => format!(" FOR UPDATE OF {table} SKIP LOCKED"),
        }
    }
}

/// One statement: its text, with `$1`, `$2`, … where the arguments go, and the arguments.
#[derive(Debug, Clone)]
pub(super) struct Sql<'a> {
    text: String,
    args: Vec<Arg<'a>>,
}

/// The parameters of one row of [`Sql::push_values`], separated by commas.
pub(super) struct Values<'s, 'a> {
    sql: &'s mut Sql<'a>,
    first: bool,
}

impl<'a> Values<'_, 'a> {
    /// Appends a parameter and its argument.
    pub fn push_bind(&mut self, value: impl Into<Arg<'a>>) -> &mut Self {
        if !self.first {
            self.sql.push(", ");
        }
        self.first = false;
        self.sql.push_bind(value);
        self
    }
}

/// Runs `$body` with `$q` bound to the statement built for the backend of `$on`, and `$e`
/// to where it runs.
macro_rules! on_backend {
    ($sql:expr, $on:expr, $row:ty, |$q:ident, $e:ident| $body:expr) => {
        match $on {
            On::SqlitePool($e) => {
                let text = super::sqlite_params::anonymous(&$sql.text);
                let $q = sqlite_query::<$row>(&text, &$sql.args);
                $body
            }
            On::Sqlite($e) => {
                let text = super::sqlite_params::anonymous(&$sql.text);
                let $q = sqlite_query::<$row>(&text, &$sql.args);
                $body
            }
            On::PgPool($e) => {
                let $q = pg_query::<$row>(&$sql.text, &$sql.args);
                $body
            }
            On::Pg($e) => {
                let $q = pg_query::<$row>(&$sql.text, &$sql.args);
                $body
            }
        }
    };
}

impl<'a> Sql<'a> {
    /// A statement starting with `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Adds the argument of the next `$n` already in the text.
    pub fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a parameter and its argument.
    pub fn push_bind(&mut self, value: impl Into<Arg<'a>>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `(…)` with one parameter per item, separated by commas.
    pub fn push_list<V: Into<Arg<'a>>>(&mut self, items: impl IntoIterator<Item = V>) -> &mut Self {
        self.text.push('(');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.push_bind(item);
        }
        self.text.push(')');
        self
    }

    /// Appends `(…), (…)`: one parenthesised row per item, its parameters pushed by `row`.
    pub fn push_values<I>(
        &mut self,
        items: impl IntoIterator<Item = I>,
        mut row: impl FnMut(&mut Values<'_, 'a>, I),
    ) -> &mut Self {
        for (i, item) in items.into_iter().enumerate() {
            self.text.push_str(if i == 0 { "VALUES (" } else { ", (" });
            row(
                &mut Values {
                    sql: self,
                    first: true,
                },
                item,
            );
            self.text.push(')');
        }
        self
    }

    /// Every row.
    pub async fn fetch_all<T: Rows>(self, on: On<'_>) -> Result<Vec<T>, sqlx::Error> {
        on_backend!(self, on, T, |q, e| q.fetch_all(e).await)
    }

    /// The first row, if any.
    pub async fn fetch_optional<T: Rows>(self, on: On<'_>) -> Result<Option<T>, sqlx::Error> {
        on_backend!(self, on, T, |q, e| q.fetch_optional(e).await)
    }

    /// The one row; an error when there is none.
    pub async fn fetch_one<T: Rows>(self, on: On<'_>) -> Result<T, sqlx::Error> {
        on_backend!(self, on, T, |q, e| q.fetch_one(e).await)
    }

    /// The first column of every row.
    pub async fn scalar_all<T>(self, on: On<'_>) -> Result<Vec<T>, sqlx::Error>
    where
        (T,): Rows,
    {
        let rows: Vec<(T,)> = self.fetch_all(on).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    /// The first column of the first row, if any.
    pub async fn scalar_optional<T>(self, on: On<'_>) -> Result<Option<T>, sqlx::Error>
    where
        (T,): Rows,
    {
        Ok(self.fetch_optional::<(T,)>(on).await?.map(|(v,)| v))
    }

    /// The first column of the one row.
    pub async fn scalar_one<T>(self, on: On<'_>) -> Result<T, sqlx::Error>
    where
        (T,): Rows,
    {
        Ok(self.fetch_one::<(T,)>(on).await?.0)
    }

    /// Runs the statement; how many rows it changed.
    pub async fn execute(self, on: On<'_>) -> Result<u64, sqlx::Error> {
        let (text, args) = (&self.text, &self.args);
        let lite = || super::sqlite_params::anonymous(text);
        Ok(match on {
            On::SqlitePool(e) => sqlite_plain(&lite(), args)
                .execute(e)
                .await?
                .rows_affected(),
            On::Sqlite(e) => sqlite_plain(&lite(), args)
                .execute(e)
                .await?
                .rows_affected(),
            On::PgPool(e) => pg_plain(text, args).execute(e).await?.rows_affected(),
            On::Pg(e) => pg_plain(text, args).execute(e).await?.rows_affected(),
        })
    }
}

/// Binds every argument, in order, to a sqlx query of either driver.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Bool(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_deref()),
                Arg::Bytes(v) => query.bind(v.as_ref()),
            };
        }
        query
    }};
}

fn sqlite_query<'q, T>(
    text: &'q str,
    args: &'q [Arg<'_>],
) -> QueryAs<'q, Sqlite, T, SqliteArguments<'q>>
where
    T: for<'r> FromRow<'r, SqliteRow>,
{
    bind_all!(sqlx::query_as::<Sqlite, T>(text), args)
}

fn pg_query<'q, T>(text: &'q str, args: &'q [Arg<'_>]) -> QueryAs<'q, Postgres, T, PgArguments>
where
    T: for<'r> FromRow<'r, PgRow>,
{
    bind_all!(sqlx::query_as::<Postgres, T>(text), args)
}

fn sqlite_plain<'q>(text: &'q str, args: &'q [Arg<'_>]) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    bind_all!(sqlx::query::<Sqlite>(text), args)
}

fn pg_plain<'q>(text: &'q str, args: &'q [Arg<'_>]) -> Query<'q, Postgres, PgArguments> {
    bind_all!(sqlx::query::<Postgres>(text), args)
}
