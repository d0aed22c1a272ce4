//! Attacks on `hubctl serve` by an anonymous client, each performed for real on 127.0.0.1
//! and bounded in count and time: what the server holds must stay bounded, and other
//! clients must still be served.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::fetch::{engine_processes, engine_started, no_engine_left};
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

/// A request head sent a byte at a time, each well within the read timeout, is still closed
/// once the whole head has taken longer than the header timeout (408).
#[test]
fn a_dribbled_request_head_is_closed_at_its_deadline() {
    let env = Env::new();
    let server = server(&env, &[("header-timeout", "2s")]);
    let started = Instant::now();
    let mut s = connect(&server);
    let head = b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut sent = 0;
    // At most 12 s of dribbling (a byte every 150 ms), far past the 2 s deadline.
    for &byte in head.iter().chain([b'a'; 80].iter()) {
        if s.write_all(&[byte]).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(150));
        if started.elapsed() > Duration::from_secs(12) {
            break;
        }
        // The server answers (and closes) at its deadline; stop once it has.
        s.set_nonblocking(true).unwrap();
        let mut probe = [0u8; 1];
        let closed = s.peek(&mut probe).is_ok();
        s.set_nonblocking(false).unwrap();
        if closed {
            break;
        }
    }
    let answer = read_to_close(&mut s);
    let took = started.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {sent} bytes: {answer}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "closed after {took:?} ({sent} bytes sent)"
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

/// A public repository `alice/big` whose `data.bin` is rewritten with `size` incompressible
/// bytes in each of `commits` commits, so a fetch with `deepen N` sends about `N * size` bytes
/// and every depth is another pack-cache entry. Returns the tip's id.
fn big_repo(env: &Env, commits: usize, size: usize) -> String {
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", "alice/big", "--public"]);
    let wt = env.path("big-src");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..commits {
        let data: Vec<u8> = (0..size / 8)
            .flat_map(|_| {
                // xorshift64: fast, incompressible enough for zlib.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()
            })
            .collect();
        std::fs::write(wt.join("data.bin"), data).unwrap();
        env.git_ok(&wt, &["add", "-A"]);
        env.commit(&wt, &format!("data {i}"), 1_600_000_000 + i as u64 * 60);
    }
    let bare = env.bare("alice/big");
    env.git_ok(&wt, &["push", "-q", bare.to_str().unwrap(), "main"]);
    env.git_ok(&wt, &["rev-parse", "HEAD"]).trim().to_string()
}

/// A protocol v2 `fetch` of `tip` with `deepen N`, as one HTTP request.
fn deepen_request(repo: &str, tip: &str, depth: usize) -> Vec<u8> {
    let pkt = |s: &str| format!("{:04x}{s}", s.len() + 4);
    let body = [
        pkt("command=fetch"),
        "0001".to_string(),
        pkt("ofs-delta\n"),
        pkt(&format!("deepen {depth}\n")),
        pkt(&format!("want {tip}\n")),
        pkt("done\n"),
        "0000".to_string(),
    ]
    .concat();
    format!(
        "POST /{repo}.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nGit-Protocol: version=2\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Read up to `most` bytes of the answer (or until the server closes); the bytes read.
fn read_some(s: &mut TcpStream, most: usize) -> usize {
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < most {
        match s.read(&mut buf[..(most - got).min(64 * 1024)]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

/// Every regular file below `dir` (not following links): (path, length).
fn files_below(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            out.extend(files_below(&e.path()));
        } else if t.is_file() {
            // Gone between the listing and now: not there.
            if let Ok(m) = e.metadata() {
                out.push((e.path(), m.len()));
            }
        }
    }
    out
}

/// The pack-objects hooks running for this test's root.
fn hooks_of(env: &Env) -> Vec<String> {
    let root = env.root.canonicalize().unwrap();
    processes_matching("pack-objects-hook")
        .into_iter()
        .filter(|p| p.contains(&*root.to_string_lossy()))
        .collect()
}

/// Temporary files of the pack cache: fills in progress (or left over).
fn cache_temp_files(env: &Env) -> Vec<std::path::PathBuf> {
    files_below(&env.root.join("cache/packs"))
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".tmp") || name.starts_with(".tmp")
        })
        .collect()
}

/// Issue 13's attack on the pack cache: 20 anonymous fetches with different `deepen N`, all
/// at once, each read for a while and then closed. The cache on disk, fills in progress
/// included, never exceeds its bound, and no temporary file is left once they have ended
/// (before, 163 MiB of `.tmp-*.pack` were left behind).
#[test]
fn aborted_fetches_leave_no_pack_cache_temp_files_and_the_bound_holds() {
    const LIMIT: u64 = 2 << 20;
    let env = Env::new();
    let tip = big_repo(&env, 24, 160 * 1024);
    env.hubctl_ok(&["config", "set", "pack-cache-size", "2MiB"]);
    env.hubctl_ok(&["config", "set", "max-engines", "8"]);
    let server = env.serve(&[]);
    let packs = env.root.join("cache/packs");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (packs, stop) = (packs.clone(), stop.clone());
        std::thread::spawn(move || {
            let (mut most, mut temps_seen) = (0u64, 0usize);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let files = files_below(&packs);
                most = most.max(files.iter().map(|f| f.1).sum());
                temps_seen = temps_seen.max(
                    files
                        .iter()
                        .filter(|f| f.0.to_string_lossy().ends_with(".tmp"))
                        .count(),
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            (most, temps_seen)
        })
    };
    let clients: Vec<_> = (1..=20)
        .map(|depth| {
            let (addr, tip) = (server.base.clone(), tip.clone());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr.trim_start_matches("http://")).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                s.write_all(&deepen_request("alice/big", &tip, depth))
                    .unwrap();
                // Shallow fetches up to depth 6 are read whole (and cached when they fit);
                // deeper ones are cut off after about 1 MiB.
                read_some(&mut s, 1 << 20)
            })
        })
        .collect();
    let read: Vec<usize> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(read.iter().all(|n| *n > 0), "{read:?}");
    // Every hook ends by itself, and removes its temporary file on the way out.
    let ended = eventually(Duration::from_secs(20), || {
        hooks_of(&env).is_empty() && cache_temp_files(&env).is_empty()
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (most, temps_seen) = watcher.join().unwrap();
    assert!(
        ended,
        "left behind: {:?}, hooks: {:?}",
        cache_temp_files(&env),
        hooks_of(&env)
    );
    assert!(temps_seen > 0, "no fill was ever seen in progress");
    assert!(
        most <= LIMIT,
        "the pack cache held {most} bytes, more than its bound of {LIMIT}"
    );
    // Nothing leaked into the bound: the cache still takes a new entry.
    let mut s = connect(&server);
    s.write_all(&deepen_request("alice/big", &tip, 3)).unwrap();
    read_to_close(&mut s);
    // The entry is synced and published just after the response, off the client's path.
    let made = eventually(Duration::from_secs(10), || {
        files_below(&packs)
            .iter()
            .any(|f| f.0.to_string_lossy().ends_with(".pack"))
    });
    assert!(made, "no cache entry was made");
    assert!(
        server.log.contains("git-upload-pack 200"),
        "{:?}",
        server.log.lines()
    );
}

/// Kill -9 a hook in the middle of a fill, as an out-of-memory killer or an operator would:
/// its temporary file stays, and the next fill's eviction removes it; a second one left that
/// way is removed when `serve` starts.
#[test]
fn a_killed_hooks_temp_file_is_swept_by_the_next_fill_and_at_start() {
    let env = Env::new();
    let tip = big_repo(&env, 40, 512 * 1024);
    env.hubctl_ok(&["config", "set", "pack-cache-size", "64MiB"]);
    let mut server = env.serve(&[]);
    // A fetch whose client stops reading: the hook blocks with its fill in progress.
    let kill_a_hook = |server: &Server, depth: usize| -> (TcpStream, std::path::PathBuf) {
        let mut s = connect(server);
        s.write_all(&deepen_request("alice/big", &tip, depth))
            .unwrap();
        assert!(read_some(&mut s, 4096) > 0);
        let mut temp = None;
        assert!(
            eventually(Duration::from_secs(20), || {
                temp = cache_temp_files(&env).into_iter().next();
                temp.is_some()
            }),
            "no fill in progress"
        );
        let temp = temp.unwrap();
        let name = temp.file_name().unwrap().to_string_lossy().into_owned();
        let pid: i32 = name.split('-').next().unwrap().parse().unwrap();
        assert!(
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap()
                .contains("pack-objects-hook"),
            "{name} does not name a hook's pid"
        );
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        // Its owner gone, the file stays.
        assert!(eventually(Duration::from_secs(10), || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map_or(true, |st| st.contains(") Z"))
        }));
        assert!(temp.exists(), "the killed hook's file went away by itself");
        (s, temp)
    };

    let (client, temp) = kill_a_hook(&server, 38);
    drop(client);
    // The next fill (a small fetch, read whole) makes room and sweeps the dead hook's file.
    let mut s = connect(&server);
    s.write_all(&deepen_request("alice/big", &tip, 1)).unwrap();
    read_to_close(&mut s);
    assert!(eventually(Duration::from_secs(10), || !temp.exists()));
    assert!(
        eventually(Duration::from_secs(10), || {
            files_below(&env.root.join("cache/packs"))
                .iter()
                .any(|f| f.0.to_string_lossy().ends_with(".pack"))
        }),
        "the small fetch was not cached"
    );

    let (client, temp) = kill_a_hook(&server, 39);
    drop(client);
    server.stop();
    assert!(temp.exists());
    let _server = env.serve(&[]);
    // `serve` sweeps before it listens.
    assert!(!temp.exists(), "serve did not sweep {temp:?} at start");
}

/// Remove the database (and its WAL files); `empty` leaves a zero-length file in its place.
fn lose_database(env: &Env, empty: bool) {
    let db = env.root.join("hubctl.db");
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", db.display()));
    }
    if empty {
        std::fs::write(&db, b"").unwrap();
    }
}

/// The refusal every command gives: the situation, and the way out.
fn assert_refused(what: &str, out: &std::process::Output, state: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} started: {err}");
    assert!(
        err.contains(&format!("hubctl.db is {state}"))
            && err.contains("holds repositories")
            && err.contains("from a backup")
            && err.contains("hubctl init --force"),
        "{what}: {err}"
    );
    // Said once, not doubled by error chains.
    assert_eq!(err.matches("from a backup").count(), 1, "{what}: {err}");
}

/// Issue 13 point 7: a missing or empty `hubctl.db` beside existing repositories is never
/// silently recreated. The command line, `serve`, the SSH forced command and the stdio
/// commands refuse to start and say why; over CGI the client gets a generic 500 and the
/// detail goes to nginx's error log. `hubctl init --force` accepts a fresh database.
#[test]
fn a_lost_database_beside_repositories_is_not_recreated() {
    let env = Env::new();
    env.hosted_fixture(REPO, "main");
    env.hubctl_ok(&["repo", "set", REPO, "visibility", "private"]);
    let db = env.root.join("hubctl.db");
    let nginx = Nginx::start(&env, NginxOptions::default());
    let url = format!(
        "{}/{REPO}.git/info/refs?service=git-upload-pack",
        nginx.base
    );
    for (state, empty) in [("missing", false), ("empty", true)] {
        lose_database(&env, empty);
        for args in [
            &["repo", "list"][..],
            &["user", "list"],
            &["config", "get", "max-engines"],
            &["upload-pack", REPO],
            &["lfs", "ls", REPO],
        ] {
            let out = env
                .hubctl_cmd()
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            assert_refused(&format!("hubctl {args:?}"), &out, state);
        }
        let out = env
            .hubctl_cmd()
            .args(["shell", "--key-id", "1"])
            .env(
                "SSH_ORIGINAL_COMMAND",
                format!("git-upload-pack '{REPO}.git'"),
            )
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_refused("hubctl shell", &out, state);
        let mut serve = env
            .hubctl_cmd()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait_timeout(&mut serve, Duration::from_secs(20));
        if status.is_none() {
            let _ = serve.kill();
        }
        let out = serve.wait_with_output().unwrap();
        assert_refused("hubctl serve", &out, state);
        // CGI: a generic 500 for the client, the detail in nginx's error log.
        let (status, text) = curl(&[&url]);
        assert_eq!(status, 500, "{text}");
        assert!(
            !text.contains("backup") && !text.contains(env.root.to_str().unwrap()),
            "{text}"
        );
        assert!(
            eventually(Duration::from_secs(5), || nginx
                .logs()
                .contains(&format!("hubctl.db is {state}, but"))),
            "the detail is not in the server's log:\n{}",
            nginx.logs()
        );
        // Nothing was created in the meantime.
        match std::fs::metadata(&db) {
            Ok(m) => assert!(empty && m.len() == 0, "the database was recreated"),
            Err(_) => assert!(!empty),
        }
        let out = env.hubctl(&["init"]);
        assert_refused("hubctl init", &out, state);
    }
    // The operator accepts a fresh database: the repository is there, not adopted.
    let out = env.hubctl_ok(&["init", "--force"]);
    assert!(out.contains("initialised"), "{out}");
    let listed = env.hubctl_ok(&["repo", "list", "--json"]);
    assert!(listed.contains("\"adopted\": false"), "{listed}");
    assert!(env.hubctl_ok(&["init"]).contains("already initialised"));
    // A root without repositories is created on first use, as before.
    let fresh = Env::new();
    fresh.hubctl_ok(&["user", "list"]);
    assert!(fresh.root.join("hubctl.db").exists());
}

/// A pkt-line carrying `s`.
fn pkt(s: &str) -> String {
    format!("{:04x}{s}", s.len() + 4)
}

/// The start of a push of `new` to `refs/heads/stalled` as one HTTP request that announces
/// more body than it sends: the head, then `body`.
fn push_head(token: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /{REPO}.git/git-receive-pack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-git-receive-pack-request\r\nContent-Length: 100000\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Issue 13 point 1, the push half: a push that stalls in the middle of its pack (commands,
/// the pack header and a byte, then nothing) has its `git receive-pack` ended after the idle
/// timeout, and its engine slot comes back: with `max-engines 1` a clone and a push right
/// after are served.
#[test]
fn a_push_stalled_mid_pack_is_ended_and_frees_its_slot() {
    let env = Env::new();
    let token = env.user_with_token("alice", &["--scope", "write"]);
    let server = server(
        &env,
        &[
            ("idle-timeout", "2s"),
            ("max-engines", "1"),
            ("queue-timeout", "3s"),
        ],
    );
    let bare = env.bare(REPO);
    let tip = env.git_ok(&bare, &["rev-parse", "main"]).trim().to_string();
    let zero = "0".repeat(40);
    let mut body = pkt(&format!("{zero} {tip} refs/heads/stalled\0report-status\n"));
    body.push_str("0000");
    let mut body = body.into_bytes();
    // A pack of five objects, of which only the first byte arrives.
    body.extend_from_slice(b"PACK\0\0\0\x02\0\0\0\x05\x95");
    let mut stalled = connect(&server);
    stalled.write_all(&push_head(&token, &body)).unwrap();
    assert!(
        engine_started(&bare, "receive-pack"),
        "the push never reached git; server log:\n{}",
        server.log.lines().join("\n")
    );
    // The client is still connected, silent: only the idle timeout can end it.
    let started = Instant::now();
    assert!(
        no_engine_left(&bare),
        "git is still running {:?} after the 2 s idle timeout: {:?}",
        started.elapsed(),
        engine_processes(&bare)
    );
    // The slot is free: a clone and a push, each needing the only slot, are served at once.
    let dest = env.path("clone");
    let url = server
        .url(REPO)
        .replacen("http://", &format!("http://alice:{token}@"), 1);
    let out = env.git(
        env.dir.path(),
        &["clone", "-q", &url, dest.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.add_commit(&dest, "after.txt", "after\n", "after the stall");
    let out = env.git(&dest, &["push", "-q", "origin", "HEAD:refs/heads/after"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.git_ok(&bare, &["rev-parse", "refs/heads/after"]),
        env.git_ok(&dest, &["rev-parse", "HEAD"])
    );
    // The stalled push left no ref behind.
    assert!(
        !env.git(
            &bare,
            &["rev-parse", "--verify", "-q", "refs/heads/stalled"]
        )
        .status
        .success()
    );
    drop(stalled);
}

/// Issue 13 point 1: a push whose command section has not arrived holds no engine slot and
/// no git process, so with `max-engines 1` fetches are served while it stalls.
#[test]
fn a_push_stalled_in_its_commands_holds_no_slot() {
    let env = Env::new();
    let token = env.user_with_token("alice", &["--scope", "write"]);
    let server = server(
        &env,
        &[
            ("idle-timeout", "60s"),
            ("max-engines", "1"),
            ("queue-timeout", "2s"),
        ],
    );
    let bare = env.bare(REPO);
    let tip = env.git_ok(&bare, &["rev-parse", "main"]).trim().to_string();
    let zero = "0".repeat(40);
    let command = pkt(&format!("{zero} {tip} refs/heads/stalled\0report-status\n"));
    // Half of the first command line, then nothing.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut s = connect(&server);
        s.write_all(&push_head(&token, &command.as_bytes()[..40]))
            .unwrap();
        stalled.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        engine_processes(&bare).is_empty(),
        "a stalled push started git: {:?}",
        engine_processes(&bare)
    );
    let started = Instant::now();
    for i in 0..2 {
        let dest = env.path(&format!("clone{i}"));
        let out = env.git(
            env.dir.path(),
            &["clone", "-q", &server.url(REPO), dest.to_str().unwrap()],
        );
        assert!(
            out.status.success(),
            "clone {i} beside stalled pushes: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the clones took {:?}",
        started.elapsed()
    );
    assert!(engine_processes(&bare).is_empty());
    drop(stalled);
}

/// Another process holding `BEGIN IMMEDIATE` on `hubctl.db` until killed; returns once the
/// lock is held.
fn hold_write_lock(env: &Env) -> ChildGuard {
    let db = env.root.join("hubctl.db");
    let mut holder = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3,time\nc=sqlite3.connect({:?},isolation_level=None,timeout=30)\nc.execute('BEGIN IMMEDIATE')\nc.execute('UPDATE settings SET value=value')\nprint('locked',flush=True)\ntime.sleep(60)\n",
            db.display().to_string()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    ChildGuard(Some(holder))
}

/// Issue 13 point 6 over SSH: while another process holds the database's write lock, `hubctl
/// shell` key logins (the forced command sshd runs) complete at once, the best-effort
/// `last_used` update of the key skipped instead of waiting out the 15 s busy timeout. A write
/// that must wait says the database is locked once, not doubled by its error chain.
#[test]
fn a_held_write_lock_does_not_stall_ssh_logins() {
    let env = Env::new();
    env.hosted_fixture("alice/priv", "main");
    env.hubctl_ok(&["repo", "set", "alice/priv", "visibility", "private"]);
    // A key per login, each never used: each login wants to record its key's first use.
    let key_ids: Vec<String> = (0..4)
        .map(|i| {
            let key = ClientKey::generate(&env, &format!("alice{i}"), KeyKind::Ed25519);
            let added: serde_json::Value = serde_json::from_str(&env.hubctl_ok(&[
                "keys",
                "add",
                "--user",
                "alice",
                "--json",
                key.public.to_str().unwrap(),
            ]))
            .unwrap();
            added["id"].as_i64().unwrap().to_string()
        })
        .collect();
    let login = |key_id: &str| {
        let mut c = env.hubctl_cmd();
        c.args(["shell", "--key-id", key_id])
            .env("SSH_ORIGINAL_COMMAND", "git-upload-pack 'alice/priv.git'")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        // The client ends the conversation after the advertisement.
        child.stdin.take().unwrap().write_all(b"0000").unwrap();
        let mut child = ChildGuard(Some(child));
        let status = wait_timeout(child.0.as_mut().unwrap(), Duration::from_secs(30));
        let out = child.0.take().unwrap().wait_with_output().unwrap();
        assert!(status.is_some(), "the login hung");
        out
    };
    let out = login(&key_ids[0]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _holder = hold_write_lock(&env);
    let started = Instant::now();
    for (i, key_id) in key_ids.iter().enumerate().skip(1) {
        let out = login(key_id);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "login {i}: {stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("refs/heads/main"),
            "login {i}: {stderr}"
        );
        assert!(!stderr.contains("locked"), "login {i}: {stderr}");
    }
    // Each login used to wait the 15 s busy timeout.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "three logins took {:?} behind the write lock",
        started.elapsed()
    );
    // A write has to wait for the lock, and gives up after the (shortened) busy timeout,
    // saying so once.
    let out = env
        .hubctl_cmd()
        .args(["user", "add", "bob"])
        .env("HUBCTL_DB_TIMEOUT", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("database is locked"), "{stderr}");
    assert_eq!(
        stderr.matches("database is locked").count(),
        1,
        "doubled: {stderr}"
    );
}

/// Issue 13 point 3: connections beyond the process's total limit are refused with 503, and
/// served again once the held ones close.
#[test]
fn connections_beyond_the_total_limit_get_503() {
    let env = Env::new();
    // The per-address limit stays above the total, so only the total can refuse.
    let server = server(
        &env,
        &[("max-connections", "6"), ("max-connections-per-ip", "100")],
    );
    let held: Vec<TcpStream> = (0..6).map(|_| connect(&server)).collect();
    assert!(
        eventually(Duration::from_secs(5), || {
            let (answer, _) = exchange(
                &server,
                b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\n\r\n",
            );
            answer.starts_with("HTTP/1.1 503")
        }),
        "a seventh connection was not refused"
    );
    drop(held);
    assert!(eventually(Duration::from_secs(10), || {
        let (answer, _) = exchange(
            &server,
            b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        answer.starts_with("HTTP/1.1 200")
    }));
}

/// Issue 13 point 2: a request head with too many header lines, and one whose lines are each
/// short but add up to more than the head's size bound, is refused with 431 as soon as it
/// passes the bound, without waiting for the head's end; a client that keeps sending such
/// lines is cut off, and the server's memory does not grow with them.
#[test]
fn too_many_or_too_large_headers_are_refused_while_read() {
    let env = Env::new();
    // A head that never ends would otherwise wait this long.
    let server = server(&env, &[("header-timeout", "60s")]);
    let before = rss_kib(server.pid());
    let cases: &[(&str, Vec<u8>)] = &[
        // 150 lines of a few bytes: under the size bound, over the count.
        (
            "too many header lines",
            (0..150)
                .flat_map(|i| format!("X-N{i}: y\r\n").into_bytes())
                .collect(),
        ),
        // 90 lines of 1000 bytes: under the count and the line bound, over the head's size.
        (
            "headers too large in total",
            (0..90)
                .flat_map(|i| format!("X-S{i:03}: {}\r\n", "s".repeat(992)).into_bytes())
                .collect(),
        ),
    ];
    for (what, lines) in cases {
        // The lines once, and no end of the head: only the bound in question can answer.
        let mut request = b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\n".to_vec();
        request.extend_from_slice(lines);
        let (answer, took) = exchange(&server, &request);
        assert!(answer.starts_with("HTTP/1.1 431"), "{what}: {answer:?}");
        assert!(
            took < Duration::from_secs(10),
            "{what}: refused only after {took:?}"
        );
        // More of the same lines, up to 64 MiB or 20 s: the client is cut off and the
        // server's memory does not grow with what it sends.
        let started = Instant::now();
        let mut s = connect(&server);
        s.write_all(b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut sent = 0usize;
        while sent < 64 << 20 && started.elapsed() < Duration::from_secs(20) {
            match s.write(lines) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        assert!(
            sent < 16 << 20,
            "{what}: the server kept reading: {sent} bytes taken"
        );
        let answer = read_to_close(&mut s);
        assert!(answer.starts_with("HTTP/1.1 431"), "{what}: {answer:?}");
        let after = rss_kib(server.pid());
        assert!(
            after < 64 * 1024 && after < before + 16 * 1024,
            "{what}: RSS grew from {before} KiB to {after} KiB"
        );
    }
    let (head, _) = exchange(
        &server,
        b"GET /alice/pub.git/HEAD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

/// Every file below `dir` with its size and modification time, symbolic links not followed.
fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                todo.push(e.path());
            }
            out.push((e.path(), m.len(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

/// Issue 13 point 8: `repo gc` on a repository entry that is a symbolic link to a repository
/// outside the root is refused, and the outside repository is not repacked: its files, sizes
/// and times are as before.
#[test]
fn repo_gc_does_not_follow_a_linked_repository_entry() {
    use std::os::unix::fs::symlink;
    let env = Env::new();
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let victim = outside.join("data.git");
    env.git_ok(&outside, &["init", "-q", "--bare", "data.git"]);
    // Loose objects and loose refs: what a gc would pack.
    let wt = env.path("outside-src");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    env.add_commit(&wt, "a.txt", "a\n", "one");
    env.add_commit(&wt, "b.txt", "b\n", "two");
    env.git_ok(&wt, &["push", "-q", victim.to_str().unwrap(), "main"]);
    assert!(victim.join("refs/heads/main").is_file());
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", "alice/real"]);
    symlink(&victim, env.root.join("repos/alice/link.git")).unwrap();
    let before = snapshot(&victim);
    // A gc of the real repository beside the link still works.
    env.hubctl_ok(&["repo", "gc", "alice/real"]);
    for args in [
        &["repo", "gc", "alice/link"][..],
        &["repo", "gc", "--auto", "alice/link"],
    ] {
        let out = env.hubctl(args);
        assert!(
            !out.status.success(),
            "hubctl {args:?} ran on the linked repository: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("leads outside"), "hubctl {args:?}: {err}");
        assert_eq!(
            snapshot(&victim),
            before,
            "hubctl {args:?} changed the outside repository"
        );
    }
    assert!(victim.join("refs/heads/main").is_file());
    assert!(
        std::fs::symlink_metadata(env.root.join("repos/alice/link.git"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// Issue 13 point 6 over HTTP: a write through the API while another process holds the
/// database's write lock is answered, once the (shortened) busy timeout passes, with a 503
/// and `Retry-After`: the client is told to come back, never given SQLite's text.
#[test]
fn a_locked_database_gets_503_busy_over_the_api() {
    let env = Env::new();
    let token = env.user_with_token("alice", &["--scope", "write"]);
    let server = Server::start_full(&env, "127.0.0.1:0", &[], &[("HUBCTL_DB_TIMEOUT", "1")]);
    let key = ClientKey::generate(&env, "api", KeyKind::Ed25519);
    let body = serde_json::json!({ "title": "api", "key": key.public_line }).to_string();
    let url = format!("{}/api/user/keys", server.base);
    let bearer = format!("Authorization: Bearer {token}");
    let holder = hold_write_lock(&env);
    let started = Instant::now();
    let (status, text) = curl(&[
        "-X",
        "POST",
        "-H",
        &bearer,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
        &url,
    ]);
    assert_eq!(status, 503, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered after {:?}",
        started.elapsed()
    );
    drop(holder);
    assert!(text.contains("Retry-After:"), "{text}");
    assert!(text.contains("busy"), "{text}");
    assert!(!text.to_lowercase().contains("locked"), "{text}");
    // The access line is written once the answer has gone out.
    assert!(
        eventually(Duration::from_secs(5), || server
            .log
            .contains("POST /api/user/keys 503")),
        "{:?}",
        server.log.lines()
    );
    // With the lock gone, the same request succeeds.
    let (status, text) = curl(&[
        "-X",
        "POST",
        "-H",
        &bearer,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
        &url,
    ]);
    assert!(status == 200 || status == 201, "{status} {text}");
}

/// A client that asks for a clone and stops reading the answer: once the socket's buffers are
/// full, no send makes progress, and after the idle timeout the response ends, its git
/// process goes and its engine slot serves the next clone (issue 13 point 1, the sending side).
#[test]
fn a_clone_that_stops_reading_is_ended_and_frees_its_slot() {
    let env = Env::new();
    // Far more than the loopback socket buffers hold.
    let tip = big_repo(&env, 1, 48 << 20);
    for (k, v) in [
        ("idle-timeout", "2s"),
        ("max-engines", "1"),
        ("queue-timeout", "3s"),
        ("pack-cache-size", "off"),
    ] {
        env.hubctl_ok(&["config", "set", k, v]);
    }
    let server = env.serve(&[]);
    let bare = env.bare("alice/big");
    let mut stalled = connect(&server);
    stalled
        .write_all(&deepen_request("alice/big", &tip, 1))
        .unwrap();
    // The answer starts, then the client reads no more but stays connected.
    assert!(read_some(&mut stalled, 64 * 1024) > 0, "no answer started");
    assert!(
        engine_started(&bare, "upload-pack"),
        "the fetch never reached git; server log:\n{}",
        server.log.lines().join("\n")
    );
    let started = Instant::now();
    assert!(
        no_engine_left(&bare),
        "git is still running {:?} after the 2 s idle timeout: {:?}",
        started.elapsed(),
        engine_processes(&bare)
    );
    // The only slot is free: a real clone is served while the stalled client is still there.
    let dest = env.path("clone");
    let out = env.git(
        env.dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &server.url("alice/big"),
            dest.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(stalled);
}
