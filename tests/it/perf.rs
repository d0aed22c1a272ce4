//! Correctness of the speed features (their speed is the benchmark's business): the pack cache,
//! automatic maintenance and `repo gc`, and the engine concurrency limit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;

const REPO: &str = "alice/data";

/// A served repository with some history and a token that may push to it.
fn setup() -> (Env, Server, String, PathBuf) {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "init", REPO]);
    let wt = env.fixture_worktree("src");
    for i in 0..30 {
        crate::push::write_random(&wt.join(format!("blob{i}.bin")), 16 * 1024, i);
        env.git_ok(&wt, &["add", "-A"]);
        env.git_ok(&wt, &["commit", "-qm", &format!("commit {i}")]);
    }
    let server = env.serve(&[]);
    let url = push_url(&server, &token);
    env.git_ok(&wt, &["push", "-q", &url, "main", "dev"]);
    (env, server, token, wt)
}

fn push_url(server: &Server, token: &str) -> String {
    server
        .url(REPO)
        .replacen("http://", &format!("http://alice:{token}@"), 1)
}

fn cache_entries(env: &Env) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(shards) = std::fs::read_dir(env.root.join("cache/packs")) {
        for s in shards.flatten() {
            for f in std::fs::read_dir(s.path()).unwrap().flatten() {
                if f.file_name().to_string_lossy().ends_with(".pack") {
                    v.push(f.path());
                }
            }
        }
    }
    v.sort();
    v
}

/// The received pack's name is the hash of its bytes.
fn received_pack(clone: &Path) -> String {
    let dir = clone.join(".git/objects/pack");
    let mut packs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pack"))
        .collect();
    assert_eq!(packs.len(), 1, "{packs:?}");
    packs.pop().unwrap()
}

fn objects(env: &Env, clone: &Path) -> Vec<String> {
    let mut v: Vec<String> = env
        .git_ok(clone, &["rev-list", "--objects", "--all"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Repeated clones are served byte-identical from the cache, also after maintenance; they
/// match an uncached clone; a push in between gives a fresh pack, never a stale one.
#[test]
fn pack_cache_serves_identical_packs_and_never_stale_ones() {
    let (env, server, token, wt) = setup();
    // Let the maintenance the setup push scheduled finish (a forced run waits for its lock),
    // then keep it from running on its own, so that below a ref is loose until `repo gc`.
    env.hubctl_ok(&["repo", "gc", REPO]);
    env.hubctl_ok(&["config", "set", "auto-maintenance", "off"]);
    env.git_ok(
        &wt,
        &["push", "-q", &push_url(&server, &token), "main:topic"],
    );
    let loose_ref = env.root.join("repos/alice/data.git/refs/heads/topic");
    assert!(loose_ref.exists());
    let url = server.url(REPO);
    let clone = |dest: &str| {
        let d = env.path(dest);
        env.git_ok(
            env.dir.path(),
            &["clone", "-q", "--no-checkout", &url, d.to_str().unwrap()],
        );
        env.git_ok(&d, &["fsck", "--strict", "--no-progress"]);
        d
    };
    // `repo gc` prepared an entry for a full clone of the repository as it was before the
    // push of `topic`.
    let before = cache_entries(&env);
    let first = clone("first");
    // The entry is synced and published after the response, off the client's path.
    assert!(
        eventually(Duration::from_secs(30), || cache_entries(&env).len()
            == before.len() + 1),
        "the first clone did not fill the cache"
    );
    let entries = cache_entries(&env);
    let new_entry = entries.iter().find(|e| !before.contains(e)).unwrap();
    let mut cached_bytes = std::fs::read(new_entry).unwrap();
    // Each entry ends with a trailer: a magic and the pack's length.
    let trailer = cached_bytes.split_off(cached_bytes.len() - 16);
    assert_eq!(&trailer[..8], b"HUBCPK01");
    assert_eq!(
        u64::from_le_bytes(trailer[8..].try_into().unwrap()),
        cached_bytes.len() as u64
    );
    // Maintenance repacks and moves loose refs into packed-refs: the refs keep their values,
    // so the entry stays valid.
    env.hubctl_ok(&["repo", "gc", REPO]);
    assert!(!loose_ref.exists(), "gc did not pack the refs");
    let second = clone("second");
    let third = clone("third");
    assert_eq!(
        received_pack(&first),
        received_pack(&second),
        "cached pack differs"
    );
    assert_eq!(received_pack(&second), received_pack(&third));
    assert_eq!(cache_entries(&env), entries, "a hit must not add entries");
    let pack_bytes = std::fs::read(
        second
            .join(".git/objects/pack")
            .join(received_pack(&second)),
    )
    .unwrap();
    assert_eq!(
        pack_bytes, cached_bytes,
        "the client did not get the cached bytes"
    );
    // An uncached clone has the same content.
    env.hubctl_ok(&["config", "set", "pack-cache-size", "off"]);
    let uncached_server = env.serve(&[]);
    let plain = env.path("plain");
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            "--no-checkout",
            &uncached_server.url(REPO),
            plain.to_str().unwrap(),
        ],
    );
    assert_eq!(objects(&env, &plain), objects(&env, &second));
    assert_eq!(
        refs_of(&env, &plain.join(".git")),
        refs_of(&env, &second.join(".git"))
    );
    assert_eq!(
        cache_entries(&env),
        entries,
        "the cache was used while switched off"
    );
    env.hubctl_ok(&["config", "unset", "pack-cache-size"]);
    drop(uncached_server);
    // A push changes the repository state: the next clone must include it.
    env.add_commit(&wt, "after.txt", "after\n", "after the first clones");
    env.git_ok(&wt, &["push", "-q", &push_url(&server, &token), "main"]);
    let fresh = clone("fresh");
    assert_eq!(
        env.git_ok(&fresh, &["rev-parse", "origin/main"]),
        env.git_ok(&wt, &["rev-parse", "main"]),
        "a stale pack was served"
    );
    assert_ne!(received_pack(&fresh), received_pack(&second));
    assert!(eventually(Duration::from_secs(30), || cache_entries(&env)
        .len()
        == entries.len() + 1));
}

/// A shared counter of the root (`<root>/run/metrics/NAME`, what `/metrics` reports).
fn counter(env: &Env, name: &str) -> u64 {
    std::fs::read(env.root.join("run/metrics").join(name))
        .ok()
        .and_then(|b| {
            b.get(..8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        })
        .unwrap_or(0)
}

/// Maintenance prepares the pack cache's entry for a plain full clone (HEAD, branches and
/// tags, as `git clone` asks): the first clone after it is a cache hit, so its request runs
/// no pack-objects and writes no entry, and it gets the prepared bytes.
#[test]
fn maintenance_prefills_the_pack_cache_for_the_first_clone() {
    let (env, server, token, wt) = setup();
    // Let the run the push scheduled end (a forced run waits for its lock), and schedule no
    // more: an entry for the repository as it is now must come from the forced run below.
    env.hubctl_ok(&["repo", "gc", REPO]);
    env.hubctl_ok(&["config", "set", "auto-maintenance", "off"]);
    env.git_ok(&wt, &["tag", "-a", "v1", "-m", "release 1", "main~3"]);
    env.git_ok(&wt, &["tag", "v0", "main~5"]);
    env.git_ok(&wt, &["push", "-q", &push_url(&server, &token), "--tags"]);
    let before = cache_entries(&env);
    env.hubctl_ok(&["repo", "gc", REPO]);
    let entries = cache_entries(&env);
    let prepared: Vec<_> = entries.iter().filter(|e| !before.contains(e)).collect();
    assert_eq!(
        prepared.len(),
        1,
        "maintenance prepared no entry: {entries:?}"
    );
    let prepared = prepared[0].clone();
    let (hits, misses) = (
        counter(&env, "pack_cache_hits"),
        counter(&env, "pack_cache_misses"),
    );
    let d = env.path("first");
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            "--no-checkout",
            &server.url(REPO),
            d.to_str().unwrap(),
        ],
    );
    env.git_ok(&d, &["fsck", "--strict", "--no-progress"]);
    assert_eq!(
        (
            counter(&env, "pack_cache_hits"),
            counter(&env, "pack_cache_misses")
        ),
        (hits + 1, misses),
        "the first clone after maintenance was not answered from the cache"
    );
    assert_eq!(cache_entries(&env), entries, "the clone wrote an entry");
    let mut cached = std::fs::read(&prepared).unwrap();
    cached.truncate(cached.len() - 16);
    let received = std::fs::read(d.join(".git/objects/pack").join(received_pack(&d))).unwrap();
    assert_eq!(received, cached, "the client did not get the prepared pack");
    assert_eq!(
        env.git_ok(&d, &["rev-parse", "v1^{commit}", "v0"]),
        env.git_ok(&wt, &["rev-parse", "v1^{commit}", "v0"])
    );
}

/// An entry that does not hold what was synced (a crash cut it short or left zeros where its
/// data should be) is never served: the size check on open drops it, the clone gets a freshly
/// made pack, and a good entry takes its place.
#[test]
fn pack_cache_never_serves_an_entry_a_crash_damaged() {
    let (env, server, _token, _wt) = setup();
    let url = server.url(REPO);
    let clone = |dest: &str| {
        let d = env.path(dest);
        env.git_ok(
            env.dir.path(),
            &["clone", "-q", "--no-checkout", &url, d.to_str().unwrap()],
        );
        env.git_ok(&d, &["fsck", "--strict", "--no-progress"]);
        d
    };
    let first = clone("first");
    assert!(eventually(Duration::from_secs(30), || cache_entries(&env)
        .len()
        == 1));
    let entry = cache_entries(&env).remove(0);
    let good = std::fs::read(&entry).unwrap();
    let damaged: [Vec<u8>; 3] = [
        // Cut short.
        good[..good.len() / 2].to_vec(),
        // Full size, but the end never reached the disk.
        [&good[..good.len() - 4096], &[0u8; 4096][..]].concat(),
        // Nothing at all.
        Vec::new(),
    ];
    for (i, bytes) in damaged.iter().enumerate() {
        std::fs::write(&entry, bytes).unwrap();
        let d = clone(&format!("after-damage-{i}"));
        assert_eq!(objects(&env, &d), objects(&env, &first), "damage {i}");
        assert!(
            eventually(Duration::from_secs(30), || std::fs::read(&entry)
                .is_ok_and(|b| b == good)),
            "damage {i}: the entry was not replaced by a good one"
        );
    }
}

/// The cache stays within its bound, dropping the least recently used entries.
#[test]
fn pack_cache_is_bounded() {
    let (env, server, _token, wt) = setup();
    // Room for about one entry: each clone below differs (shallow depth), so each is new.
    let one = std::fs::metadata(&{
        let d = env.path("probe");
        env.git_ok(
            env.dir.path(),
            &[
                "clone",
                "-q",
                "--no-checkout",
                &server.url(REPO),
                d.to_str().unwrap(),
            ],
        );
        assert!(eventually(Duration::from_secs(30), || !cache_entries(&env).is_empty()));
        cache_entries(&env)[0].clone()
    })
    .unwrap()
    .len();
    drop(server);
    env.hubctl_ok(&[
        "config",
        "set",
        "pack-cache-size",
        &(one * 2 + one / 2).to_string(),
    ]);
    let server = env.serve(&[]);
    let _ = wt;
    for depth in 1..=6 {
        let d = env.path(&format!("shallow{depth}"));
        env.git_ok(
            env.dir.path(),
            &[
                "clone",
                "-q",
                "--no-checkout",
                "--depth",
                &depth.to_string(),
                "--branch",
                "main",
                &server.url(REPO),
                d.to_str().unwrap(),
            ],
        );
        // Entries are published and the cache trimmed just after each response.
        let total = || -> u64 {
            cache_entries(&env)
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum()
        };
        assert!(
            eventually(Duration::from_secs(30), || total() <= one * 2 + one / 2),
            "cache grew to {} bytes",
            total()
        );
    }
}

/// A push schedules maintenance in the background: the repository gets a multi-pack index with
/// bitmaps and a commit-graph without anyone asking, and the push did not wait for it.
#[test]
fn maintenance_runs_after_push() {
    let (env, _server, _token, _wt) = setup();
    let pack = env.bare(REPO).join("objects/pack");
    let info = env.bare(REPO).join("objects/info");
    assert!(
        eventually(Duration::from_secs(30), || pack
            .join("multi-pack-index")
            .exists()
            && info.join("commit-graphs").exists()
            && std::fs::read_dir(&pack)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".bitmap"))),
        "no maintenance after the push: {:?}",
        std::fs::read_dir(&pack)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect::<Vec<_>>()
    );
    // In shape now: --auto does nothing (once the scheduled run, which fills the pack cache
    // after the steps above, has let go of the lock); a forced run reports its steps.
    let mut auto = serde_json::Value::Null;
    assert!(
        eventually(Duration::from_secs(30), || {
            auto = serde_json::from_str(&env.hubctl_ok(&["repo", "gc", REPO, "--auto", "--json"]))
                .unwrap();
            auto.as_array().is_some_and(|runs| !runs.is_empty())
        }),
        "the scheduled run never ended"
    );
    assert_eq!(auto[0]["ran"], false, "{auto}");
    let forced: serde_json::Value =
        serde_json::from_str(&env.hubctl_ok(&["repo", "gc", REPO, "--json"])).unwrap();
    assert_eq!(forced["ran"], true);
    assert_eq!(forced["after"]["multi_pack_index"], true);
    assert_eq!(forced["after"]["bitmap"], true);
    assert_eq!(forced["after"]["commit_graph"], true);
    assert_eq!(forced["steps"].as_array().unwrap().len(), 5);
    env.git_ok(&env.bare(REPO), &["fsck", "--strict", "--no-progress"]);
    // Switched off: no scheduling.
    env.hubctl_ok(&["config", "set", "auto-maintenance", "off"]);
    let log = env.root.join("run/maintenance/alice/data.log");
    let before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let pending = env.root.join("run/maintenance/alice/data.pending");
    let _ = std::fs::remove_file(&pending);
    let (server, token) = (
        env.serve(&[]),
        env.hubctl_ok(&["token", "create", "--user", "alice"])
            .trim()
            .to_string(),
    );
    let wt2 = env.path("src");
    env.add_commit(&wt2, "off.txt", "off\n", "with maintenance off");
    env.git_ok(&wt2, &["push", "-q", &push_url(&server, &token), "main"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !pending.exists(),
        "maintenance scheduled although switched off"
    );
    assert_eq!(
        std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0),
        before
    );
}

/// A push that leaves the repository in shape (one small pack beside the multi-pack index)
/// schedules no maintenance: the hook starts no `repo gc --auto` and leaves no pending mark;
/// one that brings it out of shape does.
#[test]
fn a_push_into_a_repository_in_shape_schedules_nothing() {
    let (env, server, token, wt) = setup();
    // The run the setup push scheduled is over once a forced run got the lock.
    env.hubctl_ok(&["repo", "gc", REPO]);
    let pending = env.root.join("run/maintenance/alice/data.pending");
    // Its mark goes: a `repo gc --auto` that found the forced run holding the lock leaves it
    // (only hooks create marks, so from here one means a push scheduled maintenance).
    let _ = std::fs::remove_file(&pending);
    // Hold the maintenance lock, as a long run would: a scheduled `repo gc --auto` then finds
    // it taken and leaves the pending mark for the holder.
    let lock = env.root.join("run/maintenance/alice/data.lock");
    let _holder = ChildGuard(Some({
        let mut c = std::process::Command::new("flock");
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        c.arg(&lock)
            .args(["sleep", "60"])
            .spawn()
            .expect("flock(1)")
    }));
    assert!(eventually(Duration::from_secs(5), || {
        std::process::Command::new("flock")
            .arg("-n")
            .arg(&lock)
            .arg("true")
            .status()
            .is_ok_and(|s| !s.success())
    }));
    env.add_commit(&wt, "small.txt", "small\n", "a small push");
    env.git_ok(&wt, &["push", "-q", &push_url(&server, &token), "main"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !pending.exists(),
        "a push into a repository in shape scheduled maintenance"
    );
    // Out of shape (no multi-pack index any more): scheduled.
    std::fs::remove_file(env.bare(REPO).join("objects/pack/multi-pack-index")).unwrap();
    env.add_commit(&wt, "small2.txt", "small\n", "another small push");
    env.git_ok(&wt, &["push", "-q", &push_url(&server, &token), "main"]);
    assert!(
        eventually(Duration::from_secs(10), || pending.exists()),
        "a push into a repository out of shape scheduled nothing"
    );
}

/// A push into a repository hubctl maintains starts no `git maintenance run --auto` (git's own
/// housekeeping after receive-pack, which hubctl's maintenance replaces), unless the repository's
/// config asks for it with `receive.autoGc` (the operator's setting wins). Over stdio, so that the
/// client's `GIT_TRACE2_EVENT` reaches every process on the server side.
#[test]
fn pushes_run_no_git_auto_gc_where_hubctl_maintains() {
    let (env, _server, _token, wt) = setup();
    let push = |file: &str, trace: &Path| {
        env.add_commit(&wt, file, "x\n", file);
        let out = env
            .git_cmd(&wt)
            .env("GIT_TRACE2_EVENT", trace)
            .args([
                "push",
                "-q",
                "--receive-pack",
                &format!(
                    "'{}' --root '{}' receive-pack",
                    hubctl_bin().display(),
                    env.root.display()
                ),
                &format!("file:///{REPO}.git"),
                "main",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let events = std::fs::read_to_string(trace).unwrap();
        events.contains(r#""argv":["git","maintenance","run","--auto""#)
            || events.contains(r#""maintenance","run","--auto""#)
    };
    assert!(
        !push("one.txt", &env.path("trace1.json")),
        "receive-pack ran git's auto maintenance"
    );
    env.git_ok(&env.bare(REPO), &["config", "receive.autoGc", "true"]);
    assert!(
        push("two.txt", &env.path("trace2.json")),
        "the repository's receive.autoGc was overridden"
    );
}

/// Maintenance running while clones and pushes go on breaks neither.
#[test]
fn maintenance_beside_clones_and_pushes() {
    let (env, server, token, wt) = setup();
    let stop = std::sync::atomic::AtomicBool::new(false);
    /// Stops the maintenance loop however the scope ends (a failed assertion must not leave
    /// the scope waiting forever for it).
    struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        let stopper = StopOnDrop(&stop);
        let gc = s.spawn(|| {
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                env.hubctl_ok(&["repo", "gc", REPO]);
                runs += 1;
            }
            runs
        });
        for i in 0..6 {
            let d = env.path(&format!("c{i}"));
            env.git_ok(
                env.dir.path(),
                &["clone", "-q", &server.url(REPO), d.to_str().unwrap()],
            );
            env.git_ok(&d, &["fsck", "--no-progress"]);
            env.add_commit(
                &wt,
                &format!("during/{i}.txt"),
                &format!("{i}\n"),
                &format!("during gc {i}"),
            );
            env.git_ok(&wt, &["push", "-q", &push_url(&server, &token), "main"]);
        }
        drop(stopper);
        assert!(
            gc.join().unwrap() >= 2,
            "maintenance did not overlap the clones"
        );
    });
    env.git_ok(&env.bare(REPO), &["fsck", "--strict", "--no-progress"]);
    assert_eq!(
        env.git_ok(&env.bare(REPO), &["rev-parse", "main"]),
        env.git_ok(&wt, &["rev-parse", "main"])
    );
}

/// With every engine slot taken, a request waits its queue timeout and then gets 503 with
/// Retry-After; SSH-less stdio callers get one line.
#[test]
fn engine_queue_answers_503_when_full() {
    let (env, server, token, _wt) = setup();
    env.hubctl_ok(&["config", "set", "max-engines", "1"]);
    env.hubctl_ok(&["config", "set", "queue-timeout", "1s"]);
    drop(server);
    let server = env.serve(&[]);
    // Occupy the only slot: a push whose commands and the first bytes of its pack arrived
    // (only then does a push take a slot), after which the pack never finishes; git waits
    // for the rest of it. (An upload-pack request takes a slot only once it is complete.)
    use std::io::Write;
    let host = server.base.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&host).unwrap();
    let head = env.git_ok(&env.bare(REPO), &["rev-parse", "main"]);
    let command = format!(
        "{} {} refs/heads/slow\0report-status\n",
        "0".repeat(40),
        head.trim()
    );
    let body = format!("{:04x}{command}0000PACK", command.len() + 4);
    write!(
        slow,
        "POST /{REPO}.git/git-receive-pack HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-git-receive-pack-request\r\nContent-Length: 100000\r\n\r\n{body}",
    )
    .unwrap();
    // The slot is taken once git's engine runs for that request.
    assert!(
        crate::fetch::engine_started(&env.bare(REPO), "receive-pack"),
        "the slow request never reached git"
    );
    // A ref advertisement hubctl answers itself needs no slot: a busy server still answers
    // the no-op fetches of a polling fleet.
    let (status, text) = curl(&[&format!(
        "{}/info/refs?service=git-upload-pack",
        server.url(REPO)
    )]);
    assert_eq!(status, 200, "{text}");
    // Anything that runs git waits for a slot, then gets 503.
    let auth = format!("Authorization: Bearer {token}");
    let receive_refs = format!("{}/info/refs?service=git-receive-pack", server.url(REPO));
    let start = std::time::Instant::now();
    let (status, text) = curl(&["-H", &auth, &receive_refs]);
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("Retry-After: 10"), "{text}");
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "did not wait for a slot"
    );
    let clone = env.path("busy-clone");
    let out = env.git(
        env.dir.path(),
        &["clone", "-q", &server.url(REPO), clone.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("503"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.hubctl(&["upload-pack", "--advertise-refs", REPO]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("busy"));
    // Once the slot frees up, requests flow again.
    drop(slow);
    assert!(eventually(Duration::from_secs(10), || curl(&[
        "-H",
        &auth,
        &receive_refs
    ])
    .0 == 200));
}

/// The v2 capability advertisement is git's own output, cached; a configuration change in the
/// repository shows up at once.
#[test]
fn v2_advertisement_cache_follows_config() {
    let (env, server, _token, _wt) = setup();
    let url = format!("{}/info/refs?service=git-upload-pack", server.url(REPO));
    let get = || {
        let (status, text) = curl(&["-H", "Git-Protocol: version=2", &url]);
        assert_eq!(status, 200);
        text.split_once("\r\n\r\n").unwrap().1.to_string()
    };
    let first = get();
    assert!(
        first.starts_with("000eversion 2\n") && first.ends_with("0000"),
        "{first}"
    );
    let cache = env.root.join("cache/advertisements");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1, "not cached");
    assert_eq!(get(), first);
    // What git itself prints for the same request.
    let git = env
        .git_cmd(env.dir.path())
        .args([
            "-c",
            "uploadpack.allowFilter=true",
            "-c",
            "uploadpack.allowReachableSHA1InWant=true",
        ])
        .args(["upload-pack", "--stateless-rpc", "--advertise-refs"])
        .arg(env.bare(REPO))
        .env("GIT_PROTOCOL", "version=2")
        .output()
        .unwrap();
    let own: String = String::from_utf8_lossy(&git.stdout).into_owned();
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("agent="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&first), strip(&own));
    assert!(!first.contains("ref-in-want"));
    env.git_ok(
        &env.bare(REPO),
        &["config", "uploadpack.allowRefInWant", "true"],
    );
    assert!(
        get().contains("ref-in-want"),
        "a config change was not picked up"
    );
    // v0 is never served from this cache: its advertisement lists the refs.
    let (_, v0) = curl(&[&url]);
    assert!(v0.contains("# service=git-upload-pack") && v0.contains("refs/heads/main"));
}

/// Reachability bitmaps (written by maintenance) make git's pack-objects drop thin-pack deltas
/// against what the client has; hubctl uses them for clones only, so an incremental fetch from
/// a maintained repository is exactly as small as one without bitmaps.
#[test]
fn incremental_fetch_stays_small_after_maintenance() {
    let env = Env::new();
    let token = env.user_with_token("alice", &[]);
    env.hubctl_ok(&["repo", "init", REPO]);
    let wt = env.path("grow");
    std::fs::create_dir_all(&wt).unwrap();
    env.git_ok(&wt, &["init", "-q", "-b", "main"]);
    // Many files, each commit touching a different one: a new version's only good delta base
    // is its previous version, which the client already has (a thin-pack delta).
    let grow = |from: u32, to: u32| {
        for i in from..to {
            let f = i % 100;
            let path = wt.join(format!("doc{f:03}.txt"));
            let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                (0..200)
                    .map(|l| format!("file {f} line {l}: {}\n", "lorem ipsum dolor ".repeat(3)))
                    .collect()
            });
            text.push_str(&format!("change {i}\n"));
            std::fs::write(&path, text).unwrap();
            env.git_ok(&wt, &["add", "-A"]);
            env.git_ok(&wt, &["commit", "-qm", &format!("commit {i}")]);
        }
    };
    // One push of the whole history (one pack, as a server receives it); the client has all
    // but the last 30 commits.
    grow(0, 230);
    env.git_ok(&wt, &["branch", "old", "HEAD~30"]);
    let server = env.serve(&[]);
    let push = push_url(&server, &token);
    env.git_ok(&wt, &["push", "-q", &push, "main"]);
    let client = env.path("client");
    env.git_ok(
        env.dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            "--no-local",
            "--single-branch",
            "--branch",
            "old",
            wt.to_str().unwrap(),
            client.to_str().unwrap(),
        ],
    );
    env.hubctl_ok(&["repo", "gc", REPO]);
    let bare = env.bare(REPO);
    assert!(
        std::fs::read_dir(bare.join("objects/pack"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".bitmap"))
    );
    let fetch_bytes = |upload_pack: Option<&str>, url: &str| {
        let c = env.path(&format!("c-{}", upload_pack.is_some()));
        let _ = std::fs::remove_dir_all(&c);
        env.git_ok(
            env.dir.path(),
            &[
                "clone",
                "-q",
                "--bare",
                "--no-local",
                client.to_str().unwrap(),
                c.to_str().unwrap(),
            ],
        );
        let dump = env.path("dump");
        let _ = std::fs::remove_file(&dump);
        let mut cmd = env.git_cmd(&c);
        cmd.arg("fetch").arg("-q");
        if let Some(u) = upload_pack {
            cmd.arg(format!("--upload-pack={u}"));
        }
        let out = cmd
            .arg(url)
            .arg("main")
            .env("GIT_TRACE_PACKFILE", &dump)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::metadata(&dump).unwrap().len()
    };
    let via_hubctl = fetch_bytes(None, &server.url(REPO));
    let without_bitmaps = fetch_bytes(
        Some("git -c pack.useBitmaps=false upload-pack"),
        &format!("file://{}", bare.display()),
    );
    let with_bitmaps = fetch_bytes(
        Some("git upload-pack"),
        &format!("file://{}", bare.display()),
    );
    // The fixture must show the effect, or this test would prove nothing.
    assert!(
        with_bitmaps > without_bitmaps,
        "{with_bitmaps} <= {without_bitmaps}"
    );
    assert_eq!(
        via_hubctl, without_bitmaps,
        "with bitmaps git would send {with_bitmaps}"
    );
}
