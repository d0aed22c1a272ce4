//! Who may do what: the only place hubctl decides permissions and turns a refusal into an
//! HTTP status (401 + challenge, 403, 404) or an SSH error line.

use std::path::{Path, PathBuf};

use crate::http::Response;
use crate::http::router::Site;
use crate::repo::{self, RepoName};

/// What a caller wants to do to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Clone, fetch, ls-remote, read HEAD.
    Read,
    /// Push.
    Write,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Nobody authenticated.
    Anonymous,
    /// A user the transport authenticated before hubctl ran (CGI `REMOTE_USER`).
    TransportUser(String),
    /// The local operator running a stdio subcommand: they can read the files anyway.
    Local,
}

impl Principal {
    /// The name hooks and reflogs see, if any.
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Principal::TransportUser(u) => Some(u),
            Principal::Anonymous | Principal::Local => None,
        }
    }
}

/// A refusal, in terms that every transport can render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No such repository, or one the caller may not know about.
    NotFound,
    /// The caller is known but not allowed.
    Forbidden(String),
    /// The request names something that can never be a repository.
    BadRequest(String),
}

impl Denial {
    /// The HTTP response for this refusal.
    pub fn to_response(&self) -> Response {
        match self {
            Denial::NotFound => Response::text(404, "repository not found"),
            Denial::Forbidden(why) => Response::text(403, why.clone()),
            Denial::BadRequest(why) => Response::text(400, why.clone()),
        }
    }

    /// The one-line message for SSH and stdio clients.
    pub fn message(&self) -> String {
        match self {
            Denial::NotFound => "repository not found".into(),
            Denial::Forbidden(why) | Denial::BadRequest(why) => why.clone(),
        }
    }
}

/// A repository located on disk for a request.
#[derive(Debug, Clone)]
pub struct Located {
    /// The bare repository directory (absolute, symlinks resolved, inside the root).
    pub git_dir: PathBuf,
    /// Its hosted name, in hosted mode.
    pub name: Option<RepoName>,
}

/// Find the repository a URL path part (`/ns/name.git`) names, never looking outside the site.
pub fn locate(site: &Site, url_part: &str) -> Result<Located, Denial> {
    match site {
        Site::Hosted(root) => {
            let name = RepoName::parse(url_part)
                .map_err(|e| Denial::BadRequest(format!("invalid repository path: {e}")))?;
            let git_dir = contained(&root.repos_dir(), &name.path_in(root))?;
            Ok(Located {
                git_dir,
                name: Some(name),
            })
        }
        Site::ProjectRoot { dir, .. } => {
            let rel = url_part.trim_start_matches('/');
            // git-http-backend's alias rules: no empty, `.` or `..` components, no leading `-`.
            let bad = rel.is_empty()
                || rel
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == "..")
                || rel.starts_with('-')
                || rel.contains('\0');
            if bad {
                return Err(Denial::BadRequest("invalid repository path".into()));
            }
            let base = dir.join(rel);
            // Like git's enter_repo(): `<path>`, `<path>.git`, `<path>/.git`, `<path>.git/.git`.
            let candidates = [
                base.clone(),
                PathBuf::from(format!("{}.git", base.display())),
                base.join(".git"),
                PathBuf::from(format!("{}.git", base.display())).join(".git"),
            ];
            let found = candidates
                .iter()
                .find(|c| repo::is_bare_repo(c))
                .ok_or(Denial::NotFound)?;
            let git_dir = contained(dir, found)?;
            Ok(Located {
                git_dir,
                name: None,
            })
        }
    }
}

/// Resolve symlinks in `path` and make sure the result is still inside `base`: a symlink
/// pointing out of the root must not expose anything.
fn contained(base: &Path, path: &Path) -> Result<PathBuf, Denial> {
    let base = base.canonicalize().map_err(|_| Denial::NotFound)?;
    let real = path.canonicalize().map_err(|_| Denial::NotFound)?;
    if real.starts_with(&base) && repo::is_bare_repo(&real) {
        Ok(real)
    } else {
        Err(Denial::NotFound)
    }
}

/// Decide whether `principal` may perform `action` on `repo`.
///
/// This is git-http-backend's rule, used until accounts exist: reading is open (in project-root
/// mode only for exported repositories, unless `http.uploadpack=false`); pushing needs
/// `http.receivepack=true`, or, when that is unset, a user the transport authenticated.
pub fn authorize(
    site: &Site,
    repo: &Located,
    principal: &Principal,
    action: Action,
) -> Result<(), Denial> {
    if *principal == Principal::Local {
        return Ok(());
    }
    if let Site::ProjectRoot { export_all, .. } = site {
        if !export_all && !repo.git_dir.join("git-daemon-export-ok").exists() {
            return Err(Denial::NotFound);
        }
    }
    let config = RepoConfig::open(&repo.git_dir);
    match action {
        Action::Read => {
            if config.boolean("http.uploadpack") == Some(false) {
                return Err(Denial::Forbidden(
                    "Service not enabled: 'upload-pack'".into(),
                ));
            }
            Ok(())
        }
        Action::Write => match config.boolean("http.receivepack") {
            Some(true) => Ok(()),
            Some(false) => Err(Denial::Forbidden(
                "Service not enabled: 'receive-pack'".into(),
            )),
            None if principal.user_name().is_some() => Ok(()),
            None => Err(Denial::Forbidden(
                "Service not enabled: 'receive-pack'".into(),
            )),
        },
    }
}

/// A repository's effective git configuration (system, global and its own), read with gix.
struct RepoConfig(Option<gix::Repository>);

impl RepoConfig {
    fn open(git_dir: &Path) -> RepoConfig {
        RepoConfig(gix::open(git_dir).ok())
    }

    fn boolean(&self, key: &str) -> Option<bool> {
        self.0.as_ref()?.config_snapshot().boolean(key)
    }
}
