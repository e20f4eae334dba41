//! Root causes: what a check relies on. Checks that share a host form a chain, inferred
//! without any configuration: the name's DNS → the address (icmp) → a port (tcp, smtp,
//! ssh) → HTTP on that port → HTTP with a keyword on that port. A check also relies on the
//! checks its `depends_on` names. Pure.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::{CheckSpec, RecordType, Target};

/// Where a check sits in its host's chain, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// A DNS check of the name (A, AAAA or CNAME).
    Name,
    /// An ICMP check of the host.
    Address,
    /// A TCP, SMTP or SSH check of a port.
    Port,
    /// An HTTP check without a keyword (an `https` one covers TLS).
    Http,
    /// An HTTP check with `body_contains` or `body_not_contains`.
    Content,
}

/// A check's place in its host's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footing {
    /// The host, lowercased, without brackets or a trailing dot.
    host: String,
    /// The port, for the layers from `Port` on.
    port: Option<u16>,
    layer: Layer,
}

impl Footing {
    /// Where `spec` sits in its host's chain; `None` for a heartbeat, and for a DNS check
    /// of records that do not lead to an address (MX, TXT, NS).
    pub fn of(spec: &CheckSpec) -> Option<Self> {
        let (host, port, layer) = match spec.target() {
            Target::Http(http) => {
                let url = http.url().url();
                let layer = if http.body_contains().is_some() || http.body_not_contains().is_some()
                {
                    Layer::Content
                } else {
                    Layer::Http
                };
                (url.host_str()?, url.port_or_known_default(), layer)
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
            Target::Heartbeat(_) => return None,
        };
        Some(Self {
            host: host_key(host),
            port,
            layer,
        })
    }

    /// The host this footing is on, as compared.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// A short hash of the host, to index checks by host without keeping its text twice.
    pub fn host_hash(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.host.hash(&mut hasher);
        hasher.finish()
    }

    /// Whether a check here relies on one at `other`: the same host, a lower layer, and for
    /// a port's layers the same port.
    pub fn relies_on(&self, other: &Self) -> bool {
        self.host == other.host
            && other.layer < self.layer
            && match other.layer {
                Layer::Name | Layer::Address => true,
                Layer::Port | Layer::Http => other.port == self.port,
                Layer::Content => false,
            }
    }

    pub fn layer(&self) -> Layer {
        self.layer
    }
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
            (&keyword, &https, true),
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
        assert_eq!(dns.host_hash(), icmp.host_hash());
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
