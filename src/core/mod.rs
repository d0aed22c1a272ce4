//! The leaves every other layer stands on: where the data lives ([`root`]), names that are safe
//! as paths ([`names`]), sizes ([`units`]), file-system primitives ([`fsutil`]) and small
//! helpers ([`util`]). Nothing here imports another hubctl module outside `core`.

pub mod env;
pub mod fsutil;
pub mod metrics;
pub mod names;
pub mod root;
pub mod units;
pub mod util;
