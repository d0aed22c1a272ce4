//! Streaming an engine process's output to a client.
//!
//! While the request is still being fed to git, a pump thread drains git's stdout so that git
//! never blocks on a full pipe while we block writing its stdin (git may answer before it has
//! read everything: shallow lists, progress). Once the request is fed, the pump hands the pipe
//! back and the reader reads git's output directly: no thread hand-off per chunk, and memory
//! stays flat however large the pack.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::process::{Child, ChildStderr, ChildStdout, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

const CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct PumpState {
    chunks: VecDeque<Vec<u8>>,
    /// The request is fed: the pump returns the pipe at its next turn.
    input_done: bool,
    /// The pipe, returned by the pump.
    returned: Option<ChildStdout>,
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
            {
                let mut st = self.lock();
                if st.reader_gone {
                    return;
                }
                if st.input_done {
                    st.returned = Some(out);
                    self.changed.notify_all();
                    return;
                }
            }
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

/// What the pump has for the reader next.
enum Next {
    Chunk(Vec<u8>),
    Pipe(ChildStdout),
    Eof,
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
    label: &'static str,
    stderr: Option<StderrTail>,
    /// The engine slot this process occupies, freed when it is reaped.
    slot: Option<super::slots::SlotGuard>,
    /// The pump and its thread, while it owns the pipe.
    pump: Option<(Arc<Pump>, Option<JoinHandle<()>>)>,
    /// The pipe, once read directly.
    direct: Option<ChildStdout>,
    /// A chunk taken from the pump, and how much of it was read.
    current: Vec<u8>,
    pos: usize,
    /// Let git run to its end instead of killing it when the output is no longer wanted.
    finish: bool,
    eof: bool,
    /// Puts a repository's message into the output (see `messages`).
    notice: Option<Box<super::messages::Filter>>,
}

impl RpcOutput {
    fn new(child: Child, label: &'static str, slot: Option<super::slots::SlotGuard>) -> RpcOutput {
        RpcOutput {
            child: Some(child),
            label,
            stderr: None,
            slot,
            pump: None,
            direct: None,
            current: Vec::new(),
            pos: 0,
            eof: false,
            finish: false,
            notice: None,
        }
    }

    /// Never kill this engine: when the client goes away, read git's output to the end and
    /// discard it. For receive-pack, which may be moving refs and running post-receive hooks
    /// when the client disconnects; killing it there would skip the hooks or leave a ref lock
    /// behind. A pack that never fully arrived ends git by itself (its input is closed).
    pub(super) fn finish_when_dropped(&mut self) {
        self.finish = true;
    }

    /// Pass the output through `filter` (a repository's message after a push or fetch).
    pub(super) fn filter_with(&mut self, filter: super::messages::Filter) {
        self.notice = Some(Box::new(filter));
    }

    /// Read git's output to its end, discarding it, and reap git. False if that failed.
    fn drain(&mut self) -> bool {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match self.read(&mut buf) {
                Ok(0) => return self.child.is_none(),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// An answer hubctl produced itself, without a git process.
    pub(super) fn ready(bytes: Vec<u8>) -> RpcOutput {
        RpcOutput {
            child: None,
            label: "upload-pack",
            stderr: None,
            slot: None,
            pump: None,
            direct: None,
            current: bytes,
            pos: 0,
            eof: true,
            finish: false,
            notice: None,
        }
    }

    pub(super) fn direct(
        mut child: Child,
        label: &'static str,
        slot: Option<super::slots::SlotGuard>,
    ) -> RpcOutput {
        let out = child.stdout.take().expect("stdout is piped");
        let mut o = RpcOutput::new(child, label, slot);
        o.direct = Some(out);
        o
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
        let mut o = RpcOutput::new(child, label, slot);
        o.stderr = stderr;
        o.pump = Some((pump, thread));
        o
    }

    /// The request has been fed: the pump may hand the pipe back.
    pub(super) fn input_done(&mut self) {
        if let Some((pump, _)) = &self.pump {
            pump.lock().input_done = true;
            pump.changed.notify_all();
        }
    }

    /// Block until the pump has something for the reader.
    fn next_from_pump(&mut self) -> io::Result<Next> {
        let Some((pump, thread)) = &mut self.pump else {
            return Ok(Next::Eof);
        };
        let mut st = pump.lock();
        loop {
            if let Some(chunk) = st.chunks.pop_front() {
                return Ok(Next::Chunk(chunk));
            }
            if let Some(pipe) = st.returned.take() {
                drop(st);
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
                self.pump = None;
                return Ok(Next::Pipe(pipe));
            }
            if st.eof {
                let err = st.error.take();
                drop(st);
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
                self.pump = None;
                return match err {
                    Some(e) => Err(e),
                    None => Ok(Next::Eof),
                };
            }
            st = pump.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Make sure `current` holds unread bytes, or report the end of the output.
    fn fill(&mut self) -> io::Result<bool> {
        while self.pos >= self.current.len() {
            if self.eof {
                return Ok(false);
            }
            if self.pump.is_some() {
                match self.next_from_pump()? {
                    Next::Chunk(c) => {
                        self.current = c;
                        self.pos = 0;
                    }
                    Next::Pipe(p) => self.direct = Some(p),
                    Next::Eof => self.eof = true,
                }
                continue;
            }
            let Some(pipe) = &mut self.direct else {
                self.eof = true;
                continue;
            };
            self.current.resize(CHUNK, 0);
            let n = loop {
                match pipe.read(&mut self.current) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            self.current.truncate(n);
            self.pos = 0;
            if n == 0 {
                self.eof = true;
            }
        }
        Ok(true)
    }

    /// Wait until git has produced output or ended. If it ended without writing anything,
    /// return its exit status and the end of its stderr (why it refused the request), so the
    /// caller can answer with a clear error instead of an empty success.
    pub fn ended_silently(&mut self) -> Option<(ExitStatus, String)> {
        if self.fill().ok()? {
            return None;
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

    /// Stop the engine now (its output is no longer wanted), or for an engine that must
    /// finish, let it finish.
    pub fn kill(&mut self) {
        if self.finish && self.drain() {
            return;
        }
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
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
        if let Some(mut filter) = self.notice.take() {
            let read = filter.read_via(self, buf);
            self.notice = Some(filter);
            return read;
        }
        // Large reads straight from the pipe, once the pump is out of the way.
        if self.pos >= self.current.len() && self.pump.is_none() && !self.eof {
            if let Some(pipe) = &mut self.direct {
                let n = pipe.read(buf)?;
                if n == 0 {
                    self.eof = true;
                    self.reap();
                }
                return Ok(n);
            }
        }
        if !self.fill()? {
            self.reap();
            return Ok(0);
        }
        let n = (self.current.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for RpcOutput {
    fn drop(&mut self) {
        if self.finish && self.child.is_some() && self.drain() {
            return;
        }
        if let Some((pump, thread)) = &mut self.pump {
            pump.lock().reader_gone = true;
            pump.changed.notify_all();
            if let Some(mut child) = self.child.take() {
                kill_group(&mut child);
            }
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }
}
