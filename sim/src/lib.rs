//! The harness: scenario files, a simulated cluster under madsim, faults, the recorded history
//! and the checkers that judge it.

pub mod check;
pub mod clock;
pub mod cluster;
pub mod faults;
/// Needs madsim's runtime, which exists only in a simulation build (`--cfg madsim`).
#[cfg(madsim)]
pub mod floor;
pub mod hash;
pub mod history;
pub mod layout;
pub mod nemesis;
pub mod net;
pub mod node;
pub mod reader;
pub mod report;
pub mod run;
pub mod scenario;
pub mod settings;
pub mod sweep;
pub mod verdict;
pub mod workload;
