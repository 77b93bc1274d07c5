//! The harness: scenario files, a simulated cluster under madsim, faults, the recorded history
//! and the checkers that judge it.

pub mod check;
pub mod clock;
pub mod cluster;
pub mod faults;
pub mod history;
pub mod layout;
pub mod nemesis;
pub mod net;
pub mod node;
pub mod reader;
pub mod run;
pub mod scenario;
pub mod settings;
pub mod workload;
pub mod hash;
pub mod report;
pub mod sweep;
pub mod verdict;
