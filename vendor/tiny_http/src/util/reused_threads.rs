// hubctl's patch: threads for connections, reused. Each connection still gets a thread of its
// own at once (a connection is never queued behind busy ones), but a thread that has finished
// one waits a while for the next instead of exiting: creating and tearing down a thread (stack
// mapping, guard page, page faults, exit) was about a twentieth of the CPU `hubctl serve`
// spent on a short request.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long a finished thread waits for another connection before it exits.
const KEEP: Duration = Duration::from_secs(30);

/// Threads kept waiting at most; a thread finishing when this many wait exits.
const MAX_WAITING: usize = 64;

/// The waiting threads, each by an id and the sender of its own channel, newest last.
static WAITING: Mutex<Vec<(u64, Sender<Job>)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn waiting() -> std::sync::MutexGuard<'static, Vec<(u64, Sender<Job>)>> {
    WAITING.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Run `job` on a thread of its own now: a waiting one if there is one, else a new one.
pub fn run(job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let mut job: Job = Box::new(job);
    loop {
        let Some((_, thread)) = waiting().pop() else {
            break;
        };
        // Taken from the list, the thread either receives this or has exited (its channel
        // closed: the job comes back and the next one is tried).
        match thread.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    thread::Builder::new().spawn(move || serve(job)).map(|_| ())
}

fn serve(first: Job) {
    let mut job = first;
    loop {
        job();
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (sender, receiver) = mpsc::channel();
        {
            let mut list = waiting();
            if list.len() >= MAX_WAITING {
                return;
            }
            list.push((id, sender));
        }
        job = match receiver.recv_timeout(KEEP) {
            Ok(next) => next,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                let mut list = waiting();
                match list.iter().position(|(i, _)| *i == id) {
                    // Still listed: nobody can hand it anything any more.
                    Some(at) => {
                        list.remove(at);
                        return;
                    }
                    // Taken from the list just now: its job is on the way.
                    None => {
                        drop(list);
                        match receiver.recv() {
                            Ok(next) => next,
                            Err(_) => return,
                        }
                    }
                }
            }
        };
    }
}
