//! Lists under `/v1` as StatusCake pages them: numbered pages of tests with their
//! `metadata`, time-ordered history with `links`, and the query fields both take.

use axum::http::{HeaderMap, Uri, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{V1Error, invalid, translate};
use crate::api::ApiState;
use crate::domain::Timestamp;
use crate::store::{CheckFilter, LiveCheck, PageStart};

/// One numbered page of the checks `filter` keeps, as StatusCake numbers pages (from 1):
/// the page's checks now, and the list's `metadata`.
pub(super) async fn numbered_page(
    state: &ApiState,
    filter: &CheckFilter,
    page: u32,
    limit: u32,
) -> Result<(Vec<LiveCheck>, Value), V1Error> {
    let total = state.store.count_checks(filter).await?;
    let first = u64::from(page.saturating_sub(1)) * u64::from(limit);
    let live = state
        .store
        .live_checks(filter, PageStart::Skip(first), limit)
        .await?;
    Ok((live, pagination(page, limit, total)))
}

/// A list's `metadata` as StatusCake's models define it: every figure at least 1, so an
/// empty list is page 1 of 1 with a `total_count` of 1 and no `data` (its published clients
/// refuse a 0 in any of them).
pub(super) fn pagination(page: u32, limit: u32, total: u64) -> Value {
    json!({
        "page": page,
        "per_page": limit,
        "page_count": total.div_ceil(u64::from(limit)).max(1),
        "total_count": total.max(1),
    })
}

/// The address the client reached `/v1` by: `http://HOST`, or `https://HOST` when a
/// proxy in front says the request came over TLS.
pub(super) fn base_of(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if tls { "https" } else { "http" })
}

/// A list's `links`: `self` the request's URL, and `next` the same with `before` set to
/// `next_before` (unix seconds) when there is more.
pub(super) fn links(headers: &HeaderMap, uri: &Uri, next_before: Option<i64>) -> Value {
    let base = base_of(headers);
    let mut links = json!({"self": format!("{base}{uri}")});
    if let Some(before) = next_before {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            if key != "before" {
                query.append_pair(&key, &value);
            }
        }
        query.append_pair("before", &before.to_string());
        links["next"] = json!(format!("{base}{}?{}", uri.path(), query.finish()));
    }
    links
}

/// A time-ordered page, newest first: `items` holds up to `limit + 1` (the one past the
/// page says there is more). Answers the page and the `before` (unix seconds) of the next.
/// `before` counts whole seconds, so a page that would end inside a second ends before it
/// instead, and the next begins with that whole second.
pub(super) fn time_page<T>(
    mut items: Vec<T>,
    limit: u32,
    at_ms: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<i64>) {
    let limit = limit as usize;
    if items.len() <= limit {
        return (items, None);
    }
    let beyond = items.split_off(limit);
    let second = |t: &T| at_ms(t).div_euclid(1000);
    let last = items.last().map(&second);
    let next = beyond.first().map(&second);
    let (Some(last), Some(next)) = (last, next) else {
        return (items, None);
    };
    if last != next {
        return (items, Some(last));
    }
    let whole = items.iter().take_while(|t| second(t) != last).count();
    if whole == 0 {
        // Over `limit` items in one second: the rest of it cannot be reached by `before`.
        return (items, Some(last));
    }
    items.truncate(whole);
    (items, Some(last + 1))
}

/// `before` and `after` of a history, periods or alerts query (unix seconds) as the
/// milliseconds `since <= at < until` they bound.
pub(super) fn time_bounds(
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(Timestamp, Timestamp), V1Error> {
    let seconds = |field: &str, text: Option<&str>, none: i64| match text {
        None => Ok(none),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .map(|s| s.saturating_mul(1000))
            .ok_or_else(|| invalid(field, "must be a unix time in seconds, 0 or more")),
    };
    Ok((
        Timestamp(seconds("after", after, i64::MIN)?),
        Timestamp(seconds("before", before, i64::MAX)?),
    ))
}

/// Query of `GET /v1/uptime` and `GET /v1/heartbeat` (`nouptime` is taken and has no
/// effect: the 24-hour uptime costs one query per page).
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    tags: Option<String>,
    status: Option<String>,
    matchany: Option<String>,
}

impl ListQuery {
    /// `base` narrowed by the query, and the page and page size asked for. Checks must
    /// have every tag listed, or any of them with `matchany=true`.
    pub(super) fn read(&self, base: CheckFilter) -> Result<(CheckFilter, u32, u32), V1Error> {
        let page = bounded("page", self.page.as_deref(), 1, u32::MAX)?;
        let limit = bounded("limit", self.limit.as_deref(), 25, 100)?;
        let down = match self.status.as_deref() {
            None | Some("") => None,
            Some("down") => Some(true),
            Some("up") => Some(false),
            Some(_) => return Err(invalid("status", "must be up or down")),
        };
        let any = match self
            .matchany
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => return Err(invalid("matchany", "must be true or false")),
        };
        let tags: Vec<String> = self
            .tags
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(translate::tag_of)
            .collect();
        let (any_tag, all_tags) = if any { (tags, vec![]) } else { (vec![], tags) };
        let filter = CheckFilter {
            any_tag,
            all_tags,
            down,
            ..base
        };
        Ok((filter, page, limit))
    }
}

pub(super) fn bounded(
    field: &str,
    text: Option<&str>,
    default: u32,
    max: u32,
) -> Result<u32, V1Error> {
    match text {
        None => Ok(default),
        Some(t) => match t.parse::<u32>() {
            Ok(v) if (1..=max).contains(&v) => Ok(v),
            _ => Err(invalid(field, format!("must be a whole number 1-{max}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_page_ends_on_a_whole_second() {
        let ms = |v: &i64| *v;
        assert_eq!(time_page(vec![5000, 4000], 2, ms), (vec![5000, 4000], None));
        assert_eq!(
            time_page(vec![5000, 4000, 3000], 2, ms),
            (vec![5000, 4000], Some(4))
        );
        // 4100 and 4050 share a second with the first item past the page.
        assert_eq!(
            time_page(vec![5000, 4100, 4050, 4010], 3, ms),
            (vec![5000], Some(5))
        );
        assert_eq!(
            time_page(vec![4300, 4200, 4100], 2, ms),
            (vec![4300, 4200], Some(4))
        );
    }

    #[test]
    fn empty_lists_are_page_one_of_one() {
        assert_eq!(
            pagination(1, 25, 0),
            json!({"page": 1, "per_page": 25, "page_count": 1, "total_count": 1})
        );
        assert_eq!(pagination(3, 25, 51)["page_count"], 3);
    }

    #[test]
    fn next_links_keep_the_query_and_move_before() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "sw.test:8080".parse().unwrap());
        let uri: Uri = "/v1/uptime/7/history?limit=2&before=99".parse().unwrap();
        let links = links(&headers, &uri, Some(42));
        assert_eq!(
            links["self"],
            "http://sw.test:8080/v1/uptime/7/history?limit=2&before=99"
        );
        assert_eq!(
            links["next"],
            "http://sw.test:8080/v1/uptime/7/history?limit=2&before=42"
        );
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        let first: Uri = "/v1/uptime/7/alerts".parse().unwrap();
        assert_eq!(
            super::links(&headers, &first, None),
            json!({"self": "https://sw.test:8080/v1/uptime/7/alerts"})
        );
    }
}
