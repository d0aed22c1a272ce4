//! moto's standalone S3 server (`python -m moto.server`, from the virtual environment that
//! `scripts/setup` installs) on 127.0.0.1 with an ephemeral port, a private directory and a
//! bucket, killed on drop (also when a test fails).
//!
//! Its request log (werkzeug writes one line per request to stderr: method, path, status) goes to
//! a file that tests read with [`Moto::requests`], to tell which requests reached the store; a
//! small WSGI wrapper (`moto_wire.py`) also logs each request's User-Agent and body bytes in and
//! out ([`Moto::wire`]), to tell who sent or fetched an object's bytes.
//! Objects are put, read, listed and tampered with through boto3, the real S3 client
//! ([`Moto::boto3`] and the helpers on top of it).
//!
//! moto keeps its state in memory: [`Moto::pause`] / [`Moto::resume`] (SIGSTOP / SIGCONT) make
//! the store unreachable and back with every object kept; [`Moto::stop`] / [`Moto::restart`] kill
//! it and start a fresh one on the same port, with the bucket created again but empty.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{output_retrying, spawn_retrying};

/// Where `scripts/setup` puts the virtual environment with `moto[server]` and `boto3`;
/// `HUBCTL_TEST_VENV` overrides it.
pub const DEFAULT_VENV: &str = "/opt/hubctl-test/venv";

/// The virtual environment's python.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("HUBCTL_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV));
    venv.join("bin/python")
}

/// One request as moto's log line shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MotoRequest {
    pub method: String,
    /// The request target: path and query string, as sent.
    pub target: String,
    pub status: u16,
}

/// moto's server with a WSGI wrapper that logs who sent each request and how many bytes it
/// carried ([`Moto::wire`]); otherwise the same application and server as `python -m moto.server`.
const WIRE_LAUNCHER: &str = include_str!("moto_wire.py");

/// One request as the wrapper logged it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct WireRequest {
    pub method: String,
    /// Path and query string, as sent.
    pub target: String,
    pub user_agent: String,
    /// The `Range` header, empty when none.
    pub range: String,
    /// Body bytes the server read from the request.
    pub bytes_in: u64,
    /// Body bytes the server sent in the response.
    pub bytes_out: u64,
    pub status: u16,
}

/// A running moto S3 server with one bucket.
pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// moto's stderr (its request log), appended to across restarts.
    pub log_path: PathBuf,
    /// The server's private directory (its TMPDIR: objects larger than moto's memory buffer
    /// spill here, never to a tmpfs).
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Moto {
    /// Start moto on an ephemeral port and create the bucket `hubctl-lfs`.
    pub fn start() -> Moto {
        Moto::start_with_bucket("hubctl-lfs")
    }

    /// Start moto on an ephemeral port and create `bucket`.
    pub fn start_with_bucket(bucket: &str) -> Moto {
        let tmp = tempfile::Builder::new()
            .prefix("hubctl-moto-")
            .tempdir()
            .expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut moto = Moto {
            child: None,
            port: 0,
            endpoint: String::new(),
            bucket: bucket.to_string(),
            region: "us-east-1".to_string(),
            access_key: "hubctl-test-key".to_string(),
            secret_key: "hubctl-test-secret".to_string(),
            log_path: dir.join("moto.log"),
            dir,
            _tmp: tmp,
        };
        moto.launch(0);
        moto.create_bucket();
        moto
    }

    /// Spawn the server on `port` (0: ephemeral) and wait until it listens.
    fn launch(&mut self, port: u16) {
        let python = venv_python();
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup (it installs moto[server] and boto3)",
            python.display()
        );
        // Where this launch's lines start in the appended log.
        let start_at = std::fs::metadata(&self.log_path)
            .map(|m| m.len())
            .unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log_path)
                .unwrap();
            let mut cmd = Command::new(&python);
            cmd.arg("-c")
                .arg(WIRE_LAUNCHER)
                .arg("127.0.0.1")
                .arg(port.to_string())
                .current_dir(&self.dir)
                .env("HUBCTL_MOTO_WIRE_LOG", self.wire_log_path())
                .env("TMPDIR", &self.dir)
                .env("NO_COLOR", "1")
                .env("PYTHONUNBUFFERED", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log));
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let mut child = spawn_retrying(&mut cmd).expect("starting moto");
            match wait_moto_listening(&mut child, &self.log_path, start_at, deadline) {
                Ok(p) => {
                    self.port = p;
                    self.endpoint = format!("http://127.0.0.1:{p}");
                    self.child = Some(child);
                    return;
                }
                // The port of a restart may still be held for a moment by the killed server.
                Err(why) if port != 0 && Instant::now() < deadline => {
                    let _ = why;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(why) => panic!("moto did not start: {why}"),
            }
        }
    }

    fn create_bucket(&self) {
        self.boto3("s3.create_bucket(Bucket=bucket)\n", &[]);
    }

    /// Kill the server (SIGKILL): the store is unreachable, connections are refused.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(&mut c);
        }
    }

    /// Start a fresh server on the same port after [`Moto::stop`] (moto keeps no state across
    /// processes: the bucket is created again, empty).
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        self.launch(port);
        self.create_bucket();
    }

    /// Freeze the server (SIGSTOP): connections are accepted by the kernel but never answered;
    /// every object is kept for [`Moto::resume`].
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Let a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, sig: libc::c_int) {
        let c = self.child.as_ref().expect("moto is not running");
        // SAFETY: plain syscall on the process group this harness started.
        unsafe {
            libc::kill(-(c.id() as i32), sig);
        }
    }

    /// Where the wrapper writes its JSON request lines (every launch).
    pub fn wire_log_path(&self) -> PathBuf {
        self.dir.join("wire.log")
    }

    /// The requests the server has finished so far, as the wrapper logged them (every launch),
    /// in the order their responses ended: who sent each one and how many body bytes it carried.
    pub fn wire(&self) -> Vec<WireRequest> {
        std::fs::read_to_string(self.wire_log_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The whole request log (every launch), as written.
    pub fn request_log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The requests the server has answered so far (every launch), in order.
    pub fn requests(&self) -> Vec<MotoRequest> {
        self.request_log()
            .lines()
            .filter_map(parse_request_line)
            .collect()
    }

    /// Environment variables that point an AWS client (hubctl's S3 store too) at this server's
    /// credentials and region.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret_key.clone()),
            ("AWS_DEFAULT_REGION".into(), self.region.clone()),
            ("AWS_REGION".into(), self.region.clone()),
        ]
    }

    /// Run a python snippet with boto3, where `s3` is a client for this server (path-style
    /// addressing) and `bucket` the bucket's name; `args` are in `sys.argv[1:]`. Returns stdout;
    /// panics when the snippet fails.
    pub fn boto3(&self, snippet: &str, args: &[&str]) -> String {
        let out = self.boto3_output(snippet, args);
        assert!(
            out.status.success(),
            "boto3 snippet failed:\n{snippet}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// [`Moto::boto3`], returning the output whatever the exit status.
    pub fn boto3_output(&self, snippet: &str, args: &[&str]) -> std::process::Output {
        let script = format!(
            "import os, sys, boto3\nfrom botocore.config import Config\n\
             s3 = boto3.client('s3', endpoint_url=os.environ['MOTO_ENDPOINT'],\n\
             \x20   region_name=os.environ['AWS_DEFAULT_REGION'],\n\
             \x20   config=Config(s3={{'addressing_style': 'path'}}, retries={{'max_attempts': 2}},\n\
             \x20                 connect_timeout=10, read_timeout=60))\n\
             bucket = os.environ['MOTO_BUCKET']\n{snippet}"
        );
        let mut cmd = Command::new(venv_python());
        cmd.arg("-c").arg(script).args(args);
        for (k, v) in self.aws_env() {
            cmd.env(k, v);
        }
        cmd.env("MOTO_ENDPOINT", &self.endpoint)
            .env("MOTO_BUCKET", &self.bucket)
            .env("TMPDIR", &self.dir)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CONFIG_FILE")
            .env_remove("AWS_SHARED_CREDENTIALS_FILE")
            .stdin(Stdio::null());
        output_retrying(&mut cmd).expect("running boto3")
    }

    /// Put `data` at `key`, behind hubctl's back.
    pub fn put_object(&self, key: &str, data: &[u8]) {
        let file = self.scratch_file(data);
        self.boto3(
            "s3.upload_file(sys.argv[1], bucket, sys.argv[2])\n",
            &[file.to_str().unwrap(), key],
        );
        let _ = std::fs::remove_file(file);
    }

    /// The bytes at `key`, or None when there is no such object.
    pub fn get_object(&self, key: &str) -> Option<Vec<u8>> {
        let file = self.scratch_file(b"");
        let out = self.boto3(
            "import botocore\n\
             try:\n    s3.download_file(bucket, sys.argv[2], sys.argv[1])\n    print('ok')\n\
             except botocore.exceptions.ClientError as e:\n\
             \x20   if e.response['Error']['Code'] not in ('404', 'NoSuchKey'): raise\n\
             \x20   print('missing')\n",
            &[file.to_str().unwrap(), key],
        );
        let data = (out.trim() == "ok").then(|| std::fs::read(&file).unwrap());
        let _ = std::fs::remove_file(file);
        data
    }

    /// Delete the object at `key`.
    pub fn delete_object(&self, key: &str) {
        self.boto3("s3.delete_object(Bucket=bucket, Key=sys.argv[1])\n", &[key]);
    }

    /// Every object under `prefix`: (key, size), sorted by key.
    pub fn list(&self, prefix: &str) -> Vec<(String, u64)> {
        let out = self.boto3(
            "p = s3.get_paginator('list_objects_v2')\n\
             for page in p.paginate(Bucket=bucket, Prefix=sys.argv[1]):\n\
             \x20   for o in page.get('Contents', []):\n\
             \x20       print(o['Key'], o['Size'])\n",
            &[prefix],
        );
        let mut v: Vec<(String, u64)> = out
            .lines()
            .filter_map(|l| {
                let (k, s) = l.rsplit_once(' ')?;
                Some((k.to_string(), s.parse().ok()?))
            })
            .collect();
        v.sort();
        v
    }

    fn scratch_file(&self, data: &[u8]) -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let p = self
            .dir
            .join(format!("scratch-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(&mut c);
        }
    }
}

fn kill_group(c: &mut Child) {
    // SAFETY: plain syscalls on the process group this harness started; SIGCONT first so a
    // paused server can die.
    unsafe {
        libc::kill(-(c.id() as i32), libc::SIGKILL);
        libc::kill(-(c.id() as i32), libc::SIGCONT);
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// Wait until this launch's log lines (from byte `start_at`) say where the server listens and
/// it accepts connections there; `Err` with the log when it exits first or the deadline passes.
fn wait_moto_listening(
    child: &mut Child,
    log: &Path,
    start_at: u64,
    deadline: Instant,
) -> Result<u16, String> {
    let tail = || {
        let all = std::fs::read(log).unwrap_or_default();
        String::from_utf8_lossy(&all[(start_at as usize).min(all.len())..]).into_owned()
    };
    loop {
        let text = tail();
        if let Some(port) = text
            .find("Running on http://127.0.0.1:")
            .map(|i| &text[i + "Running on http://127.0.0.1:".len()..])
            .and_then(|r| {
                r.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<u16>()
                    .ok()
            })
        {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("moto exited ({status}):\n{}", tail()));
        }
        if Instant::now() > deadline {
            kill_group(child);
            return Err(format!(
                "moto did not listen within the deadline:\n{}",
                tail()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parse one werkzeug request line: `127.0.0.1 - - [date] "PUT /b/k HTTP/1.1" 200 -`
/// (colour codes removed).
fn parse_request_line(line: &str) -> Option<MotoRequest> {
    let clean = strip_ansi(line);
    let q1 = clean.find('"')?;
    let rest = &clean[q1 + 1..];
    let q2 = rest.find('"')?;
    let mut req = rest[..q2].split(' ');
    let method = req.next()?.to_string();
    let target = req.next()?.to_string();
    if !req.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = rest[q2 + 1..].split_whitespace().next()?.parse().ok()?;
    Some(MotoRequest {
        method,
        target,
        status,
    })
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... final byte in @..~
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) && d != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
