//! Routing alerts without editing every check: `[[routes]]` of the configuration, each a
//! match on the check's stack (globs), tags, kind and the alert's event, optionally only
//! during a recurring window, naming contacts. The first route that matches decides,
//! unless it says `continue` (its contacts join those of the next that matches). A
//! check's own `contacts` still override every route; with no route matching, the
//! configured default contacts. A route with `escalate_after` routes no alert: it is the
//! escalation of the checks it matches that name none of their own. Pure.

use super::{AlertKind, CheckSpec, ContactName, Tag, Timestamp, WindowTiming};

/// One route, read from the configuration.
#[derive(Debug, Clone)]
pub struct Route {
    /// Globs (`*`, `?`) on the stack name; empty: any check, with a stack or not.
    pub stacks: Vec<String>,
    /// Tags the check must all carry.
    pub tags: Vec<Tag>,
    /// Check kinds (`http`, `heartbeat`, …); empty: any.
    pub kinds: Vec<String>,
    /// Events; empty: any.
    pub events: Vec<AlertKind>,
    /// Only while this window is open, when set.
    pub during: Option<WindowTiming>,
    pub contacts: Vec<ContactName>,
    /// Go on to the next routes after this one matched.
    pub carry_on: bool,
    /// Minutes: an escalation route, alerting `contacts` when an outage of a check it
    /// matches is neither acknowledged nor recovered by then.
    pub escalate_after: Option<u32>,
}

/// What routes look at of a check.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub stack: Option<&'a str>,
    pub tags: &'a [Tag],
    pub kind: &'a str,
    /// The check's own contacts, which override every route.
    pub contacts: Option<&'a [ContactName]>,
}

impl<'a> From<&'a CheckSpec> for Subject<'a> {
    fn from(spec: &'a CheckSpec) -> Self {
        Self {
            stack: spec.stack().map(|s| s.as_str()),
            tags: spec.tags(),
            kind: spec.target().kind(),
            contacts: spec.contacts(),
        }
    }
}

/// Where a check's alert goes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// The check names its own contacts.
    Own(Vec<ContactName>),
    /// These routes (indexes into `[[routes]]`) matched.
    Routes(Vec<usize>, Vec<ContactName>),
    /// No route matched: the default contacts.
    Default(Vec<ContactName>),
}

impl Routed {
    pub fn contacts(&self) -> &[ContactName] {
        match self {
            Self::Own(c) | Self::Routes(_, c) | Self::Default(c) => c,
        }
    }
}

/// The routes and the default contacts.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub routes: Vec<Route>,
    pub defaults: Vec<ContactName>,
}

impl Routing {
    /// Every alert to the default contacts (no route).
    pub fn defaults_only(defaults: Vec<ContactName>) -> Self {
        Self {
            routes: Vec::new(),
            defaults,
        }
    }

    /// The contacts of `spec`'s alert of `kind` at `now`.
    pub fn contacts(&self, spec: &CheckSpec, kind: AlertKind, now: Timestamp) -> Vec<ContactName> {
        match self.route(spec.into(), kind, now) {
            Routed::Own(c) | Routed::Routes(_, c) | Routed::Default(c) => c,
        }
    }

    /// Where `spec`'s alert of `kind` at `now` goes, and which rule sent it there.
    pub fn route(&self, subject: Subject<'_>, kind: AlertKind, now: Timestamp) -> Routed {
        if let Some(own) = subject.contacts {
            return Routed::Own(own.to_vec());
        }
        let mut matched = Vec::new();
        let mut contacts: Vec<ContactName> = Vec::new();
        for (i, route) in self.routes.iter().enumerate() {
            if route.escalate_after.is_some() || !route.matches(subject, kind, now) {
                continue;
            }
            matched.push(i);
            contacts.extend(route.contacts.iter().cloned());
            if !route.carry_on {
                break;
            }
        }
        if matched.is_empty() {
            return Routed::Default(self.defaults.clone());
        }
        contacts.sort();
        contacts.dedup();
        Routed::Routes(matched, contacts)
    }
}

/// Who an outage nobody acknowledged is escalated to, and after how many minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escalation {
    /// The check's own `escalate_after` and `escalate_to`.
    Own(u32, Vec<ContactName>),
    /// The escalation route at this index of `[[routes]]`.
    Route(usize, u32, Vec<ContactName>),
}

impl Escalation {
    pub fn after_minutes(&self) -> u32 {
        match self {
            Self::Own(minutes, _) | Self::Route(_, minutes, _) => *minutes,
        }
    }

    pub fn contacts(&self) -> &[ContactName] {
        match self {
            Self::Own(_, contacts) | Self::Route(_, _, contacts) => contacts,
        }
    }
}

impl Routing {
    /// Whether some route escalates (so every open outage may have an escalation).
    pub fn escalates(&self) -> bool {
        self.routes.iter().any(|r| r.escalate_after.is_some())
    }

    /// The escalation of an outage of `spec` at `now`: the check's own, else the first
    /// escalation route that matches it.
    pub fn escalation(&self, spec: &CheckSpec, now: Timestamp) -> Option<Escalation> {
        if let Some((minutes, to)) = spec.escalation() {
            return Some(Escalation::Own(minutes, to.to_vec()));
        }
        self.escalation_route(spec.into(), now)
    }

    /// The first escalation route matching `subject` at `now`.
    pub fn escalation_route(&self, subject: Subject<'_>, now: Timestamp) -> Option<Escalation> {
        self.routes.iter().enumerate().find_map(|(i, route)| {
            let minutes = route.escalate_after?;
            route
                .matches(subject, AlertKind::Escalated, now)
                .then(|| Escalation::Route(i, minutes, route.contacts.clone()))
        })
    }
}

impl Route {
    fn matches(&self, subject: Subject<'_>, kind: AlertKind, now: Timestamp) -> bool {
        (self.stacks.is_empty()
            || subject
                .stack
                .is_some_and(|s| self.stacks.iter().any(|glob| glob_matches(glob, s))))
            && self.tags.iter().all(|t| subject.tags.contains(t))
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == subject.kind))
            && (self.events.is_empty() || self.events.contains(&kind))
            && self.during.as_ref().is_none_or(|w| w.open_at(now))
    }
}

/// Whether `text` matches `glob`: `*` any run of characters, `?` any one, the rest itself.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // The classic two-pointer walk, going back to the last `*` on a mismatch.
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    g = sg + 1;
                    t = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(stack: Option<&str>, tags: &[&str]) -> CheckSpec {
        let mut spec = CheckSpec::with_defaults("http://127.0.0.1:9/".parse().unwrap());
        spec.stack = stack.map(|s| s.parse().unwrap());
        spec.tags = tags.iter().map(|t| t.parse().unwrap()).collect();
        spec
    }

    fn names(list: &[&str]) -> Vec<ContactName> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn route(stacks: &[&str], contacts: &[&str], carry_on: bool) -> Route {
        Route {
            stacks: stacks.iter().map(|s| (*s).to_owned()).collect(),
            tags: Vec::new(),
            kinds: Vec::new(),
            events: Vec::new(),
            during: None,
            contacts: names(contacts),
            carry_on,
            escalate_after: None,
        }
    }

    #[test]
    fn an_escalation_route_escalates_its_stacks_and_routes_nothing_else() {
        let mut escalate = route(&["acme-*"], &["oncall"], false);
        escalate.escalate_after = Some(15);
        let routing = Routing {
            routes: vec![escalate, route(&["acme-*"], &["acme-slack"], false)],
            defaults: names(&["mail"]),
        };
        let now = Timestamp(0);
        let acme = spec(Some("acme-prod"), &[]);
        assert_eq!(
            routing.route((&acme).into(), AlertKind::Down, now),
            Routed::Routes(vec![1], names(&["acme-slack"])),
            "the escalation route is not an alert's route"
        );
        assert_eq!(
            routing.escalation(&acme, now),
            Some(Escalation::Route(0, 15, names(&["oncall"])))
        );
        assert_eq!(routing.escalation(&spec(Some("shop"), &[]), now), None);
        let mut own = acme.clone();
        own.more_mut().escalate_after = Some(5);
        own.more_mut().escalate_to = Some(names(&["boss"]));
        assert_eq!(
            routing.escalation(&own, now),
            Some(Escalation::Own(5, names(&["boss"])))
        );
    }

    #[test]
    fn globs_match_as_a_shell_does() {
        for (glob, text, want) in [
            ("acme-*", "acme-prod", true),
            ("acme-*", "acme-", true),
            ("acme-*", "shop", false),
            ("*-prod", "acme-prod", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "xxaxxbxxc", false),
            ("exact", "exact", true),
        ] {
            assert_eq!(glob_matches(glob, text), want, "{glob} {text}");
        }
    }

    #[test]
    fn the_first_matching_route_decides_unless_it_carries_on() {
        let mut prod = route(&["*-prod"], &["pager"], false);
        prod.events = vec![AlertKind::Down];
        let routing = Routing {
            routes: vec![
                route(&["acme-*"], &["acme-slack"], true),
                prod,
                route(&["*"], &["ops"], false),
            ],
            defaults: names(&["mail"]),
        };
        let now = Timestamp(0);
        let at = |stack: Option<&str>, kind| routing.route((&spec(stack, &[])).into(), kind, now);
        assert_eq!(
            at(Some("acme-prod"), AlertKind::Down),
            Routed::Routes(vec![0, 1], names(&["acme-slack", "pager"]))
        );
        assert_eq!(
            at(Some("acme-prod"), AlertKind::Reminder),
            Routed::Routes(vec![0, 2], names(&["acme-slack", "ops"]))
        );
        assert_eq!(
            at(Some("shop-prod"), AlertKind::Down),
            Routed::Routes(vec![1], names(&["pager"]))
        );
        assert_eq!(at(None, AlertKind::Down), Routed::Default(names(&["mail"])));
        let mut own = spec(Some("acme-prod"), &[]);
        own.contacts = Some(names(&["mine"]));
        assert_eq!(
            routing.route((&own).into(), AlertKind::Down, now),
            Routed::Own(names(&["mine"]))
        );
    }

    #[test]
    fn tags_kinds_and_windows_narrow_a_route() {
        let mut tagged = route(&[], &["night"], false);
        tagged.tags = vec!["env:prod".parse().unwrap()];
        tagged.kinds = vec!["http".to_owned()];
        tagged.during = Some(WindowTiming::Once {
            starts_at: Timestamp(1_000),
            ends_at: Timestamp(2_000),
        });
        let routing = Routing {
            routes: vec![tagged],
            defaults: names(&["day"]),
        };
        let prod = spec(Some("a"), &["env:prod"]);
        let contacts =
            |spec: &CheckSpec, at: i64| routing.contacts(spec, AlertKind::Down, Timestamp(at));
        assert_eq!(contacts(&prod, 1_500), names(&["night"]));
        assert_eq!(contacts(&prod, 2_500), names(&["day"]), "the window closed");
        assert_eq!(contacts(&spec(Some("a"), &[]), 1_500), names(&["day"]));
    }
}
