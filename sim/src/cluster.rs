//! The simulated cluster: one madsim node per broker, controller and client, the network between
//! them, the shared history, and the operations faults are made of (crash, power loss, restart,
//! pause, resume, partition, heal, network changes), each taking the [`Hold`] of the fault it
//! serves so that overlapping faults compose (see `holds`). Also the harness's read-only probes:
//! convergence and replica-log snapshots.

use crate::budget::Budget;
use crate::clock::Clock;
use crate::entropy::Entropy;
use crate::history::{History, Op, StoredRecord};
use crate::holds::{Cuts, Hold, Link, NetLayer, NetLayers, Released};
use crate::layout::{Layout, CONTROLLER, FINAL_READER};
use crate::net::{NetConfig, NetStats, Network};
use crate::node::{network_liveness, node_main, Halt, NodeContext, NodeSlot, Running, Stored};
use crate::reader::ConsumerApp;
use crate::scenario::Scenario;
use crate::settings;
use crate::workload::{ProducerApp, ProducerPlan};
use broker::broker::BrokerBoot;
use broker::config::ConsumerConfig;
use broker::controller::ControllerState;
use broker::metadata::MetadataImage;
use broker::types::{Millis, NodeId, TopicPartition};
use madsim::runtime::{Handle, NodeHandle};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

pub struct Cluster {
    pub layout: Layout,
    pub clock: Clock,
    pub net: Arc<Mutex<Network>>,
    pub history: Arc<Mutex<History>>,
    pub partitions: Vec<TopicPartition>,
    /// The scenario's network settings with the network faults in force laid over them.
    net_layers: NetLayers,
    /// The partitions in force and the links each cuts.
    cuts: Cuts,
    /// When a `heal` last released every partition.
    last_heal_ms: Option<Millis>,
    /// The next fault's hold.
    next_hold: u64,
    /// Every node's slot, network and history handles, as its task holds them.
    nodes: BTreeMap<NodeId, NodeContext>,
    pub budget: Budget,
    handles: BTreeMap<NodeId, NodeHandle>,
    /// Each node that is down, with the hold of the fault that took it down.
    down: BTreeMap<NodeId, Hold>,
    /// Each paused node, with the hold of the fault that paused it.
    paused: BTreeMap<NodeId, Hold>,
    /// Kept for the final reader, which starts after the fault phase.
    entropy: Entropy,
    /// The partitions each consumer reads, in order.
    consumer_reads: BTreeMap<NodeId, Vec<TopicPartition>>,
}

/// The random stream a client node's clients draw their jitter from: one per node, so that one
/// client's draws never shift another's.
fn client_stream(layout: &Layout, node: NodeId) -> String {
    format!("client/{}", layout.name(node))
}

impl Cluster {
    /// Creates and starts every node of the scenario; every node's steps and every recorded
    /// event count against `budget`.
    pub fn start(scenario: &Scenario, clock: Clock, entropy: &Entropy, budget: Budget) -> Cluster {
        let layout = Layout::of(scenario);
        let base_net = settings::net_config(&scenario.network);
        let net = Network::new(base_net.clone(), entropy.stream("network"), clock);
        let history = History { node_names: layout.names().clone(), events: Vec::new() };
        let mut cluster = Cluster {
            partitions: settings::all_partitions(scenario),
            layout,
            clock,
            net: Arc::new(Mutex::new(net)),
            history: Arc::new(Mutex::new(history)),
            net_layers: NetLayers::new(base_net),
            cuts: Cuts::default(),
            last_heal_ms: None,
            next_hold: 0,
            nodes: BTreeMap::new(),
            budget,
            handles: BTreeMap::new(),
            down: BTreeMap::new(),
            paused: BTreeMap::new(),
            entropy: *entropy,
            consumer_reads: BTreeMap::new(),
        };
        let topics = settings::topic_configs(scenario);
        let state = ControllerState::new_cluster(&cluster.layout.brokers, &topics);
        let controller = NodeSlot::controller(CONTROLLER, settings::controller_config(scenario), state);
        cluster.add_node(controller);
        for &id in &cluster.layout.brokers.clone() {
            let boot = BrokerBoot {
                id,
                controller: CONTROLLER,
                config: settings::broker_config(scenario),
                topics: topics.clone(),
            };
            cluster.add_node(NodeSlot::broker(boot));
        }
        for (i, (spec, &id)) in scenario.producers.iter().zip(&cluster.layout.producers.clone()).enumerate() {
            let topic = topics.iter().find(|t| *t.name == spec.topic).expect("validated topic");
            let app = ProducerApp::new(ProducerPlan {
                index: i as u32,
                topic: topic.name.clone(),
                partitions: topic.partitions,
                partitioner: settings::partitioner(spec),
                keys: spec.keys,
                record_size_bytes: spec.record_size_bytes,
                start_ms: spec.start_ms,
                messages_per_sec: spec.messages_per_sec,
                stop_ms: scenario.duration_ms,
                messages: spec.messages,
                config: settings::producer_config(scenario, spec, &cluster.layout),
                rng: entropy.stream(&format!("workload/{}", cluster.layout.name(id))),
                client_rng: entropy.stream(&client_stream(&cluster.layout, id)),
            });
            cluster.add_node(NodeSlot::client(id, Stored::Producer(Box::new(app))));
        }
        for (spec, &id) in scenario.consumers.iter().zip(&cluster.layout.consumers.clone()) {
            let config = settings::consumer_config(spec.fetch_max_wait_ms, &cluster.layout);
            let reads = settings::partitions_read(scenario, spec);
            cluster.consumer_reads.insert(id, reads);
            let topics = spec.topics.iter().map(|t| Arc::from(t.as_str())).collect();
            let app = ConsumerApp::live(config, topics, entropy.stream(&client_stream(&cluster.layout, id)));
            cluster.add_node(NodeSlot::client(id, Stored::Consumer(Box::new(app))));
        }
        cluster
    }

    fn add_node(&mut self, slot: NodeSlot) {
        let id = slot.id;
        self.net.lock().expect("network lock").add_node(id);
        let ctx = NodeContext {
            id,
            slot: Arc::new(Mutex::new(slot)),
            net: self.net.clone(),
            history: self.history.clone(),
            clock: self.clock,
            budget: self.budget.clone(),
        };
        self.nodes.insert(id, ctx.clone());
        // Up from now: what arrives before its task first runs waits in its inbox.
        ctx.boot();
        let handle = Handle::current()
            .create_node()
            .name(self.layout.name(id))
            .init(move || node_main(ctx.clone()))
            .build();
        self.handles.insert(id, handle);
    }

    /// Starts the final reader: a consumer of every partition from offset 0. It is the harness's
    /// own reader, not a client under test, so it fetches far more than a consumer's defaults
    /// (64 MiB a partition, 1 GiB a response): a partition of a million records, or of records of
    /// a megabyte, takes a few round trips rather than thousands.
    pub fn start_final_reader(&mut self) {
        let config = ConsumerConfig {
            max_partition_fetch_bytes: 64 << 20,
            fetch_max_bytes: 1 << 30,
            ..settings::consumer_config(500, &self.layout)
        };
        let rng = self.entropy.stream(&client_stream(&self.layout, FINAL_READER));
        let app = ConsumerApp::final_reader(config, rng);
        self.add_node(NodeSlot::client(FINAL_READER, Stored::Consumer(Box::new(app))));
    }

    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    pub fn record(&self, node: NodeId, op: Op) {
        let now = self.now();
        self.budget.record(op.footprint(), now);
        self.history.lock().expect("history lock").push(now, node, op);
    }

    pub fn all_nodes(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        self.nodes.get(&node).is_some_and(|n| n.slot.lock().expect("slot lock").is_up())
    }

    pub fn brokers_up(&self) -> BTreeSet<NodeId> {
        self.layout.brokers.iter().copied().filter(|&b| self.is_up(b)).collect()
    }

    pub fn is_paused(&self, node: NodeId) -> bool {
        self.paused.contains_key(&node)
    }

    pub fn net_stats(&self) -> NetStats {
        self.net.lock().expect("network lock").stats()
    }

    // ----- faults -----------------------------------------------------------------------------

    /// A new hold for a fault taking effect now: holds order faults by when they took effect.
    pub fn new_hold(&mut self) -> Hold {
        let hold = Hold { seq: self.next_hold, at_ms: self.now() };
        self.next_hold += 1;
        hold
    }

    /// The hold of the fault that took `node` down, if it is down.
    pub fn down_hold(&self, node: NodeId) -> Option<Hold> {
        self.down.get(&node).copied()
    }

    /// The hold of the fault that paused `node`, if it is paused.
    pub fn pause_hold(&self, node: NodeId) -> Option<Hold> {
        self.paused.get(&node).copied()
    }

    /// Kills a node's process (or cuts its power) for the fault holding `hold`. Returns false if
    /// it was already down.
    pub fn halt(&mut self, node: NodeId, how: Halt, hold: Hold) -> bool {
        let Some(slot) = self.nodes.get(&node).map(|n| &n.slot) else { return false };
        if !slot.lock().expect("slot lock").is_up() {
            return false;
        }
        Handle::current().kill(self.handles[&node].id());
        self.paused.remove(&node);
        self.down.insert(node, hold);
        let now = self.now();
        self.net.lock().expect("network lock").node_down(now, node, network_liveness(how));
        let mut ops = Vec::new();
        slot.lock().expect("slot lock").halt(how, &mut ops);
        for op in ops {
            self.record(node, op);
        }
        true
    }

    /// Restarts a node that is down: it is up from this instant. Returns false if it was up.
    pub fn restart(&mut self, node: NodeId) -> bool {
        if self.is_up(node) {
            return false;
        }
        Handle::current().restart(self.handles[&node].id());
        self.nodes[&node].boot();
        self.down.remove(&node);
        true
    }

    /// Pauses a running node for the fault holding `hold`. Returns false if it was down or
    /// paused already.
    pub fn pause(&mut self, node: NodeId, hold: Hold) -> bool {
        if !self.is_up(node) || self.is_paused(node) {
            return false;
        }
        self.paused.insert(node, hold);
        Handle::current().pause(self.handles[&node].id());
        true
    }

    pub fn resume(&mut self, node: NodeId) -> bool {
        if self.paused.remove(&node).is_none() {
            return false;
        }
        Handle::current().resume(self.handles[&node].id());
        true
    }

    /// Cuts the links between nodes of different groups (only from earlier to later groups when
    /// `one_way`) for the partition holding `hold`. Returns the directed links it holds; a link
    /// another partition already cuts stays cut until both have ended.
    pub fn partition(&mut self, groups: &[Vec<NodeId>], one_way: bool, hold: Hold) -> Vec<Link> {
        let mut links = Vec::new();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i == j || (one_way && i > j) {
                    continue;
                }
                for &x in a {
                    for &y in b {
                        if x != y {
                            links.push((x, y));
                        }
                    }
                }
            }
        }
        if !links.is_empty() {
            let newly_cut = self.cuts.add(hold, links.iter().copied());
            let now = self.now();
            let mut net = self.net.lock().expect("network lock");
            for (a, b) in newly_cut {
                net.block(now, a, b);
            }
        }
        links
    }

    /// Ends the partition holding `hold`: opens the links no other partition cuts. `None` if a
    /// `heal` ended it already.
    pub fn end_partition(&mut self, hold: Hold) -> Option<Released> {
        let released = self.cuts.release(hold)?;
        self.open(&released.opened);
        Some(released)
    }

    /// Ends every partition: a `heal`.
    pub fn heal_network(&mut self) {
        let links = self.cuts.release_all();
        self.open(&links);
        self.last_heal_ms = Some(self.now());
    }

    /// When a `heal` last ended every partition.
    pub fn last_heal_ms(&self) -> Option<Millis> {
        self.last_heal_ms
    }

    fn open(&mut self, links: &[Link]) {
        let now = self.now();
        let mut net = self.net.lock().expect("network lock");
        for &(a, b) in links {
            net.unblock(now, a, b);
        }
    }

    /// Lays a network fault's setting over the settings in force.
    pub fn push_net_layer(&mut self, hold: Hold, layer: NetLayer) {
        self.net_layers.push(hold, layer);
        self.apply_net_layers();
    }

    /// Lifts a network fault's setting, leaving the others in force. Returns false if it had
    /// none in force.
    pub fn lift_net_layer(&mut self, hold: Hold) -> bool {
        let lifted = self.net_layers.lift(hold);
        self.apply_net_layers();
        lifted
    }

    /// The network settings in force.
    pub fn net_config(&self) -> NetConfig {
        self.net_layers.effective()
    }

    fn apply_net_layers(&mut self) {
        let config = self.net_layers.effective();
        self.net.lock().expect("network lock").set_config(config);
    }

    /// Undoes every fault: restores the scenario's network settings and stops packet loss (even
    /// a scenario's baseline loss: liveness is judged on a sound network), heals it, retransmits
    /// at once what was still waiting out a retransmission timeout (the liveness phase starts on
    /// clean connections), resumes and restarts nodes.
    pub fn heal_all(&mut self) {
        let sound = self.new_hold();
        self.net_layers.lift_all();
        self.net_layers.push(sound, NetLayer::PacketLoss { rate: 0.0 });
        self.apply_net_layers();
        self.heal_network();
        let now = self.now();
        self.net.lock().expect("network lock").retransmit_now(now);
        for node in self.paused.keys().copied().collect::<Vec<_>>() {
            self.resume(node);
        }
        for node in self.all_nodes() {
            if !self.is_up(node) {
                self.restart(node);
            }
        }
    }

    /// Stops every node at the end of a run, so that no task outlives it.
    pub fn shutdown(&mut self) {
        for node in self.paused.keys().copied().collect::<Vec<_>>() {
            self.resume(node);
        }
        for handle in self.handles.values() {
            Handle::current().kill(handle.id());
        }
    }

    // ----- probes -----------------------------------------------------------------------------

    /// The controller's metadata, whether it is up or down (its state is durable).
    pub fn controller_image(&self) -> MetadataImage {
        let slot = self.nodes[&CONTROLLER].slot.lock().expect("slot lock");
        match &slot.state {
            crate::node::NodeState::Up(Running::Controller(c)) => c.image().clone(),
            crate::node::NodeState::Down(Stored::Controller(s)) => s.image.clone(),
            _ => unreachable!("the controller slot holds a controller"),
        }
    }

    /// Runs `f` on the broker if it is up.
    pub fn with_broker<T>(&self, node: NodeId, f: impl FnOnce(&broker::broker::Broker) -> T) -> Option<T> {
        let slot = self.nodes.get(&node)?.slot.lock().expect("slot lock");
        match slot.running() {
            Some(Running::Broker(b)) => Some(f(b)),
            _ => None,
        }
    }

    pub fn with_producer<T>(&self, node: NodeId, f: impl FnOnce(&mut ProducerApp) -> T) -> Option<T> {
        let mut slot = self.nodes.get(&node)?.slot.lock().expect("slot lock");
        let _node = crate::trace_log::in_node(node);
        match &mut slot.state {
            crate::node::NodeState::Up(Running::Producer(app)) => Some(f(app)),
            crate::node::NodeState::Down(Stored::Producer(app)) => Some(f(app)),
            _ => None,
        }
    }

    pub fn with_consumer<T>(&self, node: NodeId, f: impl FnOnce(&mut ConsumerApp) -> T) -> Option<T> {
        let mut slot = self.nodes.get(&node)?.slot.lock().expect("slot lock");
        let _node = crate::trace_log::in_node(node);
        match slot.running_mut() {
            Some(Running::Consumer(app)) => Some(f(app)),
            _ => None,
        }
    }

    /// Node names as the report and the trace write them: `[broker-1, broker-2]`.
    fn names(&self, nodes: &[NodeId]) -> String {
        let names: Vec<&str> = nodes.iter().map(|&n| self.layout.name(n)).collect();
        format!("[{}]", names.join(", "))
    }

    /// Which partitions the final reader has not read to the end, and how far it got in each:
    /// `None` once it has read them all.
    pub fn final_read_gap(&self) -> Option<String> {
        if self.with_consumer(FINAL_READER, |c| c.is_caught_up()) == Some(true) {
            return None;
        }
        let unfinished = self
            .with_consumer(FINAL_READER, |c| c.client().map(|c| c.unfinished()).unwrap_or_default())
            .unwrap_or_default();
        if unfinished.is_empty() {
            return Some("the final reader learnt of no partition".to_string());
        }
        let image = self.controller_image();
        let parts: Vec<String> = unfinished
            .iter()
            .map(|(tp, offset)| {
                let end = image
                    .leader_of(tp)
                    .and_then(|l| self.with_broker(l, |b| b.status(tp)).flatten())
                    .map_or("an unknown offset".to_string(), |s| s.log_end_offset.to_string());
                format!("{tp} read up to offset {offset}, its log ends at {end}")
            })
            .collect();
        Some(parts.join("; "))
    }

    /// Why the cluster has not converged, or `None` once it has: every partition has a live leader
    /// acting in the controller's epoch with a full ISR, and every replica is up and has the
    /// leader's whole log, committed. (What the clients did is `client_gap`'s.)
    pub fn convergence_gap(&self) -> Option<String> {
        let image = self.controller_image();
        if !self.is_up(CONTROLLER) {
            return Some("the controller is down".into());
        }
        for (tp, state) in &image.partitions {
            let Some(leader) = state.leader else {
                return Some(format!("{tp} has no leader"));
            };
            if state.isr.len() != state.replicas.len() {
                return Some(format!(
                    "{tp} ISR is {}, not all of {}",
                    self.names(&state.isr),
                    self.names(&state.replicas)
                ));
            }
            let Some(ls) = self.with_broker(leader, |b| b.status(tp)).flatten() else {
                return Some(format!("{tp} leader {} is down or unaware", self.layout.name(leader)));
            };
            if !ls.is_leader || ls.leader_epoch != state.leader_epoch {
                let leader = self.layout.name(leader);
                return Some(format!("{tp} leader {leader} is not acting in epoch {}", state.leader_epoch));
            }
            for &r in &state.replicas {
                let Some(rs) = self.with_broker(r, |b| b.status(tp)).flatten() else {
                    return Some(format!("{tp} replica {} is down or unaware", self.layout.name(r)));
                };
                if rs.leader_epoch != state.leader_epoch
                    || rs.log_end_offset != ls.log_end_offset
                    || rs.high_watermark != ls.log_end_offset
                {
                    return Some(format!(
                        "{tp} replica {} at epoch {} end {} hw {}, leader end {}",
                        self.layout.name(r),
                        rs.leader_epoch,
                        rs.log_end_offset,
                        rs.high_watermark,
                        ls.log_end_offset
                    ));
                }
            }
        }
        None
    }

    /// Which client has not finished, or `None` once every one has: every producer has resolved
    /// every send, and every consumer's position has reached the high watermark of every
    /// partition it reads (what the `progress` checker judges, from the events
    /// `record_consumer_positions` leaves).
    pub fn client_gap(&self) -> Option<String> {
        for &p in &self.layout.producers {
            if self.with_producer(p, |app| app.is_idle()) == Some(false) {
                return Some(format!("{} has unresolved sends", self.layout.name(p)));
            }
        }
        for &c in &self.layout.consumers {
            for op in self.consumer_positions(c) {
                let Op::ConsumerPosition { tp, position, high_watermark } = op else { continue };
                match (position, high_watermark) {
                    (_, Some(0)) => {}
                    (Some(p), Some(hw)) if p >= hw => {}
                    _ => return Some(format!("{} has not read {tp} to its end", self.layout.name(c))),
                }
            }
        }
        None
    }

    /// Records, for every consumer and every partition it reads, its position and the leader's
    /// high watermark: what the `progress` checker judges a consumer by at the end of the
    /// liveness phase.
    pub fn record_consumer_positions(&self) {
        for &c in &self.layout.consumers {
            for op in self.consumer_positions(c) {
                self.record(c, op);
            }
        }
    }

    /// `ConsumerPosition` for every partition `consumer` reads, in partition order.
    fn consumer_positions(&self, consumer: NodeId) -> Vec<Op> {
        let image = self.controller_image();
        let Some(reads) = self.consumer_reads.get(&consumer) else { return Vec::new() };
        reads
            .iter()
            .map(|tp| {
                let position =
                    self.with_consumer(consumer, |app| app.client().and_then(|c| c.position(tp))).flatten();
                let high_watermark = image.partitions.get(tp).and_then(|state| {
                    let leader = state.leader?;
                    let status = self.with_broker(leader, |b| b.status(tp)).flatten()?;
                    (status.is_leader && status.leader_epoch == state.leader_epoch)
                        .then_some(status.high_watermark)
                });
                Op::ConsumerPosition { tp: tp.clone(), position, high_watermark }
            })
            .collect()
    }

    /// Records every live replica's log and high watermark, as one snapshot group. Each broker's
    /// logs are charged to the budget as they are recorded, so a huge snapshot stops the run
    /// before it exhausts memory.
    pub fn snapshot(&self) {
        for &b in &self.layout.brokers {
            let logs = self.with_broker(b, |broker| {
                self.partitions
                    .iter()
                    .filter_map(|tp| {
                        let status = broker.status(tp)?;
                        let log = broker.disk().log(tp)?;
                        let records = log
                            .records()
                            .iter()
                            .enumerate()
                            .map(|(i, r)| StoredRecord { offset: i as u64, epoch: r.epoch, value: r.value })
                            .collect();
                        Some(Op::ReplicaLog {
                            tp: tp.clone(),
                            high_watermark: status.high_watermark,
                            records,
                        })
                    })
                    .collect::<Vec<_>>()
            });
            for op in logs.into_iter().flatten() {
                self.record(b, op);
            }
        }
    }
}
