//! hubctl answers upload-pack's ref advertisement (v0, v1 `info/refs`) and protocol v2
//! `ls-refs` itself: a differential test against `git upload-pack`'s own bytes over a corpus of
//! repositories, and proof that a no-op `git ls-remote` / `git fetch` starts no git process.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

/// The `-c` settings hubctl gives every upload-pack run (its defaults for the advertisement).
/// hubctl's upload-pack defaults, each with the keys that decide it instead when the operator's
/// git config sets one of them (see `src/git/defaults.rs`).
const HUBCTL_DEFAULTS: [(&str, &[&str]); 2] = [
    ("uploadpack.allowFilter=true", &["uploadpack.allowFilter"]),
    (
        "uploadpack.allowReachableSHA1InWant=true",
        &[
            "uploadpack.allowReachableSHA1InWant",
            "uploadpack.allowTipSHA1InWant",
            "uploadpack.allowAnySHA1InWant",
        ],
    ),
];

/// The `-c` options git runs with under hubctl for `bare`: the defaults its config leaves unset.
fn hubctl_config(env: &Env, bare: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (setting, keys) in HUBCTL_DEFAULTS {
        let set = keys.iter().any(|k| {
            env.git_cmd(bare)
                .args(["config", "--get", k])
                .output()
                .unwrap()
                .status
                .success()
        });
        if !set {
            out.extend(["-c".to_string(), setting.to_string()]);
        }
    }
    out
}

/// `ls-refs` argument sets the corpus is asked with (what `git fetch`, `git ls-remote` and
/// `git clone` send, and more).
const LS_REFS_ARGS: &[&[&str]] = &[
    &[],
    &["peel", "symrefs", "unborn"],
    &[
        "symrefs",
        "unborn",
        "ref-prefix HEAD",
        "ref-prefix refs/heads/",
        "ref-prefix refs/tags/",
    ],
    &["peel", "ref-prefix refs/tags/"],
    &[
        "symrefs",
        "ref-prefix refs/remotes/",
        "ref-prefix refs/heads/ma",
    ],
    &[
        "peel",
        "symrefs",
        "ref-prefix refs/hidden/",
        "ref-prefix refs/other",
    ],
];

fn pkt(line: &str) -> String {
    format!("{:04x}{line}", line.len() + 4)
}

fn ls_refs_request(args: &[&str]) -> Vec<u8> {
    let mut s = pkt("command=ls-refs\n");
    s.push_str(&pkt("agent=git/2.47.3\n"));
    s.push_str(&pkt("object-format=sha1\n"));
    s.push_str("0001");
    for a in args {
        s.push_str(&pkt(&format!("{a}\n")));
    }
    s.push_str("0000");
    s.into_bytes()
}

/// What `git upload-pack` itself prints for `bare` with `GIT_PROTOCOL` and `GIT_NAMESPACE`,
/// advertising (`input` None) or answering `input`.
fn git_says(
    env: &Env,
    bare: &Path,
    protocol: Option<&str>,
    ns: Option<&str>,
    input: Option<&[u8]>,
) -> Vec<u8> {
    let mut cmd = env.git_cmd(env.dir.path());
    cmd.args(hubctl_config(env, bare))
        .args(["upload-pack", "--strict", "--stateless-rpc"]);
    if input.is_none() {
        cmd.arg("--advertise-refs");
    }
    cmd.arg(bare);
    if let Some(p) = protocol {
        cmd.env("GIT_PROTOCOL", p);
    }
    if let Some(n) = ns {
        cmd.env("GIT_NAMESPACE", n);
    }
    let out = if let Some(body) = input {
        let file = env.path("git-input");
        std::fs::write(&file, body).unwrap();
        cmd.stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap()
    } else {
        cmd.output().unwrap()
    };
    assert!(
        out.status.success(),
        "git upload-pack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// hubctl's HTTP response body (status 200 asserted).
fn hubctl_says(
    env: &Env,
    url: &str,
    token: &str,
    protocol: Option<&str>,
    body: Option<&[u8]>,
) -> Vec<u8> {
    let out_file = env.path("curl-out");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-S", "--max-time", "30", "-o"])
        .arg(&out_file)
        .args(["-w", "%{http_code}", "-u", &format!("alice:{token}")]);
    if let Some(p) = protocol {
        cmd.args(["-H", &format!("Git-Protocol: {p}")]);
    }
    match body {
        Some(b) => {
            let f = env.path("curl-in");
            std::fs::write(&f, b).unwrap();
            cmd.args([
                "-H",
                "Content-Type: application/x-git-upload-pack-request",
                "--data-binary",
            ])
            .arg(format!("@{}", f.display()))
            .arg(format!("{url}/git-upload-pack"));
        }
        None => {
            cmd.arg(format!("{url}/info/refs?service=git-upload-pack"));
        }
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "{url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&out_file).unwrap()
}

/// A `git` that logs every invocation, so the test can tell when hubctl started one.
fn logging_git(env: &Env) -> (PathBuf, PathBuf) {
    let log = env.path("git-invocations.log");
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let wrapper = env.path("bin/git");
    std::fs::create_dir_all(wrapper.parent().unwrap()).unwrap();
    write_script(
        &wrapper,
        &format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.trim()
        ),
    );
    (wrapper, log)
}

fn upload_packs_started(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("upload-pack"))
        .count()
}

/// Build the corpus: hosted repositories in every shape the advertisement has a rule for.
fn corpus(env: &Env) -> Vec<&'static str> {
    let wt = env.fixture_worktree("src");
    let head = env.git_ok(&wt, &["rev-parse", "HEAD"]).trim().to_string();
    let init = |name: &str| {
        env.hubctl_ok(&["repo", "init", &format!("alice/{name}")]);
        env.bare(&format!("alice/{name}"))
    };
    let push_all = |bare: &Path| {
        env.git_ok(&wt, &["push", "-q", bare.to_str().unwrap(), "--all"]);
        env.git_ok(&wt, &["push", "-q", bare.to_str().unwrap(), "--tags"]);
    };
    // Empty: HEAD names a branch that does not exist, no refs at all.
    init("empty");
    // Unborn HEAD beside existing branches.
    let b = init("unborn");
    push_all(&b);
    env.git_ok(&b, &["symbolic-ref", "HEAD", "refs/heads/nothing-yet"]);
    // Detached HEAD.
    let b = init("detached");
    push_all(&b);
    env.git_ok(&b, &["update-ref", "--no-deref", "HEAD", &head]);
    // Annotated, nested (a tag of a tag of a tag) and lightweight tags, a tag of a tree.
    let b = init("tags");
    push_all(&b);
    env.git_ok(&b, &["tag", "-a", "-m", "outer", "nested", "v1.0"]);
    env.git_ok(&b, &["tag", "-a", "-m", "outermost", "nested2", "nested"]);
    env.git_ok(
        &b,
        &["tag", "-a", "-m", "a tree", "tree-tag", "main^{tree}"],
    );
    env.git_ok(&b, &["pack-refs", "--all"]);
    env.git_ok(&b, &["tag", "-a", "-m", "loose", "loose-tag", "dev"]);
    // Namespaces: the served view is refs/namespaces/ns1/ (the test serves it with
    // GIT_NAMESPACE=ns1), with its own HEAD; refs outside it are invisible.
    let b = init("spaces");
    push_all(&b);
    for r in ["refs/heads/main", "refs/heads/dev", "refs/tags/v1.0"] {
        env.git_ok(&b, &["update-ref", &format!("refs/namespaces/ns1/{r}"), r]);
    }
    env.git_ok(
        &b,
        &["update-ref", "refs/namespaces/other/refs/heads/x", "main"],
    );
    env.git_ok(
        &b,
        &[
            "symbolic-ref",
            "refs/namespaces/ns1/HEAD",
            "refs/namespaces/ns1/refs/heads/dev",
        ],
    );
    // Hidden refs, with a negation, a full-name (^) pattern and a trailing slash.
    let b = init("hidden");
    push_all(&b);
    for r in [
        "refs/hidden/a",
        "refs/hidden/shown",
        "refs/other/x",
        "refs/otherwise",
    ] {
        env.git_ok(&b, &["update-ref", r, "main"]);
    }
    env.git_ok(
        &b,
        &["config", "--add", "transfer.hideRefs", "refs/hidden/"],
    );
    env.git_ok(
        &b,
        &[
            "config",
            "--add",
            "uploadpack.hideRefs",
            "!refs/hidden/shown",
        ],
    );
    env.git_ok(
        &b,
        &["config", "--add", "uploadpack.hideRefs", "^refs/other"],
    );
    env.git_ok(
        &b,
        &["config", "--add", "receive.hideRefs", "refs/heads/dev"],
    );
    env.git_ok(&b, &["config", "uploadpack.allowTipSHA1InWant", "true"]);
    env.git_ok(&b, &["config", "lsrefs.unborn", "allow"]);
    // Symbolic refs: a remote HEAD, a branch alias, a chain of two.
    let b = init("symrefs");
    push_all(&b);
    env.git_ok(&b, &["update-ref", "refs/remotes/origin/main", "main"]);
    env.git_ok(
        &b,
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
        ],
    );
    env.git_ok(&b, &["symbolic-ref", "refs/heads/alias", "refs/heads/main"]);
    env.git_ok(
        &b,
        &["symbolic-ref", "refs/heads/chain", "refs/heads/alias"],
    );
    env.git_ok(&b, &["symbolic-ref", "HEAD", "refs/heads/chain"]);
    // 10,000 refs, packed, some loose ones overriding packed values.
    let b = init("many");
    push_all(&b);
    let dev = env.git_ok(&wt, &["rev-parse", "dev"]).trim().to_string();
    let mut stdin = String::new();
    for i in 0..10_000 {
        stdin.push_str(&format!("create refs/heads/bulk/{i:05} {head}\n"));
    }
    let mut update = env.git_cmd(&b);
    update
        .args(["update-ref", "--stdin"])
        .stdin(std::process::Stdio::piped());
    let mut child = update.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    env.git_ok(&b, &["pack-refs", "--all"]);
    env.git_ok(&b, &["update-ref", "refs/heads/bulk/00042", &dev]);
    vec![
        "empty", "unborn", "detached", "tags", "spaces", "hidden", "symrefs", "many",
    ]
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\0', "\\0")
}

/// For every repository of the corpus and every protocol version, hubctl's bytes are git's.
#[test]
fn ref_advertisement_is_byte_for_byte_gits() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    let names = corpus(&env);
    let (git, log) = logging_git(&env);
    let git = git.to_str().unwrap().to_string();
    for ns in [None, Some("ns1")] {
        let mut vars = vec![("HUBCTL_GIT", git.as_str())];
        if let Some(n) = ns {
            vars.push(("GIT_NAMESPACE", n));
        }
        let server = Server::start_full(&env, "127.0.0.1:0", &[], &vars);
        let before = upload_packs_started(&log);
        for name in &names {
            if ns.is_some() && *name != "spaces" {
                continue;
            }
            let bare = env.bare(&format!("alice/{name}"));
            let url = server.url(&format!("alice/{name}"));
            for protocol in [None, Some("version=1")] {
                let mut expected = b"001e# service=git-upload-pack\n0000".to_vec();
                expected.extend(git_says(&env, &bare, protocol, ns, None));
                let got = hubctl_says(&env, &url, &token, protocol, None);
                assert_eq!(
                    show(&got),
                    show(&expected),
                    "{name} (namespace {ns:?}) info/refs with {protocol:?}"
                );
            }
            for args in LS_REFS_ARGS {
                let request = ls_refs_request(args);
                let expected = git_says(&env, &bare, Some("version=2"), ns, Some(&request));
                let got = hubctl_says(&env, &url, &token, Some("version=2"), Some(&request));
                assert_eq!(
                    show(&got),
                    show(&expected),
                    "{name} (namespace {ns:?}) ls-refs {args:?}"
                );
            }
        }
        assert_eq!(
            upload_packs_started(&log),
            before,
            "hubctl started git upload-pack for an advertisement it should answer itself"
        );
    }
}

/// The real client's no-op `git ls-remote` and `git fetch` start no git process on the server,
/// and a request hubctl does not model (a config key it does not know) still gets git's answer.
#[test]
fn noop_fetch_starts_no_git_and_unknown_config_falls_back() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hosted_fixture("alice/repo", "main");
    let (git, log) = logging_git(&env);
    let server = Server::start_full(
        &env,
        "127.0.0.1:0",
        &[],
        &[("HUBCTL_GIT", git.to_str().unwrap())],
    );
    let url = server
        .url("alice/repo")
        .replacen("http://", &format!("http://alice:{token}@"), 1);
    let clone = env.path("clone");
    env.git_ok(
        env.dir.path(),
        &["clone", "-q", &url, clone.to_str().unwrap()],
    );
    // The v2 capability advertisement is cached after its first use; from here on a no-op
    // fetch is answered without git.
    let before = upload_packs_started(&log);
    for protocol in ["version=2", "version=0"] {
        let ls = env.git_ok(
            env.dir.path(),
            &[
                "-c",
                &format!("protocol.version={}", &protocol[8..]),
                "ls-remote",
                &url,
            ],
        );
        assert!(
            ls.contains("refs/heads/main") && ls.contains("refs/tags/v1.0^{}"),
            "{ls}"
        );
        let out = env.git(
            &clone,
            &[
                "-c",
                &format!("protocol.version={}", &protocol[8..]),
                "fetch",
                "origin",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        upload_packs_started(&log),
        before,
        "a no-op fetch started git"
    );
    // A key hubctl does not model in a section that shapes the advertisement: git answers.
    let bare = env.bare("alice/repo");
    env.git_ok(&bare, &["config", "uploadpack.someFutureKey", "true"]);
    let ls = env.git_ok(
        env.dir.path(),
        &["-c", "protocol.version=0", "ls-remote", &url],
    );
    assert!(ls.contains("refs/heads/main"), "{ls}");
    assert_eq!(
        upload_packs_started(&log),
        before + 1,
        "the unknown key did not hand over to git"
    );
    let mut expected = b"001e# service=git-upload-pack\n0000".to_vec();
    expected.extend(git_says(&env, &bare, None, None, None));
    let server_url = server.url("alice/repo");
    assert_eq!(
        show(&hubctl_says(&env, &server_url, &token, None, None)),
        show(&expected)
    );
}

/// The v2 capability advertisement depends on git's configuration, not on the repository's
/// path: a new repository whose config reads like another's gets its first `info/refs`
/// answered without git, byte for byte git's answer, and a repository whose config changes
/// the answer gets its own from git.
#[test]
fn v2_capabilities_are_shared_by_repositories_with_the_same_config() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hosted_fixture("alice/one", "main");
    let (git, log) = logging_git(&env);
    let server = Server::start_full(
        &env,
        "127.0.0.1:0",
        &[],
        &[("HUBCTL_GIT", git.to_str().unwrap())],
    );
    let first = hubctl_says(
        &env,
        &server.url("alice/one"),
        &token,
        Some("version=2"),
        None,
    );
    assert!(first.starts_with(b"000eversion 2\n"), "{}", show(&first));

    let before = upload_packs_started(&log);
    env.hubctl_ok(&["repo", "init", "alice/two"]);
    let second = hubctl_says(
        &env,
        &server.url("alice/two"),
        &token,
        Some("version=2"),
        None,
    );
    assert_eq!(
        upload_packs_started(&log),
        before,
        "a new repository with the same config started git for its capabilities"
    );
    let bare = env.bare("alice/two");
    assert_eq!(
        show(&second),
        show(&git_says(&env, &bare, Some("version=2"), None, None))
    );

    // A setting that changes the answer: its own entry, from git.
    env.hubctl_ok(&["repo", "init", "alice/three"]);
    let bare = env.bare("alice/three");
    env.git_ok(&bare, &["config", "transfer.advertiseSID", "true"]);
    let ask_third = || {
        hubctl_says(
            &env,
            &server.url("alice/three"),
            &token,
            Some("version=2"),
            None,
        )
    };
    let third = ask_third();
    assert_eq!(
        upload_packs_started(&log),
        before + 1,
        "a config that changes the capabilities did not ask git"
    );
    assert!(
        String::from_utf8_lossy(&third).contains("session-id="),
        "{}",
        show(&third)
    );
    // A session id names one git process: every request gets its own from git.
    let again = ask_third();
    assert_eq!(
        upload_packs_started(&log),
        before + 2,
        "a session id was cached"
    );
    assert_ne!(third, again, "two requests got the same session id");
}
