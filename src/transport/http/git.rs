//! Git Smart HTTP: `info/refs`, `git-upload-pack`, `git-receive-pack` and `HEAD`.

use std::io::{self, Cursor, Read};

use super::router::{App, GitEndpoint};
use super::{Request, Response, refusal};
use crate::access::Site;
use crate::access::authorize::Want;
use crate::access::credentials;
use crate::access::{self, Located, Principal};
use crate::git::{self, FeedOutcome, RunOptions, Service};

/// Largest decoded upload-pack request accepted. git-http-backend buffers these in memory with
/// a 10 MiB default; hubctl streams them, so a generous bound only stops runaway bodies.
const MAX_UPLOAD_PACK_REQUEST: u64 = 64 * 1024 * 1024;

/// How much of a refused request's remaining body is read so the client gets to see why.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Answer one request for a git endpoint of the repository named by `repo_part`.
pub fn handle(app: &App, req: &mut Request<'_>, repo_part: &str, ep: GitEndpoint) -> Response {
    let service = match ep {
        // Below a project root HEAD is a dumb-protocol file: git http-backend asks only
        // http.getanyfile (and the export rule), not http.uploadpack.
        GitEndpoint::Head if matches!(app.site, Site::ProjectRoot { .. }) => {
            return match files_access(app, req, repo_part) {
                Ok(located) => head(&located),
                Err(r) => r,
            };
        }
        GitEndpoint::Head => None,
        GitEndpoint::InfoRefs => match req.query_param("service") {
            Some(name) => match Service::from_wire_name(&name) {
                Some(s) => Some(s),
                None => return Response::text(400, format!("unsupported service {name:?}")),
            },
            // The dumb protocol's text ref list.
            None => return dumb_info_refs(app, req, repo_part),
        },
        GitEndpoint::UploadPack => Some(Service::UploadPack),
        GitEndpoint::ReceivePack => Some(Service::ReceivePack),
    };
    let want = match service {
        Some(Service::ReceivePack) => Want::Write,
        _ => Want::Read,
    };
    let presented = req.presented(app.options.trust_remote_user);
    let authorized = credentials::authenticate(&app.site, presented).and_then(|principal| {
        app.gate(req)
            .repository(&app.site, repo_part, &principal, want)
            .map(|l| (principal, l))
    });
    let (principal, located) = match authorized {
        Ok(v) => v,
        Err(d) => return refusal::text(&d),
    };
    req.note_user(&principal);
    let Some(service) = service else {
        return head(&located);
    };
    let mut opts = match run_options(app, req, &located, &principal, service) {
        Ok(o) => o,
        Err(r) => return r,
    };
    if ep == GitEndpoint::InfoRefs {
        advertise(app, &located, service, &opts)
    } else {
        opts.notice = notice(app, &located, service);
        rpc(app, req, &located, service, &opts)
    }
}

/// `GET HEAD`. Below a project root it is one of the dumb protocol's files (git
/// http-backend's `http.getanyfile` rule); hosted repositories always answer it to readers,
/// since it tells no more than the ref advertisement. Like git http-backend, the answer is the
/// HEAD line as text, without cache headers.
fn head(located: &Located) -> Response {
    match std::fs::read_to_string(located.git_dir.join("HEAD")) {
        Ok(text) if text.starts_with("ref: ") || text.trim().len() >= 40 => {
            let line = text.lines().next().unwrap_or_default();
            Response::new(200)
                .header("Content-Type", "text/plain")
                .bytes(format!("{line}\n").into_bytes())
        }
        _ => Response::text(500, "repository HEAD is unreadable"),
    }
}

/// `GET info/refs` without `?service=`: the dumb protocol's text ref list.
fn dumb_info_refs(app: &App, req: &Request<'_>, repo_part: &str) -> Response {
    let located = match files_access(app, req, repo_part) {
        Ok(l) => l,
        Err(r) => return r,
    };
    match git::dumb::info_refs(&located.git_dir) {
        Ok(text) => Response::new(200)
            .header("Content-Type", "text/plain")
            .no_cache()
            .bytes(text),
        Err(e) => {
            eprintln!("hubctl: {e}");
            Response::text(500, access::INTERNAL_MESSAGE)
        }
    }
}

/// One of the files a dumb client fetches (`objects/info/packs`, loose objects, packs).
pub fn dumb_file(
    app: &App,
    req: &Request<'_>,
    repo_part: &str,
    file: &str,
    kind: git::dumb::Kind,
) -> Response {
    match files_access(app, req, repo_part) {
        // Made from the packs on disk, never cached, as git http-backend does.
        Ok(located) if kind == git::dumb::Kind::Packs => Response::new(200)
            .header("Content-Type", "text/plain; charset=utf-8")
            .no_cache()
            .bytes(git::dumb::info_packs(&located.git_dir)),
        Ok(located) => send_file(&located, file, kind),
        Err(r) => r,
    }
}

fn files_access(app: &App, req: &Request<'_>, repo_part: &str) -> Result<Located, Response> {
    let presented = req.presented(app.options.trust_remote_user);
    credentials::authenticate(&app.site, presented)
        .and_then(|principal| {
            app.gate(req)
                .repository(&app.site, repo_part, &principal, Want::Files)
        })
        .map_err(|d| refusal::text(&d))
}

/// Send a repository file as git http-backend's `send_local_file` does: its type, length
/// and modification time, never cached when it changes in place (HEAD, the pack list), cached
/// for a year when its name is its content (objects, packs, indexes).
fn send_file(located: &Located, file: &str, kind: git::dumb::Kind) -> Response {
    use git::dumb::Kind;
    let not_found = || Response::text(404, "not found");
    let Some(path) = crate::core::fsutil::contained(&located.git_dir, &located.git_dir.join(file))
    else {
        return not_found();
    };
    let Ok(handle) = std::fs::File::open(&path) else {
        return not_found();
    };
    let Ok(meta) = handle.metadata() else {
        return not_found();
    };
    if !meta.is_file() {
        return not_found();
    }
    let content_type = match kind {
        Kind::Alternates => "text/plain",
        Kind::Packs => "text/plain; charset=utf-8",
        Kind::LooseObject => "application/x-git-loose-object",
        Kind::Pack => "application/x-git-packed-objects",
        Kind::PackIndex => "application/x-git-packed-objects-toc",
    };
    let mut response = Response::new(200).header("Content-Type", content_type);
    response = if kind.immutable() {
        let now = std::time::SystemTime::now();
        response
            .header("Date", httpdate::fmt_http_date(now))
            .header(
                "Expires",
                httpdate::fmt_http_date(now + std::time::Duration::from_secs(31_536_000)),
            )
            .header("Cache-Control", "public, max-age=31536000")
    } else {
        response.no_cache()
    };
    if let Ok(modified) = meta.modified() {
        response = response.header("Last-Modified", httpdate::fmt_http_date(modified));
    }
    response.sized(Box::new(handle), meta.len())
}

fn run_options(
    app: &App,
    req: &Request<'_>,
    located: &Located,
    principal: &Principal,
    service: Service,
) -> Result<RunOptions, Response> {
    // The web server's GIT_PROTOCOL wins (even empty, which pins v0); the header is the
    // fallback for setups that do not pass it.
    let protocol = match &req.git_protocol_env {
        Some(value) => git::sanitize_protocol(value),
        None => req
            .headers
            .get("Git-Protocol")
            .and_then(git::sanitize_protocol),
    };
    let mut opts = RunOptions {
        protocol,
        // `access` located the repository inside the root or the project root.
        contained: true,
        ..RunOptions::default()
    };
    if service == Service::ReceivePack {
        let hosted = match (&app.site, &located.name) {
            (Site::Hosted(root), Some(name)) => Some((root, name)),
            _ => None,
        };
        let prepared = git::push::prepare(
            git::push::Target {
                git_dir: &located.git_dir,
                hosted,
            },
            git::push::Pusher {
                principal,
                address: Some(req.remote_addr.as_deref().unwrap_or("(none)")),
                committer: git::push::Committer {
                    name: app.options.committer_name.as_deref(),
                    email: app.options.committer_email.as_deref(),
                },
            },
            app.options.max_push_size,
            &mut opts,
        );
        if let Err(e) = prepared {
            eprintln!("hubctl: installing hook shims: {e}");
            return Err(Response::text(500, "cannot install hubctl's hooks"));
        }
    }
    Ok(opts)
}

/// The hosted repository's message after a push or fetch, if it has one. A database that
/// cannot be read costs the message, never the request.
fn notice(app: &App, located: &Located, service: Service) -> Option<git::messages::Notice> {
    let (Site::Hosted(root), Some(name)) = (&app.site, &located.name) else {
        return None;
    };
    match git::messages::Notice::for_repo(root, name, service) {
        Ok(notice) => notice,
        Err(e) => {
            eprintln!("hubctl: reading the messages of {name}: {e}");
            None
        }
    }
}

fn advertise(app: &App, located: &Located, service: Service, opts: &RunOptions) -> Response {
    let output = match app.engine.advertise(service, &located.git_dir, opts) {
        Ok(o) => o,
        Err(e) => return engine_error(e),
    };
    // Protocol v2 has no `# service=` preamble (git-http-backend omits it too).
    let preamble = if service == Service::UploadPack && git::wants_v2(opts.protocol.as_deref()) {
        Vec::new()
    } else {
        let line = format!("# service={}\n", service.wire_name());
        let mut p = format!("{:04x}{line}", line.len() + 4).into_bytes();
        p.extend_from_slice(b"0000");
        p
    };
    Response::new(200)
        .header(
            "Content-Type",
            format!("application/x-{}-advertisement", service.wire_name()),
        )
        .no_cache()
        .stream(Box::new(Cursor::new(preamble).chain(output)))
}

fn rpc(
    app: &App,
    req: &mut Request<'_>,
    located: &Located,
    service: Service,
    opts: &RunOptions,
) -> Response {
    let expected = format!("application/x-{}-request", service.wire_name());
    if req.headers.get("Content-Type") != Some(expected.as_str()) {
        return Response::text(415, format!("expected Content-Type {expected}"));
    }
    let encoding = req
        .headers
        .get("Content-Encoding")
        .map(|e| e.trim().to_ascii_lowercase());
    let mut body: Box<dyn Read + '_> = match encoding.as_deref() {
        None | Some("") | Some("identity") => Box::new(&mut *req.body),
        Some("gzip") | Some("x-gzip") => {
            Box::new(flate2::read::MultiGzDecoder::new(&mut *req.body))
        }
        Some(other) => {
            return Response::text(415, format!("unsupported Content-Encoding {other:?}"));
        }
    };
    if service == Service::UploadPack {
        body = Box::new(Limited {
            inner: body,
            left: MAX_UPLOAD_PACK_REQUEST,
        });
    }
    let fed = match app
        .engine
        .stateless(service, &located.git_dir, opts, &mut body)
    {
        Ok(f) => f,
        Err(e) => return engine_error(e),
    };
    let mut output = fed.output;
    if matches!(fed.outcome, FeedOutcome::EngineClosed) {
        // git refused the request before reading all of it (a pack over the size limit, a
        // corrupt pack). A client still uploading would hit a reset instead of reading git's
        // explanation, so take in (and drop) a bounded rest of the body first.
        let _ = io::copy(&mut (&mut body).take(DRAIN_LIMIT), &mut io::sink());
    }
    let response = Response::new(200)
        .header(
            "Content-Type",
            format!("application/x-{}-result", service.wire_name()),
        )
        .no_cache();
    if !matches!(fed.outcome, FeedOutcome::BodyError(_)) {
        if let Some((status, why)) = output.ended_silently() {
            if !status.success() {
                let why = if why.is_empty() {
                    status.to_string()
                } else {
                    why
                };
                return Response::text(
                    400,
                    format!("git {} rejected the request: {why}", service.command()),
                );
            }
        }
    }
    match fed.outcome {
        FeedOutcome::Complete => response.stream(Box::new(output)),
        // git refused the request before reading all of it; its answer says why. The rest of
        // the body is unread, so this connection cannot carry another request.
        FeedOutcome::EngineClosed => response
            .header("Connection", "close")
            .stream(Box::new(output)),
        FeedOutcome::BodyError(e) => {
            output.kill();
            if e.kind() == io::ErrorKind::FileTooLarge {
                Response::text(413, e.to_string())
            } else {
                Response::text(400, format!("malformed request body: {e}"))
            }
        }
    }
}

/// Seconds a client is asked to wait when every engine slot is busy.
const RETRY_AFTER: u32 = 10;

fn engine_error(e: git::Error) -> Response {
    eprintln!("hubctl: {e}");
    match e {
        git::Error::Body(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            Response::text(413, e.to_string())
        }
        git::Error::Body(e) => Response::text(400, format!("malformed request body: {e}")),
        git::Error::Busy(_) => Response::text(
            503,
            format!("the server is busy (every git process slot is taken); try again in {RETRY_AFTER} seconds"),
        )
        .header("Retry-After", RETRY_AFTER.to_string()),
        _ => Response::text(500, "cannot start git"),
    }
}

/// A reader that fails with `FileTooLarge` past a byte budget.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!(
                    "request body is larger than {} bytes",
                    MAX_UPLOAD_PACK_REQUEST
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
