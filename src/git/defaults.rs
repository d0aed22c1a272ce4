//! hubctl's protocol settings for git's engine, as defaults rather than overrides.
//!
//! hubctl switches features on (filters, atomic pushes, push options, object checks) with
//! `git -c key=value`, which beats every config file. An operator who sets one of these keys in
//! the repository's, the global or the system config must win, as they would with stock git, so
//! a setting is passed only when git's own configuration leaves its key (and every key git
//! reads in its place) unset. The configuration is read in-process from one gix snapshot per
//! engine run; no extra git process is started.

use std::path::Path;

use super::Service;

/// One protocol setting hubctl wants when the operator has not said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The config key, as git spells it.
    pub key: &'static str,
    /// hubctl's value.
    pub value: &'static str,
    /// Other keys that decide the same question in git (a fallback such as
    /// `transfer.fsckObjects`, or a sibling that narrows it such as
    /// `uploadpack.allowTipSHA1InWant`): when any of them is set, the operator decided.
    pub decided_by: &'static [&'static str],
}

const fn setting(key: &'static str, value: &'static str) -> Setting {
    Setting {
        key,
        value,
        decided_by: &[],
    }
}

const UPLOAD_PACK: &[Setting] = &[
    setting("uploadpack.allowFilter", "true"),
    Setting {
        key: "uploadpack.allowReachableSHA1InWant",
        value: "true",
        // A repository that allows only tips (or anything) made its own choice about which
        // objects a client may ask for by id.
        decided_by: &[
            "uploadpack.allowTipSHA1InWant",
            "uploadpack.allowAnySHA1InWant",
        ],
    },
];

const RECEIVE_PACK: &[Setting] = &[
    setting("receive.advertiseAtomic", "true"),
    setting("receive.advertisePushOptions", "true"),
    Setting {
        key: "receive.fsckObjects",
        value: "true",
        decided_by: &["transfer.fsckObjects"],
    },
    // Keep every push as a pack instead of exploding small ones into loose objects: the
    // quarantine then moves into objects/pack/, which maintenance's prune-packed never touches
    // (it removes empty objects/xx/ directories, and a loose object moving into one at that
    // moment fails the push). Geometric repacking rolls the small packs together.
    Setting {
        key: "receive.unpackLimit",
        value: "1",
        decided_by: &["transfer.unpackLimit"],
    },
    // A ref lock held for a moment by maintenance (pack-refs) or by a concurrent push is worth
    // waiting for; git's 100 ms default fails the push under load.
    setting("core.filesRefLockTimeout", "10000"),
    setting("core.packedRefsTimeout", "10000"),
];

/// For pushes into a repository hubctl maintains itself (automatic maintenance on): no
/// `git maintenance run --auto` from receive-pack after every push. hubctl's own maintenance
/// (geometric repacking, see `maintenance`) replaces it, git's would repack everything into
/// one pack once 50 packs pile up, and receive-pack waits for it to start before it ends the
/// push: one git process fewer on every push's path.
pub const NO_GIT_AUTO_GC: Setting = setting("receive.autoGc", "false");

/// Every setting hubctl would like for `service`.
pub fn wanted(service: Service) -> &'static [Setting] {
    match service {
        Service::UploadPack => UPLOAD_PACK,
        Service::ReceivePack => RECEIVE_PACK,
    }
}

/// The `key=value` settings to pass with `-c` for `service` on `git_dir`: those whose keys
/// git's configuration (repository, global, system, in git's precedence) leaves unset.
///
/// A repository gix cannot open gets every default: git will then fail on it with its own
/// message, or serve it with hubctl's usual features.
///
/// `extra` are settings of this run only (such as [`NO_GIT_AUTO_GC`]), defaults all the same.
pub fn for_run(service: Service, git_dir: &Path, extra: &[Setting]) -> Vec<String> {
    let opened = gix::open_opts(git_dir, gix::open::Options::default().open_path_as_is(true));
    let snapshot = opened.as_ref().ok().map(|repo| repo.config_snapshot());
    let is_set = |key: &str| {
        snapshot
            .as_ref()
            .is_some_and(|s| s.plumbing().raw_value(key).is_ok() || s.boolean(key).is_some())
    };
    let mut out = unset(service, is_set);
    out.extend(unset_of(extra, is_set));
    out
}

/// The `key=value` settings of `service` that `config` leaves unset: for a caller that has
/// the repository open already (hubctl's own advertisement), so it is not opened twice.
/// Settings given with `-c` count as set there, as they do for git.
pub fn unset_in(service: Service, config: &gix::config::Snapshot<'_>) -> Vec<String> {
    unset(service, |key| {
        config.plumbing().raw_value(key).is_ok() || config.boolean(key).is_some()
    })
}

/// The settings of `service` none of whose keys `is_set` reports as configured.
fn unset(service: Service, is_set: impl Fn(&str) -> bool) -> Vec<String> {
    unset_of(wanted(service), is_set)
}

/// The `settings` none of whose keys `is_set` reports as configured.
fn unset_of(settings: &[Setting], is_set: impl Fn(&str) -> bool) -> Vec<String> {
    settings
        .iter()
        .filter(|s| !is_set(s.key) && !s.decided_by.iter().any(|k| is_set(k)))
        .map(|s| format!("{}={}", s.key, s.value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_key_or_its_fallback_drops_the_default() {
        let all = unset(Service::ReceivePack, |_| false);
        assert!(all.contains(&"receive.fsckObjects=true".to_string()));
        let without = unset(Service::ReceivePack, |k| k == "transfer.fsckObjects");
        assert!(
            !without
                .iter()
                .any(|s| s.starts_with("receive.fsckObjects="))
        );
        assert_eq!(without.len(), all.len() - 1);
        let tips = unset(Service::UploadPack, |k| {
            k == "uploadpack.allowTipSHA1InWant"
        });
        assert_eq!(tips, vec!["uploadpack.allowFilter=true".to_string()]);
    }

    #[test]
    fn reads_the_repository_config() {
        let dir = tempfile::tempdir().unwrap();
        let git_dir = dir.path().join("r.git");
        gix::init_bare(&git_dir).unwrap();
        let config = git_dir.join("config");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str("[uploadpack]\n\tallowfilter = false\n[Receive]\n\tfsckObjects\n");
        std::fs::write(&config, text).unwrap();
        let up = for_run(Service::UploadPack, &git_dir, &[]);
        assert!(!up.iter().any(|s| s.starts_with("uploadpack.allowFilter")));
        assert!(up.contains(&"uploadpack.allowReachableSHA1InWant=true".to_string()));
        let rp = for_run(Service::ReceivePack, &git_dir, &[NO_GIT_AUTO_GC]);
        assert!(!rp.iter().any(|s| s.starts_with("receive.fsckObjects")));
        assert!(rp.contains(&"receive.advertiseAtomic=true".to_string()));
        assert!(rp.contains(&"receive.autoGc=false".to_string()));
    }
}
