//! monotonic-epoch: a partition's leader epoch going back.
//!
//! Two views are checked. A broker's epoch for a partition, across its `BecameLeader` and
//! `BecameFollower` events, must never go down, restarts included: epochs are durable metadata.
//! (It may stay: a broker that restarts re-learns its current epoch.) The controller's
//! `LeaderElected` epochs for a partition must strictly increase: every election bumps the epoch.
//! Each event is compared with the highest epoch seen before it.

use super::facts::Facts;
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Violation};
use crate::history::Op;
use broker::effect::ReplicaEvent;
use broker::types::{Epoch, Millis, NodeId, TopicPartition};
use std::collections::BTreeMap;

pub struct MonotonicEpoch;

/// What a violation breaks.
const PROMISE: &str = "a partition's leader epoch never goes back, on a broker or at the controller";

impl Checker for MonotonicEpoch {
    fn name(&self) -> &'static str {
        "monotonic-epoch"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        super::index::no_leader_elected(input.history)
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let label = Facts::of(input).judge(&Anomaly::ReplicaState { promise: PROMISE });
        let mut broker_max: BTreeMap<(NodeId, &TopicPartition), (Epoch, Millis)> = BTreeMap::new();
        let mut elected_max: BTreeMap<&TopicPartition, (Epoch, Millis)> = BTreeMap::new();
        let mut violations = Vec::new();
        for event in &input.history.events {
            let t = event.time_ms;
            let (tp, message) = match &event.op {
                Op::Replica(
                    ReplicaEvent::BecameLeader { tp, epoch, .. }
                    | ReplicaEvent::BecameFollower { tp, epoch, .. },
                ) => {
                    let role = match &event.op {
                        Op::Replica(ReplicaEvent::BecameFollower { leader, .. }) => {
                            format!("became follower of {}", input.node_name(*leader))
                        }
                        _ => "became leader".to_string(),
                    };
                    let max = broker_max.entry((event.node, tp)).or_insert((*epoch, t));
                    let previous = *max;
                    if *epoch >= max.0 {
                        *max = (*epoch, t);
                        continue;
                    }
                    let message = format!(
                        "{}'s leader epoch for {tp} went back: it {role} in epoch {epoch} at {t} \
                         ms after reaching epoch {} at {} ms",
                        input.node_name(event.node),
                        previous.0,
                        previous.1,
                    );
                    (tp, message)
                }
                Op::Replica(ReplicaEvent::LeaderElected { tp, epoch, leader, .. }) => {
                    let previous = elected_max.get(tp).copied();
                    match previous {
                        Some((max, since)) if *epoch <= max => {
                            let leader = leader.map_or("no leader", |l| input.node_name(l));
                            let message = format!(
                                "the controller elected {leader} for {tp} in epoch {epoch} at \
                                 {t} ms, not above epoch {max} elected at {since} ms",
                            );
                            (tp, message)
                        }
                        _ => {
                            elected_max.insert(tp, (*epoch, t));
                            continue;
                        }
                    }
                }
                _ => continue,
            };
            violations.push(Violation {
                checker: self.name(),
                label: label.clone(),
                message,
                time_ms: Some(t),
                tp: Some(tp.clone()),
            });
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};

    #[test]
    fn fires_when_a_brokers_epoch_goes_back_across_a_restart() {
        let mut run = Run::new();
        run.at(1_000).became_leader("broker-1", "orders/0", 5);
        run.fault("crash", &["broker-1"]).fault("restart", &["broker-1"]);
        run.at(9_000).became_follower("broker-1", "orders/0", 3, "broker-2");
        let violations = run.check(&MonotonicEpoch);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
        assert_eq!(violations[0].time_ms, Some(9_000));
        assert_eq!(
            messages(&violations),
            ["broker-1's leader epoch for orders/0 went back: it became follower of broker-2 in \
              epoch 3 at 9000 ms after reaching epoch 5 at 1000 ms"]
        );
    }

    #[test]
    fn fires_when_the_controller_reuses_or_lowers_an_epoch() {
        let mut run = Run::new();
        run.at(1_000).elected("orders/1", 2, "broker-2");
        run.at(2_000).elected("orders/1", 2, "none");
        run.at(3_000).elected("orders/1", 1, "broker-3");
        let violations = run.check(&MonotonicEpoch);
        assert_eq!(
            messages(&violations),
            [
                "the controller elected no leader for orders/1 in epoch 2 at 2000 ms, not above \
                 epoch 2 elected at 1000 ms",
                "the controller elected broker-3 for orders/1 in epoch 1 at 3000 ms, not above \
                 epoch 2 elected at 1000 ms",
            ]
        );
    }

    #[test]
    fn stays_quiet_when_epochs_only_grow() {
        let mut run = Run::new();
        run.elected("orders/0", 1, "broker-1").became_leader("broker-1", "orders/0", 1);
        run.became_follower("broker-2", "orders/0", 1, "broker-1");
        // A restarted broker re-learning its current epoch.
        run.became_follower("broker-2", "orders/0", 1, "broker-1");
        run.elected("orders/0", 2, "broker-2").became_leader("broker-2", "orders/0", 2);
        run.became_follower("broker-1", "orders/0", 2, "broker-2");
        // Partitions and brokers are independent.
        run.elected("orders/1", 1, "broker-3").became_leader("broker-3", "orders/1", 1);
        assert!(run.check(&MonotonicEpoch).is_empty());
    }
}
