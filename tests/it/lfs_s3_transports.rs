//! Git LFS on S3 (issue 18) where the transport plays a part, beyond `lfs_s3.rs`'s serve-only
//! cases, against moto's S3 server with the real git-lfs client (the world of `lfs_s3.rs`):
//!
//! - over CGI (nginx + fcgiwrap) and SSH (`git-lfs-transfer`) in proxy mode: an object over
//!   64 MiB goes up as a multipart upload and clones back intact; an object pushed there and
//!   then overwritten in the bucket is caught by `hubctl lfs fsck`; `lfs migrate-storage` to
//!   local storage keeps every object and the same transport clones from there;
//! - presigned mode with the store stopped after the batch answer, while the client sends the
//!   object straight to it: the push fails naming the store, the ref does not move, and the
//!   push goes through once the store is back;
//! - a presigned upload whose object in the bucket has another size than the batch said:
//!   verify refuses it naming both sizes and removes it, so the real content can follow.

use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::lfs_s3::{REPO, Via, World, files_under, moto_requests, sha256_file};

/// Proxy mode over `via`: a multipart upload, fsck of an object tampered with in the bucket,
/// and a migration to local storage read back over the same transport.
fn multipart_tamper_and_migrate(via: Via) {
    let w = World::start(via, true);
    let wt = w.worktree("wt");
    let files = ["a.bin", "big.bin"];
    // One object over 64 MiB (multipart), one small one to tamper with.
    w.commit(
        &wt,
        &[("a.bin", 200_000, 61), ("big.bin", 70 << 20, 62)],
        "objects through hubctl",
    );
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &files);

    // The big object went up in parts, signed by hubctl.
    let big = w.key_of(&wt.join("big.bin"));
    let requests = w.moto.requests();
    assert!(
        requests.iter().any(|r| r.method == "POST"
            && r.target.contains(&big)
            && r.target.contains("uploads")
            && r.target.contains("X-Amz-Signature=")),
        "[{via:?}] no multipart upload of {big}"
    );
    let parts = moto_requests(&w.moto, "PUT", &big)
        .into_iter()
        .filter(|r| r.target.contains("partNumber") && r.status == 200)
        .count();
    assert!(parts >= 2, "[{via:?}] {parts} parts for a 70 MiB object");
    if via == Via::Cgi {
        // The client sent it to hubctl (the SSH transfer has no URL to log).
        let oid = big.rsplit('/').next().unwrap();
        let log = w.hubctl_log();
        assert!(
            log.contains(&format!("PUT /{REPO}.git/info/lfs/objects/{oid}")),
            "[{via:?}] no upload of {oid} through hubctl:\n{log}"
        );
    }
    w.clone_and_compare(&wt, "clone", &files);

    // Overwritten in the bucket behind hubctl's back (same size, one byte changed): fsck names
    // it and exits 1; with the right bytes back it is clean.
    let key = w.key_of(&wt.join("a.bin"));
    let oid = key.rsplit('/').next().unwrap().to_string();
    let original = w.moto.get_object(&key).unwrap();
    let mut tampered = original.clone();
    tampered[1000] ^= 0x55;
    w.moto.put_object(&key, &tampered);
    let out = w.admin(&["lfs", "fsck", REPO]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "[{via:?}] {stdout}");
    let corrupt: Vec<&str> = stdout.lines().filter(|l| l.contains("corrupt")).collect();
    assert_eq!(corrupt.len(), 1, "[{via:?}] {stdout}");
    let tampered_sum: String = Sha256::digest(&tampered)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        corrupt[0].contains(&oid) && corrupt[0].contains(&tampered_sum),
        "[{via:?}] {stdout}"
    );
    w.moto.put_object(&key, &original);
    let out = w.admin_ok(&["lfs", "fsck", REPO]);
    assert!(!out.contains("corrupt"), "{out}");

    // Moved to local storage: the bucket is emptied, every object is on disk, and the same
    // transport clones from there.
    let report = w.admin_ok(&["lfs", "migrate-storage", REPO, "--to", "local"]);
    assert!(report.contains("2 sent, 0 already there"), "{report}");
    assert!(
        w.moto.list(&format!("{REPO}/")).is_empty(),
        "[{via:?}] old copies left in the bucket"
    );
    let local = files_under(&w.env.bare(REPO).join("lfs/objects"));
    assert_eq!(local.len(), 2, "[{via:?}] {local:?}");
    for f in files {
        let oid = sha256_file(&wt.join(f));
        assert!(
            local.iter().any(|p| p.ends_with(&oid)),
            "[{via:?}] {f} not stored locally: {local:?}"
        );
    }
    w.clone_and_compare(&wt, "clone-local", &files);
}

mod multipart_tamper_and_migrate {
    use crate::lfs_s3::Via;

    #[test]
    fn cgi() {
        super::multipart_tamper_and_migrate(Via::Cgi)
    }

    /// git-lfs-transfer: the objects pass through hubctl over SSH.
    #[test]
    fn ssh_transfer() {
        super::multipart_tamper_and_migrate(Via::Ssh)
    }
}

/// Presigned mode, the store stopped once the batch has answered (the client is sending the
/// objects straight to it): the push fails with an error naming the store, the ref does not
/// move, hubctl keeps nothing; with the store back the same push goes through.
#[test]
fn store_stopped_mid_presigned_push_loses_nothing() {
    let mut w = World::start(Via::Serve, false);
    let wt = w.worktree("wt");
    let files = ["big.bin", "s.bin"];
    w.commit(&wt, &[("big.bin", 64 << 20, 71), ("s.bin", 100, 72)], "big");
    let key = w.key_of(&wt.join("big.bin"));
    let child = w
        .git_cmd(&wt)
        .args(["push", "origin", "main"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // hubctl has answered the upload batch (its log line comes after the answer): the client
    // now talks to the store alone. Freeze the store at once, then kill it.
    let answered = eventually(Duration::from_secs(120), || {
        w.hubctl_log().contains("/info/lfs/objects/batch")
    });
    w.moto.pause();
    assert!(answered, "no batch request:\n{}", w.hubctl_log());
    let stored_before_stop = moto_requests(&w.moto, "PUT", &key)
        .iter()
        .any(|r| r.status == 200);
    w.moto.stop();
    assert!(
        !stored_before_stop,
        "the 64 MiB upload finished before the store was stopped: the test proves nothing"
    );
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "the push succeeded without its store"
    );
    // git-lfs asks the batch again after a failed transfer: its last word is either its own
    // failed PUT to the store's address or hubctl's answer that the store is unreachable.
    assert!(
        err.contains(&format!("127.0.0.1:{}", w.moto.port)) || err.contains("S3 store unreachable"),
        "the client's error does not name the store:\n{err}"
    );
    // Never a verify of the big object: hubctl was not told it is stored.
    let oid = key.rsplit('/').next().unwrap();
    let log = w.hubctl_log();
    assert!(
        !log.lines()
            .any(|l| l.contains("/info/lfs/verify") && l.contains(" 200") && l.contains(oid)),
        "{log}"
    );
    let refs = w.env.git_ok(&w.env.bare(REPO), &["for-each-ref"]);
    assert!(refs.trim().is_empty(), "the ref moved: {refs}");
    let lfs = w.env.bare(REPO).join("lfs/objects");
    assert!(!lfs.exists() || files_under(&lfs).is_empty(), "{lfs:?}");

    // Back (empty: moto keeps no state across restarts); the same push goes through.
    w.moto.restart();
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &files);
    w.clone_and_compare(&wt, "clone", &files);
}

/// A presigned upload that leaves another size in the bucket than the batch said (a client
/// sending more bytes than it announced, which a store that does not check the signed checksum
/// keeps): verify answers 400 naming both sizes and removes the object, so the oid is not
/// blocked (a batch refuses a stored object of another size with 422): the real git-lfs
/// client then pushes the real content under that oid, and it clones back intact.
#[test]
fn presigned_verify_refuses_a_wrong_size_and_unblocks_the_oid() {
    let w = World::start(Via::Serve, false);
    let wt = w.worktree("wt");
    w.commit(&wt, &[("real.bin", 5000, 81)], "the real content");
    let data = std::fs::read(wt.join("real.bin")).unwrap();
    let oid: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let token = w.token.clone();
    let base = format!("{}/info/lfs", w.url());
    let batch = |op: &str, size: usize| -> (u16, serde_json::Value) {
        let body = format!(r#"{{"operation":"{op}","objects":[{{"oid":"{oid}","size":{size}}}]}}"#);
        let out = Command::new("curl")
            .args(["-s", "--max-time", "60", "-w", "\n%{http_code}", "-u"])
            .arg(format!("alice:{token}"))
            .args([
                "-H",
                "Accept: application/vnd.git-lfs+json",
                "-H",
                "Content-Type: application/vnd.git-lfs+json",
                "--data-binary",
                &body,
            ])
            .arg(format!("{base}/objects/batch"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (
            status.parse().unwrap(),
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")),
        )
    };
    let (status, answer) = batch("upload", data.len());
    assert_eq!(status, 200, "{answer}");
    let actions = &answer["objects"][0]["actions"];
    let headers = |name: &str| -> Vec<String> {
        actions[name]["header"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default()
    };

    // Five bytes more than announced go to the store under the oid's key.
    let mut longer = data.clone();
    longer.extend_from_slice(b"extra");
    let file = w.env.path("longer");
    std::fs::write(&file, &longer).unwrap();
    let mut put = Command::new("curl");
    put.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "60",
    ])
    .args(["-X", "PUT", "-H", "Content-Type: application/octet-stream"]);
    for h in headers("upload") {
        put.arg("-H").arg(h);
    }
    let out = put
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(actions["upload"]["href"].as_str().unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    let key = format!("{REPO}/{}/{}/{oid}", &oid[0..2], &oid[2..4]);
    assert_eq!(w.moto.list(&key), vec![(key.clone(), longer.len() as u64)]);

    let mut verify = Command::new("curl");
    verify.args(["-s", "-w", "\n%{http_code}", "--max-time", "60"]);
    for h in headers("verify") {
        verify.arg("-H").arg(h);
    }
    let out = verify
        .args(["-H", "Content-Type: application/vnd.git-lfs+json"])
        .arg("--data-binary")
        .arg(format!(r#"{{"oid":"{oid}","size":{}}}"#, data.len()))
        .arg(actions["verify"]["href"].as_str().unwrap())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    assert_eq!(status, "400", "{body}");
    assert!(
        body.contains(&format!(
            "object {oid} is {} bytes, not {}",
            longer.len(),
            data.len()
        )),
        "{body}"
    );

    // Removed: nothing to download, and a new upload is offered.
    assert!(w.moto.list(&key).is_empty(), "the wrong object was kept");
    let (status, answer) = batch("download", data.len());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["objects"][0]["error"]["code"], 404, "{answer}");
    let (status, answer) = batch("upload", data.len());
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["objects"][0]["actions"]["upload"]["href"].is_string(),
        "{answer}"
    );

    // The real client pushes the real content under that oid; it clones back intact.
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &["real.bin"]);
    w.clone_and_compare(&wt, "clone", &["real.bin"]);
}
