//! `hubctl keys ...` and `hubctl config ...`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::print_json;
use crate::cli::{ConfigCommand, KeysCommand};
use crate::core::root::Root;
use crate::keys;
use crate::settings::{Entry, Key, ServeTakes, Settings};
use crate::store::Store;

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
            let exe = crate::core::util::self_exe()?;
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
        ConfigCommand::List { json } => {
            let entries = Settings::entries(&store)?;
            if json {
                print_json(&entries)?;
            } else {
                for e in entries {
                    let default = if e.default { "\t(default)" } else { "" };
                    println!("{}\t{}{default}", e.name, e.text);
                }
            }
        }
        ConfigCommand::Get { name } => {
            let e = entry(&store, Key::from(name))?;
            let default = if e.default { " (default)" } else { "" };
            println!("{}{default}", e.text);
        }
        ConfigCommand::Set { name, value } => {
            let name = Key::from(name);
            let value = name.validate(&value)?;
            store.set_setting(name.name(), Some(&value))?;
            if name == Key::AuthorizedKeysFile {
                keys::sync(&store, root, None)?;
            }
            println!("{} = {}", name.name(), entry(&store, name)?.text);
            restart_note(name);
        }
        ConfigCommand::Unset { name } => {
            let name = Key::from(name);
            store.set_setting(name.name(), None)?;
            println!("{} = {} (default)", name.name(), entry(&store, name)?.text);
            restart_note(name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn entry(store: &Store, name: Key) -> Result<Entry> {
    Settings::entries(store)?
        .into_iter()
        .find(|e| e.name == name.name())
        .context("unknown setting")
}

/// Say when a change reaches a running `hubctl serve` only after a SIGHUP or a restart.
fn restart_note(name: Key) {
    match name.serve_takes_change() {
        ServeTakes::AtOnce => {}
        ServeTakes::OnSighup => eprintln!(
            "hubctl: a running `hubctl serve` reads {} when it starts: send it SIGHUP (kill -HUP PID) or restart it for this to take effect (CGI, SSH and hooks use the new value at once)",
            name.name()
        ),
        ServeTakes::OnRestart => eprintln!(
            "hubctl: a running `hubctl serve` reads {} when it starts: restart it for this to take effect (CGI, SSH and hooks use the new value at once)",
            name.name()
        ),
    }
}
