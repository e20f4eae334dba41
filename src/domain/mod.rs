//! Pure types and rules of stackwatch: checks, their names, their fields' bounds and defaults.
//! Nothing here does I/O; every other module depends on this one and it depends on none.

mod check;
mod field;
mod name;
mod status;
mod time;

pub use check::{BasicAuth, Check, CheckId, CheckSpec, Method, header_problem, url_problem};
pub use field::{FieldError, FieldErrors, IntField, limits};
pub use name::{CheckName, ContactName, NameError, StackName, Tag};
pub use status::{StatusRange, StatusRanges};
pub use time::Timestamp;
