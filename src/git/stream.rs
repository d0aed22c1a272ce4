//! Streaming an engine process's output to a client.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::process::{Child, ChildStderr, ChildStdout, ExitStatus};
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

/// Keeps the end of git's stderr (to explain a refusal) while copying it to our log.
struct StderrTail {
    tail: Arc<Mutex<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

const TAIL: usize = 4096;

impl StderrTail {
    fn start(mut err: ChildStderr, label: &'static str) -> StderrTail {
        let tail = Arc::new(Mutex::new(Vec::new()));
        let t = Arc::clone(&tail);
        let thread = std::thread::Builder::new()
            .name("git-stderr".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    let n = match err.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let text = String::from_utf8_lossy(&buf[..n]);
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        eprintln!("hubctl: git {label}: {line}");
                    }
                    let mut tail = t.lock().unwrap_or_else(|e| e.into_inner());
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > TAIL {
                        let cut = tail.len() - TAIL;
                        tail.drain(..cut);
                    }
                }
            })
            .ok();
        StderrTail { tail, thread }
    }

    fn finish(&mut self) -> String {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&tail).trim().to_string()
    }
}

/// The output of one engine process, readable as a stream.
///
/// Reading to the end reaps the process and logs a failure exit. Dropping it early (the client
/// disconnected) kills git's whole process group, so no engine process outlives its request.
pub struct RpcOutput {
    child: Option<Child>,
    source: Source,
    label: &'static str,
    stderr: Option<StderrTail>,
    /// The engine slot this process occupies, freed when it is reaped.
    slot: Option<super::slots::SlotGuard>,
}

impl RpcOutput {
    pub(super) fn direct(
        mut child: Child,
        label: &'static str,
        slot: Option<super::slots::SlotGuard>,
    ) -> RpcOutput {
        let out = child.stdout.take().expect("stdout is piped");
        RpcOutput {
            child: Some(child),
            source: Source::Direct(out),
            label,
            stderr: None,
            slot,
        }
    }

    pub(super) fn pumped(
        mut child: Child,
        label: &'static str,
        slot: Option<super::slots::SlotGuard>,
    ) -> RpcOutput {
        let out = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().map(|e| StderrTail::start(e, label));
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
            stderr,
            slot,
        }
    }

    /// Wait until git has produced output or ended. If it ended without writing anything,
    /// return its exit status and the end of its stderr (why it refused the request), so the
    /// caller can answer with a clear error instead of an empty success.
    pub fn ended_silently(&mut self) -> Option<(ExitStatus, String)> {
        let Source::Pumped { pump, thread, .. } = &mut self.source else {
            return None;
        };
        let mut st = pump.lock();
        while st.chunks.is_empty() && !st.eof {
            st = pump.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if !st.chunks.is_empty() {
            return None;
        }
        drop(st);
        if let Some(t) = thread.take() {
            let _ = t.join();
        }
        let status = self.child.take()?.wait().ok()?;
        self.slot = None;
        let message = self
            .stderr
            .as_mut()
            .map(StderrTail::finish)
            .unwrap_or_default();
        Some((status, message))
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
        self.slot = None;
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
