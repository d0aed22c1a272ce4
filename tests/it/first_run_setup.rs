//! Issue 15, first run: the documented setups work exactly as the README describes them, and
//! the mistakes a new user makes get answers that say what to do.

use crate::harness::*;

/// The README's nginx layout (snippets in `snippets/`, the server block in
/// `sites-available/hubctl`, nginx.conf including `sites-enabled/*`) passes `nginx -t`, with
/// the default snippet and with the push-auth variant as the README says to switch to it.
#[test]
fn readme_nginx_layout_passes_nginx_t() {
    let env = Env::new();
    for push_auth in [false, true] {
        let dir = env.path(if push_auth {
            "nginx-push-auth"
        } else {
            "nginx"
        });
        let values = [
            ("hubctl_bin", hubctl_bin().display().to_string()),
            ("hubctl_root", env.root.display().to_string()),
            ("hubctl_fcgi", "unix:/run/fcgiwrap.socket".to_string()),
            ("hubctl_project_root", String::new()),
            ("hubctl_export_all", String::new()),
            (
                "hubctl_htpasswd",
                env.path("htpasswd").display().to_string(),
            ),
        ];
        let block = render_server_block(free_port(), &values, push_auth);
        assert!(
            block.contains(if push_auth {
                "include snippets/hubctl-push-auth.conf;"
            } else {
                "include snippets/hubctl.conf;"
            }),
            "{block}"
        );
        write_layout(&dir, &block);
        let (ok, out) = nginx_test_config(&dir);
        assert!(ok, "nginx -t failed on the README layout:\n{out}\n{block}");
        assert!(out.contains("test is successful"), "{out}");
    }
}

fn api_call(base: &str, method: &str, token: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let mut args = vec![
        "-X".to_string(),
        method.to_string(),
        "-H".into(),
        format!("Authorization: Bearer {token}"),
    ];
    if let Some(b) = body {
        args.extend([
            "-H".into(),
            "Content-Type: application/json".into(),
            "--data-binary".into(),
            b.into(),
        ]);
    }
    args.push(format!("{base}/api/user/keys"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, text) = curl(&args);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Behind nginx with the default snippet, built from the README, one hubctl token clones a
/// private repository, pushes to it and manages the user's SSH keys; a wrong token is refused
/// for each.
#[test]
fn one_token_clones_pushes_and_manages_keys_behind_nginx() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "init", "alice/private", "--private"]);
    let nginx = Nginx::start(&env, NginxOptions::default());
    let url =
        nginx
            .url("alice/private.git")
            .replacen("http://", &format!("http://alice:{token}@"), 1);
    let bad = nginx
        .url("alice/private.git")
        .replacen("http://", "http://alice:hubctl_wrong@", 1);

    let wt = env.path("work");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    env.add_commit(&wt, "a.txt", "a\n", "first");
    let out = env.git(&wt, &["push", &bad, "main"]);
    assert!(!out.status.success(), "a wrong token pushed");
    env.git_ok(&wt, &["push", "-q", &url, "main"]);
    let head = env.git_ok(&wt, &["rev-parse", "HEAD"]);
    assert_eq!(
        env.git_ok(&env.bare("alice/private"), &["rev-parse", "main"]),
        head
    );

    let out = env.git(
        &env.home,
        &["clone", "-q", &bad, env.path("bad").to_str().unwrap()],
    );
    assert!(!out.status.success(), "a wrong token cloned");
    let clone = env.path("clone");
    env.git_ok(&env.home, &["clone", "-q", &url, clone.to_str().unwrap()]);
    assert_eq!(env.git_ok(&clone, &["rev-parse", "HEAD"]), head);

    let key = ClientKey::generate(&env, "laptop", KeyKind::Ed25519);
    let body = serde_json::json!({"title": "laptop", "key": key.public_line}).to_string();
    assert_eq!(api_call(&nginx.base, "GET", "hubctl_wrong", None).0, 401);
    let (status, added) = api_call(&nginx.base, "POST", &token, Some(&body));
    assert_eq!(status, 200, "{added}");
    let (status, list) = api_call(&nginx.base, "GET", &token, None);
    assert_eq!(status, 200);
    assert_eq!(list[0]["id"], added["id"], "{list}");
}

/// The htpasswd variant (hubctl-push-auth.conf, hubctl trusting nginx's REMOTE_USER), switched
/// on as the README says: the htpasswd password pushes as that user, a wrong one is refused by
/// nginx, and reads of a public repository stay anonymous.
#[test]
fn htpasswd_variant_pushes_as_the_verified_user() {
    let env = Env::new();
    env.ensure_owner("alice");
    env.ensure_owner("bob");
    env.hubctl_ok(&["repo", "init", "alice/project"]);
    let nginx = Nginx::start(
        &env,
        NginxOptions {
            snippet: Snippet::PushAuth,
            users: vec![
                ("alice".into(), "htpass-alice".into()),
                ("bob".into(), "htpass-bob".into()),
            ],
            ..NginxOptions::default()
        },
    );
    let plain = nginx.url("alice/project.git");
    let good = plain.replacen("http://", "http://alice:htpass-alice@", 1);
    let bad = plain.replacen("http://", "http://alice:wrong@", 1);
    let wt = env.path("work");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    env.add_commit(&wt, "a.txt", "a\n", "first");
    let out = env.git(&wt, &["push", &bad, "main"]);
    assert!(!out.status.success(), "a wrong htpasswd password pushed");
    assert!(
        stderr(&out).contains("401") || stderr(&out).contains("Authentication failed"),
        "{}",
        stderr(&out)
    );
    env.git_ok(&wt, &["push", "-q", &good, "main"]);
    let head = env.git_ok(&wt, &["rev-parse", "HEAD"]);
    assert_eq!(
        env.git_ok(&env.bare("alice/project"), &["rev-parse", "main"]),
        head
    );
    // hubctl applies its rules to the user nginx verified: bob's password is right, but he
    // may not write to alice's repository.
    env.add_commit(&wt, "b.txt", "b\n", "second");
    let bob = plain.replacen("http://", "http://bob:htpass-bob@", 1);
    let out = env.git(&wt, &["push", &bob, "main"]);
    assert!(!out.status.success(), "bob pushed into alice's repository");
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
    let clone = env.path("clone");
    env.git_ok(&env.home, &["clone", "-q", &plain, clone.to_str().unwrap()]);
    assert_eq!(env.git_ok(&clone, &["rev-parse", "HEAD"]), head);
}

/// The account Debian runs fcgiwrap as.
const WWW: &str = "www-data";

/// `hubctl --root ROOT ARGS` as another account (setpriv, as sudo -u would).
fn hubctl_as(env: &Env, user: &str, args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new("setpriv");
    c.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg(runnable_by_others(&hubctl_bin(), env.dir.path()))
        .arg("--root")
        .arg(&env.root)
        .args(args);
    env.clean_env(&mut c);
    c.output().expect("setpriv")
}

fn chown_r(path: &std::path::Path, user: &str) {
    let st = std::process::Command::new("chown")
        .args(["-R", &format!("{user}:{user}")])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
}

fn open_up(env: &Env) {
    use std::os::unix::fs::PermissionsExt;
    for d in [env.dir.path(), env.home.as_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// fcgiwrap running hubctl as root on a root that belongs to www-data (or any account other
/// than the repositories' owner): hubctl tells git to trust the repository it resolved, so the
/// push and the clone work instead of git's "dubious ownership" (which used to surface as a
/// 200 with an empty advertisement). The operator's CLI, run as root on that root, says whose
/// it is.
#[test]
fn push_through_nginx_as_another_account_than_the_repository_owner() {
    assert!(is_root(), "this test switches accounts");
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "init", "alice/project"]);
    chown_r(&env.root, WWW);
    let out = env.hubctl(&["user", "add", "bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("belongs to www-data")
            && err.contains("runs as root")
            && err.contains("sudo -u www-data hubctl"),
        "{err}"
    );
    chown_r(&env.root, WWW);

    let nginx = Nginx::start(&env, NginxOptions::default());
    let url =
        nginx
            .url("alice/project.git")
            .replacen("http://", &format!("http://alice:{token}@"), 1);
    let wt = env.path("work");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    env.add_commit(&wt, "a.txt", "a\n", "first");
    let out = env.git(&wt, &["push", &url, "main"]);
    assert!(
        out.status.success(),
        "push failed: {}\n{}",
        stderr(&out),
        nginx.logs()
    );
    let head = env.git_ok(&wt, &["rev-parse", "HEAD"]);
    let bare = env.bare("alice/project");
    let mut c = env.git_cmd(&bare);
    c.args(["-c", &format!("safe.directory={}", bare.display())])
        .args(["rev-parse", "main"]);
    assert_eq!(String::from_utf8_lossy(&c.output().unwrap().stdout), head);
    let clone = env.path("clone");
    env.git_ok(&env.home, &["clone", "-q", &url, clone.to_str().unwrap()]);
    assert_eq!(env.git_ok(&clone, &["rev-parse", "HEAD"]), head);
    assert!(!nginx.logs().contains("dubious"), "{}", nginx.logs());
}

/// The reverse: hubctl running as www-data (fcgiwrap's account, and the CLI through setpriv)
/// on a root that belongs to root. Every attempt fails with one line naming the path, its
/// owner, the current user and the fix, instead of "attempt to write a readonly database".
#[test]
fn permission_problems_name_path_owner_user_and_fix() {
    assert!(is_root(), "this test switches accounts");
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "init", "alice/project"]);
    open_up(&env);
    let root = env.root.display().to_string();
    for args in [
        &["user", "add", "bob"][..],
        &["user", "list"],
        &["repo", "list"],
    ] {
        let out = hubctl_as(&env, WWW, args);
        assert!(!out.status.success(), "{args:?} succeeded as www-data");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("cannot write {root}"))
                && err.contains("belongs to root")
                && err.contains("runs as www-data")
                && err.contains("sudo -u root hubctl")
                && err.contains(&format!("chown -R www-data {root}")),
            "{args:?}: {err}"
        );
        assert!(!err.contains("readonly database"), "{err}");
    }
    // The database alone belonging to root (the directory is www-data's) is named as such.
    chown_r(&env.root, WWW);
    let db = env.root.join("hubctl.db");
    let st = std::process::Command::new("chown")
        .args(["root:root"])
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());
    let out = hubctl_as(&env, WWW, &["user", "add", "carol"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("cannot write {}", db.display())) && err.contains("belongs to root"),
        "{err}"
    );
    chown_r(&env.root, "root");

    // fcgiwrap as www-data on root's root: the client gets a 500, nginx's log the line.
    let nginx = Nginx::start(
        &env,
        NginxOptions {
            fcgi_user: Some(WWW.into()),
            ..NginxOptions::default()
        },
    );
    let url =
        nginx
            .url("alice/project.git")
            .replacen("http://", &format!("http://alice:{token}@"), 1);
    let out = env.git(&env.home, &["ls-remote", &url]);
    assert!(!out.status.success());
    assert!(
        eventually(std::time::Duration::from_secs(5), || {
            let logs = nginx.logs();
            logs.contains(&format!("cannot write {root}"))
                && logs.contains("runs as www-data")
                && logs.contains("sudo -u root hubctl")
        }),
        "{}",
        nginx.logs()
    );
}

/// `hubctl --root ROOT ARGS` with the test's clean environment.
fn hubctl_at(env: &Env, root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new(hubctl_bin());
    env.clean_env(&mut c);
    c.arg("--root").arg(root).args(args).output().unwrap()
}

/// A mistyped --root: commands that only read fail with `no hubctl root at …` naming how to
/// create one, and create nothing; a command that writes creates the root as before.
#[test]
fn a_mistyped_root_creates_nothing() {
    let env = Env::new();
    let typo = env.path("srv/hubctl-typo");
    let typo_s = typo.to_str().unwrap();
    for args in [
        &["user", "list"][..],
        &["org", "list"],
        &["token", "list"],
        &["repo", "list"],
        &["repo", "show", "alice/project"],
        &["keys", "list"],
        &["keys", "authorized-keys"],
        &["config", "get", "max-engines"],
        &["lfs", "ls", "alice/project"],
    ] {
        let out = hubctl_at(&env, &typo, args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("no hubctl root at {typo_s}")) && err.contains("hubctl init"),
            "{args:?}: {err}"
        );
        assert!(!typo.exists(), "{args:?} created {typo_s}");
    }
    // HUBCTL_ROOT is held to the same rule.
    let mut c = std::process::Command::new(hubctl_bin());
    env.clean_env(&mut c);
    let out = c
        .env("HUBCTL_ROOT", &typo)
        .args(["user", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success() && stderr(&out).contains("no hubctl root at"));
    assert!(!typo.exists());

    // git's own client through `hubctl upload-pack` on the typo.
    let out = env.git(
        &env.home,
        &[
            "clone",
            "--upload-pack",
            &format!("{} --root {typo_s} upload-pack", hubctl_bin().display()),
            "file:///alice/project.git",
            env.path("clone").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no hubctl root at"),
        "{}",
        stderr(&out)
    );
    assert!(!typo.exists());
    // A mistyped $hubctl_root behind nginx: 500 for the client, the line in the log.
    let nginx = Nginx::start(
        &env,
        NginxOptions {
            root: Some(typo.clone()),
            ..NginxOptions::default()
        },
    );
    let out = env.git(&env.home, &["ls-remote", &nginx.url("alice/project.git")]);
    assert!(!out.status.success());
    assert!(
        eventually(std::time::Duration::from_secs(5), || nginx
            .logs()
            .contains(&format!("no hubctl root at {typo_s}"))),
        "{}",
        nginx.logs()
    );
    assert!(!typo.exists());

    let out = hubctl_at(&env, &typo, &["user", "add", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(typo.join("hubctl.db").is_file());
    let out = hubctl_at(&env, &typo, &["user", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice"));
}

/// `hubctl doctor [--json]` as (status, checks by name → (status, message, fix)).
fn doctor(
    env: &Env,
    extra: &[&str],
    vars: &[(&str, &str)],
) -> (
    bool,
    std::collections::HashMap<String, (String, String, String)>,
) {
    let mut c = env.hubctl_cmd();
    c.args(["doctor", "--json"]).args(extra);
    for (k, v) in vars {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    assert_eq!(v["ok"].as_bool().unwrap(), out.status.success(), "{v}");
    let mut checks = std::collections::HashMap::new();
    for c in v["checks"].as_array().unwrap() {
        checks.insert(
            c["check"].as_str().unwrap().to_string(),
            (
                c["status"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
                c["fix"].as_str().unwrap_or("").to_string(),
            ),
        );
    }
    (out.status.success(), checks)
}

fn expect(
    checks: &std::collections::HashMap<String, (String, String, String)>,
    name: &str,
    status: &str,
    needle: &str,
) {
    let c = checks
        .get(name)
        .unwrap_or_else(|| panic!("no {name} check: {checks:?}"));
    assert_eq!(c.0, status, "{name}: {c:?}");
    assert!(
        c.1.contains(needle) || c.2.contains(needle),
        "{name}: {needle:?} not in {c:?}"
    );
    if status != "ok" {
        assert!(!c.2.is_empty(), "{name}: no fix: {c:?}");
    }
}

/// `hubctl doctor` on a healthy setup says ok to every check (with `--url` cloning the refs
/// from the running server); then each checked thing is broken in turn, and doctor names it,
/// with a fix, failing (exit 1) where the setup cannot work.
#[test]
fn doctor_names_each_broken_thing() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hosted_fixture("alice/project", "main");
    env.hubctl_ok(&["repo", "gc", "alice/project"]);
    let safe = SafeDir::create();
    let keys = safe.path().join("authorized_keys");
    env.hubctl_ok(&[
        "config",
        "set",
        "authorized-keys-file",
        keys.to_str().unwrap(),
    ]);
    let key = ClientKey::generate(&env, "laptop", KeyKind::Ed25519);
    env.hubctl_ok(&[
        "keys",
        "add",
        "--user",
        "alice",
        key.public.to_str().unwrap(),
    ]);
    let server = env.serve(&[]);
    // A push through the server makes the hook links.
    let wt = env.path("work");
    let url = server
        .url("alice/project")
        .replacen("http://", &format!("http://alice:{token}@"), 1);
    env.git_ok(&env.home, &["clone", "-q", &url, wt.to_str().unwrap()]);
    env.add_commit(&wt, "new.txt", "new\n", "new");
    env.git_ok(&wt, &["push", "-q", "origin", "main"]);
    env.hubctl_ok(&["repo", "gc", "alice/project"]);

    let base = server
        .base
        .replacen("http://", &format!("http://alice:{token}@"), 1);
    let (ok, checks) = doctor(&env, &["--url", &base], &[]);
    assert!(ok, "{checks:?}");
    for (name, (status, message, _)) in &checks {
        assert_eq!(status, "ok", "{name}: {message}");
    }
    for name in [
        "git",
        "root",
        "database",
        "hooks",
        "authorized-keys",
        "disk",
        "pack-cache",
        "maintenance",
        "url",
    ] {
        assert!(checks.contains_key(name), "no {name} check: {checks:?}");
    }
    expect(&checks, "url", "ok", "refs");
    assert!(
        !checks["url"].1.contains(&token),
        "token shown: {:?}",
        checks["url"]
    );
    // The text form: one line per check, the status first.
    let text = env.hubctl_ok(&["doctor"]);
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(text.lines().all(|l| l.starts_with("ok ")), "{text}");

    // git: missing, and too old.
    let (ok, checks) = doctor(&env, &[], &[("HUBCTL_GIT", "/nonexistent/git")]);
    assert!(!ok);
    expect(&checks, "git", "fail", "/nonexistent/git");
    let old = env.path("old-git");
    write_script(&old, "#!/bin/sh\necho 'git version 2.20.1'\n");
    let (ok, checks) = doctor(&env, &[], &[("HUBCTL_GIT", old.to_str().unwrap())]);
    assert!(!ok);
    expect(&checks, "git", "fail", "2.34");

    // disk: less free than asked for.
    let (ok, checks) = doctor(&env, &["--min-free", "999999999g"], &[]);
    assert!(!ok);
    expect(&checks, "disk", "fail", "free");

    // hooks: a link left by a binary that moved.
    let link = env.root.join("run/hooks/alice/project/pre-receive");
    assert!(
        std::fs::read_link(&link).is_ok(),
        "no hook link at {}",
        link.display()
    );
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/opt/old/hubctl", &link).unwrap();
    let (ok, checks) = doctor(&env, &[], &[]);
    assert!(
        ok,
        "a stale hook link is repaired at the next push: {checks:?}"
    );
    expect(&checks, "hooks", "warn", "/opt/old/hubctl");

    // authorized-keys: modes sshd's StrictModes refuses, then lines for another binary.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (ok, checks) = doctor(&env, &[], &[]);
    assert!(!ok);
    expect(&checks, "authorized-keys", "fail", "chmod go-w");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(safe.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let (ok, checks) = doctor(&env, &[], &[]);
    assert!(!ok);
    expect(
        &checks,
        "authorized-keys",
        "fail",
        &safe.path().display().to_string(),
    );
    std::fs::set_permissions(safe.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = std::fs::read_to_string(&keys).unwrap();
    let exe = hubctl_bin().display().to_string();
    assert!(text.contains(&exe), "{text}");
    std::fs::write(&keys, text.replace(&exe, "/opt/old/hubctl")).unwrap();
    let (_, checks) = doctor(&env, &[], &[]);
    expect(&checks, "authorized-keys", "warn", "/opt/old/hubctl");
    env.hubctl_ok(&["keys", "authorized-keys", "--write", keys.to_str().unwrap()]);
    let (_, checks) = doctor(&env, &[], &[]);
    expect(&checks, "authorized-keys", "ok", "1 keys");

    // pack-cache: more cached than the limit allows.
    let packs = env.root.join("cache/packs");
    std::fs::create_dir_all(&packs).unwrap();
    std::fs::write(packs.join("stray"), vec![0u8; 300 * 1024]).unwrap();
    env.hubctl_ok(&["config", "set", "pack-cache-size", "100k"]);
    let (_, checks) = doctor(&env, &[], &[]);
    expect(&checks, "pack-cache", "warn", "over its limit");
    env.hubctl_ok(&["config", "unset", "pack-cache-size"]);

    // maintenance: a repository that never had it.
    env.hosted_fixture("alice/second", "main");
    let (ok, checks) = doctor(&env, &[], &[]);
    assert!(ok);
    expect(
        &checks,
        "maintenance",
        "warn",
        "hubctl repo gc alice/second",
    );

    // url: the server is gone.
    drop(server);
    let (ok, checks) = doctor(&env, &["--url", &base], &[]);
    assert!(!ok);
    expect(&checks, "url", "fail", "git ls-remote");
    assert!(
        !checks["url"].1.contains(&token),
        "token shown: {:?}",
        checks["url"]
    );

    // root: owned by root, doctor run as www-data; then a root that does not exist.
    open_up(&env);
    let out = hubctl_as(&env, WWW, &["doctor", "--json"]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root_check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "root")
        .unwrap()
        .clone();
    assert_eq!(root_check["status"], "fail", "{v}");
    assert!(
        root_check["message"]
            .as_str()
            .unwrap()
            .contains("belongs to root and hubctl runs as www-data"),
        "{v}"
    );
    let missing = env.path("no-such-root");
    let out = hubctl_at(&env, &missing, &["doctor"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fail  root") && text.contains("no hubctl root at"),
        "{text}"
    );
    assert!(!missing.exists());

    // database: a corrupted file.
    std::fs::write(env.root.join("hubctl.db"), vec![b'x'; 8192]).unwrap();
    for f in ["hubctl.db-wal", "hubctl.db-shm"] {
        let _ = std::fs::remove_file(env.root.join(f));
    }
    let (ok, checks) = doctor(&env, &[], &[]);
    assert!(!ok);
    expect(&checks, "database", "fail", "hubctl.db");
}

/// The README's "Which account" setup: the root belongs to www-data, fcgiwrap runs hubctl as
/// www-data, the operator runs the CLI as www-data (sudo -u; setpriv here). Everything works
/// without a warning, and doctor run as that account says ok about the root.
#[test]
fn one_account_for_cli_and_fcgiwrap_works() {
    assert!(is_root(), "this test switches accounts");
    let env = Env::new();
    open_up(&env);
    chown_r(&env.root, WWW);
    let run = |args: &[&str]| {
        let out = hubctl_as(&env, WWW, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("warning"),
            "{args:?}: {}",
            stderr(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["user", "add", "alice"]);
    let token = run(&["token", "create", "--user", "alice"])
        .trim()
        .to_string();
    run(&["repo", "init", "alice/project", "--private"]);
    let nginx = Nginx::start(
        &env,
        NginxOptions {
            fcgi_user: Some(WWW.into()),
            ..NginxOptions::default()
        },
    );
    let url =
        nginx
            .url("alice/project.git")
            .replacen("http://", &format!("http://alice:{token}@"), 1);
    let wt = env.path("work");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    env.add_commit(&wt, "a.txt", "a\n", "first");
    let out = env.git(&wt, &["push", &url, "main"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), nginx.logs());
    let clone = env.path("clone");
    env.git_ok(&env.home, &["clone", "-q", &url, clone.to_str().unwrap()]);
    assert_eq!(
        env.git_ok(&clone, &["rev-parse", "HEAD"]),
        env.git_ok(&wt, &["rev-parse", "HEAD"])
    );
    let out = hubctl_as(&env, WWW, &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let root_line = text.lines().find(|l| l.contains(" root ")).unwrap_or("");
    assert!(
        root_line.starts_with("ok ") && root_line.contains("owner www-data"),
        "{text}"
    );
}
