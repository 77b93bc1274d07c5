//! Fault coverage, as FoundationDB and TigerBeetle report it: of the faults a run injected, how
//! many hit a node, and how many hit a partition's leader while writes to that partition were in
//! flight — the faults that test what the run is about. A scenario whose faults mostly hit
//! nobody tests little, however many seeds it runs.
//!
//! Counted from the history: the disruptive faults (`crash`, `power-loss`, `pause`, `partition`,
//! `packet-loss`, `latency`), whether scheduled or drawn by the nemesis; the recoveries that end
//! them (`restart`, `resume`, `heal`, `restore-network`) are not counted. A fault hits a node when
//! it took effect on at least one (`Op::Fault`), and hits nobody when its target named no node
//! it could act on (`Op::FaultHitNobody`). It hits a leader with writes in flight when one of
//! the nodes it hit was, at that instant, the leader the controller last elected for a partition
//! that had sends invoked and not yet answered. A partition hits every node it lists: each is cut
//! off from some other.

use crate::history::{History, Op};
use broker::effect::ReplicaEvent;
use broker::types::{NodeId, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The faults that disrupt; the others end a disruption.
const DISRUPTIVE: [&str; 6] = ["crash", "power-loss", "pause", "partition", "packet-loss", "latency"];

/// Fault coverage of one run, or summed over a sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCoverage {
    /// Disruptive faults fired.
    pub faults: u64,
    /// Of those, faults that took effect on at least one node.
    pub hit_a_node: u64,
    /// Of those, faults that hit a partition's leader while sends to it were in flight.
    pub hit_a_leader_with_writes_in_flight: u64,
}

impl FaultCoverage {
    pub fn of(history: &History) -> FaultCoverage {
        let mut coverage = FaultCoverage::default();
        let mut leader: BTreeMap<&TopicPartition, NodeId> = BTreeMap::new();
        // Sends in flight per partition, and the partition of each send in flight.
        let mut in_flight: BTreeMap<&TopicPartition, u64> = BTreeMap::new();
        let mut partition_of: BTreeMap<u64, &TopicPartition> = BTreeMap::new();
        for event in &history.events {
            match &event.op {
                Op::Replica(ReplicaEvent::LeaderElected { tp, leader: Some(l), .. }) => {
                    leader.insert(tp, *l);
                }
                Op::Replica(ReplicaEvent::LeaderElected { tp, leader: None, .. }) => {
                    leader.remove(tp);
                }
                Op::SendInvoke { tp, value, .. } => {
                    partition_of.insert(*value, tp);
                    *in_flight.entry(tp).or_default() += 1;
                }
                Op::SendOk { value, .. } | Op::SendFail { value, .. } | Op::SendInfo { value, .. } => {
                    if let Some(tp) = partition_of.remove(value) {
                        in_flight.entry(tp).and_modify(|n| *n -= 1);
                    }
                }
                Op::Fault { fault, nodes, .. } if DISRUPTIVE.contains(&fault.as_str()) => {
                    coverage.faults += 1;
                    coverage.hit_a_node += u64::from(!nodes.is_empty());
                    let writing_leader = leader
                        .iter()
                        .any(|(tp, l)| nodes.contains(l) && in_flight.get(tp).is_some_and(|&n| n > 0));
                    coverage.hit_a_leader_with_writes_in_flight += u64::from(writing_leader);
                }
                Op::FaultHitNobody { fault, .. } if DISRUPTIVE.contains(&fault.as_str()) => {
                    coverage.faults += 1;
                }
                _ => {}
            }
        }
        coverage
    }

    pub fn add(&mut self, other: &FaultCoverage) {
        self.faults += other.faults;
        self.hit_a_node += other.hit_a_node;
        self.hit_a_leader_with_writes_in_flight += other.hit_a_leader_with_writes_in_flight;
    }

    /// Faults that hit nobody.
    pub fn hit_nobody(&self) -> u64 {
        self.faults - self.hit_a_node
    }

    /// Whether most faults hit nobody: the scenario's targets rarely name a node when they fire.
    pub fn mostly_missed(&self) -> bool {
        self.faults > 0 && self.hit_nobody() * 2 > self.faults
    }

    /// `12 faults: 10 hit a node, 4 hit a leader with writes in flight`.
    pub fn describe(&self) -> String {
        format!(
            "{} fault{}: {} hit a node, {} hit a leader with writes in flight",
            self.faults,
            if self.faults == 1 { "" } else { "s" },
            self.hit_a_node,
            self.hit_a_leader_with_writes_in_flight
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Event;

    fn history(ops: Vec<(NodeId, Op)>) -> History {
        History {
            node_names: BTreeMap::new(),
            events: ops
                .into_iter()
                .enumerate()
                .map(|(i, (node, op))| Event { time_ms: i as u64, node, op })
                .collect(),
        }
    }

    fn fault(fault: &str, nodes: &[u32]) -> (NodeId, Op) {
        let nodes = nodes.iter().map(|&n| NodeId(n)).collect();
        (NodeId(0), Op::Fault { fault: fault.into(), nodes, detail: String::new() })
    }

    #[test]
    fn counts_faults_that_hit_a_node_and_a_leader_with_writes_in_flight() {
        let tp = TopicPartition::new("orders", 0);
        let elected = |l: u32| {
            let event = ReplicaEvent::LeaderElected {
                tp: tp.clone(),
                epoch: l,
                leader: Some(NodeId(l)),
                unclean: false,
            };
            (NodeId(0), Op::Replica(event))
        };
        let send = (NodeId(9), Op::SendInvoke { tp: tp.clone(), key: None, value: 1 });
        let ok = (NodeId(9), Op::SendOk { value: 1, offset: Some(0), broker: NodeId(1) });
        let nobody =
            (NodeId(0), Op::FaultHitNobody { fault: "crash".into(), target: "x".into(), reason: "r".into() });
        let h = history(vec![
            elected(1),
            fault("crash", &[2]), // hits a follower
            send,
            fault("pause", &[1]),  // hits the leader with a write in flight
            fault("resume", &[1]), // a recovery: not counted
            ok,
            fault("crash", &[1]), // hits the leader, nothing in flight
            nobody,
        ]);
        let c = FaultCoverage::of(&h);
        assert_eq!(c, FaultCoverage { faults: 4, hit_a_node: 3, hit_a_leader_with_writes_in_flight: 1 });
        assert_eq!(c.hit_nobody(), 1);
        assert!(!c.mostly_missed());
        assert_eq!(c.describe(), "4 faults: 3 hit a node, 1 hit a leader with writes in flight");
        let mut missed = FaultCoverage { faults: 3, hit_a_node: 1, ..FaultCoverage::default() };
        assert!(missed.mostly_missed());
        missed.add(&c);
        assert_eq!(missed.faults, 7);
    }
}
