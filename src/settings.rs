//! Global settings (`hubctl config`), stored in the database so every hubctl process sharing a
//! root (server, CGI runs, SSH sessions, hooks) sees the same values. `hubctl serve` reads them
//! when it starts.

use std::path::PathBuf;
use std::time::Duration;

use crate::core::units::{format_size, parse_limit};
use crate::store::repos::LfsBackend;
use crate::store::{self, Store};

/// A setting's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The authorized_keys file hubctl rewrites when keys change (an absolute path).
    AuthorizedKeysFile,
    /// Upper bound of the pack cache (a size like 2GB, or "off" to switch it off).
    PackCacheSize,
    /// How many git engine processes may run at once (default: twice the cores).
    MaxEngines,
    /// How long a request waits for an engine slot before a 503 (e.g. 60s).
    QueueTimeout,
    /// Repack, multi-pack index, bitmaps and commit-graph after pushes ("on" or "off").
    AutoMaintenance,
    /// `hubctl serve`: longest silence while a request body is read, or between requests; SSH
    /// `git-lfs-transfer`: longest silence before a session ends.
    IdleTimeout,
    /// `hubctl serve`: time a client has to send a whole request head.
    HeaderTimeout,
    /// `hubctl serve`: most open connections.
    MaxConnections,
    /// `hubctl serve`: most open connections from one client address.
    MaxConnectionsPerIp,
    /// Refuse pushes that add Git LFS pointers whose objects the server does not have ("on"
    /// or "off").
    LfsCheckPointers,
    /// The URL HTTP clients reach this server at (`https://git.example.com`): where
    /// `git-lfs-authenticate` sends SSH users for the LFS API.
    PublicUrl,
    /// Serve Git LFS's pure-SSH protocol `git-lfs-transfer` ("on" or "off"); off makes clients
    /// fall back to `git-lfs-authenticate` and HTTP.
    LfsSshTransfer,
    /// Answer `GET /metrics` for anyone ("on" or "off"); off, only administrators' tokens get
    /// the numbers.
    Metrics,
    /// The SSH address clients clone from (`ssh://git@git.example.com:2222`), shown on the
    /// repository pages; unset, pages show `ssh://git@HOST` with the HTTP host.
    SshUrl,
    /// Where Git LFS objects live unless a repository says otherwise: `local` or `s3`.
    LfsStorage,
    /// The S3-compatible endpoint (`https://s3.eu-west-1.amazonaws.com`, `http://minio:9000`).
    LfsS3Endpoint,
    /// The bucket holding the objects.
    LfsS3Bucket,
    /// The region requests are signed for (default `us-east-1`, which MinIO and most others
    /// accept).
    LfsS3Region,
    /// A key prefix below which every repository's objects live (default none).
    LfsS3Prefix,
    /// Address the bucket as `<endpoint>/<bucket>` instead of `<bucket>.<endpoint>` ("on" for
    /// MinIO, Ceph RGW, Garage and the like).
    LfsS3PathStyle,
    /// Stream object bytes through hubctl instead of handing clients presigned URLs ("on" for
    /// stores clients cannot reach).
    LfsS3Proxy,
    /// A file in AWS's shared credentials format holding the access key (used when the
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` environment variables are not set).
    LfsS3CredentialsFile,
    /// A program asked after hubctl's own access table allows a request (an absolute path;
    /// see [`crate::access::command`]).
    AuthorizeCommand,
    /// How long `authorize-command` may take before the request is refused (default 5s).
    AuthorizeTimeout,
}

/// When a running `hubctl serve` starts using a changed setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeTakes {
    /// With the next request that reads it.
    AtOnce,
    /// After `kill -HUP` (or a restart).
    OnSighup,
    /// After a restart.
    OnRestart,
}

/// A value a setting does not take; the text says what it takes.
#[derive(Debug, thiserror::Error)]
pub enum InvalidValue {
    /// A path setting is relative; carries the setting's name.
    #[error("{0} must be an absolute path")]
    RelativePath(&'static str),
    /// Not a size or "off".
    #[error(transparent)]
    Size(#[from] crate::core::units::SizeError),
    /// max-engines out of range.
    #[error("max-engines must be a number from 1 to 10000")]
    Engines,
    /// A connection limit out of range.
    #[error("{0} must be a number from 1 to 1000000")]
    Connections(&'static str),
    /// Not a duration.
    #[error("invalid duration {value:?}: {reason} (e.g. 30s, 2min)")]
    Duration {
        /// The text given.
        value: String,
        /// humantime's reason.
        reason: String,
    },
    /// Not on or off; carries the setting's name.
    #[error("{0} is on or off")]
    OnOff(&'static str),
    /// Not an absolute http(s) URL; says why.
    #[error(
        "public-url must be an absolute http:// or https:// URL such as https://git.example.com: {0}"
    )]
    Url(&'static str),
    /// Not `local` or `s3`.
    #[error("lfs-storage is local or s3")]
    Backend,
    /// Not an http(s) endpoint URL; says why.
    #[error(
        "lfs-s3-endpoint must be an http:// or https:// URL such as https://s3.amazonaws.com: {0}"
    )]
    Endpoint(&'static str),
    /// Not a valid bucket name.
    #[error("lfs-s3-bucket must be 3 to 63 characters of a-z, 0-9, '.' and '-'")]
    Bucket,
    /// Not a valid region name.
    #[error("lfs-s3-region must be a region name such as us-east-1")]
    Region,
    /// Not a valid key prefix.
    #[error("lfs-s3-prefix may hold only A-Z, a-z, 0-9, '-', '_', '.' and '/' and no '..'")]
    Prefix,
    /// Not an ssh:// URL; says why.
    #[error("ssh-url must be an ssh:// URL such as ssh://git@git.example.com: {0}")]
    SshUrl(&'static str),
}

/// Default pack cache bound.
pub const DEFAULT_PACK_CACHE: u64 = 2 << 30;
/// Default queue timeout.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default idle timeout of `hubctl serve`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default request head timeout of `hubctl serve`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connection limit of `hubctl serve`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default of `authorize-timeout`.
pub const DEFAULT_AUTHORIZE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default per-address connection limit of `hubctl serve`.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

impl Key {
    /// Every setting, in the order `config list` prints them.
    pub const ALL: [Key; 24] = [
        Key::AuthorizedKeysFile,
        Key::PackCacheSize,
        Key::MaxEngines,
        Key::QueueTimeout,
        Key::AutoMaintenance,
        Key::IdleTimeout,
        Key::HeaderTimeout,
        Key::MaxConnections,
        Key::MaxConnectionsPerIp,
        Key::LfsCheckPointers,
        Key::PublicUrl,
        Key::LfsSshTransfer,
        Key::SshUrl,
        Key::Metrics,
        Key::LfsStorage,
        Key::LfsS3Endpoint,
        Key::LfsS3Bucket,
        Key::LfsS3Region,
        Key::LfsS3Prefix,
        Key::LfsS3PathStyle,
        Key::LfsS3Proxy,
        Key::LfsS3CredentialsFile,
        Key::AuthorizeCommand,
        Key::AuthorizeTimeout,
    ];

    /// How a running `hubctl serve` takes a change of this setting. CGI runs, SSH sessions and
    /// hooks read every setting afresh, so only `serve` needs telling.
    pub fn serve_takes_change(self) -> ServeTakes {
        match self {
            // The engine's slots and pack cache, and the access rule: rebuilt on SIGHUP.
            Key::PackCacheSize
            | Key::MaxEngines
            | Key::QueueTimeout
            | Key::AuthorizeCommand
            | Key::AuthorizeTimeout => ServeTakes::OnSighup,
            // The connection limits and timeouts live in the listening server.
            Key::IdleTimeout
            | Key::HeaderTimeout
            | Key::MaxConnections
            | Key::MaxConnectionsPerIp => ServeTakes::OnRestart,
            _ => ServeTakes::AtOnce,
        }
    }

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Key::AuthorizedKeysFile => store::SETTING_AUTHORIZED_KEYS_FILE,
            Key::PackCacheSize => "pack-cache-size",
            Key::MaxEngines => "max-engines",
            Key::QueueTimeout => "queue-timeout",
            Key::AutoMaintenance => "auto-maintenance",
            Key::IdleTimeout => "idle-timeout",
            Key::HeaderTimeout => "header-timeout",
            Key::MaxConnections => "max-connections",
            Key::MaxConnectionsPerIp => "max-connections-per-ip",
            Key::LfsCheckPointers => "lfs-check-pointers",
            Key::PublicUrl => "public-url",
            Key::LfsSshTransfer => "lfs-ssh-transfer",
            Key::Metrics => "metrics",
            Key::SshUrl => "ssh-url",
            Key::LfsStorage => "lfs-storage",
            Key::LfsS3Endpoint => "lfs-s3-endpoint",
            Key::LfsS3Bucket => "lfs-s3-bucket",
            Key::LfsS3Region => "lfs-s3-region",
            Key::LfsS3Prefix => "lfs-s3-prefix",
            Key::LfsS3PathStyle => "lfs-s3-path-style",
            Key::LfsS3Proxy => "lfs-s3-proxy",
            Key::LfsS3CredentialsFile => "lfs-s3-credentials-file",
            Key::AuthorizeCommand => "authorize-command",
            Key::AuthorizeTimeout => "authorize-timeout",
        }
    }

    /// Check and normalise a new value.
    pub fn validate(self, value: &str) -> Result<String, InvalidValue> {
        let value = value.trim();
        match self {
            Key::AuthorizedKeysFile | Key::LfsS3CredentialsFile | Key::AuthorizeCommand => {
                if std::path::Path::new(value).is_absolute() {
                    Ok(value.to_string())
                } else {
                    Err(InvalidValue::RelativePath(self.name()))
                }
            }
            Key::LfsStorage => LfsBackend::from_name(value)
                .map(|b| b.as_str().to_string())
                .ok_or(InvalidValue::Backend),
            Key::LfsS3Endpoint => validate_endpoint(value),
            Key::LfsS3Bucket => validate_bucket(value),
            Key::LfsS3Region => validate_region(value),
            Key::LfsS3Prefix => validate_prefix(value),
            Key::PackCacheSize => {
                Ok(parse_limit(value)?.map_or("off".to_string(), |b| b.to_string()))
            }
            Key::MaxEngines => match value.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => Ok(n.to_string()),
                _ => Err(InvalidValue::Engines),
            },
            Key::MaxConnections | Key::MaxConnectionsPerIp => match value.parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => Ok(n.to_string()),
                _ => Err(InvalidValue::Connections(self.name())),
            },
            Key::QueueTimeout | Key::IdleTimeout | Key::HeaderTimeout | Key::AuthorizeTimeout => {
                humantime::parse_duration(value)
                    .map(|d| humantime::format_duration(d).to_string())
                    .map_err(|e| InvalidValue::Duration {
                        value: value.to_string(),
                        reason: e.to_string(),
                    })
            }
            Key::PublicUrl => validate_public_url(value),
            Key::SshUrl => validate_ssh_url(value),
            Key::AutoMaintenance
            | Key::LfsCheckPointers
            | Key::LfsSshTransfer
            | Key::Metrics
            | Key::LfsS3PathStyle
            | Key::LfsS3Proxy => match value {
                "on" | "true" | "yes" | "1" => Ok("on".into()),
                "off" | "false" | "no" | "0" => Ok("off".into()),
                _ => Err(InvalidValue::OnOff(self.name())),
            },
        }
    }
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// See [`Key::AuthorizedKeysFile`].
    pub authorized_keys_file: Option<PathBuf>,
    /// Pack cache bound; `None` = off.
    pub pack_cache_size: Option<u64>,
    /// Engine slots; `None`: twice the cores (worked out only when a slot is needed, since
    /// finding the core count reads cgroup files).
    pub max_engines: Option<usize>,
    /// Wait for a slot at most this long.
    pub queue_timeout: Duration,
    /// Maintain repositories after pushes.
    pub auto_maintenance: bool,
    /// See [`Key::IdleTimeout`].
    pub idle_timeout: Duration,
    /// See [`Key::HeaderTimeout`].
    pub header_timeout: Duration,
    /// See [`Key::MaxConnections`].
    pub max_connections: usize,
    /// See [`Key::MaxConnectionsPerIp`].
    pub max_connections_per_ip: usize,
    /// Check that every Git LFS pointer a push adds has its object on the server.
    pub lfs_check_pointers: bool,
    /// See [`Key::PublicUrl`]: validated, without a trailing `/`.
    pub public_url: Option<String>,
    /// See [`Key::LfsSshTransfer`].
    pub lfs_ssh_transfer: bool,
    /// See [`Key::Metrics`].
    pub metrics: bool,
    /// See [`Key::SshUrl`]: validated, without a trailing `/`.
    pub ssh_url: Option<String>,
    /// See [`Key::LfsStorage`].
    pub lfs_storage: LfsBackend,
    /// The `lfs-s3-*` settings.
    pub s3: S3Settings,
    /// See [`Key::AuthorizeCommand`].
    pub authorize_command: Option<PathBuf>,
    /// See [`Key::AuthorizeTimeout`].
    pub authorize_timeout: Duration,
}

/// The S3-compatible object store's settings (`lfs-s3-*`). Credentials are never stored in
/// the database: they come from the environment or from [`S3Settings::credentials_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// See [`Key::LfsS3Endpoint`]: validated, without a trailing `/`.
    pub endpoint: Option<String>,
    /// See [`Key::LfsS3Bucket`].
    pub bucket: Option<String>,
    /// See [`Key::LfsS3Region`].
    pub region: String,
    /// See [`Key::LfsS3Prefix`]: without leading or trailing `/`.
    pub prefix: String,
    /// See [`Key::LfsS3PathStyle`].
    pub path_style: bool,
    /// See [`Key::LfsS3Proxy`].
    pub proxy: bool,
    /// See [`Key::LfsS3CredentialsFile`].
    pub credentials_file: Option<PathBuf>,
}

/// Default region of `lfs-s3-region`.
pub const DEFAULT_S3_REGION: &str = "us-east-1";

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint: None,
            bucket: None,
            region: DEFAULT_S3_REGION.to_string(),
            prefix: String::new(),
            path_style: false,
            proxy: false,
            credentials_file: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            authorized_keys_file: None,
            pack_cache_size: Some(DEFAULT_PACK_CACHE),
            max_engines: None,
            queue_timeout: DEFAULT_QUEUE_TIMEOUT,
            auto_maintenance: true,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            lfs_check_pointers: true,
            public_url: None,
            lfs_ssh_transfer: true,
            metrics: false,
            ssh_url: None,
            lfs_storage: LfsBackend::Local,
            s3: S3Settings::default(),
            authorize_command: None,
            authorize_timeout: DEFAULT_AUTHORIZE_TIMEOUT,
        }
    }
}

impl Settings {
    /// Read the stored settings, defaults for the rest. A stored value that no longer parses
    /// falls back to the default rather than stopping the server.
    pub fn load(store: &Store) -> Result<Settings, store::Error> {
        let mut s = Settings::default();
        let stored = store.settings()?;
        let get = |k: Key| stored.get(k.name()).map(String::as_str);
        s.authorized_keys_file = get(Key::AuthorizedKeysFile).map(PathBuf::from);
        if let Some(Ok(limit)) = get(Key::PackCacheSize).map(parse_limit) {
            s.pack_cache_size = limit.filter(|b| *b > 0);
        }
        if let Some(n) = get(Key::MaxEngines).and_then(|v| v.parse().ok()) {
            s.max_engines = Some(n);
        }
        if let Some(d) = get(Key::QueueTimeout).and_then(|v| humantime::parse_duration(v).ok()) {
            s.queue_timeout = d;
        }
        if let Some(v) = get(Key::AutoMaintenance) {
            s.auto_maintenance = v != "off";
        }
        let duration = |k: Key| get(k).and_then(|v| humantime::parse_duration(v).ok());
        if let Some(d) = duration(Key::IdleTimeout) {
            s.idle_timeout = d;
        }
        if let Some(d) = duration(Key::HeaderTimeout) {
            s.header_timeout = d;
        }
        if let Some(n) = get(Key::MaxConnections).and_then(|v| v.parse().ok()) {
            s.max_connections = n;
        }
        if let Some(n) = get(Key::MaxConnectionsPerIp).and_then(|v| v.parse().ok()) {
            s.max_connections_per_ip = n;
        }
        if let Some(v) = get(Key::LfsCheckPointers) {
            s.lfs_check_pointers = v != "off";
        }
        s.public_url = get(Key::PublicUrl).and_then(|v| validate_public_url(v).ok());
        if let Some(v) = get(Key::LfsSshTransfer) {
            s.lfs_ssh_transfer = v != "off";
        }
        s.metrics = get(Key::Metrics) == Some("on");
        s.ssh_url = get(Key::SshUrl).and_then(|v| validate_ssh_url(v).ok());
        s.lfs_storage = get(Key::LfsStorage)
            .and_then(LfsBackend::from_name)
            .unwrap_or_default();
        s.s3.endpoint = get(Key::LfsS3Endpoint).and_then(|v| validate_endpoint(v).ok());
        s.s3.bucket = get(Key::LfsS3Bucket).and_then(|v| validate_bucket(v).ok());
        if let Some(r) = get(Key::LfsS3Region).and_then(|v| validate_region(v).ok()) {
            s.s3.region = r;
        }
        s.s3.prefix = get(Key::LfsS3Prefix)
            .and_then(|v| validate_prefix(v).ok())
            .unwrap_or_default();
        s.s3.path_style = get(Key::LfsS3PathStyle) == Some("on");
        s.s3.proxy = get(Key::LfsS3Proxy) == Some("on");
        s.s3.credentials_file = get(Key::LfsS3CredentialsFile).map(PathBuf::from);
        s.authorize_command = get(Key::AuthorizeCommand).map(PathBuf::from);
        if let Some(d) = duration(Key::AuthorizeTimeout) {
            s.authorize_timeout = d;
        }
        Ok(s)
    }
}

/// One setting's effective value, as `config get` and `config list` show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// The setting's name (`pack-cache-size`).
    pub name: &'static str,
    /// The value for machines: sizes in bytes, durations in seconds, counts as numbers, on/off
    /// as booleans, paths and URLs as strings; `null` for "off" or "none".
    pub value: serde_json::Value,
    /// The value for people: sizes like `2.0 GiB`, durations like `1m`, `on`/`off`, `(none)`.
    #[serde(skip)]
    pub text: String,
    /// True when nothing is stored and the default applies.
    pub default: bool,
}

impl Settings {
    /// The effective value of every setting (stored or default), in [`Key::ALL`] order.
    pub fn entries(store: &Store) -> Result<Vec<Entry>, store::Error> {
        let stored = store.settings()?;
        let s = Settings::load(store)?;
        Ok(Key::ALL
            .iter()
            .map(|&k| {
                let (value, text) = s.value_of(k);
                Entry {
                    name: k.name(),
                    value,
                    text,
                    default: !stored.contains_key(k.name()),
                }
            })
            .collect())
    }

    fn value_of(&self, k: Key) -> (serde_json::Value, String) {
        use serde_json::Value;
        let duration = |d: Duration| {
            let json = if d.subsec_nanos() == 0 {
                Value::from(d.as_secs())
            } else {
                Value::from(d.as_secs_f64())
            };
            (json, humantime::format_duration(d).to_string())
        };
        let on_off = |b: bool| (Value::Bool(b), if b { "on" } else { "off" }.to_string());
        let count = |n: usize| (Value::from(n), n.to_string());
        let text = |t: Option<&str>| match t {
            Some(t) => (Value::from(t), t.to_string()),
            None => (Value::Null, "(none)".to_string()),
        };
        match k {
            Key::AuthorizeTimeout => duration(self.authorize_timeout),
            Key::AuthorizedKeysFile | Key::AuthorizeCommand => match match k {
                Key::AuthorizeCommand => &self.authorize_command,
                _ => &self.authorized_keys_file,
            } {
                Some(p) => (
                    Value::from(p.display().to_string()),
                    p.display().to_string(),
                ),
                None => (Value::Null, "(none)".into()),
            },
            Key::PackCacheSize => match self.pack_cache_size {
                Some(b) => (Value::from(b), format_size(b)),
                None => (Value::Null, "off".into()),
            },
            Key::MaxEngines => count(
                self.max_engines
                    .unwrap_or_else(crate::core::util::default_engine_slots),
            ),
            Key::QueueTimeout => duration(self.queue_timeout),
            Key::IdleTimeout => duration(self.idle_timeout),
            Key::HeaderTimeout => duration(self.header_timeout),
            Key::AutoMaintenance => on_off(self.auto_maintenance),
            Key::LfsCheckPointers => on_off(self.lfs_check_pointers),
            Key::LfsSshTransfer => on_off(self.lfs_ssh_transfer),
            Key::MaxConnections => count(self.max_connections),
            Key::MaxConnectionsPerIp => count(self.max_connections_per_ip),
            Key::Metrics => on_off(self.metrics),
            Key::SshUrl => match &self.ssh_url {
                Some(u) => (Value::from(u.clone()), u.clone()),
                None => (Value::Null, "(none)".into()),
            },
            Key::LfsStorage => (
                Value::from(self.lfs_storage.as_str()),
                self.lfs_storage.as_str().to_string(),
            ),
            Key::LfsS3Endpoint => text(self.s3.endpoint.as_deref()),
            Key::LfsS3Bucket => text(self.s3.bucket.as_deref()),
            Key::LfsS3Region => text(Some(self.s3.region.as_str())),
            Key::LfsS3Prefix => text(Some(self.s3.prefix.as_str()).filter(|p| !p.is_empty())),
            Key::LfsS3PathStyle => on_off(self.s3.path_style),
            Key::LfsS3Proxy => on_off(self.s3.proxy),
            Key::LfsS3CredentialsFile => {
                text(self.s3.credentials_file.as_ref().and_then(|p| p.to_str()))
            }
            Key::PublicUrl => match &self.public_url {
                Some(u) => (Value::from(u.clone()), u.clone()),
                None => (Value::Null, "(none)".into()),
            },
        }
    }
}

/// An S3 endpoint: an `http://` or `https://` URL with a host and no credentials, query or
/// fragment (the same shape as `public-url`), without a trailing `/`.
fn validate_endpoint(value: &str) -> Result<String, InvalidValue> {
    validate_public_url(value).map_err(|e| match e {
        InvalidValue::Url(why) => InvalidValue::Endpoint(why),
        other => other,
    })
}

/// A bucket name as S3 allows it (3 to 63 of `a-z 0-9 . -`, starting and ending with a letter
/// or digit): it ends up in URLs and host names.
fn validate_bucket(value: &str) -> Result<String, InvalidValue> {
    let ok = (3..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(value.to_string())
    } else {
        Err(InvalidValue::Bucket)
    }
}

/// A region name: 1 to 64 of `a-z 0-9 -`.
fn validate_region(value: &str) -> Result<String, InvalidValue> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(InvalidValue::Region)
    }
}

/// A key prefix: path segments of `A-Z a-z 0-9 - _ .`, none of them `.` or `..`; stored
/// without leading or trailing `/`. Empty means none.
fn validate_prefix(value: &str) -> Result<String, InvalidValue> {
    let trimmed = value.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let ok = trimmed.len() <= 200
        && trimmed.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(InvalidValue::Prefix)
    }
}

/// An `ssh://[user@]host[:port][/prefix]` URL without spaces, quotes, query or fragment;
/// normalised without a trailing `/`, so `<ssh-url>/NS/NAME.git` is a clone URL.
fn validate_ssh_url(value: &str) -> Result<String, InvalidValue> {
    let rest = value
        .strip_prefix("ssh://")
        .ok_or(InvalidValue::SshUrl("the scheme must be ssh://"))?;
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '<' | '>' | '\''))
    {
        return Err(InvalidValue::SshUrl(
            "no spaces, quotes or control characters",
        ));
    }
    if value.contains(['?', '#']) {
        return Err(InvalidValue::SshUrl("no query or fragment"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(InvalidValue::SshUrl("the host is missing"));
    }
    Ok(value.trim_end_matches('/').to_string())
}

/// An absolute `http://` or `https://` URL with a host, optionally a port and a path prefix
/// (hubctl behind a web server at `https://host/git`), no credentials, query or fragment.
/// Normalised without a trailing `/`, so `<public-url>/NS/NAME.git` is always well formed.
pub fn validate_public_url(value: &str) -> Result<String, InvalidValue> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or(InvalidValue::Url("the scheme must be http:// or https://"))?;
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    {
        return Err(InvalidValue::Url("no spaces, quotes or control characters"));
    }
    if value.contains(['?', '#']) {
        return Err(InvalidValue::Url("no query or fragment"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(InvalidValue::Url("no user name or password"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8443`.
        Some(inner) => {
            let (host, tail) = inner
                .split_once(']')
                .ok_or(InvalidValue::Url("an IPv6 host needs its closing ]"))?;
            match tail {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        tail.strip_prefix(':')
                            .ok_or(InvalidValue::Url("only :PORT may follow the host"))?,
                    ),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
    });
    if !port_ok {
        return Err(InvalidValue::Url("the port must be a number up to 65535"));
    }
    if host.is_empty() {
        return Err(InvalidValue::Url("the host is missing"));
    }
    Ok(value.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url() {
        for (given, stored) in [
            ("https://git.example.com", "https://git.example.com"),
            ("https://git.example.com/", "https://git.example.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("https://example.com/git/", "https://example.com/git"),
            ("https://[::1]:8443", "https://[::1]:8443"),
            (" https://git.example.com ", "https://git.example.com"),
        ] {
            assert_eq!(Key::PublicUrl.validate(given).unwrap(), stored, "{given}");
        }
        for bad in [
            "git.example.com",
            "ftp://git.example.com",
            "ssh://git.example.com",
            "https://",
            "https:///path",
            "https://:443",
            "https://host:port",
            "https://host:99999",
            "https://user:pw@host",
            "https://host/a b",
            "https://host/?q=1",
            "https://host/#x",
            "/relative/path",
            "",
        ] {
            assert!(Key::PublicUrl.validate(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn s3_values() {
        assert_eq!(Key::LfsStorage.validate(" s3 ").unwrap(), "s3");
        assert!(Key::LfsStorage.validate("S3X").is_err());
        assert_eq!(
            Key::LfsS3Endpoint
                .validate("http://127.0.0.1:9000/")
                .unwrap(),
            "http://127.0.0.1:9000"
        );
        for bad in ["s3.amazonaws.com", "https://k:s@host", "https://h/?x"] {
            assert!(Key::LfsS3Endpoint.validate(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Key::LfsS3Bucket.validate("lfs-objects.1").unwrap(),
            "lfs-objects.1"
        );
        for bad in [
            "ab",
            "Upper",
            "-lead",
            "trail-",
            "a/b",
            "a b",
            &"x".repeat(64),
        ] {
            assert!(Key::LfsS3Bucket.validate(bad).is_err(), "{bad:?}");
        }
        assert!(Key::LfsS3Region.validate("eu-west-1").is_ok());
        assert!(Key::LfsS3Region.validate("eu west").is_err());
        assert_eq!(Key::LfsS3Prefix.validate("/lfs/v1/").unwrap(), "lfs/v1");
        assert_eq!(Key::LfsS3Prefix.validate("/").unwrap(), "");
        for bad in ["a/../b", "a//b", "..", "a b", "a?b", "\\x"] {
            assert!(Key::LfsS3Prefix.validate(bad).is_err(), "{bad:?}");
        }
        assert!(Key::LfsS3CredentialsFile.validate("creds").is_err());
        assert!(Key::LfsS3CredentialsFile.validate("/etc/hubctl/s3").is_ok());
    }

    #[test]
    fn authorize_command_and_timeout() {
        assert_eq!(
            Key::AuthorizeCommand
                .validate(" /usr/local/bin/authz ")
                .unwrap(),
            "/usr/local/bin/authz"
        );
        for bad in ["authz", "./authz", "bin/authz", ""] {
            let e = Key::AuthorizeCommand.validate(bad).unwrap_err();
            assert_eq!(e.to_string(), "authorize-command must be an absolute path");
        }
        assert_eq!(
            Key::AuthorizeTimeout.validate("1500ms").unwrap(),
            "1s 500ms"
        );
        assert!(Key::AuthorizeTimeout.validate("soon").is_err());
        assert_eq!(
            Settings::default().authorize_timeout,
            Duration::from_secs(5)
        );
        assert_eq!(
            Key::AuthorizeCommand.serve_takes_change(),
            ServeTakes::OnSighup
        );
    }

    #[test]
    fn ssh_url() {
        assert_eq!(
            Key::SshUrl.validate("ssh://git@example.com:2222/").unwrap(),
            "ssh://git@example.com:2222"
        );
        for bad in [
            "git@example.com",
            "https://example.com",
            "ssh://",
            "ssh://git@",
            "ssh://a b",
            "ssh://h/<x>",
            "ssh://h/?q",
        ] {
            assert!(Key::SshUrl.validate(bad).is_err(), "{bad:?} accepted");
        }
    }
}
