//! The operator's `authorize-command`: a program asked after hubctl's own table allowed a
//! request, so that existing rules (LDAP groups, SSO, a ticket system) can gate access without
//! code.
//!
//! The program gets one JSON object on standard input:
//!
//! ```json
//! {"user": "alice", "repository": "alice/project", "action": "write",
//!  "transport": "ssh", "remote_address": "203.0.113.7"}
//! ```
//!
//! `user` and `remote_address` may be `null` (anonymous reads of public repositories, a
//! transport that does not know the address); `repository` is `null` for the keys API. Exit
//! status 0 allows, anything else denies, and so do a crash and the timeout (the program's
//! whole process group is killed then): it fails closed. The first line of its standard output,
//! if any, is the message the user sees with a refusal. It runs with an empty environment
//! except `PATH`, in `/`, so that no credentials of the request or the server leak into it.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::Principal;
use super::authorize::{Authorize, Decision, Query, Table};

/// Most of the program's standard output read (the message is its first line).
const MAX_OUTPUT: u64 = 4096;

/// Longest message passed on to the user, in characters.
const MAX_MESSAGE: usize = 200;

/// What the user is told when the program refuses without saying why.
pub const DEFAULT_MESSAGE: &str = "access denied by the server's access policy";

/// hubctl's table, then the operator's program for every request the table allows.
#[derive(Debug, Clone)]
pub struct CommandRule {
    /// The program (an absolute path, checked when the setting is set).
    pub program: PathBuf,
    /// How long it may take before the request is refused.
    pub timeout: Duration,
}

/// The JSON the program reads.
#[derive(Debug, serde::Serialize)]
struct Input<'a> {
    user: Option<&'a str>,
    repository: Option<&'a str>,
    action: &'static str,
    transport: &'static str,
    remote_address: Option<&'a str>,
}

impl Authorize for CommandRule {
    fn authorize(&self, q: &Query<'_>) -> Decision {
        let table = Table.authorize(q);
        // The local operator (stdio commands, `hubctl lfs-authenticate`) can read the files
        // anyway; the program is for remote users.
        if table != Decision::Allow || *q.principal == Principal::Local {
            return table;
        }
        let input = Input {
            user: q.principal.user_name(),
            repository: q.repository,
            action: q.want.as_str(),
            transport: q.transport.as_str(),
            remote_address: q.remote_addr.filter(|a| !a.is_empty()),
        };
        let json = serde_json::to_vec(&input).unwrap_or_default();
        match run(&self.program, &json, self.timeout) {
            Outcome::Exited(0, _) => Decision::Allow,
            Outcome::Exited(_, message) => {
                Decision::deny(message.unwrap_or_else(|| DEFAULT_MESSAGE.to_string()))
            }
            Outcome::TimedOut => Decision::deny(format!(
                "{DEFAULT_MESSAGE} (the access check did not answer within {})",
                humantime::format_duration(self.timeout)
            )),
            Outcome::Failed => {
                Decision::deny(format!("{DEFAULT_MESSAGE} (the access check failed)"))
            }
        }
    }
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// It exited with this status and perhaps a message.
    Exited(i32, Option<String>),
    /// It was still running at the deadline (and was killed).
    TimedOut,
    /// It could not be started, or died of a signal.
    Failed,
}

fn run(program: &std::path::Path, input: &[u8], timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env(
            "PATH",
            crate::core::env::get()
                .path
                .clone()
                .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        )
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so that a timeout stops whatever it started too.
        .process_group(0);
    let Ok(mut child) = cmd.spawn() else {
        return Outcome::Failed;
    };
    // Both pipes on threads: a program that reads nothing, or writes without end, cannot hold
    // this request past the deadline.
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        std::thread::spawn(move || {
            // A program that exits without reading is answered by its exit status alone.
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.take(MAX_OUTPUT).read_to_end(&mut out);
            let _ = tx.send(out);
        });
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                return Outcome::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => {
                kill_group(&mut child);
                return Outcome::Failed;
            }
        }
    };
    let Some(code) = status.code() else {
        return Outcome::Failed;
    };
    // The output is complete once the program and anything it left holding the pipe are
    // done; a straggler past the deadline costs the message, not the answer.
    let left = deadline.saturating_duration_since(Instant::now());
    let out = rx.recv_timeout(left).unwrap_or_default();
    Outcome::Exited(code, message(&out))
}

/// The first line of `out`, without control characters, shortened; `None` if blank.
fn message(out: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(out);
    let line: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE)
        .collect();
    let line = line.trim();
    (!line.is_empty()).then(|| line.to_string())
}

fn kill_group(child: &mut Child) {
    // SAFETY: plain syscall; the child leads its own process group (process_group(0)) and has
    // not been reaped, so the id cannot have been reused.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(message(b""), None);
        assert_eq!(message(b"  \n"), None);
        assert_eq!(message(b"no\nmore"), Some("no".into()));
        assert_eq!(message(b"a\x1b[31mb\r\n"), Some("a[31mb".into()));
        assert_eq!(message(&[b'x'; 500]).map(|m| m.len()), Some(MAX_MESSAGE));
    }

    #[test]
    fn exit_status_timeout_and_failure() {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let t = Duration::from_secs(5);
        let run_c = |script: &str, t| {
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("hubctl-authz-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join("prog");
            std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            let out = run(&p, b"{}", t);
            let _ = std::fs::remove_dir_all(&dir);
            out
        };
        assert_eq!(run_c("cat >/dev/null; exit 0", t), Outcome::Exited(0, None));
        assert_eq!(
            run_c("echo 'go away'; exit 1", t),
            Outcome::Exited(1, Some("go away".into()))
        );
        let started = Instant::now();
        assert_eq!(
            run_c("sleep 30", Duration::from_millis(300)),
            Outcome::TimedOut
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(run_c("kill -9 $$", t), Outcome::Failed);
        assert_eq!(
            run(std::path::Path::new("/nonexistent/prog"), b"", t),
            Outcome::Failed
        );
    }
}
