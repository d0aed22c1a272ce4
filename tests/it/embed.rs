//! The library API for embedding (`hubctl::embed`), proven through `examples/embed.rs`: an
//! application of its own on tiny_http that mounts hubctl at `/git/` beside its own `/hello`.
//! The real git and git-lfs clients clone, push, and move LFS objects through the mount point;
//! every URL hubctl hands out (LFS actions, redirects of renamed repositories, the HTML pages)
//! carries the mount point, and the application's public URL when it gives one.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::harness::{app_git as git, app_git_ok as git_ok};
use crate::push::write_random;

/// A repository owned by alice.
const REPO: &str = "alice/proj";

/// A root with alice (and her token) owning [`REPO`] with the fixture history.
fn setup() -> (Env, String) {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hosted_fixture(REPO, "main");
    (env, token)
}

/// `url` with alice's credentials in it.
fn with_credentials(url: &str, token: &str) -> String {
    url.replacen("http://", &format!("http://alice:{token}@"), 1)
}

/// SHA-256 of a file, streamed.
fn sha256_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The body of a curl answer (after the last header block).
fn body(text: &str) -> &str {
    text.rsplit_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// The value of header `name` in a curl answer.
fn header<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// An LFS batch request for one object, as alice.
fn batch(url: &str, token: &str, operation: &str, oid: &str, size: u64) -> Value {
    let request = json!({
        "operation": operation,
        "transfers": ["basic"],
        "objects": [{"oid": oid, "size": size}],
    });
    let (status, text) = curl(&[
        "-u",
        &format!("alice:{token}"),
        "-H",
        "Accept: application/vnd.git-lfs+json",
        "-H",
        "Content-Type: application/vnd.git-lfs+json",
        "--data-binary",
        &request.to_string(),
        &format!("{url}/info/lfs/objects/batch"),
    ]);
    assert_eq!(status, 200, "batch {operation}: {text}");
    serde_json::from_str(body(&text)).unwrap()
}

#[test]
fn the_application_answers_its_own_route_beside_the_mount() {
    let (env, _token) = setup();
    let app = Embedded::start(&env, &[]);
    let (status, text) = curl(&[&format!("{}/hello", app.base)]);
    assert_eq!(status, 200, "{text}");
    assert_eq!(body(&text), "hello from the application\n");
    // hubctl below the mount point, the application's 404 elsewhere (also beside the mount).
    let (status, text) = curl(&[&format!("{}/git/healthz", app.base)]);
    assert_eq!(status, 200, "{text}");
    // HEAD: the length a GET would have, no body.
    let (status, text) = curl(&["-I", &format!("{}/git/healthz", app.base)]);
    assert_eq!(status, 200, "{text}");
    assert!(
        header(&text, "Content-Length").is_some_and(|n| n != "0"),
        "{text}"
    );
    assert_eq!(body(&text), "", "{text}");
    // Paths that try to leave the root, or are not paths at all, get a refusal.
    for hostile in [
        "/git/../../etc/passwd",
        "/git/%2e%2e/%2e%2e/etc/passwd",
        "/git/alice/..%2f..%2fhubctl.db/info/refs?service=git-upload-pack",
        "/git/alice/proj.git/%zz",
        "/git/alice/proj.git/info/refs%00?service=git-upload-pack",
    ] {
        let (status, text) = curl(&["--path-as-is", &format!("{}{hostile}", app.base)]);
        assert!((400..500).contains(&status), "{hostile}: {text}");
        assert!(!text.contains("root:"), "{hostile}: {text}");
    }
    for other in ["/healthz", "/gitx/healthz", "/alice/proj.git/info/refs"] {
        let (status, text) = curl(&[&format!("{}{other}", app.base)]);
        assert_eq!(status, 404, "{other}: {text}");
        assert_eq!(body(&text), "not found\n", "{other}");
    }
}

#[test]
fn git_clones_and_pushes_through_the_mount() {
    let (env, token) = setup();
    let app = Embedded::start(&env, &[]);
    let url = with_credentials(&app.url(REPO), &token);
    let scratch = env.dir.path().to_path_buf();
    for (protocol, dest) in [("2", "clone-v2"), ("0", "clone-v0")] {
        git_ok(
            &env,
            &app,
            &scratch,
            &[
                "-c",
                &format!("protocol.version={protocol}"),
                "clone",
                "-q",
                &url,
                dest,
            ],
        );
        assert_eq!(
            git_ok(&env, &app, &env.path(dest), &["rev-parse", "HEAD"]),
            git_ok(&env, &app, &env.bare(REPO), &["rev-parse", "main"]),
            "protocol v{protocol}"
        );
    }
    let wt = env.path("clone-v2");

    // A push goes through hubctl's hooks (git runs the hubctl program the application named).
    env.add_commit(
        &wt,
        "pushed.txt",
        "through the mount\n",
        "pushed through /git",
    );
    git_ok(&env, &app, &wt, &["push", "-q", "origin", "main"]);
    // The application's access line names the user hubctl authenticated (git
    // sends credentials after the 401 of a push; reads of this public repository are anonymous).
    assert!(
        eventually(std::time::Duration::from_secs(5), || app.log.contains(
            "embed: alice POST /git/alice/proj.git/git-receive-pack 200"
        )),
        "{}",
        app.log.lines().join("\n")
    );
    git_ok(
        &env,
        &app,
        &wt,
        &["push", "-q", "origin", "main:refs/heads/from-embed"],
    );
    let pushed = git_ok(&env, &app, &wt, &["rev-parse", "HEAD"]);
    let bare = env.bare(REPO);
    assert_eq!(git_ok(&env, &app, &bare, &["rev-parse", "main"]), pushed);
    assert_eq!(
        git_ok(&env, &app, &bare, &["rev-parse", "from-embed"]),
        pushed
    );
    env.git_ok(&bare, &["fsck", "--no-progress"]);

    // Another clone sees the push; a push without credentials is refused.
    git_ok(&env, &app, &scratch, &["clone", "-q", &url, "again"]);
    assert_eq!(
        std::fs::read_to_string(env.path("again/pushed.txt")).unwrap(),
        "through the mount\n"
    );
    let out = git(
        &env,
        &wt,
        &["push", "-q", &app.url(REPO), "main:refs/heads/anonymous"],
    );
    assert!(!out.status.success(), "an anonymous push worked");
    let out = git(&env, &bare, &["rev-parse", "--verify", "-q", "anonymous"]);
    assert!(!out.status.success(), "the anonymous push moved a ref");
}

#[test]
fn git_lfs_pushes_and_pulls_through_the_mount_streaming() {
    let (env, token) = setup();
    let app = Embedded::start(&env, &[]);
    let url = with_credentials(&app.url(REPO), &token);
    let scratch = env.dir.path().to_path_buf();
    git_ok(&env, &app, &scratch, &["lfs", "install", "--skip-repo"]);

    git_ok(&env, &app, &scratch, &["clone", "-q", &url, "wt"]);
    let wt = env.path("wt");
    git_ok(&env, &app, &wt, &["lfs", "track", "*.bin"]);
    // Larger than the application could hold without showing it in its memory high-water mark.
    const SIZE: usize = 64 << 20;
    let data = wt.join("big.bin");
    write_random(&data, SIZE, 20);
    let oid = sha256_file(&data);
    git_ok(&env, &app, &wt, &["add", ".gitattributes", "big.bin"]);
    env.commit(&wt, "an LFS object", 1_700_000_000);
    git_ok(&env, &app, &wt, &["push", "-q", "origin", "main"]);
    let stored = env
        .bare(REPO)
        .join("lfs/objects")
        .join(&oid[0..2])
        .join(&oid[2..4])
        .join(&oid);
    assert_eq!(sha256_file(&stored), oid, "stored object");

    // A clone smudges the object; `git lfs pull` fetches it into a clone that skipped it.
    git_ok(&env, &app, &scratch, &["clone", "-q", &url, "clone"]);
    assert_eq!(sha256_file(&env.path("clone/big.bin")), oid);
    let mut c = Command::new("timeout");
    c.args(["-k", "10", "300", "git", "clone", "-q", &url, "skipped"])
        .current_dir(&scratch);
    env.clean_env(&mut c);
    c.env("GIT_LFS_SKIP_SMUDGE", "1");
    assert!(c.status().unwrap().success());
    let skipped = env.path("skipped");
    assert_ne!(sha256_file(&skipped.join("big.bin")), oid, "smudged anyway");
    git_ok(&env, &app, &skipped, &["lfs", "pull"]);
    assert_eq!(sha256_file(&skipped.join("big.bin")), oid);

    // Neither direction held the object in the application's memory.
    let peak = peak_memory(&app);
    assert!(
        peak < (SIZE as u64) / 2,
        "the application's memory peaked at {peak} bytes while moving a {SIZE}-byte object"
    );
}

#[test]
fn urls_hubctl_hands_out_carry_the_mount() {
    let (env, token) = setup();
    let app = Embedded::start(&env, &[]);
    let repo_url = app.url(REPO);

    // LFS actions point below the mount point, on the host the client used.
    let oid = "a".repeat(64);
    let answer = batch(&repo_url, &token, "upload", &oid, 3);
    let href = answer["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no upload action: {answer}"));
    assert!(
        href.starts_with(&format!("{repo_url}/info/lfs/")),
        "upload href {href}"
    );

    // The HTML pages: links and clone URLs below the mount point.
    let (status, text) = curl(&[
        "-u",
        &format!("alice:{token}"),
        &format!("{}/git/", app.base),
    ]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("href=\"/git/alice/proj\""), "{text}");
    let (status, text) = curl(&[
        "-u",
        &format!("alice:{token}"),
        &format!("{}/git/alice/proj", app.base),
    ]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&repo_url), "{text}");

    // A renamed repository redirects to its new name below the mount point, and git follows.
    env.hubctl_ok(&["repo", "rename", REPO, "alice/renamed"]);
    let (status, text) = curl(&[
        "-u",
        &format!("alice:{token}"),
        &format!("{repo_url}/info/refs?service=git-upload-pack"),
    ]);
    assert_eq!(status, 301, "{text}");
    assert_eq!(
        header(&text, "Location"),
        Some("/git/alice/renamed.git/info/refs?service=git-upload-pack"),
        "{text}"
    );
    let scratch = env.dir.path().to_path_buf();
    git_ok(
        &env,
        &app,
        &scratch,
        &[
            "clone",
            "-q",
            &with_credentials(&repo_url, &token),
            "old-name",
        ],
    );
    assert!(env.path("old-name/file1.txt").is_file());
}

#[test]
fn the_public_url_and_the_mount_make_absolute_urls() {
    let (env, token) = setup();
    let app = Embedded::start(&env, &["--public-url", "https://git.example.com/"]);
    let public = "https://git.example.com/git/alice/proj.git";

    let answer = batch(&app.url(REPO), &token, "upload", &"b".repeat(64), 3);
    let href = answer["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no upload action: {answer}"));
    assert!(
        href.starts_with(&format!("{public}/info/lfs/")),
        "upload href {href}"
    );
    let (status, text) = curl(&[
        "-u",
        &format!("alice:{token}"),
        &format!("{}/git/alice/proj", app.base),
    ]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(public), "{text}");
    assert!(!text.contains(&app.base), "{text}");
}

/// The application's peak resident memory, from `/proc`.
fn peak_memory(app: &Embedded) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", app.pid())).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

#[test]
fn a_large_push_and_clone_stream_through_the_application() {
    let (env, token) = setup();
    let app = Embedded::start(&env, &[]);
    let url = with_credentials(&app.url(REPO), &token);
    let scratch = env.dir.path().to_path_buf();
    git_ok(&env, &app, &scratch, &["clone", "-q", &url, "wt"]);
    let wt = env.path("wt");
    // Random bytes: the pack is as large as the file.
    const SIZE: usize = 64 << 20;
    write_random(&wt.join("big.dat"), SIZE, 7);
    git_ok(&env, &app, &wt, &["add", "big.dat"]);
    env.commit(&wt, "a large file", 1_700_000_000);
    git_ok(&env, &app, &wt, &["push", "-q", "origin", "main"]);
    let pushed = git_ok(&env, &app, &wt, &["rev-parse", "HEAD"]);
    assert_eq!(
        git_ok(&env, &app, &env.bare(REPO), &["rev-parse", "main"]),
        pushed
    );
    git_ok(&env, &app, &scratch, &["clone", "-q", &url, "back"]);
    assert_eq!(
        sha256_file(&env.path("back/big.dat")),
        sha256_file(&wt.join("big.dat"))
    );
    let peak = peak_memory(&app);
    assert!(
        peak < (SIZE as u64) / 2,
        "the application's memory peaked at {peak} bytes while a {SIZE}-byte pack went through it both ways"
    );
}

#[test]
fn one_hub_serves_clones_from_many_threads_at_once() {
    let (env, token) = setup();
    let app = Embedded::start(&env, &[]);
    let url = with_credentials(&app.url(REPO), &token);
    let want = git_ok(&env, &app, &env.bare(REPO), &["rev-parse", "main"]);
    std::thread::scope(|s| {
        let clones: Vec<_> = (0..6)
            .map(|i| {
                let (env, app, url) = (&env, &app, &url);
                s.spawn(move || {
                    let dest = format!("clone-{i}");
                    git_ok(env, app, env.dir.path(), &["clone", "-q", url, &dest]);
                    git_ok(env, app, &env.path(&dest), &["rev-parse", "HEAD"])
                })
            })
            .collect();
        for c in clones {
            assert_eq!(c.join().unwrap(), want);
        }
    });
}
