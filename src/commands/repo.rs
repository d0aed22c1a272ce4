//! `hubctl repo ...`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::print_json;
use crate::cli::{RepoCommand, RepoSetting};
use crate::core::root::Root;
use crate::core::units::format_size;
use crate::git::maintenance;
use crate::lfs::s3::S3Store;
use crate::repo::{self, InitOptions, RepoName};
use crate::store::Store;
use crate::store::repos::{Grant, RepoSettings, Visibility};

/// Everything `repo show` and `repo list --json` print about one repository.
#[derive(serde::Serialize)]
struct Shown {
    #[serde(flatten)]
    info: repo::Info,
    /// The owning user or organisation (the namespace).
    owner: String,
    /// public or private.
    visibility: Visibility,
    /// Largest non-LFS blob a push may add, in bytes (`null` = no limit).
    max_blob_size: Option<u64>,
    /// Largest Git LFS object an upload may bring, in bytes (`null` = no limit).
    max_lfs_object_size: Option<u64>,
    /// Most bytes of Git LFS content the repository may hold (`null` = no quota).
    lfs_quota: Option<u64>,
    /// Pushes may not change files other users have locked.
    lfs_enforce_locks: bool,
    /// The repository's own choice of Git LFS storage (`null`: the global lfs-storage).
    lfs_storage: Option<crate::lfs::LfsBackend>,
    /// Git LFS objects stored (`repo show` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    lfs_objects: Option<u64>,
    /// Their total size in bytes (`repo show` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    lfs_bytes: Option<u64>,
    /// False for a repository on disk without a database row.
    adopted: bool,
    /// Users granted access.
    grants: Vec<Grant>,
}

/// `repo gc --json`: one run, named like every other repository in JSON.
#[derive(serde::Serialize)]
struct GcShown<'a> {
    /// The owner.
    namespace: &'a str,
    /// The name without `.git`.
    name: &'a str,
    /// `namespace/name`.
    full_name: String,
    #[serde(flatten)]
    outcome: &'a maintenance::Outcome,
}

fn gc_shown<'a>(name: &'a RepoName, outcome: &'a maintenance::Outcome) -> GcShown<'a> {
    GcShown {
        namespace: name.ns(),
        name: name.name(),
        full_name: name.to_string(),
        outcome,
    }
}

fn shown(store: &Store, info: repo::Info) -> Result<Shown> {
    let name = RepoName::new(&info.namespace, &info.name)?;
    let row = store.repo_row(&name)?;
    let grants = match &row {
        Some(r) => store.grants(r.id)?,
        None => Vec::new(),
    };
    let settings = row.as_ref().map(|r| r.settings.clone()).unwrap_or_default();
    Ok(Shown {
        owner: info.namespace.clone(),
        info,
        visibility: settings.visibility,
        max_blob_size: settings.max_blob_size,
        max_lfs_object_size: settings.max_lfs_object_size,
        lfs_quota: settings.lfs_quota,
        lfs_enforce_locks: settings.lfs_enforce_locks,
        lfs_storage: settings.lfs_storage,
        lfs_objects: None,
        lfs_bytes: None,
        adopted: row.is_some(),
        grants,
    })
}

/// The S3 store of `name`'s Git LFS objects, if they live in S3.
fn s3_store(root: &Root, store: &Store, name: &RepoName) -> Result<Option<S3Store>> {
    let settings = crate::settings::Settings::load(store)?;
    let backend = store.repo_settings(name)?.and_then(|s| s.lfs_storage);
    if backend.unwrap_or(settings.lfs_storage) != crate::lfs::LfsBackend::S3 {
        return Ok(None);
    }
    let git_dir = repo::contained_path(root, name)?;
    let cfg =
        crate::lfs::s3::S3Config::resolve(&settings.s3, crate::core::env::get().aws.as_ref())?;
    Ok(Some(S3Store::new(cfg, name, &git_dir)))
}

/// A repository name from the command line, spelt as stored: names are unique regardless of
/// case, so `Alice/Repo` means `alice/repo`.
fn stored_name(root: &Root, text: &str) -> Result<RepoName> {
    let name = RepoName::parse(text)?;
    Ok(Store::open_root(root)?.canonical_repo_name(&name)?)
}

pub(super) fn run(root: &Root, command: RepoCommand) -> Result<ExitCode> {
    match command {
        RepoCommand::Init {
            name,
            default_branch,
            description,
            max_blob_size,
            private,
            public: _,
        } => {
            let name = stored_name(root, &name)?;
            let mut store = Store::open_root(root)?;
            let opts = InitOptions {
                default_branch,
                description,
            };
            let settings = RepoSettings {
                max_blob_size: max_blob_size.and_then(|l| l.0),
                visibility: if private {
                    Visibility::Private
                } else {
                    Visibility::Public
                },
                ..RepoSettings::default()
            };
            let path = repo::create(root, &mut store, &name, &opts, &settings)?;
            println!("created {name} at {}", path.display());
        }
        RepoCommand::List { json } => {
            let store = Store::open_root(root)?;
            super::warn_case_clashes(&store)?;
            let all = repo::list(root)?
                .into_iter()
                .map(|info| shown(&store, info))
                .collect::<Result<Vec<_>>>()?;
            if json {
                print_json(&all)?;
            } else if all.is_empty() {
                eprintln!("no repositories under {}", root.repos_dir().display());
            } else {
                for s in &all {
                    println!(
                        "{}/{}\t{}\t{}\t{}{}",
                        s.info.namespace,
                        s.info.name,
                        s.visibility,
                        s.info.default_branch.as_deref().unwrap_or("-"),
                        s.info.description,
                        if s.adopted { "" } else { " (not adopted)" }
                    );
                }
            }
        }
        RepoCommand::Show { name, json } => {
            let name = stored_name(root, &name)?;
            let store = Store::open_root(root)?;
            let mut s = shown(&store, repo::info(root, &name)?)?;
            let usage = crate::lfs::storage::open_in(&store, &s.info.path, Some(&name))?
                .usage()
                .with_context(|| format!("reading the Git LFS objects of {name}"))?;
            s.lfs_objects = Some(usage.objects);
            s.lfs_bytes = Some(usage.bytes);
            if json {
                print_json(&s)?;
            } else {
                println!("repository:      {name}");
                println!("path:            {}", s.info.path.display());
                println!("owner:           {}", s.owner);
                println!("visibility:      {}", s.visibility);
                println!(
                    "default branch:  {}",
                    s.info.default_branch.as_deref().unwrap_or("(detached)")
                );
                println!("description:     {}", s.info.description);
                println!("max blob size:   {}", limit_text(s.max_blob_size));
                println!("max LFS object:  {}", limit_text(s.max_lfs_object_size));
                println!("LFS quota:       {}", limit_text(s.lfs_quota));
                println!(
                    "LFS locks:       {}",
                    if s.lfs_enforce_locks {
                        "enforced on push"
                    } else {
                        "advisory (not enforced on push)"
                    }
                );
                println!(
                    "LFS storage:     {}",
                    s.lfs_storage
                        .map_or("(global lfs-storage)".to_string(), |b| b.to_string())
                );
                println!(
                    "LFS objects:     {}, {} ({} bytes)",
                    usage.objects,
                    format_size(usage.bytes),
                    usage.bytes
                );
                if !s.adopted {
                    println!("adopted:         no (administrators only; see hubctl repo adopt)");
                }
                for g in &s.grants {
                    println!("grant:           {} {}", g.user, g.level);
                }
            }
        }
        RepoCommand::Set { name, key, value } => {
            let name = stored_name(root, &name)?;
            let info = repo::info(root, &name)?;
            match key {
                RepoSetting::Visibility => {
                    let v = match value.as_str() {
                        "public" => Visibility::Public,
                        "private" => Visibility::Private,
                        other => bail!("visibility must be public or private, not {other:?}"),
                    };
                    Store::open_root(root)?.set_visibility(&name, v)?;
                }
                RepoSetting::MaxBlobSize => {
                    let limit = crate::core::units::parse_limit(&value)?;
                    Store::open_root(root)?.set_max_blob_size(&name, limit)?;
                }
                RepoSetting::MaxLfsObjectSize => {
                    let limit = crate::core::units::parse_limit(&value)?;
                    Store::open_root(root)?.set_max_lfs_object_size(&name, limit)?;
                }
                RepoSetting::LfsQuota => {
                    let quota = crate::core::units::parse_limit(&value)?;
                    Store::open_root(root)?.set_lfs_quota(&name, quota)?;
                }
                RepoSetting::LfsEnforceLocks => {
                    let on = match value.as_str() {
                        "on" | "true" | "yes" | "1" => true,
                        "off" | "false" | "no" | "0" => false,
                        other => bail!("lfs-enforce-locks is on or off, not {other:?}"),
                    };
                    Store::open_root(root)?.set_lfs_enforce_locks(&name, on)?;
                }
                RepoSetting::LfsStorage => {
                    let backend = match value.as_str() {
                        "default" => None,
                        other => {
                            Some(crate::lfs::LfsBackend::from_name(other).ok_or_else(|| {
                                anyhow::anyhow!(
                                    "lfs-storage is local, s3 or default, not {other:?}"
                                )
                            })?)
                        }
                    };
                    Store::open_root(root)?.set_lfs_storage(&name, backend)?;
                }
                RepoSetting::Description => {
                    repo::set_description(&info.path, &value)
                        .with_context(|| format!("updating the description of {name}"))?;
                }
                RepoSetting::DefaultBranch => {
                    if value.is_empty() {
                        bail!("the default branch must not be empty");
                    }
                    repo::set_default_branch(&info.path, &value)?;
                }
            }
            println!("{name}: {} = {value}", key_name(key));
        }
        RepoCommand::Grant { name, user, level } => {
            let name = stored_name(root, &name)?;
            let level = crate::store::repos::Level::from(level);
            Store::open_root(root)?.grant(&name, &user, level)?;
            println!("{user} has {level} access to {name}");
        }
        RepoCommand::Revoke { name, user } => {
            let name = stored_name(root, &name)?;
            Store::open_root(root)?.revoke(&name, &user)?;
            println!("{user} no longer has a grant on {name}");
        }
        RepoCommand::Rename {
            name,
            new_name,
            json,
        } => {
            let from = RepoName::parse(&name)?;
            let to = RepoName::parse(&new_name)?;
            let mut store = Store::open_root(root)?;
            // Not while maintenance rewrites the repository's packs.
            let _lock = maintenance::lock(root, &from, true)?;
            // LFS objects in S3 live below the repository's name: copy them to the new name
            // first, rename, then delete the old copies (a failed rename deletes the new ones).
            let moved = s3_store(root, &store, &from)?.map(|old| {
                // The unverified marks live in the repository directory, which moves too.
                let new = old.for_repo(&to, Path::new("/nonexistent"));
                (old, new)
            });
            if let Some((old, new)) = &moved {
                old.copy_all_to(new)
                    .with_context(|| format!("copying the Git LFS objects of {from} in S3"))?;
            }
            let path = match repo::rename(root, &mut store, &from, &to) {
                Ok(p) => p,
                Err(e) => {
                    if let Some((_, new)) = &moved {
                        let _ = new.delete_all();
                    }
                    return Err(e.into());
                }
            };
            if let Some((old, _)) = &moved {
                old.delete_all().with_context(|| {
                    format!("{from} was renamed to {to}, but removing the old copies of its Git LFS objects in S3 failed")
                })?;
            }
            if json {
                print_json(&serde_json::json!({
                    "namespace": to.ns(),
                    "name": to.name(),
                    "full_name": to.to_string(),
                    "path": path,
                    "renamed_from": {
                        "namespace": from.ns(),
                        "name": from.name(),
                        "full_name": from.to_string(),
                    },
                }))?;
            } else {
                println!("renamed {from} to {to}; HTTP clients of the old URL are redirected");
            }
        }
        RepoCommand::Import {
            name,
            source,
            mirror,
            description,
            private,
            public: _,
            quiet,
            json,
        } => {
            let name = RepoName::parse(&name)?;
            let mut store = Store::open_root(root)?;
            let engine = crate::git::Engine::for_root(root)?;
            let settings = RepoSettings {
                visibility: if private {
                    Visibility::Private
                } else {
                    Visibility::Public
                },
                ..RepoSettings::default()
            };
            let path = crate::git::import::import(
                &engine,
                root,
                &mut store,
                &name,
                &settings,
                &crate::git::import::ImportOptions {
                    source: &source,
                    mirror,
                    progress: !quiet,
                    description,
                },
            )?;
            if json {
                print_json(&serde_json::json!({
                    "namespace": name.ns(),
                    "name": name.name(),
                    "full_name": name.to_string(),
                    "path": path,
                    "source": source,
                    "mirror": mirror,
                }))?;
            } else {
                println!("imported {source} as {name} at {}", path.display());
            }
        }
        RepoCommand::Rm { name, yes } => {
            let name = stored_name(root, &name)?;
            if !yes {
                bail!("refusing to delete {name} and all its history without --yes");
            }
            let mut store = Store::open_root(root)?;
            // LFS objects in S3 go first: if that fails the repository is still there to retry.
            if let Some(s3) = s3_store(root, &store, &name)? {
                s3.delete_all()
                    .with_context(|| format!("deleting the Git LFS objects of {name} in S3"))?;
            }
            repo::remove(root, &mut store, &name)?;
            println!("deleted {name}");
        }
        RepoCommand::Gc { name, auto, json } => {
            let name = stored_name(root, &name)?;
            let info = repo::info(root, &name)?;
            let engine = crate::git::Engine::for_root(root)?;
            if auto {
                let outcomes = maintenance::run_pending(&engine, root, &name, &info.path)?;
                if json {
                    let shown: Vec<_> = outcomes.iter().map(|o| gc_shown(&name, o)).collect();
                    print_json(&shown)?;
                } else if outcomes.is_empty() {
                    println!("{name}: maintenance already running in another process");
                }
                for o in &outcomes {
                    if !json {
                        print_outcome(o);
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            // Wait for an automatic run to finish rather than racing it.
            let _lock = maintenance::lock(root, &name, true)?;
            let bar = indicatif::ProgressBar::new(maintenance::STEPS.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{pos}/{len}] {msg} ({elapsed})",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let outcome =
                maintenance::run(&engine, &info.path, &name.to_string(), true, |i, step| {
                    bar.set_position(i as u64);
                    bar.set_message(step.to_string());
                });
            bar.finish_and_clear();
            maintenance::record(root, &outcome);
            let outcome = outcome?;
            if json {
                print_json(&gc_shown(&name, &outcome))?;
            } else {
                print_outcome(&outcome);
            }
        }
        RepoCommand::Adopt { name, public, .. } => {
            let name = stored_name(root, &name)?;
            repo::info(root, &name)?;
            let mut store = Store::open_root(root)?;
            if store.repo_row(&name)?.is_some() {
                bail!("repository {name} is already adopted");
            }
            let settings = RepoSettings {
                visibility: if public {
                    Visibility::Public
                } else {
                    Visibility::Private
                },
                ..RepoSettings::default()
            };
            store.adopt(&name, &settings)?;
            println!("adopted {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(o: &maintenance::Outcome) {
    if !o.ran {
        println!("{}: nothing to do ({})", o.repository, o.reason);
        return;
    }
    println!("{}: {}", o.repository, o.reason);
    for s in &o.steps {
        println!("  {:<55} {:>8.3}s", s.name, s.seconds);
    }
    println!(
        "  packs {} -> {}, loose objects {} -> {}, size {} -> {}",
        o.before.packs,
        o.after.packs,
        o.before.loose_objects,
        o.after.loose_objects,
        format_size(o.before.pack_bytes),
        format_size(o.after.pack_bytes)
    );
}

fn key_name(key: RepoSetting) -> &'static str {
    match key {
        RepoSetting::Visibility => "visibility",
        RepoSetting::MaxBlobSize => "max-blob-size",
        RepoSetting::Description => "description",
        RepoSetting::DefaultBranch => "default-branch",
        RepoSetting::MaxLfsObjectSize => "max-lfs-object-size",
        RepoSetting::LfsQuota => "lfs-quota",
        RepoSetting::LfsEnforceLocks => "lfs-enforce-locks",
        RepoSetting::LfsStorage => "lfs-storage",
    }
}

/// A size limit as `repo show` prints it.
fn limit_text(limit: Option<u64>) -> String {
    limit
        .map(|b| format!("{} ({b} bytes)", format_size(b)))
        .unwrap_or_else(|| "off".into())
}

/// `hubctl backup DIR`.
pub(super) fn backup(root: &Root, dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    let summary = crate::git::backup::backup(root, dir, |step| {
        if !json {
            eprintln!("backing up {step}");
        }
    })?;
    report(&summary, json, "backed up")
}

/// `hubctl restore DIR`.
pub(super) fn restore(root: &Root, dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    let summary = crate::git::backup::restore(dir, root, |step| {
        if !json {
            eprintln!("restoring {step}");
        }
    })
    .with_context(|| format!("restoring {} into {}", dir.display(), root.path().display()))?;
    report(&summary, json, "restored")
}

fn report(summary: &crate::git::backup::Summary, json: bool, verb: &str) -> Result<ExitCode> {
    if json {
        print_json(summary)?;
    } else {
        for link in &summary.skipped_links {
            eprintln!("skipped the symbolic link {}", link.display());
        }
        println!(
            "{verb} {} repositories ({} files, {}) {} {}",
            summary.repositories.len(),
            summary.files,
            format_size(summary.bytes),
            if verb == "restored" { "from" } else { "to" },
            summary.backup.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
