//! Typed messages between nodes. Every exchange is a request answered by at most one response on
//! the same connection; acks=0 produce requests get none.

use crate::metadata::MetadataImage;
use crate::types::{
    Acks, BrokerId, CorrelationId, Epoch, Incarnation, LogRecord, Millis, NodeId, Offset, PartitionEpoch,
    Record, TopicPartition,
};
use serde::{Deserialize, Serialize};

/// Identifies one TCP-like connection; replies travel back on the connection their request came in on.
pub type ConnectionId = u64;

/// Where to send a response: the requesting node, on the connection the request arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub node: NodeId,
    pub connection: ConnectionId,
}

/// A message as delivered to a node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub from: NodeId,
    pub connection: ConnectionId,
    pub message: Message,
}

impl Envelope {
    pub fn reply_to(&self) -> ReplyTo {
        ReplyTo { node: self.from, connection: self.connection }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Message {
    Request { correlation: CorrelationId, request: Request },
    Response { correlation: CorrelationId, response: Response },
}

/// Errors carried in responses, named as in Kafka's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    NotLeaderOrFollower,
    /// acks=all refused before appending: the ISR is smaller than min.insync.replicas.
    NotEnoughReplicas,
    /// acks=all appended, but the ISR shrank below min.insync.replicas before it committed.
    NotEnoughReplicasAfterAppend,
    RequestTimedOut,
    /// The requester's leader epoch is older than the receiver's.
    FencedLeaderEpoch,
    /// The requester's leader epoch is newer than the receiver's: the receiver has not caught up.
    UnknownLeaderEpoch,
    OffsetOutOfRange,
    UnknownTopicOrPartition,
    /// AlterPartition based on a stale partition epoch.
    InvalidUpdateVersion,
    /// AlterPartition adding a fenced broker to the ISR.
    IneligibleReplica,
    /// A new incarnation registered while the old one still holds a session.
    DuplicateBrokerRegistration,
    /// The controller does not know this broker incarnation (it was fenced): register again.
    StaleBrokerEpoch,
}

impl ErrorCode {
    /// The name Kafka's protocol gives the error: `NOT_ENOUGH_REPLICAS`.
    pub fn kafka_name(self) -> &'static str {
        match self {
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ErrorCode::IneligibleReplica => "INELIGIBLE_REPLICA",
            ErrorCode::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            ErrorCode::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kafka_name())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    Produce(ProduceRequest),
    Fetch(FetchRequest),
    Metadata,
    BrokerRegistration {
        broker: BrokerId,
        incarnation: Incarnation,
    },
    BrokerHeartbeat {
        broker: BrokerId,
        incarnation: Incarnation,
    },
    /// A long poll for metadata newer than `known_version`.
    MetadataFetch {
        broker: BrokerId,
        known_version: u64,
    },
    AlterPartition(AlterPartitionRequest),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Response {
    Produce(ProduceResponse),
    Fetch(FetchResponse),
    Metadata(Box<MetadataImage>),
    BrokerRegistration {
        error: Option<ErrorCode>,
        /// The controller's metadata version once the registration took effect (KRaft's
        /// registration offset): the broker acts on no metadata older than this.
        metadata_version: u64,
    },
    BrokerHeartbeat {
        error: Option<ErrorCode>,
    },
    /// `None` when nothing changed during the wait.
    MetadataFetch(Option<Box<MetadataImage>>),
    AlterPartition(AlterPartitionResponse),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProduceRequest {
    pub tp: TopicPartition,
    pub acks: Acks,
    /// How long the leader may hold an acks=all request waiting for the ISR.
    pub timeout_ms: Millis,
    pub records: Vec<Record>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProduceResponse {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    /// Offset of the batch's first record when it succeeded.
    pub base_offset: Option<Offset>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchRequest {
    /// `Some` for a follower replica; `None` for a consumer, which sees only records below the HW.
    pub replica: Option<BrokerId>,
    pub max_wait_ms: Millis,
    /// Bytes of records the whole response may carry (`replica.fetch.response.max.bytes`,
    /// `fetch.max.bytes`).
    pub max_bytes: u64,
    /// Bytes of records one partition may contribute (`replica.fetch.max.bytes`,
    /// `max.partition.fetch.bytes`). The first record of the first partition with data comes
    /// whatever its size, so a fetch always makes progress (KIP-74).
    pub partition_max_bytes: u64,
    pub partitions: Vec<FetchPartition>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchPartition {
    pub tp: TopicPartition,
    pub fetch_offset: Offset,
    pub current_leader_epoch: Epoch,
    /// Epoch of the follower's last record, for the leader's divergence check (KIP-595 style
    /// truncation on fetch). `None` in high-watermark truncation mode and for consumers.
    pub last_fetched_epoch: Option<Epoch>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchResponse {
    pub partitions: Vec<FetchedPartition>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchedPartition {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
    /// Set when the follower's log diverges: truncate to the end of this epoch, then fetch again.
    pub diverging_epoch: Option<EpochEndOffset>,
    pub base_offset: Offset,
    pub records: Vec<LogRecord>,
}

/// The end offset of an epoch in a log: the start offset of the next epoch, or the log end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEndOffset {
    pub epoch: Epoch,
    pub end_offset: Offset,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    pub broker: BrokerId,
    pub tp: TopicPartition,
    pub leader_epoch: Epoch,
    pub partition_epoch: PartitionEpoch,
    pub new_isr: Vec<BrokerId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    pub leader_epoch: Epoch,
    pub isr: Vec<BrokerId>,
    pub partition_epoch: PartitionEpoch,
}
