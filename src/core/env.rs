//! The environment variables that shape hubctl's behaviour, read once by the edge.
//!
//! `commands/` (and the hook and CGI entry points, which are edges too) capture them into an
//! [`Environment`] and [`install`] it before calling anything else; the library below reads
//! this snapshot, never the process environment. An application that embeds the library and
//! installs nothing gets [`Environment::default`]: `git` from the standard search path, the
//! default database timeout, no overrides.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Environment variable: the git binary hubctl runs (default `git` on `PATH`).
pub const GIT_ENV: &str = "HUBCTL_GIT";
/// Environment variable: seconds a writer waits for the database (default 15).
pub const DB_TIMEOUT_ENV: &str = "HUBCTL_DB_TIMEOUT";
/// The variables git reads its configuration locations from; they are part of what makes a
/// cached capability advertisement valid.
pub const GIT_CONFIG_VARS: [&str; 3] = [
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_GLOBAL",
];

/// The snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// [`GIT_ENV`].
    pub git: Option<OsString>,
    /// `PATH`, where `git` is looked up.
    pub path: Option<OsString>,
    /// `HOME`: git's global configuration lives below it.
    pub home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
    /// The values of [`GIT_CONFIG_VARS`], in that order.
    pub git_config: [Option<OsString>; 3],
    /// [`DB_TIMEOUT_ENV`], when it holds a valid, non-negative number of seconds.
    pub db_timeout: Option<Duration>,
    /// `GIT_NAMESPACE`: git serves only the refs below `refs/namespaces/<ns>/` (git's own
    /// engine processes inherit it; hubctl's own ref advertisement honours it too).
    pub git_namespace: Option<OsString>,
    /// Whether `GIT_USER_AGENT`, `GIT_CONFIG_PARAMETERS` or `GIT_CONFIG_COUNT` is set: they
    /// change the agent or the configuration in ways hubctl's own ref advertisement does not
    /// model, so git then answers itself.
    pub git_advertisement_env: bool,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`: the S3 object
    /// store's credentials when both of the first two are set.
    pub aws: Option<AwsKeys>,
}

/// S3 credentials from the environment. Its `Debug` shows the key id only, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsKeys {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKeys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Environment {
    /// Read the process environment. Only edges call this.
    pub fn capture() -> Environment {
        let var = |k: &str| std::env::var_os(k);
        Environment {
            git: var(GIT_ENV),
            path: var("PATH"),
            home: var("HOME").map(PathBuf::from),
            xdg_config_home: var("XDG_CONFIG_HOME").map(PathBuf::from),
            git_config: GIT_CONFIG_VARS.map(var),
            db_timeout: var(DB_TIMEOUT_ENV)
                .and_then(|v| v.to_str()?.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64),
            git_namespace: var("GIT_NAMESPACE"),
            git_advertisement_env: [
                "GIT_USER_AGENT",
                "GIT_CONFIG_PARAMETERS",
                "GIT_CONFIG_COUNT",
            ]
            .iter()
            .any(|k| var(k).is_some()),
            aws: aws_keys(&var),
        }
    }
}

fn aws_keys(var: &impl Fn(&str) -> Option<OsString>) -> Option<AwsKeys> {
    let text = |k: &str| {
        var(k)
            .and_then(|v| v.into_string().ok())
            .filter(|v| !v.trim().is_empty())
    };
    Some(AwsKeys {
        access_key_id: text("AWS_ACCESS_KEY_ID")?,
        secret_access_key: text("AWS_SECRET_ACCESS_KEY")?,
        session_token: text("AWS_SESSION_TOKEN"),
    })
}

static INSTALLED: OnceLock<Environment> = OnceLock::new();

/// Make `env` the snapshot this process uses. The first call wins; later calls are ignored
/// (the environment of a process does not change under hubctl).
pub fn install(env: Environment) {
    let _ = INSTALLED.set(env);
}

/// The installed snapshot, or the defaults when the edge installed none.
pub fn get() -> &'static Environment {
    INSTALLED.get_or_init(Environment::default)
}
