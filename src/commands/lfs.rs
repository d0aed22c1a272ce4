//! `hubctl lfs ...`

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::print_json;
use crate::access::{Caller, Principal};
use crate::cli::{LfsAuthenticateArgs, LfsCommand};
use crate::core::root::Root;
use crate::core::units::format_size;
use crate::lfs::admin;
use crate::lfs::{FsStore, ObjectStore};
use crate::repo::{self, RepoName};

/// One object as `lfs ls --json` prints it.
#[derive(serde::Serialize)]
struct Listed<'a> {
    oid: &'a str,
    size: u64,
}

pub(super) fn run(root: &Root, command: LfsCommand) -> Result<ExitCode> {
    match command {
        LfsCommand::Ls { name, json } => {
            let (name, store) = open_store(root, &name)?;
            let objects = store
                .list()
                .with_context(|| format!("listing the Git LFS objects of {name}"))?;
            if json {
                let listed: Vec<Listed<'_>> = objects
                    .iter()
                    .map(|(oid, size)| Listed {
                        oid: oid.as_str(),
                        size: *size,
                    })
                    .collect();
                print_json(&listed)?;
            } else {
                for (oid, size) in &objects {
                    println!("{oid}\t{size}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LfsCommand::Fsck { name } => fsck(root, &name),
        LfsCommand::Prune {
            name,
            dry_run: _,
            yes,
            grace,
        } => prune(root, &name, yes, grace),
        LfsCommand::MigrateStorage { name, to } => migrate_storage(root, &name, to),
    }
}

/// `hubctl lfs migrate-storage NS/NAME --to s3|local`: a progress bar on a terminal, one
/// line per step otherwise; a summary on stdout.
fn migrate_storage(root: &Root, text: &str, to: crate::cli::StorageArg) -> Result<ExitCode> {
    use crate::lfs::LfsBackend;
    use crate::lfs::migrate::{self, Step};
    use std::io::IsTerminal as _;
    let to = match to {
        crate::cli::StorageArg::S3 => LfsBackend::S3,
        crate::cli::StorageArg::Local => LfsBackend::Local,
    };
    let name = RepoName::parse(text)?;
    let mut db = crate::store::Store::open_root(root)?;
    let name = db.canonical_repo_name(&name)?;
    let info = repo::info(root, &name)?;
    let from = migrate::other(to);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(format!("moving {name} to {to}"));
        bar
    });
    let mut done = 0usize;
    let mut total = 0usize;
    let mut progress = |step: &Step| match (&bar, step) {
        (Some(bar), Step::Found { objects, bytes }) => {
            total = *objects;
            bar.set_length(*bytes);
        }
        (Some(bar), Step::Copied { size, .. }) => {
            done += 1;
            bar.set_message(format!("moving {name} to {to}: {done}/{total} objects"));
            bar.inc(*size);
        }
        (Some(bar), Step::Switched(_)) => {
            bar.set_message(format!("{name} uses {to}; removing the {from} copies"));
        }
        (Some(_), Step::Removed(_)) => {}
        (None, Step::Found { objects, bytes }) => {
            total = *objects;
            eprintln!(
                "{name}: {objects} objects ({}) in the {from} store",
                format_size(*bytes)
            );
        }
        (None, Step::Copied { oid, size, sent }) => {
            done += 1;
            eprintln!(
                "{} {oid} ({}) [{done}/{total}]",
                if *sent { "copied" } else { "already there" },
                format_size(*size)
            );
        }
        (None, Step::Switched(b)) => eprintln!("switched {name} to {b}"),
        (None, Step::Removed(oid)) => eprintln!("removed {oid} from the {from} store"),
    };
    let result = migrate::migrate(&mut db, &info.path, &name, to, &mut progress);
    if let Some(bar) = &bar {
        // The last frame stays on the terminal: the whole total once done, or where it stopped.
        match &result {
            Ok(_) => {
                bar.finish_with_message(format!("moved {name} to {to}: {done}/{total} objects"))
            }
            Err(_) => bar.abandon(),
        }
    }
    let report = result.with_context(|| {
        format!("moving the Git LFS objects of {name} to the {to} store (run it again to resume)")
    })?;
    println!(
        "{name}: Git LFS objects in the {to} store: {} sent, {} already there ({} verified), {} removed from the {from} store",
        report.sent,
        report.present,
        format_size(report.bytes),
        report.removed
    );
    Ok(ExitCode::SUCCESS)
}

/// `hubctl lfs-authenticate NS/NAME upload|download [--user NAME]`.
pub(super) fn authenticate(root: &Root, args: LfsAuthenticateArgs) -> Result<ExitCode> {
    use crate::transport::ssh::lfs_authenticate as auth;
    let Some(operation) = crate::lfs::Operation::parse(&args.operation) else {
        eprintln!("hubctl: Invalid LFS operation: {:?}", args.operation);
        return Ok(ExitCode::FAILURE);
    };
    let name = auth::parse_path(&args.name).map_err(|d| anyhow::anyhow!(d.message()))?;
    let store = crate::store::Store::open_root(root)?;
    let settings = crate::settings::Settings::load(&store)?;
    let principal = match &args.user {
        Some(user) => Principal::User(Caller {
            user: store.require_user(user)?,
            scope: crate::store::tokens::Scope::Write,
        }),
        None => Principal::Local,
    };
    // The operator's own command, asked like a remote request would be (the table, then any
    // authorize-command for a --user token).
    let rule = crate::access::authorize::from_settings(&settings);
    let gate = crate::access::authorize::Gate::new(
        &*rule,
        crate::access::authorize::Transport::Stdio,
        None,
    );
    drop(store);
    let answer = auth::authenticate(
        &gate,
        root,
        &name,
        &principal,
        operation,
        settings.public_url.as_deref(),
        std::time::SystemTime::now(),
    );
    match answer {
        Ok(a) => {
            println!("{}", serde_json::to_string(&a)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("hubctl: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The repository `text` names and its object store.
fn open(root: &Root, text: &str) -> Result<(RepoName, FsStore)> {
    let name = RepoName::parse(text)?;
    // Spelt as stored: names are unique regardless of case.
    let name = crate::store::Store::open_root(root)?.canonical_repo_name(&name)?;
    let info = repo::info(root, &name)?;
    Ok((name, FsStore::new(&info.path)))
}

/// The repository `text` names and the store its objects live in (local or S3).
fn open_store(root: &Root, text: &str) -> Result<(RepoName, Box<dyn ObjectStore>)> {
    let name = RepoName::parse(text)?;
    let db = crate::store::Store::open_root(root)?;
    let name = db.canonical_repo_name(&name)?;
    let info = repo::info(root, &name)?;
    let store = crate::lfs::storage::open_in(&db, &info.path, Some(&name))?;
    Ok((name, store))
}

/// `lfs fsck` of a repository whose objects live in S3: every object streamed back and
/// re-hashed.
fn fsck_s3(name: &RepoName, store: &crate::lfs::s3::S3Store) -> Result<ExitCode> {
    let objects = store
        .list()
        .with_context(|| format!("listing the Git LFS objects of {name}"))?;
    let total: u64 = objects.iter().map(|(_, s)| *s).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} checking {msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    bar.set_message(format!("{} objects", objects.len()));
    let corrupt = admin::fsck_s3(store, &objects, &mut |n| bar.inc(n));
    bar.finish_and_clear();
    let corrupt = corrupt.with_context(|| format!("checking the Git LFS objects of {name}"))?;
    for (oid, actual) in &corrupt {
        println!("corrupt: {oid} hashes to {actual} ({})", store.key(oid));
    }
    let unverified = store.unverified().len();
    eprintln!(
        "{name}: {} objects, {} checked; {} corrupt{}",
        objects.len(),
        format_size(total),
        corrupt.len(),
        if unverified > 0 {
            format!(", {unverified} still unverified")
        } else {
            String::new()
        }
    );
    Ok(if corrupt.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn fsck(root: &Root, name: &str) -> Result<ExitCode> {
    {
        let (name, store) = open_store(root, name)?;
        if let Some(s3) = store.as_s3() {
            return fsck_s3(&name, s3);
        }
    }
    let (name, store) = open(root, name)?;
    let scan =
        admin::scan(&store).with_context(|| format!("reading the Git LFS objects of {name}"))?;
    let bar = indicatif::ProgressBar::new(scan.bytes());
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} checking {msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    bar.set_message(format!("{} objects", scan.objects.len()));
    let corrupt = admin::fsck(&scan, &mut |n| bar.inc(n));
    bar.finish_and_clear();
    let corrupt = corrupt.with_context(|| format!("checking the Git LFS objects of {name}"))?;
    for c in &corrupt {
        println!(
            "corrupt: {} hashes to {} ({})",
            c.oid,
            c.actual,
            c.path.display()
        );
    }
    for m in &scan.misplaced {
        println!("misplaced: {} ({})", m.path.display(), m.reason.as_str());
    }
    let problems = corrupt.len() + scan.misplaced.len();
    eprintln!(
        "{name}: {} objects, {} checked; {} corrupt, {} misplaced",
        scan.objects.len(),
        format_size(scan.bytes()),
        corrupt.len(),
        scan.misplaced.len()
    );
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn prune(root: &Root, name: &str, yes: bool, grace: std::time::Duration) -> Result<ExitCode> {
    if open_store(root, name)?.1.as_s3().is_some() {
        anyhow::bail!(
            "lfs prune works on local storage only; this repository's objects are in S3 (use the bucket's lifecycle rules, or migrate-storage --to local first)"
        );
    }
    let (name, store) = open(root, name)?;
    let git_dir = repo::contained_path(root, &name)?;
    // Scan before walking the history: an object stored after the scan is not a candidate,
    // and a push that lands before the walk ends keeps what it points at.
    let scan =
        admin::scan(&store).with_context(|| format!("reading the Git LFS objects of {name}"))?;
    let referenced = crate::git::lfs_history::referenced_oids(&git_dir)?;
    let report = admin::prune(
        &store,
        &scan,
        &referenced,
        grace,
        std::time::SystemTime::now(),
        !yes,
    )
    .with_context(|| format!("pruning the Git LFS objects of {name}"))?;
    let verb = if report.removed {
        "removed"
    } else {
        "would remove"
    };
    for o in &report.unreferenced {
        println!("{verb} {}\t{}", o.oid, o.size);
    }
    let grace_text = humantime::format_duration(grace.max(admin::MIN_GRACE));
    eprintln!(
        "{name}: {verb} {} unreferenced objects ({}); kept {} referenced, {} unreferenced but stored within {grace_text}{}",
        report.unreferenced.len(),
        format_size(report.unreferenced_bytes()),
        referenced_count(&scan, &report),
        report.recent.len(),
        if report.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} changed while pruning", report.skipped.len())
        }
    );
    if !report.removed && !report.unreferenced.is_empty() {
        eprintln!("dry run: nothing was removed; run again with --yes to remove them");
    }
    Ok(ExitCode::SUCCESS)
}

/// How many scanned objects were kept because the history points at them.
fn referenced_count(scan: &admin::Scan, report: &admin::PruneReport) -> usize {
    scan.objects.len() - report.unreferenced.len() - report.recent.len() - report.skipped.len()
}
