//! `[alerting]`, and the checks of `[notifiers]` that concern them all (names, references,
//! `${VAR}` from the environment); each kind checks its own fields (see `notify::kinds`).
//! No value is echoed, since values may be secrets.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::notify::{NotifierSettings, is_http_url};

/// `[alerting]`: who is told by default, and for how long deliveries are retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSettings {
    /// Contacts of checks that name none.
    pub default_contacts: Vec<String>,
    /// Base URL for links in alerts; empty for none.
    pub public_url: String,
    /// Hours before a failing delivery is given up.
    pub give_up_after_hours: u32,
    /// Messages one contact receives in a minute at most; past it, one digest a minute.
    pub max_per_minute: u32,
    /// What a contact's DOWNs and RECOVEREDs are folded by.
    pub group_by: GroupBy,
    /// Seconds after a stack's first DOWN (or RECOVERED) during which its further ones
    /// wait, to go out as one message.
    pub group_interval: u32,
}

/// `alerting.group_by`: which alerts are folded together.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum GroupBy {
    /// Those of one stack (`"stack"`).
    Stack,
    /// Those of checks with one tag `KEY:value` or `KEY=value` (`"tag:KEY"`): by value.
    Tag(String),
    /// None: every alert alone (`"none"`).
    None,
}

impl TryFrom<String> for GroupBy {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "stack" => return Ok(Self::Stack),
            "none" => return Ok(Self::None),
            _ => {}
        }
        let key = text.strip_prefix("tag:").unwrap_or_default();
        let good = key.len() <= 63
            && key.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if good {
            Ok(Self::Tag(key.to_owned()))
        } else {
            Err(format!(
                "{text:?} is not \"stack\", \"none\" or \"tag:KEY\" (KEY as a tag's part \
                 before its ':' or '=', e.g. \"tag:team\")"
            ))
        }
    }
}

impl GroupBy {
    /// The tag a check with `tags` is grouped under (`team:payments`), grouping by tag.
    pub fn tag_of<'a>(&self, tags: &'a [String]) -> Option<&'a str> {
        let Self::Tag(key) = self else {
            return None;
        };
        tags.iter().map(String::as_str).find(|tag| {
            tag.strip_prefix(key.as_str())
                .is_some_and(|rest| rest.starts_with([':', '=']))
        })
    }
}

/// Replaces `${VAR}` in notifier values with the environment variable's value; one
/// problem per variable that is not set.
pub(super) fn interpolate_env(notifiers: &mut BTreeMap<String, NotifierSettings>) -> Vec<String> {
    let mut problems = Vec::new();
    let lookup = |name: &str| std::env::var(name).ok();
    for (name, notifier) in notifiers.iter_mut() {
        for (key, value) in notifier.channel_mut().values_mut() {
            if let Err(missing) = interpolate(value, &lookup) {
                problems.push(format!(
                    "notifiers.{name}.{key}: environment variable {missing} is not set"
                ));
            }
        }
    }
    problems
}

/// Problems of `[alerting]` and `[notifiers]`: names, references, URLs, addresses.
/// Values are never echoed, since they may hold secrets.
pub(super) fn problems(
    alerting: &AlertingSettings,
    notifiers: &BTreeMap<String, NotifierSettings>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, contact) in alerting.default_contacts.iter().enumerate() {
        if !notifiers.contains_key(contact) {
            problems.push(format!(
                "alerting.default_contacts[{i}]: no notifier is named {contact:?}"
            ));
        }
    }
    if !alerting.public_url.is_empty() && !is_http_url(&alerting.public_url) {
        problems.push("alerting.public_url: must be an http or https URL".to_owned());
    }
    for (name, notifier) in notifiers {
        if let Err(e) = name.parse::<crate::domain::ContactName>() {
            problems.push(format!("notifiers.{name}: the name {e}"));
        }
        for (field, reason) in notifier.channel().problems() {
            problems.push(format!("notifiers.{name}.{field}: {reason}"));
        }
    }
    problems
}

/// Replaces every `${NAME}` in `value` using `lookup`; the first unknown name is the error.
fn interpolate(value: &mut String, lookup: &impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        out.push_str(&lookup(name).ok_or_else(|| name.to_owned())?);
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    *value = out;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolate_replaces_known_variables_only() {
        let lookup = |name: &str| (name == "HOOK").then(|| "https://hooks/x".to_owned());
        let mut value = "${HOOK}?a=${HOOK}".to_owned();
        interpolate(&mut value, &lookup).unwrap();
        assert_eq!(value, "https://hooks/x?a=https://hooks/x");
        let mut plain = "no variables, {braces} and $dollars".to_owned();
        interpolate(&mut plain, &lookup).unwrap();
        assert_eq!(plain, "no variables, {braces} and $dollars");
        let mut missing = "x${NOPE}".to_owned();
        assert_eq!(interpolate(&mut missing, &lookup), Err("NOPE".to_owned()));
    }

    #[test]
    fn group_by_reads_stack_none_or_a_tag_key_and_finds_the_tag() {
        let read = |text: &str| GroupBy::try_from(text.to_owned());
        assert_eq!(read("stack"), Ok(GroupBy::Stack));
        assert_eq!(read("none"), Ok(GroupBy::None));
        assert_eq!(read("tag:team"), Ok(GroupBy::Tag("team".to_owned())));
        for bad in ["tag", "tag:", "tag:Team", "tags", "tag:a:b", "Stack"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let by_team = GroupBy::Tag("team".to_owned());
        let tags = |list: &[&str]| list.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            by_team.tag_of(&tags(&["env:prod", "team=web"])),
            Some("team=web")
        );
        assert_eq!(by_team.tag_of(&tags(&["team:db"])), Some("team:db"));
        assert_eq!(by_team.tag_of(&tags(&["teams:x", "team"])), None);
        assert_eq!(GroupBy::Stack.tag_of(&tags(&["team:db"])), None);
    }
}
