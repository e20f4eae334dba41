//! The HTTP(S) prober: one fresh connection per probe (reuse would hide DNS, TCP and TLS
//! failures), each phase timed, the certificate's expiry read, and every way a target can
//! fail turned into an `Outcome` with a cause. `probe` never returns an error.

mod banner;
mod classify;
pub mod connect;
mod dns;
mod exchange;
mod icmp;
pub mod names;
pub mod rdap;
mod tls;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::domain::{
    CheckSpec, Failure, HttpTarget, Method, Outcome, Target, Timestamp, Timings, judge, redact_url,
};
pub use icmp::icmp_allowed;
use names::Names;
use tls::TlsConfigs;
pub use tls::TlsSetupError;

/// Most redirects followed before a probe gives up.
pub const MAX_REDIRECTS: u32 = 10;

/// Where a probe was when it ran out of time, to tell a connect timeout from a slow answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    Dns,
    Connect,
    Tls,
    Response,
}

/// What a probe has seen so far; kept outside the timed future so a timeout loses none of it.
#[derive(Debug, Default)]
struct Trace {
    phase: Phase,
    timings: Timings,
    status: Option<u16>,
    cert_not_after: Option<Timestamp>,
    cert_of: Option<Box<str>>,
}

/// Probes targets. Cheap to share: it holds the TLS configurations and the name cache.
#[derive(Debug, Clone)]
pub struct Prober {
    tls: TlsConfigs,
    names: Names,
    user_agent: String,
    /// Where domain checks' registries are found.
    rdap: rdap::Rdap,
}

impl Prober {
    /// A prober trusting the webpki roots plus the PEM certificates in `ca_bundle`, and
    /// resolving names as the system is configured to.
    pub fn new(ca_bundle: Option<&Path>, user_agent: &str) -> Result<Self, TlsSetupError> {
        Self::resolving_with(ca_bundle, user_agent, Names::system())
    }

    /// The prober `[probe]` asks for: its CA bundle, user agent and name server.
    pub fn configured(settings: &crate::settings::ProbeSettings) -> Result<Self, TlsSetupError> {
        let names = match settings.nameserver() {
            Some(server) => Names::nameserver(server),
            None => Names::system(),
        };
        Ok(
            Self::resolving_with(settings.ca_bundle(), &settings.user_agent, names)?
                .with_rdap(rdap::Rdap::configured(settings, None)),
        )
    }

    /// As [`Prober::new`], resolving names with `names`.
    pub fn resolving_with(
        ca_bundle: Option<&Path>,
        user_agent: &str,
        names: Names,
    ) -> Result<Self, TlsSetupError> {
        Ok(Self {
            tls: TlsConfigs::new(ca_bundle)?,
            names,
            user_agent: user_agent.to_owned(),
            rdap: rdap::Rdap::built_in(),
        })
    }

    /// This prober looking domains up through `rdap`.
    pub fn with_rdap(mut self, rdap: rdap::Rdap) -> Self {
        self.rdap = rdap;
        self
    }

    /// Probes the check's URL once, exactly as the scheduler does, and judges the answer.
    pub async fn probe(&self, spec: &CheckSpec) -> Outcome {
        let started_at = Timestamp::now();
        let start = Instant::now();
        let mut trace = Trace::default();
        let limit = Duration::from_secs(u64::from(spec.timeout()));
        let failure = match &spec.target() {
            Target::Http(http) => {
                let result = tokio::time::timeout(limit, self.follow(http, &mut trace)).await;
                trace.timings.total_ms = elapsed_ms(start);
                match result {
                    Ok(Ok(answer)) => judge(
                        http,
                        answer.status,
                        &answer.headers,
                        &answer.body,
                        trace.timings.total_ms,
                    ),
                    Ok(Err(failure)) => Some(failure),
                    Err(_) => Some(timed_out(&trace, spec.timeout())),
                }
            }
            Target::Icmp(target) => {
                // Boxed, as the TLS and HTTP state is in `exchange`: the future every probe
                // holds is the size of its largest state, so the rarer kinds pay for theirs.
                let result = tokio::time::timeout(
                    limit,
                    Box::pin(icmp::probe(target, &self.names, &mut trace)),
                )
                .await;
                trace.timings.total_ms = elapsed_ms(start);
                match result {
                    Ok(Ok(())) => None,
                    Ok(Err(failure)) => Some(failure),
                    Err(_) => Some(Failure::NoEchoReply {
                        packets: target.packets(),
                    }),
                }
            }
            Target::Domain(target) => {
                let lookup = Box::pin(self.rdap.expiry(target.domain(), limit)).await;
                trace.timings.total_ms = elapsed_ms(start);
                match lookup {
                    Ok(at) => {
                        trace.cert_not_after = Some(at);
                        None
                    }
                    // An expired one is DOWN, its date in the cause: no warning besides.
                    Err(failure) => Some(failure),
                }
            }
            Target::Dns(target) => {
                let query = Box::pin(dns::probe(target, spec.timeout(), &mut trace));
                let result = tokio::time::timeout(limit, query).await;
                trace.timings.total_ms = elapsed_ms(start);
                match result {
                    Ok(Ok(())) => None,
                    Ok(Err(failure)) => Some(failure),
                    Err(_) => Some(Failure::Timeout {
                        after_s: spec.timeout(),
                    }),
                }
            }
            other => {
                let result = tokio::time::timeout(
                    limit,
                    Box::pin(banner::probe(other, &self.names, &mut trace)),
                )
                .await;
                trace.timings.total_ms = elapsed_ms(start);
                match result {
                    Ok(Ok(())) => None,
                    Ok(Err(failure)) => Some(failure),
                    Err(_) => Some(timed_out(&trace, spec.timeout())),
                }
            }
        };
        Outcome {
            started_at,
            status: trace.status,
            timings: trace.timings,
            cert_not_after: trace.cert_not_after,
            cert_of: trace.cert_of,
            failure: failure.map(Failure::bounded),
        }
    }

    /// Runs the request, following redirects when the check asks; returns the final answer.
    async fn follow(
        &self,
        spec: &HttpTarget,
        trace: &mut Trace,
    ) -> Result<exchange::Response, Failure> {
        let mut url = spec.url().url().clone();
        let mut method = spec.method();
        let mut body = spec.body();
        // Filled only when a redirect is followed: most probes get their answer at once.
        let mut visited = HashSet::new();
        // The check's own origin, taken at the first redirect; credentials stay with it.
        let mut origin = None;
        let mut credentials = true;
        for _ in 0..=MAX_REDIRECTS {
            let request = exchange::Request {
                url: &url,
                method,
                body,
                http: spec,
                user_agent: &self.user_agent,
                credentials,
            };
            let response = exchange::run(&self.tls, &self.names, &request, trace).await?;
            let redirect =
                spec.follow_redirects() && matches!(response.status, 301 | 302 | 303 | 307 | 308);
            if !redirect {
                return Ok(response);
            }
            let location = response.location.ok_or_else(|| Failure::BadRedirect {
                detail: format!("HTTP {} without a Location header", response.status),
            })?;
            // A URL in a cause is shown to read tokens and sent in alerts: its secret
            // query values are redacted, as the check's own URL is.
            let shown = |u: &str| redact_url(u, spec.secret_names()).into_owned();
            let next = url.join(&location).map_err(|e| Failure::BadRedirect {
                detail: format!("Location {:?} is not a URL: {e}", shown(&location)),
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Failure::BadRedirect {
                    detail: format!("Location {} is not http or https", shown(next.as_str())),
                });
            }
            if visited.is_empty() {
                visited.insert(url.to_string());
            }
            if !visited.insert(next.to_string()) {
                return Err(Failure::RedirectLoop {
                    url: shown(next.as_str()),
                });
            }
            // As browsers do: 303, and 301/302 after a POST, continue with a GET.
            if response.status == 303
                || (matches!(response.status, 301 | 302) && method == Method::Post)
            {
                method = Method::Get;
                body = None;
            }
            let origin = origin.get_or_insert_with(|| url.origin());
            credentials = spec.redirect_credentials() || next.origin() == *origin;
            url = next;
        }
        Err(Failure::TooManyRedirects {
            limit: MAX_REDIRECTS,
        })
    }
}

/// The failure of a probe that ran out of time, by where it was.
fn timed_out(trace: &Trace, after_s: u32) -> Failure {
    if trace.phase == Phase::Connect {
        Failure::ConnectTimeout
    } else {
        Failure::Timeout { after_s }
    }
}

fn elapsed_ms(since: Instant) -> u32 {
    u32::try_from(since.elapsed().as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe waiting on a silent target is held for its whole timeout, so at 100,000
    /// checks thousands wait at once: what they hold is the probe future. The TLS and HTTP
    /// state and the other kinds' probes are boxed when reached, which keeps it small.
    #[test]
    fn a_waiting_probe_holds_little_memory() {
        let prober = Prober::new(None, "stackwatch-test").unwrap();
        let spec = CheckSpec::with_defaults("http://127.0.0.1:9/ready".parse().unwrap());
        let probe = prober.probe(&spec);
        assert!(
            std::mem::size_of_val(&probe) <= 1_024,
            "the probe future takes {} bytes",
            std::mem::size_of_val(&probe)
        );
    }
}
