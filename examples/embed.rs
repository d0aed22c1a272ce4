//! An application of its own that mounts hubctl at `/git/` beside one route of its own
//! (`/hello`), on tiny_http. See the README's "Embedding" section.
//!
//! ```text
//! cargo run --example embed -- ROOT [--listen 127.0.0.1:8080] [--program PATH] [--public-url URL]
//!     [--only-user NAME] [--user-header HEADER]
//! ```
//!
//! `ROOT` is a hubctl root, managed with the `hubctl` command (`hubctl --root ROOT user add
//! alice`, `repo init`, `token create`); `--program` is that `hubctl` binary when it is not on
//! `PATH` (git runs it for hooks). The first line on stdout is `listening on http://ADDR`.
//! Clone with `git clone http://ADDR/git/NS/NAME.git`.
//!
//! With `--only-user NAME` the application replaces hubctl's access rules with its own
//! ([`OnlyUser`], plugged in with `Builder::authorize`): that hubctl user may read and write
//! every repository, LFS included, whatever hubctl's grants say; any other user is refused,
//! and anonymous callers are asked for credentials in the application's own realm.
//!
//! With `--user-header HEADER` the application's own login comes from that request header
//! (a stand-in for the application's session or SSO; only behind a proxy that sets the header
//! itself): it becomes the request's principal (`Request::user`), a user hubctl's accounts
//! need not know, which `--only-user` then lets in or not.

use std::io::Read;
use std::sync::Arc;

use hubctl::embed::{Authorize, Decision, Hub, Principal, Query, Request};

/// The application's access rule: one user may do everything, nobody else anything.
struct OnlyUser(String);

impl Authorize for OnlyUser {
    fn authorize(&self, q: &Query<'_>) -> Decision {
        match (q.principal, q.principal.user_name()) {
            (Principal::Anonymous, _) => Decision::challenge("Basic realm=\"embed example\""),
            (_, Some(user)) if user == self.0 => Decision::Allow,
            _ => Decision::deny(format!("this application lets only {} in", self.0)),
        }
    }
}

/// Where the application mounts hubctl.
const MOUNT: &str = "/git";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut root = None;
    let mut listen = "127.0.0.1:8080".to_string();
    let mut program = None;
    let mut public_url = None;
    let mut only_user = None;
    let mut user_header = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "--program" => program = Some(args.next().ok_or("--program needs a path")?),
            "--public-url" => public_url = Some(args.next().ok_or("--public-url needs a URL")?),
            "--only-user" => only_user = Some(args.next().ok_or("--only-user needs a name")?),
            "--user-header" => {
                user_header = Some(args.next().ok_or("--user-header needs a header name")?)
            }
            _ if root.is_none() && !arg.starts_with('-') => root = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}").into()),
        }
    }
    let root = root.ok_or(
        "usage: embed ROOT [--listen ADDR] [--program PATH] [--public-url URL] [--only-user NAME] [--user-header HEADER]",
    )?;

    let mut builder = Hub::builder(root).mount(MOUNT);
    if let Some(program) = program {
        builder = builder.program(program);
    }
    if let Some(url) = &public_url {
        builder = builder.public_url(url);
    }
    if let Some(user) = only_user {
        builder = builder.authorize(Arc::new(OnlyUser(user)));
    }
    let hub = builder.open()?;

    // hubctl's stored bounds on clients, applied by this server (the vendored tiny_http's
    // limits; another server has its own knobs for the same).
    let limits = hub.client_limits();
    tiny_http::limits::set(tiny_http::limits::Limits {
        max_line: 16 * 1024,
        max_head: 80 * 1024,
        max_headers: 100,
        head_timeout: Some(limits.header_timeout),
        idle_timeout: Some(limits.idle_timeout),
        max_connections: limits.max_connections,
        max_connections_per_ip: limits.max_connections_per_ip,
    });
    let server = Arc::new(
        tiny_http::Server::http(&listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?,
    );
    println!("listening on http://{}", server.server_addr());

    // A few workers, each with its own handle on the hub (a clone shares everything).
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (server, hub) = (Arc::clone(&server), hub.clone());
            let user_header = user_header.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    answer(&hub, user_header.as_deref(), request);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

/// The application's router: its own route, hubctl below the mount point, 404 elsewhere.
fn answer(hub: &Hub, user_header: Option<&str>, mut rq: tiny_http::Request) {
    let url = rq.url().to_string();
    if url == "/hello" || url.starts_with("/hello?") {
        let _ = rq.respond(tiny_http::Response::from_string(
            "hello from the application\n",
        ));
        return;
    }
    let Some(below) = hub.below_mount(&url) else {
        let _ = rq.respond(tiny_http::Response::from_string("not found\n").with_status_code(404));
        return;
    };

    // The request as hubctl takes it: every header, the client's address, the body reader.
    let mut request = Request::new(rq.method().as_str(), below).secure(rq.secure());
    for h in rq.headers() {
        request = request.header(h.field.as_str().as_str(), h.value.as_str());
    }
    if let Some(addr) = rq.remote_addr() {
        request = request.remote_addr(addr.ip());
    }
    // The application's own login, when it has one for this request.
    let login = user_header.and_then(|name| {
        rq.headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.to_string())
    });
    if let Some(login) = login {
        request = request.user(&login);
    }
    let response = hub.handle(request.body(rq.as_reader()));
    // The application's own access line: hubctl says who the request authenticated as.
    let line = format!(
        "embed: {} {} {url} {}",
        response.user().unwrap_or("-"),
        rq.method(),
        response.status()
    );

    // hubctl's answer, streamed out: Content-Length when known, chunked otherwise.
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()).ok())
        .collect::<Vec<_>>();
    let status = tiny_http::StatusCode(response.status());
    let length = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok());
    let body: Box<dyn Read + Send> = response.into_body();
    let out = tiny_http::Response::new(status, headers, body, length, None)
        // A known length goes out as Content-Length however large (tiny_http would switch
        // to chunked above 32 KiB; LFS clients want the length).
        .with_chunked_threshold(usize::MAX);
    match rq.respond(out) {
        Ok(()) => eprintln!("{line}"),
        Err(e) => eprintln!("{line}: writing the answer failed: {e}"),
    }
}
