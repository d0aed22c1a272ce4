//! An embedding application's own access rule (issue 20, point 2): `examples/embed.rs
//! --only-user alice` plugs an `Authorize` of its own into the hub with
//! `embed::Builder::authorize`, replacing hubctl's table. Proven with the real git and git-lfs
//! clients and curl on git and LFS routes alike:
//! - alice has no grant on bob's private repository, so hubctl's table would answer 404; the
//!   application's rule lets her push (with an LFS object) and clone (with LFS);
//! - bob owns the repository, so the table would let him do anything; the application's rule
//!   refuses his clone (git) and his LFS batch and lock requests with its own message;
//! - anonymous requests get the application's own challenge (`Basic realm="embed example"`)
//!   on git and LFS routes.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::*;
use crate::harness::{app_git as git, app_git_ok as git_ok};
use crate::push::write_random;

/// bob's private repository.
const REPO: &str = "bob/private";
const REFUSAL: &str = "this application lets only alice in";
const CHALLENGE: &str = "Basic realm=\"embed example\"";

fn with_credentials(url: &str, user: &str, token: &str) -> String {
    url.replacen("http://", &format!("http://{user}:{token}@"), 1)
}

/// The body of a curl answer (after the last header block).
fn body(text: &str) -> &str {
    text.rsplit_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn header<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// POST an LFS JSON request to `<repo url>/info/lfs/<rest>` with `auth` (`user:token` or none).
fn lfs_post(url: &str, auth: Option<&str>, rest: &str, request: &Value) -> (u16, String) {
    let target = format!("{url}/info/lfs/{rest}");
    let body = request.to_string();
    let mut args = vec![
        "-H",
        "Accept: application/vnd.git-lfs+json",
        "-H",
        "Content-Type: application/vnd.git-lfs+json",
        "--data-binary",
        &body,
        &target,
    ];
    if let Some(a) = auth {
        args.splice(0..0, ["-u", a]);
    }
    curl(&args)
}

#[test]
fn the_applications_rule_replaces_hubctls_on_git_and_lfs_routes() {
    let env = Env::new();
    let alice = env.user_with_token("alice", &[]);
    let bob = env.user_with_token("bob", &[]);
    env.hubctl_ok(&["repo", "init", REPO, "--private"]);
    let app = Embedded::start(&env, &["--only-user", "alice"]);
    let url = app.url(REPO);
    let scratch = env.dir.path().to_path_buf();
    git_ok(&env, &app, &scratch, &["lfs", "install", "--skip-repo"]);

    // alice, without any grant on bob's repository: push with an LFS object, clone with LFS.
    let src = env.path("alice-src");
    std::fs::create_dir_all(&src).unwrap();
    git_ok(&env, &app, &src, &["init", "-q", "-b", "main"]);
    git_ok(&env, &app, &src, &["lfs", "install", "--local"]);
    git_ok(&env, &app, &src, &["lfs", "track", "*.bin"]);
    write_random(&src.join("big.bin"), 300 * 1024, 5);
    std::fs::write(src.join("README"), "hi\n").unwrap();
    git_ok(&env, &app, &src, &["add", "-A"]);
    git_ok(&env, &app, &src, &["commit", "-q", "-m", "with lfs"]);
    let alice_url = with_credentials(&url, "alice", &alice);
    git_ok(&env, &app, &src, &["push", "-q", &alice_url, "main"]);
    let clone = env.path("alice-clone");
    git_ok(
        &env,
        &app,
        &scratch,
        &["clone", "-q", &alice_url, clone.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(clone.join("big.bin")).unwrap(),
        std::fs::read(src.join("big.bin")).unwrap(),
        "the LFS object came back through the application's rule"
    );
    // hubctl's own table (`hubctl serve` on the same root) hides the repository from alice
    // and lets its owner in: the opposite of the application's rule.
    let server = env.serve(&[]);
    for (who, token, status) in [("alice", &alice, 404), ("bob", &bob, 200)] {
        let (got, text) = curl(&[
            "-u",
            &format!("{who}:{token}"),
            &format!("{}/info/refs?service=git-upload-pack", server.url(REPO)),
        ]);
        assert_eq!(got, status, "{who} through hubctl serve: {text}");
    }
    drop(server);

    // bob owns the repository; the application refuses him on git and LFS routes.
    let bob_url = with_credentials(&url, "bob", &bob);
    let out = git(
        &env,
        &scratch,
        &["clone", &bob_url, env.path("bob-clone").to_str().unwrap()],
    );
    assert!(!out.status.success(), "bob's clone went through");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(REFUSAL), "bob's clone: {err}");
    let oid = "0".repeat(64);
    let batch = json!({"operation": "download", "objects": [{"oid": oid, "size": 1}]});
    let auth = format!("bob:{bob}");
    let (status, text) = lfs_post(&url, Some(&auth), "objects/batch", &batch);
    assert_eq!(status, 403, "bob's batch: {text}");
    let answer: Value = serde_json::from_str(body(&text)).unwrap();
    assert_eq!(answer["message"], REFUSAL, "{text}");
    let (status, text) = lfs_post(&url, Some(&auth), "locks", &json!({"path": "big.bin"}));
    assert_eq!(status, 403, "bob's lock: {text}");
    // git-lfs itself, in alice's clone (its objects dropped) with bob's credentials: refused
    // with the message.
    std::fs::remove_dir_all(clone.join(".git/lfs/objects")).unwrap();
    let out = git(
        &env,
        &clone,
        &[
            "-c",
            "lfs.transfer.maxretries=1",
            "-c",
            &format!("lfs.url={bob_url}/info/lfs"),
            "lfs",
            "fetch",
            "--all",
        ],
    );
    assert!(!out.status.success(), "bob's lfs fetch went through");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(REFUSAL), "bob's lfs fetch: {err}");

    // Anonymous callers get the application's challenge, not hubctl's, on both routes.
    let (status, text) = curl(&[&format!("{url}/info/refs?service=git-upload-pack")]);
    assert_eq!(status, 401, "{text}");
    assert_eq!(header(&text, "WWW-Authenticate"), Some(CHALLENGE), "{text}");
    let (status, text) = lfs_post(&url, None, "objects/batch", &batch);
    assert_eq!(status, 401, "{text}");
    assert_eq!(header(&text, "WWW-Authenticate"), Some(CHALLENGE), "{text}");
    assert_eq!(header(&text, "LFS-Authenticate"), Some(CHALLENGE), "{text}");
}

/// The application's own login as the principal (`embed::Request::user`, here from the
/// example's `--user-header`): carol is no hubctl user at all, yet the application's rule lets
/// her push and clone with LFS through git's and git-lfs's `http.extraHeader` (git-lfs's lock
/// verification before the push included); dave, another
/// login of the application, is refused on git and LFS routes; hubctl's tokens are not read
/// once the application names the user.
#[test]
fn the_applications_own_login_is_the_principal() {
    let env = Env::new();
    let bob = env.user_with_token("bob", &[]);
    env.hubctl_ok(&["repo", "init", REPO, "--private"]);
    let app = Embedded::start(
        &env,
        &["--only-user", "carol", "--user-header", "X-App-User"],
    );
    let url = app.url(REPO);
    let scratch = env.dir.path().to_path_buf();
    git_ok(&env, &app, &scratch, &["lfs", "install", "--skip-repo"]);
    // carol's git and git-lfs send the application's login with every request: a global
    // config of her own (git-lfs's hooks and filters read it too).
    let carol_config = env.path("carol.gitconfig");
    let mut config = std::fs::read_to_string(env.home.join(".gitconfig")).unwrap();
    config.push_str("[http]\n\textraHeader = X-App-User: carol\n");
    std::fs::write(&carol_config, config).unwrap();
    let carol = |cwd: &Path, args: &[&str]| {
        let mut c = Command::new("timeout");
        c.args(["-k", "10", "180", "git"])
            .args(args)
            .current_dir(cwd);
        env.clean_env(&mut c);
        c.env_remove("XDG_RUNTIME_DIR")
            .env("GIT_CONFIG_GLOBAL", &carol_config);
        let out = c.output().expect("running git");
        assert!(
            out.status.success(),
            "git {args:?} as carol failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    };

    let src = env.path("carol-src");
    std::fs::create_dir_all(&src).unwrap();
    git_ok(&env, &app, &src, &["init", "-q", "-b", "main"]);
    git_ok(&env, &app, &src, &["lfs", "install", "--local"]);
    git_ok(&env, &app, &src, &["lfs", "track", "*.bin"]);
    write_random(&src.join("big.bin"), 100 * 1024, 9);
    git_ok(&env, &app, &src, &["add", "-A"]);
    git_ok(&env, &app, &src, &["commit", "-q", "-m", "carol's"]);
    carol(&src, &["push", "-q", &url, "main"]);
    let clone = env.path("carol-clone");
    carol(&scratch, &["clone", "-q", &url, clone.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(clone.join("big.bin")).unwrap(),
        std::fs::read(src.join("big.bin")).unwrap()
    );
    // dave, with bob's (the owner's) token besides: the application's login wins and is refused.
    let bob_url = with_credentials(&url, "bob", &bob);
    let out = git(
        &env,
        &scratch,
        &[
            "-c",
            "http.extraHeader=X-App-User: dave",
            "clone",
            &bob_url,
            env.path("dave").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "dave's clone went through");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this application lets only carol in"), "{err}");
    let batch = json!({"operation": "download", "objects": [{"oid": "0".repeat(64), "size": 1}]});
    let (status, text) = curl(&[
        "-H",
        "X-App-User: dave",
        "-H",
        "Accept: application/vnd.git-lfs+json",
        "-H",
        "Content-Type: application/vnd.git-lfs+json",
        "--data-binary",
        &batch.to_string(),
        &format!("{url}/info/lfs/objects/batch"),
    ]);
    assert_eq!(status, 403, "dave's batch: {text}");
    let answer: Value = serde_json::from_str(body(&text)).unwrap();
    assert_eq!(answer["message"], "this application lets only carol in");
}
