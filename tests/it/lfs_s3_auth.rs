//! Bad S3 credentials (issue 18, "Failures"), proven against s3rver, a real S3 API server that
//! checks SigV4 signatures (moto accepts any keys), on loopback with the real git-lfs client over
//! `hubctl serve` and nginx + fcgiwrap + `hubctl cgi`, in presigned and proxy mode:
//!
//! - a wrong secret key (the store answers 403 `SignatureDoesNotMatch`) and an unknown access
//!   key (403 `InvalidAccessKeyId`) fail the push with the cause in git-lfs's error, a 500 from
//!   hubctl's batch naming it, and exactly one `hubctl:` log line per refused request;
//! - nothing is lost: the push's ref does not move and the bucket holds nothing; once the
//!   credentials file is fixed (read on every request, no restart), the same push goes through
//!   and a clone gets every object back;
//! - presigned mode's verify call, which is hubctl's own `HEAD` of the object, names the cause
//!   too, and so does `hubctl doctor`;
//! - presigned URLs expire with the batch action (`X-Amz-Expires` is its `expires_in`), which
//!   s3rver, its clock shifted past that lifetime, enforces.
//!
//! The credentials come from `lfs-s3-credentials-file` for every transport (`serve` is started
//! without AWS's variables), so a test changes them by rewriting that file.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::push::write_random;

/// A private repository owned by alice.
const REPO: &str = "alice/keys";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Serve,
    Cgi,
}

/// One bad pair of keys: what the store answers and what hubctl's message adds.
struct BadKeys {
    what: &'static str,
    access_key: String,
    secret_key: String,
    code: &'static str,
    cause: String,
}

fn bad_keys(s3: &S3rver) -> Vec<BadKeys> {
    vec![
        BadKeys {
            what: "wrong secret key",
            access_key: s3.access_key.clone(),
            secret_key: "not-the-secret".into(),
            code: "SignatureDoesNotMatch",
            cause: format!(
                "the secret access key is not the one the store has for access key {}",
                s3.access_key
            ),
        },
        BadKeys {
            what: "unknown access key",
            access_key: "AKIAUNKNOWNTOSTORE".into(),
            secret_key: s3.secret_key.clone(),
            code: "InvalidAccessKeyId",
            cause: "the store does not know access key AKIAUNKNOWNTOSTORE".into(),
        },
    ]
}

/// hubctl with its LFS objects in s3rver's bucket, reached over one transport.
struct World {
    env: Env,
    s3: S3rver,
    via: Via,
    server: Option<Server>,
    nginx: Option<Nginx>,
    token: String,
    credentials: PathBuf,
}

impl World {
    fn start(via: Via, proxy: bool) -> World {
        let env = Env::new();
        let token = env.user_with_token("alice", &[]);
        env.hubctl_ok(&["repo", "init", REPO, "--private"]);
        let s3 = S3rver::start();
        let credentials = env.path("s3-credentials");
        for (k, v) in [
            ("lfs-storage", "s3"),
            ("lfs-s3-endpoint", s3.endpoint.as_str()),
            ("lfs-s3-bucket", s3.bucket.as_str()),
            ("lfs-s3-region", s3.region.as_str()),
            ("lfs-s3-path-style", "on"),
            ("lfs-s3-proxy", if proxy { "on" } else { "off" }),
            ("lfs-s3-credentials-file", credentials.to_str().unwrap()),
        ] {
            env.hubctl_ok(&["config", "set", k, v]);
        }
        let (mut server, mut nginx) = (None, None);
        match via {
            Via::Serve => server = Some(Server::start_full(&env, "127.0.0.1:0", &[], &[])),
            Via::Cgi => {
                nginx = Some(Nginx::start(
                    &env,
                    NginxOptions {
                        env: vec![("HUBCTL_LOG".into(), "info".into())],
                        ..NginxOptions::default()
                    },
                ))
            }
        }
        let w = World {
            env,
            s3,
            via,
            server,
            nginx,
            token,
            credentials,
        };
        w.write_credentials(&w.s3.access_key.clone(), &w.s3.secret_key.clone());
        let scratch = w.env.dir.path().to_path_buf();
        w.env.git_ok(&scratch, &["lfs", "install", "--skip-repo"]);
        for (k, v) in [
            ("lfs.transfer.maxretries", "1"),
            ("lfs.transfer.maxretrydelay", "1"),
        ] {
            w.env.git_ok(&scratch, &["config", "--global", k, v]);
        }
        w
    }

    /// Replace the credentials file (temp file + rename, as an operator's tool would).
    fn write_credentials(&self, access_key: &str, secret_key: &str) {
        let tmp = self.credentials.with_extension("new");
        std::fs::write(
            &tmp,
            format!("[default]\naws_access_key_id = {access_key}\naws_secret_access_key = {secret_key}\n"),
        )
        .unwrap();
        // CGI may run as another account.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::rename(&tmp, &self.credentials).unwrap();
    }

    fn base(&self) -> &str {
        match self.via {
            Via::Serve => &self.server.as_ref().unwrap().base,
            Via::Cgi => &self.nginx.as_ref().unwrap().base,
        }
    }

    fn url(&self) -> String {
        format!("{}/{REPO}.git", self.base())
    }

    /// git as alice with her token, bounded in time.
    fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        let mut c = Command::new("timeout");
        c.args(["-k", "10", "300", "git"]).current_dir(cwd);
        self.env.clean_env(&mut c);
        let helper = format!(
            "!f() {{ test \"$1\" = get && printf 'username=alice\\npassword=%s\\n' '{}'; }}; f",
            self.token
        );
        c.arg("-c").arg(format!("credential.helper={helper}"));
        c.args(args).output().expect("git")
    }

    fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(cwd, args);
        assert!(
            out.status.success(),
            "[{:?}] git {args:?} failed: {}\n{}\n--- hubctl ---\n{}\n--- s3rver ---\n{}",
            self.via,
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.hubctl_log(),
            self.s3.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// hubctl's own log lines (`hubctl: ...`): serve's stderr, or fcgiwrap's log behind nginx.
    fn hubctl_lines(&self) -> Vec<String> {
        self.hubctl_log()
            .lines()
            .filter_map(|l| l.find("hubctl:").map(|i| l[i..].to_string()))
            .collect()
    }

    fn hubctl_log(&self) -> String {
        match self.via {
            Via::Serve => self.server.as_ref().unwrap().log.lines().join("\n"),
            Via::Cgi => self.nginx.as_ref().unwrap().logs(),
        }
    }

    /// How many of hubctl's log lines name `needle`, once the count has settled.
    fn lines_naming(&self, needle: &str) -> usize {
        let count = || {
            self.hubctl_lines()
                .iter()
                .filter(|l| l.contains(needle))
                .count()
        };
        let mut last = count();
        // fcgiwrap's log is written after the answer: wait until it stops growing.
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(100));
            let now = count();
            if now == last {
                break;
            }
            last = now;
        }
        last
    }

    /// A working repository with git-lfs's hooks, `*.bin` tracked, two objects committed.
    fn worktree(&self) -> PathBuf {
        let wt = self.env.path("wt");
        std::fs::create_dir_all(&wt).unwrap();
        self.env.git_ok(&wt, &["init", "-q", "-b", "main"]);
        self.env.git_ok(&wt, &["lfs", "install", "--local"]);
        self.env.git_ok(&wt, &["lfs", "track", "*.bin"]);
        self.env
            .git_ok(&wt, &["remote", "add", "origin", &self.url()]);
        write_random(&wt.join("a.bin"), 3000, 41);
        write_random(&wt.join("b.bin"), 700, 42);
        self.env.git_ok(&wt, &["add", "-A"]);
        self.env.git_ok(&wt, &["commit", "-q", "-m", "two objects"]);
        wt
    }

    /// POST a batch request with curl as alice; (status, body).
    fn batch(&self, op: &str, oid: &str, size: u64) -> (u16, String) {
        let body = format!(r#"{{"operation":"{op}","objects":[{{"oid":"{oid}","size":{size}}}]}}"#);
        let out = Command::new("curl")
            .args(["-s", "--max-time", "60", "-w", "\n%{http_code}", "-u"])
            .arg(format!("alice:{}", self.token))
            .args([
                "-H",
                "Accept: application/vnd.git-lfs+json",
                "-H",
                "Content-Type: application/vnd.git-lfs+json",
                "--data-binary",
                &body,
            ])
            .arg(format!("{}/info/lfs/objects/batch", self.url()))
            .output()
            .unwrap();
        split_status(&out)
    }
}

/// curl's `-w '\n%{http_code}'` output: (status, body).
fn split_status(out: &Output) -> (u16, String) {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The server's refs (empty: no push got through).
fn refs(w: &World) -> String {
    w.env.git_ok(&w.env.bare(REPO), &["for-each-ref"])
}

/// s3rver itself refuses bad keys, in the header and in the query string (so the tests below
/// cannot pass against a store that accepts anything), and serves good ones.
#[test]
fn s3rver_checks_signatures_in_headers_and_queries() {
    let s3 = S3rver::start();
    let script = "import sys, boto3, urllib.request, urllib.error\n\
        from botocore.config import Config\n\
        def client(ak, sk):\n\
        \x20   return boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
        \x20       aws_access_key_id=ak, aws_secret_access_key=sk,\n\
        \x20       config=Config(signature_version='s3v4', s3={'addressing_style': 'path'},\n\
        \x20                     retries={'max_attempts': 1}))\n\
        good = client(sys.argv[3], sys.argv[4])\n\
        good.put_object(Bucket=sys.argv[2], Key='k', Body=b'hello')\n\
        for ak, sk in [(sys.argv[3], sys.argv[4]), (sys.argv[3], 'wrong'), ('unknown', sys.argv[4])]:\n\
        \x20   try:\n\
        \x20       client(ak, sk).head_object(Bucket=sys.argv[2], Key='k')\n\
        \x20       print('header', 200)\n\
        \x20   except Exception as e:\n\
        \x20       print('header', e.response['Error']['Code'])\n\
        \x20   url = client(ak, sk).generate_presigned_url('get_object', Params={'Bucket': sys.argv[2], 'Key': 'k'})\n\
        \x20   assert 'X-Amz-Signature=' in url, url\n\
        \x20   try:\n\
        \x20       print('query', urllib.request.urlopen(url).status)\n\
        \x20   except urllib.error.HTTPError as e:\n\
        \x20       body = e.read().decode()\n\
        \x20       print('query', e.code, body.split('<Code>')[1].split('</Code>')[0])\n";
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .args([&s3.endpoint, &s3.bucket, &s3.access_key, &s3.secret_key])
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "header 200",
            "query 200",
            // A HEAD answer has no body: boto3 names the status only.
            "header 403",
            "query 403 SignatureDoesNotMatch",
            "header 403",
            "query 403 InvalidAccessKeyId",
        ],
        "{}",
        s3.log()
    );
    assert_eq!(s3.list(""), vec![("k".to_string(), 5)]);
}

/// A push with bad keys fails with the cause in git-lfs's error, a 500 from the batch naming
/// it and one log line per refused request; nothing moves; the fixed file lets the same push
/// through.
fn bad_credentials_then_fixed(via: Via, proxy: bool) {
    let w = World::start(via, proxy);
    let wt = w.worktree();
    let oid = sha256_hex(b"probe");
    for bad in bad_keys(&w.s3) {
        w.write_credentials(&bad.access_key, &bad.secret_key);
        let out = w.git(&wt, &["push", "origin", "main"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "[{via:?} proxy={proxy}] {}: the push succeeded",
            bad.what
        );
        assert!(
            err.contains(bad.code) && err.contains(&bad.cause),
            "[{via:?} proxy={proxy}] {}: git's error does not name the cause:\n{err}",
            bad.what
        );
        assert!(
            w.lines_naming(bad.code) >= 1,
            "{}:\n{}",
            bad.what,
            w.hubctl_log()
        );
        if via == Via::Serve && !proxy {
            // `hubctl doctor` checks the store with the same keys and names the same cause.
            let out = w.env.hubctl(&["doctor"]);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                text.contains(bad.code) && text.contains(&bad.cause),
                "{}: doctor:\n{text}",
                bad.what
            );
        }
        // Nothing moved: no ref, nothing in the bucket.
        assert_eq!(refs(&w).trim(), "", "{}", bad.what);
        assert!(w.s3.list("").is_empty(), "{}", bad.what);

        // One refused request: a 500 whose message names the cause, and exactly one log line.
        let before = w.lines_naming(bad.code);
        let (status, body) = w.batch("upload", &oid, 5);
        assert_eq!(status, 500, "[{via:?}] {}: {body}", bad.what);
        assert!(
            body.contains("refused hubctl's credentials")
                && body.contains(bad.code)
                && body.contains(&bad.cause),
            "[{via:?}] {}: {body}",
            bad.what
        );
        let lines = w.hubctl_lines();
        assert_eq!(
            w.lines_naming(bad.code),
            before + 1,
            "[{via:?}] {}: not one log line for one refusal:\n{}",
            bad.what,
            lines.join("\n")
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&bad.cause) && l.contains(&w.s3.bucket)),
            "{lines:?}"
        );
    }

    // Fixed: the file is read on every request, so the same push goes through at once.
    w.write_credentials(&w.s3.access_key.clone(), &w.s3.secret_key.clone());
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let head = w.env.git_ok(&wt, &["rev-parse", "HEAD"]);
    assert!(refs(&w).contains(head.trim()), "{}", refs(&w));
    let stored = w.s3.list(&format!("{REPO}/"));
    assert_eq!(stored.len(), 2, "{stored:?}");
    let clone = w.env.path("clone");
    w.git_ok(
        w.env.dir.path(),
        &["clone", "-q", &w.url(), clone.to_str().unwrap()],
    );
    for f in ["a.bin", "b.bin"] {
        assert_eq!(
            std::fs::read(wt.join(f)).unwrap(),
            std::fs::read(clone.join(f)).unwrap(),
            "[{via:?}] {f} differs after clone"
        );
    }
}

mod bad_credentials_then_fixed {
    use super::*;

    #[test]
    fn serve_presigned() {
        bad_credentials_then_fixed(Via::Serve, false);
    }

    #[test]
    fn serve_proxy() {
        bad_credentials_then_fixed(Via::Serve, true);
    }

    #[test]
    fn cgi_presigned() {
        bad_credentials_then_fixed(Via::Cgi, false);
    }

    #[test]
    fn cgi_proxy() {
        bad_credentials_then_fixed(Via::Cgi, true);
    }
}

/// Presigned mode's verify is hubctl's own `HEAD` of the object in the bucket: with the keys
/// gone bad between the client's upload and its verify call, verify answers 500 naming the
/// cause, with one log line; with the keys fixed, the same verify succeeds.
#[test]
fn presigned_verify_with_bad_credentials_names_the_cause() {
    let w = World::start(Via::Serve, false);
    let data = b"verified through the store's HEAD".to_vec();
    let oid = sha256_hex(&data);
    let (status, body) = w.batch("upload", &oid, data.len() as u64);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let actions = &v["objects"][0]["actions"];
    let action = |name: &str| {
        let a = &actions[name];
        let href = a["href"]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {body}"))
            .to_string();
        let headers: Vec<String> = a["header"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        (href, headers)
    };
    let (put_url, put_headers) = action("upload");
    let (verify_url, verify_headers) = action("verify");
    assert!(put_url.starts_with(&w.s3.endpoint), "{put_url}");

    // The client's upload goes straight to the store, signed with the good keys.
    let file = w.env.path("object");
    std::fs::write(&file, &data).unwrap();
    let mut put = Command::new("curl");
    put.args([
        "-s",
        "-w",
        "\n%{http_code}",
        "--max-time",
        "60",
        "-X",
        "PUT",
    ])
    .args(["-H", "Content-Type: application/octet-stream"]);
    for h in &put_headers {
        put.arg("-H").arg(h);
    }
    let out = put
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(&put_url)
        .output()
        .unwrap();
    let (status, body) = split_status(&out);
    assert_eq!(status, 200, "{body}\n{}", w.s3.log());

    let verify = || {
        let mut c = Command::new("curl");
        c.args(["-s", "-w", "\n%{http_code}", "--max-time", "60"]);
        for h in &verify_headers {
            c.arg("-H").arg(h);
        }
        let out = c
            .args(["-H", "Content-Type: application/vnd.git-lfs+json"])
            .arg("--data-binary")
            .arg(format!(r#"{{"oid":"{oid}","size":{}}}"#, data.len()))
            .arg(&verify_url)
            .output()
            .unwrap();
        split_status(&out)
    };
    for bad in bad_keys(&w.s3) {
        w.write_credentials(&bad.access_key, &bad.secret_key);
        let before = w.lines_naming(bad.code);
        let (status, body) = verify();
        assert_eq!(status, 500, "{}: {body}", bad.what);
        // The object's HEAD was refused (not the bucket's), and the cause is named.
        assert!(
            body.contains(&format!("looking up {oid}"))
                && body.contains(bad.code)
                && body.contains(&bad.cause),
            "{}: {body}",
            bad.what
        );
        assert_eq!(
            w.lines_naming(bad.code),
            before + 1,
            "{}:\n{}",
            bad.what,
            w.hubctl_log()
        );
    }
    w.write_credentials(&w.s3.access_key.clone(), &w.s3.secret_key.clone());
    let (status, body) = verify();
    assert_eq!(status, 200, "{body}\n{}", w.hubctl_log());
    let key = format!("{REPO}/{}/{}/{oid}", &oid[0..2], &oid[2..4]);
    assert_eq!(w.s3.list(""), vec![(key, data.len() as u64)]);
}

/// The query parameter `name` of a presigned URL.
fn query_param<'u>(url: &'u str, name: &str) -> Option<&'u str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// Seconds since the epoch of SigV4's `X-Amz-Date` (`yyyyMMddTHHmmssZ`), through date(1).
fn amz_date_secs(d: &str) -> i64 {
    let spec = format!(
        "{}-{}-{} {}:{}:{} UTC",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    );
    let out = Command::new("date")
        .args(["-u", "-d", &spec, "+%s"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Presigned URLs expire with the batch action: the git-lfs client pushes an object, then the
/// batch's presigned download (and a new upload) carry `X-Amz-Expires` equal to the action's
/// `expires_in` and an `X-Amz-Date` of now. s3rver checks a presigned URL's expiry against its
/// clock, so with its clock moved to a minute before the end of that lifetime the download
/// works and returns the object, and to a minute after it is refused as expired (AWS's 403
/// `AccessDenied` "Request has expired"); hubctl sets no other lifetime (there is no setting).
#[test]
fn presigned_urls_expire_with_the_action() {
    let w = World::start(Via::Serve, false);
    let wt = w.worktree();
    w.git_ok(&wt, &["push", "-q", "origin", "main"]);
    let data = std::fs::read(wt.join("a.bin")).unwrap();
    let oid = sha256_hex(&data);
    let fresh = sha256_hex(b"not pushed yet");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut lifetime = 0;
    let mut download = String::new();
    for (op, id, size, name) in [
        ("download", &oid, data.len() as u64, "download"),
        ("upload", &fresh, 14, "upload"),
    ] {
        let (status, body) = w.batch(op, id, size);
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let action = &v["objects"][0]["actions"][name];
        let href = action["href"].as_str().unwrap_or_else(|| panic!("{body}"));
        assert!(href.starts_with(&w.s3.endpoint), "{href}");
        let expires_in = action["expires_in"]
            .as_i64()
            .unwrap_or_else(|| panic!("{body}"));
        assert!(expires_in > 0, "{body}");
        assert_eq!(
            query_param(href, "X-Amz-Expires").map(|s| s.parse::<i64>().unwrap()),
            Some(expires_in),
            "{op}: {href}"
        );
        let signed_at = amz_date_secs(query_param(href, "X-Amz-Date").unwrap());
        assert!(
            (signed_at - now).abs() <= 60,
            "{op}: signed at {signed_at}, now is {now}: {href}"
        );
        lifetime = expires_in;
        if op == "download" {
            download = href.to_string();
        }
    }
    let get = || {
        let out = Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "--max-time", "60"])
            .arg(&download)
            .output()
            .unwrap();
        let text = out.stdout;
        let cut = text.iter().rposition(|b| *b == b'\n').unwrap();
        let status: u16 = String::from_utf8_lossy(&text[cut + 1..]).parse().unwrap();
        (status, text[..cut].to_vec())
    };
    // A minute before the lifetime ends (by the store's clock), the URL works...
    w.s3.set_clock_offset(lifetime - 60);
    let (status, body) = get();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(sha256_hex(&body), oid);
    // ...and a minute after, the store refuses it as expired.
    w.s3.set_clock_offset(lifetime + 60);
    let (status, body) = get();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>AccessDenied</Code>") && body.contains("Request has expired"),
        "{body}"
    );
    w.s3.set_clock_offset(0);
    let (status, _) = get();
    assert_eq!(status, 200);
}
