//! SSH: the forced command's parsing ([`command`]), the session it runs ([`session`]), and
//! Git LFS's SSH commands: [`lfs_authenticate`] (credentials for the HTTP API) and
//! [`lfs_transfer`] (the pure-SSH protocol).

pub mod command;
pub mod lfs_authenticate;
pub mod lfs_transfer;
pub mod session;
