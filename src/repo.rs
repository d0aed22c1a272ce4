//! Hosted repositories on disk: creating, describing, listing and removing bare repositories.
//! Their names ([`RepoName`]) are a core type, in [`crate::core::names`].

use std::path::{Path, PathBuf};

use crate::core::fsutil;
use crate::core::names::NameError;
pub use crate::core::names::{MAX_NAME_LEN, RepoName, validate_component};
use crate::core::root::Root;

/// Text git writes into a new repository's `description`; it means "no description".
const GIT_TEMPLATE_DESCRIPTION: &str =
    "Unnamed repository; edit this file 'description' to name the repository.";

/// Errors about repository names and repositories on disk.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name breaks the naming rules.
    #[error(transparent)]
    Name(#[from] NameError),
    /// `repo init` of a repository that is already there.
    #[error("repository {0} already exists")]
    Exists(RepoName),
    /// The repository is not on disk.
    #[error("repository {0} does not exist")]
    NotFound(RepoName),
    /// A default branch name git would refuse.
    #[error("invalid default branch {0:?}")]
    Branch(String),
    /// gix failed to create or read the repository.
    #[error("{context}: {message}")]
    Git {
        /// What hubctl was doing.
        context: String,
        /// gix's explanation.
        message: String,
    },
    /// The repository's path leads outside the root through a symbolic link.
    #[error("{} leads outside {} (a symbolic link?); hubctl acts only inside its root", path.display(), root.display())]
    Outside {
        /// The path as named.
        path: PathBuf,
        /// The repositories directory it must stay in.
        root: PathBuf,
    },
    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What hubctl was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

/// Options for [`init`].
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Branch HEAD points at.
    pub default_branch: String,
    /// Text for the `description` file.
    pub description: Option<String>,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            default_branch: "main".into(),
            description: None,
        }
    }
}

/// Check that `branch` is a name git accepts under `refs/heads/`.
pub fn validate_branch(branch: &str) -> Result<(), Error> {
    let full = format!("refs/heads/{branch}");
    let ok = !branch.is_empty()
        && !branch.starts_with('-')
        && gix::validate::reference::name(full.as_str().into()).is_ok();
    if ok {
        Ok(())
    } else {
        Err(Error::Branch(branch.to_string()))
    }
}

/// Where `name` lives under `root`, after the one containment check: `Outside` when a symbolic
/// link leads the path out of `<root>/repos`. Every operator command on a hosted repository
/// (init, show, adopt, gc, rm, lfs) goes through here, as HTTP and SSH go through access.
pub fn contained_path(root: &Root, name: &RepoName) -> Result<PathBuf, Error> {
    let path = name.path_in(root);
    fsutil::contained(&root.repos_dir(), &path).ok_or_else(|| Error::Outside {
        path,
        root: root.repos_dir(),
    })
}

/// Create the bare repository for `name` under `root`.
///
/// The repository is built in a temporary directory and renamed into place without replacing
/// anything, so a concurrent `init` of the same name or a crash never leaves a half-made
/// repository where clients can see it.
pub fn init(root: &Root, name: &RepoName, opts: &InitOptions) -> Result<PathBuf, Error> {
    validate_branch(&opts.default_branch)?;
    let dest = contained_path(root, name)?;
    if dest.exists() {
        return Err(Error::Exists(name.clone()));
    }
    let ns_dir = dest.parent().expect("repository path has a parent");
    std::fs::create_dir_all(ns_dir).map_err(io_err(format!("creating {}", ns_dir.display())))?;
    let tmp = fsutil::temp_sibling(&dest);
    let result = (|| {
        let git_err = |context: &str| {
            let context = context.to_string();
            move |e: gix::Error| Error::Git {
                context,
                message: e.to_string(),
            }
        };
        let repo = gix::ThreadSafeRepository::init(
            &tmp,
            gix::create::Kind::Bare,
            gix::create::Options {
                destination_must_be_empty: Some(true),
                ..Default::default()
            },
        )
        .map_err(git_err("creating the repository"))?;
        point_head(&repo.to_thread_local(), &opts.default_branch)?;
        set_description(&tmp, opts.description.as_deref().unwrap_or_default())
            .map_err(io_err("writing description"))?;
        fsutil::rename_noreplace(&tmp, &dest).map_err(|e| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::DirectoryNotEmpty
            ) {
                Error::Exists(name.clone())
            } else {
                io_err("moving the new repository into place")(e)
            }
        })?;
        fsutil::sync_dir(ns_dir).map_err(io_err("syncing the namespace directory"))?;
        Ok(dest.clone())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Create a hosted repository: its database row and its directory, all or nothing.
///
/// The row is inserted in a transaction that commits only after the directory is in place;
/// if the commit fails the directory is removed again.
pub fn create(
    root: &Root,
    store: &mut crate::store::Store,
    name: &RepoName,
    opts: &InitOptions,
    settings: &crate::store::repos::RepoSettings,
) -> Result<PathBuf, CreateError> {
    let mut made = None;
    let result = store.write(|tx| {
        crate::store::repos::insert(tx, name, settings).map_err(|e| match e {
            crate::store::Error::Conflict(_) => CreateError::Repo(Error::Exists(name.clone())),
            e => CreateError::Store(e),
        })?;
        let path = init(root, name, opts)?;
        made = Some(path.clone());
        Ok(path)
    });
    if result.is_err() {
        if let Some(path) = made {
            let _ = std::fs::remove_dir_all(path);
        }
    }
    result
}

/// Delete a hosted repository: its directory and its database row, all or nothing.
///
/// The directory is first renamed out of the way (clients stop seeing it at once), then the
/// row is deleted; if that fails the directory is put back.
pub fn remove(
    root: &Root,
    store: &mut crate::store::Store,
    name: &RepoName,
) -> Result<(), CreateError> {
    let path = name.path_in(root);
    let has_row = store.repo_row(name)?.is_some();
    // A repository entry that is itself a symbolic link goes as a link: whatever it points at
    // stays. Deletion never follows a link.
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    let ns_contained = path
        .parent()
        .and_then(|ns| fsutil::contained(&root.repos_dir(), ns))
        .is_some();
    if is_link && ns_contained {
        if has_row {
            store.transaction(|tx| crate::store::repos::delete(tx, name))?;
        }
        std::fs::remove_file(&path)
            .map_err(io_err(format!("removing the link {}", path.display())))?;
        let _ = std::fs::remove_dir_all(root.hooks_dir(name));
        return Ok(());
    }
    let path = contained_path(root, name)?;
    let on_disk = path.exists();
    if !on_disk && !has_row {
        return Err(Error::NotFound(name.clone()).into());
    }
    let trash = fsutil::temp_sibling(&path);
    if on_disk {
        std::fs::rename(&path, &trash)
            .map_err(io_err(format!("moving {} aside", path.display())))?;
    }
    let result = if has_row {
        store.transaction(|tx| crate::store::repos::delete(tx, name))
    } else {
        Ok(())
    };
    if let Err(e) = result {
        if on_disk {
            let _ = std::fs::rename(&trash, &path);
        }
        return Err(e.into());
    }
    if on_disk {
        std::fs::remove_dir_all(&trash).map_err(io_err(format!("deleting {}", trash.display())))?;
    }
    let _ = std::fs::remove_dir_all(root.hooks_dir(name));
    Ok(())
}

/// Register a bare repository prepared at `prepared` (a temporary directory beside `name`'s
/// place, made by [`staging_path`]) as `name`: its row is inserted and the directory renamed
/// into place in one transaction, so clients never see a half-made repository. On failure the
/// prepared directory is left for the caller to remove.
pub fn register_prepared(
    root: &Root,
    store: &mut crate::store::Store,
    name: &RepoName,
    prepared: &Path,
    settings: &crate::store::repos::RepoSettings,
) -> Result<PathBuf, CreateError> {
    let dest = contained_path(root, name)?;
    let ns_dir = dest
        .parent()
        .expect("repository path has a parent")
        .to_path_buf();
    let mut moved = false;
    let result = store.write(|tx| {
        crate::store::repos::insert(tx, name, settings).map_err(|e| match e {
            crate::store::Error::Conflict(_) => CreateError::Repo(Error::Exists(name.clone())),
            e => CreateError::Store(e),
        })?;
        fsutil::rename_noreplace(prepared, &dest).map_err(|e| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::DirectoryNotEmpty
            ) {
                CreateError::Repo(Error::Exists(name.clone()))
            } else {
                io_err("moving the repository into place")(e).into()
            }
        })?;
        moved = true;
        fsutil::sync_dir(&ns_dir).map_err(io_err("syncing the namespace directory"))?;
        Ok(dest.clone())
    });
    if result.is_err() && moved {
        // No row: take the directory back out of sight.
        let _ = fsutil::rename_noreplace(&dest, prepared);
    }
    result
}

/// A fresh temporary directory name beside `name`'s place (inside the containment check), for
/// building a repository before [`register_prepared`]; fails if `name` exists already.
pub fn staging_path(root: &Root, name: &RepoName) -> Result<PathBuf, Error> {
    let dest = contained_path(root, name)?;
    if std::fs::symlink_metadata(&dest).is_ok() {
        return Err(Error::Exists(name.clone()));
    }
    let ns_dir = dest.parent().expect("repository path has a parent");
    std::fs::create_dir_all(ns_dir).map_err(io_err(format!("creating {}", ns_dir.display())))?;
    Ok(fsutil::temp_sibling(&dest))
}

/// Rename a hosted repository: its directory (with its Git LFS objects) and its database row
/// (with its grants and LFS locks), all or nothing; the old name then redirects HTTP clients
/// to the new one (see the store's `repo_redirects`). Tokens and keys belong to users and are
/// untouched.
///
/// Neither name may lead outside `<root>/repos` through a symbolic link, and a repository
/// entry that is itself a link is refused rather than followed.
pub fn rename(
    root: &Root,
    store: &mut crate::store::Store,
    from: &RepoName,
    to: &RepoName,
) -> Result<PathBuf, CreateError> {
    if from == to {
        return Err(Error::Exists(to.clone()).into());
    }
    let raw = from.path_in(root);
    if std::fs::symlink_metadata(&raw).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::Outside {
            path: raw,
            root: root.repos_dir(),
        }
        .into());
    }
    let src = contained_path(root, from)?;
    if !is_bare_repo(&src) {
        return Err(Error::NotFound(from.clone()).into());
    }
    let dest = contained_path(root, to)?;
    if std::fs::symlink_metadata(&dest).is_ok() {
        return Err(Error::Exists(to.clone()).into());
    }
    let ns_dir = dest
        .parent()
        .expect("repository path has a parent")
        .to_path_buf();
    let mut moved = false;
    let result = store.transaction(|tx| {
        crate::store::repos::rename(tx, from, to).map_err(|e| match e {
            crate::store::Error::Conflict(_) => CreateError::Repo(Error::Exists(to.clone())),
            e => CreateError::Store(e),
        })?;
        std::fs::create_dir_all(&ns_dir)
            .map_err(io_err(format!("creating {}", ns_dir.display())))?;
        // The new namespace directory must not have turned into a link meanwhile.
        if fsutil::contained(&root.repos_dir(), &dest).is_none() {
            return Err(Error::Outside {
                path: dest.clone(),
                root: root.repos_dir(),
            }
            .into());
        }
        fsutil::rename_noreplace(&src, &dest).map_err(|e| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::DirectoryNotEmpty
            ) {
                CreateError::Repo(Error::Exists(to.clone()))
            } else {
                io_err("moving the repository")(e).into()
            }
        })?;
        moved = true;
        fsutil::sync_dir(&ns_dir).map_err(io_err("syncing the namespace directory"))?;
        if let Some(old_ns) = src.parent() {
            fsutil::sync_dir(old_ns).map_err(io_err("syncing the namespace directory"))?;
        }
        Ok(dest.clone())
    });
    if result.is_err() && moved {
        // The row kept its old name: so does the directory.
        let _ = fsutil::rename_noreplace(&dest, &src);
    }
    result
}

/// Errors from [`create`] and [`remove`].
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The repository itself.
    #[error(transparent)]
    Repo(#[from] Error),
    /// The database.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

impl From<rusqlite::Error> for CreateError {
    fn from(e: rusqlite::Error) -> Self {
        CreateError::Store(e.into())
    }
}

fn point_head(repo: &gix::Repository, branch: &str) -> Result<(), Error> {
    let head = format!("refs/heads/{branch}");
    let target = head
        .as_str()
        .try_into()
        .map_err(|_| Error::Branch(branch.to_string()))?;
    repo.edit_reference(gix::refs::transaction::RefEdit {
        change: gix::refs::transaction::Change::Update {
            log: gix::refs::transaction::LogChange::default(),
            expected: gix::refs::transaction::PreviousValue::Any,
            new: gix::refs::Target::Symbolic(target),
        },
        name: "HEAD".try_into().expect("HEAD is a valid name"),
        deref: false,
    })
    .map_err(|e| Error::Git {
        context: "setting HEAD".into(),
        message: e.to_string(),
    })?;
    Ok(())
}

/// Point HEAD of the bare repository at `git_dir` to `refs/heads/<branch>`.
pub fn set_default_branch(git_dir: &Path, branch: &str) -> Result<(), Error> {
    validate_branch(branch)?;
    let repo = gix::open_opts(git_dir, gix::open::Options::isolated()).map_err(|e| Error::Git {
        context: format!("opening {}", git_dir.display()),
        message: e.to_string(),
    })?;
    point_head(&repo, branch)
}

/// Replace the `description` file of the repository at `git_dir` (atomically).
pub fn set_description(git_dir: &Path, text: &str) -> std::io::Result<()> {
    let mut text = text.trim_end().to_string();
    if !text.is_empty() {
        text.push('\n');
    }
    fsutil::write_atomic(&git_dir.join("description"), text.as_bytes(), 0o644)
}

/// What `repo list` and `repo show` report about a repository on disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Info {
    /// Owner namespace.
    pub namespace: String,
    /// Name without `.git`.
    pub name: String,
    /// `namespace/name`: the same three identity fields in every JSON output that names a
    /// repository (`repo list`, `repo show`, `repo gc --json`).
    pub full_name: String,
    /// Branch HEAD points at (`None` if HEAD is detached or unreadable).
    pub default_branch: Option<String>,
    /// The `description` file, without git's placeholder text.
    pub description: String,
    /// Absolute path of the bare repository.
    pub path: PathBuf,
}

/// Read the branch HEAD points at from a bare repository directory.
pub fn default_branch(git_dir: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    head.trim_end()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_string)
}

/// Read a repository's description, treating git's template text as empty.
pub fn description(git_dir: &Path) -> String {
    let text = std::fs::read_to_string(git_dir.join("description")).unwrap_or_default();
    let text = text.trim_end();
    if text == GIT_TEMPLATE_DESCRIPTION {
        String::new()
    } else {
        text.to_string()
    }
}

/// Describe one repository on disk.
pub fn info(root: &Root, name: &RepoName) -> Result<Info, Error> {
    let path = contained_path(root, name)?;
    if !is_bare_repo(&path) {
        return Err(Error::NotFound(name.clone()));
    }
    Ok(Info {
        namespace: name.ns().to_string(),
        name: name.name().to_string(),
        full_name: name.to_string(),
        default_branch: default_branch(&path),
        description: description(&path),
        path,
    })
}

/// A cheap test for "this directory is a bare git repository" (what git's own
/// `is_git_directory` checks: HEAD, objects/ and refs/).
pub fn is_bare_repo(path: &Path) -> bool {
    path.join("HEAD").is_file() && path.join("objects").is_dir() && path.join("refs").is_dir()
}

/// The git directory a path names, by the rules of git's `enter_repo()` (what
/// `git-upload-pack DIR` and `git-receive-pack DIR` accept).
///
/// Without `strict`, trailing slashes are dropped, a leading `~/` is the home directory, and
/// `DIR/.git`, `DIR`, `DIR.git/.git` and `DIR.git` are tried in that order; the first that is
/// a git directory, or a regular file (a gitfile, `gitdir: PATH`), wins. With `strict` (git's
/// `--strict`) only `DIR` itself, or the gitfile at `DIR`, counts. A gitfile's target must be
/// a git directory. `None` when nothing qualifies.
pub fn enter_repo(path: &Path, strict: bool, home: Option<&Path>) -> Option<PathBuf> {
    let text = path.to_str()?;
    let base = if strict {
        text.to_string()
    } else {
        let trimmed = text.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        match trimmed.strip_prefix("~/") {
            Some(rest) => home?.join(rest).to_str()?.to_string(),
            None if trimmed == "~" => home?.to_str()?.to_string(),
            None => trimmed.to_string(),
        }
    };
    let suffixes: &[&str] = if strict {
        &[""]
    } else {
        &["/.git", "", ".git/.git", ".git"]
    };
    for suffix in suffixes {
        let candidate = PathBuf::from(format!("{base}{suffix}"));
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if meta.is_file() {
            return read_gitfile(&candidate).filter(|d| is_git_directory(d));
        }
        if meta.is_dir() && is_git_directory(&candidate) {
            return Some(candidate);
        }
        if strict {
            return None;
        }
    }
    None
}

/// git's `is_git_directory`: a repository directory, or a linked work tree's git directory
/// whose `commondir` file points at the one that holds the objects and refs.
fn is_git_directory(path: &Path) -> bool {
    if is_bare_repo(path) {
        return true;
    }
    let Ok(common) = std::fs::read_to_string(path.join("commondir")) else {
        return false;
    };
    let common = path.join(common.trim_end_matches(['\n', '\r']));
    path.join("HEAD").is_file() && common.join("objects").is_dir() && common.join("refs").is_dir()
}

/// The directory a gitfile (`gitdir: PATH`, relative to the file's directory) points at.
fn read_gitfile(file: &Path) -> Option<PathBuf> {
    // A gitfile is one short line; anything large is not one.
    if std::fs::metadata(file).ok()?.len() > 4096 {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let target = text
        .strip_prefix("gitdir: ")?
        .trim_end_matches(['\n', '\r']);
    if target.is_empty() {
        return None;
    }
    Some(file.parent()?.join(target))
}

/// Every validly named repository under `<root>/repos`, sorted by namespace and name.
pub fn list(root: &Root) -> Result<Vec<Info>, Error> {
    let mut out = Vec::new();
    let repos = root.repos_dir();
    let ns_iter = match std::fs::read_dir(&repos) {
        Ok(it) => it,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(format!("reading {}", repos.display()))(e)),
    };
    for ns in ns_iter {
        let ns = ns.map_err(io_err("reading the repositories directory"))?;
        let Some(ns_name) = ns.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if validate_component("namespace", &ns_name).is_err() || !ns.path().is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(ns.path()).map_err(io_err("reading a namespace"))? {
            let entry = entry.map_err(io_err("reading a namespace"))?;
            let Some(file) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Some(stem) = file.strip_suffix(".git") else {
                continue;
            };
            if let Ok(name) = RepoName::new(&ns_name, stem) {
                if let Ok(info) = info(root, &name) {
                    out.push(info);
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        let n = RepoName::parse("alice/proj.git").unwrap();
        assert_eq!((n.ns(), n.name()), ("alice", "proj"));
        assert_eq!(
            RepoName::parse("/a-b/c_d.e").unwrap().to_string(),
            "a-b/c_d.e"
        );
    }

    #[test]
    fn refuses_hostile_names() {
        for bad in [
            "a/../b",
            "../b",
            "a/..",
            "a/b/c",
            "a",
            "//etc/passwd",
            "a/.hidden",
            "a/-opt",
            "a/b c",
            "a/b%2e",
            "a/b\0",
            "a/",
            "/a/b/",
            "a//b",
            "a/.git",
            "a/x..y",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = "x".repeat(101);
        assert!(RepoName::parse(&format!("a/{long}")).is_err());
        assert!(RepoName::parse(&format!("a/{}", "x".repeat(100))).is_ok());
    }

    #[test]
    fn branch_names() {
        assert!(validate_branch("main").is_ok());
        assert!(validate_branch("release/1.0").is_ok());
        for bad in ["", "-x", "a..b", "a b", "a~", "HEAD^", "a/", "a.lock"] {
            assert!(validate_branch(bad).is_err(), "{bad:?} accepted");
        }
    }
}
