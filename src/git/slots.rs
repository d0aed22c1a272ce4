//! The concurrency limit: at most N git engine processes at once across every hubctl process
//! sharing a root (the standalone server, CGI runs, SSH sessions).
//!
//! Each slot is a lock file under `<root>/run/slots/`; holding an exclusive `flock` on one is
//! holding the slot. The kernel releases it when the holder exits, however it exits, so a
//! crashed process never leaks a slot. Waiters poll the slots until one frees up or their
//! queue timeout passes.

use crate::core::fsutil::{FileLock, flock};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The shared pool of engine slots.
#[derive(Debug, Clone)]
pub struct Slots {
    dir: PathBuf,
    count: Option<usize>,
    timeout: Duration,
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub struct SlotGuard {
    _lock: FileLock,
}

/// No slot became free within the queue timeout.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("all {count} git engine slots stayed busy for {waited:?}")]
pub struct Busy {
    /// The limit.
    pub count: usize,
    /// How long this request waited.
    pub waited: Duration,
}

use crate::core::util::default_engine_slots as default_count;

impl Slots {
    /// A pool of `count` slots in `dir` (`None`: [`default_count`]), waiting at most `timeout`
    /// for one.
    pub fn new(dir: PathBuf, count: Option<usize>, timeout: Duration) -> Slots {
        Slots {
            dir,
            count: count.map(|c| c.max(1)),
            timeout,
        }
    }

    /// How many engines may run at once.
    pub fn count(&self) -> usize {
        self.count.unwrap_or_else(default_count)
    }

    /// Take a slot, waiting (in a queue of pollers) up to the timeout.
    pub fn acquire(&self) -> Result<SlotGuard, Busy> {
        let start = Instant::now();
        let _ = std::fs::create_dir_all(&self.dir);
        // Start at a different slot per process so waiters do not all contend for slot 0.
        let count = self.count();
        let offset = std::process::id() as usize;
        let mut pause = Duration::from_millis(5);
        // Set once this request has to wait: a locked file under `queue/` while it does, so
        // `/metrics` can count waiters across processes (a crashed waiter's lock goes with it).
        let mut _waiting: Option<Waiter> = None;
        loop {
            for i in 0..count {
                let slot = (offset + i) % count;
                if let Some(g) = self.try_slot(slot) {
                    return Ok(g);
                }
            }
            if _waiting.is_none() {
                _waiting = Waiter::enter(&self.dir);
            }
            let waited = start.elapsed();
            if waited >= self.timeout {
                return Err(Busy { count, waited });
            }
            std::thread::sleep(pause.min(self.timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// How many slots are held right now (each is probed without waiting; for `/metrics`).
    pub fn in_use(&self) -> usize {
        (0..self.count())
            .filter(|i| {
                let path = self.dir.join(format!("{i}.lock"));
                path.exists() && matches!(flock(&path, false), Ok(None))
            })
            .count()
    }

    /// How many requests are waiting for a slot right now, in every process of the root.
    pub fn queued(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(self.dir.join("queue")) else {
            return 0;
        };
        let mut n = 0;
        for e in entries.flatten() {
            let path = e.path();
            match flock(&path, false) {
                Ok(None) => n += 1,
                // Nobody holds it: its waiter is gone without cleaning up.
                Ok(Some(_)) => {
                    let _ = std::fs::remove_file(&path);
                }
                Err(_) => {}
            }
        }
        n
    }

    fn try_slot(&self, i: usize) -> Option<SlotGuard> {
        let lock = flock(&self.dir.join(format!("{i}.lock")), false).ok()??;
        Some(SlotGuard { _lock: lock })
    }
}

/// A waiter's mark in `queue/`: a file it holds locked, removed when it stops waiting.
struct Waiter {
    path: PathBuf,
    _lock: FileLock,
}

impl Waiter {
    fn enter(dir: &std::path::Path) -> Option<Waiter> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let queue = dir.join("queue");
        std::fs::create_dir_all(&queue).ok()?;
        let path = queue.join(format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let lock = flock(&path, false).ok()??;
        Some(Waiter { path, _lock: lock })
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let slots = Slots::new(
            dir.path().to_path_buf(),
            Some(2),
            Duration::from_millis(100),
        );
        let a = slots.acquire().unwrap();
        let _b = slots.acquire().unwrap();
        let start = Instant::now();
        assert!(slots.acquire().is_err());
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert_eq!(slots.in_use(), 2);
        std::thread::scope(|s| {
            let waiting = s.spawn(|| {
                Slots::new(dir.path().to_path_buf(), Some(2), Duration::from_secs(5)).acquire()
            });
            let start = Instant::now();
            while slots.queued() == 0 && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(slots.queued(), 1);
            drop(a);
            assert!(waiting.join().unwrap().is_ok());
        });
        assert_eq!(slots.queued(), 0);
    }
}
