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
    /// After the liveness phase, the final reader read the whole partition from offset 0.
    FinalRead { tp: TopicPartition, records: Vec<ReadRecord> },
    /// A replica-state change reported by a broker or the controller.
    Replica(ReplicaEvent),
    /// A replica's log and high watermark, sampled by the harness (after each fault and at the end).
    ReplicaLog { tp: TopicPartition, high_watermark: Offset, records: Vec<StoredRecord> },
    /// The harness injected a fault (or undid one) on these nodes.
    Fault { fault: String, nodes: Vec<NodeId>, detail: String },
    /// A phase boundary of the run.
    Phase(Phase),
}

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
