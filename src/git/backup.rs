//! `hubctl backup DIR` and `hubctl restore DIR`: a consistent copy of a root, and a root made
//! from one.
//!
//! A backup holds the database (SQLite's online backup, a snapshot taken while the server
//! runs), `<root>/secret` (the key of Git LFS tokens), and every repository with its Git LFS
//! objects. Each repository is copied under its maintenance lock (no repack deletes packs
//! underneath the copy), refs first and objects after: objects only ever arrive before the
//! refs that point at them (a push's objects leave quarantine before its refs move, git-lfs
//! uploads before it pushes), so every ref in the copy finds its objects and LFS objects, even
//! when pushes run during the backup. What a push adds after its refs were copied is extra,
//! and harmless. Caches and run-time state are not copied.
//!
//! The backup is built in a temporary directory beside DIR and renamed to DIR when complete.
//! A restore fills an empty root and writes the database last, so a root without a database
//! is one whose restore did not finish. Neither follows a symbolic link: links are reported
//! and skipped.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::core::fsutil;
use crate::core::names::RepoName;
use crate::core::root::Root;

/// The backup's description of itself.
pub const MANIFEST: &str = "hubctl-backup.json";
/// The manifest format this hubctl writes and reads.
pub const FORMAT: u32 = 1;

/// Errors from [`backup`] and [`restore`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The destination exists and is not an empty directory.
    #[error("{0} exists and is not empty; back up into a new directory")]
    DestinationExists(PathBuf),
    /// The backup would be inside the root it copies.
    #[error("{} is inside the root {}; back up somewhere else", dest.display(), root.display())]
    InsideRoot {
        /// The destination.
        dest: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// The root to restore into already holds data.
    #[error("{0} is not empty (it has a database or repositories); restore into an empty root")]
    RootNotEmpty(PathBuf),
    /// The directory is not a hubctl backup.
    #[error("{0} is not a hubctl backup (no readable {MANIFEST} of format {FORMAT})")]
    NotABackup(PathBuf),
    /// The database.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// A file operation.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

/// What a backup or restore did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// Where the backup is.
    pub backup: PathBuf,
    /// Repositories copied.
    pub repositories: Vec<RepoId>,
    /// Files copied.
    pub files: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Entries left out because they are symbolic links (never followed).
    pub skipped_links: Vec<PathBuf>,
}

/// A repository's identity in JSON (backup summaries and the manifest).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RepoId {
    /// The owner namespace.
    pub namespace: String,
    /// The name without `.git`.
    pub name: String,
    /// `namespace/name`.
    pub full_name: String,
}

impl From<&RepoName> for RepoId {
    fn from(n: &RepoName) -> Self {
        RepoId {
            namespace: n.ns().to_string(),
            name: n.name().to_string(),
            full_name: n.to_string(),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    format: u32,
    created_at: String,
    hubctl_version: String,
    repositories: Vec<RepoId>,
}

/// Copy `root` into the new directory `dest`. `progress` hears each step.
pub fn backup(root: &Root, dest: &Path, mut progress: impl FnMut(&str)) -> Result<Summary, Error> {
    let dest = absolute(dest)?;
    if dest.starts_with(root.path()) {
        return Err(Error::InsideRoot {
            dest,
            root: root.path().to_path_buf(),
        });
    }
    match fs::read_dir(&dest) {
        Ok(mut it) => {
            if it.next().is_some() {
                return Err(Error::DestinationExists(dest));
            }
            fs::remove_dir(&dest).map_err(io_err(format!("replacing {}", dest.display())))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(format!("reading {}", dest.display()))(e)),
    }
    let parent = dest.parent().unwrap_or(Path::new("/")).to_path_buf();
    fs::create_dir_all(&parent).map_err(io_err(format!("creating {}", parent.display())))?;
    let staging = fsutil::temp_sibling(&dest);
    fs::create_dir(&staging).map_err(io_err(format!("creating {}", staging.display())))?;
    let result = (|| {
        let mut summary = Summary {
            backup: dest.clone(),
            ..Summary::default()
        };
        progress("database (SQLite online backup)");
        if root.db_path().exists() {
            crate::store::backup_to(&root.db_path(), &staging.join("hubctl.db"))?;
            sync_file(&staging.join("hubctl.db"))?;
        }
        let secret = root.path().join("secret");
        if fs::symlink_metadata(&secret).is_ok_and(|m| m.is_file()) {
            copy_file(&secret, &staging.join("secret"), &mut summary)?;
        }
        let repos_out = staging.join("repos");
        fs::create_dir(&repos_out).map_err(io_err("creating repos/"))?;
        for (name, dir) in repositories(root, &mut summary)? {
            progress(&format!("repository {name}"));
            let out = repos_out
                .join(name.ns())
                .join(format!("{}.git", name.name()));
            copy_repository(root, &name, &dir, &out, &mut summary)?;
            summary.repositories.push(RepoId::from(&name));
        }
        let manifest = Manifest {
            format: FORMAT,
            created_at: crate::store::now_rfc3339(),
            hubctl_version: env!("CARGO_PKG_VERSION").to_string(),
            repositories: summary.repositories.clone(),
        };
        let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        fsutil::write_atomic(&staging.join(MANIFEST), &text, 0o644)
            .map_err(io_err("writing the manifest"))?;
        fsutil::sync_dir(&staging).map_err(io_err("syncing the backup"))?;
        fsutil::rename_noreplace(&staging, &dest)
            .map_err(io_err(format!("moving the backup to {}", dest.display())))?;
        fsutil::sync_dir(&parent).map_err(io_err("syncing the backup's parent"))?;
        Ok(summary)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

/// Fill the empty `root` from the backup in `from`. `progress` hears each step.
pub fn restore(from: &Path, root: &Root, mut progress: impl FnMut(&str)) -> Result<Summary, Error> {
    let from = absolute(from)?;
    let manifest: Manifest = fs::read(from.join(MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|m: &Manifest| m.format == FORMAT)
        .ok_or_else(|| Error::NotABackup(from.clone()))?;
    let repos_dir = root.repos_dir();
    let has_repos = fs::read_dir(&repos_dir).is_ok_and(|mut it| it.next().is_some());
    if root.db_path().exists() || has_repos {
        return Err(Error::RootNotEmpty(root.path().to_path_buf()));
    }
    let db = from.join("hubctl.db");
    progress("checking the database");
    crate::store::check_file(&db)?;
    let mut summary = Summary {
        backup: from.clone(),
        ..Summary::default()
    };
    // Repositories first, into a temporary directory inside the root, renamed into place.
    let staging = fsutil::temp_sibling(&repos_dir);
    fs::create_dir(&staging).map_err(io_err(format!("creating {}", staging.display())))?;
    let result = (|| {
        for id in &manifest.repositories {
            // Names from the backup are checked like any other: nothing but a repository
            // directory inside the root can come of them.
            let Ok(name) = RepoName::new(&id.namespace, &id.name) else {
                continue;
            };
            progress(&format!("repository {name}"));
            let src = from
                .join("repos")
                .join(name.ns())
                .join(format!("{}.git", name.name()));
            let out = staging.join(name.ns()).join(format!("{}.git", name.name()));
            copy_tree(&src, &out, &mut summary, &|_| true)?;
            summary.repositories.push(RepoId::from(&name));
        }
        if fs::symlink_metadata(&repos_dir).is_ok() {
            fs::remove_dir(&repos_dir).map_err(io_err("replacing the empty repos/"))?;
        }
        if fsutil::contained(root.path(), &repos_dir).is_none() {
            return Err(io_err("repos/")(io::Error::other("leads outside the root")));
        }
        fsutil::rename_noreplace(&staging, &repos_dir)
            .map_err(io_err("moving repos/ into place"))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let secret = from.join("secret");
    if fs::symlink_metadata(&secret).is_ok_and(|m| m.is_file()) {
        let dest = root.path().join("secret");
        let tmp = fsutil::temp_sibling(&dest);
        copy_file(&secret, &tmp, &mut summary)?;
        fs::rename(&tmp, &dest).map_err(io_err("moving the secret into place"))?;
    }
    // The database last: its presence says the restore finished.
    progress("database");
    let tmp = fsutil::temp_sibling(&root.db_path());
    copy_file(&db, &tmp, &mut summary)?;
    fs::rename(&tmp, root.db_path()).map_err(io_err("moving the database into place"))?;
    fsutil::sync_dir(root.path()).map_err(io_err("syncing the root"))?;
    // A backup from an older hubctl gets the current schema now.
    crate::store::Store::open_root(root)?;
    Ok(summary)
}

fn absolute(p: &Path) -> Result<PathBuf, Error> {
    let abs = std::path::absolute(p).map_err(io_err(format!("resolving {}", p.display())))?;
    // Resolve links in the part that exists, so "inside the root" is decided on real paths.
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    while fs::symlink_metadata(&existing).is_err() {
        match (existing.file_name(), existing.parent()) {
            (Some(n), Some(parent)) => {
                rest.push(n.to_owned());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut real = existing.canonicalize().unwrap_or(existing);
    for part in rest.iter().rev() {
        real.push(part);
    }
    Ok(real)
}

/// Every repository directory under `<root>/repos` that is a real directory inside the root.
fn repositories(root: &Root, summary: &mut Summary) -> Result<Vec<(RepoName, PathBuf)>, Error> {
    let mut out = Vec::new();
    let repos = root.repos_dir();
    let namespaces = match fs::read_dir(&repos) {
        Ok(it) => it,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err("reading repos/")(e)),
    };
    for ns in namespaces.flatten() {
        let Ok(kind) = ns.file_type() else { continue };
        if kind.is_symlink() {
            summary.skipped_links.push(ns.path());
            continue;
        }
        if !kind.is_dir() {
            continue;
        }
        let Ok(entries) = fs::read_dir(ns.path()) else {
            continue;
        };
        for e in entries.flatten() {
            let file_name = e.file_name();
            let Some(dir_name) = file_name.to_str() else {
                continue;
            };
            let Some(ns_name) = ns.file_name().to_str().map(str::to_string) else {
                continue;
            };
            // Temporary siblings (`.name.tmp-...`) and anything else that is not a name.
            let Some(stem) = dir_name.strip_suffix(".git") else {
                continue;
            };
            let Ok(name) = RepoName::new(&ns_name, stem) else {
                continue;
            };
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_symlink() {
                summary.skipped_links.push(e.path());
                continue;
            }
            if kind.is_dir() && crate::repo::is_bare_repo(&e.path()) {
                if let Ok(path) = crate::repo::contained_path(root, &name) {
                    out.push((name, path));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Copy one repository: refs before objects (see the module's comment), under the
/// maintenance lock; again from the start if a file vanished underneath (a repack by
/// `git gc --auto` that receive-pack started).
fn copy_repository(
    root: &Root,
    name: &RepoName,
    src: &Path,
    out: &Path,
    summary: &mut Summary,
) -> Result<(), Error> {
    let _lock = super::maintenance::lock(root, name, true)
        .map_err(io_err(format!("taking the maintenance lock of {name}")))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut one = Summary::default();
        let vanished = copy_repository_once(src, out, &mut one)?;
        if !vanished || attempt == 3 {
            summary.files += one.files;
            summary.bytes += one.bytes;
            summary.skipped_links.extend(one.skipped_links);
            return Ok(());
        }
        fs::remove_dir_all(out).map_err(io_err(format!("clearing {}", out.display())))?;
    }
}

/// Returns whether a file disappeared during the copy.
fn copy_repository_once(src: &Path, out: &Path, summary: &mut Summary) -> Result<bool, Error> {
    fs::create_dir_all(out).map_err(io_err(format!("creating {}", out.display())))?;
    let mut vanished = false;
    // 1. What the refs say, first.
    for f in ["HEAD", "packed-refs"] {
        vanished |= copy_if_present(&src.join(f), &out.join(f), summary)?;
    }
    copy_tree(&src.join("refs"), &out.join("refs"), summary, &|p| {
        !is_lock(p)
    })?;
    // 2. Objects, then LFS objects; quarantines and uploads in progress are not data yet.
    vanished |= copy_tree_tracking(&src.join("objects"), &out.join("objects"), summary, &|p| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        !(n.starts_with("incoming-") || n.starts_with("tmp_") || n.ends_with(".lock"))
    })?;
    if src.join("lfs").exists() {
        copy_tree(&src.join("lfs"), &out.join("lfs"), summary, &|p| {
            p.file_name().is_none_or(|n| n != "tmp")
        })?;
    }
    // 3. The rest (config, description, info/, hooks/ ...).
    let entries = fs::read_dir(src).map_err(io_err(format!("reading {}", src.display())))?;
    for e in entries.flatten() {
        let n = e.file_name();
        let Some(n) = n.to_str() else { continue };
        if matches!(n, "HEAD" | "packed-refs" | "refs" | "objects" | "lfs") || is_lock(&e.path()) {
            continue;
        }
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_symlink() {
            summary.skipped_links.push(e.path());
        } else if kind.is_dir() {
            copy_tree(&e.path(), &out.join(n), summary, &|p| !is_lock(p))?;
        } else if kind.is_file() {
            vanished |= copy_if_present(&e.path(), &out.join(n), summary)?;
        }
    }
    fsutil::sync_dir(out).map_err(io_err(format!("syncing {}", out.display())))?;
    Ok(vanished)
}

fn is_lock(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "lock")
}

fn copy_if_present(src: &Path, dest: &Path, summary: &mut Summary) -> Result<bool, Error> {
    match copy_file(src, dest, summary) {
        Ok(()) => Ok(false),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

fn copy_tree(
    src: &Path,
    dest: &Path,
    summary: &mut Summary,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<(), Error> {
    copy_tree_tracking(src, dest, summary, keep).map(|_| ())
}

/// Copy the directory tree `src` to `dest` without following symbolic links; returns whether
/// a file vanished during the copy.
fn copy_tree_tracking(
    src: &Path,
    dest: &Path,
    summary: &mut Summary,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<bool, Error> {
    let meta = match fs::symlink_metadata(src) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err(format!("reading {}", src.display()))(e)),
    };
    if meta.file_type().is_symlink() {
        summary.skipped_links.push(src.to_path_buf());
        return Ok(false);
    }
    if !meta.is_dir() {
        return copy_if_present(src, dest, summary);
    }
    fs::create_dir_all(dest).map_err(io_err(format!("creating {}", dest.display())))?;
    let mut vanished = false;
    let entries = fs::read_dir(src).map_err(io_err(format!("reading {}", src.display())))?;
    for e in entries.flatten() {
        let path = e.path();
        if !keep(&path) {
            continue;
        }
        let Ok(kind) = e.file_type() else { continue };
        let target = dest.join(e.file_name());
        if kind.is_symlink() {
            summary.skipped_links.push(path);
        } else if kind.is_dir() {
            vanished |= copy_tree_tracking(&path, &target, summary, keep)?;
        } else if kind.is_file() {
            vanished |= copy_if_present(&path, &target, summary)?;
        }
    }
    fsutil::sync_dir(dest).map_err(io_err(format!("syncing {}", dest.display())))?;
    Ok(vanished)
}

/// Copy one regular file (never through a link), keeping its permission bits, and fsync it.
fn copy_file(src: &Path, dest: &Path, summary: &mut Summary) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut input = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(src)
        .map_err(io_err(format!("reading {}", src.display())))?;
    let mode = input
        .metadata()
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
        .unwrap_or(0o644);
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o777)
        .open(dest)
        .map_err(io_err(format!("creating {}", dest.display())))?;
    let n =
        io::copy(&mut input, &mut output).map_err(io_err(format!("copying {}", src.display())))?;
    output
        .sync_all()
        .map_err(io_err(format!("syncing {}", dest.display())))?;
    summary.files += 1;
    summary.bytes += n;
    Ok(())
}

fn sync_file(path: &Path) -> Result<(), Error> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(format!("syncing {}", path.display())))
}
