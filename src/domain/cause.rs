//! Root causes: what a check relies on. Checks that share a host form a chain, inferred
//! without any configuration: the name's DNS → the address (icmp) → a port (tcp, smtp,
//! ssh) → HTTP on that port → HTTP with a keyword on the same URL. A check also relies on
//! the checks its `depends_on` names. Pure.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::{CheckSpec, RecordType, Target};

/// Where a check sits in its host's chain, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// A DNS check of the name (A, AAAA or CNAME).
    Name,
    /// An ICMP check of the host.
    Address,
    /// A TCP, SMTP or SSH check of a port.
    Port,
    /// An HTTP check without a keyword (an `https` one covers TLS).
    Http,
    /// An HTTP check that looks at the answer's content: keywords, JSON values, headers,
    /// a body pattern.
    Content,
}

/// What a layer's checks are filed under: the checks relying on them share it.
#[derive(Hash)]
enum Scope<'a> {
    Host(&'a str),
    Port(&'a str, u16),
    Url(&'a str),
}

/// A check's place in its host's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footing {
    /// The host, lowercased, without brackets or a trailing dot.
    host: String,
    /// The port, for the layers from `Port` on.
    port: Option<u16>,
    /// The URL without its fragment, for HTTP checks, host and port as compared.
    url: Option<String>,
    layer: Layer,
}

impl Footing {
    /// Where `spec` sits in its host's chain; `None` for a heartbeat, and for a DNS check
    /// of records that do not lead to an address (MX, TXT, NS).
    pub fn of(spec: &CheckSpec) -> Option<Self> {
        let mut url_key = None;
        let (host, port, layer) = match spec.target() {
            Target::Http(http) => {
                let url = http.url().url();
                let layer = if http.asserts_content() {
                    Layer::Content
                } else {
                    Layer::Http
                };
                let (host, port) = (url.host_str()?, url.port_or_known_default());
                url_key = Some(format!(
                    "{}://{}:{}{}?{}",
                    url.scheme(),
                    host_key(host),
                    port.unwrap_or(0),
                    url.path(),
                    url.query().unwrap_or_default()
                ));
                (host, port, layer)
            }
            Target::Tcp(t) => (t.host().as_str(), Some(t.port()), Layer::Port),
            Target::Smtp(t) | Target::Ssh(t) => (t.host().as_str(), Some(t.port()), Layer::Port),
            Target::Icmp(i) => (i.host().as_str(), None, Layer::Address),
            Target::Dns(d) => {
                let leads_to_address = matches!(
                    d.record_type(),
                    RecordType::A | RecordType::Aaaa | RecordType::Cname
                );
                if !leads_to_address || d.host().ip().is_some() {
                    return None;
                }
                (d.host().as_str(), None, Layer::Name)
            }
            Target::Heartbeat(_) | Target::Domain(_) => return None,
        };
        Some(Self {
            host: host_key(host),
            port,
            url: url_key,
            layer,
        })
    }

    /// The host this footing is on, as compared.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether a check here relies on one at `other`: the same host and a lower layer; on
    /// a port, the same port; on an HTTP check, the same URL.
    pub fn relies_on(&self, other: &Self) -> bool {
        self.host == other.host
            && other.layer < self.layer
            && match other.layer {
                Layer::Name | Layer::Address => true,
                Layer::Port => other.port == self.port,
                Layer::Http => other.url == self.url,
                Layer::Content => false,
            }
    }

    /// The scope the checks of `layer` that a check here relates to are filed under.
    fn scope(&self, layer: Layer) -> Option<Scope<'_>> {
        match layer {
            Layer::Name | Layer::Address => Some(Scope::Host(&self.host)),
            Layer::Port => self.port.map(|port| Scope::Port(&self.host, port)),
            Layer::Http | Layer::Content => self.url.as_deref().map(Scope::Url),
        }
    }

    /// The keys a check here is indexed under (by host; by port and by URL where it
    /// has them), so that what relies on it and what it relies on are found by
    /// [`Self::parent_keys`] and [`Self::child_keys`] without looking at other checks.
    pub fn keys(&self) -> Vec<u64> {
        let mut keys = vec![key(&Scope::Host(&self.host), self.layer)];
        if let Some(port) = self.port {
            keys.push(key(&Scope::Port(&self.host, port), self.layer));
        }
        if let Some(url) = &self.url {
            keys.push(key(&Scope::Url(url), self.layer));
        }
        keys
    }

    /// The keys under which the checks a check here relies on are indexed.
    pub fn parent_keys(&self) -> Vec<u64> {
        LAYERS
            .into_iter()
            .filter(|l| *l < self.layer && !(*l == Layer::Http && self.layer != Layer::Content))
            .filter_map(|l| self.scope(l).map(|scope| key(&scope, l)))
            .collect()
    }

    /// The keys under which the checks that rely on a check here are indexed.
    pub fn child_keys(&self) -> Vec<u64> {
        let Some(scope) = self.scope(self.layer) else {
            return Vec::new();
        };
        let above: &[Layer] = match self.layer {
            Layer::Name => &[Layer::Address, Layer::Port, Layer::Http, Layer::Content],
            Layer::Address => &[Layer::Port, Layer::Http, Layer::Content],
            Layer::Port => &[Layer::Http, Layer::Content],
            Layer::Http => &[Layer::Content],
            Layer::Content => &[],
        };
        above.iter().map(|l| key(&scope, *l)).collect()
    }

    pub fn layer(&self) -> Layer {
        self.layer
    }
}

/// Every layer, lowest first.
const LAYERS: [Layer; 5] = [
    Layer::Name,
    Layer::Address,
    Layer::Port,
    Layer::Http,
    Layer::Content,
];

/// An index key: a scope and a layer, hashed.
fn key(scope: &Scope<'_>, layer: Layer) -> u64 {
    let mut hasher = DefaultHasher::new();
    scope.hash(&mut hasher);
    layer.hash(&mut hasher);
    hasher.finish()
}

/// A host as compared: case and a trailing dot do not matter, nor an IPv6 address's
/// brackets.
fn host_key(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Form;

    fn spec(body: serde_json::Value) -> CheckSpec {
        let serde_json::Value::Object(fields) = body else {
            panic!("not an object");
        };
        let mut form = Form::new(fields);
        let spec = CheckSpec::read(&mut form, None);
        form.finish(spec).unwrap()
    }

    fn footing(body: serde_json::Value) -> Option<Footing> {
        Footing::of(&spec(body))
    }

    #[test]
    fn checks_of_one_host_form_a_chain_from_its_name_to_its_content() {
        use serde_json::json;
        let dns = footing(json!({"kind": "dns", "host": "Web.Example."})).unwrap();
        let icmp = footing(json!({"kind": "icmp", "host": "web.example"})).unwrap();
        let tcp443 = footing(json!({"kind": "tcp", "host": "web.example", "port": 443})).unwrap();
        let tcp22 = footing(json!({"kind": "ssh", "host": "web.example"})).unwrap();
        let https = footing(json!({"url": "https://web.example/health"})).unwrap();
        let https_other = footing(json!({"url": "https://web.example/ready"})).unwrap();
        let https_root = footing(json!({"url": "https://web.example/"})).unwrap();
        let http = footing(json!({"url": "http://web.example/"})).unwrap();
        let keyword =
            footing(json!({"url": "https://WEB.example:443/", "body_contains": "ok"})).unwrap();
        let other_host = footing(json!({"url": "https://api.example/"})).unwrap();

        for (child, parent, relies) in [
            (&icmp, &dns, true),
            (&tcp443, &icmp, true),
            (&tcp443, &dns, true),
            (&https, &tcp443, true),
            (&https, &tcp22, false),
            (&https, &icmp, true),
            (&keyword, &https_root, true),
            (&keyword, &https, false),
            (&keyword, &http, false),
            (&keyword, &tcp443, true),
            (&https, &https_other, false),
            (&dns, &icmp, false),
            (&icmp, &tcp443, false),
            (&https, &keyword, false),
            (&other_host, &dns, false),
            (&other_host, &icmp, false),
        ] {
            assert_eq!(child.relies_on(parent), relies, "{child:?} on {parent:?}");
        }
        // The index finds exactly the pairs that rely on each other.
        let all = [
            &dns,
            &icmp,
            &tcp443,
            &tcp22,
            &https,
            &https_other,
            &https_root,
            &http,
            &keyword,
            &other_host,
        ];
        for child in all {
            for parent in all {
                let indexed = child
                    .parent_keys()
                    .iter()
                    .any(|k| parent.keys().contains(k));
                let found = parent.child_keys().iter().any(|k| child.keys().contains(k));
                assert_eq!(indexed, child.relies_on(parent), "{child:?} on {parent:?}");
                assert_eq!(found, child.relies_on(parent), "{parent:?} under {child:?}");
            }
        }
    }

    #[test]
    fn heartbeats_addresses_and_mail_records_have_no_name_to_rely_on() {
        use serde_json::json;
        assert_eq!(footing(json!({"kind": "heartbeat", "period": 60})), None);
        assert_eq!(
            footing(json!({"kind": "dns", "host": "example.com", "record_type": "MX"})),
            None
        );
        assert_eq!(footing(json!({"kind": "dns", "host": "192.0.2.1"})), None);
        let v6 = footing(json!({"kind": "icmp", "host": "[2001:db8::1]"})).unwrap();
        let v6_http = footing(json!({"url": "http://[2001:db8::1]/"})).unwrap();
        assert!(v6_http.relies_on(&v6));
    }
}
