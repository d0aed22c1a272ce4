//! Git LFS objects in an S3-compatible store (issue 18), proven against moto's S3 server on
//! loopback with the real git-lfs client (3.3.0), over `hubctl serve`, nginx + fcgiwrap +
//! `hubctl cgi` (the README's snippet) and SSH (`git-lfs-transfer` through a real sshd):
//!
//! - presigned mode: the batch answer sends the client straight to moto; moto's request log has
//!   the object PUTs and GETs, hubctl's log none, and moto's wire log (User-Agent and body bytes
//!   per request) says git-lfs carried every object byte and hubctl none; in proxy mode the
//!   opposite;
//! - proxy mode (`lfs-s3-proxy on`) and `git-lfs-transfer`: hubctl streams the bytes, with a
//!   multipart upload for an object over 64 MiB;
//! - the store stopped in the middle of a push: a clear error, nothing half-stored, and the push
//!   goes through once the store is back;
//! - a missing bucket, missing credentials and an unreachable store: the documented status and
//!   one log line naming the cause; `hubctl doctor` checks the store.
//!
//! `serve` gets its credentials from AWS's environment variables; CGI and SSH (whose
//! environments the web server and sshd clear) from `lfs-s3-credentials-file`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::push::write_random;

/// A private repository owned by alice.
pub(crate) const REPO: &str = "alice/data";
/// Upper bound for one git command, in seconds.
const GIT_TIMEOUT_SECS: &str = "300";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    Serve,
    Cgi,
    Ssh,
    /// git over SSH with `lfs-ssh-transfer off`: git-lfs asks `git-lfs-authenticate` and talks
    /// to the HTTP API at `public-url` (`hubctl serve`), as SSH users of presigned mode do.
    SshAuthenticate,
}

/// hubctl with its LFS objects in moto's bucket, reached over one transport.
pub(crate) struct World {
    pub(crate) env: Env,
    pub(crate) moto: Moto,
    via: Via,
    server: Option<Server>,
    nginx: Option<Nginx>,
    sshd: Option<Sshd>,
    key: Option<ClientKey>,
    pub(crate) token: String,
}

impl World {
    pub(crate) fn start(via: Via, proxy: bool) -> World {
        let env = Env::new();
        let token = env.user_with_token("alice", &[]);
        env.hubctl_ok(&["repo", "init", REPO, "--private"]);
        let moto = Moto::start();
        for (k, v) in [
            ("lfs-storage", "s3"),
            ("lfs-s3-endpoint", moto.endpoint.as_str()),
            ("lfs-s3-bucket", moto.bucket.as_str()),
            ("lfs-s3-region", moto.region.as_str()),
            ("lfs-s3-path-style", "on"),
            ("lfs-s3-proxy", if proxy { "on" } else { "off" }),
        ] {
            env.hubctl_ok(&["config", "set", k, v]);
        }
        let aws = moto.aws_env();
        let aws: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (mut server, mut nginx, mut sshd, mut key) = (None, None, None, None);
        match via {
            Via::Serve => server = Some(Server::start_full(&env, "127.0.0.1:0", &[], &aws)),
            Via::Cgi => {
                write_credentials(&env, &moto);
                nginx = Some(Nginx::start(
                    &env,
                    NginxOptions {
                        env: vec![("HUBCTL_LOG".into(), "info".into())],
                        ..NginxOptions::default()
                    },
                ));
            }
            Via::Ssh | Via::SshAuthenticate => {
                write_credentials(&env, &moto);
                let file = env.path("authorized_keys");
                env.hubctl_ok(&[
                    "config",
                    "set",
                    "authorized-keys-file",
                    file.to_str().unwrap(),
                ]);
                sshd = Some(Sshd::start(&env, KeysMode::File(file)));
                let k = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
                env.hubctl_ok(&["keys", "add", "--user", "alice", k.public.to_str().unwrap()]);
                key = Some(k);
                if via == Via::SshAuthenticate {
                    let s = Server::start_full(&env, "127.0.0.1:0", &[], &aws);
                    env.hubctl_ok(&["config", "set", "public-url", &s.base]);
                    env.hubctl_ok(&["config", "set", "lfs-ssh-transfer", "off"]);
                    server = Some(s);
                }
            }
        }
        let w = World {
            env,
            moto,
            via,
            server,
            nginx,
            sshd,
            key,
            token,
        };
        let scratch = w.env.dir.path().to_path_buf();
        w.env.git_ok(&scratch, &["lfs", "install", "--skip-repo"]);
        for (k, v) in [
            ("lfs.transfer.maxretries", "2"),
            ("lfs.transfer.maxretrydelay", "1"),
        ] {
            w.env.git_ok(&scratch, &["config", "--global", k, v]);
        }
        w
    }

    /// `hubctl ARGS` as the operator, with the store's credentials in the environment.
    pub(crate) fn admin(&self, args: &[&str]) -> Output {
        let mut c = Command::new(hubctl_bin());
        c.arg("--root").arg(&self.env.root);
        self.env.clean_env(&mut c);
        for (k, v) in self.moto.aws_env() {
            c.env(k, v);
        }
        c.args(args).output().expect("hubctl")
    }

    pub(crate) fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        self.check(&out, &format!("hubctl {args:?}"));
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn url(&self) -> String {
        match self.via {
            Via::Serve => format!("{}/{REPO}.git", self.server.as_ref().unwrap().base),
            Via::Cgi => format!("{}/{REPO}.git", self.nginx.as_ref().unwrap().base),
            Via::Ssh | Via::SshAuthenticate => {
                self.sshd.as_ref().unwrap().url(&format!("{REPO}.git"))
            }
        }
    }

    /// git as alice: isolated HOME, her token or key, bounded in time.
    pub(crate) fn git_cmd(&self, cwd: &Path) -> Command {
        let mut c = Command::new("timeout");
        c.args(["-k", "10", GIT_TIMEOUT_SECS, "git"]);
        c.current_dir(cwd);
        self.env.clean_env(&mut c);
        c.env_remove("XDG_RUNTIME_DIR");
        match self.via {
            Via::Ssh | Via::SshAuthenticate => {
                c.env(
                    "GIT_SSH_COMMAND",
                    ssh_command(self.sshd.as_ref().unwrap(), self.key.as_ref().unwrap()),
                );
            }
            _ => {
                let helper = format!(
                    "!f() {{ test \"$1\" = get && printf 'username=alice\\npassword=%s\\n' '{}'; }}; f",
                    self.token
                );
                c.arg("-c").arg(format!("credential.helper={helper}"));
            }
        }
        c
    }

    /// Over SSH, the `GIT_SSH_COMMAND` git runs (None over HTTP).
    pub(crate) fn ssh_command(&self) -> Option<String> {
        Some(ssh_command(self.sshd.as_ref()?, self.key.as_ref()?))
    }

    pub(crate) fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        self.git_cmd(cwd).args(args).output().expect("git")
    }

    pub(crate) fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(cwd, args);
        self.check(&out, &format!("git {args:?}"));
        String::from_utf8(out.stdout).unwrap()
    }

    fn check(&self, out: &Output, what: &str) {
        assert!(
            out.status.success(),
            "[{:?}] {what} failed: {}\nstdout: {}\nstderr: {}\n--- hubctl ---\n{}\n--- moto ---\n{}",
            self.via,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.hubctl_log(),
            tail(&self.moto.request_log(), 40)
        );
    }

    /// What hubctl (or nginx in front of it) logged: access lines and hubctl's own lines.
    pub(crate) fn hubctl_log(&self) -> String {
        match self.via {
            Via::Serve => self.server.as_ref().unwrap().log.lines().join("\n"),
            Via::Cgi => {
                let n = self.nginx.as_ref().unwrap();
                let access =
                    std::fs::read_to_string(n.dir.join("logs/access.log")).unwrap_or_default();
                format!("{access}\n{}", n.logs())
            }
            Via::Ssh => self.sshd.as_ref().unwrap().log(),
            Via::SshAuthenticate => format!(
                "{}\n{}",
                self.server.as_ref().unwrap().log.lines().join("\n"),
                self.sshd.as_ref().unwrap().log()
            ),
        }
    }

    /// A new working repository with git-lfs's hooks, `*.bin` tracked, `origin` set.
    pub(crate) fn worktree(&self, dir: &str) -> PathBuf {
        let wt = self.env.path(dir);
        std::fs::create_dir_all(&wt).unwrap();
        self.env.git_ok(&wt, &["init", "-q", "-b", "main"]);
        self.env.git_ok(&wt, &["lfs", "install", "--local"]);
        self.env.git_ok(&wt, &["lfs", "track", "*.bin"]);
        self.env
            .git_ok(&wt, &["remote", "add", "origin", &self.url()]);
        wt
    }

    pub(crate) fn commit(&self, wt: &Path, files: &[(&str, usize, u64)], message: &str) {
        for (name, size, seed) in files {
            write_random(&wt.join(name), *size, *seed);
        }
        self.env.git_ok(wt, &["add", "-A"]);
        self.env.git_ok(wt, &["commit", "-q", "-m", message]);
    }

    /// Clone into scratch `dest` (objects smudged) and compare `files` with `wt`'s.
    pub(crate) fn clone_and_compare(&self, wt: &Path, dest: &str, files: &[&str]) -> PathBuf {
        let path = self.env.path(dest);
        self.git_ok(
            self.env.dir.path(),
            &["clone", "-q", &self.url(), path.to_str().unwrap()],
        );
        for f in files {
            assert_eq!(
                sha256_file(&wt.join(f)),
                sha256_file(&path.join(f)),
                "[{:?}] {f} differs after clone",
                self.via
            );
        }
        path
    }

    /// The bucket key of the object with `content`.
    pub(crate) fn key_of(&self, content: &Path) -> String {
        let oid = sha256_file(content);
        format!("{REPO}/{}/{}/{oid}", &oid[0..2], &oid[2..4])
    }

    /// Every object of `files` is in the bucket at its key, with its content.
    pub(crate) fn assert_in_bucket(&self, wt: &Path, files: &[&str]) {
        let listed = self.moto.list(&format!("{REPO}/"));
        for f in files {
            let key = self.key_of(&wt.join(f));
            let size = std::fs::metadata(wt.join(f)).unwrap().len();
            assert!(
                listed.contains(&(key.clone(), size)),
                "[{:?}] {key} ({size} bytes) not in the bucket: {listed:?}",
                self.via
            );
        }
        // Nothing stored locally: the repository has no LFS object files.
        let local = self.env.bare(REPO).join("lfs/objects");
        assert!(
            !local.exists() || files_under(&local).is_empty(),
            "{local:?}"
        );
    }
}

fn write_credentials(env: &Env, moto: &Moto) {
    let path = env.path("s3-credentials");
    std::fs::write(
        &path,
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            moto.access_key, moto.secret_key
        ),
    )
    .unwrap();
    // CGI runs as www-data.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.hubctl_ok(&[
        "config",
        "set",
        "lfs-s3-credentials-file",
        path.to_str().unwrap(),
    ]);
}

pub(crate) fn sha256_file(path: &Path) -> String {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The requests moto answered for `key` with `method`.
pub(crate) fn moto_requests(moto: &Moto, method: &str, key: &str) -> Vec<MotoRequest> {
    moto.requests()
        .into_iter()
        .filter(|r| r.method == method && r.target.split('?').next().unwrap().ends_with(key))
        .collect()
}

/// Who carried an object's bytes, from the S3 server's wire log (the wrapper around moto logs
/// each request's User-Agent and body bytes): every request for `key` (its single PUT, its
/// multipart parts, its GETs) that sent object bytes to the store or got them from it came from
/// a User-Agent starting with `agent`, and together they carried the whole object up at least
/// once and down at least once.
pub(crate) fn assert_bytes_carried_by(w: &World, key: &str, size: u64, agent: &str) {
    let wire = w.moto.wire();
    let mine: Vec<&WireRequest> = wire
        .iter()
        .filter(|r| r.target.split('?').next().unwrap().ends_with(key))
        .collect();
    let carrying: Vec<&&WireRequest> = mine
        .iter()
        .filter(|r| (r.method == "PUT" && r.bytes_in > 0) || (r.method == "GET" && r.bytes_out > 0))
        .collect();
    let strangers: Vec<&&&WireRequest> = carrying
        .iter()
        .filter(|r| !r.user_agent.starts_with(agent))
        .collect();
    assert!(
        strangers.is_empty(),
        "[{:?}] object bytes of {key} carried by another client than {agent}: {strangers:?}",
        w.via
    );
    let up: u64 = carrying
        .iter()
        .filter(|r| r.method == "PUT" && r.status == 200)
        .map(|r| r.bytes_in)
        .sum();
    let down: u64 = carrying
        .iter()
        .filter(|r| r.method == "GET" && (r.status == 200 || r.status == 206))
        .map(|r| r.bytes_out)
        .sum();
    assert!(
        up >= size && down >= size,
        "[{:?}] {agent} sent {up} and fetched {down} bytes of the {size}-byte {key}: {mine:?}",
        w.via
    );
}

// ---------------------------------------------------------------------------------------------
// Presigned mode

/// Presigned push and clone: the client PUTs and GETs the objects at moto with presigned URLs
/// (SigV4 in the query, the checksum header signed); hubctl answers the batch and verify calls
/// and never sees an object byte.
fn presigned_push_and_pull(via: Via) {
    let w = World::start(via, false);
    let wt = w.worktree("wt");
    let files = ["a.bin", "b.bin"];
    w.commit(
        &wt,
        &[("a.bin", 3 << 20, 1), ("b.bin", 1000, 2)],
        "two objects",
    );
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &files);
    w.clone_and_compare(&wt, "clone", &files);

    let log = w.hubctl_log();
    for f in files {
        let key = w.key_of(&wt.join(f));
        let oid = key.rsplit('/').next().unwrap().to_string();
        // The bytes went to moto, signed there...
        let puts = moto_requests(&w.moto, "PUT", &key);
        assert!(
            puts.iter().any(|r| r.status == 200
                && r.target.contains("X-Amz-Signature=")
                && r.target.contains("x-amz-checksum-sha256")),
            "[{via:?}] no presigned PUT of {key}: {puts:?}"
        );
        let gets = moto_requests(&w.moto, "GET", &key);
        assert!(
            gets.iter()
                .any(|r| r.status == 200 && r.target.contains("X-Amz-Signature=")),
            "[{via:?}] no presigned GET of {key}: {gets:?}"
        );
        // ...and never through hubctl: no transfer request for the object reached it...
        assert!(
            !log.contains(&format!("objects/{oid}")),
            "[{via:?}] hubctl saw a transfer of {oid}:\n{log}"
        );
        // ...and the store's wire log says git-lfs itself sent and fetched every byte, while
        // hubctl only asked about the object (verify's HEAD, no body either way).
        let size = std::fs::metadata(wt.join(f)).unwrap().len();
        assert_bytes_carried_by(&w, &key, size, "git-lfs/");
        assert!(
            w.moto.wire().iter().any(|r| r.method == "HEAD"
                && r.target.contains(&key)
                && r.user_agent.starts_with("hubctl/")
                && r.bytes_in == 0
                && r.bytes_out == 0),
            "[{via:?}] no HEAD of {key} by hubctl: {:?}",
            w.moto.wire()
        );
    }
    assert!(log.contains("/info/lfs/objects/batch"), "{log}");
    assert!(log.contains("/info/lfs/verify"), "{log}");
    // moto keeps the signed x-amz-checksum-sha256 and answers it on verify's HEAD, so every
    // object was verified by its checksum: none is left for fsck to verify later.
    let unverified = w.env.bare(REPO).join("lfs/unverified");
    assert!(
        !unverified.exists() || files_under(&unverified).is_empty(),
        "[{via:?}] unverified objects: {:?}",
        files_under(&unverified)
    );

    // hubctl's own view of the store: `lfs ls` lists the bucket's objects, fsck re-hashes them.
    let ls = w.admin_ok(&["lfs", "ls", REPO]);
    for f in files {
        assert!(ls.contains(&sha256_file(&wt.join(f))), "{ls}");
    }
    w.admin_ok(&["lfs", "fsck", REPO]);
}

mod presigned_push_and_pull {
    #[test]
    fn serve() {
        super::presigned_push_and_pull(super::Via::Serve)
    }
    #[test]
    fn cgi() {
        super::presigned_push_and_pull(super::Via::Cgi)
    }
    /// SSH users get presigned URLs through git-lfs-authenticate and the HTTP API.
    #[test]
    fn ssh_authenticate() {
        super::presigned_push_and_pull(super::Via::SshAuthenticate)
    }
}

// ---------------------------------------------------------------------------------------------
// Proxy mode and git-lfs-transfer

/// Proxy mode: the client sends the objects to hubctl, which streams them into the bucket
/// (`big` adds an object over 64 MiB, which goes up as a multipart upload) and streams them back.
/// With `proxy` off (presigned mode) only git-lfs-transfer can take this path.
fn proxied_push_and_pull(via: Via, big: bool, proxy: bool) {
    let w = World::start(via, proxy);
    let wt = w.worktree("wt");
    let mut specs = vec![("a.bin", 2 << 20, 11), ("b.bin", 10, 12)];
    if big {
        specs.push(("big.bin", 70 << 20, 13));
    }
    let files: Vec<&str> = specs.iter().map(|s| s.0).collect();
    w.commit(&wt, &specs, "objects through hubctl");
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &files);
    w.clone_and_compare(&wt, "clone", &files);

    for f in &files {
        let key = w.key_of(&wt.join(f));
        let oid = key.rsplit('/').next().unwrap().to_string();
        if via != Via::Ssh {
            // The client sent the object to hubctl, not to moto.
            let log = w.hubctl_log();
            assert!(
                log.contains(&format!("PUT /{REPO}.git/info/lfs/objects/{oid}")),
                "[{via:?}] no upload of {oid} through hubctl:\n{log}"
            );
        }
        // The store's wire log says hubctl sent and fetched every byte of it (the client
        // never talked to the store).
        let size = std::fs::metadata(wt.join(f)).unwrap().len();
        assert_bytes_carried_by(&w, &key, size, "hubctl/");
        // hubctl's own requests to moto carry its signature.
        let puts = moto_requests(&w.moto, "PUT", &key);
        assert!(
            puts.iter().all(|r| r.target.contains("X-Amz-Signature=")) && !puts.is_empty(),
            "{puts:?}"
        );
    }
    if via != Via::Ssh && proxy {
        // A resumed download (git-lfs asks a Range only when it resumes one, so curl asks it
        // here, at the batch's download action): hubctl passes the range on to the store and
        // streams back just those bytes.
        let data = std::fs::read(wt.join("a.bin")).unwrap();
        let oid = sha256_file(&wt.join("a.bin"));
        let (_, _, body) = batch_curl_at(&w, &w.url(), "download", &oid, data.len() as u64);
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        let download = &answer["objects"][0]["actions"]["download"];
        let href = download["href"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        assert!(
            href.starts_with(&w.url()),
            "[{via:?}] not hubctl's URL: {href}"
        );
        let mut get = Command::new("curl");
        get.args(["-s", "-w", "%{http_code}", "--max-time", "60"]);
        for (k, v) in download["header"].as_object().into_iter().flatten() {
            get.arg("-H").arg(format!("{k}: {}", v.as_str().unwrap()));
        }
        let out = get
            .args(["-H", "Range: bytes=1000-1999"])
            .arg(href)
            .output()
            .unwrap();
        let (got, status) = out.stdout.split_at(out.stdout.len() - 3);
        assert_eq!(status, b"206", "[{via:?}]");
        assert_eq!(got, &data[1000..2000], "[{via:?}]");
        let key = w.key_of(&wt.join("a.bin"));
        let ranged = || -> Vec<WireRequest> {
            w.moto
                .wire()
                .into_iter()
                .filter(|r| r.method == "GET" && r.target.contains(&key) && !r.range.is_empty())
                .collect()
        };
        // moto logs a request when its connection is done with it; `hubctl cgi` hands
        // fcgiwrap its answer before it exits and lets go of that connection.
        eventually(Duration::from_secs(10), || !ranged().is_empty());
        let ranged = ranged();
        assert!(
            ranged.len() == 1
                && ranged[0].range == "bytes=1000-1999"
                && ranged[0].user_agent.starts_with("hubctl/")
                && ranged[0].bytes_out == 1000
                && ranged[0].status == 206,
            "[{via:?}] {ranged:?}"
        );
    }
    if big {
        let key = w.key_of(&wt.join("big.bin"));
        let all = w.moto.requests();
        assert!(
            all.iter().any(|r| r.method == "POST"
                && r.target.contains(&key)
                && r.target.contains("uploads")),
            "[{via:?}] no multipart upload of {key}"
        );
        let parts = all
            .iter()
            .filter(|r| {
                r.method == "PUT" && r.target.contains(&key) && r.target.contains("partNumber")
            })
            .count();
        assert!(parts >= 2, "[{via:?}] {parts} parts for a 70 MiB object");
    }
}

mod proxied_push_and_pull {
    #[test]
    fn serve_multipart() {
        super::proxied_push_and_pull(super::Via::Serve, true, true)
    }
    #[test]
    fn cgi() {
        super::proxied_push_and_pull(super::Via::Cgi, false, true)
    }
    /// git-lfs-transfer cannot hand out URLs: the objects always pass through hubctl, presigned
    /// mode or not.
    #[test]
    fn ssh_transfer() {
        super::proxied_push_and_pull(super::Via::Ssh, false, true)
    }
    /// ... and in presigned mode too, where the SSH transfer streams through hubctl.
    #[test]
    fn ssh_transfer_in_presigned_mode() {
        super::proxied_push_and_pull(super::Via::Ssh, false, false)
    }
}

// ---------------------------------------------------------------------------------------------
// Failures

/// The store dies in the middle of a push (hubctl is streaming a multipart upload into it): the
/// push fails, the ref does not move, nothing is left behind locally, and once a store is back
/// (a fresh, empty moto: this cannot show what survived) the same push goes through and clones
/// back intact. That objects stored before a failure survive and nothing partial becomes
/// visible is proven with a store that keeps its state: lfs_s3_store_failures.rs.
#[test]
fn store_stopped_mid_push_loses_nothing() {
    let mut w = World::start(Via::Serve, true);
    let wt = w.worktree("wt");
    w.commit(
        &wt,
        &[("big.bin", 100 << 20, 21), ("s.bin", 100, 22)],
        "big",
    );
    let key = w.key_of(&wt.join("big.bin"));
    let child = w
        .git_cmd(&wt)
        .args(["push", "origin", "main"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once hubctl has begun sending parts of the big object, the store goes away.
    let started = eventually(Duration::from_secs(60), || {
        w.moto.requests().iter().any(|r| {
            r.method == "PUT" && r.target.contains(&key) && r.target.contains("partNumber")
        })
    });
    assert!(
        started,
        "the multipart upload never started:\n{}",
        w.moto.request_log()
    );
    w.moto.stop();
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the push succeeded without its store"
    );
    let err = stderr(&out);
    assert!(err.contains("503") || err.contains("S3"), "{err}");
    let log = w.hubctl_log();
    assert!(
        log.contains("S3 store"),
        "no log line names the store:\n{log}"
    );
    // The ref did not move: the server never points at an object it does not have.
    let refs = w.env.git_ok(&w.env.bare(REPO), &["for-each-ref"]);
    assert!(refs.trim().is_empty(), "{refs}");
    let tmp = w.env.bare(REPO).join("lfs");
    assert!(!tmp.exists() || files_under(&tmp).is_empty(), "{tmp:?}");

    // Back (moto keeps no state across restarts: the bucket is empty again).
    w.moto.restart();
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &["big.bin", "s.bin"]);
    w.clone_and_compare(&wt, "clone", &["big.bin", "s.bin"]);
}

/// POST a batch request with curl as alice to serve; (status, headers, body).
fn batch_curl(w: &World, op: &str, oid: &str, size: u64) -> (u16, String, String) {
    let base = &w.server.as_ref().unwrap().base;
    batch_curl_at(w, &format!("{base}/{REPO}.git"), op, oid, size)
}

/// POST a batch request with curl as alice to the repository at `repo_url`; (status, headers,
/// body).
pub(crate) fn batch_curl_at(
    w: &World,
    repo_url: &str,
    op: &str,
    oid: &str,
    size: u64,
) -> (u16, String, String) {
    batch_curl_objects(w, repo_url, op, &[(oid, size)])
}

/// POST a batch request for `objects` with curl as alice to the repository at `repo_url`;
/// (status, headers, body).
fn batch_curl_objects(
    w: &World,
    repo_url: &str,
    op: &str,
    objects: &[(&str, u64)],
) -> (u16, String, String) {
    let objects: Vec<String> = objects
        .iter()
        .map(|(oid, size)| format!(r#"{{"oid":"{oid}","size":{size}}}"#))
        .collect();
    let body = format!(
        r#"{{"operation":"{op}","objects":[{}]}}"#,
        objects.join(",")
    );
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "60", "-u"])
        .arg(format!("alice:{}", w.token))
        .args([
            "-H",
            "Accept: application/vnd.git-lfs+json",
            "-H",
            "Content-Type: application/vnd.git-lfs+json",
            "--data-binary",
            &body,
        ])
        .arg(format!("{repo_url}/info/lfs/objects/batch"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// A batch answer looks the objects up in one listing of the repository's keys when the
/// repository has few: an upload batch then asks the store once, and a download batch confirms
/// an object the listing does not show with its own HEAD (a listing is never the only word for
/// a 404). In a repository with more keys than one listing page, each object the page does not
/// show is looked up on its own. The answers are the same either way.
#[test]
fn batch_lookups_by_listing_and_by_object() {
    let w = World::start(Via::Serve, false);
    let base = &w.server.as_ref().unwrap().base;
    let repo_url = format!("{base}/{REPO}.git");
    let stored = b"already in the bucket\n";
    let a = hex(&Sha256::digest(stored));
    let b = hex(&Sha256::digest(b"not stored"));
    let key = |oid: &str| format!("{REPO}/{}/{}/{oid}", &oid[0..2], &oid[2..4]);
    w.moto.put_object(&key(&a), stored);
    let size = stored.len() as u64;
    // The store requests one batch made, once moto has logged them.
    let requests_of = |op: &str| -> (serde_json::Value, Vec<(String, String)>) {
        let before = w.moto.wire().len();
        let (status, _, body) = batch_curl_objects(&w, &repo_url, op, &[(&a, size), (&b, size)]);
        assert_eq!(status, 200, "{body}");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut seen = 0;
        loop {
            let now = w.moto.wire().len();
            if now == seen && now > before {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "moto logged nothing");
            seen = now;
            std::thread::sleep(Duration::from_millis(300));
        }
        let made = w.moto.wire()[before..]
            .iter()
            .map(|r| (r.method.clone(), r.target.clone()))
            .collect();
        (serde_json::from_str(&body).unwrap(), made)
    };
    let check = |answer: &serde_json::Value, op: &str| {
        let objects = answer["objects"].as_array().unwrap();
        assert_eq!(objects.len(), 2, "{answer}");
        assert_eq!(objects[0]["oid"], a.as_str());
        assert_eq!(objects[1]["oid"], b.as_str());
        if op == "upload" {
            assert!(objects[0].get("actions").is_none(), "{answer}");
            assert!(
                objects[1]["actions"]["upload"]["href"].is_string(),
                "{answer}"
            );
        } else {
            assert!(
                objects[0]["actions"]["download"]["href"].is_string(),
                "{answer}"
            );
            assert_eq!(objects[1]["error"]["code"], 404, "{answer}");
        }
    };
    let listing =
        |(method, target): &(String, String)| method == "GET" && target.contains("list-type=2");
    let head_of =
        |oid: &str, (method, target): &(String, String)| method == "HEAD" && target.contains(oid);

    let (answer, made) = requests_of("upload");
    check(&answer, "upload");
    assert!(made.len() == 1 && listing(&made[0]), "{made:?}");
    let (answer, made) = requests_of("download");
    check(&answer, "download");
    assert!(
        made.len() == 2 && listing(&made[0]) && head_of(&b, &made[1]),
        "{made:?}"
    );

    // More keys than one listing page (100): the objects are looked up one by one where the
    // page does not show them.
    w.moto.boto3(
        "for i in range(120):\n    s3.put_object(Bucket=bucket, Key=sys.argv[1] + '00/00/' + \
         format(i, '064x'), Body=b'f')\n",
        &[&format!("{REPO}/")],
    );
    for op in ["upload", "download"] {
        let (answer, made) = requests_of(op);
        check(&answer, op);
        assert!(listing(&made[0]), "{made:?}");
        assert!(made[1..].iter().any(|r| head_of(&b, r)), "{made:?}");
    }
}

/// A missing bucket and missing credentials are a clear 500 naming the cause; an unreachable
/// store is a 503 with Retry-After; each with one log line. `hubctl doctor` reports the store.
#[test]
fn misconfigured_or_unreachable_store() {
    let mut w = World::start(Via::Serve, false);
    let oid = hex(&Sha256::digest(b"x"));
    let log_lines = |w: &World, needle: &str| {
        w.server
            .as_ref()
            .unwrap()
            .log
            .lines()
            .iter()
            .filter(|l| l.starts_with("hubctl:") && l.contains(needle))
            .count()
    };

    // Working store: the batch answers (a download of a missing object is the object's own
    // 404, as with local storage), doctor is content.
    let (status, _, body) = batch_curl(&w, "upload", &oid, 1);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = batch_curl(&w, "download", &oid, 1);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["objects"][0]["error"]["code"], 404, "{body}");
    assert!(answer["objects"][0]["actions"].is_null(), "{body}");
    let doctor = w.admin(&["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert_eq!(doctor.status.code(), Some(0), "doctor:\n{text}");
    let expected = format!(
        "lfs storage      S3 bucket {} at {} answers",
        w.moto.bucket, w.moto.endpoint
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok ") && l.ends_with(&expected)),
        "doctor does not say the S3 check passed:\n{text}"
    );

    // A bucket that does not exist.
    w.env
        .hubctl_ok(&["config", "set", "lfs-s3-bucket", "no-such-bucket"]);
    let (status, _, body) = batch_curl(&w, "download", &oid, 1);
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("no-such-bucket") && body.contains("does not exist"),
        "{body}"
    );
    assert!(
        eventually(Duration::from_secs(5), || log_lines(&w, "no-such-bucket")
            == 1),
        "{:?}",
        w.server.as_ref().unwrap().log.lines()
    );
    let doctor = w.admin(&["doctor"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&doctor.stdout),
        String::from_utf8_lossy(&doctor.stderr)
    );
    assert_eq!(doctor.status.code(), Some(1), "doctor:\n{text}");
    assert!(
        text.lines().any(|l| l.starts_with("fail")
            && l.contains("lfs storage")
            && l.contains("no-such-bucket")),
        "doctor:\n{text}"
    );
    w.env
        .hubctl_ok(&["config", "set", "lfs-s3-bucket", &w.moto.bucket.clone()]);

    // No credentials: serve has them from its environment; a repository's store opened by a
    // process without them (the CLI here, with a credentials file that is gone) says so.
    w.env.hubctl_ok(&[
        "config",
        "set",
        "lfs-s3-credentials-file",
        w.env.path("missing-credentials").to_str().unwrap(),
    ]);
    let out = w.env.hubctl(&["lfs", "ls", REPO]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing-credentials"),
        "{}",
        stderr(&out)
    );
    w.env
        .hubctl_ok(&["config", "unset", "lfs-s3-credentials-file"]);

    // The store is down: 503 with Retry-After, one log line (git-lfs 3.3.0 takes a batch's 503
    // as fatal and shows hubctl's message: lfs_s3_store_failures.rs proves it with the client).
    w.moto.stop();
    let (status, head, body) = batch_curl(&w, "download", &oid, 1);
    assert_eq!(status, 503, "{head}{body}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    assert!(body.contains("unreachable"), "{body}");
    assert!(
        eventually(Duration::from_secs(5), || log_lines(&w, "unreachable") == 1),
        "{:?}",
        w.server.as_ref().unwrap().log.lines()
    );
}

// ---------------------------------------------------------------------------------------------
// Per-repository choice, rename and removal; checksums and bad uploads

/// `repo set NS/NAME lfs-storage` overrides the global choice both ways; `repo rename` moves a
/// repository's keys to the new prefix inside the store and `repo rm` deletes them.
#[test]
fn per_repository_choice_rename_and_remove() {
    let w = World::start(Via::Serve, false);
    w.admin_ok(&["config", "set", "lfs-storage", "local"]);
    w.admin_ok(&["repo", "set", REPO, "lfs-storage", "s3"]);
    w.admin_ok(&["repo", "init", "alice/loc"]);
    let show = w.admin_ok(&["repo", "show", REPO, "--json"]);
    assert!(show.contains("\"lfs_storage\": \"s3\""), "{show}");

    // Into the bucket, by the repository's own choice.
    let wt = w.worktree("wt");
    w.commit(&wt, &[("a.bin", 5000, 31), ("b.bin", 7000, 32)], "two");
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    w.assert_in_bucket(&wt, &["a.bin", "b.bin"]);

    // Local, by the global choice.
    let base = &w.server.as_ref().unwrap().base;
    let lt = lfs_worktree(&w, "loc-wt", &format!("{base}/alice/loc.git"));
    w.commit(&lt, &[("l.bin", 3000, 33)], "local");
    w.git_ok(&lt, &["push", "-q", "origin", "main"]);
    let oid = sha256_file(&lt.join("l.bin"));
    let local =
        w.env
            .bare("alice/loc")
            .join(format!("lfs/objects/{}/{}/{oid}", &oid[0..2], &oid[2..4]));
    assert!(local.is_file(), "{local:?}");
    assert!(w.moto.list("alice/loc/").is_empty());

    // Rename: the keys follow the repository.
    let before = w.moto.list(&format!("{REPO}/"));
    assert_eq!(before.len(), 2, "{before:?}");
    w.admin_ok(&["repo", "rename", REPO, "alice/renamed"]);
    assert!(w.moto.list(&format!("{REPO}/")).is_empty());
    let after = w.moto.list("alice/renamed/");
    let moved: Vec<(String, u64)> = before
        .iter()
        .map(|(k, s)| (k.replacen(REPO, "alice/renamed", 1), *s))
        .collect();
    assert_eq!(after, moved);
    let c = w.env.path("renamed-clone");
    w.git_ok(
        w.env.dir.path(),
        &[
            "clone",
            "-q",
            &format!("{base}/alice/renamed.git"),
            c.to_str().unwrap(),
        ],
    );
    assert_eq!(
        sha256_file(&c.join("a.bin")),
        sha256_file(&wt.join("a.bin"))
    );

    // Removal: the prefix is emptied.
    w.admin_ok(&["repo", "rm", "alice/renamed", "--yes"]);
    assert!(w.moto.list("alice/renamed/").is_empty());

    // The other way round: S3 for everyone, local by the repository's own choice.
    w.admin_ok(&["config", "set", "lfs-storage", "s3"]);
    w.admin_ok(&["repo", "init", "alice/pin"]);
    w.admin_ok(&["repo", "set", "alice/pin", "lfs-storage", "local"]);
    let pt = lfs_worktree(&w, "pin-wt", &format!("{base}/alice/pin.git"));
    w.commit(&pt, &[("p.bin", 4000, 34)], "pinned local");
    w.git_ok(&pt, &["push", "-q", "origin", "main"]);
    let oid = sha256_file(&pt.join("p.bin"));
    let pinned =
        w.env
            .bare("alice/pin")
            .join(format!("lfs/objects/{}/{}/{oid}", &oid[0..2], &oid[2..4]));
    assert!(pinned.is_file(), "{pinned:?}");
    assert!(w.moto.list("alice/pin/").is_empty());
}

/// A new working repository `dir` with git-lfs's hooks, `*.bin` tracked and `origin` at `url`.
fn lfs_worktree(w: &World, dir: &str, url: &str) -> PathBuf {
    let wt = w.env.path(dir);
    std::fs::create_dir_all(&wt).unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["lfs", "install", "--local"],
        &["lfs", "track", "*.bin"],
        &["remote", "add", "origin", url],
    ] {
        w.env.git_ok(&wt, args);
    }
    wt
}

/// PUT `data` to `href` with `headers` using curl; the status.
fn curl_put(href: &str, headers: &[(String, String)], data: &[u8], scratch: &Path) -> u16 {
    let file = scratch.join(format!("put-{}", hex(&Sha256::digest(data))));
    std::fs::write(&file, data).unwrap();
    let mut c = Command::new("curl");
    // (curl's default form Content-Type would make moto read the body as a form.)
    c.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "60",
        "-X",
        "PUT",
    ])
    .args(["-H", "Content-Type: application/octet-stream"]);
    for (k, v) in headers {
        c.arg("-H").arg(format!("{k}: {v}"));
    }
    c.arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(href);
    let out = c.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// The action `name` of the single object of a batch answer: (href, headers).
fn batch_action(body: &str, name: &str) -> (String, Vec<(String, String)>) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let a = &v["objects"][0]["actions"][name];
    let href = a["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .to_string();
    let headers = a["header"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    (href, headers)
}

/// POST a verify callback; the status (the body goes to stderr, for failures).
fn curl_verify(href: &str, headers: &[(String, String)], oid: &str, size: usize) -> u16 {
    let mut c = Command::new("curl");
    c.args([
        "-s",
        "-o",
        "/dev/stderr",
        "-w",
        "%{http_code}",
        "--max-time",
        "60",
    ]);
    for (k, v) in headers {
        c.arg("-H").arg(format!("{k}: {v}"));
    }
    c.args(["-H", "Content-Type: application/vnd.git-lfs+json"])
        .arg("--data-binary")
        .arg(format!(r#"{{"oid":"{oid}","size":{size}}}"#))
        .arg(href);
    let out = c.output().unwrap();
    eprintln!("verify {oid}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Presigned uploads are checked by verify through the store's `x-amz-checksum-sha256`: other
/// content under the oid is removed (400); an object the store keeps no checksum for is marked
/// unverified until `lfs fsck` re-hashes it. In proxy mode a body that is not its oid's content
/// is refused (400) and never appears in the bucket.
#[test]
fn checksums_and_bad_uploads() {
    let w = World::start(Via::Serve, false);
    let scratch = w.env.dir.path();

    // A client that sends another checksum than the oid's (moto stores what it is told).
    let data = b"checked through the store's checksum\n".to_vec();
    let oid = hex(&Sha256::digest(&data));
    let (status, _, body) = batch_curl(&w, "upload", &oid, data.len() as u64);
    assert_eq!(status, 200, "{body}");
    let (href, headers) = batch_action(&body, "upload");
    assert!(href.starts_with(&w.moto.endpoint), "{href}");
    let wrong: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| match k.as_str() {
            "x-amz-checksum-sha256" => (
                k.clone(),
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            ),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    assert_eq!(curl_put(&href, &wrong, &data, scratch), 200);
    let key = format!("{REPO}/{}/{}/{oid}", &oid[0..2], &oid[2..4]);
    // (Listed, not read back: boto3 itself refuses the body its checksum does not match.)
    let stored = |key: &str| w.moto.list(key).iter().any(|(k, _)| k == key);
    assert!(stored(&key));
    let (vhref, vheaders) = batch_action(&body, "verify");
    assert_eq!(curl_verify(&vhref, &vheaders, &oid, data.len()), 400);
    assert!(
        !stored(&key),
        "the mismatching object was kept:\n{}\n{}",
        w.hubctl_log(),
        tail(&w.moto.request_log(), 10)
    );

    // The same upload with the signed headers as given: verified.
    assert_eq!(curl_put(&href, &headers, &data, scratch), 200);
    assert_eq!(curl_verify(&vhref, &vheaders, &oid, data.len()), 200);

    // A store that keeps no checksum (the client left the headers out; moto then records none).
    let data2 = b"no checksum kept for this one\n".to_vec();
    let oid2 = hex(&Sha256::digest(&data2));
    let (_, _, body2) = batch_curl(&w, "upload", &oid2, data2.len() as u64);
    let (href2, _) = batch_action(&body2, "upload");
    assert_eq!(curl_put(&href2, &[], &data2, scratch), 200);
    let (vhref2, vheaders2) = batch_action(&body2, "verify");
    assert_eq!(curl_verify(&vhref2, &vheaders2, &oid2, data2.len()), 200);
    let mark = w.env.bare(REPO).join("lfs/unverified").join(&oid2);
    assert!(mark.is_file(), "{mark:?} not marked unverified");
    w.admin_ok(&["lfs", "fsck", REPO]);
    assert!(!mark.exists(), "fsck left the mark of a good object");

    // Proxy mode: wrong content and a short body are refused and never reach the bucket.
    w.admin_ok(&["config", "set", "lfs-s3-proxy", "on"]);
    let data3 = vec![7u8; 100_000];
    let oid3 = hex(&Sha256::digest(&data3));
    let key3 = format!("{REPO}/{}/{}/{oid3}", &oid3[0..2], &oid3[2..4]);
    let (_, _, body3) = batch_curl(&w, "upload", &oid3, data3.len() as u64);
    let (href3, headers3) = batch_action(&body3, "upload");
    assert!(
        href3.starts_with(&w.server.as_ref().unwrap().base),
        "{href3}"
    );
    let mut other = data3.clone();
    other[99_999] = 8;
    assert_eq!(curl_put(&href3, &headers3, &other, scratch), 400);
    assert!(
        w.moto.get_object(&key3).is_none(),
        "a mismatching body was stored"
    );
    assert_eq!(curl_put(&href3, &headers3, &data3, scratch), 200);
    assert_eq!(w.moto.get_object(&key3).as_deref(), Some(&data3[..]));
}

/// A store that accepts connections but never answers (frozen) is unavailable after a bounded
/// wait (503 with Retry-After), not waited on forever; once it answers again, so does hubctl.
#[test]
fn stalled_store_is_unavailable_after_a_bounded_wait() {
    let w = World::start(Via::Serve, false);
    let oid = hex(&Sha256::digest(b"stalled"));
    w.moto.pause();
    let started = std::time::Instant::now();
    let (status, head, body) = batch_curl(&w, "download", &oid, 7);
    let waited = started.elapsed();
    w.moto.resume();
    assert_eq!(status, 503, "{head}{body}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    assert!(waited < Duration::from_secs(55), "waited {waited:?}");
    let (status, _, body) = batch_curl(&w, "download", &oid, 7);
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------------
// Proxy mode's multipart uploads, sent as boto3 sends them

/// A proxied object over the multipart threshold goes up in 8 MiB parts, several at a time,
/// each with its CRC32, under an upload that declared CRC32 composite checksums, and the store
/// ends up with one object of exactly the pushed content. A body that is not its oid's content
/// (only its last byte differs, so every part but the last was already sent) is refused, and
/// the store keeps neither an object nor an unfinished upload.
#[test]
fn proxied_multipart_parts_in_parallel() {
    let w = World::start(Via::Serve, true);
    let scratch = w.env.dir.path();
    let len = (70 << 20) + 12_345;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let oid = hex(&Sha256::digest(&data));
    let key = format!("{REPO}/{}/{}/{oid}", &oid[0..2], &oid[2..4]);
    let (status, _, body) = batch_curl(&w, "upload", &oid, len as u64);
    assert_eq!(status, 200, "{body}");
    let (href, headers) = batch_action(&body, "upload");
    assert!(href.starts_with(&w.server.as_ref().unwrap().base), "{href}");
    let open_uploads = || {
        w.moto.boto3(
            "print(len(s3.list_multipart_uploads(Bucket=bucket).get('Uploads', [])))\n",
            &[],
        )
    };

    let mut other = data.clone();
    *other.last_mut().unwrap() ^= 1;
    let before = w.moto.requests().len();
    assert_eq!(curl_put(&href, &headers, &other, scratch), 400);
    let parts_sent = w.moto.requests()[before..]
        .iter()
        .filter(|r| r.method == "PUT" && r.target.contains("partNumber"))
        .count();
    assert!(parts_sent >= 2, "only {parts_sent} parts went out");
    assert!(
        w.moto.list(&key).is_empty(),
        "a mismatching body was stored"
    );
    assert_eq!(
        open_uploads().trim(),
        "0",
        "the refused upload was left open"
    );

    let before = w.moto.requests().len();
    assert_eq!(curl_put(&href, &headers, &data, scratch), 200);
    let parts = w.moto.requests()[before..]
        .iter()
        .filter(|r| r.method == "PUT" && r.target.contains(&key) && r.target.contains("partNumber"))
        .count();
    assert_eq!(parts, 9, "70 MiB in 8 MiB parts");
    assert_eq!(open_uploads().trim(), "0");
    // The store's checksum is the composite of the 8 MiB parts' CRC32s (the CRC32 of their
    // CRC32s), as the upload declared.
    let mut crcs = Vec::new();
    for part in data.chunks(8 << 20) {
        crcs.extend_from_slice(&crc32fast::hash(part).to_be_bytes());
    }
    use base64::Engine as _;
    let composite =
        base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(&crcs).to_be_bytes());
    let sum = w.moto.boto3(
        "h = s3.head_object(Bucket=bucket, Key=sys.argv[1], ChecksumMode='ENABLED')\n\
         print(h.get('ChecksumCRC32', ''), h.get('ChecksumType', ''))\n",
        &[&key],
    );
    let sum: Vec<&str> = sum.split_whitespace().collect();
    assert_eq!(sum, [composite.as_str(), "COMPOSITE"]);
    assert!(
        w.moto.get_object(&key).as_deref() == Some(&data[..]),
        "the stored object is not the pushed content"
    );
}
