//! Streaming an engine process's output to a client.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::process::{Child, ChildStdout};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// How much git output the pump holds once the request has been fed; git waits beyond that
/// until the client has taken some, which keeps memory flat whatever the pack size.
const WINDOW: usize = 256 * 1024;
const CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct PumpState {
    chunks: VecDeque<Vec<u8>>,
    buffered: usize,
    /// While the request is still being fed, the pump must accept everything git writes
    /// (shallow lists, progress), or git and the feeder could wait on each other.
    bounded: bool,
    eof: bool,
    error: Option<io::Error>,
    reader_gone: bool,
}

struct Pump {
    state: Mutex<PumpState>,
    changed: Condvar,
}

impl Pump {
    fn lock(&self) -> std::sync::MutexGuard<'_, PumpState> {
        // A poisoned lock only means another thread panicked mid-update of plain data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self, mut out: ChildStdout) {
        loop {
            let mut buf = vec![0u8; CHUNK];
            let result = out.read(&mut buf);
            let mut st = self.lock();
            match result {
                Ok(0) => {
                    st.eof = true;
                    self.changed.notify_all();
                    return;
                }
                Ok(n) => {
                    buf.truncate(n);
                    while st.bounded && st.buffered >= WINDOW && !st.reader_gone {
                        st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                    if st.reader_gone {
                        return;
                    }
                    st.buffered += n;
                    st.chunks.push_back(buf);
                    self.changed.notify_all();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    st.error = Some(e);
                    st.eof = true;
                    self.changed.notify_all();
                    return;
                }
            }
        }
    }
}

enum Source {
    Direct(ChildStdout),
    Pumped {
        pump: Arc<Pump>,
        thread: Option<JoinHandle<()>>,
        current: Vec<u8>,
        pos: usize,
    },
}

/// The output of one engine process, readable as a stream.
///
/// Reading to the end reaps the process and logs a failure exit. Dropping it early (the client
/// disconnected) kills git's whole process group, so no engine process outlives its request.
pub struct RpcOutput {
    child: Option<Child>,
    source: Source,
    label: &'static str,
}

impl RpcOutput {
    pub(super) fn direct(mut child: Child, label: &'static str) -> RpcOutput {
        let out = child.stdout.take().expect("stdout is piped");
        RpcOutput {
            child: Some(child),
            source: Source::Direct(out),
            label,
        }
    }

    pub(super) fn pumped(mut child: Child, label: &'static str) -> RpcOutput {
        let out = child.stdout.take().expect("stdout is piped");
        let pump = Arc::new(Pump {
            state: Mutex::new(PumpState::default()),
            changed: Condvar::new(),
        });
        let p = Arc::clone(&pump);
        let thread = std::thread::Builder::new()
            .name("git-output".into())
            .spawn(move || p.run(out))
            .ok();
        RpcOutput {
            child: Some(child),
            source: Source::Pumped {
                pump,
                thread,
                current: Vec::new(),
                pos: 0,
            },
            label,
        }
    }

    /// The request has been fed: from now on the pump holds at most a small window.
    pub(super) fn input_done(&mut self) {
        if let Source::Pumped { pump, .. } = &self.source {
            pump.lock().bounded = true;
            pump.changed.notify_all();
        }
    }

    /// Stop the engine now (its output is no longer wanted).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }

    /// Read everything that remains into memory. Only for outputs known to be small (errors
    /// and reports produced after git rejected a request).
    pub fn read_small(&mut self, limit: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.by_ref().take(limit as u64).read_to_end(&mut out);
        out
    }

    fn reap(&mut self) {
        if let Some(mut child) = self.child.take() {
            match child.wait() {
                Ok(status) if !status.success() => {
                    eprintln!("hubctl: git {} exited with {status}", self.label)
                }
                Ok(_) => {}
                Err(e) => eprintln!("hubctl: waiting for git {}: {e}", self.label),
            }
        }
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // SAFETY: plain syscall; the child leads its own process group (spawned with
        // process_group(0)) and has not been reaped, so the id cannot have been reused.
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
    }
    let _ = child.wait();
}

impl Read for RpcOutput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = match &mut self.source {
            Source::Direct(out) => out.read(buf)?,
            Source::Pumped {
                pump,
                current,
                pos,
                thread,
            } => {
                if *pos >= current.len() {
                    let mut st = pump.lock();
                    loop {
                        if let Some(chunk) = st.chunks.pop_front() {
                            st.buffered -= chunk.len();
                            pump.changed.notify_all();
                            *current = chunk;
                            *pos = 0;
                            break;
                        }
                        if st.eof {
                            if let Some(e) = st.error.take() {
                                return Err(e);
                            }
                            drop(st);
                            if let Some(t) = thread.take() {
                                let _ = t.join();
                            }
                            current.clear();
                            *pos = 0;
                            break;
                        }
                        st = pump.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                }
                let n = (current.len() - *pos).min(buf.len());
                buf[..n].copy_from_slice(&current[*pos..*pos + n]);
                *pos += n;
                n
            }
        };
        if n == 0 {
            self.reap();
        }
        Ok(n)
    }
}

impl Drop for RpcOutput {
    fn drop(&mut self) {
        if let Source::Pumped { pump, thread, .. } = &mut self.source {
            pump.lock().reader_gone = true;
            pump.changed.notify_all();
            self.child.as_mut().map(kill_group);
            self.child = None;
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        } else if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }
}
