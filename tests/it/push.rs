//! Pushes with the real git client over `hubctl serve`, nginx + fcgiwrap + `hubctl cgi` (nginx
//! Basic auth supplying REMOTE_USER), stdio and sshd + `hubctl shell` (a registered key with a
//! write grant): git's safety (quarantine, atomic, ref locking), hooks with git's contract, and
//! hubctl's large-file policy.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::fetch::no_engine_left;
use crate::harness::*;

const REPO: &str = "team/app";

macro_rules! push_matrix {
    ($scenario:ident) => {
        mod $scenario {
            use $crate::harness::Transport;
            #[test]
            fn serve() {
                super::$scenario(Transport::Serve)
            }
            #[test]
            fn cgi_root() {
                super::$scenario(Transport::CgiRoot)
            }
            #[test]
            fn cgi_project_root() {
                super::$scenario(Transport::CgiProjectRoot)
            }
            #[test]
            fn stdio() {
                super::$scenario(Transport::Stdio)
            }
            #[test]
            fn ssh() {
                super::$scenario(Transport::Ssh)
            }
        }
    };
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rev(env: &Env, dir: &Path, what: &str) -> String {
    env.git_ok(dir, &["rev-parse", what]).trim().to_string()
}

/// A site with an empty, push-enabled repository and a worktree pointing at it.
fn setup(t: Transport) -> (Site, std::path::PathBuf) {
    let site = Site::start_push(t);
    site.create_empty(REPO, "main");
    site.allow_push(REPO);
    let wt = site.worktree_for(REPO, "work");
    (site, wt)
}

/// The counts of loose objects and packs in a bare repository (quarantine leaves none).
fn object_files(bare: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(bare.join("objects")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() == 2 || name == "pack" {
            n += std::fs::read_dir(e.path()).unwrap().count();
        }
    }
    n
}

/// Push into an empty repository, clone back, branches, fast-forward, forced and refused
/// non-fast-forward, deletion, tags.
fn push_basics(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    env.add_commit(&wt, "a.txt", "a\n", "first");
    env.add_commit(&wt, "b.txt", "b\n", "second");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    assert_eq!(rev(env, &bare, "main"), rev(env, &wt, "main"));
    let clone = site.clone_ok(REPO, "clone", &[]);
    site.git_ok(&clone, &["fsck", "--strict", "--no-progress"]);
    env.git_ok(&bare, &["fsck", "--strict", "--no-progress"]);

    // New branch, then fast-forward it.
    site.git_ok(&wt, &["checkout", "-q", "-b", "topic"]);
    env.add_commit(&wt, "t.txt", "t\n", "topic 1");
    site.git_ok(&wt, &["push", "-q", "origin", "topic"]);
    env.add_commit(&wt, "t.txt", "t2\n", "topic 2");
    site.git_ok(&wt, &["push", "-q", "origin", "topic"]);
    assert_eq!(rev(env, &bare, "topic"), rev(env, &wt, "topic"));

    // Rewrite history: refused without force, accepted with it.
    site.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    env.add_commit(&wt, "t.txt", "rewritten\n", "topic rewritten");
    let out = site.git(&wt, &["push", "origin", "topic"]);
    assert!(!out.status.success(), "non-fast-forward accepted");
    assert!(stderr(&out).contains("rejected"), "{}", stderr(&out));
    site.git_ok(&wt, &["push", "-q", "--force", "origin", "topic"]);
    assert_eq!(rev(env, &bare, "topic"), rev(env, &wt, "topic"));

    // The repository's own receive.denyNonFastForwards is honoured, even with --force.
    env.git_ok(&bare, &["config", "receive.denyNonFastForwards", "true"]);
    site.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    env.add_commit(&wt, "t.txt", "again\n", "topic again");
    let before = rev(env, &bare, "topic");
    let out = site.git(&wt, &["push", "--force", "origin", "topic"]);
    assert!(!out.status.success(), "denyNonFastForwards ignored");
    assert!(
        stderr(&out).contains("non-fast-forward"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rev(env, &bare, "topic"), before);

    // Tags, annotated and lightweight.
    site.git_ok(&wt, &["checkout", "-q", "main"]);
    env.git_ok(&wt, &["tag", "-a", "v1", "-m", "v1"]);
    env.git_ok(&wt, &["tag", "lw"]);
    site.git_ok(&wt, &["push", "-q", "origin", "v1", "lw"]);
    assert_eq!(env.git_ok(&bare, &["cat-file", "-t", "v1"]).trim(), "tag");
    assert_eq!(rev(env, &bare, "lw"), rev(env, &wt, "main"));

    // Deleting a branch and a tag; the repository's receive.denyDeletes (which git applies to
    // branches) is honoured.
    site.git_ok(&wt, &["push", "-q", "origin", "--delete", "topic", "lw"]);
    assert!(
        !env.git(&bare, &["rev-parse", "--verify", "-q", "topic"])
            .status
            .success()
    );
    assert!(
        !env.git(&bare, &["rev-parse", "--verify", "-q", "lw"])
            .status
            .success()
    );
    env.git_ok(&bare, &["config", "receive.denyDeletes", "true"]);
    let out = site.git(&wt, &["push", "origin", "--delete", "main"]);
    assert!(!out.status.success(), "denyDeletes ignored");
    assert!(
        stderr(&out).contains("deletion prohibited"),
        "{}",
        stderr(&out)
    );
    env.git_ok(&bare, &["fsck", "--strict", "--no-progress"]);
}
push_matrix!(push_basics);

/// A push larger than http.postBuffer: git probes with a 4-byte body, then streams chunked.
fn large_chunked_push(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    write_random(&wt.join("big.bin"), 21 << 20, 7);
    env.git_ok(&wt, &["add", "big.bin"]);
    env.git_ok(&wt, &["commit", "-qm", "big"]);
    let out = env
        .git_cmd(&wt)
        .args(["-c", "http.postBuffer=65536"])
        .args(if t == Transport::Stdio {
            vec![
                "-c".to_string(),
                format!("remote.origin.receivepack={}", site.receive_pack_cmd()),
            ]
        } else {
            vec![]
        })
        .args(["push", "origin", "main"])
        .env("GIT_TRACE_CURL", "1")
        .env("GIT_TRACE_CURL_NO_DATA", "1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        out.status.success(),
        "push failed: {}\n{}",
        &err[err.len().saturating_sub(3000)..],
        site.server_logs()
    );
    if t.is_http() {
        // The client's own request headers (GIT_TRACE_CURL's "=> Send header" lines), not the
        // server's chunked responses.
        let sent: Vec<&str> = err
            .lines()
            .filter_map(|l| l.split_once("=> Send header: ").map(|(_, h)| h.trim()))
            .collect();
        assert!(
            sent.contains(&"Transfer-Encoding: chunked"),
            "not chunked: {sent:?}"
        );
        assert!(sent.contains(&"Content-Length: 4"), "no probe: {sent:?}");
    }
    let bare = site.bare(REPO);
    assert_eq!(rev(env, &bare, "main"), rev(env, &wt, "main"));
    env.git_ok(&bare, &["fsck", "--no-progress"]);
}
push_matrix!(large_chunked_push);

pub fn write_random(path: &Path, len: usize, seed: u64) {
    let mut data = vec![0u8; len];
    let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(path, data).unwrap();
}

/// `--atomic` where one ref is refused: no ref moves.
fn atomic_push(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    env.add_commit(&wt, "a", "1\n", "one");
    site.git_ok(&wt, &["branch", "side"]);
    site.git_ok(&wt, &["push", "-q", "origin", "main", "side"]);
    let (main_before, side_before) = (rev(env, &bare, "main"), rev(env, &bare, "side"));
    // main moves forward; side is rewritten (non-fast-forward, refused without force).
    env.add_commit(&wt, "a", "2\n", "two");
    site.git_ok(&wt, &["checkout", "-q", "side"]);
    site.git_ok(&wt, &["commit", "-q", "--amend", "-m", "one amended"]);
    let out = site.git(&wt, &["push", "--atomic", "origin", "main", "side"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("atomic"), "{}", stderr(&out));
    assert_eq!(rev(env, &bare, "main"), main_before, "main moved");
    assert_eq!(rev(env, &bare, "side"), side_before);
    // And a server-side refusal inside an atomic push (the update hook) also moves nothing.
    install_hook(
        &bare,
        "update",
        "#!/bin/sh\n[ \"$1\" = refs/heads/side ] && { echo \"update hook refuses $1\" >&2; exit 1; }\nexit 0\n",
    );
    site.git_ok(&wt, &["checkout", "-q", "main"]);
    site.git_ok(&wt, &["branch", "-f", "side", "main"]);
    let out = site.git(&wt, &["push", "--atomic", "-f", "origin", "main", "side"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("update hook refuses refs/heads/side"), "{err}");
    assert_eq!(rev(env, &bare, "main"), main_before, "main moved: {err}");
    assert_eq!(rev(env, &bare, "side"), side_before);
}
push_matrix!(atomic_push);

pub fn install_hook(bare: &Path, name: &str, script: &str) {
    write_script(&bare.join("hooks").join(name), script);
}

/// The repository's own hooks run with git's contract: stdin lines, arguments, push options,
/// quarantine variables; their output reaches the client as `remote:` lines.
fn hooks_contract(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    let record = env.path("hooks.log");
    let r = record.display();
    install_hook(
        &bare,
        "pre-receive",
        &format!(
            "#!/bin/sh\necho \"pre-receive says hello\"\n{{ echo \"pre-receive count=$GIT_PUSH_OPTION_COUNT 0=$GIT_PUSH_OPTION_0 1=$GIT_PUSH_OPTION_1 quarantine=${{GIT_QUARANTINE_PATH:+yes}} dir=$GIT_DIR\"; cat; }} >> {r}\n"
        ),
    );
    install_hook(
        &bare,
        "update",
        &format!(
            "#!/bin/sh\necho \"update $1 $2 $3 count=${{GIT_PUSH_OPTION_COUNT-unset}}\" >> {r}\necho update-output >&2\n"
        ),
    );
    install_hook(
        &bare,
        "post-receive",
        &format!(
            "#!/bin/sh\n{{ echo \"post-receive count=$GIT_PUSH_OPTION_COUNT\"; cat; }} >> {r}\necho post-receive-output\n"
        ),
    );
    install_hook(
        &bare,
        "post-update",
        &format!("#!/bin/sh\necho \"post-update $*\" >> {r}\n"),
    );
    env.add_commit(&wt, "f", "1\n", "one");
    let new = rev(env, &wt, "main");
    let out = site.git(
        &wt,
        &[
            "push",
            "-o",
            "key=value",
            "-o",
            "second option",
            "origin",
            "main",
        ],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}\n{}", site.server_logs());
    for line in [
        "remote: pre-receive says hello",
        "remote: update-output",
        "remote: post-receive-output",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
    let log = std::fs::read_to_string(&record).unwrap();
    let zero = "0".repeat(40);
    let expected = [
        "pre-receive count=2 0=key=value 1=second option quarantine=yes dir=.".to_string(),
        format!("{zero} {new} refs/heads/main"),
        format!("update refs/heads/main {zero} {new} count=unset"),
        "post-receive count=2".to_string(),
        format!("{zero} {new} refs/heads/main"),
        "post-update refs/heads/main".to_string(),
    ];
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        expected,
        "hook log:\n{log}"
    );
}
push_matrix!(hooks_contract);

/// A pre-receive hook that rejects: its message reaches the client, nothing changes, and the
/// quarantined objects are gone.
fn rejecting_hook(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    // Background maintenance after the first push would repack while objects are counted.
    env.hubctl_ok(&["config", "set", "auto-maintenance", "off"]);
    env.add_commit(&wt, "f", "1\n", "one");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    install_hook(
        &bare,
        "pre-receive",
        "#!/bin/sh\necho 'custom policy: pushes are frozen until Monday' >&2\nexit 1\n",
    );
    let objects_before = object_files(&bare);
    let before = rev(env, &bare, "main");
    env.add_commit(&wt, "g", "2\n", "two");
    let out = site.git(&wt, &["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("remote: custom policy: pushes are frozen until Monday"),
        "{err}"
    );
    assert!(err.contains("pre-receive hook declined"), "{err}");
    assert_eq!(rev(env, &bare, "main"), before);
    assert_eq!(
        object_files(&bare),
        objects_before,
        "rejected objects became visible"
    );
}
push_matrix!(rejecting_hook);

/// The large-file policy: a 2 MB plain blob is refused with a helpful message; the same path as
/// an LFS pointer passes.
fn large_file_policy(t: Transport) {
    let site = Site::start_push(t);
    if t == Transport::CgiProjectRoot {
        // Policy is a hosted-repository setting; git-http-backend mode has no settings.
        return;
    }
    site.env.ensure_owner("team");
    site.env
        .hubctl_ok(&["repo", "init", REPO, "--max-blob-size", "1MB"]);
    site.allow_push(REPO);
    let shown = site.env.hubctl_ok(&["repo", "show", REPO, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["max_blob_size"], 1048576);
    let wt = site.worktree_for(REPO, "work");
    let env = &site.env;
    let bare = site.bare(REPO);
    env.add_commit(&wt, "README", "small\n", "small");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let before = rev(env, &bare, "main");
    std::fs::create_dir_all(wt.join("models")).unwrap();
    write_random(&wt.join("models/weights.bin"), 2 << 20, 3);
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "weights"]);
    let out = site.git(&wt, &["push", "origin", "main"]);
    assert!(!out.status.success(), "large blob accepted");
    let err = stderr(&out);
    for needle in [
        "models/weights.bin",
        "2.0 MiB (2097152 bytes)",
        "limit of 1.0 MiB (1048576 bytes)",
        "pre-receive hook declined",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // The fix, and nothing else: `git lfs track` first would leave the tree dirty for
    // migrate, and `--everything` would rewrite commits the server already has.
    let fix: Vec<&str> = err
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("remote: hubctl:   git "))
        .collect();
    assert_eq!(
        fix,
        ["lfs migrate import --include=\"*.bin\"", "push"],
        "{err}"
    );
    assert_eq!(rev(env, &bare, "main"), before);
    if t == Transport::Stdio {
        // The repository's directory is no way around the policy: without --root, too.
        let out = env.git(
            &wt,
            &[
                "push",
                "--receive-pack",
                &format!("'{}' receive-pack", hubctl_bin().display()),
                bare.to_str().unwrap(),
                "main",
            ],
        );
        assert!(!out.status.success(), "large blob accepted by directory");
        assert!(
            stderr(&out).contains("git lfs migrate import"),
            "{}",
            stderr(&out)
        );
        assert_eq!(rev(env, &bare, "main"), before);
    }
    if t == Transport::Ssh {
        // Nor over SSH: hubctl shell refuses a path that is not NS/NAME before git runs.
        let path = bare.to_str().unwrap();
        let url = site.sshd.as_ref().unwrap().url(path);
        let out = site.git(&wt, &["push", &url, "main"]);
        assert!(!out.status.success(), "large blob accepted by directory");
        let refusal = format!(
            "hubctl: invalid repository path: invalid repository name {path:?}: expected NAMESPACE/NAME"
        );
        assert!(
            stderr(&out).lines().any(|l| l == refusal),
            "{}",
            stderr(&out)
        );
        assert_eq!(rev(env, &bare, "main"), before);
    }
    // Replace the file by an LFS pointer (what `git lfs migrate import` would commit), with
    // its object on the server (what git-lfs uploads before the push).
    site.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    std::fs::create_dir_all(wt.join("models")).unwrap();
    write_random(&env.path("weights.bin"), 2 << 20, 3);
    let weights = std::fs::read(env.path("weights.bin")).unwrap();
    let pointer = crate::lfs_policy::store_object(&bare, &weights);
    std::fs::write(wt.join("models/weights.bin"), pointer).unwrap();
    std::fs::write(
        wt.join(".gitattributes"),
        "*.bin filter=lfs diff=lfs merge=lfs -text\n",
    )
    .unwrap();
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "weights via lfs"]);
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    assert_eq!(rev(env, &bare, "main"), rev(env, &wt, "main"));
    // Turning the policy off lets plain large files in again.
    env.hubctl_ok(&["repo", "set", REPO, "max-blob-size", "off"]);
    write_random(&wt.join("blob.dat"), 2 << 20, 4);
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "big again"]);
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
}
push_matrix!(large_file_policy);

/// Objects are checked on receive (`receive.fsckObjects`): a commit with a malformed author
/// line is refused with git's fsck reason and the ref stays.
fn fsck_on_receive(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    env.add_commit(&wt, "a", "1\n", "one");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let before = rev(env, &bare, "main");
    let tree = rev(env, &wt, "HEAD^{tree}");
    let text = format!(
        "tree {tree}\nparent {before}\nauthor Bad <bad-email 1700000000 +0000\ncommitter C <c@example.com> 1700000000 +0000\n\nbroken\n"
    );
    let file = env.path("bad-commit");
    std::fs::write(&file, text).unwrap();
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
    let out = site.git(&wt, &["push", "origin", "main"]);
    assert!(!out.status.success(), "a malformed commit was accepted");
    let err = stderr(&out);
    for needle in ["badEmail", "fsck error", "(unpacker error)"] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(rev(env, &bare, "main"), before);
    env.git_ok(&bare, &["fsck", "--strict", "--no-progress"]);
}
push_matrix!(fsck_on_receive);

/// hubctl's policy runs before the repository's own pre-receive, which keeps git's contract
/// (stdin, push options, quarantine) and never sees a push the policy refused.
fn policy_before_own_hooks(t: Transport) {
    let site = Site::start_push(t);
    if t == Transport::CgiProjectRoot {
        // git-http-backend mode serves plain directories: no hubctl settings, no policy.
        return;
    }
    let env = &site.env;
    env.ensure_owner("team");
    env.hubctl_ok(&["repo", "init", REPO]);
    env.hubctl_ok(&["repo", "set", REPO, "max-blob-size", "1MB"]);
    let shown: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", REPO, "--json"])).unwrap();
    assert_eq!(shown["max_blob_size"], 1048576);
    site.allow_push(REPO);
    let wt = site.worktree_for(REPO, "work");
    let bare = site.bare(REPO);
    let record = env.path("hooks.log");
    install_hook(
        &bare,
        "pre-receive",
        &format!(
            "#!/bin/sh\nread old new ref\necho \"$ref count=$GIT_PUSH_OPTION_COUNT 0=$GIT_PUSH_OPTION_0 quarantine=${{GIT_QUARANTINE_PATH:+yes}}\" >> {}\ncase \"$GIT_PUSH_OPTION_0\" in refuse) echo 'own hook says no' >&2; exit 1;; esac\n",
            record.display()
        ),
    );
    env.add_commit(&wt, "small", "small\n", "small");
    site.git_ok(&wt, &["push", "-q", "-o", "hello", "origin", "main"]);
    let log = || std::fs::read_to_string(&record).unwrap_or_default();
    assert_eq!(
        log(),
        "refs/heads/main count=1 0=hello quarantine=yes\n",
        "the repository's pre-receive behind the policy"
    );
    let before = rev(env, &bare, "main");
    write_random(&wt.join("big.bin"), 2 << 20, 5);
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "big"]);
    let out = site.git(&wt, &["push", "-o", "hello", "origin", "main"]);
    assert!(!out.status.success(), "large blob accepted");
    assert!(
        stderr(&out).contains("git lfs migrate import"),
        "{}",
        stderr(&out)
    );
    assert_eq!(log().lines().count(), 1, "the own hook saw a refused push");
    assert_eq!(rev(env, &bare, "main"), before);
    // With the policy satisfied, the own hook still has the last word.
    site.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    env.add_commit(&wt, "small2", "small\n", "small two");
    let out = site.git(&wt, &["push", "-o", "refuse", "origin", "main"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("remote: own hook says no"), "{err}");
    assert!(err.contains("pre-receive hook declined"), "{err}");
    assert_eq!(rev(env, &bare, "main"), before);
}
push_matrix!(policy_before_own_hooks);

/// The process that starts receive-pack hands the settings hubctl's pre-receive needs to it
/// in `HUBCTL_PUSH_POLICY` (the hook then does not open the database), and hands nothing when
/// the hook must read the database itself (LFS locks to enforce).
fn policy_settings_reach_the_hook(t: Transport) {
    let site = Site::start_push(t);
    if t == Transport::CgiProjectRoot {
        // git-http-backend mode: no settings, no policy, no hook of hubctl's.
        return;
    }
    let env = &site.env;
    env.ensure_owner("team");
    env.hubctl_ok(&["repo", "init", REPO, "--max-blob-size", "1MB"]);
    site.allow_push(REPO);
    let wt = site.worktree_for(REPO, "work");
    let bare = site.bare(REPO);
    let record = env.path("policy.log");
    // The repository's own pre-receive runs after hubctl's, in the same environment.
    install_hook(
        &bare,
        "pre-receive",
        &format!(
            "#!/bin/sh\necho \"[${{HUBCTL_PUSH_POLICY-unset}}]\" >> {}\n",
            record.display()
        ),
    );
    env.add_commit(&wt, "small", "small\n", "small");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let log = || std::fs::read_to_string(&record).unwrap_or_default();
    assert_eq!(log(), "[max-blob-size=1048576 check-pointers=1]\n");
    // The limit handed over is the one enforced.
    write_random(&wt.join("big.bin"), 2 << 20, 6);
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "big"]);
    let out = site.git(&wt, &["push", "origin", "main"]);
    assert!(!out.status.success(), "large blob accepted");
    assert!(
        stderr(&out).contains("limit of 1.0 MiB (1048576 bytes)"),
        "{}",
        stderr(&out)
    );
    site.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    // Locks live in the database: no facts, the hook reads it (an empty value, so that nothing
    // inherited can stand in).
    env.hubctl_ok(&["repo", "set", REPO, "lfs-enforce-locks", "on"]);
    env.hubctl_ok(&["repo", "set", REPO, "max-blob-size", "off"]);
    env.add_commit(&wt, "small2", "two\n", "two");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    assert_eq!(
        log(),
        "[max-blob-size=1048576 check-pointers=1]\n[]\n",
        "{}",
        site.server_logs()
    );
}
push_matrix!(policy_settings_reach_the_hook);

/// Ten rounds of two clients pushing different commits to one branch at the same moment:
/// exactly one wins each round, the other is told, the repository stays consistent.
fn push_races(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    env.add_commit(&wt, "base", "0\n", "base");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let a = site.clone_for_push(REPO, "a");
    let b = site.clone_for_push(REPO, "b");
    for round in 0..10 {
        for (dir, who) in [(&a, "a"), (&b, "b")] {
            site.git_ok(dir, &["fetch", "-q", "origin"]);
            site.git_ok(dir, &["reset", "-q", "--hard", "origin/main"]);
            env.add_commit(
                dir,
                &format!("{who}.txt"),
                &format!("{round}\n"),
                &format!("{who} {round}"),
            );
        }
        let barrier = std::sync::Barrier::new(2);
        let results: Vec<Output> = std::thread::scope(|s| {
            let handles: Vec<_> = [&a, &b]
                .into_iter()
                .map(|dir| {
                    let (site, barrier) = (&site, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        site.git(dir, &["push", "origin", "main"])
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<usize> = (0..2).filter(|&i| results[i].status.success()).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {} won:\n{}\n---\n{}",
            winners.len(),
            stderr(&results[0]),
            stderr(&results[1])
        );
        let (winner, loser) = if winners[0] == 0 { (&a, 1) } else { (&b, 0) };
        let lost = stderr(&results[loser]);
        // Told that it is stale: by the client (the winner's ref was advertised already) or
        // by the server (the ref moved under it).
        assert!(
            [
                "(fetch first)",
                "(non-fast-forward)",
                "failed to update ref",
                "cannot lock ref",
            ]
            .iter()
            .any(|why| lost.contains(why)),
            "loser not told it is stale: {lost}"
        );
        assert_eq!(rev(env, &bare, "main"), rev(env, winner, "main"));
    }
    env.git_ok(&bare, &["fsck", "--strict", "--no-progress"]);
}
push_matrix!(push_races);

/// kill -9 the server and its git children during a large push: refs unchanged, fsck clean,
/// and the retried push succeeds.
fn crash_mid_push(t: Transport) {
    let (mut site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    // Only the push's own processes may be around when we count them.
    env.hubctl_ok(&["config", "set", "auto-maintenance", "off"]);
    env.add_commit(&wt, "a", "1\n", "one");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let refs_before = refs_of(env, &bare);
    write_random(&wt.join("huge.bin"), 120 << 20, 11);
    env.git_ok(&wt, &["add", "huge.bin"]);
    env.git_ok(&wt, &["commit", "-qm", "huge"]);
    let mut push = site.env.git_cmd(&wt);
    push.args(["-c", "http.postBuffer=65536", "push", "origin", "main"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = push.spawn().unwrap();
    // Wait until git's receive-pack is busy with the pack, then kill the whole server tree.
    let busy = eventually(Duration::from_secs(60), || {
        crate::fetch::engine_processes(&bare)
            .iter()
            .any(|p| p.contains("index-pack") || p.contains("unpack-objects"))
    });
    assert!(busy, "the push never reached index-pack");
    let server_pids: Vec<i32> = match t {
        Transport::Serve => vec![site.server.as_ref().unwrap().pid() as i32],
        // The push's own sshd process (with hubctl shell and git below it); the listener lives
        // on, as it does when a session's processes die, and so needs no restart.
        Transport::Ssh => children_of(site.sshd.as_ref().unwrap().pid() as i32),
        _ => site.nginx.as_ref().unwrap().pids(),
    };
    assert!(!server_pids.is_empty(), "[{t:?}] no server process to kill");
    for pid in server_pids {
        kill_tree(pid);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        no_engine_left(&bare),
        "{:?}",
        crate::fetch::engine_processes(&bare)
    );
    assert_eq!(
        refs_of(env, &bare),
        refs_before,
        "refs changed by a killed push"
    );
    env.git_ok(&bare, &["fsck", "--strict", "--no-progress"]);
    // Start the server again and retry.
    site.restart();
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    assert_eq!(rev(&site.env, &bare, "main"), rev(&site.env, &wt, "main"));
    site.env
        .git_ok(&bare, &["fsck", "--strict", "--no-progress"]);
}

#[test]
fn crash_mid_push_serve() {
    crash_mid_push(Transport::Serve)
}
#[test]
fn crash_mid_push_cgi() {
    crash_mid_push(Transport::CgiRoot)
}
#[test]
fn crash_mid_push_ssh() {
    crash_mid_push(Transport::Ssh)
}

/// A client that goes away once its pack is uploaded does not cut the push short: the ref
/// moves, post-receive and post-update run to their end, and no ref lock is left behind.
fn client_gone_after_upload(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    let started = env.path("post-receive-started");
    let done = env.path("post-receive-done");
    let post_update = env.path("post-update-ran");
    // post-receive keeps talking (every line is a write towards the departed client) for
    // three seconds before it records that it finished.
    install_hook(
        &bare,
        "post-receive",
        &format!(
            "#!/bin/sh\ncat >/dev/null\ntouch {}\ni=0\nwhile [ $i -lt 30 ]; do echo \"working $i\"; sleep 0.1; i=$((i+1)); done\ntouch {}\n",
            started.display(),
            done.display()
        ),
    );
    install_hook(
        &bare,
        "post-update",
        &format!("#!/bin/sh\ntouch {}\n", post_update.display()),
    );
    env.add_commit(&wt, "f", "1\n", "one");
    let new = rev(env, &wt, "main");
    let mut push = site.env.git_cmd(&wt);
    push.args(["push", "origin", "main"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // Its own process group: git-remote-http (or ssh) holds the connection, and it must die too.
    std::os::unix::process::CommandExt::process_group(&mut push, 0);
    let mut child = push.spawn().unwrap();
    assert!(
        eventually(Duration::from_secs(30), || started.exists()),
        "post-receive never started\n{}",
        site.server_logs()
    );
    // SAFETY: plain syscall on the group of a child we have not reaped.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
    assert!(
        eventually(Duration::from_secs(30), || done.exists()
            && post_update.exists()),
        "post-receive or post-update was cut short\n{}",
        site.server_logs()
    );
    assert_eq!(rev(env, &bare, "main"), new);
    assert!(
        eventually(Duration::from_secs(10), || no_engine_left(&bare)),
        "{:?}",
        crate::fetch::engine_processes(&bare)
    );
    let mut locks = Vec::new();
    let mut dirs = vec![bare.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() && (d != bare || e.file_name() == "refs") {
                dirs.push(p);
            } else if p.to_string_lossy().ends_with(".lock") {
                locks.push(p);
            }
        }
    }
    assert!(locks.is_empty(), "lock files left: {locks:?}");
    env.git_ok(&bare, &["fsck", "--strict", "--no-progress"]);
}

mod client_gone_after_upload {
    use crate::harness::Transport;
    #[test]
    fn serve() {
        super::client_gone_after_upload(Transport::Serve)
    }
    #[test]
    fn cgi_root() {
        super::client_gone_after_upload(Transport::CgiRoot)
    }
    #[test]
    fn ssh() {
        super::client_gone_after_upload(Transport::Ssh)
    }
}

/// SIGKILL `pid` and every process below it.
pub fn kill_tree(pid: i32) {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        all.extend(children_of(all[i]));
        i += 1;
    }
    // Process groups too: hubctl starts git in its own group.
    for p in &all {
        unsafe {
            libc::kill(*p, libc::SIGKILL);
        }
    }
}

fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
            continue;
        };
        let ppid: i32 = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == pid {
            if let Ok(p) = e.file_name().to_string_lossy().parse() {
                out.push(p);
            }
        }
    }
    out
}

/// `--max-push-size`: a larger push is refused with a message the client shows.
#[test]
fn max_push_size() {
    let env = Env::new();
    let token = env.user_with_token("team", &[]);
    env.hubctl_ok(&["repo", "init", REPO]);
    let server = env.serve(&["--max-push-size", "1MB"]);
    let url = server
        .url(REPO)
        .replacen("http://", &format!("http://x:{token}@"), 1);
    let wt = env.path("work");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    write_random(&wt.join("big.bin"), 3 << 20, 5);
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "big"]);
    let out = env.git(&wt, &["push", &url, "main"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("maximum allowed size"), "{err}");
    assert!(refs_of(&env, &env.bare(REPO)).is_empty());
    // Small pushes still pass.
    let wt2 = env.path("small");
    std::fs::create_dir_all(&wt2).unwrap();
    env.git_ok(&wt2, &["init", "-q", "-b", "main"]);
    env.add_commit(&wt2, "x", "x\n", "x");
    env.git_ok(&wt2, &["push", "-q", &url, "main"]);
}

/// In git-http-backend mode, pushes follow git-http-backend's rule: refused (403) without an
/// authenticated REMOTE_USER unless `http.receivepack=true`; `http.receivepack=false` refuses all.
#[test]
fn project_root_push_rule() {
    let site = Site::start(Transport::CgiProjectRoot, 0);
    site.create_fixture(REPO, "main");
    let url = site.url(REPO);
    let adv = format!("{url}/info/refs?service=git-receive-pack");
    assert_eq!(curl(&[&adv]).0, 403);
    let clone = site.clone_ok(REPO, "c", &[]);
    site.env.add_commit(&clone, "x", "x\n", "x");
    let out = site.git(&clone, &["push", "origin", "main"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
    site.env
        .git_ok(&site.bare(REPO), &["config", "http.receivepack", "true"]);
    assert_eq!(curl(&[&adv]).0, 200);
    site.git_ok(&clone, &["push", "-q", "origin", "main"]);
    site.env
        .git_ok(&site.bare(REPO), &["config", "http.receivepack", "false"]);
    assert_eq!(curl(&[&adv]).0, 403);
}
