//! One scenario and one seed give one history, byte for byte: in one process, and across two.

use sim::scenario;
use sim::sweep::SweepOptions;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn load(file: &str) -> Arc<scenario::Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    Arc::new(scenario::load(&path).expect("shipped scenario loads"))
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn hash_of(scenario: &Arc<scenario::Scenario>, seed: u64) -> u64 {
    let out = sim::run::run(scenario.clone(), seed).expect("run finishes");
    sim::hash::history_hash(&out.history)
}

/// Every shipped scenario, five seeds each, through the sweep's own determinism check (each seed
/// run twice, each time on a fresh thread and runtime): what `sweep --check-determinism` does.
#[test]
fn same_seed_same_history_in_every_shipped_scenario() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "shipped scenarios: {files:?}");
    let options = SweepOptions { jobs: jobs(), check_determinism: true, ..SweepOptions::default() };
    for file in files {
        let summary = sim::sweep::sweep_with(load(&file), &file, 0..5, &options, |_| {});
        assert_eq!(summary.runs, 5);
        let accounts: Vec<String> = summary.nondeterminism.iter().map(|n| n.render()).collect();
        assert_eq!(summary.nondeterministic, 0, "{file}:\n{}", accounts.concat());
    }
}

#[test]
fn a_seed_far_from_zero_is_deterministic_too() {
    let s = load("acks-all-leader-crashes.toml");
    assert_eq!(hash_of(&s, 12345), hash_of(&s, 12345));
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
