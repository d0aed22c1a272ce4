//! man/ and completions/ are generated from the clap definitions and checked in; this test
//! fails when they drift. Regenerate with `HUBCTL_UPDATE_DOCS=1 cargo test --test it docs`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file: name → contents.
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let cmd = hubctl::cli::Cli::command();
    man_pages(&cmd, "hubctl", &mut out);
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut hubctl::cli::Cli::command(), "hubctl", &mut buf);
        let name = match shell {
            clap_complete::Shell::Bash => "hubctl.bash",
            clap_complete::Shell::Zsh => "_hubctl",
            _ => "hubctl.fish",
        };
        out.push((Path::new("completions").join(name), buf));
    }
    out
}

fn man_pages(cmd: &clap::Command, name: &str, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let cmd = cmd.clone().name(name.to_string());
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .expect("rendering a man page");
    out.push((Path::new("man").join(format!("{name}.1")), buf));
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        man_pages(sub, &format!("{name}-{}", sub.get_name()), out);
    }
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
