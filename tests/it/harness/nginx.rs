//! nginx + fcgiwrap running `hubctl cgi` (or another CGI program) with the shipped location
//! snippets from `scripts/nginx/`, on an ephemeral port with a private prefix directory.
//!
//! The prefix is laid out like Debian's `/etc/nginx` and filled the way the README's "Behind
//! nginx + fcgiwrap" section tells a user to: the snippets copied into `snippets/`, the
//! README's own server block (with its `set` values filled in) in `sites-available/hubctl`,
//! linked from `sites-enabled/`, and an `nginx.conf` that includes `sites-enabled/*`. nginx runs
//! with `-p`/`-c` on that tree, so relative `include`s resolve exactly as in `/etc/nginx`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

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

/// nginx + fcgiwrap running `hubctl cgi` (or any other CGI program) with the shipped config.
pub struct Nginx {
    nginx: Option<Child>,
    fcgiwrap: ChildGuard,
    pub base: String,
    pub dir: PathBuf,
    fcgi_cmd: Vec<(String, String)>,
    workers: u32,
    home: PathBuf,
    fcgi_user: Option<String>,
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
    /// Run fcgiwrap (and so hubctl) as this account, as Debian runs it as `www-data`
    /// (the test's directories are opened up for it).
    pub fcgi_user: Option<String>,
    /// `$hubctl_root` other than the environment's root.
    pub root: Option<PathBuf>,
    /// Extra `fastcgi_param NAME VALUE;` lines after the shipped ones (nginx variables allowed),
    /// for setups the shipped snippet does not cover (an Apache-style PATH_TRANSLATED).
    pub extra_params: Vec<(String, String)>,
    /// Pass the environment's root as HUBCTL_ROOT (the shipped setup); off leaves it empty.
    pub pass_root: bool,
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
            fcgi_user: None,
            root: None,
            extra_params: Vec::new(),
            pass_root: true,
        }
    }
}

/// The server block of the README's "Behind nginx + fcgiwrap" section, verbatim.
pub fn readme_server_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Behind nginx + fcgiwrap")
        .expect("README: no nginx section")..];
    let block = &section[section.find("```nginx\n").expect("README: no nginx block") + 9..];
    block[..block.find("```").unwrap()].to_string()
}

/// The README's lines that switch the server block to hubctl-push-auth.conf (they replace the
/// block's `include` line).
pub fn readme_push_auth_lines() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("The variant `hubctl-push-auth.conf`").unwrap()..];
    let block = &section[section.find("```nginx\n").unwrap() + 9..];
    block[..block.find("```").unwrap()].to_string()
}

/// Fill in the README's server block: `listen` on 127.0.0.1:`port`, each `set $name value;`
/// from `values` (every one must be present), the push-auth lines in place of the `include`
/// where asked. Panics when the README no longer has what a user would edit.
pub fn render_server_block(port: u16, values: &[(&str, String)], push_auth: bool) -> String {
    let mut out = String::new();
    let mut seen = Vec::new();
    for line in readme_server_block().lines() {
        let t = line.trim();
        if t.starts_with("listen ") {
            out.push_str(&format!("    listen 127.0.0.1:{port};\n"));
        } else if let Some(rest) = t.strip_prefix("set $") {
            let name = rest.split_whitespace().next().unwrap();
            let value = values
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("README sets ${name}, the test has no value"));
            seen.push(name.to_string());
            out.push_str(&format!("    set ${name} \"{}\";\n", value.1));
        } else if t.starts_with("include ") && push_auth {
            for l in readme_push_auth_lines().lines() {
                let lt = l.trim();
                if let Some(rest) = lt.strip_prefix("set $hubctl_htpasswd ") {
                    assert!(rest.ends_with(';'));
                    let value = &values
                        .iter()
                        .find(|(n, _)| *n == "hubctl_htpasswd")
                        .unwrap()
                        .1;
                    out.push_str(&format!("    set $hubctl_htpasswd \"{value}\";\n"));
                } else {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    for (name, _) in values {
        assert!(
            *name == "hubctl_htpasswd" || seen.iter().any(|s| s == name),
            "the README's server block no longer sets ${name}"
        );
    }
    out
}

/// Lay out `dir` like Debian's /etc/nginx as the README says: `snippets/` with the shipped
/// files, `sites-available/hubctl` (linked from `sites-enabled/`) with `server_block`, and an
/// `nginx.conf` (test-specific: pid, logs, temp paths, port) that includes `sites-enabled/*`.
pub fn write_layout(dir: &Path, server_block: &str) {
    for sub in [
        "tmp",
        "logs",
        "snippets",
        "sites-available",
        "sites-enabled",
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for f in [
        "hubctl.conf",
        "hubctl-push-auth.conf",
        "hubctl-fastcgi.conf",
    ] {
        std::fs::copy(
            scripts_dir().join("nginx").join(f),
            dir.join("snippets").join(f),
        )
        .unwrap();
    }
    std::fs::write(dir.join("sites-available/hubctl"), server_block).unwrap();
    let link = dir.join("sites-enabled/hubctl");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("../sites-available/hubctl", &link).unwrap();
    let user = if is_root() { "user root;\n" } else { "" };
    let conf = format!(
        "# Written by tests/it/harness/nginx.rs in the shape of Debian's /etc/nginx/nginx.conf.\n{user}worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log info;\ndaemon off;\nevents {{ worker_connections 512; }}\nhttp {{\n  access_log {d}/logs/access.log;\n  client_body_temp_path {d}/tmp/body;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  proxy_temp_path {d}/tmp/proxy;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  include sites-enabled/*;\n}}\n",
        d = dir.display(),
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
}

/// `nginx -t` on a prefix written by [`write_layout`]: (success, nginx's output).
pub fn nginx_test_config(dir: &Path) -> (bool, String) {
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("logs/error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .output()
        .expect("running nginx -t (apt-get install nginx)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

impl Nginx {
    pub fn start(env: &Env, opts: NginxOptions) -> Nginx {
        let dir = tempfile::Builder::new()
            .prefix("nginx-")
            .tempdir_in(env.dir.path())
            .unwrap()
            .keep();
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        if opts.fcgi_user.is_some() {
            // The other account creates its socket here and reads git's HOME.
            use std::os::unix::fs::PermissionsExt;
            for d in [env.dir.path(), env.home.as_path(), dir.as_path()] {
                let mode = if d == dir.as_path() { 0o777 } else { 0o755 };
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
        let program = match opts.fcgi_user {
            Some(_) => runnable_by_others(&opts.program, env.dir.path()),
            None => opts.program.clone(),
        };
        let sock = dir.join("fcgi.sock");
        let fcgiwrap = spawn_fcgiwrap(
            &dir,
            opts.workers,
            &env.home,
            &opts.env,
            opts.fcgi_user.as_deref(),
        );
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
        let values = [
            ("hubctl_bin", program.display().to_string()),
            (
                "hubctl_root",
                if opts.pass_root {
                    opts.root
                        .as_ref()
                        .unwrap_or(&env.root)
                        .display()
                        .to_string()
                } else {
                    String::new()
                },
            ),
            ("hubctl_fcgi", format!("unix:{}", sock.display())),
            ("hubctl_project_root", project_root),
            ("hubctl_export_all", export_all),
            ("hubctl_htpasswd", htpasswd.display().to_string()),
        ];
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let block = render_server_block(port, &values, opts.snippet == Snippet::PushAuth);
            write_layout(&dir, &block);
            if !opts.extra_params.is_empty() {
                let path = dir.join("snippets/hubctl-fastcgi.conf");
                let mut conf = std::fs::read_to_string(&path).unwrap();
                for (name, value) in &opts.extra_params {
                    conf.push_str(&format!("fastcgi_param {name} \"{value}\";\n"));
                }
                std::fs::write(&path, conf).unwrap();
            }
            let mut child = spawn_nginx(&dir);
            let log = dir.join("logs/error.log");
            match wait_listening("nginx", &mut child, port, &log, Duration::from_secs(10)) {
                Ok(()) => {
                    return Nginx {
                        nginx: Some(child),
                        fcgiwrap,
                        base: format!("http://127.0.0.1:{port}"),
                        dir,
                        fcgi_cmd: opts.env.clone(),
                        workers: opts.workers,
                        home: env.home.clone(),
                        fcgi_user: opts.fcgi_user.clone(),
                    };
                }
                Err(e) => last_err = e,
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
        self.fcgiwrap = spawn_fcgiwrap(
            &self.dir,
            self.workers,
            &self.home,
            &self.fcgi_cmd,
            self.fcgi_user.as_deref(),
        );
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

fn spawn_fcgiwrap(
    dir: &Path,
    workers: u32,
    home: &Path,
    env: &[(String, String)],
    user: Option<&str>,
) -> ChildGuard {
    let sock = dir.join("fcgi.sock");
    let mut fcgi = match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid",
                u,
                "--regid",
                u,
                "--init-groups",
                "--",
                "fcgiwrap",
            ]);
            c
        }
        None => Command::new("fcgiwrap"),
    };
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
