//! Configuration of brokers, topics and clients. Names follow Kafka's own settings, units last;
//! defaults are Kafka's, so what a run shows is what Kafka does.

use crate::bugs::Bugs;
use crate::types::{Acks, Millis, NodeId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How a replica that becomes a follower finds where its log diverges from the leader's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TruncationMode {
    /// KIP-101/279: compare leader epochs with the leader and cut only the divergent suffix.
    LeaderEpoch,
    /// Before KIP-101: cut the log at the local high watermark, which may be stale. Loses
    /// acknowledged writes under fast failover; kept so the harness can show it.
    HighWatermark,
}

/// When a broker forces its log from the page cache to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlushPolicy {
    /// Kafka's default: never fsync; only the OS writes dirty pages back (see `os_dirty_expire_ms`).
    Never,
    /// `log.flush.interval.ms`: fsync every `flush_interval_ms`.
    Interval,
    /// `log.flush.interval.messages = 1`: fsync after every appended batch.
    EveryBatch,
}

/// Broker-wide settings, shared by every broker of a cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrokerConfig {
    pub replica_lag_time_max_ms: Millis,
    pub replica_fetch_wait_max_ms: Millis,
    pub replica_fetch_backoff_ms: Millis,
    /// replica.socket.timeout.ms: how long a follower waits for a fetch response.
    pub replica_socket_timeout_ms: Millis,
    /// Timeout of the broker's own requests to the controller: half the session timeout, as
    /// Kafka sets its heartbeat timeout (KAFKA-14392), so a lost heartbeat is retried in time.
    pub controller_request_timeout_ms: Millis,
    pub broker_heartbeat_interval_ms: Millis,
    /// Retry delay for a registration the controller refused (an older incarnation still holds a session).
    pub broker_registration_retry_ms: Millis,
    /// replica.high.watermark.checkpoint.interval.ms
    pub replica_high_watermark_checkpoint_interval_ms: Millis,
    pub flush: FlushPolicy,
    pub flush_interval_ms: Millis,
    /// How often the OS writeback runs (vm.dirty_writeback_centisecs).
    pub os_writeback_interval_ms: Millis,
    /// How old a dirty page must be before the writeback writes it (vm.dirty_expire_centisecs).
    pub os_dirty_expire_ms: Millis,
    pub truncation: TruncationMode,
    /// replica.fetch.max.bytes: record bytes one partition contributes to a follower fetch.
    pub replica_fetch_max_bytes: u64,
    /// replica.fetch.response.max.bytes: record bytes in one follower fetch response.
    pub replica_fetch_response_max_bytes: u64,
    /// Deliberate defects switched on (see `bugs`).
    pub bugs: Bugs,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_backoff_ms: 1_000,
            replica_socket_timeout_ms: 30_000,
            controller_request_timeout_ms: 4_500,
            broker_heartbeat_interval_ms: 2_000,
            broker_registration_retry_ms: 1_000,
            replica_high_watermark_checkpoint_interval_ms: 5_000,
            flush: FlushPolicy::Never,
            flush_interval_ms: 1_000,
            os_writeback_interval_ms: 5_000,
            os_dirty_expire_ms: 30_000,
            truncation: TruncationMode::LeaderEpoch,
            replica_fetch_max_bytes: 1_048_576,
            replica_fetch_response_max_bytes: 10_485_760,
            bugs: Bugs::new(),
        }
    }
}

/// One topic: its partitions, replication and the promises its settings make.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicConfig {
    pub name: Arc<str>,
    pub partitions: u32,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
}

/// The controller's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControllerConfig {
    /// broker.session.timeout.ms: a broker silent this long is fenced.
    pub broker_session_timeout_ms: Millis,
    /// How long a broker's metadata fetch is held open when nothing changed.
    pub metadata_fetch_wait_max_ms: Millis,
    /// Deliberate defects switched on (see `bugs`).
    pub bugs: Bugs,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            broker_session_timeout_ms: 9_000,
            metadata_fetch_wait_max_ms: 500,
            bugs: Bugs::new(),
        }
    }
}

/// A producer client's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// Attempts after the first; Kafka's default is effectively unbounded (bounded by delivery timeout).
    pub retries: u32,
    pub request_timeout_ms: Millis,
    pub delivery_timeout_ms: Millis,
    /// retry.backoff.ms: the first retry's backoff, doubled per further attempt (KIP-580).
    pub retry_backoff_ms: Millis,
    /// retry.backoff.max.ms: the ceiling of the retry and metadata-refresh backoffs (KIP-580).
    pub retry_backoff_max_ms: Millis,
    pub max_in_flight_requests_per_connection: usize,
    /// Upper bound on records in one batch, standing in for batch.size.
    pub batch_max_records: usize,
    pub bootstrap: Vec<NodeId>,
    pub connections: ConnectionConfig,
    /// Deliberate defects switched on (see `bugs`).
    pub bugs: Bugs,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            retries: u32::MAX,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1_000,
            max_in_flight_requests_per_connection: 5,
            batch_max_records: 100,
            bootstrap: Vec::new(),
            connections: ConnectionConfig::default(),
            bugs: Bugs::new(),
        }
    }
}

/// The simple consumer's settings: it reads every partition of its topics below the high watermark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsumerConfig {
    pub fetch_max_wait_ms: Millis,
    /// max.partition.fetch.bytes: record bytes one partition contributes to a fetch.
    pub max_partition_fetch_bytes: u64,
    /// fetch.max.bytes: record bytes in one fetch response.
    pub fetch_max_bytes: u64,
    pub request_timeout_ms: Millis,
    pub retry_backoff_ms: Millis,
    pub retry_backoff_max_ms: Millis,
    pub bootstrap: Vec<NodeId>,
    pub connections: ConnectionConfig,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            fetch_max_wait_ms: 500,
            max_partition_fetch_bytes: 1_048_576,
            fetch_max_bytes: 52_428_800,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1_000,
            bootstrap: Vec::new(),
            connections: ConnectionConfig::default(),
        }
    }
}

/// How a client opens its connections and waits after one fails; Kafka's `CommonClientConfigs`,
/// shared by the producer and the consumer (3.7 defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionConfig {
    /// reconnect.backoff.ms: the wait before connecting again to a node whose connection failed,
    /// doubled per consecutive failure.
    pub reconnect_backoff_ms: Millis,
    /// reconnect.backoff.max.ms: the ceiling of that wait.
    pub reconnect_backoff_max_ms: Millis,
    /// socket.connection.setup.timeout.ms: how long a connection attempt may go unanswered before
    /// the client gives it up, doubled per consecutive failed attempt (KIP-601).
    pub socket_connection_setup_timeout_ms: Millis,
    /// socket.connection.setup.timeout.max.ms: the ceiling of that timeout (KIP-601).
    pub socket_connection_setup_timeout_max_ms: Millis,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            reconnect_backoff_ms: 50,
            reconnect_backoff_max_ms: 1_000,
            socket_connection_setup_timeout_ms: 10_000,
            socket_connection_setup_timeout_max_ms: 30_000,
        }
    }
}
