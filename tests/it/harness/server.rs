//! `hubctl serve` on an ephemeral port (or a given address), its stderr captured as a [`Log`],
//! stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::*;

/// A running `hubctl serve`.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub log: Log,
}

impl Server {
    pub(super) fn start(env: &Env, extra: &[&str]) -> Server {
        Server::start_on(env, "127.0.0.1:0", extra)
    }

    /// Start on a given address (to restart a killed server where its clients expect it).
    pub fn start_on(env: &Env, listen: &str, extra: &[&str]) -> Server {
        Server::start_full(env, listen, extra, &[])
    }

    /// Start with extra environment variables.
    pub fn start_full(env: &Env, listen: &str, extra: &[&str], vars: &[(&str, &str)]) -> Server {
        Server::start_program(env, &hubctl_bin(), listen, extra, vars)
    }

    /// Start from a given hubctl binary (e.g. a copy that the test then replaces).
    pub fn start_program(
        env: &Env,
        program: &Path,
        listen: &str,
        extra: &[&str],
        vars: &[(&str, &str)],
    ) -> Server {
        let mut cmd = Command::new(program);
        cmd.arg("--root").arg(&env.root);
        env.clean_env(&mut cmd);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.args(["serve", "--listen", listen])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = spawn_retrying(&mut cmd).expect("starting hubctl serve");
        let stderr = child.stderr.take().unwrap();
        let mut reader = BufReader::new(stderr);
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let base = first
            .trim()
            .strip_prefix("hubctl: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from hubctl serve: {first:?}"))
            .to_string();
        let log = Log::default();
        log.drain(reader);
        Server {
            child: Some(child),
            base,
            log,
        }
    }

    /// URL of a hosted repository.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.base)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Stop with SIGTERM and wait (graceful shutdown).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        wait_timeout(&mut child, Duration::from_secs(20)).expect("hubctl serve did not stop")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
