//! The history hash: one (scenario, seed, program version) gives one history, and this is its
//! fingerprint. It is xxh3-64 over the history's `Hash` encoding (node names, then every event in
//! order), so it changes with any recorded field. The encoding is Rust's `Hash` for these types:
//! stable for one build on one architecture, which is what "program version" means here.

use crate::history::History;
use std::hash::{Hash, Hasher};
use xxhash_rust::xxh3::Xxh3;

pub fn history_hash(history: &History) -> u64 {
    let mut h = Xxh3::new();
    history.hash(&mut h);
    h.finish()
}

/// The hash as printed: 16 hex digits.
pub fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}
