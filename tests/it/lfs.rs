//! Git LFS over HTTP, proven with the real git-lfs client (3.3.0) over `hubctl serve` and over
//! nginx + fcgiwrap + `hubctl cgi`: push and clone (0 B, 1 KiB, 100 MiB), `git lfs pull`,
//! `fetch --all` and partial fetches, resumed downloads, credential helpers, read-only tokens,
//! locks (with `lockable` files and push-time verification), every status code of the API with
//! curl, and concurrent uploads of one object. Wire reference: LFS.md.
//!
//! The client runs with the isolated HOME of [`Env`], `XDG_RUNTIME_DIR` unset (LFS.md §7.1),
//! and every git command under `timeout` so that a hanging client fails the test instead of the
//! suite. Everything listens on 127.0.0.1 only.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::push::write_random;

/// A public repository owned by alice.
const PUB: &str = "alice/proj";
/// A private repository owned by alice.
const PRIV: &str = "alice/secret";
/// The LFS media type.
const MEDIA: &str = "application/vnd.git-lfs+json";
/// Upper bound for one git or git-lfs command.
const GIT_TIMEOUT_SECS: &str = "300";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Serve,
    Cgi,
}

/// One test per deployment for a scenario `fn(Mode)`.
macro_rules! lfs_matrix {
    ($scenario:ident) => {
        mod $scenario {
            #[test]
            fn serve() {
                super::$scenario(super::Mode::Serve)
            }
            #[test]
            fn cgi() {
                super::$scenario(super::Mode::Cgi)
            }
        }
    };
}

/// One logged HTTP request: method, path with query, status.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    status: u16,
}

/// A curl answer: the final status, its headers and the body bytes.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Status, headers and (the start of) the body, for assertion messages.
    fn dump(&self) -> String {
        let mut s = format!("HTTP {}\n", self.status);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        let text = self.text();
        s.push('\n');
        s.push_str(&text[..text.len().min(2000)]);
        s
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.dump()))
    }
}

/// Credentials for a curl request.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Anonymous,
    /// Basic with the user's own name and token.
    Basic(&'a str),
    /// Basic with an unrelated user name and the user's token as password.
    AnyName(&'a str),
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
}

/// A running deployment with users, tokens and two repositories:
/// alice owns `alice/proj` (public) and `alice/secret` (private); bob may write to both, rita may
/// read both, adam administers both, eve has no grant. `bob-read` is a read-scoped token of bob.
struct Lfs {
    env: Env,
    mode: Mode,
    server: Option<Server>,
    nginx: Option<Nginx>,
    base: String,
    tokens: HashMap<&'static str, String>,
    seq: AtomicU64,
}

impl Lfs {
    fn start(mode: Mode) -> Lfs {
        Lfs::start_with(mode, &[])
    }

    /// Start with extra environment variables for the server (or the CGI).
    fn start_with(mode: Mode, vars: &[(&str, &str)]) -> Lfs {
        let env = Env::new();
        let mut tokens = HashMap::new();
        for user in ["alice", "bob", "rita", "eve", "adam"] {
            tokens.insert(user, env.user_with_token(user, &[]));
        }
        tokens.insert(
            "bob-read",
            env.hubctl_ok(&["token", "create", "--user", "bob", "--scope", "read"])
                .trim()
                .to_string(),
        );
        env.hubctl_ok(&["repo", "init", PUB, "--public"]);
        env.hubctl_ok(&["repo", "init", PRIV, "--private"]);
        for repo in [PUB, PRIV] {
            env.hubctl_ok(&["repo", "grant", repo, "bob", "write"]);
            env.hubctl_ok(&["repo", "grant", repo, "rita", "read"]);
            env.hubctl_ok(&["repo", "grant", repo, "adam", "admin"]);
        }
        let (server, nginx, base) = match mode {
            Mode::Serve => {
                let s = Server::start_full(&env, "127.0.0.1:0", &[], vars);
                let b = s.base.clone();
                (Some(s), None, b)
            }
            Mode::Cgi => {
                let n = Nginx::start(
                    &env,
                    NginxOptions {
                        // hubctl's own access lines (off by default under CGI), which some
                        // tests read.
                        env: [("HUBCTL_LOG", "info")]
                            .iter()
                            .chain(vars)
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                        ..NginxOptions::default()
                    },
                );
                let b = n.base.clone();
                (None, Some(n), b)
            }
        };
        let lfs = Lfs {
            env,
            mode,
            server,
            nginx,
            base,
            tokens,
            seq: AtomicU64::new(0),
        };
        // git-lfs's filters in the private HOME (so clones smudge); a broken server fails a
        // transfer after a few quick retries instead of 8 with growing back-off.
        let scratch = lfs.env.dir.path().to_path_buf();
        lfs.git_ok(&scratch, &["lfs", "install", "--skip-repo"]);
        lfs.git_ok(
            &scratch,
            &["config", "--global", "lfs.transfer.maxretries", "3"],
        );
        lfs.git_ok(
            &scratch,
            &["config", "--global", "lfs.transfer.maxretrydelay", "1"],
        );
        lfs
    }

    fn token(&self, who: &str) -> &str {
        self.tokens
            .get(who)
            .unwrap_or_else(|| panic!("no token for {who}"))
    }

    /// The repository URL git uses (`…/ns/name.git`).
    fn url(&self, repo: &str) -> String {
        format!("{}/{repo}.git", self.base)
    }

    /// The LFS endpoint the client derives from [`Lfs::url`].
    fn lfs_url(&self, repo: &str) -> String {
        format!("{}/info/lfs", self.url(repo))
    }

    /// A git command: isolated HOME, no XDG_RUNTIME_DIR, bounded in time.
    fn git_cmd(&self, cwd: &Path) -> Command {
        let mut c = Command::new("timeout");
        c.args(["-k", "10", GIT_TIMEOUT_SECS, "git"]);
        c.current_dir(cwd);
        self.env.clean_env(&mut c);
        c.env_remove("XDG_RUNTIME_DIR");
        c
    }

    fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        self.git_cmd(cwd).args(args).output().expect("running git")
    }

    fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(cwd, args);
        self.check(&out, &format!("git {args:?} in {}", cwd.display()));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Insist that a finished command succeeded; the message has its output and the server's.
    fn check(&self, out: &Output, what: &str) {
        assert!(
            out.status.success(),
            "[{:?}] {what} failed: {}\nstdout: {}\nstderr: {}\n--- server ---\n{}",
            self.mode,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
    }

    /// A credential helper (inline shell function) that answers with `user`'s token.
    fn helper_as(&self, user: &str, token: &str) -> String {
        format!(
            "!f() {{ test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' '{user}' '{token}'; }}; f"
        )
    }

    /// Make `who` the identity of the worktree `wt` (its credential helper).
    fn login(&self, wt: &Path, who: &str) {
        let name = who.split('-').next().unwrap();
        let helper = self.helper_as(name, self.token(who));
        self.git_ok(
            wt,
            &["config", "--replace-all", "credential.helper", &helper],
        );
    }

    /// A new working repository with git-lfs's hooks, `origin` = `repo`, acting as `who`.
    fn worktree(&self, dir: &str, repo: &str, who: Option<&str>) -> PathBuf {
        let wt = self.env.path(dir);
        std::fs::create_dir_all(&wt).unwrap();
        self.git_ok(&wt, &["init", "-q", "-b", "main"]);
        self.git_ok(&wt, &["lfs", "install", "--local"]);
        self.git_ok(&wt, &["remote", "add", "origin", &self.url(repo)]);
        if let Some(w) = who {
            self.login(&wt, w);
        }
        wt
    }

    /// Clone `url` into scratch `dest` as `who` with extra environment; hooks installed after.
    fn clone_ok(&self, url: &str, dest: &str, who: Option<&str>, vars: &[(&str, &str)]) -> PathBuf {
        let path = self.env.path(dest);
        let mut cmd = self.git_cmd(self.env.dir.path());
        cmd.args(["clone", "-q"]);
        if let Some(w) = who {
            let name = w.split('-').next().unwrap();
            cmd.arg("-c").arg(format!(
                "credential.helper={}",
                self.helper_as(name, self.token(w))
            ));
        }
        cmd.arg(url).arg(&path);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        self.check(&out, &format!("clone of {url}"));
        self.git_ok(&path, &["lfs", "install", "--local"]);
        path
    }

    /// Forget what the client wrote after 401s and lock checks (LFS.md §3.1, §6.4).
    fn reset_lfs_config(&self, wt: &Path) {
        let out = self.git(
            wt,
            &[
                "config",
                "--local",
                "--name-only",
                "--get-regexp",
                r"^lfs\..*\.(access|locksverify)$",
            ],
        );
        for key in String::from_utf8_lossy(&out.stdout).lines() {
            self.git_ok(wt, &["config", "--local", "--unset-all", key]);
        }
    }

    /// Where the server keeps object `oid` of `repo`.
    fn object_path(&self, repo: &str, oid: &str) -> PathBuf {
        self.env
            .bare(repo)
            .join("lfs/objects")
            .join(&oid[0..2])
            .join(&oid[2..4])
            .join(oid)
    }

    /// The server has `content`'s object for `repo`, at the right path, intact.
    fn assert_stored(&self, repo: &str, content: &Path) -> String {
        let oid = sha256_file(content);
        let stored = self.object_path(repo, &oid);
        assert!(
            stored.is_file(),
            "[{:?}] {} ({oid}) not stored at {}\n{}",
            self.mode,
            content.display(),
            stored.display(),
            self.logs()
        );
        assert_eq!(
            std::fs::metadata(&stored).unwrap().len(),
            std::fs::metadata(content).unwrap().len(),
            "size of {}",
            stored.display()
        );
        assert_eq!(sha256_file(&stored), oid, "content of {}", stored.display());
        oid
    }

    /// Every object file under `<repo>.git/lfs/objects`.
    fn stored_objects(&self, repo: &str) -> Vec<PathBuf> {
        files_under(&self.env.bare(repo).join("lfs/objects"))
    }

    /// Files left in `<repo>.git/lfs/tmp` (uploads in progress or leftovers).
    fn tmp_files(&self, repo: &str) -> Vec<PathBuf> {
        files_under(&self.env.bare(repo).join("lfs/tmp"))
    }

    /// The requests the server saw: hubctl serve's access log on stderr, nginx's access log.
    fn requests(&self) -> Vec<Req> {
        match self.mode {
            Mode::Serve => self
                .server
                .as_ref()
                .unwrap()
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
                    let path = w.next()?;
                    let status = w.next()?.parse().ok()?;
                    Some(Req {
                        method: method.to_string(),
                        path: path.to_string(),
                        status,
                    })
                })
                .collect(),
            Mode::Cgi => {
                let log = std::fs::read_to_string(
                    self.nginx.as_ref().unwrap().dir.join("logs/access.log"),
                )
                .unwrap_or_default();
                log.lines()
                    .filter_map(|l| {
                        // 127.0.0.1 - - [date] "GET /path HTTP/1.1" 206 123 "-" "agent"
                        let start = l.find('"')? + 1;
                        let len = l[start..].find('"')?;
                        let mut line = l[start..start + len].split_whitespace();
                        let method = line.next()?.to_string();
                        let path = line.next()?.to_string();
                        let status = l[start + len + 1..]
                            .split_whitespace()
                            .next()?
                            .parse()
                            .ok()?;
                        Some(Req {
                            method,
                            path,
                            status,
                        })
                    })
                    .collect()
            }
        }
    }

    /// The requests once the access log has stopped growing: servers log a request after
    /// answering it, so the client may be done before its last lines are written. Bounded by
    /// 5 s.
    fn settled_requests(&self) -> Vec<Req> {
        let mut last = self.requests();
        let start = std::time::Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let now = self.requests();
            if now.len() == last.len() || start.elapsed() > Duration::from_secs(5) {
                return now;
            }
            last = now;
        }
    }

    /// Requests with `method` whose path contains `needle` (after the log has settled).
    fn requests_to(&self, method: &str, needle: &str) -> Vec<Req> {
        self.settled_requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.contains(needle))
            .collect()
    }

    /// Server-side logs for assertion messages (the last part).
    fn logs(&self) -> String {
        let text = match self.mode {
            Mode::Serve => self.server.as_ref().unwrap().log.lines().join("\n"),
            Mode::Cgi => {
                let n = self.nginx.as_ref().unwrap();
                format!(
                    "{}\n{}",
                    std::fs::read_to_string(n.dir.join("logs/access.log")).unwrap_or_default(),
                    n.logs()
                )
            }
        };
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(80)..].join("\n")
    }

    /// A scratch file with `bytes`.
    fn data_file(&self, bytes: &[u8]) -> PathBuf {
        let dir = self.env.path("data");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("d{}", self.seq.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Run curl with `args`; headers and body are captured separately.
    fn http(&self, args: &[&str]) -> Resp {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let dir = self.env.path("curl");
        std::fs::create_dir_all(&dir).unwrap();
        let (hdr, body) = (dir.join(format!("{n}.h")), dir.join(format!("{n}.b")));
        let out = Command::new("curl")
            .args(["-s", "-S", "--max-time", "120", "-H", "Expect:", "-D"])
            .arg(&hdr)
            .arg("-o")
            .arg(&body)
            .args(args)
            .output()
            .expect("curl");
        let head = std::fs::read_to_string(&hdr).unwrap_or_default();
        let (mut status, mut headers) = (0, Vec::new());
        for line in head.lines() {
            let line = line.trim_end();
            if line.starts_with("HTTP/") {
                status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                headers.clear();
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        assert!(
            status != 0,
            "curl {args:?} got no answer: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Resp {
            status,
            headers,
            body: std::fs::read(&body).unwrap_or_default(),
        }
    }

    /// curl arguments carrying `auth`.
    fn auth_args(&self, auth: Auth) -> Vec<String> {
        match auth {
            Auth::Anonymous => vec![],
            Auth::Basic(w) => vec![
                "-u".into(),
                format!("{}:{}", w.split('-').next().unwrap(), self.token(w)),
            ],
            Auth::AnyName(w) => vec!["-u".into(), format!("whoever:{}", self.token(w))],
            Auth::Bearer(w) => vec![
                "-H".into(),
                format!("Authorization: Bearer {}", self.token(w)),
            ],
        }
    }

    /// A JSON API call as git-lfs makes it (LFS.md §2.1): POST when `body` is given, else GET.
    fn api(&self, auth: Auth, url: &str, body: Option<&Value>, accept: &str) -> Resp {
        let mut args = self.auth_args(auth);
        args.extend(["-H".into(), format!("Accept: {accept}")]);
        if let Some(b) = body {
            let file = self.data_file(b.to_string().as_bytes());
            args.extend([
                "-X".into(),
                "POST".into(),
                "-H".into(),
                format!("Content-Type: {MEDIA}; charset=utf-8"),
                "--data-binary".into(),
                format!("@{}", file.display()),
            ]);
        }
        args.push(url.to_string());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.http(&refs)
    }

    /// A batch request for `objects` (oid, size) of `repo`, as git-lfs 3.3.0 sends it.
    fn batch(&self, auth: Auth, repo: &str, op: &str, objects: &[(String, i64)]) -> Resp {
        self.api(
            auth,
            &format!("{}/objects/batch", self.lfs_url(repo)),
            Some(&batch_body(op, objects)),
            MEDIA,
        )
    }

    /// Upload `data` with a batch call as `who` and the PUT it hands out; returns the oid.
    fn upload(&self, repo: &str, who: &str, data: &[u8]) -> String {
        let oid = sha256_hex(data);
        let r = self.batch(
            Auth::Basic(who),
            repo,
            "upload",
            &[(oid.clone(), data.len() as i64)],
        );
        assert_eq!(r.status, 200, "{}", r.dump());
        let obj = &r.json()["objects"][0];
        if let Some((href, headers)) = action(obj, "upload") {
            let file = self.data_file(data);
            let put = self.put(&href, &headers, &file, &[]);
            assert_eq!(put.status, 200, "PUT {href}: {}", put.dump());
        }
        oid
    }

    /// PUT the file at `data` to an action href with the action's headers (curl -T streams).
    fn put(&self, href: &str, headers: &[(String, String)], data: &Path, extra: &[&str]) -> Resp {
        let mut args: Vec<String> = Vec::new();
        for (k, v) in headers {
            args.extend(["-H".into(), format!("{k}: {v}")]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["-T".into(), data.display().to_string(), href.to_string()]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.http(&refs)
    }

    /// GET an action href with its headers and extra curl arguments.
    fn get(&self, href: &str, headers: &[(String, String)], extra: &[&str]) -> Resp {
        let mut args: Vec<String> = Vec::new();
        for (k, v) in headers {
            args.extend(["-H".into(), format!("{k}: {v}")]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(href.to_string());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.http(&refs)
    }
}

/// The batch request body git-lfs 3.3.0 sends (LFS.md §4.1).
fn batch_body(op: &str, objects: &[(String, i64)]) -> Value {
    json!({
        "operation": op,
        "objects": objects.iter().map(|(oid, size)| json!({"oid": oid, "size": size})).collect::<Vec<_>>(),
        "transfers": ["lfs-standalone-file", "basic", "ssh"],
        "ref": {"name": "refs/heads/main"},
        "hash_algo": "sha256",
    })
}

/// An action's href and headers.
type Act = (String, Vec<(String, String)>);

/// The href and headers of action `name` of a batch object, if it has one.
fn action(obj: &Value, name: &str) -> Option<Act> {
    let a = obj.get("actions")?.get(name)?;
    let href = a["href"].as_str().expect("action without href").to_string();
    let headers = a
        .get("header")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("header value").to_string()))
                .collect()
        })
        .unwrap_or_default();
    Some((href, headers))
}

/// An error answer of the LFS API: the status, the LFS media type and a JSON message.
fn assert_lfs_error(r: &Resp, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}:\n{}", r.dump());
    let ct = r.header("Content-Type").unwrap_or("");
    assert!(
        ct.starts_with(MEDIA),
        "{what}: Content-Type {ct:?}\n{}",
        r.dump()
    );
    let v = r.json();
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message\n{}",
        r.dump()
    );
}

/// A 401 that makes git-lfs ask for credentials (LFS.md §3.1).
fn assert_challenge(r: &Resp, what: &str) {
    assert_lfs_error(r, 401, what);
    assert_eq!(
        r.header("LFS-Authenticate"),
        Some("Basic realm=\"hubctl\""),
        "{what}:\n{}",
        r.dump()
    );
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some("Basic realm=\"hubctl\""),
        "{what}:\n{}",
        r.dump()
    );
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, streamed.
fn sha256_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

/// Two files with the same content (by size and SHA-256).
fn assert_same_file(expected: &Path, actual: &Path) {
    let (e, a) = (
        std::fs::metadata(expected).unwrap().len(),
        std::fs::metadata(actual)
            .unwrap_or_else(|e| panic!("{}: {e}", actual.display()))
            .len(),
    );
    assert_eq!(
        a,
        e,
        "size of {} vs {}",
        actual.display(),
        expected.display()
    );
    assert_eq!(
        sha256_file(actual),
        sha256_file(expected),
        "content of {}",
        actual.display()
    );
}

/// A git-lfs pointer file (smudge skipped or not done).
fn is_pointer(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| b.starts_with(b"version https://git-lfs.github.com/spec/v1"))
        .unwrap_or(false)
}

/// Without any write bit (how git-lfs leaves `lockable` files that you have not locked).
fn is_read_only(path: &Path) -> bool {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o222 == 0
}

fn make_writable(path: &Path) {
    let mut p = std::fs::metadata(path).unwrap().permissions();
    p.set_mode(p.mode() | 0o200);
    std::fs::set_permissions(path, p).unwrap();
}

/// `len` random bytes from /dev/urandom into `path`, without holding them in memory.
fn write_urandom(path: &Path, len: u64) {
    let file = std::fs::File::create(path).unwrap();
    let status = Command::new("head")
        .args(["-c", &len.to_string(), "/dev/urandom"])
        .stdout(Stdio::from(file))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::metadata(path).unwrap().len(), len);
}

/// Every regular file below `dir` (none if it does not exist).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The path (and query) of an absolute URL.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
}

// ---------------------------------------------------------------------------------------------
// 1. Push and clone

/// A 0-byte, a 1 KiB and a 100 MiB file pushed with git and cloned back byte-identical; the
/// objects sit at `lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>` with the right SHA-256; a second
/// push of a stored object uploads nothing.
fn push_and_clone(mode: Mode) {
    let s = Lfs::start(mode);
    let wt = s.worktree("work", PUB, Some("bob"));
    s.git_ok(&wt, &["lfs", "track", "*.bin"]);
    std::fs::write(wt.join("empty.bin"), b"").unwrap();
    write_random(&wt.join("small.bin"), 1024, 1);
    std::fs::create_dir_all(wt.join("assets")).unwrap();
    write_urandom(&wt.join("assets/big.bin"), 100 << 20);
    std::fs::write(wt.join("README"), "a plain git file\n").unwrap();
    s.git_ok(&wt, &["add", "-A"]);
    s.git_ok(&wt, &["commit", "-qm", "lfs files"]);
    let listed = s.git_ok(&wt, &["lfs", "ls-files", "-l"]);
    for f in ["small.bin", "assets/big.bin"] {
        assert!(listed.contains(f), "not an LFS file: {f}\n{listed}");
    }
    s.git_ok(&wt, &["push", "origin", "main"]);

    let small = s.assert_stored(PUB, &wt.join("small.bin"));
    let big = s.assert_stored(PUB, &wt.join("assets/big.bin"));
    assert_eq!(
        s.stored_objects(PUB).len(),
        2,
        "{:?}",
        s.stored_objects(PUB)
    );
    assert!(s.tmp_files(PUB).is_empty(), "{:?}", s.tmp_files(PUB));
    let batch = format!("/{PUB}.git/info/lfs/objects/batch");
    assert!(
        s.requests_to("POST", &batch)
            .iter()
            .any(|r| r.status == 200),
        "no successful batch call\n{}",
        s.logs()
    );
    for oid in [&small, &big] {
        assert!(
            s.requests_to("PUT", oid).iter().any(|r| r.status == 200),
            "no PUT of {oid}\n{}",
            s.logs()
        );
    }
    let server_ref = s.env.git_ok(&s.env.bare(PUB), &["rev-parse", "main"]);
    assert_eq!(server_ref, s.git_ok(&wt, &["rev-parse", "main"]));

    // An anonymous clone of the public repository gets every file back, byte for byte.
    let clone = s.clone_ok(&s.url(PUB), "clone", None, &[]);
    for f in ["empty.bin", "small.bin", "assets/big.bin", "README"] {
        assert_same_file(&wt.join(f), &clone.join(f));
    }
    assert!(
        s.requests_to("GET", &big).iter().any(|r| r.status == 200),
        "no GET of the big object\n{}",
        s.logs()
    );

    // Pushing a commit that reuses a stored object uploads nothing.
    let puts = s.requests_to("PUT", "/info/lfs/").len();
    std::fs::copy(wt.join("small.bin"), wt.join("copy.bin")).unwrap();
    s.git_ok(&wt, &["add", "copy.bin"]);
    s.git_ok(&wt, &["commit", "-qm", "copy"]);
    s.git_ok(&wt, &["push", "origin", "main"]);
    assert_eq!(
        s.requests_to("PUT", "/info/lfs/").len(),
        puts,
        "a stored object was uploaded again\n{}",
        s.logs()
    );
}
lfs_matrix!(push_and_clone);

/// The repository spelt differently in the URL (`ALICE/Secret` for the private `alice/secret`):
/// batch, uploads and downloads reach the stored repository's object store under its access
/// rules, and someone without access is refused under every spelling.
fn mixed_case_url(mode: Mode) {
    let s = Lfs::start(mode);
    let wt = s.worktree("work", "ALICE/Secret", Some("bob"));
    s.git_ok(&wt, &["lfs", "track", "*.bin"]);
    write_random(&wt.join("a.bin"), 64 << 10, 7);
    s.git_ok(&wt, &["add", "-A"]);
    s.git_ok(&wt, &["commit", "-qm", "lfs file"]);
    s.git_ok(&wt, &["push", "origin", "main"]);
    s.assert_stored(PRIV, &wt.join("a.bin"));
    let clone = s.clone_ok(&s.url("alice/SECRET"), "clone", Some("rita"), &[]);
    assert_same_file(&wt.join("a.bin"), &clone.join("a.bin"));
    let oid = sha256_file(&wt.join("a.bin"));
    let one = [(oid, 64i64 << 10)];
    for repo in ["alice/secret", "ALICE/SECRET", "Alice/Secret"] {
        assert_lfs_error(
            &s.batch(Auth::Basic("eve"), repo, "download", &one),
            404,
            &format!("eve download {repo}"),
        );
        assert_eq!(
            s.batch(Auth::Basic("rita"), repo, "download", &one).status,
            200,
            "rita download {repo}"
        );
    }
}
lfs_matrix!(mixed_case_url);

// ---------------------------------------------------------------------------------------------
// 2. Pull, fetch --all, partial fetch

fn pull_fetch_partial(mode: Mode) {
    let s = Lfs::start(mode);
    let wt = s.worktree("work", PUB, Some("bob"));
    s.git_ok(&wt, &["lfs", "track", "*.bin"]);
    let files = ["a/one.bin", "a/two.bin", "dir/x.bin", "dir/y.bin"];
    for (i, f) in files.iter().enumerate() {
        std::fs::create_dir_all(wt.join(f).parent().unwrap()).unwrap();
        write_random(&wt.join(f), 3000 + i * 1000, 10 + i as u64);
    }
    s.git_ok(&wt, &["add", "-A"]);
    s.git_ok(&wt, &["commit", "-qm", "v1"]);
    let old_x = sha256_file(&wt.join("dir/x.bin"));
    write_random(&wt.join("dir/x.bin"), 5001, 99);
    s.git_ok(&wt, &["commit", "-qam", "v2"]);
    s.git_ok(&wt, &["push", "origin", "main"]);
    assert_eq!(s.stored_objects(PUB).len(), 5, "{}", s.logs());

    // GIT_LFS_SKIP_SMUDGE clone (remote URL without .git) + git lfs pull.
    let no_dot_git = format!("{}/{PUB}", s.base);
    let skip = [("GIT_LFS_SKIP_SMUDGE", "1")];
    let c1 = s.clone_ok(&no_dot_git, "c1", None, &skip);
    for f in files {
        assert!(is_pointer(&c1.join(f)), "{f} was smudged");
    }
    s.git_ok(&c1, &["lfs", "pull"]);
    for f in files {
        assert_same_file(&wt.join(f), &c1.join(f));
    }
    let status = s.git_ok(&c1, &["status", "--porcelain"]);
    assert!(status.trim().is_empty(), "{status}");

    // git lfs fetch --all: every version of every file, the old dir/x.bin too.
    let c2 = s.clone_ok(&s.url(PUB), "c2", None, &skip);
    s.git_ok(&c2, &["lfs", "fetch", "--all"]);
    let local = |c: &Path, oid: &str| {
        c.join(".git/lfs/objects")
            .join(&oid[0..2])
            .join(&oid[2..4])
            .join(oid)
    };
    assert!(local(&c2, &old_x).is_file(), "old version not fetched");
    assert_eq!(sha256_file(&local(&c2, &old_x)), old_x);
    assert_eq!(files_under(&c2.join(".git/lfs/objects")).len(), 5);

    // Partial: only dir/* is fetched and checked out.
    let c3 = s.clone_ok(&s.url(PUB), "c3", None, &skip);
    s.git_ok(&c3, &["-c", "lfs.fetchinclude=dir/*", "lfs", "pull"]);
    for f in ["dir/x.bin", "dir/y.bin"] {
        assert_same_file(&wt.join(f), &c3.join(f));
    }
    for f in ["a/one.bin", "a/two.bin"] {
        assert!(is_pointer(&c3.join(f)), "{f} fetched despite fetchinclude");
        let oid = sha256_file(&wt.join(f));
        assert!(!local(&c3, &oid).exists(), "{f}'s object was downloaded");
    }
}
lfs_matrix!(pull_fetch_partial);

// ---------------------------------------------------------------------------------------------
// 3. Resumed download

/// A download interrupted halfway (the client's partial file under `.git/lfs/incomplete/`) is
/// resumed with a Range request that the server answers 206; the result is intact.
fn resume_download(mode: Mode) {
    let s = Lfs::start(mode);
    let wt = s.worktree("work", PUB, Some("bob"));
    s.git_ok(&wt, &["lfs", "track", "*.bin"]);
    write_random(&wt.join("big.bin"), 3 << 20, 21);
    s.git_ok(&wt, &["add", "-A"]);
    s.git_ok(&wt, &["commit", "-qm", "big"]);
    s.git_ok(&wt, &["push", "origin", "main"]);
    let oid = s.assert_stored(PUB, &wt.join("big.bin"));

    let c = s.clone_ok(&s.url(PUB), "clone", None, &[("GIT_LFS_SKIP_SMUDGE", "1")]);
    assert!(is_pointer(&c.join("big.bin")));
    // What an interrupted transfer leaves behind: the first half of the object in
    // .git/lfs/incomplete/<oid>.part (git-lfs 3.3.0's name for it, LFS.md §5.3).
    let data = std::fs::read(wt.join("big.bin")).unwrap();
    let half = data.len() / 2;
    let incomplete = c.join(".git/lfs/incomplete");
    std::fs::create_dir_all(&incomplete).unwrap();
    std::fs::write(incomplete.join(format!("{oid}.part")), &data[..half]).unwrap();
    let out = s
        .git_cmd(&c)
        .args(["lfs", "pull"])
        .env("GIT_TRACE", "1")
        .output()
        .unwrap();
    s.check(&out, "git lfs pull (resuming)");
    let trace = stderr(&out);
    assert_same_file(&wt.join("big.bin"), &c.join("big.bin"));
    assert!(
        trace.contains(&format!(
            "Attempting to resume download of \"{oid}\" from byte {half}"
        )),
        "the client did not resume:\n{trace}"
    );
    assert!(
        trace.contains("server accepted resume download request"),
        "the server did not accept the Range request:\n{trace}"
    );
    let gets = s.requests_to("GET", &oid);
    assert!(
        gets.iter().any(|r| r.status == 206),
        "no 206 for {oid}: {gets:?}\n{}",
        s.logs()
    );
}
lfs_matrix!(resume_download);

// ---------------------------------------------------------------------------------------------
// 4. Private repository and a credential helper

/// A private repository with a logging credential helper: git-lfs asks once per command (not
/// per object), with protocol and host; a bad token is rejected (`erase`) and nothing stored.
fn private_credential_helper(mode: Mode) {
    let s = Lfs::start(mode);
    let log = s.env.path("cred.log");
    let tokfile = s.env.path("cred.token");
    std::fs::write(&tokfile, s.token("bob")).unwrap();
    let helper = s.env.path("cred.sh");
    // git-lfs runs `git credential fill|approve|reject`; git asks its helpers itself. The
    // helper tells them apart by its ancestors' command lines.
    write_script(
        &helper,
        &format!(
            r#"#!/bin/sh
who=git
p=$PPID
i=0
while [ "$i" -lt 5 ] && [ -n "$p" ] && [ "$p" != 1 ]; do
  case "$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)" in
    *"credential fill"*|*"credential approve"*|*"credential reject"*) who=lfs ;;
  esac
  p=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$p/status 2>/dev/null)
  i=$((i + 1))
done
input=$(cat)
echo "$who $1 $(printf '%s\n' "$input" | grep -E '^(protocol|host|path)=' | tr '\n' ' ')" >> '{log}'
# Like a storing helper: `erase` forgets the token (git-lfs 3.3.0 retries a refused request
# for as long as the helper keeps answering, lfsapi/auth.go).
case "$1" in
  get) [ -f '{tokfile}' ] && printf 'username=bob\npassword=%s\n' "$(cat '{tokfile}')" ;;
  erase) rm -f '{tokfile}' ;;
esac
exit 0
"#,
            log = log.display(),
            tokfile = tokfile.display()
        ),
    );
    let helper_cfg = helper.display().to_string();
    let lfs_calls = |op: &str| -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with(&format!("lfs {op} ")))
            .map(str::to_string)
            .collect()
    };

    let wt = s.worktree("work", PRIV, None);
    s.git_ok(&wt, &["config", "credential.helper", &helper_cfg]);
    s.git_ok(&wt, &["lfs", "track", "*.bin"]);
    for i in 0..5 {
        write_random(&wt.join(format!("f{i}.bin")), 2000 + i * 100, 40 + i as u64);
    }
    s.git_ok(&wt, &["add", "-A"]);
    s.git_ok(&wt, &["commit", "-qm", "five objects"]);
    s.git_ok(&wt, &["push", "origin", "main"]);
    for i in 0..5 {
        s.assert_stored(PRIV, &wt.join(format!("f{i}.bin")));
    }
    let all = std::fs::read_to_string(&log).unwrap_or_default();
    let gets = lfs_calls("get");
    assert_eq!(
        gets.len(),
        1,
        "git-lfs asked for credentials {gets:?}\n{all}"
    );
    let host = s.base.trim_start_matches("http://");
    assert!(
        gets[0].contains("protocol=http") && gets[0].contains(&format!("host={host}")),
        "{gets:?}"
    );
    assert_eq!(lfs_calls("store").len(), 1, "{all}");
    // The anonymous first attempt was challenged.
    assert!(
        s.settled_requests()
            .iter()
            .any(|r| r.path.contains("/info/lfs/") && r.status == 401),
        "no 401 from the LFS API\n{}",
        s.logs()
    );

    // Clone with the helper: one question for all five downloads.
    std::fs::remove_file(&log).unwrap();
    let dest = s.env.path("clone");
    let mut cmd = s.git_cmd(s.env.dir.path());
    cmd.args(["clone", "-q", "-c"])
        .arg(format!("credential.helper={helper_cfg}"))
        .arg(s.url(PRIV))
        .arg(&dest);
    let out = cmd.output().unwrap();
    s.check(&out, "clone of the private repository");
    for i in 0..5 {
        let f = format!("f{i}.bin");
        assert_same_file(&wt.join(&f), &dest.join(&f));
    }
    let gets = lfs_calls("get");
    assert_eq!(
        gets.len(),
        1,
        "git-lfs asked for credentials {gets:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // A bad token: refused, the helper is told to erase it, nothing is stored.
    std::fs::remove_file(&log).unwrap();
    std::fs::write(
        &tokfile,
        "hubctl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .unwrap();
    s.reset_lfs_config(&wt);
    write_random(&wt.join("late.bin"), 3000, 77);
    s.git_ok(&wt, &["add", "late.bin"]);
    s.git_ok(&wt, &["commit", "-qm", "late"]);
    let started = std::time::Instant::now();
    let out = s.git(&wt, &["lfs", "push", "origin", "main"]);
    assert!(!out.status.success(), "pushed with a bad token");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "refusing a bad token took {:?}",
        started.elapsed()
    );
    let oid = sha256_file(&wt.join("late.bin"));
    assert!(!s.object_path(PRIV, &oid).exists());
    // Rejected by whoever was refused first (git's ls-remote or git-lfs).
    assert!(
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(" erase "),
        "bad credentials were not rejected: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}
lfs_matrix!(private_credential_helper);

// ---------------------------------------------------------------------------------------------
// 5. Read-only token

/// A read-scoped token (and a user with a read grant) cannot upload: git-lfs fails with the
/// server's 403 message and nothing is stored; downloads work with the same credentials.
fn read_only_token(mode: Mode) {
    let s = Lfs::start(mode);
    // Something to download first.
    let w = s.worktree("writer", PRIV, Some("bob"));
    s.git_ok(&w, &["lfs", "track", "*.bin"]);
    write_random(&w.join("base.bin"), 5000, 5);
    s.git_ok(&w, &["add", "-A"]);
    s.git_ok(&w, &["commit", "-qm", "base"]);
    s.git_ok(&w, &["push", "origin", "main"]);

    for who in ["bob-read", "rita"] {
        let c = s.clone_ok(&s.url(PRIV), &format!("c-{who}"), Some(who), &[]);
        assert_same_file(&w.join("base.bin"), &c.join("base.bin"));
        s.login(&c, who);
        write_random(&c.join("new.bin"), 4000, 6);
        s.git_ok(&c, &["add", "new.bin"]);
        s.git_ok(&c, &["commit", "-qm", "new"]);
        let oid = sha256_file(&c.join("new.bin"));
        // git's own push is refused at the ref advertisement (403) before LFS runs; git lfs
        // push talks to the LFS API alone.
        let out = s.git(&c, &["lfs", "push", "origin", "main"]);
        let err = stderr(&out);
        assert!(
            !out.status.success(),
            "[{who}] git lfs push succeeded: {err}"
        );
        assert!(
            err.contains("batch response:") || err.contains("Authorization error"),
            "[{who}] no LFS message: {err}"
        );
        assert!(!s.object_path(PRIV, &oid).exists(), "[{who}] object stored");
        assert!(
            s.requests_to("POST", &format!("/{PRIV}.git/info/lfs/objects/batch"))
                .iter()
                .any(|r| r.status == 403),
            "[{who}] no 403 on the batch\n{}",
            s.logs()
        );
        let out = s.git(&c, &["push", "origin", "main"]);
        assert!(!out.status.success(), "[{who}] git push succeeded");
    }
}
lfs_matrix!(read_only_token);

// ---------------------------------------------------------------------------------------------
// 6. Locks with the real client

/// Lock lines of `git lfs locks` output: (path, owner, id).
fn lock_lines(out: &str) -> Vec<(String, String, String)> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('\t').map(str::trim);
            let path = f.next()?.to_string();
            let owner = f.next()?.to_string();
            let id = f.next()?.strip_prefix("ID:")?.to_string();
            Some((path, owner, id))
        })
        .collect()
}

fn locks_with_client(mode: Mode) {
    let s = Lfs::start(mode);
    let a = s.worktree("alice", PUB, Some("alice"));
    s.git_ok(&a, &["lfs", "track", "--lockable", "*.bin"]);
    let gattr = std::fs::read_to_string(a.join(".gitattributes")).unwrap();
    assert!(gattr.contains("lockable"), "{gattr}");
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        write_random(&a.join(format!("{n}.bin")), 2000, 60 + i as u64);
    }
    s.git_ok(&a, &["add", "-A"]);
    s.git_ok(&a, &["commit", "-qm", "lockable files"]);
    s.git_ok(&a, &["push", "-u", "origin", "main"]);
    let b = s.clone_ok(&s.url(PUB), "bob", Some("bob"), &[]);
    let d = s.clone_ok(&s.url(PUB), "adam", Some("adam"), &[]);
    // Lockable files that I have not locked are read-only.
    assert!(is_read_only(&b.join("a.bin")), "lockable file is writable");

    // Lock; again → 409 with the existing lock.
    let out = s.git_ok(&b, &["lfs", "lock", "a.bin"]);
    assert!(out.contains("Locked a.bin"), "{out}");
    assert!(
        !is_read_only(&b.join("a.bin")),
        "locked file still read-only"
    );
    let out = s.git(&b, &["lfs", "lock", "a.bin"]);
    assert!(!out.status.success(), "locked twice");
    assert!(
        stderr(&out).contains("Locking a.bin failed"),
        "{}",
        stderr(&out)
    );
    let creates = s.requests_to("POST", &format!("/{PUB}.git/info/lfs/locks"));
    let statuses: Vec<u16> = creates
        .iter()
        .filter(|r| !r.path.contains("/locks/"))
        .map(|r| r.status)
        .collect();
    assert!(
        statuses.contains(&201) && statuses.contains(&409),
        "{statuses:?}\n{}",
        s.logs()
    );

    // List: everyone sees bob's lock; --path, --id, --json.
    let out = s.git_ok(&a, &["lfs", "locks"]);
    let locks = lock_lines(&out);
    assert_eq!(locks.len(), 1, "{out}");
    let (path, owner, id) = locks[0].clone();
    assert_eq!((path.as_str(), owner.as_str()), ("a.bin", "bob"), "{out}");
    assert_eq!(
        lock_lines(&s.git_ok(&a, &["lfs", "locks", "--path=a.bin"])).len(),
        1
    );
    assert!(lock_lines(&s.git_ok(&a, &["lfs", "locks", "--path=b.bin"])).is_empty());
    assert_eq!(
        lock_lines(&s.git_ok(&a, &["lfs", "locks", &format!("--id={id}")])).len(),
        1
    );
    let j: Value = serde_json::from_str(&s.git_ok(&a, &["lfs", "locks", "--json"])).unwrap();
    assert_eq!(j[0]["owner"]["name"], "bob", "{j}");
    assert_eq!(j[0]["path"], "a.bin", "{j}");
    // --verify marks ours with O.
    let out = s.git_ok(&b, &["lfs", "locks", "--verify"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("O ") && l.contains("a.bin")),
        "bob's own lock not marked: {out}"
    );
    let out = s.git_ok(&a, &["lfs", "locks", "--verify"]);
    assert!(
        out.lines()
            .any(|l| !l.starts_with("O ") && l.contains("a.bin")),
        "bob's lock shown as alice's: {out}"
    );

    // Push-time verification: alice may not push a change to bob's locked file.
    let verify_key = format!("lfs.{}.locksverify", s.lfs_url(PUB));
    s.git_ok(&a, &["config", &verify_key, "true"]);
    make_writable(&a.join("a.bin"));
    write_random(&a.join("a.bin"), 2100, 70);
    s.git_ok(&a, &["commit", "-qam", "touch a locked file"]);
    let before = s.env.git_ok(&s.env.bare(PUB), &["rev-parse", "main"]);
    let out = s.git(&a, &["push", "origin", "main"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "push over bob's lock succeeded: {err}"
    );
    // git-lfs 3.3.0 with locksverify=true says only this (LFS.md §6.4).
    assert!(err.contains("Cannot update locked files"), "{err}");
    assert_eq!(
        s.env.git_ok(&s.env.bare(PUB), &["rev-parse", "main"]),
        before
    );
    // With locksverify unset the client names the file and its owner as a warning.
    s.git_ok(&a, &["config", "--unset", &verify_key]);
    let out = s.git(&a, &["push", "--dry-run", "origin", "main"]);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(
        said.contains("Unable to push locked files")
            && said.contains("a.bin - bob")
            && said.contains("would have halted this push"),
        "{said}"
    );
    assert_eq!(
        s.env.git_ok(&s.env.bare(PUB), &["rev-parse", "main"]),
        before
    );
    s.git_ok(&a, &["config", &verify_key, "true"]);
    assert!(
        s.requests_to("POST", &format!("/{PUB}.git/info/lfs/locks/verify"))
            .iter()
            .any(|r| r.status == 200),
        "{}",
        s.logs()
    );

    // bob unlocks his own lock; the file turns read-only again; alice's push goes through.
    let out = s.git_ok(&b, &["lfs", "unlock", "a.bin"]);
    assert!(out.contains("Unlocked a.bin"), "{out}");
    assert!(is_read_only(&b.join("a.bin")));
    s.git_ok(&a, &["push", "origin", "main"]);

    // Another user's lock: refused without --force; the owner of the repository may force.
    s.git_ok(&b, &["lfs", "lock", "b.bin"]);
    let out = s.git(&a, &["lfs", "unlock", "b.bin"]);
    assert!(
        !out.status.success(),
        "alice unlocked bob's lock without force"
    );
    let out = s.git_ok(&a, &["lfs", "unlock", "--force", "b.bin"]);
    assert!(out.contains("Unlocked b.bin"), "{out}");

    // A writer who is not an admin cannot force; an admin grant can.
    s.git_ok(&a, &["lfs", "lock", "c.bin"]);
    let out = s.git(&b, &["lfs", "unlock", "--force", "c.bin"]);
    assert!(
        !out.status.success(),
        "a mere writer forced an unlock: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let unlocks: Vec<u16> = s
        .requests_to("POST", "/unlock")
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(unlocks.contains(&403), "{unlocks:?}\n{}", s.logs());
    let out = s.git_ok(&d, &["lfs", "unlock", "--force", "c.bin"]);
    assert!(out.contains("Unlocked c.bin"), "{out}");

    // Unlock by id.
    s.git_ok(&b, &["lfs", "lock", "c.bin"]);
    let locks = lock_lines(&s.git_ok(&b, &["lfs", "locks", "--path=c.bin"]));
    assert_eq!(locks.len(), 1);
    let out = s.git_ok(&b, &["lfs", "unlock", &format!("--id={}", locks[0].2)]);
    assert!(out.contains("Unlocked"), "{out}");
    assert!(lock_lines(&s.git_ok(&b, &["lfs", "locks"])).is_empty());

    // Pages: 7 locks, `git lfs locks --limit 3` shows 3, a plain listing follows the cursor.
    for i in 0..7 {
        s.git_ok(&b, &["lfs", "lock", &format!("p{i}.bin")]);
    }
    assert_eq!(
        lock_lines(&s.git_ok(&b, &["lfs", "locks", "--limit", "3"])).len(),
        3
    );
    assert_eq!(lock_lines(&s.git_ok(&a, &["lfs", "locks"])).len(), 7);
}
lfs_matrix!(locks_with_client);

// ---------------------------------------------------------------------------------------------
// 7. The API with curl

/// Who gets what: 401 with LFS-Authenticate for anonymous callers where credentials are
/// needed, 404 for users who cannot see a private repository, 403 for upload without write;
/// Basic with any user name and Bearer both carry a token.
fn api_access(mode: Mode) {
    let s = Lfs::start(mode);
    let oid = sha256_hex(b"hello\n");
    let one = [(oid.clone(), 6i64)];
    // Anonymous: download from the public repository, challenged for uploads and private.
    let r = s.batch(Auth::Anonymous, PUB, "download", &one);
    assert_eq!(r.status, 200, "anonymous download batch: {}", r.dump());
    assert_challenge(
        &s.batch(Auth::Anonymous, PUB, "upload", &one),
        "anonymous upload",
    );
    assert_challenge(
        &s.batch(Auth::Anonymous, PRIV, "download", &one),
        "anonymous download of a private repository",
    );
    assert_challenge(
        &s.batch(Auth::Anonymous, "alice/missing", "download", &one),
        "anonymous download of a missing repository",
    );
    // An unknown token is a 401 too, public repository or not.
    for repo in [PUB, PRIV] {
        let r = s.http(&[
            "-u",
            "bob:hubctl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "-H",
            &format!("Accept: {MEDIA}"),
            "-H",
            &format!("Content-Type: {MEDIA}"),
            "--data-binary",
            &batch_body("download", &one).to_string(),
            &format!("{}/objects/batch", s.lfs_url(repo)),
        ]);
        assert_challenge(&r, &format!("unknown token on {repo}"));
    }

    // Users who cannot see a private repository: 404, like a missing one.
    for (who, repo) in [("eve", PRIV), ("eve", "alice/missing")] {
        for op in ["download", "upload"] {
            assert_lfs_error(
                &s.batch(Auth::Basic(who), repo, op, &one),
                404,
                &format!("{who} {op} {repo}"),
            );
        }
    }
    // Readers and read-scoped tokens may download, not upload.
    for who in ["rita", "bob-read"] {
        for repo in [PUB, PRIV] {
            let r = s.batch(Auth::Basic(who), repo, "download", &one);
            assert_eq!(r.status, 200, "{who} download {repo}: {}", r.dump());
            assert_lfs_error(
                &s.batch(Auth::Basic(who), repo, "upload", &one),
                403,
                &format!("{who} upload {repo}"),
            );
        }
    }
    // eve may read the public repository but not write it.
    assert_lfs_error(
        &s.batch(Auth::Basic("eve"), PUB, "upload", &one),
        403,
        "eve upload to the public repository",
    );
    // Writers: Basic with their name, with any name, and Bearer.
    for auth in [
        Auth::Basic("bob"),
        Auth::AnyName("bob"),
        Auth::Bearer("bob"),
        Auth::Basic("alice"),
        Auth::Basic("adam"),
    ] {
        let r = s.batch(auth, PRIV, "upload", &one);
        assert_eq!(r.status, 200, "upload batch: {}", r.dump());
        let obj = &r.json()["objects"][0];
        assert!(action(obj, "upload").is_some(), "{}", r.dump());
    }
    // Lock endpoints follow the same table.
    let locks = format!("{}/locks", s.lfs_url(PUB));
    let body = json!({"path": "x.bin", "ref": {"name": "refs/heads/main"}});
    assert_challenge(
        &s.api(Auth::Anonymous, &locks, Some(&body), MEDIA),
        "anonymous lock",
    );
    assert_lfs_error(
        &s.api(Auth::Basic("rita"), &locks, Some(&body), MEDIA),
        403,
        "reader lock",
    );
    assert_lfs_error(
        &s.api(Auth::Basic("bob-read"), &locks, Some(&body), MEDIA),
        403,
        "read-scoped token lock",
    );
    assert_lfs_error(
        &s.api(
            Auth::Basic("eve"),
            &format!("{}/locks", s.lfs_url(PRIV)),
            None,
            MEDIA,
        ),
        404,
        "eve lists locks of a private repository",
    );
    assert_challenge(
        &s.api(
            Auth::Anonymous,
            &format!("{}/locks", s.lfs_url(PRIV)),
            None,
            MEDIA,
        ),
        "anonymous lock list of a private repository",
    );
    // Object hrefs without their action token are not an open door.
    let data = b"guarded\n";
    let oid = s.upload(PRIV, "bob", data);
    let href = format!("{}/objects/{oid}", s.lfs_url(PRIV));
    let r = s.get(&href, &[], &[]);
    assert!(
        [401, 404].contains(&r.status),
        "GET of a private object without a token: {}",
        r.dump()
    );
    let r = s.get(
        &href,
        &[("Authorization".into(), "RemoteAuth forged".into())],
        &[],
    );
    assert!(
        [401, 403, 404].contains(&r.status),
        "GET with a forged action token: {}",
        r.dump()
    );
}
lfs_matrix!(api_access);

/// Batch: 406 for a foreign Accept, 413 above 1000 objects, per-object 422 and 404, no
/// actions for present objects, `basic` even when `ssh` is offered, repository URLs with and
/// without `.git`, JSON errors for malformed requests and unknown routes.
fn api_batch(mode: Mode) {
    let s = Lfs::start(mode);
    let batch_url = format!("{}/objects/batch", s.lfs_url(PUB));
    let stored_data = b"stored object\n";
    let stored = s.upload(PUB, "bob", stored_data);
    let stored_obj = (stored.clone(), stored_data.len() as i64);
    let missing = sha256_hex(b"never uploaded\n");

    // Accept.
    let body = batch_body("download", std::slice::from_ref(&stored_obj));
    for accept in ["text/html", "application/xml"] {
        assert_lfs_error(
            &s.api(Auth::Basic("bob"), &batch_url, Some(&body), accept),
            406,
            &format!("Accept: {accept}"),
        );
    }
    // Refused before its body is read, a request with a large body still gets hubctl's answer
    // (over CGI fcgiwrap answered 502 when hubctl exited before taking the whole body).
    let mut padded = body.clone();
    padded["padding"] = Value::String("x".repeat(512 * 1024));
    for round in 0..5 {
        assert_lfs_error(
            &s.api(Auth::Basic("bob"), &batch_url, Some(&padded), "text/html"),
            406,
            &format!("Accept: text/html with a 512 KiB body, round {round}"),
        );
    }
    for accept in [MEDIA, "application/json"] {
        let r = s.api(Auth::Basic("bob"), &batch_url, Some(&body), accept);
        assert_eq!(r.status, 200, "Accept: {accept}: {}", r.dump());
        let ct = r.header("Content-Type").unwrap_or("");
        assert!(ct.starts_with(MEDIA), "{}", r.dump());
    }

    // Limits: 1000 objects are fine, 1001 are not.
    let many: Vec<(String, i64)> = (0..1001).map(|i| (format!("{i:064x}"), 1)).collect();
    let r = s.batch(Auth::Basic("bob"), PUB, "download", &many[..1000]);
    assert_eq!(r.status, 200, "1000 objects: {}", r.dump());
    let objs = r.json()["objects"].as_array().unwrap().clone();
    assert_eq!(objs.len(), 1000);
    assert!(objs.iter().all(|o| o["error"]["code"] == 404));
    assert_lfs_error(
        &s.batch(Auth::Basic("bob"), PUB, "download", &many),
        413,
        "1001 objects",
    );

    // Per-object validation: every requested object comes back, invalid ones with 422.
    let invalid = [
        ("xyz".to_string(), 1i64),
        ("A".repeat(64), 1),
        ("../../../../../../etc/passwd".to_string(), 1),
        ("0".repeat(63), 1),
        (sha256_hex(b"negative"), -1),
    ];
    let new = sha256_hex(b"a new object\n");
    let mut objects = invalid.to_vec();
    objects.push((new.clone(), 13));
    objects.push(stored_obj.clone());
    let r = s.batch(Auth::Basic("bob"), PUB, "upload", &objects);
    assert_eq!(r.status, 200, "{}", r.dump());
    let v = r.json();
    assert_eq!(v["transfer"], "basic", "{v}");
    let objs = v["objects"].as_array().unwrap();
    assert_eq!(objs.len(), objects.len(), "{v}");
    for (oid, size) in &invalid {
        let o = objs
            .iter()
            .find(|o| o["oid"] == oid.as_str())
            .unwrap_or_else(|| panic!("{oid} missing from {v}"));
        assert_eq!(o["error"]["code"], 422, "{oid} {size}: {o}");
        assert!(o["error"]["message"].is_string(), "{o}");
        assert!(o.get("actions").is_none(), "{o}");
    }
    let o = objs.iter().find(|o| o["oid"] == new.as_str()).unwrap();
    let (href, headers) = action(o, "upload").unwrap_or_else(|| panic!("no upload: {o}"));
    assert!(
        href.starts_with(&format!("{}/", s.lfs_url(PUB))) && href.contains(&new),
        "{href}"
    );
    assert_eq!(o["authenticated"], true, "{o}");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "Authorization" && v.starts_with("RemoteAuth ")),
        "{headers:?}"
    );
    // Already stored: no actions at all.
    let o = objs.iter().find(|o| o["oid"] == stored.as_str()).unwrap();
    assert!(
        o.get("actions").is_none(),
        "present object has actions: {o}"
    );
    assert!(o.get("error").is_none(), "{o}");

    // Download: present → download action, missing → 404.
    let r = s.batch(
        Auth::Anonymous,
        PUB,
        "download",
        &[stored_obj.clone(), (missing.clone(), 15)],
    );
    assert_eq!(r.status, 200, "{}", r.dump());
    let v = r.json();
    let objs = v["objects"].as_array().unwrap();
    assert!(action(&objs[0], "download").is_some(), "{v}");
    assert_eq!(objs[1]["error"]["code"], 404, "{v}");

    // `ssh` first in the offer, or alone with basic: always basic over HTTP.
    for transfers in [
        json!(["ssh", "basic"]),
        json!(["ssh", "lfs-standalone-file", "basic"]),
    ] {
        let mut body = batch_body("download", std::slice::from_ref(&stored_obj));
        body["transfers"] = transfers;
        let r = s.api(Auth::Anonymous, &batch_url, Some(&body), MEDIA);
        assert_eq!(r.status, 200, "{}", r.dump());
        assert_eq!(r.json()["transfer"], "basic", "{}", r.dump());
    }
    // No transfers, no ref, no hash_algo: basic.
    let r = s.api(
        Auth::Anonymous,
        &batch_url,
        Some(&json!({"operation": "download", "objects": [{"oid": stored, "size": stored_obj.1}]})),
        MEDIA,
    );
    assert_eq!(r.status, 200, "{}", r.dump());

    // The repository URL without .git serves the same repository.
    let r = s.api(
        Auth::Anonymous,
        &format!("{}/{PUB}/info/lfs/objects/batch", s.base),
        Some(&batch_body("download", std::slice::from_ref(&stored_obj))),
        MEDIA,
    );
    assert_eq!(r.status, 200, "without .git: {}", r.dump());
    assert!(action(&r.json()["objects"][0], "download").is_some());

    // Malformed JSON and an unknown operation: 4xx with a JSON message.
    let garbage = s.data_file(b"{not json");
    let r = s.http(&[
        "-u",
        &format!("bob:{}", s.token("bob")),
        "-H",
        &format!("Accept: {MEDIA}"),
        "-H",
        &format!("Content-Type: {MEDIA}"),
        "--data-binary",
        &format!("@{}", garbage.display()),
        &batch_url,
    ]);
    assert_lfs_error(&r, 400, "invalid JSON body: ");
    let r = s.api(
        Auth::Basic("bob"),
        &batch_url,
        Some(&json!({"operation": "frobnicate", "objects": []})),
        MEDIA,
    );
    assert!(
        r.status == 422 || r.status == 400,
        "unknown operation: {}",
        r.dump()
    );
    assert_lfs_error(&r, r.status, "unknown operation");
    // Unknown routes under info/lfs are JSON 404s.
    let r = s.api(
        Auth::Basic("bob"),
        &format!("{}/nonsense", s.lfs_url(PUB)),
        None,
        MEDIA,
    );
    assert_lfs_error(&r, 404, "unknown LFS route");
}
lfs_matrix!(api_batch);

/// PUT, GET and verify on action hrefs: any Content-Type, chunked bodies, 400 (never 422) for
/// content that does not match oid or size and nothing kept, 200 for an object already
/// stored, Content-Length on GET, 206 for Range, verify 200/404.
fn api_transfers(mode: Mode) {
    let s = Lfs::start(mode);
    let mut data = vec![0u8; 2 << 20];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    let oid = sha256_hex(&data);
    let size = data.len() as i64;
    let file = s.data_file(&data);
    let plan = |oid: &str, size: i64| -> (Value, Option<Act>) {
        let r = s.batch(
            Auth::Basic("bob"),
            PUB,
            "upload",
            &[(oid.to_string(), size)],
        );
        assert_eq!(r.status, 200, "{}", r.dump());
        let obj = r.json()["objects"][0].clone();
        let up = action(&obj, "upload");
        (obj, up)
    };
    let nothing_kept = |oid: &str, what: &str| {
        assert!(
            !s.object_path(PUB, oid).exists(),
            "[{mode:?}] {what}: object kept"
        );
        let clean = eventually(Duration::from_secs(10), || s.tmp_files(PUB).is_empty());
        assert!(
            clean,
            "[{mode:?}] {what}: temporary files left: {:?}",
            s.tmp_files(PUB)
        );
    };

    // Wrong content, same size: 400 with a JSON message, nothing kept.
    let (_, up) = plan(&oid, size);
    let (href, headers) = up.expect("upload action");
    let mut wrong = data.clone();
    wrong[1000] ^= 1;
    let r = s.put(&href, &headers, &s.data_file(&wrong), &[]);
    assert_lfs_error(&r, 400, "PUT of content that is not the oid");
    nothing_kept(&oid, "hash mismatch");
    // Too short and too long (honest Content-Length, wrong size): 400.
    let r = s.put(&href, &headers, &s.data_file(&data[..data.len() - 1]), &[]);
    assert_lfs_error(&r, 400, "PUT of one byte less");
    nothing_kept(&oid, "short body");
    let mut longer = data.clone();
    longer.push(0);
    let r = s.put(&href, &headers, &s.data_file(&longer), &[]);
    assert_lfs_error(&r, 400, "PUT of one byte more");
    nothing_kept(&oid, "long body");
    // A body cut off mid-way (Content-Length announces more than arrives, then EOF).
    let resp = truncated_put(
        &s.base,
        path_of(&href),
        &headers,
        data.len(),
        &data[..data.len() / 2],
    );
    assert!(
        !resp.starts_with("HTTP/1.1 2") && !resp.starts_with("HTTP/1.0 2"),
        "truncated body accepted: {resp}"
    );
    nothing_kept(&oid, "truncated body");

    // The right content, with a sniffed Content-Type (image/png): 200 and stored.
    let r = s.put(&href, &headers, &file, &["-H", "Content-Type: image/png"]);
    assert_eq!(r.status, 200, "PUT: {}", r.dump());
    assert_eq!(sha256_file(&s.object_path(PUB, &oid)), oid);
    assert!(s.tmp_files(PUB).is_empty(), "{:?}", s.tmp_files(PUB));
    // Again (a client retrying after a lost answer): 200, unchanged.
    let r = s.put(
        &href,
        &headers,
        &file,
        &["-H", "Content-Type: text/plain; charset=utf-8"],
    );
    assert_eq!(r.status, 200, "PUT of a stored object: {}", r.dump());
    assert_eq!(sha256_file(&s.object_path(PUB, &oid)), oid);

    // Chunked upload (no Content-Length).
    let chunked: Vec<u8> = (0..300_000u32).map(|i| (i % 13) as u8).collect();
    let chunked_oid = sha256_hex(&chunked);
    let (_, up) = plan(&chunked_oid, chunked.len() as i64);
    let (chref, chheaders) = up.expect("upload action");
    let r = s.put(
        &chref,
        &chheaders,
        &s.data_file(&chunked),
        &["-H", "Transfer-Encoding: chunked"],
    );
    assert_eq!(r.status, 200, "chunked PUT: {}", r.dump());
    assert_eq!(sha256_file(&s.object_path(PUB, &chunked_oid)), chunked_oid);
    // The empty object.
    let empty = sha256_hex(b"");
    let (_, up) = plan(&empty, 0);
    if let Some((ehref, eheaders)) = up {
        let r = s.put(&ehref, &eheaders, &s.data_file(b""), &[]);
        assert_eq!(r.status, 200, "empty PUT: {}", r.dump());
    }
    let r = s.batch(Auth::Anonymous, PUB, "download", &[(empty.clone(), 0)]);
    assert!(
        action(&r.json()["objects"][0], "download").is_some(),
        "{}",
        r.dump()
    );

    // Verify: present with that size → 200; wrong size, missing → 404/400 (never 422).
    let (obj, _) = plan(&oid, size);
    assert!(
        obj.get("actions").is_none(),
        "stored object has actions: {obj}"
    );
    let verify_url = format!("{}/verify", s.lfs_url(PUB));
    let verify = |oid: &str, size: i64| {
        s.api(
            Auth::Basic("bob"),
            &verify_url,
            Some(&json!({"oid": oid, "size": size})),
            MEDIA,
        )
    };
    assert_eq!(verify(&oid, size).status, 200);
    for (o, sz, what) in [
        (oid.as_str(), size + 1, "wrong size"),
        (sha256_hex(b"nope").as_str(), 4, "missing object"),
    ] {
        let r = verify(o, sz);
        assert!(
            r.status == 404 || r.status == 400,
            "verify {what}: {}",
            r.dump()
        );
        assert_lfs_error(&r, r.status, &format!("verify {what}"));
    }

    // GET: Content-Length and the bytes; Range → 206 with Content-Range.
    let r = s.batch(Auth::Anonymous, PUB, "download", &[(oid.clone(), size)]);
    let obj = r.json()["objects"][0].clone();
    let (dhref, dheaders) = action(&obj, "download").unwrap_or_else(|| panic!("{obj}"));
    assert_eq!(obj["authenticated"], true, "{obj}");
    let r = s.get(&dhref, &dheaders, &[]);
    assert_eq!(r.status, 200, "{}", r.dump());
    assert!(r.body == data, "GET returned other bytes");
    // Checked last, so that the other checks run even while it fails.
    let whole_get = r;
    let from = 1_234_567usize;
    let r = s.get(&dhref, &dheaders, &["-H", &format!("Range: bytes={from}-")]);
    assert_eq!(r.status, 206, "Range: {}", r.dump_head());
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes {from}-{}/{size}", size - 1).as_str()),
        "{}",
        r.dump_head()
    );
    assert!(r.body == data[from..], "206 body is not the suffix");
    let ranged_get = r;
    // As git-lfs asks: bytes=N-(size-1).
    let r = s.get(
        &dhref,
        &dheaders,
        &["-H", &format!("Range: bytes={from}-{}", size - 1)],
    );
    assert_eq!(r.status, 206, "{}", r.dump_head());
    assert!(r.body == data[from..]);
    if mode == Mode::Cgi {
        // Behind the README's nginx snippet the object bytes come from nginx itself: hubctl
        // checks the token and answers X-Accel-Redirect into the snippet's internal location,
        // so its own log lines for these GETs carry no body bytes.
        let path = format!("/alice/proj.git/info/lfs/objects/{oid}");
        let handed_over = eventually(Duration::from_secs(5), || {
            s.logs()
                .lines()
                .filter(|l| l.contains(&format!(" GET {path} 200 0 ")))
                .count()
                >= 3
        });
        assert!(handed_over, "hubctl sent the object itself:\n{}", s.logs());
        // The internal location answers no client directly.
        let direct = format!(
            "{}/.hubctl-lfs/repos/alice/proj.git/lfs/objects/{}/{}/{oid}",
            s.base,
            &oid[0..2],
            &oid[2..4]
        );
        let r = s.get(&direct, &[], &[]);
        assert_eq!(
            r.status,
            404,
            "internal location reached: {}",
            r.dump_head()
        );
    }
    // Missing object on GET.
    let missing = format!("{}/objects/{}", s.lfs_url(PUB), sha256_hex(b"nope"));
    let r = s.get(&missing, &dheaders, &[]);
    assert!(
        [401, 403, 404].contains(&r.status),
        "GET of a missing object: {}",
        r.dump_head()
    );
    // A download token does not allow an upload.
    let other = b"sneaky upload\n";
    let sneaky = sha256_hex(other);
    let sneaky_href = format!("{}/objects/{sneaky}", s.lfs_url(PUB));
    let r = s.put(&sneaky_href, &dheaders, &s.data_file(other), &[]);
    assert!(
        [401, 403].contains(&r.status),
        "PUT with a download token: {}",
        r.dump()
    );
    assert!(!s.object_path(PUB, &sneaky).exists());
    assert_eq!(
        whole_get.header("Content-Length"),
        Some(size.to_string().as_str()),
        "GET of an object streams without Content-Length:\n{}",
        whole_get.dump_head()
    );
    assert_eq!(
        ranged_get.header("Content-Length"),
        Some((size as usize - from).to_string().as_str()),
        "206 without Content-Length:\n{}",
        ranged_get.dump_head()
    );
}
lfs_matrix!(api_transfers);

/// Uploads larger than the store's pipeline (receive, write, hash: 4 buffers of 1 MiB) and its
/// writeback step (8 MiB), so that several buffers are in flight when the body goes wrong:
/// a chunked body longer and one shorter than the announced size, a body cut off midway
/// (Content-Length announces more, then EOF), a connection dropped mid-body, and content that
/// differs in its last bytes all answer without 2xx and keep nothing, in the object store or
/// in `lfs/tmp`; the right content afterwards is stored intact.
fn large_upload_errors(mode: Mode) {
    let s = Lfs::start(mode);
    let path = s.env.path("large.bin");
    // Not a whole number of 4 KiB blocks: the last piece goes through the page cache.
    write_urandom(&path, (24 << 20) + 12_345);
    let data = std::fs::read(&path).unwrap();
    let oid = sha256_hex(&data);
    let r = s.batch(
        Auth::Basic("bob"),
        PUB,
        "upload",
        &[(oid.clone(), data.len() as i64)],
    );
    assert_eq!(r.status, 200, "{}", r.dump());
    let (href, headers) = action(&r.json()["objects"][0], "upload").expect("upload action");
    let nothing_kept = |what: &str| {
        assert!(
            !s.object_path(PUB, &oid).exists(),
            "[{mode:?}] {what}: object kept"
        );
        let clean = eventually(Duration::from_secs(20), || s.tmp_files(PUB).is_empty());
        assert!(
            clean,
            "[{mode:?}] {what}: temporary files left: {:?}",
            s.tmp_files(PUB)
        );
    };
    let chunked = ["-H", "Transfer-Encoding: chunked"];

    let mut longer = data.clone();
    longer.extend_from_slice(&[0u8; 1 << 20]);
    let r = s.put(&href, &headers, &s.data_file(&longer), &chunked);
    assert_lfs_error(&r, 400, "chunked PUT 1 MiB longer than announced");
    nothing_kept("chunked body too long");
    drop(longer);

    let r = s.put(
        &href,
        &headers,
        &s.data_file(&data[..data.len() - 1]),
        &chunked,
    );
    assert_lfs_error(&r, 400, "chunked PUT one byte shorter than announced");
    nothing_kept("chunked body too short");

    let mut wrong = data.clone();
    let n = wrong.len();
    wrong[n - 100] ^= 1;
    let r = s.put(&href, &headers, &s.data_file(&wrong), &[]);
    assert_lfs_error(&r, 400, "PUT of content differing near its end");
    nothing_kept("hash mismatch");
    drop(wrong);

    let resp = truncated_put(
        &s.base,
        path_of(&href),
        &headers,
        data.len(),
        &data[..13 << 20],
    );
    assert!(
        !resp.starts_with("HTTP/1.1 2") && !resp.starts_with("HTTP/1.0 2"),
        "[{mode:?}] truncated large body accepted: {resp}"
    );
    nothing_kept("truncated body");

    // The client goes away mid-body without waiting for any answer.
    {
        let hostport = s.base.trim_start_matches("http://");
        let mut conn = std::net::TcpStream::connect(hostport).unwrap();
        let mut head = format!(
            "PUT {} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n",
            path_of(&href),
            data.len()
        );
        for (k, v) in &headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(&data[..9 << 20]);
    }
    nothing_kept("connection dropped mid-body");

    let r = s.put(&href, &headers, &path, &[]);
    assert_eq!(r.status, 200, "[{mode:?}] PUT: {}", r.dump());
    assert_eq!(sha256_file(&s.object_path(PUB, &oid)), oid);
    assert!(s.tmp_files(PUB).is_empty(), "{:?}", s.tmp_files(PUB));
}
lfs_matrix!(large_upload_errors);

/// A client that stops reading a large download holds its worker no longer than the idle
/// timeout: serve's sendfile gives up, the connection is closed, and the access log records
/// the short send; the server goes on answering others.
#[test]
fn stalled_download_ends_after_the_idle_timeout() {
    let mut s = Lfs::start(Mode::Serve);
    s.env.hubctl_ok(&["config", "set", "idle-timeout", "2s"]);
    // serve reads its settings when it starts.
    drop(s.server.take());
    let server = Server::start_full(&s.env, "127.0.0.1:0", &[], &[]);
    s.base = server.base.clone();
    s.server = Some(server);

    let size = 64usize << 20;
    let file = s.env.path("big.bin");
    write_random(&file, size, 77);
    let oid = sha256_file(&file);
    let r = s.batch(
        Auth::Basic("bob"),
        PUB,
        "upload",
        &[(oid.clone(), size as i64)],
    );
    let (href, headers) = action(&r.json()["objects"][0], "upload").expect("upload action");
    let r = s.put(&href, &headers, &file, &[]);
    assert_eq!(r.status, 200, "{}", r.dump_head());
    let r = s.batch(
        Auth::Anonymous,
        PUB,
        "download",
        &[(oid.clone(), size as i64)],
    );
    let (dhref, dheaders) = action(&r.json()["objects"][0], "download").expect("download");

    // Ask for the object and read only the first bytes.
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    let mut head = format!("GET {} HTTP/1.1\r\nHost: x\r\n", path_of(&dhref));
    for (k, v) in &dheaders {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).unwrap();
    let mut first = [0u8; 4096];
    let n = c.read(&mut first).unwrap();
    assert!(
        String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&first[..n])
    );
    // Stall well past the idle timeout: the server gives up on the send.
    let line = format!(" GET {} 200 ", path_of(&dhref));
    let gave_up = eventually(Duration::from_secs(30), || {
        s.server
            .as_ref()
            .unwrap()
            .log
            .lines()
            .iter()
            .any(|l| l.contains(&line))
    });
    let log = s.server.as_ref().unwrap().log.lines().join("\n");
    assert!(gave_up, "the stalled download never ended:\n{log}");
    let sent: u64 = log
        .lines()
        .find_map(|l| l.split_once(&line))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(sent < size as u64, "all {sent} bytes went out: {log}");
    // What the kernel had buffered, then the end: the connection was closed.
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(
        (rest.len() as u64) < size as u64,
        "the whole object arrived after the stall"
    );
    // The server still answers.
    let r = s.get(&dhref, &dheaders, &[]);
    assert_eq!(r.status, 200, "{}", r.dump_head());
    assert_eq!(r.body.len(), size);
}

impl Resp {
    /// Status and headers only (for binary bodies).
    fn dump_head(&self) -> String {
        let mut s = format!("HTTP {}\n", self.status);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s
    }
}

/// PUT with a Content-Length larger than the body, then half-close: a client that went away.
fn truncated_put(
    base: &str,
    path: &str,
    headers: &[(String, String)],
    announced: usize,
    body: &[u8],
) -> String {
    let hostport = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(hostport).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/octet-stream\r\nContent-Length: {announced}\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The legacy v1 API: `POST …/objects` (202 + `_links.upload` for a missing object, 200 +
/// `_links.download` for a present one) and `GET …/objects/<oid>` with the LFS Accept.
fn api_legacy(mode: Mode) {
    let s = Lfs::start(mode);
    let objects_url = format!("{}/objects", s.lfs_url(PUB));
    let data = b"legacy object content\n";
    let oid = sha256_hex(data);
    let size = data.len() as i64;
    let spec = json!({"oid": oid, "size": size});

    // Upload needs write access.
    assert_challenge(
        &s.api(Auth::Anonymous, &objects_url, Some(&spec), MEDIA),
        "anonymous legacy upload",
    );
    assert_lfs_error(
        &s.api(Auth::Basic("rita"), &objects_url, Some(&spec), MEDIA),
        403,
        "reader legacy upload",
    );
    let r = s.api(Auth::Basic("bob"), &objects_url, Some(&spec), MEDIA);
    assert_eq!(r.status, 202, "legacy upload request: {}", r.dump());
    let v = r.json();
    assert_eq!(v["oid"], oid.as_str(), "{v}");
    let link = &v["_links"]["upload"];
    let href = link["href"].as_str().unwrap_or_else(|| panic!("{v}"));
    let headers: Vec<(String, String)> = link["header"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let put = s.put(href, &headers, &s.data_file(data), &[]);
    assert!(
        (200..300).contains(&put.status),
        "legacy PUT: {}",
        put.dump()
    );
    assert_eq!(sha256_file(&s.object_path(PUB, &oid)), oid);
    if let Some(vhref) = v["_links"]["verify"]["href"].as_str() {
        let vheaders: Vec<String> = v["_links"]["verify"]["header"]
            .as_object()
            .map(|m| {
                m.iter()
                    .flat_map(|(k, v)| ["-H".to_string(), format!("{k}: {}", v.as_str().unwrap())])
                    .collect()
            })
            .unwrap_or_default();
        let mut args: Vec<&str> = vheaders.iter().map(String::as_str).collect();
        let body = spec.to_string();
        let accept = format!("Accept: {MEDIA}");
        let ct = format!("Content-Type: {MEDIA}");
        args.extend(["-H", &accept, "-H", &ct, "--data-binary", &body, vhref]);
        let r = s.http(&args);
        assert_eq!(r.status, 200, "legacy verify: {}", r.dump());
    }
    // Present now: 200 with a download link.
    let r = s.api(Auth::Basic("bob"), &objects_url, Some(&spec), MEDIA);
    assert_eq!(
        r.status,
        200,
        "legacy request for a stored object: {}",
        r.dump()
    );
    assert!(
        r.json()["_links"]["download"]["href"].is_string(),
        "{}",
        r.dump()
    );

    // GET …/objects/<oid> with the LFS Accept: the object's JSON, anonymous on a public repo.
    let r = s.api(
        Auth::Anonymous,
        &format!("{objects_url}/{oid}"),
        None,
        MEDIA,
    );
    assert_eq!(r.status, 200, "legacy GET: {}", r.dump());
    assert!(r.header("Content-Type").unwrap_or("").starts_with(MEDIA));
    let v = r.json();
    assert_eq!(v["oid"], oid.as_str(), "{v}");
    assert_eq!(v["size"], size, "{v}");
    let link = &v["_links"]["download"];
    let dhref = link["href"].as_str().unwrap_or_else(|| panic!("{v}"));
    let dheaders: Vec<(String, String)> = link["header"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let r = s.get(dhref, &dheaders, &[]);
    assert_eq!(r.status, 200, "{}", r.dump());
    assert_eq!(r.body, data);
    // Missing: 404 JSON; private: 401 anonymous, 404 for eve.
    assert_lfs_error(
        &s.api(
            Auth::Anonymous,
            &format!("{objects_url}/{}", sha256_hex(b"nope")),
            None,
            MEDIA,
        ),
        404,
        "legacy GET of a missing object",
    );
    let priv_obj = format!("{}/objects/{oid}", s.lfs_url(PRIV));
    assert_challenge(
        &s.api(Auth::Anonymous, &priv_obj, None, MEDIA),
        "anonymous legacy GET on a private repository",
    );
    assert_lfs_error(
        &s.api(Auth::Basic("eve"), &priv_obj, None, MEDIA),
        404,
        "eve legacy GET on a private repository",
    );
}
lfs_matrix!(api_legacy);

/// The locking API with curl: 201, 409 with the existing lock, paging with next_cursor,
/// filters, verify (ours/theirs with owners), unlock rules (own, other without force 403,
/// force by a writer 403, by the owner or an admin 200).
fn api_locks(mode: Mode) {
    let s = Lfs::start(mode);
    let base = s.lfs_url(PUB);
    let locks_url = format!("{base}/locks");
    let create = |who: &str, path: &str| {
        s.api(
            Auth::Basic(who),
            &locks_url,
            Some(&json!({"path": path, "ref": {"name": "refs/heads/main"}})),
            MEDIA,
        )
    };
    let r = create("bob", "dir/a file.bin");
    assert_eq!(r.status, 201, "{}", r.dump());
    let lock = r.json()["lock"].clone();
    assert!(lock["id"].is_string(), "lock id is not a string: {lock}");
    assert_eq!(lock["path"], "dir/a file.bin");
    assert_eq!(lock["owner"]["name"], "bob");
    assert!(
        lock["locked_at"].as_str().is_some_and(|t| t.contains('T')),
        "{lock}"
    );
    let id = lock["id"].as_str().unwrap().to_string();
    let r = create("alice", "dir/a file.bin");
    assert_eq!(r.status, 409, "{}", r.dump());
    assert!(r.header("Content-Type").unwrap_or("").starts_with(MEDIA));
    let v = r.json();
    assert_eq!(v["lock"]["id"], id.as_str(), "{v}");
    assert_eq!(v["lock"]["owner"]["name"], "bob", "{v}");
    assert!(v["message"].is_string(), "{v}");

    // Seven more (alice 3, bob 4) and paging with limit 3.
    for i in 0..7 {
        let who = if i % 2 == 0 { "bob" } else { "alice" };
        assert_eq!(create(who, &format!("p{i}.bin")).status, 201);
    }
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        let mut url = format!("{locks_url}?limit=3&refspec=refs%2Fheads%2Fmain");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let r = s.api(Auth::Basic("rita"), &url, None, MEDIA);
        assert_eq!(r.status, 200, "{}", r.dump());
        let v = r.json();
        let page = v["locks"].as_array().unwrap();
        assert!(page.len() <= 3, "{v}");
        for l in page {
            assert!(l["owner"]["name"].is_string(), "{l}");
            assert!(seen.insert(l["id"].as_str().unwrap().to_string()), "{v}");
        }
        match v["next_cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(pages, 3);
    // Filters: path (spaces as +), id, no match → 200 [].
    let r = s.api(
        Auth::Anonymous,
        &format!("{locks_url}?path=dir%2Fa+file.bin"),
        None,
        MEDIA,
    );
    assert_eq!(r.status, 200, "{}", r.dump());
    assert_eq!(r.json()["locks"][0]["id"], id.as_str(), "{}", r.dump());
    let r = s.api(
        Auth::Basic("eve"),
        &format!("{locks_url}?id={id}"),
        None,
        MEDIA,
    );
    assert_eq!(
        r.json()["locks"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.dump()
    );
    let r = s.api(
        Auth::Basic("eve"),
        &format!("{locks_url}?path=none.bin"),
        None,
        MEDIA,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["locks"], json!([]), "{}", r.dump());

    // Verify: ours and theirs with owners; needs write.
    let verify = |who: &str| {
        s.api(
            Auth::Basic(who),
            &format!("{locks_url}/verify"),
            Some(&json!({"ref": {"name": "refs/heads/main"}, "limit": 100})),
            MEDIA,
        )
    };
    let v = verify("bob").json();
    assert_eq!(v["ours"].as_array().unwrap().len(), 5, "{v}");
    assert_eq!(v["theirs"].as_array().unwrap().len(), 3, "{v}");
    assert!(
        v["theirs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["owner"]["name"] == "alice")
    );
    let v = verify("alice").json();
    assert_eq!(v["ours"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["theirs"].as_array().unwrap().len(), 5, "{v}");
    assert_lfs_error(&verify("rita"), 403, "reader verifies locks");

    // Unlock rules.
    let unlock = |who: &str, id: &str, force: bool| {
        s.api(
            Auth::Basic(who),
            &format!("{locks_url}/{id}/unlock"),
            Some(&json!({"force": force, "ref": {"name": "refs/heads/main"}})),
            MEDIA,
        )
    };
    assert_lfs_error(&unlock("alice", &id, false), 403, "owner of repo, no force");
    let id_of = |path: &str| -> String {
        let r = s.api(
            Auth::Anonymous,
            &format!("{locks_url}?path={path}"),
            None,
            MEDIA,
        );
        r.json()["locks"][0]["id"].as_str().unwrap().to_string()
    };
    let alices = id_of("p1.bin");
    assert_lfs_error(&unlock("bob", &alices, false), 403, "writer, other's lock");
    assert_lfs_error(&unlock("bob", &alices, true), 403, "writer forces");
    assert_lfs_error(&unlock("rita", &alices, true), 403, "reader forces");
    let r = unlock("adam", &alices, true);
    assert_eq!(r.status, 200, "admin forces: {}", r.dump());
    assert_eq!(r.json()["lock"]["path"], "p1.bin", "{}", r.dump());
    let r = unlock("alice", &id, true);
    assert_eq!(r.status, 200, "repository owner forces: {}", r.dump());
    let r = unlock("bob", &id_of("p0.bin"), false);
    assert_eq!(r.status, 200, "own lock: {}", r.dump());
    assert_eq!(r.json()["lock"]["owner"]["name"], "bob");
    assert_lfs_error(&unlock("bob", "999999", true), 404, "missing lock");
    let r = s.api(Auth::Anonymous, &locks_url, None, MEDIA);
    assert_eq!(
        r.json()["locks"].as_array().unwrap().len(),
        5,
        "{}",
        r.dump()
    );
}
lfs_matrix!(api_locks);

/// A database busy beyond HUBCTL_DB_TIMEOUT: the batch answers 429 with Retry-After (which
/// git-lfs honours), and a real client fetching during the lock succeeds after waiting.
fn busy_database(mode: Mode) {
    let s = Lfs::start_with(mode, &[("HUBCTL_DB_TIMEOUT", "1")]);
    let wt = s.worktree("work", PUB, Some("bob"));
    s.git_ok(&wt, &["lfs", "track", "*.bin"]);
    write_random(&wt.join("x.bin"), 10_000, 3);
    s.git_ok(&wt, &["add", "-A"]);
    s.git_ok(&wt, &["commit", "-qm", "x"]);
    s.git_ok(&wt, &["push", "origin", "main"]);
    let oid = sha256_file(&wt.join("x.bin"));
    let c = s.clone_ok(&s.url(PUB), "clone", None, &[("GIT_LFS_SKIP_SMUDGE", "1")]);

    // A running `hubctl serve` keeps the WAL database open, and SQLite then refuses another
    // process an EXCLUSIVE locking mode: start it again, untouched, on the same address.
    let mut s = s;
    if let Some(old) = s.server.take() {
        let listen = old.base.trim_start_matches("http://").to_string();
        drop(old);
        s.server = Some(Server::start_full(
            &s.env,
            &listen,
            &[],
            &[("HUBCTL_DB_TIMEOUT", "1")],
        ));
    }
    let db = s.env.root.join("hubctl.db");
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3,time\nc=sqlite3.connect({:?},isolation_level=None,timeout=60)\nc.execute('PRAGMA locking_mode=EXCLUSIVE')\nc.execute('BEGIN EXCLUSIVE')\nc.execute('INSERT INTO owners(name,kind,is_admin,created_at) VALUES(\"held\",\"user\",0,\"x\")')\nprint('locked',flush=True)\ntime.sleep(4)\nc.execute('ROLLBACK')\n",
            db.display().to_string()
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let r = s.batch(Auth::Anonymous, PUB, "download", &[(oid.clone(), 10_000)]);
    let fetch = s
        .git_cmd(&c)
        .args(["lfs", "fetch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_lfs_error(&r, 429, "batch while the database is locked");
    let after: u64 = r
        .header("Retry-After")
        .unwrap_or_else(|| panic!("429 without Retry-After:\n{}", r.dump()))
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not seconds:\n{}", r.dump()));
    assert!((1..=60).contains(&after), "{}", r.dump());
    holder.wait().unwrap();
    let out = fetch.wait_with_output().unwrap();
    s.check(&out, "git lfs fetch while the database was locked");
    let local = c
        .join(".git/lfs/objects")
        .join(&oid[0..2])
        .join(&oid[2..4])
        .join(&oid);
    assert_eq!(sha256_file(&local), oid);
}
lfs_matrix!(busy_database);

// ---------------------------------------------------------------------------------------------
// 8. Concurrent uploads of one object

/// Two `git lfs push --all` of overlapping objects at once, and four simultaneous PUTs of one
/// object: every object stored once, intact, nothing left in lfs/tmp.
fn concurrent_uploads(mode: Mode) {
    let s = Lfs::start(mode);
    let shared = s.env.path("shared.bin");
    write_random(&shared, 4 << 20, 88);
    let mut children = Vec::new();
    let mut worktrees = Vec::new();
    for (i, who) in ["bob", "alice"].iter().enumerate() {
        let wt = s.worktree(&format!("w-{who}"), PUB, Some(who));
        s.git_ok(&wt, &["lfs", "track", "*.bin"]);
        std::fs::copy(&shared, wt.join("same.bin")).unwrap();
        write_random(&wt.join(format!("own-{who}.bin")), 1 << 20, 90 + i as u64);
        s.git_ok(&wt, &["add", "-A"]);
        s.git_ok(&wt, &["commit", "-qm", "same object"]);
        worktrees.push(wt);
    }
    for wt in &worktrees {
        children.push(
            s.git_cmd(wt)
                .args(["lfs", "push", "--all", "origin"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        s.check(&out, "concurrent git lfs push --all");
    }
    s.assert_stored(PUB, &shared);
    for (wt, who) in worktrees.iter().zip(["bob", "alice"]) {
        s.assert_stored(PUB, &wt.join(format!("own-{who}.bin")));
    }
    assert_eq!(
        s.stored_objects(PUB).len(),
        3,
        "{:?}",
        s.stored_objects(PUB)
    );
    assert!(
        eventually(Duration::from_secs(10), || s.tmp_files(PUB).is_empty()),
        "{:?}",
        s.tmp_files(PUB)
    );

    // Four PUTs of one object at the same time.
    let mut data = vec![0u8; 3 << 20];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i * 31 % 253) as u8;
    }
    let oid = sha256_hex(&data);
    let r = s.batch(
        Auth::Basic("bob"),
        PUB,
        "upload",
        &[(oid.clone(), data.len() as i64)],
    );
    let (href, headers) = action(&r.json()["objects"][0], "upload").expect("upload action");
    let file = s.data_file(&data);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| s.put(&href, &headers, &file, &[]).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; 4], "{}", s.logs());
    assert_eq!(sha256_file(&s.object_path(PUB, &oid)), oid);
    assert_eq!(s.stored_objects(PUB).len(), 4);
    assert!(
        eventually(Duration::from_secs(10), || s.tmp_files(PUB).is_empty()),
        "{:?}",
        s.tmp_files(PUB)
    );
}
lfs_matrix!(concurrent_uploads);

/// A repository's LFS limits in the batch answer and on PUT: an object over
/// `max-lfs-object-size` gets a per-object 413 (the others in the batch are answered as
/// usual), an upload past `lfs-quota` a whole-request 507, and a PUT that skipped the batch
/// is held to both.
fn api_limits(mode: Mode) {
    let s = Lfs::start(mode);
    s.env
        .hubctl_ok(&["repo", "set", PUB, "max-lfs-object-size", "1KB"]);
    let small = sha256_hex(b"small\n");
    let big = sha256_hex(&[7u8; 4096]);
    let r = s.batch(
        Auth::Basic("bob"),
        PUB,
        "upload",
        &[(small.clone(), 6), (big.clone(), 4096)],
    );
    assert_eq!(r.status, 200, "{}", r.dump());
    let v = r.json();
    let objs = v["objects"].as_array().unwrap();
    let of = |oid: &str| objs.iter().find(|o| o["oid"] == oid).unwrap().clone();
    assert_eq!(of(&big)["error"]["code"], 413, "{v}");
    assert!(of(&small)["actions"]["upload"]["href"].is_string(), "{v}");
    // A PUT with ordinary credentials, no batch: refused before any byte is stored.
    let data = s.data_file(&[7u8; 4096]);
    let token = s.token("bob").to_string();
    let r = s.put(
        &format!("{}/objects/{big}", s.lfs_url(PUB)),
        &[("Authorization".into(), format!("Bearer {token}"))],
        &data,
        &[],
    );
    assert_lfs_error(&r, 413, "PUT over max-lfs-object-size");

    s.env
        .hubctl_ok(&["repo", "set", PUB, "max-lfs-object-size", "off"]);
    s.env.hubctl_ok(&["repo", "set", PUB, "lfs-quota", "5KB"]);
    s.upload(PUB, "bob", &[1u8; 4096]);
    let r = s.batch(Auth::Basic("bob"), PUB, "upload", &[(big.clone(), 4096)]);
    assert_lfs_error(&r, 507, "upload past the quota");
    let r = s.put(
        &format!("{}/objects/{big}", s.lfs_url(PUB)),
        &[("Authorization".into(), format!("Bearer {token}"))],
        &data,
        &[],
    );
    assert_lfs_error(&r, 507, "PUT past the quota");
    // Downloads are not limited by the quota.
    let r = s.batch(Auth::Anonymous, PUB, "download", &[(big, 4096)]);
    assert_eq!(r.status, 200, "{}", r.dump());
}
lfs_matrix!(api_limits);

/// git-http-backend mode (`GIT_PROJECT_ROOT`): LFS with git-http-backend's rule. Downloads
/// work where the repository is exported; uploads are refused without an authenticated
/// `REMOTE_USER` unless the repository sets `http.receivepack=true`, and then the real client
/// pushes and clones its objects.
#[test]
fn project_root_mode() {
    use crate::harness::{Site, Transport};
    let site = Site::start(Transport::CgiProjectRoot, 2);
    let name = "team/media";
    let bare = site.create_empty(name, "main");
    let env = &site.env;
    let git = |cwd: &Path, args: &[&str]| {
        let mut c = env.git_cmd(cwd);
        c.env_remove("XDG_RUNTIME_DIR");
        let out = c.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            site.server_logs()
        );
        String::from_utf8(out.stdout).unwrap()
    };
    git(env.dir.path(), &["lfs", "install", "--skip-repo"]);
    let wt = env.path("work");
    std::fs::create_dir_all(&wt).unwrap();
    git(&wt, &["init", "-q", "-b", "main"]);
    git(&wt, &["lfs", "track", "*.bin"]);
    write_urandom(&wt.join("a.bin"), 300_000);
    git(&wt, &["add", "-A"]);
    git(&wt, &["commit", "-qm", "lfs"]);
    let url = site.url(name);

    // Anonymous upload without http.receivepack: refused like git-http-backend's push.
    let oid = sha256_file(&wt.join("a.bin"));
    let body = batch_body("upload", &[(oid.clone(), 300_000)]);
    let (status, text) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Accept: {MEDIA}"),
        "-H",
        &format!("Content-Type: {MEDIA}"),
        "--data-binary",
        &body.to_string(),
        &format!("{url}/info/lfs/objects/batch"),
    ]);
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("receive-pack"), "{text}");

    // With http.receivepack=true the real client pushes objects and refs.
    git(&bare, &["config", "http.receivepack", "true"]);
    git(&wt, &["push", "-q", &url, "main"]);
    let stored = bare
        .join("lfs/objects")
        .join(&oid[..2])
        .join(&oid[2..4])
        .join(&oid);
    assert_eq!(sha256_file(&stored), oid);
    // The token secret lives in the project root, not in a hubctl root.
    let secret = site.project.join(".hubctl/secret");
    assert!(secret.is_file(), "{} missing", secret.display());

    // Anonymous clone downloads the object; an unexported repository is not found.
    let clone = env.path("clone");
    git(
        env.dir.path(),
        &["clone", "-q", &url, clone.to_str().unwrap()],
    );
    assert_same_file(&wt.join("a.bin"), &clone.join("a.bin"));
    std::fs::remove_file(bare.join("git-daemon-export-ok")).unwrap();
    let (status, text) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Accept: {MEDIA}"),
        "--data-binary",
        &batch_body("download", &[(oid, 300_000)]).to_string(),
        &format!("{url}/info/lfs/objects/batch"),
    ]);
    assert_eq!(status, 404, "{text}");
}
