//! Apache httpd running a CGI program (`git http-backend` or `hubctl`) with the README's
//! "Behind Apache" virtual host, on an ephemeral port with a private ServerRoot.
//!
//! The ServerRoot is laid out like Debian's `/etc/apache2`: the README's `<VirtualHost>` block
//! (its paths and port filled in) in `sites-available/git.conf`, linked from `sites-enabled/`,
//! and an `apache2.conf` (test-specific: modules, pid, logs, the cgid socket, the port) that
//! includes `sites-enabled/*.conf`. Apache starts as root and runs its children, and so the CGI
//! program, as `www-data`, as Debian's does; the test's directories are opened up for that
//! account the way [`super::NginxOptions::fcgi_user`] does it for fcgiwrap.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::*;

/// The account Debian's Apache runs its children (and so CGI programs) as.
pub const APACHE_USER: &str = "www-data";

/// Where Debian keeps Apache's modules.
const MODULES: &str = "/usr/lib/apache2/modules";

/// Options for [`Apache::start`].
pub struct ApacheOptions {
    /// The CGI program `ScriptAlias /git/` points at.
    pub program: PathBuf,
    /// The `DocumentRoot`: `PATH_TRANSLATED` is this followed by `PATH_INFO`.
    pub docroot: PathBuf,
    /// Extra directives inside the `<VirtualHost>`, after the README's own (e.g. `SetEnv`).
    pub extra: Vec<String>,
}

/// Apache httpd in the foreground with its own ServerRoot; stopped on drop.
pub struct Apache {
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
}

/// The `<VirtualHost>` block of the README's "Behind Apache" section, verbatim.
pub fn readme_apache_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme
        .find("### Behind Apache")
        .expect("README: no Apache section")..];
    let block = &section[section
        .find("```apache\n")
        .expect("README: no Apache block")
        + 10..];
    block[..block.find("```").unwrap()].to_string()
}

/// Fill in the README's block: the virtual host on `port`, `DocumentRoot` and the
/// `ScriptAlias` target replaced, `extra` directives before `</VirtualHost>`. Panics when the
/// README no longer has a line a user would edit.
pub fn render_apache_block(port: u16, opts: &ApacheOptions) -> String {
    let mut out = String::new();
    let (mut host, mut docroot, mut alias) = (false, false, false);
    for line in readme_apache_block().lines() {
        let t = line.trim();
        if t.starts_with("<VirtualHost ") {
            host = true;
            out.push_str(&format!("<VirtualHost 127.0.0.1:{port}>\n"));
        } else if t.starts_with("DocumentRoot ") {
            docroot = true;
            out.push_str(&format!(
                "    DocumentRoot \"{}\"\n",
                opts.docroot.display()
            ));
        } else if let Some(rest) = t.strip_prefix("ScriptAlias ") {
            alias = true;
            let url = rest.split_whitespace().next().unwrap();
            out.push_str(&format!(
                "    ScriptAlias {url} \"{}/\"\n",
                opts.program.display()
            ));
        } else if t == "</VirtualHost>" {
            for l in &opts.extra {
                out.push_str(&format!("    {l}\n"));
            }
            out.push_str(line);
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(
        host && docroot && alias,
        "the README's Apache block lost its VirtualHost, DocumentRoot or ScriptAlias line"
    );
    out
}

impl Apache {
    pub fn start(env: &Env, opts: ApacheOptions) -> Apache {
        assert!(is_root(), "Apache starts as root and switches to www-data");
        let dir = tempfile::Builder::new()
            .prefix("apache-")
            .tempdir_in(env.dir.path())
            .unwrap()
            .keep();
        {
            // www-data reaches the document root, git's HOME (and its .gitconfig) and the
            // cgid socket below these.
            use std::os::unix::fs::PermissionsExt;
            for d in [env.dir.path(), env.home.as_path(), dir.as_path()] {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let mut opts = opts;
        opts.program = runnable_by_others(&opts.program, env.dir.path());
        for sub in ["logs", "run", "sites-available", "sites-enabled"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let link = dir.join("sites-enabled/git.conf");
        std::os::unix::fs::symlink("../sites-available/git.conf", &link).unwrap();
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            std::fs::write(
                dir.join("sites-available/git.conf"),
                render_apache_block(port, &opts),
            )
            .unwrap();
            write_conf(&dir, port, env);
            let mut child = spawn_apache(&dir);
            let log = dir.join("logs/error.log");
            match wait_listening("apache2", &mut child, port, &log, Duration::from_secs(15)) {
                Ok(()) => {
                    return Apache {
                        child: Some(child),
                        base: format!("http://127.0.0.1:{port}"),
                        dir,
                    };
                }
                Err(e) => last_err = e,
            }
        }
        panic!("apache2 failed to start: {last_err}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// The real user ids of Apache's processes other than the master (its workers and the
    /// cgid daemon, which fork the CGI programs), from `/proc`.
    pub fn child_uids(&self) -> Vec<u32> {
        let Some(master) = self.child.as_ref().map(|c| c.id()) else {
            return Vec::new();
        };
        let mut uids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if pid == master {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // After "pid (comm) ": state, ppid, pgrp.
            let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
                continue;
            };
            if rest.split_whitespace().nth(2) != Some(master.to_string().as_str()) {
                continue;
            }
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            if let Some(uid) = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
            {
                uids.push(uid);
            }
        }
        uids
    }

    /// Apache's error log (the CGI programs' stderr lands there too), for failure messages.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
    }
}

/// The test-specific main config in the shape of Debian's apache2.conf: the modules Debian
/// enables by default that the README's block and basic auth need, plus `cgid`; `User` and
/// `Group www-data`; everything denied outside what the site grants; the site included.
fn write_conf(dir: &Path, port: u16, env: &Env) {
    let modules = [
        ("mpm_event_module", "mod_mpm_event.so"),
        ("authn_core_module", "mod_authn_core.so"),
        ("authn_file_module", "mod_authn_file.so"),
        ("auth_basic_module", "mod_auth_basic.so"),
        ("authz_core_module", "mod_authz_core.so"),
        ("authz_user_module", "mod_authz_user.so"),
        ("alias_module", "mod_alias.so"),
        ("env_module", "mod_env.so"),
        ("cgid_module", "mod_cgid.so"),
    ];
    let mut conf = String::from(
        "# Written by tests/it/harness/apache.rs in the shape of Debian's /etc/apache2/apache2.conf.\n",
    );
    for (name, file) in modules {
        conf.push_str(&format!("LoadModule {name} {MODULES}/{file}\n"));
    }
    conf.push_str(&format!(
        "ServerRoot \"{d}\"\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\n\
         PidFile \"{d}/run/apache2.pid\"\nDefaultRuntimeDir \"{d}/run\"\n\
         ScriptSock \"{d}/run/cgisock\"\nErrorLog \"{d}/logs/error.log\"\nLogLevel info\n\
         User {APACHE_USER}\nGroup {APACHE_USER}\n\
         StartServers 1\nServerLimit 1\nThreadsPerChild 8\nMaxRequestWorkers 8\n\
         <Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n\
         # git's HOME for the CGI program (Apache passes none): the test's own config.\n\
         SetEnv HOME \"{home}\"\nSetEnv GIT_CONFIG_NOSYSTEM 1\n\
         IncludeOptional sites-enabled/*.conf\n",
        d = dir.display(),
        home = env.home.display(),
    ));
    std::fs::write(dir.join("apache2.conf"), conf).unwrap();
}

fn spawn_apache(dir: &Path) -> Child {
    let mut cmd = Command::new("apache2");
    // Its own process group, so that Drop can reach the workers and the cgid daemon too.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.arg("-d")
        .arg(dir)
        .arg("-f")
        .arg(dir.join("apache2.conf"))
        .arg("-DFOREGROUND")
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into()),
        )
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting apache2 (scripts/setup installs apache2)")
}

impl Drop for Apache {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as i32;
            // SIGTERM stops Apache at once, its children and the cgid daemon with it.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            if wait_timeout(&mut child, Duration::from_secs(10)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
            // Whatever is left in its process group (a CGI program still running).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}
