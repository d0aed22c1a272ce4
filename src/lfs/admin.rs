//! The operator's checks on a repository's LFS objects: listing what is on disk ([`scan`]),
//! re-hashing it ([`fsck`]) and removing what nothing points at any more ([`prune`]).
//!
//! Below `<repo>.git/lfs/objects` nothing here ever follows a symbolic link: entries are
//! examined with `symlink_metadata`, only real directories are descended into, files are
//! opened with `O_NOFOLLOW`, and a deletion re-checks the path's every level first. A link
//! (or anything else out of place) is reported as [`Misplaced`] and left alone.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::Digest as _;

use super::oid::Oid;
use super::storage::{FsStore, StorageError};

/// The shortest grace period [`prune`] accepts: an object uploaded for a push that has not
/// landed yet (git-lfs uploads before git pushes) must survive.
pub const MIN_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

fn io_err(context: impl std::fmt::Display) -> impl FnOnce(io::Error) -> StorageError {
    let context = context.to_string();
    move |source| StorageError::Io { context, source }
}

/// A stored object where it belongs: `objects/<oid[0:2]>/<oid[2:4]>/<oid>`, a regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its id (the file's name).
    pub oid: Oid,
    /// Its path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time (when it was stored), if the filesystem has one.
    pub modified: Option<SystemTime>,
}

/// Why an entry below `objects/` is not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Misplacement {
    /// A name that is neither a two-digit shard nor an oid.
    BadName,
    /// An oid in a shard directory other than its own.
    WrongShard,
    /// A symbolic link (never followed).
    Symlink,
    /// A directory where a file belongs, a file where a directory belongs, or something else
    /// (a fifo, a socket).
    WrongType,
}

impl Misplacement {
    /// A short explanation.
    pub fn as_str(self) -> &'static str {
        match self {
            Misplacement::BadName => "not an object name",
            Misplacement::WrongShard => "in the wrong shard directory",
            Misplacement::Symlink => "a symbolic link",
            Misplacement::WrongType => "not a regular file or shard directory",
        }
    }
}

/// An entry below `objects/` that is not a well-placed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misplaced {
    /// Its path.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: Misplacement,
}

/// Everything below a store's `objects/` directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The objects, sorted by oid.
    pub objects: Vec<Found>,
    /// Everything else, sorted by path.
    pub misplaced: Vec<Misplaced>,
}

impl Scan {
    /// The objects' total size.
    pub fn bytes(&self) -> u64 {
        self.objects.iter().fold(0, |n, o| n.saturating_add(o.size))
    }
}

/// The kind of a directory entry, never following a link; `None` if it vanished.
fn kind_of(path: &Path) -> Result<Option<fs::Metadata>, StorageError> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(format!("reading {}", path.display()))(e)),
    }
}

/// Entries of `dir` as (name, path); names that are not UTF-8 come back lossily converted
/// (they are never valid names, so they end up misplaced).
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, StorageError> {
    let read = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(format!("reading {}", dir.display()))(e)),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(io_err(format!("reading {}", dir.display())))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

fn is_shard(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// List everything below the store's `objects/` directory without following links.
pub fn scan(store: &FsStore) -> Result<Scan, StorageError> {
    let mut out = Scan::default();
    let root = store.objects_dir();
    let mut misplaced = |path: PathBuf, reason| out.misplaced.push(Misplaced { path, reason });
    let mut objects = Vec::new();
    for (l1, p1) in entries(&root)? {
        let Some(m1) = kind_of(&p1)? else { continue };
        if m1.file_type().is_symlink() {
            misplaced(p1, Misplacement::Symlink);
            continue;
        }
        if !m1.is_dir() {
            misplaced(p1, Misplacement::WrongType);
            continue;
        }
        if !is_shard(&l1) {
            misplaced(p1, Misplacement::BadName);
            continue;
        }
        for (l2, p2) in entries(&p1)? {
            let Some(m2) = kind_of(&p2)? else { continue };
            if m2.file_type().is_symlink() {
                misplaced(p2, Misplacement::Symlink);
                continue;
            }
            if !m2.is_dir() {
                misplaced(p2, Misplacement::WrongType);
                continue;
            }
            if !is_shard(&l2) {
                misplaced(p2, Misplacement::BadName);
                continue;
            }
            for (name, path) in entries(&p2)? {
                let Some(m) = kind_of(&path)? else { continue };
                if m.file_type().is_symlink() {
                    misplaced(path, Misplacement::Symlink);
                    continue;
                }
                if !m.is_file() {
                    misplaced(path, Misplacement::WrongType);
                    continue;
                }
                let Ok(oid) = Oid::parse(&name) else {
                    misplaced(path, Misplacement::BadName);
                    continue;
                };
                if oid.as_str()[0..2] != l1 || oid.as_str()[2..4] != l2 {
                    misplaced(path, Misplacement::WrongShard);
                    continue;
                }
                objects.push(Found {
                    oid,
                    path,
                    size: m.len(),
                    modified: m.modified().ok(),
                });
            }
        }
    }
    objects.sort_by(|a, b| a.oid.cmp(&b.oid));
    out.objects = objects;
    out.misplaced.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// An object whose content does not hash to its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// The object's name.
    pub oid: Oid,
    /// Its path.
    pub path: PathBuf,
    /// What the content hashes to.
    pub actual: Oid,
}

/// Re-hash every object of `scan`, calling `progress` with the number of bytes read after
/// each chunk. Objects that vanished meanwhile (a concurrent prune) are skipped.
pub fn fsck(scan: &Scan, progress: &mut dyn FnMut(u64)) -> Result<Vec<Corrupt>, StorageError> {
    let mut corrupt = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    for object in &scan.objects {
        let mut file = match open_nofollow(&object.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(format!("opening {}", object.path.display()))(e)),
        };
        let mut hasher = sha2::Sha256::new();
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(format!("reading {}", object.path.display()))(e)),
            };
            hasher.update(&buf[..n]);
            progress(n as u64);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let actual = Oid::from_digest(&digest);
        if actual != object.oid {
            corrupt.push(Corrupt {
                oid: object.oid.clone(),
                path: object.path.clone(),
                actual,
            });
        }
    }
    Ok(corrupt)
}

/// Re-hash every object of an S3 store by streaming it back, calling `progress` with the bytes
/// read. Returns `(oid, what it hashes to)` for each corrupt object; objects that hash right
/// lose their unverified mark. Objects that vanished meanwhile are skipped.
pub fn fsck_s3(
    store: &super::s3::S3Store,
    objects: &[(Oid, u64)],
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<(Oid, Oid)>, StorageError> {
    use super::storage::ObjectStore as _;
    let mut corrupt = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    for (oid, _) in objects {
        let mut object = match store.get(oid, None) {
            Ok(o) => o,
            Err(StorageError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let mut hasher = sha2::Sha256::new();
        loop {
            let n = match object.reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(StorageError::Unavailable(format!(
                        "reading {oid} from the S3 store: {e}"
                    )));
                }
            };
            hasher.update(&buf[..n]);
            progress(n as u64);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let actual = Oid::from_digest(&digest);
        if actual == *oid {
            store.clear_unverified(oid);
        } else {
            corrupt.push((oid.clone(), actual));
        }
    }
    Ok(corrupt)
}

fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// What [`prune`] found, and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Objects nothing points at and older than the grace period: removed, or (dry run) to
    /// be removed.
    pub unreferenced: Vec<Found>,
    /// Objects nothing points at that are younger than the grace period: kept.
    pub recent: Vec<Found>,
    /// Objects that changed or vanished between the scan and their deletion: kept.
    pub skipped: Vec<Found>,
    /// True if the objects in `unreferenced` were removed.
    pub removed: bool,
}

impl PruneReport {
    /// Total size of `unreferenced`.
    pub fn unreferenced_bytes(&self) -> u64 {
        self.unreferenced
            .iter()
            .fold(0, |n, o| n.saturating_add(o.size))
    }
}

/// Remove the objects of `scan` that are not in `referenced` and were stored more than
/// `grace` ago (never less than [`MIN_GRACE`]; an object with a modification time in the
/// future counts as new). With `dry_run` nothing is removed. Misplaced entries are never
/// touched.
pub fn prune(
    store: &FsStore,
    scan: &Scan,
    referenced: &HashSet<Oid>,
    grace: Duration,
    now: SystemTime,
    dry_run: bool,
) -> Result<PruneReport, StorageError> {
    let grace = grace.max(MIN_GRACE);
    let old_enough = |modified: Option<SystemTime>| {
        modified
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > grace)
    };
    let mut report = PruneReport {
        removed: !dry_run,
        ..PruneReport::default()
    };
    for object in &scan.objects {
        if referenced.contains(&object.oid) {
            continue;
        }
        if !old_enough(object.modified) {
            report.recent.push(object.clone());
            continue;
        }
        if dry_run {
            report.unreferenced.push(object.clone());
            continue;
        }
        if remove_object(store, object, &old_enough)? {
            report.unreferenced.push(object.clone());
        } else {
            report.skipped.push(object.clone());
        }
    }
    Ok(report)
}

/// Delete the stored object `oid` of `store` (`lfs migrate-storage`, once it is verified in its
/// new store) with the same checks as [`prune`]: a regular file in real shard directories,
/// never a symbolic link. Returns false if there was nothing of that kind to remove.
pub fn remove_stored(store: &FsStore, oid: &Oid) -> Result<bool, StorageError> {
    let path = store.object_path(oid);
    let Some(m) = kind_of(&path)? else {
        return Ok(false);
    };
    if !m.is_file() {
        return Ok(false);
    }
    let found = Found {
        oid: oid.clone(),
        path,
        size: m.len(),
        modified: m.modified().ok(),
    };
    remove_object(store, &found, &|_| true)
}

/// Delete `object` if it is still a regular file in real shard directories below the store's
/// `objects/`, still old enough, and still the size it was. Returns false if it was left.
fn remove_object(
    store: &FsStore,
    object: &Found,
    old_enough: &dyn Fn(Option<SystemTime>) -> bool,
) -> Result<bool, StorageError> {
    let expected = store.object_path(&object.oid);
    if expected != object.path {
        return Ok(false);
    }
    let objects = store.objects_dir();
    for dir in object
        .path
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(&objects) && *d != objects)
    {
        match kind_of(dir)? {
            Some(m) if m.is_dir() && !m.file_type().is_symlink() => {}
            _ => return Ok(false),
        }
    }
    let Some(m) = kind_of(&object.path)? else {
        return Ok(false);
    };
    if !m.is_file() || m.len() != object.size || !old_enough(m.modified().ok()) {
        return Ok(false);
    }
    match fs::remove_file(&object.path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(format!("removing {}", object.path.display()))(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::storage::ObjectStore as _;
    use super::*;

    fn store() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStore::new(&dir.path().join("r.git"));
        (dir, s)
    }

    fn put(s: &FsStore, data: &[u8]) -> Oid {
        let oid = Oid::of_bytes(data);
        s.put_verified(&oid, data.len() as u64, &mut &data[..])
            .unwrap();
        oid
    }

    fn age(path: &Path, secs: u64) {
        let t = SystemTime::now() - Duration::from_secs(secs);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn scan_and_fsck_report_misplaced_and_corrupt() {
        let (dir, s) = store();
        assert_eq!(
            scan(&s).unwrap(),
            Scan::default(),
            "no lfs directory at all"
        );
        let a = put(&s, b"a");
        let b = put(&s, b"b");
        // Corrupt b in place.
        fs::write(s.object_path(&b), b"not b").unwrap();
        // Strays: wrong shard, bad names, a symlink to a file outside, a symlinked shard.
        let objects = s.objects_dir();
        let c = Oid::of_bytes(b"c");
        fs::create_dir_all(objects.join("00/00")).unwrap();
        fs::write(objects.join("00/00").join(c.as_str()), b"c").unwrap();
        fs::write(objects.join("00/00/README"), b"x").unwrap();
        fs::write(objects.join("stray"), b"x").unwrap();
        fs::create_dir_all(objects.join("zz")).unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"secret").unwrap();
        let d = Oid::of_bytes(b"d");
        let d_dir = objects.join(&d.as_str()[0..2]).join(&d.as_str()[2..4]);
        fs::create_dir_all(&d_dir).unwrap();
        std::os::unix::fs::symlink(&outside, d_dir.join(d.as_str())).unwrap();
        std::os::unix::fs::symlink(dir.path(), objects.join("ff")).unwrap();

        let found = scan(&s).unwrap();
        let oids: Vec<&Oid> = found.objects.iter().map(|o| &o.oid).collect();
        let mut want = vec![&a, &b];
        want.sort();
        assert_eq!(oids, want);
        assert_eq!(found.bytes(), 1 + 5);
        let reasons: Vec<(String, Misplacement)> = found
            .misplaced
            .iter()
            .map(|m| {
                let rel = m.path.strip_prefix(&objects).unwrap();
                (rel.display().to_string(), m.reason)
            })
            .collect();
        let mut expected = vec![
            (format!("00/00/{c}"), Misplacement::WrongShard),
            ("00/00/README".to_string(), Misplacement::BadName),
            (
                format!("{}/{}/{d}", &d.as_str()[0..2], &d.as_str()[2..4]),
                Misplacement::Symlink,
            ),
            ("ff".to_string(), Misplacement::Symlink),
            ("stray".to_string(), Misplacement::WrongType),
            ("zz".to_string(), Misplacement::BadName),
        ];
        expected.sort();
        let mut reasons = reasons;
        reasons.sort();
        assert_eq!(reasons, expected);

        let mut seen = 0;
        let corrupt = fsck(&found, &mut |n| seen += n).unwrap();
        assert_eq!(seen, 6);
        assert_eq!(corrupt.len(), 1);
        assert_eq!(corrupt[0].oid, b);
        assert_eq!(corrupt[0].actual, Oid::of_bytes(b"not b"));
    }

    #[test]
    fn prune_keeps_referenced_recent_and_links() {
        let (dir, s) = store();
        let kept = put(&s, b"referenced");
        let old = put(&s, b"old and unreferenced");
        let young = put(&s, b"young and unreferenced");
        age(&s.object_path(&kept), 10 * 86_400);
        age(&s.object_path(&old), 2 * 86_400 + 60);
        age(&s.object_path(&young), 3600);
        // A link planted where an unreferenced object would be: neither followed nor removed.
        let outside = dir.path().join("victim");
        fs::write(&outside, b"precious").unwrap();
        let l = Oid::of_bytes(b"link");
        let l_path = s.object_path(&l);
        fs::create_dir_all(l_path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, &l_path).unwrap();

        let referenced: HashSet<Oid> = [kept.clone()].into_iter().collect();
        let found = scan(&s).unwrap();
        let now = SystemTime::now();
        let dry = prune(&s, &found, &referenced, MIN_GRACE, now, true).unwrap();
        assert!(!dry.removed);
        assert_eq!(
            dry.unreferenced.iter().map(|o| &o.oid).collect::<Vec<_>>(),
            [&old]
        );
        assert_eq!(
            dry.recent.iter().map(|o| &o.oid).collect::<Vec<_>>(),
            [&young]
        );
        assert!(s.object_path(&old).is_file(), "a dry run removes nothing");

        // A grace period below the minimum counts as the minimum.
        let dry = prune(&s, &found, &referenced, Duration::from_secs(1), now, true).unwrap();
        assert_eq!(dry.unreferenced.len(), 1);
        // A longer grace period keeps the old object too.
        let long = Duration::from_secs(3 * 86_400);
        let dry = prune(&s, &found, &referenced, long, now, true).unwrap();
        assert!(dry.unreferenced.is_empty());
        assert_eq!(dry.recent.len(), 2);

        let done = prune(&s, &found, &referenced, MIN_GRACE, now, false).unwrap();
        assert!(done.removed);
        assert_eq!(
            done.unreferenced.iter().map(|o| &o.oid).collect::<Vec<_>>(),
            [&old]
        );
        assert!(!s.object_path(&old).exists());
        assert!(s.object_path(&kept).is_file());
        assert!(s.object_path(&young).is_file());
        assert_eq!(fs::read(&outside).unwrap(), b"precious");
        assert!(
            fs::symlink_metadata(&l_path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn prune_never_deletes_through_a_swapped_shard_link() {
        let (dir, s) = store();
        let old = put(&s, b"old");
        age(&s.object_path(&old), 3 * 86_400);
        let found = scan(&s).unwrap();
        // Between the scan and the deletion the shard directory becomes a link to a place
        // holding a file of the same name.
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        let shard = s.object_path(&old).parent().unwrap().to_path_buf();
        fs::rename(s.object_path(&old), elsewhere.join(old.as_str())).unwrap();
        fs::remove_dir(&shard).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &shard).unwrap();
        let report = prune(
            &s,
            &found,
            &HashSet::new(),
            MIN_GRACE,
            SystemTime::now(),
            false,
        )
        .unwrap();
        assert!(report.unreferenced.is_empty());
        assert_eq!(report.skipped.len(), 1);
        assert!(elsewhere.join(old.as_str()).is_file());
    }
}
