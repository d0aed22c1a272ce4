//! Embedding hubctl in an application of your own: the supported, stable library API.
//!
//! A [`Hub`] is hubctl's whole HTTP side (Smart HTTP, dumb HTTP, Git LFS, the keys API, the
//! HTML pages, `/healthz`, `/metrics`) for one hubctl root, without a server of its own. The
//! application mounts it below a path prefix of its HTTP server (say `/git`), and for each
//! request below that prefix builds a [`Request`] (method, path below the mount point, query,
//! headers, body reader, remote address) and writes back the [`Response`] it gets (status,
//! headers, streaming body). Neither side holds a pack or an LFS object in memory: the
//! request body is read as git consumes it, the response body is produced as it is sent.
//!
//! Everything else stays hubctl's: users, tokens, repositories, grants and settings live in
//! the root and are managed with the `hubctl` command (`hubctl --root DIR user add ...`), and
//! git runs the `hubctl` program for hooks and the pack cache (see [`Builder::program`]).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let hubctl = std::env::current_exe()?; // stands in for the hubctl binary: nothing is pushed
//! # let root = dir.path();
//! use hubctl::embed::{Hub, Request};
//!
//! // Once, at start-up: the root and where the application mounts hubctl.
//! let hub = Hub::builder(root)
//!     .mount("/git")
//!     .program(&hubctl) // the hubctl binary, if it is not on PATH
//!     .public_url("https://app.example.com")
//!     .open()?;
//!
//! // Per request (from any thread): the URL the application received...
//! let url = "/git/healthz";
//! if let Some(below) = hub.below_mount(url) {
//!     // ...becomes a request below the mount point, and the answer goes back out.
//!     let response = hub.handle(Request::new("GET", below));
//!     assert_eq!(response.status(), 200);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! `examples/embed.rs` is a complete tiny_http application built this way; the README's
//! "Embedding" section says what is stable.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::access::Site;
pub use crate::access::authorize::{Authorize, Decision, Query, Table, Transport, Want};
pub use crate::access::{Denial, Principal};
use crate::core::root::Root;
use crate::git::Engine;
use crate::transport::http::router::{App, Options};
use crate::transport::http::{self as http, Body, Headers, Method};

/// Why a [`Hub`] could not be opened. The errors inside [`Error::Root`], [`Error::Store`] and
/// [`Error::Git`] are the library's own types, which are not part of the stable API: match on
/// the variant and show the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The mount point is not a clean URL path.
    #[error(
        "mount point {0:?} must be empty or a URL path such as /git (starting with /, no query, no %, no empty, . or .. segments)"
    )]
    Mount(String),
    /// The public URL is not an absolute `http://` or `https://` URL.
    #[error("public URL {url:?}: {reason}")]
    PublicUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No `hubctl` program was named and none is on `PATH` ([`Builder::program`]).
    #[error(
        "no hubctl program: install hubctl on PATH or name it with embed::Builder::program (git runs it for hubctl's hooks and pack cache)"
    )]
    NoProgram,
    /// The hubctl program named is not an executable file.
    #[error("hubctl program {}: not an executable file", .0.display())]
    ProgramNotExecutable(PathBuf),
    /// Another hub in this process already chose a different hubctl program.
    #[error(
        "this process already runs hubctl hooks with another program than {}; every hub of a process must name the same one",
        .0.display()
    )]
    ProgramConflict(PathBuf),
    /// The root cannot be used.
    #[error(transparent)]
    Root(#[from] crate::core::root::Error),
    /// The root's database cannot be opened or read.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// git cannot be found or used.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
}

/// How to open a [`Hub`]: the root, the mount point and the application's options. Made by
/// [`Hub::builder`]; every setting has a default.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let hubctl = std::env::current_exe()?;
/// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl)
///     .mount("/git")
///     .max_push_size(Some(100 << 20))
///     .open()?;
/// assert_eq!(hub.mount(), "/git");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open`"]
pub struct Builder {
    root: PathBuf,
    mount: String,
    public_url: Option<String>,
    max_push_size: Option<u64>,
    authorized_keys_file: Option<PathBuf>,
    program: Option<PathBuf>,
    authorize: Option<Arc<dyn Authorize>>,
}

impl Builder {
    /// The URL path prefix the application serves hubctl under, such as `/git` (a trailing
    /// `/` is dropped; empty or `/` mounts it at the top). Every path hubctl hands out — LFS
    /// action URLs, `Location` headers of renamed repositories, links on the HTML pages —
    /// starts with it. Default: empty.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).mount("/tools/git/").open()?;
    /// assert_eq!(hub.mount(), "/tools/git");
    /// assert!(hubctl::embed::Hub::builder(dir.path()).program(&hubctl).mount("/a/../b").open().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn mount(mut self, prefix: &str) -> Builder {
        self.mount = prefix.to_string();
        self
    }

    /// The application's public URL (`https://app.example.com`, without the mount point):
    /// absolute URLs hubctl hands out (LFS actions, clone URLs on the HTML pages) are this
    /// URL, then the mount point, then the path. Without it they are built from each
    /// request's `Host` header and [`Request::secure`] (and the HTML pages use the stored
    /// `public-url` setting when there is one). Needed behind a proxy that rewrites `Host`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let builder = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).mount("/git");
    /// assert!(builder.clone().public_url("https://app.example.com/").open().is_ok());
    /// assert!(builder.public_url("app.example.com").open().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn public_url(mut self, url: &str) -> Builder {
        self.public_url = Some(url.to_string());
        self
    }

    /// The largest pack one push may send (git's `receive.maxInputSize`, as `hubctl serve
    /// --max-push-size`); `None`, the default, is unlimited.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let builder = hubctl::embed::Hub::builder(dir.path()).max_push_size(Some(1 << 30));
    /// ```
    pub fn max_push_size(mut self, bytes: Option<u64>) -> Builder {
        self.max_push_size = bytes;
        self
    }

    /// The `authorized_keys` file the keys API (`/api/user/keys`) rewrites when a user adds
    /// or removes a key; default: the stored `authorized-keys-file` setting.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let builder = hubctl::embed::Hub::builder(dir.path())
    ///     .authorized_keys_file("/home/git/.ssh/authorized_keys");
    /// ```
    pub fn authorized_keys_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.authorized_keys_file = Some(path.into());
        self
    }

    /// The `hubctl` binary (of this library's version) that git runs as hubctl's
    /// pre-receive and post-receive hooks and as the pack cache's hook, and that starts
    /// background maintenance: the application itself is not hubctl, so git cannot run it.
    /// Default: `hubctl` on `PATH`; [`Builder::open`] fails without one. One program serves
    /// the whole process (the first hub opened chooses it).
    ///
    /// The examples in this module's documentation name their own executable instead (they
    /// push nothing, so git never runs it); a real application names the hubctl binary.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let builder = hubctl::embed::Hub::builder(dir.path()).program("/usr/local/bin/hubctl");
    ///
    /// let missing = hubctl::embed::Hub::builder(dir.path()).program("/nonexistent/hubctl").open();
    /// assert!(matches!(missing, Err(hubctl::embed::Error::ProgramNotExecutable(_))));
    /// ```
    pub fn program(mut self, path: impl Into<PathBuf>) -> Builder {
        self.program = Some(path.into());
        self
    }

    /// The application's own access rule, which decides every request in place of hubctl's
    /// (git and dumb HTTP, Git LFS batch, transfers, locks and verify, the keys API, the HTML
    /// pages). Its [`Query`] carries the principal hubctl authenticated (from its tokens) or
    /// [`Principal::Anonymous`], the repository, the [`Want`] and [`Transport::Embedded`].
    /// Delegate to [`Table`] to keep hubctl's own rules for some requests. Default: hubctl's
    /// table, followed by the stored `authorize-command` when one is set.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// use std::sync::Arc;
    /// use hubctl::embed::{Authorize, Decision, Hub, Query, Request, Table, Want};
    ///
    /// /// hubctl's rules, except that nobody pushes on this instance.
    /// struct ReadOnly;
    ///
    /// impl Authorize for ReadOnly {
    ///     fn authorize(&self, q: &Query<'_>) -> Decision {
    ///         match q.want {
    ///             Want::Write | Want::LfsWrite => Decision::deny("this mirror is read-only"),
    ///             _ => Table.authorize(q),
    ///         }
    ///     }
    /// }
    ///
    /// let hub = Hub::builder(dir.path()).program(&hubctl).authorize(Arc::new(ReadOnly)).open()?;
    /// assert_eq!(hub.handle(Request::new("GET", "/healthz")).status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn authorize(mut self, rule: Arc<dyn Authorize>) -> Builder {
        self.authorize = Some(rule);
        self
    }

    /// Open the hub: the root (created when missing), its database, git, and the stored
    /// settings that shape the engine (`max-engines`, `queue-timeout`, `pack-cache-size`).
    /// Reads the process environment once, as the `hubctl` binary does (`HUBCTL_GIT`,
    /// `PATH`, `HOME`, `HUBCTL_DB_TIMEOUT`, ...), unless the application installed a snapshot
    /// with [`crate::core::env::install`] first. Settings changed later with `hubctl config`
    /// apply to a hub opened after the change.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path().join("hub")).program(&hubctl).open()?;
    /// assert!(dir.path().join("hub/hubctl.db").exists());
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(self) -> Result<Hub, Error> {
        let mount = normalize_mount(&self.mount).ok_or_else(|| Error::Mount(self.mount.clone()))?;
        let public_base = match &self.public_url {
            None => None,
            Some(url) => {
                let base =
                    crate::settings::validate_public_url(url).map_err(|e| Error::PublicUrl {
                        url: url.clone(),
                        reason: e.to_string(),
                    })?;
                Some(format!("{base}{mount}"))
            }
        };
        crate::core::env::install(crate::core::env::Environment::capture());
        let program = self
            .program
            .clone()
            .or_else(|| crate::git::find_in_path(Path::new("hubctl")))
            .ok_or(Error::NoProgram)?;
        // Absolute (git runs hooks elsewhere), but not resolved: a link such as
        // /usr/local/bin/hubctl keeps working when it is switched to a new version.
        let program = std::path::absolute(&program).unwrap_or(program);
        if !crate::core::fsutil::is_executable(&program) {
            return Err(Error::ProgramNotExecutable(program));
        }
        if !crate::core::util::set_program(program.clone()) {
            return Err(Error::ProgramConflict(program));
        }
        let root = Root::at(&self.root)?;
        root.check_access()?;
        let engine = Engine::for_root(&root)?;
        let settings = crate::store::with_store(&root, |s| crate::settings::Settings::load(s))?;
        // Until a request needs the database, the server keeps no connection to it open.
        crate::store::release_idle();
        if let Some(limit) = settings.pack_cache_size {
            crate::git::pack_cache::sweep(&root, limit);
        }
        let limits = ClientLimits {
            idle_timeout: settings.idle_timeout,
            header_timeout: settings.header_timeout,
            max_connections: settings.max_connections,
            max_connections_per_ip: settings.max_connections_per_ip,
        };
        let authorize = self
            .authorize
            .unwrap_or_else(|| crate::access::authorize::from_settings(&settings));
        let app = App {
            authorize,
            transport: Transport::Embedded,
            site: Site::Hosted(root),
            engine,
            options: Options {
                max_push_size: self.max_push_size,
                trust_remote_user: false,
                authorized_keys_file: self.authorized_keys_file,
                committer_name: None,
                committer_email: None,
                access_log: None,
                public_base,
            },
        };
        Ok(Hub {
            inner: Arc::new(Inner { app, mount, limits }),
        })
    }
}

/// `/git/` → `/git`, `/` and `` → ``; `None` for anything that is not a clean path.
fn normalize_mount(prefix: &str) -> Option<String> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Some(String::new());
    }
    let rest = trimmed.strip_prefix('/')?;
    let clean = rest.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"?#%\\\"<>".contains(&b))
    });
    clean.then(|| trimmed.to_string())
}

/// The bounds on clients that hubctl's stored settings ask for (`idle-timeout`,
/// `header-timeout`, `max-connections`, `max-connections-per-ip`). `hubctl serve` enforces
/// them itself; an embedding application owns the sockets, so its server should apply them.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let hubctl = std::env::current_exe()?;
/// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
/// let limits = hub.client_limits();
/// assert!(limits.idle_timeout > std::time::Duration::ZERO);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientLimits {
    /// Longest silence while a request body is read or a response is written.
    pub idle_timeout: Duration,
    /// Time a client has to send a whole request head.
    pub header_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
    /// Most open connections from one address.
    pub max_connections_per_ip: usize,
}

/// hubctl's HTTP side for one root, mounted at one path prefix of the application. Cheap to
/// clone (the clones share everything) and `Send + Sync`: call [`Hub::handle`] from as many
/// threads at once as the application serves requests on. git's own concurrency is bounded
/// by the root's `max-engines` setting, not by the number of threads.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let hubctl = std::env::current_exe()?;
/// use hubctl::embed::{Hub, Request};
///
/// let hub = Hub::builder(dir.path()).program(&hubctl).mount("/git").open()?;
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let hub = hub.clone();
///         std::thread::spawn(move || hub.handle(Request::new("GET", "/healthz")).status())
///     })
///     .collect();
/// for t in threads {
///     assert_eq!(t.join().unwrap(), 200);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    mount: String,
    limits: ClientLimits,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let root = match &self.inner.app.site {
            Site::Hosted(root) => root.path().display().to_string(),
            Site::ProjectRoot { dir, .. } => dir.display().to_string(),
        };
        f.debug_struct("Hub")
            .field("root", &root)
            .field("mount", &self.inner.mount)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Start configuring a hub for the hubctl root at `root` (as `hubctl --root`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let builder = hubctl::embed::Hub::builder(dir.path());
    /// ```
    pub fn builder(root: impl Into<PathBuf>) -> Builder {
        Builder {
            root: root.into(),
            mount: String::new(),
            public_url: None,
            max_push_size: None,
            authorized_keys_file: None,
            program: None,
            authorize: None,
        }
    }

    /// The mount point, normalised (`/git`, or empty at the top).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).mount("/git/").open()?;
    /// assert_eq!(hub.mount(), "/git");
    /// # Ok(())
    /// # }
    /// ```
    pub fn mount(&self) -> &str {
        &self.inner.mount
    }

    /// The stored bounds on clients, for the application's server to apply.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
    /// assert!(hub.client_limits().max_connections > 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_limits(&self) -> ClientLimits {
        self.inner.limits
    }

    /// If the request target `url` (path and query, as on the request line) is at or below
    /// the mount point, the part below it, for [`Request::new`]; `None` when the URL belongs
    /// to the application.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).mount("/git").open()?;
    /// assert_eq!(hub.below_mount("/git/alice/app.git/info/refs?service=git-upload-pack"),
    ///            Some("/alice/app.git/info/refs?service=git-upload-pack"));
    /// assert_eq!(hub.below_mount("/git"), Some(""));
    /// assert_eq!(hub.below_mount("/gitlab/x"), None);
    /// assert_eq!(hub.below_mount("/hello"), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn below_mount<'u>(&self, url: &'u str) -> Option<&'u str> {
        let rest = url.strip_prefix(self.inner.mount.as_str())?;
        (rest.is_empty() || rest.starts_with(['/', '?'])).then_some(rest)
    }

    /// Answer one request. Reads the request body as far as the answer needs (to its end
    /// for pushes and uploads) before it returns; the response body is then produced while
    /// the application sends it (git's output, an LFS object's bytes). Never panics on
    /// client input: malformed requests get a 4xx answer.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// use std::io::Read;
    /// use hubctl::embed::{Hub, Request};
    ///
    /// let hub = Hub::builder(dir.path()).program(&hubctl).mount("/git").open()?;
    /// let response = hub.handle(
    ///     Request::new("GET", "/nobody/nothing.git/info/refs?service=git-upload-pack")
    ///         .header("Host", "app.example.com")
    ///         .remote_addr("127.0.0.1".parse()?),
    /// );
    /// // Anonymous callers are asked for credentials rather than told what exists.
    /// assert_eq!(response.status(), 401);
    /// assert!(response.header("WWW-Authenticate").is_some());
    /// let mut text = String::new();
    /// response.into_body().read_to_string(&mut text)?;
    /// assert!(!text.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn handle(&self, request: Request<'_>) -> Response {
        let started = Instant::now();
        let app = &self.inner.app;
        let Request {
            method,
            path,
            query,
            headers,
            mut body,
            remote_addr,
            secure,
            user: application_user,
        } = request;
        let method = Method::parse(&method);
        let mut user = None;
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        let inner = match http::percent_decode(&path) {
            None => http::Response::text(400, "malformed request path"),
            Some(decoded) => {
                let mut req = http::Request {
                    method: method.clone(),
                    path: decoded,
                    query: query.clone(),
                    headers,
                    body: &mut body,
                    remote_user: None,
                    remote_addr: remote_addr.map(|a| a.to_string()),
                    secure,
                    script_name: self.inner.mount.clone(),
                    git_protocol_env: None,
                    user: Default::default(),
                    application_user,
                };
                let response = app.handle(&mut req);
                user = req.user.take();
                response
            }
        };
        let route_path = http::percent_decode(&path).unwrap_or(path);
        crate::core::metrics::requests().observe(
            http::log::route_of(&route_path, &query),
            inner.status,
            started.elapsed(),
        );
        let mut response = Response::from_inner(inner, method == Method::Head);
        response.user = user;
        response
    }
}

/// One request for [`Hub::handle`], in the application's terms: made with [`Request::new`],
/// then given headers, a body, the client's address.
///
/// ```
/// use hubctl::embed::Request;
///
/// let pack: &[u8] = b"0000";
/// let request = Request::new("POST", "/alice/app.git/git-upload-pack")
///     .header("Content-Type", "application/x-git-upload-pack-request")
///     .body(pack)
///     .remote_addr("192.0.2.7".parse().unwrap())
///     .secure(true);
/// ```
pub struct Request<'a> {
    method: String,
    path: String,
    query: String,
    headers: Headers,
    body: Box<dyn Read + 'a>,
    remote_addr: Option<IpAddr>,
    secure: bool,
    user: Option<String>,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl Request<'static> {
    /// A request with `method` (`GET`, `POST`, ...) for `target`: the path below the mount
    /// point as it appeared on the request line (still percent-encoded), optionally followed
    /// by `?` and the query — what [`Hub::below_mount`] returns. No headers, an empty body,
    /// no address, not TLS.
    ///
    /// ```
    /// let request = hubctl::embed::Request::new("GET", "/alice/app.git/info/refs?service=git-upload-pack");
    /// ```
    pub fn new(method: &str, target: &str) -> Request<'static> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: Headers::default(),
            body: Box::new(std::io::empty()),
            remote_addr: None,
            secure: false,
            user: None,
        }
    }
}

impl<'a> Request<'a> {
    /// Add a request header (names match case-insensitively). Pass them all on, `Host`,
    /// `Authorization`, `Content-Type`, `Content-Encoding`, `Git-Protocol` and `Range`
    /// included; give the body with the transfer coding already removed (as HTTP servers
    /// hand it out), and a `Content-Length` when the client sent one.
    ///
    /// ```
    /// let request = hubctl::embed::Request::new("GET", "/")
    ///     .header("Host", "app.example.com")
    ///     .header("Git-Protocol", "version=2");
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Request<'a> {
        self.headers.push(name, value);
        self
    }

    /// Replace the query string (without `?`), for servers that hand out the path and the
    /// query separately.
    ///
    /// ```
    /// let request = hubctl::embed::Request::new("GET", "/alice/app.git/info/refs")
    ///     .query("service=git-upload-pack");
    /// ```
    pub fn query(mut self, query: &str) -> Request<'a> {
        self.query = query.to_string();
        self
    }

    /// The request body, read as the answer needs it; never buffered whole.
    ///
    /// ```
    /// let file = std::io::Cursor::new(vec![0u8; 1024]);
    /// let request = hubctl::embed::Request::new("PUT", "/alice/app.git/info/lfs/objects/x")
    ///     .body(file);
    /// ```
    pub fn body<'b>(self, body: impl Read + 'b) -> Request<'b> {
        Request {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            body: Box::new(body),
            remote_addr: self.remote_addr,
            secure: self.secure,
            user: self.user,
        }
    }

    /// The client's address, for git's reflog identity and hubctl's logs.
    ///
    /// ```
    /// let request = hubctl::embed::Request::new("GET", "/")
    ///     .remote_addr(std::net::Ipv4Addr::LOCALHOST.into());
    /// ```
    pub fn remote_addr(mut self, addr: IpAddr) -> Request<'a> {
        self.remote_addr = Some(addr);
        self
    }

    /// Whether the client reached the application over TLS: URLs built from the `Host`
    /// header (without [`Builder::public_url`]) are then `https://`.
    ///
    /// ```
    /// let request = hubctl::embed::Request::new("GET", "/").secure(true);
    /// ```
    pub fn secure(mut self, tls: bool) -> Request<'a> {
        self.secure = tls;
        self
    }

    /// A user the application authenticated itself (its session, its SSO), by its own name:
    /// the request's principal is then [`Principal::Application`] with that name, and
    /// hubctl's own credentials (tokens in `Authorization`) are not read. hubctl's table gives
    /// such a user no more than anonymous reads of public repositories, so this is for an
    /// application that plugs in its own rule with [`Builder::authorize`]; it also names the
    /// pusher in hooks and reflogs.
    ///
    /// ```
    /// let request = hubctl::embed::Request::new("GET", "/alice/app.git/info/refs")
    ///     .user("carol@example.com");
    /// ```
    pub fn user(mut self, name: &str) -> Request<'a> {
        self.user = Some(name.to_string());
        self
    }
}

/// hubctl's answer: status, headers and a body that streams. The application adds its own
/// framing: `Content-Length` when [`Response::content_length`] is known, otherwise chunked
/// transfer coding (or closing the connection); the headers never include either.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let hubctl = std::env::current_exe()?;
/// use std::io::Read;
///
/// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
/// let response = hub.handle(hubctl::embed::Request::new("GET", "/healthz"));
/// assert_eq!(response.status(), 200);
/// assert!(response.header("content-type").is_some());
/// let length = response.content_length();
/// let mut body = Vec::new();
/// response.into_body().read_to_end(&mut body)?;
/// assert_eq!(length, Some(body.len() as u64));
/// # Ok(())
/// # }
/// ```
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Box<dyn Read + Send>,
    content_length: Option<u64>,
    user: Option<String>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("content_length", &self.content_length)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Response {
    fn from_inner(inner: http::Response, head: bool) -> Response {
        let (body, content_length): (Box<dyn Read + Send>, Option<u64>) = match inner.body {
            Body::Empty => (Box::new(std::io::empty()), Some(0)),
            Body::Bytes(b) => {
                let n = b.len() as u64;
                (Box::new(std::io::Cursor::new(b)), Some(n))
            }
            Body::Stream(r) => (r, None),
            Body::Sized(r, n) => (r, Some(n)),
            Body::File(f) => (Box::new(f.file.take(f.len)), Some(f.len)),
        };
        // A HEAD answer keeps the length a GET would have, without the bytes.
        let body = if head {
            Box::new(std::io::empty())
        } else {
            body
        };
        Response {
            status: inner.status,
            headers: inner.headers,
            body,
            content_length,
            user: None,
        }
    }

    /// The status code.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
    /// assert_eq!(hub.handle(hubctl::embed::Request::new("GET", "/no/such/thing/here")).status(), 404);
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response headers, in order (without framing headers).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
    /// let response = hub.handle(hubctl::embed::Request::new("GET", "/healthz"));
    /// for (name, value) in response.headers() {
    ///     assert!(!name.eq_ignore_ascii_case("content-length"));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
    /// let response = hub.handle(hubctl::embed::Request::new("GET", "/healthz"));
    /// assert!(response.header("Content-Type").is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's length when known in advance (send it as `Content-Length`); `None` for a
    /// body produced while it is sent (a clone's pack: send it chunked). For a `HEAD`
    /// request the length is the one `GET` would have, and the body is empty.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
    /// let response = hub.handle(hubctl::embed::Request::new("HEAD", "/healthz"));
    /// assert!(response.content_length().unwrap() > 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The hubctl user the request authenticated as (by a token), for the application's
    /// access log; `None` for anonymous requests and those that never got that far.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
    /// let response = hub.handle(hubctl::embed::Request::new("GET", "/"));
    /// assert_eq!(response.user(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The body, to be read to its end while it is sent. Dropping it early (the client went
    /// away) stops whatever produces it.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let hubctl = std::env::current_exe()?;
    /// let hub = hubctl::embed::Hub::builder(dir.path()).program(&hubctl).open()?;
    /// let response = hub.handle(hubctl::embed::Request::new("GET", "/healthz"));
    /// let mut out = Vec::new();
    /// std::io::copy(&mut response.into_body(), &mut out)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_body(self) -> Box<dyn Read + Send> {
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points() {
        for (given, want) in [
            ("", Some("")),
            ("/", Some("")),
            ("//", Some("")),
            ("/git", Some("/git")),
            ("/git/", Some("/git")),
            ("/a/b", Some("/a/b")),
            ("git", None),
            ("/a//b", None),
            ("/a/../b", None),
            ("/./a", None),
            ("/a?b", None),
            ("/a#b", None),
            ("/a%2e", None),
            ("/a b", None),
            ("/a\nb", None),
            ("/a\\b", None),
        ] {
            assert_eq!(normalize_mount(given).as_deref(), want, "{given:?}");
        }
    }

    #[test]
    fn hub_is_send_sync_and_cheap_to_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Hub>();
        fn send<T: Send>() {}
        send::<Response>();
    }
}
