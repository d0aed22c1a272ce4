//! `hubctl shell`: the edge of the SSH forced command. It reads what sshd put in the
//! environment and hands it to [`crate::transport::ssh::session`].

use std::process::ExitCode;

use anyhow::Result;

use crate::core::root::Root;
use crate::settings::Settings;
use crate::store::Store;
use crate::transport::ssh::session::{self, LfsOptions, Original, Session};

/// The SSH forced command: read what sshd put in the environment, then run the session.
pub(super) fn shell(root: &Root, key_id: i64) -> Result<ExitCode> {
    let original = match std::env::var("SSH_ORIGINAL_COMMAND") {
        Ok(c) => Original::Text(c),
        Err(std::env::VarError::NotPresent) => Original::Missing,
        Err(std::env::VarError::NotUnicode(_)) => Original::NotUnicode,
    };
    let connection = std::env::var("SSH_CONNECTION").unwrap_or_default();
    let client_address = connection
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    // One connection for the whole session: the settings now, the key and access next.
    let store = Store::open_root(root)?;
    let settings = Settings::load(&store)?;
    let authorize = crate::access::authorize::from_settings(&settings);
    Ok(session::run(
        Session {
            root,
            key_id,
            original,
            git_protocol: std::env::var("GIT_PROTOCOL").ok(),
            client_address,
            connection,
            lfs: LfsOptions {
                public_url: settings.public_url,
                transfer: settings.lfs_ssh_transfer,
                idle_timeout: settings.idle_timeout,
            },
            authorize: &*authorize,
        },
        store,
    )?)
}
