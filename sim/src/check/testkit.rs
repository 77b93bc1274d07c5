//! A builder for hand-written histories, so checker tests read like the run they describe:
//!
//! ```ignore
//! let mut run = Run::new().with_producer("acks = 1");
//! run.send("producer-1", "orders/0", 7).ok(7, 0);
//! run.converged().final_read("orders/0", &[]);
//! ```
//!
//! The scenario: 3 brokers, topic `orders` with 2 partitions and replication factor 3,
//! `broker.min_insync_replicas = 2` (inherited by the topic), producers `producer-1` and
//! `producer-2` at acks=all with Kafka's other defaults, and one consumer `consumer-1` reading
//! every topic. The `with_*` methods merge TOML keys into the broker, topic, producer or consumer
//! tables. Each recorded
//! event advances the clock by 10 ms, except the replicas of one snapshot group.

use super::{CheckInput, Checker, Violation};
use crate::history::{History, Op, Phase, ReadRecord, StoredRecord};
use crate::layout::{Layout, CONTROLLER, FINAL_READER};
use crate::scenario::Scenario;
use broker::effect::ReplicaEvent;
use broker::types::{Epoch, Millis, NodeId, Offset, TopicPartition};

const BASE: &str = r#"
name = "test"
description = "a hand-built history"

[broker]
min_insync_replicas = 2

[[topics]]
name = "orders"
partitions = 2

[[producers]]
topic = "orders"

[[producers]]
topic = "orders"

[[consumers]]
"#;

/// One replica's log in a snapshot: (broker, partition, high watermark, [(offset, epoch, value)]).
pub type ReplicaLog<'a> = (&'a str, &'a str, Offset, &'a [(Offset, Epoch, u64)]);

pub struct Run {
    config: toml::Table,
    pub scenario: Scenario,
    pub layout: Layout,
    pub history: History,
    now: Millis,
}

impl Run {
    pub fn new() -> Run {
        Run::from_config(toml::from_str(BASE).expect("base scenario"))
    }

    fn from_config(config: toml::Table) -> Run {
        let scenario = parse(&config);
        let layout = Layout::of(&scenario);
        let history = History { node_names: layout.names().clone(), events: Vec::new() };
        Run { config, scenario, layout, history, now: 1_000 }
    }

    /// Sets keys of the `[broker]` table.
    pub fn with_broker(self, keys: &str) -> Run {
        self.merged(keys, |config| config.get_mut("broker"))
    }

    /// Sets keys of the `orders` topic.
    pub fn with_topic(self, keys: &str) -> Run {
        self.merged(keys, |config| config.get_mut("topics").and_then(|t| t.get_mut(0)))
    }

    /// Sets keys of the consumer.
    pub fn with_consumer(self, keys: &str) -> Run {
        self.merged(keys, |config| config.get_mut("consumers").and_then(|c| c.get_mut(0)))
    }

    /// Sets keys of every producer.
    pub fn with_producer(self, keys: &str) -> Run {
        self.merged(keys, |config| config.get_mut("producers").and_then(|p| p.get_mut(0)))
            .merged(keys, |config| config.get_mut("producers").and_then(|p| p.get_mut(1)))
    }

    fn merged(mut self, keys: &str, table: impl Fn(&mut toml::Table) -> Option<&mut toml::Value>) -> Run {
        assert!(self.history.events.is_empty(), "configure the run before recording events");
        let keys: toml::Table = toml::from_str(keys).expect("TOML keys");
        let target = table(&mut self.config).and_then(toml::Value::as_table_mut).expect("table");
        target.extend(keys);
        Run::from_config(self.config)
    }

    pub fn input(&self) -> CheckInput<'_> {
        CheckInput { scenario: &self.scenario, layout: &self.layout, history: &self.history }
    }

    pub fn check(&self, checker: &dyn Checker) -> Vec<Violation> {
        checker.check(&self.input())
    }

    /// Moves the clock to `time_ms`.
    pub fn at(&mut self, time_ms: Millis) -> &mut Self {
        self.now = time_ms;
        self
    }

    fn record(&mut self, node: NodeId, op: Op) -> &mut Self {
        self.history.push(self.now, node, op);
        self.now += 10;
        self
    }

    pub fn node(&self, name: &str) -> NodeId {
        self.layout.by_name(name).unwrap_or_else(|| panic!("no node named {name}"))
    }

    fn sender_of(&self, value: u64) -> NodeId {
        self.history
            .events
            .iter()
            .find(|e| matches!(e.op, Op::SendInvoke { value: v, .. } if v == value))
            .map_or(CONTROLLER, |e| e.node)
    }

    // Client operations.

    pub fn send(&mut self, producer: &str, tp: &str, value: u64) -> &mut Self {
        let node = self.node(producer);
        self.record(node, Op::SendInvoke { tp: parse_tp(tp), key: None, value })
    }

    pub fn ok(&mut self, value: u64, offset: Offset) -> &mut Self {
        self.record(self.sender_of(value), Op::SendOk { value, offset: Some(offset), broker: NodeId(1) })
    }

    /// Acknowledged without an offset, as acks=0 is.
    pub fn ok_without_offset(&mut self, value: u64) -> &mut Self {
        self.record(self.sender_of(value), Op::SendOk { value, offset: None, broker: NodeId(1) })
    }

    pub fn fail(&mut self, value: u64) -> &mut Self {
        let error = "NOT_ENOUGH_REPLICAS".to_string();
        self.record(self.sender_of(value), Op::SendFail { value, error })
    }

    pub fn info(&mut self, value: u64) -> &mut Self {
        let reason = "request timed out".to_string();
        self.record(self.sender_of(value), Op::SendInfo { value, reason })
    }

    pub fn poll(&mut self, consumer: &str, tp: &str, records: &[(Offset, u64)]) -> &mut Self {
        let node = self.node(consumer);
        self.record(node, Op::Poll { tp: parse_tp(tp), records: read(records) })
    }

    pub fn seek(&mut self, consumer: &str, tp: &str, from: Offset, to: Offset) -> &mut Self {
        let node = self.node(consumer);
        self.record(node, Op::Seek { tp: parse_tp(tp), from, to })
    }

    /// The harness's look at a consumer when the liveness phase ends.
    pub fn consumer_position(
        &mut self,
        consumer: &str,
        tp: &str,
        position: Option<Offset>,
        high_watermark: Option<Offset>,
    ) -> &mut Self {
        let node = self.node(consumer);
        self.record(node, Op::ConsumerPosition { tp: parse_tp(tp), position, high_watermark })
    }

    pub fn final_read(&mut self, tp: &str, records: &[(Offset, u64)]) -> &mut Self {
        self.record(FINAL_READER, Op::FinalRead { tp: parse_tp(tp), records: read(records) })
    }

    // Replica events.

    pub fn replica(&mut self, node: &str, event: ReplicaEvent) -> &mut Self {
        let node = self.node(node);
        self.record(node, Op::Replica(event))
    }

    pub fn became_leader(&mut self, broker: &str, tp: &str, epoch: Epoch) -> &mut Self {
        self.became_leader_at(broker, tp, epoch, 0)
    }

    /// `broker` begins leading `tp` in `epoch` with its log ending at `log_end_offset`.
    pub fn became_leader_at(
        &mut self,
        broker: &str,
        tp: &str,
        epoch: Epoch,
        log_end_offset: Offset,
    ) -> &mut Self {
        let tp = parse_tp(tp);
        let event = ReplicaEvent::BecameLeader { tp, epoch, log_end_offset, high_watermark: 0 };
        self.replica(broker, event)
    }

    pub fn became_follower(&mut self, broker: &str, tp: &str, epoch: Epoch, leader: &str) -> &mut Self {
        let leader = self.node(leader);
        self.replica(broker, ReplicaEvent::BecameFollower { tp: parse_tp(tp), epoch, leader })
    }

    pub fn high_watermark(
        &mut self,
        broker: &str,
        tp: &str,
        epoch: Epoch,
        hw: Offset,
        leader: bool,
    ) -> &mut Self {
        // The log end does not matter here: the replica holds everything up to its HW.
        let event = ReplicaEvent::HighWatermark {
            tp: parse_tp(tp),
            epoch,
            high_watermark: hw,
            log_end_offset: hw,
            leader,
        };
        self.replica(broker, event)
    }

    /// A replica reports a high watermark with its own log end.
    pub fn high_watermark_at_log_end(
        &mut self,
        broker: &str,
        tp: &str,
        hw: Offset,
        log_end_offset: Offset,
    ) -> &mut Self {
        let event = ReplicaEvent::HighWatermark {
            tp: parse_tp(tp),
            epoch: 0,
            high_watermark: hw,
            log_end_offset,
            leader: false,
        };
        self.replica(broker, event)
    }

    /// The controller elects `leader` ("none" for no leader) cleanly.
    pub fn elected(&mut self, tp: &str, epoch: Epoch, leader: &str) -> &mut Self {
        self.election(tp, epoch, leader, false)
    }

    pub fn unclean_election(&mut self, tp: &str, epoch: Epoch, leader: &str) -> &mut Self {
        self.election(tp, epoch, leader, true)
    }

    fn election(&mut self, tp: &str, epoch: Epoch, leader: &str, unclean: bool) -> &mut Self {
        let leader = (leader != "none").then(|| self.node(leader));
        let event = ReplicaEvent::LeaderElected { tp: parse_tp(tp), epoch, leader, unclean };
        self.replica("controller", event)
    }

    pub fn isr(&mut self, tp: &str, epoch: Epoch, isr: &[&str]) -> &mut Self {
        let isr = isr.iter().map(|b| self.node(b)).collect();
        self.replica("controller", ReplicaEvent::IsrChanged { tp: parse_tp(tp), epoch, isr })
    }

    /// A snapshot group: every listed replica log sampled at the same instant.
    pub fn snapshot(&mut self, logs: &[ReplicaLog]) -> &mut Self {
        for &(broker, tp, high_watermark, records) in logs {
            let records =
                records.iter().map(|&(offset, epoch, value)| StoredRecord { offset, epoch, value }).collect();
            let node = self.node(broker);
            self.history.push(self.now, node, Op::ReplicaLog { tp: parse_tp(tp), high_watermark, records });
        }
        self.now += 10;
        self
    }

    // The harness.

    pub fn fault(&mut self, fault: &str, nodes: &[&str]) -> &mut Self {
        let nodes: Vec<NodeId> = nodes.iter().map(|n| self.node(n)).collect();
        let op = Op::Fault { fault: fault.to_string(), nodes: nodes.clone(), detail: String::new() };
        self.record(nodes.first().copied().unwrap_or(CONTROLLER), op)
    }

    /// `broker` loses power, and with it the unflushed records `to..from` of `tp`'s log.
    pub fn power_loss(&mut self, broker: &str, tp: &str, from: Offset, to: Offset) -> &mut Self {
        let node = self.node(broker);
        let fault = Op::Fault { fault: "power-loss".to_string(), nodes: vec![node], detail: String::new() };
        self.history.push(self.now, node, fault);
        self.replica(broker, ReplicaEvent::LostUnflushed { tp: parse_tp(tp), from, to })
    }

    pub fn phase(&mut self, phase: Phase) -> &mut Self {
        self.record(CONTROLLER, Op::Phase(phase))
    }

    pub fn healed(&mut self) -> &mut Self {
        self.phase(Phase::Healed)
    }

    pub fn converged(&mut self) -> &mut Self {
        self.phase(Phase::Converged)
    }

    pub fn not_converged(&mut self) -> &mut Self {
        self.phase(Phase::NotConverged)
    }
}

fn parse(config: &toml::Table) -> Scenario {
    toml::from_str(&toml::to_string(config).expect("TOML")).expect("test scenario")
}

pub fn parse_tp(tp: &str) -> TopicPartition {
    let (topic, partition) = tp.split_once('/').expect("topic/partition");
    TopicPartition::new(topic, partition.parse().expect("partition number"))
}

fn read(records: &[(Offset, u64)]) -> Vec<ReadRecord> {
    records.iter().map(|&(offset, value)| ReadRecord { offset, value }).collect()
}

/// The checker's messages, for asserting on fragments.
pub fn messages(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.message.as_str()).collect()
}
