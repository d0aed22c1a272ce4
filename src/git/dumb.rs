//! git's "dumb" HTTP protocol as git http-backend serves it: the text ref list of
//! `info/refs` without `?service=`, and the repository files a dumb client fetches (`HEAD` is
//! the smart router's own endpoint)
//! (`objects/info/packs`, alternates, loose objects, packs and their indexes).
//!
//! Only the file names git http-backend routes are recognised, so a request can never name
//! anything else in the repository (config, hooks, refs).

use std::path::{Path, PathBuf};

/// Errors from reading a repository for a dumb client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository cannot be opened or its refs cannot be read.
    #[error("reading the refs of {}: {message}", path.display())]
    Refs {
        /// The repository.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// The kinds of file a dumb client fetches; each has its own content type and cache rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `objects/info/alternates` or `objects/info/http-alternates`.
    Alternates,
    /// `objects/info/packs`.
    Packs,
    /// `objects/xx/yyyy...` (SHA-1 or SHA-256).
    LooseObject,
    /// `objects/pack/pack-<id>.pack`.
    Pack,
    /// `objects/pack/pack-<id>.idx`.
    PackIndex,
}

impl Kind {
    /// Files that never change once written (named by their content) may be cached forever.
    pub fn immutable(self) -> bool {
        matches!(self, Kind::LooseObject | Kind::Pack | Kind::PackIndex)
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Split a URL path into the repository part and a dumb-protocol file below it (relative to
/// the repository directory), if it names one of the files git http-backend serves.
pub fn split_path(path: &str) -> Option<(&str, &str, Kind)> {
    const FIXED: &[(&str, Kind)] = &[
        ("/objects/info/alternates", Kind::Alternates),
        ("/objects/info/http-alternates", Kind::Alternates),
        ("/objects/info/packs", Kind::Packs),
    ];
    for (suffix, kind) in FIXED {
        if let Some(repo) = path.strip_suffix(suffix).filter(|r| !r.is_empty()) {
            return Some((repo, &suffix[1..], *kind));
        }
    }
    // objects/xx/<38 or 62 hex>
    for rest_len in [38, 62] {
        let tail_len = "/objects/xx/".len() + rest_len;
        if path.len() > tail_len {
            let (repo, tail) = path.split_at(path.len() - tail_len);
            let parts: Vec<&str> = tail[1..].split('/').collect();
            if let ["objects", dir, name] = parts[..] {
                if is_hex(dir, 2) && is_hex(name, rest_len) {
                    return Some((repo, &tail[1..], Kind::LooseObject));
                }
            }
        }
    }
    // objects/pack/pack-<40 or 64 hex>.(pack|idx)
    let (repo, file) = path.rsplit_once("/objects/pack/")?;
    if repo.is_empty() {
        return None;
    }
    let name = file.strip_prefix("pack-")?;
    let (id, kind) = if let Some(id) = name.strip_suffix(".pack") {
        (id, Kind::Pack)
    } else {
        (name.strip_suffix(".idx")?, Kind::PackIndex)
    };
    (is_hex(id, 40) || is_hex(id, 64)).then(|| (repo, &path[repo.len() + 1..], kind))
}

/// The text `info/refs` of the dumb protocol, as git http-backend writes it: one
/// `<id>\t<refname>` line per ref in name order (HEAD excluded), followed by a
/// `<id>\t<refname>^{}` line with the peeled object for an annotated tag.
pub fn info_refs(git_dir: &Path) -> Result<Vec<u8>, Error> {
    let err = |message: String| Error::Refs {
        path: git_dir.to_path_buf(),
        message,
    };
    let repo = gix::open_opts(
        git_dir,
        gix::open::Options::isolated().open_path_as_is(true),
    )
    .map_err(|e| err(e.to_string()))?;
    let platform = repo.references().map_err(|e| err(e.to_string()))?;
    let mut lines: Vec<(Vec<u8>, String, Option<String>)> = Vec::new();
    for reference in platform.all().map_err(|e| err(e.to_string()))? {
        let mut reference = reference.map_err(|e| err(e.to_string()))?;
        let name = reference.name().as_bstr().to_vec();
        // A symbolic ref to a missing target (an unborn branch) has no line, as in git.
        let Ok(id) = reference.follow_to_object() else {
            continue;
        };
        let id = id.detach();
        let peeled = reference
            .peel_to_id()
            .ok()
            .map(|p| p.detach())
            .filter(|p| *p != id);
        lines.push((name, id.to_string(), peeled.map(|p| p.to_string())));
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (name, id, peeled) in lines {
        out.extend_from_slice(id.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(&name);
        out.push(b'\n');
        if let Some(p) = peeled {
            out.extend_from_slice(p.as_bytes());
            out.push(b'\t');
            out.extend_from_slice(&name);
            out.extend_from_slice(b"^{}\n");
        }
    }
    Ok(out)
}

/// `objects/info/packs` as git http-backend makes it, from the packs on disk rather than
/// from the file `git update-server-info` last wrote: a `P <name>.pack` line for every local
/// pack that has its index, newest first, and an empty line.
pub fn info_packs(git_dir: &Path) -> Vec<u8> {
    let mut packs: Vec<(std::time::SystemTime, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(git_dir.join("objects/pack")) {
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".pack") else {
                continue;
            };
            if !git_dir.join(format!("objects/pack/{stem}.idx")).is_file() {
                continue;
            }
            let mtime = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            packs.push((mtime, name));
        }
    }
    packs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut out = Vec::new();
    for (_, name) in packs {
        out.extend_from_slice(format!("P {name}\n").as_bytes());
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_dumb_paths() {
        let loose = format!("/a/r.git/objects/ab/{}", "c".repeat(38));
        assert_eq!(
            split_path(&loose),
            Some(("/a/r.git", &loose[9..], Kind::LooseObject))
        );
        let pack = format!("/r/objects/pack/pack-{}.pack", "0".repeat(40));
        assert_eq!(split_path(&pack).map(|p| p.2), Some(Kind::Pack));
        let idx = format!("/r/objects/pack/pack-{}.idx", "0".repeat(64));
        assert_eq!(
            split_path(&idx).map(|p| (p.0, p.2)),
            Some(("/r", Kind::PackIndex))
        );
        assert_eq!(
            split_path("/r/objects/info/packs"),
            Some(("/r", "objects/info/packs", Kind::Packs))
        );
        for bad in [
            "/r/HEAD",
            "/r/config",
            "/r/objects/AB/cccccccccccccccccccccccccccccccccccccc",
            "/r/objects/pack/pack-xyz.pack",
            "/r/objects/pack/../config",
            "/r/objects/pack/pack-0000000000000000000000000000000000000000.keep",
        ] {
            assert_eq!(split_path(bad), None, "{bad}");
        }
    }
}
