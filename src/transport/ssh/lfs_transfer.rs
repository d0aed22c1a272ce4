//! `git-lfs-transfer <path> upload|download`: Git LFS's pure-SSH protocol (LFS.md §7), served
//! over the SSH channel's stdin and stdout for one authorised user and one operation.
//!
//! Framing is git's pkt-line (4 hex digits counting themselves, `0000` flush, `0001` delim),
//! read by a small bounded reader: a packet longer than 65520 bytes, a length that is not hex
//! or one of the reserved values, or input that ends inside a packet is a protocol error that
//! ends the session (never a panic, never an unbounded buffer). git-lfs's own reader is as
//! strict. Object data is streamed straight into [`ObjectStore::put_verified`] and out of
//! [`ObjectStore::get`]; nothing holds an object in memory.
//!
//! A session: the server announces `version=1` and `locking`, the client answers `version 1`,
//! then commands until `quit`, the end of input (the 3.3.0 client often just closes,
//! LFS.md §10 T9), or a silence longer than the idle timeout (which also frees the shared
//! ControlMaster connection 3.3.0 waits for, §10 T8). The operation fixes what the session may
//! do: `download` reads (batch, get-object, listing locks), `upload` writes (batch,
//! put-object, verify-object, lock, unlock, listing locks with `owner` lines). Access was
//! checked once, for the whole session, before the first byte (LFS.md §10 T12: 3.3.0 never
//! echoes per-object ids or tokens).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use super::connection::{self, Siblings};
use crate::access::Principal;
use crate::core::names::RepoName;
use crate::core::root::Root;
use crate::lfs::api::{self, BatchRequest, BatchRequestObject, GitRef, ListLocksQuery, ObjectSpec};
use crate::lfs::batch::{self, ActionBuildError, Limits, Operation};
use crate::lfs::locks::{self, LockError, LockFilter, LockRecord};
use crate::lfs::storage::ObjectReader;
use crate::lfs::{ObjectStore, Oid, TokenOp};
use crate::store::Store;

/// Longest pkt-line, length prefix included (git's `LARGE_PACKET_MAX`).
pub const MAX_PKT_LEN: usize = 65520;
/// Longest payload of one pkt-line.
pub const MAX_PKT_DATA: usize = MAX_PKT_LEN - 4;
/// The buffer on standard input: a widened pipe's worth (1 MiB), so that one read takes many
/// packets of object data instead of one packet in two pieces.
pub const INPUT_BUFFER: usize = 1 << 20;
/// Most argument lines one command may carry.
const MAX_ARGS: usize = 64;
/// Longest command or argument line (a lock path is at most 4096 bytes).
const MAX_ARG_LEN: usize = 8192;
/// Longest `batch` body line (`<oid> <size>` and perhaps a few `key=value`s).
const MAX_BATCH_LINE: usize = 1024;
/// Most bytes of a body nobody asked for that are read and dropped before the session ends.
const MAX_DRAIN: u64 = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// pkt-line

/// One pkt-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0000`: end of a message.
    Flush,
    /// `0001`: end of the arguments, a body follows.
    Delim,
    /// Anything else: its payload.
    Data(Vec<u8>),
}

/// What ends a session against the protocol's rules.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Bytes that are not pkt-lines of this protocol.
    #[error("protocol error: {0}")]
    Malformed(String),
    /// The input ended inside a packet or a message.
    #[error("protocol error: the client went away in the middle of a message")]
    Truncated,
    /// The client sent nothing, or read nothing of the answer, for longer than the idle
    /// timeout in the middle of a message.
    #[error("the client stopped sending or reading for longer than the idle timeout")]
    Idle,
    /// Reading from or writing to the client failed.
    #[error("talking to the client: {0}")]
    Io(#[source] io::Error),
}

impl From<io::Error> for ProtocolError {
    fn from(e: io::Error) -> ProtocolError {
        if e.kind() == io::ErrorKind::TimedOut {
            ProtocolError::Idle
        } else {
            ProtocolError::Io(e)
        }
    }
}

fn malformed(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed(what.into())
}

/// What kind of packet [`PktReader::read_into`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flush,
    Delim,
    /// A data packet of this many payload bytes.
    Data(usize),
}

/// Reads pkt-lines from a byte stream, never more than [`MAX_PKT_LEN`] at a time.
#[derive(Debug)]
pub struct PktReader<R> {
    inner: R,
}

/// Fill `buf` from `r`; the number of bytes read, short only at the end of input.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, ProtocolError> {
    Ok(read_full_io(r, buf)?)
}

impl<R: Read> PktReader<R> {
    /// Read pkt-lines from `inner`.
    pub fn new(inner: R) -> PktReader<R> {
        PktReader { inner }
    }

    /// The next packet into `buf` (resized to the payload); `None` at the end of input before
    /// a packet's first byte.
    fn read_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<Kind>, ProtocolError> {
        let mut head = [0u8; 4];
        match read_full(&mut self.inner, &mut head)? {
            0 => return Ok(None),
            4 => {}
            _ => return Err(ProtocolError::Truncated),
        }
        let mut len = 0usize;
        for b in head {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => {
                    return Err(malformed(format!(
                        "a pkt-line must start with 4 hex digits, not {:?}",
                        String::from_utf8_lossy(&head)
                    )));
                }
            };
            len = len * 16 + usize::from(digit);
        }
        match len {
            0 => return Ok(Some(Kind::Flush)),
            1 => return Ok(Some(Kind::Delim)),
            2 | 3 => return Err(malformed(format!("reserved pkt-line length {len:04x}"))),
            n if n > MAX_PKT_LEN => {
                return Err(malformed(format!(
                    "pkt-line of {n} bytes, longer than {MAX_PKT_LEN}"
                )));
            }
            _ => {}
        }
        let n = len - 4;
        buf.resize(n, 0);
        if read_full(&mut self.inner, buf)? < n {
            return Err(ProtocolError::Truncated);
        }
        Ok(Some(Kind::Data(n)))
    }

    /// The next packet; `None` at the end of input before a packet's first byte.
    pub fn read_packet(&mut self) -> Result<Option<Packet>, ProtocolError> {
        let mut buf = Vec::new();
        Ok(self.read_into(&mut buf)?.map(|k| match k {
            Kind::Flush => Packet::Flush,
            Kind::Delim => Packet::Delim,
            Kind::Data(_) => Packet::Data(buf),
        }))
    }
}

/// A text line: UTF-8, one trailing LF removed (the client sends it; accept lines without).
fn text(data: &[u8]) -> Result<String, ProtocolError> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    String::from_utf8(data.to_vec()).map_err(|_| malformed("a text line is not UTF-8"))
}

/// Writes pkt-lines.
#[derive(Debug)]
pub struct PktWriter<W> {
    inner: W,
}

impl<W: Write> PktWriter<W> {
    /// Write pkt-lines to `inner`.
    pub fn new(inner: W) -> PktWriter<W> {
        PktWriter { inner }
    }

    fn packet(&mut self, payload: &[u8]) -> io::Result<()> {
        self.header(payload.len())?;
        self.inner.write_all(payload)
    }

    /// The 4-byte length of a data packet whose `len` payload bytes follow.
    fn header(&mut self, len: usize) -> io::Result<()> {
        debug_assert!(len <= MAX_PKT_DATA);
        write!(self.inner, "{:04x}", len + 4)
    }

    /// One text line (LF added; cut at a character boundary if it would not fit a packet).
    pub fn text(&mut self, line: &str) -> io::Result<()> {
        let mut end = line.len().min(MAX_PKT_DATA - 1);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(end + 1);
        payload.extend_from_slice(&line.as_bytes()[..end]);
        payload.push(b'\n');
        self.packet(&payload)
    }

    /// Binary data, in packets of at most [`MAX_PKT_DATA`] bytes.
    pub fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        for chunk in bytes.chunks(MAX_PKT_DATA) {
            self.packet(chunk)?;
        }
        Ok(())
    }

    /// `0000`.
    pub fn flush_pkt(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0000")
    }

    /// `0001`.
    pub fn delim(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0001")
    }

    /// Push everything written so far to the client.
    pub fn finish(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// A whole answer without body: `status N`, arguments, flush.
    fn status(&mut self, code: u16, args: &[String]) -> io::Result<()> {
        self.text(&format!("status {code}"))?;
        for a in args {
            self.text(a)?;
        }
        self.flush_pkt()?;
        self.finish()
    }

    /// A whole answer with text lines after a delimiter.
    fn status_lines(&mut self, code: u16, args: &[String], lines: &[String]) -> io::Result<()> {
        self.text(&format!("status {code}"))?;
        for a in args {
            self.text(a)?;
        }
        self.delim()?;
        for l in lines {
            self.text(l)?;
        }
        self.flush_pkt()?;
        self.finish()
    }

    /// An error: `status N`, delim, the message (the client shows the first body line), flush
    /// (LFS.md §10 T10: the delimiter is required).
    fn error(&mut self, code: u16, message: &str) -> io::Result<()> {
        self.status_lines(code, &[], &[message.to_string()])
    }
}

/// Where a session's answers go: a byte stream that may also take a file's bytes straight from
/// the kernel, so that `get-object` never copies an object through user space.
pub trait Output: Write {
    /// Send the next `len` bytes of `file` (from its current position) after everything
    /// written so far; the number of bytes sent, short only when the file ended. `Ok(None)`
    /// when this output cannot take a file and nothing was sent: the caller copies instead.
    fn send_file(&mut self, file: &mut File, len: u64) -> io::Result<Option<u64>> {
        let _ = (file, len);
        Ok(None)
    }
}

impl Output for Vec<u8> {}
impl Output for &mut Vec<u8> {}

impl Output for io::BufWriter<IdleFd> {
    fn send_file(&mut self, file: &mut File, len: u64) -> io::Result<Option<u64>> {
        self.flush()?;
        self.get_mut().send_file(file, len)
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

/// A command line and its arguments; whether a body follows (after a delimiter).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    verb: String,
    /// What follows the verb on the command line (an oid, a lock id, a version).
    operand: String,
    args: Vec<String>,
    has_body: bool,
}

impl Message {
    /// The value of the first `key=value` argument.
    fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find_map(|a| a.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    }
}

/// What the client did next.
#[derive(Debug)]
enum Next {
    Message(Message),
    /// The input ended between messages.
    Eof,
    /// Nothing arrived for the idle timeout between messages.
    Idle,
}

/// A command or argument line, bounded by [`MAX_ARG_LEN`].
fn arg_text(data: &[u8]) -> Result<String, ProtocolError> {
    if data.len() > MAX_ARG_LEN {
        return Err(malformed(format!(
            "a command or argument line of {} bytes (at most {MAX_ARG_LEN})",
            data.len()
        )));
    }
    text(data)
}

fn read_message<R: Read>(r: &mut PktReader<R>) -> Result<Next, ProtocolError> {
    let first = match r.read_packet() {
        Ok(None) => return Ok(Next::Eof),
        Err(ProtocolError::Idle) => return Ok(Next::Idle),
        Err(e) => return Err(e),
        Ok(Some(Packet::Data(d))) => arg_text(&d)?,
        Ok(Some(Packet::Flush | Packet::Delim)) => {
            return Err(malformed("expected a command, got a flush or delimiter"));
        }
    };
    let (verb, operand) = first.split_once(' ').unwrap_or((first.as_str(), ""));
    let mut msg = Message {
        verb: verb.to_string(),
        operand: operand.to_string(),
        args: Vec::new(),
        has_body: false,
    };
    loop {
        match r.read_packet()? {
            None => return Err(ProtocolError::Truncated),
            Some(Packet::Flush) => return Ok(Next::Message(msg)),
            Some(Packet::Delim) => {
                msg.has_body = true;
                return Ok(Next::Message(msg));
            }
            Some(Packet::Data(d)) => {
                if msg.args.len() == MAX_ARGS {
                    return Err(malformed(format!("more than {MAX_ARGS} arguments")));
                }
                msg.args.push(arg_text(&d)?);
            }
        }
    }
}

/// A size as the protocol writes it: decimal digits only (`str::parse` would also take a
/// sign), within 64 bits.
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// One `batch` body line: `<oid> <size>`, then perhaps ` key=value` attributes (ignored). The
/// oid is checked per object by the planner; the size must be [`decimal`] (and fit an `i64`,
/// as the JSON API's sizes do).
fn batch_line(line: &str) -> Option<(&str, i64)> {
    let mut words = line.split(' ');
    let oid = words.next().filter(|o| !o.is_empty())?;
    let size = words
        .next()
        .and_then(decimal)
        .and_then(|s| i64::try_from(s).ok())?;
    Some((oid, size))
}

/// Why a body's lines were not taken (all of them were read to the flush regardless).
#[derive(Debug, Clone, PartialEq, Eq)]
enum LinesError {
    /// More lines than allowed; how many came.
    TooMany(usize),
    /// A line longer than allowed; its length.
    TooLong(usize),
}

/// The body's text lines up to the flush: at most `max` lines of at most `max_len` bytes,
/// never holding more than that.
fn read_lines<R: Read>(
    r: &mut PktReader<R>,
    max: usize,
    max_len: usize,
) -> Result<Result<Vec<String>, LinesError>, ProtocolError> {
    let mut lines = Vec::new();
    let mut count = 0usize;
    let mut too_long = None;
    let mut buf = Vec::new();
    loop {
        match r.read_into(&mut buf)? {
            None => return Err(ProtocolError::Truncated),
            Some(Kind::Flush) => break,
            Some(Kind::Delim) => return Err(malformed("a second delimiter in one message")),
            Some(Kind::Data(n)) => {
                count += 1;
                if n > max_len {
                    too_long.get_or_insert(n);
                } else if count <= max && too_long.is_none() {
                    lines.push(text(&buf)?);
                }
            }
        }
    }
    Ok(match too_long {
        Some(n) => Err(LinesError::TooLong(n)),
        None if count > max => Err(LinesError::TooMany(count)),
        None => Ok(lines),
    })
}

/// A body's data packets as a byte stream that ends at the flush; more than `limit` bytes is
/// a protocol error. A failure is kept in `failure`, since [`ObjectStore::put_verified`] only
/// reports that the body broke.
struct DataReader<'a, R> {
    pkt: &'a mut PktReader<R>,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    done: bool,
    total: u64,
    limit: u64,
    failure: Option<ProtocolError>,
}

impl<'a, R: Read> DataReader<'a, R> {
    fn new(pkt: &'a mut PktReader<R>, limit: u64) -> DataReader<'a, R> {
        DataReader {
            pkt,
            buf: Vec::with_capacity(MAX_PKT_DATA),
            pos: 0,
            len: 0,
            done: false,
            total: 0,
            limit,
            failure: None,
        }
    }

    fn fail(&mut self, e: ProtocolError) -> io::Error {
        let err = io::Error::other(e.to_string());
        self.failure = Some(e);
        err
    }

    /// Read and drop the rest of the body, up to its flush.
    fn drain(&mut self) -> Result<(), ProtocolError> {
        let mut sink = [0u8; 8192];
        loop {
            match self.read(&mut sink) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => {
                    return Err(self.failure.take().unwrap_or(ProtocolError::Io(e)));
                }
            }
        }
    }
}

impl<R: Read> Read for DataReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.len {
                let n = out.len().min(self.len - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done || self.failure.is_some() {
                return match self.failure {
                    Some(_) => Err(io::Error::other("the object data is broken")),
                    None => Ok(0),
                };
            }
            match self.pkt.read_into(&mut self.buf) {
                Ok(Some(Kind::Data(n))) => {
                    self.total += n as u64;
                    if self.total > self.limit {
                        return Err(self.fail(malformed(format!(
                            "more object data than announced ({} bytes)",
                            self.limit.saturating_sub(MAX_PKT_DATA as u64)
                        ))));
                    }
                    self.pos = 0;
                    self.len = n;
                }
                Ok(Some(Kind::Flush)) => self.done = true,
                Ok(Some(Kind::Delim)) => {
                    return Err(self.fail(malformed("a delimiter inside object data")));
                }
                Ok(None) => return Err(self.fail(ProtocolError::Truncated)),
                Err(e) => return Err(self.fail(e)),
            }
        }
    }
}

/// Read and drop a body nobody asked for (bounded by [`MAX_DRAIN`]).
fn skip_body<R: Read>(r: &mut PktReader<R>, msg: &Message) -> Result<(), ProtocolError> {
    if msg.has_body {
        DataReader::new(r, MAX_DRAIN).drain()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The session

/// One authorised `git-lfs-transfer` session.
#[derive(Debug)]
pub struct Transfer<'a> {
    /// The hubctl root.
    pub root: &'a Root,
    /// The repository.
    pub name: &'a RepoName,
    /// Its directory (objects live in `<git_dir>/lfs`).
    pub git_dir: &'a Path,
    /// The key's user (access for the session's operation is already checked).
    pub principal: &'a Principal,
    /// The user's id (lock ownership).
    pub user_id: i64,
    /// What the session may do.
    pub operation: Operation,
    /// The session's decision point (forcing another user's lock open needs admin).
    pub gate: &'a crate::access::authorize::Gate<'a>,
    /// The repository's LFS limits.
    pub limits: Limits,
    /// The repository's row, which locks hang on (`None`: on disk but not adopted).
    pub repo_id: Option<i64>,
    /// Where its objects live ([`crate::lfs::storage::open`]).
    pub storage: &'a dyn ObjectStore,
}

/// How a session ended without a protocol error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client sent `quit`.
    Quit,
    /// The input ended between messages.
    Eof,
    /// Nothing arrived for the idle timeout between messages.
    Idle,
    /// Another session of the same SSH connection received `quit` while this one was idle
    /// between messages (see [`super::connection`]).
    Siblings,
}

/// What ended a [`Pause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Input is ready (or the input ended: the next read says which).
    Input,
    /// Nothing arrived for the idle timeout.
    Idle,
    /// A sibling session quit and this one stayed idle (see [`super::connection`]).
    Siblings,
}

/// How a session waits for its next message when none of it has arrived yet.
pub trait Pause {
    /// Block until input is ready or the session should end.
    fn wait(&mut self) -> io::Result<Wake>;
}

/// Serve one session: capabilities, then commands until the end. Broken framing is a
/// [`ProtocolError`] (the client is told, as far as it still listens). Between messages,
/// with nothing buffered, the session waits through `pause`.
pub fn serve<R: Read, W: Output>(
    t: &Transfer<'_>,
    store: &Store,
    input: io::BufReader<R>,
    output: W,
    pause: &mut dyn Pause,
) -> Result<End, ProtocolError> {
    let mut r = PktReader::new(input);
    let mut w = PktWriter::new(output);
    w.text("version=1")?;
    w.text("locking")?;
    w.flush_pkt()?;
    w.finish()?;
    let mut session = Session {
        t,
        store,
        storage: t.storage,
        negotiated: false,
    };
    loop {
        if r.inner.buffer().is_empty() {
            match pause.wait() {
                Ok(Wake::Input) => {}
                Ok(Wake::Idle) => return Ok(End::Idle),
                Ok(Wake::Siblings) => return Ok(End::Siblings),
                Err(e) => return Err(e.into()),
            }
        }
        let msg = match read_message(&mut r) {
            Ok(Next::Message(m)) => m,
            Ok(Next::Eof) => return Ok(End::Eof),
            Ok(Next::Idle) => return Ok(End::Idle),
            Err(e) => return Err(tell(&mut w, e)),
        };
        match session.handle(&mut r, &mut w, msg) {
            Ok(Some(end)) => return Ok(end),
            Ok(None) => {}
            Err(e) => return Err(tell(&mut w, e)),
        }
    }
}

/// One line on stderr for the operator's log (sshd passes it to the client too). Never
/// fails: a full stderr must not end the session.
fn log(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "hubctl: {message}");
}

/// Tell the client about a protocol error if it can still listen (best effort).
fn tell<W: Write>(w: &mut PktWriter<W>, e: ProtocolError) -> ProtocolError {
    if let ProtocolError::Malformed(_) = &e {
        let _ = w.error(400, &e.to_string());
    }
    e
}

struct Session<'a, 'b> {
    t: &'a Transfer<'b>,
    store: &'a Store,
    storage: &'a dyn ObjectStore,
    negotiated: bool,
}

/// An object's bytes from `reader` as data packets; the number of bytes sent.
fn copy_packets<W: Write>(w: &mut PktWriter<W>, reader: &mut dyn Read) -> io::Result<u64> {
    let mut buf = vec![0u8; MAX_PKT_DATA];
    let mut sent: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(sent),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.data(&buf[..n])?;
        sent += n as u64;
    }
}

/// The first `len` bytes of `file` (from its position) as data packets of the largest size,
/// each payload handed to the kernel ([`Output::send_file`]) after its 4-byte header: the
/// object never passes through this process's memory, which halves the CPU of a download
/// (two copies of every byte, file to buffer and buffer to pipe, are gone). An output that
/// cannot take a file gets the bytes copied. The number of bytes sent: short when the file
/// is shorter than `len`.
fn send_packets<W: Output>(w: &mut PktWriter<W>, mut file: File, len: u64) -> io::Result<u64> {
    let mut sent: u64 = 0;
    while sent < len {
        let n = (len - sent).min(MAX_PKT_DATA as u64);
        w.header(n as usize)?;
        match w.inner.send_file(&mut file, n)? {
            Some(k) if k == n => sent += n,
            // The file ended early: the packet is short and the session ends (the caller
            // reports it); nothing more can be framed correctly.
            Some(k) => return Ok(sent + k),
            None => {
                let mut buf = vec![0u8; n as usize];
                let got = read_full_io(&mut file, &mut buf)?;
                w.inner.write_all(&buf[..got])?;
                if got < buf.len() {
                    return Ok(sent + got as u64);
                }
                sent += n;
                let rest = copy_packets(w, &mut (&mut file).take(len - sent))?;
                return Ok(sent + rest);
            }
        }
    }
    Ok(sent)
}

/// Fill `buf` from `r`; the number of bytes read, short only at the end of input.
fn read_full_io(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The four arguments of a lock (LFS.md §10 T11: all are required).
fn lock_args(l: &LockRecord) -> Vec<String> {
    vec![
        format!("id={}", l.id),
        format!("path={}", l.path),
        format!("locked-at={}", l.locked_at),
        format!("ownername={}", l.owner_name),
    ]
}

/// The status of a lock failure; a busy database is "try later".
fn lock_status(e: &LockError) -> u16 {
    match e {
        LockError::Sql(rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            429
        }
        other => other.status(),
    }
}

impl Session<'_, '_> {
    fn handle<R: Read, W: Output>(
        &mut self,
        r: &mut PktReader<R>,
        w: &mut PktWriter<W>,
        msg: Message,
    ) -> Result<Option<End>, ProtocolError> {
        if msg.verb == "version" {
            skip_body(r, &msg)?;
            if msg.operand == "1" {
                self.negotiated = true;
                w.status(200, &[])?;
            } else {
                w.error(400, &format!("unsupported version {:?}", msg.operand))?;
            }
            return Ok(None);
        }
        if !self.negotiated {
            skip_body(r, &msg)?;
            w.error(400, "negotiate the protocol version first (version 1)")?;
            return Ok(None);
        }
        match msg.verb.as_str() {
            "batch" => self.batch(r, w, &msg)?,
            "put-object" => self.put_object(r, w, &msg)?,
            "verify-object" => {
                skip_body(r, &msg)?;
                self.verify_object(w, &msg)?;
            }
            "get-object" => {
                skip_body(r, &msg)?;
                self.get_object(w, &msg)?;
            }
            "lock" => {
                skip_body(r, &msg)?;
                self.lock(w, &msg)?;
            }
            // 3.3.0 sends both spellings (LFS.md §10 T6).
            "list-lock" | "list-locks" => {
                skip_body(r, &msg)?;
                self.list_locks(w, &msg)?;
            }
            "unlock" => {
                skip_body(r, &msg)?;
                self.unlock(w, &msg)?;
            }
            "quit" => {
                skip_body(r, &msg)?;
                w.status(200, &[])?;
                return Ok(Some(End::Quit));
            }
            other => {
                skip_body(r, &msg)?;
                let shown: String = other.chars().take(40).collect();
                w.error(400, &format!("unknown command {shown:?}"))?;
            }
        }
        Ok(None)
    }

    fn upload_only<W: Write>(&self, w: &mut PktWriter<W>, what: &str) -> io::Result<bool> {
        if self.t.operation == Operation::Upload {
            return Ok(true);
        }
        w.error(
            403,
            &format!("{what} needs an upload session (git-lfs-transfer <path> upload)"),
        )?;
        Ok(false)
    }

    fn batch<R: Read, W: Write>(
        &self,
        r: &mut PktReader<R>,
        w: &mut PktWriter<W>,
        msg: &Message,
    ) -> Result<(), ProtocolError> {
        if !msg.has_body {
            w.error(400, "batch needs one \"<oid> <size>\" line per object")?;
            return Ok(());
        }
        let max = self.t.limits.max_objects;
        let lines = match read_lines(r, max, MAX_BATCH_LINE)? {
            Ok(lines) => lines,
            Err(LinesError::TooMany(count)) => {
                w.error(
                    413,
                    &format!("too many objects in one batch: {count} > {max}"),
                )?;
                return Ok(());
            }
            Err(LinesError::TooLong(n)) => {
                w.error(
                    400,
                    &format!("a batch line of {n} bytes (at most {MAX_BATCH_LINE})"),
                )?;
                return Ok(());
            }
        };
        if let Some(algo) = msg.arg("hash-algo").filter(|a| *a != api::HASH_ALGO_SHA256) {
            w.error(
                409,
                &format!("unsupported hash algorithm {algo:?}: only sha256"),
            )?;
            return Ok(());
        }
        let mut objects = Vec::with_capacity(lines.len());
        for line in &lines {
            let Some((oid, size)) = batch_line(line) else {
                let shown: String = line.chars().take(100).collect();
                w.error(
                    400,
                    &format!("malformed batch line {shown:?}: expected \"<oid> <size>\""),
                )?;
                return Ok(());
            };
            objects.push(BatchRequestObject {
                oid: oid.to_string(),
                size,
            });
        }
        let request = BatchRequest {
            operation: self.t.operation.as_str().to_string(),
            objects,
            transfers: None,
            git_ref: msg.arg("refname").map(|n| GitRef {
                name: Some(n.to_string()),
            }),
            hash_algo: None,
        };
        // Over SSH the objects move on this very channel: no hrefs, no tokens.
        let no_href = |_: &Oid, _: u64, _: TokenOp| -> Result<api::Action, ActionBuildError> {
            Ok(api::Action {
                href: String::new(),
                header: BTreeMap::new(),
                expires_in: None,
                expires_at: None,
            })
        };
        let answer = match batch::plan(&request, self.storage, &self.t.limits, &no_href) {
            Ok(a) => a,
            Err(e) => {
                if e.status() >= 500 {
                    log(format_args!("LFS batch for {}: {e}", self.t.name));
                }
                w.error(e.status(), &e.to_string())?;
                return Ok(());
            }
        };
        let mut out = Vec::with_capacity(answer.objects.len());
        for o in &answer.objects {
            let action = match (&o.error, &o.actions) {
                // An object the client may not upload fails the batch: the protocol has no
                // per-object errors, and a silent `noop` would lose it.
                (Some(err), _) if self.t.operation == Operation::Upload => {
                    w.error(err.code, &format!("{}: {}", o.oid, err.message))?;
                    return Ok(());
                }
                // A download the server cannot serve (missing, another size): `download`, so
                // that get-object answers for this object alone (404, "got status 404 when
                // fetching OID ..."). With `noop` (LFS.md §7.4, the reference server)
                // git-lfs 3.3.0's `lfs pull` skips the object and exits 0; a whole-batch
                // error would fail every other object of the batch too.
                (Some(_), _) => "download",
                (None, Some(a)) if a.upload.is_some() => "upload",
                (None, Some(a)) if a.download.is_some() => "download",
                _ => "noop",
            };
            out.push(format!("{} {} {action}", o.oid, o.size));
        }
        w.status_lines(200, &[format!("hash-algo={}", api::HASH_ALGO_SHA256)], &out)?;
        Ok(())
    }

    /// The oid of an object command, or the error answer for a bad one.
    fn oid<W: Write>(&self, w: &mut PktWriter<W>, msg: &Message) -> io::Result<Option<Oid>> {
        match Oid::parse(&msg.operand) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) => {
                w.error(400, &format!("invalid object id: {e}"))?;
                Ok(None)
            }
        }
    }

    /// The `size=` argument, or the error answer.
    fn size<W: Write>(&self, w: &mut PktWriter<W>, msg: &Message) -> io::Result<Option<u64>> {
        match msg.arg("size").and_then(decimal) {
            Some(size) => Ok(Some(size)),
            None => {
                w.error(400, &format!("{} needs size=<bytes>", msg.verb))?;
                Ok(None)
            }
        }
    }

    fn put_object<R: Read, W: Write>(
        &self,
        r: &mut PktReader<R>,
        w: &mut PktWriter<W>,
        msg: &Message,
    ) -> Result<(), ProtocolError> {
        let reject = |r: &mut PktReader<R>, w: &mut PktWriter<W>, code: u16, text: &str| {
            skip_body(r, msg)?;
            w.error(code, text)?;
            Ok(())
        };
        if self.t.operation != Operation::Upload {
            return reject(
                r,
                w,
                403,
                "put-object needs an upload session (git-lfs-transfer <path> upload)",
            );
        }
        if !msg.has_body {
            w.error(400, "put-object needs the object's data after a delimiter")?;
            return Ok(());
        }
        let Ok(oid) = Oid::parse(&msg.operand) else {
            return reject(r, w, 400, &format!("invalid object id {:?}", msg.operand));
        };
        let Some(size) = msg.arg("size").and_then(decimal) else {
            return reject(r, w, 400, "put-object needs size=<bytes>");
        };
        // The batch checked these already; a put that skipped it is held to them too.
        if let Some(max) = self.t.limits.max_object_size.filter(|max| size > *max) {
            let text = format!(
                "the object is {size} bytes; this repository takes LFS objects up to {max}"
            );
            let mut body = DataReader::new(r, size.saturating_add(MAX_PKT_DATA as u64));
            body.drain()?;
            w.error(413, &text)?;
            return Ok(());
        }
        if let Some(quota) = self.t.limits.quota_bytes {
            let present = matches!(self.storage.stat(&oid), Ok(Some(_)));
            let used = self.storage.usage().map(|u| u.bytes).unwrap_or(0);
            if !present && used.saturating_add(size) > quota {
                let text = format!(
                    "this repository's LFS quota of {quota} bytes is used up ({used} used)"
                );
                let mut body = DataReader::new(r, size.saturating_add(MAX_PKT_DATA as u64));
                body.drain()?;
                w.error(507, &text)?;
                return Ok(());
            }
        }
        let mut body = DataReader::new(r, size.saturating_add(MAX_PKT_DATA as u64));
        let result = self.storage.put_verified(&oid, size, &mut body);
        if let Some(broken) = body.failure.take() {
            // Nothing was kept; the client is gone or speaks something else.
            return Err(broken);
        }
        body.drain()?;
        match result {
            Ok(_) => w.status(200, &[])?,
            Err(e) => {
                if e.status() >= 500 {
                    log(format_args!(
                        "LFS upload of {oid} into {}: {e}",
                        self.t.name
                    ));
                }
                w.error(e.status(), &e.to_string())?;
            }
        }
        Ok(())
    }

    fn verify_object<W: Write>(&self, w: &mut PktWriter<W>, msg: &Message) -> io::Result<()> {
        if !self.upload_only(w, "verify-object")? {
            return Ok(());
        }
        let Some(oid) = self.oid(w, msg)? else {
            return Ok(());
        };
        let Some(size) = self.size(w, msg)? else {
            return Ok(());
        };
        let spec = ObjectSpec {
            oid: oid.to_string(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
        };
        match batch::verify_object(self.storage, &spec) {
            Ok(_) => w.status(200, &[]),
            Err(e) => {
                if e.status() >= 500 {
                    log(format_args!("LFS verify of {oid} in {}: {e}", self.t.name));
                }
                w.error(e.status(), &e.to_string())
            }
        }
    }

    fn get_object<W: Output>(&self, w: &mut PktWriter<W>, msg: &Message) -> io::Result<()> {
        if self.t.operation != Operation::Download {
            return w.error(
                403,
                "get-object needs a download session (git-lfs-transfer <path> download)",
            );
        }
        let Some(oid) = self.oid(w, msg)? else {
            return Ok(());
        };
        let object = match self.storage.get(&oid, None) {
            Ok(o) => o,
            Err(e) => {
                if e.status() >= 500 {
                    log(format_args!(
                        "LFS download of {oid} from {}: {e}",
                        self.t.name
                    ));
                }
                return w.error(e.status(), &e.to_string());
            }
        };
        w.text("status 200")?;
        w.text(&format!("size={}", object.size))?;
        w.delim()?;
        let len = object.len;
        let sent = match object.reader {
            ObjectReader::File(file) => send_packets(w, file.into_inner(), len)?,
            ObjectReader::Stream(mut reader) => copy_packets(w, &mut reader)?,
        };
        if sent != len {
            // The file changed under us: the client would reject the hash; end the session.
            return Err(io::Error::other(format!(
                "object {oid} changed while it was sent"
            )));
        }
        w.flush_pkt()?;
        w.finish()
    }

    /// The repository's row id for lock commands, or the error answer.
    fn lock_repo<W: Write>(&self, w: &mut PktWriter<W>) -> io::Result<Option<i64>> {
        match self.t.repo_id {
            Some(id) => Ok(Some(id)),
            None => {
                w.error(
                    409,
                    "this repository is not adopted (hubctl repo adopt); it cannot hold locks",
                )?;
                Ok(None)
            }
        }
    }

    fn lock<W: Write>(&self, w: &mut PktWriter<W>, msg: &Message) -> io::Result<()> {
        if !self.upload_only(w, "lock")? {
            return Ok(());
        }
        let Some(repo_id) = self.lock_repo(w)? else {
            return Ok(());
        };
        let Some(path) = msg.arg("path") else {
            return w.error(400, "lock needs path=<file>");
        };
        let created = locks::create(
            self.store.conn(),
            repo_id,
            path,
            self.t.user_id,
            msg.arg("refname"),
        );
        match created {
            Ok(lock) => w.status(201, &lock_args(&lock)),
            Err(LockError::Conflict(existing)) => w.status_lines(
                409,
                &lock_args(&existing),
                &["lock already exists".to_string()],
            ),
            Err(e) => w.error(lock_status(&e), &e.to_string()),
        }
    }

    fn list_locks<W: Write>(&self, w: &mut PktWriter<W>, msg: &Message) -> io::Result<()> {
        let Some(repo_id) = self.lock_repo(w)? else {
            return Ok(());
        };
        let own = |k: &str| msg.arg(k).map(str::to_string);
        let query = ListLocksQuery {
            path: own("path"),
            id: own("id"),
            cursor: own("cursor"),
            limit: own("limit"),
            refspec: own("refspec").or_else(|| own("refname")),
        };
        let page = LockFilter::from_query(&query)
            .and_then(|filter| locks::list(self.store.conn(), repo_id, &filter));
        let page = match page {
            Ok(p) => p,
            Err(e) => return w.error(lock_status(&e), &e.to_string()),
        };
        let args: Vec<String> = page
            .next_cursor
            .iter()
            .map(|c| format!("next-cursor={c}"))
            .collect();
        let upload = self.t.operation == Operation::Upload;
        let mut lines = Vec::with_capacity(page.locks.len() * 5);
        for l in &page.locks {
            let id = l.id;
            lines.push(format!("lock {id}"));
            lines.push(format!("path {id} {}", l.path));
            lines.push(format!("locked-at {id} {}", l.locked_at));
            lines.push(format!("ownername {id} {}", l.owner_name));
            // Upload sessions verify pushes: a lock without `owner` counts as neither ours
            // nor theirs (LFS.md §7.7).
            if upload {
                let whose = if l.owner_id == self.t.user_id {
                    "ours"
                } else {
                    "theirs"
                };
                lines.push(format!("owner {id} {whose}"));
            }
        }
        w.status_lines(200, &args, &lines)
    }

    fn unlock<W: Write>(&self, w: &mut PktWriter<W>, msg: &Message) -> io::Result<()> {
        if !self.upload_only(w, "unlock")? {
            return Ok(());
        }
        let Some(repo_id) = self.lock_repo(w)? else {
            return Ok(());
        };
        let id = msg.operand.as_str();
        let lock = match locks::get(self.store.conn(), repo_id, id) {
            Ok(Some(l)) => l,
            Ok(None) => return w.error(404, &format!("lock {id} not found")),
            Err(e) => return w.error(lock_status(&e), &e.to_string()),
        };
        // git-lfs 3.3.0 never sends `force` over SSH, even for `unlock --force` (LFS.md §10
        // T7), so the policy decides alone: the owner may always unlock, an admin of the
        // repository may remove anyone's lock, nobody else may.
        let foreign = lock.owner_id != self.t.user_id;
        let may_force = foreign
            && self
                .t
                .gate
                .hosted(
                    self.t.root,
                    self.t.name,
                    self.t.principal,
                    crate::access::authorize::Want::Admin,
                )
                .is_ok();
        if foreign && !may_force {
            return w.error(
                403,
                &format!(
                    "lock {id} belongs to {}; only its owner or an admin of {} can remove it",
                    lock.owner_name, self.t.name
                ),
            );
        }
        match locks::unlock(self.store.conn(), repo_id, id, self.t.user_id, may_force) {
            Ok(removed) => w.status(200, &lock_args(&removed)),
            Err(e) => w.error(lock_status(&e), &e.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Idle-bounded stdin and stdout

/// Standard input or output for a session: non-blocking underneath, and every read or write
/// that cannot go on waits at most `timeout` for the client before it fails with
/// [`io::ErrorKind::TimedOut`]. A client that stops sending or stops reading cannot hold the
/// process forever.
#[derive(Debug)]
pub struct IdleFd {
    file: std::fs::File,
    timeout: Duration,
}

impl IdleFd {
    /// A duplicate of standard input.
    pub fn stdin(timeout: Duration) -> io::Result<IdleFd> {
        IdleFd::new(io::stdin().as_fd().try_clone_to_owned()?, timeout)
    }

    /// A duplicate of standard output (write to this one only, never to `std::io::stdout`,
    /// whose buffer would interleave).
    pub fn stdout(timeout: Duration) -> io::Result<IdleFd> {
        IdleFd::new(io::stdout().as_fd().try_clone_to_owned()?, timeout)
    }

    fn new(fd: OwnedFd, timeout: Duration) -> io::Result<IdleFd> {
        let raw = fd.as_raw_fd();
        // SAFETY: fcntl on a descriptor this process owns; no memory is passed.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above; O_NONBLOCK only changes how reads and writes wait.
        if unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(IdleFd {
            file: std::fs::File::from(fd),
            timeout,
        })
    }

    /// Wait until the descriptor is ready for `events`, at most the timeout.
    fn wait(&self, events: libc::c_short) -> io::Result<()> {
        let ms = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
        let mut pfd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd, alive for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            // Readable, writable, or hung up / in error: the next call says which.
            return Ok(());
        }
    }
}

/// The wait between messages on standard input: at most the idle timeout and, when the
/// session knows its SSH connection, until a sibling session's `quit` has been seen and this
/// one has been idle for [`connection::GRACE`] (checked every [`connection::CHECK_EVERY`]).
#[derive(Debug)]
pub struct StdinPause {
    timeout: Duration,
    siblings: Option<Siblings>,
}

impl StdinPause {
    /// Wait on standard input for at most `timeout`, and for `siblings` if known.
    pub fn new(timeout: Duration, siblings: Option<Siblings>) -> StdinPause {
        StdinPause { timeout, siblings }
    }
}

impl Pause for StdinPause {
    fn wait(&mut self) -> io::Result<Wake> {
        let start = Instant::now();
        loop {
            let waited = start.elapsed();
            let Some(left) = self.timeout.checked_sub(waited).filter(|d| !d.is_zero()) else {
                return Ok(Wake::Idle);
            };
            let slice = match self.siblings {
                Some(_) => left.min(connection::CHECK_EVERY),
                None => left,
            };
            let mut pfd = libc::pollfd {
                fd: io::stdin().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = i32::try_from(slice.as_millis().max(1)).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd, alive for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n > 0 {
                // Readable, or hung up / in error: the next read says which.
                return Ok(Wake::Input);
            }
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            if let Some(s) = &self.siblings {
                if start.elapsed() >= connection::GRACE && s.quit_seen() {
                    return Ok(Wake::Siblings);
                }
            }
        }
    }
}

impl IdleFd {
    /// Send the next `len` bytes of `file` with `sendfile(2)`: the kernel moves them from the
    /// page cache into the pipe (or socket) without a copy through this process. Waits like
    /// [`Write::write`]; the number of bytes sent, short only when the file ended. `Ok(None)`
    /// when the kernel cannot send between these two descriptors and nothing was sent.
    pub fn send_file(&mut self, file: &mut File, len: u64) -> io::Result<Option<u64>> {
        let mut sent: u64 = 0;
        while sent < len {
            let want = usize::try_from(len - sent)
                .unwrap_or(usize::MAX)
                .min(1 << 30);
            // SAFETY: two open descriptors owned by live values; a null offset makes sendfile
            // use and advance the file's own position.
            let n = unsafe {
                libc::sendfile(
                    self.file.as_raw_fd(),
                    file.as_raw_fd(),
                    std::ptr::null_mut(),
                    want,
                )
            };
            if n > 0 {
                sent += n as u64;
                continue;
            }
            if n == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => self.wait(libc::POLLOUT)?,
                Some(libc::EINTR) => {}
                Some(libc::EINVAL | libc::ENOSYS) if sent == 0 => return Ok(None),
                _ => return Err(e),
            }
        }
        Ok(Some(sent))
    }
}

impl AsRawFd for IdleFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }
}

impl Drop for IdleFd {
    /// Back to blocking mode: the descriptor's open file is shared with the process's own
    /// stdin or stdout (and perhaps stderr), which expect it.
    fn drop(&mut self) {
        let raw = self.file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this value owns; no memory is passed.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
        if flags >= 0 {
            // SAFETY: as above.
            unsafe { libc::fcntl(raw, libc::F_SETFL, flags & !libc::O_NONBLOCK) };
        }
    }
}

impl Read for IdleFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(libc::POLLIN)?,
                other => return other,
            }
        }
    }
}

impl Write for IdleFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.file.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(libc::POLLOUT)?,
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;

    fn pkt(s: &str) -> Vec<u8> {
        format!("{:04x}{s}", s.len() + 4).into_bytes()
    }

    fn packets(input: &[u8]) -> Result<Vec<Packet>, ProtocolError> {
        let mut r = PktReader::new(input);
        let mut out = Vec::new();
        while let Some(p) = r.read_packet()? {
            out.push(p);
        }
        Ok(out)
    }

    #[test]
    fn reads_packets() {
        let mut input = pkt("version 1\n");
        input.extend_from_slice(b"000000010004000AHELLO!0000");
        assert_eq!(
            packets(&input).unwrap(),
            vec![
                Packet::Data(b"version 1\n".to_vec()),
                Packet::Flush,
                Packet::Delim,
                Packet::Data(Vec::new()),
                Packet::Data(b"HELLO!".to_vec()),
                Packet::Flush,
            ]
        );
    }

    #[test]
    fn longest_packet_and_beyond() {
        let payload = vec![b'x'; MAX_PKT_DATA];
        let mut input = format!("{MAX_PKT_LEN:04x}").into_bytes();
        input.extend_from_slice(&payload);
        assert_eq!(packets(&input).unwrap(), vec![Packet::Data(payload)]);
        let mut too_long = format!("{:04x}", MAX_PKT_LEN + 1).into_bytes();
        too_long.extend(vec![b'x'; MAX_PKT_DATA + 1]);
        assert!(matches!(
            packets(&too_long),
            Err(ProtocolError::Malformed(m)) if m.contains("longer than 65520")
        ));
        assert!(matches!(packets(b"ffff"), Err(ProtocolError::Malformed(_))));
    }

    #[test]
    fn malformed_and_truncated() {
        for bad in [&b"zzzz"[..], b"00g1", b"0002", b"0003", b"-001", b" 00a"] {
            assert!(
                matches!(packets(bad), Err(ProtocolError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for cut in [&b"0"[..], b"000", b"0009quit", b"0010short"] {
            assert!(
                matches!(packets(cut), Err(ProtocolError::Truncated)),
                "{:?}",
                String::from_utf8_lossy(cut)
            );
        }
        assert_eq!(packets(b"").unwrap(), vec![]);
    }

    #[test]
    fn writes_packets() {
        let mut out = Vec::new();
        let mut w = PktWriter::new(&mut out);
        w.status(200, &[]).unwrap();
        w.error(404, "object not found").unwrap();
        w.data(&vec![b'a'; MAX_PKT_DATA + 1]).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with(
            "000fstatus 200\n0000000fstatus 404\n00010015object not found\n0000fff0aaa"
        ));
        assert!(text.ends_with("0005a"));
        // Over-long text lines are cut to fit one packet.
        let mut out = Vec::new();
        PktWriter::new(&mut out).text(&"é".repeat(40_000)).unwrap();
        let ps = packets(&out).unwrap();
        let [Packet::Data(d)] = ps.as_slice() else {
            panic!("{ps:?}")
        };
        assert!(d.len() <= MAX_PKT_DATA && d.ends_with(b"\n"));
        assert!(std::str::from_utf8(d).is_ok());
    }

    #[test]
    fn messages() {
        let mut input = pkt("put-object abc\n");
        input.extend(pkt("size=3\n"));
        input.extend_from_slice(b"0001");
        input.extend(pkt("xyz"));
        input.extend_from_slice(b"0000");
        input.extend(pkt("quit"));
        input.extend_from_slice(b"0000");
        let mut r = PktReader::new(&input[..]);
        let Next::Message(m) = read_message(&mut r).unwrap() else {
            panic!()
        };
        assert_eq!(
            (m.verb.as_str(), m.operand.as_str(), m.has_body),
            ("put-object", "abc", true)
        );
        assert_eq!(m.arg("size"), Some("3"));
        assert_eq!(m.arg("siz"), None);
        let mut data = Vec::new();
        let mut body = DataReader::new(&mut r, 3 + MAX_PKT_DATA as u64);
        body.read_to_end(&mut data).unwrap();
        assert_eq!(data, b"xyz");
        let Next::Message(q) = read_message(&mut r).unwrap() else {
            panic!()
        };
        assert_eq!((q.verb.as_str(), q.has_body), ("quit", false));
        assert!(matches!(read_message(&mut r), Ok(Next::Eof)));

        // Too many arguments, a message cut short, a flush where a command belongs.
        let mut many = pkt("batch");
        for _ in 0..=MAX_ARGS {
            many.extend(pkt("x=y"));
        }
        assert!(matches!(
            read_message(&mut PktReader::new(&many[..])),
            Err(ProtocolError::Malformed(_))
        ));
        assert!(matches!(
            read_message(&mut PktReader::new(&pkt("batch")[..])),
            Err(ProtocolError::Truncated)
        ));
        assert!(matches!(
            read_message(&mut PktReader::new(&b"0000"[..])),
            Err(ProtocolError::Malformed(_))
        ));
        let not_utf8 = [&b"0006"[..], &[0xff, 0xfe]].concat();
        assert!(matches!(
            read_message(&mut PktReader::new(&not_utf8[..])),
            Err(ProtocolError::Malformed(_))
        ));
    }

    #[test]
    fn data_reader_bounds() {
        // More data than the limit is a protocol error, kept for the caller.
        let mut input = pkt("abcdef");
        input.extend_from_slice(b"0000");
        let mut r = PktReader::new(&input[..]);
        let mut body = DataReader::new(&mut r, 4);
        let mut sink = Vec::new();
        assert!(body.read_to_end(&mut sink).is_err());
        assert!(matches!(body.failure, Some(ProtocolError::Malformed(_))));
        // The end of input inside object data.
        let input = pkt("abc");
        let mut r = PktReader::new(&input[..]);
        let mut body = DataReader::new(&mut r, 100);
        assert!(matches!(body.drain(), Err(ProtocolError::Truncated)));
        // A delimiter inside object data.
        let mut input = pkt("abc");
        input.extend_from_slice(b"0001");
        let mut r = PktReader::new(&input[..]);
        let mut body = DataReader::new(&mut r, 100);
        assert!(matches!(body.drain(), Err(ProtocolError::Malformed(_))));
    }

    #[test]
    fn lines_bounded() {
        let mut input = Vec::new();
        for i in 0..5 {
            input.extend(pkt(&format!("line {i}\n")));
        }
        input.extend_from_slice(b"0000");
        let mut r = PktReader::new(&input[..]);
        assert_eq!(
            read_lines(&mut r, 3, 100).unwrap(),
            Err(LinesError::TooMany(5))
        );
        let mut r = PktReader::new(&input[..]);
        assert_eq!(read_lines(&mut r, 5, 100).unwrap().unwrap().len(), 5);
        let mut r = PktReader::new(&input[..]);
        assert_eq!(
            read_lines(&mut r, 5, 5).unwrap(),
            Err(LinesError::TooLong(7))
        );
        // Everything up to the flush was read either way.
        let mut rest = Vec::new();
        input.extend(pkt("next"));
        let mut r = PktReader::new(&input[..]);
        let _ = read_lines(&mut r, 1, 1).unwrap();
        r.inner.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, pkt("next"));
        // An over-long argument line.
        let mut long = pkt("lock");
        long.extend(pkt(&format!("path={}", "x".repeat(MAX_ARG_LEN))));
        long.extend_from_slice(b"0000");
        assert!(matches!(
            read_message(&mut PktReader::new(&long[..])),
            Err(ProtocolError::Malformed(_))
        ));
    }

    /// A file of `len` bytes with varied content, rewound.
    fn object_file(len: usize) -> File {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        f.write_all(&data).unwrap();
        io::Seek::rewind(&mut f).unwrap();
        f
    }

    /// The data packets of `wire` (which holds nothing else): payload sizes and bytes.
    fn data_packets(wire: &[u8]) -> (Vec<usize>, Vec<u8>) {
        let mut r = PktReader::new(wire);
        let (mut sizes, mut bytes) = (Vec::new(), Vec::new());
        while let Some(p) = r.read_packet().unwrap() {
            let Packet::Data(d) = p else {
                panic!("not a data packet: {p:?}")
            };
            sizes.push(d.len());
            bytes.extend(d);
        }
        (sizes, bytes)
    }

    #[test]
    fn objects_go_out_in_largest_packets_through_a_pipe_and_by_copy() {
        let len = 2 * MAX_PKT_DATA + 7;
        let expected: Vec<u8> = {
            let mut v = Vec::new();
            object_file(len).read_to_end(&mut v).unwrap();
            v
        };
        // Through a pipe, as under sshd: the payloads go by sendfile(2).
        let mut fds = [0; 2];
        // SAFETY: a two-element array for pipe(2) to fill.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: pipe(2) just returned these descriptors; each is owned once.
        let (rd, wr) = unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let reader = std::thread::spawn(move || {
            let mut rd = rd;
            let mut all = Vec::new();
            rd.read_to_end(&mut all).unwrap();
            all
        });
        let out = IdleFd::new(wr, Duration::from_secs(30)).unwrap();
        let mut w = PktWriter::new(io::BufWriter::new(out));
        assert_eq!(
            send_packets(&mut w, object_file(len), len as u64).unwrap(),
            len as u64
        );
        w.finish().unwrap();
        drop(w);
        let (sizes, bytes) = data_packets(&reader.join().unwrap());
        assert_eq!(sizes, vec![MAX_PKT_DATA, MAX_PKT_DATA, 7]);
        assert!(bytes == expected);
        // An output that cannot take a file gets the same packets by copy.
        let mut wire = Vec::new();
        let mut w = PktWriter::new(&mut wire);
        assert_eq!(
            send_packets(&mut w, object_file(len), len as u64).unwrap(),
            len as u64
        );
        let (sizes, bytes) = data_packets(&wire);
        assert_eq!(sizes, vec![MAX_PKT_DATA, MAX_PKT_DATA, 7]);
        assert!(bytes == expected);
        // A file shorter than announced: the count says so (the session then ends).
        let mut wire = Vec::new();
        let mut w = PktWriter::new(&mut wire);
        assert_eq!(send_packets(&mut w, object_file(10), 100).unwrap(), 10);
    }
}
