//! The harness: scenario files, a simulated cluster under madsim, faults, the recorded history
//! and the checkers that judge it.

pub mod check;
pub mod history;
pub mod layout;
pub mod scenario;
