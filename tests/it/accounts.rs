//! Accounts and access: every cell of the access table for clone, fetch and push, over
//! `hubctl serve` and nginx + fcgiwrap + `hubctl cgi`, checked with curl (status codes) and git
//! (outcomes, including the credential prompt after a 401).

use std::path::Path;
use std::time::Duration;

use crate::harness::*;
use crate::push::install_hook;

/// The people in the access table and the credentials they present.
struct World {
    env: Env,
    base: String,
    tokens: std::collections::HashMap<&'static str, String>,
    _server: Option<Server>,
    _nginx: Option<Nginx>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Http {
    Serve,
    Cgi,
}

const PUB: &str = "alice/pub";
const PRIV: &str = "alice/priv";
const ORG_PRIV: &str = "acme/orgpriv";

impl World {
    fn new(t: Http) -> World {
        let env = Env::new();
        let mut tokens = std::collections::HashMap::new();
        for (user, extra) in [
            ("alice", vec![]),
            ("bob", vec![]),
            ("reader", vec![]),
            ("writer", vec![]),
            ("member", vec![]),
        ] {
            tokens.insert(user, env.user_with_token(user, &extra));
        }
        env.hubctl_ok(&["user", "add", "root", "--admin"]);
        tokens.insert(
            "admin",
            env.hubctl_ok(&["token", "create", "--user", "root"])
                .trim()
                .to_string(),
        );
        tokens.insert(
            "writer-readscope",
            env.hubctl_ok(&["token", "create", "--user", "writer", "--scope", "read"])
                .trim()
                .to_string(),
        );
        // Tokens that must not work: unknown, expired, revoked.
        tokens.insert(
            "bad",
            "hubctl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        );
        let expiring = env.hubctl_ok(&[
            "token",
            "create",
            "--user",
            "alice",
            "--expires",
            "1s",
            "--json",
        ]);
        let expiring: serde_json::Value = serde_json::from_str(&expiring).unwrap();
        tokens.insert("expired", expiring["token"].as_str().unwrap().to_string());
        let revoked = env.hubctl_ok(&["token", "create", "--user", "alice", "--json"]);
        let revoked: serde_json::Value = serde_json::from_str(&revoked).unwrap();
        env.hubctl_ok(&["token", "revoke", &revoked["id"].to_string()]);
        tokens.insert("revoked", revoked["token"].as_str().unwrap().to_string());

        env.hubctl_ok(&["org", "add", "acme"]);
        env.hubctl_ok(&["org", "member", "add", "acme", "member"]);
        for (repo, vis) in [
            (PUB, "--public"),
            (PRIV, "--private"),
            (ORG_PRIV, "--private"),
        ] {
            env.hubctl_ok(&["repo", "init", repo, vis]);
            let wt = env.fixture_worktree(&format!("src-{}", repo.replace('/', "-")));
            env.git_ok(
                &wt,
                &["push", "-q", env.bare(repo).to_str().unwrap(), "main"],
            );
        }
        for repo in [PUB, PRIV] {
            env.hubctl_ok(&["repo", "grant", repo, "reader", "read"]);
            env.hubctl_ok(&["repo", "grant", repo, "writer", "write"]);
        }
        let (server, nginx, base) = match t {
            Http::Serve => {
                let s = env.serve(&[]);
                let b = s.base.clone();
                (Some(s), None, b)
            }
            Http::Cgi => {
                let n = Nginx::start(&env, NginxOptions::default());
                let b = n.base.clone();
                (None, Some(n), b)
            }
        };
        // Let the 1-second token expire.
        std::thread::sleep(Duration::from_millis(1200));
        World {
            env,
            base,
            tokens,
            _server: server,
            _nginx: nginx,
        }
    }

    fn url(&self, repo: &str, who: Option<&str>) -> String {
        match who {
            None => format!("{}/{repo}.git", self.base),
            Some(w) => format!(
                "{}/{repo}.git",
                self.base
                    .replacen("http://", &format!("http://{w}:{}@", self.tokens[w]), 1)
            ),
        }
    }

    /// Status of the read and push advertisements for `who` (None = anonymous).
    fn statuses(&self, repo: &str, who: Option<&str>) -> (u16, u16) {
        let auth: Vec<String> = match who {
            Some(w) => vec!["-u".into(), format!("{w}:{}", self.tokens[w])],
            None => vec![],
        };
        let get = |svc: &str| {
            let mut args: Vec<&str> = auth.iter().map(String::as_str).collect();
            let u = format!("{}/{repo}.git/info/refs?service={svc}", self.base);
            args.push(&u);
            let (status, text) = curl(&args);
            if status == 401 {
                assert!(
                    text.contains("WWW-Authenticate: Basic realm=\"hubctl\""),
                    "401 without challenge: {text}"
                );
            }
            status
        };
        (get("git-upload-pack"), get("git-receive-pack"))
    }
}

/// (who, repository, read status, push status) — the access table.
fn table() -> Vec<(Option<&'static str>, &'static str, u16, u16)> {
    vec![
        (None, PUB, 200, 401),
        (None, PRIV, 401, 401),
        (None, "alice/missing", 401, 401),
        (Some("bad"), PUB, 401, 401),
        (Some("bad"), PRIV, 401, 401),
        (Some("expired"), PUB, 401, 401),
        (Some("expired"), PRIV, 401, 401),
        (Some("revoked"), PUB, 401, 401),
        (Some("revoked"), PRIV, 401, 401),
        (Some("bob"), PUB, 200, 403),
        (Some("bob"), PRIV, 404, 404),
        (Some("bob"), "alice/missing", 404, 404),
        (Some("bob"), ORG_PRIV, 404, 404),
        (Some("reader"), PUB, 200, 403),
        (Some("reader"), PRIV, 200, 403),
        (Some("writer-readscope"), PUB, 200, 403),
        (Some("writer-readscope"), PRIV, 200, 403),
        (Some("writer"), PUB, 200, 200),
        (Some("writer"), PRIV, 200, 200),
        (Some("alice"), PUB, 200, 200),
        (Some("alice"), PRIV, 200, 200),
        (Some("admin"), PRIV, 200, 200),
        (Some("admin"), ORG_PRIV, 200, 200),
        (Some("member"), ORG_PRIV, 200, 200),
    ]
}

fn access_table(t: Http) {
    let w = World::new(t);
    // Status codes, with curl.
    for (who, repo, read, push) in table() {
        assert_eq!(
            w.statuses(repo, who),
            (read, push),
            "[{t:?}] {who:?} on {repo}"
        );
    }
    // Outcomes, with git: clone, fetch and push.
    for (i, (who, repo, read, push)) in table().into_iter().enumerate() {
        let dest = w.env.path(&format!("c{i}"));
        // git sends URL credentials only after a 401; a token that must be refused even where
        // anonymous reading is fine has to be presented up front to be tested at all.
        let presented_up_front = matches!(who, Some("bad" | "expired" | "revoked"));
        let (url, header) = if presented_up_front {
            (
                w.url(repo, None),
                format!(
                    "http.extraHeader=Authorization: Bearer {}",
                    w.tokens[who.unwrap()]
                ),
            )
        } else {
            (w.url(repo, who), "http.extraHeader=".to_string())
        };
        let out = w.env.git(
            w.env.dir.path(),
            &["-c", &header, "clone", "-q", &url, dest.to_str().unwrap()],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.success(),
            read == 200,
            "[{t:?}] clone by {who:?} of {repo}: {err}"
        );
        match read {
            200 => {}
            401 if who.is_none() || presented_up_front => {
                assert!(
                    err.contains("could not read Username") || err.contains("401"),
                    "{err}"
                )
            }
            401 => assert!(err.contains("Authentication failed"), "{err}"),
            404 => assert!(err.contains("not found"), "{err}"),
            _ => unreachable!(),
        }
        if read != 200 {
            continue;
        }
        w.env.git_ok(&dest, &["fetch", "-q", "origin"]);
        w.env
            .add_commit(&dest, &format!("by-{i}.txt"), "x\n", "change");
        let out = w
            .env
            .git(&dest, &["push", "origin", "HEAD:refs/heads/main"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.success(),
            push == 200,
            "[{t:?}] push by {who:?} to {repo}: {err}"
        );
        match push {
            200 => {}
            401 => assert!(err.contains("could not read Username"), "{err}"),
            403 => assert!(err.contains("403"), "{err}"),
            _ => unreachable!(),
        }
    }
}

#[test]
fn access_table_serve() {
    access_table(Http::Serve)
}

#[test]
fn access_table_cgi() {
    access_table(Http::Cgi)
}

/// git asks for credentials after a 401 and succeeds once they are given; hooks see the user.
fn prompt_then_succeed(t: Http) {
    let w = World::new(t);
    let askpass = w.env.path("askpass.sh");
    let log = w.env.path("askpass.log");
    write_script(
        &askpass,
        &format!(
            "#!/bin/sh\necho \"$1\" >> {}\ncase \"$1\" in Username*) echo writer;; *) echo {};; esac\n",
            log.display(),
            w.tokens["writer"]
        ),
    );
    let record = w.env.path("hook.env");
    install_hook(
        &w.env.bare(PRIV),
        "pre-receive",
        &format!(
            "#!/bin/sh\necho \"HUBCTL_USER=$HUBCTL_USER REMOTE_USER=$REMOTE_USER COMMITTER=$GIT_COMMITTER_NAME\" > {}\n",
            record.display()
        ),
    );
    let dest = w.env.path("prompted");
    let clone = w
        .env
        .git_cmd(w.env.dir.path())
        .args(["clone", "-q", &w.url(PRIV, None), dest.to_str().unwrap()])
        .env("GIT_ASKPASS", &askpass)
        .output()
        .unwrap();
    assert!(
        clone.status.success(),
        "{}",
        String::from_utf8_lossy(&clone.stderr)
    );
    let asked = std::fs::read_to_string(&log).unwrap();
    assert!(
        asked.contains("Username") && asked.contains("Password"),
        "{asked}"
    );
    w.env.add_commit(&dest, "p.txt", "p\n", "prompted push");
    let push = w
        .env
        .git_cmd(&dest)
        .args(["push", "-q", "origin", "main"])
        .env("GIT_ASKPASS", &askpass)
        .output()
        .unwrap();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&record).unwrap().trim(),
        "HUBCTL_USER=writer REMOTE_USER=writer COMMITTER=writer"
    );
}

#[test]
fn prompt_then_succeed_serve() {
    prompt_then_succeed(Http::Serve)
}

#[test]
fn prompt_then_succeed_cgi() {
    prompt_then_succeed(Http::Cgi)
}

/// Revocation and expiry take effect with the very next request.
#[test]
fn revocation_and_expiry_are_immediate() {
    let env = Env::new();
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", PRIV, "--private"]);
    let server = env.serve(&[]);
    let url = format!(
        "{}/{PRIV}.git/info/refs?service=git-upload-pack",
        server.base
    );
    let created = env.hubctl_ok(&["token", "create", "--user", "alice", "--json"]);
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let token = created["token"].as_str().unwrap();
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(curl(&["-H", &bearer, &url]).0, 200);
    env.hubctl_ok(&["token", "revoke", &created["id"].to_string()]);
    assert_eq!(curl(&["-H", &bearer, &url]).0, 401);
    let out = env.hubctl(&["token", "revoke", &created["id"].to_string()]);
    assert!(!out.status.success());
    let out = env.hubctl(&["token", "revoke", "9999"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no token with id 9999"));

    // Expiry has whole-second precision: 5s leaves the first request at least 4s, even on a
    // loaded machine.
    let short = env.hubctl_ok(&["token", "create", "--user", "alice", "--expires", "5s"]);
    let short = short.trim();
    let auth = format!("x:{short}");
    assert_eq!(curl(&["-u", &auth, &url]).0, 200);
    std::thread::sleep(Duration::from_millis(5200));
    assert_eq!(curl(&["-u", &auth, &url]).0, 401);
    // Use is recorded.
    let list = env.hubctl_ok(&["token", "list", "--user", "alice", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| !t["last_used"].is_null()),
        "{list}"
    );
    assert!(
        !list.to_string().contains("hubctl_"),
        "token list shows a secret: {list}"
    );
}

/// Many short-lived processes at once (as CGI and SSH run): 20 concurrent `token create`.
#[test]
fn concurrent_token_creation() {
    let env = Env::new();
    env.ensure_owner("alice");
    let children: Vec<_> = (0..20)
        .map(|i| {
            env.hubctl_cmd()
                .args([
                    "token",
                    "create",
                    "--user",
                    "alice",
                    "--name",
                    &format!("t{i}"),
                    "--json",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let t = v["token"].as_str().unwrap().to_string();
        assert!(t.starts_with("hubctl_") && t.len() >= 7 + 22, "{t}");
        tokens.insert(t);
    }
    assert_eq!(tokens.len(), 20);
    let list = env.hubctl_ok(&["token", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 20);
}

/// Every `--json` output parses, has the documented fields, and is documented in man/.
#[test]
fn json_outputs_are_documented() {
    let env = Env::new();
    env.hubctl_ok(&["user", "add", "alice", "--admin"]);
    env.hubctl_ok(&["user", "add", "bob"]);
    env.hubctl_ok(&["org", "add", "acme"]);
    env.hubctl_ok(&["org", "member", "add", "acme", "bob", "--role", "owner"]);
    env.hubctl_ok(&[
        "repo",
        "init",
        "acme/tool",
        "--private",
        "--max-blob-size",
        "5m",
    ]);
    env.hubctl_ok(&["repo", "grant", "acme/tool", "alice", "admin"]);
    let parse = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&env.hubctl_ok(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let created = parse(&[
        "token",
        "create",
        "--user",
        "bob",
        "--scope",
        "read",
        "--expires",
        "30d",
        "--json",
    ]);
    for k in ["id", "token", "scope", "expires_at", "user", "name"] {
        assert!(
            !created[k].is_null(),
            "token create --json lacks {k}: {created}"
        );
    }
    assert_eq!(created["scope"], "read");
    let checks: Vec<(Vec<&str>, &str, Vec<&str>)> = vec![
        (
            vec!["user", "list", "--json"],
            "hubctl-user-list.1",
            vec!["id", "name", "admin", "created_at"],
        ),
        (
            vec!["org", "list", "--json"],
            "hubctl-org-list.1",
            vec!["id", "name", "created_at", "members"],
        ),
        (
            vec!["token", "list", "--json"],
            "hubctl-token-list.1",
            vec![
                "id",
                "user",
                "name",
                "scope",
                "created_at",
                "expires_at",
                "last_used",
                "revoked_at",
            ],
        ),
        (
            vec!["repo", "list", "--json"],
            "hubctl-repo-list.1",
            vec![
                "namespace",
                "name",
                "owner",
                "visibility",
                "default_branch",
                "description",
                "max_blob_size",
                "adopted",
                "grants",
            ],
        ),
    ];
    for (args, man, keys) in checks {
        let v = parse(&args);
        let first = &v
            .as_array()
            .unwrap_or_else(|| panic!("{args:?} is not an array"))[0];
        let page =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man").join(man))
                .unwrap();
        for k in keys {
            assert!(first.get(k).is_some(), "{args:?} lacks {k}: {first}");
            assert!(page.contains(k), "{man} does not document {k}");
        }
    }
    let shown = parse(&["repo", "show", "acme/tool", "--json"]);
    assert_eq!(shown["visibility"], "private");
    assert_eq!(shown["max_blob_size"], 5 << 20);
    assert_eq!(shown["grants"][0]["user"], "alice");
    assert_eq!(shown["grants"][0]["level"], "admin");
    let orgs = parse(&["org", "list", "--json"]);
    assert_eq!(orgs[0]["members"][0]["role"], "owner");
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("man/hubctl-token-create.1"),
    )
    .unwrap();
    assert!(page.contains("expires_at") && page.contains("token"));
}

/// Repository lifecycle: owners must exist, unadopted repositories are for admins, rm needs --yes.
#[test]
fn repository_lifecycle() {
    let env = Env::new();
    let out = env.hubctl(&["repo", "init", "ghost/x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a user nor an organisation"));
    let alice = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["user", "add", "root", "--admin"]);
    let admin = env
        .hubctl_ok(&["token", "create", "--user", "root"])
        .trim()
        .to_string();
    // A repository that appeared on disk without hubctl.
    let bare = env.bare("alice/found");
    std::fs::create_dir_all(&bare).unwrap();
    env.git_ok(&bare, &["init", "-q", "--bare"]);
    let server = env.serve(&[]);
    let url = format!(
        "{}/alice/found.git/info/refs?service=git-upload-pack",
        server.base
    );
    assert_eq!(curl(&["-u", &format!("a:{alice}"), &url]).0, 404);
    assert_eq!(curl(&[&url]).0, 401);
    assert_eq!(curl(&["-u", &format!("a:{admin}"), &url]).0, 200);
    let listed = env.hubctl_ok(&["repo", "list", "--json"]);
    assert!(listed.contains("\"adopted\": false"), "{listed}");
    // Adopted repositories are private unless the operator says otherwise.
    env.hubctl_ok(&["repo", "adopt", "alice/found"]);
    assert_eq!(curl(&["-u", &format!("a:{alice}"), &url]).0, 200);
    assert_eq!(curl(&[&url]).0, 401);
    // Visibility changes apply at once.
    env.hubctl_ok(&["repo", "set", "alice/found", "visibility", "public"]);
    assert_eq!(curl(&[&url]).0, 200);
    env.hubctl_ok(&["repo", "set", "alice/found", "visibility", "private"]);
    assert_eq!(curl(&[&url]).0, 401);
    // Deletion needs --yes and removes everything; an owner with repositories cannot be removed.
    let out = env.hubctl(&["user", "rm", "alice"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("owns 1 repositories"));
    let out = env.hubctl(&["repo", "rm", "alice/found"]);
    assert!(!out.status.success());
    assert!(bare.exists());
    env.hubctl_ok(&["repo", "rm", "alice/found", "--yes"]);
    assert!(!bare.exists());
    assert_eq!(curl(&["-u", &format!("a:{alice}"), &url]).0, 404);
    env.hubctl_ok(&["user", "rm", "alice"]);
    assert_eq!(curl(&["-u", &format!("a:{alice}"), &url]).0, 401);
}

/// hubctl does its own authentication in CGI; REMOTE_USER counts only when trusted.
#[test]
fn cgi_remote_user_needs_trust() {
    let env = Env::new();
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", PRIV, "--private"]);
    let run = |trust: Option<&str>| {
        let mut cmd = std::process::Command::new(hubctl_bin());
        env.clean_env(&mut cmd);
        cmd.env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("REQUEST_METHOD", "GET")
            .env("PATH_INFO", format!("/{PRIV}.git/info/refs"))
            .env("QUERY_STRING", "service=git-receive-pack")
            .env("REMOTE_USER", "alice")
            .env("HUBCTL_ROOT", &env.root);
        if let Some(t) = trust {
            cmd.env("HUBCTL_TRUST_REMOTE_USER", t);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(run(None), "Status: 401 Unauthorized");
    assert_eq!(run(Some("0")), "Status: 401 Unauthorized");
    assert_eq!(run(Some("1")), "Status: 200 OK");
    // A misconfigured value is a clear 500, not a silent CGI failure.
    assert_eq!(run(Some("maybe")), "Status: 500 Internal Server Error");
}

/// Malformed credentials get 400/401 with a message, never a panic.
#[test]
fn bad_credentials_input() {
    let env = Env::new();
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", PUB]);
    let server = env.serve(&[]);
    let url = format!(
        "{}/{PUB}.git/info/refs?service=git-upload-pack",
        server.base
    );
    let b64 = |bytes: &[u8]| {
        use std::process::Stdio;
        let mut c = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin.take().unwrap().write_all(bytes).unwrap();
        String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap()
    };
    let long = "x".repeat(10_000);
    let cases: Vec<(String, u16)> = vec![
        ("Authorization: Basic %%%not-base64".into(), 400),
        (
            format!("Authorization: Basic {}", b64(b"no-colon-here")),
            400,
        ),
        (
            format!("Authorization: Basic {}", b64(&[0xff, 0xfe, b':', 0xfd])),
            400,
        ),
        ("Authorization: Bearer".into(), 400),
        (format!("Authorization: Bearer hubctl_{long}"), 401),
        (
            format!(
                "Authorization: Basic {}",
                b64(format!("u:{long}").as_bytes())
            ),
            401,
        ),
        // Not RFC 6750's b64token: refused before any lookup.
        ("Authorization: Bearer ' OR 1=1 --".into(), 400),
        ("Authorization: Negotiate abc".into(), 401),
    ];
    for (header, want) in cases {
        let (status, text) = curl(&["-H", &header, &url]);
        assert_eq!(status, want, "{}: {text}", &header[..header.len().min(60)]);
        assert!(text.contains("Content-Type: text/plain"), "{text}");
    }
    // SQL metacharacters are data, never SQL.
    let out = env.hubctl(&["user", "add", "x'; DROP TABLE owners; --"]);
    assert!(!out.status.success());
    let name = "label'); DROP TABLE tokens; --";
    env.hubctl_ok(&["token", "create", "--user", "alice", "--name", name]);
    let list = env.hubctl_ok(&["token", "list", "--json"]);
    assert!(list.contains("DROP TABLE tokens"), "{list}");
    env.hubctl_ok(&["user", "list"]);
    // Bad arguments are one clear line and no partial state.
    for args in [
        vec!["token", "create", "--user", "nobody"],
        vec!["token", "create", "--user", "alice", "--expires", "soon"],
        vec!["repo", "grant", PUB, "nobody", "read"],
        vec!["org", "member", "add", "noorg", "alice"],
    ] {
        let out = env.hubctl(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
    }
    let tokens: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["token", "list", "--json"])).unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 1);
}

/// A database that is locked or read-only gives a clear error and leaves nothing half-done.
#[test]
fn locked_and_readonly_database() {
    let env = Env::new();
    env.ensure_owner("alice");
    env.hubctl_ok(&["repo", "init", PUB]);
    let token = env
        .hubctl_ok(&["token", "create", "--user", "alice"])
        .trim()
        .to_string();
    let server = Server::start_full(&env, "127.0.0.1:0", &[], &[("HUBCTL_DB_TIMEOUT", "1")]);
    // Hold an exclusive lock (readers blocked too) from another process.
    let db = env.root.join("hubctl.db");
    let mut holder = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3,time,sys\nc=sqlite3.connect({:?},isolation_level=None,timeout=60)\nc.execute('PRAGMA locking_mode=EXCLUSIVE')\nc.execute('BEGIN EXCLUSIVE')\nc.execute('INSERT INTO owners(name,kind,is_admin,created_at) VALUES(\"held\",\"user\",0,\"x\")')\nprint('locked',flush=True)\ntime.sleep(6)\nc.execute('ROLLBACK')\n",
            db.display().to_string()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let out = env
        .hubctl_cmd()
        .env("HUBCTL_DB_TIMEOUT", "1")
        .args(["user", "add", "carol"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked") || err.contains("busy"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (status, text) = curl(&[
        "-u",
        &format!("x:{token}"),
        &format!(
            "{}/{PUB}.git/info/refs?service=git-upload-pack",
            server.base
        ),
    ]);
    // The holder blocks readers too (exclusive locking mode): the server says so and when
    // to come back, instead of failing obscurely or hanging.
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("Retry-After: 5"), "{text}");
    holder.wait().unwrap();
    assert!(!env.hubctl_ok(&["user", "list"]).contains("carol"));
    assert!(!env.hubctl_ok(&["user", "list"]).contains("held"));
    // Read-only for the user running hubctl (root ignores permissions, so run as nobody).
    if is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(hubctl_bin())
            .arg("--root")
            .arg(&env.root)
            .args(["user", "add", "dave"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("hubctl: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!env.hubctl_ok(&["user", "list"]).contains("dave"));
    }
}
