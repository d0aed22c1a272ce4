//! The metrics registry: the counts `/metrics` reports, kept where the events happen.
//!
//! Two kinds. Request counts and durations are per process ([`requests`]): the HTTP transport
//! records each request it answered, and the standalone server reports its own. Events that
//! happen in short-lived processes (the pack cache runs inside `git upload-pack`'s hook,
//! maintenance in a spawned `hubctl`) are [`Counter`]s kept in small files under
//! `<root>/run/metrics/`, so every process sharing a root adds to the same numbers. Nothing
//! here renders: the transport turns these numbers into Prometheus text.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds (seconds) of the request duration histogram's buckets.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0,
];

/// Requests of one route and status: how many, and how long they took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestStats {
    /// Requests answered.
    pub count: u64,
    /// Their durations added up, in seconds.
    pub seconds: f64,
    /// Per bucket of [`DURATION_BUCKETS`]: requests that took at most its bound (not cumulative).
    pub buckets: [u64; DURATION_BUCKETS.len()],
}

/// This process's request counts, by route and status.
#[derive(Debug, Default)]
pub struct Requests {
    by_key: Mutex<BTreeMap<(&'static str, u16), RequestStats>>,
}

impl Requests {
    /// Count one request on `route` (a fixed name chosen by the transport, never client
    /// text) answered with `status` after `took`.
    pub fn observe(&self, route: &'static str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.entry((route, status)).or_default();
        s.count += 1;
        s.seconds += secs;
        if let Some(i) = DURATION_BUCKETS.iter().position(|b| secs <= *b) {
            s.buckets[i] += 1;
        }
    }

    /// A copy of the counts, sorted by route and status.
    pub fn snapshot(&self) -> Vec<((&'static str, u16), RequestStats)> {
        let map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(k, v)| (*k, v.clone())).collect()
    }
}

/// This process's request registry.
pub fn requests() -> &'static Requests {
    static REQUESTS: OnceLock<Requests> = OnceLock::new();
    REQUESTS.get_or_init(Requests::default)
}

/// Counters shared by every process of a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Fetches answered from the pack cache.
    PackCacheHits,
    /// Fetches the pack cache could have answered but had no entry for.
    PackCacheMisses,
    /// Bytes sent from the pack cache.
    PackCacheBytesServed,
    /// Maintenance runs that did work and succeeded.
    MaintenanceRuns,
    /// Maintenance runs that failed.
    MaintenanceFailures,
}

impl Counter {
    /// Every counter, in report order.
    pub const ALL: [Counter; 5] = [
        Counter::PackCacheHits,
        Counter::PackCacheMisses,
        Counter::PackCacheBytesServed,
        Counter::MaintenanceRuns,
        Counter::MaintenanceFailures,
    ];

    /// The counter's file name (and its name in reports).
    pub fn name(self) -> &'static str {
        match self {
            Counter::PackCacheHits => "pack_cache_hits",
            Counter::PackCacheMisses => "pack_cache_misses",
            Counter::PackCacheBytesServed => "pack_cache_bytes_served",
            Counter::MaintenanceRuns => "maintenance_runs",
            Counter::MaintenanceFailures => "maintenance_failures",
        }
    }
}

/// The directory of the shared counters, below `<root>/run`.
fn counter_path(run_dir: &Path, c: Counter) -> Option<PathBuf> {
    let dir = run_dir.join("metrics");
    super::fsutil::contained(run_dir, &dir.join(c.name()))
}

/// Add `n` to a shared counter. Best effort: a failure to count never fails the work counted.
pub fn add(run_dir: &Path, c: Counter, n: u64) {
    let _ = try_add(run_dir, c, n);
}

fn try_add(run_dir: &Path, c: Counter, n: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let path = counter_path(run_dir, c).ok_or_else(|| io::Error::other("outside the root"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    // SAFETY: plain syscall on a descriptor `file` owns; the lock goes with the descriptor.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = [0u8; 8];
    let have = file.read_at(&mut buf, 0)?;
    let old = if have == 8 {
        u64::from_le_bytes(buf)
    } else {
        0
    };
    file.write_at(&old.wrapping_add(n).to_le_bytes(), 0)?;
    Ok(())
}

/// The value of a shared counter (0 when it never counted).
pub fn get(run_dir: &Path, c: Counter) -> u64 {
    let Some(path) = counter_path(run_dir, c) else {
        return 0;
    };
    match std::fs::read(path) {
        Ok(b) if b.len() >= 8 => u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_counters_add_up_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().to_path_buf();
        assert_eq!(get(&run, Counter::PackCacheHits), 0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..25 {
                        add(&run, Counter::PackCacheHits, 2);
                    }
                });
            }
        });
        assert_eq!(get(&run, Counter::PackCacheHits), 200);
        assert_eq!(get(&run, Counter::MaintenanceRuns), 0);
    }

    #[test]
    fn request_histogram() {
        let r = Requests::default();
        r.observe("git-upload-pack", 200, Duration::from_millis(3));
        r.observe("git-upload-pack", 200, Duration::from_secs(1000));
        r.observe("page", 404, Duration::from_millis(30));
        let snap = r.snapshot();
        assert_eq!(snap.len(), 2);
        let (key, s) = &snap[0];
        assert_eq!(*key, ("git-upload-pack", 200));
        assert_eq!(s.count, 2);
        assert_eq!(s.buckets[0], 1);
        assert_eq!(
            s.buckets.iter().sum::<u64>(),
            1,
            "1000 s is above every bucket"
        );
    }
}
