//! Git LFS over SSH with the real git-lfs client (3.3.0) through a real sshd running hubctl's
//! forced command, keys from the managed authorized_keys file or from AuthorizedKeysCommand:
//! `git-lfs-transfer` (the pure-SSH protocol, which the client tries first) and, with it
//! switched off, `git-lfs-authenticate` sending the client to `hubctl serve` (the HTTP API with
//! an API token). Wire reference: LFS.md §1.3, §3.3, §7.
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

/// Which way LFS goes over SSH.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    /// `lfs-ssh-transfer off`: git-lfs-transfer exits non-zero, the client falls back to
    /// git-lfs-authenticate and `hubctl serve` at `public-url`.
    Authenticate,
    /// `git-lfs-transfer` (the default); no HTTP server and no `public-url`, so a fallback
    /// could not work.
    Transfer,
    /// Like [`Via::Authenticate`], with the HTTP API behind nginx + fcgiwrap + `hubctl cgi`
    /// (the README's snippet) at `public-url` instead of `hubctl serve`.
    AuthenticateCgi,
}

/// sshd with hubctl's forced command, users and keys, and for [`Via::Authenticate`] `hubctl
/// serve` at `public-url`: alice owns both repositories, bob may write to both, rita may read
/// both, eve has no grant.
struct World {
    env: Env,
    sshd: Sshd,
    server: Option<Server>,
    nginx: Option<Nginx>,
    keys: HashMap<&'static str, ClientKey>,
}

impl World {
    fn new(mode: Keys) -> World {
        World::with(mode, Via::Authenticate)
    }

    fn with(mode: Keys, via: Via) -> World {
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
        let (server, nginx) = match via {
            Via::Authenticate => {
                let server = env.serve(&[]);
                env.hubctl_ok(&["config", "set", "public-url", &server.base]);
                env.hubctl_ok(&["config", "set", "lfs-ssh-transfer", "off"]);
                (Some(server), None)
            }
            Via::AuthenticateCgi => {
                let nginx = Nginx::start(&env, NginxOptions::default());
                env.hubctl_ok(&["config", "set", "public-url", &nginx.base]);
                env.hubctl_ok(&["config", "set", "lfs-ssh-transfer", "off"]);
                (None, Some(nginx))
            }
            Via::Transfer => (None, None),
        };
        let w = World {
            env,
            sshd,
            server,
            nginx,
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
            self.server
                .as_ref()
                .map(|s| s.log.lines().join("\n"))
                .unwrap_or_default(),
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
            .as_ref()
            .expect("an HTTP server")
            .log
            .lines()
            .iter()
            .filter_map(|l| {
                // TIME ADDR USER METHOD PATH STATUS BYTES DURATION SERVICE
                if l.starts_with("hubctl:") {
                    return None;
                }
                let mut w = l.split_whitespace().skip(3);
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

/// The API-token path behind nginx + fcgiwrap + `hubctl cgi`: git-lfs-transfer is off, the
/// client falls back to git-lfs-authenticate, and its token (sent by the client as the
/// `Authorization` header of the batch calls through nginx) opens the private repository
/// for the writer's push and the reader's clone; the CGI's object PUTs and GETs answer 200.
#[test]
fn authenticate_push_clone_cgi() {
    let w = World::with(Keys::File, Via::AuthenticateCgi);
    let nginx = w.nginx.as_ref().unwrap();
    let access = || std::fs::read_to_string(nginx.dir.join("logs/access.log")).unwrap_or_default();
    let wt = w.worktree("alice-wt", PRIV);
    commit_lfs_files(
        &w,
        &wt,
        &[("a.bin", 300_000, 11), ("b.bin", 3, 12)],
        "two LFS files",
    );
    let out = w
        .git_cmd("alice", &wt)
        .args(["push", "origin", "main"])
        .env("GIT_TRACE", "1")
        .output()
        .unwrap();
    w.check(
        &out,
        &format!("push over ssh, LFS over CGI\n{}", nginx.logs()),
    );
    let trace = stderr(&out);
    assert!(
        trace.contains("git-lfs-authenticate"),
        "the client did not use git-lfs-authenticate:\n{trace}"
    );
    for f in ["a.bin", "b.bin"] {
        w.assert_stored(PRIV, &wt.join(f));
    }
    let log = access();
    let lines = |needle: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    };
    let batches = lines("POST /alice/secret.git/info/lfs/objects/batch");
    assert!(!batches.is_empty(), "no batch call through nginx:\n{log}");
    assert!(batches.iter().all(|l| l.contains("\" 200 ")), "{batches:?}");
    let puts = lines("PUT /alice/secret.git/info/lfs/objects/");
    assert_eq!(puts.len(), 2, "{log}");
    assert!(puts.iter().all(|l| l.contains("\" 200 ")), "{puts:?}");

    // A reader clones through the same path, objects smudged byte for byte.
    let c = w.clone("rita", PRIV, "rita-clone");
    for f in ["a.bin", "b.bin"] {
        assert_same_file(&wt.join(f), &c.join(f));
    }
    let log = access();
    let gets: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("GET /alice/secret.git/info/lfs/objects/"))
        .collect();
    assert!(!gets.is_empty(), "no object GET through nginx:\n{log}");
    assert!(gets.iter().all(|l| l.contains("\" 200 ")), "{gets:?}");

    // eve, without a grant, gets no token and no objects.
    let out = w.ssh("eve", "git-lfs-authenticate alice/secret.git download");
    assert!(!out.success(), "{out}");
    let e = w.env.path("eve-clone");
    let out = w.git(
        "eve",
        w.env.dir.path(),
        &["clone", "-q", &w.url(PRIV), e.to_str().unwrap()],
    );
    assert!(!out.status.success(), "eve cloned a private repository");
}

/// What git-lfs-authenticate answers, and what its token does and does not open.
#[test]
fn authenticate_answers() {
    let w = World::new(Keys::File);
    let base = w.server.as_ref().unwrap().base.clone();
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
    // The legacy v1 API takes it too.
    let (status, text) = curl(&[
        "-X",
        "POST",
        "-H",
        &write_auth,
        "-H",
        "Accept: application/vnd.git-lfs+json",
        "-H",
        "Content-Type: application/vnd.git-lfs+json",
        "--data",
        &format!(r#"{{"oid":"{oid}","size":6}}"#),
        &format!("{base}/alice/secret.git/info/lfs/objects"),
    ]);
    assert_eq!(status, 202, "legacy upload request: {text}");
    let (status, text) = curl(&[
        "-X",
        "POST",
        "-H",
        &read_auth,
        "-H",
        "Accept: application/vnd.git-lfs+json",
        "--data",
        &format!(r#"{{"oid":"{oid}","size":6}}"#),
        &format!("{base}/alice/secret.git/info/lfs/objects"),
    ]);
    assert_eq!(status, 403, "legacy upload with a download token: {text}");

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

// ---------------------------------------------------------------------------------------------
// git-lfs-transfer

impl World {
    /// Files left in `<repo>.git/lfs/tmp` (uploads in progress or leftovers).
    fn tmp_files(&self, repo: &str) -> Vec<PathBuf> {
        std::fs::read_dir(self.env.bare(repo).join("lfs/tmp"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// hubctl forced commands still running for this test's root.
    fn sessions(&self) -> Vec<String> {
        processes_matching(&format!("{} shell", self.env.root.display()))
    }

    /// How many logins sshd has accepted so far.
    fn logins(&self) -> usize {
        self.sshd.log().matches("Accepted publickey").count()
    }

    /// The raw protocol: `git-lfs-transfer <args>` as `who` with `input` on stdin.
    fn transfer_raw(&self, who: &str, args: &str, input: &[u8]) -> SshOutput {
        self.sshd
            .ssh(self.key(who))
            .stdin(input)
            .run(&format!("git-lfs-transfer {args}"))
    }
}

/// One pkt-line with `payload`.
fn pkt(payload: &str) -> String {
    format!("{:04x}{payload}", payload.len() + 4)
}

/// A command message: the command line and arguments (each with LF), then a flush.
fn msg(lines: &[&str]) -> String {
    let mut s: String = lines.iter().map(|l| pkt(&format!("{l}\n"))).collect();
    s.push_str("0000");
    s
}

/// A command message with a body of text lines after a delimiter.
fn msg_body(lines: &[&str], body: &[&str]) -> String {
    let mut s: String = lines.iter().map(|l| pkt(&format!("{l}\n"))).collect();
    s.push_str("0001");
    s.extend(body.iter().map(|l| pkt(&format!("{l}\n"))));
    s.push_str("0000");
    s
}

/// The server's capability advertisement and the answer to `version 1` (LFS.md §7.3).
const HANDSHAKE: &str = "000eversion=1\n000clocking\n0000000fstatus 200\n0000";

/// The client's side of the handshake.
fn hello() -> String {
    msg(&["version 1"])
}

/// Pure-SSH push, clone and pull: the client uses git-lfs-transfer and never asks for
/// git-lfs-authenticate (there is no HTTP server to fall back to); every session process is
/// gone afterwards.
fn transfer_push_clone(mode: Keys) {
    let w = World::with(mode, Via::Transfer);
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
    assert!(trace.contains("git-lfs-transfer"), "{trace}");
    assert!(
        !trace.contains("git-lfs-authenticate"),
        "fell back:\n{trace}"
    );
    for f in ["a.bin", "sub/dir/b.bin"] {
        w.assert_stored(PRIV, &wt.join(f));
    }
    assert!(w.tmp_files(PRIV).is_empty(), "{:?}", w.tmp_files(PRIV));

    // A reader clones with the objects smudged, over git-lfs-transfer download.
    let out = w
        .git_cmd("rita", w.env.dir.path())
        .args([
            "clone",
            "-q",
            &w.url(PRIV),
            w.env.path("rita-clone").to_str().unwrap(),
        ])
        .env("GIT_TRACE", "1")
        .output()
        .unwrap();
    w.check(&out, "clone over ssh");
    assert!(!stderr(&out).contains("git-lfs-authenticate"));
    let c = w.env.path("rita-clone");
    for f in ["a.bin", "sub/dir/b.bin"] {
        assert_same_file(&wt.join(f), &c.join(f));
    }

    // Clone without smudging, then `git lfs pull`.
    let p = w.env.path("rita-pull");
    let out = w
        .git_cmd("rita", w.env.dir.path())
        .args(["clone", "-q", &w.url(PRIV), p.to_str().unwrap()])
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .output()
        .unwrap();
    w.check(&out, "clone without smudge");
    assert!(
        std::fs::read_to_string(p.join("sub/dir/b.bin"))
            .unwrap()
            .starts_with("version https://git-lfs")
    );
    w.git_ok("rita", &p, &["lfs", "pull"]);
    for f in ["a.bin", "sub/dir/b.bin"] {
        assert_same_file(&wt.join(f), &p.join(f));
    }

    // A writer pushes one more object, reusing one already stored.
    w.env.git_ok(&c, &["lfs", "install", "--local"]);
    let b = w.clone("bob", PRIV, "bob-clone");
    w.env.git_ok(&b, &["lfs", "install", "--local"]);
    std::fs::copy(wt.join("a.bin"), b.join("copy.bin")).unwrap();
    commit_lfs_files(&w, &b, &[("c.bin", 5000, 3)], "bob's object");
    w.git_ok("bob", &b, &["push", "-q", "origin", "main"]);
    w.assert_stored(PRIV, &b.join("c.bin"));
    // rita pulls it.
    w.git_ok("rita", &c, &["pull", "-q", "origin", "main"]);
    assert_same_file(&b.join("c.bin"), &c.join("c.bin"));
    assert_same_file(&wt.join("a.bin"), &c.join("copy.bin"));

    // rita cannot push objects: the session is refused, and so is the fallback.
    commit_lfs_files(&w, &c, &[("r.bin", 100, 9)], "rita's object");
    let out = w.git("rita", &c, &["push", "origin", "main"]);
    assert!(!out.status.success());
    assert!(
        eventually(std::time::Duration::from_secs(10), || w
            .sessions()
            .is_empty()),
        "sessions left: {:?}",
        w.sessions()
    );
}

mod transfer_push_clone {
    #[test]
    fn file() {
        super::transfer_push_clone(super::Keys::File)
    }
    #[test]
    fn command() {
        super::transfer_push_clone(super::Keys::Command)
    }
}

/// Locks over git-lfs-transfer: lock, conflict, `git lfs locks` (list-lock), `--verify` and
/// push verification (list-locks with owner lines), unlock without `force` (3.3.0 never sends
/// it), by the owner, refused for a writer, allowed for the repository's admin.
#[test]
fn transfer_locks() {
    let w = World::with(Keys::File, Via::Transfer);
    let a = w.worktree("alice-wt", PUB);
    commit_lfs_files(&w, &a, &[("a.bin", 500, 1), ("b.bin", 500, 2)], "base");
    w.git_ok("alice", &a, &["push", "-q", "origin", "main"]);
    let out = w.git_ok("alice", &a, &["lfs", "lock", "a.bin"]);
    assert!(out.contains("Locked a.bin"), "{out}");
    let b = w.clone("bob", PUB, "bob-clone");
    w.env.git_ok(&b, &["lfs", "install", "--local"]);
    let out = w.git("bob", &b, &["lfs", "lock", "a.bin"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("lock already exists"),
        "{}",
        stderr(&out)
    );
    w.git_ok("bob", &b, &["lfs", "lock", "b.bin"]);

    // Listing on a download session; the paged form too.
    let listed = w.git_ok("rita", &a, &["lfs", "locks"]);
    assert!(
        listed.contains("a.bin") && listed.contains("alice"),
        "{listed}"
    );
    assert!(
        listed.contains("b.bin") && listed.contains("bob"),
        "{listed}"
    );
    let one = w.git_ok("rita", &a, &["lfs", "locks", "--path", "b.bin"]);
    assert!(one.contains("b.bin") && !one.contains("a.bin"), "{one}");
    let limited = w.git_ok("rita", &a, &["lfs", "locks", "--limit", "1"]);
    assert_eq!(limited.lines().count(), 1, "{limited}");
    // Verification on an upload session: ours and theirs.
    let verify = w.git_ok("bob", &b, &["lfs", "locks", "--verify"]);
    let mine = verify.lines().find(|l| l.contains("b.bin")).unwrap();
    let theirs = verify.lines().find(|l| l.contains("a.bin")).unwrap();
    assert!(mine.starts_with("O "), "{verify}");
    assert!(!theirs.starts_with("O "), "{verify}");
    // A push touching alice's locked file with verification on is stopped by the client.
    w.env.git_ok(&b, &["config", "lfs.locksverify", "true"]);
    std::fs::write(b.join("a.bin"), "changed by bob\n").unwrap();
    w.env.git_ok(&b, &["commit", "-qam", "touch a.bin"]);
    let out = w.git("bob", &b, &["push", "origin", "main"]);
    assert!(!out.status.success(), "push went through a lock");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(said.contains("a.bin") && said.contains("alice"), "{said}");

    // bob cannot remove alice's lock, with or without --force.
    for args in [
        &["lfs", "unlock", "a.bin"][..],
        &["lfs", "unlock", "--force", "a.bin"],
    ] {
        let out = w.git("bob", &b, args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains("only its owner or an admin"),
            "{}",
            stderr(&out)
        );
    }
    // alice, the owner (an admin of her repository), removes bob's lock and her own.
    let id = w
        .git_ok("rita", &a, &["lfs", "locks", "--path", "b.bin"])
        .split("ID:")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    let out = w.git_ok("alice", &a, &["lfs", "unlock", "--force", "--id", &id]);
    assert!(out.contains("Unlocked"), "{out}");
    let out = w.git_ok("alice", &a, &["lfs", "unlock", "a.bin"]);
    assert!(out.contains("Unlocked a.bin"), "{out}");
    assert!(w.git_ok("rita", &a, &["lfs", "locks"]).trim().is_empty());
}

/// `lfs.concurrenttransfers=8`: a push of many objects opens one session per worker (without
/// XDG_RUNTIME_DIR each gets its own connection) and every object lands intact.
#[test]
fn transfer_parallel() {
    let w = World::with(Keys::Command, Via::Transfer);
    let wt = w.worktree("alice-wt", PUB);
    let files: Vec<(String, usize, u64)> = (0..16)
        .map(|i| (format!("f{i}.bin"), 200_000 + i * 1000, i as u64 + 100))
        .collect();
    let refs: Vec<(&str, usize, u64)> =
        files.iter().map(|(n, s, x)| (n.as_str(), *s, *x)).collect();
    commit_lfs_files(&w, &wt, &refs, "many objects");
    let before = w.logins();
    w.git_ok(
        "alice",
        &wt,
        &[
            "-c",
            "lfs.concurrenttransfers=8",
            "push",
            "-q",
            "origin",
            "main",
        ],
    );
    let sessions = w.logins() - before;
    assert!(sessions >= 8, "only {sessions} ssh logins for 8 workers");
    for (name, _, _) in &files {
        w.assert_stored(PUB, &wt.join(name));
    }
    let c = w.env.path("clone");
    w.git_ok(
        "rita",
        w.env.dir.path(),
        &[
            "-c",
            "lfs.concurrenttransfers=8",
            "clone",
            "-q",
            &w.url(PUB),
            c.to_str().unwrap(),
        ],
    );
    for (name, _, _) in &files {
        assert_same_file(&wt.join(name), &c.join(name));
    }
}

/// Two pushes over git-lfs-transfer to the same repository at the same time, from two users'
/// clones, each with objects of its own and one object both upload: both succeed within the
/// time bound, every object is stored intact, no temporary file or session is left, and a
/// fresh clone gets both branches' files back byte for byte.
#[test]
fn transfer_overlapping_pushes() {
    let w = World::with(Keys::File, Via::Transfer);
    let mut trees = Vec::new();
    for (who, branch, seed) in [("alice", "a-branch", 100u64), ("bob", "b-branch", 200)] {
        let wt = w.worktree(&format!("{who}-wt"), PUB);
        let files = [
            (format!("{who}-1.bin"), 6 << 20, seed),
            (format!("{who}-2.bin"), 3 << 20, seed + 1),
            (format!("{who}-3.bin"), 1000, seed + 2),
            ("shared.bin".to_string(), 4 << 20, 7),
        ];
        let refs: Vec<(&str, usize, u64)> =
            files.iter().map(|(n, s, x)| (n.as_str(), *s, *x)).collect();
        commit_lfs_files(&w, &wt, &refs, &format!("{who}'s objects"));
        w.env.git_ok(&wt, &["branch", "-m", branch]);
        trees.push((who, branch, wt, files));
    }
    let before = w.logins();
    let outs: Vec<Output> = std::thread::scope(|sc| {
        let handles: Vec<_> = trees
            .iter()
            .map(|(who, branch, wt, _)| {
                let w = &w;
                sc.spawn(move || w.git(who, wt, &["push", "-q", "origin", branch]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (out, (who, ..)) in outs.iter().zip(&trees) {
        w.check(out, &format!("{who}'s overlapping push"));
    }
    assert!(
        w.logins() - before >= 2,
        "the two pushes did not open ssh sessions"
    );
    for (_, _, wt, files) in &trees {
        for (name, _, _) in files {
            w.assert_stored(PUB, &wt.join(name));
        }
    }
    assert!(
        eventually(std::time::Duration::from_secs(20), || w
            .sessions()
            .is_empty()
            && w.tmp_files(PUB).is_empty()),
        "left behind: sessions {:?}, temporary files {:?}",
        w.sessions(),
        w.tmp_files(PUB)
    );
    let c = w.clone("rita", PUB, "rita-clone");
    for (_, branch, wt, files) in &trees {
        w.git_ok("rita", &c, &["checkout", "-q", branch]);
        for (name, _, _) in files {
            assert_same_file(&wt.join(name), &c.join(name));
        }
    }
}

/// A push killed in the middle of an object's upload leaves nothing visible: no object, no
/// temporary file, no session; the next push uploads it whole.
#[test]
fn transfer_interrupted_upload() {
    let w = World::with(Keys::File, Via::Transfer);
    let wt = w.worktree("alice-wt", PUB);
    commit_lfs_files(&w, &wt, &[("big.bin", 200 << 20, 5)], "a big object");
    let mut cmd = w.git_cmd("alice", &wt);
    cmd.args(["push", "-q", "origin", "main"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    let started = eventually(std::time::Duration::from_secs(60), || {
        !w.tmp_files(PUB).is_empty()
    });
    // SAFETY-free: signal the client's whole process group (timeout, git, git-lfs, ssh).
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
    assert!(started, "the upload never started");
    let oid = sha256_file(&wt.join("big.bin"));
    let object = w
        .env
        .bare(PUB)
        .join("lfs/objects")
        .join(&oid[0..2])
        .join(&oid[2..4])
        .join(&oid);
    assert!(
        eventually(std::time::Duration::from_secs(20), || w
            .sessions()
            .is_empty()
            && w.tmp_files(PUB).is_empty()),
        "left behind: sessions {:?}, temporary files {:?}",
        w.sessions(),
        w.tmp_files(PUB)
    );
    assert!(!object.exists(), "a partial object became visible");
    w.git_ok("alice", &wt, &["push", "-q", "origin", "main"]);
    w.assert_stored(PUB, &wt.join("big.bin"));
}

/// A private `XDG_RUNTIME_DIR` as a login session has one: with it set, git-lfs 3.3.0
/// multiplexes its sessions over one ControlMaster (its socket under `<dir>/git-lfs`).
fn xdg_runtime(w: &World) -> PathBuf {
    let runtime = w.env.path("xdg-runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    runtime
}

/// With `XDG_RUNTIME_DIR` set, git-lfs 3.3.0 shares one ControlMaster connection and waits for
/// it after the last object, which stays open while idle worker sessions do (LFS.md §7.1,
/// §10 T8). The idle timeout ends those sessions, so the push completes in bounded time.
#[test]
fn transfer_controlmaster_idle_timeout() {
    let w = World::with(Keys::File, Via::Transfer);
    // Long enough for the client to start its 8 worker sessions on a busy machine (it starts
    // them one after the other, while connection 0 waits; LFS.md traced 5 s on an idle one).
    w.env.hubctl_ok(&["config", "set", "idle-timeout", "10s"]);
    let runtime = xdg_runtime(&w);
    let wt = w.worktree("alice-wt", PUB);
    commit_lfs_files(
        &w,
        &wt,
        &[("a.bin", 50_000, 1), ("b.bin", 60_000, 2)],
        "two",
    );
    let start = std::time::Instant::now();
    let out = w
        .git_cmd("alice", &wt)
        .args(["push", "-q", "origin", "main"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    let took = start.elapsed();
    w.check(&out, "push with a shared ControlMaster connection");
    assert!(
        runtime.join("git-lfs").exists(),
        "the client did not multiplex"
    );
    assert!(took < std::time::Duration::from_secs(45), "took {took:?}");
    w.assert_stored(PUB, &wt.join("a.bin"));
    w.assert_stored(PUB, &wt.join("b.bin"));
}

/// The case users meet: a login session sets `XDG_RUNTIME_DIR`, so git-lfs 3.3.0 multiplexes
/// every transfer session over one ControlMaster connection and, at the end, waits for the
/// master before it quits the other sessions (LFS.md §7.1). The session that gets `quit` tells
/// its siblings on the same connection, which end once idle, so push and pull finish in
/// seconds with the default 60 s idle timeout instead of waiting it out.
#[test]
fn transfer_controlmaster_sessions_end_after_quit() {
    let w = World::with(Keys::File, Via::Transfer);
    w.env.hubctl_ok(&["config", "set", "idle-timeout", "60s"]);
    let runtime = xdg_runtime(&w);
    let wt = w.worktree("alice-wt", PUB);
    commit_lfs_files(
        &w,
        &wt,
        &[
            ("a.bin", 50_000, 11),
            ("b.bin", 60_000, 12),
            ("c.bin", 70_000, 13),
        ],
        "three",
    );
    let timed = |what: &str, cwd: &Path, args: &[&str]| {
        let logins = w.logins();
        let start = std::time::Instant::now();
        let out = w
            .git_cmd("alice", cwd)
            .args(args)
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .unwrap();
        let took = start.elapsed();
        w.check(&out, what);
        (took, w.logins() - logins)
    };
    let (took, logins) = timed("multiplexed push", &wt, &["push", "-q", "origin", "main"]);
    assert!(
        runtime.join("git-lfs").exists(),
        "the client did not multiplex"
    );
    // git's own session, the master, perhaps the lock verifier's own: not one per worker.
    assert!(
        logins <= 3,
        "{logins} SSH logins: the client did not multiplex"
    );
    // Without the siblings' end this waits for the 60 s idle timeout.
    assert!(
        took < std::time::Duration::from_secs(30),
        "push took {took:?}"
    );
    for f in ["a.bin", "b.bin", "c.bin"] {
        w.assert_stored(PUB, &wt.join(f));
    }

    let dest = w.env.path("alice-clone");
    let (took, _) = timed(
        "multiplexed clone",
        w.env.dir.path(),
        &["clone", "-q", &w.url(PUB), dest.to_str().unwrap()],
    );
    assert!(
        took < std::time::Duration::from_secs(30),
        "clone took {took:?}"
    );
    for f in ["a.bin", "b.bin", "c.bin"] {
        assert_eq!(
            sha256_file(&dest.join(f)),
            sha256_file(&wt.join(f)),
            "{f} after the clone"
        );
    }
    let (took, _) = timed("multiplexed pull", &dest, &["lfs", "pull"]);
    assert!(
        took < std::time::Duration::from_secs(30),
        "pull took {took:?}"
    );
    // No session is left behind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !w.sessions().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(w.sessions().is_empty(), "left behind: {:?}", w.sessions());
}

/// Two git-lfs processes of one user that share one ControlMaster (git-lfs 3.3.0 keeps its
/// control socket under `$XDG_RUNTIME_DIR/git-lfs`, so every run of one user to one host
/// shares it), pushing to two repositories at the same time: when the first one quits, the
/// siblings rule (`src/transport/ssh/connection.rs`) ends only sessions of its own repository
/// and direction, never the other run's sessions that are idle between two of its messages.
/// Both pushes succeed, every object is stored, and no session is left behind.
#[test]
fn transfer_controlmaster_shared_by_two_pushes_to_two_repositories() {
    let w = World::with(Keys::File, Via::Transfer);
    w.env.hubctl_ok(&["config", "set", "idle-timeout", "60s"]);
    let runtime = xdg_runtime(&w);
    let mut trees = Vec::new();
    for (i, (branch, repo)) in [("one", PUB), ("two", PRIV)].into_iter().enumerate() {
        let wt = w.worktree(&format!("wt-{branch}"), repo);
        // More objects than workers, of mixed sizes: every worker goes from one object to
        // the next while the other push runs.
        let files: Vec<(String, usize, u64)> = (0..12)
            .map(|k| {
                let seed = 1000 * (i as u64 + 1) + k;
                (
                    format!("{branch}-{k}.bin"),
                    [300_000, 2_000, 70_000][k as usize % 3],
                    seed,
                )
            })
            .collect();
        let refs: Vec<(&str, usize, u64)> =
            files.iter().map(|(n, s, x)| (n.as_str(), *s, *x)).collect();
        commit_lfs_files(&w, &wt, &refs, branch);
        w.env.git_ok(&wt, &["branch", "-m", branch]);
        trees.push((branch, repo, wt, files));
    }
    let outs: Vec<Output> = std::thread::scope(|sc| {
        let handles: Vec<_> = trees
            .iter()
            .map(|(branch, _, wt, _)| {
                let w = &w;
                let runtime = &runtime;
                sc.spawn(move || {
                    w.git_cmd("alice", wt)
                        .args(["push", "-q", "origin", branch])
                        .env("XDG_RUNTIME_DIR", runtime)
                        .output()
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        runtime.join("git-lfs").exists(),
        "the client did not multiplex"
    );
    for (out, (branch, ..)) in outs.iter().zip(&trees) {
        w.check(out, &format!("multiplexed push of {branch}"));
    }
    for (_, repo, wt, files) in &trees {
        for (name, _, _) in files {
            w.assert_stored(repo, &wt.join(name));
        }
    }
    assert!(
        eventually(std::time::Duration::from_secs(20), || w
            .sessions()
            .is_empty()
            && w.tmp_files(PUB).is_empty()
            && w.tmp_files(PRIV).is_empty()),
        "left behind: sessions {:?}, temporary files {:?} {:?}",
        w.sessions(),
        w.tmp_files(PUB),
        w.tmp_files(PRIV)
    );
}

/// The protocol byte by byte: the handshake (LFS.md §7.3), errors with their delimiter
/// (§10 T10), unknown commands keep the session, EOF ends it (§10 T9), silence ends it,
/// malformed pkt-lines are a protocol error, access and the on/off switch.
#[test]
fn transfer_protocol() {
    let w = World::with(Keys::Command, Via::Transfer);
    let o1 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    // Handshake, quit.
    let out = w.transfer_raw(
        "alice",
        "alice/proj.git upload",
        format!("{}{}", hello(), msg(&["quit"])).as_bytes(),
    );
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, format!("{HANDSHAKE}000fstatus 200\n0000"));
    // EOF instead of quit, right after the handshake and before it.
    let out = w.transfer_raw("alice", "/alice/proj download", hello().as_bytes());
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, HANDSHAKE);
    let out = w.transfer_raw("alice", "alice/proj download", b"");
    assert!(out.success(), "{out}");

    // put, verify and get of O1 (`hello\n`), then a missing object: status, delim, message.
    let mut up = hello();
    up.push_str(&msg_body(
        &["batch", "transfer=ssh", "hash-algo=sha256"],
        &[&format!("{o1} 6")],
    ));
    up.push_str(&format!(
        "{}{}0001{}0000",
        pkt(&format!("put-object {o1}\n")),
        pkt("size=6\n"),
        pkt("hello\n")
    ));
    up.push_str(&msg(&[&format!("verify-object {o1}"), "size=6"]));
    let out = w.transfer_raw("alice", "alice/proj upload", up.as_bytes());
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout,
        format!(
            "{HANDSHAKE}000fstatus 200\n0015hash-algo=sha256\n0001{}0000000fstatus 200\n0000000fstatus 200\n0000",
            pkt(&format!("{o1} 6 upload\n"))
        )
    );
    let missing = "0".repeat(64);
    let down = format!(
        "{}{}{}",
        hello(),
        msg(&[&format!("get-object {o1}"), "size=6"]),
        msg(&[&format!("get-object {missing}"), "size=1"])
    );
    let out = w.transfer_raw("rita", "alice/proj download", down.as_bytes());
    assert!(out.success(), "{out}");
    let not_found = format!("object {missing} not found\n");
    assert_eq!(
        out.stdout,
        format!(
            "{HANDSHAKE}000fstatus 200\n000bsize=6\n0001000ahello\n0000000fstatus 404\n0001{}0000",
            pkt(&not_found)
        )
    );

    // An unknown command is answered and the session goes on; commands outside the
    // session's operation are refused.
    let input = format!(
        "{}{}{}{}",
        hello(),
        msg(&["frobnicate"]),
        msg(&[&format!("put-object {o1}"), "size=6"]),
        msg(&["quit"])
    );
    let out = w.transfer_raw("rita", "alice/proj download", input.as_bytes());
    assert!(out.success(), "{out}");
    assert!(
        out.stdout.contains("000fstatus 400\n0001"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("unknown command \"frobnicate\""));
    assert!(
        out.stdout.contains("000fstatus 403\n0001"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("000fstatus 200\n0000"),
        "{}",
        out.stdout
    );

    // Malformed and over-long pkt-lines: a protocol error, exit 1, nothing hangs.
    for bad in [
        format!("{}zzzz", hello()),
        format!("{}ffff{}", hello(), "x".repeat(70_000)),
        format!("{}0002", hello()),
        format!("{}0009qu", hello()),
    ] {
        let out = w.transfer_raw("alice", "alice/proj upload", bad.as_bytes());
        assert_eq!(out.code(), Some(1), "{out}");
        assert!(out.stderr.contains("protocol error"), "{out}");
    }

    // Access: eve sees nothing, rita cannot upload; refusals as for git.
    let out = w.transfer_raw("eve", "alice/secret.git download", hello().as_bytes());
    assert_eq!(out.code(), Some(1), "{out}");
    assert_eq!(out.stderr.trim(), "hubctl: repository not found");
    assert!(out.stdout.is_empty());
    let out = w.transfer_raw("rita", "alice/secret.git upload", hello().as_bytes());
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("rita has no write access"), "{out}");
    let out = w.transfer_raw("alice", "alice/proj.git wat", b"");
    assert!(
        out.stderr.contains("Invalid LFS operation: \"wat\""),
        "{out}"
    );

    // A silent client is let go after the idle timeout.
    w.env.hubctl_ok(&["config", "set", "idle-timeout", "2s"]);
    let mut ssh = Command::new("ssh");
    ssh.args(ssh_options(&w.sshd, w.key("alice")))
        .args(["-p", &w.sshd.port.to_string()])
        .arg(format!("{SSH_USER}@127.0.0.1"))
        .arg("git-lfs-transfer alice/proj.git download")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let start = std::time::Instant::now();
    let mut child = ssh.spawn().unwrap();
    let _stdin = child.stdin.take();
    let status = wait_timeout(&mut child, std::time::Duration::from_secs(30));
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the silent session was not ended")
    });
    assert!(status.success(), "{status}");
    assert!(start.elapsed() >= std::time::Duration::from_secs(2));

    // Switched off: a non-zero exit, so git-lfs falls back to git-lfs-authenticate.
    w.env
        .hubctl_ok(&["config", "set", "lfs-ssh-transfer", "off"]);
    let out = w.transfer_raw("alice", "alice/proj.git download", hello().as_bytes());
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("lfs-ssh-transfer off"), "{out}");
    assert!(out.stdout.is_empty());
}

/// The repository's limits hold over SSH (an object above `max-lfs-object-size` fails the
/// push with the reason), and an object missing on the server fails a clone's checkout
/// instead of hanging it.
#[test]
fn transfer_limits_and_missing() {
    let w = World::with(Keys::File, Via::Transfer);
    w.env
        .hubctl_ok(&["repo", "set", PUB, "max-lfs-object-size", "1KB"]);
    let wt = w.worktree("alice-wt", PUB);
    commit_lfs_files(&w, &wt, &[("big.bin", 5000, 1)], "too big");
    let out = w.git("alice", &wt, &["push", "origin", "main"]);
    assert!(
        !out.status.success(),
        "an object over the limit was accepted"
    );
    let err = stderr(&out);
    assert!(
        err.contains("status 413") && err.contains("larger than the limit"),
        "{err}"
    );
    assert!(w.tmp_files(PUB).is_empty());

    w.env
        .hubctl_ok(&["repo", "set", PUB, "max-lfs-object-size", "off"]);
    commit_lfs_files(&w, &wt, &[("ok.bin", 700, 2)], "and a small one");
    w.git_ok("alice", &wt, &["push", "-q", "origin", "main"]);
    w.assert_stored(PUB, &wt.join("big.bin"));
    let oid = sha256_file(&wt.join("big.bin"));
    std::fs::remove_file(
        w.env
            .bare(PUB)
            .join("lfs/objects")
            .join(&oid[0..2])
            .join(&oid[2..4])
            .join(&oid),
    )
    .unwrap();
    // `git lfs pull` names the object and fails; the other objects still arrive.
    let p = w.env.path("pull");
    let out = w
        .git_cmd("rita", w.env.dir.path())
        .args(["clone", "-q", &w.url(PUB), p.to_str().unwrap()])
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .output()
        .unwrap();
    w.check(&out, "clone without smudge");
    let out = w.git("rita", &p, &["lfs", "pull"]);
    assert!(!out.status.success(), "a missing object went unnoticed");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("got status 404 when fetching OID {oid}")),
        "{err}"
    );
    assert_same_file(&wt.join("ok.bin"), &p.join("ok.bin"));
    // A clone whose checkout needs it fails instead of hanging (git-lfs 3.3.0's smudge filter
    // retries on an SSH connection it has already closed and crashes; HTTP has no such path).
    let dest = w.env.path("clone");
    let out = w.git(
        "rita",
        w.env.dir.path(),
        &["clone", &w.url(PUB), dest.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("smudge filter lfs failed"),
        "{}",
        stderr(&out)
    );
}
