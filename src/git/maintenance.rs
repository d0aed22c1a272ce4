//! Keeping repositories in the shape git serves fastest: geometric repacking into a multi-pack
//! index with reachability bitmaps, a split commit-graph, packed refs.
//!
//! After a push, the post-receive hook only *schedules* maintenance: when the repository is out
//! of shape ([`reason_to_run`]), it marks it as pending and starts a detached
//! `hubctl repo gc --auto`, so the push never waits for it. One run per repository at a time (an
//! exclusive lock); a push that lands during a run leaves the pending mark, and the running
//! process goes round again. `--auto` skips repositories already in shape (so does the hook,
//! without starting a process), and geometric repacking only rolls small new packs together, so small pushes never
//! cause a full repack. Every step is git's own and safe beside concurrent clones and pushes:
//! packs are only rolled up (no object is dropped) and files are replaced atomically by git.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::Engine;
use crate::core::names::RepoName;
use crate::core::root::Root;

/// Loose objects that make `--auto` roll them into a pack.
pub const AUTO_LOOSE_OBJECTS: usize = 256;
/// Packs outside the multi-pack index that make `--auto` run. Every push arrives as a pack;
/// serving a few recent packs outside the bitmap costs little, while each run rewrites the
/// bitmap for the whole repository, so runs are spread over many small pushes.
pub const AUTO_NEW_PACKS: usize = 16;
/// Quarantine directories of pushes that died are removed after this long.
pub const STALE_QUARANTINE: Duration = Duration::from_secs(24 * 3600);

/// The shape of a repository's object store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Pack files.
    pub packs: usize,
    /// Their total size in bytes.
    pub pack_bytes: u64,
    /// Packs newer than the multi-pack index (not covered by it).
    pub packs_outside_midx: usize,
    /// Their size in bytes.
    pub bytes_outside_midx: u64,
    /// Loose objects.
    pub loose_objects: usize,
    /// A multi-pack index exists.
    pub multi_pack_index: bool,
    /// A reachability bitmap exists (for the multi-pack index or a pack).
    pub bitmap: bool,
    /// A commit-graph exists.
    pub commit_graph: bool,
}

/// One step that ran.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    /// What it did.
    pub name: String,
    /// How long it took.
    pub seconds: f64,
}

/// What one maintenance run did (`repo gc --json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// `ns/name`, for text output (`repo gc --json` prints `namespace`, `name` and
    /// `full_name` instead, like every repository in JSON).
    #[serde(skip)]
    pub repository: String,
    /// Whether anything ran.
    pub ran: bool,
    /// Why it ran, or why not.
    pub reason: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Before.
    pub before: Stats,
    /// After.
    pub after: Stats,
}

/// Errors of a maintenance run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A git step failed.
    #[error("{step} failed: {message}")]
    Step {
        /// The step.
        step: String,
        /// git's stderr.
        message: String,
    },
    /// Filesystem trouble.
    #[error("{0}")]
    Io(#[from] io::Error),
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Measure the object store of `git_dir`.
pub fn stats(git_dir: &Path) -> io::Result<Stats> {
    let objects = git_dir.join("objects");
    let pack_dir = objects.join("pack");
    let midx = pack_dir.join("multi-pack-index");
    let midx_time = mtime(&midx);
    let mut s = Stats {
        multi_pack_index: midx_time.is_some(),
        commit_graph: objects.join("info/commit-graph").exists()
            || objects
                .join("info/commit-graphs/commit-graph-chain")
                .exists(),
        ..Stats::default()
    };
    if let Ok(entries) = std::fs::read_dir(&pack_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".bitmap") {
                s.bitmap = true;
            }
            if !name.ends_with(".pack") {
                continue;
            }
            let m = e.metadata()?;
            s.packs += 1;
            s.pack_bytes += m.len();
            let newer = match (midx_time, m.modified().ok()) {
                (Some(t), Some(p)) => p > t,
                _ => true,
            };
            if newer {
                s.packs_outside_midx += 1;
                s.bytes_outside_midx += m.len();
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(&objects) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                s.loose_objects += std::fs::read_dir(e.path())?.count();
            }
        }
    }
    Ok(s)
}

/// Why `--auto` should run now, or `None` if the repository is in shape.
pub fn reason_to_run(s: &Stats) -> Option<String> {
    if s.packs == 0 && s.loose_objects == 0 {
        return None;
    }
    if !s.multi_pack_index || !s.bitmap {
        return Some("no multi-pack index with bitmaps yet".into());
    }
    if s.loose_objects >= AUTO_LOOSE_OBJECTS {
        return Some(format!("{} loose objects", s.loose_objects));
    }
    if s.packs_outside_midx >= AUTO_NEW_PACKS {
        return Some(format!(
            "{} packs outside the multi-pack index",
            s.packs_outside_midx
        ));
    }
    let covered = s.pack_bytes - s.bytes_outside_midx;
    if s.bytes_outside_midx > (1 << 20) && s.bytes_outside_midx * 10 > covered {
        return Some(format!(
            "{} of new packs (over 10% of the repository)",
            crate::core::units::format_size(s.bytes_outside_midx)
        ));
    }
    None
}

/// The steps of a run, for progress displays.
pub const STEPS: &[&str] = &[
    "geometric repack with multi-pack index and bitmaps",
    "commit-graph",
    "pack refs",
    "remove stale quarantines",
    "pack cache entry for a full clone",
];

/// Run maintenance on `git_dir` (`force`: even if in shape). `progress` is told each step
/// before it starts.
pub fn run(
    engine: &Engine,
    root: &Root,
    git_dir: &Path,
    label: &str,
    force: bool,
    mut progress: impl FnMut(usize, &str),
) -> Result<Outcome, Error> {
    let before = stats(git_dir)?;
    let reason = match reason_to_run(&before) {
        Some(r) => r,
        None if force && (before.packs > 0 || before.loose_objects > 0) => "requested".into(),
        None => {
            return Ok(Outcome {
                repository: label.into(),
                ran: false,
                reason: if before.packs == 0 && before.loose_objects == 0 {
                    "the repository is empty".into()
                } else {
                    "the repository is in shape".into()
                },
                steps: Vec::new(),
                after: before.clone(),
                before,
            });
        }
    };
    let git = |args: &[&str], step: &str| -> Result<(), Error> {
        let out = engine
            .command()
            // Only hosted repositories, contained in the root, are maintained.
            .arg("-c")
            .arg(super::safe_directory(git_dir))
            .arg("-C")
            .arg(git_dir)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Step {
                step: step.to_string(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    };
    let mut steps = Vec::new();
    let mut timed = |i: usize, f: &mut dyn FnMut() -> Result<(), Error>| -> Result<(), Error> {
        progress(i, STEPS[i]);
        let t = Instant::now();
        f()?;
        steps.push(Step {
            name: STEPS[i].into(),
            seconds: (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        });
        Ok(())
    };
    timed(0, &mut || {
        git(
            &[
                "-c",
                "pack.writeBitmapLookupTable=true",
                "repack",
                "-d",
                "--geometric=2",
                "--write-midx",
                "--write-bitmap-index",
                "--quiet",
            ],
            STEPS[0],
        )
    })?;
    timed(1, &mut || {
        git(
            &[
                "commit-graph",
                "write",
                "--reachable",
                "--split",
                "--size-multiple=2",
                "--no-progress",
            ],
            STEPS[1],
        )
    })?;
    timed(2, &mut || {
        git(
            &[
                "-c",
                "core.filesRefLockTimeout=10000",
                "-c",
                "core.packedRefsTimeout=10000",
                "pack-refs",
                "--all",
            ],
            STEPS[2],
        )
    })?;
    timed(3, &mut || {
        remove_stale_quarantines(git_dir).map_err(Error::from)
    })?;
    // The first clone after a push used to fill the pack cache itself: running pack-objects,
    // writing the whole pack into the page cache and syncing it, on its own request. Done here,
    // off every request path, that clone is a cache hit.
    timed(4, &mut || {
        if let Some(limit) = engine.pack_cache_limit() {
            let mut git = engine.command();
            git.arg("-c").arg(super::safe_directory(git_dir));
            // The cache is a side effect: a fill that fails leaves the first clone to fill
            // it, as before.
            let _ = super::pack_cache::prefill(root, git, git_dir, limit);
        }
        Ok(())
    })?;
    Ok(Outcome {
        repository: label.into(),
        ran: true,
        reason,
        steps,
        before,
        after: stats(git_dir)?,
    })
}

/// Remove `objects/tmp_objdir-incoming-*` left by pushes whose receive-pack was killed.
fn remove_stale_quarantines(git_dir: &Path) -> io::Result<()> {
    let now = SystemTime::now();
    for e in std::fs::read_dir(git_dir.join("objects"))?.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with("tmp_objdir-incoming-") {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > STALE_QUARANTINE);
        if old {
            std::fs::remove_dir_all(e.path())?;
        }
    }
    Ok(())
}

fn state_dir(root: &Root, name: &RepoName) -> PathBuf {
    root.run_dir().join("maintenance").join(name.ns())
}

/// Paths of the lock, pending mark and log of `name`.
fn paths(root: &Root, name: &RepoName) -> (PathBuf, PathBuf, PathBuf) {
    let d = state_dir(root, name);
    (
        d.join(format!("{}.lock", name.name())),
        d.join(format!("{}.pending", name.name())),
        d.join(format!("{}.log", name.name())),
    )
}

/// Whether a push marked `name` for maintenance and no run has cleared the mark yet.
pub fn is_pending(root: &Root, name: &RepoName) -> bool {
    paths(root, name).1.exists()
}

/// An exclusive per-repository maintenance lock.
pub struct Lock {
    _lock: crate::core::fsutil::FileLock,
}

/// Take the maintenance lock of `name`: waiting for it (`wait`), or `None` if it is held.
pub fn lock(root: &Root, name: &RepoName, wait: bool) -> io::Result<Option<Lock>> {
    let (lock, _, _) = paths(root, name);
    std::fs::create_dir_all(lock.parent().expect("has a parent"))?;
    Ok(crate::core::fsutil::flock(&lock, wait)?.map(|l| Lock { _lock: l }))
}

/// Mark `name` as needing maintenance and start a detached `hubctl repo gc --auto` for it.
/// Returns at once: the caller (a push) never waits for maintenance.
pub fn schedule(root: &Root, name: &RepoName) -> io::Result<()> {
    let (_, pending, log) = paths(root, name);
    std::fs::create_dir_all(pending.parent().expect("has a parent"))?;
    File::create(&pending)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut cmd = Command::new(crate::core::util::self_exe()?);
    cmd.arg("--root")
        .arg(root.path())
        .args(["repo", "gc", "--auto"])
        .arg(name.to_string())
        // Not the push's stdin/stdout/stderr: git waits for those to close before it tells the
        // client the push is done.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    for var in super::LOCAL_REPO_ENV {
        cmd.env_remove(var);
    }
    // SAFETY: setsid() and close_range() are async-signal-safe syscalls. setsid detaches the
    // child from the hook's session and process group, so killing a request's processes leaves
    // maintenance alone; closing inherited descriptors keeps it from holding one of git's
    // pipes open, which would make the push wait for maintenance to finish.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    cmd.spawn().map(|_| ())
}

/// Count a maintenance run in the root's shared counters (for `/metrics`): runs that did
/// work, and failures. Runs that found nothing to do are not counted.
pub fn record(root: &Root, outcome: &Result<Outcome, Error>) {
    use crate::core::metrics::{self, Counter};
    match outcome {
        Ok(o) if o.ran => metrics::add(&root.run_dir(), Counter::MaintenanceRuns, 1),
        Ok(_) => {}
        Err(_) => metrics::add(&root.run_dir(), Counter::MaintenanceFailures, 1),
    }
}

/// `repo gc --auto`: run while the repository is marked pending, one process at a time.
pub fn run_pending(
    engine: &Engine,
    root: &Root,
    name: &RepoName,
    git_dir: &Path,
) -> Result<Vec<Outcome>, Error> {
    let (_, pending, _) = paths(root, name);
    let mut outcomes = Vec::new();
    loop {
        let Some(lock) = lock(root, name, false)? else {
            // Another run holds the lock and will see the pending mark.
            return Ok(outcomes);
        };
        let _ = std::fs::remove_file(&pending);
        let outcome = run(engine, root, git_dir, &name.to_string(), false, |_, _| {});
        record(root, &outcome);
        outcomes.push(outcome?);
        drop(lock);
        // A push that arrived while we ran left a new mark; go round again.
        if !pending.exists() {
            return Ok(outcomes);
        }
    }
}
