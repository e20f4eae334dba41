//! The data directory kept as a database server keeps its own: created 0700, its files
//! 0600, and refused at start when it, the database or `admin.token` is a symlink, belongs
//! to another user, or can be written by group or others (as PostgreSQL and OpenSSH refuse).

use std::fs::{self, Metadata};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Files of the data directory whose owner and mode are checked at start.
const GUARDED_FILES: [&str; 4] = [
    "stackwatch.db",
    "stackwatch.db-wal",
    "stackwatch.db-shm",
    super::admin_token::FILE_NAME,
];

/// Bits that let group or others write.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// A path of the data directory that cannot be trusted; starting would hand secrets or
/// the admin token to another local user.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path} {reason}; stackwatch refuses to use it (fix: `chown $(id -u) {path} && chmod {fix} {path}`, \
     or remove the link)"
)]
pub struct UnsafePath {
    pub path: PathBuf,
    pub reason: String,
    fix: &'static str,
}

/// Creates the data directory (0700) when missing, refuses an unsafe one, and takes the
/// read bits of group and others off the files it holds (an older stackwatch made them
/// 0644). A directory others may only list is left as it is (a container's `/data`).
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    if fs::symlink_metadata(dir).is_err() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", dir.display()))?;
    }
    let uid = rustix::process::geteuid().as_raw();
    guard(dir, uid, "700")?;
    for name in GUARDED_FILES {
        let path = dir.join(name);
        if fs::symlink_metadata(&path).is_ok() {
            let meta = guard(&path, uid, "600")?;
            // Anything but a file there (a directory, say) is left for the store to refuse.
            if meta.is_file() {
                private(&path, &meta)?;
            }
        }
    }
    Ok(())
}

/// Refuses `path` unless it is no symlink, owned by `uid` and not writable by others.
fn guard(path: &Path, uid: u32, fix: &'static str) -> Result<Metadata, UnsafePath> {
    let meta = fs::symlink_metadata(path).map_err(|e| UnsafePath {
        path: path.to_owned(),
        reason: format!("cannot be examined ({e})"),
        fix,
    })?;
    match problem(&meta, uid) {
        Some(reason) => Err(UnsafePath {
            path: path.to_owned(),
            reason,
            fix,
        }),
        None => Ok(meta),
    }
}

/// Takes the read bits of group and others off a file that holds secrets.
fn private(path: &Path, meta: &Metadata) -> Result<(), UnsafePath> {
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let tight = mode & !0o077;
    fs::set_permissions(path, fs::Permissions::from_mode(tight)).map_err(|e| UnsafePath {
        path: path.to_owned(),
        reason: format!("is readable by others and cannot be changed ({e})"),
        fix: "600",
    })?;
    tracing::warn!(
        path = %path.display(),
        from = format!("{mode:o}"),
        to = format!("{tight:o}"),
        "took read access from group and others"
    );
    Ok(())
}

/// Why a file or directory with `meta` is unsafe for a process of `uid`, if it is.
fn problem(meta: &Metadata, uid: u32) -> Option<String> {
    if meta.file_type().is_symlink() {
        Some("is a symbolic link".to_owned())
    } else if meta.uid() != uid {
        Some(format!(
            "belongs to user {}, not to this process's user {uid}",
            meta.uid()
        ))
    } else if meta.mode() & WRITABLE_BY_OTHERS != 0 {
        Some(format!(
            "can be written by group or others (mode {:o})",
            meta.mode() & 0o7777
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_is_private_and_old_files_lose_their_read_bits() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        prepare(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let db = dir.join("stackwatch.db");
        fs::write(&db, "").unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        prepare(&dir).unwrap();
        assert_eq!(fs::metadata(&db).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn writable_by_others_or_a_link_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        prepare(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let error = prepare(&dir).unwrap_err().to_string();
        assert!(error.contains("written by group or others"), "{error}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let token = dir.join("admin.token");
        fs::write(&token, "planted-token-0123456789").unwrap();
        fs::set_permissions(&token, fs::Permissions::from_mode(0o666)).unwrap();
        let error = prepare(&dir).unwrap_err().to_string();
        assert!(error.contains("admin.token can be written"), "{error}");
        fs::remove_file(&token).unwrap();
        std::os::unix::fs::symlink(root.path().join("elsewhere.db"), dir.join("stackwatch.db"))
            .unwrap();
        let error = prepare(&dir).unwrap_err().to_string();
        assert!(error.contains("is a symbolic link"), "{error}");
    }
}
