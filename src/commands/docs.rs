//! The manual and the shell completions, generated from the clap definitions: `hubctl man`
//! and `hubctl completions` print them, and `man/` and `completions/` in the source tree are
//! this module's output (`tests/it/docs.rs` fails when they drift). One generator for both.
//!
//! Man pages are written as roff here rather than with clap_mangen, whose synopsis reads
//! `hubctl-token-create <--user>`: a page's SYNOPSIS is the command as typed
//! (`hubctl token create --user NAME [--name LABEL] ...`), and the clap text is joined by the
//! hand-written sections every page has (ENVIRONMENT, FILES, EXIT STATUS, EXAMPLES, SEE ALSO).
//!
//! Completions are clap_complete's dynamic completions: the shell script asks
//! `hubctl` itself (with `HUBCTL_COMPLETE=SHELL`) for candidates, so hidden commands stay
//! hidden and user, organisation and repository names come from the root's database.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command, CommandFactory as _};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::Shells;

use crate::cli::Cli;
use crate::core::root::Root;
use crate::store::Store;

/// The environment variable that switches `hubctl` into answering a completion request.
pub const COMPLETE_ENV: &str = "HUBCTL_COMPLETE";

/// Every man page: file name (`hubctl-token-create.1`) and contents.
pub fn man_pages() -> Vec<(String, String)> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    pages(&cmd, &mut Vec::new(), &mut out);
    out
}

/// The page of one command (`["token", "create"]`), or of hubctl itself for an empty path.
pub fn man_page(path: &[String]) -> Option<String> {
    let name = std::iter::once("hubctl".to_string())
        .chain(path.iter().cloned())
        .collect::<Vec<_>>()
        .join("-");
    man_pages()
        .into_iter()
        .find(|(file, _)| *file == format!("{name}.1"))
        .map(|(_, page)| page)
}

/// The completion script for `shell` (`bash`, `zsh`, `fish`, `elvish`, `powershell`): it
/// registers `hubctl` for completion and asks `hubctl` on `PATH` for the candidates.
pub fn completion_script(shell: &str) -> Option<String> {
    let shells = Shells::builtins();
    let completer = shells.completer(shell)?;
    let mut buf = Vec::new();
    completer
        .write_registration(COMPLETE_ENV, "hubctl", "hubctl", "hubctl", &mut buf)
        .ok()?;
    String::from_utf8(buf).ok()
}

/// The completion scripts installed under `completions/`: file name and shell.
pub const COMPLETION_FILES: [(&str, &str); 3] = [
    ("hubctl.bash", "bash"),
    ("_hubctl", "zsh"),
    ("hubctl.fish", "fish"),
];

/// Answer a completion request if the shell made one (`HUBCTL_COMPLETE` set): prints the
/// candidates and exits. Otherwise returns and hubctl runs normally.
pub fn complete_if_asked() {
    if std::env::var_os(COMPLETE_ENV).is_none() {
        return;
    }
    clap_complete::CompleteEnv::with_factory(completing_command)
        .var(COMPLETE_ENV)
        .complete();
}

/// The command line with name candidates attached: users for `--user` and USER arguments,
/// organisations for ORG, repositories for NS/NAME (namespaces for `repo init`).
fn completing_command() -> Command {
    attach(Cli::command(), &[])
}

#[derive(Clone, Copy)]
enum Names {
    Users,
    Orgs,
    Repos,
    Namespaces,
}

fn attach(mut cmd: Command, path: &[String]) -> Command {
    // `mut_arg` moves an argument to the end of the list, and positionals without an explicit
    // index are numbered in list order: number them first, as declared.
    let positionals: Vec<String> = cmd
        .get_positionals()
        .map(|a| a.get_id().as_str().to_string())
        .collect();
    for (i, id) in positionals.into_iter().enumerate() {
        cmd = cmd.mut_arg(id, |a| a.index(i + 1));
    }
    let ids: Vec<(String, Option<Names>)> = cmd
        .get_arguments()
        .map(|a| {
            let id = a.get_id().as_str();
            let value_name = a
                .get_value_names()
                .and_then(|v| v.first())
                .map(|s| s.as_str());
            let kind = match (id, value_name) {
                (_, Some("NS/NAME")) if path == ["repo", "init"] => Some(Names::Namespaces),
                (_, Some("NS/NAME" | "DIR | NS/NAME")) => Some(Names::Repos),
                ("name", _) if path == ["user", "rm"] => Some(Names::Users),
                ("user", _) => Some(Names::Users),
                ("org", _) => Some(Names::Orgs),
                _ => None,
            };
            (id.to_string(), kind)
        })
        .collect();
    for (id, kind) in ids {
        if let Some(kind) = kind {
            cmd = cmd.mut_arg(id, |a| {
                a.add(ArgValueCandidates::new(move || candidates(kind)))
            });
        }
    }
    let subs: Vec<(String, bool)> = cmd
        .get_subcommands()
        .map(|s| (s.get_name().to_string(), s.is_hide_set()))
        .collect();
    for (sub, hidden) in subs {
        if hidden {
            // The engine offers a hidden command once a prefix matches nothing else (`ho` ->
            // `hook`); git runs these, people never type them, so they get a name no word
            // on a command line can start with.
            cmd = cmd.mut_subcommand(&sub, |s| s.name(format!("\u{1f}{sub}")));
            continue;
        }
        let mut sub_path = path.to_vec();
        sub_path.push(sub.clone());
        cmd = cmd.mut_subcommand(sub, |s| attach(s, &sub_path));
    }
    cmd
}

/// The root the command line being completed names (`--root DIR`, then `HUBCTL_ROOT`, then the
/// default), if it has a database: completing never creates one.
fn completion_root() -> Option<Root> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut explicit: Option<PathBuf> = None;
    for (i, a) in args.iter().enumerate() {
        let Some(s) = a.to_str() else { continue };
        if s == "--root" {
            explicit = args.get(i + 1).map(PathBuf::from);
        } else if let Some(v) = s.strip_prefix("--root=") {
            explicit = Some(PathBuf::from(v));
        }
    }
    let dir = explicit
        .or_else(|| std::env::var_os(crate::core::root::ROOT_ENV).map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| {
            directories::ProjectDirs::from("", "", "hubctl").map(|d| d.data_dir().to_path_buf())
        })?;
    // Root::resolve would create a missing directory; completing must leave no trace.
    if !dir.join("hubctl.db").is_file() {
        return None;
    }
    Root::resolve(Some(&dir)).ok()
}

fn candidates(kind: Names) -> Vec<CompletionCandidate> {
    let Some(root) = completion_root() else {
        return Vec::new();
    };
    let Ok(store) = Store::open_root(&root) else {
        return Vec::new();
    };
    let names: Vec<String> = match kind {
        Names::Users => store
            .users()
            .map(|u| u.into_iter().map(|u| u.name).collect())
            .unwrap_or_default(),
        Names::Orgs => store
            .orgs()
            .map(|o| o.into_iter().map(|o| o.name).collect())
            .unwrap_or_default(),
        Names::Namespaces => {
            let mut all: Vec<String> = store
                .users()
                .map(|u| u.into_iter().map(|u| u.name).collect())
                .unwrap_or_default();
            all.extend(
                store
                    .orgs()
                    .map(|o| o.into_iter().map(|o| o.name).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
            all.sort();
            all.into_iter().map(|n| format!("{n}/")).collect()
        }
        Names::Repos => crate::repo::list(&root)
            .map(|r| r.into_iter().map(|i| i.full_name).collect())
            .unwrap_or_default(),
    };
    names.into_iter().map(CompletionCandidate::new).collect()
}

// ---- man pages ----

fn pages(cmd: &Command, path: &mut Vec<String>, out: &mut Vec<(String, String)>) {
    out.push((format!("{}.1", page_name(path)), page(cmd, path)));
    for sub in visible_subcommands(cmd) {
        path.push(sub.get_name().to_string());
        pages(sub, path, out);
        path.pop();
    }
}

fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

fn page_name(path: &[String]) -> String {
    std::iter::once("hubctl")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-")
}

fn typed(path: &[String]) -> String {
    std::iter::once("hubctl")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escape text for roff: backslashes, and a `.` or `'` that would start a request.
fn esc(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    text.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text kept as written (examples, JSON shapes): no filling, no adjusting.
fn verbatim(out: &mut String, text: &str) {
    out.push_str(".nf\n");
    out.push_str(&esc(text));
    out.push_str("\n.fi\n");
}

fn is_shown(a: &Arg) -> bool {
    !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version")
}

fn value_names(a: &Arg) -> String {
    if let Some(values) = possible_values(a) {
        return values.join("|");
    }
    a.get_value_names()
        .and_then(|v| v.first())
        .map(|s| s.to_string())
        .unwrap_or_else(|| a.get_id().as_str().to_uppercase())
}

fn possible_values(a: &Arg) -> Option<Vec<String>> {
    if !a.get_action().takes_values() {
        return None;
    }
    let values: Vec<String> = a
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    // Boolean-ish parsers list true/false; those are not worth a synopsis.
    (!values.is_empty() && values.len() <= 8).then_some(values)
}

/// One argument as typed in a synopsis: `--user NAME`, `--json`, `NS/NAME`, `[ARGS]...`.
fn synopsis_item(a: &Arg) -> String {
    let takes = a.get_action().takes_values();
    let mut s = if let Some(long) = a.get_long() {
        if takes {
            format!(
                "\\fB\\-\\-{}\\fR \\fI{}\\fR",
                esc(long),
                esc(&value_names(a))
            )
        } else {
            format!("\\fB\\-\\-{}\\fR", esc(long))
        }
    } else if let Some(short) = a.get_short() {
        format!("\\fB\\-{short}\\fR")
    } else {
        format!("\\fI{}\\fR", esc(&value_names(a)))
    };
    if matches!(a.get_action(), ArgAction::Append)
        || a.get_num_args().is_some_and(|n| n.max_values() > 1)
    {
        s.push_str("...");
    }
    let required = a.is_required_set() && a.get_default_values().is_empty();
    if required { s } else { format!("[{s}]") }
}

fn page(cmd: &Command, path: &[String]) -> String {
    let name = page_name(path);
    let version = cmd.get_version().unwrap_or(env!("CARGO_PKG_VERSION"));
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH \"{}\" 1 \"\" \"hubctl {version}\" \"hubctl manual\"",
        esc(&name.to_uppercase())
    );
    out.push_str(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n");
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let _ = writeln!(
        out,
        ".SH NAME\n{} \\- {}",
        esc(&name),
        esc(about.trim_end_matches('.'))
    );

    // SYNOPSIS: the command as typed.
    out.push_str(".SH SYNOPSIS\n");
    let subs: Vec<&Command> = visible_subcommands(cmd).collect();
    let own: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| is_shown(a) && !a.is_global_set())
        .collect();
    let flags: Vec<String> = own
        .iter()
        .filter(|a| !a.is_positional())
        .map(|a| synopsis_item(a))
        .collect();
    let positionals: Vec<String> = own
        .iter()
        .filter(|a| a.is_positional())
        .map(|a| synopsis_item(a))
        .collect();
    let globals = if path.is_empty() {
        String::new()
    } else {
        " [\\fB\\-\\-root\\fR \\fIDIR\\fR]".to_string()
    };
    if subs.is_empty() || !own.is_empty() {
        let _ = writeln!(
            out,
            "\\fB{}\\fR{globals}{}{}",
            esc(&typed(path)),
            flags.iter().map(|f| format!(" {f}")).collect::<String>(),
            positionals
                .iter()
                .map(|f| format!(" {f}"))
                .collect::<String>(),
        );
    }
    for sub in &subs {
        if !subs.is_empty() && (subs.len() > 1 || !own.is_empty()) {
            out.push_str(".br\n");
        }
        let _ = writeln!(
            out,
            "\\fB{} {}\\fR{globals} ...",
            esc(&typed(path)),
            esc(sub.get_name())
        );
    }

    // DESCRIPTION: clap's long text, then the command's own notes (JSON shapes, examples).
    out.push_str(".SH DESCRIPTION\n");
    let long = cmd
        .get_long_about()
        .map(|a| a.to_string())
        .unwrap_or_else(|| about.clone());
    let _ = writeln!(out, "{}", esc(&long));
    if let Some(after) = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|a| a.to_string())
    {
        out.push_str(".PP\n");
        verbatim(&mut out, &after);
    }
    if let Some(extra) = description_notes(path) {
        out.push_str(".PP\n");
        let _ = writeln!(out, "{}", esc(extra));
    }

    // OPTIONS and ARGUMENTS, from clap.
    let options: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| is_shown(a) && !a.is_positional() && (path.is_empty() || !a.is_global_set()))
        .collect();
    if !options.is_empty() {
        out.push_str(".SH OPTIONS\n");
        for a in options {
            option_entry(&mut out, a);
        }
    }
    let positional: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| is_shown(a) && a.is_positional())
        .collect();
    if !positional.is_empty() {
        out.push_str(".SH ARGUMENTS\n");
        for a in positional {
            option_entry(&mut out, a);
        }
    }
    if !path.is_empty() {
        out.push_str(".SH GLOBAL OPTIONS\n");
        out.push_str(
            "\\fB\\-\\-root\\fR \\fIDIR\\fR and \\fB\\-\\-authorized\\-keys\\-file\\fR \\fIFILE\\fR apply to every command; see \\fBhubctl\\fR(1).\n",
        );
    }
    if !subs.is_empty() {
        out.push_str(".SH COMMANDS\n");
        for sub in &subs {
            let mut sub_path = path.to_vec();
            sub_path.push(sub.get_name().to_string());
            let _ = writeln!(
                out,
                ".TP\n\\fB{}\\fR\n{} See \\fB{}\\fR(1).",
                esc(&typed(&sub_path)),
                esc(&sub.get_about().map(|a| a.to_string()).unwrap_or_default()),
                esc(&page_name(&sub_path))
            );
        }
    }

    // The hand-written sections every page has.
    out.push_str(".SH ENVIRONMENT\n");
    for (var, what) in ENVIRONMENT {
        let _ = writeln!(out, ".TP\n\\fB{}\\fR\n{}", esc(var), esc(what));
    }
    out.push_str(".SH FILES\n");
    for (file, what) in FILES {
        let _ = writeln!(out, ".TP\n\\fI{}\\fR\n{}", esc(file), esc(what));
    }
    out.push_str(".SH EXIT STATUS\n");
    let _ = writeln!(out, "{}", esc(exit_status(path)));
    let examples = examples(path);
    if !examples.is_empty() {
        out.push_str(".SH EXAMPLES\n");
        for (what, lines) in examples {
            let _ = writeln!(out, ".PP\n{}", esc(what));
            out.push_str(".RS 4\n");
            verbatim(&mut out, lines);
            out.push_str(".RE\n");
        }
    }
    out.push_str(".SH SEE ALSO\n");
    let _ = writeln!(out, "{}", see_also(cmd, path));
    out
}

fn option_entry(out: &mut String, a: &Arg) {
    let head = if a.is_positional() {
        format!("\\fI{}\\fR", esc(&value_names(a)))
    } else {
        let long = a.get_long().map(|l| format!("\\fB\\-\\-{}\\fR", esc(l)));
        let short = a.get_short().map(|s| format!("\\fB\\-{s}\\fR"));
        let names = [short, long]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        if a.get_action().takes_values() {
            let value = a
                .get_value_names()
                .and_then(|v| v.first())
                .map(|s| s.to_string())
                .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
            format!("{names} \\fI{}\\fR", esc(&value))
        } else {
            names
        }
    };
    let mut text = a
        .get_long_help()
        .or_else(|| a.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut notes = Vec::new();
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && a.get_action().takes_values() {
        notes.push(format!("default: {}", defaults.join(", ")));
    }
    if let Some(env) = a.get_env() {
        notes.push(format!("environment: {}", env.to_string_lossy()));
    }
    if !notes.is_empty() {
        text = format!("{text} [{}]", notes.join("; "));
    }
    let _ = writeln!(out, ".TP\n{head}\n{}", esc(&text));
    // Value enums: each value with its own help.
    let values: Vec<_> = a
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set() && v.get_help().is_some())
        .collect();
    if a.get_action().takes_values() && !values.is_empty() {
        out.push_str(".RS 4\n");
        for v in values {
            let _ = writeln!(
                out,
                ".TP\n\\fB{}\\fR\n{}",
                esc(v.get_name()),
                esc(&v.get_help().map(|h| h.to_string()).unwrap_or_default())
            );
        }
        out.push_str(".RE\n");
    }
}

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "HUBCTL_ROOT",
        "The data directory (as --root): repositories, the database, caches. Default: the platform data directory, e.g. ~/.local/share/hubctl.",
    ),
    (
        "HUBCTL_GIT",
        "The git binary hubctl runs (default: git on PATH). hubctl needs git 2.34 or newer.",
    ),
    (
        "HUBCTL_DB_TIMEOUT",
        "Seconds a command waits for another process's database write before giving up (default 15).",
    ),
    (
        "HUBCTL_AUTHORIZED_KEYS_FILE",
        "The authorized_keys file to rewrite when keys change (as --authorized-keys-file).",
    ),
    (
        "HUBCTL_MAX_PUSH_SIZE",
        "serve and cgi: refuse pushes whose pack is larger (as --max-push-size).",
    ),
    (
        "HUBCTL_TRUST_REMOTE_USER",
        "cgi: treat the web server's REMOTE_USER as authenticated (as --trust-remote-user).",
    ),
    (
        "HUBCTL_COMPLETE",
        "Set by the shell completion scripts: hubctl answers with completion candidates instead of running.",
    ),
    (
        "GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL",
        "cgi: git http-backend's layout and export rule, for a drop-in replacement.",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "The S3 store's credentials when Git LFS objects live on S3 and lfs-s3-credentials-file is not set (never stored in the database).",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "ROOT/hubctl.db",
        "The SQLite database: users, organisations, tokens, keys, repositories, grants, settings.",
    ),
    ("ROOT/repos/NS/NAME.git", "The bare repositories."),
    (
        "ROOT/secret",
        "The key that signs Git LFS action tokens; created on first use, mode 0600.",
    ),
    (
        "ROOT/cache/",
        "The pack cache and cached capability advertisements.",
    ),
    (
        "~/.ssh/authorized_keys",
        "Or the file given by --authorized-keys-file or the authorized-keys-file setting: hubctl keeps its own block in it.",
    ),
];

fn exit_status(path: &[String]) -> &'static str {
    match path.first().map(String::as_str) {
        Some("shell" | "upload-pack" | "receive-pack") => {
            "0 when the session succeeded; git's own status when git failed; 1 when hubctl refused or failed (the reason is one line on stderr); 2 for a usage error."
        }
        Some("lfs") if path.get(1).is_some_and(|s| s == "fsck") => {
            "0 when every object is intact; 1 when an object is damaged or misplaced, or on any other failure; 2 for a usage error."
        }
        _ => {
            "0 on success; 1 on failure (one line on stderr saying why); 2 for a usage error (an unknown option, a bad value such as --expires -1d)."
        }
    }
}

/// Extra description for a few pages, beyond clap's text.
fn description_notes(path: &[String]) -> Option<&'static str> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    Some(match path.as_slice() {
        [] => {
            "hubctl hosts bare git repositories over Smart HTTP (hubctl serve, or hubctl cgi behind a web server), SSH (hubctl shell as a forced command) and git's stdio protocol, with users, organisations, tokens, SSH keys and Git LFS. Metadata lives in ROOT/hubctl.db, repositories in ROOT/repos. User, organisation and repository names are unique regardless of case and are looked up regardless of case."
        }
        ["completions"] => {
            "The scripts ask hubctl itself for candidates when you press TAB, so they complete subcommands, options, and the user, organisation and repository names of the root the command line names (--root, HUBCTL_ROOT or the default)."
        }
        _ => return None,
    })
}

fn examples(path: &[String]) -> Vec<(&'static str, &'static str)> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    match path.as_slice() {
        [] => vec![
            (
                "A first hub: a user, a token, a repository, a server.",
                "hubctl user add alice\nhubctl token create --user alice\nhubctl repo init alice/project\nhubctl serve --listen 8080",
            ),
            (
                "Clone with the token as password.",
                "git clone http://127.0.0.1:8080/alice/project.git",
            ),
        ],
        ["serve"] => vec![
            (
                "Serve this machine only, on port 8080.",
                "hubctl serve --listen 8080",
            ),
            (
                "Serve HTTPS on every address.",
                "hubctl serve --listen 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem",
            ),
        ],
        ["user", "add"] => vec![("An administrator.", "hubctl user add root --admin")],
        ["user", "list"] => vec![("As JSON.", "hubctl user list --json")],
        ["user", "rm"] => vec![("Delete a user without repositories.", "hubctl user rm bob")],
        ["org", "add"] => vec![("An organisation.", "hubctl org add acme")],
        ["org", "member", "add"] => {
            vec![("An owner.", "hubctl org member add acme alice --role owner")]
        }
        ["token", "create"] => vec![
            (
                "A read-only token for a year.",
                "hubctl token create --user alice --scope read --expires 1y",
            ),
            (
                "With its id, as JSON.",
                "hubctl token create --user alice --name laptop --json",
            ),
        ],
        ["token", "list"] => vec![("One user's tokens.", "hubctl token list --user alice")],
        ["token", "revoke"] => vec![("Revoke token 3.", "hubctl token revoke 3")],
        ["keys", "add"] => vec![
            (
                "Add a public key (the .pub file).",
                "hubctl keys add --user alice ~/.ssh/id_ed25519.pub",
            ),
            (
                "From stdin.",
                "ssh-add -L | head -1 | hubctl keys add --user alice --title laptop -",
            ),
        ],
        ["keys", "authorized-keys"] => vec![(
            "Rewrite the managed block of sshd's file.",
            "hubctl keys authorized-keys --write /home/git/.ssh/authorized_keys",
        )],
        ["repo", "init"] => vec![(
            "A private repository with a 10 MB file limit.",
            "hubctl repo init acme/tool --private --max-blob-size 10MB",
        )],
        ["repo", "grant"] => vec![("Let bob push.", "hubctl repo grant acme/tool bob write")],
        ["repo", "set"] => vec![(
            "Make it public.",
            "hubctl repo set acme/tool visibility public",
        )],
        ["repo", "rm"] => vec![("Delete it.", "hubctl repo rm acme/tool --yes")],
        ["repo", "gc"] => vec![(
            "Maintain now and report as JSON.",
            "hubctl repo gc alice/project --json",
        )],
        ["config", "list"] => vec![("Every setting.", "hubctl config list")],
        ["config", "set"] => vec![(
            "A smaller pack cache.",
            "hubctl config set pack-cache-size 512MB",
        )],
        ["lfs", "prune"] => vec![(
            "See what would go.",
            "hubctl lfs prune alice/game --dry-run",
        )],
        ["completions"] => vec![
            (
                "Bash, for the current user.",
                "hubctl completions bash > ~/.local/share/bash-completion/completions/hubctl",
            ),
            (
                "Zsh.",
                "echo 'source <(hubctl completions zsh)' >> ~/.zshrc",
            ),
            (
                "Fish.",
                "hubctl completions fish > ~/.config/fish/completions/hubctl.fish",
            ),
        ],
        ["man"] => vec![
            (
                "Install every page.",
                "sudo hubctl man --dir /usr/local/share/man/man1",
            ),
            ("Read one page.", "hubctl man token create | man -l -"),
        ],
        _ => Vec::new(),
    }
}

fn see_also(cmd: &Command, path: &[String]) -> String {
    let mut refs = Vec::new();
    if !path.is_empty() {
        refs.push(format!(
            "\\fB{}\\fR(1)",
            esc(&page_name(&path[..path.len() - 1]))
        ));
    }
    for sub in visible_subcommands(cmd) {
        let mut p = path.to_vec();
        p.push(sub.get_name().to_string());
        refs.push(format!("\\fB{}\\fR(1)", esc(&page_name(&p))));
    }
    refs.push("\\fBgit\\fR(1)".into());
    match path.first().map(String::as_str) {
        Some("shell" | "keys") => refs.push("\\fBsshd\\fR(8)".into()),
        Some("lfs" | "lfs-authenticate") => refs.push("\\fBgit\\-lfs\\fR(1)".into()),
        _ => {}
    }
    refs.join(", ")
}

/// Write every man page into `dir` (created if needed); returns how many.
pub fn install_man_pages(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let pages = man_pages();
    for (file, text) in &pages {
        crate::core::fsutil::write_atomic(&dir.join(file), text.as_bytes(), 0o644)?;
    }
    Ok(pages.len())
}
