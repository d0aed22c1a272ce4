//! `hubctl repo ...`

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::print_json;
use crate::cli::{RepoCommand, RepoSetting};
use crate::config::Root;
use crate::repo::{self, InitOptions, RepoName};
use crate::store::Store;
use crate::store::repos::RepoSettings;
use crate::units::format_size;

/// Everything `repo show` and `repo list --json` print about one repository.
#[derive(serde::Serialize)]
struct Shown {
    #[serde(flatten)]
    info: repo::Info,
    /// Largest non-LFS blob a push may add, in bytes (`null` = no limit).
    max_blob_size: Option<u64>,
}

pub(super) fn run(root: &Root, command: RepoCommand) -> Result<ExitCode> {
    match command {
        RepoCommand::Init {
            name,
            default_branch,
            description,
            max_blob_size,
        } => {
            let name = RepoName::parse(&name)?;
            let mut store = Store::open_root(root)?;
            let opts = InitOptions {
                default_branch,
                description,
            };
            let settings = RepoSettings {
                max_blob_size: max_blob_size.and_then(|l| l.0),
            };
            let path = repo::create(root, &mut store, &name, &opts, &settings)?;
            println!("created {name} at {}", path.display());
        }
        RepoCommand::List { json } => {
            let store = Store::open_root(root)?;
            let mut shown = Vec::new();
            for info in repo::list(root)? {
                let name = RepoName::new(&info.namespace, &info.name)?;
                let settings = store.repo_settings(&name)?.unwrap_or_default();
                shown.push(Shown {
                    info,
                    max_blob_size: settings.max_blob_size,
                });
            }
            if json {
                print_json(&shown)?;
            } else if shown.is_empty() {
                eprintln!("no repositories under {}", root.repos_dir().display());
            } else {
                for s in &shown {
                    println!(
                        "{}/{}\t{}\t{}",
                        s.info.namespace,
                        s.info.name,
                        s.info.default_branch.as_deref().unwrap_or("-"),
                        s.info.description
                    );
                }
            }
        }
        RepoCommand::Show { name, json } => {
            let name = RepoName::parse(&name)?;
            let store = Store::open_root(root)?;
            let info = repo::info(root, &name)?;
            let settings = store.repo_settings(&name)?.unwrap_or_default();
            let shown = Shown {
                info,
                max_blob_size: settings.max_blob_size,
            };
            if json {
                print_json(&shown)?;
            } else {
                println!("repository:      {name}");
                println!("path:            {}", shown.info.path.display());
                println!(
                    "default branch:  {}",
                    shown.info.default_branch.as_deref().unwrap_or("(detached)")
                );
                println!("description:     {}", shown.info.description);
                println!(
                    "max blob size:   {}",
                    shown
                        .max_blob_size
                        .map(|b| format!("{} ({b} bytes)", format_size(b)))
                        .unwrap_or_else(|| "off".into())
                );
            }
        }
        RepoCommand::Set { name, key, value } => {
            let name = RepoName::parse(&name)?;
            let info = repo::info(root, &name)?;
            match key {
                RepoSetting::MaxBlobSize => {
                    let limit = crate::units::parse_limit(&value)?;
                    Store::open_root(root)?.set_max_blob_size(&name, limit)?;
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
    }
    Ok(ExitCode::SUCCESS)
}

fn key_name(key: RepoSetting) -> &'static str {
    match key {
        RepoSetting::MaxBlobSize => "max-blob-size",
        RepoSetting::Description => "description",
        RepoSetting::DefaultBranch => "default-branch",
    }
}
