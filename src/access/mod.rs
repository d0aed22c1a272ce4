//! Who may do what: the only place hubctl decides permissions. A refusal is a [`Denial`],
//! which each transport renders in its own terms (an HTTP status with a challenge, an SSH error
//! line); nothing here knows HTTP or SSH.
//!
//! The rules for hosted repositories, one table:
//!
//! | who                                         | public read | private read | push                   |
//! |---------------------------------------------|-------------|--------------|------------------------|
//! | anonymous                                   | allowed     | 401          | 401                    |
//! | bad, expired or revoked token               | 401         | 401          | 401                    |
//! | user without access                         | allowed     | 404          | 403 public/404 private |
//! | read grant or read-scope token              | allowed     | allowed      | 403                    |
//! | write/admin grant, owner, org member, admin | allowed     | allowed      | allowed                |
//!
//! A missing repository answers like a private one the caller cannot see, and a repository on
//! disk without a database row (not adopted) is visible to administrators only. The
//! git-http-backend compatible mode (`GIT_PROJECT_ROOT`) keeps git-http-backend's own rules.
//!
//! Transports do not call the table: they ask an [`authorize::Gate`], which hands each
//! question to the process's [`authorize::Authorize`] ([`authorize::Table`], this table, unless
//! an embedding application plugs in its own or the operator adds an `authorize-command`).

pub mod authorize;
pub mod command;
pub mod credentials;

use std::path::{Path, PathBuf};

use crate::core::names::RepoName;
use crate::core::root::Root;
use crate::repo;
use crate::store::accounts::{OwnerKind, Role, User};
use crate::store::repos::{Level, Visibility};
use crate::store::tokens::Scope;
use crate::store::{self, Store};

/// What a client is told about a failure on the server; the detail goes to the server's log.
pub const INTERNAL_MESSAGE: &str = "server error; the details are in the server's log";

/// The realm of hubctl's Basic challenge.
pub const REALM: &str = "hubctl";

/// Where repositories come from.
#[derive(Debug, Clone)]
pub enum Site {
    /// hubctl's own layout under a root: `<root>/repos/<ns>/<name>.git`, with accounts.
    Hosted(Root),
    /// git-http-backend compatibility: any repository below `GIT_PROJECT_ROOT`, exported by
    /// `git-daemon-export-ok` or `GIT_HTTP_EXPORT_ALL`, with git-http-backend's push rule.
    ProjectRoot {
        /// The project root (absolute, symlinks resolved).
        dir: PathBuf,
        /// `GIT_HTTP_EXPORT_ALL` was set.
        export_all: bool,
    },
}

/// What a caller wants to do to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Clone, fetch, ls-remote, read HEAD.
    Read,
    /// Push.
    Write,
    /// Change settings (API).
    Admin,
}

/// An authenticated hubctl user and how far their credential reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// A read-scope token caps the user's permissions at reading.
    pub scope: Scope,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Nobody authenticated.
    Anonymous,
    /// A hubctl user (token, trusted web-server user, SSH key).
    User(Caller),
    /// git-http-backend mode: the web server's `REMOTE_USER`, which is all git-http-backend knows.
    TransportUser(String),
    /// A user an embedding application authenticated itself (`embed::Request::user`), by the
    /// application's own name for them. hubctl's table knows nothing of it (public reads
    /// only); the application's [`authorize::Authorize`] decides.
    Application(String),
    /// The local operator running a stdio subcommand: they can read the files anyway.
    Local,
}

impl Principal {
    /// The name hooks and reflogs see, if any.
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Principal::User(c) => Some(&c.user.name),
            Principal::TransportUser(u) | Principal::Application(u) => Some(u),
            Principal::Anonymous | Principal::Local => None,
        }
    }
}

/// A refusal, in terms every transport can render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No credentials where they are needed: challenge the client.
    Unauthenticated,
    /// An [`authorize::Authorize`] asks for credentials with this `WWW-Authenticate` value.
    Challenge(String),
    /// Credentials were given but are wrong, expired or revoked. The reason (`expired token`)
    /// is for the server's log; clients get one answer for all of them, so that a refusal
    /// tells nobody which tokens exist.
    BadCredentials(&'static str),
    /// No such repository, or one the caller may not know about.
    NotFound,
    /// The caller is known but not allowed.
    Forbidden(String),
    /// The request is malformed (a path that can never be a repository, a broken header).
    BadRequest(String),
    /// The metadata store is busy; try again shortly.
    Busy,
    /// Something on the server is broken.
    Internal(String),
}

impl Denial {
    /// The one-line message for SSH and stdio clients.
    pub fn message(&self) -> String {
        match self {
            Denial::Unauthenticated | Denial::Challenge(_) => "authentication required".into(),
            Denial::BadCredentials(_) => "invalid, expired or revoked credentials".into(),
            Denial::NotFound => "repository not found".into(),
            Denial::Busy => "the server is busy; try again shortly".into(),
            Denial::Forbidden(why) | Denial::BadRequest(why) => why.clone(),
            // The detail (a database error, a path) is for the server's log, not the client.
            Denial::Internal(_) => INTERNAL_MESSAGE.into(),
        }
    }
}

impl From<store::Error> for Denial {
    fn from(e: store::Error) -> Denial {
        if e.is_busy() {
            Denial::Busy
        } else {
            Denial::Internal(format!("server error: {e}"))
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

/// Parse the repository part of a URL in hosted mode.
pub fn parse_hosted_name(url_part: &str) -> Result<RepoName, Denial> {
    RepoName::parse(url_part)
        .map_err(|e| Denial::BadRequest(format!("invalid repository path: {e}")))
}

/// Find the repository a URL path part names in git-http-backend mode, never looking outside
/// the project root.
pub fn locate_project(dir: &Path, url_part: &str) -> Result<Located, Denial> {
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
    let with_git = PathBuf::from(format!("{}.git", base.display()));
    let candidates = [
        base.clone(),
        with_git.clone(),
        base.join(".git"),
        with_git.join(".git"),
    ];
    let found = candidates
        .iter()
        .find(|c| repo::is_bare_repo(c))
        .ok_or(Denial::NotFound)?;
    let git_dir = contained(dir, found).ok_or(Denial::NotFound)?;
    Ok(Located {
        git_dir,
        name: None,
    })
}

/// Resolve symlinks in `path` and make sure the result is still inside `base`: a symlink
/// pointing out of the root must not expose anything.
fn contained(base: &Path, path: &Path) -> Option<PathBuf> {
    crate::core::fsutil::contained(base, path).filter(|real| repo::is_bare_repo(real))
}

/// git-http-backend's rule for `GIT_PROJECT_ROOT` mode: exported repositories only; reading
/// unless `http.uploadpack=false`; pushing with `http.receivepack=true`, or when that is unset,
/// for a user the web server authenticated.
pub fn authorize_project(
    export_all: bool,
    repo: &Located,
    principal: &Principal,
    action: Action,
) -> Result<(), Denial> {
    if !export_all && !repo.git_dir.join("git-daemon-export-ok").exists() {
        return Err(Denial::NotFound);
    }
    let config = gix::open(&repo.git_dir).ok();
    let flag = |key: &str| config.as_ref()?.config_snapshot().boolean(key);
    match action {
        Action::Read => {
            if flag("http.uploadpack") == Some(false) {
                return Err(Denial::Forbidden(
                    "Service not enabled: 'upload-pack'".into(),
                ));
            }
            Ok(())
        }
        Action::Write | Action::Admin => match flag("http.receivepack") {
            Some(true) => Ok(()),
            None if principal.user_name().is_some() => Ok(()),
            _ => Err(Denial::Forbidden(
                "Service not enabled: 'receive-pack'".into(),
            )),
        },
    }
}

/// The highest level `principal` holds on the hosted repository `name` (row id `repo_id`),
/// before any token scope applies.
fn level_of(
    store: &Store,
    principal: &Principal,
    name: &RepoName,
    repo_id: Option<i64>,
) -> Result<Option<Level>, store::Error> {
    let caller = match principal {
        Principal::Local => return Ok(Some(Level::Admin)),
        Principal::User(c) => c,
        Principal::Anonymous | Principal::TransportUser(_) | Principal::Application(_) => {
            return Ok(None);
        }
    };
    let user = &caller.user;
    if user.admin || user.name == name.ns() {
        return Ok(Some(Level::Admin));
    }
    let mut level = None;
    if store.owner_kind(name.ns())? == Some(OwnerKind::Org) {
        level = match store.org_role(name.ns(), user.id)? {
            Some(Role::Owner) => Some(Level::Admin),
            Some(Role::Member) => Some(Level::Write),
            None => None,
        };
    }
    if let Some(id) = repo_id {
        level = level.max(store.grant_level(id, user.id)?);
    }
    Ok(level)
}

/// Decide whether `principal` may perform `action` on the hosted repository `name`, and
/// locate it. Every refusal is a [`Denial`] that renders per the table in the module docs.
pub fn authorize_hosted(
    store: &Store,
    root: &Root,
    name: &RepoName,
    principal: &Principal,
    action: Action,
) -> Result<Located, Denial> {
    // Names are looked up regardless of case; from here on only the stored spelling is used,
    // so a URL spelt differently reaches the same row, owner and directory, and the same
    // decision.
    let canonical = store.canonical_repo_name(name)?;
    let name = &canonical;
    let on_disk = contained(&root.repos_dir(), &name.path_in(root));
    let row = match &on_disk {
        Some(_) => store.repo_row(name)?,
        None => None,
    };
    let level = level_of(store, principal, name, row.as_ref().map(|r| r.id))?;
    let is_admin = matches!(principal, Principal::Local)
        || matches!(principal, Principal::User(c) if c.user.admin);
    // Repositories not on disk, and those without a row (not adopted; admins only), answer
    // exactly like private repositories the caller cannot see.
    let visible_public = row
        .as_ref()
        .is_some_and(|r| r.settings.visibility == Visibility::Public);
    let exists_for_caller = on_disk.is_some() && (row.is_some() || is_admin);
    let scope = match principal {
        Principal::User(c) => c.scope,
        _ => Scope::Write,
    };
    let effective = if exists_for_caller {
        match scope {
            Scope::Read => level.map(|l| l.min(Level::Read)),
            Scope::Write => level,
        }
    } else {
        None
    };
    let can_read = exists_for_caller && (visible_public || effective.is_some());
    let hidden = || {
        if matches!(principal, Principal::Anonymous) {
            Denial::Unauthenticated
        } else {
            Denial::NotFound
        }
    };
    let needed = match action {
        Action::Read => Level::Read,
        Action::Write => Level::Write,
        Action::Admin => Level::Admin,
    };
    let allowed = match action {
        Action::Read => can_read,
        _ => effective.is_some_and(|l| l >= needed),
    };
    if allowed {
        return Ok(Located {
            git_dir: on_disk.expect("allowed implies on disk"),
            name: Some(name.clone()),
        });
    }
    if !can_read {
        return Err(hidden());
    }
    if matches!(principal, Principal::Anonymous) {
        return Err(Denial::Unauthenticated);
    }
    let why = match (scope, level) {
        (Scope::Read, Some(l)) if l >= needed => format!(
            "this token is read-only; {} on {name} needs a write token",
            if action == Action::Write {
                "pushing"
            } else {
                "this"
            }
        ),
        _ => format!(
            "{} has no {} access to {name}",
            principal.user_name().unwrap_or("this user"),
            match action {
                Action::Read => "read",
                Action::Write => "write",
                Action::Admin => "admin",
            }
        ),
    };
    Err(Denial::Forbidden(why))
}

/// Locate a repository without deciding anything about a caller: for requests that carry
/// their own proof of permission (an LFS action token minted after a [`authorize::Gate`]
/// allowed the batch). Only repositories a caller could be allowed to reach are found: hosted
/// ones inside the root, and exported ones below a project root.
pub fn locate(site: &Site, url_part: &str) -> Result<Located, Denial> {
    match site {
        Site::Hosted(root) => {
            let mut name = parse_hosted_name(url_part)?;
            let mut found = contained(&root.repos_dir(), &name.path_in(root));
            if found.is_none() {
                // Spelt differently from the stored name (`Alice/Repo` for `alice/repo`).
                name = store::with_store::<_, Denial>(root, |s| Ok(s.canonical_repo_name(&name)?))?;
                found = contained(&root.repos_dir(), &name.path_in(root));
            }
            let git_dir = found
                .filter(|d| repo::is_bare_repo(d))
                .ok_or(Denial::NotFound)?;
            Ok(Located {
                git_dir,
                name: Some(name),
            })
        }
        Site::ProjectRoot { dir, export_all } => {
            let located = locate_project(dir, url_part)?;
            if !export_all && !located.git_dir.join("git-daemon-export-ok").exists() {
                return Err(Denial::NotFound);
            }
            Ok(located)
        }
    }
}

/// The `http.getanyfile` rule alone, for a repository already located.
fn files_allowed(site: &Site, located: &Located) -> Result<(), Denial> {
    let default = matches!(site, Site::ProjectRoot { .. });
    if getanyfile(&located.git_dir).unwrap_or(default) {
        Ok(())
    } else {
        Err(Denial::Forbidden("Unsupported service: getanyfile".into()))
    }
}

/// `http.getanyfile` as git's configuration (repository, global, system) sets it.
fn getanyfile(git_dir: &Path) -> Option<bool> {
    gix::open(git_dir)
        .ok()?
        .config_snapshot()
        .boolean("http.getanyfile")
}

/// Where a renamed repository went, when the caller may be told: the name in `url_part` is
/// not a repository on disk, it was renamed (`repo rename`), and `principal` may read the
/// repository under its new name (`gate` decides). Otherwise `None`, and the request answers
/// as it would without the rename record (a private repository's new name is not revealed).
pub fn redirect(
    site: &Site,
    url_part: &str,
    principal: &Principal,
    gate: &authorize::Gate<'_>,
) -> Option<RepoName> {
    let Site::Hosted(root) = site else {
        return None;
    };
    let name = RepoName::parse(url_part).ok()?;
    if std::fs::symlink_metadata(name.path_in(root)).is_ok() {
        return None;
    }
    let target = store::with_store(root, |s| s.redirect(&name)).ok()??;
    gate.hosted(root, &target, principal, authorize::Want::Read)
        .ok()
        .map(|_| target)
}
