//! Messages after push and fetch (`repo set NS/NAME push-message|fetch-message TEXT`), seen
//! by the real git client as `remote:` lines over `hubctl serve`, nginx + fcgiwrap + `hubctl
//! cgi`, sshd + `hubctl shell` and stdio, with protocol v0 and v2; never for `-q`, a refused
//! push or a fetch with nothing to send; and git's output byte for byte unchanged around them.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::harness::*;

const REPO: &str = "team/app";
const FETCH_MESSAGE: &str = "This repository moves on Friday\nsee https://wiki.example.org/move";
const PUSH_MESSAGE: &str = "Thanks for pushing to team/app";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn shows_fetch_message(err: &str) -> bool {
    err.contains("remote: This repository moves on Friday")
        && err.contains("remote: see https://wiki.example.org/move")
}

fn shows_push_message(err: &str) -> bool {
    err.contains("remote: Thanks for pushing to team/app")
}

fn ok(site: &Site, out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "[{:?} v{}] {what} failed: {}\n{}",
        site.transport,
        site.protocol,
        stderr(&out),
        site.server_logs()
    );
    stderr(&out)
}

/// Both messages seen after a clone, a fetch and a push that carry something, and not for
/// `-q`, a fetch with nothing new, a refused push, or after the messages are removed.
fn messages_are_shown(t: Transport, protocol: u8) {
    let mut site = Site::start_push(t);
    site.protocol = protocol;
    let src = site.create_fixture(REPO, "main");
    site.allow_push(REPO);
    let env = &site.env;
    env.hubctl_ok(&["repo", "set", REPO, "fetch-message", FETCH_MESSAGE]);
    env.hubctl_ok(&["repo", "set", REPO, "push-message", PUSH_MESSAGE]);
    let tag = format!("[{t:?} v{protocol}]");

    // A clone that shows progress (git's stderr is no terminal here, so --progress) sees the
    // fetch message, once, and no push message.
    let err = ok(&site, site.clone(REPO, "loud", &["--progress"]), "clone");
    assert!(shows_fetch_message(&err), "{tag} clone:\n{err}");
    assert_eq!(err.matches("moves on Friday").count(), 1, "{tag}\n{err}");
    assert!(!shows_push_message(&err), "{tag}\n{err}");
    // -q and a client that shows no progress (no terminal, no --progress): nothing.
    let err = ok(&site, site.clone(REPO, "quiet", &["-q"]), "clone -q");
    assert!(!err.contains("moves on Friday"), "{tag} clone -q:\n{err}");
    let err = ok(&site, site.clone(REPO, "plain", &[]), "clone");
    assert!(!err.contains("moves on Friday"), "{tag} clone:\n{err}");
    // The clones are whole.
    let wt = site.env.path("loud");
    assert_eq!(
        env.git_ok(&wt, &["rev-parse", "origin/feature/x"]),
        env.git_ok(&src, &["rev-parse", "feature/x"])
    );

    // A fetch with nothing new sends no pack, and shows nothing.
    let err = ok(
        &site,
        site.git(&wt, &["fetch", "--progress", "origin"]),
        "fetch",
    );
    assert!(
        !err.contains("moves on Friday"),
        "{tag} no-op fetch:\n{err}"
    );
    // One that brings new objects does.
    env.add_commit(&src, "new.txt", "new\n", "server side");
    site.server_side_push(&src, REPO, "main");
    let err = ok(
        &site,
        site.git(&wt, &["fetch", "--progress", "origin"]),
        "fetch",
    );
    assert!(shows_fetch_message(&err), "{tag} fetch:\n{err}");

    // Pushes.
    env.git_ok(&wt, &["remote", "set-url", "origin", &site.push_url(REPO)]);
    env.git_ok(&wt, &["reset", "-q", "--hard", "origin/main"]);
    env.add_commit(&wt, "pushed.txt", "pushed\n", "pushed");
    let err = ok(
        &site,
        site.git(&wt, &["push", "--progress", "origin", "main"]),
        "push",
    );
    assert!(shows_push_message(&err), "{tag} push:\n{err}");
    assert_eq!(err.matches("Thanks for pushing").count(), 1, "{tag}\n{err}");
    assert!(!err.contains("moves on Friday"), "{tag}\n{err}");
    env.add_commit(&wt, "quiet.txt", "quiet\n", "quiet push");
    let err = ok(
        &site,
        site.git(&wt, &["push", "-q", "origin", "main"]),
        "push -q",
    );
    assert!(!err.contains("Thanks for pushing"), "{tag} push -q:\n{err}");
    // Refused by hubctl's policy (pre-receive): no message.
    env.hubctl_ok(&["repo", "set", REPO, "max-blob-size", "100"]);
    env.add_commit(&wt, "big.bin", &"x".repeat(4096), "too big");
    let out = site.git(&wt, &["push", "--progress", "origin", "main"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "{tag} the large file was accepted:\n{err}"
    );
    assert!(err.contains("pre-receive hook declined"), "{tag}\n{err}");
    assert!(
        !err.contains("Thanks for pushing"),
        "{tag} refused push:\n{err}"
    );
    env.hubctl_ok(&["repo", "set", REPO, "max-blob-size", "off"]);
    env.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);

    // Removed ("off" and ""): the same commands show nothing.
    env.hubctl_ok(&["repo", "set", REPO, "fetch-message", "off"]);
    env.hubctl_ok(&["repo", "set", REPO, "push-message", ""]);
    let err = ok(&site, site.clone(REPO, "after", &["--progress"]), "clone");
    assert!(!err.contains("moves on Friday"), "{tag}\n{err}");
    env.add_commit(&wt, "later.txt", "later\n", "later");
    let err = ok(
        &site,
        site.git(&wt, &["push", "--progress", "origin", "main"]),
        "push",
    );
    assert!(!err.contains("Thanks for pushing"), "{tag}\n{err}");
}
// git-http-backend's project root has no repository settings, so no messages there.
crate::matrix!(hosted messages_are_shown);

/// `repo set` checks the text, `repo show` prints it.
#[test]
fn settings_are_checked_and_shown() {
    let env = Env::new();
    env.ensure_owner("team");
    env.hubctl_ok(&["repo", "init", REPO]);
    for bad in [
        "red \x1b[31malert",
        "a\tb",
        &"x".repeat(201),
        &"line\n".repeat(11),
    ] {
        let out = env.hubctl(&["repo", "set", REPO, "push-message", bad]);
        assert!(!out.status.success(), "accepted {bad:?}");
        assert!(
            stderr(&out).contains("push-message not changed"),
            "{}",
            stderr(&out)
        );
    }
    env.hubctl_ok(&["repo", "set", REPO, "fetch-message", "first\r\nsecond\n"]);
    let shown = env.hubctl_ok(&["repo", "show", REPO]);
    assert!(
        shown.contains("fetch message:   first\n                 second\n"),
        "{shown}"
    );
    assert!(shown.contains("push message:    (none)"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", REPO, "--json"])).unwrap();
    assert_eq!(json["fetch_message"], "first\nsecond");
    assert_eq!(json["push_message"], serde_json::Value::Null);
    env.hubctl_ok(&["repo", "set", REPO, "fetch-message", "off"]);
    let json: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", REPO, "--json"])).unwrap();
    assert_eq!(json["fetch_message"], serde_json::Value::Null);
}

fn pkt(payload: &str) -> Vec<u8> {
    let mut v = format!("{:04x}", payload.len() + 4).into_bytes();
    v.extend_from_slice(payload.as_bytes());
    v
}

/// The message's pkt-lines as they must appear on the wire: sideband 2, one line each.
fn message_packets(text: &str) -> Vec<u8> {
    text.lines()
        .flat_map(|l| pkt(&format!("\x02{l}\n")))
        .collect()
}

/// An upload-pack answer taken apart: its plain pkt-lines (with flushes and delimiters) in
/// order, the pack (sideband 1) and the progress text (sideband 2). git frames the sidebands
/// as its reads of pack-objects happen to return, so two runs of stock git differ in packet
/// boundaries; what the client receives is this.
#[derive(Debug)]
struct Demuxed {
    lines: Vec<Vec<u8>>,
    pack: Vec<u8>,
    progress: Vec<u8>,
}

impl PartialEq for Demuxed {
    /// Progress compared line by line, a line repeated at once counting once: git's progress
    /// meter repaints an unchanged line when its one-second timer fires, which a loaded
    /// machine can make happen in one run and not the other.
    fn eq(&self, other: &Demuxed) -> bool {
        let meter = |p: &[u8]| {
            let mut v: Vec<Vec<u8>> = p
                .split(|&b| b == b'\r' || b == b'\n')
                .map(<[u8]>::to_vec)
                .collect();
            v.dedup();
            v
        };
        self.lines == other.lines
            && self.pack == other.pack
            && meter(&self.progress) == meter(&other.progress)
    }
}

fn demux(mut bytes: &[u8]) -> Demuxed {
    let mut d = Demuxed {
        lines: Vec::new(),
        pack: Vec::new(),
        progress: Vec::new(),
    };
    while !bytes.is_empty() {
        let len = usize::from_str_radix(std::str::from_utf8(&bytes[..4]).unwrap(), 16).unwrap();
        if len < 4 {
            d.lines.push(bytes[..4].to_vec());
            bytes = &bytes[4..];
            continue;
        }
        let payload = &bytes[4..len];
        match payload.first() {
            Some(1) => d.pack.extend_from_slice(&payload[1..]),
            Some(2) => d.progress.extend_from_slice(&payload[1..]),
            _ => d.lines.push(payload.to_vec()),
        }
        bytes = &bytes[len..];
    }
    d
}

/// `on` is `off` (as the client receives it) with the message's packets inserted right
/// before the final flush.
fn assert_only_message_added(on: &[u8], off: &[u8], what: &str) {
    let packets = message_packets(FETCH_MESSAGE);
    assert!(
        on.ends_with(&[&packets[..], b"0000"].concat()),
        "{what}: the answer does not end with the message and a flush"
    );
    let without = [&on[..on.len() - packets.len() - 4], b"0000"].concat();
    assert_eq!(demux(&without), demux(off), "{what}");
    let progress = demux(on).progress;
    assert!(
        progress.ends_with(format!("{}\n", FETCH_MESSAGE).as_bytes()),
        "{what}: {}",
        String::from_utf8_lossy(&progress)
    );
}

/// A v0 and a v2 upload-pack request for `oids`, with progress.
fn requests(oids: &[String]) -> [(u8, Vec<u8>); 2] {
    let mut v0 = Vec::new();
    for (i, oid) in oids.iter().enumerate() {
        let caps = if i == 0 {
            " multi_ack_detailed side-band-64k thin-pack ofs-delta agent=git/2.47.3"
        } else {
            ""
        };
        v0.extend(pkt(&format!("want {oid}{caps}\n")));
    }
    v0.extend_from_slice(b"0000");
    v0.extend(pkt("done\n"));
    let mut v2 = pkt("command=fetch\n");
    v2.extend(pkt("object-format=sha1\n"));
    v2.extend_from_slice(b"0001");
    v2.extend(pkt("thin-pack\n"));
    v2.extend(pkt("ofs-delta\n"));
    for oid in oids {
        v2.extend(pkt(&format!("want {oid}\n")));
    }
    v2.extend(pkt("done\n"));
    v2.extend_from_slice(b"0000");
    [(0, v0), (2, v2)]
}

fn post(env: &Env, url: &str, protocol: u8, body: &[u8]) -> Vec<u8> {
    let req = env.path("request");
    let resp = env.path("response");
    std::fs::write(&req, body).unwrap();
    let out = Command::new("curl")
        .args(["-s", "-S", "-f", "--max-time", "30", "--data-binary"])
        .arg(format!("@{}", req.display()))
        .args(["-H", "Content-Type: application/x-git-upload-pack-request"])
        .args(["-H", &format!("Git-Protocol: version={protocol}")])
        .arg("-o")
        .arg(&resp)
        .arg(format!("{url}/git-upload-pack"))
        .output()
        .unwrap();
    assert!(out.status.success(), "curl: {}", stderr(&out));
    std::fs::read(&resp).unwrap()
}

/// Run `program args` with `stdin` and GIT_PROTOCOL for `protocol`; its stdout.
fn run_with_input(env: &Env, mut cmd: Command, protocol: u8, stdin: &[u8]) -> Vec<u8> {
    env.clean_env(&mut cmd);
    if protocol == 2 {
        cmd.env("GIT_PROTOCOL", "version=2");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let body = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&body);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
    out.stdout
}

fn oids(env: &Env, bare: &Path) -> Vec<String> {
    ["main", "dev", "feature/x"]
        .iter()
        .map(|b| env.git_ok(bare, &["rev-parse", b]).trim().to_string())
        .collect()
}

/// The answer to an upload-pack request is the same with the message unset as stock `git
/// upload-pack` gives (every plain pkt-line, the pack and the progress text byte for byte),
/// and with the message set it is that answer with the message's packets before the final
/// flush: nothing of git's output moves or changes.
/// Over HTTP (stateless) and stdio (the duplex conversation SSH uses too), v0 and v2.
#[test]
fn fetch_output_is_unchanged_but_for_the_message() {
    let env = Env::new();
    env.hosted_fixture(REPO, "main");
    let bare = env.bare(REPO);
    let server = env.serve(&[]);
    let url = server.url(REPO);
    let wants = oids(&env, &bare);
    for (protocol, request) in requests(&wants) {
        // Stock git, stateless as git http-backend runs it.
        let mut stock = Command::new("git");
        stock.args(["upload-pack", "--stateless-rpc"]).arg(&bare);
        let stock = run_with_input(&env, stock, protocol, &request);
        let off = post(&env, &url, protocol, &request);
        let shape = demux(&off);
        assert!(
            shape.pack.starts_with(b"PACK") && !shape.progress.is_empty(),
            "v{protocol}: {shape:?}"
        );
        assert_eq!(
            shape,
            demux(&stock),
            "v{protocol}: hubctl's answer without a message differs from git upload-pack's"
        );
        env.hubctl_ok(&["repo", "set", REPO, "fetch-message", FETCH_MESSAGE]);
        let on = post(&env, &url, protocol, &request);
        assert_only_message_added(&on, &off, &format!("v{protocol} over HTTP"));
        env.hubctl_ok(&["repo", "set", REPO, "fetch-message", "off"]);
        assert_eq!(
            demux(&post(&env, &url, protocol, &request)),
            shape,
            "v{protocol}"
        );

        // The duplex conversation: advertisement, request, answer.
        let duplex = |env: &Env| {
            let mut cmd = Command::new(hubctl_bin());
            cmd.arg("--root").arg(&env.root).args(["upload-pack", REPO]);
            run_with_input(env, cmd, protocol, &request)
        };
        let off = duplex(&env);
        env.hubctl_ok(&["repo", "set", REPO, "fetch-message", FETCH_MESSAGE]);
        let on = duplex(&env);
        env.hubctl_ok(&["repo", "set", REPO, "fetch-message", ""]);
        assert_only_message_added(&on, &off, &format!("v{protocol} over stdio"));
        assert_eq!(demux(&duplex(&env)), demux(&off), "v{protocol}");
    }
}

/// A pack the pack cache replays (no pack-objects run) gets the message like a fresh one:
/// the same pack, the message's packets before the final flush, and a real clone from the
/// cache that shows it and is whole.
#[test]
fn a_pack_from_the_pack_cache_gets_the_message_too() {
    let env = Env::new();
    env.ensure_owner("team");
    env.hubctl_ok(&["repo", "init", REPO]);
    let wt = env.fixture_worktree("src");
    // Over the cache's smallest entry (64 KiB), in random bytes that do not compress.
    for i in 0..6 {
        crate::push::write_random(&wt.join(format!("blob{i}.bin")), 32 * 1024, i);
    }
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "blobs"]);
    env.git_ok(
        &wt,
        &["push", "-q", env.bare(REPO).to_str().unwrap(), "main"],
    );
    env.hubctl_ok(&["repo", "set", REPO, "fetch-message", FETCH_MESSAGE]);
    env.hubctl_ok(&["config", "set", "metrics", "on"]);
    let server = env.serve(&[]);
    let url = server.url(REPO);
    let hits = || -> u64 {
        let (status, text) = curl(&[&format!("{}/metrics", server.base)]);
        assert_eq!(status, 200, "{text}");
        text.lines()
            .find_map(|l| l.strip_prefix("hubctl_pack_cache_hits_total "))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    let main = env.git_ok(&env.bare(REPO), &["rev-parse", "main"]);
    let wants = vec![main.trim().to_string()];
    for (protocol, request) in requests(&wants) {
        let before = hits();
        let fresh = post(&env, &url, protocol, &request);
        // The entry is published by a detached process once the answer is complete.
        let mut replayed = Vec::new();
        assert!(
            eventually(std::time::Duration::from_secs(20), || {
                replayed = post(&env, &url, protocol, &request);
                hits() > before
            }),
            "v{protocol}: no pack cache hit"
        );
        assert_eq!(demux(&replayed).pack, demux(&fresh).pack, "v{protocol}");
        assert!(demux(&fresh).pack.len() > 64 * 1024, "v{protocol}");
        for (answer, what) in [(&fresh, "fresh"), (&replayed, "replayed")] {
            let packets = message_packets(FETCH_MESSAGE);
            assert!(
                answer.ends_with(&[&packets[..], b"0000"].concat()),
                "v{protocol} {what}: no message before the final flush"
            );
            assert_eq!(
                answer
                    .windows(packets.len())
                    .filter(|w| *w == packets)
                    .count(),
                1,
                "v{protocol} {what}"
            );
        }
    }
    // A real client served from the cache.
    let before = hits();
    let dest = env.path("cached");
    let out = env
        .git_cmd(env.dir.path())
        .args(["clone", "--progress", &url, dest.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(shows_fetch_message(&err), "{err}");
    assert!(hits() > before, "the clone was not served from the cache");
    env.git_ok(&dest, &["fsck", "--strict"]);
}
