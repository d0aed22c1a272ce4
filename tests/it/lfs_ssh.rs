//! Git LFS over SSH with the real git-lfs client (3.3.0) through a real sshd running hubctl's
//! forced command, keys from the managed authorized_keys file or from AuthorizedKeysCommand:
//! `git-lfs-authenticate` sending the client to `hubctl serve` (the HTTP API with an API
//! token). Wire reference: LFS.md §1.3, §3.3.
//!
//! Every client runs with the isolated HOME of [`Env`], `XDG_RUNTIME_DIR` unset (LFS.md §7.1)
//! and under `timeout`, so a hanging client fails the test instead of the suite.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::push::write_random;

/// A public repository owned by alice.
const PUB: &str = "alice/proj";
/// A private repository owned by alice.
const PRIV: &str = "alice/secret";
/// Upper bound for one git command, in seconds.
const GIT_TIMEOUT_SECS: &str = "180";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Keys {
    /// The authorized_keys file hubctl keeps up to date.
    File,
    /// sshd asks `hubctl keys authorized-keys --key-type %t --key %k`.
    Command,
}

/// sshd with hubctl's forced command, `hubctl serve` at `public-url`, users and keys:
/// alice owns both repositories, bob may write to both, rita may read both, eve has no grant.
struct World {
    env: Env,
    sshd: Sshd,
    server: Server,
    keys: HashMap<&'static str, ClientKey>,
}

impl World {
    fn new(mode: Keys) -> World {
        let env = Env::new();
        for u in ["alice", "bob", "rita", "eve"] {
            env.ensure_owner(u);
        }
        env.hubctl_ok(&["repo", "init", PUB, "--public"]);
        env.hubctl_ok(&["repo", "init", PRIV, "--private"]);
        for repo in [PUB, PRIV] {
            env.hubctl_ok(&["repo", "grant", repo, "bob", "write"]);
            env.hubctl_ok(&["repo", "grant", repo, "rita", "read"]);
        }
        let sshd = match mode {
            Keys::File => {
                let file = env.path("authorized_keys");
                env.hubctl_ok(&[
                    "config",
                    "set",
                    "authorized-keys-file",
                    file.to_str().unwrap(),
                ]);
                Sshd::start(&env, KeysMode::File(file))
            }
            Keys::Command => Sshd::start(
                &env,
                KeysMode::Command {
                    program: hubctl_bin(),
                },
            ),
        };
        let mut keys = HashMap::new();
        for u in ["alice", "bob", "rita", "eve"] {
            let key = ClientKey::generate(&env, u, KeyKind::Ed25519);
            env.hubctl_ok(&["keys", "add", "--user", u, key.public.to_str().unwrap()]);
            keys.insert(u, key);
        }
        let server = env.serve(&[]);
        env.hubctl_ok(&["config", "set", "public-url", &server.base]);
        let w = World {
            env,
            sshd,
            server,
            keys,
        };
        // git-lfs's filters in the private HOME; a failing transfer gives up after a few quick
        // retries.
        let scratch = w.env.dir.path().to_path_buf();
        w.env.git_ok(&scratch, &["lfs", "install", "--skip-repo"]);
        for (k, v) in [
            ("lfs.transfer.maxretries", "2"),
            ("lfs.transfer.maxretrydelay", "1"),
        ] {
            w.env.git_ok(&scratch, &["config", "--global", k, v]);
        }
        w
    }

    fn key(&self, who: &str) -> &ClientKey {
        &self.keys[who]
    }

    /// `ssh://root@127.0.0.1:PORT/<repo>.git`.
    fn url(&self, repo: &str) -> String {
        self.sshd.url(&format!("{repo}.git"))
    }

    /// git over ssh as `who`: isolated HOME, no XDG_RUNTIME_DIR, bounded in time.
    fn git_cmd(&self, who: &str, cwd: &Path) -> Command {
        let mut c = Command::new("timeout");
        c.args(["-k", "10", GIT_TIMEOUT_SECS, "git"]);
        c.current_dir(cwd);
        self.env.clean_env(&mut c);
        c.env_remove("XDG_RUNTIME_DIR");
        c.env("GIT_SSH_COMMAND", ssh_command(&self.sshd, self.key(who)));
        c
    }

    fn git(&self, who: &str, cwd: &Path, args: &[&str]) -> Output {
        self.git_cmd(who, cwd).args(args).output().expect("git")
    }

    fn git_ok(&self, who: &str, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(who, cwd, args);
        self.check(&out, &format!("git {args:?} as {who}"));
        String::from_utf8(out.stdout).unwrap()
    }

    fn check(&self, out: &Output, what: &str) {
        assert!(
            out.status.success(),
            "{what} failed: {}\nstdout: {}\nstderr: {}\n--- http ---\n{}\n--- sshd ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.server.log.lines().join("\n"),
            self.sshd.log()
        );
    }

    /// A new working repository with git-lfs's hooks and `origin` = `repo` over ssh.
    fn worktree(&self, dir: &str, repo: &str) -> PathBuf {
        let wt = self.env.path(dir);
        std::fs::create_dir_all(&wt).unwrap();
        self.env.git_ok(&wt, &["init", "-q", "-b", "main"]);
        self.env.git_ok(&wt, &["lfs", "install", "--local"]);
        self.env
            .git_ok(&wt, &["remote", "add", "origin", &self.url(repo)]);
        wt
    }

    /// `git clone` of `repo` over ssh as `who` into scratch `dest`.
    fn clone(&self, who: &str, repo: &str, dest: &str) -> PathBuf {
        let path = self.env.path(dest);
        self.git_ok(
            who,
            self.env.dir.path(),
            &["clone", "-q", &self.url(repo), path.to_str().unwrap()],
        );
        path
    }

    /// `ssh <git-lfs-command>` as `who`.
    fn ssh(&self, who: &str, command: &str) -> SshOutput {
        ssh_run(&self.sshd, self.key(who), command)
    }

    /// `git-lfs-authenticate` as `who`, which must succeed; its JSON answer.
    fn authenticate(&self, who: &str, args: &str) -> Value {
        let out = self.ssh(who, &format!("git-lfs-authenticate {args}"));
        assert!(out.success(), "git-lfs-authenticate {args} as {who}: {out}");
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// HTTP requests `hubctl serve` logged: (method, path, status).
    fn requests(&self) -> Vec<(String, String, u16)> {
        self.server
            .log
            .lines()
            .iter()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let method = w.next()?;
                if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                    return None;
                }
                let path = w.next()?.to_string();
                let status = w.next()?.parse().ok()?;
                Some((method.to_string(), path, status))
            })
            .collect()
    }

    /// Requests with `method` whose path contains `needle`, once the log has settled.
    fn requests_to(&self, method: &str, needle: &str) -> Vec<(String, String, u16)> {
        let mut last = self.requests().len();
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = self.requests().len();
            if now == last {
                break;
            }
            last = now;
        }
        self.requests()
            .into_iter()
            .filter(|(m, p, _)| m == method && p.contains(needle))
            .collect()
    }

    /// The server has `content`'s object for `repo`, intact.
    fn assert_stored(&self, repo: &str, content: &Path) {
        let oid = sha256_file(content);
        let stored = self
            .env
            .bare(repo)
            .join("lfs/objects")
            .join(&oid[0..2])
            .join(&oid[2..4])
            .join(&oid);
        assert!(stored.is_file(), "{} not stored", content.display());
        assert_eq!(sha256_file(&stored), oid);
    }
}

fn sha256_file(path: &Path) -> String {
    let data = std::fs::read(path).unwrap();
    Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn assert_same_file(expected: &Path, actual: &Path) {
    assert_eq!(
        sha256_file(actual),
        sha256_file(expected),
        "content of {}",
        actual.display()
    );
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Commit `files` (name, size, seed) tracked by LFS (`*.bin`) plus a text file in `wt`.
fn commit_lfs_files(w: &World, wt: &Path, files: &[(&str, usize, u64)], message: &str) {
    w.env.git_ok(wt, &["lfs", "track", "*.bin"]);
    for (name, size, seed) in files {
        let path = wt.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        write_random(&path, *size, *seed);
    }
    std::fs::write(wt.join("notes.txt"), format!("{message}\n")).unwrap();
    w.env.git_ok(wt, &["add", "-A"]);
    w.env.git_ok(wt, &["commit", "-q", "-m", message]);
}

// ---------------------------------------------------------------------------------------------
// git-lfs-authenticate + HTTP

/// LFS push and clone over `ssh://`: git-lfs-transfer is refused (non-zero exit), git-lfs
/// 3.3.0 falls back to git-lfs-authenticate and talks to the HTTP API at `public-url` with the
/// token; objects land intact and clone back byte-identical; a writer pushes more.
fn authenticate_push_clone(mode: Keys) {
    let w = World::new(mode);
    let wt = w.worktree("alice-wt", PRIV);
    commit_lfs_files(
        &w,
        &wt,
        &[("a.bin", 100_000, 1), ("sub/dir/b.bin", 3, 2)],
        "two LFS files",
    );
    let out = w
        .git_cmd("alice", &wt)
        .args(["push", "origin", "main"])
        .env("GIT_TRACE", "1")
        .output()
        .unwrap();
    w.check(&out, "push over ssh");
    let trace = stderr(&out);
    assert!(
        trace.contains("git-lfs-transfer") && trace.contains("git-lfs-authenticate"),
        "the client tries git-lfs-transfer first, then git-lfs-authenticate:\n{trace}"
    );
    for f in ["a.bin", "sub/dir/b.bin"] {
        w.assert_stored(PRIV, &wt.join(f));
    }
    let batches = w.requests_to("POST", "/alice/secret.git/info/lfs/objects/batch");
    assert!(
        !batches.is_empty() && batches.iter().all(|r| r.2 == 200),
        "{batches:?}"
    );
    let puts = w.requests_to("PUT", "/alice/secret.git/info/lfs/objects/");
    assert_eq!(puts.len(), 2, "{puts:?}");

    // A reader clones with the objects smudged.
    let c = w.clone("rita", PRIV, "rita-clone");
    for f in ["a.bin", "sub/dir/b.bin"] {
        assert_same_file(&wt.join(f), &c.join(f));
    }

    // A writer pushes one more object; a second push uploads nothing.
    let b = w.clone("bob", PRIV, "bob-clone");
    w.env.git_ok(&b, &["lfs", "install", "--local"]);
    commit_lfs_files(&w, &b, &[("c.bin", 5000, 3)], "bob's object");
    w.git_ok("bob", &b, &["push", "-q", "origin", "main"]);
    w.assert_stored(PRIV, &b.join("c.bin"));
    let puts_before = w.requests_to("PUT", "/info/lfs/objects/").len();
    w.env
        .git_ok(&b, &["commit", "-q", "--allow-empty", "-m", "empty"]);
    w.git_ok("bob", &b, &["push", "-q", "origin", "main"]);
    assert_eq!(
        w.requests_to("PUT", "/info/lfs/objects/").len(),
        puts_before
    );
}

mod authenticate_push_clone {
    #[test]
    fn file() {
        super::authenticate_push_clone(super::Keys::File)
    }
    #[test]
    fn command() {
        super::authenticate_push_clone(super::Keys::Command)
    }
}

/// What git-lfs-authenticate answers, and what its token does and does not open.
#[test]
fn authenticate_answers() {
    let w = World::new(Keys::File);
    let base = w.server.base.clone();
    let href = format!("{base}/alice/secret.git/info/lfs");
    // Path spellings: quoted or not, leading `/` or not, `.git` or not, an ignored oid.
    let oid = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    for args in [
        "alice/secret download".to_string(),
        "/alice/secret.git download".to_string(),
        "'/alice/secret.git' download".to_string(),
        "'alice/secret' download".to_string(),
        format!("/alice/secret.git download {oid}"),
    ] {
        let a = w.authenticate("rita", &args);
        assert_eq!(a["href"], href.as_str(), "{args}");
        assert_eq!(a["expires_in"], 3600, "{args}");
        let auth = a["header"]["Authorization"].as_str().unwrap();
        assert!(auth.starts_with("RemoteAuth lfsapi1."), "{auth}");
    }

    // Refusals in the same words as git over SSH.
    let git_words = w.ssh("eve", &format!("git-upload-pack '{PRIV}.git'"));
    assert!(!git_words.success());
    let lfs_words = w.ssh("eve", &format!("git-lfs-authenticate {PRIV}.git download"));
    assert!(!lfs_words.success());
    assert_eq!(lfs_words.stderr.trim(), "hubctl: repository not found");
    assert_eq!(lfs_words.stderr.trim(), git_words.stderr.trim());
    let up = w.ssh("rita", &format!("git-lfs-authenticate {PRIV} upload"));
    let git_up = w.ssh("rita", &format!("git-receive-pack '{PRIV}'"));
    assert!(!up.success());
    assert_eq!(
        up.stderr.trim(),
        "hubctl: rita has no write access to alice/secret"
    );
    assert_eq!(up.stderr.trim(), git_up.stderr.trim());
    let wat = w.ssh("alice", &format!("git-lfs-authenticate {PRIV} wat"));
    assert!(!wat.success());
    assert!(
        wat.stderr.contains("Invalid LFS operation: \"wat\""),
        "{wat}"
    );
    let tilde = w.ssh("alice", "git-lfs-authenticate /~alice/secret.git download");
    assert!(!tilde.success());
    assert!(tilde.stderr.contains("~user"), "{tilde}");

    // The token opens the API of its repository, as its user, for its operation.
    let read = w.authenticate("rita", &format!("{PRIV} download"));
    let read_auth = format!(
        "Authorization: {}",
        read["header"]["Authorization"].as_str().unwrap()
    );
    let batch = |auth: &str, repo: &str, op: &str| {
        curl(&[
            "-X",
            "POST",
            "-H",
            auth,
            "-H",
            "Accept: application/vnd.git-lfs+json",
            "-H",
            "Content-Type: application/vnd.git-lfs+json",
            "--data",
            &format!(r#"{{"operation":"{op}","objects":[{{"oid":"{oid}","size":6}}]}}"#),
            &format!("{base}/{repo}.git/info/lfs/objects/batch"),
        ])
    };
    let (status, text) = batch(&read_auth, PRIV, "download");
    assert_eq!(status, 200, "{text}");
    let (status, text) = batch(&read_auth, PRIV, "upload");
    assert_eq!(status, 403, "a download token cannot upload: {text}");
    let (status, text) = batch(&read_auth, PUB, "download");
    assert_eq!(status, 401, "a token is bound to its repository: {text}");
    let (status, text) = curl(&[
        "-H",
        &read_auth,
        &format!("{base}/alice/secret.git/info/lfs/locks"),
    ]);
    assert_eq!(status, 200, "listing locks with a download token: {text}");
    let (status, text) = curl(&[
        "-H",
        &read_auth,
        &format!("{base}/alice/secret.git/info/refs?service=git-upload-pack"),
    ]);
    assert_eq!(status, 401, "API tokens are not git credentials: {text}");
    let forged = read_auth.replace(".download.", ".upload.");
    let (status, text) = batch(&forged, PRIV, "upload");
    assert_eq!(status, 401, "{text}");
    let write = w.authenticate("bob", &format!("{PRIV} upload"));
    let write_auth = format!(
        "Authorization: {}",
        write["header"]["Authorization"].as_str().unwrap()
    );
    let (status, text) = batch(&write_auth, PRIV, "upload");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"upload\""), "{text}");

    // The operator's own command gives the same kind of answer.
    let out = w.env.hubctl(&["lfs-authenticate", PRIV, "download"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["href"], href.as_str());
    let out = w.env.hubctl(&["lfs-authenticate", PRIV, "wat"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Invalid LFS operation: \"wat\""));
    let out = w
        .env
        .hubctl(&["lfs-authenticate", PRIV, "upload", "--user", "rita"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("rita has no write access"));

    // Without public-url there is nowhere to send the client.
    w.env.hubctl_ok(&["config", "unset", "public-url"]);
    let out = w.ssh("alice", &format!("git-lfs-authenticate {PRIV} download"));
    assert!(!out.success());
    assert!(out.stderr.contains("config set public-url"), "{out}");
    let out = w.env.hubctl(&["lfs-authenticate", PRIV, "download"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("config set public-url"));
}

/// Refusals through the real client: a private repository and a key without access, a reader
/// pushing LFS objects.
#[test]
fn authenticate_refusals() {
    let w = World::new(Keys::Command);
    let wt = w.worktree("alice-wt", PRIV);
    commit_lfs_files(&w, &wt, &[("a.bin", 1000, 7)], "one object");
    w.git_ok("alice", &wt, &["push", "-q", "origin", "main"]);

    // eve knows the path but gets nothing, in git's words.
    let dest = w.env.path("eve-clone");
    let out = w.git(
        "eve",
        w.env.dir.path(),
        &["clone", &w.url(PRIV), dest.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("hubctl: repository not found"),
        "{}",
        stderr(&out)
    );
    // git-lfs itself, pointed at the repository, reports the same refusal: eve has the
    // history (from elsewhere) but not the objects.
    let e = w.env.path("eve-wt");
    let out = w
        .env
        .git_cmd(w.env.dir.path())
        .args(["clone", "-q", wt.to_str().unwrap(), e.to_str().unwrap()])
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    w.env
        .git_ok(&e, &["remote", "set-url", "origin", &w.url(PRIV)]);
    let out = w.git("eve", &e, &["lfs", "pull", "origin"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("hubctl: repository not found"),
        "{}",
        stderr(&out)
    );

    // rita may read but not push LFS objects.
    let r = w.clone("rita", PRIV, "rita-clone");
    w.env.git_ok(&r, &["lfs", "install", "--local"]);
    commit_lfs_files(&w, &r, &[("r.bin", 1000, 8)], "rita's object");
    let out = w.git("rita", &r, &["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("rita has no write access to alice/secret"),
        "{err}"
    );
}

/// Locks over SSH through git-lfs-authenticate: create, conflict, list, verify on push, unlock.
#[test]
fn authenticate_locks() {
    let w = World::new(Keys::File);
    let a = w.worktree("alice-wt", PUB);
    commit_lfs_files(&w, &a, &[("a.bin", 500, 1)], "base");
    w.git_ok("alice", &a, &["push", "-q", "origin", "main"]);
    let out = w.git_ok("alice", &a, &["lfs", "lock", "a.bin"]);
    assert!(out.contains("Locked a.bin"), "{out}");
    let b = w.clone("bob", PUB, "bob-clone");
    w.env.git_ok(&b, &["lfs", "install", "--local"]);
    let out = w.git("bob", &b, &["lfs", "lock", "a.bin"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already created lock"),
        "{}",
        stderr(&out)
    );
    let listed = w.git_ok("rita", &a, &["lfs", "locks"]);
    assert!(
        listed.contains("a.bin") && listed.contains("alice"),
        "{listed}"
    );
    let verify = w.git_ok("bob", &b, &["lfs", "locks", "--verify"]);
    assert!(
        verify.contains("a.bin") && verify.contains("alice"),
        "{verify}"
    );
    let out = w.git("bob", &b, &["lfs", "unlock", "a.bin"]);
    assert!(!out.status.success(), "bob cannot remove alice's lock");
    let out = w.git_ok("alice", &a, &["lfs", "unlock", "a.bin"]);
    assert!(out.contains("Unlocked a.bin"), "{out}");
    assert!(w.git_ok("rita", &a, &["lfs", "locks"]).trim().is_empty());
    assert!(
        !w.requests_to("POST", "/alice/proj.git/info/lfs/locks")
            .is_empty()
    );
}
