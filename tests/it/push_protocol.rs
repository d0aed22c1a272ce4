//! Hand-made receive-pack requests that a well-behaved client never sends: corrupt and
//! truncated packs, packs missing objects, invalid ref names, stale old values. Each is refused
//! with git's report-status reason and leaves the refs and object store as they were.

use std::path::Path;

use crate::fetch::no_engine_left;
use crate::harness::*;

const REPO: &str = "team/app";
const ZERO: &str = "0000000000000000000000000000000000000000";

fn pkt(payload: &[u8]) -> Vec<u8> {
    let mut v = format!("{:04x}", payload.len() + 4).into_bytes();
    v.extend_from_slice(payload);
    v
}

fn request(commands: &[(&str, &str, &str)], pack: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (old, new, name)) in commands.iter().enumerate() {
        let mut line = format!("{old} {new} {name}").into_bytes();
        if i == 0 {
            line.extend_from_slice(b"\0report-status object-format=sha1 agent=hubctl-test");
        }
        line.push(b'\n');
        body.extend(pkt(&line));
    }
    body.extend_from_slice(b"0000");
    if let Some(p) = pack {
        body.extend_from_slice(p);
    }
    body
}

/// POST a receive-pack request; returns (status, body).
fn post(env: &Env, url: &str, body: &[u8]) -> (u16, String) {
    let file = env.path("request.bin");
    std::fs::write(&file, body).unwrap();
    let (status, text) = curl(&[
        "-H",
        "Content-Type: application/x-git-receive-pack-request",
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("{url}/git-receive-pack"),
    ]);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn pack_of(env: &Env, wt: &Path, input: &str, revs: bool) -> Vec<u8> {
    let mut cmd = env.git_cmd(wt);
    cmd.args(["pack-objects", "--stdout", "-q"]);
    if revs {
        cmd.arg("--revs");
    }
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn object_files(bare: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(bare.join("objects")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() == 2 || name == "pack" {
            for f in std::fs::read_dir(e.path()).unwrap().flatten() {
                v.push(format!("{name}/{}", f.file_name().to_string_lossy()));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn malformed_pushes_are_refused_cleanly_serve() {
    malformed_pushes_are_refused_cleanly(Transport::Serve)
}

#[test]
fn malformed_pushes_are_refused_cleanly_cgi() {
    malformed_pushes_are_refused_cleanly(Transport::CgiRoot)
}

fn malformed_pushes_are_refused_cleanly(t: Transport) {
    let site = Site::start_push(t);
    let env = &site.env;
    let wt = env.hosted_fixture(REPO, "main");
    site.allow_push(REPO);
    let bare = env.bare(REPO);
    let url = site.push_url(REPO);
    let main = env.git_ok(&wt, &["rev-parse", "main"]).trim().to_string();
    let dev = env.git_ok(&wt, &["rev-parse", "dev"]).trim().to_string();
    env.add_commit(&wt, "new.txt", "brand new content\n", "new commit");
    let new = env.git_ok(&wt, &["rev-parse", "HEAD"]).trim().to_string();
    let good_pack = pack_of(env, &wt, &format!("{new}\n^{main}\n"), true);
    let refs_before = refs_of(env, &bare);
    let objects_before = object_files(&bare);

    let mut corrupt = good_pack.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 8] {
        *b ^= 0x55;
    }
    let truncated = good_pack[..good_pack.len() / 2].to_vec();
    let commit_only = pack_of(env, &wt, &format!("{new}\n"), false);

    // (request, expected reason, objects may land): unpack failures never let objects in;
    // ref-level refusals happen after git moved the quarantine in, leaving unreachable objects.
    let main_ref = "refs/heads/main";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "corrupt pack",
            request(&[(&main, &new, main_ref)], Some(&corrupt)),
            "ng refs/heads/main unpacker error",
        ),
        (
            "truncated pack",
            request(&[(&main, &new, main_ref)], Some(&truncated)),
            "ng refs/heads/main unpacker error",
        ),
        (
            "pack missing objects",
            request(&[(&main, &new, main_ref)], Some(&commit_only)),
            "ng refs/heads/main unpacker error",
        ),
        (
            "no pack at all",
            request(&[(&main, &new, main_ref)], None),
            "ng refs/heads/main unpacker error",
        ),
        (
            "a..b",
            request(&[(ZERO, &new, "refs/heads/a..b")], Some(&good_pack)),
            "ng refs/heads/a..b funny refname",
        ),
        (
            "HEAD",
            request(&[(ZERO, &new, "HEAD")], Some(&good_pack)),
            "ng HEAD funny refname",
        ),
        (
            "outside refs/",
            request(&[(ZERO, &new, "main")], Some(&good_pack)),
            "ng main funny refname",
        ),
        (
            "stale old value",
            request(&[(&dev, &new, main_ref)], Some(&good_pack)),
            "ng refs/heads/main failed to update ref",
        ),
    ];
    for (what, body, reason) in cases {
        let (status, text) = post(env, &url, &body);
        assert_eq!(status, 200, "{what}: {text}");
        assert!(
            text.contains(reason),
            "{what}: expected {reason:?} in report:\n{text}\n{}",
            site.server_logs()
        );
        assert!(
            !text.contains("unpack ok") || !what.contains("pack"),
            "{what}: {text}"
        );
        assert_eq!(refs_of(env, &bare), refs_before, "{what} moved a ref");
        if what.contains("pack") {
            assert_eq!(
                object_files(&bare),
                objects_before,
                "{what} left objects behind"
            );
        }
        env.git_ok(&bare, &["fsck", "--no-progress", "--no-dangling"]);
    }
    // Not pkt-lines at all: hubctl answers with a clear 400 instead of an empty success.
    let (status, text) = post(env, &url, b"this is not a push");
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("git receive-pack rejected the request"),
        "{text}"
    );
    // The 4-byte probe: 200, empty result.
    let (status, text) = post(env, &url, b"0000");
    assert_eq!(status, 200);
    assert!(text.is_empty(), "{text:?}");
    assert!(no_engine_left(&bare));
    // And the well-formed version of the same push is accepted.
    let (status, text) = post(
        env,
        &url,
        &request(&[(&main, &new, main_ref)], Some(&good_pack)),
    );
    assert_eq!(status, 200);
    assert!(
        text.contains("unpack ok") && text.contains("ok refs/heads/main"),
        "{text}"
    );
    assert_eq!(env.git_ok(&bare, &["rev-parse", "main"]).trim(), new);
}

/// `hubctl receive-pack` keeps git's command-line contract: `--advertise-refs` (and
/// `--http-backend-info-refs`) list the refs with every capability hubctl switches on, and
/// `--stateless-rpc` takes one request on stdin and answers with report-status.
#[test]
fn receive_pack_command_line() {
    let env = Env::new();
    let wt = env.hosted_fixture(REPO, "main");
    let bare = env.bare(REPO);
    let main = env.git_ok(&wt, &["rev-parse", "main"]).trim().to_string();
    let bare_arg = bare.to_str().unwrap();
    for args in [
        vec!["receive-pack", "--advertise-refs", REPO],
        vec!["receive-pack", "--http-backend-info-refs", REPO],
        vec![
            "receive-pack",
            "--stateless-rpc",
            "--advertise-refs",
            bare_arg,
        ],
    ] {
        let out = env.hubctl_ok(&args);
        let first = out.lines().next().unwrap_or_default();
        assert!(
            out.contains(&format!("{main} refs/heads/main\n")),
            "{args:?}: {out}"
        );
        let caps = first.split_once('\0').map(|(_, c)| c).unwrap_or_default();
        for cap in [
            "report-status",
            "report-status-v2",
            "delete-refs",
            "side-band-64k",
            "quiet",
            "atomic",
            "push-options",
            "ofs-delta",
        ] {
            assert!(
                caps.split_whitespace().any(|c| c == cap),
                "{args:?}: {cap} missing from {caps:?}"
            );
        }
    }
    env.add_commit(&wt, "cli.txt", "over stdin\n", "stateless");
    let new = env.git_ok(&wt, &["rev-parse", "HEAD"]).trim().to_string();
    let pack = pack_of(&env, &wt, &format!("{new}\n^{main}\n"), true);
    let body = request(&[(&main, &new, "refs/heads/main")], Some(&pack));
    let mut child = env
        .hubctl_cmd()
        .args(["receive-pack", "--stateless-rpc", REPO])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&body).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unpack ok"), "{text}");
    assert!(text.contains("ok refs/heads/main"), "{text}");
    assert_eq!(env.git_ok(&bare, &["rev-parse", "main"]).trim(), new);
}
