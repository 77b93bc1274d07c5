//! Semantic validation: everything serde cannot check. A scenario that passes can be run without
//! further checks: every target parses and names an existing node, topic and partition, every
//! node name is unique, and every count, rate and range makes sense.
//!
//! Checks run in file order (top-level keys, cluster, broker, controller, network, topics,
//! producers, consumers, faults, nemesis) and the first problem is reported.

use super::model::*;
use super::spans::KeyPath;
use super::target::{is_broker_name, is_name, is_topic_name, Target, RESERVED_NAMES};
use crate::layout::{consumer_name, producer_name};
use std::collections::BTreeMap;

/// What is wrong, at which key.
#[derive(Debug)]
pub struct Problem {
    pub path: KeyPath,
    pub message: String,
}

type Check = Result<(), Problem>;

fn fail(path: KeyPath, message: impl Into<String>) -> Check {
    Err(Problem { path, message: message.into() })
}

/// Broker ids are node ids 1..=N; clients start at 1000 (see `layout`).
const MAX_BROKERS: u32 = 999;
const MAX_CLIENTS_PER_KIND: usize = 1000;
/// Far beyond any useful run, and small enough that the harness can add a few times together
/// and hand them to the simulated clock without overflow.
pub const MAX_MS: u64 = 10_000_000_000;
/// Far beyond any useful run; keeps per-partition state from exhausting memory.
pub const MAX_PARTITIONS: u32 = 10_000;
/// Replicas of every topic together (partitions × replication factor, summed): ten million of
/// them (10,000 partitions on 999 brokers) exhaust memory before the run starts, a million
/// slow every step to a crawl, a hundred thousand run in seconds.
pub const MAX_REPLICAS: u64 = 100_000;
/// Each send's value numbers it in 32 bits (the producer's index is in the high bits).
pub const MAX_MESSAGES: u64 = u32::MAX as u64;

/// Kinds a nemesis can draw: each one is undone when its random duration ends.
pub const NEMESIS_KINDS: [FaultKind; 6] = [
    FaultKind::Partition,
    FaultKind::Crash,
    FaultKind::PowerLoss,
    FaultKind::Pause,
    FaultKind::PacketLoss,
    FaultKind::Latency,
];

/// The keys that hold one table, and those that hold an array of tables.
const TABLES: [&str; 7] = ["cluster", "broker", "controller", "network", "nemesis", "expect", "regression"];
const ARRAYS_OF_TABLES: [&str; 4] = ["topics", "producers", "consumers", "faults"];

/// Tables written as tables. serde would read `cluster = [3]` field by field in order, as if it
/// said `brokers = 3`; a scenario's tables are read by key only, so anything else is an error.
pub fn shapes(file: &toml::Table) -> Check {
    let root = KeyPath::root();
    for key in TABLES {
        if let Some(value) = file.get(key) {
            if !value.is_table() {
                return fail(
                    root.key(key),
                    format!("`{key}` is {}; expected a table, `[{key}]` with its keys below it", kind(value)),
                );
            }
        }
    }
    for key in ARRAYS_OF_TABLES {
        let Some(value) = file.get(key) else { continue };
        let Some(items) = value.as_array() else {
            return fail(
                root.key(key),
                format!(
                    "`{key}` is {}; expected tables, each written `[[{key}]]` with its keys below it",
                    kind(value)
                ),
            );
        };
        if let Some((i, item)) = items.iter().enumerate().find(|(_, item)| !item.is_table()) {
            return fail(
                root.key(key).index(i),
                format!(
                    "`{key}` holds {}; expected tables, each written `[[{key}]]` with its keys below it",
                    kind(item)
                ),
            );
        }
    }
    Ok(())
}

/// How a TOML value reads in an error: "an array", "an integer".
fn kind(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

pub fn validate(s: &Scenario) -> Check {
    let root = KeyPath::root();
    top_level(s, &root)?;
    times(s)?;
    cluster(s, &root.key("cluster"))?;
    broker(&s.broker, &root.key("broker"))?;
    controller(s, &root)?;
    network(&s.network, &root.key("network"))?;
    topics(s, &root.key("topics"))?;
    let world = World::of(s)?;
    for (i, p) in s.producers.iter().enumerate() {
        producer(s, &world, p, &root.key("producers").index(i))?;
    }
    for (i, c) in s.consumers.iter().enumerate() {
        consumer(&world, c, &root.key("consumers").index(i))?;
    }
    for (i, f) in s.faults.iter().enumerate() {
        fault(s, &world, f, &root.key("faults").index(i))?;
    }
    if let Some(n) = &s.nemesis {
        nemesis(s, &world, n, &root.key("nemesis"))?;
    }
    if let Some(r) = &s.regression {
        regression(r, &root.key("regression"))?;
        if let Some(seed) = s.seed.filter(|&seed| seed != r.seed) {
            return fail(
                root.key("seed"),
                format!(
                    "seed {seed} differs from the [regression] seed {}; expected the one seed the file \
                     reproduces, in either place or both",
                    r.seed
                ),
            );
        }
    }
    Ok(())
}

fn top_level(s: &Scenario, root: &KeyPath) -> Check {
    if s.name.trim().is_empty() {
        return fail(root.key("name"), "name is empty; expected a short name for the scenario");
    }
    if s.description.trim().is_empty() {
        return fail(
            root.key("description"),
            "description is empty; expected a sentence saying what the scenario demonstrates",
        );
    }
    printable(&s.name, &[], &root.key("name"))?;
    printable(&s.description, &['\n', '\t', '\r'], &root.key("description"))?;
    positive(s.duration_ms, &root.key("duration_ms"))?;
    positive(s.liveness_timeout_ms, &root.key("liveness_timeout_ms"))
}

/// Every `*_ms` key, wherever it is, is at most `MAX_MS`.
fn times(s: &Scenario) -> Check {
    match toml::Value::try_from(s) {
        Ok(value) => times_in(&value, &KeyPath::root(), false),
        // Not reachable for a scenario that was just deserialized from TOML.
        Err(e) => fail(KeyPath::root(), format!("the scenario cannot be printed back: {e}")),
    }
}

fn times_in(value: &toml::Value, path: &KeyPath, is_ms: bool) -> Check {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                times_in(v, &path.key(key), key.ends_with("_ms"))?;
            }
        }
        toml::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                times_in(v, &path.index(i), is_ms)?;
            }
        }
        toml::Value::Integer(ms) if is_ms && *ms as u64 > MAX_MS => {
            return fail(
                path.clone(),
                format!("{} {ms} is too long; expected at most {MAX_MS} (about 115 days)", last_key(path)),
            );
        }
        _ => {}
    }
    Ok(())
}

fn cluster(s: &Scenario, path: &KeyPath) -> Check {
    let brokers = s.cluster.brokers;
    if brokers == 0 {
        return fail(path.key("brokers"), "brokers is 0; expected at least 1");
    }
    if brokers > MAX_BROKERS {
        return fail(
            path.key("brokers"),
            format!("brokers {brokers} is too many; expected at most {MAX_BROKERS}"),
        );
    }
    Ok(())
}

fn broker(b: &BrokerSpec, path: &KeyPath) -> Check {
    if b.min_insync_replicas == 0 {
        return fail(path.key("min_insync_replicas"), "min_insync_replicas is 0; expected at least 1");
    }
    // A zero interval or timeout would fire again and again at one instant of simulated time.
    for (key, value) in [
        ("replica_lag_time_max_ms", b.replica_lag_time_max_ms),
        ("replica_socket_timeout_ms", b.replica_socket_timeout_ms),
        ("broker_heartbeat_interval_ms", b.broker_heartbeat_interval_ms),
        ("replica_high_watermark_checkpoint_interval_ms", b.replica_high_watermark_checkpoint_interval_ms),
        ("flush_interval_ms", b.flush_interval_ms),
        ("os_writeback_interval_ms", b.os_writeback_interval_ms),
        ("os_dirty_expire_ms", b.os_dirty_expire_ms),
    ] {
        positive(value, &path.key(key))?;
    }
    fetch_wait_bounds(b, path)
}

/// Kafka's own bounds on a follower's fetch wait (`KafkaConfig.validateValues`, Kafka 3.7:
/// `require(replicaFetchWaitMaxMs <= replicaSocketTimeoutMs, …)` and
/// `require(replicaFetchWaitMaxMs <= replicaLagTimeMaxMs, …)`): a broker configured otherwise
/// refuses to start. Past the first, a follower times out every fetch the leader holds for want
/// of news; past the second, a follower that is caught up but waiting out its fetch drops out of
/// the ISR.
fn fetch_wait_bounds(b: &BrokerSpec, path: &KeyPath) -> Check {
    let wait = b.replica_fetch_wait_max_ms;
    let defaults = BrokerSpec::default();
    for (key, bound, default, why) in [
        (
            "replica_socket_timeout_ms",
            b.replica_socket_timeout_ms,
            defaults.replica_socket_timeout_ms,
            "Kafka requires replica.socket.timeout.ms >= replica.fetch.wait.max.ms: a follower would \
             time out every fetch the leader holds while it has nothing new",
        ),
        (
            "replica_lag_time_max_ms",
            b.replica_lag_time_max_ms,
            defaults.replica_lag_time_max_ms,
            "Kafka requires replica.fetch.wait.max.ms <= replica.lag.time.max.ms: a caught-up follower \
             waiting out its fetch would drop out of the ISR again and again",
        ),
    ] {
        if wait <= bound {
            continue;
        }
        // Name the key the file moved from Kafka's default: that is the line to fix.
        return if bound != default || wait == defaults.replica_fetch_wait_max_ms {
            fail(
                path.key(key),
                format!("{key} {bound} is shorter than replica_fetch_wait_max_ms {wait}; expected at least {wait} ({why})"),
            )
        } else {
            fail(
                path.key("replica_fetch_wait_max_ms"),
                format!("replica_fetch_wait_max_ms {wait} is longer than {key} {bound}; expected at most {bound} ({why})"),
            )
        };
    }
    Ok(())
}

/// The broker session must outlast a missed heartbeat. Kafka states the bound as
/// `broker.heartbeat.interval.ms * 2 <= broker.session.timeout.ms` (KafkaConfig, KAFKA-19432,
/// which logs it as an error: the two settings live on different nodes, broker and controller).
/// A shorter session fences every broker between two heartbeats, so a run without a single
/// fault would fail `liveness`: the harness refuses it.
fn controller(s: &Scenario, root: &KeyPath) -> Check {
    let session = s.controller.broker_session_timeout_ms;
    let session_key = root.key("controller").key("broker_session_timeout_ms");
    positive(session, &session_key)?;
    let heartbeat = s.broker.broker_heartbeat_interval_ms;
    if heartbeat.saturating_mul(2) <= session {
        return Ok(());
    }
    let why =
        "Kafka: broker.heartbeat.interval.ms must be at most half of broker.session.timeout.ms, so that \
               a broker can miss a heartbeat without being fenced";
    if session != ControllerSpec::default().broker_session_timeout_ms
        || heartbeat == BrokerSpec::default().broker_heartbeat_interval_ms
    {
        fail(
            session_key,
            format!(
                "broker_session_timeout_ms {session} is shorter than twice broker.broker_heartbeat_interval_ms \
                 {heartbeat}; expected at least {} ({why})",
                heartbeat * 2
            ),
        )
    } else {
        fail(
            root.key("broker").key("broker_heartbeat_interval_ms"),
            format!(
                "broker_heartbeat_interval_ms {heartbeat} is more than half of \
                 controller.broker_session_timeout_ms {session}; expected at most {} ({why})",
                session / 2
            ),
        )
    }
}

fn network(n: &NetworkSpec, path: &KeyPath) -> Check {
    latency_range(n.latency_min_ms, n.latency_max_ms, path)?;
    // Consumers (the final reader among them) connect with Kafka's default setup timeouts.
    let consumers = broker::config::ConnectionConfig::default();
    let shortest =
        consumers.socket_connection_setup_timeout_ms.min(consumers.socket_connection_setup_timeout_max_ms);
    if 2 * n.latency_max_ms >= shortest {
        return fail(
            path.key("latency_max_ms"),
            format!(
                "latency_max_ms {} makes a connection's handshake, one round trip, take up to {} ms, no less than \
                 the {shortest} ms socket.connection.setup.timeout.ms consumers and the final reader use \
                 (Kafka's default); expected at most {}",
                n.latency_max_ms,
                2 * n.latency_max_ms,
                (shortest - 1) / 2
            ),
        );
    }
    loss_rate(n.packet_loss_rate, &path.key("packet_loss_rate"))
}

/// A connection attempt must be able to outlast its handshake: one round trip, up to twice the
/// network's `latency_max_ms`. A setup timeout no longer than that gives attempts up before the
/// broker can answer, and with the ceiling that short no connection ever completes.
fn setup_timeout(timeout: u64, latency_max_ms: u64, path: &KeyPath) -> Check {
    positive(timeout, path)?;
    let round_trip = 2 * latency_max_ms;
    if timeout <= round_trip {
        let key = last_key(path);
        let harm = if key.ends_with("_max_ms") {
            "with the ceiling that short, no connection could ever complete"
        } else {
            "attempts would give up before the broker can answer"
        };
        return fail(
            path.clone(),
            format!(
                "{key} {timeout} is not longer than a connection's handshake, one round trip of up to {round_trip} ms \
                 (twice network.latency_max_ms {latency_max_ms}); expected at least {}: {harm}",
                round_trip + 1
            ),
        );
    }
    Ok(())
}

fn topics(s: &Scenario, path: &KeyPath) -> Check {
    if s.topics.is_empty() {
        return fail(path.clone(), "no topics; expected at least one [[topics]] table");
    }
    let brokers = s.cluster.brokers;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut replicas = 0u64;
    for (i, t) in s.topics.iter().enumerate() {
        let at = path.index(i);
        if !is_topic_name(&t.name) {
            return fail(
                at.key("name"),
                format!(
                    "`{}` is not a topic name; expected 1 to 249 letters, digits, `.`, `_` or `-`",
                    t.name
                ),
            );
        }
        if t.name.starts_with("__") {
            return fail(
                at.key("name"),
                format!("topic names starting with `__` are reserved for internal topics, like `__consumer_offsets`; \
                         expected another name than `{}`", t.name),
            );
        }
        if let Some(first) = seen.insert(&t.name, i) {
            return fail(
                at.key("name"),
                format!("topic `{}` is already defined by topics[{first}]; expected each topic once", t.name),
            );
        }
        if t.partitions == 0 {
            return fail(at.key("partitions"), "partitions is 0; expected at least 1");
        }
        if t.partitions > MAX_PARTITIONS {
            return fail(
                at.key("partitions"),
                format!("partitions {} is too many; expected at most {MAX_PARTITIONS}", t.partitions),
            );
        }
        let rf = t.replication_factor;
        if rf == 0 {
            return fail(at.key("replication_factor"), "replication_factor is 0; expected at least 1");
        }
        if rf > brokers {
            return fail(
                at.key("replication_factor"),
                format!(
                    "replication_factor {rf} is larger than the {brokers} broker{}; expected at most {brokers}",
                    plural(brokers as usize)
                ),
            );
        }
        replicas += u64::from(t.partitions) * u64::from(rf);
        if replicas > MAX_REPLICAS {
            return fail(
                at.clone(),
                format!(
                    "the topics up to this one have {replicas} replicas (partitions × replication_factor, \
                     summed); expected at most {MAX_REPLICAS} in all"
                ),
            );
        }
        match t.min_insync_replicas {
            Some(0) => {
                return fail(at.key("min_insync_replicas"), "min_insync_replicas is 0; expected at least 1")
            }
            Some(m) if m > rf => {
                return fail(
                    at.key("min_insync_replicas"),
                    format!(
                    "min_insync_replicas {m} is larger than replication_factor {rf}; expected at most {rf}"
                ),
                )
            }
            None if s.broker.min_insync_replicas > rf => {
                let m = s.broker.min_insync_replicas;
                return fail(
                    KeyPath::root().key("broker").key("min_insync_replicas"),
                    format!(
                        "min_insync_replicas {m} is larger than replication_factor {rf} of topic `{}`, \
                         which inherits it; expected at most {rf}, or a min_insync_replicas of the topic's own",
                        t.name
                    ),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// The nodes and topics a scenario defines, for resolving names.
struct World<'a> {
    /// Every node a target may name, in layout order (brokers, controller, producers, consumers).
    nodes: Vec<String>,
    topics: BTreeMap<&'a str, &'a TopicSpec>,
}

impl<'a> World<'a> {
    /// Collects node names, checking that client names are well-formed and unique.
    fn of(s: &'a Scenario) -> Result<World<'a>, Problem> {
        let root = KeyPath::root();
        for (key, len) in [("producers", s.producers.len()), ("consumers", s.consumers.len())] {
            if len > MAX_CLIENTS_PER_KIND {
                return Err(Problem {
                    path: root.key(key),
                    message: format!("{len} {key} are too many; expected at most {MAX_CLIENTS_PER_KIND}"),
                });
            }
        }
        // Name → where it was defined, for "already used by" messages.
        let mut owners: BTreeMap<String, String> = BTreeMap::new();
        let mut nodes = Vec::new();
        for b in 1..=s.cluster.brokers {
            owners.insert(format!("broker-{b}"), "a broker".to_string());
            nodes.push(format!("broker-{b}"));
        }
        nodes.push("controller".to_string());
        let clients = s
            .producers
            .iter()
            .enumerate()
            .map(|(i, p)| ("producers", i, p.name.as_deref(), producer_name(i, p)))
            .chain(
                s.consumers
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ("consumers", i, c.name.as_deref(), consumer_name(i, c))),
            );
        for (kind, i, explicit, name) in clients {
            let at = root.key(kind).index(i);
            if let Some(explicit) = explicit {
                client_name(explicit, &at.key("name"))?;
            }
            let here = match explicit {
                Some(_) => format!("{kind}[{i}].name"),
                None => format!("{kind}[{i}] (its default name)"),
            };
            if let Some(owner) = owners.get(&name) {
                let (path, fix) = match explicit {
                    Some(_) => (at.key("name"), "expected a name no other node has"),
                    None => (at, "expected a `name` for one of them"),
                };
                return Err(Problem {
                    path,
                    message: format!("node name `{name}` of {here} is already used by {owner}; {fix}"),
                });
            }
            owners.insert(name.clone(), here);
            nodes.push(name);
        }
        let topics = s.topics.iter().map(|t| (t.name.as_str(), t)).collect();
        Ok(World { nodes, topics })
    }

    fn topic(&self, name: &str, path: &KeyPath) -> Result<&'a TopicSpec, Problem> {
        self.topics.get(name).copied().ok_or_else(|| Problem {
            path: path.clone(),
            message: format!("unknown topic `{name}`; expected one of {}", listing(self.topics.keys())),
        })
    }

    fn has_node(&self, name: &str) -> bool {
        self.nodes.iter().any(|n| n == name)
    }

    fn unknown_node(&self, name: &str, path: &KeyPath) -> Problem {
        let message = if name == "final-reader" {
            "the final reader runs after the fault phase and cannot be a fault target; \
             expected a broker, the controller, a producer or a consumer"
                .to_string()
        } else {
            format!("unknown node `{name}`; expected one of {}", listing(self.nodes.iter()))
        };
        Problem { path: path.clone(), message }
    }

    /// Parses a target and checks that what it names exists.
    fn target(&self, text: &str, path: &KeyPath) -> Result<Target, Problem> {
        let target = Target::parse(text).map_err(|message| Problem { path: path.clone(), message })?;
        match &target {
            Target::Node(name) if !self.has_node(name) => return Err(self.unknown_node(name, path)),
            _ => {}
        }
        if let Some(tp) = target.topic_partition() {
            let topic = self.topic(&tp.topic, path)?;
            if tp.partition >= topic.partitions {
                return Err(Problem {
                    path: path.clone(),
                    message: format!(
                        "partition {} of topic `{}` does not exist; expected 0 to {} (the topic has {} partition{})",
                        tp.partition,
                        tp.topic,
                        topic.partitions - 1,
                        topic.partitions,
                        plural(topic.partitions as usize)
                    ),
                });
            }
        }
        Ok(target)
    }
}

fn client_name(name: &str, path: &KeyPath) -> Check {
    if !is_name(name) {
        return fail(
            path.clone(),
            format!("`{name}` is not a node name; expected letters, digits, `.`, `_` or `-`"),
        );
    }
    if is_broker_name(name) || RESERVED_NAMES.contains(&name) {
        return fail(
            path.clone(),
            format!(
                "`{name}` is reserved for {}; expected another name",
                if is_broker_name(name) { "brokers" } else { "the harness" }
            ),
        );
    }
    Ok(())
}

fn producer(s: &Scenario, world: &World<'_>, p: &ProducerSpec, path: &KeyPath) -> Check {
    world.topic(&p.topic, &path.key("topic"))?;
    if p.messages > MAX_MESSAGES {
        return fail(
            path.key("messages"),
            format!(
                "messages {} is too many; expected at most {MAX_MESSAGES} (each value numbers its send \
                 in 32 bits)",
                p.messages
            ),
        );
    }
    let rate = p.messages_per_sec;
    if !(rate.is_finite() && rate > 0.0) {
        return fail(
            path.key("messages_per_sec"),
            format!("messages_per_sec {rate} is not a positive rate; expected a number greater than 0"),
        );
    }
    within_fault_phase(s, p.start_ms, &path.key("start_ms"))?;
    positive(u64::from(p.record_size_bytes), &path.key("record_size_bytes"))?;
    positive(p.request_timeout_ms, &path.key("request_timeout_ms"))?;
    let latency_max_ms = s.network.latency_max_ms;
    setup_timeout(
        p.socket_connection_setup_timeout_ms,
        latency_max_ms,
        &path.key("socket_connection_setup_timeout_ms"),
    )?;
    setup_timeout(
        p.socket_connection_setup_timeout_max_ms,
        latency_max_ms,
        &path.key("socket_connection_setup_timeout_max_ms"),
    )?;
    if p.delivery_timeout_ms < p.request_timeout_ms {
        return fail(
            path.key("delivery_timeout_ms"),
            format!(
                "delivery_timeout_ms {} is shorter than request_timeout_ms {}; expected at least {} \
                 (Kafka requires delivery.timeout.ms >= request.timeout.ms)",
                p.delivery_timeout_ms, p.request_timeout_ms, p.request_timeout_ms
            ),
        );
    }
    if let Some(bound) = p.max_stall_ms {
        positive(bound, &path.key("max_stall_ms"))?;
    }
    if p.max_in_flight_requests_per_connection == 0 {
        return fail(
            path.key("max_in_flight_requests_per_connection"),
            "max_in_flight_requests_per_connection is 0; expected at least 1",
        );
    }
    Ok(())
}

fn consumer(world: &World<'_>, c: &ConsumerSpec, path: &KeyPath) -> Check {
    for (j, topic) in c.topics.iter().enumerate() {
        let at = path.key("topics").index(j);
        world.topic(topic, &at)?;
        if c.topics[..j].contains(topic) {
            return fail(at, format!("topic `{topic}` is listed twice; expected each topic once"));
        }
    }
    if let Some(bound) = c.max_stall_ms {
        positive(bound, &path.key("max_stall_ms"))?;
    }
    Ok(())
}

/// The optional keys of a fault, in the order they are checked and reported.
const FAULT_KEYS: [&str; 7] =
    ["target", "groups", "one_way", "for_ms", "rate", "latency_min_ms", "latency_max_ms"];

fn present(f: &FaultSpec, key: &str) -> bool {
    match key {
        "target" => f.target.is_some(),
        "groups" => f.groups.is_some(),
        "one_way" => f.one_way,
        "for_ms" => f.for_ms.is_some(),
        "rate" => f.rate.is_some(),
        "latency_min_ms" => f.latency_min_ms.is_some(),
        "latency_max_ms" => f.latency_max_ms.is_some(),
        _ => false,
    }
}

/// Keys each kind takes (beyond `at_ms` and `fault`); the first `required` of them are needed.
/// For `partition`, exactly one of `target` and `groups` is needed, checked separately.
fn fault_keys(kind: FaultKind) -> (&'static [&'static str], usize) {
    match kind {
        FaultKind::Partition => (&["target", "groups", "one_way", "for_ms"], 0),
        FaultKind::Heal => (&[], 0),
        FaultKind::Crash | FaultKind::PowerLoss | FaultKind::Pause => (&["target", "for_ms"], 1),
        FaultKind::Restart | FaultKind::Resume => (&["target"], 1),
        FaultKind::PacketLoss => (&["rate", "for_ms"], 1),
        FaultKind::Latency => (&["latency_min_ms", "latency_max_ms", "for_ms"], 2),
    }
}

pub fn kind_name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Partition => "partition",
        FaultKind::Heal => "heal",
        FaultKind::Crash => "crash",
        FaultKind::Restart => "restart",
        FaultKind::PowerLoss => "power-loss",
        FaultKind::Pause => "pause",
        FaultKind::Resume => "resume",
        FaultKind::PacketLoss => "packet-loss",
        FaultKind::Latency => "latency",
    }
}

fn what_it_needs(key: &str, kind: FaultKind) -> &'static str {
    match (key, kind) {
        ("target", FaultKind::Crash) => {
            "the nodes to crash, e.g. target = \"broker-1\" or \"leader(orders/0)\""
        }
        ("target", FaultKind::PowerLoss) => {
            "the nodes to power off, e.g. target = \"broker-1\" or \"leader(orders/0)\""
        }
        ("target", FaultKind::Pause) => {
            "the nodes to pause, e.g. target = \"broker-1\" or \"leader(orders/0)\""
        }
        ("target", FaultKind::Restart) => "the crashed nodes to restart, e.g. target = \"broker-1\"",
        ("target", FaultKind::Resume) => "the paused nodes to resume, e.g. target = \"broker-1\"",
        ("rate", _) => "the probability that a packet is lost, from 0 up to, but not including, 1",
        ("latency_min_ms", _) | ("latency_max_ms", _) => "the range each message's latency is drawn from",
        _ => "",
    }
}

fn fault(s: &Scenario, world: &World<'_>, f: &FaultSpec, path: &KeyPath) -> Check {
    let kind = f.fault;
    let name = kind_name(kind);
    if f.at_ms > s.duration_ms {
        return fail(
            path.key("at_ms"),
            format!(
                "at_ms {} is after the end of the fault phase (duration_ms {}); expected at most {}",
                f.at_ms, s.duration_ms, s.duration_ms
            ),
        );
    }
    let (takes, required) = fault_keys(kind);
    for key in FAULT_KEYS {
        if present(f, key) && !takes.contains(&key) {
            let why = if key == "for_ms" {
                format!(" (a `{name}` undoes another fault and cannot itself be undone)")
            } else {
                String::new()
            };
            let takes = if takes.is_empty() {
                "takes no other keys".to_string()
            } else {
                format!("takes {}", listing(takes.iter()))
            };
            return fail(
                path.key(key),
                format!("`{key}` does not apply to a `{name}` fault{why}; a `{name}` fault {takes}"),
            );
        }
    }
    for key in &takes[..required] {
        if !present(f, key) {
            return fail(
                path.key(key),
                format!("a `{name}` fault needs `{key}`: {}", what_it_needs(key, kind)),
            );
        }
    }
    if kind == FaultKind::Partition {
        match (&f.target, &f.groups) {
            (None, None) => {
                return fail(
                    path.clone(),
                    "a `partition` fault needs `target` (the nodes to cut off from all others) \
                     or `groups` (the sides of the partition)",
                )
            }
            (Some(_), Some(_)) => {
                return fail(path.key("groups"), "a `partition` fault takes `target` or `groups`, not both")
            }
            _ => {}
        }
    }
    if let Some(targets) = &f.target {
        fault_targets(world, targets, &path.key("target"))?;
    }
    if let Some(groups) = &f.groups {
        partition_groups(world, groups, &path.key("groups"))?;
    }
    if f.for_ms == Some(0) {
        return fail(path.key("for_ms"), "for_ms is 0; expected at least 1");
    }
    if let Some(rate) = f.rate {
        loss_rate(rate, &path.key("rate"))?;
    }
    if let (Some(min), Some(max)) = (f.latency_min_ms, f.latency_max_ms) {
        latency_range(min, max, path)?;
    }
    Ok(())
}

fn fault_targets(world: &World<'_>, targets: &Targets, path: &KeyPath) -> Check {
    match targets {
        Targets::One(t) => world.target(t, path).map(drop),
        Targets::Many(ts) if ts.is_empty() => {
            fail(path.clone(), "the target list is empty; expected at least one target")
        }
        Targets::Many(ts) => {
            for (j, t) in ts.iter().enumerate() {
                world.target(t, &path.index(j))?;
            }
            Ok(())
        }
    }
}

fn partition_groups(world: &World<'_>, groups: &[Vec<String>], path: &KeyPath) -> Check {
    if groups.len() < 2 {
        return fail(
            path.clone(),
            format!(
                "{} group{}; expected at least two groups, e.g. groups = [[\"broker-1\"], [\"broker-2\", \"broker-3\"]]",
                groups.len(),
                plural(groups.len())
            ),
        );
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        if group.is_empty() {
            return fail(path.index(g), "empty group; expected at least one node name");
        }
        for (j, name) in group.iter().enumerate() {
            let at = path.index(g).index(j);
            if !world.has_node(name) {
                let problem = match Target::parse(name) {
                    Ok(Target::Node(_)) | Err(_) => world.unknown_node(name, &at),
                    Ok(_) => Problem {
                        path: at,
                        message: format!(
                            "`{name}` is not a node name; groups list fixed nodes (`broker-1`, `controller`, \
                             a producer or consumer), use `target` for roles resolved when the fault fires"
                        ),
                    },
                };
                return Err(problem);
            }
            if let Some(first) = seen.insert(name, g) {
                let message = if first == g {
                    format!("node `{name}` is listed twice in this group; expected each node once")
                } else {
                    format!("node `{name}` is already in groups[{first}]; expected each node in one group")
                };
                return fail(at, message);
            }
        }
    }
    Ok(())
}

fn nemesis(s: &Scenario, world: &World<'_>, n: &NemesisSpec, path: &KeyPath) -> Check {
    let drawable = || listing(NEMESIS_KINDS.iter().map(|&k| kind_name(k)));
    if n.faults.is_empty() {
        return fail(
            path.key("faults"),
            format!("no fault kinds to draw from; expected one or more of {}", drawable()),
        );
    }
    for (j, &kind) in n.faults.iter().enumerate() {
        if !NEMESIS_KINDS.contains(&kind) {
            return fail(
                path.key("faults").index(j),
                format!(
                    "the nemesis cannot draw `{}`: it undoes each fault itself; expected one of {}",
                    kind_name(kind),
                    drawable()
                ),
            );
        }
    }
    if n.targets.is_empty() {
        return fail(
            path.key("targets"),
            "no targets to draw from; expected at least one, e.g. targets = [\"random-broker\"]",
        );
    }
    for (j, t) in n.targets.iter().enumerate() {
        world.target(t, &path.key("targets").index(j))?;
    }
    within_fault_phase(s, n.start_ms, &path.key("start_ms"))?;
    range(n.gap_min_ms, n.gap_max_ms, path, "gap_min_ms", "gap_max_ms")?;
    positive(n.duration_min_ms, &path.key("duration_min_ms"))?;
    range(n.duration_min_ms, n.duration_max_ms, path, "duration_min_ms", "duration_max_ms")?;
    if !(1..=MAX_CONCURRENT_FAULTS).contains(&n.concurrent_faults) {
        return fail(
            path.key("concurrent_faults"),
            format!(
                "concurrent_faults {} is out of range; expected 1 to {MAX_CONCURRENT_FAULTS}",
                n.concurrent_faults
            ),
        );
    }
    loss_rate(n.packet_loss_rate, &path.key("packet_loss_rate"))
}

/// The most fault streams a nemesis may run at once.
const MAX_CONCURRENT_FAULTS: u32 = 8;

fn regression(r: &RegressionSpec, path: &KeyPath) -> Check {
    if !crate::scenario::CHECKER_NAMES.contains(&r.checker.as_str()) {
        return fail(
            path.key("checker"),
            format!(
                "unknown checker `{}`; expected one of {}",
                r.checker,
                listing(crate::scenario::CHECKER_NAMES.iter())
            ),
        );
    }
    Ok(())
}

/// Text printed in reports, summaries and `list`: no control characters, which would garble a
/// terminal (an escape sequence) or split the line a report gives a scenario, save the `allowed`
/// ones (a description's lines).
fn printable(text: &str, allowed: &[char], path: &KeyPath) -> Check {
    match text.chars().find(|c| c.is_control() && !allowed.contains(c)) {
        Some(c) => fail(
            path.clone(),
            format!(
                "{} {text:?} holds the control character U+{:04X}; expected printable text{}",
                last_key(path),
                u32::from(c),
                if allowed.is_empty() { "" } else { " (lines and tabs are fine)" }
            ),
        ),
        None => Ok(()),
    }
}

fn positive(value: u64, path: &KeyPath) -> Check {
    if value == 0 {
        return fail(path.clone(), format!("{} is 0; expected at least 1", last_key(path)));
    }
    Ok(())
}

/// A packet loss probability: from 0 up to, not including, 1. At 1 every transmission would be
/// lost, and only the bound on retransmissions (`net::TCP_RETRIES2`) would let anything through.
fn loss_rate(p: f64, path: &KeyPath) -> Check {
    if !(0.0..1.0).contains(&p) {
        return fail(
            path.clone(),
            format!(
                "{} {p} is not a packet loss probability below 1; expected a number from 0 up to, \
                 but not including, 1 (at 1 every transmission would be lost)",
                last_key(path)
            ),
        );
    }
    Ok(())
}

/// A latency range: at least 1 ms, min <= max. The simulated clock counts whole milliseconds, so
/// at 0 a message arrives the instant it is sent, and an exchange answered at once (a fetch that
/// waits 0 ms, a retry without backoff) would repeat at one instant for ever, time never passing.
fn latency_range(min: u64, max: u64, table: &KeyPath) -> Check {
    if min == 0 {
        return fail(
            table.key("latency_min_ms"),
            "latency_min_ms is 0; expected at least 1 (the simulated clock counts whole milliseconds: at 0 a \
             message arrives the instant it is sent, and a request answered at once, such as a fetch that \
             waits 0 ms, would repeat at one instant for ever without time passing)",
        );
    }
    range(min, max, table, "latency_min_ms", "latency_max_ms")
}

fn range(min: u64, max: u64, table: &KeyPath, min_key: &str, max_key: &str) -> Check {
    if min > max {
        return fail(
            table.key(min_key),
            format!("{min_key} {min} is larger than {max_key} {max}; expected {min_key} <= {max_key}"),
        );
    }
    Ok(())
}

fn within_fault_phase(s: &Scenario, at: u64, path: &KeyPath) -> Check {
    if at > s.duration_ms {
        return fail(
            path.clone(),
            format!(
                "{} {at} is after the end of the fault phase (duration_ms {}); expected at most {}",
                last_key(path),
                s.duration_ms,
                s.duration_ms
            ),
        );
    }
    Ok(())
}

fn last_key(path: &KeyPath) -> String {
    let full = path.to_string();
    full.rsplit('.').next().unwrap_or(&full).to_string()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// "`a`, `b`, `c`", shortened after a dozen.
fn listing<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    const SHOWN: usize = 12;
    let items: Vec<String> = items.into_iter().map(|s| format!("`{}`", s.as_ref())).collect();
    if items.len() > SHOWN {
        format!("{}, … ({} in all)", items[..SHOWN].join(", "), items.len())
    } else {
        items.join(", ")
    }
}
