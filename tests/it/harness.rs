//! Test harness: real git, nginx, fcgiwrap (and later sshd) started per test on 127.0.0.1 with
//! ephemeral ports and a private temporary root, stopped on drop (also when a test fails).

#![allow(dead_code)]

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

/// A running `hubctl serve`.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub log: Log,
}

impl Server {
    fn start(env: &Env, extra: &[&str]) -> Server {
        Server::start_on(env, "127.0.0.1:0", extra)
    }

    /// Start on a given address (to restart a killed server where its clients expect it).
    pub fn start_on(env: &Env, listen: &str, extra: &[&str]) -> Server {
        Server::start_full(env, listen, extra, &[])
    }

    /// Start with extra environment variables.
    pub fn start_full(env: &Env, listen: &str, extra: &[&str], vars: &[(&str, &str)]) -> Server {
        Server::start_program(env, &hubctl_bin(), listen, extra, vars)
    }

    /// Start from a given hubctl binary (e.g. a copy that the test then replaces).
    pub fn start_program(
        env: &Env,
        program: &Path,
        listen: &str,
        extra: &[&str],
        vars: &[(&str, &str)],
    ) -> Server {
        let mut cmd = Command::new(program);
        cmd.arg("--root").arg(&env.root);
        env.clean_env(&mut cmd);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.args(["serve", "--listen", listen])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = spawn_retrying(&mut cmd).expect("starting hubctl serve");
        let stderr = child.stderr.take().unwrap();
        let mut reader = BufReader::new(stderr);
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let base = first
            .trim()
            .strip_prefix("hubctl: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from hubctl serve: {first:?}"))
            .to_string();
        let log = Log::default();
        log.drain(reader);
        Server {
            child: Some(child),
            base,
            log,
        }
    }

    /// URL of a hosted repository.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.base)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Stop with SIGTERM and wait (graceful shutdown).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        wait_timeout(&mut child, Duration::from_secs(20)).expect("hubctl serve did not stop")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
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

/// Which nginx location snippet from scripts/nginx a CGI setup uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Snippet {
    /// scripts/nginx/hubctl.conf: hubctl does everything.
    Plain,
    /// scripts/nginx/hubctl-push-auth.conf: nginx Basic auth for pushes.
    PushAuth,
}

/// How the CGI finds repositories.
#[derive(Clone, Debug)]
pub enum CgiSite {
    /// hubctl's own root.
    Root,
    /// git-http-backend mode: GIT_PROJECT_ROOT (and whether GIT_HTTP_EXPORT_ALL is set).
    ProjectRoot { dir: PathBuf, export_all: bool },
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

/// nginx + fcgiwrap running `hubctl cgi` (or any other CGI program) with the shipped config.
pub struct Nginx {
    nginx: Option<Child>,
    fcgiwrap: ChildGuard,
    pub base: String,
    pub dir: PathBuf,
    fcgi_cmd: Vec<(String, String)>,
    workers: u32,
    home: PathBuf,
}

/// Options for [`Nginx::start`].
pub struct NginxOptions {
    pub snippet: Snippet,
    pub site: CgiSite,
    /// The CGI program (default: hubctl).
    pub program: PathBuf,
    /// Lines `user:password` for the htpasswd file (PushAuth).
    pub users: Vec<(String, String)>,
    /// Extra environment for fcgiwrap (passed on to the CGI).
    pub env: Vec<(String, String)>,
    /// fcgiwrap worker processes.
    pub workers: u32,
}

impl Default for NginxOptions {
    fn default() -> Self {
        NginxOptions {
            snippet: Snippet::Plain,
            site: CgiSite::Root,
            program: hubctl_bin(),
            users: Vec::new(),
            env: Vec::new(),
            workers: 8,
        }
    }
}

impl Nginx {
    pub fn start(env: &Env, opts: NginxOptions) -> Nginx {
        let dir = tempfile::Builder::new()
            .prefix("nginx-")
            .tempdir_in(env.dir.path())
            .unwrap()
            .keep();
        for sub in ["tmp", "logs"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for f in [
            "hubctl.conf",
            "hubctl-push-auth.conf",
            "hubctl-fastcgi.conf",
        ] {
            std::fs::copy(scripts_dir().join("nginx").join(f), dir.join(f)).unwrap();
        }
        let sock = dir.join("fcgi.sock");
        let fcgiwrap = spawn_fcgiwrap(&dir, opts.workers, &env.home, &opts.env);
        let htpasswd = dir.join("htpasswd");
        let mut lines = String::new();
        for (user, pass) in &opts.users {
            let out = Command::new("openssl")
                .args(["passwd", "-apr1", pass])
                .output()
                .expect("openssl passwd");
            lines.push_str(&format!(
                "{user}:{}\n",
                String::from_utf8_lossy(&out.stdout).trim()
            ));
        }
        std::fs::write(&htpasswd, lines).unwrap();
        let (project_root, export_all) = match &opts.site {
            CgiSite::Root => (String::new(), String::new()),
            CgiSite::ProjectRoot { dir, export_all } => (
                dir.display().to_string(),
                if *export_all {
                    "1".into()
                } else {
                    String::new()
                },
            ),
        };
        let snippet = match opts.snippet {
            Snippet::Plain => "hubctl.conf",
            Snippet::PushAuth => "hubctl-push-auth.conf",
        };
        let user = if is_root() { "user root;\n" } else { "" };
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let conf = format!(
                "{user}worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log info;\ndaemon off;\nevents {{ worker_connections 512; }}\nhttp {{\n  access_log {d}/logs/access.log;\n  client_body_temp_path {d}/tmp/body;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  proxy_temp_path {d}/tmp/proxy;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  server {{\n    listen 127.0.0.1:{port};\n    set $hubctl_bin {bin};\n    set $hubctl_root {root};\n    set $hubctl_fcgi unix:{sock};\n    set $hubctl_project_root \"{project_root}\";\n    set $hubctl_export_all \"{export_all}\";\n    set $hubctl_htpasswd {htpasswd};\n    include {d}/{snippet};\n  }}\n}}\n",
                d = dir.display(),
                bin = opts.program.display(),
                root = env.root.display(),
                sock = sock.display(),
                htpasswd = htpasswd.display(),
            );
            std::fs::write(dir.join("nginx.conf"), conf).unwrap();
            let mut child = spawn_nginx(&dir);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    let mut err = String::new();
                    child.stderr.take().unwrap().read_to_string(&mut err).ok();
                    last_err = format!(
                        "{err}{}",
                        std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default()
                    );
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nginx {
                        nginx: Some(child),
                        fcgiwrap,
                        base: format!("http://127.0.0.1:{port}"),
                        dir,
                        fcgi_cmd: opts.env.clone(),
                        workers: opts.workers,
                        home: env.home.clone(),
                    };
                }
                assert!(Instant::now() < deadline, "nginx did not start listening");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("nginx failed to start: {last_err}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Process ids of the nginx master and fcgiwrap.
    pub fn pids(&self) -> Vec<i32> {
        let mut v = Vec::new();
        if let Some(n) = &self.nginx {
            v.push(n.id() as i32);
        }
        if let Some(f) = &self.fcgiwrap.0 {
            v.push(f.id() as i32);
        }
        v
    }

    /// Start nginx and fcgiwrap again with the same configuration and port (after a crash).
    pub fn restart(&mut self) {
        if let Some(mut n) = self.nginx.take() {
            let _ = n.kill();
            let _ = n.wait();
        }
        drop(std::mem::replace(&mut self.fcgiwrap, ChildGuard(None)));
        let _ = std::fs::remove_file(self.dir.join("fcgi.sock"));
        let _ = std::fs::remove_file(self.dir.join("nginx.pid"));
        self.fcgiwrap = spawn_fcgiwrap(&self.dir, self.workers, &self.home, &self.fcgi_cmd);
        self.nginx = Some(spawn_nginx(&self.dir));
        let port: u16 = self.base.rsplit(':').next().unwrap().parse().unwrap();
        assert!(
            wait_for_port(port, Duration::from_secs(10)),
            "nginx did not come back"
        );
    }

    /// nginx's and fcgiwrap's logs (for failure messages).
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for f in ["logs/error.log", "logs/fcgiwrap.log"] {
            s.push_str(&std::fs::read_to_string(self.dir.join(f)).unwrap_or_default());
        }
        s
    }
}

fn spawn_fcgiwrap(dir: &Path, workers: u32, home: &Path, env: &[(String, String)]) -> ChildGuard {
    let sock = dir.join("fcgi.sock");
    let mut fcgi = Command::new("fcgiwrap");
    // Its own process group: fcgiwrap forks workers that outlive a killed master otherwise.
    std::os::unix::process::CommandExt::process_group(&mut fcgi, 0);
    fcgi.arg("-c")
        .arg(workers.to_string())
        .arg("-s")
        .arg(format!("unix:{}", sock.display()))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("logs/fcgiwrap.log"))
                .unwrap(),
        ));
    for (k, v) in env {
        fcgi.env(k, v);
    }
    let guard = ChildGuard(Some(
        fcgi.spawn()
            .expect("starting fcgiwrap (apt-get install fcgiwrap)"),
    ));
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "fcgiwrap socket did not appear"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    guard
}

fn spawn_nginx(dir: &Path) -> Child {
    Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("logs/error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting nginx (apt-get install nginx)")
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut n) = self.nginx.take() {
            // SIGQUIT would wait for slow clients; tests want it gone.
            unsafe {
                libc::kill(n.id() as i32, libc::SIGTERM);
            }
            if wait_timeout(&mut n, Duration::from_secs(5)).is_none() {
                let _ = n.kill();
                let _ = n.wait();
            }
        }
    }
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
