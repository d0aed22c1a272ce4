//! Clones and fetches with the real git client over every transport, protocol v0 and v2.

use std::path::Path;
use std::time::Duration;

use crate::harness::*;
use crate::matrix;

const REPO: &str = "alice/project";

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Clone with several branches and both kinds of tags: everything arrives, fsck is clean,
/// HEAD follows the repository's default branch.
fn clone_full(t: Transport, v: u8) {
    let site = Site::start(t, v);
    site.create_fixture(REPO, "trunk");
    let clone = site.clone_ok(REPO, "clone", &[]);
    site.git_ok(&clone, &["fsck", "--strict", "--no-progress"]);
    assert_eq!(
        site.git_ok(&clone, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/trunk"
    );
    let branches = sorted_lines(&site.git_ok(
        &clone,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/remotes/origin/",
        ],
    ));
    assert_eq!(
        branches,
        [
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/dev",
            "refs/remotes/origin/feature/x",
            "refs/remotes/origin/main",
            "refs/remotes/origin/trunk"
        ]
    );
    assert_eq!(
        site.git_ok(&clone, &["cat-file", "-t", "v1.0"]).trim(),
        "tag"
    );
    assert_eq!(
        site.git_ok(&clone, &["cat-file", "-t", "light"]).trim(),
        "commit"
    );
    // Every ref and object id matches the server's repository.
    let bare = site.bare(REPO);
    assert_eq!(site.ls_remote(REPO), refs_of(&site.env, &bare));
    assert_eq!(
        site.git_ok(&clone, &["rev-parse", "origin/feature/x"]),
        site.env.git_ok(&bare, &["rev-parse", "feature/x"])
    );
}
matrix!(clone_full);

/// New commits on the server arrive with `git fetch`; `ls-remote` agrees; the protocol version
/// asked for is the one spoken.
fn fetch_incremental(t: Transport, v: u8) {
    let site = Site::start(t, v);
    let src = site.create_fixture(REPO, "main");
    let clone = site.clone_ok(REPO, "clone", &[]);
    for i in 0..5 {
        site.env.add_commit(
            &src,
            &format!("more/{i}.txt"),
            &format!("{i}\n"),
            &format!("more {i}"),
        );
    }
    site.env.git_ok(&src, &["tag", "v2.0"]);
    site.server_side_push(&src, REPO, "main");
    site.server_side_push(&src, REPO, "refs/tags/v2.0");
    site.git_ok(&clone, &["fetch", "--tags", "origin"]);
    assert_eq!(
        site.git_ok(&clone, &["rev-parse", "origin/main"]),
        site.env.git_ok(&src, &["rev-parse", "main"])
    );
    assert_eq!(
        site.git_ok(&clone, &["rev-parse", "v2.0^{commit}"]),
        site.env.git_ok(&src, &["rev-parse", "main"])
    );
    site.git_ok(&clone, &["fsck", "--no-progress"]);
    assert_eq!(site.ls_remote(REPO), refs_of(&site.env, &site.bare(REPO)));

    let trace = site
        .env
        .git_cmd(&clone)
        .args(["-c", &format!("protocol.version={v}")])
        .args(if t == Transport::Stdio {
            vec![
                "-c".to_string(),
                format!("remote.origin.uploadpack={}", site.upload_pack_cmd()),
            ]
        } else {
            vec![]
        })
        .args(["fetch", "origin"])
        .env("GIT_TRACE_PACKET", "1")
        .output()
        .unwrap();
    let trace = String::from_utf8_lossy(&trace.stderr);
    assert_eq!(
        trace.contains("< version 2"),
        v == 2,
        "[{t:?}] protocol v{v} expected; trace:\n{trace}"
    );
}
matrix!(fetch_incremental);

/// `--depth 1`, then `--deepen`, and `--shallow-since`.
fn shallow(t: Transport, v: u8) {
    let site = Site::start(t, v);
    site.create_fixture(REPO, "main");
    let clone = site.clone_ok(REPO, "shallow", &["--depth", "1", "--branch", "main"]);
    assert_eq!(
        site.git_ok(&clone, &["rev-list", "--count", "HEAD"]).trim(),
        "1"
    );
    assert!(clone.join(".git/shallow").exists());
    site.git_ok(&clone, &["fetch", "--deepen", "1"]);
    assert_eq!(
        site.git_ok(&clone, &["rev-list", "--count", "HEAD"]).trim(),
        "2"
    );
    site.git_ok(&clone, &["fsck", "--no-progress"]);
    // The fixture's main has commits on days 1, 2, 3 after 1_600_000_000: keep the last two.
    let since = site.clone_ok(
        REPO,
        "since",
        &["--shallow-since", "@1600100000", "--branch", "main"],
    );
    assert_eq!(
        site.git_ok(&since, &["rev-list", "--count", "HEAD"]).trim(),
        "2"
    );
    site.git_ok(&since, &["fsck", "--no-progress"]);
}
matrix!(shallow);

/// `--filter=blob:none`, then a checkout that fetches the missing blobs lazily.
fn partial_clone(t: Transport, v: u8) {
    let site = Site::start(t, v);
    site.create_fixture(REPO, "main");
    let clone = site.clone_ok(REPO, "partial", &["--filter=blob:none", "--no-checkout"]);
    let missing = site.git_ok(
        &clone,
        &["rev-list", "--objects", "--missing=print", "--all"],
    );
    let missing_count = missing.lines().filter(|l| l.starts_with('?')).count();
    assert!(missing_count > 0, "no blobs were filtered out:\n{missing}");
    site.git_ok(&clone, &["checkout", "-q", "main"]);
    assert_eq!(
        std::fs::read_to_string(clone.join("dir/sub/nested.txt")).unwrap(),
        "nested 3\n"
    );
    let still_missing = site
        .git_ok(
            &clone,
            &["rev-list", "--objects", "--missing=print", "--all"],
        )
        .lines()
        .filter(|l| l.starts_with('?'))
        .count();
    assert!(still_missing < missing_count, "checkout fetched nothing");
}
matrix!(partial_clone);

/// A repository with a few hundred refs makes git gzip its upload-pack request body.
fn gzip_request(t: Transport, v: u8) {
    let site = Site::start(t, v);
    let src = site.create_fixture(REPO, "main");
    for i in 0..300 {
        site.env
            .git_ok(&src, &["branch", &format!("topic/{i:03}"), "dev"]);
        site.env
            .git_ok(&src, &["tag", &format!("t{i:03}"), "main~1"]);
    }
    site.server_side_push(&src, REPO, "refs/heads/*:refs/heads/*");
    site.server_side_push(&src, REPO, "refs/tags/*:refs/tags/*");
    let mut cmd = site.env.git_cmd(site.env.dir.path());
    cmd.arg("-c").arg(format!("protocol.version={v}"));
    let dest = site.env.path("many");
    let url = site.url(REPO);
    if t == Transport::Stdio {
        cmd.args(["clone", "-u", &site.upload_pack_cmd(), &url]);
    } else {
        cmd.args(["clone", &url]);
    }
    let out = cmd
        .arg(&dest)
        .env("GIT_TRACE_CURL", "1")
        .env("GIT_TRACE_CURL_NO_DATA", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "clone failed: {stderr}\n{}",
        site.server_logs()
    );
    if t.is_http() {
        assert!(
            stderr.contains("Content-Encoding: gzip"),
            "git did not gzip its request; trace:\n{}",
            &stderr[..stderr.len().min(4000)]
        );
    }
    site.git_ok(&dest, &["fsck", "--no-progress"]);
    let remote_branches = site.git_ok(&dest, &["branch", "-r"]).lines().count();
    assert!(remote_branches > 300);
}
matrix!(gzip_request);

/// Cloning an empty repository warns but succeeds.
fn empty_repository(t: Transport, v: u8) {
    let site = Site::start(t, v);
    site.create_empty(REPO, "main");
    let out = site.clone(REPO, "empty", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "clone of an empty repo failed: {stderr}"
    );
    assert!(
        stderr.contains("You appear to have cloned an empty repository"),
        "{stderr}"
    );
}
matrix!(empty_repository);

/// A missing repository is a clear error and git says so. Over hubctl's own HTTP, an anonymous
/// client is asked to authenticate (a missing repository looks like a private one), and a
/// signed-in user is told it is not found. Over SSH the client is always signed in: git shows
/// hubctl's one refusal line.
fn missing_repository(t: Transport, v: u8) {
    let site = Site::start(t, v);
    let out = site.clone("nobody/nothing", "nothing", &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    match t {
        Transport::Stdio => assert!(stderr.contains("does not exist"), "unclear error: {stderr}"),
        Transport::Ssh => assert!(
            stderr.lines().any(|l| l == "hubctl: repository not found"),
            "unclear error: {stderr}"
        ),
        Transport::CgiProjectRoot => {
            assert!(stderr.contains("not found"), "unclear error: {stderr}")
        }
        Transport::Serve | Transport::CgiRoot => {
            assert!(
                stderr.contains("could not read Username"),
                "no auth prompt: {stderr}"
            );
            let token = site.env.user_with_token("someone", &[]);
            let url =
                site.url("nobody/nothing")
                    .replacen("http://", &format!("http://x:{token}@"), 1);
            let out = site.git(site.env.dir.path(), &["ls-remote", &url]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success());
            assert!(stderr.contains("not found"), "unclear error: {stderr}");
        }
    }
}
matrix!(missing_repository);

/// Requests for hostile paths get 400 or 404 and never reach outside the root.
fn hostile_paths(t: Transport) {
    let site = Site::start(t, 0);
    site.create_fixture(REPO, "main");
    // A real repository outside every root, reachable only through a symlink.
    let outside = site.env.path("outside/secret.git");
    std::fs::create_dir_all(&outside).unwrap();
    site.env.git_ok(&outside, &["init", "-q", "--bare"]);
    std::fs::write(outside.join("git-daemon-export-ok"), "").unwrap();
    let (links_dir, base) = match t {
        Transport::CgiProjectRoot => (
            site.project.join("evil"),
            site.nginx.as_ref().unwrap().base.clone(),
        ),
        Transport::CgiRoot => (
            site.env.root.join("repos/evil"),
            site.nginx.as_ref().unwrap().base.clone(),
        ),
        _ => (
            site.env.root.join("repos/evil"),
            site.server.as_ref().unwrap().base.clone(),
        ),
    };
    std::fs::create_dir_all(&links_dir).unwrap();
    std::os::unix::fs::symlink(&outside, links_dir.join("link.git")).unwrap();
    std::os::unix::fs::symlink(
        site.env.path("outside"),
        links_dir.parent().unwrap().join("evilns"),
    )
    .unwrap();
    let q = "info/refs?service=git-upload-pack";
    for path in [
        format!("/evil/link.git/{q}"),
        format!("/evilns/secret.git/{q}"),
        format!("/alice/../../../{}/{q}", outside.display()),
        format!("/alice/%2e%2e/%2e%2e/%2e%2e{}/{q}", outside.display()),
        format!("/%2e%2e/%2e%2e/%2e%2e{}/{q}", outside.display()),
        format!("/{}/{q}", outside.display()),
        format!(
            "//{}/{q}",
            outside.display().to_string().trim_start_matches('/')
        ),
        format!("/alice/project.git/..%2f..%2f..%2fetc/{q}"),
        format!("/alice/%00/{q}"),
        "/alice/project.git/../../HEAD".to_string(),
    ] {
        let (status, body) = curl(&["--path-as-is", &format!("{base}{path}")]);
        // Hosted mode answers a name that does not resolve like a private repository: an
        // anonymous client is asked to authenticate.
        let hosted_anonymous = t != Transport::CgiProjectRoot && status == 401;
        assert!(
            status == 400 || status == 404 || hosted_anonymous,
            "[{t:?}] {path} answered {status}:\n{body}"
        );
        assert!(
            !body.contains("refs/heads"),
            "[{t:?}] {path} leaked refs:\n{body}"
        );
    }
    // And the legitimate path still works.
    let (status, _) = curl(&[&format!("{base}/alice/project.git/{q}")]);
    assert_eq!(status, 200);
}

#[test]
fn hostile_paths_serve() {
    hostile_paths(Transport::Serve)
}
#[test]
fn hostile_paths_cgi_root() {
    hostile_paths(Transport::CgiRoot)
}
#[test]
fn hostile_paths_cgi_project_root() {
    hostile_paths(Transport::CgiProjectRoot)
}

/// Exercises the stdio subcommands' own refusals.
#[test]
fn stdio_refuses_hostile_names() {
    let env = Env::new();
    for arg in ["../etc", "alice/../../x", "/etc/passwd", "a/b/c", "-x/y"] {
        let out = env.hubctl(&["upload-pack", "--", arg]);
        assert!(!out.status.success(), "{arg} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim().lines().count(),
            1,
            "not one line for {arg}: {err}"
        );
    }
}

/// git-http-backend's export rules in project-root mode.
#[test]
fn project_root_export_rules() {
    for export_all in [false, true] {
        let env = Env::new();
        let project = env.path("project");
        let exported = project.join("pub.git");
        let hidden = project.join("hidden.git");
        for dir in [&exported, &hidden] {
            std::fs::create_dir_all(dir).unwrap();
            env.git_ok(dir, &["init", "-q", "--bare"]);
        }
        std::fs::write(exported.join("git-daemon-export-ok"), "").unwrap();
        let nginx = Nginx::start(
            &env,
            NginxOptions {
                site: CgiSite::ProjectRoot {
                    dir: project.clone(),
                    export_all,
                },
                ..NginxOptions::default()
            },
        );
        let q = "info/refs?service=git-upload-pack";
        assert_eq!(curl(&[&nginx.url(&format!("pub.git/{q}"))]).0, 200);
        assert_eq!(
            curl(&[&nginx.url(&format!("pub/{q}"))]).0,
            200,
            "enter_repo-style .git suffix"
        );
        let hidden_status = curl(&[&nginx.url(&format!("hidden.git/{q}"))]).0;
        assert_eq!(hidden_status, if export_all { 200 } else { 404 });
    }
}

/// The HEAD route and git-http-backend's headers.
#[test]
fn head_route_and_headers() {
    let env = Env::new();
    env.hosted_fixture(REPO, "trunk");
    let server = env.serve(&[]);
    let (status, text) = curl(&[&format!("{}/{REPO}.git/HEAD", server.base)]);
    assert_eq!(status, 200);
    assert!(text.contains("Content-Type: text/plain"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nref: refs/heads/trunk\n"),
        "{text:?}"
    );
    let (status, text) = curl(&[&format!(
        "{}/{REPO}/info/refs?service=git-upload-pack",
        server.base
    )]);
    assert_eq!(status, 200);
    for h in [
        "Content-Type: application/x-git-upload-pack-advertisement",
        "Expires: Fri, 01 Jan 1980 00:00:00 GMT",
        "Pragma: no-cache",
        "Cache-Control: no-cache, max-age=0, must-revalidate",
    ] {
        assert!(text.contains(h), "missing {h}:\n{text}");
    }
    assert!(
        text.contains("\r\n\r\n001e# service=git-upload-pack\n0000"),
        "{text}"
    );
    // v2 has no `# service` preamble.
    let (_, text) = curl(&[
        "-H",
        "Git-Protocol: version=2",
        &format!("{}/{REPO}/info/refs?service=git-upload-pack", server.base),
    ]);
    assert!(text.contains("\r\n\r\n000eversion 2\n"), "{text}");
    // An invalid Git-Protocol header is ignored: v0.
    let (_, text) = curl(&[
        "-H",
        "Git-Protocol: version=2 x",
        &format!("{}/{REPO}/info/refs?service=git-upload-pack", server.base),
    ]);
    assert!(text.contains("# service=git-upload-pack"), "{text}");
}

/// Clear errors for wrong methods, services, content types and encodings.
#[test]
fn http_errors() {
    let env = Env::new();
    env.hosted_fixture(REPO, "main");
    let server = env.serve(&[]);
    let base = format!("{}/{REPO}.git", server.base);
    let cases: Vec<(Vec<String>, u16)> = vec![
        (vec![format!("{base}/info/refs?service=git-frob-pack")], 400),
        // Dumb HTTP's ref list: off in hosted mode unless the repository sets
        // http.getanyfile=true (git http-backend's refusal).
        (vec![format!("{base}/info/refs")], 403),
        (
            vec![
                "-X".into(),
                "POST".into(),
                format!("{base}/info/refs?service=git-upload-pack"),
            ],
            405,
        ),
        (vec![format!("{base}/git-upload-pack")], 405),
        (
            vec!["-X".into(), "DELETE".into(), format!("{base}/HEAD")],
            405,
        ),
        (vec![format!("{}/nope", server.base)], 404),
        // (`/` and `/NS/NAME` are pages for browsers: tests/it/operate.rs.)
        (vec![format!("{}/a/b/c", server.base)], 404),
        (
            vec![
                "--data-binary".into(),
                "0000".into(),
                "-H".into(),
                "Content-Type: text/plain".into(),
                format!("{base}/git-upload-pack"),
            ],
            415,
        ),
        (
            vec![
                "--data-binary".into(),
                "0000".into(),
                "-H".into(),
                "Content-Type: application/x-git-upload-pack-request".into(),
                "-H".into(),
                "Content-Encoding: br".into(),
                format!("{base}/git-upload-pack"),
            ],
            415,
        ),
        (
            vec![
                "--data-binary".into(),
                "this is not gzip".into(),
                "-H".into(),
                "Content-Type: application/x-git-upload-pack-request".into(),
                "-H".into(),
                "Content-Encoding: gzip".into(),
                format!("{base}/git-upload-pack"),
            ],
            400,
        ),
        (
            vec![
                "--data-binary".into(),
                "garbage, not pkt-lines".into(),
                "-H".into(),
                "Content-Type: application/x-git-upload-pack-request".into(),
                format!("{base}/git-upload-pack"),
            ],
            400,
        ),
        (
            // A want line cut off in the middle.
            vec![
                "--data-binary".into(),
                "0032want 0123456789".into(),
                "-H".into(),
                "Content-Type: application/x-git-upload-pack-request".into(),
                format!("{base}/git-upload-pack"),
            ],
            400,
        ),
        (
            vec![
                "-H".into(),
                format!("X-Big: {}", "x".repeat(70_000)),
                format!("{base}/HEAD"),
            ],
            431,
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, text) = curl(&args);
        assert_eq!(status, want, "curl {args:?}:\n{text}");
        assert!(
            text.contains("Content-Type: text/plain"),
            "error without a text body: {text}"
        );
    }
    // The push probe's flush-only body is answered with 200 and the result type.
    let (status, text) = curl(&[
        "--data-binary",
        "0000",
        "-H",
        "Content-Type: application/x-git-upload-pack-request",
        &format!("{base}/git-upload-pack"),
    ]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("application/x-git-upload-pack-result"));
    // Every request was logged: time, address, user, method, path, status, bytes, duration.
    assert!(
        eventually(Duration::from_secs(5), || server
            .log
            .lines()
            .iter()
            .any(|l| l.contains(" GET /nope 404 ") && l.contains("ms "))),
        "{:?}",
        server.log.lines()
    );
    assert!(
        no_engine_left(&env.bare(REPO)),
        "stray git processes: {:?}",
        engine_processes(&env.bare(REPO))
    );
}

/// git processes working in `repo` (their cwd or arguments name it).
pub fn engine_processes(repo: &Path) -> Vec<String> {
    let repo = repo.canonicalize().unwrap();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let cwd = std::fs::read_link(e.path().join("cwd"));
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let in_repo =
            cwd.is_ok_and(|c| c.starts_with(&repo)) || cmd.contains(repo.to_str().unwrap());
        if in_repo && (cmd.contains("git") || cmd.contains("hubctl")) {
            found.push(cmd);
        }
    }
    found
}

/// Wait until git's `service` (e.g. `upload-pack`) runs in `repo`: a request has reached it.
pub fn engine_started(repo: &Path, service: &str) -> bool {
    eventually(Duration::from_secs(30), || {
        engine_processes(repo).iter().any(|c| c.contains(service))
    })
}

pub fn no_engine_left(repo: &Path) -> bool {
    eventually(Duration::from_secs(10), || {
        engine_processes(repo).is_empty()
    })
}

/// The bytes waiting in the receive queue of the server's end of a loopback connection
/// (`/proc/net/tcp`), or `None` if there is no such socket.
pub fn server_receive_queue(server_port: u16, client_port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{server_port:04X}");
    let remote = format!("0100007F:{client_port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(1) == Some(&local.as_str()) && f.get(2) == Some(&remote.as_str()) {
            let (_, rx) = f.get(4)?.split_once(':')?;
            u64::from_str_radix(rx, 16).ok()
        } else {
            None
        }
    })
}

/// A client that disconnects in the middle of a clone leaves no git process behind.
fn disconnect_mid_clone(t: Transport) {
    use std::io::{Read, Write};
    let site = Site::start(t, 0);
    let src = site.create_fixture(REPO, "main");
    // 48 MiB of incompressible data: far more than socket buffers hold.
    let mut data = vec![0u8; 48 << 20];
    let mut x: u64 = 0x9E3779B97F4A7C15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(src.join("big.bin"), &data).unwrap();
    site.env.git_ok(&src, &["add", "big.bin"]);
    site.env.git_ok(&src, &["commit", "-qm", "big"]);
    site.server_side_push(&src, REPO, "main");
    let head = site.env.git_ok(&src, &["rev-parse", "main"]);
    let want = format!("want {} side-band-64k ofs-delta\n", head.trim());
    let body = format!("{:04x}{want}00000009done\n", want.len() + 4);
    let (host, path) = match t {
        Transport::Serve => {
            let base = site.server.as_ref().unwrap().base.clone();
            (
                base.trim_start_matches("http://").to_string(),
                format!("/{REPO}.git/git-upload-pack"),
            )
        }
        _ => {
            let base = site.nginx.as_ref().unwrap().base.clone();
            (
                base.trim_start_matches("http://").to_string(),
                format!("/{REPO}.git/git-upload-pack"),
            )
        }
    };
    let mut sock = std::net::TcpStream::connect(&host).unwrap();
    write!(
        sock,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    while got < 256 * 1024 {
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "server closed early");
        got += n;
    }
    assert!(
        !engine_processes(&site.bare(REPO)).is_empty(),
        "expected git to be busy serving the clone"
    );
    drop(sock);
    assert!(
        no_engine_left(&site.bare(REPO)),
        "[{t:?}] git kept running after the client left: {:?}",
        engine_processes(&site.bare(REPO))
    );
}

#[test]
fn disconnect_mid_clone_serve() {
    disconnect_mid_clone(Transport::Serve)
}
#[test]
fn disconnect_mid_clone_cgi() {
    disconnect_mid_clone(Transport::CgiRoot)
}

/// SIGTERM stops accepting but lets a request in flight finish.
#[test]
fn graceful_shutdown() {
    let env = Env::new();
    env.hosted_fixture(REPO, "main");
    let mut server = env.serve(&[]);
    let url = server.url(REPO);
    // A slow client: `git clone` through a throttled connection would be flaky; instead hold
    // a request open by sending the body slowly.
    use std::io::Write;
    let host = server.base.trim_start_matches("http://").to_string();
    let mut sock = std::net::TcpStream::connect(&host).unwrap();
    let head = env.git_ok(&env.bare(REPO), &["rev-parse", "main"]);
    let want = format!("want {} ofs-delta\n", head.trim());
    // Over 1 KiB, so that tiny_http hands the request to a worker before the body is complete.
    let haves: String = (0..40)
        .map(|i| format!("0032have {:040x}\n", i + 1))
        .collect();
    let body = format!("{:04x}{want}0000{haves}0009done\n", want.len() + 4);
    write!(
        sock,
        "POST /{REPO}.git/git-upload-pack HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    sock.write_all(&body.as_bytes()[..100]).unwrap();
    // In flight once the server has taken in the head and the first part of the body (git
    // starts only when the whole request is there, so no git process shows it).
    let client_port = sock.local_addr().unwrap().port();
    let server_port = server.base.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || {
            server_receive_queue(server_port, client_port) == Some(0)
        }),
        "the server never read the request"
    );
    unsafe {
        libc::kill(server.pid() as i32, libc::SIGTERM);
    }
    assert!(
        eventually(Duration::from_secs(10), || std::net::TcpStream::connect(
            &host
        )
        .is_err()),
        "still accepting connections after SIGTERM"
    );
    // Not accepting new work...
    let out = env.git(env.dir.path(), &["ls-remote", &url]);
    assert!(!out.status.success(), "new request served after SIGTERM");
    // ...but the request in flight completes.
    sock.write_all(&body.as_bytes()[100..]).unwrap();
    let mut response = Vec::new();
    use std::io::Read;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = sock.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        response.windows(4).any(|w| w == b"PACK"),
        "no pack in the response"
    );
    let status = server.stop();
    assert!(status.success(), "{status}");
}

/// HTTPS through tiny_http's rustls support.
#[test]
fn https_clone() {
    let env = Env::new();
    env.hosted_fixture(REPO, "main");
    let cert = env.path("cert.pem");
    let key = env.path("key.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = env.serve(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let dest = env.path("tls-clone");
    env.git_ok(
        env.dir.path(),
        &[
            "-c",
            &format!("http.sslCAInfo={}", cert.display()),
            "clone",
            "-q",
            &server.url(REPO),
            dest.to_str().unwrap(),
        ],
    );
    env.git_ok(&dest, &["fsck", "--no-progress"]);
}

/// git is checked once: missing or too old, hubctl says what it needs.
#[test]
fn git_missing_or_too_old() {
    let env = Env::new();
    env.hosted_fixture(REPO, "main");
    let out = env
        .hubctl_cmd()
        .args(["upload-pack", "--advertise-refs", REPO])
        .env("HUBCTL_GIT", "/nonexistent/git")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("git was not found") && err.contains("2.34 or newer"),
        "{err}"
    );
    let fake = env.path("old-git");
    write_script(&fake, "#!/bin/sh\necho 'git version 2.20.1'\n");
    let out = env
        .hubctl_cmd()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HUBCTL_GIT", &fake)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is git 2.20.1, but hubctl needs git 2.34 or newer"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
