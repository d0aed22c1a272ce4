//! The ETXTBSY race of multi-threaded programs that write an executable and then run it: the
//! harness's install helpers must make it impossible, however busy the other threads are.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::*;

/// Threads that fork (spawn and reap a trivial child) as fast as they can until stopped, as
/// the rest of the suite does all the time.
struct Forkers {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl Forkers {
    fn start(n: usize) -> Forkers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut forks = 0;
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(mut c) = Command::new("/bin/true").spawn() {
                            let _ = c.wait();
                            forks += 1;
                        }
                    }
                    forks
                })
            })
            .collect();
        Forkers { stop, threads }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        std::mem::take(&mut self.threads)
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum()
    }
}

impl Drop for Forkers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// 200 rounds of copy-then-exec (a binary copy and a freshly written script each round) beside
/// 8 threads that fork continuously: every exec succeeds at once. With `std::fs::copy` in place
/// of the helpers this fails with "Text file busy" within a few rounds on a 2-core machine.
#[test]
fn copy_then_exec_beside_forking_threads_never_hits_etxtbsy() {
    let env = Env::new();
    let forkers = Forkers::start(8);
    let started = Instant::now();
    let truth = Path::new("/bin/true");
    for i in 0..200 {
        let bin = env.path(&format!("bin/true-{i}"));
        install_copy(truth, &bin);
        let status = Command::new(&bin)
            .status()
            .unwrap_or_else(|e| panic!("round {i}: running the copied binary: {e}"));
        assert!(status.success());
        let script = env.path(&format!("bin/script-{i}.sh"));
        write_script(&script, "#!/bin/sh\nexit 7\n");
        let status = Command::new(&script)
            .status()
            .unwrap_or_else(|e| panic!("round {i}: running the written script: {e}"));
        assert_eq!(status.code(), Some(7));
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the stress loop is bounded in time"
        );
    }
    let forks = forkers.finish();
    assert!(
        forks > 200,
        "the forking threads barely ran ({forks} forks)"
    );
}
