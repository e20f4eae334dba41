//! The data directory kept as a database server keeps its own: created 0700, its files
//! 0600, refused at start when it, the database or `admin.token` is a symlink, belongs to
//! another user, or can be written by group or others (as PostgreSQL and OpenSSH refuse),
//! and held by one process at a time (an exclusive lock the kernel releases at exit).

use std::fs::{self, Metadata};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The file a running stackwatch holds locked, with its process id in it.
const LOCK_FILE: &str = "stackwatch.lock";

/// Files of the data directory whose owner and mode are checked at start.
const GUARDED_FILES: [&str; 5] = [
    "stackwatch.db",
    "stackwatch.db-wal",
    "stackwatch.db-shm",
    super::admin_token::FILE_NAME,
    LOCK_FILE,
];

/// The data directory, held by this process until it is dropped or the process ends (the
/// kernel releases the lock on kill -9 too).
#[derive(Debug)]
pub struct Held {
    _lock: fs::File,
}

/// Another process holds the data directory: two schedulers on one database would probe
/// every check twice and send every alert twice.
#[derive(Debug, thiserror::Error)]
#[error(
    "data directory {dir} is in use by another stackwatch (process {holder}): stop it, or give \
     this one its own --data-dir"
)]
pub struct InUse {
    pub dir: PathBuf,
    pub holder: String,
}

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

/// Creates the data directory (0700) when missing, refuses an unsafe one, takes the read
/// bits of group and others off the files it holds (an older stackwatch made them 0644),
/// and holds it for this process. A directory others may only list is left as it is (a
/// container's `/data`).
pub fn prepare(dir: &Path) -> anyhow::Result<Held> {
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
    hold(dir)
}

/// Takes the exclusive lock of the data directory and writes this process's id into it.
fn hold(dir: &Path) -> anyhow::Result<Held> {
    let path = dir.join(LOCK_FILE);
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(InUse {
                dir: dir.to_owned(),
                holder: if holder.is_empty() { "unknown" } else { holder }.to_owned(),
            }
            .into());
        }
        Err(e) => anyhow::bail!("cannot lock {}: {e}", path.display()),
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(Held { _lock: file })
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
    fn a_held_directory_is_refused_naming_the_holder_until_released() {
        let root = tempfile::tempdir().unwrap();
        let held = prepare(root.path()).unwrap();
        let error = prepare(root.path()).unwrap_err();
        let in_use = error.downcast_ref::<InUse>().unwrap();
        assert_eq!(in_use.holder, std::process::id().to_string());
        drop(held);
        prepare(root.path()).unwrap();
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
