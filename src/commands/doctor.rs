//! `hubctl doctor`: check what a setup needs, one line per check with what to fix.
//!
//! Every check reports instead of failing the command, so one run shows everything that is
//! wrong; the exit status is 1 when any check failed.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::core::fsutil;
use crate::core::root::{self, Root};
use crate::core::units::format_size;
use crate::git::{Engine, hooks, maintenance, pack_cache};
use crate::settings::Settings;
use crate::store::Store;

/// How long `--url`'s `git ls-remote` may take.
const LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    message: String,
    fix: Option<String>,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, check: &'static str, status: Status, message: String, fix: Option<String>) {
        self.checks.push(Check {
            check,
            status,
            message,
            fix,
        });
    }
    fn ok(&mut self, check: &'static str, message: String) {
        self.add(check, Status::Ok, message, None);
    }
    fn warn(&mut self, check: &'static str, message: String, fix: String) {
        self.add(check, Status::Warn, message, Some(fix));
    }
    fn fail(&mut self, check: &'static str, message: String, fix: String) {
        self.add(check, Status::Fail, message, Some(fix));
    }
}

/// Run every check and print the report.
pub(super) fn run(
    explicit_root: Option<&Path>,
    keys_file: Option<&Path>,
    args: DoctorArgs,
) -> Result<ExitCode> {
    let mut r = Report::default();
    check_git(&mut r);
    if let Some(root) = check_root(&mut r, explicit_root) {
        let store = check_database(&mut r, &root);
        check_hooks(&mut r, &root);
        let settings = store
            .as_ref()
            .map(Settings::load)
            .transpose()
            .ok()
            .flatten();
        check_authorized_keys(&mut r, &root, store.as_ref(), keys_file, settings.as_ref());
        check_disk(&mut r, &root, args.min_free);
        check_pack_cache(&mut r, &root, settings.as_ref());
        check_authorize(&mut r, settings.as_ref());
        check_maintenance(&mut r, &root);
        check_lfs_storage(&mut r, store.as_ref(), settings.as_ref());
        if let Some(url) = &args.url {
            check_url(&mut r, Some(&root), url);
        }
    } else if let Some(url) = &args.url {
        check_url(&mut r, None, url);
    }
    let failed = r.checks.iter().any(|c| c.status == Status::Fail);
    if args.json {
        super::print_json(&serde_json::json!({ "ok": !failed, "checks": r.checks }))?;
    } else {
        for c in &r.checks {
            let status = match c.status {
                Status::Ok => "ok",
                Status::Warn => "warn",
                Status::Fail => "fail",
            };
            match &c.fix {
                Some(fix) => println!("{status:<4}  {:<15}  {}; fix: {fix}", c.check, c.message),
                None => println!("{status:<4}  {:<15}  {}", c.check, c.message),
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn check_git(r: &mut Report) {
    match Engine::detect(None) {
        Ok(engine) => {
            let (a, b, c) = engine.version();
            r.ok(
                "git",
                format!("git {a}.{b}.{c} at {}", engine.path().display()),
            );
        }
        Err(e) => r.fail(
            "git",
            e.to_string(),
            format!(
                "install git {}.{} or newer (apt-get install git), or point HUBCTL_GIT at one",
                crate::git::MIN_VERSION.0,
                crate::git::MIN_VERSION.1
            ),
        ),
    }
}

/// The root, when it exists; its ownership against the current user.
fn check_root(r: &mut Report, explicit: Option<&Path>) -> Option<Root> {
    let root = match Root::resolve_existing(explicit) {
        Ok(root) => root,
        Err(root::Error::Missing { path }) => {
            r.fail(
                "root",
                format!("no hubctl root at {}", path.display()),
                "pass the right --root (or HUBCTL_ROOT), or create it with `hubctl init`".into(),
            );
            return None;
        }
        Err(e) => {
            r.fail("root", e.to_string(), fix_of(&e));
            return None;
        }
    };
    let user = fsutil::user_name(fsutil::current_uid());
    let meta = match std::fs::metadata(root.path()) {
        Ok(m) => m,
        Err(e) => {
            r.fail(
                "root",
                format!("cannot read {}: {e}", root.path().display()),
                "check the path and its permissions".into(),
            );
            return None;
        }
    };
    let owner = fsutil::user_name(meta.uid());
    let mode = meta.permissions().mode() & 0o7777;
    let described = format!(
        "{} (owner {owner}, mode {mode:04o}, hubctl runs as {user})",
        root.path().display()
    );
    if let Err(e) = root.check_access() {
        r.fail("root", e.to_string(), fix_of(&e));
    } else if mode & 0o002 != 0 {
        r.warn(
            "root",
            format!("{described}: writable by every account"),
            format!("chmod o-w {}", root.path().display()),
        );
    } else if owner != user {
        r.warn(
            "root",
            format!("{described}: what hubctl creates as {user} will belong to {user}"),
            format!(
                "run hubctl as {owner} (sudo -u {owner} hubctl …), the account fcgiwrap and sshd run it as"
            ),
        );
    } else {
        r.ok("root", described);
    }
    Some(root)
}

fn fix_of(e: &root::Error) -> String {
    match e {
        root::Error::Permission { fix, .. } => fix.clone(),
        _ => "check the path and its permissions".into(),
    }
}

fn check_database(r: &mut Report, root: &Root) -> Option<Store> {
    let db = root.db_path();
    if !db.exists() {
        r.warn(
            "database",
            format!("no database at {} yet", db.display()),
            "any command that writes creates it, e.g. `hubctl user add NAME`".into(),
        );
        return None;
    }
    if let Err(e) = root.check_access() {
        r.fail("database", e.to_string(), fix_of(&e));
        return None;
    }
    match Store::open(&db).and_then(|mut s| s.check_writable().map(|()| s)) {
        Ok(store) => {
            r.ok("database", format!("{} opens read-write", db.display()));
            Some(store)
        }
        Err(e) => {
            r.fail(
                "database",
                e.to_string(),
                format!(
                    "restore {} from a backup, or check its file system (the message says what SQLite found)",
                    db.display()
                ),
            );
            None
        }
    }
}

/// hubctl's own hook links (`<root>/run/hooks/NS/NAME/pre-receive`, ...) lead to this binary.
fn check_hooks(r: &mut Report, root: &Root) {
    let exe = match crate::core::util::self_exe() {
        Ok(e) => e,
        Err(e) => {
            r.warn(
                "hooks",
                format!("cannot tell this binary's path: {e}"),
                "run hubctl by its absolute path".into(),
            );
            return;
        }
    };
    let base = root.run_dir().join("hooks");
    let (mut total, mut stale) = (0usize, Vec::new());
    for ns in read_dir_paths(&base) {
        for repo in read_dir_paths(&ns) {
            for hook in hooks::OWN_HOOKS {
                let link = repo.join(hook);
                let Ok(target) = std::fs::read_link(&link) else {
                    continue;
                };
                total += 1;
                let same = target == exe
                    || (std::fs::canonicalize(&target).ok() == std::fs::canonicalize(&exe).ok()
                        && target.exists());
                if !same {
                    stale.push(format!("{} -> {}", link.display(), target.display()));
                }
            }
        }
    }
    if stale.is_empty() {
        r.ok(
            "hooks",
            format!("{total} hook links lead to {}", exe.display()),
        );
    } else {
        r.warn(
            "hooks",
            format!(
                "{} of {total} hook links lead elsewhere than {} (e.g. {})",
                stale.len(),
                exe.display(),
                stale[0]
            ),
            format!(
                "none needed if {} is the binary you mean to run: each link is repaired at the next push into its repository; otherwise run that binary",
                exe.display()
            ),
        );
    }
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| it.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The managed authorized_keys file: sshd's StrictModes rules, and lines that run this binary
/// on this root.
fn check_authorized_keys(
    r: &mut Report,
    root: &Root,
    store: Option<&Store>,
    explicit: Option<&Path>,
    settings: Option<&Settings>,
) {
    let file = explicit
        .map(Path::to_path_buf)
        .or_else(|| settings.and_then(|s| s.authorized_keys_file.clone()));
    let Some(file) = file else {
        r.ok(
            "authorized-keys",
            "no managed authorized_keys file (AuthorizedKeysCommand, or no SSH)".into(),
        );
        return;
    };
    let rewrite = format!("hubctl keys authorized-keys --write {}", file.display());
    let meta = match std::fs::metadata(&file) {
        Ok(m) => m,
        Err(e) => {
            r.fail(
                "authorized-keys",
                format!("cannot read {}: {e}", file.display()),
                rewrite,
            );
            return;
        }
    };
    // sshd (StrictModes, its default) accepts the file only if it and every directory above
    // it belong to root or the login account and are not writable by group or others. The
    // login account is taken to be the file's owner.
    let login = meta.uid();
    let mut path = Some(file.as_path());
    while let Some(p) = path {
        if let Ok(m) = std::fs::metadata(p) {
            let mode = m.permissions().mode();
            if m.uid() != 0 && m.uid() != login {
                r.fail(
                    "authorized-keys",
                    format!(
                        "sshd (StrictModes) refuses {}: {} belongs to {}, neither root nor {}",
                        file.display(),
                        p.display(),
                        fsutil::user_name(m.uid()),
                        fsutil::user_name(login)
                    ),
                    format!("chown {} {}", fsutil::user_name(login), p.display()),
                );
                return;
            }
            // Like sshd, no exception for sticky directories such as /tmp.
            if mode & 0o022 != 0 {
                r.fail(
                    "authorized-keys",
                    format!(
                        "sshd (StrictModes) refuses {}: {} is writable by group or others (mode {:04o})",
                        file.display(),
                        p.display(),
                        mode & 0o7777
                    ),
                    format!("chmod go-w {}", p.display()),
                );
                return;
            }
        }
        path = p.parent();
    }
    let Some(store) = store else {
        r.warn(
            "authorized-keys",
            format!(
                "{}: modes fine; lines not checked without the database",
                file.display()
            ),
            "fix the database first".into(),
        );
        return;
    };
    let expected = match crate::keys::file::lines(store, root) {
        Ok(l) => l,
        Err(e) => {
            r.warn(
                "authorized-keys",
                format!("cannot list the registered keys: {e}"),
                "fix the database first".into(),
            );
            return;
        }
    };
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut inside = false;
    let mut present = Vec::new();
    for line in text.lines() {
        if line == crate::keys::file::BEGIN {
            inside = true;
        } else if line == crate::keys::file::END {
            inside = false;
        } else if inside && !line.trim().is_empty() {
            present.push(line.to_string());
        }
    }
    let exe = crate::core::util::self_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let wrong: Vec<&String> = present.iter().filter(|l| !expected.contains(l)).collect();
    let missing = expected.iter().filter(|l| !present.contains(l)).count();
    if wrong.is_empty() && missing == 0 {
        r.ok(
            "authorized-keys",
            format!(
                "{}: {} keys, each running {exe} on {}",
                file.display(),
                expected.len(),
                root.path().display()
            ),
        );
    } else {
        let example = wrong
            .first()
            .and_then(|l| l.split('"').nth(1))
            .map(|c| format!(" (e.g. command=\"{c}\")"))
            .unwrap_or_default();
        r.warn(
            "authorized-keys",
            format!(
                "{}: {} lines do not run {exe} on {} as the database says{example}, {missing} keys missing",
                file.display(),
                wrong.len(),
                root.path().display()
            ),
            rewrite,
        );
    }
}

fn check_disk(r: &mut Report, root: &Root, min_free: u64) {
    let free = match free_bytes(root.path()) {
        Ok(b) => b,
        Err(e) => {
            r.warn(
                "disk",
                format!(
                    "cannot read the free space of {}: {e}",
                    root.path().display()
                ),
                "check the file system".into(),
            );
            return;
        }
    };
    let message = format!(
        "{} free on the file system of {} (minimum {})",
        format_size(free),
        root.path().display(),
        format_size(min_free)
    );
    let fix = "free space (hubctl lfs prune, old backups) or move the root to a larger file system"
        .to_string();
    if free < min_free {
        r.fail("disk", message, fix);
    } else if free < min_free.saturating_mul(2) {
        r.warn("disk", message, fix);
    } else {
        r.ok("disk", message);
    }
}

fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("path contains NUL"))?;
    // SAFETY: a zeroed statvfs is a valid out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated string and `st` a valid out-parameter for the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// When `authorize-command` is set: a program that cannot run refuses every request.
fn check_authorize(r: &mut Report, settings: Option<&Settings>) {
    let Some(program) = settings.and_then(|s| s.authorize_command.as_ref()) else {
        return;
    };
    let fix = "install the program there, or hubctl config unset authorize-command".to_string();
    if crate::core::fsutil::is_executable(program) {
        r.ok(
            "authorize",
            format!(
                "authorize-command {} is asked after the access table",
                program.display()
            ),
        );
    } else {
        r.fail(
            "authorize",
            format!(
                "authorize-command {} is not an executable file: every request the access table allows is refused",
                program.display()
            ),
            fix,
        );
    }
}

fn check_pack_cache(r: &mut Report, root: &Root, settings: Option<&Settings>) {
    let dir = pack_cache::dir(root);
    let used = dir_size(&dir);
    let limit = settings.map_or(crate::settings::Settings::default().pack_cache_size, |s| {
        s.pack_cache_size
    });
    match limit {
        None => r.ok(
            "pack-cache",
            format!("off ({} left in {})", format_size(used), dir.display()),
        ),
        Some(limit) if used > limit => r.warn(
            "pack-cache",
            format!(
                "{} holds {}, over its limit of {}",
                dir.display(),
                format_size(used),
                format_size(limit)
            ),
            format!(
                "raise the limit (hubctl config set pack-cache-size SIZE) or remove {} (entries are recomputed on demand)",
                dir.display()
            ),
        ),
        Some(limit) => r.ok(
            "pack-cache",
            format!("{} of {} used", format_size(used), format_size(limit)),
        ),
    }
}

/// Bytes of regular files below `dir`, never following a symbolic link.
fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(it) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in it.flatten() {
        let Ok(m) = e.path().symlink_metadata() else {
            continue;
        };
        if m.is_dir() {
            total += dir_size(&e.path());
        } else if m.is_file() {
            total += m.len();
        }
    }
    total
}

fn check_maintenance(r: &mut Report, root: &Root) {
    let repos = match crate::repo::list(root) {
        Ok(l) => l,
        Err(e) => {
            r.warn(
                "maintenance",
                format!("cannot list repositories: {e}"),
                "check the permissions of the root".into(),
            );
            return;
        }
    };
    let mut waiting = Vec::new();
    for info in &repos {
        let Ok(name) = crate::core::names::RepoName::new(&info.namespace, &info.name) else {
            continue;
        };
        let reason = if maintenance::is_pending(root, &name) {
            Some("marked after a push".to_string())
        } else {
            maintenance::stats(&info.path)
                .ok()
                .and_then(|s| maintenance::reason_to_run(&s))
        };
        if let Some(reason) = reason {
            waiting.push((name.to_string(), reason));
        }
    }
    if waiting.is_empty() {
        r.ok(
            "maintenance",
            format!("{} repositories, none waiting", repos.len()),
        );
    } else {
        let (name, reason) = &waiting[0];
        r.warn(
            "maintenance",
            format!(
                "{} of {} repositories wait for maintenance (e.g. {name}: {reason})",
                waiting.len(),
                repos.len()
            ),
            format!(
                "hubctl repo gc {name} (each one; failures are logged in {})",
                root.run_dir().join("maintenance").display()
            ),
        );
    }
}

/// The S3 object store, when Git LFS objects live there (globally or for some repository):
/// its settings and credentials resolve, and the bucket answers.
fn check_lfs_storage(r: &mut Report, store: Option<&Store>, settings: Option<&Settings>) {
    use crate::lfs::LfsBackend;
    let (Some(store), Some(settings)) = (store, settings) else {
        return;
    };
    let some_repo = store.repos_with_lfs_storage(LfsBackend::S3).unwrap_or(0) > 0;
    if settings.lfs_storage != LfsBackend::S3 && !some_repo {
        return;
    }
    let cfg = match crate::lfs::s3::S3Config::resolve(
        &settings.s3,
        crate::core::env::get().aws.as_ref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            r.fail(
                "lfs storage",
                format!("S3 store: {e}"),
                "set lfs-s3-endpoint, lfs-s3-bucket and lfs-s3-credentials-file (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) with hubctl config set".into(),
            );
            return;
        }
    };
    let what = format!("S3 bucket {} at {}", cfg.bucket_name(), cfg.endpoint());
    match crate::lfs::s3::S3Store::check_config(cfg) {
        Ok(()) => r.ok("lfs storage", format!("{what} answers")),
        Err(e) => r.fail(
            "lfs storage",
            format!("{what}: {e}"),
            "check the endpoint, the bucket's name and the credentials (the message says what the store answered)".into(),
        ),
    }
}

/// `git ls-remote` against the running server, through whatever sits in front of it.
fn check_url(r: &mut Report, root: Option<&Root>, url: &str) {
    let target = match repository_url(root, url) {
        Some(t) => t,
        None => {
            r.warn(
                "url",
                format!(
                    "{} names no repository and the root has none to try",
                    redact(url)
                ),
                "pass a repository URL (https://host/NS/NAME.git)".into(),
            );
            return;
        }
    };
    let engine = Engine::detect(None)
        .map(|e| e.path().to_path_buf())
        .unwrap_or_else(|_| PathBuf::from("git"));
    let child = std::process::Command::new(engine)
        .args(["ls-remote", "--", &target])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let shown = redact(&target);
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            r.fail("url", format!("cannot run git: {e}"), "install git".into());
            return;
        }
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < LS_REMOTE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                r.fail(
                    "url",
                    format!(
                        "git ls-remote {shown}: no answer within {}s",
                        LS_REMOTE_TIMEOUT.as_secs()
                    ),
                    "check that the server runs and that nothing in front of it holds requests"
                        .into(),
                );
                return;
            }
        }
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => {
            r.fail("url", format!("git ls-remote {shown}: {e}"), "retry".into());
            return;
        }
    };
    if out.status.success() {
        let refs = String::from_utf8_lossy(&out.stdout).lines().count();
        r.ok("url", format!("git ls-remote {shown}: {refs} refs"));
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("git failed without a message")
            .to_string();
        r.fail(
            "url",
            format!("git ls-remote {shown}: {}", redact(&last)),
            "check that the server runs at that URL and the web server's error log (hubctl logs one line per problem there); for a private repository put a token in the URL".into(),
        );
    }
}

/// `url` itself when it names a repository, else `url` plus the first repository of the root.
fn repository_url(root: Option<&Root>, url: &str) -> Option<String> {
    let trimmed = url.trim_end_matches('/');
    let path = trimmed
        .split_once("://")
        .map(|(_, rest)| rest.split_once('/').map_or("", |(_, p)| p))
        .unwrap_or("");
    if path.ends_with(".git") || path.split('/').filter(|s| !s.is_empty()).count() >= 2 {
        return Some(trimmed.to_string());
    }
    let first = crate::repo::list(root?).ok()?.into_iter().next()?;
    Some(format!("{trimmed}/{}/{}.git", first.namespace, first.name))
}

/// `text` with the password of every URL's user information replaced by `***`.
fn redact(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| c == '/' || c == '\'' || c == '"' || c.is_whitespace())
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        match authority.rfind('@') {
            Some(at) => {
                let user = authority[..at].split(':').next().unwrap_or("");
                out.push_str(&format!("{user}:***@{}", &authority[at + 1..]));
            }
            None => out.push_str(authority),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords() {
        assert_eq!(
            redact("http://alice:hubctl_secret@h:1/a/b.git"),
            "http://alice:***@h:1/a/b.git"
        );
        assert_eq!(redact("http://h/a/b.git"), "http://h/a/b.git");
        assert_eq!(
            redact("fatal: unable to access 'http://a:b@h/x': 401"),
            "fatal: unable to access 'http://a:***@h/x': 401"
        );
    }

    #[test]
    fn repository_urls() {
        assert_eq!(
            repository_url(None, "http://h:8080/alice/p.git").as_deref(),
            Some("http://h:8080/alice/p.git")
        );
        assert_eq!(
            repository_url(None, "http://h:8080/alice/p/").as_deref(),
            Some("http://h:8080/alice/p")
        );
        assert_eq!(repository_url(None, "http://h:8080/"), None);
    }
}
