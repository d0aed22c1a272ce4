//! SSH: the forced command's parsing ([`command`]), the session it runs ([`session`]), and
//! Git LFS's SSH commands ([`lfs_authenticate`]).

pub mod command;
pub mod lfs_authenticate;
pub mod session;
