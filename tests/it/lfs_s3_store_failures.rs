//! The S3 store stops answering in the middle of a proxied push (issue 18, "the store stopped
//! mid-push gives clear errors and loses nothing"), with the real git-lfs client over `hubctl
//! serve` and SSH (`git-lfs-transfer`), against moto frozen with SIGSTOP: it keeps every object
//! it stored, so the test can tell what survived.
//!
//! Several small objects land before the store stops; one over 64 MiB is in the middle of its
//! multipart upload through hubctl when it does. The push fails with hubctl's error naming the
//! store, the ref does not move; with the store back the small objects are intact (hashed), no
//! object of a wrong size or content is visible (the half-sent one is not an object), and the
//! same push completes the set, which clones back intact.
//!
//! Proxy mode's SHA-256 check while streaming a multipart upload: a body with wrong bytes near
//! its end and a body cut short, sent with curl to the batch's upload action, leave no object
//! and no completed or open multipart upload; the right body from git-lfs then goes through.
//!
//! Over SSH (`git-lfs-transfer`) with the store down, and with bad credentials (s3rver, which
//! checks signatures): git-lfs shows hubctl's status (503, 500) and message naming the cause,
//! and hubctl writes one log line on the channel's stderr.
//!
//! `lfs migrate-storage` stops at an object that is not intact in the target.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::lfs_s3::{REPO, Via, World, files_under, sha256_file};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every object visible in the bucket is whole: its key ends with the SHA-256 of its bytes.
fn assert_every_object_whole(w: &World) -> Vec<(String, u64)> {
    let listed = w.moto.list(&format!("{REPO}/"));
    for (key, size) in &listed {
        let data = w.moto.get_object(key).expect("listed object");
        assert_eq!(data.len() as u64, *size, "{key}");
        let oid = key.rsplit('/').next().unwrap();
        assert_eq!(
            hex(&Sha256::digest(&data)),
            oid,
            "a partial object is visible: {key}"
        );
    }
    listed
}

fn store_frozen_mid_push(via: Via) {
    let w = World::start(via, true);
    let wt = w.worktree("wt");
    let small = ["s1.bin", "s2.bin", "s3.bin"];
    let mut specs: Vec<(&str, usize, u64)> = small
        .iter()
        .zip(0u64..)
        .map(|(f, i)| (*f, 50_000 + i as usize, 90 + i))
        .collect();
    specs.push(("big.bin", 70 << 20, 99));
    w.commit(&wt, &specs, "small objects and a big one");
    let big = w.key_of(&wt.join("big.bin"));
    let small_keys: Vec<String> = small.iter().map(|f| w.key_of(&wt.join(f))).collect();

    let started = Instant::now();
    let child = w
        .git_cmd(&wt)
        .args(["-c", "lfs.transfer.maxretries=1", "push", "origin", "main"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The small objects are stored and hubctl has started the big one's multipart upload: the
    // store freezes (connections are accepted, nothing is answered).
    let ready = eventually(Duration::from_secs(120), || {
        let wire = w.moto.wire();
        let stored = |key: &str| {
            wire.iter()
                .any(|r| r.method == "PUT" && r.status == 200 && r.target.contains(key))
        };
        small_keys.iter().all(|k| stored(k))
            && wire.iter().any(|r| {
                r.method == "POST" && r.target.contains(&big) && r.target.contains("uploads")
            })
    });
    w.moto.pause();
    assert!(
        ready,
        "[{via:?}] the push never got there:\n{:?}",
        w.moto.wire()
    );
    let completed = |w: &World| {
        w.moto
            .wire()
            .iter()
            .any(|r| r.method == "POST" && r.target.contains(&big) && r.target.contains("uploadId"))
    };
    assert!(
        !completed(&w),
        "[{via:?}] the big upload completed before the store froze: the test proves nothing"
    );
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let log = w.hubctl_log();
    assert!(
        !out.status.success(),
        "[{via:?}] the push succeeded without its store"
    );
    // Bounded: hubctl gives up on the frozen store after 20 s per request, below git-lfs's own
    // 30 s, so the client's last word is hubctl's answer naming the store.
    assert!(
        took < Duration::from_secs(150),
        "[{via:?}] the push took {took:?}"
    );
    let big_oid = big.rsplit('/').next().unwrap();
    assert!(
        err.lines().any(|l| is_expected_error(via, big_oid, l)),
        "[{via:?}] the client's error is not hubctl's:\n{err}\n--- hubctl ---\n{log}"
    );
    if via == Via::Serve {
        // One log line names the store and the object it was storing when the store froze
        // (written when hubctl gives up, which may be after the client has).
        let named = || {
            w.hubctl_log()
                .lines()
                .filter(|l| l.starts_with("hubctl: ") && storing_failed(big_oid, l).is_some())
                .count()
        };
        eventually(Duration::from_secs(60), || named() > 0);
        assert_eq!(named(), 1, "[{via:?}] {}", w.hubctl_log());
    }
    w.moto.resume();

    let refs = w.env.git_ok(&w.env.bare(REPO), &["for-each-ref"]);
    assert!(refs.trim().is_empty(), "[{via:?}] the ref moved: {refs}");
    let local = w.env.bare(REPO).join("lfs/objects");
    assert!(
        !local.exists() || files_under(&local).is_empty(),
        "{local:?}"
    );

    // The objects stored before the stop are intact; nothing partial is visible.
    let listed = assert_every_object_whole(&w);
    for (f, key) in small.iter().zip(&small_keys) {
        let size = std::fs::metadata(wt.join(f)).unwrap().len();
        assert!(
            listed.contains(&(key.clone(), size)),
            "[{via:?}] {key} lost: {listed:?}"
        );
        assert_eq!(
            hex(&Sha256::digest(w.moto.get_object(key).unwrap())),
            sha256_file(&wt.join(f))
        );
    }
    assert!(
        !listed.iter().any(|(k, _)| *k == big),
        "[{via:?}] the half-sent object is visible: {listed:?}"
    );

    // The same push completes the set.
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let mut all: Vec<&str> = small.to_vec();
    all.push("big.bin");
    w.assert_in_bucket(&wt, &all);
    assert_every_object_whole(&w);
    w.clone_and_compare(&wt, "clone", &all);
}

/// Where `line` says hubctl gave up storing a part of `oid` in the frozen store: the rest of
/// the line after that message. Which part and whether the store stopped taking the body
/// (ureq's "per write") or answering it ("receive response") depend on when it froze.
fn storing_failed<'l>(oid: &str, line: &'l str) -> Option<&'l str> {
    let (_, rest) = line.split_once("S3 store unreachable while storing part ")?;
    let (part, rest) = rest.split_once(" of ")?;
    let (parts, rest) = rest.split_once(" of ")?;
    part.parse::<u16>().ok()?;
    parts.parse::<u16>().ok()?;
    let reason = rest.strip_prefix(oid)?.strip_prefix(": timeout: ")?;
    ["per write", "receive response"]
        .contains(&reason)
        .then_some(reason)
}

/// Whether `line` is what git-lfs prints when the store froze: over HTTP, hubctl's answer to
/// its next batch request (which git-lfs 3.3.0 takes as fatal); over SSH, hubctl's status and
/// message for the object whose upload it could not finish.
fn is_expected_error(via: Via, oid: &str, line: &str) -> bool {
    match via {
        Via::Ssh => line
            .strip_prefix(&format!("got status 503 when uploading OID {oid}: "))
            .is_some_and(|rest| {
                rest.starts_with("S3 store unreachable") && storing_failed(oid, rest).is_some()
            }),
        _ => {
            line == "batch response: Fatal error: LFS storage: S3 store unreachable while checking the bucket: timeout: receive response"
        }
    }
}

mod store_frozen_mid_push {
    use crate::lfs_s3::Via;

    #[test]
    fn serve() {
        super::store_frozen_mid_push(Via::Serve)
    }

    /// git-lfs-transfer streams through hubctl the same way.
    #[test]
    fn ssh_transfer() {
        super::store_frozen_mid_push(Via::Ssh)
    }
}

/// Multipart uploads of `key` the store has started and neither completed nor aborted.
fn open_multipart_uploads(w: &World, key: &str) -> Vec<String> {
    w.moto
        .boto3(
            "for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=sys.argv[1]).get('Uploads', []):\n\
             \x20   print(u['Key'], u['UploadId'])\n",
            &[key],
        )
        .lines()
        .map(str::to_string)
        .collect()
}

/// Proxy mode checks the SHA-256 while it streams an object over 64 MiB into a multipart
/// upload: a body with wrong bytes near its end, and a body cut short (a client that dies
/// mid-upload, announcing the whole size), sent with curl to the upload action the batch hands
/// out, leave no object, no completed and no open multipart upload; the real git-lfs client
/// then pushes the right body, which clones back intact.
#[test]
fn proxy_multipart_refuses_a_wrong_or_short_body() {
    let w = World::start(Via::Serve, true);
    let wt = w.worktree("wt");
    let size: usize = 70 << 20;
    w.commit(&wt, &[("big.bin", size, 77)], "one big object");
    let path = wt.join("big.bin");
    let oid = sha256_file(&path);
    let key = w.key_of(&path);

    let (_, _, body) = crate::lfs_s3::batch_curl_at(&w, &w.url(), "upload", &oid, size as u64);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let upload = &answer["objects"][0]["actions"]["upload"];
    let href = upload["href"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(href.starts_with(&w.url()), "not a proxy action: {href}");
    let headers: Vec<String> = upload["header"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    let put = |file: &std::path::Path, extra: &[&str], max_time: &str| {
        let mut c = std::process::Command::new("curl");
        c.args([
            "-s",
            "-w",
            "\n%{http_code}",
            "--max-time",
            max_time,
            "-X",
            "PUT",
        ])
        .args(["-H", "Content-Type: application/octet-stream"]);
        for h in &headers {
            c.arg("-H").arg(h);
        }
        for h in extra {
            c.arg("-H").arg(h);
        }
        let out = c
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(href)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        (status.trim().parse::<u16>().unwrap_or(0), body.to_string())
    };
    let multipart_starts = |w: &World| {
        w.moto
            .wire()
            .iter()
            .filter(|r| {
                r.method == "POST" && r.target.contains(&key) && r.target.contains("uploads")
            })
            .count()
    };
    let completions = |w: &World| {
        w.moto
            .wire()
            .iter()
            .filter(|r| {
                r.method == "POST" && r.target.contains(&key) && r.target.contains("uploadId")
            })
            .count()
    };
    let nothing_left = |w: &World, what: &str| {
        assert!(w.moto.list(&key).is_empty(), "{what}: an object is visible");
        assert_eq!(
            completions(w),
            0,
            "{what}: a multipart upload was completed"
        );
        // hubctl aborts the upload once it has answered: wait for the abort to land.
        let aborted = eventually(Duration::from_secs(60), || {
            open_multipart_uploads(w, &key).is_empty()
        });
        assert!(
            aborted,
            "{what}: open uploads {:?}",
            open_multipart_uploads(w, &key)
        );
    };

    // Wrong bytes 100 bytes before the end: the SHA-256 only fails at the last read.
    let mut data = std::fs::read(&path).unwrap();
    data[size - 100] ^= 0x01;
    let bad = w.env.path("bad.bin");
    std::fs::write(&bad, &data).unwrap();
    let (status, body) = put(&bad, &[], "120");
    assert_eq!(status, 400, "{body}\n{}", w.hubctl_log());
    eprintln!("wrong bytes: {body}");
    assert!(body.contains(&oid), "{body}");
    assert_eq!(
        multipart_starts(&w),
        1,
        "the bad body did not take the multipart path"
    );
    nothing_left(&w, "wrong bytes");

    // Cut short by 1 MiB with the whole size announced: the client gives up waiting.
    data[size - 100] ^= 0x01;
    data.truncate(size - (1 << 20));
    std::fs::write(&bad, &data).unwrap();
    let content_length = format!("Content-Length: {size}");
    let (status, body) = put(&bad, &[&content_length], "20");
    eprintln!("short body: {status} {body}");
    assert_ne!(status, 200, "{body}");
    assert_eq!(
        multipart_starts(&w),
        2,
        "the short body did not take the multipart path"
    );
    nothing_left(&w, "short body");

    // The right body, from the real client.
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &["big.bin"]);
    assert_eq!(completions(&w), 1);
    assert!(open_multipart_uploads(&w, &key).is_empty());
    w.clone_and_compare(&wt, "clone", &["big.bin"]);
}

/// Over SSH (`git-lfs-transfer`), a store that is down (moto killed: connections refused):
/// git-lfs shows hubctl's status and message naming the store (LFS.md's transfer protocol: an
/// error status with a message), hubctl writes one `hubctl:` line naming the cause on the SSH
/// channel's stderr (its log over SSH, captured here through `GIT_SSH_COMMAND`), the ref does
/// not move, and with the store back the push goes through.
#[test]
fn ssh_transfer_with_the_store_down() {
    let mut w = World::start(Via::Ssh, false);
    let wt = w.worktree("wt");
    w.commit(&wt, &[("a.bin", 5000, 111)], "one object");
    let stderr_file = w.env.path("ssh-stderr");
    let ssh = format!("{} 2>>{}", w.ssh_command().unwrap(), stderr_file.display());
    w.moto.stop();
    let out = w
        .git_cmd(&wt)
        .env("GIT_SSH_COMMAND", &ssh)
        .args(["-c", "lfs.transfer.maxretries=1", "push", "origin", "main"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "the push succeeded without its store"
    );
    let cause =
        "S3 store unreachable while checking the bucket: io: Connection refused (os error 111)";
    assert!(
        err.lines()
            .any(|l| l
                == format!("LFS: batch response: status 503 from server (LFS storage: {cause})")),
        "{err}"
    );
    let channel = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    let logged: Vec<&str> = channel
        .lines()
        .filter(|l| l.starts_with("hubctl: "))
        .collect();
    assert_eq!(
        logged,
        vec![format!("hubctl: LFS batch for {REPO}: LFS storage: {cause}").as_str()],
        "{channel}"
    );
    let refs = w.env.git_ok(&w.env.bare(REPO), &["for-each-ref"]);
    assert!(refs.trim().is_empty(), "the ref moved: {refs}");

    w.moto.restart();
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &["a.bin"]);
}

/// `lfs migrate-storage --to s3` when the bucket already holds something else under an
/// object's key (same size, one byte changed behind hubctl's back): the copy is "already
/// there", the read-back hash catches it, the migration stops naming the object and what it
/// found, the repository stays on local storage with its copy, and a clone still gets the
/// right content.
#[test]
fn migration_stops_at_an_object_that_is_not_intact_in_the_target() {
    let w = World::start(Via::Serve, false);
    w.admin_ok(&["repo", "set", REPO, "lfs-storage", "local"]);
    let wt = w.worktree("wt");
    w.commit(&wt, &[("a.bin", 4000, 121)], "one object");
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let oid = sha256_file(&wt.join("a.bin"));
    let key = w.key_of(&wt.join("a.bin"));
    let mut wrong = std::fs::read(wt.join("a.bin")).unwrap();
    wrong[10] ^= 0xff;
    w.moto.put_object(&key, &wrong);

    let out = w.admin(&["lfs", "migrate-storage", REPO, "--to", "s3"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    let expected = format!(
        "{oid} did not land intact in the s3 store: 4000 bytes hashing to {}",
        hex(&Sha256::digest(&wrong))
    );
    assert!(err.contains(&expected), "{err}");
    let show = w.admin_ok(&["repo", "show", REPO, "--json"]);
    assert!(show.contains("\"lfs_storage\": \"local\""), "{show}");
    let local = files_under(&w.env.bare(REPO).join("lfs/objects"));
    assert!(local.iter().any(|p| p.ends_with(&oid)), "{local:?}");
    w.clone_and_compare(&wt, "clone", &["a.bin"]);
}

/// Over SSH (`git-lfs-transfer`), bad credentials: hubctl's store is s3rver (which checks
/// SigV4, unlike moto) with a wrong secret key in the credentials file. git-lfs shows hubctl's
/// 500 status and the message naming the store's refusal and its cause, hubctl writes one
/// `hubctl:` line on the channel's stderr, the ref does not move; with the right key (the file
/// is read on every request) the push goes through.
#[test]
fn ssh_transfer_with_bad_credentials() {
    let w = World::start(Via::Ssh, false);
    let s3 = S3rver::start();
    w.admin_ok(&["config", "set", "lfs-s3-endpoint", &s3.endpoint]);
    assert_eq!(s3.bucket, w.moto.bucket);
    let credentials = w.env.path("s3-credentials");
    let write_keys = |secret: &str| {
        std::fs::write(
            &credentials,
            format!(
                "[default]\naws_access_key_id = {}\naws_secret_access_key = {secret}\n",
                s3.access_key
            ),
        )
        .unwrap();
    };
    write_keys("not-the-secret");
    let wt = w.worktree("wt");
    w.commit(&wt, &[("a.bin", 3000, 131)], "one object");
    let stderr_file = w.env.path("ssh-stderr");
    let ssh = format!("{} 2>>{}", w.ssh_command().unwrap(), stderr_file.display());
    let out = w
        .git_cmd(&wt)
        .env("GIT_SSH_COMMAND", &ssh)
        .args(["-c", "lfs.transfer.maxretries=1", "push", "origin", "main"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the push succeeded with a wrong key");
    let message = format!(
        "LFS storage: the S3 store refused hubctl's credentials for bucket {} (checking the \
         bucket: HTTP 403 SignatureDoesNotMatch): the secret access key is not the one the \
         store has for access key {}",
        s3.bucket, s3.access_key
    );
    let shown = format!("LFS: batch response: status 500 from server ({message})");
    assert!(
        err.lines().any(|l| l == shown),
        "{err}\n--- s3rver ---\n{}",
        s3.log()
    );
    let channel = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    let logged: Vec<&str> = channel
        .lines()
        .filter(|l| l.starts_with("hubctl: "))
        .collect();
    assert_eq!(
        logged,
        vec![format!("hubctl: LFS batch for {REPO}: {message}").as_str()],
        "{channel}"
    );
    let refs = w.env.git_ok(&w.env.bare(REPO), &["for-each-ref"]);
    assert!(refs.trim().is_empty(), "the ref moved: {refs}");
    assert!(s3.list("").is_empty());

    write_keys(&s3.secret_key);
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let key = w.key_of(&wt.join("a.bin"));
    assert_eq!(s3.list(""), vec![(key, 3000)]);
}
