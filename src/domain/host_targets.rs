//! The fields of the kinds that reach a host directly: TCP, SMTP and SSH (a host and a
//! port), and ICMP.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::host::Host;

/// The fields of a TCP check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TcpTarget {
    /// The host name or IP address to connect to (required).
    #[schema(inline)]
    pub(in crate::domain) host: Host,
    /// The port (required).
    #[schema(minimum = 1, maximum = 65535)]
    pub(in crate::domain) port: u16,
    /// Text sent once connected, 1-1024 bytes.
    #[schema(min_length = 1, max_length = 1024)]
    pub(in crate::domain) send: Option<String>,
    /// Text the server's first bytes must contain, 1-1024 bytes.
    #[schema(min_length = 1, max_length = 1024)]
    pub(in crate::domain) expect: Option<String>,
}

impl TcpTarget {
    /// The host name or IP address to connect to (required).
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port (required).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Text sent once connected, 1-1024 bytes.
    pub fn send(&self) -> Option<&str> {
        self.send.as_deref()
    }

    /// Text the server's first bytes must contain, 1-1024 bytes.
    pub fn expect(&self) -> Option<&str> {
        self.expect.as_deref()
    }
}

/// The fields of an SMTP or SSH check: a host and a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostPort {
    /// The host name or IP address to connect to (required).
    #[schema(inline)]
    pub(in crate::domain) host: Host,
    /// The port (smtp: default 25; ssh: default 22).
    #[schema(required = false, minimum = 1, maximum = 65535)]
    pub(in crate::domain) port: u16,
}

impl HostPort {
    /// The host name or IP address to connect to (required).
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port (smtp: default 25; ssh: default 22).
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// The fields of an ICMP check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IcmpTarget {
    /// The host name or IP address to ping (required).
    #[schema(inline)]
    pub(in crate::domain) host: Host,
    /// Echo requests sent per probe, 1-10 (default 3); up when any is answered.
    #[schema(required = false, minimum = 1, maximum = 10)]
    pub(in crate::domain) packets: u8,
}

impl IcmpTarget {
    /// The host name or IP address to ping (required).
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Echo requests sent per probe, 1-10 (default 3); up when any is answered.
    pub fn packets(&self) -> u8 {
        self.packets
    }
}
