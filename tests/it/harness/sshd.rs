//! A real OpenSSH server per test: `/usr/sbin/sshd` on 127.0.0.1 with an ephemeral port, its own
//! host key and configuration in the test's temporary directory, and the shipped snippets from
//! `scripts/sshd/` included verbatim (after placeholder substitution). Nothing of the machine's
//! own sshd (/etc/ssh/sshd_config, its host keys, port 22) or ssh client setup (~/.ssh, agent) is
//! used. `tests/it/sshd_harness.rs` proves the harness itself with stand-in forced commands.
//!
//! Needs root: sshd only switches to the logged-in user (`root` here, [`SSH_USER`]) as root.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// The account ssh clients log in as (hubctl's `@GIT_USER@`; tests run as root). Key login
/// works for root because its password field is `*`, not a `!` lock, and `PermitRootLogin
/// prohibit-password` allows keys.
pub const SSH_USER: &str = "root";

/// Upper bound for one ssh or git-over-ssh run before the harness kills it.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);

/// The sshd binary (re-exec needs an absolute path).
pub fn sshd_bin() -> PathBuf {
    for p in ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("sshd not found (apt-get install openssh-server)");
}

/// Where sshd finds the public keys of a login.
#[derive(Clone, Debug)]
pub enum KeysMode {
    /// `scripts/sshd/hubctl-keys-file.conf`: an authorized_keys file (the one hubctl writes).
    File(PathBuf),
    /// `scripts/sshd/hubctl-keys-command.conf`: sshd runs
    /// `<program> --root <env.root> keys authorized-keys --key-type %t --key %k` as root.
    /// `program` (hubctl, or a test's stand-in) is copied into a fresh directory that sshd's
    /// path rules accept ([`SafeDir`]); [`Sshd::keys_command`] is the copy.
    Command { program: PathBuf },
    /// Like `Command`, but `program` is used where it is, without the copy (to prove that sshd
    /// refuses a program below /tmp).
    CommandInPlace { program: PathBuf },
}

/// Less common knobs for [`Sshd::start_with`].
#[derive(Clone, Debug, Default)]
pub struct SshdOptions {
    /// `UsePAM yes` (Debian's default) instead of `no`.
    pub use_pam: bool,
    /// Extra global sshd_config lines (placed after the included snippet).
    pub extra_config: String,
    /// In `KeysMode::Command`, hubctl's lookup arguments instead of the snippet's
    /// `--key-type %t --key %k` (e.g. `--fingerprint %f`).
    pub keys_command_args: Option<String>,
}

/// A running sshd, stopped (with every session it started) when dropped.
pub struct Sshd {
    child: Option<Child>,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Private directory: sshd_config, host key, the rendered snippet, log, known_hosts.
    pub dir: PathBuf,
    pub config: PathBuf,
    /// sshd's log (`-E`, `LogLevel VERBOSE`); see [`Sshd::log`].
    pub log_path: PathBuf,
    /// A known_hosts file holding this server's host key, for clients.
    pub known_hosts: PathBuf,
    /// The AuthorizedKeysCommand program sshd runs (the copy in the safe directory).
    pub keys_command: Option<PathBuf>,
    safe_dir: Option<SafeDir>,
}

impl Sshd {
    pub fn start(env: &Env, mode: KeysMode) -> Sshd {
        Sshd::start_with(env, mode, SshdOptions::default())
    }

    pub fn start_with(env: &Env, mode: KeysMode, opts: SshdOptions) -> Sshd {
        assert!(
            is_root(),
            "the sshd tests need root: sshd can only log a client in as another user as root"
        );
        ensure_privsep_dir();
        let dir = tempfile::Builder::new()
            .prefix("sshd-")
            .tempdir_in(env.dir.path())
            .unwrap()
            .keep();
        let host_key = dir.join("ssh_host_ed25519_key");
        ssh_keygen(&[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "hubctl-test-host",
            "-f",
            host_key.to_str().unwrap(),
        ]);
        let host_pub = std::fs::read_to_string(dir.join("ssh_host_ed25519_key.pub")).unwrap();

        let mut safe_dir = None;
        let mut keys_command = None;
        let text = match &mode {
            KeysMode::File(file) => render_snippet(
                "hubctl-keys-file.conf",
                &[
                    ("@GIT_USER@", SSH_USER),
                    ("@AUTHORIZED_KEYS@", file.to_str().unwrap()),
                ],
            ),
            KeysMode::Command { program } | KeysMode::CommandInPlace { program } => {
                let installed = if let KeysMode::Command { .. } = mode {
                    let safe = SafeDir::create();
                    let p = safe.install(program);
                    safe_dir = Some(safe);
                    p
                } else {
                    program.clone()
                };
                let mut text = render_snippet(
                    "hubctl-keys-command.conf",
                    &[
                        ("@GIT_USER@", SSH_USER),
                        ("@KEYS_USER@", SSH_USER),
                        ("@HUBCTL@", installed.to_str().unwrap()),
                        ("@ROOT@", env.root.to_str().unwrap()),
                    ],
                );
                if let Some(args) = &opts.keys_command_args {
                    const SHIPPED: &str = "--key-type %t --key %k";
                    assert!(text.contains(SHIPPED), "the snippet changed: {text}");
                    text = text.replace(SHIPPED, args);
                }
                keys_command = Some(installed);
                text
            }
        };
        // Where the snippet's own instructions put it: sshd_config.d/hubctl.conf, which the
        // main config includes at its top, as Debian's /etc/ssh/sshd_config does.
        let snippet_dir = dir.join("sshd_config.d");
        std::fs::create_dir_all(&snippet_dir).unwrap();
        std::fs::write(snippet_dir.join("hubctl.conf"), text).unwrap();

        let config = dir.join("sshd_config");
        let log_path = dir.join("sshd.log");
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            std::fs::write(&config, main_config(&dir, port, &opts)).unwrap();
            std::fs::write(&log_path, "").unwrap();
            let mut child = Command::new(sshd_bin())
                .arg("-D")
                .arg("-E")
                .arg(&log_path)
                .arg("-f")
                .arg(&config)
                .env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(dir.join("sshd.stderr")).unwrap(),
                ))
                .spawn()
                .expect("starting sshd");
            let ready = format!("Server listening on 127.0.0.1 port {port}.");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                if log.contains(&ready) {
                    std::fs::write(
                        dir.join("known_hosts"),
                        format!("[127.0.0.1]:{port} {host_pub}"),
                    )
                    .unwrap();
                    return Sshd {
                        child: Some(child),
                        port,
                        known_hosts: dir.join("known_hosts"),
                        dir,
                        config,
                        log_path,
                        keys_command,
                        safe_dir,
                    };
                }
                if let Ok(Some(status)) = child.try_wait() {
                    last_err = format!(
                        "sshd exited with {status}:\n{log}{}",
                        std::fs::read_to_string(dir.join("sshd.stderr")).unwrap_or_default()
                    );
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("sshd did not start listening within 10 s:\n{log}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            // Only a port taken between free_port() and sshd's bind is worth another try.
            if !last_err.contains("Address already in use") {
                break;
            }
        }
        panic!("sshd failed to start: {last_err}");
    }

    /// sshd's log so far (connections, accepted/failed keys, sessions, refusals).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Whether the log has a line containing `needle` within a few seconds (per-connection sshd
    /// processes write their lines asynchronously, sometimes after the client has finished).
    pub fn log_eventually_contains(&self, needle: &str) -> bool {
        eventually(Duration::from_secs(5), || self.log().contains(needle))
    }

    /// `ssh://root@127.0.0.1:PORT/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "ssh://{SSH_USER}@127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// The effective configuration for a login of `user` from 127.0.0.1 (`sshd -T -C`), one
    /// lowercase `keyword value` per line.
    pub fn effective_config(&self, user: &str) -> String {
        let out = Command::new(sshd_bin())
            .arg("-T")
            .arg("-f")
            .arg(&self.config)
            .arg("-C")
            .arg(format!("user={user},host=localhost,addr=127.0.0.1"))
            .output()
            .expect("sshd -T");
        assert!(
            out.status.success(),
            "sshd -T failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A builder for running `ssh` against this server with `key`.
    pub fn ssh<'a>(&'a self, key: &'a ClientKey) -> Ssh<'a> {
        Ssh {
            sshd: self,
            key,
            options: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
        }
    }

    /// A git command (see [`Env::git_cmd`]) whose ssh transport reaches this server with `key`.
    pub fn git_cmd(&self, env: &Env, key: &ClientKey, cwd: &Path) -> Command {
        let mut c = env.git_cmd(cwd);
        c.env("GIT_SSH_COMMAND", ssh_command(self, key));
        c
    }

    /// Run git over ssh with `key`; returns its output whatever the exit status.
    pub fn git(&self, env: &Env, key: &ClientKey, cwd: &Path, args: &[&str]) -> Output {
        let mut c = self.git_cmd(env, key, cwd);
        c.args(args);
        run_limited(&mut c, &[], CLIENT_LIMIT).unwrap_or_else(|| {
            panic!(
                "git {args:?} over ssh did not finish in {CLIENT_LIMIT:?}\nsshd log:\n{}",
                self.log()
            )
        })
    }

    /// Run git over ssh with `key` and insist on success; returns stdout.
    pub fn git_ok(&self, env: &Env, key: &ClientKey, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(env, key, cwd, args);
        assert!(
            out.status.success(),
            "git {args:?} over ssh failed: {}\nstdout: {}\nstderr: {}\nsshd log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The sshd listener's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Per-connection sshd processes (and the forced commands below them) outlive the
            // listener, so end them first.
            for pid in descendants(child.id() as i32).into_iter().rev() {
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            if wait_timeout(&mut child, Duration::from_secs(5)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // safe_dir (the copied AuthorizedKeysCommand) is removed after this, as a field.
    }
}

/// The sshd_config the harness writes, in the shape of Debian's /etc/ssh/sshd_config: the
/// drop-in directory `sshd_config.d/*.conf` (where the shipped snippet's instructions put it)
/// included first, then everything test-specific. The snippet's `Match` block ends with its
/// file, so the global lines after it still apply to everyone else.
fn main_config(dir: &Path, port: u16, opts: &SshdOptions) -> String {
    let d = dir.display();
    let pam = if opts.use_pam { "yes" } else { "no" };
    format!(
        "# Written by tests/it/harness/sshd.rs; only sshd_config.d/hubctl.conf comes from scripts/sshd/.
Include {d}/sshd_config.d/*.conf
Port {port}
ListenAddress 127.0.0.1
AddressFamily inet
HostKey {d}/ssh_host_ed25519_key
PidFile {d}/sshd.pid
LogLevel VERBOSE
# Debian's PAM stack (pam_loginuid, pam_motd, pam_env) plays no part in what is tested; key
# login as root works either way (Sshd::start_with with use_pam checks UsePAM yes).
UsePAM {pam}
# Test directories live below /tmp (mode 1777), and with StrictModes sshd refuses an
# authorized_keys file when any directory above it is group- or world-writable (\"Authentication
# refused: bad ownership or modes for directory /tmp\"). AuthorizedKeysCommand programs are
# checked regardless of StrictModes, hence the copy into a safe directory.
StrictModes no
PermitRootLogin prohibit-password
# No key file outside the snippet's Match block: root's own ~/.ssh/authorized_keys never counts.
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
PrintLastLog no
UseDNS no
# Tests may open many connections at once; the default 10:30:100 starts dropping at 10.
MaxStartups 100
{extra}
",
        extra = opts.extra_config,
    )
}

/// A shipped snippet from scripts/sshd/ with its placeholders replaced; panics if one is left.
pub fn render_snippet(name: &str, vars: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(scripts_dir().join("sshd").join(name))
        .unwrap_or_else(|e| panic!("reading scripts/sshd/{name}: {e}"));
    for (placeholder, value) in vars {
        text = text.replace(placeholder, value);
    }
    // A leftover placeholder is an all-caps word between two '@'.
    let parts: Vec<&str> = text.split('@').collect();
    let mut left: Vec<&str> = parts
        .iter()
        .copied()
        .skip(1)
        .take(parts.len().saturating_sub(2))
        .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .collect();
    left.sort_unstable();
    left.dedup();
    assert!(
        left.is_empty(),
        "scripts/sshd/{name}: placeholders not substituted: {left:?}"
    );
    text
}

/// sshd's privilege separation directory must exist (Debian creates it when the service starts,
/// which never happened on a machine that only runs the tests).
fn ensure_privsep_dir() {
    let p = Path::new("/run/sshd");
    if !p.exists() {
        match std::fs::create_dir(p) {
            Ok(()) => std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap(),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("creating /run/sshd: {e}"),
        }
    }
}

/// Whether sshd would run a program at `path`: the file and every directory above it owned by
/// root and not writable by group or others (sshd's `safe_path`, applied to
/// AuthorizedKeysCommand regardless of StrictModes).
pub fn sshd_accepts_path(path: &Path) -> bool {
    path.is_absolute()
        && path.ancestors().all(|p| match std::fs::metadata(p) {
            Ok(m) => m.uid() == 0 && m.mode() & 0o022 == 0,
            Err(_) => false,
        })
}

/// A fresh root-owned 0755 directory below /run (or /usr/local/lib), removed when dropped, for
/// programs sshd must run: the tests' own directories are below /tmp (1777) and hubctl's binary
/// below a target/ directory whose parents nobody vouches for.
pub struct SafeDir {
    dir: tempfile::TempDir,
}

impl SafeDir {
    pub fn create() -> SafeDir {
        let base = ["/run", "/usr/local/lib"]
            .into_iter()
            .map(Path::new)
            .find(|p| sshd_accepts_path(p))
            .expect("no root-owned, non-writable base directory for AuthorizedKeysCommand");
        let dir = tempfile::Builder::new()
            .prefix("hubctl-test-")
            .tempdir_in(base)
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        SafeDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copy `program` in (mode 0755) and return the copy's path.
    pub fn install(&self, program: &Path) -> PathBuf {
        let dest = self.dir.path().join(program.file_name().unwrap());
        install_copy(program, &dest);
        assert!(
            sshd_accepts_path(&dest),
            "{} is not a path sshd accepts",
            dest.display()
        );
        dest
    }
}

/// Processes below `pid`, parents before children.
fn descendants(pid: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                children.entry(ppid).or_default().push(p);
            }
        }
    }
    let mut out = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            out.push(c);
            queue.push(c);
        }
    }
    out
}

fn ssh_keygen(args: &[&str]) -> String {
    let out = Command::new("ssh-keygen")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running ssh-keygen (apt-get install openssh-client)");
    assert!(
        out.status.success(),
        "ssh-keygen {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Key types and sizes a client key can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Ed25519,
    /// RSA with this many bits (ssh-keygen's minimum is 1024).
    Rsa(u32),
    /// ECDSA on NIST P-256, P-384 or P-521.
    Ecdsa(u32),
}

impl KeyKind {
    /// Every kind the key-validation tests need.
    pub const ALL: [KeyKind; 6] = [
        KeyKind::Ed25519,
        KeyKind::Rsa(2048),
        KeyKind::Rsa(1024),
        KeyKind::Ecdsa(256),
        KeyKind::Ecdsa(384),
        KeyKind::Ecdsa(521),
    ];

    /// The key type name in public key lines and sshd's `%t`.
    pub fn ssh_type(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "ssh-ed25519",
            KeyKind::Rsa(_) => "ssh-rsa",
            KeyKind::Ecdsa(256) => "ecdsa-sha2-nistp256",
            KeyKind::Ecdsa(384) => "ecdsa-sha2-nistp384",
            KeyKind::Ecdsa(521) => "ecdsa-sha2-nistp521",
            KeyKind::Ecdsa(b) => panic!("no ECDSA curve with {b} bits"),
        }
    }

    /// Key size in bits as `ssh-keygen -l` reports it.
    pub fn bits(self) -> u32 {
        match self {
            KeyKind::Ed25519 => 256,
            KeyKind::Rsa(b) | KeyKind::Ecdsa(b) => b,
        }
    }

    fn keygen_args(self) -> Vec<String> {
        match self {
            KeyKind::Ed25519 => vec!["-t".into(), "ed25519".into()],
            KeyKind::Rsa(b) => vec!["-t".into(), "rsa".into(), "-b".into(), b.to_string()],
            KeyKind::Ecdsa(b) => vec!["-t".into(), "ecdsa".into(), "-b".into(), b.to_string()],
        }
    }
}

/// A client key pair made with ssh-keygen (no passphrase), in the test's directory.
#[derive(Clone, Debug)]
pub struct ClientKey {
    pub name: String,
    pub kind: KeyKind,
    /// Private key file (mode 0600, as ssh insists).
    pub private: PathBuf,
    /// `<private>.pub`.
    pub public: PathBuf,
    /// The public key line: `<type> <base64> <name>`.
    pub public_line: String,
    /// `SHA256:...` as sshd logs it and `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

impl ClientKey {
    /// Generate `ssh-keys/<name>` (and `.pub`) below the test's directory; `name` is the comment.
    pub fn generate(env: &Env, name: &str, kind: KeyKind) -> ClientKey {
        let dir = env.path("ssh-keys");
        std::fs::create_dir_all(&dir).unwrap();
        let private = dir.join(name);
        let mut args: Vec<String> = vec!["-q".into(), "-N".into(), String::new()];
        args.extend(kind.keygen_args());
        args.extend([
            "-C".into(),
            name.into(),
            "-f".into(),
            private.to_str().unwrap().into(),
        ]);
        ssh_keygen(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let public = dir.join(format!("{name}.pub"));
        let public_line = std::fs::read_to_string(&public).unwrap().trim().to_string();
        let listed = ssh_keygen(&["-l", "-E", "sha256", "-f", public.to_str().unwrap()]);
        // "<bits> SHA256:<hash> <comment> (<TYPE>)"
        let mut fields = listed.split_whitespace();
        assert_eq!(
            fields.next(),
            Some(kind.bits().to_string().as_str()),
            "{listed}"
        );
        let fingerprint = fields.next().unwrap().to_string();
        ClientKey {
            name: name.into(),
            kind,
            private,
            public,
            public_line,
            fingerprint,
        }
    }

    /// The key type field (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ...).
    pub fn key_type(&self) -> &str {
        self.public_line.split(' ').next().unwrap()
    }

    /// The base64 key blob (sshd's `%k`).
    pub fn blob(&self) -> &str {
        self.public_line.split(' ').nth(1).unwrap()
    }

    /// An authorized_keys line with `options` (e.g. `restrict,command="..."`) before the key.
    pub fn authorized_line(&self, options: &str) -> String {
        if options.is_empty() {
            format!("{}\n", self.public_line)
        } else {
            format!("{options} {}\n", self.public_line)
        }
    }
}

/// Quote for a POSIX shell (git runs GIT_SSH_COMMAND through `sh -c`).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// ssh options that make a client use exactly `key` and `sshd`'s host key, and nothing of the
/// machine's ssh setup (no ~/.ssh/config, /etc/ssh/ssh_config, agent or known_hosts). No port:
/// see [`ssh_command`].
pub fn ssh_options(sshd: &Sshd, key: &ClientKey) -> Vec<String> {
    let mut v: Vec<String> = vec!["-F".into(), "/dev/null".into(), "-i".into()];
    v.push(key.private.to_str().unwrap().into());
    for o in [
        "IdentitiesOnly=yes".to_string(),
        "IdentityAgent=none".to_string(),
        "BatchMode=yes".to_string(),
        "StrictHostKeyChecking=yes".to_string(),
        format!("UserKnownHostsFile={}", sshd.known_hosts.display()),
        "GlobalKnownHostsFile=/dev/null".to_string(),
        "UpdateHostKeys=no".to_string(),
        "ConnectTimeout=20".to_string(),
    ] {
        v.push("-o".into());
        v.push(o);
    }
    v
}

/// A `GIT_SSH_COMMAND` value for `key` against `sshd`. It has no `-p`: ssh takes the first `-p`
/// it sees, so one here would override the port git passes from the URL ([`Sshd::url`] has
/// it); for scp-like `root@127.0.0.1:ns/repo.git` remotes append `-p <port>` yourself. git sees
/// the program name `ssh` and so adds `-o SendEnv=GIT_PROTOCOL` for protocol v2 itself.
pub fn ssh_command(sshd: &Sshd, key: &ClientKey) -> String {
    let mut s = String::from("ssh");
    for o in ssh_options(sshd, key) {
        s.push(' ');
        s.push_str(&shell_quote(&o));
    }
    s
}

/// Result of an ssh run.
pub struct SshOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl SshOutput {
    /// Exit code (255: ssh itself failed, e.g. authentication; otherwise the remote command's).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }
}

impl std::fmt::Display for SshOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ssh exited with {}\nstdout: {}\nstderr: {}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// One `ssh` invocation against an [`Sshd`], built with [`Sshd::ssh`]. The client runs with an
/// empty environment (plus PATH and what [`Ssh::env`] adds).
pub struct Ssh<'a> {
    sshd: &'a Sshd,
    key: &'a ClientKey,
    options: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
}

impl Ssh<'_> {
    /// Add ssh command-line arguments (before the destination), e.g. `["-o", "SendEnv=X"]`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.options.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Set a variable in the client's environment.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Send this to the remote command's standard input (default: nothing, then EOF).
    pub fn stdin(mut self, data: &[u8]) -> Self {
        self.stdin = data.to_vec();
        self
    }

    /// Run `remote_command` (what sshd hands a forced command as SSH_ORIGINAL_COMMAND).
    pub fn run(self, remote_command: &str) -> SshOutput {
        let mut c = Command::new("ssh");
        c.args(ssh_options(self.sshd, self.key))
            .arg("-p")
            .arg(self.sshd.port.to_string())
            .args(&self.options)
            .arg(format!("{SSH_USER}@127.0.0.1"))
            .arg(remote_command)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        let out = run_limited(&mut c, &self.stdin, CLIENT_LIMIT).unwrap_or_else(|| {
            panic!(
                "ssh {remote_command:?} did not finish in {CLIENT_LIMIT:?}\nsshd log:\n{}",
                self.sshd.log()
            )
        });
        SshOutput {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `ssh root@127.0.0.1 <remote_command>` with `key`, nothing on stdin.
pub fn ssh_run(sshd: &Sshd, key: &ClientKey, remote_command: &str) -> SshOutput {
    sshd.ssh(key).run(remote_command)
}

/// Run `cmd` feeding `stdin`, collecting its output; None (after killing it) past `limit`.
fn run_limited(cmd: &mut Command, stdin: &[u8], limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning client");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let status = match wait_timeout(&mut child, limit) {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
    };
    let _ = writer.join();
    Some(Output {
        status,
        stdout: out.join().unwrap(),
        stderr: without_login_shell_noise(&err.join().unwrap()),
    })
}
