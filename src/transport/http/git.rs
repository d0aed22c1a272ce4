//! Git Smart HTTP: `info/refs`, `git-upload-pack`, `git-receive-pack` and `HEAD`.

use std::io::{self, Cursor, Read};

use super::router::{App, GitEndpoint};
use super::{Request, Response, refusal};
use crate::access::Site;
use crate::access::credentials::{self, Presented};
use crate::access::{self, Action, Located, Principal};
use crate::git::{self, FeedOutcome, RunOptions, Service};

/// Largest decoded upload-pack request accepted. git-http-backend buffers these in memory with
/// a 10 MiB default; hubctl streams them, so a generous bound only stops runaway bodies.
const MAX_UPLOAD_PACK_REQUEST: u64 = 64 * 1024 * 1024;

/// How much of a refused request's remaining body is read so the client gets to see why.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Answer one request for a git endpoint of the repository named by `repo_part`.
pub fn handle(app: &App, req: &mut Request<'_>, repo_part: &str, ep: GitEndpoint) -> Response {
    let service = match ep {
        GitEndpoint::Head => None,
        GitEndpoint::InfoRefs => match req.query_param("service") {
            Some(name) => match Service::from_wire_name(&name) {
                Some(s) => Some(s),
                None => return Response::text(400, format!("unsupported service {name:?}")),
            },
            None => {
                return Response::text(
                    400,
                    "missing ?service=git-upload-pack or ?service=git-receive-pack (dumb HTTP is not served)",
                );
            }
        },
        GitEndpoint::UploadPack => Some(Service::UploadPack),
        GitEndpoint::ReceivePack => Some(Service::ReceivePack),
    };
    let action = match service {
        Some(Service::ReceivePack) => Action::Write,
        _ => Action::Read,
    };
    let presented = Presented {
        authorization: req.headers.get("Authorization"),
        remote_user: req.remote_user.as_deref(),
        trust_remote_user: app.options.trust_remote_user,
    };
    let authorized = credentials::authenticate(&app.site, presented).and_then(|principal| {
        access::authorize(&app.site, repo_part, &principal, action).map(|l| (principal, l))
    });
    let (principal, located) = match authorized {
        Ok(v) => v,
        Err(d) => return refusal::text(&d),
    };
    req.note_user(&principal);
    let Some(service) = service else {
        return head(&located);
    };
    let opts = match run_options(app, req, &located, &principal, service) {
        Ok(o) => o,
        Err(r) => return r,
    };
    if ep == GitEndpoint::InfoRefs {
        advertise(app, &located, service, &opts)
    } else {
        rpc(app, req, &located, service, &opts)
    }
}

fn head(located: &Located) -> Response {
    match std::fs::read_to_string(located.git_dir.join("HEAD")) {
        Ok(text) if text.starts_with("ref: ") || text.trim().len() >= 40 => {
            let line = text.lines().next().unwrap_or_default();
            Response::text(200, line.to_string())
        }
        _ => Response::text(500, "repository HEAD is unreadable"),
    }
}

fn run_options(
    app: &App,
    req: &Request<'_>,
    located: &Located,
    principal: &Principal,
    service: Service,
) -> Result<RunOptions, Response> {
    let mut opts = RunOptions {
        protocol: req
            .headers
            .get("Git-Protocol")
            .and_then(git::sanitize_protocol),
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
                address: Some(req.remote_addr.as_deref().unwrap_or_default()),
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
