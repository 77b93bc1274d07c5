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
