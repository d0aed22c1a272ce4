//! `examples/embed.rs` (an application that mounts hubctl at `/git/` with the library API) on
//! an ephemeral port, its stderr captured as a [`Log`], stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use super::*;

/// The example program, built once per test run with the same cargo and profile as these tests
/// (cargo builds examples for `cargo test --all-targets`, not for `cargo test --test it`).
pub fn example_bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    assert_eq!(name, "embed", "only the embed example is built here");
    BUILT
        .get_or_init(|| {
            // This test binary is <target>/<profile>/deps/it-HASH.
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .ok_or("no profile directory")?;
            let target_dir = profile_dir.parent().ok_or("no target directory")?;
            let profile = profile_dir
                .file_name()
                .and_then(|p| p.to_str())
                .ok_or("profile name")?;
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut cmd = Command::new(cargo);
            // What cargo set for this test process describes the test, not the build: ring's
            // build script reruns when CARGO_MANIFEST_DIR changes, which would rebuild TLS
            // crates on every alternation with `cargo test`.
            for (k, _) in std::env::vars_os() {
                if let Some(k) = k.to_str() {
                    if k.starts_with("CARGO_PKG_")
                        || k.starts_with("CARGO_MANIFEST_")
                        || matches!(
                            k,
                            "CARGO_CRATE_NAME"
                                | "CARGO_PRIMARY_PACKAGE"
                                | "CARGO_TARGET_TMPDIR"
                                | "CARGO_RUSTC_CURRENT_DIR"
                                | "OUT_DIR"
                        )
                    {
                        cmd.env_remove(k);
                    }
                }
            }
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["build", "--quiet", "--example", name, "--target-dir"])
                .arg(target_dir);
            match profile {
                "debug" => {}
                "release" => {
                    cmd.arg("--release");
                }
                other => {
                    cmd.args(["--profile", other]);
                }
            }
            let out = cmd.output().map_err(|e| format!("running cargo: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cargo build --example {name} failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let bin = profile_dir.join("examples").join(name);
            if bin.is_file() {
                Ok(bin)
            } else {
                Err(format!("{} was not built", bin.display()))
            }
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A running `examples/embed.rs`.
pub struct Embedded {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`: the application (its `/hello`, and hubctl below `/git`).
    pub base: String,
    pub log: Log,
}

impl Embedded {
    /// Start the example on `env`'s root, on an ephemeral port, with extra arguments.
    pub fn start(env: &Env, extra: &[&str]) -> Embedded {
        let mut cmd = Command::new(example_bin("embed"));
        env.clean_env(&mut cmd);
        cmd.arg(&env.root)
            .args(["--listen", "127.0.0.1:0", "--program"])
            .arg(hubctl_bin())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_retrying(&mut cmd).expect("starting examples/embed");
        let log = Log::default();
        log.drain(child.stderr.take().unwrap());
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let base = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line from examples/embed: {first:?}\n{}",
                    log.lines().join("\n")
                )
            })
            .to_string();
        Embedded {
            child: Some(child),
            base,
            log,
        }
    }

    /// The URL of hosted repository `name` below the mount point.
    pub fn url(&self, name: &str) -> String {
        format!("{}/git/{name}.git", self.base)
    }

    /// The process id (for its memory high-water mark).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// git (or git-lfs) against an embedding application: bounded in time, with the test's own
/// HOME, without SSH multiplexing.
pub fn app_git(env: &Env, cwd: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("timeout");
    c.args(["-k", "10", "300", "git"])
        .args(args)
        .current_dir(cwd);
    env.clean_env(&mut c);
    c.env_remove("XDG_RUNTIME_DIR");
    c.output().expect("running git")
}

/// [`app_git`] that must succeed; a failure shows git's output and the application's log.
pub fn app_git_ok(env: &Env, app: &Embedded, cwd: &Path, args: &[&str]) -> String {
    let out = app_git(env, cwd, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}\nstdout: {}\nstderr: {}\n--- application ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        app.log.lines().join("\n")
    );
    String::from_utf8(out.stdout).unwrap()
}
