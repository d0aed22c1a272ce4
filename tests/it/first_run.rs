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
    assert_eq!(json.as_array().unwrap().len(), 12);
}
