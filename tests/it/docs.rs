//! man/ and completions/ are generated from the clap definitions by hubctl's own generator
//! (`hubctl::commands::docs`, the one behind `hubctl man` and `hubctl completions`) and checked
//! in; this test fails when they drift. Regenerate with
//! `HUBCTL_UPDATE_DOCS=1 cargo test --test it docs`.

use std::path::{Path, PathBuf};

use hubctl::commands::docs;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file: name → contents.
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = docs::man_pages()
        .into_iter()
        .map(|(file, text)| (Path::new("man").join(file), text.into_bytes()))
        .collect();
    for (file, shell) in docs::COMPLETION_FILES {
        let script = docs::completion_script(shell).expect("a completion script");
        out.push((Path::new("completions").join(file), script.into_bytes()));
    }
    out
}

#[test]
fn man_pages_and_completions_are_current() {
    let update = std::env::var_os("HUBCTL_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    let files = generated();
    for (rel, content) in &files {
        let path = manifest_dir().join(rel);
        if std::fs::read(&path).ok().as_deref() != Some(content.as_slice()) {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, content).unwrap();
            } else {
                stale.push(rel.display().to_string());
            }
        }
    }
    // No leftovers from removed commands.
    for dir in ["man", "completions"] {
        for entry in std::fs::read_dir(manifest_dir().join(dir))
            .unwrap()
            .flatten()
        {
            let rel = Path::new(dir).join(entry.file_name());
            if !files.iter().any(|(r, _)| *r == rel) {
                if update {
                    std::fs::remove_file(entry.path()).unwrap();
                } else {
                    stale.push(format!("{} (no longer generated)", rel.display()));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; run HUBCTL_UPDATE_DOCS=1 cargo test --test it docs"
    );
}

/// Render a man page with groff the way man(1) does; returns the plain text and groff's
/// warnings.
fn render(page: &Path) -> (String, String) {
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou", "-rLL=200n", "-rLT=200n"])
        .arg(page)
        .output()
        .expect("groff (scripts/setup installs groff-base)");
    assert!(out.status.success(), "groff {page:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every page is a real man page: groff renders it without warnings, with a synopsis spelt
/// the way the command is typed and every section a reader looks for.
#[test]
fn man_pages_are_real_man_pages() {
    let pages = docs::man_pages();
    assert!(pages.iter().any(|(f, _)| f == "hubctl-token-create.1"));
    assert!(
        !pages
            .iter()
            .any(|(f, _)| f.contains("hook") || f.contains("-help")),
        "hidden commands have no pages"
    );
    for (file, _) in &pages {
        let (text, warnings) = render(&manifest_dir().join("man").join(file));
        assert!(warnings.trim().is_empty(), "{file}: {warnings}");
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "ENVIRONMENT",
            "FILES",
            "EXIT STATUS",
            "SEE ALSO",
        ] {
            assert!(
                text.lines().any(|l| l == section),
                "{file} lacks {section}:\n{text}"
            );
        }
        assert!(text.contains("HUBCTL_ROOT") && text.contains("HUBCTL_GIT"));
        assert!(text.contains("HUBCTL_DB_TIMEOUT"), "{file}");
    }
    let (text, _) = render(&manifest_dir().join("man/hubctl-token-create.1"));
    let synopsis = text
        .split("SYNOPSIS")
        .nth(1)
        .unwrap()
        .split("DESCRIPTION")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        synopsis.starts_with(
            "hubctl token create [--root DIR] --user NAME [--name LABEL] [--scope read|write] [--expires DURATION] [--json]"
        ),
        "{synopsis}"
    );
    assert!(text.contains("EXAMPLES"));
    assert!(text.contains("hubctl token create --user alice --scope read --expires 1y"));
    assert!(
        text.contains("hubctl-token(1)"),
        "SEE ALSO names the parent"
    );
    assert!(text.contains("1y is 365.25d"), "option help is in OPTIONS");
    let (text, _) = render(&manifest_dir().join("man/hubctl.1"));
    assert!(text.contains("hubctl token ..."), "{text}");
    assert!(!text.contains("pack-objects-hook"), "{text}");
}

/// `hubctl man` prints a page and installs all of them; `hubctl completions SHELL` prints the
/// scripts in completions/, so a `cargo install` user has both.
#[test]
fn man_and_completions_commands_print_and_install() {
    let env = crate::harness::Env::new();
    let page = env.hubctl_ok(&["man", "token", "create"]);
    assert_eq!(
        page,
        std::fs::read_to_string(manifest_dir().join("man/hubctl-token-create.1")).unwrap()
    );
    let main = env.hubctl_ok(&["man"]);
    assert_eq!(
        main,
        std::fs::read_to_string(manifest_dir().join("man/hubctl.1")).unwrap()
    );
    let out = env.hubctl(&["man", "token", "frobnicate"]);
    assert!(!out.status.success());
    let dir = env.path("share/man/man1");
    env.hubctl_ok(&["man", "--dir", dir.to_str().unwrap()]);
    let mut installed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    installed.sort();
    let mut shipped: Vec<String> = std::fs::read_dir(manifest_dir().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    shipped.sort();
    assert_eq!(installed, shipped);
    for f in &installed {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(manifest_dir().join("man").join(f)).unwrap()
        );
    }
    // man(1) itself finds an installed page through MANPATH.
    let out = std::process::Command::new("man")
        .args(["hubctl-token-create"])
        .env("MANPATH", env.path("share/man"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "120")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("--expires"));
    for (file, shell) in docs::COMPLETION_FILES {
        assert_eq!(
            env.hubctl_ok(&["completions", shell]),
            std::fs::read_to_string(manifest_dir().join("completions").join(file)).unwrap(),
            "{shell}"
        );
    }
}

/// The bash completion script, sourced into a real bash, completes commands (never the hidden
/// ones git runs), options, and the user, organisation and repository names of the root the
/// command line names.
#[test]
fn bash_completes_commands_and_names() {
    let env = crate::harness::Env::new();
    env.hubctl_ok(&["user", "add", "alice"]);
    env.hubctl_ok(&["user", "add", "bob"]);
    env.hubctl_ok(&["org", "add", "acme"]);
    env.hubctl_ok(&["repo", "init", "alice/project"]);
    env.hubctl_ok(&["repo", "init", "acme/tool"]);
    let other = crate::harness::Env::new();
    other.hubctl_ok(&["user", "add", "carol"]);
    let bin_dir = crate::harness::hubctl_bin().parent().unwrap().to_path_buf();
    let script = manifest_dir().join("completions/hubctl.bash");
    // Complete `line` (the cursor at its end) as bash's programmable completion would.
    let complete = |line: &str, root: Option<&Path>| -> Vec<String> {
        let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if line.ends_with(' ') {
            words.push(String::new());
        }
        let cword = words.len() - 1;
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            r#"source '{script}'
complete -p hubctl >&2
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
COMP_TYPE=9
_clap_complete_hubctl hubctl '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}""#,
            script = script.display(),
            words = quoted.join(" "),
            cur = words[cword],
            prev = if cword > 0 {
                words[cword - 1].as_str()
            } else {
                ""
            },
        );
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("--norc").arg("--noprofile").arg("-c").arg(program);
        cmd.env_remove("HUBCTL_ROOT")
            .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
            .env("HOME", &env.home);
        if let Some(root) = root {
            cmd.env("HUBCTL_ROOT", root);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{line}: {err}");
        assert!(err.contains("-F _clap_complete_hubctl hubctl"), "{err}");
        // Where a value or a positional is due, clap also offers the options; only the
        // values matter here, unless the word being completed is an option.
        let completing_option = words[cword].starts_with('-');
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && (completing_option || !l.starts_with('-')))
            .collect()
    };
    let root = Some(env.root.as_path());
    let top = complete("hubctl ", root);
    for c in ["token", "repo", "serve", "completions", "man"] {
        assert!(top.contains(&c.to_string()), "{top:?}");
    }
    assert!(!top.iter().any(|c| c.contains("hook")), "{top:?}");
    assert!(complete("hubctl ho", root).is_empty());
    assert!(complete("hubctl pack", root).is_empty());
    assert_eq!(
        complete("hubctl token create --user ", root),
        ["alice", "bob"]
    );
    assert_eq!(complete("hubctl token create --user a", root), ["alice"]);
    assert_eq!(complete("hubctl user rm ", root), ["alice", "bob"]);
    assert_eq!(complete("hubctl org member add ", root), ["acme"]);
    assert_eq!(
        complete("hubctl org member add acme ", root),
        ["alice", "bob"]
    );
    assert_eq!(
        complete("hubctl repo show ", root),
        ["acme/tool", "alice/project"]
    );
    assert_eq!(complete("hubctl repo gc al", root), ["alice/project"]);
    assert_eq!(
        complete("hubctl repo grant acme/tool ", root),
        ["alice", "bob"]
    );
    assert_eq!(
        complete("hubctl repo init ", root),
        ["acme/", "alice/", "bob/"]
    );
    let create = complete("hubctl token create --", root);
    assert!(create.contains(&"--expires".to_string()), "{create:?}");
    // --root on the command line wins over HUBCTL_ROOT.
    let line = format!("hubctl --root {} user rm ", other.root.display());
    assert_eq!(complete(&line, root), ["carol"]);
    // No root, no database: nothing to offer, and nothing created.
    let empty = env.path("no-root");
    assert!(complete("hubctl user rm ", Some(&empty)).is_empty());
    assert!(!empty.exists());
}
