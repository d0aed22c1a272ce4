//! Small helpers shared by several modules.

/// Quote `s` for a POSIX shell if it needs it (sshd runs forced commands, and git runs
/// `uploadpack.packObjectsHook`, through a shell).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The path of this hubctl binary, for what outlives the process: `authorized_keys` lines,
/// git's `uploadpack.packObjectsHook`, hook links, background maintenance.
///
/// `std::env::current_exe` alone is wrong twice over on a long-running `hubctl serve`:
/// after the binary is upgraded in place (install or a package manager renames a new file
/// over it), Linux reports `<path> (deleted)`, and behind a symlink such as
/// `/usr/local/bin/hubctl -> /opt/hubctl-1.2/hubctl` it reports the versioned target, which
/// goes stale when the link is switched. So the path we were started by wins when it is
/// absolute, has the binary's file name and still leads to the same place, and a
/// `(deleted)` suffix is dropped.
pub fn self_exe() -> std::io::Result<std::path::PathBuf> {
    if let Some(chosen) = PROGRAM.get() {
        // An application that embeds the library is not hubctl: git must run the real binary.
        return Ok(chosen.clone());
    }
    let exe = std::env::current_exe()?;
    let exe = strip_deleted(exe);
    if let Some(arg0) = std::env::args_os().next().map(std::path::PathBuf::from) {
        // Same file name only: hook processes run through links named after the hook
        // (`.../post-receive -> hubctl`), and running one of those means running the hook.
        if arg0.is_absolute()
            && arg0 != exe
            && arg0.file_name() == exe.file_name()
            && std::fs::canonicalize(&arg0).ok() == std::fs::canonicalize(&exe).ok()
            && arg0.exists()
        {
            return Ok(arg0);
        }
    }
    Ok(exe)
}

/// The hubctl program chosen by an embedding application, if one did ([`set_program`]).
static PROGRAM: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Make [`self_exe`] answer `program` instead of this process's own executable: an application
/// that embeds the library (`hubctl::embed`) is not the hubctl binary, yet git must run hubctl
/// for hooks and the pack cache. The first call in a process wins (hooks link to one
/// program); the answer says whether the program in force is now `program`.
pub fn set_program(program: std::path::PathBuf) -> bool {
    PROGRAM.get_or_init(|| program.clone()) == &program
}

/// `<path> (deleted)` (how Linux names a running binary whose file was replaced) back to
/// `<path>`, where the replacement is; any other path as it is.
fn strip_deleted(exe: std::path::PathBuf) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    const SUFFIX: &[u8] = b" (deleted)";
    let bytes = exe.as_os_str().as_bytes();
    if !exe.exists() && bytes.ends_with(SUFFIX) {
        let trimmed = std::ffi::OsStr::from_bytes(&bytes[..bytes.len() - SUFFIX.len()]);
        return std::path::PathBuf::from(trimmed);
    }
    exe
}

/// A child's exit status as this process's (a signal becomes a plain failure).
pub fn exit_code(status: std::process::ExitStatus) -> std::process::ExitCode {
    use std::process::ExitCode;
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}

/// The default number of git engine slots: twice the number of cores (git's pack engine is
/// CPU-bound, so more than that only adds memory, not throughput).
pub fn default_engine_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_binary_paths_lose_the_deleted_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("hubctl");
        std::fs::write(&bin, b"new").unwrap();
        let reported = std::path::PathBuf::from(format!("{} (deleted)", bin.display()));
        assert_eq!(strip_deleted(reported), bin);
        assert_eq!(strip_deleted(bin.clone()), bin);
        // A file really named like that is left alone.
        let odd = dir.path().join("x (deleted)");
        std::fs::write(&odd, b"").unwrap();
        assert_eq!(strip_deleted(odd.clone()), odd);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/usr/bin/hubctl"), "/usr/bin/hubctl");
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
