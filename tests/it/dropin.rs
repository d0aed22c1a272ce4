//! Drop-in fidelity (issue 14): every scenario runs twice, once against stock git (git
//! http-backend behind the same nginx + fcgiwrap or the same Apache, or invoked directly as a
//! CGI program, or plain git-upload-pack / git-receive-pack) and once against hubctl, with the
//! real git client, and the client-visible results (exit status, refs, reflog identity, the
//! stderr lines that matter) must be the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::harness::*;

/// Stock git's CGI program.
fn stock_backend() -> PathBuf {
    let out = Command::new("git").arg("--exec-path").output().unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("git-http-backend")
}

/// The two CGI programs compared, stock first.
fn backends() -> [(&'static str, PathBuf); 2] {
    [("stock", stock_backend()), ("hubctl", hubctl_bin())]
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A bare copy of the standard fixture at `dest`, exported (git-daemon-export-ok).
fn exported_bare(env: &Env, dest: &Path) -> PathBuf {
    let wt = env.path("fixture");
    if !wt.exists() {
        env.fixture_worktree("fixture");
    }
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            "--no-local",
            wt.to_str().unwrap(),
            dest.to_str().unwrap(),
        ],
    );
    std::fs::write(dest.join("git-daemon-export-ok"), "").unwrap();
    dest.to_path_buf()
}

fn git_dir_config(env: &Env, bare: &Path, key: &str, value: &str) {
    env.git_ok(bare, &["config", key, value]);
}

/// Clone `url` into a fresh directory; returns the clone's refs, or the failure's stderr.
fn clone_refs(
    env: &Env,
    url: &str,
    dest: &str,
    vars: &[(&str, &str)],
) -> Result<Vec<String>, String> {
    let dest = env.path(dest);
    let mut cmd = env.git_cmd(env.dir.path());
    cmd.args(["clone", "-q", "--mirror", url, dest.to_str().unwrap()]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return Err(stderr(&out));
    }
    Ok(refs_of(env, &dest))
}

fn nginx_for(env: &Env, program: &Path, mut opts: NginxOptions) -> Nginx {
    opts.program = program.to_path_buf();
    opts.workers = 2;
    Nginx::start(env, opts)
}

/// Run a CGI program directly, as lighttpd or a test script does: returns the status, the
/// header block, the body and stderr.
fn run_cgi(
    env: &Env,
    program: &Path,
    vars: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>, String) {
    use std::io::Write;
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A program that refuses the request may not read its body.
    let _ = stdin.write_all(body);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| {
            out.stdout
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, 2))
        });
    let (head, body) = match split {
        Some((i, n)) => (
            String::from_utf8_lossy(&out.stdout[..i]).into_owned(),
            out.stdout[i + n..].to_vec(),
        ),
        None => (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            Vec::new(),
        ),
    };
    let status = head
        .lines()
        .find_map(|l| l.strip_prefix("Status: "))
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(200);
    (status, head, body, stderr(&out))
}

/// The `<id> <ref>` pairs of a v0 ref advertisement (capabilities and the service line cut).
fn advertised_refs(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut refs = Vec::new();
    let mut rest: &str = &text;
    while rest.len() >= 4 {
        let Ok(len) = usize::from_str_radix(&rest[..4], 16) else {
            break;
        };
        if len < 4 {
            rest = &rest[4..];
            continue;
        }
        let line = &rest[4..len.min(rest.len())];
        rest = &rest[len.min(rest.len())..];
        let line = line.split('\0').next().unwrap().trim_end();
        if !line.starts_with('#') {
            refs.push(line.to_string());
        }
    }
    refs
}

// --- 1. PATH_TRANSLATED without GIT_PROJECT_ROOT ---------------------------------------------

/// Apache's `ScriptAlias` without `GIT_PROJECT_ROOT` passes only `PATH_TRANSLATED` (document
/// root + `PATH_INFO`); a repository at any depth, named with or without `.git`, clones.
#[test]
fn path_translated_serves_any_repository() {
    let env = Env::new();
    let docroot = env.path("docroot");
    exported_bare(&env, &docroot.join("deep/er/repo.git"));
    let mut results = Vec::new();
    for (label, program) in backends() {
        let nginx = nginx_for(
            &env,
            &program,
            NginxOptions {
                pass_root: false,
                extra_params: vec![(
                    "PATH_TRANSLATED".into(),
                    format!("{}$uri", docroot.display()),
                )],
                ..NginxOptions::default()
            },
        );
        for (i, path) in ["deep/er/repo.git", "deep/er/repo"].iter().enumerate() {
            let got = clone_refs(&env, &nginx.url(path), &format!("{label}-{i}"), &[]);
            assert!(
                got.is_ok(),
                "[{label}] clone {path}: {got:?}\n{}",
                nginx.logs()
            );
            results.push((path.to_string(), got));
        }
    }
    assert_eq!(results[0..2], results[2..4]);
    assert!(results[0].1.as_ref().unwrap().len() >= 5);
}

/// `PATH_TRANSLATED` without `PATH_INFO` (lighttpd, direct invocation).
#[test]
fn path_translated_without_path_info() {
    let env = Env::new();
    let docroot = env.path("docroot");
    exported_bare(&env, &docroot.join("repo.git"));
    let translated = format!("{}/repo.git/info/refs", docroot.display());
    let mut answers = Vec::new();
    for (label, program) in backends() {
        let (status, head, body, err) = run_cgi(
            &env,
            &program,
            &[
                ("REQUEST_METHOD", "GET"),
                ("QUERY_STRING", "service=git-upload-pack"),
                ("PATH_TRANSLATED", &translated),
            ],
            b"",
        );
        assert_eq!(status, 200, "[{label}] {head}\n{err}");
        assert!(
            head.contains("application/x-git-upload-pack-advertisement"),
            "[{label}] {head}"
        );
        answers.push(advertised_refs(&body));
    }
    assert_eq!(answers[0], answers[1]);
    assert!(
        answers[0].iter().any(|l| l.ends_with(" refs/heads/main")),
        "{answers:?}"
    );
}

/// `chown -R www-data:www-data` (Apache's CGI account reads and, for pushes, writes there).
fn chown_to_apache(path: &Path) {
    let st = Command::new("chown")
        .args(["-R", &format!("{APACHE_USER}:{APACHE_USER}")])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success(), "chown {}", path.display());
}

/// www-data's user id.
fn apache_uid() -> u32 {
    let out = Command::new("id")
        .args(["-u", APACHE_USER])
        .output()
        .unwrap();
    assert!(out.status.success(), "no {APACHE_USER} account");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn apache_for(env: &Env, program: &Path, docroot: &Path, extra: &[String]) -> Apache {
    Apache::start(
        env,
        ApacheOptions {
            program: program.to_path_buf(),
            docroot: docroot.to_path_buf(),
            extra: extra.to_vec(),
        },
    )
}

/// The real Apache with the README's `ScriptAlias` block (no `GIT_PROJECT_ROOT`, so only
/// `PATH_TRANSLATED`), CGI as www-data: `repo.git` and `deep/er/repo.git` clone with the same
/// refs from git http-backend and from hubctl.
#[test]
fn apache_script_alias_serves_any_repository() {
    let env = Env::new();
    let docroot = env.path("docroot");
    let top = exported_bare(&env, &docroot.join("repo.git"));
    let deep = exported_bare(&env, &docroot.join("deep/er/repo.git"));
    // GIT_HTTP_EXPORT_ALL in the README's block is what exports them.
    std::fs::remove_file(top.join("git-daemon-export-ok")).unwrap();
    std::fs::remove_file(deep.join("git-daemon-export-ok")).unwrap();
    chown_to_apache(&docroot);
    let mut results = Vec::new();
    for (label, program) in backends() {
        let apache = apache_for(&env, &program, &docroot, &[]);
        for path in ["repo.git", "deep/er/repo.git", "deep/er/repo"] {
            let dest = format!("apache-{label}-{}", path.replace('/', "-"));
            let got = clone_refs(&env, &apache.url(&format!("git/{path}")), &dest, &[]);
            assert!(
                got.is_ok(),
                "[{label}] clone {path}: {got:?}\n{}",
                apache.logs()
            );
            results.push((path, got));
        }
        // Debian's setup: the children that served these (and so the CGI program) run as
        // www-data.
        let uids = apache.child_uids();
        assert!(
            !uids.is_empty() && uids.iter().all(|u| *u == apache_uid()),
            "[{label}] Apache's children run as {uids:?}"
        );
        // A repository that does not exist: both refuse.
        let missing = clone_refs(
            &env,
            &apache.url("git/nothing.git"),
            &format!("apache-{label}-missing"),
            &[],
        );
        assert!(missing.is_err(), "[{label}] {missing:?}");
    }
    assert_eq!(results[0..3], results[3..6]);
    let main = env.git_ok(&env.path("fixture"), &["rev-parse", "main"]);
    assert!(
        results[3]
            .1
            .as_ref()
            .unwrap()
            .iter()
            .any(|r| r.contains(main.trim()) && r.ends_with("refs/heads/main")),
        "{results:?}"
    );
}

/// A push through the README's Apache block (CGI as www-data), allowed by `http.receivepack
/// true` in the repository or by Apache basic auth setting `REMOTE_USER`: the reflog's
/// identity, with `SetEnv GIT_COMMITTER_NAME`/`_EMAIL` in the block and without, is the same
/// from git http-backend and from hubctl.
#[test]
fn apache_committer_set_by_the_web_server_wins() {
    let env = Env::new();
    let set = vec![
        "SetEnv GIT_COMMITTER_NAME \"Custom User\"".to_string(),
        "SetEnv GIT_COMMITTER_EMAIL \"custom@example.com\"".to_string(),
    ];
    // Apache basic auth on /git/ sets REMOTE_USER, which may push without http.receivepack.
    let htpasswd = env.path("htpasswd");
    let hash = Command::new("openssl")
        .args(["passwd", "-apr1", "secret"])
        .output()
        .expect("openssl passwd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", String::from_utf8_lossy(&hash.stdout).trim()),
    )
    .unwrap();
    let auth = vec![
        "<Location /git/>".to_string(),
        "    AuthType Basic".to_string(),
        "    AuthName git".to_string(),
        format!("    AuthUserFile \"{}\"", htpasswd.display()),
        "    Require valid-user".to_string(),
        "</Location>".to_string(),
    ];
    let set_auth: Vec<String> = set.iter().chain(auth.iter()).cloned().collect();
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let mut row = Vec::new();
        for (case, extra) in [
            ("set", set.clone()),
            ("unset", Vec::new()),
            ("auth", auth.clone()),
            ("auth-set", set_auth.clone()),
        ] {
            let authenticated = case.starts_with("auth");
            let docroot = env.path(&format!("docroot-{label}-{case}"));
            let bare = exported_bare(&env, &docroot.join("repo.git"));
            if !authenticated {
                git_dir_config(&env, &bare, "http.receivepack", "true");
            }
            git_dir_config(&env, &bare, "core.logAllRefUpdates", "true");
            chown_to_apache(&docroot);
            let apache = apache_for(&env, &program, &docroot, &extra);
            let mut url = apache.url("git/repo.git");
            if authenticated {
                url = url.replacen("http://", "http://alice:secret@", 1);
            }
            let wt = env.path(&format!("apache-push-{label}-{case}"));
            env.git_ok(env.dir.path(), &["clone", "-q", &url, wt.to_str().unwrap()]);
            env.add_commit(&wt, "new.txt", label, "a push");
            let out = env.git(&wt, &["push", "origin", "main"]);
            assert!(
                out.status.success(),
                "[{label} {case}] push: {}\n{}",
                stderr(&out),
                apache.logs()
            );
            // The repository belongs to www-data; root reads it.
            let identity = env.git_ok(
                &bare,
                &[
                    "-c",
                    "safe.directory=*",
                    "reflog",
                    "show",
                    "-n1",
                    "--format=%gn <%ge>",
                    "refs/heads/main",
                ],
            );
            assert_eq!(
                env.git_ok(&bare, &["-c", "safe.directory=*", "rev-parse", "main"]),
                env.git_ok(&wt, &["rev-parse", "main"]),
                "[{label} {case}]"
            );
            row.push(identity.trim().to_string());
        }
        seen.push(row);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(
        seen[1],
        vec![
            "Custom User <custom@example.com>".to_string(),
            "anonymous <anonymous@http.127.0.0.1>".to_string(),
            "alice <alice@http.127.0.0.1>".to_string(),
            "Custom User <custom@example.com>".to_string(),
        ]
    );
}

// --- 2. GIT_COMMITTER_NAME / GIT_COMMITTER_EMAIL from the web server --------------------------

fn push_identity(env: &Env, program: &Path, label: &str, fcgi_env: &[(&str, &str)]) -> String {
    let project = env.path(&format!("project-{label}"));
    let bare = exported_bare(env, &project.join("repo.git"));
    git_dir_config(env, &bare, "http.receivepack", "true");
    git_dir_config(env, &bare, "core.logAllRefUpdates", "true");
    let nginx = nginx_for(
        env,
        program,
        NginxOptions {
            site: CgiSite::ProjectRoot {
                dir: project.clone(),
                export_all: false,
            },
            env: fcgi_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..NginxOptions::default()
        },
    );
    let wt = env.path(&format!("push-{label}"));
    env.git_ok(
        env.dir.path(),
        &["clone", "-q", &nginx.url("repo.git"), wt.to_str().unwrap()],
    );
    env.add_commit(&wt, "new.txt", label, "a push");
    let out = env.git(&wt, &["push", "origin", "main"]);
    assert!(
        out.status.success(),
        "[{label}] push: {}\n{}",
        stderr(&out),
        nginx.logs()
    );
    env.git_ok(
        &bare,
        &[
            "reflog",
            "show",
            "-n1",
            "--format=%gn <%ge>",
            "refs/heads/main",
        ],
    )
    .trim()
    .to_string()
}

#[test]
fn committer_set_by_the_web_server_wins() {
    let env = Env::new();
    let fixed = [
        ("GIT_COMMITTER_NAME", "Custom User"),
        ("GIT_COMMITTER_EMAIL", "custom@example.com"),
    ];
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let set = push_identity(&env, &program, &format!("{label}-set"), &fixed);
        let unset = push_identity(&env, &program, &format!("{label}-unset"), &[]);
        seen.push((set, unset));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1].0, "Custom User <custom@example.com>");
    assert_eq!(seen[1].1, "anonymous <anonymous@http.127.0.0.1>");
}

// --- 3. GIT_PROTOCOL from the web server wins over the Git-Protocol header --------------------

fn speaks_v2(env: &Env, url: &str) -> bool {
    let out = env
        .git_cmd(env.dir.path())
        .args(["-c", "protocol.version=2", "ls-remote", url])
        .env("GIT_TRACE_PACKET", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "ls-remote {url}: {}", stderr(&out));
    stderr(&out).contains("< version 2")
}

#[test]
fn git_protocol_set_by_the_web_server_wins() {
    let env = Env::new();
    let project = env.path("project");
    exported_bare(&env, &project.join("repo.git"));
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let mut row = Vec::new();
        for pinned in [None, Some(""), Some("version=2")] {
            let nginx = nginx_for(
                &env,
                &program,
                NginxOptions {
                    site: CgiSite::ProjectRoot {
                        dir: project.clone(),
                        export_all: false,
                    },
                    env: pinned
                        .map(|v| vec![("GIT_PROTOCOL".to_string(), v.to_string())])
                        .unwrap_or_default(),
                    ..NginxOptions::default()
                },
            );
            row.push(speaks_v2(&env, &nginx.url("repo.git")));
            let _ = label;
        }
        seen.push(row);
    }
    assert_eq!(seen[0], seen[1]);
    // The header when the variable is absent; an empty variable pins v0.
    assert_eq!(seen[1], vec![true, false, true]);
}

// --- 4. Dumb HTTP ------------------------------------------------------------------------------

/// The headers that matter of a curl answer: status, type and the cache rule.
fn cache_headers(url: &str) -> (u16, Vec<String>) {
    let (status, text) = curl(&[url]);
    if status != 200 {
        // git http-backend's error heads repeat some cache headers; the status is what counts.
        return (status, Vec::new());
    }
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut keep: Vec<String> = head
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            let name = name.to_ascii_lowercase();
            match name.as_str() {
                "content-type" | "cache-control" | "pragma" => {
                    Some(format!("{name}: {}", value.trim()))
                }
                // Dates differ between runs; whether they are sent is what matters.
                "expires" | "last-modified" => Some(name),
                _ => None,
            }
        })
        .collect();
    keep.sort();
    (status, keep)
}

#[test]
fn dumb_http_as_git_http_backend_serves_it() {
    let env = Env::new();
    let project = env.path("project");
    let loose = exported_bare(&env, &project.join("loose.git"));
    env.git_ok(&loose, &["update-server-info"]);
    let packed = exported_bare(&env, &project.join("packed.git"));
    env.git_ok(&packed, &["repack", "-a", "-d", "-q"]);
    env.git_ok(&packed, &["update-server-info"]);
    let alt = exported_bare(&env, &project.join("alt.git"));
    std::fs::write(
        alt.join("objects/info/alternates"),
        format!("{}/objects\n", packed.display()),
    )
    .unwrap();
    // Smart fetches off: git http-backend still serves the dumb files.
    let no_smart = exported_bare(&env, &project.join("nosmart.git"));
    git_dir_config(&env, &no_smart, "http.uploadpack", "false");
    let denied = exported_bare(&env, &project.join("denied.git"));
    git_dir_config(&env, &denied, "http.getanyfile", "false");
    // A loose object (the bare copy arrived as a pack).
    let blob = env
        .git_cmd(&loose)
        .args(["hash-object", "-w", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"loose\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let blob = String::from_utf8(blob.stdout).unwrap().trim().to_string();
    let object = format!("objects/{}/{}", &blob[..2], &blob[2..]);
    assert!(loose.join(&object).is_file());
    let pack = std::fs::read_dir(packed.join("objects/pack"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.ends_with(".pack"))
        .unwrap();
    let idx = pack.replace(".pack", ".idx");
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let nginx = nginx_for(
            &env,
            &program,
            NginxOptions {
                site: CgiSite::ProjectRoot {
                    dir: project.clone(),
                    export_all: false,
                },
                ..NginxOptions::default()
            },
        );
        let dumb = [("GIT_SMART_HTTP", "0")];
        let mut row = Vec::new();
        for repo in ["loose", "packed"] {
            let got = clone_refs(
                &env,
                &nginx.url(&format!("{repo}.git")),
                &format!("{label}-{repo}"),
                &dumb,
            );
            assert!(
                got.is_ok(),
                "[{label}] dumb clone of {repo}: {got:?}\n{}",
                nginx.logs()
            );
            row.push(format!("{got:?}"));
        }
        let refused = clone_refs(
            &env,
            &nginx.url("denied.git"),
            &format!("{label}-denied"),
            &dumb,
        );
        let refused = refused.expect_err("getanyfile=false still served");
        assert!(refused.contains("403"), "[{label}] {refused}");
        for path in [
            "loose.git/info/refs".to_string(),
            "loose.git/HEAD".to_string(),
            "loose.git/objects/info/packs".to_string(),
            format!("loose.git/{object}"),
            format!("packed.git/objects/pack/{pack}"),
            format!("packed.git/objects/pack/{idx}"),
            "alt.git/objects/info/alternates".to_string(),
            "alt.git/objects/info/http-alternates".to_string(),
            "denied.git/HEAD".to_string(),
            "nosmart.git/HEAD".to_string(),
            "nosmart.git/info/refs".to_string(),
            "nosmart.git/info/refs?service=git-upload-pack".to_string(),
        ] {
            row.push(format!("{path} {:?}", cache_headers(&nginx.url(&path))));
        }
        for path in ["packed.git/objects/info/packs", "packed.git/info/refs"] {
            let (_, text) = curl(&[&nginx.url(path)]);
            let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
            row.push(body.to_string());
        }
        seen.push(row);
    }
    for (stock, ours) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(stock, ours);
    }
    assert!(
        seen[1].last().unwrap().contains("refs/tags/v1.0^{}"),
        "{:?}",
        seen[1]
    );
}

/// hubctl's own layout keeps dumb HTTP off unless the repository sets `http.getanyfile=true`
/// (git http-backend with `http.getanyfile=false` refuses the same way: 403).
#[test]
fn dumb_http_in_hosted_mode_needs_getanyfile() {
    let env = Env::new();
    env.hosted_fixture("alice/project", "main");
    let server = env.serve(&[]);
    let url = server.url("alice/project");
    let dumb = [("GIT_SMART_HTTP", "0")];
    let refused = clone_refs(&env, &url, "off", &dumb).expect_err("dumb HTTP served by default");
    assert!(refused.contains("403"), "{refused}");
    let bare = env.bare("alice/project");
    git_dir_config(&env, &bare, "http.getanyfile", "true");
    env.git_ok(&bare, &["update-server-info"]);
    let dumb_refs = clone_refs(&env, &url, "on", &dumb).unwrap();
    let smart_refs = clone_refs(&env, &url, "smart", &[]).unwrap();
    assert_eq!(dumb_refs, smart_refs);
}

// --- 5. CONTENT_LENGTH edge cases ---------------------------------------------------------------

#[test]
fn content_length_edge_cases() {
    let env = Env::new();
    let project = env.path("project");
    exported_bare(&env, &project.join("repo.git"));
    let root = project.to_str().unwrap();
    let ls_refs = b"0014command=ls-refs\n00010009peel\n0000";
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let base = [("GIT_PROJECT_ROOT", root), ("GIT_HTTP_EXPORT_ALL", "1")];
        let get = |len: &str| {
            let mut vars = base.to_vec();
            vars.extend([
                ("REQUEST_METHOD", "GET"),
                ("PATH_INFO", "/repo.git/info/refs"),
                ("QUERY_STRING", "service=git-upload-pack"),
                ("CONTENT_LENGTH", len),
            ]);
            run_cgi(&env, &program, &vars, b"")
        };
        let post = |len: &str| {
            let mut vars = base.to_vec();
            vars.extend([
                ("REQUEST_METHOD", "POST"),
                ("PATH_INFO", "/repo.git/git-upload-pack"),
                ("CONTENT_TYPE", "application/x-git-upload-pack-request"),
                ("GIT_PROTOCOL", "version=2"),
                ("CONTENT_LENGTH", len),
            ]);
            run_cgi(&env, &program, &vars, ls_refs)
        };
        // Empty is "no length": the GET answers, the POST body is read to its end.
        let (status, _, body, err) = get("");
        assert_eq!(status, 200, "[{label}] {err}");
        let refs = advertised_refs(&body);
        let (status, _, empty_len, err) = post("");
        assert_eq!(status, 200, "[{label}] {err}");
        let exact = ls_refs.len().to_string();
        let (status, _, with_len, err) = post(&exact);
        assert_eq!(status, 200, "[{label}] {err}");
        assert_eq!(empty_len, with_len, "[{label}]");
        // A value that is no signed size: a clear fatal line, an error status, no crash.
        let (status, _, body, err) = post("99999999999999999999");
        assert!(
            err.contains("fatal: failed to parse CONTENT_LENGTH: 99999999999999999999"),
            "[{label}] {err}"
        );
        // The request fails: git http-backend has sent its 200 head already and appends a
        // `Status: 500` block to the body (no client can use it); hubctl answers 400 first.
        let failed = status >= 400 || String::from_utf8_lossy(&body).contains("Status: 500");
        assert!(failed, "[{label}] {status}");
        assert!(!err.contains("panicked"), "[{label}] {err}");
        seen.push((refs, String::from_utf8_lossy(&with_len).into_owned()));
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[1].1.contains("refs/heads/main"), "{}", seen[1].1);
}

/// A push larger than git's post buffer goes chunked; behind nginx with request buffering off
/// the CGI then gets an empty `CONTENT_LENGTH` and reads the body to its end.
#[test]
fn chunked_push_with_empty_content_length() {
    let env = Env::new();
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let project = env.path(&format!("project-{label}"));
        let bare = exported_bare(&env, &project.join("repo.git"));
        git_dir_config(&env, &bare, "http.receivepack", "true");
        let nginx = nginx_for(
            &env,
            &program,
            NginxOptions {
                site: CgiSite::ProjectRoot {
                    dir: project.clone(),
                    export_all: false,
                },
                ..NginxOptions::default()
            },
        );
        let wt = env.path(&format!("wt-{label}"));
        env.git_ok(
            env.dir.path(),
            &["clone", "-q", &nginx.url("repo.git"), wt.to_str().unwrap()],
        );
        // 256 KiB that does not compress, well over git's smallest post buffer (64 KiB).
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let noise: Vec<u8> = (0..256 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(wt.join("noise.bin"), noise).unwrap();
        env.git_ok(&wt, &["add", "noise.bin"]);
        env.git_ok(&wt, &["commit", "-q", "-m", "noise"]);
        let out = env
            .git_cmd(&wt)
            .args(["-c", "http.postBuffer=65536", "push", "origin", "main"])
            .env("GIT_TRACE_CURL", "1")
            .env("GIT_TRACE_CURL_NO_DATA", "1")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "[{label}] {err}\n{}", nginx.logs());
        assert!(
            err.contains("Transfer-Encoding: chunked"),
            "[{label}] not chunked"
        );
        let pushed = env.git_ok(&bare, &["rev-parse", "main"]);
        let local = env.git_ok(&wt, &["rev-parse", "main"]);
        seen.push((out.status.success(), pushed == local));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1], (true, true));
}

// --- 6. Protocol settings are defaults ----------------------------------------------------------

/// `git <args>` set up with the remote programs of one side: stock git's or hubctl's.
fn side_cmd(env: &Env, cwd: &Path, hubctl: bool, args: &[&str]) -> Command {
    let mut cmd = env.git_cmd(cwd);
    if hubctl {
        let upload_pack = format!("'{}' upload-pack", hubctl_bin().display());
        cmd.args([
            "-c",
            &format!("remote.origin.uploadpack={upload_pack}"),
            "-c",
            &format!(
                "remote.origin.receivepack='{}' receive-pack",
                hubctl_bin().display()
            ),
        ]);
        // clone sets its transport's upload-pack from its own option, never from
        // remote.origin.uploadpack.
        if args.first() == Some(&"clone") {
            cmd.arg("clone").arg(format!("--upload-pack={upload_pack}"));
            cmd.args(&args[1..]);
            return cmd;
        }
    }
    cmd.args(args);
    cmd
}

/// `git <args>` with the remote programs of one side: stock git's or hubctl's.
fn with_side(env: &Env, cwd: &Path, hubctl: bool, args: &[&str]) -> Output {
    side_cmd(env, cwd, hubctl, args).output().unwrap()
}

fn side_label(hubctl: bool) -> &'static str {
    if hubctl { "hubctl" } else { "stock" }
}

#[test]
fn repository_and_global_config_beat_hubctl_defaults() {
    let env = Env::new();
    let mut seen = Vec::new();
    for hubctl in [false, true] {
        let label = side_label(hubctl);
        let bare = exported_bare(&env, &env.path(&format!("{label}/repo.git")));
        for (k, v) in [
            ("uploadpack.allowFilter", "false"),
            ("receive.advertiseAtomic", "false"),
            ("uploadpack.allowTipSHA1InWant", "true"),
        ] {
            git_dir_config(&env, &bare, k, v);
        }
        let url = format!("file://{}", bare.display());
        let wt = env.path(&format!("{label}-wt"));
        let out = with_side(
            &env,
            env.dir.path(),
            hubctl,
            &["clone", "--filter=blob:none", &url, wt.to_str().unwrap()],
        );
        assert!(out.status.success(), "[{label}] {}", stderr(&out));
        let filter_warning = stderr(&out).contains("filtering not recognized by server");
        // A commit by id that no ref points at, over protocol v0 (which checks wants against
        // the uploadpack.allow*SHA1InWant rules), from a shallow clone that lacks it.
        let non_tip = env.git_ok(&wt, &["rev-parse", "main~2"]).trim().to_string();
        let shallow = env.path(&format!("{label}-shallow"));
        let out = with_side(
            &env,
            env.dir.path(),
            hubctl,
            &[
                "clone",
                "-q",
                "--depth",
                "1",
                &url,
                shallow.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "[{label}] {}", stderr(&out));
        let out = with_side(
            &env,
            &shallow,
            hubctl,
            &[
                "-c",
                "protocol.version=0",
                "fetch",
                "-q",
                "origin",
                &non_tip,
            ],
        );
        let fetch_ok = out.status.success();
        let fetch_err = stderr(&out).contains("not our ref");
        // No atomic pushes where the repository does not advertise them.
        env.add_commit(&wt, "x.txt", "x", "x");
        let out = with_side(
            &env,
            &wt,
            hubctl,
            &["push", "--atomic", "origin", "HEAD:refs/heads/atomic"],
        );
        let atomic = (
            out.status.success(),
            stderr(&out).contains("the receiving end does not support --atomic push"),
        );
        seen.push((filter_warning, fetch_ok, fetch_err, atomic));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1], (true, false, true, (false, true)));
}

/// A legacy import with `receive.fsckObjects=false` in the global config can be pushed.
#[test]
fn global_fsck_setting_beats_the_default() {
    let env = Env::new();
    let mut config = std::fs::read_to_string(env.home.join(".gitconfig")).unwrap();
    config.push_str("[receive]\n\tfsckObjects = false\n");
    std::fs::write(env.home.join(".gitconfig"), config).unwrap();
    let mut seen = Vec::new();
    for hubctl in [false, true] {
        let label = side_label(hubctl);
        let bare = exported_bare(&env, &env.path(&format!("{label}/repo.git")));
        let url = format!("file://{}", bare.display());
        let wt = env.path(&format!("{label}-wt"));
        env.git_ok(env.dir.path(), &["clone", "-q", &url, wt.to_str().unwrap()]);
        let parent = env.git_ok(&wt, &["rev-parse", "HEAD"]).trim().to_string();
        let tree = env
            .git_ok(&wt, &["rev-parse", "HEAD^{tree}"])
            .trim()
            .to_string();
        let file = env.path(&format!("{label}-bad-commit"));
        std::fs::write(
            &file,
            format!("tree {tree}\nparent {parent}\nauthor Bad <bad-email 1700000000 +0000\ncommitter C <c@example.com> 1700000000 +0000\n\nlegacy\n"),
        )
        .unwrap();
        let bad = env.git_ok(
            &wt,
            &[
                "hash-object",
                "-t",
                "commit",
                "-w",
                "--literally",
                file.to_str().unwrap(),
            ],
        );
        env.git_ok(&wt, &["update-ref", "refs/heads/main", bad.trim()]);
        let out = with_side(&env, &wt, hubctl, &["push", "origin", "main"]);
        seen.push((out.status.success(), stderr(&out).contains("fsck")));
        let _ = env.git_ok(&bare, &["rev-parse", "main"]);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1], (true, false));
}

/// `receive.advertisePushOptions=false` in the repository refuses `git push -o` on both sides;
/// with the key unset, hubctl's documented default accepts push options where stock git (whose
/// own default is off) refuses them.
#[test]
fn repository_push_options_setting_beats_the_default() {
    let env = Env::new();
    let mut seen = Vec::new();
    for hubctl in [false, true] {
        let label = side_label(hubctl);
        let mut row = Vec::new();
        for setting in [Some("false"), None] {
            let name = format!("{label}-{}", setting.unwrap_or("unset"));
            let bare = exported_bare(&env, &env.path(&format!("{name}/repo.git")));
            if let Some(v) = setting {
                git_dir_config(&env, &bare, "receive.advertisePushOptions", v);
            }
            let url = format!("file://{}", bare.display());
            let wt = env.path(&format!("{name}-wt"));
            env.git_ok(env.dir.path(), &["clone", "-q", &url, wt.to_str().unwrap()]);
            env.add_commit(&wt, "opt.txt", &name, "with a push option");
            let out = with_side(&env, &wt, hubctl, &["push", "-o", "x", "origin", "main"]);
            let pushed = env.git_ok(&bare, &["rev-parse", "main"])
                == env.git_ok(&wt, &["rev-parse", "HEAD"]);
            row.push((
                out.status.success(),
                stderr(&out).contains("the receiving end does not support push options"),
                pushed,
            ));
        }
        seen.push(row);
    }
    // Set in the repository: the same refusal on both sides.
    assert_eq!(seen[0][0], seen[1][0]);
    assert_eq!(seen[1][0], (false, true, false));
    // Unset: stock git's default refuses, hubctl's default accepts.
    assert_eq!(seen[0][1], (false, true, false));
    assert_eq!(seen[1][1], (true, false, true));
}

/// A v0 fetch of `id` into `wt` (v0 checks wants against the uploadpack.allow*SHA1InWant rules;
/// v2 serves any object it has): (success, the refusal: the client's own where the server
/// advertises no id rule, or the server's "not our ref").
fn fetch_by_id(env: &Env, wt: &Path, hubctl: bool, id: &str) -> (bool, &'static str) {
    let out = with_side(
        env,
        wt,
        hubctl,
        &["-c", "protocol.version=0", "fetch", "-q", "origin", id],
    );
    let err = stderr(&out);
    let refusal = if err.contains("Server does not allow request for unadvertised object") {
        "client"
    } else if err.contains("not our ref") {
        "server"
    } else {
        ""
    };
    (out.status.success(), refusal)
}

/// `uploadpack.allowAnySHA1InWant=true` in the repository serves a dangling commit by id on
/// both sides; `uploadpack.allowTipSHA1InWant=true` alone keeps a reachable non-tip commit
/// out on both sides (hubctl's allowReachableSHA1InWant default does not add to it).
#[test]
fn repository_sha1_in_want_settings_beat_the_default() {
    let env = Env::new();
    let mut seen = Vec::new();
    for hubctl in [false, true] {
        let label = side_label(hubctl);
        let mut row = Vec::new();
        for (key, target) in [
            (None, "dangling"),
            (Some("uploadpack.allowAnySHA1InWant"), "dangling"),
            (Some("uploadpack.allowTipSHA1InWant"), "non-tip"),
        ] {
            let name = format!("{label}-{}", row.len());
            let bare = exported_bare(&env, &env.path(&format!("{name}/repo.git")));
            if let Some(k) = key {
                git_dir_config(&env, &bare, k, "true");
            }
            let url = format!("file://{}", bare.display());
            let wt = env.path(&format!("{name}-wt"));
            env.git_ok(env.dir.path(), &["clone", "-q", &url, wt.to_str().unwrap()]);
            let id = if target == "dangling" {
                // A commit in the served repository that no ref reaches.
                let tree = env.git_ok(&bare, &["rev-parse", "main^{tree}"]);
                env.git_ok(&bare, &["commit-tree", "-m", "dangling", tree.trim()])
            } else {
                env.git_ok(&bare, &["rev-parse", "main~2"])
            };
            let id = id.trim();
            let had = env.git(&wt, &["cat-file", "-e", id]).status.success();
            // The clone has the non-tip commit already: fetch it into a shallow one instead.
            let wt = if had {
                let shallow = env.path(&format!("{name}-shallow"));
                env.git_ok(
                    env.dir.path(),
                    &[
                        "clone",
                        "-q",
                        "--depth",
                        "1",
                        &url,
                        shallow.to_str().unwrap(),
                    ],
                );
                shallow
            } else {
                wt
            };
            let (ok, refusal) = fetch_by_id(&env, &wt, hubctl, id);
            let got = env.git(&wt, &["cat-file", "-e", id]).status.success();
            row.push((ok, refusal, got));
        }
        seen.push(row);
    }
    // Set in the repository: the same result on both sides.
    assert_eq!(seen[0][1..], seen[1][1..]);
    assert_eq!(seen[1][1..], [(true, "", true), (false, "server", false)]);
    // Unset: both refuse the dangling commit, stock git in the client (it advertises no id
    // rule), hubctl in the server (its allowReachableSHA1InWant default, which does not reach
    // a dangling commit).
    assert_eq!(seen[0][0], (false, "client", false));
    assert_eq!(seen[1][0], (false, "server", false));
}

/// `uploadpack.allowFilter=false` in the system config (`GIT_CONFIG_SYSTEM`, which git, and so
/// the remote program it starts, reads once `GIT_CONFIG_NOSYSTEM` is off) beats hubctl's
/// default: a `--filter=blob:none` clone warns and fetches every blob on both sides. Without
/// the file hubctl's default filters, where stock git (whose default is off) still warns.
#[test]
fn system_filter_setting_beats_the_default() {
    let env = Env::new();
    let system = env.path("system-gitconfig");
    std::fs::write(&system, "[uploadpack]\n\tallowFilter = false\n").unwrap();
    let mut seen = Vec::new();
    for hubctl in [false, true] {
        let label = side_label(hubctl);
        let mut row = Vec::new();
        for with_system in [true, false] {
            let name = format!("{label}-{with_system}");
            let bare = exported_bare(&env, &env.path(&format!("{name}/repo.git")));
            let url = format!("file://{}", bare.display());
            let wt = env.path(&format!("{name}-wt"));
            let mut cmd = side_cmd(
                &env,
                env.dir.path(),
                hubctl,
                &["clone", "--filter=blob:none", &url, wt.to_str().unwrap()],
            );
            if with_system {
                cmd.env_remove("GIT_CONFIG_NOSYSTEM")
                    .env("GIT_CONFIG_SYSTEM", &system);
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "[{name}] {}", stderr(&out));
            row.push(filter_outcome(&env, &wt, &out));
        }
        seen.push(row);
    }
    assert_system_filter_rows(&seen);
}

/// What a `--filter=blob:none` clone into `wt` shows: the client's warning that the server
/// does not filter, and whether blobs were left out.
fn filter_outcome(env: &Env, wt: &Path, out: &Output) -> (bool, bool) {
    let missing = env
        .git_ok(wt, &["rev-list", "--objects", "--all", "--missing=print"])
        .lines()
        .filter(|l| l.starts_with('?'))
        .count();
    (
        stderr(out).contains("filtering not recognized by server"),
        missing > 0,
    )
}

/// Stock git (row 0) and hubctl (row 1), each with the system file (column 0) and without:
/// the system setting wins on both; without it only hubctl's default filters.
fn assert_system_filter_rows(seen: &[Vec<(bool, bool)>]) {
    assert_eq!(seen[0][0], seen[1][0]);
    assert_eq!(seen[1][0], (true, false));
    assert_eq!(seen[0][1], (true, false));
    assert_eq!(seen[1][1], (false, true));
}

/// The same over HTTP: nginx + fcgiwrap hand the web server's `GIT_CONFIG_SYSTEM` to stock
/// git http-backend and to hubctl alike.
#[test]
fn system_filter_setting_beats_the_default_over_http() {
    let env = Env::new();
    let system = env.path("system-gitconfig");
    std::fs::write(&system, "[uploadpack]\n\tallowFilter = false\n").unwrap();
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let mut row = Vec::new();
        for with_system in [true, false] {
            let name = format!("{label}-{with_system}");
            let project = env.path(&format!("project-{name}"));
            exported_bare(&env, &project.join("repo.git"));
            let vars = if with_system {
                vec![
                    ("GIT_CONFIG_NOSYSTEM".to_string(), "0".to_string()),
                    (
                        "GIT_CONFIG_SYSTEM".to_string(),
                        system.to_str().unwrap().to_string(),
                    ),
                ]
            } else {
                Vec::new()
            };
            let nginx = nginx_for(
                &env,
                &program,
                NginxOptions {
                    site: CgiSite::ProjectRoot {
                        dir: project.clone(),
                        export_all: false,
                    },
                    env: vars,
                    ..NginxOptions::default()
                },
            );
            let wt = env.path(&format!("{name}-wt"));
            let out = env.git(
                env.dir.path(),
                &[
                    "clone",
                    "--filter=blob:none",
                    &nginx.url("repo.git"),
                    wt.to_str().unwrap(),
                ],
            );
            assert!(
                out.status.success(),
                "[{name}] {}\n{}",
                stderr(&out),
                nginx.logs()
            );
            row.push(filter_outcome(&env, &wt, &out));
        }
        seen.push(row);
    }
    assert_system_filter_rows(&seen);
}

/// The repository settings of push options and of wants by id, over HTTP through nginx +
/// fcgiwrap: the same results as over stdio on both sides.
#[test]
fn repository_push_option_and_want_settings_over_http() {
    let env = Env::new();
    let mut seen = Vec::new();
    for (label, program) in backends() {
        let project = env.path(&format!("project-{label}"));
        let mut bares = Vec::new();
        for (repo, key) in [
            ("opts", "receive.advertisePushOptions=false"),
            ("any", "uploadpack.allowAnySHA1InWant=true"),
            ("tip", "uploadpack.allowTipSHA1InWant=true"),
        ] {
            let bare = exported_bare(&env, &project.join(format!("{repo}.git")));
            let (k, v) = key.split_once('=').unwrap();
            git_dir_config(&env, &bare, k, v);
            git_dir_config(&env, &bare, "http.receivepack", "true");
            bares.push(bare);
        }
        let nginx = nginx_for(
            &env,
            &program,
            NginxOptions {
                site: CgiSite::ProjectRoot {
                    dir: project.clone(),
                    export_all: false,
                },
                ..NginxOptions::default()
            },
        );
        // Push options refused where the repository does not advertise them.
        let wt = env.path(&format!("{label}-opts"));
        env.git_ok(
            env.dir.path(),
            &["clone", "-q", &nginx.url("opts.git"), wt.to_str().unwrap()],
        );
        env.add_commit(&wt, "opt.txt", label, "with a push option");
        let out = env.git(&wt, &["push", "-o", "x", "origin", "main"]);
        let opts = (
            out.status.success(),
            stderr(&out).contains("the receiving end does not support push options"),
        );
        // A dangling commit by id where any id is allowed; a non-tip where only tips are.
        let mut wants = Vec::new();
        for (repo, bare) in [("any", &bares[1]), ("tip", &bares[2])] {
            let id = if repo == "any" {
                let tree = env.git_ok(bare, &["rev-parse", "main^{tree}"]);
                env.git_ok(bare, &["commit-tree", "-m", "dangling", tree.trim()])
            } else {
                env.git_ok(bare, &["rev-parse", "main~2"])
            };
            let id = id.trim();
            let shallow = env.path(&format!("{label}-{repo}-shallow"));
            env.git_ok(
                env.dir.path(),
                &[
                    "clone",
                    "-q",
                    "--depth",
                    "1",
                    &nginx.url(&format!("{repo}.git")),
                    shallow.to_str().unwrap(),
                ],
            );
            let out = env.git(
                &shallow,
                &["-c", "protocol.version=0", "fetch", "-q", "origin", id],
            );
            let got = env.git(&shallow, &["cat-file", "-e", id]).status.success();
            wants.push((
                out.status.success(),
                stderr(&out).contains("not our ref"),
                got,
            ));
        }
        seen.push((opts, wants));
    }
    assert_eq!(seen[0], seen[1]);
    // Over HTTP git upload-pack runs --stateless-rpc, where a want reachable from a tip is
    // always served (the refs may have moved since the advertisement): allowTipSHA1InWant
    // alone lets the non-tip through on both sides, unlike over stdio.
    assert_eq!(
        seen[1],
        (
            (false, true),
            vec![(true, false, true), (true, false, true)]
        )
    );
}

// --- 7. Repository path forms and git's own options ---------------------------------------------

#[test]
fn repository_path_forms_as_enter_repo() {
    let env = Env::new();
    let base = env.path("forms");
    exported_bare(&env, &base.join("bare.git"));
    // A non-bare work tree, and a gitfile pointing at a separate git directory.
    let wt = env.path("fixture");
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            wt.to_str().unwrap(),
            base.join("worktree").to_str().unwrap(),
        ],
    );
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            "--separate-git-dir",
            base.join("separate.git").to_str().unwrap(),
            wt.to_str().unwrap(),
            base.join("linked").to_str().unwrap(),
        ],
    );
    // A linked work tree: its .git file points at a git directory with a `commondir`.
    env.git_ok(
        &base.join("worktree"),
        &["worktree", "add", "-q", "-b", "side", "../wtlinked"],
    );
    let forms = [
        ("bare.git", ""),
        ("bare", ""),
        ("bare.git/", ""),
        ("worktree", ""),
        ("worktree/.git", ""),
        ("linked", ""),
        ("linked/.git", ""),
        ("wtlinked", ""),
        ("bare.git", " --strict"),
        ("bare", " --strict"),
        ("worktree", " --strict"),
        ("bare.git", " --timeout=30"),
        ("missing", ""),
    ];
    let mut seen = Vec::new();
    for hubctl in [false, true] {
        let mut row = Vec::new();
        for (form, opts) in forms {
            let program = if hubctl {
                format!("'{}' upload-pack{opts}", hubctl_bin().display())
            } else {
                format!("git-upload-pack{opts}")
            };
            let out = env
                .git_cmd(env.dir.path())
                .args(["ls-remote", "--upload-pack", &program])
                .arg(format!("file://{}/{form}", base.display()))
                .output()
                .unwrap();
            let refs: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect();
            row.push((form, opts, out.status.success(), refs));
        }
        seen.push(row);
    }
    for (stock, ours) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(stock, ours);
    }
    let ok: Vec<bool> = seen[1].iter().map(|r| r.2).collect();
    assert_eq!(
        ok,
        [
            true, true, true, true, true, true, true, true, true, false, false, true, false
        ]
    );
}

/// Pushing into a non-bare work tree: git's own rule (`receive.denyCurrentBranch`) answers,
/// and `--advertise-refs` / `--http-backend-info-refs` / `--stateless-rpc` are git's.
#[test]
fn work_tree_push_and_service_options() {
    let env = Env::new();
    let base = env.path("forms");
    exported_bare(&env, &base.join("bare.git"));
    let mut seen = Vec::new();
    for hubctl in [false, true] {
        let label = side_label(hubctl);
        let target = env.path(&format!("{label}-target"));
        env.git_ok(
            env.dir.path(),
            &[
                "clone",
                "-q",
                env.path("fixture").to_str().unwrap(),
                target.to_str().unwrap(),
            ],
        );
        let wt = env.path(&format!("{label}-wt"));
        env.git_ok(
            env.dir.path(),
            &[
                "clone",
                "-q",
                &format!("file://{}", target.display()),
                wt.to_str().unwrap(),
            ],
        );
        env.add_commit(&wt, "y.txt", "y", "y");
        let out = with_side(&env, &wt, hubctl, &["push", "origin", "main"]);
        let refused = stderr(&out).contains("refusing to update checked out branch");
        let out = with_side(
            &env,
            &wt,
            hubctl,
            &["push", "-q", "origin", "HEAD:refs/heads/other"],
        );
        let other = out.status.success();
        let mut adverts = Vec::new();
        for (service, opt) in [
            ("upload-pack", "--advertise-refs"),
            ("upload-pack", "--http-backend-info-refs"),
            ("receive-pack", "--advertise-refs"),
        ] {
            let mut cmd = if hubctl {
                Command::new(hubctl_bin())
            } else {
                let mut c = Command::new("git");
                c.arg(service);
                c
            };
            if hubctl {
                cmd.arg(service);
            }
            env.clean_env(&mut cmd);
            let out = cmd
                .args([opt, "--stateless-rpc"])
                .arg(base.join("bare.git"))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            adverts.push((out.status.success(), advertised_refs(&out.stdout)));
        }
        seen.push((refused, other, adverts));
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[1].0 && seen[1].1);
    assert!(
        seen[1].2.iter().all(|(ok, refs)| *ok && refs.len() >= 5),
        "{:?}",
        seen[1].2
    );
}
