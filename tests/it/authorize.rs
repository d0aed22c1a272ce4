//! The operator's `authorize-command` (issue 20, point 3), with the real git and git-lfs
//! clients over `hubctl serve`, nginx + fcgiwrap + `hubctl cgi` (the README's setup) and sshd
//! with hubctl's forced command:
//! - a program that denies one user (carol) everything but plain reads, and allows another
//!   (bob): bob pushes and clones with LFS; carol's clone can read git but not LFS, and her push
//!   is refused, each time with the program's message in front of her; the JSON the program
//!   read is checked field by field;
//! - a program that hangs (and leaves a child behind): with a 1 s `authorize-timeout` every
//!   request is refused with the timeout message, and the program's whole process group is
//!   gone afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;
use crate::push::write_random;

const REPO: &str = "alice/proj";
const GIT_TIMEOUT_SECS: &str = "120";
const CAROL_MESSAGE: &str = "carol is suspended (ticket OPS-7)";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    Serve,
    Cgi,
    Ssh,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::Serve => "serve",
            Via::Cgi => "cgi",
            Via::Ssh => "ssh",
        }
    }
}

/// alice owns the private repository `alice/proj`; bob and carol may write to it.
struct World {
    via: Via,
    env: Env,
    server: Option<Server>,
    _nginx: Option<Nginx>,
    sshd: Option<Sshd>,
    tokens: Vec<(&'static str, String)>,
    keys: Vec<(&'static str, ClientKey)>,
    /// Where the programs append the JSON they read, one object a line.
    received: PathBuf,
}

impl World {
    /// The world with `program` (a shell script body) as authorize-command, set before any
    /// server starts, or none.
    fn new(via: Via, program: Option<&str>) -> World {
        let env = Env::new();
        for u in ["alice", "bob", "carol"] {
            env.ensure_owner(u);
        }
        env.hubctl_ok(&["repo", "init", REPO, "--private"]);
        for u in ["bob", "carol"] {
            env.hubctl_ok(&["repo", "grant", REPO, u, "write"]);
        }
        let received = env.path("received.jsonl");
        let mut w = World {
            via,
            env,
            server: None,
            _nginx: None,
            sshd: None,
            tokens: Vec::new(),
            keys: Vec::new(),
            received,
        };
        if let Some(body) = program {
            w.set_program("authorize", body, None);
        }
        match via {
            Via::Serve => w.server = Some(w.env.serve(&[])),
            Via::Cgi => w._nginx = Some(Nginx::start(&w.env, NginxOptions::default())),
            Via::Ssh => {
                let file = w.env.path("authorized_keys");
                w.env.hubctl_ok(&[
                    "config",
                    "set",
                    "authorized-keys-file",
                    file.to_str().unwrap(),
                ]);
                w.sshd = Some(Sshd::start(&w.env, KeysMode::File(file)));
            }
        }
        for u in ["bob", "carol"] {
            if via == Via::Ssh {
                let key = ClientKey::generate(&w.env, u, KeyKind::Ed25519);
                w.env
                    .hubctl_ok(&["keys", "add", "--user", u, key.public.to_str().unwrap()]);
                w.keys.push((u, key));
            } else {
                let token = w
                    .env
                    .hubctl_ok(&["token", "create", "--user", u])
                    .trim()
                    .to_string();
                w.tokens.push((u, token));
            }
        }
        let scratch = w.env.dir.path().to_path_buf();
        w.env.git_ok(&scratch, &["lfs", "install", "--skip-repo"]);
        for (k, v) in [
            ("lfs.transfer.maxretries", "1"),
            ("lfs.transfer.maxretrydelay", "1"),
        ] {
            w.env.git_ok(&scratch, &["config", "--global", k, v]);
        }
        w
    }

    /// Install `body` as the program and make it the authorize-command (with `timeout`).
    fn set_program(&self, name: &str, body: &str, timeout: Option<&str>) {
        let path = self.env.path(name);
        let script = format!(
            "#!/bin/sh\ninput=$(cat)\nprintf '%s\\n' \"$input\" >> '{}'\n{body}\n",
            self.received.display()
        );
        write_script(&path, &script);
        self.env
            .hubctl_ok(&["config", "set", "authorize-command", path.to_str().unwrap()]);
        if let Some(t) = timeout {
            self.env
                .hubctl_ok(&["config", "set", "authorize-timeout", t]);
        }
    }

    /// `hubctl serve` reads the access rule when it starts and on SIGHUP.
    fn reload(&self) {
        if let Some(server) = &self.server {
            let before = server.log.lines().len();
            let ok = Command::new("kill")
                .args(["-HUP", &server.pid().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "kill -HUP");
            assert!(
                eventually(Duration::from_secs(10), || server.log.lines()[before..]
                    .iter()
                    .any(|l| l.contains("reloaded settings"))),
                "serve did not reload: {:?}",
                server.log.lines()
            );
        }
    }

    fn url(&self) -> String {
        match self.via {
            Via::Serve => self.server.as_ref().unwrap().url(REPO),
            Via::Cgi => self._nginx.as_ref().unwrap().url(&format!("{REPO}.git")),
            Via::Ssh => self.sshd.as_ref().unwrap().url(&format!("{REPO}.git")),
        }
    }

    /// git as `who`: a credential helper with their token over HTTP, their key over SSH;
    /// bounded in time.
    fn git_cmd(&self, who: &str, cwd: &Path) -> Command {
        let mut c = Command::new("timeout");
        c.args(["-k", "10", GIT_TIMEOUT_SECS, "git"]);
        c.current_dir(cwd);
        self.env.clean_env(&mut c);
        c.env_remove("XDG_RUNTIME_DIR");
        match self.via {
            Via::Ssh => {
                let key = &self.keys.iter().find(|(u, _)| *u == who).unwrap().1;
                c.env(
                    "GIT_SSH_COMMAND",
                    ssh_command(self.sshd.as_ref().unwrap(), key),
                );
            }
            _ => {
                let token = &self.tokens.iter().find(|(u, _)| *u == who).unwrap().1;
                c.arg("-c").arg(format!(
                    "credential.helper=!f() {{ test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' '{who}' '{token}'; }}; f"
                ));
            }
        }
        c
    }

    fn git(&self, who: &str, cwd: &Path, args: &[&str]) -> Output {
        self.git_cmd(who, cwd).args(args).output().expect("git")
    }

    fn git_ok(&self, who: &str, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(who, cwd, args);
        assert!(
            out.status.success(),
            "git {args:?} as {who} over {:?} failed: {}\nstdout: {}\nstderr: {}\nreceived: {}",
            self.via,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.received).unwrap_or_default(),
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A clone of the repository as `who` into `dest`, without LFS downloads when `skip_lfs`.
    fn clone(&self, who: &str, dest: &str, skip_lfs: bool) -> (PathBuf, Output) {
        let path = self.env.path(dest);
        let mut c = self.git_cmd(who, self.env.dir.path());
        if skip_lfs {
            c.env("GIT_LFS_SKIP_SMUDGE", "1");
        }
        let out = c
            .args(["clone", &self.url(), path.to_str().unwrap()])
            .output()
            .expect("git clone");
        (path, out)
    }

    /// bob pushes `main` with one LFS file (`big.bin`, 200 KiB, seed `seed`).
    fn push_lfs_as_bob(&self, seed: u64) -> PathBuf {
        let wt = self.env.path("bob-src");
        std::fs::create_dir_all(&wt).unwrap();
        self.env.git_ok(&wt, &["init", "-q", "-b", "main"]);
        self.env.git_ok(&wt, &["lfs", "install", "--local"]);
        self.env.git_ok(&wt, &["lfs", "track", "*.bin"]);
        write_random(&wt.join("big.bin"), 200 * 1024, seed);
        std::fs::write(wt.join("README"), "hello\n").unwrap();
        self.env.git_ok(&wt, &["add", "-A"]);
        self.env.git_ok(&wt, &["commit", "-q", "-m", "lfs"]);
        self.env
            .git_ok(&wt, &["remote", "add", "origin", &self.url()]);
        self.git_ok("bob", &wt, &["push", "-q", "origin", "main"]);
        wt
    }

    /// The JSON objects the programs read so far.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.received)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect()
    }

    /// Whether the program read exactly this request (every field checked).
    fn asked(&self, user: &str, action: &str) -> bool {
        let expected = serde_json::json!({
            "user": user,
            "repository": REPO,
            "action": action,
            "transport": self.via.name(),
            "remote_address": "127.0.0.1",
        });
        self.received().contains(&expected)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The denying program: carol may only read git objects.
const DENY_CAROL: &str = r#"case "$input" in
  *'"user":"carol"'*'"action":"read"'*) exit 0 ;;
  *'"user":"carol"'*) echo 'carol is suspended (ticket OPS-7)'; echo 'not shown'; exit 1 ;;
esac
exit 0"#;

fn denies_one_user(via: Via) {
    let w = World::new(via, Some(DENY_CAROL));
    // bob: push with LFS, clone with LFS, the content intact.
    let src = w.push_lfs_as_bob(7);
    let (clone, out) = w.clone("bob", "bob-clone", false);
    assert!(out.status.success(), "bob's clone: {}", stderr(&out));
    assert_eq!(
        std::fs::read(clone.join("big.bin")).unwrap(),
        std::fs::read(src.join("big.bin")).unwrap()
    );
    for action in ["read", "write", "lfs-read", "lfs-write"] {
        assert!(
            w.asked("bob", action),
            "{action} for bob not asked over {via:?}: {:?}",
            w.received()
        );
    }

    // carol: the git part of a clone is allowed, its LFS download is not, with the message.
    let (_, out) = w.clone("carol", "carol-clone", false);
    let err = stderr(&out);
    assert!(
        err.contains(CAROL_MESSAGE),
        "carol's LFS download over {via:?}: {} {err}",
        out.status
    );
    assert!(
        !err.contains("not shown"),
        "more than one line shown: {err}"
    );
    assert!(w.asked("carol", "read"));
    assert!(w.asked("carol", "lfs-read"), "{:?}", w.received());

    // Without LFS downloads her clone works; her push is refused with the message.
    let (carol, out) = w.clone("carol", "carol-plain", true);
    assert!(
        out.status.success(),
        "carol's plain clone: {}",
        stderr(&out)
    );
    w.env
        .add_commit(&carol, "c.txt", "carol\n", "carol's change");
    let out = w.git("carol", &carol, &["push", "origin", "HEAD:main"]);
    assert!(!out.status.success(), "carol's push went through");
    assert!(
        stderr(&out).contains(CAROL_MESSAGE),
        "carol's push over {via:?}: {}",
        stderr(&out)
    );
    assert!(w.asked("carol", "write"), "{:?}", w.received());
    // The keys API and the page over HTTP: the same program decides.
    if via != Via::Ssh {
        let base = match via {
            Via::Serve => w.server.as_ref().unwrap().base.clone(),
            _ => w._nginx.as_ref().unwrap().base.clone(),
        };
        for (who, status) in [("bob", 200), ("carol", 403)] {
            let token = &w.tokens.iter().find(|(u, _)| *u == who).unwrap().1;
            let auth = format!("Authorization: Bearer {token}");
            let (got, text) = curl(&["-H", &auth, &format!("{base}/api/user/keys")]);
            assert_eq!(got, status, "keys API for {who}: {text}");
            if who == "carol" {
                let body: Value = serde_json::from_str(text.split("\r\n\r\n").last().unwrap())
                    .unwrap_or_else(|e| panic!("{e}: {text}"));
                assert_eq!(body["error"], CAROL_MESSAGE, "{text}");
            }
            let (got, text) = curl(&["-H", &auth, &format!("{base}/{REPO}")]);
            assert_eq!(got, 200, "page for {who}: {text}");
        }
        let keys_read = serde_json::json!({
            "user": "carol",
            "repository": null,
            "action": "keys-read",
            "transport": via.name(),
            "remote_address": "127.0.0.1",
        });
        assert!(w.received().contains(&keys_read), "{:?}", w.received());
    }
    // Her refused push changed nothing.
    let head = w.env.git_ok(&carol, &["rev-parse", "HEAD"]);
    let remote = w.git_ok("bob", &clone, &["ls-remote", "origin", "main"]);
    assert!(!remote.contains(head.trim()), "{remote}");
}

fn hang_times_out(via: Via) {
    let w = World::new(via, None);
    let src = w.push_lfs_as_bob(11);
    let (clone, out) = w.clone("bob", "bob-clone", true);
    assert!(out.status.success(), "bob's clone: {}", stderr(&out));
    // From now on the program never answers, and leaves a child of its own behind.
    let marker = format!("4242.{}", 100 + via as u32);
    w.set_program(
        "hang",
        &format!("sleep {marker} &\nsleep {marker}"),
        Some("1s"),
    );
    w.reload();
    let timeout_message = "the access check did not answer within 1s";

    let out = w.git("bob", &clone, &["lfs", "pull"]);
    assert!(!out.status.success(), "lfs pull went through");
    assert!(
        stderr(&out).contains(timeout_message),
        "lfs pull over {via:?}: {}",
        stderr(&out)
    );
    assert_ne!(
        std::fs::read(clone.join("big.bin")).unwrap(),
        std::fs::read(src.join("big.bin")).unwrap(),
        "the object arrived"
    );

    w.env.add_commit(&clone, "b.txt", "bob\n", "bob's change");
    let out = w.git("bob", &clone, &["push", "origin", "HEAD:main"]);
    assert!(!out.status.success(), "push went through");
    assert!(
        stderr(&out).contains(timeout_message),
        "push over {via:?}: {}",
        stderr(&out)
    );
    let (_, out) = w.clone("bob", "bob-again", true);
    assert!(!out.status.success(), "clone went through");
    assert!(
        stderr(&out).contains(timeout_message),
        "clone over {via:?}: {}",
        stderr(&out)
    );
    assert!(w.asked("bob", "lfs-read") && w.asked("bob", "write"));
    // The program and the child it started were killed with their process group.
    assert!(
        eventually(Duration::from_secs(10), || processes_matching(&format!(
            "sleep {marker}"
        ))
        .is_empty()),
        "left running: {:?}",
        processes_matching(&format!("sleep {marker}"))
    );
}

#[test]
fn serve_denies_one_user() {
    denies_one_user(Via::Serve)
}

#[test]
fn cgi_denies_one_user() {
    denies_one_user(Via::Cgi)
}

#[test]
fn ssh_denies_one_user() {
    denies_one_user(Via::Ssh)
}

#[test]
fn serve_hanging_program_times_out() {
    hang_times_out(Via::Serve)
}

#[test]
fn cgi_hanging_program_times_out() {
    hang_times_out(Via::Cgi)
}

#[test]
fn ssh_hanging_program_times_out() {
    hang_times_out(Via::Ssh)
}

/// `hubctl doctor` names an authorize-command that cannot run (every allowed request would be
/// refused), says ok to one that can, and has no such line without one.
#[test]
fn doctor_checks_the_program() {
    let env = Env::new();
    let doctor = |env: &Env| -> (bool, Option<Value>) {
        let out = env.hubctl(&["doctor", "--json"]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "authorize")
            .cloned();
        (out.status.success(), check)
    };
    env.hubctl_ok(&["init"]);
    assert_eq!(doctor(&env).1, None);
    let program = env.path("authz");
    env.hubctl_ok(&[
        "config",
        "set",
        "authorize-command",
        program.to_str().unwrap(),
    ]);
    let (ok, check) = doctor(&env);
    let check = check.expect("an authorize check");
    assert!(!ok, "{check}");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("not an executable file")
    );
    write_script(&program, "#!/bin/sh\nexit 0\n");
    let (_, check) = doctor(&env);
    assert_eq!(check.expect("an authorize check")["status"], "ok");
}
