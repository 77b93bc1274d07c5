//! The vocabulary shared by every state machine: node ids, topic-partitions, offsets, epochs, records.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Simulated milliseconds since the start of a run. The cores never read a clock: callers pass `now`.
pub type Millis = u64;
/// A position in a partition's log. The log starts at 0 and is never compacted or deleted.
pub type Offset = u64;
/// A partition's leader epoch: bumped by the controller on every leadership change.
pub type Epoch = u32;
/// Bumped by the controller on every change of a partition's state (leader or ISR), as in KIP-497.
pub type PartitionEpoch = u32;
/// Distinguishes successive lives of one broker process, like KRaft's incarnation id.
pub type Incarnation = u64;
/// Request/response correlation id, unique per sender.
pub type CorrelationId = u64;

/// Address of a node (broker, controller or client) in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u32);

/// Brokers are nodes; the alias says which role a field expects.
pub type BrokerId = NodeId;

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One partition of one topic. The topic name is shared, so cloning is cheap.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: u32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: u32) -> Self {
        TopicPartition { topic: Arc::from(topic), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// What a producer sends. Values are unique per run, so checkers can follow each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: Option<u32>,
    pub value: u64,
    /// Bytes the record takes in a log and on the wire, its share of batch overhead included;
    /// fetch size limits (`replica.fetch.max.bytes`, `max.partition.fetch.bytes`) count these.
    pub size_bytes: u32,
}

impl Record {
    /// A record of the default size, as tests build them.
    pub fn sized(key: Option<u32>, value: u64) -> Record {
        Record { key, value, size_bytes: DEFAULT_RECORD_SIZE_BYTES }
    }
}

/// A producer's record size unless its scenario sets one: a small JSON event.
pub const DEFAULT_RECORD_SIZE_BYTES: u32 = 100;

/// A record as stored in a replica's log: the leader stamps its epoch on append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    pub epoch: Epoch,
    pub key: Option<u32>,
    pub value: u64,
    pub size_bytes: u32,
}

/// How many acknowledgements a producer waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Acks {
    /// Fire and forget: no response, the send counts as done once written to the socket.
    None,
    /// The leader's local append.
    Leader,
    /// The high watermark passed the batch: every in-sync replica has it.
    All,
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        })
    }
}
