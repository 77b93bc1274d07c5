//! What the judgement rules read from one run's history, gathered once per check: elections,
//! what power losses took from each replica, each leader's terms, high-watermark moves and ISR.
//!
//! Every fact keeps its time, node and epoch, so that a rule can ask about *one* record (did
//! this event come after that record was acknowledged, did it take that offset) and name the
//! event in its reason.

use super::CheckInput;
use crate::history::Op;
use broker::effect::ReplicaEvent;
use broker::types::{Epoch, Millis, NodeId, Offset, TopicPartition};
use std::collections::BTreeMap;

/// The controller chose a leader for a partition.
#[derive(Clone, Debug, PartialEq)]
pub struct Election {
    pub time_ms: Millis,
    pub epoch: Epoch,
    pub leader: NodeId,
    pub unclean: bool,
    /// A clean election of the only member of the ISR as the controller knew it.
    pub sole_isr: bool,
}

/// Records `to..from` (offsets `to` up to, not including, `from`) one replica's log lost: to a
/// power loss, as they had not been flushed, or cut by a truncation to follow a leader.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Removal {
    pub time_ms: Millis,
    pub node: NodeId,
    pub from: Offset,
    pub to: Offset,
}

impl Removal {
    pub fn took(&self, offset: Offset) -> bool {
        self.to <= offset && offset < self.from
    }
}

/// A broker's view of a partition while it leads it, in history order.
#[derive(Clone, Debug, PartialEq)]
enum LeaderFact {
    /// It began leading in `epoch` with its log ending at `log_end_offset`.
    Became { time_ms: Millis, epoch: Epoch, log_end_offset: Offset },
    /// Its high watermark as leader moved.
    HighWatermark { time_ms: Millis, epoch: Epoch, high_watermark: Offset },
    /// It adopted a committed ISR.
    Isr { time_ms: Millis, isr: Vec<NodeId> },
    /// It stopped leading (became a follower).
    Stepped { time_ms: Millis },
}

impl LeaderFact {
    fn time_ms(&self) -> Millis {
        match *self {
            LeaderFact::Became { time_ms, .. }
            | LeaderFact::HighWatermark { time_ms, .. }
            | LeaderFact::Isr { time_ms, .. }
            | LeaderFact::Stepped { time_ms } => time_ms,
        }
    }
}

/// What the rules know about one run.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub input: CheckInput<'a>,
    /// Per partition, the controller's elections in order.
    pub elections: BTreeMap<&'a TopicPartition, Vec<Election>>,
    /// Per partition, what power losses took from its replicas, in order.
    pub removals: BTreeMap<&'a TopicPartition, Vec<Removal>>,
    /// Per partition, what replicas cut from their logs to follow a leader (`Truncated`), in order.
    truncations: BTreeMap<&'a TopicPartition, Vec<Removal>>,
    /// Per partition and broker, what it did as leader, in order.
    leading: BTreeMap<(&'a TopicPartition, NodeId), Vec<LeaderFact>>,
}

impl<'a> Facts<'a> {
    pub fn of(input: &CheckInput<'a>) -> Facts<'a> {
        let mut elections: BTreeMap<&TopicPartition, Vec<Election>> = BTreeMap::new();
        let mut removals: BTreeMap<&TopicPartition, Vec<Removal>> = BTreeMap::new();
        let mut truncations: BTreeMap<&TopicPartition, Vec<Removal>> = BTreeMap::new();
        let mut leading: BTreeMap<(&TopicPartition, NodeId), Vec<LeaderFact>> = BTreeMap::new();
        // The controller's ISR per partition; a partition starts with every replica in it.
        let mut isr: BTreeMap<&TopicPartition, Vec<NodeId>> = BTreeMap::new();
        for event in &input.history.events {
            let (time_ms, node) = (event.time_ms, event.node);
            let Op::Replica(replica_event) = &event.op else { continue };
            match replica_event {
                ReplicaEvent::LeaderElected { tp, epoch, leader: Some(leader), unclean } => {
                    let current =
                        isr.entry(tp).or_insert_with(|| super::judgement::replicas_of(input.scenario, tp));
                    let sole_isr = !unclean && current.as_slice() == [*leader];
                    elections.entry(tp).or_default().push(Election {
                        time_ms,
                        epoch: *epoch,
                        leader: *leader,
                        unclean: *unclean,
                        sole_isr,
                    });
                }
                ReplicaEvent::IsrChanged { tp, isr: new, .. } => {
                    isr.insert(tp, new.clone());
                }
                ReplicaEvent::LostUnflushed { tp, from, to } => {
                    removals.entry(tp).or_default().push(Removal { time_ms, node, from: *from, to: *to });
                }
                ReplicaEvent::BecameLeader { tp, epoch, log_end_offset, .. } => {
                    leading.entry((tp, node)).or_default().push(LeaderFact::Became {
                        time_ms,
                        epoch: *epoch,
                        log_end_offset: *log_end_offset,
                    });
                }
                ReplicaEvent::Truncated { tp, from, to } => {
                    truncations.entry(tp).or_default().push(Removal { time_ms, node, from: *from, to: *to });
                }
                ReplicaEvent::HighWatermark { tp, epoch, high_watermark, leader: true, .. } => {
                    leading.entry((tp, node)).or_default().push(LeaderFact::HighWatermark {
                        time_ms,
                        epoch: *epoch,
                        high_watermark: *high_watermark,
                    });
                }
                ReplicaEvent::LeaderIsr { tp, isr, .. } => {
                    leading
                        .entry((tp, node))
                        .or_default()
                        .push(LeaderFact::Isr { time_ms, isr: isr.clone() });
                }
                ReplicaEvent::BecameFollower { tp, .. } => {
                    leading.entry((tp, node)).or_default().push(LeaderFact::Stepped { time_ms });
                }
                _ => {}
            }
        }
        Facts { input: *input, elections, removals, truncations, leading }
    }

    fn leading<'s>(&'s self, tp: &'s TopicPartition, broker: NodeId) -> &'s [LeaderFact] {
        self.leading.get(&(tp, broker)).map_or(&[], Vec::as_slice)
    }

    /// The epoch in which `broker` led `tp` at `at_ms`: its last `BecameLeader` by then, or the
    /// epoch of its last high-watermark move as leader if it reported none (it led from the start).
    pub fn leader_epoch_at(&self, tp: &TopicPartition, broker: NodeId, at_ms: Millis) -> Option<Epoch> {
        self.leading(tp, broker).iter().rev().filter(|f| f.time_ms() <= at_ms).find_map(|f| match *f {
            LeaderFact::Became { epoch, .. } | LeaderFact::HighWatermark { epoch, .. } => Some(epoch),
            _ => None,
        })
    }

    /// The first time at or after `from_ms` (and at or before `until_ms`) that `broker`'s high
    /// watermark as leader of `tp` in `epoch` passed `offset`: when the record there became
    /// committed, and when an acks=all produce waiting for it is answered.
    pub fn committed_at(
        &self,
        tp: &TopicPartition,
        broker: NodeId,
        epoch: Epoch,
        offset: Offset,
        from_ms: Millis,
        until_ms: Millis,
    ) -> Option<Millis> {
        self.leading(tp, broker).iter().find_map(|f| match *f {
            LeaderFact::HighWatermark { time_ms, epoch: e, high_watermark }
                if e == epoch && high_watermark > offset && (from_ms..=until_ms).contains(&time_ms) =>
            {
                Some(time_ms)
            }
            _ => None,
        })
    }

    /// The committed ISR `broker` acted with as leader of `tp` at `at_ms`; `None` if it had
    /// reported none, or had stepped down since.
    pub fn leader_isr_at<'s>(
        &'s self,
        tp: &'s TopicPartition,
        broker: NodeId,
        at_ms: Millis,
    ) -> Option<&'s [NodeId]> {
        self.leading(tp, broker).iter().rev().filter(|f| f.time_ms() <= at_ms).find_map(|f| match f {
            LeaderFact::Isr { isr, .. } => Some(Some(isr.as_slice())),
            LeaderFact::Stepped { .. } => Some(None),
            _ => None,
        })?
    }

    /// Whether the leader `election` made lacked the record at `offset`: its log ended at or
    /// before it when it began leading, or a replica of the partition cut that offset from its
    /// log after the election (it followed a leader whose log differs there).
    pub fn leader_lacked(&self, tp: &TopicPartition, election: &Election, offset: Offset) -> bool {
        let short = self.leading(tp, election.leader).iter().any(|f| {
            matches!(*f, LeaderFact::Became { epoch, log_end_offset, .. }
                if epoch == election.epoch && log_end_offset <= offset)
        });
        let cut = self
            .truncations
            .get(tp)
            .is_some_and(|cuts| cuts.iter().any(|c| c.time_ms >= election.time_ms && c.took(offset)));
        short || cut
    }

    /// The elections of `tp`, in order.
    pub fn elections_of<'s>(&'s self, tp: &'s TopicPartition) -> &'s [Election] {
        self.elections.get(tp).map_or(&[], Vec::as_slice)
    }

    /// What power losses took from the replicas of `tp`, in order.
    pub fn removals_of<'s>(&'s self, tp: &'s TopicPartition) -> &'s [Removal] {
        self.removals.get(tp).map_or(&[], Vec::as_slice)
    }

    pub fn name(&self, node: NodeId) -> &str {
        self.input.node_name(node)
    }
}
