//! Host names to addresses for HTTP and socket probes: one asynchronous resolver (hickory's)
//! shared by every probe, which keeps answers for their TTL, so a check probed every 30 s
//! does not ask for its name each time and no probe waits on a thread of the blocking pool.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::ResolveError;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;

/// Longest an answer is kept, whatever its TTL says: a moved stack is probed at its new
/// address within this. Negative answers too: "no address of this family" is the usual
/// answer to a v4-only host's AAAA question, and asking it again sooner would make many
/// probes wait for a query (a UDP socket each) for nothing.
pub const MAX_ANSWER_AGE: Duration = Duration::from_secs(300);

/// Names kept at once (records, so a name with both families takes two).
const CACHE_ENTRIES: usize = 16_384;

/// Where names are looked up.
#[derive(Debug, Clone)]
pub struct Names {
    resolver: Option<TokioResolver>,
}

impl Names {
    /// The system's configuration: `/etc/resolv.conf` (name servers, search domains, ndots)
    /// and `/etc/hosts`, both read now. Without a readable `/etc/resolv.conf`, names go
    /// through the C library's `getaddrinfo`, uncached, as before.
    pub fn system() -> Self {
        match TokioResolver::builder_tokio() {
            Ok(builder) => Self {
                resolver: Some(builder.with_options(options(ResolveHosts::Always)).build()),
            },
            Err(error) => {
                tracing::warn!(
                    %error,
                    "cannot read the system's resolver configuration; \
                     probes resolve names through getaddrinfo, uncached"
                );
                Self { resolver: None }
            }
        }
    }

    /// Every name asked of the DNS server at `server` (the hosts file is not read).
    pub fn nameserver(server: SocketAddr) -> Self {
        let servers = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
        let config = ResolverConfig::from_parts(None, Vec::new(), servers);
        let builder =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
        Self {
            resolver: Some(builder.with_options(options(ResolveHosts::Never)).build()),
        }
    }

    /// The addresses of `host` (a name, or an address as written in a URL), at `port`.
    /// The error is the reason, for the probe's cause.
    pub async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        if let Some(addr) = literal(host, port) {
            return Ok(vec![addr]);
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match &self.resolver {
            Some(resolver) => resolver
                .lookup_ip(bare)
                .await
                .map_err(|e| reason(bare, &e))?
                .iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect(),
            None => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| e.to_string())?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("{bare} has no address"));
        }
        Ok(addrs)
    }
}

/// `host` as an address, when it is one (an IPv6 address in its URL brackets too).
pub fn literal(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

fn options(hosts: ResolveHosts) -> ResolverOpts {
    let mut options = ResolverOpts::default();
    // Both families, as getaddrinfo answers; the connection race tries them in turn.
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    options.cache_size = CACHE_ENTRIES;
    options.positive_max_ttl = Some(MAX_ANSWER_AGE);
    options.negative_max_ttl = Some(MAX_ANSWER_AGE);
    options.use_hosts_file = hosts;
    options
}

/// A failed lookup in a line: "no such name" plainly, anything else as hickory says it.
fn reason(host: &str, error: &ResolveError) -> String {
    if error.is_nx_domain() {
        format!("{host}: no such name")
    } else if error.is_no_records_found() {
        format!("{host} has no address")
    } else {
        format!("{host}: {error}")
    }
}
