//! The generated admin token: when no admin token is configured, the first start writes a
//! random one to `<data_dir>/admin.token` (mode 0600) and later starts read it back.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

pub use crate::settings::ADMIN_TOKEN_FILE as FILE_NAME;
use crate::settings::{MIN_TOKEN_LEN, Secret};

/// Reads the generated token, creating it first when it does not exist.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim();
            anyhow::ensure!(
                token.len() >= MIN_TOKEN_LEN,
                "{} holds no valid token; delete it to generate a new one",
                path.display()
            );
            tracing::info!(path = %path.display(), "using the generated admin token");
            return Ok(Secret::new(token));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{token}").with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "no admin token is configured: generated one and wrote it to this file (mode 0600)"
    );
    Ok(Secret::new(token))
}

/// With admin tokens configured, a generated token left from an earlier start no longer
/// works: its file is removed so nobody reads a dead token from it. Returns whether one was.
pub fn remove_stale(data_dir: &Path) -> anyhow::Result<bool> {
    let path = data_dir.join(FILE_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                "admin tokens are configured, so the generated token no longer works: removed its file"
            );
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot remove the stale {}", path.display())),
    }
}
