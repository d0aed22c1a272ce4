//! Running C git's pack engine (`git upload-pack`, `git receive-pack`) for every transport.
//!
//! hubctl owns everything around the engine: which binary, which features are switched on
//! (with `git -c` where git's own config leaves them unset, never by editing the repository's
//! config; see [`defaults`]), the environment hooks see, and
//! streaming bytes between the client and git. The transports call into [`Engine`] with plain
//! arguments and streams; nothing here knows about HTTP or SSH.

pub mod advertise;
pub mod backup;
pub mod defaults;
pub mod dumb;
pub mod hooks;
pub mod import;
pub mod lfs_history;
pub mod maintenance;
pub mod messages;
pub mod pack_cache;
pub mod policy;
pub mod push;
pub mod ready;
pub mod slots;
mod stream;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

pub use stream::RpcOutput;

/// Oldest git whose engine has everything hubctl switches on (geometric repacking with
/// multi-pack bitmaps, report-status-v2, `--advertise-refs` in protocol v2).
pub const MIN_VERSION: (u32, u32) = (2, 34);

pub use crate::core::env::GIT_ENV;

/// Variables git uses to point at "the current repository"; they must never leak from our
/// environment into an engine process serving a different repository.
pub(crate) const LOCAL_REPO_ENV: &[&str] = &[
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
    "GIT_QUARANTINE_PATH",
    "GIT_PROTOCOL",
];

/// Errors from locating or running git.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No git binary was found.
    #[error(
        "git was not found (looked for {0}); hubctl needs git {major}.{minor} or newer: install it (Debian: apt-get install git) or set HUBCTL_GIT",
        major = MIN_VERSION.0, minor = MIN_VERSION.1
    )]
    NotFound(String),
    /// git is older than [`MIN_VERSION`].
    #[error(
        "{path} is git {found}, but hubctl needs git {major}.{minor} or newer (for geometric repacking, multi-pack bitmaps and protocol v2 on every endpoint); install a newer git or point HUBCTL_GIT at one",
        major = MIN_VERSION.0, minor = MIN_VERSION.1
    )]
    TooOld {
        /// The binary that was probed.
        path: String,
        /// Its version text.
        found: String,
    },
    /// `git version` printed something unexpected.
    #[error("cannot tell the version of {path}: it printed {output:?}")]
    Unparsable {
        /// The binary that was probed.
        path: String,
        /// What it printed.
        output: String,
    },
    /// Every engine slot stayed busy for the queue timeout.
    #[error("the server is busy: {0}")]
    Busy(#[from] slots::Busy),
    /// The request body failed before git started (a stall, a size bound, a bad encoding).
    #[error("reading the request: {0}")]
    Body(#[source] io::Error),
    /// The settings could not be read. (Not marked as the error's source: its text is
    /// already in the message, and error chains would print it twice.)
    #[error("reading settings: {0}")]
    Settings(crate::store::Error),
    /// Spawning or talking to git failed.
    #[error("running git {what}: {source}")]
    Io {
        /// Which git command.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Error {
        Error::Settings(e)
    }
}

/// The two halves of git's pack protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Serves clones and fetches.
    UploadPack,
    /// Accepts pushes.
    ReceivePack,
}

impl Service {
    /// The git subcommand (`upload-pack`).
    pub fn command(self) -> &'static str {
        match self {
            Service::UploadPack => "upload-pack",
            Service::ReceivePack => "receive-pack",
        }
    }

    /// The protocol name (`git-upload-pack`), as used in URLs and SSH commands.
    pub fn wire_name(self) -> &'static str {
        match self {
            Service::UploadPack => "git-upload-pack",
            Service::ReceivePack => "git-receive-pack",
        }
    }

    /// Parse a protocol name.
    pub fn from_wire_name(name: &str) -> Option<Service> {
        match name {
            "git-upload-pack" => Some(Service::UploadPack),
            "git-receive-pack" => Some(Service::ReceivePack),
            _ => None,
        }
    }
}

/// How the engine talks to its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print the ref advertisement (or v2 capabilities) and exit (HTTP `info/refs`).
    AdvertiseRefs,
    /// Read one request, write one response, exit (HTTP POST).
    StatelessRpc,
    /// The full conversation over one pair of streams (SSH, stdio).
    Duplex,
}

/// Extra facts about one engine run: what the client asked for and who it is.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The client's `GIT_PROTOCOL` value (`version=2`), already validated.
    pub protocol: Option<String>,
    /// hubctl's defaults for this run besides those of its service (`defaults::wanted`):
    /// passed only where git's configuration leaves them unset.
    pub defaults: Vec<defaults::Setting>,
    /// Variables for git and the hooks it runs (`HUBCTL_USER`, `REMOTE_USER`, committer, ...).
    pub env: Vec<(String, OsString)>,
    /// Extra `-c key=value` settings (hooks path, size limits).
    pub config: Vec<String>,
    /// Extra options for the service itself (`--timeout=N`), placed before the directory.
    pub args: Vec<String>,
    /// The directory was resolved and contained by hubctl (inside its root, or inside
    /// git-http-backend's project root), so git may trust it whoever owns it: see
    /// [`safe_directory`].
    pub contained: bool,
    /// The repository's message for this service, shown after a successful push or a fetch
    /// that sends a pack (see [`messages`]); `None` leaves git's output untouched.
    pub notice: Option<messages::Notice>,
}

/// The `-c` setting that makes git trust `git_dir` although another account owns it.
///
/// fcgiwrap runs as `www-data`, sshd's forced command as the `git` account, the operator's CLI
/// often as root: when the repository belongs to another of these, git refuses it as of
/// "dubious ownership" and tells the *client* to change its `safe.directory`, where that cannot
/// help. hubctl only runs git on directories it has resolved and contained itself (as Gitea and
/// GitLab do), so it names exactly that one directory. `safe.directory` is a list: the
/// operator's own entries still apply.
pub fn safe_directory(git_dir: &Path) -> String {
    format!("safe.directory={}", git_dir.display())
}

/// Validate a client-supplied `GIT_PROTOCOL` value: colon-separated `key[=value]` items of
/// printable ASCII. Anything else is dropped, and git then speaks protocol v0, which every
/// client understands.
pub fn sanitize_protocol(value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= 256
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=:._-,".contains(&b));
    ok.then(|| value.to_string())
}

/// True if a `GIT_PROTOCOL` value asks for protocol v2.
pub fn wants_v2(protocol: Option<&str>) -> bool {
    protocol.is_some_and(|p| p.split(':').any(|item| item == "version=2"))
}

/// A located and version-checked git binary, with the limits and caches of its root.
#[derive(Debug, Clone)]
pub struct Engine {
    path: PathBuf,
    version: (u32, u32, u32),
    /// What `git version` printed after `git version ` (`2.47.3`): git's `agent=` value.
    version_text: String,
    /// The concurrency limit (hosted mode).
    slots: Option<slots::Slots>,
    /// `uploadpack.packObjectsHook` value and cache bound (hosted mode, cache on).
    pack_cache: Option<(String, u64)>,
    /// Where protocol v2 capability advertisements are cached (hosted mode).
    adv_cache: Option<PathBuf>,
}

/// A cached v2 capability advertisement is trusted this long at most where a config file may
/// include others (the key covers the config files git reads, but not files they include).
const ADVERTISEMENT_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// How long it is trusted where the key covers every input (no includes): an entry is replaced
/// when git or a config file changes, which changes its key.
const ADVERTISEMENT_TTL_KEYED: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Engine {
    /// Find git (`HUBCTL_GIT`, else `git` on `PATH`) and check its version.
    ///
    /// The probe result is remembered in `cache_dir` keyed by the binary's identity (path, size,
    /// mtime, inode), so short-lived processes (CGI, SSH) do not spawn `git version` on every
    /// request.
    pub fn detect(cache_dir: Option<&Path>) -> Result<Engine, Error> {
        let env = crate::core::env::get();
        let wanted = env.git.clone().unwrap_or_else(|| OsString::from("git"));
        let path = find_in_path(Path::new(&wanted))
            .ok_or_else(|| Error::NotFound(wanted.to_string_lossy().into_owned()))?;
        let identity = binary_identity(&path);
        let cache_file = cache_dir.map(|d| d.join("git-version"));
        if let (Some(file), Some(id)) = (&cache_file, &identity) {
            if let Ok(text) = std::fs::read_to_string(file) {
                if let Some((cached_id, version)) = text.trim_end().rsplit_once('\t') {
                    if cached_id == id {
                        if let Some(v) = parse_version(version) {
                            return Engine::checked(path, v, version);
                        }
                    }
                }
            }
        }
        let out = Command::new(&path)
            .arg("version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => Error::NotFound(path.display().to_string()),
                _ => Error::Io {
                    what: "version".into(),
                    source,
                },
            })?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let version_text = text
            .strip_prefix("git version ")
            .unwrap_or(&text)
            .to_string();
        let v = parse_version(&version_text).ok_or_else(|| Error::Unparsable {
            path: path.display().to_string(),
            output: text.clone(),
        })?;
        if let (Some(file), Some(id)) = (&cache_file, &identity) {
            if let Some(dir) = file.parent() {
                // The cache only saves a spawn; failing to write it is harmless.
                let _ = std::fs::create_dir_all(dir);
                let _ = crate::core::fsutil::write_atomic(
                    file,
                    format!("{id}\t{version_text}\n").as_bytes(),
                    0o644,
                );
            }
        }
        Engine::checked(path, v, &version_text)
    }

    fn checked(path: PathBuf, v: (u32, u32, u32), text: &str) -> Result<Engine, Error> {
        if (v.0, v.1) < MIN_VERSION {
            return Err(Error::TooOld {
                path: path.display().to_string(),
                found: text.to_string(),
            });
        }
        Ok(Engine {
            path,
            version: v,
            version_text: text.to_string(),
            slots: None,
            pack_cache: None,
            adv_cache: None,
        })
    }

    /// The engine for a hosted root: git located and checked (cached per binary), with the
    /// root's concurrency limit and pack cache from its settings.
    pub fn for_root(root: &crate::core::root::Root) -> Result<Engine, Error> {
        let mut engine = Engine::detect(Some(&root.cache_dir()))?;
        let settings = crate::store::with_store(root, |s| crate::settings::Settings::load(s))?;
        engine.adv_cache = Some(root.cache_dir().join("advertisements"));
        engine.slots = Some(slots::Slots::new(
            root.run_dir().join("slots"),
            settings.max_engines,
            settings.queue_timeout,
        ));
        if let Some(size) = settings.pack_cache_size {
            let hook = pack_cache::hook_command(root).map_err(|source| Error::Io {
                what: "pack cache hook".into(),
                source,
            })?;
            engine.pack_cache = Some((hook, size));
        }
        Ok(engine)
    }

    /// The pack cache's bound in bytes, if this engine uses the pack cache.
    pub fn pack_cache_limit(&self) -> Option<u64> {
        self.pack_cache.as_ref().map(|(_, size)| *size)
    }

    /// The engine slots of the root, if this engine serves one (for `/metrics`).
    pub fn slots(&self) -> Option<&slots::Slots> {
        self.slots.as_ref()
    }

    /// Take an engine slot (if a limit applies), waiting up to the queue timeout.
    fn slot(&self) -> Result<Option<slots::SlotGuard>, Error> {
        match &self.slots {
            Some(s) => Ok(Some(s.acquire()?)),
            None => Ok(None),
        }
    }

    /// Check that git still runs (`git version`, bounded by a few seconds), for health checks.
    /// Returns the version line.
    pub fn check(&self) -> Result<String, Error> {
        let mut child = self
            .command()
            .arg("version")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|source| Error::Io {
                what: "version".into(),
                source,
            })?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    let mut out = String::new();
                    if let Some(mut o) = child.stdout.take() {
                        let _ = std::io::Read::read_to_string(&mut o, &mut out);
                    }
                    return if status.success() {
                        Ok(out.trim().to_string())
                    } else {
                        Err(Error::Io {
                            what: "version".into(),
                            source: io::Error::other(format!("exited with {status}")),
                        })
                    };
                }
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::Io {
                        what: "version".into(),
                        source: io::Error::new(io::ErrorKind::TimedOut, "no answer in 5 s"),
                    });
                }
                Err(source) => {
                    return Err(Error::Io {
                        what: "version".into(),
                        source,
                    });
                }
            }
        }
    }

    /// The version of the git binary in use (major, minor, patch).
    pub fn version(&self) -> (u32, u32, u32) {
        self.version
    }

    /// The git binary in use.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A `git` command with a clean repository environment: nothing from our own environment
    /// may redirect git to another repository or object store, nor name the pusher to hubctl's
    /// hooks (`HUBCTL_USER` is set only from the request's authenticated principal; inherited
    /// from an operator's shell it would make a local push count as that user's).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        for var in LOCAL_REPO_ENV {
            cmd.env_remove(var);
        }
        cmd.env_remove(hooks::ENV_USER);
        cmd
    }

    /// The `-c key=value` settings a run of `service` gets, in order: the configuration layer
    /// git sees above the repository's, global and system files.
    pub fn overrides(&self, service: Service, git_dir: &Path, opts: &RunOptions) -> Vec<String> {
        // hubctl's protocol settings, only where the operator's git config is silent.
        let mut out = defaults::for_run(service, git_dir, &opts.defaults);
        out.extend(self.run_config(service, opts));
        out
    }

    /// The `-c` settings of a run besides hubctl's defaults: the request's own, and the pack
    /// cache hook.
    fn run_config(&self, service: Service, opts: &RunOptions) -> Vec<String> {
        let mut out = opts.config.clone();
        if let (Service::UploadPack, Some((hook, _))) = (service, &self.pack_cache) {
            out.push(format!("uploadpack.packObjectsHook={hook}"));
        }
        out
    }

    /// git's `agent=` capability value (`git_user_agent_sanitized()`).
    fn agent(&self) -> String {
        // git replaces anything but printable ASCII, and spaces, with a dot.
        format!("git/{}", self.version_text)
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '.' })
            .collect()
    }

    /// hubctl's own upload-pack answer for `git_dir` (see [`advertise`]), or `None` when git
    /// must answer.
    fn native<T>(
        &self,
        git_dir: &Path,
        opts: &RunOptions,
        answer: impl FnOnce(
            &gix::Repository,
            &gix::bstr::BStr,
        ) -> Result<Option<T>, advertise::Fallback>,
    ) -> Option<T> {
        use std::os::unix::ffi::OsStrExt as _;
        let ns = crate::core::env::get()
            .git_namespace
            .as_ref()
            .map(|n| n.as_bytes());
        let ns = advertise::namespace_prefix(ns).ok()?;
        // One open, hubctl's defaults included (see `advertise::open`).
        let repo = advertise::open(git_dir, &self.run_config(Service::UploadPack, opts)).ok()?;
        answer(&repo, ns.as_ref()).ok().flatten()
    }

    /// The full command line for `service` in `mode` on `git_dir`.
    pub fn service_command(
        &self,
        service: Service,
        mode: Mode,
        git_dir: &Path,
        opts: &RunOptions,
    ) -> Command {
        let mut cmd = self.command();
        if opts.contained {
            cmd.arg("-c").arg(safe_directory(git_dir));
        }
        for setting in self.overrides(service, git_dir, opts) {
            cmd.arg("-c").arg(setting);
        }
        if let (Service::UploadPack, Some((_, size))) = (service, &self.pack_cache) {
            cmd.env(pack_cache::SIZE_ENV, size.to_string());
        }
        cmd.arg(service.command());
        match mode {
            Mode::AdvertiseRefs => {
                cmd.args(["--stateless-rpc", "--advertise-refs"]);
            }
            Mode::StatelessRpc => {
                cmd.arg("--stateless-rpc");
            }
            Mode::Duplex => {}
        }
        if service == Service::UploadPack {
            // Only ever the exact directory we resolved; git must not try `<dir>.git` or `<dir>/.git`.
            cmd.arg("--strict");
        }
        cmd.args(&opts.args);
        cmd.arg(git_dir);
        if let Some(p) = &opts.protocol {
            cmd.env("GIT_PROTOCOL", p);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Run `service` over the caller's own stdin and stdout (SSH forced command, stdio
    /// subcommands) and return git's exit status.
    pub fn run_inherited(
        &self,
        service: Service,
        mode: Mode,
        git_dir: &Path,
        opts: &RunOptions,
    ) -> Result<ExitStatus, Error> {
        let _slot = self.slot()?;
        let mut cmd = self.service_command(service, mode, git_dir, opts);
        if let (Some(notice), false) = (&opts.notice, mode == Mode::AdvertiseRefs) {
            let v2 = wants_v2(opts.protocol.as_deref());
            return messages::run_inherited(&mut cmd, service, v2, notice).map_err(|source| {
                Error::Io {
                    what: service.command().into(),
                    source,
                }
            });
        }
        cmd.stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        cmd.status().map_err(|source| Error::Io {
            what: service.command().into(),
            source,
        })
    }

    /// Start `service` for an HTTP ref advertisement; the returned reader streams git's output.
    ///
    /// A protocol v2 upload-pack advertisement lists capabilities, not refs: it depends only on
    /// git and its configuration. git's own output is cached, keyed by the binary, the options
    /// and the state of every config file git reads, so most `info/refs` requests need no git
    /// process at all.
    pub fn advertise(
        &self,
        service: Service,
        git_dir: &Path,
        opts: &RunOptions,
    ) -> Result<Box<dyn Read + Send>, Error> {
        let v2 = wants_v2(opts.protocol.as_deref());
        if let (Service::UploadPack, Some(dir), true) = (service, &self.adv_cache, v2) {
            return self.cached_advertisement(dir, git_dir, opts);
        }
        if service == Service::UploadPack && !v2 {
            let v1 = opts
                .protocol
                .as_deref()
                .is_some_and(|p| p.split(':').any(|item| item == "version=1"));
            let agent = self.agent();
            if let Some(bytes) = self.native(git_dir, opts, |repo, ns| {
                advertise::v0_refs(repo, ns, v1, &agent).map(Some)
            }) {
                return Ok(Box::new(io::Cursor::new(bytes)));
            }
        }
        Ok(Box::new(self.advertise_stream(service, git_dir, opts)?))
    }

    fn cached_advertisement(
        &self,
        dir: &Path,
        git_dir: &Path,
        opts: &RunOptions,
    ) -> Result<Box<dyn Read + Send>, Error> {
        let (key, ttl) = self.advertisement_key(git_dir, opts);
        let file = dir.join(format!("{key}.adv"));
        let fresh = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < ttl));
        if fresh {
            if let Ok(bytes) = std::fs::read(&file) {
                return Ok(Box::new(io::Cursor::new(bytes)));
            }
        }
        let mut out = Vec::new();
        self.advertise_stream(Service::UploadPack, git_dir, opts)?
            .read_to_end(&mut out)
            .map_err(|source| Error::Io {
                what: "upload-pack".into(),
                source,
            })?;
        // A `session-id` (transfer.advertiseSID) names one git process: it is not shared.
        let per_process = out.windows(11).any(|w| w == b"session-id=");
        if out.starts_with(b"000eversion 2\n") && out.ends_with(b"0000") && !per_process {
            // A cache write that fails only costs the next request a git process.
            let _ = std::fs::create_dir_all(dir);
            let _ = crate::core::fsutil::write_atomic(&file, &out, 0o644);
        }
        Ok(Box::new(io::Cursor::new(out)))
    }

    /// The cache key of a v2 capability advertisement.
    ///
    /// It covers what git's answer is made of: the binary, the options, the configuration
    /// variables in the environment and the *contents* of every config file git reads. The
    /// repository's path is not part of it, so a repository whose config reads like another's
    /// (every freshly created one) shares that one's entry and its first `info/refs` starts no
    /// git. Only where a config file may include others (`include.path`, `includeIf "gitdir:"`
    /// depends on the path) does the path go in, and the TTL bounds what an included file can
    /// change unseen. Returns the key and how long an entry under it may be trusted.
    fn advertisement_key(
        &self,
        git_dir: &Path,
        opts: &RunOptions,
    ) -> (String, std::time::Duration) {
        use sha2::Digest as _;
        // A config file this large is not worth reading on every request; its identity
        // (path, size, mtime, inode) stands in for its contents.
        const READ_LIMIT: u64 = 64 * 1024;
        let mut h = sha2::Sha256::new();
        h.update(format!("{}\0{:?}\0", self.path.display(), self.version));
        h.update(format!(
            "{:?}\0{:?}\0{:?}\0",
            opts.protocol, opts.config, self.pack_cache
        ));
        let env = crate::core::env::get();
        let home = env.home.clone().unwrap_or_default();
        let xdg = env
            .xdg_config_home
            .clone()
            .unwrap_or_else(|| home.join(".config"));
        for (var, value) in crate::core::env::GIT_CONFIG_VARS
            .iter()
            .zip(&env.git_config)
        {
            h.update(format!("{var}={value:?}\0"));
        }
        let mut path_matters = false;
        for (i, file) in [
            git_dir.join("config"),
            home.join(".gitconfig"),
            xdg.join("git/config"),
            PathBuf::from("/etc/gitconfig"),
            PathBuf::from("/usr/local/etc/gitconfig"),
        ]
        .iter()
        .enumerate()
        {
            use std::os::unix::fs::MetadataExt;
            h.update(format!("{i}:"));
            match std::fs::metadata(file) {
                Err(_) => h.update(b"absent\0"),
                Ok(m) if m.len() > READ_LIMIT => {
                    path_matters = true;
                    h.update(format!(
                        "{}:{:?}\0",
                        file.display(),
                        (m.len(), m.mtime(), m.mtime_nsec(), m.ino())
                    ));
                }
                Ok(_) => match std::fs::read(file) {
                    Ok(bytes) => {
                        path_matters |=
                            bytes.windows(7).any(|w| w.eq_ignore_ascii_case(b"include"));
                        h.update(format!("{}\0", bytes.len()));
                        h.update(&bytes);
                    }
                    Err(_) => {
                        path_matters = true;
                        h.update(format!("{}:unreadable\0", file.display()));
                    }
                },
            }
        }
        if path_matters {
            h.update(format!("dir:{}\0", git_dir.display()));
        }
        let ttl = if path_matters {
            ADVERTISEMENT_TTL
        } else {
            ADVERTISEMENT_TTL_KEYED
        };
        (
            h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
            ttl,
        )
    }

    fn advertise_stream(
        &self,
        service: Service,
        git_dir: &Path,
        opts: &RunOptions,
    ) -> Result<RpcOutput, Error> {
        let slot = self.slot()?;
        let mut cmd = self.service_command(service, Mode::AdvertiseRefs, git_dir, opts);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let child = spawn_group(&mut cmd, service)?;
        Ok(RpcOutput::direct(child, service.command(), slot))
    }

    /// Run one stateless request: feed `input` to git while its output is collected, then
    /// return the output as a stream.
    ///
    /// The request is fed from the calling thread (the body reader may borrow from the
    /// transport), while a pump thread drains git's stdout so that git never blocks on a full
    /// pipe while we block writing its stdin. Once the request is fed, the pump holds at most a
    /// small window, so a clone's pack streams through without ever being held whole.
    pub fn stateless(
        &self,
        service: Service,
        git_dir: &Path,
        opts: &RunOptions,
        input: &mut dyn Read,
    ) -> Result<Fed, Error> {
        // Only a request whose first part has arrived takes a slot (see `ready`).
        let mut ready = ready::gather(service, input).map_err(Error::Body)?;
        if let (Service::UploadPack, true, ready::Ready::Memory(request)) =
            (service, wants_v2(opts.protocol.as_deref()), &ready)
            // Only an `ls-refs` is worth opening the repository for (a fetch goes to git).
            && advertise::is_ls_refs(request.get_ref())
        {
            // `ls-refs` answered from the refs themselves: no slot, no git process.
            if let Some(bytes) = self.native(git_dir, opts, |repo, ns| {
                advertise::ls_refs(repo, ns, request.get_ref())
            }) {
                return Ok(Fed {
                    output: RpcOutput::ready(bytes),
                    outcome: FeedOutcome::Complete,
                });
            }
        }
        let slot = self.slot()?;
        let mut cmd = self.service_command(service, Mode::StatelessRpc, git_dir, opts);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_group(&mut cmd, service)?;
        if let Some(out) = &child.stdout {
            widen_pipe(out);
        }
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut output = RpcOutput::pumped(child, service.command(), slot);
        if service == Service::ReceivePack {
            output.finish_when_dropped();
        }
        let request = (&mut ready).chain(input);
        let outcome = match &opts.notice {
            Some(notice) => {
                let v2 = wants_v2(opts.protocol.as_deref());
                let (scanner, filter) = messages::pair(service, v2, notice);
                output.filter_with(filter);
                feed(&mut messages::scanning(request, scanner), stdin)
            }
            None => feed(&mut { request }, stdin),
        };
        output.input_done();
        Ok(Fed { output, outcome })
    }
}

/// How feeding the request body to git ended.
#[derive(Debug)]
pub enum FeedOutcome {
    /// The whole body reached git.
    Complete,
    /// git stopped reading early (it rejected the request); the rest of the body was not read.
    EngineClosed,
    /// Reading the body failed (client went away, malformed chunking or gzip).
    BodyError(io::Error),
}

/// A stateless run whose input has been fed.
pub struct Fed {
    /// git's output, to be streamed to the client.
    pub output: RpcOutput,
    /// How feeding the input ended.
    pub outcome: FeedOutcome,
}

fn feed(input: &mut dyn Read, mut stdin: std::process::ChildStdin) -> FeedOutcome {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return FeedOutcome::Complete,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return FeedOutcome::BodyError(e),
        };
        if stdin.write_all(&buf[..n]).is_err() {
            return FeedOutcome::EngineClosed;
        }
    }
}

/// Give a pipe a 1 MiB buffer (Linux default: 64 KiB): a clone's pack then moves in a few
/// hundred large reads instead of thousands of small ones and context switches.
pub(crate) fn widen_pipe(fd: &impl std::os::fd::AsRawFd) {
    // SAFETY: plain fcntl on an open descriptor; failure (e.g. over the system's
    // pipe-max-size) just leaves the default size.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

/// Spawn `cmd` as the leader of its own process group, so that killing the group also stops
/// the helpers git starts (pack-objects, index-pack, hooks) and no stray process survives a
/// client that went away.
fn spawn_group(cmd: &mut Command, service: Service) -> Result<Child, Error> {
    cmd.process_group(0);
    cmd.spawn().map_err(|source| Error::Io {
        what: service.command().into(),
        source,
    })
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// The executable `name` on the environment snapshot's `PATH` (or `name` itself when it is a
/// path), as a shell would find it.
pub fn find_in_path(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return name.is_file().then(|| name.to_path_buf());
    }
    // Without a PATH (an embedding application that installed no environment), the
    // conventional one.
    let path = crate::core::env::get()
        .path
        .clone()
        .unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| crate::core::fsutil::is_executable(candidate))
}

fn binary_identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(format!(
        "{} {} {} {}",
        path.display(),
        m.len(),
        m.mtime(),
        m.ino()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("2.47.3"), Some((2, 47, 3)));
        assert_eq!(parse_version("2.39.5.windows.1"), Some((2, 39, 5)));
        assert_eq!(parse_version("2.40"), Some((2, 40, 0)));
        assert_eq!(parse_version("x"), None);
    }

    #[test]
    fn protocol_values() {
        assert_eq!(sanitize_protocol("version=2").as_deref(), Some("version=2"));
        assert!(sanitize_protocol("version=2\nx").is_none());
        assert!(sanitize_protocol("a b").is_none());
        assert!(sanitize_protocol("").is_none());
        assert!(wants_v2(Some("foo:version=2")));
        assert!(!wants_v2(Some("version=1")));
        assert!(!wants_v2(None));
    }

    #[test]
    fn git_never_inherits_the_pusher() {
        let engine = Engine {
            path: PathBuf::from("git"),
            version: (2, 47, 3),
            version_text: "2.47.3".into(),
            slots: None,
            pack_cache: None,
            adv_cache: None,
        };
        let cmd = engine.command();
        assert!(
            cmd.get_envs()
                .any(|(k, v)| k == hooks::ENV_USER && v.is_none()),
            "HUBCTL_USER must be removed from git's environment"
        );
    }
}
