//! Attacks on `hubctl serve` by an anonymous client, each performed for real on 127.0.0.1
//! and bounded in count and time: what the server holds must stay bounded, and other
//! clients must still be served.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::fetch::engine_processes;
use crate::harness::*;

const REPO: &str = "alice/pub";

/// A server with a public repository and short timeouts, so attacks finish quickly.
fn server(env: &Env, settings: &[(&str, &str)]) -> Server {
    env.hosted_fixture(REPO, "main");
    for (k, v) in settings {
        env.hubctl_ok(&["config", "set", k, v]);
    }
    env.serve(&[])
}

fn connect(server: &Server) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Everything the server sends until it closes (or the 20 s read timeout).
fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Send `request` and return what comes back before the server closes, with the time taken.
fn exchange(server: &Server, request: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    let mut s = connect(server);
    let _ = s.write_all(request);
    (read_to_close(&mut s), started.elapsed())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// One header line of 200 MB without a CRLF: the connection is closed with 431 once the line
/// passes its limit, and the server's memory never grows with it (upstream tiny_http held the
/// whole line: 20 MB → 222 MB).
#[test]
fn oversized_header_line_is_cut_off() {
    let env = Env::new();
    let server = server(&env, &[]);
    let before = rss_kib(server.pid());
    let mut s = connect(&server);
    s.write_all(b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\nX-Big: ")
        .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut sent = 0usize;
    let started = Instant::now();
    while sent < 200 << 20 && started.elapsed() < Duration::from_secs(30) {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(
        sent < 16 << 20,
        "the server kept reading the line: {sent} bytes taken"
    );
    let answer = read_to_close(&mut s);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    let after = rss_kib(server.pid());
    assert!(
        after < 64 * 1024 && after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    // Others are served as before.
    let (head, _) = exchange(
        &server,
        b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

/// Framing RFC 9112 refuses, and bytes that are not HTTP/1.x: each answered at once and
/// closed, never a hang.
#[test]
fn bad_framing_and_non_http_are_closed_at_once() {
    let env = Env::new();
    let server = server(&env, &[]);
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "Transfer-Encoding other than chunked",
            b"POST /alice/pub.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
            "HTTP/1.1 501",
        ),
        (
            "Content-Length with Transfer-Encoding",
            b"POST /alice/pub.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 400",
        ),
        (
            "bare LF line ends",
            b"GET /alice/pub.git/HEAD HTTP/1.1\nHost: x\n\n",
            "HTTP/1.1 400",
        ),
        (
            "a TLS ClientHello on the plain port",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            "HTTP/1.1 400",
        ),
        (
            "the HTTP/2 connection preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "505",
        ),
    ];
    for (what, request, expected) in cases {
        let (answer, took) = exchange(&server, request);
        assert!(
            answer.starts_with(expected) || answer.contains(&format!(" {expected} ")),
            "{what}: {answer:?}"
        );
        assert!(
            took < Duration::from_secs(10),
            "{what}: the connection stayed open for {took:?}"
        );
    }
}

/// A request head that never ends is closed after the header timeout.
#[test]
fn a_stalled_request_head_is_closed() {
    let env = Env::new();
    let server = server(&env, &[("header-timeout", "2s")]);
    let (answer, took) = exchange(&server, b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\n");
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(15),
        "closed after {took:?}"
    );
}

/// Sixteen anonymous uploads that send a partial pkt-line and then nothing hold no engine
/// slot and no git process while they stall (only a request that has arrived takes a slot),
/// so other clients are served at once; the stalled requests end after the idle timeout.
#[test]
fn stalled_bodies_hold_no_slot_and_end_after_the_idle_timeout() {
    let env = Env::new();
    let server = server(&env, &[("idle-timeout", "30s"), ("max-engines", "4")]);
    let mut stalled = Vec::new();
    for _ in 0..16 {
        let mut s = connect(&server);
        // Their answer comes after the idle timeout.
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(
            b"POST /alice/pub.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 100000\r\n\r\n0032want ",
        )
        .unwrap();
        stalled.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let bare = env.bare(REPO);
    assert!(
        engine_processes(&bare).is_empty(),
        "stalled requests started git: {:?}",
        engine_processes(&bare)
    );
    // Others: the HEAD route and a full clone, well within the idle timeout.
    let started = Instant::now();
    let (head, _) = exchange(
        &server,
        b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let dest = env.path("clone");
    let out = env.git(
        env.dir.path(),
        &["clone", "-q", &server.url(REPO), dest.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Well within the 30 s idle timeout the stalled requests could hold things for.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the clone waited {:?} behind stalled requests",
        started.elapsed()
    );
    // The stalled requests are answered with a 400 once the idle timeout passes.
    let started = Instant::now();
    for (i, s) in stalled.iter_mut().enumerate() {
        let mut buf = [0u8; 64];
        let answer = loop {
            match s.read(&mut buf) {
                Ok(n) => break String::from_utf8_lossy(&buf[..n]).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break format!("<{e}>"),
            }
        };
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "stalled request {i}: {answer:?} after {:?}; server log:\n{}",
            started.elapsed(),
            server.log.lines().join("\n")
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "stalled requests were answered only after {:?}",
        started.elapsed()
    );
    assert!(engine_processes(&bare).is_empty());
}

/// Connections beyond the per-address limit are refused politely with 503.
#[test]
fn connections_beyond_the_limit_get_503() {
    let env = Env::new();
    let server = server(&env, &[("max-connections-per-ip", "8")]);
    let held: Vec<TcpStream> = (0..8).map(|_| connect(&server)).collect();
    // The accept loop admits connections in order; give it a moment to count all eight.
    assert!(eventually(Duration::from_secs(5), || {
        let (answer, _) = exchange(
            &server,
            b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        answer.starts_with("HTTP/1.1 503")
    }));
    drop(held);
    assert!(eventually(Duration::from_secs(10), || {
        let (answer, _) = exchange(
            &server,
            b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        answer.starts_with("HTTP/1.1 200")
    }));
}

/// The operator's commands stay inside the root as HTTP and SSH do: a namespace directory that
/// is a symbolic link to somewhere else is no way to adopt, show, maintain, delete or serve
/// what lies there, and a repository entry that is itself a link is removed as a link.
#[test]
fn operator_commands_stay_inside_the_root() {
    use std::os::unix::fs::symlink;
    let env = Env::new();
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    env.git_ok(&outside, &["init", "-q", "--bare", "data.git"]);
    let victim = outside.join("data.git");
    std::fs::create_dir_all(env.root.join("repos")).unwrap();
    symlink(&outside, env.root.join("repos/zed")).unwrap();
    let refusals: &[&[&str]] = &[
        &["repo", "adopt", "zed/data"],
        &["repo", "show", "zed/data"],
        &["repo", "gc", "zed/data"],
        &["repo", "rm", "zed/data", "--yes"],
        &["lfs", "ls", "zed/data"],
        &["upload-pack", "--advertise-refs", "zed/data"],
    ];
    for args in refusals {
        let out = env.hubctl(args);
        assert!(
            !out.status.success(),
            "hubctl {args:?} reached outside the root"
        );
        assert!(
            victim.join("HEAD").is_file(),
            "hubctl {args:?} touched the outside repository"
        );
    }
    let out = env.hubctl(&["repo", "rm", "zed/data", "--yes"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("leads outside"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!env.hubctl_ok(&["repo", "list"]).contains("zed/data"));

    // A repository entry that is a link: `repo rm` removes the link, never what it points at.
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", "alice/real"]);
    let link = env.root.join("repos/alice/link.git");
    symlink(&victim, &link).unwrap();
    env.hubctl_ok(&["repo", "rm", "alice/link", "--yes"]);
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is still there"
    );
    assert!(victim.join("HEAD").is_file(), "repo rm followed the link");
    assert!(victim.join("objects").is_dir());
}

/// A corrupted database: the client gets a 500 with a generic message, the SQLite detail goes
/// to the server's log only (nginx's error log, through fcgiwrap's stderr).
#[test]
fn a_corrupted_database_is_not_described_to_clients() {
    let env = Env::new();
    env.hosted_fixture(REPO, "main");
    let nginx = Nginx::start(&env, NginxOptions::default());
    let url = format!(
        "{}/{REPO}.git/info/refs?service=git-upload-pack",
        nginx.base
    );
    assert_eq!(curl(&[&url]).0, 200);
    let db = env.root.join("hubctl.db");
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", db.display()));
    }
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let (status, text) = curl(&[&url]);
    assert_eq!(status, 500, "{text}");
    let lower = text.to_lowercase();
    assert!(
        !lower.contains("database") || lower.contains("error log"),
        "{text}"
    );
    assert!(!lower.contains("not a database"), "{text}");
    assert!(!text.contains(env.root.to_str().unwrap()), "{text}");
    assert!(
        eventually(Duration::from_secs(5), || nginx
            .logs()
            .contains("not a database")),
        "the detail is not in the server's log:\n{}",
        nginx.logs()
    );
}

/// While another process holds the database's write lock, token-authenticated requests are
/// answered at once: the best-effort `last_used` update is skipped instead of waiting out the
/// busy timeout (it made each login take 15 s), so no worker is held and anonymous requests
/// are not stuck behind them.
#[test]
fn a_held_write_lock_does_not_stall_logins() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "init", "alice/priv", "--private"]);
    let server = env.serve(&[]);
    let url = format!(
        "{}/alice/priv.git/info/refs?service=git-upload-pack",
        server.base
    );
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(curl(&["-H", &bearer, &url]).0, 200);
    // Tokens whose last use is never recorded, so each request wants to write it.
    let fresh: Vec<String> = (0..6)
        .map(|i| {
            env.hubctl_ok(&[
                "token",
                "create",
                "--user",
                "alice",
                "--name",
                &format!("t{i}"),
            ])
            .trim()
            .to_string()
        })
        .collect();
    // Another process takes the write lock and keeps it for 25 seconds.
    let db = env.root.join("hubctl.db");
    let mut holder = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3,time,sys\nc=sqlite3.connect({:?},isolation_level=None,timeout=30)\nc.execute('BEGIN IMMEDIATE')\nc.execute('UPDATE settings SET value=value')\nprint('locked',flush=True)\ntime.sleep(25)\nc.execute('ROLLBACK')\n",
            db.display().to_string()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let started = Instant::now();
    let handles: Vec<_> = fresh
        .into_iter()
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || curl(&["-H", &format!("Authorization: Bearer {t}"), &url]).0)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    // Far less than the 15 s busy timeout each login used to wait, or the 25 s lock.
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "logins waited {:?} for the write lock",
        started.elapsed()
    );
    let _ = holder.kill();
    let _ = holder.wait();
}
