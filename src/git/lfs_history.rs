//! Which Git LFS objects a repository's history points at: every pointer blob reachable from
//! any ref (what `hubctl lfs prune` must keep).

use std::collections::HashSet;
use std::path::Path;

use gix::ObjectId;
use gix::objs::{Find, FindHeader};

use crate::lfs::Oid;
use crate::lfs::pointer::{MAX_POINTER_SIZE, MIN_POINTER_SIZE, Pointer};

/// The history could not be read completely (then nothing may be pruned).
#[derive(Debug, thiserror::Error)]
#[error("reading the history of {repo}: {context}: {source}")]
pub struct Error {
    /// The repository.
    pub repo: String,
    /// What was being read.
    pub context: String,
    /// gix's error.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The oids of every Git LFS pointer reachable from any ref of the bare repository at
/// `git_dir` (all commits of all branches, tags and other refs, and their trees). A missing
/// object is an error, so that a damaged repository never makes objects look unreferenced.
pub fn referenced_oids(git_dir: &Path) -> Result<HashSet<Oid>, Error> {
    let fail = |context: String| {
        let repo = git_dir.display().to_string();
        move |e: Box<dyn std::error::Error + Send + Sync>| Error {
            repo,
            context,
            source: e,
        }
    };
    let boxed = |e: &dyn std::fmt::Display| -> Box<dyn std::error::Error + Send + Sync> {
        e.to_string().into()
    };
    let repo = gix::open_opts(git_dir, gix::open::Options::isolated())
        .map_err(|e| fail("opening the repository".into())(boxed(&e)))?;
    let hash = repo.object_hash();
    let mut stack: Vec<ObjectId> = Vec::new();
    let platform = repo
        .references()
        .map_err(|e| fail("listing refs".into())(boxed(&e)))?;
    let refs = platform
        .all()
        .map_err(|e| fail("listing refs".into())(boxed(&e)))?;
    for r in refs {
        let mut r = r.map_err(|e| fail("listing refs".into())(boxed(&e)))?;
        let name = r.name().as_bstr().to_string();
        let id = r
            .peel_to_id()
            .map_err(|e| fail(format!("resolving {name}"))(boxed(&e)))?;
        stack.push(id.detach());
    }
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut out = HashSet::new();
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let header = repo
            .objects
            .try_header(&id)
            .map_err(|e| fail(format!("reading object {id}"))(boxed(&e)))?
            .ok_or_else(|| fail(format!("reading object {id}"))("object is missing".into()))?;
        if header.kind == gix::objs::Kind::Blob
            && !(MIN_POINTER_SIZE..MAX_POINTER_SIZE).contains(&header.size)
        {
            continue;
        }
        let data = repo
            .objects
            .try_find(&id, &mut buf)
            .map_err(|e| fail(format!("reading object {id}"))(boxed(&e)))?
            .ok_or_else(|| fail(format!("reading object {id}"))("object is missing".into()))?;
        let parse = |e: &dyn std::fmt::Display| fail(format!("parsing object {id}"))(boxed(e));
        match data.kind {
            gix::objs::Kind::Blob => {
                if let Some(p) = Pointer::parse(data.data) {
                    out.insert(p.oid);
                }
            }
            gix::objs::Kind::Tree => {
                for entry in gix::objs::TreeRefIter::from_bytes(data.data, hash) {
                    let entry = entry.map_err(|e| parse(&e))?;
                    // Submodule entries name commits of another repository.
                    if !entry.mode.is_commit() {
                        stack.push(entry.oid.to_owned());
                    }
                }
            }
            gix::objs::Kind::Commit => {
                let tree = gix::objs::CommitRefIter::from_bytes(data.data, hash)
                    .tree_id()
                    .map_err(|e| parse(&e))?;
                stack.push(tree);
                stack.extend(gix::objs::CommitRefIter::from_bytes(data.data, hash).parent_ids());
            }
            gix::objs::Kind::Tag => {
                let target = gix::objs::TagRefIter::from_bytes(data.data, hash)
                    .target_id()
                    .map_err(|e| parse(&e))?;
                stack.push(target);
            }
        }
    }
    Ok(out)
}
