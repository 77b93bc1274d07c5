//! From a scenario to the settings each state machine is built with.

use crate::layout::Layout;
use crate::net::NetConfig;
use crate::scenario::{
    ConsumerSpec, FlushSpec, NetworkSpec, PartitionerSpec, ProducerSpec, Scenario, TruncationSpec,
};
use broker::config::{
    BrokerConfig, ConnectionConfig, ConsumerConfig, ControllerConfig, FlushPolicy, ProducerConfig,
    TopicConfig, TruncationMode,
};
use broker::partitioner::Partitioner;
use broker::types::TopicPartition;
use std::sync::Arc;

pub fn broker_config(s: &Scenario) -> BrokerConfig {
    let b = &s.broker;
    BrokerConfig {
        replica_lag_time_max_ms: b.replica_lag_time_max_ms,
        replica_fetch_wait_max_ms: b.replica_fetch_wait_max_ms,
        replica_fetch_backoff_ms: b.replica_fetch_backoff_ms,
        replica_socket_timeout_ms: b.replica_socket_timeout_ms,
        replica_fetch_max_bytes: b.replica_fetch_max_bytes,
        replica_fetch_response_max_bytes: b.replica_fetch_response_max_bytes,
        broker_heartbeat_interval_ms: b.broker_heartbeat_interval_ms,
        replica_high_watermark_checkpoint_interval_ms: b.replica_high_watermark_checkpoint_interval_ms,
        flush: match b.flush {
            FlushSpec::Never => FlushPolicy::Never,
            FlushSpec::Interval => FlushPolicy::Interval,
            FlushSpec::EveryBatch => FlushPolicy::EveryBatch,
        },
        flush_interval_ms: b.flush_interval_ms,
        os_writeback_interval_ms: b.os_writeback_interval_ms,
        os_dirty_expire_ms: b.os_dirty_expire_ms,
        truncation: match b.truncation {
            TruncationSpec::LeaderEpoch => TruncationMode::LeaderEpoch,
            TruncationSpec::HighWatermark => TruncationMode::HighWatermark,
        },
        bugs: s.bugs.clone(),
        ..BrokerConfig::default()
    }
}

pub fn controller_config(s: &Scenario) -> ControllerConfig {
    ControllerConfig {
        broker_session_timeout_ms: s.controller.broker_session_timeout_ms,
        bugs: s.bugs.clone(),
        ..ControllerConfig::default()
    }
}

/// Topics with the broker-level defaults filled in.
pub fn topic_configs(s: &Scenario) -> Vec<TopicConfig> {
    s.topics
        .iter()
        .map(|t| TopicConfig {
            name: Arc::from(t.name.as_str()),
            partitions: t.partitions,
            replication_factor: t.replication_factor,
            min_insync_replicas: t.min_insync_replicas.unwrap_or(s.broker.min_insync_replicas),
            unclean_leader_election_enable: t
                .unclean_leader_election_enable
                .unwrap_or(s.broker.unclean_leader_election_enable),
        })
        .collect()
}

/// Every partition of every topic, in order.
pub fn all_partitions(s: &Scenario) -> Vec<TopicPartition> {
    s.topics
        .iter()
        .flat_map(|t| {
            let topic: Arc<str> = Arc::from(t.name.as_str());
            (0..t.partitions).map(move |p| TopicPartition { topic: topic.clone(), partition: p })
        })
        .collect()
}

/// The partitions a consumer reads: every partition of its topics, or of every topic when it
/// names none. The harness and the `progress` checker both go by this.
pub fn partitions_read(s: &Scenario, consumer: &ConsumerSpec) -> Vec<TopicPartition> {
    all_partitions(s).into_iter().filter(|tp| consumer.reads(&tp.topic)).collect()
}

pub fn producer_config(s: &Scenario, spec: &ProducerSpec, layout: &Layout) -> ProducerConfig {
    ProducerConfig {
        bugs: s.bugs.clone(),
        acks: spec.acks.0,
        retries: spec.retries.unwrap_or(u32::MAX),
        request_timeout_ms: spec.request_timeout_ms,
        delivery_timeout_ms: spec.delivery_timeout_ms,
        retry_backoff_ms: spec.retry_backoff_ms,
        retry_backoff_max_ms: spec.retry_backoff_max_ms,
        max_in_flight_requests_per_connection: spec.max_in_flight_requests_per_connection as usize,
        bootstrap: layout.brokers.clone(),
        connections: ConnectionConfig {
            reconnect_backoff_ms: spec.reconnect_backoff_ms,
            reconnect_backoff_max_ms: spec.reconnect_backoff_max_ms,
            socket_connection_setup_timeout_ms: spec.socket_connection_setup_timeout_ms,
            socket_connection_setup_timeout_max_ms: spec.socket_connection_setup_timeout_max_ms,
        },
        ..ProducerConfig::default()
    }
}

pub fn partitioner(spec: &ProducerSpec) -> Partitioner {
    match spec.partitioner {
        PartitionerSpec::Murmur2 => Partitioner::Murmur2,
        PartitionerSpec::Crc32 => Partitioner::Crc32,
    }
}

pub fn consumer_config(fetch_max_wait_ms: u64, layout: &Layout) -> ConsumerConfig {
    ConsumerConfig { fetch_max_wait_ms, bootstrap: layout.brokers.clone(), ..ConsumerConfig::default() }
}

pub fn net_config(n: &NetworkSpec) -> NetConfig {
    NetConfig {
        latency_min_ms: n.latency_min_ms,
        latency_max_ms: n.latency_max_ms,
        packet_loss_rate: n.packet_loss_rate,
        retransmit_timeout_ms: n.retransmit_timeout_ms,
    }
}
