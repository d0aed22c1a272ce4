//! `hubctl upload-pack` and `hubctl receive-pack`: the edge of the stdio transport.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{ReceivePackArgs, UploadPackArgs};
use crate::git::Service;
use crate::transport::stdio::{self, Request};

/// The repository to serve, refused when its root has lost its database.
fn target(explicit_root: Option<&Path>, repo: &str, strict: bool) -> Result<stdio::Target> {
    let target = stdio::resolve(explicit_root, repo, strict)?;
    if let Some((root, _)) = &target.hosted {
        crate::store::guard(root)?;
    }
    Ok(target)
}

pub(super) fn upload_pack(explicit_root: Option<&Path>, args: UploadPackArgs) -> Result<ExitCode> {
    let target = target(explicit_root, &args.repo, args.strict)?;
    let request = Request {
        stateless_rpc: args.stateless_rpc,
        advertise_refs: args.advertise_refs,
        git_protocol: std::env::var("GIT_PROTOCOL").ok(),
        timeout: args.timeout,
    };
    Ok(stdio::serve(Service::UploadPack, &target, &request)?)
}

pub(super) fn receive_pack(
    explicit_root: Option<&Path>,
    args: ReceivePackArgs,
) -> Result<ExitCode> {
    let target = target(explicit_root, &args.repo, false)?;
    let request = Request {
        stateless_rpc: args.stateless_rpc,
        advertise_refs: args.advertise_refs,
        git_protocol: std::env::var("GIT_PROTOCOL").ok(),
        timeout: None,
    };
    Ok(stdio::serve(Service::ReceivePack, &target, &request)?)
}
