//! Git LFS over HTTP (`<repo URL>/info/lfs/...`): the batch API, basic transfer (PUT, GET with
//! `Range`, verify), locks, and the legacy v1 object API, for `hubctl serve` and `hubctl cgi`
//! alike. A thin adapter: [`crate::access`] decides, [`crate::lfs`] does the work, and this
//! module parses requests and renders LFS's JSON (`application/vnd.git-lfs+json`).
//!
//! Object transfers are authorised by the short-lived, object- and operation-scoped token the
//! batch answer put in each action's `Authorization: RemoteAuth ...` header, so they work
//! behind nginx and CGI and with credential helpers without prompting again; ordinary
//! credentials are accepted there too (scripts that skip the batch call).
//!
//! SSH users come with the API token `git-lfs-authenticate` minted (`Authorization:
//! RemoteAuth lfsapi1...`): it counts as credentials of its user for its repository, capped at
//! its operation (download reads, upload writes), wherever ordinary credentials are taken.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::router::App;
use super::{Method, Request, Response};
use crate::access::authorize::Want;
use crate::access::credentials;
use crate::access::{self, Action, Caller, Denial, Located, Principal, REALM, Site};
use crate::lfs::api::{
    self, BatchRequest, CreateLockRequest, ErrorBody, ListLocksQuery, LockConflict, LockResponse,
    ObjectSpec, UnlockRequest, VerifyLocksRequest,
};
use crate::lfs::batch::{self, DEFAULT_ACTION_TTL_SECS, Limits, TokenActions};
use crate::lfs::locks::{self, LockError, LockFilter};
use crate::lfs::token::is_api_token;
use crate::lfs::{
    ByteRange, ObjectReader, ObjectStore, Oid, OpenError, Operation, PutOutcome, Secret, TokenOp,
    TokenScope, legacy,
};
use crate::store::tokens::Scope;
use crate::store::{self, Store};

/// Largest JSON request body read (a batch of 1000 objects is about 100 KiB).
const MAX_JSON_BODY: u64 = 1024 * 1024;

/// How much of an upload body is read and dropped when the object is already stored, so the
/// client sees the answer instead of a reset (larger bodies close the connection instead).
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Seconds a client is asked to wait when the server is busy (429: git-lfs 3.3.0 retries only
/// 429 with `Retry-After`; a 503 on the batch call is fatal to it).
const RETRY_AFTER: &str = "5";

/// Split `/<repo>/info/lfs/<rest>` into the repository part and `<rest>`.
pub fn split_lfs_path(path: &str) -> Option<(&str, &str)> {
    const MARK: &str = "/info/lfs";
    let at = path
        .find("/info/lfs/")
        .or_else(|| path.ends_with(MARK).then(|| path.len() - MARK.len()))?;
    let repo = &path[..at];
    let rest = path[at + MARK.len()..].trim_start_matches('/');
    (!repo.is_empty() && repo != "/").then_some((repo, rest))
}

/// Answer one LFS request for the repository named by `repo_part`.
pub fn handle(app: &App, req: &mut Request<'_>, repo_part: &str, rest: &str) -> Response {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method.clone();
    match (&method, segments.as_slice()) {
        (Method::Post, ["objects", "batch"]) => batch(app, req, repo_part),
        (Method::Put, ["objects", oid]) => upload(app, req, repo_part, oid),
        (Method::Get | Method::Head, ["objects", oid]) => {
            if wants_json(req) && !has_action_token(req) {
                legacy_get(app, req, repo_part, oid)
            } else {
                download(app, req, repo_part, oid)
            }
        }
        (Method::Post, ["objects"]) => legacy_post(app, req, repo_part),
        (Method::Post, ["verify"]) => verify(app, req, repo_part),
        (Method::Get, ["locks"]) => list_locks(app, req, repo_part),
        (Method::Post, ["locks"]) => create_lock(app, req, repo_part),
        (Method::Post, ["locks", "verify"]) => verify_locks(app, req, repo_part),
        (Method::Post, ["locks", id, "unlock"]) => unlock(app, req, repo_part, id),
        (_, ["objects", "batch"] | ["objects"] | ["verify"] | ["locks", ..]) => error(
            405,
            format!("method {} is not allowed here", method.as_str()),
        ),
        (_, ["objects", _]) => error(
            405,
            format!("method {} is not allowed here", method.as_str()),
        ),
        _ => error(404, "not found"),
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// An LFS JSON error: `{"message": ...}` with LFS's media type. A 503 (the object store is
/// unavailable for now) says when to come back.
fn error(status: u16, message: impl Into<String>) -> Response {
    let r = json(status, &ErrorBody::new(message));
    if status == 503 {
        r.header("Retry-After", RETRY_AFTER)
    } else {
        r
    }
}

fn json(status: u16, value: &impl Serialize) -> Response {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    Response::new(status)
        .header("Content-Type", api::MEDIA_TYPE)
        .bytes(body)
}

/// "Try again shortly" for a request to `path` before it could be routed (the database was
/// busy while the transport started): LFS's 429 with `Retry-After` on LFS routes, which
/// git-lfs retries, and the plain 503 with `Retry-After` elsewhere.
pub fn busy(path: &str) -> Response {
    if split_lfs_path(path).is_some() {
        denial(&Denial::Busy)
    } else {
        super::refusal::text(&Denial::Busy)
    }
}

/// An access refusal in LFS's terms: the challenge in both `LFS-Authenticate` and
/// `WWW-Authenticate`, "try later" as 429 with `Retry-After`.
fn denial(d: &Denial) -> Response {
    let challenge = format!("Basic realm=\"{REALM}\"");
    match d {
        Denial::Unauthenticated | Denial::BadCredentials(_) => {
            if let Denial::BadCredentials(why) = d {
                eprintln!("hubctl: refused credentials: {why}");
            }
            error(401, d.message())
                .header("LFS-Authenticate", challenge.clone())
                .header("WWW-Authenticate", challenge)
        }
        Denial::Challenge(challenge) => error(401, d.message())
            .header("LFS-Authenticate", challenge.clone())
            .header("WWW-Authenticate", challenge.clone()),
        Denial::NotFound => error(404, "repository not found"),
        Denial::Forbidden(why) => error(403, why.clone()),
        Denial::BadRequest(why) => error(400, why.clone()),
        Denial::Busy => error(429, d.message()).header("Retry-After", RETRY_AFTER),
        Denial::Internal(why) => {
            eprintln!("hubctl: {why}");
            error(500, "server error")
        }
    }
}

fn store_error(e: store::Error) -> Response {
    denial(&Denial::from(e))
}

fn lock_error(e: LockError) -> Response {
    match e {
        LockError::Sql(e) => store_error(store::Error::from(e)),
        // A conflict carries the existing lock, which the client shows.
        LockError::Conflict(existing) => json(
            409,
            &LockConflict {
                lock: existing.to_wire(),
                message: "already created lock".into(),
            },
        ),
        other => error(other.status(), other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

fn wants_json(req: &Request<'_>) -> bool {
    req.headers
        .get("Accept")
        .is_some_and(|a| a.contains(api::MEDIA_TYPE))
}

/// An object- and operation-scoped action token from a batch answer (not an API token).
fn has_action_token(req: &Request<'_>) -> bool {
    req.headers
        .get("Authorization")
        .is_some_and(|a| a.trim_start().starts_with("RemoteAuth ") && !is_api_token(a))
}

/// An API token from `git-lfs-authenticate`, as the whole header value.
fn api_token<'r>(req: &'r Request<'_>) -> Option<&'r str> {
    req.headers
        .get("Authorization")
        .filter(|a| a.trim_start().starts_with("RemoteAuth ") && is_api_token(a))
}

/// API calls must accept LFS's JSON: an `Accept` naming something else is a 406.
fn check_accept(req: &Request<'_>) -> Result<(), Response> {
    let Some(accept) = req.headers.get("Accept") else {
        return Ok(());
    };
    let ok = accept.split(',').any(|item| {
        let media = item.split(';').next().unwrap_or_default().trim();
        media.eq_ignore_ascii_case(api::MEDIA_TYPE)
            || media.eq_ignore_ascii_case("application/json")
            || media == "*/*"
            || media.eq_ignore_ascii_case("application/*")
    });
    if ok {
        Ok(())
    } else {
        Err(error(
            406,
            format!(
                "the LFS API answers {}; Accept was {accept:?}",
                api::MEDIA_TYPE
            ),
        ))
    }
}

/// Read a bounded JSON body.
fn read_json<T: DeserializeOwned>(req: &mut Request<'_>) -> Result<T, Response> {
    let mut body = Vec::new();
    (&mut *req.body)
        .take(MAX_JSON_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| error(400, format!("reading the request body: {e}")))?;
    if body.len() as u64 > MAX_JSON_BODY {
        return Err(error(413, "the request body is too large"));
    }
    serde_json::from_slice(&body).map_err(|e| error(400, format!("invalid JSON body: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Access

/// What every LFS handler works on: the repository, who asks, and where its objects live.
struct Target {
    located: Located,
    principal: Principal,
    /// The repository's key in action tokens: its hosted name or its project-relative path.
    key: String,
    storage: Box<dyn ObjectStore>,
}

fn repo_key(site: &Site, located: &Located) -> String {
    match (&located.name, site) {
        (Some(name), _) => name.to_string(),
        (None, Site::ProjectRoot { dir, .. }) => located
            .git_dir
            .strip_prefix(dir)
            .unwrap_or(&located.git_dir)
            .display()
            .to_string(),
        (None, Site::Hosted(_)) => located.git_dir.display().to_string(),
    }
}

/// Authenticate the request's credentials and authorise `action` on the repository.
fn authorize(
    app: &App,
    req: &Request<'_>,
    repo_part: &str,
    action: Action,
) -> Result<Target, Response> {
    if let Some(token) = api_token(req) {
        let principal = api_principal(app, token, repo_part, action)?;
        req.note_user(&principal);
        let located = app
            .gate(req)
            .repository(&app.site, repo_part, &principal, lfs_want(action))
            .map_err(|d| denial(&d))?;
        return target(app, located, principal);
    }
    let presented = req.presented(app.options.trust_remote_user);
    let principal = credentials::authenticate(&app.site, presented).map_err(|d| denial(&d))?;
    req.note_user(&principal);
    let located = app
        .gate(req)
        .repository(&app.site, repo_part, &principal, lfs_want(action))
        .map_err(|d| denial(&d))?;
    target(app, located, principal)
}

/// What an LFS route needs at the table's `action` level.
fn lfs_want(action: Action) -> Want {
    match action {
        Action::Read => Want::LfsRead,
        Action::Write => Want::LfsWrite,
        Action::Admin => Want::Admin,
    }
}

/// Who an API token from `git-lfs-authenticate` speaks for, if it is valid for this repository
/// and its operation allows `action`. A bad or expired token is a 401, like any other bad
/// credentials; a download token used to write is a 403.
fn api_principal(
    app: &App,
    token: &str,
    repo_part: &str,
    action: Action,
) -> Result<Principal, Response> {
    let Site::Hosted(root) = &app.site else {
        // git-http-backend mode has no SSH users and never mints these.
        return Err(denial(&Denial::BadCredentials(
            "a git-lfs-authenticate token in git-http-backend mode",
        )));
    };
    let name = access::parse_hosted_name(repo_part).map_err(|d| denial(&d))?;
    // Tokens name the stored spelling; the client may have spelt the URL differently.
    let name = store::with_store(root, |s| s.canonical_repo_name(&name)).map_err(store_error)?;
    let secret = secret(&app.site)?;
    let claims = secret
        .verify_api(token, &name.to_string(), SystemTime::now())
        .map_err(|e| match e.status() {
            500 => denial(&Denial::Internal(e.to_string())),
            _ => denial(&Denial::BadCredentials(
                "invalid or expired git-lfs-authenticate token",
            )),
        })?;
    let allowed = match claims.operation {
        Operation::Download => Action::Read,
        Operation::Upload => Action::Write,
    };
    if action > allowed {
        return Err(denial(&Denial::Forbidden(format!(
            "this token from git-lfs-authenticate is for {}; {} needs one for upload",
            claims.operation.as_str(),
            name
        ))));
    }
    let Some(user_id) = claims.user_id else {
        return Ok(Principal::Local);
    };
    match store::with_store(root, |s| s.user_by_id(user_id)).map_err(store_error)? {
        Some(user) => Ok(Principal::User(Caller {
            user,
            scope: Scope::Write,
        })),
        None => Err(denial(&Denial::BadCredentials(
            "git-lfs-authenticate token of a deleted user",
        ))),
    }
}

fn target(app: &App, located: Located, principal: Principal) -> Result<Target, Response> {
    let key = repo_key(&app.site, &located);
    let storage = match &app.site {
        Site::Hosted(root) => store::with_store(root, |s| {
            Ok(crate::lfs::storage::open_in(
                s,
                &located.git_dir,
                located.name.as_ref(),
            ))
        })
        .map_err(store_error)?,
        // git-http-backend mode keeps objects beside the repository, with no settings.
        Site::ProjectRoot { .. } => {
            Ok(Box::new(crate::lfs::FsStore::new(&located.git_dir)) as Box<dyn ObjectStore>)
        }
    };
    let storage = match storage {
        Ok(s) => s,
        Err(OpenError::Store(e)) => return Err(store_error(e)),
        Err(OpenError::Storage(e)) => {
            eprintln!("hubctl: LFS storage of {key}: {e}");
            return Err(error(e.status(), e.to_string()));
        }
    };
    Ok(Target {
        located,
        principal,
        key,
        storage,
    })
}

/// An object transfer: authorised by its action token when it carries one, else by the
/// request's credentials. Returns the target and the size the token announced.
fn authorize_transfer(
    app: &App,
    req: &Request<'_>,
    repo_part: &str,
    oid: &Oid,
    op: TokenOp,
) -> Result<(Target, Option<u64>), Response> {
    if !has_action_token(req) {
        let action = match op {
            TokenOp::Download => Action::Read,
            TokenOp::Upload | TokenOp::Verify => Action::Write,
        };
        return authorize(app, req, repo_part, action).map(|t| (t, None));
    }
    let located = access::locate(&app.site, repo_part).map_err(|d| denial(&d))?;
    let key = repo_key(&app.site, &located);
    let secret = secret(&app.site)?;
    let header = req.headers.get("Authorization").unwrap_or_default();
    let scope = TokenScope {
        repo: &key,
        oid,
        op,
    };
    // A bad or expired token is a 403: git-lfs then asks the batch API for fresh actions,
    // where a 401 would start its credential prompt (LFS.md §3.2).
    let claims = secret
        .verify(header, &scope, SystemTime::now())
        .map_err(|e| error(403, format!("the action token is not valid: {e}")))?;
    Ok((target(app, located, Principal::Anonymous)?, claims.size))
}

/// The server secret that keys action tokens: `<root>/secret`, or for a git-http-backend
/// project root `<project root>/.hubctl/secret`.
fn secret(site: &Site) -> Result<&'static Secret, Response> {
    static SECRET: OnceLock<(PathBuf, Secret)> = OnceLock::new();
    let dir = match site {
        Site::Hosted(root) => root.path().to_path_buf(),
        Site::ProjectRoot { dir, .. } => dir.join(".hubctl"),
    };
    if let Some((d, s)) = SECRET.get() {
        if *d == dir {
            return Ok(s);
        }
    }
    let load = || -> Result<Secret, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        Secret::load_or_create(&dir).map_err(|e| e.to_string())
    };
    match load() {
        Ok(s) => {
            let (_, s) = SECRET.get_or_init(|| (dir, s));
            Ok(s)
        }
        Err(e) => Err(denial(&Denial::Internal(format!(
            "cannot use the LFS secret: {e}"
        )))),
    }
}

/// The LFS base URL of this repository: below the application's public URL when an
/// embedding application set one, else as the client reached it.
fn base_href(app: &App, req: &Request<'_>, repo_part: &str) -> String {
    let repo = repo_part.trim_end_matches('/');
    if let Some(base) = &app.options.public_base {
        return format!("{base}{repo}/info/lfs");
    }
    let scheme = if req.secure { "https" } else { "http" };
    let host = req.headers.get("Host").unwrap_or("localhost");
    format!("{scheme}://{host}{}{repo}/info/lfs", req.script_name)
}

fn user_id(p: &Principal) -> Option<i64> {
    match p {
        Principal::User(c) => Some(c.user.id),
        _ => None,
    }
}

/// The repository's LFS limits (`repo set NS/NAME max-lfs-object-size|lfs-quota`); a
/// repository without settings (git-http-backend mode, not adopted) has the defaults.
fn limits(app: &App, t: &Target) -> Result<Limits, Response> {
    let (Site::Hosted(root), Some(name)) = (&app.site, &t.located.name) else {
        return Ok(Limits::default());
    };
    let settings = store::with_store(root, |s| s.repo_settings(name)).map_err(store_error)?;
    Ok(settings.as_ref().map(Limits::for_repo).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Batch and transfers

/// Run `f` with the standard action builder for `t`: hubctl's own transfer URLs below this
/// repository's LFS base, each with a fresh object- and operation-scoped token.
fn with_actions(
    app: &App,
    req: &Request<'_>,
    repo_part: &str,
    t: &Target,
    f: impl FnOnce(&TokenActions<'_>) -> Response,
) -> Response {
    let secret = match secret(&app.site) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let base = base_href(app, req, repo_part);
    f(&TokenActions {
        secret,
        repo: &t.key,
        base_href: &base,
        user_id: user_id(&t.principal),
        ttl_secs: DEFAULT_ACTION_TTL_SECS,
        now: SystemTime::now(),
    })
}

fn batch(app: &App, req: &mut Request<'_>, repo_part: &str) -> Response {
    if let Err(r) = check_accept(req) {
        return r;
    }
    let request: BatchRequest = match read_json(req) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let action = if request.operation == "upload" {
        Action::Write
    } else {
        Action::Read
    };
    let t = match authorize(app, req, repo_part, action) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let limits = match limits(app, &t) {
        Ok(l) => l,
        Err(r) => return r,
    };
    with_actions(app, req, repo_part, &t, |actions| {
        match batch::plan(&request, t.storage.as_ref(), &limits, actions) {
            Ok(answer) => json(200, &answer),
            Err(e) => {
                if e.status() >= 500 {
                    eprintln!("hubctl: LFS batch for {}: {e}", t.key);
                }
                error(e.status(), e.to_string())
            }
        }
    })
}

fn parse_oid(text: &str) -> Result<Oid, Response> {
    Oid::parse(text).map_err(|e| error(400, format!("invalid object id: {e}")))
}

fn upload(app: &App, req: &mut Request<'_>, repo_part: &str, oid: &str) -> Response {
    let response = refuse_or_store(app, req, repo_part, oid);
    if response.status >= 400 {
        // Take in (and drop) a bounded rest of a refused body, so the client reads the answer
        // instead of a reset, and a CGI server does not report the program's early exit as a
        // bad gateway. Past the bound the connection closes.
        let rest = io::copy(&mut (&mut *req.body).take(DRAIN_LIMIT + 1), &mut io::sink());
        if !matches!(rest, Ok(n) if n <= DRAIN_LIMIT) {
            return response.header("Connection", "close");
        }
    }
    response
}

fn refuse_or_store(app: &App, req: &mut Request<'_>, repo_part: &str, oid: &str) -> Response {
    let oid = match parse_oid(oid) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (t, announced) = match authorize_transfer(app, req, repo_part, &oid, TokenOp::Upload) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let content_length = req
        .headers
        .get("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(size) = announced.or(content_length) else {
        return error(411, "the object's size is unknown: send Content-Length");
    };
    if let (Some(a), Some(c)) = (announced, content_length) {
        if a != c {
            return error(
                400,
                format!("Content-Length {c} is not the announced size {a}"),
            );
        }
    }
    // The batch checked these already; a PUT that skipped it is held to them too.
    let limits = match limits(app, &t) {
        Ok(l) => l,
        Err(r) => return r,
    };
    if let Some(max) = limits.max_object_size.filter(|max| size > *max) {
        return error(
            413,
            format!("the object is {size} bytes; this repository takes LFS objects up to {max}"),
        );
    }
    if let Some(quota) = limits.quota_bytes {
        let present = matches!(t.storage.stat(&oid), Ok(Some(_)));
        let used = t.storage.usage().map(|u| u.bytes).unwrap_or(0);
        if !present && used.saturating_add(size) > quota {
            return error(
                507,
                format!("this repository's LFS quota of {quota} bytes is used up ({used} used)"),
            );
        }
    }
    match t.storage.put_verified(&oid, size, &mut *req.body) {
        Ok(PutOutcome::Stored) => Response::new(200),
        Ok(PutOutcome::AlreadyPresent) => {
            // The body was not read: take it in (bounded) so the client reads the answer.
            let drained = io::copy(&mut (&mut *req.body).take(DRAIN_LIMIT + 1), &mut io::sink());
            match drained {
                Ok(n) if n <= DRAIN_LIMIT => Response::new(200),
                _ => Response::new(200).header("Connection", "close"),
            }
        }
        Err(e) => {
            if e.status() >= 500 {
                eprintln!("hubctl: LFS upload of {oid} into {}: {e}", t.key);
            }
            error(e.status(), e.to_string())
        }
    }
}

/// Parse `Range: bytes=N-` or `bytes=N-M` (one range; anything else is ignored, as RFC 9110
/// allows, and the whole object is sent).
fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let start = start.trim().parse::<u64>().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse::<u64>().ok()?),
    };
    Some(ByteRange { start, end })
}

fn download(app: &App, req: &Request<'_>, repo_part: &str, oid: &str) -> Response {
    let oid = match parse_oid(oid) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let t = match authorize_transfer(app, req, repo_part, &oid, TokenOp::Download) {
        Ok((t, _)) => t,
        Err(r) => return r,
    };
    let range = req.headers.get("Range").and_then(parse_range);
    match t.storage.get(&oid, range) {
        Ok(object) => {
            let partial = range.is_some();
            let mut r = Response::new(if partial { 206 } else { 200 })
                .header("Content-Type", "application/octet-stream")
                .header("Accept-Ranges", "bytes");
            if partial {
                let last = (object.start + object.len).saturating_sub(1);
                r = r.header(
                    "Content-Range",
                    format!("bytes {}-{last}/{}", object.start, object.size),
                );
            }
            if req.method == Method::Head {
                // The transport sends no body for HEAD; the length still describes the object.
                return r.sized(Box::new(io::empty()), object.len);
            }
            match (object.reader, t.storage.local_path(&oid)) {
                (ObjectReader::File(f), Some(path)) => r.file(f.into_inner(), object.len, path),
                (other, _) => r.sized(other.boxed(), object.len),
            }
        }
        Err(e) => {
            if e.status() >= 500 {
                eprintln!("hubctl: LFS download of {oid} from {}: {e}", t.key);
            }
            let mut r = error(e.status(), e.to_string());
            if e.status() == 416 {
                if let Ok(Some(size)) = t.storage.stat(&oid) {
                    r = r.header("Content-Range", format!("bytes */{size}"));
                }
            }
            r
        }
    }
}

fn verify(app: &App, req: &mut Request<'_>, repo_part: &str) -> Response {
    let spec: ObjectSpec = match read_json(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let oid = match parse_oid(&spec.oid) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let t = match authorize_transfer(app, req, repo_part, &oid, TokenOp::Verify) {
        Ok((t, _)) => t,
        Err(r) => return r,
    };
    match batch::verify_object(t.storage.as_ref(), &spec) {
        Ok(_) => json(200, &serde_json::json!({})),
        Err(e) => {
            if e.status() >= 500 {
                eprintln!("hubctl: LFS verify of {oid} in {}: {e}", t.key);
            }
            error(e.status(), e.to_string())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Legacy v1 API

fn legacy_answer(result: Result<legacy::LegacyAnswer, legacy::LegacyError>) -> Response {
    match result {
        Ok(answer) => json(answer.status, &answer.body),
        Err(e) => error(e.status(), e.to_string()),
    }
}

fn legacy_get(app: &App, req: &Request<'_>, repo_part: &str, oid: &str) -> Response {
    let t = match authorize(app, req, repo_part, Action::Read) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let self_href = format!("{}/objects/{oid}", base_href(app, req, repo_part));
    with_actions(app, req, repo_part, &t, |actions| {
        legacy_answer(legacy::get_object(
            t.storage.as_ref(),
            oid,
            Some(self_href),
            actions,
        ))
    })
}

fn legacy_post(app: &App, req: &mut Request<'_>, repo_part: &str) -> Response {
    if let Err(r) = check_accept(req) {
        return r;
    }
    let spec: ObjectSpec = match read_json(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let t = match authorize(app, req, repo_part, Action::Write) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let limits = match limits(app, &t) {
        Ok(l) => l,
        Err(r) => return r,
    };
    with_actions(app, req, repo_part, &t, |actions| {
        legacy_answer(legacy::start_upload(
            t.storage.as_ref(),
            &spec,
            &limits,
            actions,
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Locks

/// A lock request's repository: hosted (locks need accounts), its row id, and the caller.
struct LockTarget {
    target: Target,
    root: crate::core::root::Root,
    repo_id: i64,
    user_id: i64,
}

fn lock_target(
    app: &App,
    req: &Request<'_>,
    repo_part: &str,
    action: Action,
) -> Result<LockTarget, Response> {
    let Site::Hosted(root) = &app.site else {
        return Err(error(
            501,
            "locks need hubctl's accounts; a git-http-backend project root has none",
        ));
    };
    let t = authorize(app, req, repo_part, action)?;
    let Some(user_id) = user_id(&t.principal) else {
        // Anonymous readers of public repositories may list locks; they own none. Neither
        // does an embedding application's own user, who may list and verify them (git-lfs
        // verifies before every push) but not take or release one.
        if action == Action::Read || matches!(t.principal, Principal::Application(_)) {
            return lock_row(root, t, -1);
        }
        if t.principal == Principal::Local {
            return Err(error(
                403,
                "locks belong to users: mint the token with hubctl lfs-authenticate --user NAME",
            ));
        }
        return Err(denial(&Denial::Unauthenticated));
    };
    lock_row(root, t, user_id)
}

/// Why a user the embedding application named cannot take or release a lock.
const APPLICATION_LOCKS: &str =
    "locks belong to hubctl users; this user was named by the embedding application";

fn lock_row(
    root: &crate::core::root::Root,
    t: Target,
    user_id: i64,
) -> Result<LockTarget, Response> {
    let Some(name) = t.located.name.clone() else {
        return Err(error(404, "repository not found"));
    };
    let row = store::with_store(root, |s| s.repo_row(&name)).map_err(store_error)?;
    let Some(row) = row else {
        // On disk but not adopted: administrators reach it, but it has no row to hang locks on.
        return Err(error(
            409,
            "this repository is not adopted (hubctl repo adopt); it cannot hold locks",
        ));
    };
    Ok(LockTarget {
        target: t,
        root: root.clone(),
        repo_id: row.id,
        user_id,
    })
}

fn with_conn<T>(
    root: &crate::core::root::Root,
    f: impl FnOnce(&Store) -> Result<T, LockError>,
) -> Result<T, Response> {
    match store::with_store::<_, LockOrStore>(root, |s| f(s).map_err(LockOrStore::Lock)) {
        Ok(v) => Ok(v),
        Err(LockOrStore::Lock(e)) => Err(lock_error(e)),
        Err(LockOrStore::Store(e)) => Err(store_error(e)),
    }
}

/// The two ways a lock operation fails: the lock itself, or the database under it.
enum LockOrStore {
    Lock(LockError),
    Store(store::Error),
}

impl From<store::Error> for LockOrStore {
    fn from(e: store::Error) -> Self {
        LockOrStore::Store(e)
    }
}

fn list_locks(app: &App, req: &Request<'_>, repo_part: &str) -> Response {
    if let Err(r) = check_accept(req) {
        return r;
    }
    let lt = match lock_target(app, req, repo_part, Action::Read) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let query = ListLocksQuery {
        path: req.query_param("path"),
        id: req.query_param("id"),
        cursor: req.query_param("cursor"),
        limit: req.query_param("limit"),
        refspec: req.query_param("refspec"),
    };
    let filter = match LockFilter::from_query(&query) {
        Ok(f) => f,
        Err(e) => return lock_error(e),
    };
    match with_conn(&lt.root, |s| locks::list(s.conn(), lt.repo_id, &filter)) {
        Ok(page) => json(200, &page.to_wire()),
        Err(r) => r,
    }
}

/// A lock call with a JSON body: LFS's media type accepted, the body read, the caller
/// authorised for `action` on a repository that can hold locks.
fn lock_request<T: DeserializeOwned>(
    app: &App,
    req: &mut Request<'_>,
    repo_part: &str,
    action: Action,
) -> Result<(T, LockTarget), Response> {
    check_accept(req)?;
    let body = read_json(req)?;
    let lt = lock_target(app, req, repo_part, action)?;
    Ok((body, lt))
}

fn create_lock(app: &App, req: &mut Request<'_>, repo_part: &str) -> Response {
    let (body, lt): (CreateLockRequest, LockTarget) =
        match lock_request(app, req, repo_part, Action::Write) {
            Ok(v) => v,
            Err(r) => return r,
        };
    if lt.user_id < 0 {
        return error(403, APPLICATION_LOCKS);
    }
    let refname = api::GitRef::name(&body.git_ref).map(str::to_string);
    let created = with_conn(&lt.root, |s| {
        locks::create(
            s.conn(),
            lt.repo_id,
            &body.path,
            lt.user_id,
            refname.as_deref(),
        )
    });
    match created {
        Ok(lock) => json(
            201,
            &LockResponse {
                lock: lock.to_wire(),
            },
        ),
        Err(r) => r,
    }
}

fn verify_locks(app: &App, req: &mut Request<'_>, repo_part: &str) -> Response {
    let (body, lt): (VerifyLocksRequest, LockTarget) =
        match lock_request(app, req, repo_part, Action::Write) {
            Ok(v) => v,
            Err(r) => return r,
        };
    let page = with_conn(&lt.root, |s| {
        locks::verify(
            s.conn(),
            lt.repo_id,
            lt.user_id,
            body.cursor.as_deref(),
            body.page_limit(),
        )
    });
    match page {
        Ok(p) => json(200, &p.to_wire()),
        Err(r) => r,
    }
}

fn unlock(app: &App, req: &mut Request<'_>, repo_part: &str, id: &str) -> Response {
    let (body, lt): (UnlockRequest, LockTarget) =
        match lock_request(app, req, repo_part, Action::Write) {
            Ok(v) => v,
            Err(r) => return r,
        };
    if lt.user_id < 0 {
        return error(403, APPLICATION_LOCKS);
    }
    // Forcing another user's lock open needs admin on the repository; the owner needs no
    // force at all.
    if body.force {
        let existing = with_conn(&lt.root, |s| locks::get(s.conn(), lt.repo_id, id));
        let foreign = match existing {
            Ok(Some(lock)) => lock.owner_id != lt.user_id,
            Ok(None) => false,
            Err(r) => return r,
        };
        let admin =
            app.gate(req)
                .repository(&app.site, repo_part, &lt.target.principal, Want::Admin);
        if foreign && admin.is_err() {
            return error(
                403,
                "removing another user's lock with --force needs admin access to the repository",
            );
        }
    }
    let removed = with_conn(&lt.root, |s| {
        locks::unlock(s.conn(), lt.repo_id, id, lt.user_id, body.force)
    });
    match removed {
        Ok(lock) => json(
            200,
            &LockResponse {
                lock: lock.to_wire(),
            },
        ),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lfs_paths() {
        assert_eq!(
            split_lfs_path("/a/b.git/info/lfs/objects/batch"),
            Some(("/a/b.git", "objects/batch"))
        );
        assert_eq!(
            split_lfs_path("/a/b/info/lfs/locks"),
            Some(("/a/b", "locks"))
        );
        assert_eq!(split_lfs_path("/a/b.git/info/lfs"), Some(("/a/b.git", "")));
        assert_eq!(split_lfs_path("/info/lfs/objects/batch"), None);
        assert_eq!(split_lfs_path("/a/b.git/info/refs"), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("bytes=10-"),
            Some(ByteRange {
                start: 10,
                end: None
            })
        );
        assert_eq!(
            parse_range("bytes=0-99"),
            Some(ByteRange {
                start: 0,
                end: Some(99)
            })
        );
        assert_eq!(parse_range("bytes=0-1,5-6"), None);
        assert_eq!(parse_range("bytes=-5"), None);
        assert_eq!(parse_range("items=0-1"), None);
    }
}
