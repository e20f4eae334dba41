//! RDAP lookups for domain checks: which service answers for a domain (IANA's bootstrap
//! file, the copy built in or a newer one fetched at most daily and kept in the data
//! directory, after the configured `rdap_servers`), and a domain's expiry from its
//! registry. Through reqwest: a registry is not the target, so its phases are not timed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::domain::{DomainName, Failure, RdapDirectory, Timestamp, expiry_of};

/// The copy of the bootstrap file kept in the data directory.
pub const SAVED_FILE: &str = "rdap-dns.json";
/// Least time between two downloads of the bootstrap file.
const REFRESH_EVERY: Duration = Duration::from_secs(86_400);
/// Largest answer read from a registry or the bootstrap URL.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Longest wait for the bootstrap file.
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where RDAP services are found and how: cheap to clone, shared by the prober and the API.
#[derive(Clone)]
pub struct Rdap {
    inner: Arc<Inner>,
}

struct Inner {
    /// The bootstrap file in use, with `servers` before it.
    directory: RwLock<Arc<RdapDirectory>>,
    servers: BTreeMap<String, url::Url>,
    bootstrap_url: Option<url::Url>,
    /// Where a downloaded file is kept (`None`: not kept).
    saved: Option<PathBuf>,
    /// When the last download was tried.
    tried: Mutex<Option<Instant>>,
    /// The HTTP client, or why none could be set up (every lookup then fails saying so).
    client: Result<reqwest::Client, String>,
}

impl std::fmt::Debug for Rdap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rdap")
            .field("publication", &self.directory().publication().to_owned())
            .finish_non_exhaustive()
    }
}

impl Rdap {
    /// The built-in bootstrap file, or the copy in `data_dir` when it is newer; `servers`
    /// before either; refreshed from `bootstrap_url` when set.
    pub fn new(
        servers: BTreeMap<String, url::Url>,
        bootstrap_url: Option<url::Url>,
        data_dir: Option<PathBuf>,
        user_agent: &str,
    ) -> Self {
        let saved = data_dir.map(|dir| dir.join(SAVED_FILE));
        let kept = saved
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| RdapDirectory::parse(&text).ok());
        let shipped = RdapDirectory::shipped();
        let newest = match kept {
            Some(kept) if kept.publication() > shipped.publication() => kept,
            _ => shipped,
        };
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| format!("no HTTP client for RDAP: {e}"));
        Self {
            inner: Arc::new(Inner {
                directory: RwLock::new(Arc::new(newest.with_servers(&servers))),
                servers,
                bootstrap_url,
                saved,
                tried: Mutex::new(None),
                client,
            }),
        }
    }

    /// As `[probe]` configures it, keeping downloads in `data_dir` when given.
    pub fn configured(
        settings: &crate::settings::ProbeSettings,
        data_dir: Option<PathBuf>,
    ) -> Self {
        Self::new(
            settings.rdap_servers(),
            settings.rdap_bootstrap_url(),
            data_dir,
            &settings.user_agent,
        )
    }

    /// The built-in bootstrap file alone: no download, nothing kept.
    pub fn built_in() -> Self {
        Self::new(BTreeMap::new(), None, None, "stackwatch")
    }

    /// The directory in use now.
    pub fn directory(&self) -> Arc<RdapDirectory> {
        match self.inner.directory.read() {
            Ok(directory) => directory.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Downloads the bootstrap file when a day has passed since the last try (or none was
    /// made), and uses it when it is newer than the one in use. A failure is logged and
    /// tried again a day later; the file in use stays.
    pub async fn refresh_if_due(&self) {
        let Some(url) = &self.inner.bootstrap_url else {
            return;
        };
        {
            let Ok(mut tried) = self.inner.tried.lock() else {
                return;
            };
            if tried.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
                return;
            }
            *tried = Some(Instant::now());
        }
        match self.download(url).await {
            Ok((text, fetched)) => self.adopt(&text, fetched),
            Err(reason) => {
                tracing::warn!(url = %url, %reason, "cannot refresh the RDAP bootstrap file")
            }
        }
    }

    async fn download(&self, url: &url::Url) -> Result<(String, RdapDirectory), String> {
        let client = self.inner.client.as_ref().map_err(Clone::clone)?;
        let response = client
            .get(url.clone())
            .timeout(BOOTSTRAP_TIMEOUT)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        let body = read_bounded(response).await?;
        let text = String::from_utf8(body).map_err(|_| "not UTF-8".to_owned())?;
        let directory = RdapDirectory::parse(&text)?;
        Ok((text, directory))
    }

    /// Uses `fetched` when it is newer than the file in use, and keeps it.
    fn adopt(&self, text: &str, fetched: RdapDirectory) {
        let current = self.directory();
        if fetched.publication() <= current.publication() {
            return;
        }
        tracing::info!(
            publication = fetched.publication(),
            "using a newer RDAP bootstrap file"
        );
        if let Some(path) = &self.inner.saved {
            let partial = path.with_extension("json.partial");
            let kept =
                std::fs::write(&partial, text).and_then(|()| std::fs::rename(&partial, path));
            if let Err(e) = kept {
                tracing::warn!(path = %path.display(), error = %e, "cannot keep the RDAP bootstrap file");
            }
        }
        let next = Arc::new(fetched.with_servers(&self.inner.servers));
        match self.inner.directory.write() {
            Ok(mut directory) => *directory = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }

    /// When `domain`'s registration expires, as its registry says, within `limit`.
    pub async fn expiry(&self, domain: &DomainName, limit: Duration) -> Result<Timestamp, Failure> {
        self.refresh_if_due().await;
        let directory = self.directory();
        let Some(url) = directory.query_url(domain) else {
            return Err(Failure::Rdap {
                detail: directory.refusal(domain).unwrap_or_default(),
            });
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let trouble = |detail: String| Failure::Rdap {
            detail: format!("{host}: {detail}"),
        };
        let client = self.inner.client.as_ref().map_err(|e| trouble(e.clone()))?;
        let response = client
            .get(url)
            .header("accept", "application/rdap+json, application/json")
            .timeout(limit)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    trouble(format!("no answer within {} s", limit.as_secs()))
                } else {
                    trouble(e.without_url().to_string())
                }
            })?;
        let status = response.status().as_u16();
        if status == 404 {
            return Err(Failure::DomainNotRegistered {
                domain: domain.to_string(),
            });
        }
        if !(200..300).contains(&status) {
            return Err(trouble(format!("HTTP {status}")));
        }
        let body = read_bounded(response).await.map_err(trouble)?;
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| trouble(format!("the answer is not JSON ({e})")))?;
        let expires = expiry_of(&answer).map_err(trouble)?;
        if expires.0 <= Timestamp::now().0 {
            return Err(Failure::DomainExpired { at: expires });
        }
        Ok(expires)
    }
}

/// The body of `response`, at most [`MAX_ANSWER_BYTES`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is larger than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
