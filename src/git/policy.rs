//! hubctl's push policy, applied in the pre-receive hook before any ref moves.
//!
//! Three rules, each reported with the fix:
//!
//! - **Large files**: a blob the push introduces that is larger than the repository's
//!   `max-blob-size` and is not a Git LFS pointer.
//! - **LFS integrity** (global setting `lfs-check-pointers`, on by default): a Git LFS pointer
//!   the push introduces whose object the server does not have. git-lfs uploads objects before
//!   git pushes, so honest pushes pass; a push made without the LFS client (or whose upload
//!   failed) would otherwise leave pointers nobody can check out.
//! - **LFS locks** (repository setting `lfs-enforce-locks`, off by default): a push that
//!   changes a path another user holds a Git LFS lock on. Clients only warn about locks
//!   (LFS.md §10 T25); this makes them hold.
//!
//! The first two look only at the objects the push brings (git's quarantine); the lock rule
//! compares the old and new commits of every updated ref.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use gix::ObjectId;
use gix::objs::{Exists, Find, FindHeader};

use crate::core::names::RepoName;
use crate::core::root::Root;
use crate::core::units::format_size;
use crate::lfs::ObjectStore;
use crate::lfs::locks::LockRecord;
use crate::lfs::pointer::{MAX_POINTER_SIZE, MIN_POINTER_SIZE, Pointer};
use crate::store::Store;

/// A blob that breaks the large-file rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// A path under which the push adds it (the first one found).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its object id.
    pub id: ObjectId,
}

/// A Git LFS pointer the push adds whose object the server does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingObject {
    /// A path under which the push adds the pointer (the first one found).
    pub path: String,
    /// What the pointer points at.
    pub pointer: Pointer,
    /// The size of the stored object with that oid when it differs from the pointer's
    /// (a pointer that lies about its size); `None` when nothing is stored.
    pub stored_size: Option<u64>,
}

/// A path the push changes that another user has locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedChange {
    /// The ref whose update changes the path.
    pub refname: String,
    /// The lock.
    pub lock: LockRecord,
}

/// Why a push is refused, or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The push breaks the policy; the text is the message for the client.
    #[error("{0}")]
    Refused(String),
    /// The repository's settings could not be read.
    #[error("hubctl: cannot check this push: {0}")]
    Store(#[from] crate::store::Error),
    /// The repository's Git LFS locks could not be read.
    #[error("hubctl: cannot check this push: {0}")]
    Locks(#[from] crate::lfs::locks::LockError),
    /// The repository's Git LFS objects could not be read.
    #[error("hubctl: cannot check this push: {0}")]
    Lfs(#[from] crate::lfs::StorageError),
    /// The repository or the pushed objects could not be read.
    #[error("hubctl: cannot check this push: {context}: {source}")]
    Objects {
        /// What was being read.
        context: String,
        /// gix's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn objects<E: std::error::Error + Send + Sync + 'static>(
    context: impl Into<String>,
) -> impl FnOnce(E) -> Error {
    let context = context.into();
    move |e| Error::Objects {
        context,
        source: Box::new(e),
    }
}

/// One line of pre-receive's input: a ref and its old and new value (the null id for a ref
/// being created or deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The ref's value before the push.
    pub old: ObjectId,
    /// Its value after the push.
    pub new: ObjectId,
    /// The full ref name (`refs/heads/main`).
    pub name: String,
}

/// Parse pre-receive's input (`<old> <new> <ref>` per line); lines that are not of this form
/// are skipped.
pub fn parse_updates(input: &[u8]) -> Vec<RefUpdate> {
    input
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let mut parts = line.trim_end_matches('\r').splitn(3, ' ');
            let old = ObjectId::from_hex(parts.next()?.as_bytes()).ok()?;
            let new = ObjectId::from_hex(parts.next()?.as_bytes()).ok()?;
            let name = parts.next()?.to_string();
            Some(RefUpdate { old, new, name })
        })
        .collect()
}

/// What the pre-receive hook knows of a push into a hosted repository (its entry point reads
/// these from the environment git and hubctl gave it, and from its input).
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    /// The hubctl root.
    pub root: &'a Root,
    /// The repository pushed to.
    pub name: &'a RepoName,
    /// Its directory.
    pub git_dir: &'a Path,
    /// git's quarantine directory (`GIT_QUARANTINE_PATH`): the objects the push brings. git
    /// only creates one when the push carries a pack; a delete-only push adds no objects.
    pub quarantine: Option<&'a Path>,
    /// The refs the push updates.
    pub updates: &'a [RefUpdate],
    /// The authenticated user who pushes (`HUBCTL_USER`); `None` for an anonymous push or the
    /// local operator, who then holds no locks.
    pub user: Option<&'a str>,
}

/// Environment variable: the [`Facts`] of a push, set by the process that starts
/// receive-pack (see [`Facts::for_hook`]).
pub const FACTS_ENV: &str = "HUBCTL_PUSH_POLICY";

/// The settings the pre-receive check needs, when they are all it needs: the repository's
/// size limit and whether LFS pointers are checked against objects stored in the repository
/// itself. The process that starts receive-pack has just read them from the database and
/// hands them to the hook in [`FACTS_ENV`], so the hook does not open SQLite (its schema
/// parse and settings reads were a measured part of every push's hook). A push that needs
/// more (locks to enforce, LFS objects in S3) gets no facts, and the hook reads the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// The repository's `max-blob-size`.
    pub max_blob_size: Option<u64>,
    /// `lfs-check-pointers`, with the repository's LFS objects stored locally.
    pub check_pointers: bool,
}

impl Facts {
    /// The facts for the hook, or `None` when the hook must read the database itself.
    pub fn for_hook(
        repo: &crate::store::repos::RepoSettings,
        global: &crate::settings::Settings,
    ) -> Option<Facts> {
        let backend = repo.lfs_storage.unwrap_or(global.lfs_storage);
        let pointers_local =
            !global.lfs_check_pointers || backend == crate::store::repos::LfsBackend::Local;
        (!repo.lfs_enforce_locks && pointers_local).then_some(Facts {
            max_blob_size: repo.max_blob_size,
            check_pointers: global.lfs_check_pointers,
        })
    }

    /// The value of [`FACTS_ENV`].
    pub fn encode(&self) -> String {
        let limit = self
            .max_blob_size
            .map_or_else(|| "none".to_string(), |n| n.to_string());
        format!(
            "max-blob-size={limit} check-pointers={}",
            u8::from(self.check_pointers)
        )
    }

    /// Parse [`Facts::encode`]'s output; anything else is `None` (the hook then reads the
    /// database, as without facts).
    pub fn decode(value: &str) -> Option<Facts> {
        let mut parts = value.split(' ');
        let limit = parts.next()?.strip_prefix("max-blob-size=")?;
        let pointers = parts.next()?.strip_prefix("check-pointers=")?;
        if parts.next().is_some() {
            return None;
        }
        Some(Facts {
            max_blob_size: match limit {
                "none" => None,
                n => Some(n.parse().ok()?),
            },
            check_pointers: match pointers {
                "0" => false,
                "1" => true,
                _ => return None,
            },
        })
    }
}

/// pre-receive: apply hubctl's policy to a push. [`Error::Refused`] carries the message for
/// the client, naming every problem found; the push is then rejected. With `facts` (see
/// [`Facts`]) the database is not opened.
pub fn pre_receive(push: Push<'_>, facts: Option<Facts>) -> Result<(), Error> {
    if let Some(facts) = facts {
        let Some(quarantine) = push.quarantine else {
            return Ok(());
        };
        if facts.max_blob_size.is_none() && !facts.check_pointers {
            return Ok(());
        }
        let lfs = facts
            .check_pointers
            .then(|| crate::lfs::storage::FsStore::new(push.git_dir));
        let found = check_incoming(
            push.git_dir,
            quarantine,
            facts.max_blob_size,
            lfs.as_ref().map(|s| s as &dyn ObjectStore),
        )?;
        let mut refusals = Vec::new();
        if let Some(limit) = facts.max_blob_size.filter(|_| !found.large.is_empty()) {
            refusals.push(large_blob_message(&found.large, limit));
        }
        if !found.missing.is_empty() {
            refusals.push(missing_objects_message(&found.missing));
        }
        return if refusals.is_empty() {
            Ok(())
        } else {
            Err(Error::Refused(refusals.concat()))
        };
    }
    let store = Store::open_root(push.root)?;
    let row = store.repo_row(push.name)?;
    let settings = row.as_ref().map(|r| r.settings.clone()).unwrap_or_default();
    let global = crate::settings::Settings::load(&store)?;
    let check_pointers = global.lfs_check_pointers;
    let mut refusals = Vec::new();
    if let Some(quarantine) = push.quarantine {
        if settings.max_blob_size.is_some() || check_pointers {
            let lfs = if check_pointers {
                Some(crate::lfs::storage::open(
                    push.git_dir,
                    Some(push.name),
                    settings.lfs_storage,
                    &global,
                )?)
            } else {
                None
            };
            let found = check_incoming(
                push.git_dir,
                quarantine,
                settings.max_blob_size,
                lfs.as_deref(),
            )?;
            if let Some(limit) = settings.max_blob_size.filter(|_| !found.large.is_empty()) {
                refusals.push(large_blob_message(&found.large, limit));
            }
            if !found.missing.is_empty() {
                refusals.push(missing_objects_message(&found.missing));
            }
        }
    }
    if let (true, Some(row)) = (settings.lfs_enforce_locks, &row) {
        let user_id = match push.user {
            Some(user) => store.user(user)?.map(|u| u.id),
            None => None,
        };
        // Without a known user every lock is someone else's.
        let locks = crate::lfs::locks::held_by_others(store.conn(), row.id, user_id.unwrap_or(-1))?;
        if !locks.is_empty() {
            let changes = locked_changes(push.git_dir, push.quarantine, push.updates, &locks)?;
            if !changes.is_empty() {
                refusals.push(locked_message(&changes));
            }
        }
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused(refusals.concat()))
    }
}

/// The repository's objects and, during a push, the quarantined ones it brings.
struct Objects {
    repo: gix::Repository,
    incoming: Option<gix::odb::Handle>,
    hash: gix::hash::Kind,
}

impl Objects {
    fn open(git_dir: &Path, quarantine: Option<&Path>) -> Result<Objects, Error> {
        let mut repo = gix::open_opts(git_dir, gix::open::Options::isolated())
            .map_err(objects(format!("opening {}", git_dir.display())))?;
        // Most lookups here are misses by design (is this incoming object new? is this old
        // object in the quarantine?), and by default gix answers every miss by re-reading the
        // pack directory: one directory scan and a `stat` of every pack file per new blob
        // (12,000 system calls and most of the hook's time for a push of 300 commits into a
        // repository with 20 packs). The packs present when the hook starts are the ones
        // that count; a repack meanwhile only rolls objects into new packs, and the indices
        // already loaded stay mapped.
        repo.objects.refresh_never();
        let hash = repo.object_hash();
        let incoming = match quarantine {
            Some(q) => {
                let mut odb = gix::odb::at(q, hash)
                    .map_err(objects(format!("opening the quarantine {}", q.display())))?;
                odb.refresh_never();
                Some(odb)
            }
            None => None,
        };
        Ok(Objects {
            repo,
            incoming,
            hash,
        })
    }

    /// True if the repository had `id` before this push.
    fn existed(&self, id: &gix::oid) -> bool {
        self.repo.objects.exists(id)
    }

    /// An object's kind and content, from the quarantine or the repository.
    fn read(&self, id: &gix::oid) -> Result<Option<(gix::objs::Kind, Vec<u8>)>, Error> {
        let mut buf = Vec::new();
        if let Some(incoming) = &self.incoming {
            if let Some(d) = incoming
                .try_find(id, &mut buf)
                .map_err(objects(format!("reading object {id}")))?
            {
                return Ok(Some((d.kind, d.data.to_vec())));
            }
        }
        Ok(self
            .repo
            .objects
            .try_find(id, &mut buf)
            .map_err(objects(format!("reading object {id}")))?
            .map(|d| (d.kind, d.data.to_vec())))
    }

    /// The tree of the commit `id` points at, peeling tags; `None` for a blob or a missing
    /// object.
    fn tree_of(&self, id: &gix::oid) -> Result<Option<ObjectId>, Error> {
        let mut id = id.to_owned();
        for _ in 0..32 {
            let Some((kind, data)) = self.read(&id)? else {
                return Ok(None);
            };
            id = match kind {
                gix::objs::Kind::Tree => return Ok(Some(id)),
                gix::objs::Kind::Blob => return Ok(None),
                gix::objs::Kind::Commit => {
                    return gix::objs::CommitRefIter::from_bytes(&data, self.hash)
                        .tree_id()
                        .map(Some)
                        .map_err(objects(format!("reading commit {id}")));
                }
                gix::objs::Kind::Tag => gix::objs::TagRefIter::from_bytes(&data, self.hash)
                    .target_id()
                    .map_err(objects(format!("reading tag {id}")))?,
            };
        }
        Ok(None)
    }

    /// The entries of tree `id` by name: (mode, id). A missing tree has none.
    fn entries(
        &self,
        id: Option<ObjectId>,
    ) -> Result<BTreeMap<Vec<u8>, (gix::objs::tree::EntryMode, ObjectId)>, Error> {
        let mut out = BTreeMap::new();
        let Some(id) = id else { return Ok(out) };
        let Some((_, data)) = self.read(&id)? else {
            return Ok(out);
        };
        for entry in gix::objs::TreeRefIter::from_bytes(&data, self.hash) {
            let entry = entry.map_err(objects(format!("reading tree {id}")))?;
            out.insert(entry.filename.to_vec(), (entry.mode, entry.oid.to_owned()));
        }
        Ok(out)
    }

    /// Every path whose content, mode or type differs between trees `a` and `b` (`None` =
    /// empty), below `prefix`: files added, changed and deleted, without rename detection.
    fn diff_trees(
        &self,
        a: Option<ObjectId>,
        b: Option<ObjectId>,
        prefix: &str,
        out: &mut BTreeSet<String>,
    ) -> Result<(), Error> {
        if a == b {
            return Ok(());
        }
        let (ea, eb) = (self.entries(a)?, self.entries(b)?);
        let names: BTreeSet<&Vec<u8>> = ea.keys().chain(eb.keys()).collect();
        for name in names {
            let (x, y) = (ea.get(name), eb.get(name));
            if x == y {
                continue;
            }
            let path = join(prefix, name);
            let subtree = |e: Option<&(gix::objs::tree::EntryMode, ObjectId)>| {
                e.filter(|(m, _)| m.is_tree()).map(|(_, id)| *id)
            };
            let file = |e: Option<&(gix::objs::tree::EntryMode, ObjectId)>| {
                e.filter(|(m, _)| !m.is_tree()).copied()
            };
            if subtree(x).is_some() || subtree(y).is_some() {
                self.diff_trees(subtree(x), subtree(y), &path, out)?;
            }
            if file(x) != file(y) {
                out.insert(path);
            }
        }
        Ok(())
    }
}

fn join(prefix: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// What [`check_incoming`] found among the objects a push brings.
#[derive(Debug, Default)]
pub struct Incoming {
    /// Blobs over the size limit that are not LFS pointers, by path.
    pub large: Vec<Violation>,
    /// LFS pointers whose objects the server does not have, by path.
    pub missing: Vec<MissingObject>,
}

/// Check the objects in `quarantine` (what a push brings) that the repository at `git_dir`
/// did not have yet: blobs larger than `limit` that are not Git LFS pointers, and (with an
/// `lfs` store to check against) LFS pointers whose object is not in the repository's store.
pub fn check_incoming(
    git_dir: &Path,
    quarantine: &Path,
    limit: Option<u64>,
    lfs: Option<&dyn ObjectStore>,
) -> Result<Incoming, Error> {
    let objs = Objects::open(git_dir, Some(quarantine))?;
    let Some(incoming) = &objs.incoming else {
        return Ok(Incoming::default());
    };
    let check_pointers = lfs.is_some();
    let mut large: HashMap<ObjectId, u64> = HashMap::new();
    let mut missing: HashMap<ObjectId, (Pointer, Option<u64>)> = HashMap::new();
    let mut commits = Vec::new();
    let mut buf = Vec::new();
    let ids = incoming
        .iter()
        .map_err(objects("listing incoming objects"))?;
    for id in ids {
        let id = id.map_err(objects("listing incoming objects"))?;
        let Some(header) = incoming
            .try_header(&id)
            .map_err(objects(format!("reading object {id}")))?
        else {
            continue;
        };
        match header.kind {
            gix::objs::Kind::Commit => commits.push(id),
            gix::objs::Kind::Blob => {
                let over = limit.is_some_and(|l| header.size > l);
                let maybe_pointer = (MIN_POINTER_SIZE..MAX_POINTER_SIZE).contains(&header.size);
                if !(over || (check_pointers && maybe_pointer)) || objs.existed(&id) {
                    continue;
                }
                let pointer = if maybe_pointer {
                    incoming
                        .try_find(&id, &mut buf)
                        .map_err(objects(format!("reading object {id}")))?
                        .and_then(|d| Pointer::parse(d.data))
                } else {
                    None
                };
                match pointer {
                    None if over => {
                        large.insert(id, header.size);
                    }
                    Some(p) => match lfs.map(|l| l.stat(&p.oid)).transpose()? {
                        None => {}
                        Some(Some(size)) if size == p.size => {}
                        Some(stored) => {
                            missing.insert(id, (p, stored));
                        }
                    },
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if large.is_empty() && missing.is_empty() {
        return Ok(Incoming::default());
    }
    let wanted: HashSet<ObjectId> = large.keys().chain(missing.keys()).copied().collect();
    let paths = paths_of(&objs, &commits, &wanted)?;
    let path = |id: &ObjectId| {
        paths
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("(blob {id})"))
    };
    let mut out = Incoming {
        large: large
            .into_iter()
            .map(|(id, size)| Violation {
                path: path(&id),
                size,
                id,
            })
            .collect(),
        missing: missing
            .into_iter()
            .map(|(id, (pointer, stored_size))| MissingObject {
                path: path(&id),
                pointer,
                stored_size,
            })
            .collect(),
    };
    out.large.sort_by(|a, b| a.path.cmp(&b.path));
    out.missing.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A path under which each blob in `wanted` appears in the trees of `commits` (the first one
/// found).
fn paths_of(
    objs: &Objects,
    commits: &[ObjectId],
    wanted: &HashSet<ObjectId>,
) -> Result<HashMap<ObjectId, String>, Error> {
    let mut paths = HashMap::new();
    let mut seen_trees = HashSet::new();
    for commit in commits {
        if paths.len() == wanted.len() {
            break;
        }
        let Some(tree) = objs.tree_of(commit)? else {
            continue;
        };
        let mut stack = vec![(tree, String::new())];
        while let Some((tree, prefix)) = stack.pop() {
            if !seen_trees.insert(tree) {
                continue;
            }
            for (name, (mode, id)) in objs.entries(Some(tree))? {
                let path = join(&prefix, &name);
                if mode.is_tree() {
                    stack.push((id, path));
                } else if wanted.contains(&id) {
                    paths.entry(id).or_insert(path);
                }
            }
        }
    }
    Ok(paths)
}

/// Find the blobs in `quarantine` (objects a push brings) that are larger than `limit`, are not
/// already in the repository, and are not Git LFS pointers.
pub fn large_blobs(git_dir: &Path, quarantine: &Path, limit: u64) -> Result<Vec<Violation>, Error> {
    Ok(check_incoming(git_dir, quarantine, Some(limit), None)?.large)
}

/// The paths each update changes, for lock enforcement:
///
/// - an update of an existing ref: every path that differs between the old and the new
///   commit's trees (what the ref's content gains or loses, whichever commits carry it);
/// - a new ref: the paths changed by the commits that are new to the repository (each against
///   its parents; a merge counts only paths that differ from every parent, so a merge that
///   takes one side's version of a file does not change it);
/// - a deleted ref: none (no content of another ref changes).
pub fn changed_paths(
    git_dir: &Path,
    quarantine: Option<&Path>,
    update: &RefUpdate,
) -> Result<BTreeSet<String>, Error> {
    let objs = Objects::open(git_dir, quarantine)?;
    changed_paths_in(&objs, update)
}

fn changed_paths_in(objs: &Objects, update: &RefUpdate) -> Result<BTreeSet<String>, Error> {
    let mut out = BTreeSet::new();
    if update.new.is_null() {
        return Ok(out);
    }
    if !update.old.is_null() {
        let (a, b) = (objs.tree_of(&update.old)?, objs.tree_of(&update.new)?);
        objs.diff_trees(a, b, "", &mut out)?;
        return Ok(out);
    }
    let mut stack = vec![update.new];
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) || objs.existed(&id) {
            continue;
        }
        let Some((kind, data)) = objs.read(&id)? else {
            continue;
        };
        match kind {
            gix::objs::Kind::Tag => {
                let target = gix::objs::TagRefIter::from_bytes(&data, objs.hash)
                    .target_id()
                    .map_err(objects(format!("reading tag {id}")))?;
                stack.push(target);
            }
            gix::objs::Kind::Commit => {
                let tree = gix::objs::CommitRefIter::from_bytes(&data, objs.hash)
                    .tree_id()
                    .map_err(objects(format!("reading commit {id}")))?;
                let parents: Vec<ObjectId> = gix::objs::CommitRefIter::from_bytes(&data, objs.hash)
                    .parent_ids()
                    .collect();
                let mut changed: Option<BTreeSet<String>> = None;
                for parent in &parents {
                    let mut against = BTreeSet::new();
                    objs.diff_trees(objs.tree_of(parent)?, Some(tree), "", &mut against)?;
                    changed = Some(match changed {
                        None => against,
                        Some(c) => c.intersection(&against).cloned().collect(),
                    });
                }
                let changed = match changed {
                    Some(c) => c,
                    None => {
                        let mut all = BTreeSet::new();
                        objs.diff_trees(None, Some(tree), "", &mut all)?;
                        all
                    }
                };
                out.extend(changed);
                stack.extend(parents);
            }
            gix::objs::Kind::Tree => objs.diff_trees(None, Some(id), "", &mut out)?,
            gix::objs::Kind::Blob => {}
        }
    }
    Ok(out)
}

/// The updates in `updates` that change a path one of `locks` holds.
fn locked_changes(
    git_dir: &Path,
    quarantine: Option<&Path>,
    updates: &[RefUpdate],
    locks: &[LockRecord],
) -> Result<Vec<LockedChange>, Error> {
    let objs = Objects::open(git_dir, quarantine)?;
    let by_path: HashMap<&str, &LockRecord> = locks.iter().map(|l| (l.path.as_str(), l)).collect();
    let mut out: Vec<LockedChange> = Vec::new();
    for update in updates {
        for path in changed_paths_in(&objs, update)? {
            if let Some(lock) = by_path.get(path.as_str()) {
                if !out.iter().any(|c| c.lock.id == lock.id) {
                    out.push(LockedChange {
                        refname: update.name.clone(),
                        lock: (*lock).clone(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.lock.path.cmp(&b.lock.path));
    Ok(out)
}

/// True if `data` is a Git LFS pointer file (see [`Pointer::parse`]).
pub fn is_lfs_pointer(data: &[u8]) -> bool {
    Pointer::parse(data).is_some()
}

/// The message for pushes that add LFS pointers without their objects (as `remote:` lines).
pub fn missing_objects_message(missing: &[MissingObject]) -> String {
    let mut m = format!(
        "hubctl: push rejected: {} Git LFS {} not on the server:\n",
        missing.len(),
        if missing.len() == 1 {
            "object is"
        } else {
            "objects are"
        }
    );
    for o in missing {
        m.push_str(&format!(
            "hubctl:   {}  oid sha256:{}  {} ({} bytes)",
            o.path,
            o.pointer.oid,
            format_size(o.pointer.size),
            o.pointer.size
        ));
        if let Some(stored) = o.stored_size {
            m.push_str(&format!(
                ": the pointer's size is wrong, the object has {stored} bytes"
            ));
        }
        m.push('\n');
    }
    m.push_str("hubctl: The push adds Git LFS pointers whose content was never uploaded. Upload the objects, then push again:\n");
    m.push_str("hubctl:   git lfs push --all origin\n");
    m
}

/// The message for pushes that change paths other users have locked (as `remote:` lines).
pub fn locked_message(changes: &[LockedChange]) -> String {
    let mut m = format!(
        "hubctl: push rejected: it changes {} locked in Git LFS by another user:\n",
        if changes.len() == 1 {
            "1 file".to_string()
        } else {
            format!("{} files", changes.len())
        }
    );
    for c in changes {
        m.push_str(&format!(
            "hubctl:   {}  locked by {} (lock id {}), changed on {}\n",
            c.lock.path, c.lock.owner_name, c.lock.id, c.refname
        ));
    }
    m.push_str("hubctl: Leave these files out of your push, or ask the lock owner to unlock them (git lfs locks lists the locks).\n");
    m
}

/// The message a rejected push shows (as `remote:` lines).
pub fn large_blob_message(violations: &[Violation], limit: u64) -> String {
    let mut m = format!(
        "hubctl: push rejected: {} larger than this repository's limit of {} ({} bytes) and not stored in Git LFS:\n",
        if violations.len() == 1 {
            "1 file is".to_string()
        } else {
            format!("{} files are", violations.len())
        },
        format_size(limit),
        limit
    );
    for v in violations {
        m.push_str(&format!(
            "hubctl:   {}  {} ({} bytes)\n",
            v.path,
            format_size(v.size),
            v.size
        ));
    }
    let mut patterns: Vec<String> = violations.iter().map(|v| lfs_pattern(&v.path)).collect();
    patterns.sort();
    patterns.dedup();
    // `migrate import` rewrites the commits into pointers and adds the patterns to
    // .gitattributes itself (a `git lfs track` first would leave the working tree dirty, which
    // migrate refuses). Without `--everything` it rewrites only the current branch's commits
    // that no remote-tracking ref has: the refused ones. `--everything` would rewrite commits
    // the server already has too, and the next push would be refused as non-fast-forward.
    m.push_str("hubctl: Files this large belong in Git LFS. Move them into LFS in the commits not pushed yet (this also tracks them in .gitattributes), then push again:\n");
    m.push_str(&format!(
        "hubctl:   git lfs migrate import --include=\"{}\"\n",
        patterns.join(",")
    ));
    m.push_str("hubctl:   git push\n");
    m
}

/// The `git lfs migrate import --include` pattern to suggest for `path`: its extension if it
/// has one.
fn lfs_pattern(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => format!("*.{ext}"),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_and_refuse_anything_else() {
        for facts in [
            Facts::default(),
            Facts {
                max_blob_size: Some(1 << 20),
                check_pointers: true,
            },
            Facts {
                max_blob_size: Some(0),
                check_pointers: false,
            },
        ] {
            assert_eq!(Facts::decode(&facts.encode()), Some(facts));
        }
        assert_eq!(
            Facts::decode("max-blob-size=1048576 check-pointers=1"),
            Some(Facts {
                max_blob_size: Some(1048576),
                check_pointers: true
            })
        );
        for bad in [
            "",
            "max-blob-size=none",
            "max-blob-size=none check-pointers=2",
            "max-blob-size=-1 check-pointers=1",
            "max-blob-size=1MB check-pointers=1",
            "max-blob-size=none check-pointers=1 extra",
            "check-pointers=1 max-blob-size=none",
            "max-blob-size=none  check-pointers=1",
        ] {
            assert_eq!(Facts::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn facts_only_when_the_hook_needs_nothing_else() {
        use crate::store::repos::{LfsBackend, RepoSettings};
        let global = crate::settings::Settings::default();
        let repo = RepoSettings {
            max_blob_size: Some(42),
            ..RepoSettings::default()
        };
        assert_eq!(
            Facts::for_hook(&repo, &global),
            Some(Facts {
                max_blob_size: Some(42),
                check_pointers: global.lfs_check_pointers,
            })
        );
        // Locks are read from the database by the hook.
        let locks = RepoSettings {
            lfs_enforce_locks: true,
            ..RepoSettings::default()
        };
        assert_eq!(Facts::for_hook(&locks, &global), None);
        // Pointers checked against S3 need the store's settings and credentials.
        let s3 = RepoSettings {
            lfs_storage: Some(LfsBackend::S3),
            ..RepoSettings::default()
        };
        let checking = crate::settings::Settings {
            lfs_check_pointers: true,
            ..crate::settings::Settings::default()
        };
        assert_eq!(Facts::for_hook(&s3, &checking), None);
        let unchecked = crate::settings::Settings {
            lfs_check_pointers: false,
            ..crate::settings::Settings::default()
        };
        assert_eq!(
            Facts::for_hook(&s3, &unchecked),
            Some(Facts {
                max_blob_size: None,
                check_pointers: false,
            })
        );
    }

    /// With facts the hook never opens the database: a root without one is no error.
    #[test]
    fn facts_need_no_database() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::at(dir.path()).unwrap();
        // A database SQLite cannot open.
        std::fs::create_dir_all(root.db_path()).unwrap();
        let name = RepoName::parse("team/app").unwrap();
        let git_dir = dir.path().join("app.git");
        let push = || Push {
            root: &root,
            name: &name,
            git_dir: &git_dir,
            quarantine: None,
            updates: &[],
            user: None,
        };
        assert!(pre_receive(push(), Some(Facts::default())).is_ok());
        assert!(pre_receive(push(), None).is_err());
    }

    #[test]
    fn recognises_lfs_pointers() {
        let p = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";
        assert!(is_lfs_pointer(p.as_bytes()));
        assert!(!is_lfs_pointer(
            b"version https://git-lfs.github.com/spec/v1\nsize 1\n"
        ));
        assert!(!is_lfs_pointer(b"hello"));
    }

    #[test]
    fn suggests_patterns() {
        assert_eq!(lfs_pattern("data/model.bin"), "*.bin");
        assert_eq!(lfs_pattern("Makefile"), "Makefile");
        assert_eq!(lfs_pattern("dir/.hidden"), "dir/.hidden");
    }

    #[test]
    fn large_blob_message_suggests_only_migrate() {
        let v = |path: &str| Violation {
            path: path.into(),
            size: 2 << 20,
            id: ObjectId::null(gix::hash::Kind::Sha1),
        };
        let m = large_blob_message(&[v("b.bin"), v("a/c.psd"), v("d.bin")], 1 << 20);
        assert!(!m.contains("git lfs track"), "{m}");
        assert!(
            m.contains(
                "hubctl:   git lfs migrate import --include=\"*.bin,*.psd\"\nhubctl:   git push\n"
            ),
            "{m}"
        );
        assert!(m.lines().all(|l| l.starts_with("hubctl:")), "{m}");
    }

    #[test]
    fn pre_receive_input() {
        let a = "1".repeat(40);
        let z = "0".repeat(40);
        let input = format!("{z} {a} refs/heads/new\n{a} {z} refs/tags/v 1\ngarbage\n\n");
        let u = parse_updates(input.as_bytes());
        assert_eq!(u.len(), 2);
        assert!(u[0].old.is_null() && !u[0].new.is_null());
        assert_eq!(u[0].name, "refs/heads/new");
        assert_eq!(
            u[1].name, "refs/tags/v 1",
            "everything after the second space"
        );
        assert!(u[1].new.is_null());
    }

    /// A bare repository to write objects into.
    struct Repo {
        _dir: tempfile::TempDir,
        objs: Objects,
    }

    impl Repo {
        fn new() -> Repo {
            let dir = tempfile::tempdir().unwrap();
            gix::init_bare(dir.path().join("r.git")).unwrap();
            let objs = Objects::open(&dir.path().join("r.git"), None).unwrap();
            Repo { _dir: dir, objs }
        }

        fn blob(&self, text: &str) -> ObjectId {
            self.objs.repo.write_blob(text.as_bytes()).unwrap().detach()
        }

        /// A tree from (name, id, is_tree) entries.
        fn tree(&self, entries: &[(&str, ObjectId, bool)]) -> ObjectId {
            use gix::objs::tree::{Entry, EntryKind};
            let mut entries: Vec<Entry> = entries
                .iter()
                .map(|(name, oid, is_tree)| Entry {
                    mode: if *is_tree {
                        EntryKind::Tree.into()
                    } else {
                        EntryKind::Blob.into()
                    },
                    filename: (*name).into(),
                    oid: *oid,
                })
                .collect();
            entries.sort();
            self.objs
                .repo
                .write_object(&gix::objs::Tree { entries })
                .unwrap()
                .detach()
        }

        fn commit(&self, tree: ObjectId, parents: &[ObjectId]) -> ObjectId {
            let sig = gix::actor::Signature {
                name: "t".into(),
                email: "t@example.com".into(),
                time: gix::date::Time::new(1_700_000_000, 0),
            };
            let commit = gix::objs::Commit {
                tree,
                parents: parents.iter().copied().collect(),
                author: sig.clone(),
                committer: sig,
                encoding: None,
                message: "m".into(),
                extra_headers: Vec::new(),
            };
            self.objs.repo.write_object(&commit).unwrap().detach()
        }

        fn changed(&self, old: Option<ObjectId>, new: ObjectId) -> Vec<String> {
            let update = RefUpdate {
                old: old.unwrap_or_else(|| ObjectId::null(gix::hash::Kind::Sha1)),
                new,
                name: "refs/heads/x".into(),
            };
            changed_paths_in(&self.objs, &update)
                .unwrap()
                .into_iter()
                .collect()
        }
    }

    #[test]
    fn changed_paths_of_updates() {
        let r = Repo::new();
        let (one, two) = (r.blob("1"), r.blob("2"));
        let sub = r.tree(&[("f.bin", one, false), ("g.bin", one, false)]);
        let sub2 = r.tree(&[("f.bin", two, false), ("g.bin", one, false)]);
        let t1 = r.tree(&[("a.bin", one, false), ("dir", sub, true)]);
        let t2 = r.tree(&[
            ("a.bin", one, false),
            ("dir", sub2, true),
            ("n", two, false),
        ]);
        let c1 = r.commit(t1, &[]);
        let c2 = r.commit(t2, &[c1]);
        assert_eq!(r.changed(Some(c1), c2), ["dir/f.bin", "n"]);
        assert_eq!(r.changed(Some(c2), c1), ["dir/f.bin", "n"], "a rewind");
        // A file replaced by a directory: the file and everything below the directory.
        let t3 = r.tree(&[("a.bin", sub, true), ("dir", sub, true)]);
        let c3 = r.commit(t3, &[c1]);
        assert_eq!(
            r.changed(Some(c1), c3),
            ["a.bin", "a.bin/f.bin", "a.bin/g.bin"]
        );
        // Deleting a ref changes nothing.
        let null = ObjectId::null(gix::hash::Kind::Sha1);
        assert!(r.changed(Some(c1), null).is_empty());
    }

    #[test]
    fn changed_paths_of_new_refs_count_new_commits_only() {
        let r = Repo::new();
        let (one, two, three) = (r.blob("1"), r.blob("2"), r.blob("3"));
        let root = r.commit(r.tree(&[("a", one, false), ("b", one, false)]), &[]);
        // Every object here exists in the repository, so a new ref at any of them adds no
        // new commit and changes nothing ...
        assert!(r.changed(None, root).is_empty());
        // ... but objects only in the quarantine are new. Put the later commits there.
        let q = tempfile::tempdir().unwrap();
        let objs = Objects::open(r.objs.repo.path(), Some(q.path())).unwrap();
        let write_q = |obj: &dyn gix::objs::WriteTo| -> ObjectId {
            use gix::objs::Write as _;
            let odb = gix::odb::at(q.path(), gix::hash::Kind::Sha1).unwrap();
            odb.write(obj).unwrap()
        };
        let tree = |entries: &[(&str, ObjectId)]| {
            let mut entries: Vec<gix::objs::tree::Entry> = entries
                .iter()
                .map(|(n, id)| gix::objs::tree::Entry {
                    mode: gix::objs::tree::EntryKind::Blob.into(),
                    filename: (*n).into(),
                    oid: *id,
                })
                .collect();
            entries.sort();
            write_q(&gix::objs::Tree { entries })
        };
        let commit = |tree: ObjectId, parents: &[ObjectId]| {
            let sig = gix::actor::Signature {
                name: "t".into(),
                email: "t@example.com".into(),
                time: gix::date::Time::new(1_700_000_000, 0),
            };
            write_q(&gix::objs::Commit {
                tree,
                parents: parents.iter().copied().collect(),
                author: sig.clone(),
                committer: sig,
                encoding: None,
                message: "m".into(),
                extra_headers: Vec::new(),
            })
        };
        // Two branches off root: one changes a, the other b; the merge takes both sides'
        // versions unchanged, and then changes c.
        let left = commit(tree(&[("a", two), ("b", one)]), &[root]);
        let right = commit(tree(&[("a", one), ("b", two)]), &[root]);
        let merge = commit(tree(&[("a", two), ("b", two)]), &[left, right]);
        let tip = commit(tree(&[("a", two), ("b", two), ("c", three)]), &[merge]);
        let changed = |new| {
            let u = RefUpdate {
                old: ObjectId::null(gix::hash::Kind::Sha1),
                new,
                name: "refs/heads/n".into(),
            };
            changed_paths_in(&objs, &u)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            changed(left),
            ["a"],
            "root is not new: only left's own change"
        );
        assert_eq!(changed(tip), ["a", "b", "c"]);
        // A merge that resolves a conflict changes the resolved path.
        let resolved = commit(tree(&[("a", three), ("b", two)]), &[left, right]);
        assert_eq!(changed(resolved), ["a", "b"]);
    }
}
