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
        loop {
            for i in 0..count {
                let slot = (offset + i) % count;
                if let Some(g) = self.try_slot(slot) {
                    return Ok(g);
                }
            }
            let waited = start.elapsed();
            if waited >= self.timeout {
                return Err(Busy { count, waited });
            }
            std::thread::sleep(pause.min(self.timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    fn try_slot(&self, i: usize) -> Option<SlotGuard> {
        let lock = flock(&self.dir.join(format!("{i}.lock")), false).ok()??;
        Some(SlotGuard { _lock: lock })
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
        drop(a);
        assert!(slots.acquire().is_ok());
    }
}
