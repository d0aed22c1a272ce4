//! `repo import`: clone a repository from a URL or a path onto the server, then register it.
//!
//! git clones into a temporary directory beside the repository's place (inside the root, after
//! the containment check); only a complete clone is renamed into place, together with its
//! database row. Only the ordinary transports are allowed (no `ext::` or other remote
//! helpers that run commands), and the source is passed after `--`, so it can never be taken
//! for an option.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::Engine;
use crate::core::names::RepoName;
use crate::core::root::Root;
use crate::repo;
use crate::store::Store;
use crate::store::repos::RepoSettings;

/// Errors from [`import`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The name, its place, or registering it.
    #[error(transparent)]
    Repo(#[from] repo::CreateError),
    /// git could not be started.
    #[error("running git clone: {0}")]
    Spawn(std::io::Error),
    /// git clone failed (its own messages went to stderr).
    #[error("git clone of {source_text} failed ({status})")]
    Clone {
        /// What was cloned.
        source_text: String,
        /// git's exit status.
        status: std::process::ExitStatus,
    },
    /// The clone finished but is not a bare repository.
    #[error("git clone of {0} did not produce a bare repository")]
    NotBare(String),
    /// Writing the description.
    #[error("writing the description: {0}")]
    Description(std::io::Error),
}

impl From<repo::Error> for Error {
    fn from(e: repo::Error) -> Self {
        Error::Repo(e.into())
    }
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions<'a> {
    /// A URL (`https://`, `http://`, `ssh://`, `git://`, `user@host:path`, `file://`) or a
    /// local path to a repository.
    pub source: &'a str,
    /// `git clone --mirror`: every ref as it is at the source (also `refs/pull/...` and the
    /// like), not only branches and tags.
    pub mirror: bool,
    /// Show git's progress on stderr (its error messages go there either way).
    pub progress: bool,
    /// Text for the `description` file; `None` keeps what the clone brought (nothing).
    pub description: Option<String>,
}

/// Clone `opts.source` as `name` and register it with `settings`; returns its path.
pub fn import(
    engine: &Engine,
    root: &Root,
    store: &mut Store,
    name: &RepoName,
    settings: &RepoSettings,
    opts: &ImportOptions<'_>,
) -> Result<PathBuf, Error> {
    if store
        .repo_row(name)
        .map_err(repo::CreateError::from)?
        .is_some()
    {
        return Err(repo::Error::Exists(name.clone()).into());
    }
    // Before a long clone, not after it.
    if store
        .owner_kind(name.ns())
        .map_err(repo::CreateError::from)?
        .is_none()
    {
        return Err(repo::CreateError::Store(crate::store::Error::NotFound(format!(
            "namespace {:?} is neither a user nor an organisation; create it first (hubctl user add {0} / hubctl org add {0})",
            name.ns()
        )))
        .into());
    }
    let staging = repo::staging_path(root, name)?;
    let result = clone_into(engine, &staging, opts).and_then(|()| {
        if let Some(text) = &opts.description {
            repo::set_description(&staging, text).map_err(Error::Description)?;
        }
        Ok(repo::register_prepared(
            root, store, name, &staging, settings,
        )?)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn clone_into(engine: &Engine, staging: &Path, opts: &ImportOptions<'_>) -> Result<(), Error> {
    let mut cmd = engine.command();
    // Only transports that move data; `ext::` and unknown remote helpers could run commands.
    cmd.args(["-c", "protocol.allow=never"]);
    for p in ["https", "http", "ssh", "git", "file"] {
        cmd.args(["-c", &format!("protocol.{p}.allow=always")]);
    }
    cmd.arg("clone");
    cmd.arg(if opts.mirror { "--mirror" } else { "--bare" });
    // A local source is copied, not hard-linked: the server's repository must not share
    // files with one it does not own.
    cmd.arg("--no-hardlinks");
    cmd.arg(if opts.progress {
        "--progress"
    } else {
        "--quiet"
    });
    cmd.arg("--").arg(opts.source).arg(staging);
    // git's own messages (and its progress, when asked for) go to the operator's stderr.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // Never ask for a password on a terminal the operator may not be watching.
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    let status = cmd.status().map_err(Error::Spawn)?;
    if !status.success() {
        return Err(Error::Clone {
            source_text: opts.source.to_string(),
            status,
        });
    }
    if !repo::is_bare_repo(staging) {
        return Err(Error::NotBare(opts.source.to_string()));
    }
    Ok(())
}
