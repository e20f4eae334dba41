//! Where one delivery of an alert to one contact stands (its word in the database, the
//! API and the pages), and how one attempt at it ended.

use crate::domain::Timestamp;

/// Where one delivery of an alert to one contact stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The contact accepted it.
    Delivered,
    /// Given up: a permanent failure, or still failing after the give-up age.
    Failed,
}

impl DeliveryStatus {
    /// Every status, in the order the API lists them.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    /// The stored and shown word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The status a stored word names.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for DeliveryStatus
where
    str: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for DeliveryStatus
where
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let word = <&str as sqlx::Decode<DB>>::decode(value)?;
        Self::parse(word).ok_or_else(|| format!("unknown delivery status {word:?}").into())
    }
}

/// How one delivery attempt ended, as the dispatcher decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Failed; try again at this time.
    RetryAt {
        error: String,
        at: Timestamp,
    },
    /// Failed for good (permanent failure or give-up age reached).
    GiveUp {
        error: String,
    },
}
