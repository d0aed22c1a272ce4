//! Thin adapters from the outside world to the services: HTTP ([`http`], served by tiny_http
//! or run as CGI), SSH forced commands ([`ssh`]) and git's stdio protocol ([`stdio`]). A
//! transport parses its input into typed requests, asks [`crate::access`] and the services,
//! and renders their answers; it never decides.

pub mod http;
pub mod ssh;
pub mod stdio;
