//! Moving a repository's Git LFS objects between local storage and an S3 store (issue 18,
//! `hubctl lfs migrate-storage`), and `hubctl lfs fsck` on S3, against moto's S3 server on
//! loopback with the real git-lfs client pushing and pulling through `hubctl serve`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::push::write_random;

const REPO: &str = "alice/media";

/// hubctl serving one repository whose objects may live locally or in moto's bucket.
struct World {
    env: Env,
    moto: Moto,
    server: Server,
    token: String,
}

impl World {
    /// The S3 store configured globally, `lfs-storage` left local: the repository starts
    /// local, `migrate-storage` moves it.
    fn start(global_storage: &str) -> World {
        let env = Env::new();
        let token = env.user_with_token("alice", &[]);
        env.hubctl_ok(&["repo", "init", REPO, "--private"]);
        let moto = Moto::start();
        for (k, v) in [
            ("lfs-storage", global_storage),
            ("lfs-s3-endpoint", moto.endpoint.as_str()),
            ("lfs-s3-bucket", moto.bucket.as_str()),
            ("lfs-s3-region", moto.region.as_str()),
            ("lfs-s3-path-style", "on"),
            ("lfs-s3-prefix", "lfs"),
        ] {
            env.hubctl_ok(&["config", "set", k, v]);
        }
        let aws = moto.aws_env();
        let aws: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let server = Server::start_full(&env, "127.0.0.1:0", &[], &aws);
        let scratch = env.dir.path().to_path_buf();
        env.git_ok(&scratch, &["lfs", "install", "--skip-repo"]);
        World {
            env,
            moto,
            server,
            token,
        }
    }

    /// hubctl as the operator, with the store's credentials in its environment.
    fn admin_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(hubctl_bin());
        c.arg("--root").arg(&self.env.root);
        self.env.clean_env(&mut c);
        for (k, v) in self.moto.aws_env() {
            c.env(k, v);
        }
        c.args(args);
        c
    }

    fn admin(&self, args: &[&str]) -> Output {
        self.admin_cmd(args).output().expect("hubctl")
    }

    fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "hubctl {args:?} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// git as alice (her token through a credential helper), bounded in time.
    fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        let helper = format!(
            "!f() {{ test \"$1\" = get && printf 'username=alice\\npassword=%s\\n' '{}'; }}; f",
            self.token
        );
        let mut c = Command::new("timeout");
        c.args(["-k", "10", "300", "git"]).current_dir(cwd);
        self.env.clean_env(&mut c);
        c.arg("-c").arg(format!("credential.helper={helper}"));
        let out = c.args(args).output().expect("git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}\nstdout: {}\nstderr: {}\n--- hubctl ---\n{}\n--- moto ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.server.log.lines().join("\n"),
            tail(&self.moto.request_log(), 30)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn url(&self) -> String {
        self.server.url(REPO)
    }

    /// A clone (objects smudged) whose `files` must equal `wt`'s, byte for byte.
    fn clone_and_compare(&self, wt: &Path, dest: &str, files: &[String]) {
        let path = self.env.path(dest);
        self.git_ok(
            self.env.dir.path(),
            &["clone", "-q", &self.url(), path.to_str().unwrap()],
        );
        for f in files {
            assert_eq!(
                sha256_file(&wt.join(f)),
                sha256_file(&path.join(f)),
                "{f} differs in {dest}"
            );
        }
    }

    /// The objects in the repository's local store: (oid, size), from the files themselves.
    fn local_objects(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        walk(&self.env.bare(REPO).join("lfs/objects"), &mut out);
        out.sort();
        out
    }

    /// The objects in the bucket under the repository's prefix: (oid, size), each at its key.
    fn bucket_objects(&self) -> Vec<(String, u64)> {
        let prefix = format!("lfs/{REPO}/");
        self.moto
            .list(&prefix)
            .into_iter()
            .map(|(key, size)| {
                let oid = key.rsplit('/').next().unwrap().to_string();
                assert_eq!(key, format!("{prefix}{}/{}/{oid}", &oid[..2], &oid[2..4]));
                (oid, size)
            })
            .collect()
    }

    /// The repository's own lfs-storage choice as `repo show --json` prints it.
    fn pinned_storage(&self) -> serde_json::Value {
        let out = self.admin_ok(&["repo", "show", REPO, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["lfs_storage"].clone()
    }

    /// Start a migration and kill -9 it once `kill_after` of its stderr lines start with
    /// `marker`. Returns the lines it printed.
    fn migrate_killed(&self, to: &str, marker: &str, kill_after: usize) -> Vec<String> {
        let mut child = self
            .admin_cmd(&["lfs", "migrate-storage", REPO, "--to", to])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = Vec::new();
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.starts_with(marker) {
                seen += 1;
            }
            lines.push(line);
            if seen == kill_after || Instant::now() > deadline {
                break;
            }
        }
        // SAFETY: plain syscall on our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let status = child.wait().unwrap();
        assert_eq!(
            seen, kill_after,
            "the migration did not get that far: {lines:?}"
        );
        assert!(
            !status.success(),
            "the migration finished before the kill: {lines:?}"
        );
        lines
    }
}

fn walk(dir: &Path, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let m = e.metadata().unwrap();
        if m.is_dir() {
            walk(&e.path(), out);
        } else {
            let data = std::fs::read(e.path()).unwrap();
            let oid = hex(&Sha256::digest(&data));
            assert_eq!(
                e.file_name().to_str().unwrap(),
                oid,
                "a local object does not hash to its name"
            );
            out.push((oid, m.len()));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A working repository with `*.bin` tracked by git-lfs and `count` objects of a few sizes
/// committed; returns it and the file names.
fn worktree_with_objects(w: &World, count: usize) -> (PathBuf, Vec<String>) {
    let wt = w.env.path("work");
    std::fs::create_dir_all(&wt).unwrap();
    w.env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    w.env.git_ok(&wt, &["lfs", "install", "--local"]);
    w.env.git_ok(&wt, &["lfs", "track", "*.bin"]);
    w.env.git_ok(&wt, &["remote", "add", "origin", &w.url()]);
    let mut files = Vec::new();
    for i in 0..count {
        let name = format!("f{i:02}.bin");
        // From 1 byte up to about 1.5 MiB, one of them empty.
        let size = match i {
            0 => 0,
            1 => 1_500_000,
            _ => 1 + (i * 37_311) % 200_000,
        };
        write_random(&wt.join(&name), size, 1000 + i as u64);
        files.push(name);
    }
    w.env.git_ok(&wt, &["add", "-A"]);
    w.env.git_ok(&wt, &["commit", "-q", "-m", "objects"]);
    (wt, files)
}

/// local → s3 → local with the real git-lfs client pushing first and pulling after each move;
/// each move is killed (SIGKILL) once midway, the first while copying, the second while
/// removing the old copies, and a second run finishes it: every object is in exactly one store
/// at the end, verified, each sent once, and clones get every file back byte for byte.
#[test]
fn migration_local_to_s3_and_back_survives_a_kill_and_keeps_every_object() {
    let w = World::start("local");
    let (wt, mut files) = worktree_with_objects(&w, 30);
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let pushed = w.local_objects();
    // The empty file has no object to store (git-lfs never uploads it).
    assert_eq!(pushed.len(), 29, "{pushed:?}");
    assert!(w.bucket_objects().is_empty());
    assert_eq!(w.pinned_storage(), serde_json::Value::Null);

    // 1. local → s3, killed after 5 objects are copied.
    let lines = w.migrate_killed("s3", "copied ", 5);
    assert!(lines[0].contains("29 objects"), "{lines:?}");
    let partial = w.bucket_objects();
    assert!(
        partial.len() >= 5 && partial.len() < 29,
        "not midway: {} objects in the bucket",
        partial.len()
    );
    assert_eq!(w.local_objects(), pushed, "the kill lost local objects");
    assert_eq!(
        w.pinned_storage(),
        serde_json::Value::Null,
        "switched too early"
    );
    // Downloads still work meanwhile, from local storage.
    w.clone_and_compare(&wt, "clone-during", &files);

    // The second run: what the first copied is verified, not sent again.
    let out = w.admin(&["lfs", "migrate-storage", REPO, "--to", "s3"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let already = err
        .lines()
        .filter(|l| l.starts_with("already there "))
        .count();
    let copied = err.lines().filter(|l| l.starts_with("copied ")).count();
    assert_eq!(already, partial.len(), "{err}");
    assert_eq!(already + copied, 29, "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("removed ")).count(),
        29,
        "{err}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("{copied} sent, {already} already there")),
        "{summary}"
    );
    assert_eq!(
        w.bucket_objects(),
        pushed,
        "the bucket does not hold every object"
    );
    assert!(w.local_objects().is_empty(), "old local copies left");
    assert_eq!(w.pinned_storage(), "s3");
    w.admin_ok(&["lfs", "fsck", REPO]);

    // Clients now get the bucket: a clone gets every file; a new push lands in the bucket.
    w.clone_and_compare(&wt, "clone-s3", &files);
    write_random(&wt.join("late.bin"), 300_000, 77);
    files.push("late.bin".into());
    w.env.git_ok(&wt, &["add", "-A"]);
    w.env.git_ok(&wt, &["commit", "-q", "-m", "late"]);
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let in_bucket = w.bucket_objects();
    assert_eq!(in_bucket.len(), 30, "{in_bucket:?}");
    assert!(w.local_objects().is_empty());

    // 2. s3 → local, killed after 3 old copies are removed (the switch is done by then).
    let lines = w.migrate_killed("local", "removed ", 3);
    assert!(
        lines.iter().any(|l| l.starts_with("switched ")),
        "{lines:?}"
    );
    assert_eq!(w.pinned_storage(), "local");
    assert_eq!(w.local_objects(), in_bucket, "the new store lacks objects");
    let left = w.bucket_objects().len();
    assert!(
        (1..=27).contains(&left),
        "{left} objects left in the bucket"
    );
    w.clone_and_compare(&wt, "clone-between", &files);

    let out = w.admin(&["lfs", "migrate-storage", REPO, "--to", "local"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("already there "))
            .count(),
        left,
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("copied ")).count(),
        0,
        "{err}"
    );
    assert!(
        w.bucket_objects().is_empty(),
        "old copies left in the bucket"
    );
    assert_eq!(w.local_objects(), in_bucket);
    w.admin_ok(&["lfs", "fsck", REPO]);
    w.clone_and_compare(&wt, "clone-local", &files);

    // Once more: nothing to move is a success that moves nothing.
    let out = w.admin_ok(&["lfs", "migrate-storage", REPO, "--to", "local"]);
    assert!(out.contains("0 sent, 0 already there"), "{out}");
}

/// An object overwritten in the bucket behind hubctl's back (same key, same size, other
/// bytes) is caught by `hubctl lfs fsck`, which names it and exits 1; the others pass, and
/// once the right bytes are back fsck is clean again.
#[test]
fn fsck_on_s3_catches_an_object_tampered_with_in_the_bucket() {
    let w = World::start("s3");
    let (wt, files) = worktree_with_objects(&w, 4);
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let objects = w.bucket_objects();
    assert_eq!(objects.len(), 3, "{objects:?}");
    assert!(w.local_objects().is_empty());
    let out = w.admin_ok(&["lfs", "fsck", REPO]);
    assert!(!out.contains("corrupt"), "{out}");

    let (oid, size) = objects[1].clone();
    let key = format!("lfs/{REPO}/{}/{}/{oid}", &oid[..2], &oid[2..4]);
    let original = w.moto.get_object(&key).unwrap();
    let mut tampered = original.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x55;
    w.moto.put_object(&key, &tampered);
    assert_eq!(w.bucket_objects()[1], (oid.clone(), size));

    let out = w.admin(&["lfs", "fsck", REPO]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let corrupt: Vec<&str> = stdout.lines().filter(|l| l.contains("corrupt")).collect();
    assert_eq!(corrupt.len(), 1, "{stdout}");
    assert!(corrupt[0].contains(&oid), "{stdout}");
    assert!(
        corrupt[0].contains(&hex(&Sha256::digest(&tampered))),
        "{stdout}"
    );

    w.moto.put_object(&key, &original);
    let out = w.admin_ok(&["lfs", "fsck", REPO]);
    assert!(!out.contains("corrupt"), "{out}");
    w.clone_and_compare(&wt, "clone", &files);
}

/// On a terminal (a pty here) the migration draws a progress bar instead of a line per object:
/// frames while it copies, and a last frame that stays, at the whole total (every object, a
/// full bar, all the bytes).
#[test]
fn migration_draws_a_progress_bar_on_a_terminal_that_ends_at_the_total() {
    let w = World::start("local");
    let (wt, files) = worktree_with_objects(&w, 30);
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    assert_eq!(w.local_objects().len(), 29);

    // python's pty.spawn runs hubctl on a new pty and copies what it draws to our pipe.
    let mut c = Command::new("timeout");
    c.args([
        "-k",
        "5",
        "120",
        "python3",
        "-c",
        "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))",
    ]);
    c.arg(hubctl_bin()).arg("--root").arg(&w.env.root).args([
        "lfs",
        "migrate-storage",
        REPO,
        "--to",
        "s3",
    ]);
    w.env.clean_env(&mut c);
    for (k, v) in w.moto.aws_env() {
        c.env(k, v);
    }
    let out = c
        .env("TERM", "xterm")
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{raw}");
    // Frames are separated by carriage returns and cursor movements; drop the escapes.
    let text = strip_escapes(&raw);
    let frames: Vec<&str> = text
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|f| f.contains(" objects") || f.contains("moving "))
        .collect();
    assert!(
        frames
            .iter()
            .any(|f| f.contains(&format!("moving {REPO} to s3")) && f.contains('[')),
        "no frame while copying: {frames:?}"
    );
    // Not one line per object, as without a terminal.
    assert!(!text.contains("copied "), "{text}");
    let last = frames
        .iter()
        .rev()
        .find(|f| f.contains('['))
        .unwrap_or_else(|| panic!("no bar drawn: {raw:?}"));
    assert!(
        last.contains(&format!("moved {REPO} to s3: 29/29 objects")),
        "{last}"
    );
    assert!(last.contains(&format!("[{}]", "=".repeat(30))), "{last}");
    let bytes = last
        .split("] ")
        .nth(1)
        .and_then(|r| r.split(" (").next())
        .unwrap_or_else(|| panic!("no byte counts in {last:?}"));
    let (done, total) = bytes.split_once('/').unwrap();
    assert_eq!(done, total, "{last}");
    assert!(total.ends_with("MiB"), "{last}");
    // The summary follows, and the objects did move.
    assert!(text.contains("29 sent, 0 already there"), "{text}");
    assert_eq!(w.bucket_objects().len(), 29);
    w.clone_and_compare(&wt, "clone", &files);
}

/// `s` without terminal escape sequences (CSI `ESC [ ... final`, and lone `ESC x`).
fn strip_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}
