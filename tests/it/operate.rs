//! Operating hubctl (issue 16): the access log of `serve` and `cgi`, `/healthz` and
//! `/metrics`, the HTML pages for browsers, and the repository lifecycle commands (rename,
//! import, backup and restore), each driven with the real programs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

/// The access lines of a server log (everything after the start-up line that is not a
/// `hubctl:` message).
fn access_lines(server: &Server) -> Vec<String> {
    server
        .log
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("hubctl:"))
        .collect()
}

fn wait_for_line(server: &Server, pred: impl Fn(&str) -> bool) -> String {
    let mut found = None;
    eventually(Duration::from_secs(10), || {
        found = access_lines(server).into_iter().find(|l| pred(l));
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("no such access line in {:#?}", server.log.lines()))
}

#[test]
fn serve_access_log_text_and_json() {
    let env = Env::new();
    env.hosted_fixture("alice/project", "main");
    let token = env.user_with_token("alice", &[]);
    // Private, so git sends its credentials (it waits for a challenge).
    env.hubctl_ok(&["repo", "set", "alice/project", "visibility", "private"]);
    let server = env.serve(&[]);
    let url = server
        .url("alice/project")
        .replace("://", &format!("://alice:{token}@"));
    let dest = env.path("clone");
    env.git_ok(
        env.dir.path(),
        &["clone", "-q", &url, dest.to_str().unwrap()],
    );
    // A text line: TIME ADDR USER METHOD PATH STATUS BYTES DURATION SERVICE.
    let line = wait_for_line(&server, |l| {
        l.contains("/git-upload-pack ") && l.contains(" POST ") && l.contains(" alice ")
    });
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f.len(), 9, "{line}");
    humantime::parse_rfc3339(f[0]).unwrap_or_else(|e| panic!("timestamp {:?}: {e}", f[0]));
    assert_eq!(f[1], "127.0.0.1", "{line}");
    assert_eq!(f[2], "alice", "{line}");
    assert_eq!(f[3], "POST");
    assert_eq!(f[4], "/alice/project.git/git-upload-pack");
    assert_eq!(f[5], "200");
    assert!(f[6].parse::<u64>().unwrap() > 0, "{line}");
    assert!(f[7].ends_with("ms") && f[7].trim_end_matches("ms").parse::<f64>().is_ok());
    assert_eq!(f[8], "git-upload-pack");
    let adv = wait_for_line(&server, |l| {
        l.contains("info/refs?service=git-upload-pack") && l.contains(" 200 ")
    });
    assert!(adv.ends_with(" git-upload-pack"), "{adv}");
    // The challenge before it was anonymous.
    let challenged = wait_for_line(&server, |l| l.contains("info/refs") && l.contains(" 401 "));
    assert!(challenged.contains(" - GET "), "{challenged}");
    // Anonymous requests and requests without a service say `-`.
    let (status, _) = curl(&[&format!("{}/nope/a/b/c", server.base)]);
    assert_eq!(status, 404);
    let nope = wait_for_line(&server, |l| l.contains(" /nope/a/b/c "));
    let f: Vec<&str> = nope.split(' ').collect();
    assert_eq!((f[2], f[5], f[8]), ("-", "404", "-"), "{nope}");
    // A hostile path stays on one line.
    let (status, _) = curl(&[&format!("{}/x%0Ay%20z", server.base)]);
    assert_eq!(status, 404);
    let hostile = wait_for_line(&server, |l| {
        l.contains("/x%0Ay%20z") || l.contains("/x\\ny")
    });
    assert_eq!(hostile.split(' ').count(), 9, "{hostile}");

    // JSON: one object per line with the same fields.
    env.hubctl_ok(&["repo", "set", "alice/project", "visibility", "public"]);
    let json_server = env.serve(&["--log-format", "json"]);
    let url = json_server.url("alice/project");
    env.git_ok(env.dir.path(), &["ls-remote", &url]);
    let line = wait_for_line(&json_server, |l| l.contains("info/refs"));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    humantime::parse_rfc3339(v["time"].as_str().unwrap()).unwrap();
    assert_eq!(v["remote_addr"], "127.0.0.1");
    assert_eq!(v["user"], serde_json::Value::Null);
    assert_eq!(v["method"], "GET");
    assert_eq!(
        v["path"],
        "/alice/project.git/info/refs?service=git-upload-pack"
    );
    assert_eq!(v["status"], 200);
    assert!(v["bytes"].as_u64().unwrap() > 0);
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["service"], "git-upload-pack");
    for l in access_lines(&json_server) {
        serde_json::from_str::<serde_json::Value>(&l)
            .unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"));
    }
}

/// What the CGI printed on stderr: fcgiwrap either hands it to nginx (an `[error]` line,
/// "FastCGI sent in stderr") or leaves it on its own stderr, depending on its version.
fn cgi_stderr_lines(nginx: &Nginx) -> Vec<String> {
    let read = |f: &str| std::fs::read_to_string(nginx.dir.join(f)).unwrap_or_default();
    read("logs/error.log")
        .lines()
        .filter(|l| l.contains("FastCGI sent in stderr"))
        .chain(read("logs/fcgiwrap.log").lines())
        .map(str::to_string)
        .collect()
}

#[test]
fn cgi_logs_errors_only_unless_asked() {
    let env = Env::new();
    env.hosted_fixture("alice/project", "main");
    let nginx = Nginx::start(&env, NginxOptions::default());
    let url = nginx.url("alice/project.git");
    let dest = env.path("clone");
    env.git_ok(
        env.dir.path(),
        &["clone", "-q", &url, dest.to_str().unwrap()],
    );
    let (status, _) = curl(&[&nginx.url("nope/a/b/c")]);
    assert_eq!(status, 404);
    // The page works behind nginx too, with the clone URL nginx is reached at.
    let (status, text) = curl(&[&nginx.url("alice/project")]);
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(&format!("git clone {}/alice/project.git", nginx.base)),
        "{text}"
    );
    // Health and metrics answer under CGI too (the shared counters are the root's).
    let (status, text) = curl(&[&nginx.url("healthz")]);
    assert_eq!(status, 200, "{text}");
    env.hubctl_ok(&["user", "add", "root", "--admin"]);
    let admin = env
        .hubctl_ok(&["token", "create", "--user", "root"])
        .trim()
        .to_string();
    let (status, text) = curl(&["-u", &format!("root:{admin}"), &nginx.url("metrics")]);
    assert_eq!(status, 200, "{text}");
    let samples = parse_prometheus(body(&text));
    assert!(
        sample(&samples, "hubctl_pack_cache_misses_total{}") >= 1.0,
        "{samples:#?}"
    );
    let (status, _) = curl(&[&nginx.url("metrics")]);
    assert_eq!(status, 404);
    let lines = cgi_stderr_lines(&nginx);
    assert!(
        lines.is_empty(),
        "routine requests became nginx errors: {lines:#?}"
    );

    // With HUBCTL_LOG=info each request gets its access line.
    let env2 = Env::new();
    env2.hosted_fixture("alice/project", "main");
    let loud = Nginx::start(
        &env2,
        NginxOptions {
            env: vec![("HUBCTL_LOG".into(), "info".into())],
            ..NginxOptions::default()
        },
    );
    let dest = env2.path("clone");
    let url = loud.url("alice/project.git");
    env2.git_ok(
        env2.dir.path(),
        &["clone", "-q", &url, dest.to_str().unwrap()],
    );
    assert!(
        eventually(Duration::from_secs(10), || {
            cgi_stderr_lines(&loud).iter().any(|l| {
                l.contains(" POST /alice/project.git/git-upload-pack 200 ")
                    && l.contains(" git-upload-pack")
            })
        }),
        "{}",
        loud.logs()
    );

    // Errors still reach stderr without HUBCTL_LOG: a broken database is reported.
    for f in ["hubctl.db", "hubctl.db-wal", "hubctl.db-shm"] {
        let _ = std::fs::remove_file(env.root.join(f));
    }
    std::fs::write(
        env.root.join("hubctl.db"),
        b"this is not a database, not at all....",
    )
    .unwrap();
    let (status, _) = curl(&[&nginx.url("alice/project.git/info/refs?service=git-upload-pack")]);
    assert_eq!(status, 500);
    assert!(
        eventually(Duration::from_secs(10), || cgi_stderr_lines(&nginx)
            .iter()
            .any(|l| l.contains("database"))),
        "{}",
        nginx.logs()
    );
    assert!(
        !cgi_stderr_lines(&nginx).iter().any(|l| l.contains(" 500 ")),
        "an access line was written: {:#?}",
        cgi_stderr_lines(&nginx)
    );
}

/// Parse Prometheus text with the reference client library's parser; returns
/// `name{labels} value` lines, sorted, for the samples.
fn parse_prometheus(text: &str) -> Vec<String> {
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value} {fam.type}")
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/setup installs python3-prometheus-client)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The value of the sample that starts with `prefix` (`name{labels}`).
fn sample(samples: &[String], prefix: &str) -> f64 {
    samples
        .iter()
        .find(|s| s.starts_with(prefix))
        .and_then(|s| s.split(' ').nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {prefix} in {samples:#?}"))
}

fn body(text: &str) -> &str {
    text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or(text)
}

#[test]
fn healthz_and_metrics() {
    let env = Env::new();
    let wt = env.hosted_fixture("alice/project", "main");
    // Packs below 64 KiB are not worth caching; give the repository some incompressible bulk.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let bulk: Vec<u8> = (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(wt.join("bulk.bin"), bulk).unwrap();
    env.git_ok(&wt, &["add", "bulk.bin"]);
    env.git_ok(&wt, &["commit", "-q", "-m", "bulk"]);
    env.git_ok(
        &wt,
        &[
            "push",
            "-q",
            env.bare("alice/project").to_str().unwrap(),
            "main",
        ],
    );
    let user_token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["user", "add", "root", "--admin"]);
    let admin_token = env
        .hubctl_ok(&["token", "create", "--user", "root"])
        .trim()
        .to_string();
    env.hubctl_ok(&["config", "set", "max-engines", "1"]);
    env.hubctl_ok(&["config", "set", "queue-timeout", "60s"]);
    let server = env.serve(&[]);

    let (status, text) = curl(&[&format!("{}/healthz", server.base)]);
    assert_eq!(status, 200, "{text}");
    assert!(body(&text).starts_with("ok\n"), "{text}");
    assert!(
        text.contains("database: ok") && text.contains("git: git version"),
        "{text}"
    );

    // Off by default: nothing for anonymous callers, 403 for users, numbers for administrators.
    let metrics = format!("{}/metrics", server.base);
    let (status, _) = curl(&[&metrics]);
    assert_eq!(status, 404);
    let (status, _) = curl(&["-u", &format!("alice:{user_token}"), &metrics]);
    assert_eq!(status, 403);
    let (status, _) = curl(&["-u", "x:wrong", &metrics]);
    assert_eq!(status, 401);

    // Two identical clones: a pack cache miss, then a hit.
    let url = server.url("alice/project");
    for i in 0..2 {
        let dest = env.path(&format!("clone{i}"));
        env.git_ok(
            env.dir.path(),
            &["clone", "-q", "--no-local", &url, dest.to_str().unwrap()],
        );
    }
    env.hubctl_ok(&["repo", "gc", "alice/project"]);

    // Hold the only engine slot from outside (as another hubctl process would) and start a
    // clone: it waits in the queue.
    let slot = env.root.join("run/slots/0.lock");
    let holder = ChildGuard(Some({
        let mut c = Command::new("flock");
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        c.arg(&slot)
            .args(["sleep", "60"])
            .spawn()
            .expect("flock(1)")
    }));
    assert!(eventually(Duration::from_secs(5), || {
        Command::new("flock")
            .args(["-n"])
            .arg(&slot)
            .arg("true")
            .status()
            .is_ok_and(|s| !s.success())
    }));
    let dest = env.path("queued");
    let mut queued_clone = env
        .git_cmd(env.dir.path())
        .args(["clone", "-q", &url, dest.to_str().unwrap()])
        .spawn()
        .unwrap();
    let auth = format!("root:{admin_token}");
    let mut samples = Vec::new();
    let saw_queue = eventually(Duration::from_secs(20), || {
        let (status, text) = curl(&["-u", &auth, &metrics]);
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("text/plain; version=0.0.4"), "{text}");
        samples = parse_prometheus(body(&text));
        sample(&samples, "hubctl_engine_slots_queued{}") >= 1.0
    });
    assert!(saw_queue, "{samples:#?}");
    assert_eq!(sample(&samples, "hubctl_engine_slots_in_use{}"), 1.0);
    assert_eq!(sample(&samples, "hubctl_engine_slots{}"), 1.0);
    // The whole group: flock's child `sleep` holds the lock too.
    drop(holder);
    assert!(
        wait_timeout(&mut queued_clone, Duration::from_secs(60))
            .unwrap()
            .success()
    );

    let (_, text) = curl(&["-u", &auth, &metrics]);
    let samples = parse_prometheus(body(&text));
    assert!(
        sample(&samples, "hubctl_pack_cache_misses_total{}") >= 1.0,
        "{samples:#?}"
    );
    assert!(
        sample(&samples, "hubctl_pack_cache_hits_total{}") >= 1.0,
        "{samples:#?}"
    );
    assert!(sample(&samples, "hubctl_pack_cache_served_bytes_total{}") > 0.0);
    assert!(sample(&samples, "hubctl_pack_cache_bytes{}") > 0.0);
    assert_eq!(
        sample(&samples, "hubctl_maintenance_runs_total{outcome=\"ok\"}"),
        1.0
    );
    assert_eq!(sample(&samples, "hubctl_engine_slots_queued{}"), 0.0);
    assert!(
        sample(
            &samples,
            "hubctl_http_requests_total{route=\"git-upload-pack\",status=\"200\"}"
        ) >= 3.0,
        "{samples:#?}"
    );
    assert_eq!(
        sample(
            &samples,
            "hubctl_http_requests_total{route=\"metrics\",status=\"404\"}"
        ),
        1.0
    );
    let count = sample(
        &samples,
        "hubctl_http_request_duration_seconds_count{route=\"git-upload-pack\"}",
    );
    let inf = sample(
        &samples,
        "hubctl_http_request_duration_seconds_bucket{le=\"+Inf\",route=\"git-upload-pack\"}",
    );
    assert_eq!(count, inf);

    // Switched on, anyone may read them.
    env.hubctl_ok(&["config", "set", "metrics", "on"]);
    let (status, text) = curl(&[&metrics]);
    assert_eq!(status, 200, "{text}");
    parse_prometheus(body(&text));

    // A broken database makes the server unhealthy; the detail goes to its log only.
    for f in ["hubctl.db-wal", "hubctl.db-shm"] {
        let _ = std::fs::remove_file(env.root.join(f));
    }
    let db = env.root.join("hubctl.db");
    std::fs::remove_file(&db).unwrap();
    std::fs::write(&db, b"this is not a database, not at all....").unwrap();
    let (status, text) = curl(&[&format!("{}/healthz", server.base)]);
    assert_eq!(status, 503, "{text}");
    assert!(body(&text).starts_with("unhealthy\n"), "{text}");
    assert!(
        text.contains("database: failing") && text.contains("git: git version"),
        "{text}"
    );
    assert!(!text.contains("not a database"), "{text}");
    assert!(
        eventually(Duration::from_secs(5), || server
            .log
            .contains("health check: database")),
        "{:?}",
        server.log.lines()
    );
}

#[test]
fn pages_for_browsers() {
    let env = Env::new();
    env.hosted_fixture("alice/public", "main");
    env.hubctl_ok(&[
        "repo",
        "init",
        "alice/secret",
        "--private",
        "--description",
        "the private <b>plans</b>",
    ]);
    env.hubctl_ok(&[
        "repo",
        "set",
        "alice/public",
        "description",
        "<script>alert('x')</script> & co",
    ]);
    let alice = env.user_with_token("alice", &[]);
    let bob = env.user_with_token("bob", &[]);
    env.hubctl_ok(&["config", "set", "ssh-url", "ssh://git@git.example.com:2222"]);
    let server = env.serve(&[]);
    let base = &server.base;

    let (status, text) = curl(&[&format!("{base}/")]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("text/html"), "{text}");
    assert!(text.contains("alice/public"), "{text}");
    assert!(
        !text.contains("secret") && !text.contains("plans"),
        "a private repository leaked: {text}"
    );
    assert!(!text.contains("<script>"), "unescaped: {text}");
    assert!(
        text.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"),
        "{text}"
    );

    let (status, text) = curl(&[&format!("{base}/alice/public")]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<h1>alice/public</h1>"), "{text}");
    assert!(
        text.contains("<code class=\"default-branch\">main</code>"),
        "{text}"
    );
    assert!(
        text.contains(&format!("git clone {base}/alice/public.git")),
        "{text}"
    );
    assert!(
        text.contains("git clone ssh://git@git.example.com:2222/alice/public.git"),
        "{text}"
    );
    assert!(!text.contains("<script>"), "{text}");

    // A private repository: the same answer as for a missing one, for anonymous visitors
    // and for users without access.
    for who in [None, Some(format!("bob:{bob}"))] {
        let mut args = vec![];
        if let Some(a) = &who {
            args.extend(["-u".to_string(), a.clone()]);
        }
        for path in ["alice/secret", "alice/missing"] {
            let mut a = args.clone();
            a.push(format!("{base}/{path}"));
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let (status, text) = curl(&a);
            assert!(status == 401 || status == 404, "{path}: {text}");
            assert!(!text.contains("plans"), "{text}");
        }
        let mut a = args.clone();
        a.push(format!("{base}/"));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (_, text) = curl(&a);
        assert!(!text.contains("alice/secret"), "{text}");
    }
    let (s1, _) = curl(&[&format!("{base}/alice/secret")]);
    let (s2, _) = curl(&[&format!("{base}/alice/missing")]);
    assert_eq!(
        s1, s2,
        "a private repository answers differently from a missing one"
    );
    // Its owner sees it, listed and on its page, with the description escaped.
    let (status, text) = curl(&[
        "-u",
        &format!("alice:{alice}"),
        &format!("{base}/alice/secret"),
    ]);
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("the private &lt;b&gt;plans&lt;/b&gt;"),
        "{text}"
    );
    let (_, text) = curl(&["-u", &format!("alice:{alice}"), &format!("{base}/")]);
    assert!(text.contains("alice/secret"), "{text}");

    // git is unaffected: clones work, and paths below a repository are not pages.
    let dest = env.path("clone");
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            &server.url("alice/public"),
            dest.to_str().unwrap(),
        ],
    );
    for path in [
        "alice/public.git/objects/info/packs",
        "alice/public.git/info/refs",
        "alice/public/x/y",
    ] {
        let (_, text) = curl(&[&format!("{base}/{path}")]);
        assert!(
            !text.contains("text/html"),
            "{path} answered a page: {text}"
        );
    }
}

/// Commit one Git LFS file (`data.bin`, 200 KiB) in `wt` and push it with git-lfs to `url`.
/// Returns the object's id.
fn push_lfs_file(env: &Env, wt: &Path, url: &str) -> String {
    env.git_ok(env.dir.path(), &["lfs", "install", "--skip-repo"]);
    env.git_ok(wt, &["lfs", "track", "*.bin"]);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let data: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(wt.join("data.bin"), &data).unwrap();
    env.git_ok(wt, &["add", "-A"]);
    env.git_ok(wt, &["commit", "-q", "-m", "lfs data"]);
    env.git_ok(wt, &["push", "-q", url, "HEAD:main"]);
    use sha2::Digest as _;
    let oid: String = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    oid
}

fn lfs_object_path(bare: &Path, oid: &str) -> std::path::PathBuf {
    bare.join("lfs/objects")
        .join(&oid[..2])
        .join(&oid[2..4])
        .join(oid)
}

fn with_token(url: &str, user: &str, token: &str) -> String {
    url.replacen("://", &format!("://{user}:{token}@"), 1)
}

#[test]
fn rename_keeps_grants_and_lfs_and_redirects_the_old_url() {
    let env = Env::new();
    let wt = env.hosted_fixture("alice/old", "main");
    env.hubctl_ok(&["repo", "set", "alice/old", "visibility", "private"]);
    let alice = env.user_with_token("alice", &[]);
    let bob = env.user_with_token("bob", &[]);
    env.ensure_owner("carol");
    env.hubctl_ok(&["repo", "grant", "alice/old", "bob", "write"]);
    let server = env.serve(&[]);
    let old_url = server.url("alice/old");
    let oid = push_lfs_file(&env, &wt, &with_token(&old_url, "alice", &alice));
    assert!(lfs_object_path(&env.bare("alice/old"), &oid).is_file());

    let out = env.hubctl_ok(&["repo", "rename", "alice/old", "carol/new", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["full_name"], "carol/new");
    assert_eq!(v["namespace"], "carol");
    assert_eq!(v["name"], "new");
    assert_eq!(v["renamed_from"]["full_name"], "alice/old");
    assert_eq!(v["renamed_from"]["namespace"], "alice");
    assert!(!env.bare("alice/old").exists());
    assert!(
        lfs_object_path(&env.bare("carol/new"), &oid).is_file(),
        "LFS data stayed behind"
    );
    let shown = env.hubctl_ok(&["repo", "show", "carol/new", "--json"]);
    assert!(
        shown.contains("\"bob\"") && shown.contains("\"private\""),
        "{shown}"
    );

    // bob clones by the old URL: git follows the redirect, git-lfs gets the object.
    let dest = env.path("by-old-url");
    let out = env
        .git_cmd(env.dir.path())
        .args([
            "clone",
            &with_token(&old_url, "bob", &bob),
            dest.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("redirecting to"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(dest.join("data.bin")).unwrap()
            == std::fs::read(wt.join("data.bin")).unwrap(),
        "the LFS file differs"
    );
    // His grant came along: he pushes to the new URL.
    env.add_commit(&dest, "bob.txt", "bob\n", "bob's change");
    env.git_ok(
        &dest,
        &[
            "push",
            "-q",
            &with_token(&server.url("carol/new"), "bob", &bob),
            "HEAD:main",
        ],
    );
    // The new name is not revealed to whoever may not read the repository.
    let info_refs = format!("{old_url}/info/refs?service=git-upload-pack");
    let (status, text) = curl(&[&info_refs]);
    assert_eq!(status, 401, "{text}");
    assert!(!text.contains("carol"), "{text}");
    let dave = env.user_with_token("dave", &[]);
    let (status, text) = curl(&["-u", &format!("dave:{dave}"), &info_refs]);
    assert_eq!(status, 404, "{text}");
    assert!(!text.contains("carol"), "{text}");
    // ... and is to those who may, for the page too.
    let (status, text) = curl(&["-u", &format!("bob:{bob}"), &info_refs]);
    assert_eq!(status, 301, "{text}");
    assert!(
        text.contains("Location: /carol/new.git/info/refs?service=git-upload-pack"),
        "{text}"
    );
    let (status, text) = curl(&[
        "-u",
        &format!("bob:{bob}"),
        &format!("{}/alice/old", server.base),
    ]);
    assert_eq!(status, 301, "{text}");
    assert!(text.contains("Location: /carol/new\r\n"), "{text}");

    // A new repository under the old name takes it back.
    env.hubctl_ok(&["repo", "init", "alice/old"]);
    let (status, _) = curl(&["-u", &format!("bob:{bob}"), &info_refs]);
    assert_eq!(status, 200);

    // Renames never follow symbolic links out of the root.
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    env.git_ok(&outside, &["init", "-q", "--bare", "victim.git"]);
    std::os::unix::fs::symlink(
        outside.join("victim.git"),
        env.root.join("repos/alice/link.git"),
    )
    .unwrap();
    let out = env.hubctl(&["repo", "rename", "alice/link", "carol/stolen"]);
    assert!(!out.status.success());
    assert!(outside.join("victim.git/HEAD").exists());
    assert!(!env.bare("carol/stolen").exists());
    env.ensure_owner("evil");
    std::os::unix::fs::symlink(&outside, env.root.join("repos/evil")).unwrap();
    let out = env.hubctl(&["repo", "rename", "carol/new", "evil/moved"]);
    assert!(!out.status.success(), "renamed into a link leading out");
    assert!(env.bare("carol/new").join("HEAD").exists());
    assert!(!outside.join("moved.git").exists());
    // Taken names are refused.
    let out = env.hubctl(&["repo", "rename", "carol/new", "alice/old"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn import_from_url_and_mirror_from_path() {
    let source_env = Env::new();
    let src_wt = source_env.hosted_fixture("up/stream", "main");
    let bare = source_env.bare("up/stream");
    // A ref outside branches and tags, as code review systems keep them.
    source_env.git_ok(&bare, &["update-ref", "refs/pull/1/head", "refs/heads/dev"]);
    let source = source_env.serve(&[]);

    let env = Env::new();
    env.ensure_owner("alice");
    let out = env
        .hubctl_cmd()
        .args([
            "repo",
            "import",
            "alice/copy",
            &source.url("up/stream"),
            "--description",
            "a copy",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Cloning into bare repository"),
        "no progress: {err}"
    );
    let refs = |name: &str| refs_of(&env, &env.bare(name));
    let copied = refs("alice/copy");
    assert!(
        copied.iter().any(|r| r.ends_with("refs/heads/feature/x")),
        "{copied:?}"
    );
    assert!(
        copied.iter().any(|r| r.ends_with("refs/tags/v1.0")),
        "{copied:?}"
    );
    assert!(
        !copied.iter().any(|r| r.contains("refs/pull/")),
        "{copied:?}"
    );
    let shown = env.hubctl_ok(&["repo", "show", "alice/copy", "--json"]);
    assert!(
        shown.contains("\"adopted\": true") && shown.contains("a copy"),
        "{shown}"
    );

    // --mirror from a path: every ref, exactly.
    let out = env.hubctl_ok(&[
        "repo",
        "import",
        "alice/mirror",
        bare.to_str().unwrap(),
        "--mirror",
        "--private",
        "--quiet",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["full_name"], "alice/mirror");
    assert_eq!(v["mirror"], true);
    assert_eq!(refs("alice/mirror"), refs_of(&source_env, &bare));

    // Served, cloned and pushed like any other repository.
    let token = env.user_with_token("alice", &[]);
    let server = env.serve(&[]);
    let dest = env.path("clone");
    let url = with_token(&server.url("alice/copy"), "alice", &token);
    env.git_ok(
        env.dir.path(),
        &["clone", "-q", &url, dest.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(dest.join("file3.txt")).unwrap(),
        std::fs::read(src_wt.join("file3.txt")).unwrap()
    );
    env.add_commit(&dest, "new.txt", "new\n", "after import");
    env.git_ok(&dest, &["push", "-q", "origin", "main"]);

    // Taken names, remote helpers that run commands, and failed clones leave nothing behind.
    let out = env.hubctl(&["repo", "import", "alice/copy", bare.to_str().unwrap()]);
    assert!(!out.status.success());
    let out = env.hubctl(&["repo", "import", "ghost/x", bare.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither a user nor an organisation"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !env.root.join("repos/ghost").exists()
            || std::fs::read_dir(env.root.join("repos/ghost"))
                .unwrap()
                .next()
                .is_none()
    );
    let marker = env.path("pwned");
    let ext = format!("ext::sh -c touch% {}", marker.display());
    let out = env.hubctl(&["repo", "import", "alice/evil", &ext]);
    assert!(!out.status.success());
    assert!(!marker.exists(), "ext:: ran a command");
    let out = env.hubctl(&[
        "repo",
        "import",
        "alice/none",
        &format!("{}/nope/nope.git", source.base),
    ]);
    assert!(!out.status.success());
    let leftovers: Vec<_> = std::fs::read_dir(env.root.join("repos/alice"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut leftovers = leftovers;
    leftovers.sort();
    assert_eq!(leftovers, ["copy.git", "mirror.git"]);
}

#[test]
fn backup_during_pushes_restores_to_a_working_hub() {
    let env = Env::new();
    let wt = env.hosted_fixture("alice/project", "main");
    env.hosted_fixture("bob/other", "main");
    env.hubctl_ok(&["repo", "set", "bob/other", "visibility", "private"]);
    let alice = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "grant", "bob/other", "alice", "read"]);
    // A repository entry that is a link out of the root is never followed.
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    env.git_ok(&outside, &["init", "-q", "--bare", "victim.git"]);
    std::os::unix::fs::symlink(
        outside.join("victim.git"),
        env.root.join("repos/alice/link.git"),
    )
    .unwrap();
    let server = env.serve(&[]);
    let url = with_token(&server.url("alice/project"), "alice", &alice);
    let oid = push_lfs_file(&env, &wt, &url);

    // Pushes keep arriving while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each push's (start, end), to prove that one was in flight during the backup.
    let pushes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let pusher = {
        let (env_home, wt, url, stop) = (env.home.clone(), wt.clone(), url.clone(), stop.clone());
        let pushes = pushes.clone();
        std::thread::spawn(move || {
            let mut pushed = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && pushed < 300 {
                let run = |args: &[&str]| {
                    let out = Command::new("git")
                        .current_dir(&wt)
                        .env("HOME", &env_home)
                        .env("GIT_CONFIG_NOSYSTEM", "1")
                        .env("GIT_TERMINAL_PROMPT", "0")
                        .args(args)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                };
                std::fs::write(wt.join(format!("f{pushed}.txt")), format!("{pushed}\n")).unwrap();
                run(&["add", "-A"]);
                run(&["commit", "-q", "-m", &format!("change {pushed}")]);
                let start = std::time::Instant::now();
                run(&["push", "-q", &url, "HEAD:main"]);
                pushes
                    .lock()
                    .unwrap()
                    .push((start, std::time::Instant::now()));
                pushed += 1;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // Back up until a backup ran while a push was in flight (the first one almost always).
    let mut backup = None;
    let mut out = String::new();
    for attempt in 0..5 {
        let dir = env.path(&format!("backup-{attempt}"));
        let start = std::time::Instant::now();
        out = env.hubctl_ok(&["backup", dir.to_str().unwrap(), "--json"]);
        let end = std::time::Instant::now();
        // Let the push in flight finish before looking.
        std::thread::sleep(Duration::from_millis(500));
        let overlapped = pushes
            .lock()
            .unwrap()
            .iter()
            .any(|(s, e)| *s < end && *e > start);
        if overlapped {
            backup = Some(dir);
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    pusher.join().unwrap();
    let backup = backup.expect("no backup ran while a push was in flight");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice/project", "bob/other"]);
    assert_eq!(v["repositories"][1]["namespace"], "bob");
    assert_eq!(v["repositories"][1]["name"], "other");
    assert!(
        v["skipped_links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().ends_with("link.git")),
        "{out}"
    );
    assert!(!backup.join("repos/alice/link.git").exists());
    assert!(backup.join("hubctl-backup.json").is_file());

    // Refusals: a mistyped root (nothing is created), a non-empty destination, a destination
    // inside the root, a non-empty root.
    let typo = env.path("no-such-root");
    let mut cmd = Command::new(hubctl_bin());
    env.clean_env(&mut cmd);
    let out = cmd
        .arg("--root")
        .arg(&typo)
        .args(["backup", env.path("typo-backup").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!typo.exists() && !env.path("typo-backup").exists());
    let out = env.hubctl(&["backup", backup.to_str().unwrap()]);
    assert!(!out.status.success());
    let inside = env.root.join("backup-here");
    let out = env.hubctl(&["backup", inside.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(!inside.exists());
    let out = env.hubctl(&["restore", backup.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));

    // A link planted in the backup is not followed on the way back.
    std::os::unix::fs::symlink(&outside, backup.join("repos/alice/project.git/planted")).unwrap();

    // Into an empty root: every repository consistent, accounts and tokens, LFS objects.
    let fresh = Env::new();
    let out = fresh
        .hubctl_cmd()
        .args(["restore", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["alice/project", "bob/other"] {
        fresh.git_ok(&fresh.bare(name), &["fsck", "--strict", "--no-progress"]);
    }
    assert!(std::fs::symlink_metadata(fresh.bare("alice/project").join("planted")).is_err());
    assert!(lfs_object_path(&fresh.bare("alice/project"), &oid).is_file());
    drop(server);
    let restored = fresh.serve(&[]);
    let url = with_token(&restored.url("alice/project"), "alice", &alice);
    let dest = fresh.path("clone");
    fresh.git_ok(fresh.dir.path(), &["lfs", "install", "--skip-repo"]);
    fresh.git_ok(
        fresh.dir.path(),
        &["clone", "-q", &url, dest.to_str().unwrap()],
    );
    assert!(
        std::fs::read(dest.join("data.bin")).unwrap()
            == std::fs::read(wt.join("data.bin")).unwrap(),
        "the LFS object did not come back"
    );
    fresh.git_ok(&dest, &["fsck", "--no-progress"]);
    fresh.add_commit(&dest, "after-restore.txt", "restored\n", "after restore");
    fresh.git_ok(&dest, &["push", "-q", "origin", "HEAD:main"]);
    // The private repository is private still, and alice's grant came back.
    let other = restored.url("bob/other");
    assert!(
        !fresh
            .git(fresh.dir.path(), &["ls-remote", &other])
            .status
            .success()
    );
    fresh.git_ok(
        fresh.dir.path(),
        &["ls-remote", &with_token(&other, "alice", &alice)],
    );
}
