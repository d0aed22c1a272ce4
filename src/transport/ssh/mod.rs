//! SSH: the forced command's parsing ([`command`]), the session it runs ([`session`]), and
//! Git LFS's SSH commands: [`lfs_authenticate`] (credentials for the HTTP API) and
//! [`lfs_transfer`] (the pure-SSH protocol), whose sessions on one multiplexed connection
//! learn of each other's `quit` through [`connection`].

pub mod command;
pub mod connection;
pub mod lfs_authenticate;
pub mod lfs_transfer;
pub mod session;
