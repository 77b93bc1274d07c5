//! A scenario resolved for a seed (nemesis drawn, defaults written out), printed and loaded
//! back, replays exactly the run of the original scenario with that seed.

use sim::scenario;
use std::path::Path;
use std::sync::Arc;

fn hash(scenario: &scenario::Scenario, seed: u64) -> u64 {
    let out = sim::run::run(Arc::new(scenario.clone()), seed).expect("run finishes");
    sim::hash::history_hash(&out.history)
}

#[test]
fn a_resolved_scenario_replays_the_same_run() {
    for file in ["acks-all-leader-crashes.toml", "acks0-packet-loss.toml", "standard-acks-all.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
        let original = scenario::load(&path).expect("shipped scenario loads");
        for seed in [1, 42] {
            let resolved = sim::resolve::resolve(&original, seed).expect("resolves");
            let text = sim::resolve::to_toml(&resolved, file, seed);
            let reloaded = scenario::parse(&text, "resolved.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(reloaded, resolved, "{file}: the printed scenario loads back unchanged");
            assert!(reloaded.nemesis.is_none());
            if original.nemesis.is_some() {
                assert!(
                    reloaded.faults.len() > original.faults.len(),
                    "{file}: the nemesis's draws are scripted"
                );
            }
            assert_eq!(
                hash(&reloaded, seed),
                hash(&original, seed),
                "{file} seed {seed} replays differently"
            );
        }
    }
}

/// Dense, overlapping nemesis streams (faults back to back, several at one instant): the
/// resolved file lists the faults in the order the run fires them, so it replays the same run.
#[test]
fn a_resolved_dense_timeline_replays_the_same_run() {
    let original = scenario::parse(
        r#"
name = "dense"
description = "three streams of short faults with short gaps"
duration_ms = 4000

[[topics]]
name = "orders"
partitions = 2

[[producers]]
topic = "orders"
messages_per_sec = 200

[nemesis]
faults = ["crash", "power-loss", "pause", "partition", "packet-loss", "latency"]
targets = ["random-broker", "leader(orders/0)", "follower(orders/1)"]
start_ms = 0
gap_min_ms = 0
gap_max_ms = 2
duration_min_ms = 1
duration_max_ms = 3
concurrent_faults = 3
"#,
        "dense.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for seed in [0, 5] {
        let resolved = sim::resolve::resolve(&original, seed).expect("resolves");
        assert!(resolved.faults.len() > 3_000, "{}", resolved.faults.len());
        let text = sim::resolve::to_toml(&resolved, "dense.toml", seed);
        let reloaded = scenario::parse(&text, "resolved.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hash(&reloaded, seed), hash(&original, seed), "seed {seed} replays differently");
    }
}
