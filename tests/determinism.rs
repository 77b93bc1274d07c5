//! One scenario and one seed give one history, byte for byte: in one process, and across two.

use sim::scenario;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn load(file: &str) -> Arc<scenario::Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    Arc::new(scenario::load(&path).expect("shipped scenario loads"))
}

fn hash_of(scenario: &Arc<scenario::Scenario>, seed: u64) -> u64 {
    let out = sim::run::run(scenario.clone(), seed).expect("run finishes");
    sim::hash::history_hash(&out.history)
}

#[test]
fn same_seed_same_history_in_every_scenario() {
    for file in [
        "acks-all-leader-crashes.toml",
        "acks0-packet-loss.toml",
        "isr-shrunk-leader-crash-unclean.toml",
        "power-loss-all-replicas.toml",
        "hw-truncation-fast-failover.toml",
    ] {
        let s = load(file);
        for seed in [0, 7, 12345] {
            assert_eq!(hash_of(&s, seed), hash_of(&s, seed), "{file} seed {seed} is not deterministic");
        }
    }
}

#[test]
fn different_seeds_give_different_histories() {
    let s = load("acks-all-leader-crashes.toml");
    let hashes: std::collections::BTreeSet<u64> = (0..5).map(|seed| hash_of(&s, seed)).collect();
    assert_eq!(hashes.len(), 5, "five seeds gave only {} distinct histories", hashes.len());
}

#[test]
fn same_seed_same_history_across_processes() {
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
            .args(["run", "scenarios/acks-all-leader-crashes.toml", "--seed", "3", "--json"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("kafkasim runs");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        report["history_hash"].as_str().expect("a hash").to_string()
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let in_process = sim::hash::hex(hash_of(&load("acks-all-leader-crashes.toml"), 3));
    assert_eq!(a, in_process, "the CLI and the library disagree on seed 3");
}
