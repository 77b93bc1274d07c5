//! replica-divergence: replicas of a partition that disagree on what they must agree on.
//!
//! The harness samples every live replica's log at one instant (a snapshot group) after each
//! fault and at the end. Within a group, two replicas of a partition must hold the same records
//! (offset, epoch, value) below the lower of their two high watermarks: that prefix is committed.
//! In the group taken after `Phase(Converged)` (the last one), their whole logs must be equal.
//!
//! A group is the run of `ReplicaLog` events sharing one `time_ms`; a second log of the same
//! replica and partition at that instant starts a new group. Each pair of replicas is compared
//! (so one stray replica among three gives two violations), and a difference that persists from
//! one group to the next, at the same first offset, is reported once.

use super::facts::Facts;
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Violation};
use crate::history::{History, Op, Phase, StoredRecord, ValueName};
use broker::types::{Millis, NodeId, Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub struct ReplicaDivergence;

impl Checker for ReplicaDivergence {
    fn name(&self) -> &'static str {
        "replica-divergence"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        let pair = snapshot_groups(input.history).iter().any(|g| g.by_tp.values().any(|logs| logs.len() > 1));
        (!pair).then_some("no two replicas of a partition were sampled together")
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let groups = snapshot_groups(input.history);
        let converged_at = converged_index(input.history);
        let final_group = converged_at.and_then(|c| groups.iter().rposition(|g| g.first_event > c));
        let facts = Facts::of(input);
        let mut reported = BTreeSet::new();
        let mut violations = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            let whole = Some(i) == final_group;
            for (tp, replicas) in &group.by_tp {
                let replicas: Vec<(&NodeId, &Log)> = replicas.iter().collect();
                for (a, &(&node_a, log_a)) in replicas.iter().enumerate() {
                    for &(&node_b, log_b) in &replicas[a + 1..] {
                        let below = (!whole).then(|| log_a.high_watermark.min(log_b.high_watermark));
                        let differing = differing_offsets(log_a, log_b, below);
                        let Some(&first) = differing.first() else { continue };
                        if !reported.insert((*tp, node_a, node_b, first, whole)) {
                            continue;
                        }
                        let scope = match below {
                            Some(hw) => format!("below their lower high watermark {hw}"),
                            None => "after convergence".to_string(),
                        };
                        let show = |node: NodeId, log: &Log| {
                            format!("{} has {}", input.node_name(node), describe(log.at(first)))
                        };
                        violations.push(Violation {
                            checker: self.name(),
                            label: facts.judge(&Anomaly::ReplicaDivergence {
                                tp,
                                converged: whole,
                                offset: first,
                                snapshot_ms: group.time_ms,
                            }),
                            message: format!(
                                "{tp} replicas {} and {} differ {scope} (snapshot at {} ms): at \
                                 offset {first} {}, {}; {} differing offset{}",
                                input.node_name(node_a),
                                input.node_name(node_b),
                                group.time_ms,
                                show(node_a, log_a),
                                show(node_b, log_b),
                                differing.len(),
                                if differing.len() == 1 { "" } else { "s" },
                            ),
                            time_ms: Some(group.time_ms),
                            tp: Some((*tp).clone()),
                        });
                    }
                }
            }
        }
        violations
    }
}

/// One replica's sampled log.
struct Log<'a> {
    high_watermark: Offset,
    records: BTreeMap<Offset, &'a StoredRecord>,
}

impl Log<'_> {
    fn at(&self, offset: Offset) -> Option<&StoredRecord> {
        self.records.get(&offset).copied()
    }
}

/// Replica logs sampled at one instant.
struct Group<'a> {
    time_ms: Millis,
    /// Index in the history of the group's first `ReplicaLog` event.
    first_event: usize,
    by_tp: BTreeMap<&'a TopicPartition, BTreeMap<NodeId, Log<'a>>>,
}

fn snapshot_groups(history: &History) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, event) in history.events.iter().enumerate() {
        let Op::ReplicaLog { tp, high_watermark, records } = &event.op else { continue };
        let continues = groups.last().is_some_and(|g| {
            g.time_ms == event.time_ms && !g.by_tp.get(tp).is_some_and(|logs| logs.contains_key(&event.node))
        });
        if !continues {
            groups.push(Group { time_ms: event.time_ms, first_event: i, by_tp: BTreeMap::new() });
        }
        let log =
            Log { high_watermark: *high_watermark, records: records.iter().map(|r| (r.offset, r)).collect() };
        let group = groups.last_mut().expect("pushed above");
        group.by_tp.entry(tp).or_default().insert(event.node, log);
    }
    groups
}

fn converged_index(history: &History) -> Option<usize> {
    history.events.iter().rposition(|e| e.op == Op::Phase(Phase::Converged))
}

/// Offsets (below `below`, if given) where the two logs hold different records or only one
/// holds a record, in order.
fn differing_offsets(a: &Log, b: &Log, below: Option<Offset>) -> Vec<Offset> {
    let offsets: BTreeSet<Offset> = a.records.keys().chain(b.records.keys()).copied().collect();
    offsets.into_iter().filter(|&o| below.is_none_or(|hw| o < hw)).filter(|&o| a.at(o) != b.at(o)).collect()
}

fn describe(record: Option<&StoredRecord>) -> String {
    match record {
        Some(r) => format!("value {} (epoch {})", ValueName(r.value), r.epoch),
        None => "nothing".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};

    #[test]
    fn fires_on_a_difference_below_both_high_watermarks() {
        let mut run = Run::new();
        run.at(5_000).snapshot(&[
            ("broker-1", "orders/0", 2, &[(0, 1, 10), (1, 1, 11), (2, 2, 12)]),
            ("broker-2", "orders/0", 2, &[(0, 1, 10), (1, 1, 11)]),
            ("broker-3", "orders/0", 3, &[(0, 1, 10), (1, 2, 21), (2, 2, 22)]),
        ]);
        let violations = run.check(&ReplicaDivergence);
        assert_eq!(violations.len(), 2, "{violations:#?}");
        assert!(violations.iter().all(|v| v.label.is_bug() && v.time_ms == Some(5_000)));
        assert_eq!(
            messages(&violations),
            [
                "orders/0 replicas broker-1 and broker-3 differ below their lower high watermark \
                 2 (snapshot at 5000 ms): at offset 1 broker-1 has value 11 (epoch 1), broker-3 \
                 has value 21 (epoch 2); 1 differing offset",
                "orders/0 replicas broker-2 and broker-3 differ below their lower high watermark \
                 2 (snapshot at 5000 ms): at offset 1 broker-2 has value 11 (epoch 1), broker-3 \
                 has value 21 (epoch 2); 1 differing offset",
            ]
        );
    }

    #[test]
    fn a_difference_in_epoch_alone_is_a_divergence() {
        let mut run = Run::new();
        run.snapshot(&[
            ("broker-1", "orders/1", 1, &[(0, 1, 10)]),
            ("broker-2", "orders/1", 1, &[(0, 2, 10)]),
        ]);
        let violations = run.check(&ReplicaDivergence);
        assert_eq!(violations.len(), 1);
        assert!(violations[0]
            .message
            .contains("broker-1 has value 10 (epoch 1), broker-2 has value 10 (epoch 2)"));
    }

    #[test]
    fn fires_on_any_difference_after_convergence_even_after_an_unclean_election() {
        let mut run = Run::new().with_broker("unclean_leader_election_enable = true");
        run.unclean_election("orders/0", 2, "broker-2");
        run.snapshot(&[
            ("broker-1", "orders/0", 1, &[(0, 1, 10), (1, 1, 11)]),
            ("broker-2", "orders/0", 1, &[(0, 1, 10)]),
        ]);
        run.converged();
        run.at(9_000).snapshot(&[
            ("broker-1", "orders/0", 1, &[(0, 1, 10), (1, 1, 11)]),
            ("broker-2", "orders/0", 1, &[(0, 1, 10)]),
        ]);
        let violations = run.check(&ReplicaDivergence);
        assert_eq!(violations.len(), 1, "the first group agrees below its high watermarks");
        assert!(
            violations[0].label.is_bug(),
            "an unclean election gives up committed data, never convergence"
        );
        assert_eq!(
            messages(&violations),
            ["orders/0 replicas broker-1 and broker-2 differ after convergence (snapshot at 9000 \
              ms): at offset 1 broker-1 has value 11 (epoch 1), broker-2 has nothing; 1 differing \
              offset"]
        );
    }

    #[test]
    fn reports_a_lasting_difference_once() {
        let mut run = Run::new();
        for t in [1_000, 2_000] {
            run.at(t).snapshot(&[
                ("broker-1", "orders/0", 1, &[(0, 1, 10)]),
                ("broker-2", "orders/0", 1, &[(0, 1, 20)]),
            ]);
        }
        assert_eq!(run.check(&ReplicaDivergence).len(), 1);
    }

    #[test]
    fn two_samples_at_one_instant_are_two_groups() {
        let mut run = Run::new();
        run.at(1_000).snapshot(&[("broker-1", "orders/0", 1, &[(0, 1, 10)])]);
        run.at(1_000).snapshot(&[("broker-1", "orders/0", 1, &[(0, 1, 20)])]);
        assert!(run.check(&ReplicaDivergence).is_empty());
    }

    #[test]
    fn stays_quiet_when_replicas_agree_where_they_must() {
        let mut run = Run::new();
        // Differences at or above the lower high watermark are uncommitted and may differ.
        run.snapshot(&[
            ("broker-1", "orders/0", 2, &[(0, 1, 10), (1, 1, 11), (2, 1, 12)]),
            ("broker-2", "orders/0", 1, &[(0, 1, 10), (1, 2, 21)]),
            ("broker-1", "orders/1", 0, &[(0, 1, 30)]),
            ("broker-3", "orders/1", 0, &[]),
        ]);
        // Replicas of different partitions, or sampled at different instants, are not compared.
        run.snapshot(&[("broker-2", "orders/0", 2, &[(0, 1, 10), (1, 1, 11)])]);
        run.converged();
        run.snapshot(&[
            ("broker-1", "orders/0", 3, &[(0, 1, 10), (1, 1, 11), (2, 1, 12)]),
            ("broker-2", "orders/0", 2, &[(0, 1, 10), (1, 1, 11), (2, 1, 12)]),
        ]);
        assert!(run.check(&ReplicaDivergence).is_empty());
    }
}
