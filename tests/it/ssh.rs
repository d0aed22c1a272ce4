//! SSH: git over a real sshd with hubctl's forced command, keys managed by hubctl (an
//! authorized_keys file it writes, or AuthorizedKeysCommand), the keys CLI and HTTP API.

use std::path::Path;

use crate::harness::*;
use crate::push::install_hook;

const PUB: &str = "alice/pub";
const PRIV: &str = "alice/priv";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Keys {
    /// An authorized_keys file hubctl keeps up to date (`hubctl config set authorized-keys-file`).
    File,
    /// sshd asks `hubctl keys authorized-keys --key-type %t --key %k`.
    Command,
}

struct World {
    env: Env,
    sshd: Sshd,
    alice: ClientKey,
    reader: ClientKey,
    stranger: ClientKey,
    unregistered: ClientKey,
}

fn add_key(env: &Env, user: &str, key: &ClientKey) -> serde_json::Value {
    let out = env.hubctl_ok(&[
        "keys",
        "add",
        "--user",
        user,
        "--json",
        key.public.to_str().unwrap(),
    ]);
    serde_json::from_str(&out).unwrap()
}

impl World {
    fn new(mode: Keys) -> World {
        let env = Env::new();
        for u in ["alice", "reader", "stranger"] {
            env.ensure_owner(u);
        }
        env.hubctl_ok(&["repo", "init", PUB]);
        env.hubctl_ok(&["repo", "init", PRIV, "--private"]);
        for repo in [PUB, PRIV] {
            let wt = env.fixture_worktree(&format!("src-{}", repo.replace('/', "-")));
            env.git_ok(
                &wt,
                &[
                    "push",
                    "-q",
                    env.bare(repo).to_str().unwrap(),
                    "main",
                    "dev",
                ],
            );
        }
        env.hubctl_ok(&["repo", "grant", PRIV, "reader", "read"]);
        let alice = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
        let reader = ClientKey::generate(&env, "reader", KeyKind::Ecdsa(256));
        let stranger = ClientKey::generate(&env, "stranger", KeyKind::Rsa(2048));
        let unregistered = ClientKey::generate(&env, "unregistered", KeyKind::Ed25519);
        let sshd = match mode {
            Keys::File => {
                let file = env.path("authorized_keys");
                // The operator's own line outside hubctl's block must survive rewrites.
                std::fs::write(&file, "# operator's own keys\n").unwrap();
                env.hubctl_ok(&[
                    "config",
                    "set",
                    "authorized-keys-file",
                    file.to_str().unwrap(),
                ]);
                Sshd::start(&env, KeysMode::File(file))
            }
            Keys::Command => Sshd::start(
                &env,
                KeysMode::Command {
                    program: hubctl_bin(),
                },
            ),
        };
        add_key(&env, "alice", &alice);
        add_key(&env, "reader", &reader);
        add_key(&env, "stranger", &stranger);
        if mode == Keys::File {
            let text = std::fs::read_to_string(env.path("authorized_keys")).unwrap();
            assert!(text.starts_with("# operator's own keys\n"), "{text}");
            assert_eq!(text.matches("restrict,command=").count(), 3, "{text}");
        }
        World {
            env,
            sshd,
            alice,
            reader,
            stranger,
            unregistered,
        }
    }
}

/// `key` does not get past sshd: git reports "Permission denied (publickey)".
fn assert_refused_by_sshd(env: &Env, sshd: &Sshd, key: &ClientKey, repo: &str) {
    let out = sshd.git(env, key, env.dir.path(), &["ls-remote", &sshd.url(repo)]);
    assert!(!out.status.success(), "a key sshd should refuse got in");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Permission denied (publickey)"), "{err}");
}

/// Clone, fetch and push over ssh:// with protocol v0 or v2.
fn clone_fetch_push(mode: Keys, v: u8) {
    let w = World::new(mode);
    let (env, sshd) = (&w.env, &w.sshd);
    assert_refused_by_sshd(env, sshd, &w.unregistered, PUB);
    let proto = format!("protocol.version={v}");
    let dest = env.path("clone");
    let out = sshd
        .git_cmd(env, &w.alice, env.dir.path())
        .args([
            "-c",
            &proto,
            "clone",
            &sshd.url(&format!("{PRIV}.git")),
            dest.to_str().unwrap(),
        ])
        .env("GIT_TRACE_PACKET", "1")
        .output()
        .unwrap();
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{trace}\n{}", sshd.log());
    assert_eq!(
        trace.contains("< version 2"),
        v == 2,
        "protocol v{v} expected:\n{trace}"
    );
    env.git_ok(&dest, &["fsck", "--no-progress"]);
    // Server-side change, then fetch (path without `.git`, with and without the leading slash).
    let src = env.fixture_worktree("more");
    env.add_commit(&src, "extra.txt", "x\n", "server side");
    env.git_ok(
        &src,
        &["push", "-q", "-f", env.bare(PRIV).to_str().unwrap(), "main"],
    );
    sshd.git_ok(
        env,
        &w.alice,
        &dest,
        &["-c", &proto, "fetch", "-q", &sshd.url(PRIV), "main"],
    );
    assert_eq!(
        env.git_ok(&dest, &["rev-parse", "FETCH_HEAD"]),
        env.git_ok(&src, &["rev-parse", "main"])
    );
    let scp_style = format!("{SSH_USER}@127.0.0.1:{PRIV}.git");
    let out = env
        .git_cmd(&dest)
        .args(["-c", &proto, "ls-remote", &scp_style])
        .env(
            "GIT_SSH_COMMAND",
            format!("{} -p {}", ssh_command(sshd, &w.alice), sshd.port),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("refs/heads/dev"));
    // Push; hooks see the pusher.
    let record = env.path("hook.env");
    install_hook(
        &env.bare(PRIV),
        "pre-receive",
        &format!(
            "#!/bin/sh\necho \"$HUBCTL_USER $REMOTE_USER $GIT_COMMITTER_NAME\" > {}\necho hook-says-hi\n",
            record.display()
        ),
    );
    sshd.git_ok(
        env,
        &w.alice,
        &dest,
        &["checkout", "-q", "-B", "main", "FETCH_HEAD"],
    );
    env.add_commit(&dest, "pushed.txt", "p\n", "pushed over ssh");
    let out = sshd.git(env, &w.alice, &dest, &["push", "origin", "main"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", sshd.log());
    assert!(err.contains("remote: hook-says-hi"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&record).unwrap().trim(),
        "alice alice alice"
    );
    assert_eq!(
        env.git_ok(&env.bare(PRIV), &["rev-parse", "main"]),
        env.git_ok(&dest, &["rev-parse", "main"])
    );
    // The key's last use is recorded.
    let keys: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["keys", "list", "--user", "alice", "--json"]))
            .unwrap();
    assert!(keys[0]["last_used"].is_string(), "{keys}");
}

#[test]
fn ssh_authorized_keys_file_v0() {
    clone_fetch_push(Keys::File, 0)
}
#[test]
fn ssh_authorized_keys_file_v2() {
    clone_fetch_push(Keys::File, 2)
}
#[test]
fn ssh_authorized_keys_command_v0() {
    clone_fetch_push(Keys::Command, 0)
}
#[test]
fn ssh_authorized_keys_command_v2() {
    clone_fetch_push(Keys::Command, 2)
}

/// Readers clone but cannot push; strangers cannot tell a private repository from a missing
/// one; unregistered keys never get in; an interactive login gets the greeting.
#[test]
fn ssh_permissions() {
    let w = World::new(Keys::Command);
    let (env, sshd) = (&w.env, &w.sshd);
    let dest = env.path("reader-clone");
    sshd.git_ok(
        env,
        &w.reader,
        env.dir.path(),
        &["clone", "-q", &sshd.url(PRIV), dest.to_str().unwrap()],
    );
    env.add_commit(&dest, "r.txt", "r\n", "reader change");
    let out = sshd.git(env, &w.reader, &dest, &["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hubctl: reader has no write access to alice/priv"),
        "{err}"
    );

    let private = sshd.git(
        env,
        &w.stranger,
        env.dir.path(),
        &["ls-remote", &sshd.url(PRIV)],
    );
    let missing = sshd.git(
        env,
        &w.stranger,
        env.dir.path(),
        &["ls-remote", &sshd.url("alice/nothing.git")],
    );
    let first_line = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert!(!private.status.success() && !missing.status.success());
    assert_eq!(first_line(&private), "hubctl: repository not found");
    assert_eq!(first_line(&private), first_line(&missing));
    // Public repositories are readable by any registered key.
    sshd.git_ok(
        env,
        &w.stranger,
        env.dir.path(),
        &["ls-remote", &sshd.url(PUB)],
    );

    assert_refused_by_sshd(env, sshd, &w.unregistered, PUB);

    // Every spelling git and people use reaches the repository.
    for cmd in [
        "git upload-pack 'alice/pub.git'",
        "git-upload-pack alice/pub",
        "git-upload-pack '/alice/pub.git'",
        "git-upload-pack '/alice/pub'",
    ] {
        let out = ssh_run(sshd, &w.stranger, cmd);
        assert!(out.stdout.contains(" refs/heads/main"), "{cmd:?}: {out}");
    }

    let out = ssh_run(sshd, &w.alice, "");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("Hi alice! You've authenticated, but hubctl does not provide shell access."),
        "{out}"
    );
}

/// Anything but a plain git command is refused with one line, and nothing runs.
#[test]
fn ssh_hostile_commands() {
    let w = World::new(Keys::Command);
    let (env, sshd) = (&w.env, &w.sshd);
    let marker = env.path("pwned");
    let m = marker.display();
    let long = format!("git-upload-pack '{}'", "a".repeat(5000));
    let cases = [
        format!("git-upload-pack '{PUB}.git'; touch {m}"),
        format!("git-upload-pack '{PUB}.git' && touch {m}"),
        format!("git-upload-pack $(touch {m})"),
        format!("git-upload-pack `touch {m}`"),
        format!("git-upload-pack '$(touch {m})'"),
        "git-upload-pack '../../etc/passwd'".to_string(),
        "git-upload-pack '/alice/../alice/priv.git'".to_string(),
        "git-upload-pack '/etc/passwd'".to_string(),
        "git-upload-pack '/tmp'".to_string(),
        // The repository's real path on disk must not bypass the access check.
        format!("git-upload-pack '{}'", env.bare(PRIV).display()),
        "git-upload-pack '-c/x'".to_string(),
        format!("touch {m}"),
        "sh".to_string(),
        "git-upload-archive 'alice/pub.git'".to_string(),
        "scp -t /tmp".to_string(),
        "git-upload-pack".to_string(),
        long,
        "git-lfs-authenticate alice/pub.git download".to_string(),
        "git-lfs-transfer alice/pub.git upload".to_string(),
    ];
    for cmd in &cases {
        let out = ssh_run(sshd, &w.stranger, cmd);
        assert!(!out.success(), "{cmd:?} succeeded: {out}");
        assert_ne!(out.code(), Some(255), "{cmd:?}: ssh itself failed: {out}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{cmd:?}: not one line: {out}");
        assert!(lines[0].starts_with("hubctl: "), "{cmd:?}: {out}");
        assert!(out.stdout.is_empty(), "{cmd:?}: {out}");
    }
    assert!(!marker.exists(), "a hostile command ran");
    let lfs = ssh_run(
        sshd,
        &w.alice,
        "git-lfs-authenticate alice/pub.git download",
    );
    assert!(lfs.stderr.contains("not supported"), "{lfs}");
}

/// `keys add` of every accepted type; refusals for a short RSA key, a long title, a duplicate.
#[test]
fn keys_cli_validation() {
    let env = Env::new();
    env.ensure_owner("alice");
    env.ensure_owner("bob");
    for (i, kind) in [
        KeyKind::Ed25519,
        KeyKind::Rsa(2048),
        KeyKind::Ecdsa(256),
        KeyKind::Ecdsa(384),
        KeyKind::Ecdsa(521),
    ]
    .into_iter()
    .enumerate()
    {
        let key = ClientKey::generate(&env, &format!("k{i}"), kind);
        let v = add_key(&env, "alice", &key);
        assert_eq!(v["key_type"], key.key_type());
        assert_eq!(v["fingerprint"], key.fingerprint.as_str());
        assert_eq!(v["title"], format!("k{i}"), "title defaults to the comment");
        assert!(v["last_used"].is_null());
        for k in [
            "id",
            "title",
            "key_type",
            "fingerprint",
            "created_at",
            "last_used",
        ] {
            assert!(v.get(k).is_some(), "missing {k}: {v}");
        }
    }
    let weak = ClientKey::generate(&env, "weak", KeyKind::Rsa(1024));
    let out = env.hubctl(&[
        "keys",
        "add",
        "--user",
        "alice",
        weak.public.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 2048 bits"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    let key = ClientKey::generate(&env, "titled", KeyKind::Ed25519);
    let out = env.hubctl(&[
        "keys",
        "add",
        "--user",
        "alice",
        "--title",
        &"t".repeat(256),
        key.public.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 255 characters"));
    env.hubctl_ok(&[
        "keys",
        "add",
        "--user",
        "alice",
        "--title",
        &"t".repeat(255),
        key.public.to_str().unwrap(),
    ]);
    // Registered already, to anyone: refused (also when read from stdin).
    let mut child = env
        .hubctl_cmd()
        .args(["keys", "add", "--user", "bob", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(key.public_line.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already registered"));
    for bad in [
        "not a key",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
        "ssh-ed25519 AAAA",
    ] {
        let f = env.path("bad.pub");
        std::fs::write(&f, bad).unwrap();
        let out = env.hubctl(&[
            "keys",
            "add",
            "--user",
            "alice",
            "--title",
            "x",
            f.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{bad} accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("invalid key"),
            "{bad}"
        );
    }
    // show includes the public key; rm removes.
    let list: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["keys", "list", "--json"])).unwrap();
    let id = list[0]["id"].to_string();
    let shown: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["keys", "show", &id, "--json"])).unwrap();
    assert!(
        shown["public_key"]
            .as_str()
            .unwrap()
            .starts_with("ssh-ed25519 AAAA")
    );
    env.hubctl_ok(&["keys", "rm", &id]);
    assert!(!env.hubctl(&["keys", "show", &id]).status.success());
}

/// AuthorizedKeysCommand lookups and the managed block of an authorized_keys file.
#[test]
fn authorized_keys_output() {
    let env = Env::new();
    env.ensure_owner("alice");
    let a = ClientKey::generate(&env, "a", KeyKind::Ed25519);
    let b = ClientKey::generate(&env, "b", KeyKind::Ecdsa(384));
    let ida = add_key(&env, "alice", &a)["id"].as_i64().unwrap();
    add_key(&env, "alice", &b);
    let line = env.hubctl_ok(&[
        "keys",
        "authorized-keys",
        "--key-type",
        a.key_type(),
        "--key",
        a.blob(),
    ]);
    let root = env.root.canonicalize().unwrap();
    assert_eq!(
        line.trim(),
        format!(
            "restrict,command=\"{} --root {} shell --key-id {ida}\" {} {} hubctl-key-{ida}",
            hubctl_bin().display(),
            root.display(),
            a.key_type(),
            a.blob()
        )
    );
    let by_fp = env.hubctl_ok(&["keys", "authorized-keys", "--fingerprint", &a.fingerprint]);
    assert_eq!(by_fp, line);
    // All three of sshd's tokens at once: the key is looked up and must match %f.
    let lookup = |fingerprint: &str| {
        env.hubctl_ok(&[
            "keys",
            "authorized-keys",
            "--key-type",
            a.key_type(),
            "--key",
            a.blob(),
            "--fingerprint",
            fingerprint,
        ])
    };
    assert_eq!(lookup(&a.fingerprint), line);
    assert_eq!(lookup(&b.fingerprint), "", "a fingerprint of another key");
    // Unknown keys print nothing and still exit 0 (sshd ignores output of a failing command).
    let unknown = ClientKey::generate(&env, "u", KeyKind::Ed25519);
    let out = env.hubctl(&[
        "keys",
        "authorized-keys",
        "--key-type",
        unknown.key_type(),
        "--key",
        unknown.blob(),
    ]);
    assert!(out.status.success() && out.stdout.is_empty());
    let out = env.hubctl(&[
        "keys",
        "authorized-keys",
        "--key-type",
        "ssh-ed25519",
        "--key",
        "garbage",
    ]);
    assert!(out.status.success() && out.stdout.is_empty());
    assert_eq!(
        env.hubctl_ok(&["keys", "authorized-keys"]).lines().count(),
        2
    );
    // --write keeps foreign lines and replaces only hubctl's block.
    let file = env.path("ak");
    std::fs::write(&file, "ssh-ed25519 AAAAOPERATOR op@host\n").unwrap();
    env.hubctl_ok(&["keys", "authorized-keys", "--write", file.to_str().unwrap()]);
    env.hubctl_ok(&["keys", "authorized-keys", "--write", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("ssh-ed25519 AAAAOPERATOR op@host\n# BEGIN hubctl"),
        "{text}"
    );
    assert_eq!(text.matches("restrict,command=").count(), 2, "{text}");
    // With the file given on the command line, keys rm rewrites it.
    env.hubctl_ok(&[
        "--authorized-keys-file",
        file.to_str().unwrap(),
        "keys",
        "rm",
        &ida.to_string(),
    ]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.matches("restrict,command=").count(), 1, "{text}");
    assert!(text.contains("AAAAOPERATOR"));
}

/// The HTTP keys API: every documented status code, with curl.
#[test]
fn keys_http_api() {
    let env = Env::new();
    let alice = env.user_with_token("alice", &[]);
    let bob = env.user_with_token("bob", &[]);
    let alice_ro = env
        .hubctl_ok(&["token", "create", "--user", "alice", "--scope", "read"])
        .trim()
        .to_string();
    let file = env.path("authorized_keys");
    env.hubctl_ok(&[
        "config",
        "set",
        "authorized-keys-file",
        file.to_str().unwrap(),
    ]);
    let server = env.serve(&[]);
    let api = format!("{}/api/user/keys", server.base);
    let call = |method: &str,
                url: &str,
                token: Option<&str>,
                body: Option<&str>|
     -> (u16, serde_json::Value) {
        let mut args = vec!["-X".to_string(), method.to_string()];
        if let Some(t) = token {
            args.extend(["-H".into(), format!("Authorization: Bearer {t}")]);
        }
        if let Some(b) = body {
            args.extend([
                "-H".into(),
                "Content-Type: application/json".into(),
                "--data-binary".into(),
                b.into(),
            ]);
        }
        args.push(url.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, text) = curl(&args);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (
            status,
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    };
    let key = ClientKey::generate(&env, "laptop", KeyKind::Ed25519);
    let body = serde_json::json!({"title": "My Laptop", "key": key.public_line}).to_string();
    // 401 without (or with a bad) token.
    assert_eq!(call("GET", &api, None, None).0, 401);
    assert_eq!(call("GET", &api, Some("hubctl_nope"), None).0, 401);
    assert_eq!(call("POST", &api, None, Some(&body)).0, 401);
    // Empty list, then create.
    assert_eq!(
        call("GET", &api, Some(&alice), None),
        (200, serde_json::json!([]))
    );
    assert_eq!(call("POST", &api, Some(&alice_ro), Some(&body)).0, 403);
    let (status, created) = call("POST", &api, Some(&alice), Some(&body));
    assert_eq!(status, 200, "{created}");
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "title",
            "key_type",
            "fingerprint",
            "created_at",
            "last_used"
        ]
    );
    assert_eq!(created["title"], "My Laptop");
    assert_eq!(created["key_type"], "ssh-ed25519");
    assert_eq!(created["fingerprint"], key.fingerprint.as_str());
    assert!(created["last_used"].is_null());
    let ts = created["created_at"].as_str().unwrap();
    assert!(
        ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "not RFC 3339 UTC: {ts}"
    );
    // The configured authorized_keys file follows the API.
    assert!(std::fs::read_to_string(&file).unwrap().contains(key.blob()));
    // 409 duplicate (for anyone), 400 invalid key or title.
    assert_eq!(call("POST", &api, Some(&alice), Some(&body)).0, 409);
    assert_eq!(call("POST", &api, Some(&bob), Some(&body)).0, 409);
    let weak = ClientKey::generate(&env, "weak", KeyKind::Rsa(1024));
    for bad in [
        serde_json::json!({"title": "x", "key": "not a key"}),
        serde_json::json!({"title": "x", "key": weak.public_line}),
        serde_json::json!({"title": "t".repeat(256), "key": ClientKey::generate(&env, "k2", KeyKind::Ed25519).public_line}),
        serde_json::json!({"title": "", "key": ClientKey::generate(&env, "k3", KeyKind::Ed25519).public_line}),
        serde_json::json!({"key": ClientKey::generate(&env, "k4", KeyKind::Ed25519).public_line}),
        serde_json::json!({"title": "x"}),
    ] {
        let (status, v) = call("POST", &api, Some(&alice), Some(&bad.to_string()));
        assert_eq!(status, 400, "{bad} -> {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    assert_eq!(call("POST", &api, Some(&alice), Some("{not json")).0, 400);
    // List and get.
    let (status, list) = call("GET", &api, Some(&alice), None);
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("public_key").is_none());
    let one = format!("{api}/{}", created["id"]);
    let (status, got) = call("GET", &one, Some(&alice), None);
    assert_eq!(status, 200);
    assert_eq!(
        got["public_key"],
        key.public_line.rsplit_once(' ').unwrap().0
    );
    let keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "title",
            "key_type",
            "fingerprint",
            "public_key",
            "created_at",
            "last_used"
        ]
    );
    assert_eq!(call("GET", &one, Some(&alice_ro), None).0, 200);
    // Another user's key: 403; unknown: 404; no token: 401.
    assert_eq!(call("GET", &one, Some(&bob), None).0, 403);
    assert_eq!(call("DELETE", &one, Some(&bob), None).0, 403);
    assert_eq!(
        call("GET", &format!("{api}/99999"), Some(&alice), None).0,
        404
    );
    assert_eq!(
        call("DELETE", &format!("{api}/99999"), Some(&alice), None).0,
        404
    );
    assert_eq!(
        call("GET", &format!("{api}/abc"), Some(&alice), None).0,
        404
    );
    assert_eq!(call("DELETE", &one, None, None).0, 401);
    assert_eq!(call("PUT", &api, Some(&alice), None).0, 405);
    // Delete.
    let (status, v) = call("DELETE", &one, Some(&alice), None);
    assert_eq!(
        (status, v),
        (
            200,
            serde_json::json!({"success": true, "message": "SSH key deleted successfully"})
        )
    );
    assert_eq!(call("GET", &one, Some(&alice), None).0, 404);
    assert!(!std::fs::read_to_string(&file).unwrap().contains(key.blob()));
}

/// The JSON shape of `keys add --json` matches the API object.
#[test]
fn keys_cli_json_matches_api() {
    let env = Env::new();
    env.ensure_owner("alice");
    let key = ClientKey::generate(&env, "x", KeyKind::Ed25519);
    let v = add_key(&env, "alice", &key);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "title",
            "key_type",
            "fingerprint",
            "created_at",
            "last_used"
        ]
    );
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("man/hubctl-keys-add.1"),
    )
    .unwrap();
    for k in keys {
        assert!(page.contains(k), "man page lacks {k}");
    }
}

/// sshd's `%f` works as the lookup, alone or beside `%t %k`.
#[test]
fn authorized_keys_command_by_fingerprint() {
    let env = Env::new();
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", PUB]);
    let wt = env.fixture_worktree("src");
    env.git_ok(
        &wt,
        &["push", "-q", env.bare(PUB).to_str().unwrap(), "main"],
    );
    let alice = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let other = ClientKey::generate(&env, "other", KeyKind::Ecdsa(256));
    add_key(&env, "alice", &alice);
    for args in [
        "--fingerprint %f",
        "--key-type %t --key %k --fingerprint %f",
    ] {
        let sshd = Sshd::start_with(
            &env,
            KeysMode::Command {
                program: hubctl_bin(),
            },
            SshdOptions {
                keys_command_args: Some(args.to_string()),
                ..Default::default()
            },
        );
        let refs = sshd.git_ok(&env, &alice, env.dir.path(), &["ls-remote", &sshd.url(PUB)]);
        assert!(refs.contains("refs/heads/main"), "{args}: {refs}");
        assert_refused_by_sshd(&env, &sshd, &other, PUB);
    }
}

/// An authorized_keys line left behind for a deleted key never logs in as the owner of a
/// newer key (ids are not reused), and `user rm` takes the user's keys out of the managed file.
#[test]
fn stale_key_lines_never_log_in_as_someone_else() {
    let w = World::new(Keys::File);
    let (env, sshd) = (&w.env, &w.sshd);
    let file = env.path("authorized_keys");
    // Unmanaged from now on, as with `keys authorized-keys --write` run by hand: the
    // stranger's line stays in the file after its key is deleted.
    env.hubctl_ok(&["config", "unset", "authorized-keys-file"]);
    let listed: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["keys", "list", "--user", "stranger", "--json"]))
            .unwrap();
    let stranger_id = listed[0]["id"].as_i64().unwrap();
    let all: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["keys", "list", "--json"])).unwrap();
    let highest = all
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_i64().unwrap())
        .max()
        .unwrap();
    assert_eq!(stranger_id, highest, "the stranger's key is the newest");
    env.hubctl_ok(&["keys", "rm", &stranger_id.to_string()]);
    let newer = ClientKey::generate(env, "alice-laptop", KeyKind::Ed25519);
    let id = add_key(env, "alice", &newer)["id"].as_i64().unwrap();
    assert!(
        id > stranger_id,
        "key id {stranger_id} was handed out again"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("--key-id {stranger_id}\"")),
        "{text}"
    );
    let out = sshd.git(
        env,
        &w.stranger,
        env.dir.path(),
        &["ls-remote", &sshd.url(PRIV)],
    );
    assert!(!out.status.success(), "a deleted key reached alice/priv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hubctl: this SSH key is no longer registered"),
        "{err}"
    );

    // Managed again: removing a user rewrites the file without the user's keys.
    env.hubctl_ok(&[
        "config",
        "set",
        "authorized-keys-file",
        file.to_str().unwrap(),
    ]);
    sshd.git_ok(
        env,
        &w.reader,
        env.dir.path(),
        &["ls-remote", &sshd.url(PRIV)],
    );
    env.hubctl_ok(&["user", "rm", "reader"]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(w.reader.blob()), "{text}");
    assert!(text.contains(w.alice.blob()), "{text}");
    assert!(
        !text.contains(&format!("--key-id {stranger_id}\"")),
        "{text}"
    );
    assert_refused_by_sshd(env, sshd, &w.reader, PRIV);
}

/// A running `hubctl serve` whose binary is upgraded in place (a new file renamed over it, as
/// install(1) and package managers do) still names the binary's path, not Linux's
/// `... (deleted)`: in authorized_keys lines and in the hooks that enforce push policy.
#[test]
fn serve_keeps_working_after_an_in_place_upgrade() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "init", PUB, "--max-blob-size", "1KB"]);
    let file = env.path("authorized_keys");
    env.hubctl_ok(&[
        "config",
        "set",
        "authorized-keys-file",
        file.to_str().unwrap(),
    ]);
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let installed = bin.join("hubctl");
    install_copy(&hubctl_bin(), &installed);
    let server = Server::start_program(&env, &installed, "127.0.0.1:0", &[], &[]);
    // A new file renamed over the running binary (install_copy stages and renames).
    install_copy(&hubctl_bin(), &installed);

    let key = ClientKey::generate(&env, "laptop", KeyKind::Ed25519);
    let body = serde_json::json!({"title": "laptop", "key": key.public_line}).to_string();
    let (status, text) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
        &format!("{}/api/user/keys", server.base),
    ]);
    assert_eq!(status, 200, "{text}");
    let lines = std::fs::read_to_string(&file).unwrap();
    assert!(!lines.contains("(deleted)"), "{lines}");
    assert!(
        lines.contains(&format!("command=\"{} --root", installed.display())),
        "{lines}"
    );

    // Pushes still run hubctl's policy hook: a blob over the limit is refused.
    let url = server
        .url(PUB)
        .replacen("http://", &format!("http://alice:{token}@"), 1);
    let wt = env.fixture_worktree("src");
    env.git_ok(&wt, &["push", "-q", &url, "main"]);
    env.add_commit(&wt, "big.bin", &"x".repeat(4096), "too big");
    let out = env.git(&wt, &["push", &url, "main"]);
    assert!(!out.status.success(), "the size policy did not run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("git lfs migrate import"), "{err}");
    let dest = env.path("clone");
    env.git_ok(
        env.dir.path(),
        &["clone", "-q", &server.url(PUB), dest.to_str().unwrap()],
    );
}
