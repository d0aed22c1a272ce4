//! Global settings (`hubctl config`), stored in the database so every hubctl process sharing a
//! root (server, CGI runs, SSH sessions, hooks) sees the same values. `hubctl serve` reads them
//! when it starts.

use std::path::PathBuf;
use std::time::Duration;

use crate::core::units::{format_size, parse_limit};
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
    /// `hubctl serve`: longest silence while a request body is read, or between requests.
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
}

/// A value a setting does not take; the text says what it takes.
#[derive(Debug, thiserror::Error)]
pub enum InvalidValue {
    /// authorized-keys-file is relative.
    #[error("authorized-keys-file must be an absolute path")]
    RelativePath,
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
/// Default per-address connection limit of `hubctl serve`.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

impl Key {
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
        }
    }

    /// Check and normalise a new value.
    pub fn validate(self, value: &str) -> Result<String, InvalidValue> {
        let value = value.trim();
        match self {
            Key::AuthorizedKeysFile => {
                if std::path::Path::new(value).is_absolute() {
                    Ok(value.to_string())
                } else {
                    Err(InvalidValue::RelativePath)
                }
            }
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
            Key::QueueTimeout | Key::IdleTimeout | Key::HeaderTimeout => {
                humantime::parse_duration(value)
                    .map(|d| humantime::format_duration(d).to_string())
                    .map_err(|e| InvalidValue::Duration {
                        value: value.to_string(),
                        reason: e.to_string(),
                    })
            }
            Key::AutoMaintenance | Key::LfsCheckPointers => match value {
                "on" | "true" | "yes" | "1" => Ok("on".into()),
                "off" | "false" | "no" | "0" => Ok("off".into()),
                _ => Err(InvalidValue::OnOff(self.name())),
            },
        }
    }

    /// The value used when none is stored.
    pub fn default_value(self) -> String {
        match self {
            Key::AuthorizedKeysFile => "(none)".into(),
            Key::PackCacheSize => format_size(DEFAULT_PACK_CACHE),
            Key::MaxEngines => crate::core::util::default_engine_slots().to_string(),
            Key::QueueTimeout => humantime::format_duration(DEFAULT_QUEUE_TIMEOUT).to_string(),
            Key::IdleTimeout => humantime::format_duration(DEFAULT_IDLE_TIMEOUT).to_string(),
            Key::HeaderTimeout => humantime::format_duration(DEFAULT_HEADER_TIMEOUT).to_string(),
            Key::MaxConnections => DEFAULT_MAX_CONNECTIONS.to_string(),
            Key::MaxConnectionsPerIp => DEFAULT_MAX_CONNECTIONS_PER_IP.to_string(),
            Key::AutoMaintenance | Key::LfsCheckPointers => "on".into(),
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
        Ok(s)
    }
}
