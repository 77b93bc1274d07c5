//! A scenario fully resolved for one seed: every default written out, every inherited setting
//! made explicit, and the nemesis's draws turned into scripted faults. Printed as TOML, it is a
//! scenario of its own that, run with the same seed, replays the same run (each random stream is
//! derived from the seed and its own label, see `entropy`, so removing the nemesis shifts none).
//! Shrinking starts from it.

use crate::entropy::Entropy;
use crate::layout::{consumer_name, producer_name};
use crate::nemesis;
use crate::scenario::Scenario;

pub fn resolve(scenario: &Scenario, seed: u64) -> Scenario {
    let mut s = scenario.clone();
    s.faults = nemesis::timeline(
        &scenario.faults,
        scenario.nemesis.as_ref(),
        scenario.duration_ms,
        &mut Entropy::new(seed).stream("nemesis"),
    );
    s.nemesis = None;
    for t in &mut s.topics {
        t.min_insync_replicas.get_or_insert(scenario.broker.min_insync_replicas);
        t.unclean_leader_election_enable.get_or_insert(scenario.broker.unclean_leader_election_enable);
    }
    for (i, p) in s.producers.iter_mut().enumerate() {
        p.name = Some(producer_name(i, p));
    }
    for (i, c) in s.consumers.iter_mut().enumerate() {
        c.name = Some(consumer_name(i, c));
    }
    s
}

/// The resolved scenario as a TOML file, with a header saying what it is.
pub fn to_toml(resolved: &Scenario, from: &str, seed: u64) -> String {
    let body = toml::to_string(resolved).expect("a scenario serializes to TOML");
    format!("# {from} resolved for seed {seed}: every default written out, the nemesis's faults scripted.\n{body}")
}
