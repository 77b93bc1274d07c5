//! single-leader-per-epoch: one partition with two leaders in one leader epoch.
//!
//! Fires when two different brokers report `BecameLeader` for the same partition and epoch, when
//! the controller's `LeaderElected` names two different leaders for one partition and epoch, or
//! when a broker becomes leader in an epoch the controller gave to another broker. Each pair of
//! rival leaders is reported once per partition and epoch. An election of no leader is not a
//! rival here; monotonic-epoch catches a partition's epoch being reused.

use super::facts::Facts;
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Label, Violation};
use crate::history::Op;
use broker::effect::ReplicaEvent;
use broker::types::{Epoch, Millis, NodeId, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub struct SingleLeaderPerEpoch;

/// What a violation breaks.
const PROMISE: &str = "one leader per partition and epoch";

type Claims<'a> = BTreeMap<(&'a TopicPartition, Epoch), (NodeId, Millis)>;

impl Checker for SingleLeaderPerEpoch {
    fn name(&self) -> &'static str {
        "single-leader-per-epoch"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        super::index::no_leader_elected(input.history)
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let mut search = Search {
            label: Facts::of(input).judge(&Anomaly::ReplicaState { promise: PROMISE }),
            became: BTreeMap::new(),
            elected: BTreeMap::new(),
            reported: BTreeSet::new(),
            violations: Vec::new(),
        };
        for event in &input.history.events {
            let (t, node) = (event.time_ms, event.node);
            match &event.op {
                Op::Replica(ReplicaEvent::BecameLeader { tp, epoch, .. }) => {
                    let key = (tp, *epoch);
                    if let Some(&(first, since)) = search.became.get(&key) {
                        search.report(key, first, node, t, || {
                            format!(
                                "{tp} has two leaders in epoch {epoch}: {} became leader at \
                                 {since} ms and {} at {t} ms",
                                input.node_name(first),
                                input.node_name(node),
                            )
                        });
                    } else {
                        search.became.insert(key, (node, t));
                    }
                    if let Some(&(elected, at)) = search.elected.get(&key) {
                        search.report(key, elected, node, t, || {
                            format!(
                                "{} became leader of {tp} in epoch {epoch} at {t} ms, but the \
                                 controller elected {} at {at} ms",
                                input.node_name(node),
                                input.node_name(elected),
                            )
                        });
                    }
                }
                Op::Replica(ReplicaEvent::LeaderElected { tp, epoch, leader: Some(leader), .. }) => {
                    let key = (tp, *epoch);
                    let leader = *leader;
                    if let Some(&(first, since)) = search.elected.get(&key) {
                        search.report(key, first, leader, t, || {
                            format!(
                                "the controller elected two leaders of {tp} in epoch {epoch}: {} \
                                 at {since} ms and {} at {t} ms",
                                input.node_name(first),
                                input.node_name(leader),
                            )
                        });
                    } else {
                        search.elected.insert(key, (leader, t));
                    }
                    if let Some(&(became, at)) = search.became.get(&key) {
                        search.report(key, became, leader, t, || {
                            format!(
                                "the controller elected {} as leader of {tp} in epoch {epoch} at \
                                 {t} ms, but {} had become its leader at {at} ms",
                                input.node_name(leader),
                                input.node_name(became),
                            )
                        });
                    }
                }
                _ => {}
            }
        }
        search.violations
    }
}

struct Search<'a> {
    label: Label,
    /// The first broker to report `BecameLeader` for each partition and epoch.
    became: Claims<'a>,
    /// The first leader the controller elected for each partition and epoch.
    elected: Claims<'a>,
    /// Rival pairs already reported: (partition, epoch, lower node, higher node).
    reported: BTreeSet<(&'a TopicPartition, Epoch, NodeId, NodeId)>,
    violations: Vec<Violation>,
}

impl<'a> Search<'a> {
    fn report(
        &mut self,
        (tp, epoch): (&'a TopicPartition, Epoch),
        a: NodeId,
        b: NodeId,
        time_ms: Millis,
        message: impl FnOnce() -> String,
    ) {
        if a == b || !self.reported.insert((tp, epoch, a.min(b), a.max(b))) {
            return;
        }
        self.violations.push(Violation {
            checker: "single-leader-per-epoch",
            label: self.label.clone(),
            message: message(),
            time_ms: Some(time_ms),
            tp: Some(tp.clone()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};

    #[test]
    fn fires_when_two_brokers_lead_one_epoch() {
        let mut run = Run::new();
        run.at(1_000).became_leader("broker-1", "orders/0", 2);
        run.at(1_500).became_leader("broker-2", "orders/0", 2);
        run.became_leader("broker-2", "orders/0", 2);
        let violations = run.check(&SingleLeaderPerEpoch);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
        assert_eq!(violations[0].time_ms, Some(1_500));
        assert_eq!(
            messages(&violations),
            ["orders/0 has two leaders in epoch 2: broker-1 became leader at 1000 ms and \
              broker-2 at 1500 ms"]
        );
    }

    #[test]
    fn fires_when_the_controller_elects_two_leaders_for_one_epoch() {
        let mut run = Run::new();
        run.at(1_000).elected("orders/1", 4, "broker-3");
        run.at(2_000).elected("orders/1", 4, "broker-1");
        let violations = run.check(&SingleLeaderPerEpoch);
        assert_eq!(
            messages(&violations),
            ["the controller elected two leaders of orders/1 in epoch 4: broker-3 at 1000 ms \
              and broker-1 at 2000 ms"]
        );
    }

    #[test]
    fn fires_when_a_broker_leads_an_epoch_the_controller_gave_to_another() {
        let mut run = Run::new();
        run.at(1_000).elected("orders/0", 2, "broker-1");
        run.at(1_100).became_leader("broker-3", "orders/0", 2);
        let violations = run.check(&SingleLeaderPerEpoch);
        assert_eq!(
            messages(&violations),
            ["broker-3 became leader of orders/0 in epoch 2 at 1100 ms, but the controller \
              elected broker-1 at 1000 ms"]
        );
    }

    #[test]
    fn reports_each_pair_of_rivals_once() {
        let mut run = Run::new();
        run.elected("orders/0", 2, "broker-1");
        run.became_leader("broker-1", "orders/0", 2);
        run.became_leader("broker-2", "orders/0", 2);
        assert_eq!(run.check(&SingleLeaderPerEpoch).len(), 1);
    }

    #[test]
    fn stays_quiet_with_one_leader_per_epoch() {
        let mut run = Run::new();
        run.elected("orders/0", 1, "broker-1").became_leader("broker-1", "orders/0", 1);
        run.became_follower("broker-2", "orders/0", 1, "broker-1");
        run.elected("orders/0", 2, "broker-2").became_leader("broker-2", "orders/0", 2);
        // A broker restarting and reporting leadership again in its epoch is one leader.
        run.became_leader("broker-2", "orders/0", 2);
        run.elected("orders/1", 2, "broker-1").became_leader("broker-1", "orders/1", 2);
        run.elected("orders/0", 3, "none").elected("orders/0", 4, "broker-3");
        assert!(run.check(&SingleLeaderPerEpoch).is_empty());
    }
}
