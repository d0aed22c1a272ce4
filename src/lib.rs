//! hubctl: a self-hosted git server.
//!
//! One library behind one binary. Transports (tiny_http in [`http::serve`], CGI in
//! [`http::cgi`], stdio in the `upload-pack`/`receive-pack` subcommands) are thin adapters
//! over one [`http::router`]; [`access`] decides every permission; the services below ([`git`],
//! [`repo`], [`store`]) know nothing of HTTP. See DESIGN.md for the reasoning.

pub mod access;
pub mod cli;
pub mod commands;
pub mod config;
pub mod fsutil;
pub mod git;
pub mod http;
pub mod keys;
pub mod lfs;
pub mod repo;
pub mod settings;
pub mod ssh;
pub mod store;
pub mod units;
pub mod util;
