//! Crash-safe file writes.
//!
//! Everything another process may read is written to a temporary file in the same directory,
//! fsynced, and renamed over the destination, so readers see the old or the new content and
//! never a torn file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A name for a temporary sibling of `path`, unique per process and call.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rnd = [0u8; 6];
    // A collision only makes the create below fail; it never overwrites anything.
    let _ = getrandom::fill(&mut rnd);
    let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    path.with_file_name(format!(".tmp-{}-{suffix}-{name}", std::process::id()))
}

/// Write `data` to `path` atomically with the given permission bits.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// fsync a directory so that a rename inside it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Rename `from` to `to`, failing with `AlreadyExists` instead of replacing an existing `to`.
///
/// Plain `rename(2)` silently replaces an empty directory; creating a repository must not race
/// with another process creating the same one.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
    };
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The containment check every path hubctl acts on goes through: `path` (which need not exist
/// yet) must stay inside `base` once symbolic links are resolved. Returns the resolved path of
/// the deepest part that exists, joined with the rest, or `None` when it leads outside (a
/// symlinked namespace or repository directory pointing elsewhere, `..` tricks).
pub fn contained(base: &Path, path: &Path) -> Option<PathBuf> {
    let base = resolved(base)?;
    let real = resolved(path)?;
    real.starts_with(&base).then_some(real)
}

/// `path` with symbolic links resolved as far as it exists, the rest (which may not contain
/// `.` or `..`) appended.
fn resolved(path: &Path) -> Option<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while fs::symlink_metadata(&existing).is_err() {
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?.to_path_buf();
    }
    let mut real = existing.canonicalize().ok()?;
    for part in rest.iter().rev() {
        if part == ".." || part == "." {
            return None;
        }
        real.push(part);
    }
    Some(real)
}

/// An exclusive `flock` on a lock file, held until dropped (the descriptor closes).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Take an exclusive lock on `path` (created if missing): waiting for it when `wait`, else
/// `Ok(None)` if another process holds it. The one flock of hubctl: engine slots, maintenance
/// and the authorized_keys rewrite all use it.
pub fn flock(path: &Path, wait: bool) -> io::Result<Option<FileLock>> {
    use std::os::fd::AsRawFd;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let op = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    // SAFETY: plain syscall on a descriptor `file` owns; the lock lives as long as `file`.
    if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
        return Ok(Some(FileLock { _file: file }));
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(e)
    }
}

/// Whether `path` is a regular file with an execute bit (as git decides whether to run a hook).
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether the effective user may access `path` with `mode` (`libc::R_OK`, `W_OK`, `X_OK`
/// or'ed together), as the kernel would decide for an open: `faccessat` with `AT_EACCESS`, so
/// that `sudo -u` and setuid runs are judged as the user they run as. Read-only file systems
/// answer `EROFS`.
pub fn access(path: &Path, mode: i32) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The effective user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: plain syscall without arguments; it cannot fail.
    unsafe { libc::geteuid() }
}

/// The login name of user `uid` from the password database, or `uid N` when it has none (a
/// numeric owner, e.g. inside a container).
pub fn user_name(uid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: zeroed `passwd` is a valid out-parameter; getpwuid_r fills it with pointers into
    // `buf`, which outlives every read below.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf.len()` is its true size.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() && !pw.pw_name.is_null() {
        // SAFETY: getpwuid_r succeeded, so pw_name points at a NUL-terminated string in `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
        return name.to_string_lossy().into_owned();
    }
    format!("uid {uid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_table() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("repos");
        let outside = dir.path().join("outside");
        fs::create_dir_all(base.join("alice")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, base.join("zed")).unwrap();
        std::os::unix::fs::symlink(base.join("alice"), base.join("inner")).unwrap();
        let inside = |p: &str| contained(&base, &base.join(p)).is_some();
        // Existing and not yet existing paths inside.
        assert!(inside("alice"));
        assert!(inside("alice/new.git"));
        assert!(inside("bob/new.git"));
        // A link that stays inside is fine; one that leads out is not, at any depth.
        assert!(inside("inner/x.git"));
        assert!(!inside("zed"));
        assert!(!inside("zed/data.git"));
        assert!(!inside("zed/a/b/c.git"));
        // `..` in the part that does not exist yet.
        assert!(!inside("bob/../../outside"));
        assert!(contained(&base, &dir.path().join("outside/x")).is_none());
        // A base that does not exist yet still contains its future children.
        let fresh = dir.path().join("fresh/repos");
        assert!(contained(&fresh, &fresh.join("a/b.git")).is_some());
    }
}
