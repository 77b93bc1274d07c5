//! The history hash: one (scenario, seed, program version) gives one history, and this is its
//! fingerprint. It is xxh3-64 over the history's JSON lines, so it changes with any recorded byte.

use crate::history::History;
use std::io::Write;
use xxhash_rust::xxh3::Xxh3;

struct HashWriter(Xxh3);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn history_hash(history: &History) -> u64 {
    let mut w = HashWriter(Xxh3::new());
    serde_json::to_writer(&mut w, &history.node_names).expect("hashing never fails");
    for event in &history.events {
        serde_json::to_writer(&mut w, event).expect("hashing never fails");
        w.0.update(b"\n");
    }
    w.0.digest()
}

/// The hash as printed: 16 hex digits.
pub fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}
