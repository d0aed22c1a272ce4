//! `hubctl cgi`: the router behind any CGI server (RFC 3875), e.g. nginx + fcgiwrap.

use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;
use std::time::Instant;

use super::log::{AccessEntry, service_of};
use super::router::App;
use super::{Body, Headers, Method, Request, Response};

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
    /// `CONTENT_LENGTH`, if set and non-empty.
    pub content_length: Option<u64>,
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
}

impl CgiEnv {
    /// Read the meta-variables from the process environment.
    pub fn from_env() -> Result<CgiEnv, Error> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let method = var("REQUEST_METHOD").ok_or(Error::NotCgi)?;
        let mut headers = Headers::default();
        if let Some(ct) = var("CONTENT_TYPE") {
            headers.push("Content-Type", ct);
        }
        // The body's length, as handlers see it over serve (an LFS upload without a token
        // learns its size from it).
        if let Some(len) = var("CONTENT_LENGTH") {
            headers.push("Content-Length", len);
        }
        for (k, v) in std::env::vars_os() {
            let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
                continue;
            };
            let Some(name) = k.strip_prefix("HTTP_") else {
                continue;
            };
            // The web server already removed the transfer coding and passes the body's type
            // and length as CONTENT_*; its HTTP_ duplicates must not override them.
            if matches!(
                name,
                "CONTENT_TYPE" | "CONTENT_LENGTH" | "TRANSFER_ENCODING"
            ) {
                continue;
            }
            headers.push(name.replace('_', "-"), v);
        }
        Ok(CgiEnv {
            method,
            path_info: var("PATH_INFO"),
            query: var("QUERY_STRING").unwrap_or_default(),
            content_length: var("CONTENT_LENGTH").and_then(|v| v.trim().parse().ok()),
            headers,
            remote_user: var("REMOTE_USER"),
            remote_addr: var("REMOTE_ADDR"),
            secure: var("HTTPS").is_some_and(|v| !v.eq_ignore_ascii_case("off"))
                || var("REQUEST_SCHEME").is_some_and(|v| v.eq_ignore_ascii_case("https")),
            script_name: var("SCRIPT_NAME")
                .map(|s| s.trim_end_matches('/').to_string())
                .unwrap_or_default(),
        })
    }
}

/// Answer the one request this process was started for, on stdin/stdout.
pub fn run(app: &App, env: CgiEnv) -> Result<(), Error> {
    let started = Instant::now();
    let arrived = std::time::SystemTime::now();
    let stdin = io::stdin();
    let mut raw_body = stdin.lock();
    // CONTENT_LENGTH is authoritative when given; without it (nginx with request buffering
    // off and a chunked upload) the body is everything on stdin.
    let mut body: Box<dyn Read> = match env.content_length {
        Some(n) => Box::new((&mut raw_body).take(n)),
        None => Box::new(&mut raw_body),
    };
    let path = env.path_info.clone().unwrap_or_default();
    let remote_addr = env.remote_addr.clone();
    let mut user = None;
    let response = if env.path_info.is_none() {
        Response::text(
            400,
            "PATH_INFO is not set: configure the web server to pass it",
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
            user: Default::default(),
        };
        let response = app.handle(&mut request);
        user = request.user.take();
        response
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
    outcome
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
        Body::Sized(_, n) => head.push_str(&format!("Content-Length: {n}\r\n")),
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
