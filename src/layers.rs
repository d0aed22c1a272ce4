//! The layering rule, checked: every `crate::` path in a source file must point to the file's
//! own module or to a layer below it. Edge (main, cli, embed, commands) → transports (http, ssh,
//! stdio) → services (git → lfs → access → repo, keys, settings) → store → core. Modules of
//! the same rank never import each other, so no cycle can form. ARCHITECTURE.md explains the
//! layers; this test keeps them true.

#![cfg(test)]

use std::path::{Path, PathBuf};

/// (module, rank). A longer module path wins over its prefix.
const LAYERS: &[(&str, u8)] = &[
    ("core", 0),
    ("store", 1),
    ("repo", 2),
    ("keys", 2),
    ("settings", 2),
    ("access", 3),
    ("lfs", 4),
    ("git", 5),
    ("transport::http", 6),
    ("transport::ssh", 6),
    ("transport::stdio", 6),
    ("transport", 6),
    ("cli", 7),
    ("embed", 7),
    ("commands", 8),
];

/// Modules that may import only from `core`, whatever their rank: the command-line definitions
/// are clap types; `commands/` converts them.
const CORE_ONLY: &[&str] = &["cli"];

fn module_of(path: &str) -> Option<(&'static str, u8)> {
    LAYERS
        .iter()
        .filter(|(m, _)| path == *m || path.starts_with(&format!("{m}::")))
        .max_by_key(|(m, _)| m.len())
        .copied()
}

/// The module path of a source file relative to `src/` (`transport/http/git.rs` →
/// `transport::http::git`).
fn file_module(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Every `crate::a::b` path in `text` (comments skipped), as `a::b` without the last segment's
/// item names beyond two levels.
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let path: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.trim_end_matches(':').to_string());
            rest = &tail[path.len().min(tail.len())..];
        }
    }
    out
}

/// The upward or sideways imports in one file: (file module, imported path).
fn violations(file_module: &str, text: &str) -> Vec<(String, String)> {
    let Some((own, rank)) = module_of(file_module) else {
        return Vec::new();
    };
    let mut bad = Vec::new();
    for path in crate_paths(text) {
        let Some((target, target_rank)) = module_of(&path) else {
            continue;
        };
        if target == own || (target == "transport" && own.starts_with("transport::")) {
            continue;
        }
        let allowed = if CORE_ONLY.contains(&own) {
            target == "core"
        } else {
            target_rank < rank
        };
        if !allowed {
            bad.push((file_module.to_string(), path));
        }
    }
    bad
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src/").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_import_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut bad = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("below src/");
        let text = std::fs::read_to_string(f).expect("reading a source file");
        bad.extend(violations(&file_module(rel), &text));
    }
    assert!(
        bad.is_empty(),
        "imports against the layering (file module, imported path):\n{bad:#?}"
    );
}

#[test]
fn the_check_catches_upward_and_sideways_imports() {
    // A service reaching up into a transport, and the store reaching up into a service.
    assert_eq!(
        violations("access", "use crate::transport::http::Response;\n"),
        vec![("access".into(), "transport::http::Response".into())]
    );
    assert_eq!(
        violations("store::keys", "use crate::keys::ParsedKey;").len(),
        1
    );
    // Same rank, different module: a cycle in the making.
    assert_eq!(violations("repo", "use crate::keys::parse;").len(), 1);
    assert_eq!(
        violations(
            "transport::ssh::session",
            "crate::transport::stdio::serve()"
        )
        .len(),
        1
    );
    // The command line's definitions take only core.
    assert_eq!(
        violations("cli::repo", "crate::store::repos::Level").len(),
        1
    );
    // Downward and own-module imports are fine; comments are not code.
    assert!(
        violations(
            "git::push",
            "use crate::access::Principal;\nuse crate::git::hooks;"
        )
        .is_empty()
    );
    assert!(violations("core::names", "// see crate::transport::http").is_empty());
    assert!(violations("commands", "use crate::transport::stdio;").is_empty());
}

#[test]
fn file_modules() {
    assert_eq!(
        file_module(Path::new("transport/http/git.rs")),
        "transport::http::git"
    );
    assert_eq!(file_module(Path::new("core/mod.rs")), "core");
    assert_eq!(
        module_of("transport::http::git"),
        Some(("transport::http", 6))
    );
    assert_eq!(module_of("core_extra"), None);
}
