//! hubctl: a self-hosted git server.
//!
//! One library behind one binary, in layers whose dependencies point one way (see
//! ARCHITECTURE.md): the edge ([`cli`], [`commands`]) → transports ([`transport`]: HTTP, SSH,
//! stdio) → services ([`git`], [`lfs`], [`access`], [`keys`], [`repo`], [`settings`]) → [`store`] →
//! [`core`]. Transports are thin adapters; [`access`] decides every permission and never
//! renders; the services know nothing of HTTP or SSH.
//!
//! An application that embeds hubctl uses [`embed`]: it mounts hubctl's HTTP side under a
//! path prefix of its own server. That module is the supported, stable API; the others are
//! hubctl's own and change with it.

#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod access;
pub mod cli;
pub mod commands;
pub mod core;
pub mod embed;
pub mod git;
pub mod keys;
mod layers;
pub mod lfs;
pub mod repo;
pub mod settings;
pub mod store;
pub mod transport;
