//! `hubctl serve`: the standalone HTTP(S) server, a thin adapter from tiny_http to the router.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::log::{AccessEntry, route_of, service_of};
use super::router::App;
use super::{Body, FileBody, Headers, Method, Request, Response, percent_decode};

/// How the server listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `host:port` to bind (port 0 picks a free one).
    pub listen: String,
    /// Worker threads answering requests.
    pub threads: usize,
    /// PEM certificate chain and private key for HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// What one client may make the server hold.
    pub limits: Limits,
}

/// Bounds on clients (`hubctl config` settings; see the README's security section).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest silence while a request body is read, or between requests.
    pub idle_timeout: Duration,
    /// Time a client has to send a whole request head.
    pub header_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
    /// Most open connections from one address.
    pub max_connections_per_ip: usize,
}

/// Longest request or header line accepted while the head is read (431 and close beyond).
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Most header lines in one request (431 and close beyond).
pub const MAX_HEADERS: usize = 100;

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the TLS files failed.
    #[error("reading {path}: {source}")]
    Tls {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        message: String,
    },
    /// Installing the signal handlers failed.
    #[error("installing signal handlers: {0}")]
    Signals(io::Error),
}

/// Builds the application anew from the stored settings (on SIGHUP); the error says why not.
pub type Reload<'a> = &'a dyn Fn() -> Result<Arc<App>, String>;

/// Serve until SIGINT or SIGTERM, then stop accepting and let requests in flight finish. On
/// SIGHUP, `reload` builds the application again (the engine's slots and pack cache follow
/// the stored settings); requests already running finish with the one they started with.
pub fn run(app: Arc<App>, opts: &ServeOptions, reload: Reload<'_>) -> Result<(), Error> {
    tiny_http::limits::set(tiny_http::limits::Limits {
        max_line: MAX_LINE_BYTES,
        // The request line and the headers together; the router's 431 check sees the same.
        max_head: super::MAX_HEADER_BYTES + MAX_LINE_BYTES,
        max_headers: MAX_HEADERS,
        head_timeout: Some(opts.limits.header_timeout),
        idle_timeout: Some(opts.limits.idle_timeout),
        max_connections: opts.limits.max_connections,
        max_connections_per_ip: opts.limits.max_connections_per_ip,
    });
    let tls = match &opts.tls {
        None => None,
        Some((cert, key)) => {
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|source| Error::Tls {
                    path: path.clone(),
                    source,
                })
            };
            Some((read(cert)?, read(key)?))
        }
    };
    let bind_err = |message: String| Error::Bind {
        addr: opts.listen.clone(),
        message,
    };
    let listener =
        std::net::TcpListener::bind(&opts.listen).map_err(|e| bind_err(e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| bind_err(e.to_string()))?;
    no_delay(&listener);
    // Our own handle on the listening socket: tiny_http's accept thread owns the other one
    // and ends on the first accept error, so this one lets us stop accepting on a signal
    // and start a fresh accept loop if tiny_http's dies for any other reason.
    let listening = Arc::new(Listening {
        socket: listener,
        tls,
    });
    let server = Arc::new(Mutex::new(Arc::new(
        listening.server().map_err(|e| bind_err(e.to_string()))?,
    )));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(Error::Signals)?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .map_err(Error::Signals)?;
    let scheme = if listening.tls.is_some() {
        "https"
    } else {
        "http"
    };
    eprintln!("hubctl: listening on {scheme}://{addr}");
    let pool = Arc::new(Pool {
        server,
        listening: Arc::clone(&listening),
        app: Mutex::new(app),
        stop: Arc::clone(&stop),
        base: opts.threads.max(1),
        cap: opts.threads.max(opts.limits.max_connections),
        live: AtomicUsize::new(0),
        busy: AtomicUsize::new(0),
        handles: Mutex::new(Vec::new()),
    });
    for _ in 0..pool.base {
        Pool::spawn(&pool, false);
    }
    // Sleep until a signal arrives instead of polling the flags: an idle serve then spends no
    // CPU at all (polling every 100 ms cost about 0.25 ms of CPU per second on a shared VM,
    // a tenth of what a presigned LFS push costs hubctl).
    let mut wake = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(Error::Signals)?;
    loop {
        // Flags first: a signal that came before the iterator existed is seen here, and
        // the flag handlers (registered first) have run before `wait` returns for a signal.
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if hup.swap(false, Ordering::Relaxed) {
            match reload() {
                Ok(app) => {
                    *pool.app.lock().unwrap_or_else(|e| e.into_inner()) = app;
                    eprintln!(
                        "hubctl: SIGHUP: reloaded settings; max-engines, queue-timeout, pack-cache-size, authorize-command and authorize-timeout apply to new requests (idle-timeout, header-timeout, max-connections and max-connections-per-ip need a restart)"
                    );
                }
                Err(e) => {
                    eprintln!("hubctl: SIGHUP: settings not reloaded, keeping the old ones: {e}")
                }
            }
        }
        let _ = wake.wait().count();
    }
    // Refuse new connections now; workers finish what they hold and leave.
    listening.shutdown();
    eprintln!("hubctl: stopping: no new connections, finishing requests in flight");
    {
        // Each unblock wakes one waiting worker (or the next one to wait), after the requests
        // already queued; a worker that wakes sees `stop` and leaves.
        let current = Arc::clone(&pool.server.lock().unwrap_or_else(|e| e.into_inner()));
        for _ in 0..pool.live.load(Ordering::SeqCst) {
            current.unblock();
        }
    }
    loop {
        let next = pool.handles.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match next {
            Some(w) => {
                let _ = w.join();
            }
            None => break,
        }
    }
    drop(listening);
    eprintln!("hubctl: stopped");
    Ok(())
}

/// Turn off Nagle's algorithm for every connection (Linux hands the listening socket's
/// TCP_NODELAY down to accepted sockets). tiny_http writes a response's headers, body chunks and
/// final chunk separately; with Nagle on, each small write after the first waits for the
/// client's delayed ACK, about 40 ms per response.
fn no_delay(listener: &std::net::TcpListener) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: plain setsockopt on a socket we own, with a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        eprintln!(
            "hubctl: cannot set TCP_NODELAY: {}",
            std::io::Error::last_os_error()
        );
    }
}

struct Listening {
    socket: std::net::TcpListener,
    tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl Listening {
    fn server(&self) -> io::Result<tiny_http::Server> {
        let ssl = self.tls.as_ref().map(|(cert, key)| tiny_http::SslConfig {
            certificate: cert.clone(),
            private_key: key.clone(),
        });
        tiny_http::Server::from_listener(self.socket.try_clone()?, ssl)
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn shutdown(&self) {
        use std::os::fd::AsRawFd;
        // SAFETY: plain syscall on a socket we own; makes the pending and any future accept()
        // fail, which ends tiny_http's accept thread, and the kernel refuses new connections
        // once every handle is closed.
        unsafe {
            libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_RDWR);
        }
    }
}

/// The request workers. `base` of them always run; when every live worker is busy (slow
/// clients reading or sending bodies, long clones), another one starts, up to `cap` (the
/// connection limit: every request holds a connection), so requests that are ready never
/// wait behind stalled ones. Extra workers leave after [`SPARE_IDLE`] without work.
struct Pool {
    server: Arc<Mutex<Arc<tiny_http::Server>>>,
    listening: Arc<Listening>,
    /// Replaced on SIGHUP; each request takes the current one.
    app: Mutex<Arc<App>>,
    stop: Arc<AtomicBool>,
    base: usize,
    cap: usize,
    live: AtomicUsize,
    busy: AtomicUsize,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// How long an extra worker waits for work before it leaves.
const SPARE_IDLE: Duration = Duration::from_secs(10);
/// How long an idle base worker waits for a request before it looks again. Nothing needs the
/// wake-up: stopping wakes every worker with `unblock` once the listener is shut, and a worker
/// that restarts the accept loop wakes the others waiting on the old one. It is a safety net
/// only, since every wake-up costs CPU: sixteen workers waking five times a second were about
/// 4.5 ms of CPU per second of an idle server, and once every 5 s still 0.1-0.2 ms per second
/// (`schedstat` of each worker), which a presigned S3 push (about 10 ms of hubctl's CPU over
/// several seconds) noticed. Extra workers wait [`SPARE_IDLE`] at a time and then leave.
const IDLE_WAIT: Duration = Duration::from_secs(300);

impl Pool {
    fn spawn(pool: &Arc<Pool>, spare: bool) {
        let n = pool.live.fetch_add(1, Ordering::SeqCst);
        let me = Arc::clone(pool);
        let spawned = std::thread::Builder::new()
            .name(format!("http-{n}"))
            .spawn(move || worker(&me, spare));
        match spawned {
            Ok(h) => {
                let mut handles = pool.handles.lock().unwrap_or_else(|e| e.into_inner());
                // Extra workers that left are done; their handles need no join.
                handles.retain(|h| !h.is_finished());
                handles.push(h);
            }
            Err(e) => {
                pool.live.fetch_sub(1, Ordering::SeqCst);
                eprintln!("hubctl: cannot start another worker thread: {e}");
            }
        }
    }
}

fn worker(pool: &Arc<Pool>, spare: bool) {
    let (server, listening, stop) = (&pool.server, &pool.listening, &pool.stop);
    let mut last_work = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let current = Arc::clone(&server.lock().unwrap_or_else(|e| e.into_inner()));
        let wait = if spare { SPARE_IDLE } else { IDLE_WAIT };
        match current.recv_timeout(wait) {
            Ok(Some(rq)) => {
                let busy = pool.busy.fetch_add(1, Ordering::SeqCst) + 1;
                if busy >= pool.live.load(Ordering::SeqCst)
                    && pool.live.load(Ordering::SeqCst) < pool.cap
                {
                    Pool::spawn(pool, true);
                }
                let app = Arc::clone(&pool.app.lock().unwrap_or_else(|e| e.into_inner()));
                serve_one(&app, rq);
                pool.busy.fetch_sub(1, Ordering::SeqCst);
                last_work = Instant::now();
            }
            Ok(None) => {
                if spare && last_work.elapsed() > SPARE_IDLE {
                    pool.live.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
            }
            Err(_) if stop.load(Ordering::Relaxed) => {}
            Err(e) => {
                // tiny_http's accept loop ended on this error; start a new one on the same
                // socket unless another worker already did.
                eprintln!("hubctl: accepting connections failed: {e}; restarting the accept loop");
                std::thread::sleep(Duration::from_millis(100));
                let mut slot = server.lock().unwrap_or_else(|e| e.into_inner());
                if Arc::ptr_eq(&slot, &current) && !stop.load(Ordering::Relaxed) {
                    match listening.server() {
                        Ok(fresh) => {
                            *slot = Arc::new(fresh);
                            // The other workers wait on the old loop's queue: wake them, so
                            // they take the new one.
                            for _ in 0..pool.live.load(Ordering::SeqCst) {
                                current.unblock();
                            }
                        }
                        Err(e) => {
                            eprintln!("hubctl: restarting the accept loop: {e}");
                            std::thread::sleep(Duration::from_secs(1));
                        }
                    }
                }
            }
        }
    }
}

fn serve_one(app: &App, mut rq: tiny_http::Request) {
    let started = Instant::now();
    let arrived = std::time::SystemTime::now();
    let method = Method::parse(rq.method().as_str());
    let url = rq.url().to_string();
    let (raw_path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut headers = Headers::default();
    for h in rq.headers() {
        headers.push(h.field.as_str().as_str(), h.value.as_str());
    }
    let remote_addr = rq.remote_addr().map(|a| a.ip().to_string());
    let secure = rq.secure();
    let decoded = percent_decode(raw_path);
    let mut user = None;
    let response = match &decoded {
        None => Response::text(400, "malformed request path"),
        Some(path) => {
            let mut request = Request {
                method: method.clone(),
                path: path.clone(),
                query: query.to_string(),
                headers,
                body: rq.as_reader(),
                remote_user: None,
                remote_addr: remote_addr.clone(),
                secure,
                script_name: String::new(),
                git_protocol_env: None,
                application_user: None,
                user: Default::default(),
            };
            let response = app.handle(&mut request);
            user = request.user.take();
            response
        }
    };
    let status = response.status;
    let sent = Arc::new(AtomicU64::new(0));
    // A stream on a keep-alive HTTP/1.1 connection (clones, fetches, pushes) goes out in large
    // chunks written by us; everything else through tiny_http.
    let own_writer = matches!(response.body, Body::Stream(_))
        && *rq.http_version() == tiny_http::HTTPVersion(1, 1)
        && method != Method::Head
        && response.header_value("Connection").is_none();
    // A file body (an LFS object) on a plain keep-alive HTTP/1.1 connection goes out with
    // sendfile(2), as nginx sends static files: no copy through user space.
    let own_file_writer = matches!(response.body, Body::File(..))
        && *rq.http_version() == tiny_http::HTTPVersion(1, 1)
        && method != Method::Head
        && response.header_value("Connection").is_none();
    let result = if own_writer {
        write_streamed(rq.into_writer(), response, &sent)
    } else if own_file_writer {
        let socket = rq.take_socket();
        write_file(rq.into_writer(), socket, response, &sent)
    } else {
        rq.respond(to_tiny(response, Arc::clone(&sent)))
    };
    if let Err(e) = result {
        eprintln!(
            "hubctl: writing the response to {}: {e}",
            url.escape_debug()
        );
    }
    let took = started.elapsed();
    let decoded = decoded.as_deref().unwrap_or(raw_path);
    crate::core::metrics::requests().observe(route_of(decoded, query), status, took);
    if let Some(format) = app.options.access_log {
        let entry = AccessEntry {
            time: arrived,
            remote_addr: remote_addr.as_deref(),
            user: user.as_deref(),
            method: method.as_str(),
            path: &url,
            status,
            bytes: sent.load(Ordering::Relaxed),
            duration: took,
            service: service_of(decoded, query),
        };
        eprintln!("{}", entry.render(format));
    }
}

/// Chunk payload size for streamed responses.
const STREAM_CHUNK: usize = 256 * 1024;

/// Write `response` (with a streaming body) as an HTTP/1.1 chunked response on the raw
/// connection. tiny_http's own encoder sends 8 KiB chunks as two writes each; here each 256 KiB
/// chunk, its size line and its CRLF go out as one write. The connection stays usable for the
/// next request: the request body was read to its end before the response started.
fn write_streamed(
    mut w: Box<dyn std::io::Write + Send>,
    response: Response,
    sent: &AtomicU64,
) -> io::Result<()> {
    let head = own_head(&response, "Transfer-Encoding: chunked");
    let Body::Stream(mut body) = response.body else {
        unreachable!("only called for streams");
    };
    w.write_all(head.as_bytes())?;
    w.flush()?;
    // Room for a fixed-width size line before the payload and CRLF after it.
    const PRE: usize = 10;
    let mut buf = vec![0u8; PRE + STREAM_CHUNK + 2];
    loop {
        let n = match body.read(&mut buf[PRE..PRE + STREAM_CHUNK]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf[..PRE].copy_from_slice(format!("{n:08x}\r\n").as_bytes());
        buf[PRE + n..PRE + n + 2].copy_from_slice(b"\r\n");
        w.write_all(&buf[..PRE + n + 2])?;
        w.flush()?;
        sent.fetch_add(n as u64, Ordering::Relaxed);
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

/// The head of a response written by serve itself (not tiny_http): status line, Date, Server,
/// `framing` (Transfer-Encoding or Content-Length) and the response's own headers.
fn own_head(response: &Response, framing: &str) -> String {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\nServer: hubctl/{}\r\n{framing}\r\n",
        response.status,
        super::reason(response.status),
        httpdate::fmt_http_date(std::time::SystemTime::now()),
        env!("CARGO_PKG_VERSION"),
    );
    for (n, v) in &response.headers {
        // Header values come from hubctl, never from clients; keep them on one line anyway.
        if !v.contains(['\r', '\n']) {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    head
}

/// Most bytes handed to one `sendfile(2)` call (nginx's default `sendfile_max_chunk` is 2 MiB).
const SENDFILE_CHUNK: usize = 2 * 1024 * 1024;

/// Write `response` (with a file body) with `Content-Length` on the raw connection: the head
/// through tiny_http's writer (which keeps pipelined responses in order), then the file with
/// `sendfile(2)` on the request's own socket handle, or in large writes where there is none
/// (TLS). The connection stays usable for the next request.
fn write_file(
    mut w: Box<dyn std::io::Write + Send>,
    socket: Option<std::net::TcpStream>,
    response: Response,
    sent: &AtomicU64,
) -> io::Result<()> {
    let len = match &response.body {
        Body::File(f) => f.len,
        _ => unreachable!("only called for files"),
    };
    let head = own_head(&response, &format!("Content-Length: {len}"));
    let Body::File(FileBody { file, .. }) = response.body else {
        unreachable!("only called for files");
    };
    w.write_all(head.as_bytes())?;
    w.flush()?;
    let mut left = len;
    if let Some(socket) = socket {
        // A client that stops reading must not hold this worker forever: sendfile gives up
        // after the idle timeout, as reads of request bodies do.
        let _ = socket.set_write_timeout(tiny_http::limits::get().idle_timeout);
        set_cork(&socket, true);
        let result = send_file(&socket, &file, &mut left, sent);
        set_cork(&socket, false);
        if result.is_err() || left > 0 {
            // The promised length was not kept: the connection cannot carry another response.
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        result?;
    } else {
        let mut content = file.take(len);
        let mut buf = vec![0u8; STREAM_CHUNK];
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            w.write_all(&buf[..n])?;
            w.flush()?;
            left -= n as u64;
            sent.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
    if left > 0 {
        // The file shrank under us: the promised length cannot be kept, so the connection
        // must not be reused for another response.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file ended {left} bytes before its announced length"),
        ));
    }
    Ok(())
}

/// `TCP_CORK` on or off: while on, the kernel sends only full segments (nginx's
/// `tcp_nopush`); turning it off sends what is left.
fn set_cork(socket: &std::net::TcpStream, on: bool) {
    use std::os::fd::AsRawFd as _;
    let value: libc::c_int = on.into();
    // SAFETY: an open socket owned by a live value; the option value is a c_int that outlives
    // the call. A failure only loses the optimisation.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CORK,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// `sendfile(2)` from `file`'s position until `left` bytes are sent or the file ends.
fn send_file(
    socket: &std::net::TcpStream,
    file: &std::fs::File,
    left: &mut u64,
    sent: &AtomicU64,
) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    while *left > 0 {
        let want = usize::try_from(*left).map_or(SENDFILE_CHUNK, |l| l.min(SENDFILE_CHUNK));
        // SAFETY: both descriptors are open and owned by values alive for the call; a null
        // offset makes the kernel read from, and advance, the file's own position.
        let n = unsafe {
            libc::sendfile(
                socket.as_raw_fd(),
                file.as_raw_fd(),
                std::ptr::null_mut(),
                want,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            break;
        }
        *left -= n as u64;
        sent.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Counts the body bytes actually handed to the socket, for the access log.
struct Counting {
    inner: Box<dyn Read + Send>,
    sent: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn to_tiny(response: Response, sent: Arc<AtomicU64>) -> tiny_http::Response<Counting> {
    let mut headers: Vec<tiny_http::Header> = response
        .headers
        .iter()
        .filter_map(|(n, v)| tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()).ok())
        .collect();
    if let Ok(h) = tiny_http::Header::from_bytes(
        &b"Server"[..],
        format!("hubctl/{}", env!("CARGO_PKG_VERSION")).as_bytes(),
    ) {
        headers.push(h);
    }
    let (body, len): (Box<dyn Read + Send>, Option<usize>) = match response.body {
        Body::Empty => (Box::new(io::empty()), Some(0)),
        Body::Bytes(b) => {
            let n = b.len();
            (Box::new(io::Cursor::new(b)), Some(n))
        }
        // Unknown length: tiny_http sends it chunked, as git produces it.
        Body::Stream(r) => (r, None),
        Body::Sized(r, n) => (r, usize::try_from(n).ok()),
        Body::File(f) => (Box::new(f.file.take(f.len)), usize::try_from(f.len).ok()),
    };
    // A body of known length goes out with Content-Length, however large (tiny_http would
    // switch to chunked above 32 KiB; LFS clients and resumed downloads want the length).
    tiny_http::Response::new(
        tiny_http::StatusCode(response.status),
        headers,
        Counting { inner: body, sent },
        len,
        None,
    )
    .with_chunked_threshold(usize::MAX)
}
