//! The fields of a `dns` check: the name, the record type, what the answer must hold and
//! whom to ask; declared once here and read from a client's JSON with every problem named.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field::limits::MAX_EXCHANGE_BYTES;
use super::form::Form;
use super::host::Host;

/// The record types a DNS check may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

impl RecordType {
    pub const ALL: [Self; 6] = [
        Self::A,
        Self::Aaaa,
        Self::Cname,
        Self::Mx,
        Self::Txt,
        Self::Ns,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Cname => "CNAME",
            Self::Mx => "MX",
            Self::Txt => "TXT",
            Self::Ns => "NS",
        }
    }

    /// The type a name spells, in any case.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(word))
    }
}

/// The fields of a DNS check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnsTarget {
    /// The name to look up (required).
    #[schema(inline)]
    pub(in crate::domain) host: Host,
    /// `A` (default), `AAAA`, `CNAME`, `MX`, `TXT` or `NS`.
    #[schema(
        value_type = String,
        required = false,
        pattern = "^([Aa]|[Aa][Aa][Aa][Aa]|[Cc][Nn][Aa][Mm][Ee]|[Mm][Xx]|[Tt][Xx][Tt]|[Nn][Ss])$"
    )]
    pub(in crate::domain) record_type: RecordType,
    /// Values the answer must hold, each as the record reads (an address, a name, a text);
    /// one text or a list of up to 16.
    #[schema(required = false, max_items = 16)]
    pub(in crate::domain) expect: Vec<String>,
    /// The nameserver to ask, `IP` or `IP:port` (`null`: the system's).
    #[schema(
        value_type = Option<String>,
        max_length = 64,
        pattern = "^\\[?[0-9A-Fa-f:.]+\\]?(:[0-9]+)?$"
    )]
    pub(in crate::domain) nameserver: Option<SocketAddr>,
}

impl DnsTarget {
    /// The name to look up (required).
    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn record_type(&self) -> RecordType {
        self.record_type
    }

    /// Values the answer must hold, each as the record reads (an address, a name, a text);
    /// one text or a list of up to 16.
    pub fn expect(&self) -> &[String] {
        &self.expect
    }

    pub fn nameserver(&self) -> Option<SocketAddr> {
        self.nameserver
    }
}

/// The most values a dns check may expect.
pub const MAX_DNS_EXPECT: usize = 16;

/// `expect` of a dns check as written: one text or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl DnsTarget {
    /// Reads the DNS fields from `form`, defaults applied, each field checked.
    pub fn read(form: &mut Form) -> Option<Self> {
        let host = Host::read(form, "is required (the name to look up)");
        let record_type = match form.take::<String>("record_type") {
            None => Some(RecordType::A),
            Some(word) => {
                let parsed = RecordType::parse(&word);
                if parsed.is_none() {
                    form.error("record_type", "must be A, AAAA, CNAME, MX, TXT or NS");
                }
                parsed
            }
        };
        let expect = match form.take::<OneOrMany>("expect") {
            None => Vec::new(),
            Some(OneOrMany::One(text)) => vec![text],
            Some(OneOrMany::Many(list)) => list,
        };
        if expect.len() > MAX_DNS_EXPECT
            || expect
                .iter()
                .any(|e| e.is_empty() || e.len() > MAX_EXCHANGE_BYTES)
        {
            form.error(
                "expect",
                format!("at most {MAX_DNS_EXPECT} values of 1 to {MAX_EXCHANGE_BYTES} bytes"),
            );
        }
        let nameserver = match form.take::<String>("nameserver") {
            None => None,
            Some(text) => {
                let parsed = text
                    .parse::<SocketAddr>()
                    .ok()
                    .or_else(|| text.parse::<IpAddr>().ok().map(|ip| (ip, 53).into()));
                if parsed.is_none() {
                    form.error("nameserver", "must be IP or IP:port");
                }
                parsed
            }
        };
        Some(Self {
            host: host?,
            record_type: record_type?,
            expect,
            nameserver,
        })
    }
}
