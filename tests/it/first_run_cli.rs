//! Issue 15's first-run points on the command line and the API: token lifetimes and expiry,
//! private keys given to `keys add`, `--listen PORT`, JSON body errors, settings that need a
//! restart of `serve`. Everything runs the real hubctl binary, with `hubctl serve`, curl, git
//! and ssh-keygen where a point involves them.

use std::process::Command;
use std::time::Duration;

use crate::harness::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Out-of-range and negative `--expires` values are refused by name, with exit status 2 (a
/// usage error), never a panic (101); the largest accepted lifetime works.
#[test]
fn token_expiry_bounds() {
    let env = Env::new();
    env.hubctl_ok(&["user", "add", "alice"]);
    for (value, expected) in [
        ("999999999d", "out of range"),
        ("100000y", "out of range"),
        ("101y", "out of range"),
        ("99999999999999999999y", "out of range"),
        ("-1d", "durations are positive"),
        ("-5min", "durations are positive"),
        ("0s", "longer than zero"),
        ("soon", "invalid duration"),
        ("--json", "expected a duration before --json"),
    ] {
        let out = env.hubctl(&["token", "create", "--user", "alice", "--expires", value]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "--expires {value}: {err}");
        assert!(err.contains(expected), "--expires {value}: {err}");
        assert!(!err.contains("panicked"), "--expires {value}: {err}");
        // `--expires=-1d` takes the same path.
        let joined = format!("--expires={value}");
        let out = env.hubctl(&["token", "create", "--user", "alice", &joined]);
        assert_eq!(out.status.code(), Some(2), "{joined}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{joined}: {}",
            stderr(&out)
        );
    }
    // Nothing was created by the refusals.
    let list = env.hubctl_ok(&["token", "list", "--json"]);
    assert_eq!(list.trim(), "[]");
    // The bound itself, and the help says what a year is.
    let out = env.hubctl_ok(&[
        "token",
        "create",
        "--user",
        "alice",
        "--expires",
        "100y",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let year: u32 = v["expires_at"].as_str().unwrap()[..4].parse().unwrap();
    assert!((2100..2200).contains(&year), "{v}");
    let help = env.hubctl_ok(&["token", "create", "--help"]);
    assert!(help.contains("1y is 365.25d"), "{help}");
}

/// An expired token is marked in `token list` (text and JSON), is refused with the same answer
/// as an unknown token, and the server's log says why.
#[test]
fn expired_tokens_are_marked_and_logged() {
    let env = Env::new();
    env.hosted_fixture("alice/project", "main");
    env.hubctl_ok(&["repo", "set", "alice/project", "visibility", "private"]);
    let live = env.user_with_token("alice", &[]);
    let expiring = env
        .hubctl_ok(&["token", "create", "--user", "alice", "--expires", "1s"])
        .trim()
        .to_string();
    std::thread::sleep(Duration::from_millis(2100));

    let text = env.hubctl_ok(&["token", "list"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("\tactive\t"), "{text}");
    assert!(lines[1].contains("\texpired 20"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["token", "list", "--json"])).unwrap();
    assert_eq!(json[0]["expired"], false, "{json}");
    assert_eq!(json[1]["expired"], true, "{json}");
    assert!(json[1].get("last_used").is_some(), "{json}");

    let server = env.serve(&[]);
    let url = format!(
        "{}/alice/project.git/info/refs?service=git-upload-pack",
        server.base
    );
    assert_eq!(curl(&["-u", &format!("x:{live}"), &url]).0, 200);
    let (status, expired_answer) = curl(&["-u", &format!("x:{expiring}"), &url]);
    assert_eq!(status, 401);
    let unknown = "hubctl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (status, unknown_answer) = curl(&["-u", &format!("x:{unknown}"), &url]);
    assert_eq!(status, 401);
    let body = |s: &str| s.split("\r\n\r\n").last().unwrap_or_default().to_string();
    assert_eq!(body(&expired_answer), body(&unknown_answer));
    // git itself: refused, with nothing that tells an expired token from a wrong one.
    let remote = server
        .url("alice/project")
        .replace("http://", &format!("http://x:{expiring}@"));
    let out = env.git(env.dir.path(), &["ls-remote", &remote]);
    assert!(!out.status.success());
    assert!(!stderr(&out).contains("expired token"), "{}", stderr(&out));
    assert!(
        eventually(Duration::from_secs(5), || server
            .log
            .contains("refused credentials: expired token")),
        "{:?}",
        server.log.lines()
    );
    assert!(server.log.contains("refused credentials: unknown token"));
}

/// `keys add` given a private key (OpenSSH, PEM or PKCS#8 format) says so and never echoes
/// it, on the command line and through the HTTP API.
#[test]
fn keys_add_refuses_private_keys() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    let server = env.serve(&[]);
    for (name, args) in [
        ("openssh", vec!["-t", "ed25519"]),
        ("pem", vec!["-t", "rsa", "-b", "2048", "-m", "PEM"]),
        ("pkcs8", vec!["-t", "ecdsa", "-m", "PKCS8"]),
    ] {
        let key = env.path(name);
        let out = Command::new("ssh-keygen")
            .args(&args)
            .args(["-q", "-N", "", "-C", "secret-comment", "-f"])
            .arg(&key)
            .output()
            .expect("ssh-keygen");
        assert!(out.status.success(), "ssh-keygen: {}", stderr(&out));
        let private = std::fs::read_to_string(&key).unwrap();
        assert!(private.contains("PRIVATE KEY-----"), "{name}: {private}");
        let secret_line = private.lines().nth(1).unwrap().to_string();

        let out = env.hubctl(&["keys", "add", "--user", "alice", key.to_str().unwrap()]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{name}");
        assert!(
            err.contains("this is a private key; add the .pub file instead"),
            "{name}: {err}"
        );
        let all = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
        assert!(!all.contains(&secret_line[..20]), "{name}: echoed: {all}");
        // From stdin, too.
        let mut cmd = env.hubctl_cmd();
        cmd.args(["keys", "add", "--user", "alice", "-"])
            .stdin(std::fs::File::open(&key).unwrap());
        let out = cmd.output().unwrap();
        assert!(stderr(&out).contains("this is a private key"), "{name}");

        // The HTTP API answers the same.
        let body = serde_json::json!({"title": "oops", "key": private}).to_string();
        let (status, answer) = curl(&[
            "-H",
            &format!("Authorization: Bearer {token}"),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &body,
            &format!("{}/api/user/keys", server.base),
        ]);
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("this is a private key"), "{answer}");
        assert!(!answer.contains(&secret_line[..20]), "{answer}");

        // The public half is accepted.
        let public = format!("{}.pub", key.display());
        env.hubctl_ok(&["keys", "add", "--user", "alice", &public]);
    }
    assert_eq!(env.hubctl_ok(&["keys", "list"]).lines().count(), 3);
}

/// `serve --listen PORT` listens on 127.0.0.1:PORT and git clones from it; a malformed address
/// gets a HOST:PORT hint.
#[test]
fn listen_accepts_a_bare_port() {
    let env = Env::new();
    env.hosted_fixture("alice/project", "main");
    let port = free_port();
    let server = Server::start_on(&env, &port.to_string(), &[]);
    assert_eq!(server.base, format!("http://127.0.0.1:{port}"));
    let clone = env.path("clone");
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            &server.url("alice/project"),
            clone.to_str().unwrap(),
        ],
    );
    for bad in ["localhost", "99999", ":8080", "host:port"] {
        let out = env.hubctl(&["serve", "--listen", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("HOST:PORT") || stderr(&out).contains("out of range"));
    }
}

/// A body that is not JSON is answered `invalid JSON body: ...` on the keys API and the LFS
/// batch API; JSON of the wrong shape keeps its own message.
#[test]
fn malformed_json_bodies_are_named() {
    let env = Env::new();
    env.hosted_fixture("alice/project", "main");
    let token = env.user_with_token("alice", &[]);
    let server = env.serve(&[]);
    let post = |url: &str, ctype: &str, body: &str| {
        curl(&[
            "-u",
            &format!("alice:{token}"),
            "-H",
            &format!("Content-Type: {ctype}"),
            "-H",
            &format!("Accept: {ctype}"),
            "--data-binary",
            body,
            url,
        ])
    };
    let keys = format!("{}/api/user/keys", server.base);
    let (status, answer) = post(&keys, "application/json", "{\"title\": \"x\", ");
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid JSON body: "), "{answer}");
    let (status, answer) = post(&keys, "application/json", "\"a string\"");
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("must be a JSON object"), "{answer}");
    let batch = format!("{}/alice/project.git/info/lfs/objects/batch", server.base);
    let (status, answer) = post(&batch, "application/vnd.git-lfs+json", "{oops");
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid JSON body: "), "{answer}");
}

/// `config list` shows every setting (human sizes in text, bytes in JSON); changing a setting
/// that `serve` reads at start says a restart is needed, and others do not.
#[test]
fn config_list_and_restart_notes() {
    let env = Env::new();
    let out = env.hubctl(&["config", "set", "max-connections", "100"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "max-connections = 100"
    );
    assert!(
        stderr(&out).contains("restart it for this to take effect"),
        "{}",
        stderr(&out)
    );
    let out = env.hubctl(&["config", "set", "lfs-check-pointers", "off"]);
    assert!(out.status.success());
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    env.hubctl_ok(&["config", "set", "pack-cache-size", "512MB"]);
    assert_eq!(
        env.hubctl_ok(&["config", "get", "pack-cache-size"]).trim(),
        "512.0 MiB"
    );

    let text = env.hubctl_ok(&["config", "list"]);
    assert!(text.contains("pack-cache-size\t512.0 MiB\n"), "{text}");
    assert!(text.contains("max-connections\t100\n"), "{text}");
    assert!(text.contains("idle-timeout\t1m\t(default)\n"), "{text}");
    assert!(text.contains("lfs-check-pointers\toff\n"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["config", "list", "--json"])).unwrap();
    let get = |name: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {json}"))
            .clone()
    };
    assert_eq!(get("pack-cache-size")["value"], 512u64 << 20);
    assert_eq!(get("pack-cache-size")["default"], false);
    assert_eq!(get("idle-timeout")["value"], 60);
    assert_eq!(get("idle-timeout")["default"], true);
    assert_eq!(get("lfs-check-pointers")["value"], false);
    assert_eq!(get("public-url")["value"], serde_json::Value::Null);
    assert_eq!(get("metrics")["value"], false);
    assert_eq!(get("ssh-url")["value"], serde_json::Value::Null);
    assert_eq!(get("lfs-storage")["value"], "local");
    assert_eq!(get("lfs-s3-region")["value"], "us-east-1");
    assert_eq!(get("lfs-s3-proxy")["value"], false);
    assert_eq!(json.as_array().unwrap().len(), 22);
}

/// User and organisation names are unique regardless of case and keep the case they were
/// created with; repository names are unique regardless of case within a namespace; the
/// command line finds them however they are spelt.
#[test]
fn names_are_unique_regardless_of_case() {
    let env = Env::new();
    env.hubctl_ok(&["user", "add", "Alice"]);
    for args in [
        vec!["user", "add", "alice"],
        vec!["user", "add", "ALICE"],
        vec!["org", "add", "aLiCe"],
    ] {
        let out = env.hubctl(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains("already taken by a user or organisation as \"Alice\""),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    env.hubctl_ok(&["org", "add", "Acme"]);
    assert!(!env.hubctl(&["user", "add", "ACME"]).status.success());
    assert_eq!(env.hubctl_ok(&["user", "list"]).trim(), "Alice");
    // Lookups by any spelling reach the stored name.
    let t: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["token", "create", "--user", "alice", "--json"]))
            .unwrap();
    assert_eq!(t["user"], "Alice");
    env.hubctl_ok(&["org", "member", "add", "ACME", "ALICE", "--role", "owner"]);
    let orgs: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["org", "list", "--json"])).unwrap();
    assert_eq!(orgs[0]["members"][0]["user"], "Alice", "{orgs}");
    // A repository created under another spelling of its owner lands in the owner's namespace.
    env.hubctl_ok(&["repo", "init", "alice/Tool"]);
    assert!(env.bare("Alice/Tool").is_dir());
    assert!(!env.path("root/repos/alice").exists());
    for clash in ["Alice/tool", "ALICE/TOOL", "alice/tool"] {
        let out = env.hubctl(&["repo", "init", clash]);
        assert!(!out.status.success(), "{clash}");
        assert!(
            stderr(&out).contains("already exists"),
            "{clash}: {}",
            stderr(&out)
        );
    }
    let shown: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", "aLICE/tOOL", "--json"])).unwrap();
    assert_eq!(shown["namespace"], "Alice");
    assert_eq!(shown["name"], "Tool");
    env.hubctl_ok(&["repo", "set", "alice/tool", "visibility", "private"]);
    assert_eq!(
        env.hubctl_ok(&["repo", "list"]).lines().count(),
        1,
        "one repository"
    );
    // Another namespace may use the same repository name.
    env.hubctl_ok(&["repo", "init", "acme/tool"]);
    assert!(env.bare("Acme/tool").is_dir());
}

/// A database from before names were unique regardless of case migrates; names that already
/// differ only in case are kept (not merged) and reported; each still works spelt exactly.
#[test]
fn migration_reports_existing_case_clashes() {
    let env = Env::new();
    env.hubctl_ok(&["user", "add", "alice"]);
    env.hubctl_ok(&["repo", "init", "alice/x"]);
    // Make it the previous schema, holding what that schema allowed.
    {
        let db = rusqlite::Connection::open(env.root.join("hubctl.db")).unwrap();
        db.execute_batch(
            "DROP INDEX owners_name_nocase;
             DROP INDEX repos_name_nocase;
             INSERT INTO owners (name, kind, is_admin, created_at)
                 VALUES ('ALICE', 'user', 0, '2025-01-01T00:00:00Z');
             INSERT INTO repos (namespace, name, created_at)
                 VALUES ('alice', 'X', '2025-01-01T00:00:00Z');
             DROP TABLE repo_redirects;
             ALTER TABLE repos DROP COLUMN lfs_storage;
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let out = env.hubctl(&["user", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().collect::<Vec<_>>(), ["ALICE", "alice"]);
    let err = stderr(&out);
    assert!(
        err.contains("names that differ only in case: ALICE, alice;"),
        "{err}"
    );
    assert!(err.contains("alice/X, alice/x"), "{err}");
    let db = rusqlite::Connection::open(env.root.join("hubctl.db")).unwrap();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 9, "every migration ran");
    let indexes: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%_nocase'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 2);
    // Exact spellings still reach their own accounts.
    let t: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["token", "create", "--user", "ALICE", "--json"]))
            .unwrap();
    assert_eq!(t["user"], "ALICE");
    let t: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["token", "create", "--user", "alice", "--json"]))
            .unwrap();
    assert_eq!(t["user"], "alice");
    // No new clash can be added, and the report goes away once resolved.
    assert!(!env.hubctl(&["user", "add", "Alice"]).status.success());
    let out = env.hubctl(&["repo", "list"]);
    assert!(
        stderr(&out).contains("alice/X, alice/x"),
        "{}",
        stderr(&out)
    );
    env.hubctl_ok(&["user", "rm", "ALICE"]);
    let out = env.hubctl(&["user", "list"]);
    assert!(!stderr(&out).contains("ALICE, alice"), "{}", stderr(&out));
}

/// Clone, fetch and push with the repository spelt differently from its stored name, over
/// every transport that serves hubctl's root: the same repository, the same push policy, and
/// the same access decisions, so spelling a private repository differently opens nothing.
fn mixed_case_urls(t: Transport) {
    let site = Site::start_push(t);
    let env = &site.env;
    site.create_fixture("alice/Project", "main");
    site.allow_push("alice/Project");
    env.hubctl_ok(&["repo", "set", "alice/Project", "max-blob-size", "1KB"]);
    let clone = |name: &str, dest: &str| {
        let url = site.push_url(name);
        let dest = env.path(dest);
        let up = site.upload_pack_cmd();
        let mut args = vec!["clone", "-q"];
        if t == Transport::Stdio {
            args.extend(["-u", up.as_str()]);
        }
        args.extend([url.as_str(), dest.to_str().unwrap()]);
        (site.git(env.dir.path(), &args), dest)
    };
    let (out, wt) = clone("ALICE/project", "c1");
    assert!(out.status.success(), "[{t:?}] {}", stderr(&out));
    assert!(!site.git_ok(&wt, &["log", "--oneline"]).is_empty());
    env.add_commit(&wt, "small.txt", "small\n", "small");
    site.git_ok(&wt, &["push", "-q", "origin", "HEAD:main"]);
    let head = site.git_ok(&wt, &["rev-parse", "HEAD"]);
    let stored = env.git_ok(&env.bare("alice/Project"), &["rev-parse", "main"]);
    assert_eq!(
        head, stored,
        "[{t:?}] the push reached the stored repository"
    );
    // The repository's push policy holds under any spelling.
    env.add_commit(&wt, "big.bin", &"x".repeat(8192), "big");
    let out = site.git(&wt, &["push", "origin", "HEAD:main"]);
    assert!(
        !out.status.success(),
        "[{t:?}] a 8 KiB blob passed a 1 KiB limit"
    );
    assert_eq!(
        env.git_ok(&env.bare("alice/Project"), &["rev-parse", "main"]),
        stored
    );

    // A private repository stays private under every spelling.
    site.create_fixture("alice/secret", "main");
    env.hubctl_ok(&["repo", "set", "alice/secret", "visibility", "private"]);
    if t == Transport::Stdio {
        // The local operator may read everything; nothing to bypass.
        return;
    }
    for (i, spelling) in [
        "alice/secret",
        "ALICE/SECRET",
        "Alice/Secret",
        "alice/SECRET",
    ]
    .iter()
    .enumerate()
    {
        let (out, _) = clone(spelling, &format!("denied{i}"));
        assert!(!out.status.success(), "[{t:?}] {spelling} was readable");
    }
    if t == Transport::CgiRoot {
        // nginx vouches for users on pushes only; reads there are anonymous.
        return;
    }
    env.hubctl_ok(&["repo", "grant", "ALICE/Secret", PUSH_USER, "read"]);
    let (out, _) = clone("aLiCe/sEcReT", "granted");
    assert!(out.status.success(), "[{t:?}] {}", stderr(&out));
}

mod mixed_case_urls {
    use crate::harness::Transport;
    #[test]
    fn serve() {
        super::mixed_case_urls(Transport::Serve)
    }
    #[test]
    fn cgi_root() {
        super::mixed_case_urls(Transport::CgiRoot)
    }
    #[test]
    fn stdio() {
        super::mixed_case_urls(Transport::Stdio)
    }
    #[test]
    fn ssh() {
        super::mixed_case_urls(Transport::Ssh)
    }
}

/// A committed schema from `docs/schemas/`, compiled with format checks (RFC 3339 times).
fn schema(name: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schemas")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        jsonschema::meta::is_valid(&value),
        "{name} is not a valid schema"
    );
    jsonschema::options()
        .should_validate_formats(true)
        .build(&value)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Validate `value` (an object, or every element of an array, which must not be empty) against
/// the schema `name`.
fn conforms(name: &str, what: &str, value: &serde_json::Value) {
    let validator = schema(name);
    let items: Vec<&serde_json::Value> = match value.as_array() {
        Some(a) => a.iter().collect(),
        None => vec![value],
    };
    assert!(!items.is_empty(), "{what}: nothing to check");
    for item in items {
        let errors: Vec<String> = validator.iter_errors(item).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{what} against {name}: {errors:?}\n{item:#}"
        );
    }
}

/// Every `--json` output, and the keys API, match the schemas committed under `docs/schemas/`
/// (which forbid fields they do not name); repositories have one identity shape everywhere.
#[test]
fn json_outputs_match_their_schemas() {
    let env = Env::new();
    env.hosted_fixture("alice/project", "main");
    let token = env.user_with_token("alice", &["--expires", "30d"]);
    env.hubctl_ok(&["user", "add", "root", "--admin"]);
    env.hubctl_ok(&["org", "add", "acme"]);
    env.hubctl_ok(&["org", "member", "add", "acme", "alice", "--role", "owner"]);
    env.hubctl_ok(&[
        "repo",
        "init",
        "acme/tool",
        "--private",
        "--max-blob-size",
        "5MB",
    ]);
    env.hubctl_ok(&["repo", "grant", "acme/tool", "root", "read"]);
    let key = env.path("id");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "laptop", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let pub_key = format!("{}.pub", key.display());
    // An LFS object where the store keeps them.
    let content = b"hello lfs\n";
    let oid = {
        use sha2::Digest as _;
        let d = sha2::Sha256::digest(content);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let dir = env
        .bare("alice/project")
        .join("lfs/objects")
        .join(&oid[..2])
        .join(&oid[2..4]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&oid), content).unwrap();

    let json = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&env.hubctl_ok(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    conforms("user", "user list", &json(&["user", "list", "--json"]));
    conforms("org", "org list", &json(&["org", "list", "--json"]));
    conforms(
        "token-created",
        "token create",
        &json(&[
            "token",
            "create",
            "--user",
            "root",
            "--expires",
            "1d",
            "--json",
        ]),
    );
    conforms(
        "token-created",
        "token create (no expiry)",
        &json(&["token", "create", "--user", "root", "--json"]),
    );
    let revoked = json(&["token", "create", "--user", "root", "--json"]);
    env.hubctl_ok(&["token", "revoke", &revoked["id"].to_string()]);
    conforms("token", "token list", &json(&["token", "list", "--json"]));
    conforms(
        "key",
        "keys add",
        &json(&["keys", "add", "--user", "alice", "--json", &pub_key]),
    );
    conforms("key", "keys list", &json(&["keys", "list", "--json"]));
    conforms("key", "keys show", &json(&["keys", "show", "1", "--json"]));
    let repos = json(&["repo", "list", "--json"]);
    conforms("repo", "repo list", &repos);
    let shown = json(&["repo", "show", "acme/tool", "--json"]);
    conforms("repo", "repo show", &shown);
    let gc = json(&["repo", "gc", "alice/project", "--json"]);
    conforms("repo-gc", "repo gc", &gc);
    let gc_auto = json(&["repo", "gc", "acme/tool", "--auto", "--json"]);
    if !gc_auto.as_array().unwrap().is_empty() {
        conforms("repo-gc", "repo gc --auto", &gc_auto);
    }
    conforms(
        "setting",
        "config list",
        &json(&["config", "list", "--json"]),
    );
    env.hubctl_ok(&["config", "set", "pack-cache-size", "off"]);
    env.hubctl_ok(&["config", "set", "public-url", "https://git.example.com"]);
    conforms(
        "setting",
        "config list (set)",
        &json(&["config", "list", "--json"]),
    );
    let objects = json(&["lfs", "ls", "alice/project", "--json"]);
    conforms("lfs-object", "lfs ls", &objects);
    assert_eq!(objects[0]["oid"], oid.as_str());

    // One repository identity shape.
    for (what, v) in [
        ("repo list", &repos[0]),
        ("repo show", &shown),
        ("repo gc", &gc),
    ] {
        let full = format!(
            "{}/{}",
            v["namespace"].as_str().unwrap(),
            v["name"].as_str().unwrap()
        );
        assert_eq!(v["full_name"], full.as_str(), "{what}: {v}");
        assert!(v.get("repository").is_none(), "{what}: {v}");
    }
    assert_eq!(gc["full_name"], "alice/project");

    // The HTTP API's keys are the same objects.
    let server = env.serve(&[]);
    let (status, answer) = curl(&[
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{}/api/user/keys", server.base),
    ]);
    assert_eq!(status, 200, "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").last().unwrap()).unwrap();
    conforms("key", "GET /api/user/keys", &body);

    // A field a schema does not name is caught (the schemas are strict).
    let mut extra = shown.clone();
    extra["repository"] = "acme/tool".into();
    assert!(!schema("repo").is_valid(&extra));
}

/// nginx's verified user (`REMOTE_USER`, trusted with --trust-remote-user) is taken exactly as
/// spelt: a password file entry `PUSHER` does not act as hubctl's `pusher`, while `pusher`
/// itself pushes.
#[test]
fn trusted_remote_user_is_matched_exactly() {
    let site = Site::start_with(
        Transport::CgiRoot,
        2,
        NginxOptions {
            snippet: Snippet::PushAuth,
            users: vec![
                (PUSH_USER.into(), PUSH_PASSWORD.into()),
                (PUSH_USER.to_uppercase(), "other-secret".into()),
            ],
            ..NginxOptions::default()
        },
    );
    let env = &site.env;
    env.ensure_owner(PUSH_USER);
    site.create_fixture("alice/project", "main");
    site.allow_push("alice/project");
    let wt = site.clone_for_push("alice/project", "work");
    // nginx checks the htpasswd password here (not a hubctl token).
    let verified = site.url("alice/project").replacen(
        "http://",
        &format!("http://{PUSH_USER}:{PUSH_PASSWORD}@"),
        1,
    );
    env.git_ok(&wt, &["remote", "set-url", "origin", &verified]);
    env.add_commit(&wt, "one.txt", "one\n", "one");
    site.git_ok(&wt, &["push", "-q", "origin", "HEAD:main"]);
    // The same push as the upper-case password-file user is refused.
    env.add_commit(&wt, "two.txt", "two\n", "two");
    let url = site.url("alice/project").replacen(
        "http://",
        &format!("http://{}:other-secret@", PUSH_USER.to_uppercase()),
        1,
    );
    let out = site.git(&wt, &["push", &url, "HEAD:main"]);
    assert!(!out.status.success(), "PUSHER pushed as pusher");
    assert!(
        stderr(&out).contains("403") || site.server_logs().contains("no such user"),
        "{}\n{}",
        stderr(&out),
        site.server_logs()
    );
}

/// `config set` of an engine setting says a running `serve` needs SIGHUP; a real `serve` sent
/// SIGHUP logs the reload and from then on uses the new value: here the pack cache, switched
/// on while it ran, fills with the next clone.
#[test]
fn serve_reloads_engine_settings_on_sighup() {
    let env = Env::new();
    env.hubctl_ok(&["user", "add", "alice"]);
    env.hubctl_ok(&["repo", "init", "alice/data"]);
    let wt = env.fixture_worktree("src");
    for i in 0..10 {
        crate::push::write_random(&wt.join(format!("blob{i}.bin")), 32 * 1024, i);
    }
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "blobs"]);
    env.git_ok(
        &wt,
        &[
            "push",
            "-q",
            env.bare("alice/data").to_str().unwrap(),
            "main",
        ],
    );
    env.hubctl_ok(&["config", "set", "pack-cache-size", "off"]);
    let server = env.serve(&[]);
    let packs = || -> usize {
        let mut n = 0;
        if let Ok(shards) = std::fs::read_dir(env.root.join("cache/packs")) {
            for s in shards.flatten() {
                n += std::fs::read_dir(s.path())
                    .map(|d| {
                        d.flatten()
                            .filter(|f| f.file_name().to_string_lossy().ends_with(".pack"))
                            .count()
                    })
                    .unwrap_or(0);
            }
        }
        n
    };
    let clone = |dest: &str| {
        let d = env.path(dest);
        env.git_ok(
            env.dir.path(),
            &[
                "clone",
                "-q",
                "--no-checkout",
                &server.url("alice/data"),
                d.to_str().unwrap(),
            ],
        );
    };
    clone("one");
    assert_eq!(packs(), 0, "the cache is off");
    let out = env.hubctl(&["config", "set", "pack-cache-size", "100MB"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("send it SIGHUP (kill -HUP PID)"),
        "{}",
        stderr(&out)
    );
    let out = env.hubctl(&["config", "set", "idle-timeout", "2min"]);
    assert!(stderr(&out).contains("restart it"), "{}", stderr(&out));
    clone("two");
    assert_eq!(packs(), 0, "serve read the setting before the SIGHUP");
    // SAFETY: sending a signal to the child this test started.
    unsafe {
        libc::kill(server.pid() as i32, libc::SIGHUP);
    }
    assert!(
        eventually(Duration::from_secs(10), || server
            .log
            .contains("SIGHUP: reloaded settings")),
        "{:?}",
        server.log.lines()
    );
    clone("three");
    assert_eq!(packs(), 1, "the reloaded engine caches packs");
    // Still serving, still stoppable.
    clone("four");
}
