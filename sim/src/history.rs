//! What a run records: client operations as invoke → ok / fail / info with simulated time (as in
//! Jepsen), replica-state probes emitted by the brokers and the controller, the faults the harness
//! injected, and replica log snapshots. Checkers read only this.

use broker::effect::ReplicaEvent;
use broker::types::{Epoch, Millis, NodeId, Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A value as humans read it: `p1-350` is producer 1's send number 350. Values below 2^32 (as
/// hand-built test histories use) print as plain numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueName(pub u64);

impl std::fmt::Display for ValueName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (producer, send) = (self.0 >> 32, self.0 & 0xffff_ffff);
        if producer == 0 {
            write!(f, "{send}")
        } else {
            write!(f, "p{producer}-{send}")
        }
    }
}

/// A record as a reader saw it at an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadRecord {
    pub offset: Offset,
    pub value: u64,
}

/// A record as a replica stores it, for snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoredRecord {
    pub offset: Offset,
    pub epoch: Epoch,
    pub value: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    /// A producer handed a record to its client. `value` is unique within the run and names the send.
    SendInvoke { tp: TopicPartition, key: Option<u32>, value: u64 },
    /// Acknowledged by `broker`. `offset` is `None` for acks=0, which never learns one.
    SendOk { value: u64, offset: Option<Offset>, broker: NodeId },
    /// Definitely not written: every attempt was refused before the leader appended.
    SendFail { value: u64, error: String },
    /// Indeterminate: the record may or may not have been written.
    SendInfo { value: u64, reason: String },
    /// A consumer read these records of one partition, in order.
    Poll { tp: TopicPartition, records: Vec<ReadRecord> },
    /// A consumer moved its position other than by reading (offset out of range).
    Seek { tp: TopicPartition, from: Offset, to: Offset },
    /// When the liveness phase ended, the harness looked at a consumer (the event's node) and at
    /// one partition it reads: `position` is the offset it would fetch next (`None`: it was down
    /// or had not learnt of the partition), `high_watermark` the leader's (`None`: no broker was
    /// acting as the controller's leader of the partition).
    ConsumerPosition { tp: TopicPartition, position: Option<Offset>, high_watermark: Option<Offset> },
    /// After the liveness phase, the final reader read the whole partition from offset 0.
    FinalRead { tp: TopicPartition, records: Vec<ReadRecord> },
    /// A replica-state change reported by a broker or the controller.
    Replica(ReplicaEvent),
    /// A replica's log and high watermark, sampled by the harness (after each fault and at the end).
    ReplicaLog { tp: TopicPartition, high_watermark: Offset, records: Vec<StoredRecord> },
    /// The harness injected a fault (or undid one) on these nodes.
    Fault { fault: String, nodes: Vec<NodeId>, detail: String },
    /// A fault fired but hit nobody: its target named no node it could act on at that moment
    /// (`leader(orders/0)` while the partition has no leader, a restart of a broker that is up).
    /// `target` is the target as the scenario wrote it (or the nodes an undo was meant for).
    FaultHitNobody { fault: String, target: String, reason: String },
    /// A phase boundary of the run.
    Phase(Phase),
}

impl Op {
    /// About how many bytes the event takes in a history: the event itself and what it points to
    /// (records, node lists, text), each allocation with the allocator's own overhead. What a
    /// run's history budget counts (see `budget`).
    pub fn footprint(&self) -> u64 {
        use std::mem::size_of;
        fn heap(len: usize, item: usize) -> usize {
            if len == 0 {
                0
            } else {
                len * item + ALLOCATION_OVERHEAD
            }
        }
        let pointed = match self {
            Op::Poll { records, .. } | Op::FinalRead { records, .. } => {
                heap(records.len(), size_of::<ReadRecord>())
            }
            Op::ReplicaLog { records, .. } => heap(records.len(), size_of::<StoredRecord>()),
            Op::SendFail { error: text, .. } | Op::SendInfo { reason: text, .. } => heap(text.len(), 1),
            Op::Fault { fault, nodes, detail } => {
                heap(fault.len(), 1) + heap(nodes.len(), size_of::<NodeId>()) + heap(detail.len(), 1)
            }
            Op::FaultHitNobody { fault, target, reason } => {
                heap(fault.len(), 1) + heap(target.len(), 1) + heap(reason.len(), 1)
            }
            Op::Replica(ReplicaEvent::IsrChanged { isr, .. } | ReplicaEvent::LeaderIsr { isr, .. }) => {
                heap(isr.len(), size_of::<NodeId>())
            }
            Op::Replica(ReplicaEvent::Recovered { log_end_offsets }) => {
                heap(log_end_offsets.len(), size_of::<(TopicPartition, Offset, Offset)>())
            }
            _ => 0,
        };
        (size_of::<Event>() + pointed) as u64
    }
}

/// What the allocator adds to each allocation, about: its header and the rounding up.
const ALLOCATION_OVERHEAD: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// The fault phase ended; every fault is healed and the liveness phase begins.
    Healed,
    /// Every partition has a leader and a full ISR, and all replicas agree.
    Converged,
    /// The liveness bound passed without convergence.
    NotConverged,
    /// The final read completed.
    FinalReadDone,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    pub time_ms: Millis,
    pub node: NodeId,
    pub op: Op,
}

/// The whole record of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct History {
    /// Node names, for display: broker-1, controller, producer-1, …
    pub node_names: BTreeMap<NodeId, String>,
    pub events: Vec<Event>,
}

impl History {
    pub fn push(&mut self, time_ms: Millis, node: NodeId, op: Op) {
        self.events.push(Event { time_ms, node, op });
    }

    pub fn node_name(&self, node: NodeId) -> &str {
        self.node_names.get(&node).map(String::as_str).unwrap_or("?")
    }
}
