//! Views of the history that several checkers share: every send with its outcome, the final read
//! of each partition, and every record any reader saw.

use crate::history::{History, Op, ReadRecord};
use broker::effect::ReplicaEvent;
use broker::types::{Millis, NodeId, Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

/// How a send ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged at `at_ms` by `broker`; `offset` is `None` for acks=0.
    Ok { offset: Option<Offset>, at_ms: Millis, broker: NodeId },
    /// Definitely not written.
    Fail,
    /// Indeterminate.
    Info,
    /// No outcome recorded: the run was cut short. Counts as indeterminate.
    Pending,
}

/// One send: its invocation and how it ended.
#[derive(Clone, Debug)]
pub struct Send<'a> {
    pub value: u64,
    pub tp: &'a TopicPartition,
    /// The producer node that invoked it.
    pub producer: NodeId,
    pub invoked_ms: Millis,
    pub outcome: Outcome,
}

impl Send<'_> {
    pub fn is_acked(&self) -> bool {
        matches!(self.outcome, Outcome::Ok { .. })
    }
}

/// Every send of a run, in invocation order, findable by value.
#[derive(Debug, Default)]
pub struct Sends<'a> {
    list: Vec<Send<'a>>,
    by_value: BTreeMap<u64, usize>,
}

impl<'a> Sends<'a> {
    pub fn of(history: &'a History) -> Sends<'a> {
        let mut sends = Sends::default();
        for event in &history.events {
            let (value, outcome) = match &event.op {
                Op::SendInvoke { tp, value, .. } => {
                    sends.by_value.insert(*value, sends.list.len());
                    sends.list.push(Send {
                        value: *value,
                        tp,
                        producer: event.node,
                        invoked_ms: event.time_ms,
                        outcome: Outcome::Pending,
                    });
                    continue;
                }
                Op::SendOk { value, offset, broker } => {
                    (*value, Outcome::Ok { offset: *offset, at_ms: event.time_ms, broker: *broker })
                }
                Op::SendFail { value, .. } => (*value, Outcome::Fail),
                Op::SendInfo { value, .. } => (*value, Outcome::Info),
                _ => continue,
            };
            if let Some(&i) = sends.by_value.get(&value) {
                sends.list[i].outcome = outcome;
            }
        }
        sends
    }

    pub fn get(&self, value: u64) -> Option<&Send<'a>> {
        self.by_value.get(&value).map(|&i| &self.list[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Send<'a>> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The final read of each partition (the last one recorded, if the harness recorded several).
#[derive(Debug, Default)]
pub struct FinalReads<'a> {
    by_tp: BTreeMap<&'a TopicPartition, FinalRead<'a>>,
}

/// One partition's final read, with an index from value to its (first) offset.
#[derive(Debug)]
pub struct FinalRead<'a> {
    pub records: &'a [ReadRecord],
    pub offset_of: BTreeMap<u64, Offset>,
}

impl<'a> FinalReads<'a> {
    pub fn of(history: &'a History) -> FinalReads<'a> {
        let mut by_tp = BTreeMap::new();
        for event in &history.events {
            if let Op::FinalRead { tp, records } = &event.op {
                let mut offset_of = BTreeMap::new();
                for r in records {
                    offset_of.entry(r.value).or_insert(r.offset);
                }
                by_tp.insert(tp, FinalRead { records, offset_of });
            }
        }
        FinalReads { by_tp }
    }

    /// `None` when the partition was never read at the end (the cluster did not converge).
    /// The partitions that have a final read, without indexing their records.
    pub fn of_partitions(history: &'a History) -> BTreeSet<&'a TopicPartition> {
        history
            .events
            .iter()
            .filter_map(|e| match &e.op {
                Op::FinalRead { tp, .. } => Some(tp),
                _ => None,
            })
            .collect()
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<&FinalRead<'a>> {
        self.by_tp.get(tp)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'a TopicPartition, &'a [ReadRecord])> + '_ {
        self.by_tp.iter().map(|(&tp, read)| (tp, read.records))
    }
}

impl FinalRead<'_> {
    /// The value at an offset, if the final read has one there.
    pub fn value_at(&self, offset: Offset) -> Option<u64> {
        self.records.iter().find(|r| r.offset == offset).map(|r| r.value)
    }

    /// "offsets 0..11" or "empty", for messages.
    pub fn extent(&self) -> String {
        match (self.records.first(), self.records.last()) {
            (Some(first), Some(last)) => {
                format!("{} records, offsets {}..{}", self.records.len(), first.offset, last.offset)
            }
            _ => "empty".to_string(),
        }
    }
}

/// Who read a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadSource {
    Poll,
    FinalRead,
}

/// One record as one reader saw it.
#[derive(Clone, Copy, Debug)]
pub struct Reading<'a> {
    pub tp: &'a TopicPartition,
    pub offset: Offset,
    pub value: u64,
    pub node: NodeId,
    pub time_ms: Millis,
    pub source: ReadSource,
}

/// Every record every reader saw (polls and final reads), in history order.
pub fn readings(history: &History) -> impl Iterator<Item = Reading<'_>> {
    history
        .events
        .iter()
        .filter_map(|event| match &event.op {
            Op::Poll { tp, records } => Some((event, tp, records, ReadSource::Poll)),
            Op::FinalRead { tp, records } => Some((event, tp, records, ReadSource::FinalRead)),
            _ => None,
        })
        .flat_map(|(event, tp, records, source)| {
            records.iter().map(move |r| Reading {
                tp,
                offset: r.offset,
                value: r.value,
                node: event.node,
                time_ms: event.time_ms,
                source,
            })
        })
}

/// Why a leadership checker has nothing to examine: no leader was elected, nor began leading.
pub fn no_leader_elected(history: &History) -> Option<&'static str> {
    let elected = history.events.iter().any(|e| {
        matches!(
            e.op,
            Op::Replica(
                ReplicaEvent::LeaderElected { leader: Some(_), .. } | ReplicaEvent::BecameLeader { .. }
            )
        )
    });
    (!elected).then_some("no leader was elected")
}
