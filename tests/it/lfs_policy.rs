//! The operator side of Git LFS: push integrity (pointers need their objects on the server),
//! server-side lock enforcement, the per-repository LFS settings, `hubctl lfs ls|fsck|prune`,
//! and `repo rm` taking the objects along. Pushes use the real git and git-lfs clients; objects
//! reach the server the way the store keeps them (`<repo>.git/lfs/objects/ab/cd/<oid>`), or
//! through git-lfs's own standalone-file transfer, which writes the same layout.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

use hubctl::lfs::{Oid, Pointer};

use crate::harness::*;
use crate::harness::{PUSH_USER, Site, Transport};
use crate::push::write_random;

const REPO: &str = "team/game";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rev(env: &Env, dir: &Path, what: &str) -> String {
    env.git_ok(dir, &["rev-parse", what]).trim().to_string()
}

/// The pointer file text for `data`.
pub fn pointer_for(data: &[u8]) -> String {
    Pointer {
        oid: Oid::of_bytes(data),
        size: data.len() as u64,
    }
    .to_text()
}

/// Where the server keeps the object of `data` in the bare repository `bare`.
pub fn object_path(bare: &Path, data: &[u8]) -> PathBuf {
    bare.join("lfs/objects")
        .join(Oid::of_bytes(data).shard_path())
}

/// Put `data` into the server's LFS store of `bare` (what an upload leaves behind) and return
/// its pointer file text.
pub fn store_object(bare: &Path, data: &[u8]) -> String {
    let path = object_path(bare, data);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    pointer_for(data)
}

/// Set a file's modification time to `secs` seconds ago.
fn age(path: &Path, secs: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

/// Run SQL on the root's database with the sqlite3 client (locks have no CLI on this side).
fn sql(env: &Env, statement: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(env.root.join("hubctl.db"))
        .arg(statement)
        .output()
        .expect("running sqlite3 (apt-get install sqlite3)");
    assert!(
        out.status.success(),
        "sqlite3 {statement}: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Lock `path` in `repo` for `user`; returns the lock id.
fn lock(env: &Env, repo: &str, path: &str, user: &str) -> String {
    let (ns, name) = repo.split_once('/').unwrap();
    sql(
        env,
        &format!(
            "INSERT INTO lfs_locks (repo_id, path, owner_id, refname, locked_at)
             SELECT r.id, '{path}', o.id, 'refs/heads/main', '2025-01-01T00:00:00Z'
             FROM repos r, owners o
             WHERE r.namespace = '{ns}' AND r.name = '{name}' AND o.name = '{user}';
             SELECT last_insert_rowid();"
        ),
    )
    .trim()
    .to_string()
}

/// A push site with an empty repository the push user may write to, and a worktree.
fn setup(t: Transport) -> (Site, PathBuf) {
    let site = Site::start_push(t);
    site.create_empty(REPO, "main");
    site.allow_push(REPO);
    let wt = site.worktree_for(REPO, "work");
    std::fs::write(
        wt.join(".gitattributes"),
        "*.bin filter=lfs diff=lfs merge=lfs -text\n",
    )
    .unwrap();
    site.env.add_commit(&wt, "README", "game\n", "start");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    (site, wt)
}

macro_rules! lfs_matrix {
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
            fn stdio() {
                super::$scenario(Transport::Stdio)
            }
        }
    };
}

/// A pushed pointer whose object is not on the server is refused with the file, the oid and
/// the fix; once the object is there the same push passes; `lfs-check-pointers off` lets
/// such pushes through.
fn pointer_without_object(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    let before = rev(env, &bare, "main");
    let data = b"level one geometry\n".repeat(100);
    let oid = Oid::of_bytes(&data);
    env.add_commit(&wt, "assets/level1.bin", &pointer_for(&data), "level 1");
    let out = site.git(&wt, &["push", "origin", "main"]);
    assert!(
        !out.status.success(),
        "a pointer without object was accepted"
    );
    let err = stderr(&out);
    for needle in [
        "remote: hubctl: push rejected: 1 Git LFS object is not on the server:".to_string(),
        format!("assets/level1.bin  oid sha256:{oid}  1.9 KiB (1900 bytes)"),
        "remote: hubctl:   git lfs push --all origin".to_string(),
        "pre-receive hook declined".to_string(),
    ] {
        assert!(err.contains(&needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(rev(env, &bare, "main"), before);

    // A stored object of another size does not satisfy a pointer that lies about its size.
    std::fs::write(
        wt.join("assets/level1.bin"),
        Pointer {
            oid: oid.clone(),
            size: 5,
        }
        .to_text(),
    )
    .unwrap();
    env.git_ok(&wt, &["commit", "-qam", "wrong size"]);
    store_object(&bare, &data);
    let out = site.git(&wt, &["push", "origin", "main"]);
    assert!(
        !out.status.success(),
        "a pointer with a wrong size was accepted"
    );
    assert!(
        stderr(&out).contains("the pointer's size is wrong, the object has 1900 bytes"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rev(env, &bare, "main"), before);

    // With the object uploaded, the honest push passes.
    env.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    assert_eq!(rev(env, &bare, "main"), rev(env, &wt, "main"));

    // Checked by default; switched off globally.
    assert_eq!(
        env.hubctl_ok(&["config", "get", "lfs-check-pointers"])
            .trim(),
        "on (default)"
    );
    let other = b"level two\n".repeat(50);
    env.add_commit(&wt, "assets/level2.bin", &pointer_for(&other), "level 2");
    assert!(!site.git(&wt, &["push", "origin", "main"]).status.success());
    env.hubctl_ok(&["config", "set", "lfs-check-pointers", "off"]);
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    assert_eq!(rev(env, &bare, "main"), rev(env, &wt, "main"));
    let bad = env.hubctl(&["config", "set", "lfs-check-pointers", "maybe"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("lfs-check-pointers is on or off"),
        "{}",
        stderr(&bad)
    );
}
lfs_matrix!(pointer_without_object);

/// The large-file message's fix works as written with the real git-lfs: `migrate import`
/// rewrites the refused commits into pointers; the push then needs the objects, which
/// `git lfs push --all` uploads (here with git-lfs's standalone-file transfer straight into
/// the server's store); then the push passes.
#[test]
fn large_file_fix_as_suggested() {
    let (site, wt) = setup(Transport::Serve);
    let env = &site.env;
    let bare = site.bare(REPO);
    std::fs::remove_file(wt.join(".gitattributes")).unwrap();
    env.git_ok(&wt, &["commit", "-qam", "no attributes yet"]);
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    env.hubctl_ok(&["repo", "set", REPO, "max-blob-size", "1MB"]);
    let before = rev(env, &bare, "main");
    std::fs::create_dir_all(wt.join("models")).unwrap();
    write_random(&wt.join("models/weights.bin"), 2 << 20, 11);
    env.git_ok(&wt, &["add", "-A"]);
    env.git_ok(&wt, &["commit", "-qm", "weights"]);
    let out = site.git(&wt, &["push", "origin", "main"]);
    assert!(!out.status.success(), "large blob accepted");
    let err = stderr(&out);
    let fix: Vec<String> = err
        .lines()
        .filter_map(|l| l.strip_prefix("remote: hubctl:   git "))
        .map(|l| l.trim_end().to_string())
        .collect();
    // Not `--everything`: that would rewrite the commits the server has already, and the push
    // would be refused as non-fast-forward.
    assert_eq!(
        fix,
        ["lfs migrate import --include=\"*.bin\"", "push"],
        "{err}"
    );
    // Run the suggested command exactly as printed.
    let args: Vec<String> = fix[0].split(' ').map(|a| a.replace('"', "")).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.git_ok(&wt, &args);
    assert_eq!(
        std::fs::read_to_string(wt.join(".gitattributes")).unwrap(),
        "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    );
    assert_eq!(env.git_ok(&wt, &["status", "--porcelain"]), "");
    assert_eq!(
        rev(env, &wt, "HEAD~1"),
        before,
        "only the refused commit was rewritten"
    );
    // migrate installed git-lfs's pre-push hook, which would upload over the LFS API; this
    // branch has no HTTP API, so push without it: the server refuses the missing object.
    let out = site.git(&wt, &["push", "--no-verify", "origin", "main"]);
    assert!(!out.status.success(), "pointer without object accepted");
    let err = stderr(&out);
    assert!(err.contains("models/weights.bin  oid sha256:"), "{err}");
    assert!(err.contains("git lfs push --all origin"), "{err}");
    assert_eq!(rev(env, &bare, "main"), before);
    // Upload, then the push as suggested.
    env.git_ok(
        &wt,
        &[
            "lfs",
            "push",
            "--all",
            &format!("file://{}", bare.display()),
        ],
    );
    site.git_ok(&wt, &["push", "-q", "--no-verify", "origin", "main"]);
    assert_eq!(rev(env, &bare, "main"), rev(env, &wt, "main"));
    let listed = env.hubctl_ok(&["lfs", "ls", REPO]);
    assert!(listed.ends_with(&format!("\t{}\n", 2 << 20)), "{listed}");
    let fsck = env.hubctl(&["lfs", "fsck", REPO]);
    assert!(fsck.status.success(), "{}", stderr(&fsck));
}

/// With `lfs-enforce-locks on`, a push that adds, changes or deletes a file another user has
/// locked is refused with the path, the owner and the lock id; the owner may push it; other
/// files, and pushes with enforcement off, are not affected.
fn lock_enforcement(t: Transport) {
    let (site, wt) = setup(t);
    let env = &site.env;
    let bare = site.bare(REPO);
    env.ensure_owner("alice");
    let art = b"sprite sheet\n".repeat(20);
    env.add_commit(&wt, "art/sprites.bin", &store_object(&bare, &art), "art");
    env.add_commit(&wt, "docs/notes.txt", "notes\n", "notes");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let id = lock(env, REPO, "art/sprites.bin", "alice");
    let new_lock = lock(env, REPO, "art/new.bin", "alice");

    // Off by default: locks are advisory.
    let shown: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", REPO, "--json"])).unwrap();
    assert_eq!(shown["lfs_enforce_locks"], false);
    let v2 = b"sprite sheet v2\n".repeat(20);
    env.add_commit(&wt, "art/sprites.bin", &store_object(&bare, &v2), "v2");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);

    env.hubctl_ok(&["repo", "set", REPO, "lfs-enforce-locks", "on"]);
    let before = rev(env, &bare, "main");
    let refused = |what: &str, path: &str, lock_id: &str| {
        let out = site.git(&wt, &["push", "origin", "HEAD:main"]);
        assert!(!out.status.success(), "{what}: a locked file was changed");
        let err = stderr(&out);
        for needle in [
            "push rejected: it changes 1 file locked in Git LFS by another user".to_string(),
            format!("{path}  locked by alice (lock id {lock_id}), changed on refs/heads/main"),
            "pre-receive hook declined".to_string(),
        ] {
            assert!(
                err.contains(&needle),
                "{what}: missing {needle:?} in:\n{err}"
            );
        }
        assert_eq!(rev(env, &bare, "main"), before, "{what}");
    };
    let v3 = b"sprite sheet v3\n".repeat(20);
    env.add_commit(&wt, "art/sprites.bin", &store_object(&bare, &v3), "v3");
    refused("change", "art/sprites.bin", &id);
    env.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    env.git_ok(&wt, &["rm", "-q", "art/sprites.bin"]);
    env.git_ok(&wt, &["commit", "-qm", "delete"]);
    refused("delete", "art/sprites.bin", &id);
    env.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);
    env.add_commit(&wt, "art/new.bin", &store_object(&bare, b"new\n"), "add");
    refused("add", "art/new.bin", &new_lock);
    env.git_ok(&wt, &["reset", "-q", "--hard", "HEAD~1"]);

    // Other files are fine.
    env.add_commit(&wt, "docs/notes.txt", "more notes\n", "notes 2");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);

    // A new branch: only its new commits count, not the locked file it carries unchanged.
    env.git_ok(&wt, &["checkout", "-q", "-b", "topic"]);
    env.add_commit(&wt, "docs/topic.txt", "topic\n", "topic");
    site.git_ok(&wt, &["push", "-q", "origin", "topic"]);
    env.add_commit(
        &wt,
        "art/sprites.bin",
        &store_object(&bare, &v3),
        "v3 on a branch",
    );
    let out = site.git(&wt, &["push", "origin", "topic:refs/heads/topic2"]);
    assert!(!out.status.success(), "a new branch changing a locked file");
    assert!(
        stderr(&out).contains("changed on refs/heads/topic2"),
        "{}",
        stderr(&out)
    );
    env.git_ok(&wt, &["checkout", "-q", "main"]);

    // The lock owner's push passes (over HTTP the pusher is a hubctl user; over stdio the
    // local operator has no user name and so holds no lock).
    if t != Transport::Stdio {
        sql(
            env,
            &format!(
                "UPDATE lfs_locks SET owner_id = (SELECT id FROM owners WHERE name = '{PUSH_USER}') WHERE id = {id}"
            ),
        );
        env.add_commit(
            &wt,
            "art/sprites.bin",
            &store_object(&bare, &v3),
            "v3 by owner",
        );
        site.git_ok(&wt, &["push", "-q", "origin", "main"]);
        assert_eq!(rev(env, &bare, "main"), rev(env, &wt, "main"));
    }

    // Enforcement off again: locks are advisory.
    env.hubctl_ok(&["repo", "set", REPO, "lfs-enforce-locks", "off"]);
    env.add_commit(&wt, "art/new.bin", &store_object(&bare, b"new\n"), "add");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
}
lfs_matrix!(lock_enforcement);

/// `repo set` takes the LFS settings, `repo show` prints them with the stored objects.
#[test]
fn repo_settings_and_show() {
    let env = Env::new();
    env.ensure_owner("team");
    env.hubctl_ok(&["repo", "init", REPO]);
    let bare = env.bare(REPO);
    let show = || -> serde_json::Value {
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", REPO, "--json"])).unwrap()
    };
    let v = show();
    assert_eq!(v["max_lfs_object_size"], serde_json::Value::Null);
    assert_eq!(v["lfs_quota"], serde_json::Value::Null);
    assert_eq!(v["lfs_enforce_locks"], false);
    assert_eq!(v["lfs_objects"], 0);
    assert_eq!(v["lfs_bytes"], 0);

    store_object(&bare, b"one\n");
    store_object(&bare, &b"two\n".repeat(1000));
    env.hubctl_ok(&["repo", "set", REPO, "max-lfs-object-size", "100MB"]);
    env.hubctl_ok(&["repo", "set", REPO, "lfs-quota", "2g"]);
    let out = env.hubctl_ok(&["repo", "set", REPO, "lfs-enforce-locks", "on"]);
    assert_eq!(out, format!("{REPO}: lfs-enforce-locks = on\n"));
    let v = show();
    assert_eq!(v["max_lfs_object_size"], 100 << 20);
    assert_eq!(v["lfs_quota"], 2u64 << 30);
    assert_eq!(v["lfs_enforce_locks"], true);
    assert_eq!(v["lfs_objects"], 2);
    assert_eq!(v["lfs_bytes"], 4 + 4000);
    let text = env.hubctl_ok(&["repo", "show", REPO]);
    for line in [
        "max LFS object:  100.0 MiB (104857600 bytes)",
        "LFS quota:       2.0 GiB (2147483648 bytes)",
        "LFS locks:       enforced on push",
        "LFS objects:     2, 3.9 KiB (4004 bytes)",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // `repo list --json` has the settings but does not walk every store.
    let list: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "list", "--json"])).unwrap();
    assert_eq!(list[0]["lfs_quota"], 2u64 << 30);
    assert!(list[0].get("lfs_objects").is_none());

    for (key, value) in [
        ("lfs-enforce-locks", "sometimes"),
        ("lfs-quota", "lots"),
        ("max-lfs-object-size", "-1"),
    ] {
        let out = env.hubctl(&["repo", "set", REPO, key, value]);
        assert!(!out.status.success(), "{key} {value} accepted");
    }
    env.hubctl_ok(&["repo", "set", REPO, "max-lfs-object-size", "off"]);
    env.hubctl_ok(&["repo", "set", REPO, "lfs-quota", "off"]);
    env.hubctl_ok(&["repo", "set", REPO, "lfs-enforce-locks", "off"]);
    let v = show();
    assert_eq!(v["max_lfs_object_size"], serde_json::Value::Null);
    assert_eq!(v["lfs_quota"], serde_json::Value::Null);
    assert_eq!(v["lfs_enforce_locks"], false);
    let text = env.hubctl_ok(&["repo", "show", REPO]);
    assert!(text.contains("LFS locks:       advisory"), "{text}");
}

/// `repo rm` takes the repository's LFS objects (they live inside it) and its locks along.
#[test]
fn repo_rm_removes_lfs_objects() {
    let env = Env::new();
    env.ensure_owner("team");
    env.hubctl_ok(&["repo", "init", REPO]);
    let bare = env.bare(REPO);
    let data = b"payload\n".repeat(64);
    store_object(&bare, &data);
    lock(&env, REPO, "a.bin", "team");
    assert!(object_path(&bare, &data).is_file());
    assert_eq!(sql(&env, "SELECT count(*) FROM lfs_locks").trim(), "1");
    env.hubctl_ok(&["repo", "rm", REPO, "--yes"]);
    assert!(!object_path(&bare, &data).exists());
    assert!(!bare.exists());
    let leftovers: Vec<_> = std::fs::read_dir(env.root.join("repos/team"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    assert_eq!(sql(&env, "SELECT count(*) FROM lfs_locks").trim(), "0");
    // A new repository of the same name starts empty.
    env.hubctl_ok(&["repo", "init", REPO]);
    let v: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", REPO, "--json"])).unwrap();
    assert_eq!(v["lfs_objects"], 0);
}

/// `hubctl lfs ls`, `fsck` (a corrupted and a misplaced object) and `prune` (dry run by
/// default; referenced objects from any ref or old commit stay; the grace period holds).
#[test]
fn lfs_commands() {
    let (site, wt) = setup(Transport::Stdio);
    let env = &site.env;
    let bare = site.bare(REPO);
    let blob = |n: u32| format!("object {n}\n").repeat(10 + n as usize).into_bytes();
    // 1 is in main's tip, 2 only in main's history, 3 only on a tag, 4 only in a ref outside
    // refs/heads and refs/tags; 5 and 6 are unreferenced (5 old, 6 recent).
    env.add_commit(&wt, "a.bin", &store_object(&bare, &blob(2)), "2");
    env.add_commit(&wt, "a.bin", &store_object(&bare, &blob(1)), "1");
    site.git_ok(&wt, &["push", "-q", "origin", "main"]);
    env.git_ok(&wt, &["checkout", "-q", "-b", "side"]);
    env.add_commit(&wt, "b.bin", &store_object(&bare, &blob(3)), "3");
    env.git_ok(&wt, &["tag", "-a", "v3", "-m", "v3"]);
    site.git_ok(&wt, &["push", "-q", "origin", "v3"]);
    env.add_commit(&wt, "c/d.bin", &store_object(&bare, &blob(4)), "4");
    site.git_ok(&wt, &["push", "-q", "origin", "HEAD:refs/keep/x"]);
    store_object(&bare, &blob(5));
    store_object(&bare, &blob(6));
    for n in 1..=5 {
        age(&object_path(&bare, &blob(n)), 3 * 86_400);
    }

    let listed: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["lfs", "ls", REPO, "--json"])).unwrap();
    let mut want: Vec<(String, usize)> = (1..=6)
        .map(|n| (Oid::of_bytes(&blob(n)).to_string(), blob(n).len()))
        .collect();
    want.sort();
    let got: Vec<(String, usize)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["oid"].as_str().unwrap().to_string(),
                o["size"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(got, want);
    let text = env.hubctl_ok(&["lfs", "ls", REPO]);
    assert_eq!(text.lines().count(), 6);
    assert!(
        text.contains(&format!("{}\t{}\n", want[0].0, want[0].1)),
        "{text}"
    );

    // fsck: clean, then one corrupted and one misplaced object.
    let out = env.hubctl(&["lfs", "fsck", REPO]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("6 objects"), "{}", stderr(&out));
    let victim = object_path(&bare, &blob(6));
    std::fs::write(&victim, b"bit rot").unwrap();
    let stray = bare
        .join("lfs/objects/00/00")
        .join(Oid::of_bytes(b"x").as_str());
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"x").unwrap();
    let out = env.hubctl(&["lfs", "fsck", REPO]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = stdout(&out);
    let oid6 = Oid::of_bytes(&blob(6));
    assert!(
        report.contains(&format!(
            "corrupt: {oid6} hashes to {}",
            Oid::of_bytes(b"bit rot")
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "misplaced: {} (in the wrong shard directory)",
            stray.display()
        )),
        "{report}"
    );
    assert!(
        stderr(&out).contains("1 corrupt, 1 misplaced"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&victim, blob(6)).unwrap();

    // prune: a dry run by default, and with --dry-run.
    let oid5 = Oid::of_bytes(&blob(5)).to_string();
    for args in [
        &["lfs", "prune", REPO][..],
        &["lfs", "prune", REPO, "--dry-run"],
    ] {
        let out = env.hubctl(args);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out),
            format!("would remove {oid5}\t{}\n", blob(5).len())
        );
        assert!(
            stderr(&out).contains("kept 4 referenced, 1 unreferenced but stored within 1day"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
        assert!(object_path(&bare, &blob(5)).is_file());
    }
    // The grace period: at least a day; a longer one keeps object 5 too.
    let out = env.hubctl(&["lfs", "prune", REPO, "--yes", "--grace", "1h"]);
    assert!(!out.status.success(), "a grace period under a day accepted");
    assert!(stderr(&out).contains("at least 1d"), "{}", stderr(&out));
    let out = env.hubctl_ok(&["lfs", "prune", REPO, "--yes", "--grace", "4d"]);
    assert_eq!(out, "");
    assert!(object_path(&bare, &blob(5)).is_file());
    let conflicting = env.hubctl(&["lfs", "prune", REPO, "--yes", "--dry-run"]);
    assert!(!conflicting.status.success());
    // For real.
    let out = env.hubctl_ok(&["lfs", "prune", REPO, "--yes"]);
    assert_eq!(out, format!("removed {oid5}\t{}\n", blob(5).len()));
    assert!(!object_path(&bare, &blob(5)).exists());
    for n in [1, 2, 3, 4, 6] {
        assert!(object_path(&bare, &blob(n)).is_file(), "object {n} removed");
    }
    assert!(stray.is_file(), "misplaced entries are left alone");
    // Deleting the ref outside refs/heads makes object 4 unreferenced.
    site.git_ok(&wt, &["push", "-q", "origin", ":refs/keep/x"]);
    let out = env.hubctl_ok(&["lfs", "prune", REPO, "--yes"]);
    assert_eq!(
        out,
        format!("removed {}\t{}\n", Oid::of_bytes(&blob(4)), blob(4).len())
    );
    let v: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "show", REPO, "--json"])).unwrap();
    assert_eq!(v["lfs_objects"], 4);
}

/// `hubctl lfs` on a repository that does not exist fails with the name.
#[test]
fn lfs_commands_need_a_repository() {
    let env = Env::new();
    for cmd in ["ls", "fsck", "prune"] {
        let out = env.hubctl(&["lfs", cmd, "team/nothing"]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("repository team/nothing does not exist"),
            "{}",
            stderr(&out)
        );
    }
}
