//! Replica state as Kafka keeps it, shown end to end: each scenario in `tests/replica_state/`
//! reproduced a deviation from Kafka's behaviour, and its test asserts what Kafka does, read off
//! the run's history.

use broker::effect::ReplicaEvent;
use sim::history::{Event, History, Op};
use sim::report::RunReport;
use sim::scenario::{self, Scenario};
use std::path::Path;
use std::sync::Arc;

fn load(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replica_state").join(name);
    scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario, seed: u64) -> History {
    sim::run::run(Arc::new(s.clone()), seed).unwrap_or_else(|f| panic!("seed {seed}: {f:?}")).history
}

fn node(h: &History, name: &str) -> broker::types::NodeId {
    *h.node_names.iter().find(|(_, n)| n.as_str() == name).expect("a node of the scenario").0
}

fn faults<'a>(h: &'a History, kind: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
    h.events.iter().filter(move |e| matches!(&e.op, Op::Fault { fault, .. } if fault == kind))
}

/// A follower restarted within its old session waits ~9 s to register; its high-watermark
/// checkpoint keeps the last written value meanwhile, and high-watermark truncation cuts there.
#[test]
fn a_restarted_follower_truncates_to_its_checkpointed_high_watermark() {
    let s = load("restart-keeps-hw-checkpoint.toml");
    for seed in 0..3 {
        let h = run(&s, seed);
        let broker3 = node(&h, "broker-3");
        let restart = faults(&h, "restart").next().expect("the crash is undone").time_ms;
        let recovered = h
            .events
            .iter()
            .filter(|e| e.node == broker3 && e.time_ms >= restart)
            .find_map(|e| match &e.op {
                Op::Replica(ReplicaEvent::Recovered { log_end_offsets }) => Some(log_end_offsets[0].2),
                _ => None,
            })
            .expect("broker-3 recovered from its disk");
        assert!(recovered > 0, "seed {seed}: broker-3 recovered high watermark 0 after 10 s of traffic");
        let truncations: Vec<(u64, u64)> = h
            .events
            .iter()
            .filter(|e| e.node == broker3 && e.time_ms >= restart)
            .filter_map(|e| match &e.op {
                Op::Replica(ReplicaEvent::Truncated { from, to, .. }) => Some((*from, *to)),
                _ => None,
            })
            .collect();
        assert!(
            truncations.iter().all(|&(_, to)| to >= recovered),
            "seed {seed}: truncated below the checkpointed high watermark {recovered}: {truncations:?}"
        );
    }
}

/// broker-3, outside the ISR and far behind, fetches once from the newly elected broker-2 and is
/// cut off again. It was never caught up with broker-2, so broker-2's high watermark must move
/// on at once instead of waiting `replica_lag_time_max_ms` for it.
#[test]
fn a_follower_outside_the_isr_does_not_hold_a_new_leaders_high_watermark() {
    let s = load("outside-follower-holds-hw.toml");
    for seed in 0..3 {
        let h = run(&s, seed);
        let broker2 = node(&h, "broker-2");
        let cut = faults(&h, "partition").nth(1).expect("the second partition").time_ms;
        let moved = h.events.iter().any(|e| {
            e.node == broker2
                && e.time_ms > cut
                && e.time_ms <= cut + 1_000
                && matches!(e.op, Op::Replica(ReplicaEvent::HighWatermark { leader: true, .. }))
        });
        assert!(moved, "seed {seed}: broker-2's high watermark did not move within 1 s of {cut} ms");
    }
}

/// The only replica loses power, restarts, and can register only after its old session expired
/// and the controller moved the partition to a new epoch. It must never lead again in the ended
/// epoch 0 (where its high watermark was higher before the power loss).
#[test]
fn a_restarted_broker_never_leads_in_an_epoch_the_controller_ended() {
    let s = load("rf1-restart-acts-on-registration-metadata.toml");
    for seed in 0..4 {
        let result = sim::run::run(Arc::new(s.clone()), seed);
        let h = &result.as_ref().expect("the run finishes").history;
        let power_loss = faults(h, "power-loss").next().expect("the power loss").time_ms;
        let stale = h.events.iter().find(|e| {
            e.time_ms > power_loss && matches!(e.op, Op::Replica(ReplicaEvent::BecameLeader { epoch: 0, .. }))
        });
        assert!(stale.is_none(), "seed {seed}: led epoch 0 again: {stale:?}");
        let report = RunReport::new(&s, "rf1", seed, &result);
        let hw = report.verdicts.iter().find(|v| v.checker == "monotonic-hw").expect("checked");
        assert!(hw.violations.is_empty(), "seed {seed}: {:?}", hw.violations);
    }
}
