//! Where hubctl keeps its data, and how that place is chosen.
//!
//! The root comes from `--root` (or `HUBCTL_ROOT`), then the platform data directory. Every
//! other path hubctl uses is derived from it here, so that the layout is written down exactly once.

use std::path::{Path, PathBuf};

/// Environment variable naming the root: read by the command line when `--root` is absent, and
/// handed to the hooks git runs.
pub const ROOT_ENV: &str = "HUBCTL_ROOT";

/// Errors while resolving the root.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither `--root`, `HUBCTL_ROOT` nor a platform data directory is available.
    #[error(
        "no root directory: pass --root DIR or set HUBCTL_ROOT (no platform data directory is known for this user)"
    )]
    NoRoot,
    /// The root could not be created or resolved.
    #[error("cannot use root directory {path}: {source}")]
    Io {
        /// The root in question.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// The data directory of one hubctl installation.
#[derive(Debug, Clone)]
pub struct Root {
    path: PathBuf,
}

impl Root {
    /// Resolve the root from an explicit choice (`--root`, or [`ROOT_ENV`] as the command line
    /// reads it) or the platform default. An empty path counts as no choice. The directory is
    /// created if missing and made absolute, because the path is handed to git, hooks and
    /// `authorized_keys` lines that run with other working directories.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self, Error> {
        let chosen = match explicit.filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => p.to_path_buf(),
            None => directories::ProjectDirs::from("", "", "hubctl")
                .map(|d| d.data_dir().to_path_buf())
                .ok_or(Error::NoRoot)?,
        };
        Self::at(&chosen)
    }

    /// Use `path` as the root, creating it if needed.
    pub fn at(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        let path = path.canonicalize().map_err(io)?;
        Ok(Root { path })
    }

    /// The root directory itself (absolute, symlinks resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<root>/repos`: one directory per namespace, bare repositories inside.
    pub fn repos_dir(&self) -> PathBuf {
        self.path.join("repos")
    }

    /// `<root>/hubctl.db`: the metadata store.
    pub fn db_path(&self) -> PathBuf {
        self.path.join("hubctl.db")
    }

    /// `<root>/run`: lock files and other state that only matters while processes run.
    pub fn run_dir(&self) -> PathBuf {
        self.path.join("run")
    }

    /// `<root>/run/hooks/<ns>/<name>`: the hooks directory git runs through `core.hooksPath`
    /// during a push into `name`.
    pub fn hooks_dir(&self, name: &super::names::RepoName) -> PathBuf {
        self.run_dir()
            .join("hooks")
            .join(name.ns())
            .join(name.name())
    }

    /// `<root>/cache`: data that can be recomputed (pack cache, probed git version).
    pub fn cache_dir(&self) -> PathBuf {
        self.path.join("cache")
    }
}
