//! `hubctl user ...`, `hubctl org ...`, `hubctl token ...`

use std::process::ExitCode;

use anyhow::Result;

use super::print_json;

use crate::cli::{OrgCommand, OrgMemberCommand, TokenCommand, UserCommand};
use crate::core::root::Root;
use crate::store::Store;

pub(super) fn user(
    root: &Root,
    authorized_keys_file: Option<&std::path::Path>,
    command: UserCommand,
) -> Result<ExitCode> {
    let mut store = Store::open_root(root)?;
    match command {
        UserCommand::Add { name, admin } => {
            let u = store.add_user(&name, admin)?;
            println!(
                "created user {}{}",
                u.name,
                if u.admin { " (administrator)" } else { "" }
            );
        }
        UserCommand::List { json } => {
            super::warn_case_clashes(&store)?;
            let users = store.users()?;
            if json {
                print_json(&users)?;
            } else {
                for u in users {
                    println!("{}{}", u.name, if u.admin { "\tadmin" } else { "" });
                }
            }
        }
        UserCommand::Rm { name } => {
            store.remove_user(&name)?;
            // The user's keys went with the user: their authorized_keys lines go too.
            crate::keys::sync(&store, root, authorized_keys_file)?;
            println!("deleted user {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn org(root: &Root, command: OrgCommand) -> Result<ExitCode> {
    let mut store = Store::open_root(root)?;
    match command {
        OrgCommand::Add { name } => {
            let o = store.add_org(&name)?;
            println!("created organisation {}", o.name);
        }
        OrgCommand::List { json } => {
            super::warn_case_clashes(&store)?;
            let orgs = store.orgs()?;
            if json {
                print_json(&orgs)?;
            } else {
                for o in orgs {
                    let members: Vec<String> = o
                        .members
                        .iter()
                        .map(|m| format!("{} ({})", m.user, m.role))
                        .collect();
                    println!("{}\t{}", o.name, members.join(", "));
                }
            }
        }
        OrgCommand::Member { command } => match command {
            OrgMemberCommand::Add { org, user, role } => {
                store.add_member(&org, &user, role.into())?;
                println!(
                    "{user} is now a{} of {org}",
                    match role {
                        crate::cli::RoleArg::Owner => "n owner",
                        crate::cli::RoleArg::Member => " member",
                    }
                );
            }
            OrgMemberCommand::Rm { org, user } => {
                store.remove_member(&org, &user)?;
                println!("{user} is no longer a member of {org}");
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn token(root: &Root, command: TokenCommand) -> Result<ExitCode> {
    let mut store = Store::open_root(root)?;
    match command {
        TokenCommand::Create {
            user,
            name,
            scope,
            expires,
            json,
        } => {
            let t = store.create_token(&user, &name, scope.into(), expires)?;
            if json {
                print_json(&t)?;
            } else {
                println!("{}", t.token);
                eprintln!(
                    "token {} for {} ({}, {}); it is shown only this once",
                    t.id,
                    t.user,
                    t.scope,
                    t.expires_at
                        .as_deref()
                        .map(|e| format!("expires {e}"))
                        .unwrap_or_else(|| "no expiry".into())
                );
            }
        }
        TokenCommand::List { user, json } => {
            let tokens = store.tokens(user.as_deref())?;
            if json {
                print_json(&tokens)?;
            } else {
                for t in tokens {
                    let state = match (&t.revoked_at, &t.expires_at) {
                        (Some(_), _) => "revoked".to_string(),
                        (None, Some(e)) if t.expired => format!("expired {e}"),
                        (None, Some(e)) => format!("expires {e}"),
                        (None, None) => "active".into(),
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\tlast used {}",
                        t.id,
                        t.user,
                        t.name,
                        t.scope,
                        state,
                        t.last_used.as_deref().unwrap_or("never")
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            store.revoke_token(id)?;
            println!("revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
