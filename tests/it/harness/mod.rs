//! Test harness: real git, nginx, fcgiwrap and sshd started per test on 127.0.0.1 with
//! ephemeral ports and a private temporary root, stopped on drop (also when a test fails).
//!
//! This file has what every setup shares: [`Env`] (a hubctl root, a HOME for git, scratch
//! space) with its git and hubctl helpers, installing executables safely, processes and ports,
//! curl, [`eventually`]. The servers live beside it, and everything is re-exported here, so a
//! test file needs only `use crate::harness::*;`:
//!
//! - [`server`]: `hubctl serve` ([`Server`]);
//! - [`embed`]: `examples/embed.rs`, hubctl mounted in an application ([`Embedded`]);
//! - [`nginx`]: nginx + fcgiwrap + `hubctl cgi` ([`Nginx`], [`NginxOptions`]);
//! - [`apache`]: Apache httpd running a CGI program as www-data ([`Apache`], [`ApacheOptions`]);
//! - [`moto`]: moto's S3 server with a bucket, its request log, boto3 ([`Moto`]);
//! - [`sshd`]: a real OpenSSH server with the shipped snippets ([`Sshd`], [`ClientKey`]);
//! - [`sites`]: one scenario, every transport ([`Site`], [`Transport`], `matrix!`).

#![allow(dead_code)]

pub mod apache;
pub mod embed;
pub mod moto;
pub mod nginx;
pub mod s3rver;
pub mod server;
pub mod sites;
pub mod sshd;

pub use apache::*;
pub use embed::*;
pub use moto::*;
pub use nginx::*;
pub use s3rver::*;
pub use server::*;
pub use sites::*;
pub use sshd::*;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The hubctl binary cargo built for these tests.
pub fn hubctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hubctl"))
}

/// The repository's own `scripts/` directory.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// True when running as root (needed for sshd and nginx's `user` directive).
pub fn is_root() -> bool {
    // SAFETY: plain syscall without arguments.
    unsafe { libc::geteuid() == 0 }
}

/// A private playground: a hubctl root, a HOME for git, and scratch space.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("hubctl-test-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().join("root");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        // Own config for every git the tests run: nothing from the machine leaks in.
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n[protocol \"file\"]\n\tallow = always\n",
        )
        .unwrap();
        Env { dir, root, home }
    }

    /// A path inside the scratch space.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A hubctl command bound to this root.
    pub fn hubctl_cmd(&self) -> Command {
        let mut c = Command::new(hubctl_bin());
        c.arg("--root").arg(&self.root);
        self.clean_env(&mut c);
        c
    }

    /// Run hubctl; return its output whatever the exit status.
    pub fn hubctl(&self, args: &[&str]) -> Output {
        self.hubctl_cmd()
            .args(args)
            .output()
            .expect("running hubctl")
    }

    /// Run hubctl and insist on success; returns stdout.
    pub fn hubctl_ok(&self, args: &[&str]) -> String {
        let out = self.hubctl(args);
        assert!(
            out.status.success(),
            "hubctl {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Remove variables that would let the machine's own git setup influence a test.
    pub fn clean_env(&self, c: &mut Command) {
        for (k, _) in std::env::vars_os() {
            if let Some(k) = k.to_str() {
                if k.starts_with("GIT_") || k.starts_with("HUBCTL_") {
                    c.env_remove(k);
                }
            }
        }
        c.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            // A transfer that stalls for a minute fails the test instead of hanging the suite.
            .env("GIT_HTTP_LOW_SPEED_LIMIT", "1")
            .env("GIT_HTTP_LOW_SPEED_TIME", "60")
            .env("LC_ALL", "C");
    }

    /// A git command with this environment's HOME and no terminal prompts.
    pub fn git_cmd(&self, cwd: &Path) -> Command {
        let mut c = Command::new("git");
        c.current_dir(cwd);
        self.clean_env(&mut c);
        c
    }

    /// Run git; return its output whatever the exit status.
    pub fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        self.git_cmd(cwd).args(args).output().expect("running git")
    }

    /// Run git and insist on success; returns stdout.
    pub fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(cwd, args);
        assert!(
            out.status.success(),
            "git {args:?} in {} failed: {}\nstdout: {}\nstderr: {}",
            cwd.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Create a working repository `name` with the standard fixture history: `main` with
    /// three commits, `dev` and `feature/x` branches, an annotated tag `v1.0` and a
    /// lightweight tag `light`.
    pub fn fixture_worktree(&self, name: &str) -> PathBuf {
        let wt = self.path(name);
        std::fs::create_dir_all(&wt).unwrap();
        self.git_ok(&wt, &["init", "-q", "-b", "main"]);
        for i in 1..=3 {
            std::fs::write(wt.join(format!("file{i}.txt")), format!("content {i}\n")).unwrap();
            std::fs::create_dir_all(wt.join("dir/sub")).unwrap();
            std::fs::write(wt.join("dir/sub/nested.txt"), format!("nested {i}\n")).unwrap();
            self.git_ok(&wt, &["add", "-A"]);
            self.commit(&wt, &format!("commit {i}"), 1_600_000_000 + i * 86_400);
        }
        self.git_ok(&wt, &["tag", "-a", "v1.0", "-m", "release 1.0"]);
        self.git_ok(&wt, &["tag", "light", "HEAD~1"]);
        self.git_ok(&wt, &["branch", "dev", "HEAD~1"]);
        self.git_ok(&wt, &["checkout", "-q", "-b", "feature/x"]);
        std::fs::write(wt.join("feature.txt"), "feature\n").unwrap();
        self.git_ok(&wt, &["add", "-A"]);
        self.commit(&wt, "feature work", 1_600_000_000 + 10 * 86_400);
        self.git_ok(&wt, &["checkout", "-q", "main"]);
        wt
    }

    /// Commit what is staged with a fixed date (deterministic ids and `--shallow-since`).
    pub fn commit(&self, wt: &Path, message: &str, epoch: u64) {
        let date = format!("@{epoch} +0000");
        let out = self
            .git_cmd(wt)
            .args(["commit", "-q", "--allow-empty", "-m", message])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "commit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Add a new commit to `wt` touching `file`.
    pub fn add_commit(&self, wt: &Path, file: &str, content: &str, message: &str) {
        let path = wt.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, content).unwrap();
        self.git_ok(wt, &["add", "-A"]);
        self.git_ok(wt, &["commit", "-q", "-m", message]);
    }

    /// Make sure the user or organisation owning namespace `ns` exists (as a user).
    pub fn ensure_owner(&self, ns: &str) {
        let out = self.hubctl(&["user", "add", ns]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("already taken"),
            "user add {ns}: {err}"
        );
    }

    /// Create user `name` and a token for them; returns the token.
    pub fn user_with_token(&self, name: &str, extra: &[&str]) -> String {
        self.ensure_owner(name);
        let mut args = vec!["token", "create", "--user", name];
        args.extend(extra);
        self.hubctl_ok(&args).trim().to_string()
    }

    /// `hubctl repo init` + push the fixture into it directly (file transport, no hubctl
    /// involved), so fetch tests start from known content.
    pub fn hosted_fixture(&self, name: &str, default_branch: &str) -> PathBuf {
        self.ensure_owner(name.split('/').next().unwrap());
        self.hubctl_ok(&["repo", "init", name, "--default-branch", default_branch]);
        let wt = self.fixture_worktree(&format!("src-{}", name.replace('/', "-")));
        if default_branch != "main" {
            self.git_ok(&wt, &["branch", "-f", default_branch, "main"]);
        }
        let bare = self.root.join("repos").join(format!("{name}.git"));
        self.git_ok(
            &wt,
            &[
                "push",
                "-q",
                bare.to_str().unwrap(),
                "--all",
                "--follow-tags",
            ],
        );
        self.git_ok(&wt, &["push", "-q", bare.to_str().unwrap(), "--tags"]);
        wt
    }

    /// The bare repository directory of a hosted repository.
    pub fn bare(&self, name: &str) -> PathBuf {
        self.root.join("repos").join(format!("{name}.git"))
    }

    /// Start `hubctl serve` on an ephemeral port.
    pub fn serve(&self, extra: &[&str]) -> Server {
        Server::start(self, extra)
    }
}

/// Write an executable script (hooks, askpass helpers, stand-in programs) through
/// [`install_executable`], so that running it can never fail with ETXTBSY.
pub fn write_script(path: &Path, body: &str) {
    install_executable(path, body.as_bytes());
}

/// Install an executable file at `path` with `contents`, safe against ETXTBSY.
///
/// The test binary runs many threads that fork all the time. A file written from this process
/// has a write descriptor that a concurrently forked child inherits until it reaches `exec`,
/// and while any process holds such a descriptor the kernel refuses to execute the file ("Text
/// file busy"). So the bytes are written by a short-lived child process (`cat`), which no
/// thread of ours can fork; this process only fsyncs (read-only descriptor), chmods and renames
/// the temporary name into place.
pub fn install_executable(path: &Path, contents: &[u8]) {
    use std::io::Write;
    let tmp = staging_name(path);
    let mut child = Command::new("sh")
        .args(["-c", "cat > \"$1\"", "sh"])
        .arg(&tmp)
        .stdin(Stdio::piped())
        .spawn()
        .expect("starting sh to write an executable");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(contents)
        .expect("writing an executable");
    let status = child.wait().unwrap();
    assert!(status.success(), "writing {} failed", tmp.display());
    finish_install(&tmp, path);
}

/// Copy the executable `src` to `dest` (a binary copy, say), safe against ETXTBSY the same way
/// as [`install_executable`]: `cp` writes, a temporary name is renamed into place.
pub fn install_copy(src: &Path, dest: &Path) {
    let tmp = staging_name(dest);
    let status = Command::new("cp")
        .arg("--")
        .arg(src)
        .arg(&tmp)
        .status()
        .expect("running cp");
    assert!(
        status.success(),
        "copying {} to {}",
        src.display(),
        tmp.display()
    );
    finish_install(&tmp, dest);
}

/// A temporary name beside `path`, unique across threads and processes.
fn staging_name(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().expect("an executable's path has a parent");
    std::fs::create_dir_all(dir).unwrap();
    dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn finish_install(tmp: &Path, dest: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // A read-only descriptor: fsync works on it and it does not count as a writer.
    std::fs::File::open(tmp).unwrap().sync_all().unwrap();
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(tmp, dest).unwrap();
}

/// `cmd.spawn()`, retried on ETXTBSY for up to about 2 s. The install helpers above keep our
/// own writers away from executables; this covers a file written by something else (a program
/// under test, say) that a forked child of another thread may still hold open for a moment.
pub fn spawn_retrying(cmd: &mut Command) -> std::io::Result<Child> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut pause = Duration::from_millis(5);
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// `cmd.output()` with the same ETXTBSY retry as [`spawn_retrying`].
pub fn output_retrying(cmd: &mut Command) -> std::io::Result<Output> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    spawn_retrying(cmd)?.wait_with_output()
}

/// `git ls-remote` of a local bare repository, as sorted lines.
pub fn refs_of(env: &Env, bare: &Path) -> Vec<String> {
    let out = env.git_ok(Path::new("/"), &["ls-remote", bare.to_str().unwrap()]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Captured stderr lines of a background process.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.lines().iter().any(|l| l.contains(needle))
    }

    fn drain(&self, reader: impl Read + Send + 'static) {
        let log = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                match line {
                    Ok(l) => log.0.lock().unwrap().push(l),
                    Err(_) => break,
                }
            }
        });
    }
}

/// Wait for a child up to `limit`.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A free TCP port on 127.0.0.1 (for servers that cannot report an ephemeral one).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something accepts connections on `port`.
pub fn wait_for_port(port: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Run curl; returns (status code, headers+body text).
pub fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .lines()
        .rfind(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// A child process that leads its own process group (spawn it with `process_group(0)`);
/// dropping the guard kills the whole group (fcgiwrap's workers too) and reaps the leader.
pub struct ChildGuard(pub Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            unsafe {
                libc::kill(-(c.id() as i32), libc::SIGKILL);
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Processes whose command line contains `needle` (for "no stray git process" checks).
pub fn processes_matching(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(format!("{pid}: {cmd}"));
            }
        }
    }
    found
}

/// Poll until `f` holds or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Remove what the SSH login account's shell startup printed from a client's stderr.
///
/// sshd runs every forced command through the account's login shell, and Debian's bash reads
/// `~/.bashrc` for commands that come over SSH. On the machines these tests run on, root's
/// `~/.bashrc` runs `pyenv init`, whose rehash prints `pyenv: cannot rehash: ...` (and an `rm`
/// complaint about its lock file) when two sessions start at once. Those lines are the
/// account's, not hubctl's; tests that count hubctl's lines must not see them.
pub fn without_login_shell_noise(stderr: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(stderr);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let noise = line.starts_with("pyenv: ")
            || (line.starts_with("rm: cannot remove '") && line.contains("/.pyenv/"));
        if !noise {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

/// Wait until `child`, a server the test started on 127.0.0.1:`port`, listens. `Err` (its
/// stderr and `error_log`) when it exits first, so that the caller can retry on another port;
/// a panic, with the server killed, when it neither listens nor exits within `timeout`.
pub fn wait_listening(
    name: &str,
    child: &mut Child,
    port: u16,
    error_log: &Path,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                e.read_to_string(&mut err).ok();
            }
            return Err(format!(
                "{err}{}",
                std::fs::read_to_string(error_log).unwrap_or_default()
            ));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name} did not start listening: {}",
                std::fs::read_to_string(error_log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `program` as another account (www-data) can run it. hubctl's own binary lives in the build's
/// target directory, which may sit below a directory only its owner can enter (a checkout in a
/// `mktemp -d` directory), so it is copied into `dir`, which the caller has opened up.
pub fn runnable_by_others(program: &Path, dir: &Path) -> PathBuf {
    if program != hubctl_bin() {
        return program.to_path_buf();
    }
    let dest = dir.join("hubctl");
    if !dest.exists() {
        install_copy(program, &dest);
    }
    dest
}
