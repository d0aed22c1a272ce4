//! `hubctl keys ...`, `hubctl shell` (the SSH forced command) and `hubctl config ...`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::print_json;
use super::stdio::exit_code;
use crate::access::{self, Action, Caller, Principal};
use crate::cli::{ConfigCommand, KeysCommand};
use crate::config::Root;
use crate::git::{self, Engine, Mode, RunOptions, Service};
use crate::keys;
use crate::settings::Key;
use crate::ssh::{self, Request};
use crate::store::Store;
use crate::store::tokens::Scope;

/// Longest public key file read.
const MAX_KEY_FILE: u64 = 64 * 1024;

pub(super) fn run(root: &Root, managed: Option<&Path>, command: KeysCommand) -> Result<ExitCode> {
    let mut store = Store::open_root(root)?;
    match command {
        KeysCommand::Add {
            user,
            title,
            json,
            file,
        } => {
            let mut text = String::new();
            let reader: Box<dyn Read> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin())
            } else {
                Box::new(
                    std::fs::File::open(&file)
                        .with_context(|| format!("reading {}", file.display()))?,
                )
            };
            reader
                .take(MAX_KEY_FILE)
                .read_to_string(&mut text)
                .context("reading the public key (it must be text)")?;
            let mut info = keys::add(&mut store, root, managed, &user, title.as_deref(), &text)?;
            if json {
                info.user = None;
                info.public_key = None;
                print_json(&info)?;
            } else {
                println!("added key {} {} for {user}", info.id, info.fingerprint);
            }
        }
        KeysCommand::List { user, json } => {
            let keys = store.keys(user.as_deref())?;
            if json {
                print_json(&keys)?;
            } else {
                for k in keys {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\tlast used {}",
                        k.id,
                        k.user.as_deref().unwrap_or_default(),
                        k.key_type,
                        k.fingerprint,
                        k.title,
                        k.last_used.as_deref().unwrap_or("never")
                    );
                }
            }
        }
        KeysCommand::Show { id, json } => {
            let Some(k) = store.key(id)? else {
                bail!("no SSH key with id {id}");
            };
            if json {
                print_json(&k)?;
            } else {
                println!("id:          {}", k.id);
                println!("user:        {}", k.user.as_deref().unwrap_or_default());
                println!("title:       {}", k.title);
                println!("type:        {}", k.key_type);
                println!("fingerprint: {}", k.fingerprint);
                println!("created:     {}", k.created_at);
                println!("last used:   {}", k.last_used.as_deref().unwrap_or("never"));
                println!("{}", k.public_key.unwrap_or_default());
            }
        }
        KeysCommand::Rm { id } => {
            keys::remove(&mut store, root, managed, id)?;
            println!("deleted key {id}");
        }
        KeysCommand::AuthorizedKeys {
            write,
            key_type,
            key,
            fingerprint,
        } => {
            if let Some(path) = write {
                keys::file::write_managed(&store, root, &path)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!(
                    "wrote {} keys to {}",
                    store.all_key_blobs()?.len(),
                    path.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            // AuthorizedKeysCommand: one indexed lookup; no match prints nothing (exit 0).
            let wanted = match (key_type, key, fingerprint) {
                (Some(t), Some(k), f) => match keys::parse_public_key(&format!("{t} {k}")) {
                    Ok(parsed) if f.as_ref().is_some_and(|f| *f != parsed.fingerprint) => {
                        eprintln!(
                            "hubctl: offered key has fingerprint {}, not {}",
                            parsed.fingerprint,
                            f.unwrap_or_default()
                        );
                        return Ok(ExitCode::SUCCESS);
                    }
                    Ok(parsed) => Some(parsed.fingerprint),
                    Err(e) => {
                        eprintln!("hubctl: offered key not usable: {e}");
                        return Ok(ExitCode::SUCCESS);
                    }
                },
                (_, _, Some(f)) => Some(f),
                _ => None,
            };
            let exe = crate::util::self_exe()?;
            match wanted {
                Some(fp) => {
                    if let Some((id, public_key)) = store.key_by_fingerprint(&fp)? {
                        println!("{}", keys::authorized_line(&exe, root, id, &public_key));
                    }
                }
                None => {
                    for line in keys::file::lines(&store, root)? {
                        println!("{line}");
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn config(root: &Root, command: ConfigCommand) -> Result<ExitCode> {
    let mut store = Store::open_root(root)?;
    match command {
        ConfigCommand::Get { name } => match store.setting(name.name())? {
            Some(v) => println!("{v}"),
            None => println!("{} (default)", name.default_value()),
        },
        ConfigCommand::Set { name, value } => {
            let value = name.validate(&value).map_err(anyhow::Error::msg)?;
            store.set_setting(name.name(), Some(&value))?;
            if name == Key::AuthorizedKeysFile {
                keys::sync(&store, root, None)?;
            }
            println!("{} = {value}", name.name());
        }
        ConfigCommand::Unset { name } => {
            store.set_setting(name.name(), None)?;
            println!("{} = {} (default)", name.name(), name.default_value());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The SSH forced command. Every refusal is one line on stderr and exit status 1; nothing is
/// ever handed to a shell.
pub(super) fn shell(root: &Root, key_id: i64) -> Result<ExitCode> {
    let refuse = |message: &str| {
        eprintln!("hubctl: {message}");
        Ok(ExitCode::FAILURE)
    };
    let mut store = Store::open_root(root)?;
    let Some(user) = store.use_key(key_id)? else {
        return refuse("this SSH key is no longer registered");
    };
    let command = match std::env::var("SSH_ORIGINAL_COMMAND") {
        Ok(c) if !c.trim().is_empty() => c,
        Ok(_) | Err(std::env::VarError::NotPresent) => {
            eprintln!("{}", ssh::greeting(&user.name));
            return Ok(ExitCode::FAILURE);
        }
        Err(std::env::VarError::NotUnicode(_)) => return refuse("command refused: not UTF-8"),
    };
    let (service, path) = match ssh::parse_command(&command) {
        Ok(Request::Git { service, path }) => (service, path),
        Ok(Request::Lfs { command }) => {
            return refuse(&format!("{command} is not supported by this server"));
        }
        Err(e) => return refuse(&e),
    };
    let name = match access::parse_hosted_name(&path) {
        Ok(n) => n,
        Err(d) => return refuse(&d.message()),
    };
    let principal = Principal::User(Caller {
        user,
        scope: Scope::Write,
    });
    let action = match service {
        Service::UploadPack => Action::Read,
        Service::ReceivePack => Action::Write,
    };
    let located = match access::authorize_hosted(&store, root, &name, &principal, action) {
        Ok(l) => l,
        Err(d) => return refuse(&d.message()),
    };
    drop(store);
    let engine = match Engine::for_root(root) {
        Ok(e) => e,
        Err(e) => return refuse(&e.to_string()),
    };
    let mut opts = RunOptions {
        protocol: std::env::var("GIT_PROTOCOL")
            .ok()
            .and_then(|p| git::sanitize_protocol(&p)),
        ..RunOptions::default()
    };
    if service == Service::ReceivePack {
        // The client address, for the committer identity git-http-backend would use.
        let addr = std::env::var("SSH_CONNECTION")
            .ok()
            .and_then(|c| c.split_whitespace().next().map(str::to_string))
            .unwrap_or_default();
        opts.set_pusher(&principal, &addr);
        git::hooks::configure(root, &name, &located.git_dir, &principal, &mut opts)
            .context("installing hubctl's hooks")?;
    }
    match engine.run_inherited(service, Mode::Duplex, &located.git_dir, &opts) {
        Ok(status) => Ok(exit_code(status)),
        Err(git::Error::Busy(_)) => refuse("the server is busy; try again in a minute"),
        Err(e) => Err(e.into()),
    }
}
