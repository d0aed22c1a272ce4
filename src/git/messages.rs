//! Messages after a push or a fetch: an operator's notice for one repository ("this repository
//! moves on Friday", `hubctl repo set NS/NAME push-message|fetch-message TEXT`), which the git
//! client prints as `remote:` lines.
//!
//! The text goes out on sideband 2, git's progress channel, and follows git's own rules for
//! that channel:
//!
//! - **Only on a sideband the client negotiated.** A fetch's pack phase is multiplexed when the
//!   client asked for `side-band`/`side-band-64k` (v0) and always in protocol v2's `packfile`
//!   section; a push's answer when it asked for `side-band-64k`. The lines are inserted at a
//!   pkt-line boundary, just before the flush that ends that multiplexed stream, never inside a
//!   packet of the pack. Packets are at most 806 bytes, within the 1000 of plain `side-band`.
//! - **Only when the client shows progress.** upload-pack drops sideband 2 for a client that
//!   sent `no-progress` (it never asks pack-objects for progress), which git sends for
//!   `fetch -q` and whenever its stderr is not a terminal; receive-pack gets `quiet` in the
//!   same cases. The message is left out in both: `--progress` shows it in scripts.
//! - **Only after success.** A fetch shows it when a pack was sent (a fetch with nothing new
//!   sends no pack and shows nothing, like git's own silence then); a push when the report
//!   says the pack unpacked and every ref update is `ok` (a refused or partly refused push
//!   shows nothing). A stream that breaks (sideband 3, or something that is not a pkt-line,
//!   such as a pack sent without a sideband) is passed on untouched.
//!
//! The push message is not a post-receive hook's output: receive-pack relays hook output to
//! every client, `push -q` included, and runs post-receive when any ref moved, also for a
//! push that was partly refused. Reading the answer instead keeps both rules.
//!
//! Without a message nothing here runs and the engine's output reaches the client as before.
//! With one, the client's request is scanned (not changed) for `no-progress` or `quiet`, and
//! git's output is parsed packet by packet as it streams: the state is a pkt-line header, a
//! few bytes of the current line and a handful of flags, whatever the size of the pack. The
//! pack cache sits below upload-pack (it replaces pack-objects), so a replayed pack is framed
//! by upload-pack and treated the same way.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Service;
use crate::store::repos::RepoSettings;

/// Most lines a message may have.
pub const MAX_LINES: usize = 10;
/// Most characters a line of a message may have.
pub const MAX_LINE_CHARS: usize = 200;

/// Largest pkt-line git accepts (`LARGE_PACKET_MAX`).
const MAX_PKT: usize = 65520;
/// Bytes of each client request line kept for scanning (capability lists are far shorter).
const REQUEST_KEEP: usize = 8192;
/// Bytes of each output line kept for telling sections and report lines apart.
const OUTPUT_KEEP: usize = 16;
/// Bytes moved per read.
const CHUNK: usize = 64 * 1024;

/// Why a message text cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// More lines than [`MAX_LINES`].
    #[error("the message has {0} lines; at most {MAX_LINES} are allowed")]
    TooManyLines(usize),
    /// A line longer than [`MAX_LINE_CHARS`].
    #[error(
        "line {line} of the message has {chars} characters; at most {MAX_LINE_CHARS} are allowed"
    )]
    LineTooLong {
        /// The line (from 1).
        line: usize,
        /// Its length in characters.
        chars: usize,
    },
    /// A control character (other than the line break).
    #[error(
        "line {line} of the message contains the control character U+{code:04X}; only line breaks are allowed"
    )]
    Control {
        /// The line (from 1).
        line: usize,
        /// The character.
        code: u32,
    },
}

/// Check a message as `repo set` is given it: `Ok(None)` for an empty text (no message),
/// otherwise the text to store, with CRLF line breaks made LF and trailing blank lines and
/// spaces dropped.
///
/// Every client prints it as it arrives, so the rules keep it readable and harmless: at most
/// [`MAX_LINES`] lines of [`MAX_LINE_CHARS`] characters, UTF-8, no control characters (no
/// escape sequences that recolour or rewrite the user's terminal, no carriage returns that
/// overwrite a line).
pub fn validate(text: &str) -> Result<Option<String>, Error> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim_end();
    if text.is_empty() {
        return Ok(None);
    }
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() > MAX_LINES {
        return Err(Error::TooManyLines(lines.len()));
    }
    for (i, line) in lines.iter().enumerate() {
        if let Some(c) = line.chars().find(|c| c.is_control()) {
            return Err(Error::Control {
                line: i + 1,
                code: c as u32,
            });
        }
        let chars = line.chars().count();
        if chars > MAX_LINE_CHARS {
            return Err(Error::LineTooLong { line: i + 1, chars });
        }
    }
    Ok(Some(text.to_string()))
}

/// A message ready to go out: its lines as sideband-2 pkt-lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    packets: Vec<u8>,
}

impl Notice {
    /// The message `text` as it is sent. A stored text passed [`validate`]; whatever else
    /// reaches the database is held to the same bounds here: control characters are dropped,
    /// lines cut to [`MAX_LINE_CHARS`] characters, text after [`MAX_LINES`] lines left out.
    /// `None` if nothing is left to show.
    pub fn new(text: &str) -> Option<Notice> {
        let lines: Vec<String> = text
            .split('\n')
            .take(MAX_LINES)
            .map(|l| {
                l.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_LINE_CHARS)
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect();
        let last = lines.iter().rposition(|l| !l.is_empty())?;
        let mut packets = Vec::new();
        for line in &lines[..=last] {
            // Band byte, the line, LF: at most 4 + 1 + 800 + 1 bytes.
            let len = 4 + 1 + line.len() + 1;
            packets.extend_from_slice(format!("{len:04x}").as_bytes());
            packets.push(2);
            packets.extend_from_slice(line.as_bytes());
            packets.push(b'\n');
        }
        Some(Notice { packets })
    }

    /// The message of `service` in a repository's settings, if it has one.
    pub fn for_service(settings: &RepoSettings, service: Service) -> Option<Notice> {
        let text = match service {
            Service::UploadPack => settings.fetch_message.as_deref(),
            Service::ReceivePack => settings.push_message.as_deref(),
        };
        text.and_then(Notice::new)
    }

    /// The message of `service` in hosted repository `name`, read from the root's database.
    pub fn for_repo(
        root: &crate::core::root::Root,
        name: &crate::core::names::RepoName,
        service: Service,
    ) -> Result<Option<Notice>, crate::store::Error> {
        let settings = crate::store::with_store(root, |s| s.repo_settings(name))?;
        Ok(Notice::for_service(&settings.unwrap_or_default(), service))
    }

    /// The pkt-lines (sideband 2), as inserted into the stream.
    pub fn packets(&self) -> &[u8] {
        &self.packets
    }
}

/// Four hex digits, as git reads a pkt-line length.
fn pkt_len(head: &[u8; 4]) -> Option<usize> {
    head.iter().try_fold(0usize, |len, b| {
        Some(len * 16 + char::from(*b).to_digit(16)? as usize)
    })
}

/// One step of a pkt-line stream.
#[derive(Debug, PartialEq, Eq)]
enum Event<'a> {
    /// A data packet's header; its payload follows as `Data`, then `End`.
    Head([u8; 4]),
    /// Payload bytes of the current data packet.
    Data(&'a [u8]),
    /// The current data packet is complete ([`PktReader::line`] holds its first bytes).
    End,
    /// `0000`.
    Flush,
    /// `0001` or `0002`.
    Special([u8; 4]),
    /// Four bytes that are no pkt-line header: the stream is not (or no longer) pkt-lines.
    Broken([u8; 4]),
    /// Bytes after a `Broken` header, passed on unread.
    Raw(&'a [u8]),
}

/// An incremental pkt-line reader: it holds at most a header and the first `keep` bytes of
/// the current packet, however the stream is cut into reads.
#[derive(Debug)]
struct PktReader {
    head: [u8; 4],
    have: usize,
    left: usize,
    end_due: bool,
    broken: bool,
    line: Vec<u8>,
    keep: usize,
}

impl PktReader {
    fn new(keep: usize) -> PktReader {
        PktReader {
            head: [0; 4],
            have: 0,
            left: 0,
            end_due: false,
            broken: false,
            line: Vec::new(),
            keep,
        }
    }

    /// The first bytes of the packet that just ended.
    fn line(&self) -> &[u8] {
        &self.line
    }

    /// Header bytes read but not yet handed out (at the end of a stream cut inside a header).
    fn partial(&self) -> &[u8] {
        &self.head[..self.have]
    }

    /// The next step from `input`, consuming what it covers; `None` when `input` is used up.
    fn next<'a>(&mut self, input: &mut &'a [u8]) -> Option<Event<'a>> {
        if self.end_due {
            self.end_due = false;
            return Some(Event::End);
        }
        if input.is_empty() {
            return None;
        }
        if self.broken {
            return Some(Event::Raw(std::mem::take(input)));
        }
        if self.left > 0 {
            let (data, rest) = input.split_at(self.left.min(input.len()));
            *input = rest;
            self.left -= data.len();
            let room = self.keep.saturating_sub(self.line.len()).min(data.len());
            self.line.extend_from_slice(&data[..room]);
            self.end_due = self.left == 0;
            return Some(Event::Data(data));
        }
        while self.have < 4 {
            let (&b, rest) = input.split_first()?;
            self.head[self.have] = b;
            self.have += 1;
            *input = rest;
        }
        self.have = 0;
        let head = self.head;
        Some(match pkt_len(&head) {
            Some(0) => Event::Flush,
            Some(1 | 2) => Event::Special(head),
            Some(len) if (4..=MAX_PKT).contains(&len) => {
                self.line.clear();
                self.left = len - 4;
                self.end_due = self.left == 0;
                Event::Head(head)
            }
            _ => {
                self.broken = true;
                Event::Broken(head)
            }
        })
    }
}

/// Watches what a client asks for: `no-progress` (upload-pack, a v0 capability on the first
/// `want` or a v2 fetch argument) or `quiet` (receive-pack, a capability on the first command).
/// The request is passed on unchanged; only its lines' first bytes are looked at.
#[derive(Debug)]
pub(super) struct Scanner {
    reader: PktReader,
    service: Service,
    quiet: Arc<AtomicBool>,
    done: bool,
}

impl Scanner {
    fn new(service: Service, quiet: Arc<AtomicBool>) -> Scanner {
        Scanner {
            reader: PktReader::new(REQUEST_KEEP),
            service,
            quiet,
            done: false,
        }
    }

    fn scan(&mut self, mut input: &[u8]) {
        while !self.done {
            let Some(event) = self.reader.next(&mut input) else {
                return;
            };
            match event {
                Event::End => {
                    let line = self.reader.line();
                    let line = line.strip_suffix(b"\n").unwrap_or(line);
                    let quiet = match self.service {
                        Service::UploadPack => {
                            line == b"no-progress"
                                || (line.starts_with(b"want ") && has_word(line, b"no-progress"))
                        }
                        Service::ReceivePack => {
                            // Capabilities follow a NUL on the first line only.
                            self.done = true;
                            line.iter()
                                .position(|&b| b == 0)
                                .is_some_and(|nul| has_word(&line[nul + 1..], b"quiet"))
                        }
                    };
                    if quiet {
                        self.quiet.store(true, Ordering::SeqCst);
                    }
                }
                // A push's commands end at the first flush; its pack follows.
                Event::Flush if self.service == Service::ReceivePack => self.done = true,
                Event::Broken(_) | Event::Raw(_) => self.done = true,
                _ => {}
            }
        }
    }
}

fn has_word(line: &[u8], word: &[u8]) -> bool {
    line.split(|&b| b == b' ').any(|w| w == word)
}

/// A reader that scans what passes through it (the request fed to git).
pub(super) struct Scanning<R> {
    inner: R,
    scanner: Scanner,
}

impl<R: Read> Read for Scanning<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scanner.scan(&buf[..n]);
        Ok(n)
    }
}

/// What a push's report (report-status, inside sideband 1) said.
#[derive(Debug, Default)]
struct Report {
    unpack_ok: bool,
    ok: usize,
    ng: usize,
    done: bool,
    broken: bool,
}

/// Puts a [`Notice`] into one engine's output stream (see the module's rules), passing
/// everything else through unchanged.
#[derive(Debug)]
pub(super) struct Filter {
    reader: PktReader,
    service: Service,
    v2: bool,
    notice: Notice,
    quiet: Arc<AtomicBool>,
    /// Fetch: inside a multiplexed pack (v0) or a `packfile` section (v2).
    in_pack: bool,
    /// Push: sideband 1 was seen.
    sideband: bool,
    /// Bytes of the current data packet seen, and its first byte.
    seen: usize,
    band: Option<u8>,
    /// Push: the report inside sideband 1.
    report_reader: PktReader,
    report: Report,
    failed: bool,
    sent: bool,
    /// Read adapter: filtered bytes not yet handed out, and the read buffer.
    pending: Vec<u8>,
    pos: usize,
    scratch: Vec<u8>,
}

impl Filter {
    fn new(service: Service, v2: bool, notice: Notice, quiet: Arc<AtomicBool>) -> Filter {
        Filter {
            reader: PktReader::new(OUTPUT_KEEP),
            service,
            v2: v2 && service == Service::UploadPack,
            notice,
            quiet,
            in_pack: false,
            sideband: false,
            seen: 0,
            band: None,
            report_reader: PktReader::new(OUTPUT_KEEP),
            report: Report::default(),
            failed: false,
            sent: false,
            pending: Vec::new(),
            pos: 0,
            scratch: Vec::new(),
        }
    }

    fn due(&self) -> bool {
        if self.sent || self.failed || self.quiet.load(Ordering::SeqCst) {
            return false;
        }
        match self.service {
            Service::UploadPack => self.in_pack,
            Service::ReceivePack => {
                let r = &self.report;
                self.sideband && r.done && !r.broken && r.unpack_ok && r.ok > 0 && r.ng == 0
            }
        }
    }

    /// Filter `input`, appending what goes to the client to `out`.
    fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while let Some(event) = self.reader.next(&mut input) {
            match event {
                Event::Head(h) => {
                    out.extend_from_slice(&h);
                    self.seen = 0;
                    self.band = None;
                }
                Event::Data(d) => {
                    out.extend_from_slice(d);
                    let mut body = d;
                    if self.seen == 0 {
                        self.band = d.first().copied();
                        body = &d[1..];
                    }
                    self.seen += d.len();
                    if self.service == Service::ReceivePack && self.band == Some(1) {
                        self.sideband = true;
                        self.read_report(body);
                    }
                }
                Event::End => self.end_of_line(),
                Event::Flush => {
                    if self.due() {
                        out.extend_from_slice(self.notice.packets());
                        self.sent = true;
                    }
                    out.extend_from_slice(b"0000");
                    self.in_pack = false;
                }
                Event::Special(h) | Event::Broken(h) => out.extend_from_slice(&h),
                Event::Raw(d) => out.extend_from_slice(d),
            }
        }
    }

    fn end_of_line(&mut self) {
        let line = self.reader.line();
        if line.first() == Some(&3) {
            // Sideband 3: a fatal error; git ends the transfer.
            self.failed = true;
            return;
        }
        if self.service == Service::ReceivePack {
            return;
        }
        if self.v2 {
            let section = line.strip_prefix(&[1u8][..]).unwrap_or(line);
            if section == b"packfile\n" || section == b"packfile" {
                self.in_pack = true;
            }
        } else if matches!(line.first(), Some(1 | 2)) {
            // v0: sideband packets come only with the pack.
            self.in_pack = true;
        }
    }

    fn read_report(&mut self, mut bytes: &[u8]) {
        while let Some(event) = self.report_reader.next(&mut bytes) {
            match event {
                Event::End => {
                    let line = self.report_reader.line();
                    let line = line.strip_suffix(b"\n").unwrap_or(line);
                    if line.starts_with(b"unpack ") {
                        self.report.unpack_ok = line == b"unpack ok";
                    } else if line.starts_with(b"ok ") {
                        self.report.ok += 1;
                    } else if line.starts_with(b"ng ") {
                        self.report.ng += 1;
                    }
                }
                Event::Flush => self.report.done = true,
                Event::Broken(_) => self.report.broken = true,
                _ => {}
            }
        }
    }

    /// Read the filtered stream of `inner` into `buf`.
    pub(super) fn read_via(&mut self, inner: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.pending.len() {
            self.pending.clear();
            self.pos = 0;
            self.scratch.resize(CHUNK, 0);
            let n = inner.read(&mut self.scratch)?;
            if n == 0 {
                // A stream cut inside a header: hand its bytes on as they were.
                let partial = self.reader.partial().to_vec();
                self.reader.have = 0;
                if partial.is_empty() {
                    return Ok(0);
                }
                self.pending = partial;
                break;
            }
            let chunk = std::mem::take(&mut self.scratch);
            let mut out = std::mem::take(&mut self.pending);
            self.push(&chunk[..n], &mut out);
            self.pending = out;
            self.scratch = chunk;
        }
        let n = (self.pending.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A scanner for a client's request and a filter for the engine's answer to it, sharing what
/// the request asked for.
pub(super) fn pair(service: Service, v2: bool, notice: &Notice) -> (Scanner, Filter) {
    let quiet = Arc::new(AtomicBool::new(false));
    (
        Scanner::new(service, Arc::clone(&quiet)),
        Filter::new(service, v2, notice.clone(), quiet),
    )
}

/// Wrap a request body in `scanner`.
pub(super) fn scanning<R: Read>(inner: R, scanner: Scanner) -> Scanning<R> {
    Scanning { inner, scanner }
}

/// Run `cmd` (a service in duplex or stateless mode) between this process's stdin and
/// stdout, as [`super::Engine::run_inherited`] does, with `notice` put into its answer.
///
/// The request is copied to git from a thread (and scanned on the way); git's answer is
/// filtered and written as it comes, with no more buffering than a pkt-line header, so the
/// conversation's back and forth is unchanged. A client that goes away stops upload-pack;
/// receive-pack is left to finish (its output read and dropped), as for every transport.
pub(super) fn run_inherited(
    cmd: &mut Command,
    service: Service,
    v2: bool,
    notice: &Notice,
) -> io::Result<ExitStatus> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn()?;
    let (mut scanner, mut filter) = pair(service, v2, notice);
    let mut to_git = child.stdin.take().expect("stdin is piped");
    std::thread::Builder::new()
        .name("client-input".into())
        .spawn(move || {
            // SAFETY: fd 0 stays open for the life of the process; ManuallyDrop keeps this
            // handle from closing it.
            let mut input = ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                };
                scanner.scan(&buf[..n]);
                if to_git.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            // Returning drops `to_git`: git sees the client's end of input.
        })?;
    let mut from_git = child.stdout.take().expect("stdout is piped");
    // SAFETY: as above, for fd 1.
    let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
    let mut buf = vec![0u8; CHUNK];
    let mut filtered = Vec::with_capacity(CHUNK + 1024);
    let mut client_gone = false;
    loop {
        let n = match from_git.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if client_gone {
            continue;
        }
        filtered.clear();
        filter.push(&buf[..n], &mut filtered);
        if out.write_all(&filtered).is_err() {
            client_gone = true;
            if service == Service::UploadPack {
                let _ = child.kill();
                break;
            }
        }
    }
    if !client_gone {
        let _ = out.write_all(filter.reader.partial());
    }
    child.wait()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(payload: &[u8]) -> Vec<u8> {
        let mut v = format!("{:04x}", payload.len() + 4).into_bytes();
        v.extend_from_slice(payload);
        v
    }

    fn band(b: u8, data: &[u8]) -> Vec<u8> {
        pkt(&[&[b][..], data].concat())
    }

    /// Filter `stream` cut into pieces of `cut` bytes, with `request` scanned first.
    fn run(service: Service, v2: bool, request: &[u8], stream: &[u8], cut: usize) -> Vec<u8> {
        let notice = Notice::new("moving on Friday\nsee https://example.org").unwrap();
        let (mut scanner, mut filter) = pair(service, v2, &notice);
        for piece in request.chunks(cut) {
            scanner.scan(piece);
        }
        let mut out = Vec::new();
        for piece in stream.chunks(cut) {
            filter.push(piece, &mut out);
        }
        out.extend_from_slice(filter.reader.partial());
        out
    }

    fn with_notice_before_last_flush(stream: &[u8]) -> Vec<u8> {
        let notice = Notice::new("moving on Friday\nsee https://example.org").unwrap();
        let cut = stream.len() - 4;
        assert_eq!(&stream[cut..], b"0000");
        [&stream[..cut], notice.packets(), b"0000"].concat()
    }

    const OID: &str = "83fa07f9524fac20ffef97a816bbdbd2ed4c31db";

    fn v0_fetch(pack: &[u8]) -> Vec<u8> {
        let mut s = pkt(b"NAK\n");
        s.extend(band(2, b"Enumerating objects: 3, done.\n"));
        // A pack packet whose bytes look like a flush and a band-2 header.
        s.extend(band(1, pack));
        s.extend(band(1, b"00000008\x02xx"));
        s.extend_from_slice(b"0000");
        s
    }

    #[test]
    fn messages_are_validated() {
        assert_eq!(validate("").unwrap(), None);
        assert_eq!(validate(" \n\n").unwrap(), None);
        assert_eq!(validate("a\r\nb\n\n").unwrap().as_deref(), Some("a\nb"));
        assert_eq!(
            validate("x\x1b[31m"),
            Err(Error::Control { line: 1, code: 27 })
        );
        assert_eq!(
            validate("ok\nback\rspace"),
            Err(Error::Control { line: 2, code: 13 })
        );
        assert_eq!(
            validate("tab\there"),
            Err(Error::Control { line: 1, code: 9 })
        );
        assert_eq!(
            validate("c1 \u{9b}"),
            Err(Error::Control {
                line: 1,
                code: 0x9b
            })
        );
        let long = "é".repeat(MAX_LINE_CHARS + 1);
        assert_eq!(
            validate(&long),
            Err(Error::LineTooLong {
                line: 1,
                chars: MAX_LINE_CHARS + 1
            })
        );
        assert!(validate(&"é".repeat(MAX_LINE_CHARS)).is_ok());
        let many = ["x"; MAX_LINES + 1].join("\n");
        assert_eq!(validate(&many), Err(Error::TooManyLines(MAX_LINES + 1)));
    }

    #[test]
    fn notices_are_bounded_even_for_unchecked_text() {
        assert_eq!(Notice::new(""), None);
        assert_eq!(Notice::new("\x1b\x07\n \n"), None);
        let n = Notice::new("a\x1b[1mb\n\nc").unwrap();
        assert_eq!(n.packets(), b"000b\x02a[1mb\n0006\x02\n0007\x02c\n");
        let huge = format!("{}\n", "\u{10348}".repeat(10_000)).repeat(50);
        let n = Notice::new(&huge).unwrap();
        // Ten lines of 200 four-byte characters.
        assert_eq!(n.packets().len(), MAX_LINES * (4 + 1 + 800 + 1));
        let mut r = PktReader::new(0);
        let mut input = n.packets();
        let mut ends = 0;
        while let Some(e) = r.next(&mut input) {
            match e {
                Event::End => ends += 1,
                Event::Head(h) => assert!(pkt_len(&h).unwrap() <= 1000),
                Event::Data(_) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(ends, MAX_LINES);
    }

    #[test]
    fn v0_fetch_gets_the_notice_before_the_final_flush_only() {
        let pack: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let mut stream = pkt(format!("{OID} HEAD\0multi_ack side-band-64k\n").as_bytes());
        stream.extend_from_slice(b"0000");
        stream.extend(v0_fetch(&pack[..60_000]));
        let request =
            pkt(format!("want {OID} multi_ack_detailed side-band-64k thin-pack\n").as_bytes());
        let expected = with_notice_before_last_flush(&stream);
        for cut in [1, 3, 7, 4096, 1 << 20] {
            assert_eq!(
                run(Service::UploadPack, false, &request, &stream, cut),
                expected
            );
        }
        // no-progress (fetch -q, no terminal): untouched.
        let quiet = pkt(format!("want {OID} side-band-64k no-progress ofs-delta\n").as_bytes());
        assert_eq!(run(Service::UploadPack, false, &quiet, &stream, 5), stream);
    }

    #[test]
    fn v0_without_a_pack_or_sideband_is_untouched() {
        // ls-remote: advertisement, client flush.
        let mut adv = pkt(format!("{OID} HEAD\0side-band-64k\n").as_bytes());
        adv.extend_from_slice(b"0000");
        assert_eq!(run(Service::UploadPack, false, b"0000", &adv, 2), adv);
        // A pack without a sideband: raw PACK bytes after NAK, which may contain "0000".
        let mut raw = adv.clone();
        raw.extend(pkt(b"NAK\n"));
        raw.extend_from_slice(b"PACK\0\0\0\x020000garbage0000");
        assert_eq!(run(Service::UploadPack, false, b"", &raw, 3), raw);
        // A fatal error on sideband 3.
        let mut err = pkt(b"NAK\n");
        err.extend(band(1, b"PACK"));
        err.extend(band(3, b"pack-objects died\n"));
        err.extend_from_slice(b"0000");
        assert_eq!(run(Service::UploadPack, false, b"", &err, 3), err);
    }

    #[test]
    fn v2_fetch_gets_the_notice_after_the_packfile_section_only() {
        let caps = [
            pkt(b"version 2\n"),
            pkt(b"ls-refs=unborn\n"),
            b"0000".to_vec(),
            pkt(format!("{OID} HEAD\n").as_bytes()),
            b"0000".to_vec(),
        ]
        .concat();
        // A negotiation round without a pack, then the round with one.
        let round = [pkt(b"acknowledgments\n"), pkt(b"NAK\n"), b"0000".to_vec()].concat();
        let packfile = [
            pkt(b"acknowledgments\n"),
            pkt(format!("ACK {OID}\n").as_bytes()),
            pkt(b"ready\n"),
            b"0001".to_vec(),
            pkt(b"packfile\n"),
            band(2, b"Counting objects: 1\n"),
            band(1, b"PACK0000packfile\n"),
            b"0000".to_vec(),
        ]
        .concat();
        let stream = [caps.clone(), round.clone(), packfile].concat();
        let request = [
            pkt(b"command=fetch\n"),
            b"0001".to_vec(),
            pkt(b"thin-pack\n"),
            pkt(format!("want {OID}\n").as_bytes()),
            pkt(b"done\n"),
            b"0000".to_vec(),
        ]
        .concat();
        let expected = with_notice_before_last_flush(&stream);
        for cut in [1, 2, 5, 64, 4096] {
            assert_eq!(
                run(Service::UploadPack, true, &request, &stream, cut),
                expected
            );
        }
        // Only ls-refs and a round without a pack (a fetch with nothing new): untouched.
        let nothing = [caps, round].concat();
        assert_eq!(
            run(Service::UploadPack, true, &request, &nothing, 3),
            nothing
        );
        // no-progress: untouched.
        let quiet = [
            pkt(b"command=fetch\n"),
            b"0001".to_vec(),
            pkt(b"no-progress\n"),
            b"0000".to_vec(),
        ]
        .concat();
        assert_eq!(run(Service::UploadPack, true, &quiet, &stream, 3), stream);
        // sideband-all: the section header rides on sideband 1.
        let all = [
            band(1, b"acknowledgments\n"),
            band(1, b"ready\n"),
            b"0001".to_vec(),
            band(1, b"packfile\n"),
            band(1, b"PACK"),
            b"0000".to_vec(),
        ]
        .concat();
        assert_eq!(
            run(Service::UploadPack, true, &request, &all, 3),
            with_notice_before_last_flush(&all)
        );
    }

    fn push_answer(report: &[&[u8]]) -> Vec<u8> {
        let mut inner = Vec::new();
        for line in report {
            inner.extend(pkt(line));
        }
        inner.extend_from_slice(b"0000");
        let mut s = band(2, b"Resolving deltas: 100%\n");
        s.extend(pkt(b"\x01")); // keepalive
        // The report split over two sideband-1 packets.
        let (a, b) = inner.split_at(7);
        s.extend(band(1, a));
        s.extend(band(1, b));
        s.extend(band(2, b"hook says hi\n"));
        s.extend_from_slice(b"0000");
        s
    }

    #[test]
    fn a_successful_push_gets_the_notice() {
        let mut adv =
            pkt(format!("{OID} refs/heads/main\0report-status side-band-64k quiet\n").as_bytes());
        adv.extend_from_slice(b"0000");
        let answer = push_answer(&[
            b"unpack ok\n",
            b"ok refs/heads/main\n",
            b"ok refs/tags/v1\n",
        ]);
        let stream = [adv.clone(), answer].concat();
        let request = [
            pkt(
                format!("{OID} {OID} refs/heads/main\0 report-status side-band-64k agent=git/2\n")
                    .as_bytes(),
            ),
            b"0000PACK\0\0\0\x02 0000 quiet".to_vec(),
        ]
        .concat();
        let expected = with_notice_before_last_flush(&stream);
        for cut in [1, 3, 9, 4096] {
            assert_eq!(
                run(Service::ReceivePack, false, &request, &stream, cut),
                expected
            );
        }
        // quiet (push -q, no terminal): untouched.
        let quiet = pkt(format!(
            "{OID} {OID} refs/heads/main\0 report-status side-band-64k quiet\n"
        )
        .as_bytes());
        assert_eq!(run(Service::ReceivePack, false, &quiet, &stream, 4), stream);
    }

    #[test]
    fn a_refused_push_gets_no_notice() {
        let request =
            pkt(format!("{OID} {OID} refs/heads/main\0 report-status side-band-64k\n").as_bytes());
        for report in [
            &[
                &b"unpack ok\n"[..],
                b"ng refs/heads/main pre-receive hook declined\n",
            ][..],
            &[
                b"unpack ok\n",
                b"ok refs/heads/a\n",
                b"ng refs/heads/b non-fast-forward\n",
            ],
            &[
                b"unpack index-pack abnormal exit\n",
                b"ng refs/heads/main unpacker error\n",
            ],
            &[b"unpack ok\n"],
        ] {
            let stream = push_answer(report);
            assert_eq!(
                run(Service::ReceivePack, false, &request, &stream, 3),
                stream
            );
        }
        // Without a sideband the report is plain pkt-lines: no notice.
        let plain = [
            pkt(b"unpack ok\n"),
            pkt(b"ok refs/heads/main\n"),
            b"0000".to_vec(),
        ]
        .concat();
        assert_eq!(run(Service::ReceivePack, false, &request, &plain, 3), plain);
    }

    #[test]
    fn a_stream_cut_inside_a_header_is_passed_on() {
        let notice = Notice::new("hi").unwrap();
        let (_, mut filter) = pair(Service::UploadPack, false, &notice);
        let stream = [pkt(b"NAK\n"), b"00".to_vec()].concat();
        let mut out = Vec::new();
        let mut inner = &stream[..];
        let mut buf = [0u8; 3];
        loop {
            let n = filter.read_via(&mut inner, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, stream);
    }
}
