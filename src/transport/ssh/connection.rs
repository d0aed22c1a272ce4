//! What the `git-lfs-transfer` sessions of one SSH connection tell each other.
//!
//! With `XDG_RUNTIME_DIR` set (any login session), git-lfs 3.3.0 runs all its transfer
//! sessions over one shared ControlMaster connection. At the end it sends `quit` to connection
//! 0, whose `ssh` is the master, and waits for that process before it sends `quit` to the
//! others; the master cannot exit while they are open, so without help every push waited
//! for the server's idle timeout (LFS.md §7.1, §10 T8; fixed in git-lfs 3.5.0, which ends the
//! others first). The sessions of one connection share sshd's `SSH_CONNECTION` (client and
//! server address and port), so a session that receives `quit` leaves a mark under
//! `<root>/run/lfs-ssh/` named after that connection and the session's scope (repository and
//! operation: every session of one git-lfs run has the same), and the other sessions of the
//! same connection and scope end once they have been idle between messages for [`GRACE`]
//! after the mark appeared. A session that is in the middle of a message is never ended this
//! way. The scope spares the sessions of another git-lfs run that shares the connection (a
//! user's own `ControlMaster auto`) on another repository or in the other direction; two runs
//! on the same repository in the same direction over one shared master are not told apart.
//!
//! The mark is only a hint for speed: when it cannot be written or read, sessions end on
//! `quit`, end of input or the idle timeout as before.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::Digest as _;

use crate::core::fsutil;

/// How long an idle session waits after a sibling's `quit` before it ends. Worker sessions of
/// the quitting client are idle already; the wait spares a session of another client process
/// that shares the same ControlMaster and is between two objects (git-lfs sends the next
/// object's command as soon as the last answer is read: milliseconds). Every multiplexed push
/// and pull of git-lfs 3.3.0 ends with this wait on the sessions that carried its last objects,
/// so it is kept short: 1 s was a sixth of a 1 GiB push.
pub const GRACE: Duration = Duration::from_millis(250);
/// How often an idle session looks for a sibling's mark.
pub const CHECK_EVERY: Duration = Duration::from_millis(50);
/// Marks older than this are removed when a new one is written.
const STALE: Duration = Duration::from_secs(600);
/// Most directory entries one clean-up looks at (bounds the work of one `quit`).
const CLEAN_AT_MOST: usize = 1000;

/// The marks directory: `<run>/lfs-ssh`.
fn marks_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("lfs-ssh")
}

/// One session's view of the other sessions on its SSH connection.
#[derive(Debug, Clone)]
pub struct Siblings {
    dir: PathBuf,
    mark: PathBuf,
    since: SystemTime,
}

impl Siblings {
    /// The session on `connection` (sshd's `SSH_CONNECTION`) in `scope` (what the session
    /// serves, e.g. repository and operation), with marks under `run_dir`; `None` when the
    /// connection is unknown (not started by sshd) or the path is not contained in the run
    /// directory.
    pub fn new(run_dir: &Path, connection: &str, scope: &str) -> Option<Siblings> {
        let connection = connection.trim();
        if connection.is_empty() {
            return None;
        }
        // A fixed-length hex name: the text itself never becomes a path.
        let mut digest = sha2::Sha256::new();
        digest.update(connection.as_bytes());
        digest.update(b"\0");
        digest.update(scope.as_bytes());
        let digest = digest.finalize();
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let dir = marks_dir(run_dir);
        let mark = fsutil::contained(run_dir, &dir.join(name))?;
        Some(Siblings {
            dir,
            mark,
            // Marks from an earlier connection that had the same addresses and ports are
            // older than this session.
            since: SystemTime::now(),
        })
    }

    /// Whether another session of this connection received `quit` after this one started.
    pub fn quit_seen(&self) -> bool {
        fs::symlink_metadata(&self.mark)
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .is_some_and(|t| t >= self.since)
    }

    /// Tell the other sessions of this connection that the client sent `quit` here; also
    /// removes marks older than ten minutes.
    pub fn announce_quit(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.mark)?;
        // Writing sets the modification time the siblings compare with their start.
        f.write_all(b"quit\n")?;
        drop(f);
        self.remove_stale();
        Ok(())
    }

    fn remove_stale(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.take(CLEAN_AT_MOST).flatten() {
            let path = entry.path();
            let Some(path) = fsutil::contained(&self.dir, &path) else {
                continue;
            };
            // symlink_metadata: a link is judged (and removed) as itself, never followed.
            let old = fs::symlink_metadata(&path)
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE);
            if old && path != self.mark {
                let _ = fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quit_is_seen_by_later_sessions_of_the_same_connection_only() {
        let run = tempfile::tempdir().unwrap();
        let conn = "127.0.0.1 40000 127.0.0.1 22";
        let a = Siblings::new(run.path(), conn, "alice/x upload").unwrap();
        let b = Siblings::new(run.path(), conn, "alice/x upload").unwrap();
        let other =
            Siblings::new(run.path(), "127.0.0.1 40001 127.0.0.1 22", "alice/x upload").unwrap();
        // Another git-lfs run sharing the connection (a user's own ControlMaster), on another
        // repository or in the other direction.
        let other_repo = Siblings::new(run.path(), conn, "alice/y upload").unwrap();
        let other_way = Siblings::new(run.path(), conn, "alice/x download").unwrap();
        assert!(!b.quit_seen());
        a.announce_quit().unwrap();
        assert!(b.quit_seen());
        assert!(a.quit_seen());
        assert!(!other.quit_seen());
        assert!(!other_repo.quit_seen());
        assert!(!other_way.quit_seen());
        // A later connection with the same addresses and ports ignores the old mark.
        std::thread::sleep(Duration::from_millis(20));
        let later = Siblings::new(run.path(), conn, "alice/x upload").unwrap();
        assert!(!later.quit_seen());
    }

    #[test]
    fn no_connection_no_siblings_and_names_are_fixed_hex() {
        let run = tempfile::tempdir().unwrap();
        assert!(Siblings::new(run.path(), "", "s").is_none());
        assert!(Siblings::new(run.path(), "  ", "s").is_none());
        for hostile in ["../../etc/passwd", "a/b", "\0x", "..", "/abs 1 2 3"] {
            let s = Siblings::new(run.path(), hostile, hostile).unwrap();
            let name = s.mark.file_name().unwrap().to_str().unwrap().to_string();
            assert_eq!(name.len(), 32, "{hostile:?}");
            assert!(name.bytes().all(|b| b.is_ascii_hexdigit()), "{hostile:?}");
            assert_eq!(s.mark.parent().unwrap(), run.path().join("lfs-ssh"));
        }
    }

    #[test]
    fn a_symlinked_mark_is_not_followed() {
        let run = tempfile::tempdir().unwrap();
        let s = Siblings::new(run.path(), "127.0.0.1 1 127.0.0.1 22", "s").unwrap();
        fs::create_dir_all(run.path().join("lfs-ssh")).unwrap();
        let target = run.path().join("target");
        fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, &s.mark).unwrap();
        assert!(!s.quit_seen());
        assert!(s.announce_quit().is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
    }
}
