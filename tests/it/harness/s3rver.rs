//! s3rver's S3 API server (the `@20minutes/s3rver` fork that `scripts/setup` installs from npm)
//! on 127.0.0.1 with an ephemeral port, a private directory, one bucket and one key pair, killed
//! on drop (also when a test fails).
//!
//! Unlike moto, which accepts any keys (and whose auth checks crash on query-signed requests),
//! s3rver checks every SigV4 signature, in the `Authorization` header and in the query string,
//! against its keys: a wrong secret key is refused with 403 `SignatureDoesNotMatch`, an unknown
//! access key with 403 `InvalidAccessKeyId`. That is what the bad-credentials tests need.
//! Objects are listed through boto3 (from the moto virtual environment) with the good keys.
//! Its clock can be shifted ([`S3rver::set_clock_offset`]) to check presigned URLs' expiry.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{output_retrying, spawn_retrying, venv_python};

/// Where `scripts/setup` installs s3rver (`node_modules` inside); `HUBCTL_TEST_S3RVER`
/// overrides it.
pub const DEFAULT_S3RVER_DIR: &str = "/opt/hubctl-test/s3rver";

/// Starts s3rver with one key pair (the built-in `S3RVER` pair revoked) and one bucket, and
/// prints the address it listens on.
///
/// One shim: s3rver builds a bucket-level request's canonical URI as `/BUCKET` even when the
/// request was for `/BUCKET/` (as rusty-s3 sends HEAD bucket and ListObjectsV2 path-style, and
/// as AWS and MinIO sign them), so it would refuse every such request, good keys or bad. For
/// those requests the wrapper hands the authentication middleware the path as sent (`/BUCKET/`
/// as the mount path, no bucket parameter) and puts both back before the request goes on; the
/// signature is still computed from the keys and compared as for any other request.
const LAUNCHER: &str = r#"
const path = require('node:path')
const fs = require('node:fs')
const [root, dir, access, secret, bucket, offsetFile] = process.argv.slice(1)
// The server's clock, shiftable by the test (SIGUSR2 reads the offset in ms from offsetFile),
// to check presigned URLs' expiry without waiting for it.
let offset = 0
const RealDate = Date
global.Date = class extends RealDate {
  constructor(...a) { if (a.length === 0) { super(RealDate.now() + offset) } else { super(...a) } }
  static now() { return RealDate.now() + offset }
}
process.on('SIGUSR2', () => {
  offset = Number(fs.readFileSync(offsetFile, 'utf8'))
  console.log(`s3rver clock offset ${offset} ms`)
})
const lib = path.join(root, 'node_modules/@20minutes/s3rver/lib')
const authModule = require.cache[require.resolve(path.join(lib, 'middleware/authentication'))]
  || (require(path.join(lib, 'middleware/authentication')),
      require.cache[require.resolve(path.join(lib, 'middleware/authentication'))])
const authFactory = authModule.exports
authModule.exports = () => {
  const auth = authFactory()
  return async function authentication(ctx, next) {
    const b = ctx.params.bucket
    if (b && !ctx.params.key && !ctx.state.vhost && ctx.path === `/${b}/`) {
      const mount = ctx.mountPath
      ctx.params.bucket = undefined
      ctx.mountPath = `${mount || ''}/${b}`
      return auth(ctx, () => {
        ctx.params.bucket = b
        ctx.mountPath = mount
        return next()
      })
    }
    return auth(ctx, next)
  }
}
const S3rver = require(path.join(root, 'node_modules/@20minutes/s3rver'))
const AWSAccount = require(path.join(root, 'node_modules/@20minutes/s3rver/lib/models/account'))
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER')
AWSAccount.DUMMY_ACCOUNT.createKeyPair(access, secret)
new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: false,
             configureBuckets: [{ name: bucket }] })
  .run()
  .then((a) => console.log(`s3rver listening on http://127.0.0.1:${a.port}`))
  .catch((e) => { console.error(e); process.exit(1) })
"#;

/// A running s3rver with one bucket and one key pair.
pub struct S3rver {
    child: Option<Child>,
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// The only access key the server knows.
    pub access_key: String,
    /// Its secret key.
    pub secret_key: String,
    /// s3rver's stdout and stderr (one line per request with its status).
    pub log_path: PathBuf,
    _tmp: tempfile::TempDir,
}

impl S3rver {
    /// Start s3rver on an ephemeral port with the bucket `hubctl-lfs`.
    pub fn start() -> S3rver {
        let root = std::env::var_os("HUBCTL_TEST_S3RVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_S3RVER_DIR));
        assert!(
            root.join("node_modules/@20minutes/s3rver/lib/s3rver.js")
                .exists(),
            "s3rver is missing from {}: run scripts/setup",
            root.display()
        );
        let tmp = tempfile::Builder::new()
            .prefix("hubctl-s3rver-")
            .tempdir()
            .expect("tempdir");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let log_path = tmp.path().join("s3rver.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut s = S3rver {
            child: None,
            port: 0,
            endpoint: String::new(),
            bucket: "hubctl-lfs".into(),
            region: "us-east-1".into(),
            access_key: "hubctl-s3rver-key".into(),
            secret_key: "hubctl-s3rver-secret".into(),
            log_path,
            _tmp: tmp,
        };
        let mut cmd = Command::new("node");
        cmd.arg("-e")
            .arg(LAUNCHER)
            .arg(&root)
            .arg(&data)
            .args([&s.access_key, &s.secret_key, &s.bucket])
            .arg(s._tmp.path().join("clock-offset"))
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = spawn_retrying(&mut cmd).expect("starting s3rver");
        let deadline = Instant::now() + Duration::from_secs(30);
        let marker = "s3rver listening on http://127.0.0.1:";
        let port = loop {
            let text = s.log();
            if let Some(port) = text.find(marker).and_then(|i| {
                text[i + marker.len()..]
                    .split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<u16>()
                    .ok()
            }) {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("s3rver exited ({status}):\n{text}");
            }
            if Instant::now() > deadline {
                kill_group(&mut child);
                panic!("s3rver did not listen within 30 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        s.port = port;
        s.endpoint = format!("http://127.0.0.1:{port}");
        s.child = Some(child);
        s
    }

    /// Run the server's clock `secs` ahead of the real one (negative: behind), as a store whose
    /// clock is off would: signatures are then checked against that time. Returns once the
    /// server has taken the new offset.
    pub fn set_clock_offset(&self, secs: i64) {
        let ms = secs * 1000;
        let line = format!("s3rver clock offset {ms} ms");
        let before = self.log().matches(&line).count();
        std::fs::write(self._tmp.path().join("clock-offset"), ms.to_string()).unwrap();
        let c = self.child.as_ref().expect("s3rver is not running");
        // SAFETY: plain syscall on the process this harness started.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGUSR2);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.log().matches(&line).count() == before {
            assert!(
                Instant::now() < deadline,
                "s3rver did not take the clock offset"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Every object under `prefix`: (key, size), sorted by key, listed by boto3 with the good
    /// keys (SigV4).
    pub fn list(&self, prefix: &str) -> Vec<(String, u64)> {
        let script = "import sys, boto3\nfrom botocore.config import Config\n\
             s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name=sys.argv[2],\n\
             \x20   aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4],\n\
             \x20   config=Config(signature_version='s3v4', s3={'addressing_style': 'path'},\n\
             \x20                 retries={'max_attempts': 2}, connect_timeout=10, read_timeout=60))\n\
             p = s3.get_paginator('list_objects_v2')\n\
             for page in p.paginate(Bucket=sys.argv[5], Prefix=sys.argv[6]):\n\
             \x20   for o in page.get('Contents', []):\n\
             \x20       print(o['Key'], o['Size'])\n";
        let mut cmd = Command::new(venv_python());
        cmd.arg("-c")
            .arg(script)
            .args([
                &self.endpoint,
                &self.region,
                &self.access_key,
                &self.secret_key,
                &self.bucket,
                prefix,
            ])
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CONFIG_FILE")
            .env_remove("AWS_SHARED_CREDENTIALS_FILE")
            .stdin(Stdio::null());
        let out = output_retrying(&mut cmd).expect("running boto3");
        assert!(
            out.status.success(),
            "listing s3rver's bucket failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (k, s) = l.rsplit_once(' ')?;
                Some((k.to_string(), s.parse().ok()?))
            })
            .collect();
        v.sort();
        v
    }
}

impl Drop for S3rver {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(&mut c);
        }
    }
}

fn kill_group(c: &mut Child) {
    // SAFETY: plain syscall on the process group this harness started.
    unsafe {
        libc::kill(-(c.id() as i32), libc::SIGKILL);
    }
    let _ = c.kill();
    let _ = c.wait();
}
