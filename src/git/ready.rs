//! Engine slots go to requests that are ready: before a stateless request takes a slot and
//! starts git, the part of its body git needs first has arrived. A client that sends a
//! partial request and then nothing holds no slot and no git process while it stalls (the
//! transport's idle timeout ends it).
//!
//! - upload-pack: the whole request (wants, haves, done) is read first. It is small for
//!   honest clients; up to [`MEMORY_LIMIT`] is kept in memory, the rest in an unlinked
//!   temporary file, so a large negotiation costs disk, not memory, and the transport's own
//!   size bound applies.
//! - receive-pack: the commands (pkt-lines up to the flush) and the first byte of the pack
//!   that follows; the pack itself then streams to git as it arrives.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, Write};

use super::Service;

/// Bytes of a request kept in memory before the rest goes to a temporary file.
pub const MEMORY_LIMIT: usize = 1024 * 1024;

/// Longest command section waited for before a push is let through anyway (a push of some
/// ten thousand refs).
const COMMANDS_LIMIT: usize = 4 * 1024 * 1024;

/// The gathered start of a body, to be read before the rest of it.
pub enum Ready {
    /// Kept in memory.
    Memory(Cursor<Vec<u8>>),
    /// In memory, then in an unlinked temporary file.
    Spilled(Cursor<Vec<u8>>, File),
}

impl Read for Ready {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Ready::Memory(c) => c.read(buf),
            Ready::Spilled(c, f) => match c.read(buf)? {
                0 => f.read(buf),
                n => Ok(n),
            },
        }
    }
}

/// Read what `service` needs before git starts. Errors are the body's (a stall, a size
/// bound, a malformed encoding): the request ends without a slot ever being taken.
pub fn gather(service: Service, input: &mut dyn Read) -> io::Result<Ready> {
    match service {
        Service::UploadPack => whole(input),
        Service::ReceivePack => commands(input).map(|v| Ready::Memory(Cursor::new(v))),
    }
}

fn whole(input: &mut dyn Read) -> io::Result<Ready> {
    let mut head = Vec::new();
    (&mut *input)
        .take(MEMORY_LIMIT as u64)
        .read_to_end(&mut head)?;
    if head.len() < MEMORY_LIMIT {
        return Ok(Ready::Memory(Cursor::new(head)));
    }
    let mut file = unlinked_temp()?;
    io::copy(input, &mut file)?;
    file.flush()?;
    file.rewind()?;
    Ok(Ready::Spilled(Cursor::new(head), file))
}

/// An anonymous temporary file: gone from the directory at once, gone from the disk when
/// closed, whatever happens to the process.
fn unlinked_temp() -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .open(std::env::temp_dir())
}

/// The pkt-lines up to and including the first flush, and one byte after it if the body has
/// one. Stops early (and lets git judge) at anything that is not a pkt-line or past
/// [`COMMANDS_LIMIT`].
fn commands(input: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut got = Vec::new();
    loop {
        let at = got.len();
        if !read_up_to(input, &mut got, 4)? {
            return Ok(got);
        }
        let Some(len) = pkt_len(&got[at..at + 4]) else {
            return Ok(got);
        };
        if len == 0 {
            // The flush after the commands: wait for the pack's first byte too.
            read_up_to(input, &mut got, 1)?;
            return Ok(got);
        }
        if len < 4 || got.len() + len > COMMANDS_LIMIT {
            return Ok(got);
        }
        if !read_up_to(input, &mut got, len - 4)? {
            return Ok(got);
        }
    }
}

/// A pkt-line length: exactly four hex digits (`from_str_radix` would also take a sign).
fn pkt_len(head: &[u8]) -> Option<usize> {
    head.iter().try_fold(0usize, |len, b| {
        let digit = char::from(*b).to_digit(16)?;
        Some(len * 16 + digit as usize)
    })
}

/// Append exactly `n` more bytes to `buf`; `false` if the body ended first.
fn read_up_to(input: &mut dyn Read, buf: &mut Vec<u8>, n: usize) -> io::Result<bool> {
    let want = buf.len() + n;
    let mut chunk = [0u8; 8192];
    while buf.len() < want {
        let room = (want - buf.len()).min(chunk.len());
        match input.read(&mut chunk[..room]) {
            Ok(0) => return Ok(false),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn all(mut r: impl Read) -> Vec<u8> {
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn upload_pack_requests_are_read_whole() {
        let body = b"0032want 0123456789012345678901234567890123456789\n00000009done\n";
        let ready = gather(Service::UploadPack, &mut &body[..]).unwrap();
        assert_eq!(all(ready), body);
        // Larger than the memory part: spilled, and read back whole and in order.
        let big: Vec<u8> = (0..MEMORY_LIMIT * 2 + 17)
            .map(|i| (i % 251) as u8)
            .collect();
        let ready = gather(Service::UploadPack, &mut &big[..]).unwrap();
        assert!(matches!(ready, Ready::Spilled(..)));
        assert_eq!(all(ready), big);
    }

    #[test]
    fn receive_pack_waits_for_the_commands_and_the_first_pack_byte() {
        let cmds = b"0010old new ref\n0000";
        let mut body = cmds.to_vec();
        body.extend_from_slice(b"PACKrest-of-pack");
        let mut input = &body[..];
        let ready = gather(Service::ReceivePack, &mut input).unwrap();
        let mut got = all(ready);
        assert_eq!(got, [&cmds[..], b"P"].concat());
        // The rest stays in the input, to stream.
        got.extend(all(input));
        assert_eq!(got, body);
        // A delete-only push has no pack: the body ends after the flush.
        let ready = gather(Service::ReceivePack, &mut &cmds[..]).unwrap();
        assert_eq!(all(ready), cmds);
        // Not pkt-lines: handed to git as they are.
        let ready = gather(Service::ReceivePack, &mut &b"garbage!"[..]).unwrap();
        assert_eq!(all(ready), b"garb");
    }

    #[test]
    fn a_stalled_body_is_an_error_before_any_slot() {
        struct Stalls;
        impl Read for Stalls {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::TimedOut, "idle"))
            }
        }
        let mut input = (&b"0032want "[..]).chain(Stalls);
        let err = gather(Service::UploadPack, &mut input).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
