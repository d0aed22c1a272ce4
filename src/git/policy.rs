//! hubctl's push policy, applied in the pre-receive hook on the quarantined objects.
//!
//! Large-file rule: a blob the push introduces that is larger than the repository's
//! `max-blob-size` and is not a Git LFS pointer rejects the whole push, before any ref moves.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use gix::ObjectId;
use gix::objs::{Exists, Find, FindHeader};

use crate::core::names::RepoName;
use crate::core::root::Root;
use crate::core::units::format_size;
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

/// Why a push is refused, or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The push breaks the policy; the text is the message for the client.
    #[error("{0}")]
    Refused(String),
    /// The repository's settings could not be read.
    #[error("hubctl: cannot check this push: {0}")]
    Store(#[from] crate::store::Error),
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

/// What the pre-receive hook knows of a push into a hosted repository (its entry point reads
/// these from the environment git and hubctl gave it).
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
}

/// pre-receive: apply hubctl's policy to a push. [`Error::Refused`] carries the message for
/// the client; the push is then rejected.
pub fn pre_receive(push: Push<'_>) -> Result<(), Error> {
    let store = Store::open_root(push.root)?;
    let limit = store
        .repo_settings(push.name)?
        .and_then(|s| s.max_blob_size);
    let (Some(limit), Some(quarantine)) = (limit, push.quarantine) else {
        return Ok(());
    };
    let violations = large_blobs(push.git_dir, quarantine, limit)?;
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused(large_blob_message(&violations, limit)))
    }
}

/// Find the blobs in `quarantine` (objects a push brings) that are larger than `limit`, are not
/// already in the repository, and are not Git LFS pointers.
pub fn large_blobs(git_dir: &Path, quarantine: &Path, limit: u64) -> Result<Vec<Violation>, Error> {
    let repo = gix::open_opts(git_dir, gix::open::Options::isolated())
        .map_err(objects(format!("opening {}", git_dir.display())))?;
    let hash = repo.object_hash();
    let incoming = gix::odb::at(quarantine, hash).map_err(objects(format!(
        "opening the quarantine {}",
        quarantine.display()
    )))?;
    let existing = &repo.objects;
    let mut offenders: HashMap<ObjectId, u64> = HashMap::new();
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
            gix::objs::Kind::Blob if header.size > limit => {
                if offenders.contains_key(&id) || existing.exists(&id) {
                    continue;
                }
                if header.size < 1024 {
                    let data = incoming
                        .try_find(&id, &mut buf)
                        .map_err(objects(format!("reading object {id}")))?;
                    if data.is_some_and(|d| is_lfs_pointer(d.data)) {
                        continue;
                    }
                }
                offenders.insert(id, header.size);
            }
            _ => {}
        }
    }
    if offenders.is_empty() {
        return Ok(Vec::new());
    }
    let mut paths = HashMap::new();
    let mut seen_trees = HashSet::new();
    let read = |id: &gix::oid, buf: &mut Vec<u8>| -> Option<Vec<u8>> {
        match incoming.try_find(id, buf) {
            Ok(Some(d)) => Some(d.data.to_vec()),
            _ => existing
                .try_find(id, buf)
                .ok()
                .flatten()
                .map(|d| d.data.to_vec()),
        }
    };
    for commit in &commits {
        if paths.len() == offenders.len() {
            break;
        }
        let Some(data) = read(commit, &mut buf) else {
            continue;
        };
        let Ok(tree) = gix::objs::CommitRefIter::from_bytes(&data, hash).tree_id() else {
            continue;
        };
        let mut stack = vec![(tree, String::new())];
        while let Some((tree, prefix)) = stack.pop() {
            if !seen_trees.insert(tree) {
                continue;
            }
            let Some(data) = read(&tree, &mut buf) else {
                continue;
            };
            for entry in gix::objs::TreeRefIter::from_bytes(&data, hash).flatten() {
                let path = if prefix.is_empty() {
                    entry.filename.to_string()
                } else {
                    format!("{prefix}/{}", entry.filename)
                };
                if entry.mode.is_tree() {
                    stack.push((entry.oid.to_owned(), path));
                } else if offenders.contains_key(entry.oid) {
                    paths.entry(entry.oid.to_owned()).or_insert(path);
                }
            }
        }
    }
    let mut out: Vec<Violation> = offenders
        .into_iter()
        .map(|(id, size)| Violation {
            path: paths
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("(blob {id})")),
            size,
            id,
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// True if `data` is a Git LFS pointer file (spec v1: under 1024 bytes, a `version` line
/// first, an `oid sha256:` and a `size` line).
pub fn is_lfs_pointer(data: &[u8]) -> bool {
    if data.len() >= 1024 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let mut lines = text.lines();
    let version_ok = matches!(
        lines.next(),
        Some("version https://git-lfs.github.com/spec/v1")
            | Some("version https://hawser.github.com/spec/v1")
    );
    let mut oid_ok = false;
    let mut size_ok = false;
    for line in lines {
        if let Some(hex) = line.strip_prefix("oid sha256:") {
            oid_ok = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        } else if let Some(n) = line.strip_prefix("size ") {
            size_ok = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        }
    }
    version_ok && oid_ok && size_ok
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
    patterns.dedup();
    m.push_str("hubctl: Files this large belong in Git LFS. Track them and move them out of your history:\n");
    for p in &patterns {
        m.push_str(&format!("hubctl:   git lfs track \"{p}\"\n"));
    }
    m.push_str(&format!(
        "hubctl:   git lfs migrate import --include=\"{}\" --everything\n",
        patterns.join(",")
    ));
    m.push_str("hubctl: then push again.\n");
    m
}

/// The `git lfs track` pattern to suggest for `path`: its extension if it has one.
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
}
