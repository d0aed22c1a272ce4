//! Integration tests: every feature proven with the real git client (and nginx, fcgiwrap, curl,
//! sshd where the feature involves them), all on 127.0.0.1 with ephemeral ports.

mod exec_race;
mod harness;
mod moto_harness;
mod ssh;
mod sshd_harness;

mod accounts;
mod advertise;
mod authorize;
mod docs;
mod dropin;
mod embed;
mod embed_authorize;
mod fetch;
mod first_run_cli;
mod first_run_setup;
mod hardening;
mod lfs;
mod lfs_policy;
mod lfs_s3;
mod lfs_s3_auth;
mod lfs_s3_migrate;
mod lfs_s3_store_failures;
mod lfs_s3_transports;
mod lfs_ssh;
mod messages;
mod operate;
mod perf;
mod push;
mod push_protocol;
