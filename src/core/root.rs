//! Where hubctl keeps its data, and how that place is chosen.
//!
//! The root comes from `--root` (or `HUBCTL_ROOT`), then the platform data directory. Every
//! other path hubctl uses is derived from it here, so that the layout is written down exactly once.

use std::path::{Path, PathBuf};

use super::fsutil;

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
    /// A command that only reads was pointed at a root that does not exist (a mistyped
    /// `--root` must not create an empty hub).
    #[error(
        "no hubctl root at {}: check --root and HUBCTL_ROOT for a typo, or create one with `hubctl init` (any command that writes, such as `hubctl user add NAME`, creates it too)",
        path.display()
    )]
    Missing {
        /// The root that was asked for.
        path: PathBuf,
    },
    /// The current user may not use the root or its database: the one line says whose it
    /// is, who is asking, and what to do.
    #[error(
        "cannot {action} {}: it belongs to {owner} and hubctl runs as {user}; {fix}",
        path.display()
    )]
    Permission {
        /// What hubctl was trying to do ("write", "create", ...).
        action: &'static str,
        /// The file or directory refused.
        path: PathBuf,
        /// Its owner's name.
        owner: String,
        /// The user hubctl runs as.
        user: String,
        /// The command that fixes it.
        fix: String,
    },
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
        Self::at(&Self::chosen(explicit)?)
    }

    /// The root asked for: `explicit` unless empty, else the platform data directory.
    fn chosen(explicit: Option<&Path>) -> Result<PathBuf, Error> {
        match explicit.filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => Ok(p.to_path_buf()),
            None => directories::ProjectDirs::from("", "", "hubctl")
                .map(|d| d.data_dir().to_path_buf())
                .ok_or(Error::NoRoot),
        }
    }

    /// Like [`Root::resolve`], for commands that only read: a root that does not exist is
    /// [`Error::Missing`] instead of being created.
    pub fn resolve_existing(explicit: Option<&Path>) -> Result<Self, Error> {
        let chosen = Self::chosen(explicit)?;
        if !chosen.is_dir() {
            return Err(Error::Missing { path: chosen });
        }
        Self::at(&chosen)
    }

    /// Use `path` as the root, creating it if needed.
    pub fn at(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Err(e) = std::fs::create_dir_all(path) {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                // Name the directory that refused: the nearest one that exists.
                let parent = path
                    .ancestors()
                    .skip(1)
                    .find(|a| a.is_dir())
                    .unwrap_or(Path::new("/"));
                let user = fsutil::user_name(fsutil::current_uid());
                return Err(Error::Permission {
                    action: "create",
                    path: path.to_path_buf(),
                    owner: format!("{} (owner of {})", owner_of(parent), parent.display()),
                    fix: format!(
                        "create it for {user} as root (sudo install -d -o {user} {}) or choose another --root",
                        path.display()
                    ),
                    user,
                });
            }
            return Err(io(e));
        }
        let path = path.canonicalize().map_err(io)?;
        Ok(Root { path })
    }

    /// Check that the current user may read and write the root directory and the database
    /// files, so that a root owned by another account fails with one line naming the path, the
    /// owner, the user and the fix, rather than SQLite's "attempt to write a readonly database"
    /// half-way through a command.
    pub fn check_access(&self) -> Result<(), Error> {
        let db = self.db_path();
        let mut wal = db.clone().into_os_string();
        wal.push("-wal");
        let mut shm = db.clone().into_os_string();
        shm.push("-shm");
        let dir_mode = libc::R_OK | libc::W_OK | libc::X_OK;
        let file_mode = libc::R_OK | libc::W_OK;
        let checks = [
            (self.path.clone(), dir_mode),
            (db, file_mode),
            (PathBuf::from(wal), file_mode),
            (PathBuf::from(shm), file_mode),
            (self.repos_dir(), dir_mode),
        ];
        for (path, mode) in checks {
            match fsutil::access(&path, mode) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    let user = fsutil::user_name(fsutil::current_uid());
                    let owner = owner_of(&path);
                    let fix = if e.raw_os_error() == Some(libc::EROFS) {
                        "the file system is mounted read-only".to_string()
                    } else if owner != user {
                        format!(
                            "run hubctl as {owner} (sudo -u {owner} hubctl …), or give the root to {user} (sudo chown -R {user} {})",
                            self.path.display()
                        )
                    } else {
                        format!(
                            "give {user} read and write access (chmod -R u+rwX {})",
                            self.path.display()
                        )
                    };
                    return Err(Error::Permission {
                        action: "write",
                        path,
                        owner,
                        user,
                        fix,
                    });
                }
            }
        }
        Ok(())
    }

    /// The owner of the root directory when hubctl runs as root and the root belongs to
    /// another account: files hubctl creates then belong to root, which that account (the one
    /// fcgiwrap or sshd runs hubctl as) cannot change.
    pub fn foreign_owner_of_superuser(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata(&self.path).ok()?.uid();
        (fsutil::current_uid() == 0 && uid != 0).then(|| fsutil::user_name(uid))
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

/// The owner's name of `path` (`?` when it cannot be read).
fn owner_of(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => fsutil::user_name(m.uid()),
        Err(_) => "?".into(),
    }
}
