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
