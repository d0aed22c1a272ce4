//! One git client, several ways to reach hubctl: `hubctl serve`, nginx + fcgiwrap + `hubctl cgi`
//! (hubctl's root or git-http-backend's GIT_PROJECT_ROOT), `--upload-pack='hubctl
//! upload-pack'` over stdio, and a real sshd whose authorized_keys file hubctl writes (the
//! shipped `scripts/sshd/hubctl-keys-file.conf`), running `hubctl shell` as the forced command.
//! Scenarios are written once against [`Site`].

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use super::*;

/// The user nginx knows in push tests; over SSH, the user whose key every git command uses.
pub const PUSH_USER: &str = "pusher";
pub const PUSH_PASSWORD: &str = "s3cret-push";

/// How the client reaches the repositories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Serve,
    CgiRoot,
    CgiProjectRoot,
    Stdio,
    /// `ssh://root@127.0.0.1:PORT/ns/name.git` through sshd and `hubctl shell`.
    Ssh,
}

impl Transport {
    pub fn is_http(self) -> bool {
        !matches!(self, Transport::Stdio | Transport::Ssh)
    }
}

/// A running setup plus a protocol version for every git command.
pub struct Site {
    pub env: Env,
    pub transport: Transport,
    pub protocol: u8,
    pub server: Option<Server>,
    pub nginx: Option<Nginx>,
    /// GIT_PROJECT_ROOT in project-root mode.
    pub project: PathBuf,
    /// The pusher's token (standalone server).
    pub push_token: Option<String>,
    /// sshd with the shipped keys-file snippet (SSH).
    pub sshd: Option<Sshd>,
    /// [`PUSH_USER`]'s registered key, which every git command of the site uses (SSH).
    pub ssh_key: Option<ClientKey>,
}

impl Site {
    pub fn start(transport: Transport, protocol: u8) -> Site {
        Site::start_with(transport, protocol, NginxOptions::default())
    }

    /// A site set up for pushing. Hosted roots (serve, and nginx with the default snippet
    /// scripts/nginx/hubctl.conf) authenticate the pusher's hubctl token; git-http-backend mode
    /// has no accounts, so there nginx checks Basic credentials for pushes
    /// (scripts/nginx/hubctl-push-auth.conf) and hands hubctl the verified REMOTE_USER.
    pub fn start_push(transport: Transport) -> Site {
        let snippet = if transport == Transport::CgiProjectRoot {
            Snippet::PushAuth
        } else {
            Snippet::Plain
        };
        let mut site = Site::start_with(
            transport,
            2,
            NginxOptions {
                snippet,
                users: vec![(PUSH_USER.into(), PUSH_PASSWORD.into())],
                ..NginxOptions::default()
            },
        );
        match transport {
            // hubctl authenticates with its own token, behind nginx as standalone.
            Transport::Serve | Transport::CgiRoot => {
                site.push_token = Some(site.env.user_with_token(PUSH_USER, &[]))
            }
            // git-http-backend rules: an authenticated REMOTE_USER may push.
            Transport::CgiProjectRoot | Transport::Stdio => {}
            // The key's user exists already (Site::start_with); allow_push grants it write.
            Transport::Ssh => {}
        }
        site
    }

    /// Let the push user write to `name` (hosted repositories need a grant).
    pub fn allow_push(&self, name: &str) {
        if matches!(
            self.transport,
            Transport::Serve | Transport::CgiRoot | Transport::Ssh
        ) {
            self.env
                .hubctl_ok(&["repo", "grant", name, PUSH_USER, "write"]);
        }
    }

    /// The URL to push to (with credentials where the transport wants them).
    pub fn push_url(&self, name: &str) -> String {
        let url = self.url(name);
        match self.transport {
            Transport::CgiProjectRoot => url.replacen(
                "http://",
                &format!("http://{PUSH_USER}:{PUSH_PASSWORD}@"),
                1,
            ),
            Transport::Serve | Transport::CgiRoot => url.replacen(
                "http://",
                &format!(
                    "http://{PUSH_USER}:{}@",
                    self.push_token.as_deref().unwrap_or("")
                ),
                1,
            ),
            // The key authenticates; the URL names the login account, not the hubctl user.
            Transport::Stdio | Transport::Ssh => url,
        }
    }

    /// A fresh working repository whose `origin` is `name` (for pushing into it).
    pub fn worktree_for(&self, name: &str, dir: &str) -> PathBuf {
        let wt = self.env.path(dir);
        std::fs::create_dir_all(&wt).unwrap();
        self.env.git_ok(&wt, &["init", "-q", "-b", "main"]);
        self.env
            .git_ok(&wt, &["remote", "add", "origin", &self.push_url(name)]);
        wt
    }

    pub fn start_with(transport: Transport, protocol: u8, mut nginx_opts: NginxOptions) -> Site {
        let env = Env::new();
        let project = env.path("project");
        std::fs::create_dir_all(&project).unwrap();
        let (mut server, mut nginx, mut sshd, mut ssh_key) = (None, None, None, None);
        match transport {
            Transport::Serve => server = Some(env.serve(&[])),
            Transport::CgiRoot => nginx = Some(Nginx::start(&env, nginx_opts)),
            Transport::CgiProjectRoot => {
                nginx_opts.site = CgiSite::ProjectRoot {
                    dir: project.clone(),
                    export_all: false,
                };
                nginx = Some(Nginx::start(&env, nginx_opts));
            }
            Transport::Stdio => {}
            Transport::Ssh => {
                let (s, key) = start_sshd(&env);
                sshd = Some(s);
                ssh_key = Some(key);
            }
        }
        Site {
            env,
            transport,
            protocol,
            server,
            nginx,
            project,
            push_token: None,
            sshd,
            ssh_key,
        }
    }

    /// The bare directory behind `name` (`ns/repo`).
    pub fn bare(&self, name: &str) -> PathBuf {
        match self.transport {
            Transport::CgiProjectRoot => self.project.join(format!("{name}.git")),
            _ => self.env.bare(name),
        }
    }

    /// Create an empty repository `name` with HEAD on `default_branch`.
    pub fn create_empty(&self, name: &str, default_branch: &str) -> PathBuf {
        match self.transport {
            Transport::CgiProjectRoot => {
                let bare = self.bare(name);
                std::fs::create_dir_all(&bare).unwrap();
                self.env
                    .git_ok(&bare, &["init", "-q", "--bare", "-b", default_branch]);
                std::fs::write(bare.join("git-daemon-export-ok"), "").unwrap();
                bare
            }
            _ => {
                self.env.ensure_owner(name.split('/').next().unwrap());
                self.env
                    .hubctl_ok(&["repo", "init", name, "--default-branch", default_branch]);
                self.bare(name)
            }
        }
    }

    /// Create `name` holding the standard fixture; returns the source worktree.
    pub fn create_fixture(&self, name: &str, default_branch: &str) -> PathBuf {
        let bare = self.create_empty(name, default_branch);
        let wt = self
            .env
            .fixture_worktree(&format!("src-{}", name.replace('/', "-")));
        if default_branch != "main" {
            self.env
                .git_ok(&wt, &["branch", "-f", default_branch, "main"]);
        }
        self.env
            .git_ok(&wt, &["push", "-q", bare.to_str().unwrap(), "--all"]);
        self.env
            .git_ok(&wt, &["push", "-q", bare.to_str().unwrap(), "--tags"]);
        wt
    }

    /// Push from a source worktree straight into the bare repository (server-side changes).
    pub fn server_side_push(&self, wt: &Path, name: &str, refspec: &str) {
        self.env.git_ok(
            wt,
            &[
                "push",
                "-q",
                "-f",
                self.bare(name).to_str().unwrap(),
                refspec,
            ],
        );
    }

    /// The URL git uses for `name`.
    pub fn url(&self, name: &str) -> String {
        match self.transport {
            Transport::Serve => self.server.as_ref().unwrap().url(name),
            Transport::CgiRoot | Transport::CgiProjectRoot => {
                self.nginx.as_ref().unwrap().url(&format!("{name}.git"))
            }
            // hubctl upload-pack resolves NS/NAME under its root.
            Transport::Stdio => format!("file:///{name}.git"),
            Transport::Ssh => self.sshd.as_ref().unwrap().url(&format!("{name}.git")),
        }
    }

    /// `hubctl --root R upload-pack` as a shell command line for git's `-u`.
    pub fn upload_pack_cmd(&self) -> String {
        format!(
            "'{}' --root '{}' upload-pack",
            hubctl_bin().display(),
            self.env.root.display()
        )
    }

    pub fn receive_pack_cmd(&self) -> String {
        format!(
            "'{}' --root '{}' receive-pack",
            hubctl_bin().display(),
            self.env.root.display()
        )
    }

    /// git with this site's protocol version and, for stdio, hubctl as the remote programs (over
    /// SSH the environment's `core.sshCommand` reaches sshd; see [`start_sshd`]).
    pub fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        let mut cmd = self.env.git_cmd(cwd);
        cmd.arg("-c")
            .arg(format!("protocol.version={}", self.protocol));
        if self.transport == Transport::Stdio {
            cmd.arg("-c")
                .arg(format!(
                    "remote.origin.uploadpack={}",
                    self.upload_pack_cmd()
                ))
                .arg("-c")
                .arg(format!(
                    "remote.origin.receivepack={}",
                    self.receive_pack_cmd()
                ));
        }
        let mut out = cmd.args(args).output().unwrap();
        if self.transport == Transport::Ssh {
            out.stderr = without_login_shell_noise(&out.stderr);
        }
        out
    }

    pub fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(cwd, args);
        assert!(
            out.status.success(),
            "[{:?} v{}] git {args:?} failed: {}\nstdout: {}\nstderr: {}\n{}",
            self.transport,
            self.protocol,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.server_logs()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Clone `name` into scratch directory `dest` with extra clone options.
    pub fn clone(&self, name: &str, dest: &str, opts: &[&str]) -> Output {
        let dest_path = self.env.path(dest);
        let url = self.url(name);
        let mut args = vec!["clone"];
        let up = self.upload_pack_cmd();
        if self.transport == Transport::Stdio {
            args.extend(["-u", up.as_str()]);
        }
        args.extend(opts);
        args.push(&url);
        args.push(dest_path.to_str().unwrap());
        self.git(self.env.dir.path(), &args)
    }

    pub fn clone_ok(&self, name: &str, dest: &str, opts: &[&str]) -> PathBuf {
        let out = self.clone(name, dest, opts);
        assert!(
            out.status.success(),
            "[{:?} v{}] clone failed: {}\n{}",
            self.transport,
            self.protocol,
            String::from_utf8_lossy(&out.stderr),
            self.server_logs()
        );
        self.env.path(dest)
    }

    /// Clone `name` with the push URL as `origin`.
    pub fn clone_for_push(&self, name: &str, dest: &str) -> PathBuf {
        let dir = self.clone_ok(name, dest, &[]);
        self.env
            .git_ok(&dir, &["remote", "set-url", "origin", &self.push_url(name)]);
        dir
    }

    /// `git ls-remote` through the transport, sorted.
    pub fn ls_remote(&self, name: &str) -> Vec<String> {
        let url = self.url(name);
        let up = format!("--upload-pack={}", self.upload_pack_cmd());
        let mut args = vec!["ls-remote"];
        if self.transport == Transport::Stdio {
            args.push(&up);
        }
        args.push(&url);
        let out = self.git_ok(self.env.dir.path(), &args);
        let mut v: Vec<String> = out.lines().map(str::to_string).collect();
        v.sort();
        v
    }

    /// Start the server side again after it was killed, on the same address.
    pub fn restart(&mut self) {
        match self.transport {
            Transport::Serve => {
                let old = self.server.take().unwrap();
                let listen = old.base.trim_start_matches("http://").to_string();
                drop(old);
                self.server = Some(Server::start_on(&self.env, &listen, &[]));
            }
            // A fresh hubctl serves every connection (stdio; over SSH, sshd's listener starts
            // `hubctl shell` per connection and survives a session's processes being killed).
            Transport::Stdio | Transport::Ssh => {}
            _ => self.nginx.as_mut().unwrap().restart(),
        }
    }

    /// Server-side logs, for assertion messages.
    pub fn server_logs(&self) -> String {
        if let Some(s) = &self.server {
            return s.log.lines().join("\n");
        }
        if let Some(n) = &self.nginx {
            return n.logs();
        }
        if let Some(s) = &self.sshd {
            return format!("sshd log:\n{}", s.log());
        }
        String::new()
    }
}

/// sshd as an operator sets it up with `scripts/sshd/hubctl-keys-file.conf`: hubctl keeps the
/// authorized_keys file (`config set authorized-keys-file`), [`PUSH_USER`] registers a key with
/// `keys add`, and so logs in with a `restrict,command="hubctl ... shell --key-id N"` line.
///
/// Every git the site's [`Env`] runs reaches this sshd with that key: `core.sshCommand` in the
/// environment's own ~/.gitconfig is [`ssh_command`] (what [`Sshd::git_cmd`] puts in
/// GIT_SSH_COMMAND), so scenarios that build their own git commands from `site.env` need no
/// SSH branch. git sees the program name `ssh` and sends GIT_PROTOCOL for protocol v2
/// (`-o SendEnv=GIT_PROTOCOL`), which the snippet's `AcceptEnv GIT_PROTOCOL` lets through.
///
/// The user has no grants: it reads public repositories like an anonymous HTTP client, and
/// writes where [`Site::allow_push`] grants it.
fn start_sshd(env: &Env) -> (Sshd, ClientKey) {
    let file = env.path("authorized_keys");
    env.hubctl_ok(&[
        "config",
        "set",
        "authorized-keys-file",
        file.to_str().unwrap(),
    ]);
    let sshd = Sshd::start(env, KeysMode::File(file.clone()));
    env.ensure_owner(PUSH_USER);
    let key = ClientKey::generate(env, PUSH_USER, KeyKind::Ed25519);
    env.hubctl_ok(&[
        "keys",
        "add",
        "--user",
        PUSH_USER,
        key.public.to_str().unwrap(),
    ]);
    let lines = std::fs::read_to_string(&file).unwrap();
    assert!(
        lines.contains("restrict,command=") && lines.contains(key.blob()),
        "hubctl did not write the key into {}:\n{lines}",
        file.display()
    );
    env.git_ok(
        &env.home,
        &[
            "config",
            "--global",
            "core.sshCommand",
            &ssh_command(&sshd, &key),
        ],
    );
    (sshd, key)
}

/// Generate one test per transport and protocol version for a scenario `fn(Transport, u8)`.
/// `matrix!(hosted scenario)` leaves out git-http-backend's project-root mode, for scenarios
/// that need hubctl's own repository settings.
#[macro_export]
macro_rules! matrix {
    ($scenario:ident) => {
        $crate::matrix!(@tests $scenario;
            cgi_project_root_v0 CgiProjectRoot 0,
            cgi_project_root_v2 CgiProjectRoot 2,
        );
    };
    (hosted $scenario:ident) => {
        $crate::matrix!(@tests $scenario;);
    };
    (@tests $scenario:ident; $($name:ident $transport:ident $version:literal,)*) => {
        mod $scenario {
            use $crate::harness::Transport;
            #[test]
            fn serve_v0() {
                super::$scenario(Transport::Serve, 0)
            }
            #[test]
            fn serve_v2() {
                super::$scenario(Transport::Serve, 2)
            }
            #[test]
            fn cgi_root_v0() {
                super::$scenario(Transport::CgiRoot, 0)
            }
            #[test]
            fn cgi_root_v2() {
                super::$scenario(Transport::CgiRoot, 2)
            }
            $(
                #[test]
                fn $name() {
                    super::$scenario(Transport::$transport, $version)
                }
            )*
            #[test]
            fn stdio_v0() {
                super::$scenario(Transport::Stdio, 0)
            }
            #[test]
            fn stdio_v2() {
                super::$scenario(Transport::Stdio, 2)
            }
            #[test]
            fn ssh_v0() {
                super::$scenario(Transport::Ssh, 0)
            }
            #[test]
            fn ssh_v2() {
                super::$scenario(Transport::Ssh, 2)
            }
        }
    };
}
