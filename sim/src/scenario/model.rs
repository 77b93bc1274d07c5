//! The scenario file as data: what `*.toml` files deserialize into. Every key has a default
//! (Kafka's where Kafka has one), so a resolved scenario can be printed back whole.
//! Keys are Kafka's own setting names with dots replaced by underscores, units last.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Length of the fault phase. Producers send only during it; then every fault is healed.
    #[serde(default = "defaults::duration_ms")]
    pub duration_ms: u64,
    /// After healing, the cluster must converge within this bound or the run fails `liveness`.
    #[serde(default = "defaults::liveness_timeout_ms")]
    pub liveness_timeout_ms: u64,
    /// The seed the file was written for (`run --dump-scenario` and `shrink` write it), which
    /// `kafkasim run FILE` uses when given no `--seed`. A run given a seed ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default)]
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub broker: BrokerSpec,
    #[serde(default)]
    pub controller: ControllerSpec,
    #[serde(default)]
    pub network: NetworkSpec,
    pub topics: Vec<TopicSpec>,
    #[serde(default)]
    pub producers: Vec<ProducerSpec>,
    /// Simple consumers reading every partition below the high watermark. Default: one, all topics.
    #[serde(default = "defaults::consumers")]
    pub consumers: Vec<ConsumerSpec>,
    /// The scripted fault timeline.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Seeded random faults, drawn before the run and added to the timeline.
    #[serde(default)]
    pub nemesis: Option<NemesisSpec>,
    /// Per-checker expectations; see `Expectation`.
    #[serde(default)]
    pub expect: Expectations,
    /// Deliberate broker defects to switch on (`broker::bugs`), for showing that the checkers
    /// catch what they exist to catch. Empty: the broker as designed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub bugs: std::collections::BTreeSet<broker::bugs::Bug>,
    /// Set in regression files (`tests/regressions/`): the seed and the violation the file
    /// reproduces. Normal runs ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionSpec>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Brokers are named broker-1 … broker-N. The controller is a separate node named `controller`.
    #[serde(default = "defaults::brokers")]
    pub brokers: u32,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec { brokers: defaults::brokers() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlushSpec {
    Never,
    Interval,
    EveryBatch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruncationSpec {
    LeaderEpoch,
    HighWatermark,
}

/// Settings shared by every broker. `min_insync_replicas` and `unclean_leader_election_enable`
/// here are the broker-level defaults that topics inherit unless they set their own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerSpec {
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    pub replica_lag_time_max_ms: u64,
    pub replica_fetch_wait_max_ms: u64,
    pub replica_fetch_backoff_ms: u64,
    pub replica_socket_timeout_ms: u64,
    /// replica.fetch.max.bytes: record bytes one partition contributes to a follower fetch.
    pub replica_fetch_max_bytes: u64,
    /// replica.fetch.response.max.bytes: record bytes in one follower fetch response.
    pub replica_fetch_response_max_bytes: u64,
    pub broker_heartbeat_interval_ms: u64,
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    pub flush: FlushSpec,
    /// log.flush.interval.ms, used when flush = "interval".
    pub flush_interval_ms: u64,
    /// How often the OS writeback runs (vm.dirty_writeback_centisecs).
    pub os_writeback_interval_ms: u64,
    /// How long a page stays dirty before the writeback writes it (vm.dirty_expire_centisecs).
    pub os_dirty_expire_ms: u64,
    pub truncation: TruncationSpec,
}

impl Default for BrokerSpec {
    fn default() -> Self {
        let b = broker::config::BrokerConfig::default();
        BrokerSpec {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: b.replica_lag_time_max_ms,
            replica_fetch_wait_max_ms: b.replica_fetch_wait_max_ms,
            replica_fetch_backoff_ms: b.replica_fetch_backoff_ms,
            replica_socket_timeout_ms: b.replica_socket_timeout_ms,
            replica_fetch_max_bytes: b.replica_fetch_max_bytes,
            replica_fetch_response_max_bytes: b.replica_fetch_response_max_bytes,
            broker_heartbeat_interval_ms: b.broker_heartbeat_interval_ms,
            replica_high_watermark_checkpoint_interval_ms: b.replica_high_watermark_checkpoint_interval_ms,
            flush: FlushSpec::Never,
            flush_interval_ms: b.flush_interval_ms,
            os_writeback_interval_ms: b.os_writeback_interval_ms,
            os_dirty_expire_ms: b.os_dirty_expire_ms,
            truncation: TruncationSpec::LeaderEpoch,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControllerSpec {
    pub broker_session_timeout_ms: u64,
}

impl Default for ControllerSpec {
    fn default() -> Self {
        ControllerSpec {
            broker_session_timeout_ms: broker::config::ControllerConfig::default().broker_session_timeout_ms,
        }
    }
}

/// The network between every pair of nodes. Connections behave like TCP: per-connection order is
/// kept, a lost packet is retransmitted (it arrives late, it is not dropped), a partition stalls
/// the connection until it heals or the sender gives up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// Probability that one message's packet is lost and must be retransmitted.
    pub packet_loss_rate: f64,
    /// Delay a lost packet adds (TCP's minimum retransmission timeout), doubled per repeated loss.
    pub retransmit_timeout_ms: u64,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency_min_ms: 1,
            latency_max_ms: 5,
            packet_loss_rate: 0.0,
            retransmit_timeout_ms: 200,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    #[serde(default = "defaults::partitions")]
    pub partitions: u32,
    #[serde(default = "defaults::replication_factor")]
    pub replication_factor: u32,
    /// Inherits `broker.min_insync_replicas` when absent.
    #[serde(default)]
    pub min_insync_replicas: Option<u32>,
    /// Inherits `broker.unclean_leader_election_enable` when absent.
    #[serde(default)]
    pub unclean_leader_election_enable: Option<bool>,
}

/// acks as Kafka spells it: 0, 1 or "all" (also accepted: "0", "1", -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcksSpec(pub broker::types::Acks);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    /// Node name; default producer-N in file order.
    #[serde(default)]
    pub name: Option<String>,
    pub topic: String,
    #[serde(default = "defaults::acks")]
    pub acks: AcksSpec,
    #[serde(default = "defaults::messages")]
    pub messages: u64,
    #[serde(default = "defaults::messages_per_sec")]
    pub messages_per_sec: f64,
    /// Number of distinct keys, chosen at random per send; 0 sends null keys (round-robin).
    #[serde(default = "defaults::keys")]
    pub keys: u32,
    #[serde(default = "defaults::start_ms")]
    pub start_ms: u64,
    /// Bytes each record takes in the log and on the wire; fetch byte limits count them.
    #[serde(default = "defaults::record_size_bytes")]
    pub record_size_bytes: u32,
    /// Absent: unbounded, limited by delivery_timeout_ms (Kafka's default).
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default = "defaults::request_timeout_ms")]
    pub request_timeout_ms: u64,
    #[serde(default = "defaults::delivery_timeout_ms")]
    pub delivery_timeout_ms: u64,
    /// retry.backoff.ms: the first retry's backoff, doubled per attempt (KIP-580).
    #[serde(default = "defaults::retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// retry.backoff.max.ms: the ceiling of the retry and metadata-refresh backoffs (KIP-580).
    #[serde(default = "defaults::retry_backoff_max_ms")]
    pub retry_backoff_max_ms: u64,
    /// reconnect.backoff.ms: the wait before reconnecting to a broker whose connection failed.
    #[serde(default = "defaults::reconnect_backoff_ms")]
    pub reconnect_backoff_ms: u64,
    /// reconnect.backoff.max.ms: the ceiling of that wait, doubled per consecutive failure.
    #[serde(default = "defaults::reconnect_backoff_max_ms")]
    pub reconnect_backoff_max_ms: u64,
    /// socket.connection.setup.timeout.ms: how long a connection attempt may go unanswered (KIP-601).
    #[serde(default = "defaults::socket_connection_setup_timeout_ms")]
    pub socket_connection_setup_timeout_ms: u64,
    /// socket.connection.setup.timeout.max.ms: its ceiling, doubled per failed attempt (KIP-601).
    #[serde(default = "defaults::socket_connection_setup_timeout_max_ms")]
    pub socket_connection_setup_timeout_max_ms: u64,
    #[serde(default = "defaults::max_in_flight")]
    pub max_in_flight_requests_per_connection: u32,
    #[serde(default = "defaults::partitioner")]
    pub partitioner: PartitionerSpec,
    /// The longest the producer may go without an acknowledgement during the fault phase while
    /// it has sends outstanding and their partition could take them (the `progress` checker);
    /// absent: unbounded.
    #[serde(default)]
    pub max_stall_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionerSpec {
    /// The Java client's: murmur2(key) & 0x7fffffff % partitions.
    Murmur2,
    /// librdkafka's consistent_random: crc32(key) % partitions.
    Crc32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    /// Node name; default consumer-N in file order.
    #[serde(default)]
    pub name: Option<String>,
    /// Topics to read; empty means every topic.
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default = "defaults::fetch_max_wait_ms")]
    pub fetch_max_wait_ms: u64,
    /// The longest the consumer may go without reading a record during the fault phase while it
    /// is behind a partition's high watermark and the partition has a leader (the `progress`
    /// checker); absent: unbounded.
    #[serde(default)]
    pub max_stall_ms: Option<u64>,
}

impl ConsumerSpec {
    /// Whether the consumer reads `topic`: its `topics` name it, or it names none (every topic).
    pub fn reads(&self, topic: &str) -> bool {
        self.topics.is_empty() || self.topics.iter().any(|t| t == topic)
    }
}

/// One scripted fault. Which other keys a fault needs depends on its kind:
///
/// | fault | keys |
/// |---|---|
/// | `partition` | `target` (isolate it from every other node) or `groups`; `one_way`; `for_ms` |
/// | `heal` | none: every partition heals |
/// | `crash`, `power-loss`, `pause` | `target`; `for_ms` restarts / resumes after that long |
/// | `restart`, `resume` | `target` |
/// | `packet-loss` | `rate`; `for_ms` |
/// | `latency` | `latency_min_ms`, `latency_max_ms`; `for_ms` |
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub at_ms: u64,
    pub fault: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Targets>,
    /// For `partition`: nodes in different groups cannot reach each other; unlisted nodes reach all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Vec<String>>>,
    /// For `partition`: block only traffic from earlier groups to later ones (from `target` outward).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_way: bool,
    /// Undo the fault this long after it fires (heal, restart or resume the same nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_min_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_max_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Partition,
    Heal,
    Crash,
    Restart,
    PowerLoss,
    Pause,
    Resume,
    PacketLoss,
    Latency,
}

/// One target or several: `target = "leader(orders/0)"` or `target = ["broker-1", "broker-2"]`.
/// Deserialized by hand in `scenario/mod.rs`, so a wrong type gets a clear message.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Targets {
    One(String),
    Many(Vec<String>),
}

impl Targets {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Targets::One(t) => std::slice::from_ref(t),
            Targets::Many(ts) => ts,
        }
    }
}

/// Seeded random faults, in `concurrent_faults` independent streams. In each stream one fault
/// at a time fires, lasts a random duration, heals, and the next follows after a random gap, from
/// `start_ms` until the end of the fault phase; faults of different streams may overlap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSpec {
    /// Kinds to draw from: partition, crash, power-loss, pause, packet-loss, latency.
    pub faults: Vec<FaultKind>,
    /// Targets to draw from (resolved when each fault fires).
    #[serde(default = "defaults::nemesis_targets")]
    pub targets: Vec<String>,
    #[serde(default = "defaults::nemesis_start_ms")]
    pub start_ms: u64,
    /// Gap between one fault's end and the next fault, drawn uniformly from this range.
    #[serde(default = "defaults::nemesis_gap_min_ms")]
    pub gap_min_ms: u64,
    #[serde(default = "defaults::nemesis_gap_max_ms")]
    pub gap_max_ms: u64,
    /// How long each fault lasts, drawn uniformly from this range.
    #[serde(default = "defaults::nemesis_duration_min_ms")]
    pub duration_min_ms: u64,
    #[serde(default = "defaults::nemesis_duration_max_ms")]
    pub duration_max_ms: u64,
    /// For packet-loss faults.
    #[serde(default = "defaults::nemesis_packet_loss_rate")]
    pub packet_loss_rate: f64,
    /// How many independent fault streams run at once.
    #[serde(default = "defaults::nemesis_concurrent_faults")]
    pub concurrent_faults: u32,
}

/// What a scenario says about one checker's violations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expectation {
    /// Any violation fails the run.
    Never,
    /// Violations are counted and labelled, never fail the run.
    Observe,
    /// The scenario demonstrates this anomaly: a sweep in which no seed shows it fails
    /// (a single run without it fails too).
    Expected,
}

/// Per-checker expectations. A checker left out fails the run only on a violation its
/// configuration promises cannot happen (labelled `bug`); allowed ones are counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expectations {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_write: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconsistent_offsets: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonmonotonic_send: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_divergence: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monotonic_hw: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_leader_per_epoch: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monotonic_epoch: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Expectation>,
}

impl Expectations {
    /// The expectation for a checker by its kebab-case name; `None` when the scenario is silent.
    pub fn get(&self, checker: &str) -> Option<Expectation> {
        match checker {
            "lost-write" => self.lost_write,
            "duplicate" => self.duplicate,
            "inconsistent-offsets" => self.inconsistent_offsets,
            "nonmonotonic-send" => self.nonmonotonic_send,
            "replica-divergence" => self.replica_divergence,
            "monotonic-hw" => self.monotonic_hw,
            "single-leader-per-epoch" => self.single_leader_per_epoch,
            "monotonic-epoch" => self.monotonic_epoch,
            "liveness" => self.liveness,
            "progress" => self.progress,
            _ => None,
        }
    }

    pub fn listed(&self) -> BTreeMap<&'static str, Expectation> {
        crate::scenario::CHECKER_NAMES.iter().filter_map(|&name| self.get(name).map(|e| (name, e))).collect()
    }
}

/// What a regression file reproduces: run with `seed`, `checker` reports a violation labelled
/// `label`. Written by `kafkasim shrink`, replayed by `cargo test`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionSpec {
    pub seed: u64,
    /// A checker name, one of `CHECKER_NAMES`.
    pub checker: String,
    pub label: RegressionLabel,
}

/// The label of the violation a regression reproduces, as `check::Label` names it, or `Fixed`:
/// the file once showed a bug that has since been fixed, and the checker must now report nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegressionLabel {
    Bug,
    Allowed,
    Fixed,
}

impl RegressionLabel {
    pub fn name(self) -> &'static str {
        match self {
            RegressionLabel::Bug => "bug",
            RegressionLabel::Allowed => "allowed",
            RegressionLabel::Fixed => "fixed",
        }
    }
}

pub mod defaults {
    use super::*;
    use broker::types::Acks;

    pub fn duration_ms() -> u64 {
        60_000
    }
    pub fn liveness_timeout_ms() -> u64 {
        60_000
    }
    pub fn brokers() -> u32 {
        3
    }
    pub fn partitions() -> u32 {
        1
    }
    pub fn replication_factor() -> u32 {
        3
    }
    pub fn acks() -> AcksSpec {
        AcksSpec(Acks::All)
    }
    pub fn messages() -> u64 {
        1_000
    }
    pub fn messages_per_sec() -> f64 {
        50.0
    }
    pub fn keys() -> u32 {
        16
    }
    pub fn start_ms() -> u64 {
        1_000
    }
    pub fn record_size_bytes() -> u32 {
        broker::types::DEFAULT_RECORD_SIZE_BYTES
    }
    pub fn request_timeout_ms() -> u64 {
        30_000
    }
    pub fn delivery_timeout_ms() -> u64 {
        120_000
    }
    pub fn retry_backoff_ms() -> u64 {
        100
    }
    pub fn retry_backoff_max_ms() -> u64 {
        1_000
    }
    pub fn reconnect_backoff_ms() -> u64 {
        50
    }
    pub fn reconnect_backoff_max_ms() -> u64 {
        1_000
    }
    pub fn socket_connection_setup_timeout_ms() -> u64 {
        10_000
    }
    pub fn socket_connection_setup_timeout_max_ms() -> u64 {
        30_000
    }
    pub fn max_in_flight() -> u32 {
        5
    }
    pub fn partitioner() -> PartitionerSpec {
        PartitionerSpec::Murmur2
    }
    pub fn fetch_max_wait_ms() -> u64 {
        500
    }
    pub fn consumers() -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            name: None,
            topics: Vec::new(),
            fetch_max_wait_ms: fetch_max_wait_ms(),
            max_stall_ms: None,
        }]
    }
    pub fn nemesis_targets() -> Vec<String> {
        vec!["random-broker".to_string()]
    }
    pub fn nemesis_start_ms() -> u64 {
        5_000
    }
    pub fn nemesis_gap_min_ms() -> u64 {
        2_000
    }
    pub fn nemesis_gap_max_ms() -> u64 {
        10_000
    }
    pub fn nemesis_duration_min_ms() -> u64 {
        1_000
    }
    pub fn nemesis_duration_max_ms() -> u64 {
        15_000
    }
    pub fn nemesis_packet_loss_rate() -> f64 {
        0.1
    }
    pub fn nemesis_concurrent_faults() -> u32 {
        1
    }
}
