//! The harness: scenario files, a simulated cluster under madsim, faults, the recorded history
//! and the checkers that judge it.

/// Needs madsim's runtime, which exists only in a simulation build (`--cfg madsim`).
#[cfg(madsim)]
pub mod floor;
pub mod history;
pub mod layout;
pub mod scenario;
