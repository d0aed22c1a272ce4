//! `hubctl cgi`: the router behind any CGI server (RFC 3875), e.g. nginx + fcgiwrap.

use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;
use std::time::Instant;

use super::log::{AccessEntry, service_of};
use super::router::App;
use super::{Body, FileBody, Headers, Method, Request, Response};
use crate::access::Site;

/// Errors that keep the CGI adapter from answering at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The process was not started by a CGI server.
    #[error(
        "REQUEST_METHOD is not set: `hubctl cgi` must be run by a CGI server (see the nginx example under scripts/)"
    )]
    NotCgi,
    /// Writing the response failed (the client went away).
    #[error("writing the CGI response: {0}")]
    Write(io::Error),
}

/// The CGI request as read from the environment.
pub struct CgiEnv {
    /// `REQUEST_METHOD`.
    pub method: String,
    /// `PATH_INFO` (already percent-decoded by the web server).
    pub path_info: Option<String>,
    /// `QUERY_STRING`.
    pub query: String,
    /// `CONTENT_LENGTH`, as git http-backend reads it: unset, empty or negative is "no length"
    /// (the body is everything on stdin); a value that is no signed size is an error, kept
    /// as the raw text for the message.
    pub content_length: Result<Option<u64>, String>,
    /// `PATH_TRANSLATED`, if set and non-empty: the file-system path of the request, which
    /// git http-backend serves when `GIT_PROJECT_ROOT` is unset.
    pub path_translated: Option<String>,
    /// `GIT_PROTOCOL` as the web server set it, possibly empty (which pins protocol v0).
    pub git_protocol: Option<String>,
    /// Request headers rebuilt from `CONTENT_TYPE` and `HTTP_*`.
    pub headers: Headers,
    /// `REMOTE_USER`, if set and non-empty.
    pub remote_user: Option<String>,
    /// `REMOTE_ADDR`.
    pub remote_addr: Option<String>,
    /// `HTTPS` is set (and not `off`), or `REQUEST_SCHEME` is `https`.
    pub secure: bool,
    /// `SCRIPT_NAME`, without a trailing `/`.
    pub script_name: String,
    /// `HUBCTL_LFS_ACCEL`: the URL prefix of the web server's internal location that serves
    /// files below hubctl's root (nginx's `X-Accel-Redirect`), set by the shipped nginx
    /// snippet. With it, LFS downloads are handed back to the web server, which sends the file
    /// itself (and answers `Range`); without it, hubctl sends them.
    pub lfs_accel: Option<String>,
}

impl CgiEnv {
    /// Read the meta-variables from the process environment (a variable that is not UTF-8
    /// counts as unset).
    pub fn from_env() -> Result<CgiEnv, Error> {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Build the request from meta-variables (`name`, `value`), as RFC 3875 defines them.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<CgiEnv, Error> {
        let mut meta = std::collections::BTreeMap::new();
        let mut headers = Headers::default();
        let mut http = Vec::new();
        let mut git_protocol = None;
        for (k, v) in vars {
            if k == "GIT_PROTOCOL" {
                // Set-but-empty counts: it is how a location pins protocol v0.
                git_protocol = Some(v);
            } else if let Some(name) = k.strip_prefix("HTTP_") {
                // The web server already removed the transfer coding and passes the body's
                // type and length as CONTENT_*; its HTTP_ duplicates must not override them.
                if !matches!(
                    name,
                    "CONTENT_TYPE" | "CONTENT_LENGTH" | "TRANSFER_ENCODING"
                ) {
                    http.push((name.replace('_', "-"), v));
                }
            } else if !v.is_empty() {
                meta.insert(k, v);
            }
        }
        let mut var = |k: &str| meta.remove(k);
        let method = var("REQUEST_METHOD").ok_or(Error::NotCgi)?;
        if let Some(ct) = var("CONTENT_TYPE") {
            headers.push("Content-Type", ct);
        }
        // CONTENT_LENGTH as git http-backend reads it: unset or empty is "no length", and a
        // value that is no signed size is answered by `run` (a 400 for a body it cannot frame).
        let content_length = match var("CONTENT_LENGTH") {
            Some(v) => parse_content_length(&v).ok_or(v),
            None => Ok(None),
        };
        // The body's length, as handlers see it over serve (an LFS upload without a token
        // learns its size from it).
        if let Ok(Some(n)) = content_length {
            headers.push("Content-Length", n.to_string());
        }
        for (name, v) in http {
            headers.push(name, v);
        }
        let secure = var("HTTPS").is_some_and(|v| !v.eq_ignore_ascii_case("off"))
            || var("REQUEST_SCHEME").is_some_and(|v| v.eq_ignore_ascii_case("https"));
        Ok(CgiEnv {
            method,
            path_info: var("PATH_INFO"),
            query: var("QUERY_STRING").unwrap_or_default(),
            content_length,
            path_translated: var("PATH_TRANSLATED"),
            git_protocol,
            headers,
            remote_user: var("REMOTE_USER"),
            remote_addr: var("REMOTE_ADDR"),
            secure,
            script_name: var("SCRIPT_NAME")
                .map(|s| s.trim_end_matches('/').to_string())
                .unwrap_or_default(),
            lfs_accel: var("HUBCTL_LFS_ACCEL").filter(|p| p.starts_with('/') && p.ends_with('/')),
        })
    }

    /// Where git http-backend's `PATH_TRANSLATED` mode finds repositories: when
    /// `PATH_TRANSLATED` is the document root followed by `PATH_INFO` (Apache's `ScriptAlias`),
    /// that document root, with requests routed by `PATH_INFO` as usual (so URLs hubctl hands
    /// out, such as LFS actions, stay the client's); otherwise (no `PATH_INFO`, as lighttpd
    /// or a direct invocation) the file-system root, with requests routed by `PATH_TRANSLATED`
    /// itself (see [`CgiEnv::route_by_path_translated`]). `None` without `PATH_TRANSLATED`.
    pub fn translated_root(&self) -> Option<(std::path::PathBuf, bool)> {
        let translated = self.path_translated.as_deref()?;
        if let Some(info) = self.path_info.as_deref().filter(|i| i.starts_with('/')) {
            if let Some(docroot) = translated.strip_suffix(info).filter(|d| !d.is_empty()) {
                return Some((std::path::PathBuf::from(docroot), false));
            }
        }
        Some((std::path::PathBuf::from("/"), true))
    }

    /// Serve `PATH_TRANSLATED` instead of `PATH_INFO` (git http-backend without
    /// `GIT_PROJECT_ROOT` and without a usable `PATH_INFO`): the request's path becomes the
    /// file-system path the web server mapped it to, with repeated slashes collapsed.
    pub fn route_by_path_translated(&mut self) {
        if let Some(path) = &self.path_translated {
            let mut collapsed = String::with_capacity(path.len());
            for c in path.chars() {
                if !(c == '/' && collapsed.ends_with('/')) {
                    collapsed.push(c);
                }
            }
            self.path_info = Some(collapsed);
        }
    }
}

/// Parse `CONTENT_LENGTH` as git http-backend does (`git_parse_ssize_t`): optional leading
/// blanks, an optional sign, digits and an optional `k`, `m` or `g` unit, within a signed
/// 64-bit size. A negative length means "no length" (`Some(None)`); `None` is unparsable.
pub fn parse_content_length(value: &str) -> Option<Option<u64>> {
    let v = value.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, v) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let unit: i64 = match &v[digits..] {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return None,
    };
    let n: i64 = v[..digits].parse().ok()?;
    let n = n.checked_mul(unit)?;
    Some(if negative { None } else { Some(n as u64) })
}

/// Most bytes of an unread request body `run` consumes before answering (see there).
const UNREAD_BODY_DRAIN: u64 = 1 << 20;
/// Longest `run` waits for them.
const UNREAD_BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A request body that counts what the handler read of it.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Read and drop the `unread` bytes left of `body` (on stdin), at most [`UNREAD_BODY_DRAIN`]
/// of them and waiting at most [`UNREAD_BODY_WAIT`] in all.
fn drain(body: &mut impl Read, unread: u64) {
    let deadline = Instant::now() + UNREAD_BODY_WAIT;
    let mut buf = [0u8; 16 * 1024];
    let mut left = unread.min(UNREAD_BODY_DRAIN);
    while left > 0 {
        let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
            return;
        };
        let mut pfd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX).max(1);
        // SAFETY: one valid pollfd, alive for the duration of the call.
        if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
            return;
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        match body.read(&mut buf[..want]) {
            Ok(0) | Err(_) => return,
            Ok(n) => left -= n as u64,
        }
    }
}

/// Answer the one request this process was started for, on stdin/stdout. Once the response
/// is written, stdout and stderr point at `/dev/null`, so that the web server ends the
/// response before this process tears down: nothing may be written to them after this
/// returns `Ok`.
pub fn run(app: &App, env: CgiEnv) -> Result<(), Error> {
    let started = Instant::now();
    let arrived = std::time::SystemTime::now();
    let stdin = io::stdin();
    let mut raw_body = stdin.lock();
    // CONTENT_LENGTH is authoritative when given; without it (nginx with request buffering
    // off and a chunked upload) the body is everything on stdin.
    let body: Box<dyn Read> = match env.content_length {
        Ok(Some(n)) => Box::new((&mut raw_body).take(n)),
        Ok(None) | Err(_) => Box::new(&mut raw_body),
    };
    let mut body = Counted {
        inner: body,
        read: 0,
    };
    let path = env.path_info.clone().unwrap_or_default();
    let remote_addr = env.remote_addr.clone();
    let mut user = None;
    let response = if let (Err(bad), false) =
        (&env.content_length, Method::parse(&env.method).is_read())
    {
        // git http-backend dies with this line in the web server's log; a body of unknown
        // length must not be read or passed on.
        eprintln!("fatal: failed to parse CONTENT_LENGTH: {bad}");
        Response::text(400, format!("failed to parse CONTENT_LENGTH: {bad}"))
    } else if env.path_info.is_none() {
        Response::text(
            400,
            "PATH_INFO is not set (nor PATH_TRANSLATED without GIT_PROJECT_ROOT): configure the web server to pass it",
        )
    } else {
        let mut request = Request {
            method: Method::parse(&env.method),
            path: path.clone(),
            query: env.query.clone(),
            headers: env.headers,
            body: &mut body,
            remote_user: env.remote_user,
            remote_addr: env.remote_addr.clone(),
            secure: env.secure,
            script_name: env.script_name,
            git_protocol_env: env.git_protocol,
            application_user: None,
            user: Default::default(),
        };
        let response = app.handle(&mut request);
        user = request.user.take();
        response
    };
    // Consume what is left of a request body the answer did not need (a refusal, an error),
    // within bounds: fcgiwrap answers 502 instead of our response when the CGI exits before
    // it has passed the whole body on. Past the bounds the body is left (a large refused
    // upload may then see nginx's error), and a client that stalls holds nothing for long.
    if let Ok(Some(n)) = env.content_length {
        let unread = n.saturating_sub(body.read);
        drain(&mut body, unread);
    }
    let response = match (&env.lfs_accel, &app.site) {
        (Some(prefix), Site::Hosted(root)) => accel_redirect(response, prefix, root.path()),
        _ => response,
    };
    let status = response.status;
    let result = write_response(response, env.method == "HEAD");
    let (sent, outcome) = match result {
        Ok(n) => (n, Ok(())),
        Err((n, e)) => (n, Err(Error::Write(e))),
    };
    // Routine lines only when asked for: fcgiwrap turns every stderr line into an nginx
    // `[error]`. Failures are logged where they happen, whatever this says.
    if let Some(format) = app.options.access_log {
        let full = if env.query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{}", env.query)
        };
        let entry = AccessEntry {
            time: arrived,
            remote_addr: remote_addr.as_deref(),
            user: user.as_deref(),
            method: &env.method,
            path: &full,
            status,
            bytes: sent,
            duration: started.elapsed(),
            service: service_of(&path, &env.query),
        };
        eprintln!("{}", entry.render(format));
    }
    if outcome.is_ok() {
        end_response();
    }
    outcome
}

/// Tell the web server the response is complete: point stdout and stderr at `/dev/null`.
///
/// A CGI server ends the response when both pipes reach end of file; fcgiwrap sends nothing
/// of a short response, and nginx does not finish the chunked body, before that. Without this
/// the end comes at process exit, so the client (and a no-op fetch's next request) waits for
/// what follows the last byte: dropping the app, closing SQLite (its WAL check) and the
/// kernel's teardown of the process. Called only after the whole response and the access
/// line were written; a failed write keeps stderr for its error.
fn end_response() {
    // Nothing is written through std's buffered stdout on this path; flush in case.
    let _ = io::stdout().flush();
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return;
    };
    use std::os::fd::AsRawFd;
    for fd in [1, 2] {
        // SAFETY: dup2 replaces this process's own descriptors 1 and 2 (open for its whole
        // life) with a copy of `null`, which stays valid for the duration of the call.
        unsafe {
            libc::dup2(null.as_raw_fd(), fd);
        }
    }
}

/// A file answer turned into `X-Accel-Redirect: <prefix><path below root>`, so that nginx
/// sends the file with its own `sendfile` and `Range` handling instead of the bytes passing
/// through this process, fcgiwrap and nginx's FastCGI buffers. Access was decided before the
/// response was built; the internal location is unreachable from outside. Anything that is not
/// a file below `root` (after resolving symbolic links) is left as it is.
fn accel_redirect(response: Response, prefix: &str, root: &std::path::Path) -> Response {
    let Body::File(body) = &response.body else {
        return response;
    };
    if crate::core::fsutil::contained(root, &body.path).is_none() {
        return response;
    }
    let Ok(rel) = body.path.strip_prefix(root) else {
        return response;
    };
    let Some(rel) = rel.to_str() else {
        return response;
    };
    // Repository names and oids are plain; escape anything else rather than trust it.
    let mut uri = String::from(prefix);
    for b in rel.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_') {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    // nginx answers with the file's own status (200, or 206 for a Range); what remains of
    // hubctl's answer is its type.
    let mut r = Response::new(200).header("X-Accel-Redirect", uri);
    for (n, v) in &response.headers {
        if n.eq_ignore_ascii_case("Content-Type") {
            r = r.header(n, v.clone());
        }
    }
    r
}

/// Answer with an error when the request cannot be handled at all (bad configuration), so the
/// web server shows a clear status instead of "no response received".
pub fn write_error(status: u16, message: &str) {
    let _ = write_response(Response::text(status, message.to_string()), false);
}

/// Answer "try again shortly" when the request could not be routed because the database was
/// busy (another process held its write lock past the busy timeout).
pub fn write_busy(env: &CgiEnv) {
    let path = env.path_info.as_deref().unwrap_or_default();
    let _ = write_response(super::lfs::busy(path), env.method == "HEAD");
}

fn write_response(response: Response, head_only: bool) -> Result<u64, (u64, io::Error)> {
    // Unbuffered stdout: git's output must reach the client as it is produced, and Rust's
    // line-buffered stdout would flush at random newlines inside binary pack data.
    // SAFETY: fd 1 is open for the life of the process; ManuallyDrop keeps it from being closed.
    let mut out = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
    let mut head = format!(
        "Status: {} {}\r\n",
        response.status,
        super::reason(response.status)
    );
    for (n, v) in &response.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    match &response.body {
        Body::Sized(_, n) | Body::File(FileBody { len: n, .. }) => {
            head.push_str(&format!("Content-Length: {n}\r\n"));
        }
        Body::Empty | Body::Bytes(_) | Body::Stream(_) => {}
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes()).map_err(|e| (0, e))?;
    if head_only {
        return Ok(0);
    }
    match response.body {
        Body::Empty => Ok(0),
        Body::Bytes(b) => {
            out.write_all(&b).map_err(|e| (0, e))?;
            Ok(b.len() as u64)
        }
        Body::File(FileBody { file, len: n, .. }) => {
            // std's copy from a file to a file descriptor uses the kernel's own copy
            // (sendfile or splice) where it can: the object never passes through user space.
            let mut content = file.take(n);
            match io::copy(&mut content, &mut *out) {
                Ok(sent) => Ok(sent),
                Err(e) => Err((n - content.limit(), e)),
            }
        }
        Body::Stream(mut r) | Body::Sized(mut r, _) => {
            let mut buf = vec![0u8; 64 * 1024];
            let mut sent = 0u64;
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => return Ok(sent),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err((sent, e)),
                };
                out.write_all(&buf[..n]).map_err(|e| (sent, e))?;
                sent += n as u64;
            }
        }
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::parse_content_length;

    #[test]
    fn content_length_as_git_parses_it() {
        assert_eq!(parse_content_length("42"), Some(Some(42)));
        assert_eq!(parse_content_length(" +42"), Some(Some(42)));
        assert_eq!(parse_content_length("1k"), Some(Some(1024)));
        assert_eq!(parse_content_length("2M"), Some(Some(2 << 20)));
        assert_eq!(parse_content_length("-1"), Some(None));
        for bad in [
            "",
            "x",
            "42 ",
            "4 2",
            "1t",
            "99999999999999999999",
            "9223372036854775807k",
        ] {
            assert_eq!(parse_content_length(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_content_length("9223372036854775807"),
            Some(Some(i64::MAX as u64))
        );
    }
}
