//! The pack cache: git's `uploadpack.packObjectsHook` pointed at hubctl.
//!
//! upload-pack runs `hubctl pack-objects-hook git pack-objects <args>` instead of pack-objects
//! itself, with the request (wants, haves, shallow lines) on stdin. hubctl keys the cache by
//! the exact request (arguments, stdin) and the repository's state (ref values, shallow file,
//! alternates), so a pack is only ever served for the state it was made from: any push changes
//! the key. On a hit the stored, byte-identical output is streamed; on a miss the real
//! pack-objects runs and its output is streamed to the client and into the cache at once.
//! Entries are written to a temporary file and renamed into place (safe with concurrent
//! writers), and the cache is trimmed to its bound, least recently used first. Maintenance
//! also fills the entry a plain `git clone` will ask for ([`prefill`]), off every request
//! path, so that the first clone after it is a hit.
//!
//! The bound holds for everything on disk, fills in progress included. Temporary files live in
//! the lock directory (`<cache>/.lock/<pid>-<nanos>.tmp`, beside the lock file). A fill reserves
//! room before it writes, under the cache lock, by growing its temporary file's length (sparse,
//! so the length is an upper bound of its blocks); eviction makes room, and a fill that finds
//! none stops caching while the clone goes on. A fill's file is removed when the hook ends, by
//! error, a client that went away or success; one left by a hook killed outright (its pid is
//! gone) or untouched for an hour is swept at the next eviction and when `serve` starts.
//!
//! Durability is off the critical path: the client's pack is complete when pack-objects ends,
//! and upload-pack waits for this hook to exit before it finishes the response, so the hook
//! hands the entry's `fsync`, rename and eviction to a detached process (which renames the
//! temporary file to its own pid first, so a sweep never takes it for a dead hook's) and exits at once.
//! An entry becomes visible (renamed into place) only after its data is synced, so an entry
//! whose sync a crash interrupted is never under its final name. As a second guard every
//! entry ends with a trailer ([`TRAILER_MAGIC`] and the pack's length), checked against the
//! file's size on open: a truncated or zero-filled entry is removed, never served.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use sha2::Digest as _;

use crate::core::metrics::{self, Counter};
use crate::core::root::Root;

/// Environment variable carrying the cache bound (bytes) from the engine to the hook.
pub const SIZE_ENV: &str = "HUBCTL_PACK_CACHE_SIZE";
/// Outputs smaller than this are cheap to recompute and not worth a cache entry.
pub const MIN_ENTRY: u64 = 64 * 1024;
/// Largest request (stdin) the hook accepts; wants and haves are 46 bytes each.
const MAX_REQUEST: u64 = 256 * 1024 * 1024;
/// A temporary file whose owner is alive but that has not been written to for this long is
/// left over all the same (the idle timeout ends any real request long before).
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);
/// Name of the lock directory inside the cache: the lock file and the fills in progress.
const LOCK_DIR: &str = ".lock";
/// The first half of every entry's trailer; the second half is the pack's length (u64 LE).
pub const TRAILER_MAGIC: &[u8; 8] = b"HUBCPK01";
/// Bytes of the trailer.
const TRAILER_LEN: u64 = 16;

/// The cache directory of a root.
pub fn dir(root: &Root) -> PathBuf {
    root.cache_dir().join("packs")
}

/// Bytes the pack cache holds on disk now (for `/metrics`); symbolic links are not followed.
pub fn stored_bytes(root: &Root) -> u64 {
    let mut total = 0;
    let Ok(top) = std::fs::read_dir(dir(root)) else {
        return 0;
    };
    for sub in top.flatten() {
        if !sub.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        for e in std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(m) = e.metadata() {
                if m.is_file() {
                    total += m.len();
                }
            }
        }
    }
    total
}

/// The `uploadpack.packObjectsHook` value that routes pack-objects through this binary.
pub fn hook_command(root: &Root) -> io::Result<String> {
    let exe = crate::core::util::self_exe()?;
    Ok(format!(
        "{} --root {} pack-objects-hook",
        crate::core::util::shell_quote(&exe.display().to_string()),
        crate::core::util::shell_quote(&root.path().display().to_string())
    ))
}

/// A digest of everything in the repository at `git_dir` that can change which objects a
/// pack for a given request holds: HEAD, the value of every ref, the shallow file and
/// alternates.
///
/// Refs are digested by name and value, not by how they are stored, so `git pack-refs`
/// (which maintenance runs) moving loose refs into `packed-refs` keeps every cache entry.
pub fn repository_state(git_dir: &Path) -> io::Result<[u8; 32]> {
    let mut h = sha2::Sha256::new();
    for file in ["HEAD", "shallow", "objects/info/alternates"] {
        h.update(file.as_bytes());
        h.update([0]);
        match std::fs::read(git_dir.join(file)) {
            Ok(bytes) => h.update(&bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => h.update(b"\xffmissing"),
            Err(e) => return Err(e),
        }
        h.update([0]);
    }
    for (name, value) in ref_values(git_dir)? {
        h.update(&name);
        h.update([0]);
        h.update(&value);
        h.update([0]);
    }
    Ok(h.finalize().into())
}

/// Every ref below `refs/` with its value (an object id, or `ref: ...` for a symbolic ref),
/// loose refs taking precedence over `packed-refs` as git resolves them. Peeled (`^`) lines
/// are left out: they follow from the objects.
fn ref_values(git_dir: &Path) -> io::Result<std::collections::BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut refs = std::collections::BTreeMap::new();
    let mut loose = Vec::new();
    collect_files(&git_dir.join("refs"), &mut loose)?;
    for path in loose {
        let value = match std::fs::read(&path) {
            Ok(v) => v,
            // Deleted or packed since the directory was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let name = path
            .strip_prefix(git_dir)
            .map_err(|_| io::Error::other("ref outside the repository"))?;
        refs.insert(
            name.as_os_str().as_bytes().to_vec(),
            value.trim_ascii().to_vec(),
        );
    }
    // Loose refs before packed-refs: `git pack-refs` writes packed-refs before it deletes
    // the loose files, so in this order a ref being packed is seen in one place or both.
    match std::fs::read(git_dir.join("packed-refs")) {
        Ok(bytes) => {
            for line in bytes.split(|&b| b == b'\n') {
                if line.is_empty() || line[0] == b'#' || line[0] == b'^' {
                    continue;
                }
                if let Some(space) = line.iter().position(|&b| b == b' ') {
                    refs.entry(line[space + 1..].to_vec())
                        .or_insert_with(|| line[..space].to_vec());
                }
            }
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    Ok(refs)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let ty = entry.file_type()?;
        if ty.is_dir() {
            collect_files(&entry.path(), out)?;
        } else if ty.is_file() && !entry.file_name().as_bytes().ends_with(b".lock") {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// The cache key of one pack-objects request.
pub fn key(git_dir: &Path, args: &[OsString], stdin: &[u8], state: &[u8; 32]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"hubctl pack cache v1\0");
    h.update(git_dir.as_os_str().as_bytes());
    h.update([0]);
    for a in args {
        // Progress goes to stderr only; the pack on stdout is the same with or without it.
        if a == "--progress" || a == "-q" || a == "--quiet" {
            continue;
        }
        h.update(a.as_bytes());
        h.update([0]);
    }
    h.update(state);
    h.update(stdin);
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// pack-objects' arguments (after `git`) from upload-pack for a plain `git clone`: protocol
/// v2, thin packs and offset deltas, no `--include-tag` (the clone asks for every tag itself).
/// Progress flags are not part of the key.
const CLONE_ARGS: &[&str] = &[
    "pack-objects",
    "--revs",
    "--thin",
    "--stdout",
    "--delta-base-offset",
];

/// What upload-pack writes to pack-objects for a plain `git clone` of `git_dir`, or `None`
/// for a repository without refs: the wanted objects one per line, then `--not` and an empty
/// line (a clone has nothing).
///
/// The clone asks for HEAD, then every branch and tag in git's ref order (by name, bytewise),
/// and upload-pack drops repeated objects keeping the first. Refs the repository hides
/// (`transfer.hideRefs`) are not left out here: then the request differs from the client's,
/// which only costs the cache a hit, never serves a wrong pack (the key is the request).
pub fn clone_request(git_dir: &Path) -> io::Result<Option<Vec<u8>>> {
    let refs = ref_values(git_dir)?;
    let resolve = |mut value: Vec<u8>| -> Option<Vec<u8>> {
        // git follows symbolic refs at most five deep.
        for _ in 0..5 {
            match value.strip_prefix(b"ref: ") {
                Some(target) => value = refs.get(target.trim_ascii())?.clone(),
                None => return Some(value),
            }
        }
        None
    };
    let head = match std::fs::read(git_dir.join("HEAD")) {
        Ok(v) => resolve(v.trim_ascii().to_vec()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let wanted = refs
        .iter()
        .filter(|(name, _)| name.starts_with(b"refs/heads/") || name.starts_with(b"refs/tags/"))
        .filter_map(|(_, value)| resolve(value.clone()));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for id in head.into_iter().chain(wanted) {
        if id.len() == 40 && id.iter().all(u8::is_ascii_hexdigit) && seen.insert(id.clone()) {
            out.extend_from_slice(&id);
            out.push(b'\n');
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    out.extend_from_slice(b"--not\n\n");
    Ok(Some(out))
}

/// Fill the cache entry a plain `git clone` of `git_dir` will ask for, so that the first clone
/// after maintenance is a hit: maintenance runs off the request path, so the entry's pack,
/// page-cache write and fsync are not a client's. `git` is the engine's command, set up to run
/// in `git_dir`; `limit` the cache bound. Returns whether an entry was written (not when it
/// exists already, the pack is too small to cache or too large for the bound, or the
/// repository has no refs).
pub fn prefill(root: &Root, mut git: Command, git_dir: &Path, limit: u64) -> io::Result<bool> {
    let cache = dir(root);
    if limit == 0 || crate::core::fsutil::contained(root.path(), &cache).is_none() {
        return Ok(false);
    }
    // The hook keys by its working directory as the kernel reports it.
    let git_dir = std::fs::canonicalize(git_dir)?;
    let Some(request) = clone_request(&git_dir)? else {
        return Ok(false);
    };
    let args: Vec<OsString> = CLONE_ARGS.iter().map(OsString::from).collect();
    let k = key(&git_dir, &args, &request, &repository_state(&git_dir)?);
    let path = cache.join(&k[..2]).join(format!("{k}.pack"));
    if File::open(&path).is_ok_and(|f| checked_len(&f).is_some()) {
        return Ok(false);
    }
    let mut child = git
        .args(&args)
        .current_dir(&git_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&request);
    });
    let mut pack = child.stdout.take().expect("piped");
    let mut fill = Fill::start(&cache, limit).ok();
    let mut written = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    let read = loop {
        let n = match pack.read(&mut buf) {
            Ok(0) => break Ok(true),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        };
        // The same bounds as a fill during a clone: at most half the cache, within room made.
        let upto = written + n as u64;
        let kept = upto <= limit / 2
            && fill
                .as_mut()
                .is_some_and(|f| f.reserve(upto) && f.file.write_all(&buf[..n]).is_ok());
        if !kept {
            // Not cached: pack-objects is stopped by the closed pipe.
            break Ok(false);
        }
        written = upto;
    };
    drop(pack);
    let _ = feeder.join();
    let status = child.wait()?;
    // Only a pack read to its end is an entry (pack-objects may have finished writing what
    // was left into the pipe before it closed).
    let complete = read?;
    match fill {
        Some(f) if complete && status.success() && written >= MIN_ENTRY => {
            f.finish(&path, written, false)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Run the hook: serve `git pack-objects <args>` (args include the leading `git
/// pack-objects`), from the cache when possible.
/// `limit` is the cache bound the engine handed the hook in [`SIZE_ENV`] (0: no caching).
pub fn run_hook(root: &Root, git: &Path, args: &[OsString], limit: u64) -> ExitCode {
    match serve(root, git, args, limit) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hubctl: pack cache: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Split `git [git options] pack-objects [args]` into the git options and pack-objects' own
/// arguments (shallow fetches run `git --shallow-file FILE pack-objects ...`).
fn split_args(args: &[OsString]) -> Option<(&[OsString], &[OsString])> {
    if args.first().is_none_or(|a| a != "git") {
        return None;
    }
    let at = args.iter().position(|a| a == "pack-objects")?;
    Some((&args[1..at], &args[at + 1..]))
}

/// What the git options contribute to the cache key: their text, except that a shallow file
/// (a temporary file with a fresh name per request) counts by its content.
fn git_options_key(git_opts: &[OsString]) -> io::Result<Vec<OsString>> {
    let mut out = Vec::new();
    let mut it = git_opts.iter();
    while let Some(o) = it.next() {
        if o == "--shallow-file" {
            let file = it
                .next()
                .ok_or_else(|| io::Error::other("--shallow-file without a file"))?;
            // An empty name means "no shallow file" (upload-pack passes that when the client is
            // shallow and the server is not).
            let content = if file.is_empty() {
                Vec::new()
            } else {
                std::fs::read(file)?
            };
            out.push(OsString::from(format!(
                "--shallow-file={}",
                hex(&sha2::Sha256::digest(&content))
            )));
        } else {
            out.push(o.clone());
        }
    }
    Ok(out)
}

fn serve(root: &Root, git: &Path, args: &[OsString], limit: u64) -> io::Result<ExitCode> {
    let Some((git_opts, pack_args)) = split_args(args) else {
        return Err(io::Error::other(
            "expected `git [options] pack-objects ...` (this command is run by git upload-pack)",
        ));
    };
    // Leave the engine's process group: a request that ends early kills that group outright,
    // which would leave this fill's temporary file behind. Out of it, the hook sees its
    // stdout close (upload-pack gone), stops pack-objects and removes the file itself.
    // SAFETY: plain syscall on this process.
    unsafe {
        libc::setpgid(0, 0);
    }
    let mut request = Vec::new();
    io::stdin().take(MAX_REQUEST).read_to_end(&mut request)?;
    let git_dir = std::env::current_dir()?;
    let cache = dir(root);
    // The cache must not lead outside the root (a symlinked cache directory): then no caching.
    let limit = if crate::core::fsutil::contained(root.path(), &cache).is_some() {
        limit
    } else {
        0
    };
    let entry = if limit > 0 {
        let state = repository_state(&git_dir)?;
        let mut keyed = git_options_key(git_opts)?;
        keyed.push("pack-objects".into());
        keyed.extend(pack_args.iter().cloned());
        let k = key(&git_dir, &keyed, &request, &state);
        Some(cache.join(&k[..2]).join(format!("{k}.pack")))
    } else {
        None
    };
    // Our stdout as a plain file: std's io::copy then moves a cached pack with sendfile(2)
    // instead of through a user-space buffer.
    // SAFETY: fd 1 is open for the life of the process; ManuallyDrop keeps it from being closed.
    let mut out = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
    super::widen_pipe(&*out);
    if let Some(path) = &entry {
        if let Ok(f) = File::open(path) {
            match checked_len(&f) {
                Some(len) => {
                    // Mark as recently used for the eviction order.
                    let _ = f.set_modified(std::time::SystemTime::now());
                    let sent = io::copy(&mut f.take(len), &mut *out)?;
                    metrics::add(&root.run_dir(), Counter::PackCacheHits, 1);
                    metrics::add(&root.run_dir(), Counter::PackCacheBytesServed, sent);
                    return Ok(ExitCode::SUCCESS);
                }
                // Not what was synced (cut short or zeroed by a crash): never serve it.
                None => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        metrics::add(&root.run_dir(), Counter::PackCacheMisses, 1);
    }
    let mut child = Command::new(git);
    if has_haves(&request) {
        // With reachability bitmaps pack-objects finds no thin-pack delta bases among the
        // client's objects, and an incremental fetch grows several-fold (591 KB instead of
        // 92 KB for 100 commits in the benchmark). Bitmaps pay off for clones (no haves).
        child.args(["-c", "pack.useBitmaps=false"]);
    }
    let mut child = child
        .args(git_opts)
        .arg("pack-objects")
        .args(pack_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    // Feed from a thread: pack-objects may start writing before it has read everything.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&request);
    });
    let mut pack = child.stdout.take().expect("piped");
    let mut tmp = match &entry {
        Some(_) => Fill::start(&cache, limit).ok(),
        None => None,
    };
    let mut written = 0u64;
    let copied = relay(&mut pack, &mut out, &mut tmp, limit, &mut written);
    let _ = feeder.join();
    if let Err(e) = copied {
        // The temporary file goes with `tmp` (dropped on return).
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let status = child.wait()?;
    if let (Some(fill), Some(path)) = (tmp, &entry) {
        if status.success() && written >= MIN_ENTRY {
            // The response is complete once this process exits: sync and publish afterwards.
            let _ = fill.finish(path, written, true);
        }
    }
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1))
    })
}

/// Move pack-objects' output to our stdout and, while `tmp` is set, into the cache entry.
///
/// Both ends are normally pipes: then the data never enters user space. `tee(2)` duplicates
/// what pack-objects wrote into our stdout, and `splice(2)` moves the same bytes into the
/// cache file (or, with no entry being written, straight to stdout). Anything else falls back
/// to read and write. Bytes go into the file only within the room it has reserved.
fn relay(
    pack: &mut std::process::ChildStdout,
    out: &mut File,
    tmp: &mut Option<Fill>,
    limit: u64,
    written: &mut u64,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    const STEP: usize = 1 << 20;
    let (src, dst) = (pack.as_raw_fd(), out.as_raw_fd());
    let mut buf = vec![0u8; 256 * 1024];
    let mut zero_copy = true;
    loop {
        // The cache is a side effect: past its share of the bound, without room, or on any
        // write error (a full disk), the entry is dropped (and its file removed) and the clone
        // goes on.
        if tmp.is_some() && *written > limit / 2 {
            *tmp = None;
        }
        if let Some(fill) = tmp {
            if !fill.reserve(*written + 1) {
                *tmp = None;
            }
        }
        wait_for_output(src, dst)?;
        if zero_copy {
            let step = room(tmp, *written, STEP);
            // SAFETY: plain syscalls on open descriptors, no user memory involved.
            let n = unsafe {
                match tmp {
                    Some(_) => libc::tee(src, dst, step, 0),
                    None => libc::splice(
                        src,
                        std::ptr::null_mut(),
                        dst,
                        std::ptr::null_mut(),
                        step,
                        libc::SPLICE_F_MOVE,
                    ),
                }
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // Not pipes (or no such syscall): nothing moved, carry on the plain way.
                    Some(libc::EINVAL) | Some(libc::ENOSYS) => {
                        zero_copy = false;
                        continue;
                    }
                    _ => return Err(e),
                }
            }
            if n == 0 {
                return Ok(());
            }
            let n = n as usize;
            *written += n as u64;
            if let Some(fill) = tmp {
                // tee() copied without consuming: now consume exactly those bytes into the file.
                let mut left = n;
                let mut file_ok = true;
                while left > 0 {
                    let m = if file_ok {
                        // SAFETY: as above: both descriptors are open for the call, and null
                        // offsets make splice use and advance the descriptors' own positions.
                        unsafe {
                            libc::splice(
                                src,
                                std::ptr::null_mut(),
                                fill.file.as_raw_fd(),
                                std::ptr::null_mut(),
                                left,
                                libc::SPLICE_F_MOVE,
                            )
                        }
                    } else {
                        -1
                    };
                    if m > 0 {
                        left -= m as usize;
                        continue;
                    }
                    // The file refused: consume by reading, and give up on this entry.
                    file_ok = false;
                    let k = pack.read(&mut buf[..left.min(256 * 1024)])?;
                    if k == 0 {
                        break;
                    }
                    left -= k;
                }
                if !file_ok {
                    *tmp = None;
                }
            }
            continue;
        }
        let most = room(tmp, *written, buf.len());
        let n = match pack.read(&mut buf[..most]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        *written += n as u64;
        if let Some(fill) = tmp {
            if fill.file.write_all(&buf[..n]).is_err() {
                *tmp = None;
            }
        }
    }
}

/// At most `most` bytes, and no more than the entry being written has room for.
fn room(tmp: &Option<Fill>, written: u64, most: usize) -> usize {
    match tmp {
        Some(fill) => {
            usize::try_from(fill.reserved.saturating_sub(written)).map_or(most, |r| r.min(most))
        }
        None => most,
    }
}

/// Wait until pack-objects has output for us, or fail when our stdout has gone (upload-pack
/// ended: the client went away or its request was ended), even while pack-objects is still
/// thinking.
fn wait_for_output(src: i32, dst: i32) -> io::Result<()> {
    let mut fds = [
        libc::pollfd {
            fd: src,
            events: libc::POLLIN,
            revents: 0,
        },
        // Asking for nothing still reports POLLERR/POLLHUP: the pipe's reader is gone.
        libc::pollfd {
            fd: dst,
            events: 0,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `fds` is a valid array of two pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        if fds[0].revents != 0 {
            return Ok(());
        }
    }
}

/// Whether upload-pack's request to pack-objects names objects the client has: it lists wants,
/// then `--not`, then haves.
fn has_haves(request: &[u8]) -> bool {
    let mut after_not = false;
    for line in request.split(|b| *b == b'\n') {
        if line == b"--not" {
            after_not = true;
        } else if after_not && !line.is_empty() && !line.starts_with(b"-") {
            return true;
        }
    }
    false
}

/// A cache entry being written: its temporary file in the lock directory, and the room it has
/// reserved (the file's length). Dropped before [`Fill::finish`], the file is removed.
struct Fill {
    file: File,
    path: PathBuf,
    cache: PathBuf,
    limit: u64,
    /// Bytes reserved: the file's length, counted against the bound.
    reserved: u64,
    /// Reservations are made this much at a time (fewer scans of the cache under its lock).
    grain: u64,
    done: bool,
}

impl Fill {
    /// Create the temporary file `<cache>/.lock/<pid>-<nanos>.tmp`.
    fn start(cache: &Path, limit: u64) -> io::Result<Fill> {
        let dir = cache.join(LOCK_DIR);
        std::fs::create_dir_all(&dir)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path = dir.join(format!("{}-{nanos}.tmp", std::process::id()));
        let file = File::create_new(&path)?;
        Ok(Fill {
            file,
            path,
            cache: cache.to_path_buf(),
            limit,
            reserved: 0,
            grain: (limit / 16).clamp(64 * 1024, 8 << 20),
            done: false,
        })
    }

    /// Make sure at least `upto` bytes are reserved, evicting least recently used entries (and
    /// stale temporary files) for the room; `false` when the cache cannot make room.
    fn reserve(&mut self, upto: u64) -> bool {
        if upto <= self.reserved {
            return true;
        }
        let want = upto.saturating_sub(1).saturating_add(self.grain);
        let Ok(Some(_lock)) = lock(&self.cache) else {
            return false;
        };
        let need = want - self.reserved;
        if !make_room(&self.cache, self.limit, need) {
            return false;
        }
        if self.file.set_len(want).is_err() {
            return false;
        }
        self.reserved = want;
        true
    }

    /// Cut the file to what was written, add the trailer, and hand it to a detached process
    /// that syncs it, moves it into place as `entry` and trims the cache (`detached`; else
    /// this process does it before returning).
    fn finish(mut self, entry: &Path, written: u64, detached: bool) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        if !self.reserve(written + TRAILER_LEN) {
            return Err(io::Error::other("no room for the entry's trailer"));
        }
        self.file.set_len(written + TRAILER_LEN)?;
        let mut trailer = TRAILER_MAGIC.to_vec();
        trailer.extend_from_slice(&written.to_le_bytes());
        self.file.write_all_at(&trailer, written)?;
        if let Some(parent) = entry.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = self.file.try_clone()?;
        if !detached {
            self.done = true;
            commit(&file, &self.path, entry, &self.cache, self.limit);
            return Ok(());
        }
        // From here the detached process owns the temporary file.
        self.done = true;
        commit_detached(
            file,
            self.path.clone(),
            entry.to_path_buf(),
            self.cache.clone(),
            self.limit,
        );
        Ok(())
    }
}

impl Drop for Fill {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The length of the pack in a cache entry, if the file ends with a trailer that matches its
/// size.
fn checked_len(f: &File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let size = f.metadata().ok()?.len();
    let len = size.checked_sub(TRAILER_LEN)?;
    let mut trailer = [0u8; TRAILER_LEN as usize];
    f.read_exact_at(&mut trailer, len).ok()?;
    let (magic, stored) = trailer.split_at(8);
    (magic == TRAILER_MAGIC && stored == len.to_le_bytes()).then_some(len)
}

/// Make a written entry durable, then visible, then trim the cache: in a detached child
/// process, so that neither upload-pack nor the client waits for the disk. If the child cannot
/// be started the work is done here (slower, still correct).
///
/// The temporary file is named after its owner's pid, and a sweep removes those of dead pids;
/// so the child first renames it after itself, and this process waits (on a pipe the child
/// closes) until it has, before exiting.
fn commit_detached(file: File, tmp: PathBuf, path: PathBuf, cache: PathBuf, limit: u64) {
    let commit = move |tmp: &Path| commit(&file, tmp, &path, &cache, limit);
    let mut fds = [0; 2];
    // SAFETY: the hook is single-threaded here (the feeder thread has been joined), so the
    // child may run ordinary code; it only detaches from the caller's session and pipes, does
    // file system calls and exits without returning into the caller. `fds` has room for the
    // two descriptors pipe(2) writes.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            commit(&tmp);
            return;
        }
        match libc::fork() {
            0 => {
                libc::setsid();
                let own = tmp.with_file_name(format!(
                    "{}-{}",
                    std::process::id(),
                    tmp.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.split_once('-'))
                        .map_or("entry.tmp", |(_, rest)| rest)
                ));
                let tmp = if std::fs::rename(&tmp, &own).is_ok() {
                    own
                } else {
                    tmp
                };
                libc::close(fds[1]);
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    // upload-pack reads our stdout and stderr to their end: let go of both.
                    for fd in 0..3 {
                        libc::dup2(null, fd);
                    }
                }
                commit(&tmp);
                libc::_exit(0);
            }
            pid if pid > 0 => {
                libc::close(fds[1]);
                // EOF once the child has renamed the file (or died).
                let mut b = 0u8;
                while libc::read(fds[0], (&raw mut b).cast(), 1) < 0
                    && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                {
                }
                libc::close(fds[0]);
            }
            _ => {
                libc::close(fds[0]);
                libc::close(fds[1]);
                commit(&tmp);
            }
        }
    }
}

/// Sync the written entry `tmp`, move it into place as `path` (durable, then visible), and trim
/// the cache; a temporary file that is not moved is removed.
fn commit(file: &File, tmp: &Path, path: &Path, cache: &Path, limit: u64) {
    if file.sync_all().is_ok() && std::fs::rename(tmp, path).is_ok() {
        if let Some(dir) = path.parent() {
            let _ = crate::core::fsutil::sync_dir(dir);
        }
        evict(cache, limit);
    }
    let _ = std::fs::remove_file(tmp);
}

/// The cache's lock, held while its contents are counted and room is made.
fn lock(cache: &Path) -> io::Result<Option<crate::core::fsutil::FileLock>> {
    let dir = cache.join(LOCK_DIR);
    std::fs::create_dir_all(&dir)?;
    crate::core::fsutil::flock(&dir.join("lock"), true)
}

/// What the cache holds: entries (with their last use) and the total length of every file,
/// temporary ones included. Stale temporary files are removed on the way.
struct Contents {
    entries: Vec<(std::time::SystemTime, u64, PathBuf)>,
    total: u64,
}

fn contents(cache: &Path) -> Contents {
    let mut c = Contents {
        entries: Vec::new(),
        total: 0,
    };
    let Ok(dirs) = std::fs::read_dir(cache) else {
        return c;
    };
    let now = std::time::SystemTime::now();
    for dir in dirs.flatten() {
        // Never follows a symbolic link: only real directories and regular files count.
        if !dir.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let in_lock_dir = dir.file_name() == LOCK_DIR;
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for f in files.flatten() {
            let Ok(m) = f.metadata() else { continue };
            if !m.is_file() {
                continue;
            }
            let name = f.file_name();
            let name = name.as_bytes();
            let used = m.modified().unwrap_or(std::time::UNIX_EPOCH);
            let idle = now.duration_since(used).unwrap_or_default();
            let temporary = in_lock_dir && name.ends_with(b".tmp");
            // Temporary files of older versions, beside the entries.
            let legacy = !in_lock_dir && name.starts_with(b".tmp");
            let stale = (temporary && (idle > STALE_AFTER || !owner_alive(name)))
                || (legacy && idle > STALE_AFTER);
            if stale && std::fs::remove_file(f.path()).is_ok() {
                continue;
            }
            c.total += m.len();
            if !in_lock_dir && !legacy && name.ends_with(b".pack") {
                c.entries.push((used, m.len(), f.path()));
            }
        }
    }
    c.entries.sort();
    c
}

/// Whether the process that named a temporary file `<pid>-...` still runs (a zombie does not).
fn owner_alive(name: &[u8]) -> bool {
    let Some(pid) = name
        .split(|b| *b == b'-')
        .next()
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.parse::<i32>().ok())
        .filter(|p| *p > 0)
    else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0
        && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    {
        return false;
    }
    // A killed process that its parent has not reaped yet still has a pid but no files.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

/// With the lock held: remove stale temporary files and least recently used entries until
/// `need` more bytes fit within `limit` (down to 90% of it when entries must go, so the next
/// fills do not evict at every step); `false` if they cannot.
fn make_room(cache: &Path, limit: u64, need: u64) -> bool {
    let c = contents(cache);
    let mut total = c.total;
    if total.saturating_add(need) <= limit {
        return true;
    }
    let target = (limit / 10 * 9).max(need);
    for (_, len, path) in c.entries {
        if total.saturating_add(need) <= target {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
    total.saturating_add(need) <= limit
}

/// What `serve` does when it starts: sweep the root's cache (temporary files left by hooks that
/// were killed, entries over a bound lowered since). Nothing when the cache directory leads
/// outside the root.
pub fn sweep(root: &Root, limit: u64) {
    let cache = dir(root);
    if crate::core::fsutil::contained(root.path(), &cache).is_some() {
        evict(&cache, limit);
    }
}

/// Sweep stale temporary files and, if the cache (temporary files included) is over `limit`,
/// delete least recently used entries until it is within 90% of it. Run after each new entry
/// and when `serve` starts.
pub fn evict(cache: &Path, limit: u64) {
    let Ok(Some(_lock)) = lock(cache) else {
        return;
    };
    let c = contents(cache);
    let mut total = c.total;
    if total <= limit {
        return;
    }
    let target = limit / 10 * 9;
    for (_, len, path) in c.entries {
        if total <= target {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_haves() {
        assert!(!has_haves(b"aaaa\n--not\n"));
        assert!(!has_haves(b"aaaa\nbbbb\n"));
        assert!(has_haves(b"aaaa\n--not\ncccc\n"));
        assert!(!has_haves(b"aaaa\n--not\n--shallow cccc\n"));
    }

    #[test]
    fn splits_git_options() {
        let args: Vec<OsString> = ["git", "--shallow-file", "/tmp/x", "pack-objects", "--revs"]
            .iter()
            .map(OsString::from)
            .collect();
        let (g, p) = split_args(&args).unwrap();
        assert_eq!(g, &args[1..3]);
        assert_eq!(p, &args[4..]);
        assert!(split_args(&["ls".into()]).is_none());
    }

    #[test]
    fn keys_ignore_progress_only() {
        let d = Path::new("/r");
        let s = [0u8; 32];
        let a = key(d, &["--revs".into(), "--progress".into()], b"x", &s);
        assert_eq!(a, key(d, &["--revs".into()], b"x", &s));
        assert_ne!(a, key(d, &["--revs".into(), "--thin".into()], b"x", &s));
        assert_ne!(a, key(d, &["--revs".into()], b"y", &s));
        assert_ne!(a, key(d, &["--revs".into()], b"x", &[1u8; 32]));
    }

    #[test]
    fn state_follows_ref_values_not_their_storage() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path();
        let a = "1".repeat(40);
        let b = "2".repeat(40);
        std::fs::create_dir_all(g.join("refs/heads")).unwrap();
        std::fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(g.join("refs/heads/main"), format!("{a}\n")).unwrap();
        let loose = repository_state(g).unwrap();
        // What `git pack-refs --all --prune` does: same values, other storage.
        std::fs::write(
            g.join("packed-refs"),
            format!("# pack-refs with: peeled fully-peeled sorted \n{a} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(repository_state(g).unwrap(), loose);
        std::fs::remove_file(g.join("refs/heads/main")).unwrap();
        assert_eq!(repository_state(g).unwrap(), loose);
        // A loose ref overrides its packed value.
        std::fs::write(g.join("refs/heads/main"), format!("{b}\n")).unwrap();
        let moved = repository_state(g).unwrap();
        assert_ne!(moved, loose);
        std::fs::write(g.join("refs/heads/dev"), format!("{a}\n")).unwrap();
        assert_ne!(repository_state(g).unwrap(), moved);
    }

    #[test]
    fn evicts_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("ab");
        std::fs::create_dir_all(&shard).unwrap();
        for (i, name) in ["old", "mid", "new"].iter().enumerate() {
            let p = shard.join(format!("{name}.pack"));
            std::fs::write(&p, vec![0u8; 100]).unwrap();
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64);
            File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        evict(dir.path(), 250);
        assert!(!shard.join("old.pack").exists());
        assert!(shard.join("mid.pack").exists());
        assert!(shard.join("new.pack").exists());
        evict(dir.path(), 150);
        assert!(!shard.join("mid.pack").exists());
        assert!(shard.join("new.pack").exists());
    }
}
