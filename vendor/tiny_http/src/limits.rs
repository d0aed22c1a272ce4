//! hubctl's patch (see PATCH.md): bounds on what one client can make the server hold.
//!
//! Upstream tiny_http 0.12.0 reads request lines and headers without a size limit, waits for a
//! request head or body forever, accepts any number of connections, and takes any
//! `Transfer-Encoding` for chunked. These limits are process-wide, set once by the program
//! before it starts a server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line or header line, in bytes (431 beyond).
    pub max_line: usize,
    /// Largest request head (request line and headers), in bytes (431 beyond).
    pub max_head: usize,
    /// Most header lines (431 beyond).
    pub max_headers: usize,
    /// Time a client has to send a whole request head once it has started one (408 beyond).
    pub head_timeout: Option<Duration>,
    /// Longest silence while a request body is read, or between requests on a keep-alive
    /// connection (the read fails; between requests the connection is closed quietly).
    pub idle_timeout: Option<Duration>,
    /// Most open connections (503 and close beyond).
    pub max_connections: usize,
    /// Most open connections from one client address (503 and close beyond).
    pub max_connections_per_ip: usize,
}

impl Default for Limits {
    /// Upstream's behaviour: no bounds.
    fn default() -> Limits {
        Limits {
            max_line: usize::MAX,
            max_head: usize::MAX,
            max_headers: usize::MAX,
            head_timeout: None,
            idle_timeout: None,
            max_connections: usize::MAX,
            max_connections_per_ip: usize::MAX,
        }
    }
}

static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Set the limits for every server of this process; the first call wins.
pub fn set(limits: Limits) {
    let _ = LIMITS.set(limits);
}

/// The limits in force.
pub fn get() -> Limits {
    LIMITS.get().copied().unwrap_or_default()
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

fn counts() -> &'static Mutex<Counts> {
    static COUNTS: OnceLock<Mutex<Counts>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

/// One admitted connection; the slot is given back when it is dropped.
pub(crate) struct Admission {
    ip: Option<IpAddr>,
}

/// Admit a new connection from `ip`, or `None` when a limit is reached.
pub(crate) fn admit(ip: Option<IpAddr>) -> Option<Admission> {
    let limits = get();
    let mut c = counts().lock().unwrap_or_else(|e| e.into_inner());
    if c.total >= limits.max_connections {
        return None;
    }
    if let Some(ip) = ip {
        let n = c.per_ip.entry(ip).or_insert(0);
        if *n >= limits.max_connections_per_ip {
            return None;
        }
        *n += 1;
    }
    c.total += 1;
    Some(Admission { ip })
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut c = counts().lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(ip) = self.ip {
            if let Some(n) = c.per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    c.per_ip.remove(&ip);
                }
            }
        }
    }
}

/// Open connections now (for tests and metrics).
pub fn open_connections() -> usize {
    counts().lock().map(|c| c.total).unwrap_or(0)
}
