//! Moving a repository's LFS objects between stores (`hubctl lfs migrate-storage`).
//!
//! The move is built to be interrupted at any point and run again:
//!
//! 1. every object of the other store is copied into the target with
//!    [`ObjectStore::put_verified`] (which is atomic and idempotent: an object already there is
//!    left alone), and what landed is read back and hashed (size and SHA-256 against the oid);
//! 2. the repository's `lfs-storage` is switched to the target, in one transaction;
//! 3. objects that reached the old store while the copy ran (an upload that had its batch
//!    answer before the switch) are copied the same way;
//! 4. only then are the old copies removed, and only those that were verified in the target.
//!
//! A rerun after a kill at any step finds the remaining old copies and does the same again:
//! objects already in the target are verified and not sent twice, nothing is removed before it
//! is verified where it now lives. Which store is "old" is always the one that is not the
//! target, so a rerun after the switch still finishes the removals.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::Path;

use sha2::Digest as _;

use super::admin;
use super::oid::Oid;
use super::storage::{self, FsStore, LfsBackend, ObjectStore, PutOutcome, StorageError};
use crate::core::names::RepoName;
use crate::settings::Settings;
use crate::store::Store;

/// How many times objects that arrived in the old store during the copy are looked for
/// after the switch before giving up (each pass only finds uploads that were already under
/// way at the switch).
const LATE_PASSES: usize = 5;

/// Why a migration stopped. Nothing verified is ever lost: a rerun continues.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database (settings, the repository's row) failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// A store could not be opened or used (the store's error is the source, which the edge
    /// prints after `what`).
    #[error("{what}")]
    Storage {
        /// What was being done.
        what: String,
        /// The store's error.
        source: StorageError,
    },
    /// What landed in the target is not the object (another size or hash): it was not
    /// switched to and the old copy is kept.
    #[error("{oid} did not land intact in the {to} store: {detail}")]
    Mismatch {
        /// The object.
        oid: Oid,
        /// The target store.
        to: LfsBackend,
        /// What was found instead.
        detail: String,
    },
    /// Objects kept arriving in the old store after the switch.
    #[error(
        "objects are still arriving in the {0} store after the switch; run the migration again"
    )]
    StillArriving(LfsBackend),
}

fn storage_err(what: impl Into<String>) -> impl FnOnce(StorageError) -> MigrateError {
    let what = what.into();
    move |source| MigrateError::Storage { what, source }
}

/// What a migration is doing, for progress output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The old store holds `objects` objects of `bytes` bytes in total to move.
    Found {
        /// Number of objects.
        objects: usize,
        /// Their total size.
        bytes: u64,
    },
    /// An object is in the target and verified there; `sent` is false when it was there
    /// already (an earlier, interrupted run).
    Copied {
        /// The object.
        oid: Oid,
        /// Its size.
        size: u64,
        /// Whether this run sent it.
        sent: bool,
    },
    /// The repository now uses the target store.
    Switched(LfsBackend),
    /// The old copy of an object was removed.
    Removed(Oid),
}

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Objects sent to the target by this run.
    pub sent: usize,
    /// Objects found already in the target (and verified there).
    pub present: usize,
    /// Bytes of all objects verified in the target.
    pub bytes: u64,
    /// Old copies removed.
    pub removed: usize,
}

/// The store that is not `b`.
pub fn other(b: LfsBackend) -> LfsBackend {
    match b {
        LfsBackend::Local => LfsBackend::S3,
        LfsBackend::S3 => LfsBackend::Local,
    }
}

/// Move every LFS object of repository `name` (directory `git_dir`) into the `to` store,
/// switch the repository to it and remove the old copies, reporting each step to `progress`.
pub fn migrate(
    db: &mut Store,
    git_dir: &Path,
    name: &RepoName,
    to: LfsBackend,
    progress: &mut dyn FnMut(&Step),
) -> Result<Report, MigrateError> {
    let settings = Settings::load(db)?;
    let current = db
        .repo_settings(name)?
        .and_then(|s| s.lfs_storage)
        .unwrap_or(settings.lfs_storage);
    let from_backend = other(to);
    let target = storage::open(git_dir, Some(name), Some(to), &settings)
        .map_err(storage_err(format!("opening the {to} store")))?;
    target
        .check()
        .map_err(storage_err(format!("checking the {to} store")))?;
    let source = match storage::open(git_dir, Some(name), Some(from_backend), &settings) {
        Ok(s) => Some(s),
        // Already on the target and the other store is not even configured: nothing can be
        // left there.
        Err(StorageError::Config(_)) if current == to => None,
        Err(e) => return Err(storage_err(format!("opening the {from_backend} store"))(e)),
    };
    let local = FsStore::new(git_dir);
    let mut report = Report::default();
    let mut moved: BTreeSet<Oid> = BTreeSet::new();
    if let Some(source) = &source {
        let objects = source
            .list()
            .map_err(storage_err(format!("listing the {from_backend} store")))?;
        progress(&Step::Found {
            objects: objects.len(),
            bytes: objects.iter().map(|(_, s)| *s).sum(),
        });
        copy_each(
            source.as_ref(),
            target.as_ref(),
            to,
            &objects,
            &mut report,
            &mut moved,
            progress,
        )?;
    }
    let pinned = db.repo_settings(name)?.and_then(|s| s.lfs_storage);
    if pinned != Some(to) {
        db.set_lfs_storage(name, Some(to))?;
    }
    progress(&Step::Switched(to));
    if let Some(source) = &source {
        // Uploads that got the old store's answer before the switch may land there after
        // the first listing.
        let mut settled = false;
        for _ in 0..LATE_PASSES {
            let late: Vec<(Oid, u64)> = source
                .list()
                .map_err(storage_err(format!("listing the {from_backend} store")))?
                .into_iter()
                .filter(|(oid, _)| !moved.contains(oid))
                .collect();
            if late.is_empty() {
                settled = true;
                break;
            }
            copy_each(
                source.as_ref(),
                target.as_ref(),
                to,
                &late,
                &mut report,
                &mut moved,
                progress,
            )?;
        }
        if !settled {
            return Err(MigrateError::StillArriving(from_backend));
        }
        for oid in &moved {
            remove(source.as_ref(), &local, oid).map_err(storage_err(format!(
                "removing {oid} from the {from_backend} store"
            )))?;
            report.removed += 1;
            progress(&Step::Removed(oid.clone()));
        }
    }
    Ok(report)
}

/// Copy `oid` into `to` (unless it is there) and verify what is there. True when this call
/// sent it.
/// [`copy_one`] for each of `objects`, recording it in `moved` and reporting it to `progress`.
fn copy_each(
    from: &dyn ObjectStore,
    to: &dyn ObjectStore,
    to_backend: LfsBackend,
    objects: &[(Oid, u64)],
    report: &mut Report,
    moved: &mut BTreeSet<Oid>,
    progress: &mut dyn FnMut(&Step),
) -> Result<(), MigrateError> {
    for (oid, size) in objects {
        let sent = copy_one(from, to, to_backend, oid, *size, report)?;
        moved.insert(oid.clone());
        progress(&Step::Copied {
            oid: oid.clone(),
            size: *size,
            sent,
        });
    }
    Ok(())
}

fn copy_one(
    from: &dyn ObjectStore,
    to: &dyn ObjectStore,
    to_backend: LfsBackend,
    oid: &Oid,
    size: u64,
    report: &mut Report,
) -> Result<bool, MigrateError> {
    let mut object = from
        .get(oid, None)
        .map_err(storage_err(format!("reading {oid}")))?;
    let outcome = to
        .put_verified(oid, size, &mut object.reader)
        .map_err(storage_err(format!("copying {oid}")))?;
    verify_landed(to, to_backend, oid, size)?;
    match outcome {
        PutOutcome::Stored => report.sent += 1,
        PutOutcome::AlreadyPresent => report.present += 1,
    }
    report.bytes = report.bytes.saturating_add(size);
    Ok(matches!(outcome, PutOutcome::Stored))
}

/// Read `oid` back from `store` and check its size and SHA-256.
pub fn verify_landed(
    store: &dyn ObjectStore,
    backend: LfsBackend,
    oid: &Oid,
    size: u64,
) -> Result<(), MigrateError> {
    let mut object = store
        .get(oid, None)
        .map_err(storage_err(format!("reading {oid} back")))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n_total = 0u64;
    loop {
        let n = match object.reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(MigrateError::Storage {
                    what: format!("reading {oid} back"),
                    source: StorageError::Io {
                        context: format!("reading {oid} back from the {backend} store"),
                        source: e,
                    },
                });
            }
        };
        hasher.update(&buf[..n]);
        n_total += n as u64;
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let actual = Oid::from_digest(&digest);
    if n_total != size || actual != *oid {
        return Err(MigrateError::Mismatch {
            oid: oid.clone(),
            to: backend,
            detail: format!("{n_total} bytes hashing to {actual}"),
        });
    }
    Ok(())
}

/// Remove the old copy of `oid`: a delete in the bucket (and its unverified mark), or the file
/// below `<repo>.git/lfs/objects`, never through a symbolic link.
fn remove(store: &dyn ObjectStore, local: &FsStore, oid: &Oid) -> Result<(), StorageError> {
    if let Some(s3) = store.as_s3() {
        s3.delete(oid)?;
        s3.clear_unverified(oid);
        return Ok(());
    }
    admin::remove_stored(local, oid).map(|_| ())
}
