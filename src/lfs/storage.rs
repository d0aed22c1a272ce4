//! Where LFS object content lives.
//!
//! [`ObjectStore`] is the small interface the transports use; [`FsStore`] keeps objects in the
//! repository itself at `<repo>.git/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>`, and
//! [`super::s3::S3Store`] in an S3-compatible bucket. [`open`] picks a repository's store from
//! the global `lfs-storage` and the repository's own choice; every caller goes through it. Objects are immutable and never exposed before
//! their size and SHA-256 have been checked (LFS.md §10 T23, T24): an upload streams into a
//! private temporary file under `<repo>.git/lfs/tmp/` while hashing, is fsynced, and only then
//! renamed into place. Content is always streamed through a fixed buffer, never held whole in
//! memory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::Digest as _;

use super::oid::Oid;
use crate::core::fsutil;

/// Size of each buffer an upload is received into, written from and hashed from.
const BUF_LEN: usize = 1024 * 1024;
/// Buffers in flight between an upload's receiving, writing and hashing threads.
const PIPELINE_BUFFERS: usize = 4;
/// How many written bytes of an upload may wait before writeback is started.
const WRITEBACK_EVERY: u64 = 8 * 1024 * 1024;
/// Alignment of buffer addresses and write lengths for `O_DIRECT` (4096 covers devices with
/// 512-byte and 4 KiB logical blocks).
const DIRECT_ALIGN: usize = 4096;

/// Errors from object storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object is not stored.
    #[error("object {0} not found")]
    NotFound(Oid),
    /// The upload ended before the announced size (nothing was kept).
    #[error("object {oid}: expected {expected} bytes, received only {received}")]
    TooShort {
        /// The object.
        oid: Oid,
        /// Announced size.
        expected: u64,
        /// Bytes received before the end of the body.
        received: u64,
    },
    /// The upload went on past the announced size (nothing was kept).
    #[error("object {oid}: received more than the expected {expected} bytes")]
    TooLong {
        /// The object.
        oid: Oid,
        /// Announced size.
        expected: u64,
    },
    /// The content's SHA-256 is not the oid it was uploaded as (nothing was kept).
    #[error("object {expected}: content hashes to {actual}")]
    HashMismatch {
        /// The oid the upload claimed.
        expected: Oid,
        /// What the content hashes to.
        actual: Oid,
    },
    /// A byte range that starts at or beyond the end of the object.
    #[error("range not satisfiable: object is {size} bytes")]
    RangeNotSatisfiable {
        /// The object's size.
        size: u64,
    },
    /// Reading the upload body failed (the client went away, a broken pipe, a framing error
    /// in the transport): nothing was kept. The transport decides whether anyone is left to
    /// answer.
    #[error("reading the upload of {oid} failed: {source}")]
    Body {
        /// The object.
        oid: Oid,
        /// The reader's error.
        source: io::Error,
    },
    /// The remote object store cannot be reached or is failing for now (connection refused,
    /// timeout, 5xx): try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The remote object store refused hubctl (credentials, a missing bucket) or answered
    /// something hubctl cannot use: the operator must act. The text names the cause.
    #[error("{0}")]
    Backend(String),
    /// The storage settings are incomplete or wrong (an S3 store without a bucket, no
    /// credentials): the text names the setting.
    #[error("LFS storage is misconfigured: {0}")]
    Config(String),
    /// The storage itself failed (disk full, permissions): a server error.
    #[error("{context}: {source}")]
    Io {
        /// What hubctl was doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl StorageError {
    /// The HTTP-like status for an object transfer (PUT/GET): 400 for a body that does not
    /// match its oid or size (never 422: git-lfs 3.3.0 treats a 422 on PUT as success and
    /// loses the object, LFS.md §10 T1), 404 missing, 416 bad range, 503 remote store
    /// unavailable for now, 500 storage failure.
    /// For [`StorageError::Body`] the client has usually gone; 400 if anyone is listening.
    pub fn status(&self) -> u16 {
        match self {
            StorageError::TooShort { .. }
            | StorageError::TooLong { .. }
            | StorageError::HashMismatch { .. }
            | StorageError::Body { .. } => 400,
            StorageError::NotFound(_) => 404,
            StorageError::RangeNotSatisfiable { .. } => 416,
            StorageError::Unavailable(_) => 503,
            StorageError::Io { .. } | StorageError::Backend(_) | StorageError::Config(_) => 500,
        }
    }
}

/// A transfer the client makes straight with the object store (a presigned S3 URL), instead
/// of through hubctl's own transfer URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectAction {
    /// The URL, signed and expiring.
    pub href: String,
    /// Headers the client must send with it (those the signature covers).
    pub header: std::collections::BTreeMap<String, String>,
}

/// What [`ObjectStore::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Stored with the claimed size (and checksum, where the store reports one).
    Ok,
    /// Not stored.
    Missing,
    /// Stored with another size.
    SizeMismatch(u64),
    /// Stored with another checksum: the object was removed.
    Corrupt,
}

fn io_err(context: impl std::fmt::Display) -> impl FnOnce(io::Error) -> StorageError {
    let context = context.to_string();
    move |source| StorageError::Io { context, source }
}

/// How a successful [`ObjectStore::put_verified`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The content was checked and is now stored.
    Stored,
    /// The object was already stored; the body was not read (a transport that must consume
    /// the body, such as HTTP keep-alive, drains it itself).
    AlreadyPresent,
}

/// A byte range of an object, as in an HTTP `Range: bytes=start-end` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte, zero-based.
    pub start: u64,
    /// Last byte, inclusive; `None` means to the end. Values past the end are clamped.
    pub end: Option<u64>,
}

/// An object opened for reading.
pub struct ObjectRead {
    /// The whole object's size.
    pub size: u64,
    /// First byte the reader yields.
    pub start: u64,
    /// Number of bytes the reader yields (`size` for a whole object).
    pub len: u64,
    /// The content, positioned at `start` and limited to `len` bytes.
    pub reader: ObjectReader,
}

/// The content of an [`ObjectRead`]: a file that a transport may hand to the kernel to send
/// (`sendfile(2)`, with no copy through user space), or any other reader.
pub enum ObjectReader {
    /// A local file, positioned at the range's start; read at most the range's `len` bytes.
    File(io::Take<File>),
    /// Content from elsewhere (a remote backend).
    Stream(Box<dyn Read + Send>),
}

impl ObjectReader {
    /// The reader as a boxed reader, for transports that only stream.
    pub fn boxed(self) -> Box<dyn Read + Send> {
        match self {
            ObjectReader::File(f) => Box::new(f),
            ObjectReader::Stream(r) => r,
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ObjectReader::File(f) => f.read(buf),
            ObjectReader::Stream(r) => r.read(buf),
        }
    }
}

impl std::fmt::Debug for ObjectRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectRead")
            .field("size", &self.size)
            .field("start", &self.start)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Count and total size of the stored objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Number of objects.
    pub objects: u64,
    /// Sum of their sizes in bytes.
    pub bytes: u64,
}

/// Object content storage for one repository.
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Store the object `oid` of `size` bytes from `body`, checking byte count and SHA-256
    /// before it becomes visible. Idempotent: an object already stored is left alone. On any
    /// error nothing is kept. Concurrent puts of the same oid are safe.
    fn put_verified(
        &self,
        oid: &Oid,
        size: u64,
        body: &mut dyn Read,
    ) -> Result<PutOutcome, StorageError>;

    /// Open a stored object, optionally at a byte range.
    fn get(&self, oid: &Oid, range: Option<ByteRange>) -> Result<ObjectRead, StorageError>;

    /// The size of a stored object, or `None` if it is not stored.
    fn stat(&self, oid: &Oid) -> Result<Option<u64>, StorageError>;

    /// Mark a stored object as just used: a push that finds it already stored will point at it
    /// shortly, and `hubctl lfs prune` keeps objects younger than its grace period, so an old
    /// unreferenced object must not be pruned between the batch answer and the push's refs.
    fn touch(&self, oid: &Oid) -> Result<(), StorageError>;

    /// Every stored object with its size, sorted by oid (`hubctl lfs ls`).
    fn list(&self) -> Result<Vec<(Oid, u64)>, StorageError>;

    /// Check that the store can be used at all (reachable, credentials accepted, bucket
    /// present), before a batch answer promises anything, and for `hubctl doctor`.
    fn check(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// What a batch answer needs to know before it promises anything: that the store can be
    /// used at all ([`ObjectStore::check`], even for no oids) and the size of each of `oids`
    /// (`None`: not stored), in order. With `absent_confirmed` false, an oid may be reported
    /// absent on weaker evidence than [`ObjectStore::stat`]'s (a listing): right for uploads,
    /// where a wrong "absent" costs one redundant upload of the same bytes, never for
    /// downloads, where it would be a false 404.
    fn stat_batch(
        &self,
        oids: &[Oid],
        _absent_confirmed: bool,
    ) -> Result<Vec<Option<u64>>, StorageError> {
        self.check()?;
        oids.iter().map(|oid| self.stat(oid)).collect()
    }

    /// A transfer the client should make straight with the store (presigned URL, valid for
    /// `ttl`), or `None` to use hubctl's own transfer URLs.
    fn direct_action(
        &self,
        _oid: &Oid,
        _size: u64,
        _op: super::token::TokenOp,
        _ttl: Duration,
    ) -> Result<Option<DirectAction>, StorageError> {
        Ok(None)
    }

    /// The check behind a verify callback: is `oid` stored with `size` bytes?
    fn verify(&self, oid: &Oid, size: u64) -> Result<Verified, StorageError> {
        Ok(match self.stat(oid)? {
            None => Verified::Missing,
            Some(s) if s != size => Verified::SizeMismatch(s),
            Some(_) => Verified::Ok,
        })
    }

    /// The file holding `oid`, for stores that keep objects as local files (the transport may
    /// hand it to the kernel or to the web server); `None` otherwise.
    fn local_path(&self, _oid: &Oid) -> Option<PathBuf> {
        None
    }

    /// This store as an S3 store, for the operator's commands that work on a bucket as a
    /// whole (fsck, repository removal and rename, doctor); `None` for other stores.
    fn as_s3(&self) -> Option<&super::s3::S3Store> {
        None
    }

    /// Count and total size of the stored objects (quota, `repo show`).
    fn usage(&self) -> Result<Usage, StorageError> {
        let mut u = Usage::default();
        for (_, size) in self.list()? {
            u.objects += 1;
            u.bytes = u.bytes.saturating_add(size);
        }
        Ok(u)
    }
}

/// Objects as files inside the repository: `<repo>.git/lfs/objects/ab/cd/<oid>`.
#[derive(Debug, Clone)]
pub struct FsStore {
    lfs_dir: PathBuf,
}

/// Removes a temporary file when dropped, unless it was published.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl FsStore {
    /// The store of the repository at `repo_dir` (the `<name>.git` directory).
    pub fn new(repo_dir: &Path) -> FsStore {
        FsStore {
            lfs_dir: repo_dir.join("lfs"),
        }
    }

    /// `<repo>.git/lfs/objects`.
    pub fn objects_dir(&self) -> PathBuf {
        self.lfs_dir.join("objects")
    }

    /// `<repo>.git/lfs/tmp`: uploads in progress.
    pub fn tmp_dir(&self) -> PathBuf {
        self.lfs_dir.join("tmp")
    }

    /// Where `oid` is (or would be) stored.
    pub fn object_path(&self, oid: &Oid) -> PathBuf {
        self.objects_dir().join(oid.shard_path())
    }

    /// Delete temporary upload files older than `max_age` (left behind by crashed processes;
    /// live uploads keep their file's modification time fresh). Returns how many were removed.
    pub fn remove_stale_temp(&self, max_age: Duration) -> Result<usize, StorageError> {
        let dir = self.tmp_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_err(format!("reading {}", dir.display()))(e)),
        };
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(io_err(format!("reading {}", dir.display())))?;
            let Ok(meta) = entry.metadata() else { continue };
            let old = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > max_age);
            if meta.is_file() && old && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn temp_file(&self, oid: &Oid) -> Result<(File, TempFile), StorageError> {
        let dir = self.tmp_dir();
        fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let mut last = None;
        for _ in 0..4 {
            let mut rnd = [0u8; 8];
            getrandom::fill(&mut rnd).map_err(|e| StorageError::Io {
                context: "no randomness for a temporary file name".into(),
                source: io::Error::other(e.to_string()),
            })?;
            let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
            let path = dir.join(format!("{oid}-{}-{suffix}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
            {
                Ok(f) => return Ok((f, TempFile { path, keep: false })),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(io_err(format!("creating {}", path.display()))(e)),
            }
        }
        Err(io_err("creating a temporary upload file")(
            last.unwrap_or_else(|| io::Error::other("no free temporary name")),
        ))
    }
}

/// Move `from` to `to` unless `to` exists. Returns false if it did. Filesystems without
/// `RENAME_NOREPLACE` fall back to a plain rename, harmless here: both files hold the same
/// verified content.
fn publish(from: &Path, to: &Path) -> io::Result<bool> {
    match fsutil::rename_noreplace(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            fs::rename(from, to).map(|()| true)
        }
        Err(e) => Err(e),
    }
}

/// Why [`receive_hashed`] stopped.
enum Received {
    /// The body was wrong (size) or unreadable.
    Store(StorageError),
    /// Writing the temporary file failed.
    Write(io::Error),
}

/// One upload buffer: [`BUF_LEN`] bytes at a [`DIRECT_ALIGN`]-aligned address (carved out of a
/// slightly larger allocation), of which `len` are filled.
struct Buf {
    data: Vec<u8>,
    start: usize,
    len: usize,
}

impl Buf {
    fn new() -> Buf {
        let data = vec![0u8; BUF_LEN + DIRECT_ALIGN];
        // An unaligned start only makes O_DIRECT writes fail, and they fall back.
        let start = data.as_ptr().align_offset(DIRECT_ALIGN).min(DIRECT_ALIGN);
        Buf {
            data,
            start,
            len: 0,
        }
    }

    fn space(&mut self) -> &mut [u8] {
        &mut self.data[self.start..self.start + BUF_LEN]
    }

    fn filled(&self) -> &[u8] {
        &self.data[self.start..self.start + self.len]
    }
}

/// The temporary file of an upload, written with `O_DIRECT` where the filesystem allows it.
///
/// Buffered writes cost most of an upload's CPU: by `perf` on a 1 GiB PUT, 53% of the serving
/// process's samples were the kernel copying into newly allocated page-cache pages, against
/// 22% for SHA-256 and 5% for receiving from the socket. Direct writes go from the upload's
/// own (reused, aligned) buffers to the device. Durability is unchanged: the fsync before the
/// rename still decides. Lengths that are not a multiple of [`DIRECT_ALIGN`] (an object's
/// last piece) and filesystems without `O_DIRECT` (tmpfs) use buffered writes.
struct Sink<'a> {
    file: &'a mut File,
    direct: bool,
}

impl<'a> Sink<'a> {
    fn new(file: &'a mut File) -> Sink<'a> {
        let direct = set_direct(file, true).is_ok();
        Sink { file, direct }
    }

    fn buffered(&mut self) -> io::Result<()> {
        if self.direct {
            set_direct(self.file, false)?;
            self.direct = false;
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let aligned = if self.direct {
            data.len() / DIRECT_ALIGN * DIRECT_ALIGN
        } else {
            0
        };
        let mut rest = &data[..aligned];
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Not aligned for this device after all: the rest goes through the cache.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) && self.direct => {
                    self.buffered()?;
                }
                Err(e) => return Err(e),
            }
        }
        let tail = &data[aligned..];
        if !tail.is_empty() {
            self.buffered()?;
            self.file.write_all(tail)?;
        }
        Ok(())
    }
}

/// Switch `O_DIRECT` on or off for `file`; fails (EINVAL) where the filesystem has none.
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_DIRECT
    } else {
        flags & !libc::O_DIRECT
    };
    // SAFETY: as above; O_DIRECT only changes how writes reach the device.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Copy `body` (exactly `size` bytes) into `file` and return its SHA-256.
///
/// Three stages run at once, each on its own thread, and hand the upload's buffers along
/// bounded channels: the calling thread only receives (socket to buffer), a writer thread
/// writes each buffer to the temporary file, a hasher thread hashes it and hands it back to
/// be filled again. `O_DIRECT` writes are synchronous: when the receiving thread also wrote
/// (as it did before), every 256 KiB waited for the device before the next read from the
/// socket (by `strace`, 0.2 ms per write against 0.15 ms per receive), so receiving plus
/// writing, not hashing, set the pace. Now the slowest single stage does (hashing, about
/// 0.6 s of CPU per GiB with SHA-NI). At most [`PIPELINE_BUFFERS`] × [`BUF_LEN`] bytes (4 MiB)
/// are in memory per upload. Writes go to the device directly where the filesystem allows
/// ([`Sink`]); otherwise every [`WRITEBACK_EVERY`] bytes the kernel is asked to start writing
/// the file back (without waiting), so that the fsync before the rename finds little left to
/// do. Either way durability comes from that fsync alone.
fn receive_hashed(
    oid: &Oid,
    size: u64,
    body: &mut dyn Read,
    file: &mut File,
) -> Result<[u8; 32], Received> {
    use std::sync::mpsc::sync_channel;
    let (to_write, write_rx) = sync_channel::<Buf>(PIPELINE_BUFFERS);
    let (to_hash, hash_rx) = sync_channel::<Buf>(PIPELINE_BUFFERS);
    let (to_fill, fill_rx) = sync_channel::<Buf>(PIPELINE_BUFFERS);
    for _ in 0..PIPELINE_BUFFERS {
        // Cannot fail: the channel has room for every buffer and its receiver is alive.
        let _ = to_fill.send(Buf::new());
    }
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || write_stage(file, write_rx, to_hash));
        let hasher = scope.spawn(move || {
            let mut hasher = sha2::Sha256::new();
            for buf in hash_rx {
                hasher.update(buf.filled());
                // The receiving side may have stopped; then the buffer is simply dropped.
                let _ = to_fill.send(buf);
            }
            let digest: [u8; 32] = hasher.finalize().into();
            digest
        });
        let received = receive_stage(oid, size, body, &fill_rx, &to_write);
        // Closing the channel ends the writer's loop, and the writer's end the hasher's.
        drop(to_write);
        // Buffers the hasher still hands back must not wait on a full channel.
        drop(fill_rx);
        let written = writer.join();
        let digest = hasher.join();
        let panicked = |what: &str| {
            Received::Write(io::Error::other(format!(
                "the {what} thread of an upload panicked"
            )))
        };
        // A failed write explains a receiving side that found the pipeline gone.
        written
            .map_err(|_| panicked("writing"))?
            .map_err(Received::Write)?;
        received?;
        digest.map_err(|_| panicked("hashing"))
    })
}

/// The writing stage of [`receive_hashed`]: write each buffer to `file` in order, then pass it
/// on to the hasher. Returns the first write error (and then stops, which ends the pipeline).
fn write_stage(
    file: &mut File,
    from: std::sync::mpsc::Receiver<Buf>,
    to_hash: std::sync::mpsc::SyncSender<Buf>,
) -> io::Result<()> {
    let mut sink = Sink::new(file);
    let mut written: u64 = 0;
    let mut flushed: u64 = 0;
    for buf in from {
        sink.write(buf.filled())?;
        written += buf.len as u64;
        if to_hash.send(buf).is_err() {
            return Err(io::Error::other("the hashing thread of an upload ended"));
        }
        if !sink.direct && written - flushed >= WRITEBACK_EVERY {
            start_writeback(sink.file, flushed, written - flushed);
            flushed = written;
        }
    }
    Ok(())
}

/// The receiving stage of [`receive_hashed`]: read `body` into free buffers, each filled as
/// far as the body allows, and hand them to the writer; check the size.
fn receive_stage(
    oid: &Oid,
    size: u64,
    body: &mut dyn Read,
    free: &std::sync::mpsc::Receiver<Buf>,
    to_write: &std::sync::mpsc::SyncSender<Buf>,
) -> Result<(), Received> {
    let mut received: u64 = 0;
    // Read at most one byte past the announced size: enough to tell "too long" without
    // swallowing an unbounded body.
    let mut limited = body.take(size.saturating_add(1));
    let gone = || Received::Write(io::Error::other("the writing thread of an upload ended"));
    loop {
        let mut buf = free.recv().map_err(|_| gone())?;
        let space = buf.space();
        // Fill the buffer as far as the body allows: fewer, larger writes and hash updates
        // (and only the object's last piece is not a whole number of blocks).
        let mut filled = 0;
        let mut eof = false;
        while filled < space.len() {
            match limited.read(&mut space[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Received::Store(StorageError::Body {
                        oid: oid.clone(),
                        source,
                    }));
                }
            }
        }
        received += filled as u64;
        if received > size {
            return Err(Received::Store(StorageError::TooLong {
                oid: oid.clone(),
                expected: size,
            }));
        }
        if filled > 0 {
            buf.len = filled;
            to_write.send(buf).map_err(|_| gone())?;
        }
        if eof {
            break;
        }
    }
    if received < size {
        return Err(Received::Store(StorageError::TooShort {
            oid: oid.clone(),
            expected: size,
            received,
        }));
    }
    Ok(())
}

/// Ask the kernel to start writing `len` bytes of `file` at `offset` back to disk, without
/// waiting. Only a hint for speed: errors are ignored, and the fsync that follows decides.
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd as _;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: a plain syscall on a descriptor we own; no memory is passed.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

impl ObjectStore for FsStore {
    fn put_verified(
        &self,
        oid: &Oid,
        size: u64,
        body: &mut dyn Read,
    ) -> Result<PutOutcome, StorageError> {
        let dest = self.object_path(oid);
        if dest.is_file() {
            // Best effort: an object hubctl may read but not re-time stays as it is.
            let _ = self.touch(oid);
            return Ok(PutOutcome::AlreadyPresent);
        }
        let (mut file, mut temp) = self.temp_file(oid)?;
        let write_ctx = || format!("writing {}", temp.path.display());
        let digest = receive_hashed(oid, size, body, &mut file).map_err(|e| match e {
            Received::Store(e) => e,
            Received::Write(source) => io_err(write_ctx())(source),
        })?;
        let actual = Oid::from_digest(&digest);
        if actual != *oid {
            return Err(StorageError::HashMismatch {
                expected: oid.clone(),
                actual,
            });
        }
        file.sync_all().map_err(io_err(write_ctx()))?;
        drop(file);
        let shard = dest.parent().unwrap_or(&self.lfs_dir).to_path_buf();
        if !shard.is_dir() {
            fs::create_dir_all(&shard).map_err(io_err(format!("creating {}", shard.display())))?;
            // New shard directories must survive a crash too: sync their parents
            // (`objects/ab` and `objects`).
            for dir in shard.ancestors().skip(1).take(2) {
                fsutil::sync_dir(dir).map_err(io_err(format!("syncing {}", dir.display())))?;
            }
        }
        let published =
            publish(&temp.path, &dest).map_err(io_err(format!("storing {}", dest.display())))?;
        if !published {
            // A concurrent upload of the same object won; ours is dropped (and deleted).
            return Ok(PutOutcome::AlreadyPresent);
        }
        temp.keep = true;
        fsutil::sync_dir(&shard).map_err(io_err(format!("syncing {}", shard.display())))?;
        Ok(PutOutcome::Stored)
    }

    fn get(&self, oid: &Oid, range: Option<ByteRange>) -> Result<ObjectRead, StorageError> {
        let path = self.object_path(oid);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(oid.clone()));
            }
            Err(e) => return Err(io_err(format!("opening {}", path.display()))(e)),
        };
        let size = file
            .metadata()
            .map_err(io_err(format!("reading {}", path.display())))?
            .len();
        let (start, len) = match range {
            None => (0, size),
            Some(r) => {
                if r.start >= size || r.end.is_some_and(|e| e < r.start) {
                    return Err(StorageError::RangeNotSatisfiable { size });
                }
                let last = r.end.map_or(size - 1, |e| e.min(size - 1));
                (r.start, last - r.start + 1)
            }
        };
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .map_err(io_err(format!("reading {}", path.display())))?;
        }
        Ok(ObjectRead {
            size,
            start,
            len,
            reader: ObjectReader::File(file.take(len)),
        })
    }

    fn local_path(&self, oid: &Oid) -> Option<PathBuf> {
        Some(self.object_path(oid))
    }

    fn touch(&self, oid: &Oid) -> Result<(), StorageError> {
        let path = self.object_path(oid);
        fs::File::open(&path)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            .map_err(io_err(format!("touching {}", path.display())))
    }

    fn stat(&self, oid: &Oid) -> Result<Option<u64>, StorageError> {
        let path = self.object_path(oid);
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(format!("reading {}", path.display()))(e)),
        }
    }

    fn list(&self) -> Result<Vec<(Oid, u64)>, StorageError> {
        let mut out = Vec::new();
        let root = self.objects_dir();
        for l1 in read_dir_sorted(&root)? {
            for l2 in read_dir_sorted(&root.join(&l1))? {
                for name in read_dir_sorted(&root.join(&l1).join(&l2))? {
                    // Only files that sit where their own name says they belong.
                    let Ok(oid) = Oid::parse(&name) else { continue };
                    if oid.as_str()[0..2] != l1 || oid.as_str()[2..4] != l2 {
                        continue;
                    }
                    let path = root.join(&l1).join(&l2).join(&name);
                    match fs::symlink_metadata(&path) {
                        Ok(m) if m.is_file() => out.push((oid, m.len())),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Where a repository's objects live, as [`open`] resolves it.
pub use crate::store::repos::LfsBackend;

/// The store of a repository: `repo_backend` (its `repo set NS/NAME lfs-storage`), else the
/// global `lfs-storage`. A repository without a hosted name (git-http-backend mode) always
/// keeps its objects locally. S3 credentials come from the environment snapshot
/// ([`crate::core::env`]) or the `lfs-s3-credentials-file` setting.
pub fn open(
    git_dir: &Path,
    name: Option<&crate::core::names::RepoName>,
    repo_backend: Option<LfsBackend>,
    settings: &crate::settings::Settings,
) -> Result<Box<dyn ObjectStore>, StorageError> {
    match (name, repo_backend.unwrap_or(settings.lfs_storage)) {
        (Some(name), LfsBackend::S3) => {
            let cfg =
                super::s3::S3Config::resolve(&settings.s3, crate::core::env::get().aws.as_ref())?;
            Ok(Box::new(super::s3::S3Store::new(cfg, name, git_dir)))
        }
        _ => Ok(Box::new(FsStore::new(git_dir))),
    }
}

/// Why [`open_in`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading the settings or the repository's row failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The chosen store cannot be opened (misconfigured).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// [`open`] with the settings and the repository's choice read from `store`.
pub fn open_in(
    store: &crate::store::Store,
    git_dir: &Path,
    name: Option<&crate::core::names::RepoName>,
) -> Result<Box<dyn ObjectStore>, OpenError> {
    let settings = crate::settings::Settings::load(store)?;
    let repo_backend = match name {
        Some(n) => store.repo_settings(n)?.and_then(|s| s.lfs_storage),
        None => None,
    };
    Ok(open(git_dir, name, repo_backend, &settings)?)
}

/// Names in `dir`, sorted; a missing directory is empty; names that are not UTF-8 are skipped
/// (no oid or shard is).
fn read_dir_sorted(dir: &Path) -> Result<Vec<String>, StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(format!("reading {}", dir.display()))(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(format!("reading {}", dir.display())))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStore::new(&dir.path().join("r.git"));
        (dir, s)
    }

    fn tmp_entries(s: &FsStore) -> usize {
        fs::read_dir(s.tmp_dir()).map_or(0, |d| d.count())
    }

    /// A reader that yields some bytes and then fails like a dropped connection.
    struct Broken<'a>(&'a [u8]);
    impl Read for Broken<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read_all(r: ObjectRead) -> Vec<u8> {
        let mut v = Vec::new();
        let mut reader = r.reader;
        reader.read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn put_good_object_then_read_it() {
        let (_d, s) = store();
        let data = b"hello\n";
        let oid = Oid::of_bytes(data);
        assert_eq!(
            s.put_verified(&oid, 6, &mut &data[..]).unwrap(),
            PutOutcome::Stored
        );
        let path = s.object_path(&oid);
        assert!(path.ends_with(
            "lfs/objects/58/91/5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        ));
        assert_eq!(fs::read(&path).unwrap(), data);
        assert_eq!(s.stat(&oid).unwrap(), Some(6));
        let r = s.get(&oid, None).unwrap();
        assert_eq!((r.size, r.start, r.len), (6, 0, 6));
        assert_eq!(read_all(r), data);
        assert_eq!(tmp_entries(&s), 0);
        assert_eq!(s.list().unwrap(), vec![(oid, 6)]);
        assert_eq!(
            s.usage().unwrap(),
            Usage {
                objects: 1,
                bytes: 6
            }
        );
    }

    #[test]
    fn large_object_streams() {
        let (_d, s) = store();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let oid = Oid::of_bytes(&data);
        s.put_verified(&oid, data.len() as u64, &mut &data[..])
            .unwrap();
        assert_eq!(read_all(s.get(&oid, None).unwrap()), data);
    }

    /// Yields its data in pieces of odd sizes, as a socket does.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = self.1 % 70_001 + 12_345;
            let n = buf.len().min(self.0.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn sink_writes_whole_blocks_direct_and_the_rest_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = File::create(&path).unwrap();
        let mut bufs: Vec<Buf> = (0..3).map(|_| Buf::new()).collect();
        let mut expected = Vec::new();
        for (i, (buf, len)) in bufs
            .iter_mut()
            .zip([BUF_LEN, 3 * DIRECT_ALIGN + 5, 7])
            .enumerate()
        {
            for (j, b) in buf.space()[..len].iter_mut().enumerate() {
                *b = (i * 31 + j) as u8;
            }
            buf.len = len;
            expected.extend_from_slice(buf.filled());
        }
        let mut sink = Sink::new(&mut file);
        // Where the filesystem has O_DIRECT (ext4, xfs; not tmpfs before Linux 6.6) the
        // aligned buffers go direct until the first unaligned length.
        for buf in &bufs {
            sink.write(buf.filled()).unwrap();
        }
        assert!(!sink.direct, "the unaligned pieces went through the cache");
        file.sync_all().unwrap();
        assert_eq!(fs::read(&path).unwrap(), expected);
        assert!(
            bufs.iter()
                .all(|b| b.filled().as_ptr() as usize % DIRECT_ALIGN == 0)
        );
    }

    #[test]
    fn a_failed_write_stops_the_pipeline_and_is_reported_as_a_write_error() {
        // A file that cannot be written (opened read-only): the writing stage fails on its
        // first buffer while the body is far larger than the pipeline holds. The receiving
        // side must stop (not block on a full pipeline) and the error must be the write's,
        // not a body or hash error.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"").unwrap();
        let mut file = File::open(&path).unwrap();
        let data = vec![7u8; PIPELINE_BUFFERS * BUF_LEN * 3 + 11];
        let oid = Oid::of_bytes(&data);
        let got = receive_hashed(&oid, data.len() as u64, &mut Trickle(&data, 0), &mut file);
        assert!(matches!(got, Err(Received::Write(_))));
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn object_larger_than_the_pipeline_and_the_writeback_step() {
        let (_d, s) = store();
        // Several times PIPELINE_BUFFERS x BUF_LEN, and past WRITEBACK_EVERY, with an odd tail.
        let data: Vec<u8> = (0..(WRITEBACK_EVERY as u32 + 3 * BUF_LEN as u32 + 17))
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let oid = Oid::of_bytes(&data);
        assert_eq!(
            s.put_verified(&oid, data.len() as u64, &mut Trickle(&data, 0))
                .unwrap(),
            PutOutcome::Stored
        );
        assert_eq!(fs::read(s.object_path(&oid)).unwrap(), data);
        // The same content one byte short, one byte long, and broken midway: nothing kept.
        let other = Oid::of_bytes(&data[1..]);
        let n = data.len() as u64;
        assert!(matches!(
            s.put_verified(&other, n, &mut Trickle(&data[1..], 0)),
            Err(StorageError::TooShort { .. })
        ));
        assert!(matches!(
            s.put_verified(&other, n - 2, &mut Trickle(&data[1..], 0)),
            Err(StorageError::TooLong { .. })
        ));
        assert!(matches!(
            s.put_verified(&other, n - 1, &mut Broken(&data[..5_000_000])),
            Err(StorageError::Body { .. })
        ));
        assert!(matches!(
            s.put_verified(&other, n - 1, &mut Trickle(&data[..data.len() - 1], 0)),
            Err(StorageError::HashMismatch { .. })
        ));
        assert_eq!(s.stat(&other).unwrap(), None);
        assert_eq!(tmp_entries(&s), 0);
    }

    #[test]
    fn mismatches_keep_nothing() {
        let (_d, s) = store();
        let data = b"hello\n";
        let oid = Oid::of_bytes(data);
        assert!(matches!(
            s.put_verified(&oid, 7, &mut &data[..]),
            Err(StorageError::TooShort {
                expected: 7,
                received: 6,
                ..
            })
        ));
        assert!(matches!(
            s.put_verified(&oid, 5, &mut &data[..]),
            Err(StorageError::TooLong { expected: 5, .. })
        ));
        let wrong = Oid::of_bytes(b"other\n");
        match s.put_verified(&wrong, 6, &mut &data[..]) {
            Err(StorageError::HashMismatch { expected, actual }) => {
                assert_eq!(expected, wrong);
                assert_eq!(actual, oid);
            }
            other => panic!("{other:?}"),
        }
        // Truncated body: the announced size is right, the reader ends early.
        assert!(matches!(
            s.put_verified(&oid, 6, &mut &data[..3]),
            Err(StorageError::TooShort { received: 3, .. })
        ));
        // Aborted upload: the reader fails midway.
        assert!(matches!(
            s.put_verified(&oid, 6, &mut Broken(&data[..4])),
            Err(StorageError::Body { .. })
        ));
        // Never 422 on a transfer (LFS.md §10 T1).
        let err = s.put_verified(&wrong, 6, &mut &data[..]).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(s.stat(&oid).unwrap(), None);
        assert_eq!(s.stat(&wrong).unwrap(), None);
        assert!(matches!(s.get(&oid, None), Err(StorageError::NotFound(_))));
        assert_eq!(tmp_entries(&s), 0, "no temp file left behind");
        assert!(s.list().unwrap().is_empty());
    }

    #[test]
    fn existing_object_is_not_rewritten() {
        let (_d, s) = store();
        let data = b"hello\n";
        let oid = Oid::of_bytes(data);
        s.put_verified(&oid, 6, &mut &data[..]).unwrap();
        let before = fs::metadata(s.object_path(&oid)).unwrap();
        // The body is not even read: a failing reader still gives AlreadyPresent.
        assert_eq!(
            s.put_verified(&oid, 6, &mut Broken(b"")).unwrap(),
            PutOutcome::AlreadyPresent
        );
        let after = fs::metadata(s.object_path(&oid)).unwrap();
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(before.ino(), after.ino());
        // ...but made recent again, so `lfs prune` leaves it to the push that found it.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(30 * 86400);
        File::open(s.object_path(&oid))
            .unwrap()
            .set_modified(old)
            .unwrap();
        s.put_verified(&oid, 6, &mut Broken(b"")).unwrap();
        let modified = fs::metadata(s.object_path(&oid))
            .unwrap()
            .modified()
            .unwrap();
        assert!(modified.elapsed().unwrap_or_default().as_secs() < 3600);
    }

    #[test]
    fn empty_object() {
        let (_d, s) = store();
        let oid = Oid::of_bytes(b"");
        assert_eq!(
            oid.as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            s.put_verified(&oid, 0, &mut io::empty()).unwrap(),
            PutOutcome::Stored
        );
        assert_eq!(s.stat(&oid).unwrap(), Some(0));
        let r = s.get(&oid, None).unwrap();
        assert_eq!(r.len, 0);
        assert!(read_all(r).is_empty());
        assert!(matches!(
            s.get(
                &oid,
                Some(ByteRange {
                    start: 0,
                    end: None
                })
            ),
            Err(StorageError::RangeNotSatisfiable { size: 0 })
        ));
        // Any byte at all is too many for a 0-byte object.
        let (_d2, s2) = store();
        assert!(matches!(
            s2.put_verified(&oid, 0, &mut &b"x"[..]),
            Err(StorageError::TooLong { .. })
        ));
    }

    #[test]
    fn concurrent_puts_of_one_object() {
        let (_d, s) = store();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let oid = Oid::of_bytes(&data);
        let outcomes: Vec<PutOutcome> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    sc.spawn(|| {
                        s.put_verified(&oid, data.len() as u64, &mut &data[..])
                            .unwrap()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(outcomes.contains(&PutOutcome::Stored));
        assert_eq!(fs::read(s.object_path(&oid)).unwrap(), data);
        assert_eq!(tmp_entries(&s), 0);
        assert_eq!(s.list().unwrap().len(), 1);
    }

    #[test]
    fn ranged_get() {
        let (_d, s) = store();
        let data: Vec<u8> = (0..100u8).collect();
        let oid = Oid::of_bytes(&data);
        s.put_verified(&oid, 100, &mut &data[..]).unwrap();
        let r = |start, end| s.get(&oid, Some(ByteRange { start, end }));

        let got = r(10, Some(19)).unwrap();
        assert_eq!((got.size, got.start, got.len), (100, 10, 10));
        assert_eq!(read_all(got), &data[10..20]);

        let got = r(90, None).unwrap();
        assert_eq!((got.start, got.len), (90, 10));
        assert_eq!(read_all(got), &data[90..]);

        let got = r(95, Some(1000)).unwrap();
        assert_eq!(got.len, 5, "end clamped to the object");
        assert_eq!(read_all(got), &data[95..]);

        let got = r(99, Some(99)).unwrap();
        assert_eq!(read_all(got), vec![99]);

        assert!(matches!(
            r(100, None),
            Err(StorageError::RangeNotSatisfiable { size: 100 })
        ));
        assert!(matches!(
            r(50, Some(40)),
            Err(StorageError::RangeNotSatisfiable { .. })
        ));
    }

    #[test]
    fn list_ignores_strays_and_stale_temp_is_cleaned() {
        let (_d, s) = store();
        let a = b"a";
        let oid = Oid::of_bytes(a);
        s.put_verified(&oid, 1, &mut &a[..]).unwrap();
        // A file in the wrong shard and a non-oid name are not objects.
        let other = Oid::of_bytes(b"b");
        let wrong_shard = s.objects_dir().join("00").join("00");
        fs::create_dir_all(&wrong_shard).unwrap();
        fs::write(wrong_shard.join(other.as_str()), b"b").unwrap();
        fs::write(wrong_shard.join("README"), b"x").unwrap();
        assert_eq!(s.list().unwrap(), vec![(oid, 1)]);

        fs::create_dir_all(s.tmp_dir()).unwrap();
        fs::write(s.tmp_dir().join("leftover"), b"x").unwrap();
        assert_eq!(s.remove_stale_temp(Duration::from_secs(3600)).unwrap(), 0);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(s.remove_stale_temp(Duration::from_millis(1)).unwrap(), 1);
        assert_eq!(tmp_entries(&s), 0);
    }
}
