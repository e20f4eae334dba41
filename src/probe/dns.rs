//! DNS checks through hickory's resolver: one query of the check's record type, to the
//! check's nameserver or the system's, uncached; up when it answers and the answer holds
//! every expected value.

use std::time::Instant;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::RecordType as WireType;

use super::{Phase, Trace, elapsed_ms};
use crate::domain::{DnsTarget, Failure, RecordType};

fn wire(record_type: RecordType) -> WireType {
    match record_type {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Cname => WireType::CNAME,
        RecordType::Mx => WireType::MX,
        RecordType::Txt => WireType::TXT,
        RecordType::Ns => WireType::NS,
    }
}

/// Queries once; `Ok` when the check is up. `timeout_s` bounds the resolver's own wait.
pub async fn probe(target: &DnsTarget, timeout_s: u32, trace: &mut Trace) -> Result<(), Failure> {
    trace.phase = Phase::Dns;
    let mut options = ResolverOpts::default();
    options.timeout = std::time::Duration::from_secs(u64::from(timeout_s));
    options.attempts = 1;
    options.cache_size = 0;
    let builder = match target.nameserver() {
        Some(server) => Resolver::builder_with_config(
            ResolverConfig::from_parts(
                None,
                Vec::new(),
                NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true),
            ),
            TokioConnectionProvider::default(),
        ),
        None => Resolver::builder_tokio().map_err(|e| Failure::Dns {
            detail: format!("cannot read the system's resolver configuration: {e}"),
        })?,
    };
    let resolver = builder.with_options(options).build();
    let asked = Instant::now();
    let lookup = resolver
        .lookup(target.host().as_str(), wire(target.record_type()))
        .await
        .map_err(|e| Failure::Dns {
            detail: e.to_string(),
        })?;
    trace.timings.dns_ms = Some(elapsed_ms(asked));
    let answers: Vec<String> = lookup
        .iter()
        .map(|rdata| {
            rdata
                .to_string()
                .trim_end_matches('.')
                .trim_matches('"')
                .to_owned()
        })
        .collect();
    let missing: Vec<&String> = target
        .expect()
        .iter()
        .filter(|want| {
            let want = want.trim_end_matches('.');
            !answers
                .iter()
                .any(|a| a.eq_ignore_ascii_case(want) || a.contains(want))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::unexpected(
        format!(
            "{} records holding {}",
            target.record_type().as_str(),
            missing
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        answers.join(", "),
    ))
}
