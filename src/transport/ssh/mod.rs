//! SSH: the forced command's parsing ([`command`]) and the session it runs ([`session`]).

pub mod command;
pub mod session;
