//! progress: a client that did not finish its work once the cluster healed, or that stalled
//! longer than its scenario allows during the fault phase.
//!
//! **Unfinished clients.** When the liveness phase ended (the `Converged` or `NotConverged` event,
//! at most `liveness_timeout_ms` after healing: liveness's own bound), every producer must have
//! resolved every send — acknowledged, or failed with an error; a send whose delivery timeout
//! expired is failed, so resolved — and every consumer's position must have reached the high
//! watermark of every partition it reads (the harness records each position, with the leader's
//! high watermark, as `ConsumerPosition` events just before the phase event; a partition without
//! an acting leader has none, and liveness reports it). A send with no outcome before the phase
//! event is unresolved, whatever the harness did with it afterwards. One violation per client,
//! labelled by `judgement::judge_unfinished_client`: when the cluster itself did not converge,
//! liveness reports the run, and what that left the clients unable to finish is allowed, not a
//! second bug.
//!
//! **Stalls.** During the fault phase (until the `Healed` event), a client *stalls* on a partition
//! while it could make progress there and makes none: a producer while it has sends outstanding
//! to the partition and receives no acknowledgement for it, a consumer while its position is
//! below the partition's high watermark and no poll returns records of it. Only time during which
//! the partition could serve the client counts: the controller's last election gave it a leader
//! (the preferred replica until the first election), for an acks=all producer the controller's
//! ISR had at least min.insync.replicas members, and the client itself was running (not crashed,
//! powered off or paused). [`stalls`] gives each client's longest, for the report; a producer or
//! consumer with `max_stall_ms` that stalled longer is a violation, labelled bug (the scenario
//! promised the bound). A leader that crashed stays the controller's leader until its session
//! expires, so a bound should leave room for `broker_session_timeout_ms` and the retries after it.

use super::judgement::{all_partitions, judge_unfinished_client, min_insync_replicas, replicas_of};
use super::{CheckInput, Checker, Label, Violation};
use crate::history::{Op, Phase, ValueName};
use crate::scenario::ProducerSpec;
use broker::config::ConsumerConfig;
use broker::effect::ReplicaEvent;
use broker::types::{Acks, Epoch, Millis, NodeId, Offset, TopicPartition};
use serde::Serialize;
use std::collections::BTreeMap;

pub struct Progress;

impl Checker for Progress {
    fn name(&self) -> &'static str {
        "progress"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        if input.layout.producers.is_empty() && input.layout.consumers.is_empty() {
            Some("no producer or consumer")
        } else if liveness_end(input).is_none() {
            Some("the run ended before its liveness phase did")
        } else {
            None
        }
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let mut violations = unfinished_producers(input);
        violations.extend(unfinished_consumers(input));
        violations.extend(stalls_over_bound(input));
        violations
    }
}

/// One stretch of the fault phase during which a client could have made progress on `tp` and
/// made none: `[from_ms, to_ms)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stall {
    pub tp: TopicPartition,
    pub from_ms: Millis,
    pub to_ms: Millis,
}

impl Stall {
    pub fn duration_ms(&self) -> Millis {
        self.to_ms - self.from_ms
    }

    /// `12.4 s (31.0 s–43.4 s, orders/1)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}–{}, {})",
            seconds(self.duration_ms()),
            seconds(self.from_ms),
            seconds(self.to_ms),
            self.tp
        )
    }
}

/// A client's stalls during the fault phase, as the report shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientStalls {
    pub client: String,
    /// The longest (the earliest of equals); `None` when the client never stalled.
    pub longest: Option<Stall>,
    /// The scenario's `max_stall_ms` for the client.
    pub max_stall_ms: Option<Millis>,
    /// How many stalls lasted longer than `max_stall_ms`.
    pub over_bound: usize,
}

impl ClientStalls {
    /// `producer-1 longest stall 12.4 s (31.0 s–43.4 s, orders/1)`.
    pub fn describe(&self) -> String {
        let bound = match (self.max_stall_ms, self.over_bound) {
            (None, _) => String::new(),
            (Some(b), 0) => format!(", within max_stall_ms {b}"),
            (Some(b), n) => format!(", {n} longer than max_stall_ms {b}"),
        };
        match &self.longest {
            Some(stall) => format!("{} longest stall {}{bound}", self.client, stall.describe()),
            None => format!("{} never stalled{bound}", self.client),
        }
    }
}

fn seconds(ms: Millis) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The index of the event that ended the liveness phase, if the run got that far.
fn liveness_end(input: &CheckInput) -> Option<usize> {
    input
        .history
        .events
        .iter()
        .position(|e| matches!(e.op, Op::Phase(Phase::Converged | Phase::NotConverged)))
}

/// `when the liveness phase ended at 120000 ms, 60000 ms after healing (liveness_timeout_ms 60000)`.
fn when_ended(input: &CheckInput, end: usize) -> String {
    let events = &input.history.events;
    let end_ms = events[end].time_ms;
    let healed = events[..end].iter().find(|e| e.op == Op::Phase(Phase::Healed)).map(|e| e.time_ms);
    match healed {
        Some(h) => format!(
            "when the liveness phase ended at {end_ms} ms, {} ms after healing (liveness_timeout_ms {})",
            end_ms.saturating_sub(h),
            input.scenario.liveness_timeout_ms
        ),
        None => format!("when the liveness phase ended at {end_ms} ms"),
    }
}

fn producer_spec<'a>(input: &CheckInput<'a>, node: NodeId) -> Option<&'a ProducerSpec> {
    let i = input.layout.producers.iter().position(|&p| p == node)?;
    input.scenario.producers.get(i)
}

/// Producers with sends that had no outcome when the liveness phase ended, one violation each.
fn unfinished_producers(input: &CheckInput) -> Vec<Violation> {
    let Some(end) = liveness_end(input) else { return Vec::new() };
    let events = &input.history.events;
    // Unresolved sends by value: (producer, partition, sent at).
    let mut pending: BTreeMap<u64, (NodeId, &TopicPartition, Millis)> = BTreeMap::new();
    for event in &events[..end] {
        match &event.op {
            Op::SendInvoke { tp, value, .. } => {
                pending.insert(*value, (event.node, tp, event.time_ms));
            }
            Op::SendOk { value, .. } | Op::SendFail { value, .. } | Op::SendInfo { value, .. } => {
                pending.remove(value);
            }
            _ => {}
        }
    }
    // Per producer, in send order (a producer's values grow with its sends).
    let mut by_producer: BTreeMap<NodeId, Vec<(u64, &TopicPartition, Millis)>> = BTreeMap::new();
    for (value, (node, tp, sent_ms)) in pending {
        by_producer.entry(node).or_default().push((value, tp, sent_ms));
    }
    let when = when_ended(input, end);
    by_producer
        .into_iter()
        .filter_map(|(node, sends)| {
            let &(value, tp, sent_ms) = sends.first()?;
            let n = sends.len();
            let message = format!(
                "{} had {n} send{} unresolved {when}: the first, {} to {tp}, was sent at {sent_ms} ms",
                input.node_name(node),
                if n == 1 { "" } else { "s" },
                ValueName(value),
            );
            let request_timeout_ms = producer_spec(input, node).map_or(0, |p| p.request_timeout_ms);
            Some(Violation {
                checker: "progress",
                label: judge_unfinished_client(input, tp, request_timeout_ms),
                message,
                time_ms: Some(events[end].time_ms),
                tp: Some(tp.clone()),
            })
        })
        .collect()
}

/// Consumers short of a partition's high watermark when the liveness phase ended, one violation
/// each, naming every partition it was behind on.
fn unfinished_consumers(input: &CheckInput) -> Vec<Violation> {
    let Some(end) = liveness_end(input) else { return Vec::new() };
    let events = &input.history.events;
    // The harness's last look at each consumer and partition.
    let mut looks: BTreeMap<NodeId, BTreeMap<&TopicPartition, (Option<Offset>, Offset)>> = BTreeMap::new();
    for event in &events[..end] {
        if let Op::ConsumerPosition { tp, position, high_watermark: Some(hw) } = &event.op {
            looks.entry(event.node).or_default().insert(tp, (*position, *hw));
        }
    }
    let when = when_ended(input, end);
    let request_timeout_ms = ConsumerConfig::default().request_timeout_ms;
    looks
        .into_iter()
        .filter_map(|(node, partitions)| {
            let behind: Vec<(&TopicPartition, String)> = partitions
                .into_iter()
                .filter_map(|(tp, (position, hw))| match position {
                    Some(p) if p >= hw => None,
                    Some(p) => Some((tp, format!("{tp} at {p} of high watermark {hw} ({} behind)", hw - p))),
                    None if hw == 0 => None,
                    None => Some((tp, format!("{tp} never fetched (high watermark {hw})"))),
                })
                .collect();
            let &(tp, _) = behind.first()?;
            let parts: Vec<&str> = behind.iter().map(|(_, s)| s.as_str()).collect();
            let message = format!(
                "{} had not read to the high watermark {when}: {}",
                input.node_name(node),
                parts.join(", ")
            );
            Some(Violation {
                checker: "progress",
                label: judge_unfinished_client(input, tp, request_timeout_ms),
                message,
                time_ms: Some(events[end].time_ms),
                tp: Some(tp.clone()),
            })
        })
        .collect()
}

/// Clients with `max_stall_ms` that stalled longer, one violation each.
fn stalls_over_bound(input: &CheckInput) -> Vec<Violation> {
    let bounded = input.scenario.producers.iter().any(|p| p.max_stall_ms.is_some())
        || input.scenario.consumers.iter().any(|c| c.max_stall_ms.is_some());
    if !bounded {
        return Vec::new();
    }
    let mut violations = Vec::new();
    for (node, client) in measure(input) {
        let (Some(bound), Some(longest)) = (client.max_stall_ms, &client.longest) else { continue };
        if longest.duration_ms() <= bound {
            continue;
        }
        let tp = &longest.tp;
        let what = if !input.layout.producers.contains(&node) {
            format!("no records of {tp} while it was behind {tp}'s high watermark and {tp} had a leader")
        } else if producer_spec(input, node).is_some_and(|p| p.acks.0 == Acks::All) {
            format!(
                "no acknowledgement of its sends to {tp} while {tp} had a leader and min.insync.replicas \
                 in its ISR"
            )
        } else {
            format!("no acknowledgement of its sends to {tp} while {tp} had a leader")
        };
        let others = match client.over_bound {
            0 | 1 => String::new(),
            n => format!(" ({n} stalls passed the bound)"),
        };
        let message = format!(
            "{} stalled {} on {} ({}–{}), longer than its max_stall_ms of {bound} ms: {what}{others}",
            client.client,
            seconds(longest.duration_ms()),
            longest.tp,
            seconds(longest.from_ms),
            seconds(longest.to_ms),
        );
        violations.push(Violation {
            checker: "progress",
            label: Label::bug(format!(
                "the scenario bounds {}'s stalls during the fault phase at max_stall_ms ({bound} ms)",
                client.client
            )),
            message,
            time_ms: Some(longest.from_ms),
            tp: Some(longest.tp.clone()),
        });
    }
    violations
}

/// Every producer's and consumer's stalls during the fault phase, producers first, each in the
/// scenario's order.
pub fn stalls(input: &CheckInput) -> Vec<ClientStalls> {
    measure(input).into_values().collect()
}

fn measure(input: &CheckInput) -> BTreeMap<NodeId, ClientStalls> {
    let mut meter = Meter::new(input);
    let events = &input.history.events;
    let end = events.iter().position(|e| e.op == Op::Phase(Phase::Healed)).unwrap_or(events.len());
    for event in &events[..end] {
        meter.step(event.time_ms, event.node, &event.op);
    }
    let end_ms = events.get(end).or(events.last()).map_or(0, |e| e.time_ms);
    meter.finish(end_ms)
}

/// One client's work on one partition.
#[derive(Default)]
struct Work {
    /// A producer's sends not yet resolved.
    outstanding: u64,
    /// A consumer's position (a new consumer, or one restarted, reads from offset 0).
    position: Offset,
    /// When the stall in progress began.
    stalled_since: Option<Millis>,
}

/// What the controller and the leaders said of one partition.
struct Serving {
    tp: TopicPartition,
    leader: bool,
    /// The controller's ISR size; a partition starts with every replica in it.
    isr: usize,
    min_insync_replicas: usize,
    /// The high watermark of the newest leader that reported one: (epoch, high watermark).
    high_watermark: Option<(Epoch, Offset)>,
    /// The clients (indexes into `Meter::clients`) with work on the partition: the producers of
    /// its topic, the consumers that read it.
    producers: Vec<usize>,
    consumers: Vec<usize>,
}

/// A producer or consumer, and its work per partition (by index into `Meter::partitions`).
struct Client {
    consumer: bool,
    acks_all: bool,
    /// Crashed or powered off.
    halted: bool,
    paused: bool,
    work: BTreeMap<usize, Work>,
    stalls: ClientStalls,
}

/// Follows the fault phase event by event, opening a stall when a client could make progress on a
/// partition and does not, closing it when it does or can no longer. Partitions and clients are
/// numbered once, so each event costs a lookup or two.
struct Meter {
    partitions: Vec<Serving>,
    partition_index: BTreeMap<TopicPartition, usize>,
    clients: Vec<Client>,
    client_index: BTreeMap<NodeId, usize>,
    /// Which client's work each unresolved send is: (client, partition).
    sends: BTreeMap<u64, (usize, usize)>,
}

impl Meter {
    fn new(input: &CheckInput) -> Meter {
        let scenario = input.scenario;
        let mut partitions: Vec<Serving> = all_partitions(scenario)
            .into_iter()
            .map(|tp| Serving {
                leader: true,
                isr: replicas_of(scenario, &tp).len(),
                min_insync_replicas: min_insync_replicas(scenario, &tp) as usize,
                high_watermark: None,
                producers: Vec::new(),
                consumers: Vec::new(),
                tp,
            })
            .collect();
        let partition_index = partitions.iter().enumerate().map(|(i, p)| (p.tp.clone(), i)).collect();
        let mut clients = Vec::new();
        let mut client_index = BTreeMap::new();
        let producers = input.layout.producers.iter().zip(&scenario.producers);
        for (&node, spec) in producers {
            let c = clients.len();
            for p in partitions.iter_mut().filter(|p| *p.tp.topic == *spec.topic) {
                p.producers.push(c);
            }
            client_index.insert(node, c);
            clients.push(Client {
                consumer: false,
                acks_all: spec.acks.0 == Acks::All,
                halted: false,
                paused: false,
                work: BTreeMap::new(),
                stalls: ClientStalls::new(input, node, spec.max_stall_ms),
            });
        }
        for (&node, spec) in input.layout.consumers.iter().zip(&scenario.consumers) {
            let c = clients.len();
            let mut work = BTreeMap::new();
            for (i, p) in partitions.iter_mut().enumerate().filter(|(_, p)| spec.reads(&p.tp.topic)) {
                p.consumers.push(c);
                work.insert(i, Work::default());
            }
            client_index.insert(node, c);
            clients.push(Client {
                consumer: true,
                acks_all: false,
                halted: false,
                paused: false,
                work,
                stalls: ClientStalls::new(input, node, spec.max_stall_ms),
            });
        }
        Meter { partitions, partition_index, clients, client_index, sends: BTreeMap::new() }
    }

    fn step(&mut self, now: Millis, node: NodeId, op: &Op) {
        match op {
            Op::SendInvoke { tp, value, .. } => {
                let (Some(&c), Some(&p)) = (self.client_index.get(&node), self.partition_index.get(tp))
                else {
                    return;
                };
                self.clients[c].work.entry(p).or_default().outstanding += 1;
                self.sends.insert(*value, (c, p));
                self.touch(now, c, p);
            }
            Op::SendOk { value, .. } | Op::SendFail { value, .. } | Op::SendInfo { value, .. } => {
                let Some((c, p)) = self.sends.remove(value) else { return };
                if let Some(work) = self.clients[c].work.get_mut(&p) {
                    work.outstanding = work.outstanding.saturating_sub(1);
                }
                if matches!(op, Op::SendOk { .. }) {
                    self.close(now, c, p);
                }
                self.touch(now, c, p);
            }
            Op::Poll { tp, records } => {
                let Some(last) = records.last() else { return };
                self.move_consumer(now, node, tp, last.offset + 1, true);
            }
            Op::Seek { tp, to, .. } => self.move_consumer(now, node, tp, *to, false),
            Op::Replica(event) => self.replica_event(now, event),
            Op::Fault { fault, nodes, .. } => {
                for node in nodes {
                    let Some(&c) = self.client_index.get(node) else { continue };
                    let client = &mut self.clients[c];
                    match fault.as_str() {
                        "crash" | "power-loss" => {
                            client.halted = true;
                            client.paused = false;
                        }
                        // A restarted consumer reads again from offset 0.
                        "restart" if client.halted => {
                            client.halted = false;
                            for work in client.work.values_mut().filter(|_| client.consumer) {
                                work.position = 0;
                            }
                        }
                        "pause" => client.paused = true,
                        "resume" => client.paused = false,
                        _ => continue,
                    }
                    let partitions: Vec<usize> = client.work.keys().copied().collect();
                    for p in partitions {
                        self.touch(now, c, p);
                    }
                }
            }
            _ => {}
        }
    }

    /// A consumer's position moved: by reading records (progress), or by a seek.
    fn move_consumer(&mut self, now: Millis, node: NodeId, tp: &TopicPartition, to: Offset, read: bool) {
        let (Some(&c), Some(&p)) = (self.client_index.get(&node), self.partition_index.get(tp)) else {
            return;
        };
        let client = &mut self.clients[c];
        let Some(work) = client.work.get_mut(&p).filter(|_| client.consumer) else { return };
        work.position = to;
        if read {
            self.close(now, c, p);
        }
        self.touch(now, c, p);
    }

    fn replica_event(&mut self, now: Millis, event: &ReplicaEvent) {
        let (tp, producers_too) = match event {
            ReplicaEvent::LeaderElected { tp, .. } | ReplicaEvent::IsrChanged { tp, .. } => (tp, true),
            // The high watermark concerns consumers only.
            ReplicaEvent::BecameLeader { tp, .. } | ReplicaEvent::HighWatermark { tp, leader: true, .. } => {
                (tp, false)
            }
            _ => return,
        };
        let Some(&p) = self.partition_index.get(tp) else { return };
        let serving = &mut self.partitions[p];
        match event {
            ReplicaEvent::LeaderElected { leader, .. } => serving.leader = leader.is_some(),
            ReplicaEvent::IsrChanged { isr, .. } => serving.isr = isr.len(),
            ReplicaEvent::BecameLeader { epoch, high_watermark, .. }
            | ReplicaEvent::HighWatermark { epoch, high_watermark, .. } => {
                if serving.high_watermark.is_some_and(|(e, _)| *epoch < e) {
                    // A deposed leader's word in an older epoch.
                    return;
                }
                serving.high_watermark = Some((*epoch, *high_watermark));
            }
            _ => return,
        }
        let producers = if producers_too { serving.producers.clone() } else { Vec::new() };
        for c in producers.into_iter().chain(serving.consumers.clone()) {
            self.touch(now, c, p);
        }
    }

    /// Whether client `c` could make progress on partition `p` now, and has work there.
    fn waiting(&self, c: usize, p: usize) -> bool {
        let (client, serving) = (&self.clients[c], &self.partitions[p]);
        let Some(work) = client.work.get(&p) else { return false };
        if !serving.leader || client.halted || client.paused {
            return false;
        }
        if client.consumer {
            return serving.high_watermark.is_some_and(|(_, hw)| work.position < hw);
        }
        work.outstanding > 0 && (!client.acks_all || serving.isr >= serving.min_insync_replicas)
    }

    /// Opens or closes the stall of client `c` on partition `p` as the state now says.
    fn touch(&mut self, now: Millis, c: usize, p: usize) {
        let waiting = self.waiting(c, p);
        let Some(work) = self.clients[c].work.get_mut(&p) else { return };
        match (waiting, work.stalled_since.is_some()) {
            (true, false) => work.stalled_since = Some(now),
            (false, true) => self.close(now, c, p),
            _ => {}
        }
    }

    /// Ends the stall in progress, if any: the client made progress, or can no longer.
    fn close(&mut self, now: Millis, c: usize, p: usize) {
        let client = &mut self.clients[c];
        let Some(from_ms) = client.work.get_mut(&p).and_then(|w| w.stalled_since.take()) else { return };
        if now <= from_ms {
            return;
        }
        let stall = Stall { tp: self.partitions[p].tp.clone(), from_ms, to_ms: now };
        let stalls = &mut client.stalls;
        if stalls.max_stall_ms.is_some_and(|b| stall.duration_ms() > b) {
            stalls.over_bound += 1;
        }
        if stalls.longest.as_ref().is_none_or(|l| stall.duration_ms() > l.duration_ms()) {
            stalls.longest = Some(stall);
        }
    }

    fn finish(mut self, end_ms: Millis) -> BTreeMap<NodeId, ClientStalls> {
        for c in 0..self.clients.len() {
            let partitions: Vec<usize> = self.clients[c].work.keys().copied().collect();
            for p in partitions {
                self.close(end_ms, c, p);
            }
        }
        let nodes: BTreeMap<usize, NodeId> = self.client_index.iter().map(|(&n, &c)| (c, n)).collect();
        self.clients.into_iter().enumerate().map(|(c, client)| (nodes[&c], client.stalls)).collect()
    }
}

impl ClientStalls {
    fn new(input: &CheckInput, node: NodeId, max_stall_ms: Option<Millis>) -> ClientStalls {
        ClientStalls { client: input.node_name(node).to_string(), longest: None, max_stall_ms, over_bound: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};

    fn unfinished_bug() -> Label {
        Label::bug(
            "once the faults heal and the cluster converges, every producer resolves every send and every \
             consumer reads each of its partitions to the high watermark within liveness_timeout_ms \
             (60000 ms)",
        )
    }

    fn client<'a>(stalls: &'a [ClientStalls], name: &str) -> &'a ClientStalls {
        stalls.iter().find(|c| c.client == name).expect("a client")
    }

    #[test]
    fn fires_on_a_producer_with_sends_unresolved_when_the_liveness_phase_ends() {
        let mut run = Run::new();
        run.at(1_000).send("producer-1", "orders/0", 1).ok(1, 0);
        run.at(8_000).send("producer-1", "orders/0", 2).send("producer-1", "orders/1", 3);
        run.at(60_000).healed();
        run.at(120_000).converged();
        // The harness gives up what is left after the phase: that resolves nothing.
        run.info(2).fail(3);
        let violations = run.check(&Progress);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].label, unfinished_bug());
        assert_eq!(violations[0].time_ms, Some(120_000));
        assert_eq!(violations[0].tp, Some(TopicPartition::new("orders", 0)));
        assert_eq!(
            messages(&violations),
            ["producer-1 had 2 sends unresolved when the liveness phase ended at 120000 ms, 60000 ms \
              after healing (liveness_timeout_ms 60000): the first, 2 to orders/0, was sent at 8000 ms"]
        );
    }

    #[test]
    fn stays_quiet_when_every_send_ended_and_every_consumer_read_to_the_end() {
        let mut run = Run::new();
        run.at(1_000).send("producer-1", "orders/0", 1).ok(1, 0);
        // Failed when its delivery timeout expired: resolved, not stuck.
        run.send("producer-1", "orders/0", 2).at(121_000).fail(2);
        run.send("producer-2", "orders/1", 3).info(3);
        run.at(60_000).healed();
        run.consumer_position("consumer-1", "orders/0", Some(1), Some(1));
        // Nothing to read; and a partition without an acting leader cannot be judged.
        run.consumer_position("consumer-1", "orders/1", None, Some(0));
        run.at(130_000).converged();
        assert!(run.check(&Progress).is_empty(), "{:?}", run.check(&Progress));
        let mut leaderless = Run::new();
        leaderless.healed().consumer_position("consumer-1", "orders/0", Some(0), None).converged();
        assert!(leaderless.check(&Progress).is_empty());
    }

    #[test]
    fn fires_on_a_consumer_short_of_a_high_watermark() {
        let mut run = Run::new();
        run.at(60_000).healed();
        run.at(120_000);
        run.consumer_position("consumer-1", "orders/0", Some(118), Some(130));
        run.consumer_position("consumer-1", "orders/1", None, Some(40));
        run.converged();
        let violations = run.check(&Progress);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].label, unfinished_bug());
        assert_eq!(violations[0].tp, Some(TopicPartition::new("orders", 0)));
        assert_eq!(
            messages(&violations),
            ["consumer-1 had not read to the high watermark when the liveness phase ended at 120020 \
              ms, 60020 ms after healing (liveness_timeout_ms 60000): orders/0 at 118 of high \
              watermark 130 (12 behind), orders/1 never fetched (high watermark 40)"]
        );
    }

    #[test]
    fn says_nothing_without_a_liveness_verdict() {
        // A run cut short: liveness reports it.
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).healed();
        assert!(run.check(&Progress).is_empty());
    }

    #[test]
    fn what_a_cluster_that_did_not_converge_left_undone_is_allowed() {
        let mut run = Run::new();
        run.elected("orders/0", 3, "none");
        run.send("producer-1", "orders/0", 1).send("producer-2", "orders/1", 2);
        run.healed();
        run.consumer_position("consumer-1", "orders/1", Some(3), Some(5));
        run.not_converged();
        let violations = run.check(&Progress);
        let labels: Vec<&Label> = violations.iter().map(|v| &v.label).collect();
        assert_eq!(
            labels,
            [
                &Label::allowed(
                    "the controller left orders/0 without a leader in epoch 3 at 1000 ms, and the cluster did \
                     not converge within liveness_timeout_ms (60000 ms); liveness reports it"
                ),
                &Label::allowed(
                    "the cluster did not converge within liveness_timeout_ms (60000 ms); liveness reports it"
                ),
                &Label::allowed(
                    "the cluster did not converge within liveness_timeout_ms (60000 ms); liveness reports it"
                ),
            ]
        );
        // Once converged, the same leftovers are bugs.
        let mut converged = Run::new();
        converged.send("producer-1", "orders/0", 1).healed().converged();
        assert_eq!(converged.check(&Progress)[0].label, unfinished_bug());
    }

    #[test]
    fn a_request_timeout_as_long_as_the_bound_allows_an_unresolved_send() {
        let mut run = Run::new().with_producer("request_timeout_ms = 60000");
        run.send("producer-1", "orders/0", 1).healed().converged();
        assert_eq!(
            run.check(&Progress)[0].label,
            Label::allowed(
                "request_timeout_ms (60000 ms) is not shorter than liveness_timeout_ms (60000 ms): a \
                 request lost to a fault may go unanswered past the bound"
            )
        );
    }

    /// A producer's stall: sends outstanding, no acknowledgement, and a partition that could take
    /// them; a leaderless spell or an ISR below min.insync.replicas (2 here) pauses the clock.
    fn producer_stalls() -> Run {
        let mut run = Run::new();
        run.at(1_000).send("producer-1", "orders/0", 1);
        run.at(3_000).ok(1, 0); // 1.0–3.0 s
        run.at(4_000).send("producer-1", "orders/0", 2);
        run.at(5_000).elected("orders/0", 1, "none"); // 4.0–5.0 s
        run.at(9_000).elected("orders/0", 2, "broker-2");
        run.at(9_500).isr("orders/0", 2, &["broker-2"]); // 9.0–9.5 s
        run.at(12_000).isr("orders/0", 2, &["broker-2", "broker-3"]);
        run.at(16_000).ok(2, 1); // 12.0–16.0 s, the longest
        run.at(17_000).send("producer-1", "orders/1", 3);
        run.at(20_000).healed(); // 17.0–20.0 s: the fault phase ends
        run.at(25_000).ok(3, 0);
        run.converged();
        run
    }

    #[test]
    fn measures_a_producers_longest_stall_while_its_partition_could_take_the_write() {
        let run = producer_stalls();
        let stalls = stalls(&run.input());
        let names: Vec<&str> = stalls.iter().map(|c| c.client.as_str()).collect();
        assert_eq!(names, ["producer-1", "producer-2", "consumer-1"]);
        let p1 = client(&stalls, "producer-1");
        assert_eq!(
            p1.longest,
            Some(Stall { tp: TopicPartition::new("orders", 0), from_ms: 12_000, to_ms: 16_000 })
        );
        assert_eq!(p1.describe(), "producer-1 longest stall 4.0 s (12.0 s–16.0 s, orders/0)");
        assert_eq!(client(&stalls, "producer-2").describe(), "producer-2 never stalled");
        assert!(run.check(&Progress).is_empty(), "no bound, no violation");
    }

    #[test]
    fn acks_1_does_not_wait_for_the_isr() {
        let mut run = Run::new().with_producer("acks = 1");
        run.at(1_000).send("producer-1", "orders/0", 1);
        run.at(2_000).isr("orders/0", 1, &["broker-1"]);
        run.at(7_000).ok(1, 0);
        run.healed();
        let stalls = stalls(&run.input());
        assert_eq!(client(&stalls, "producer-1").longest.as_ref().map(Stall::duration_ms), Some(6_000));
    }

    #[test]
    fn a_paused_or_crashed_client_is_not_stalled() {
        let mut run = Run::new();
        run.at(1_000).send("producer-1", "orders/0", 1);
        run.at(2_000).fault("pause", &["producer-1"]); // 1.0–2.0 s
        run.at(8_000).fault("resume", &["producer-1"]);
        run.at(9_500).ok(1, 0); // 8.0–9.5 s
        run.at(10_000).high_watermark("broker-1", "orders/0", 0, 4, true);
        run.at(10_500).poll("consumer-1", "orders/0", &[(0, 7), (1, 8), (2, 9), (3, 10)]); // 10.0–10.5 s
        run.at(11_000).fault("crash", &["consumer-1"]);
        run.at(18_000).fault("restart", &["consumer-1"]);
        // Restarted, it reads from offset 0 again: behind once more.
        run.at(20_500).poll("consumer-1", "orders/0", &[(0, 7), (1, 8), (2, 9), (3, 10)]); // 18.0–20.5 s
        run.at(30_000).healed();
        let stalls = stalls(&run.input());
        assert_eq!(
            client(&stalls, "producer-1").describe(),
            "producer-1 longest stall 1.5 s (8.0 s–9.5 s, orders/0)"
        );
        assert_eq!(
            client(&stalls, "consumer-1").describe(),
            "consumer-1 longest stall 2.5 s (18.0 s–20.5 s, orders/0)"
        );
    }

    #[test]
    fn measures_a_consumers_stall_behind_the_newest_leaders_high_watermark() {
        let mut run = Run::new();
        run.at(1_000).high_watermark("broker-1", "orders/1", 0, 3, true);
        run.at(1_200).poll("consumer-1", "orders/1", &[(0, 1), (1, 2), (2, 3)]); // 1.0–1.2 s
        run.at(2_000).high_watermark("broker-1", "orders/1", 0, 6, true);
        // A deposed leader's word in an older epoch is not the partition's high watermark.
        run.at(2_500).became_leader("broker-2", "orders/1", 1);
        run.at(2_600).high_watermark("broker-1", "orders/1", 0, 9, true);
        run.at(3_000).high_watermark("broker-2", "orders/1", 1, 6, true); // 2.0–2.5 s, 3.0–…
        run.at(4_000).seek("consumer-1", "orders/1", 3, 6); // …–4.0 s: nothing left to read
        run.at(5_000).healed();
        let stalls = stalls(&run.input());
        assert_eq!(
            client(&stalls, "consumer-1").longest,
            Some(Stall { tp: TopicPartition::new("orders", 1), from_ms: 3_000, to_ms: 4_000 })
        );
    }

    #[test]
    fn a_stall_longer_than_max_stall_ms_is_a_bug() {
        let over = producer_stalls_with("max_stall_ms = 3999");
        let violations = over.check(&Progress);
        assert_eq!(violations.len(), 1);
        assert_eq!(
            violations[0].label,
            Label::bug(
                "the scenario bounds producer-1's stalls during the fault phase at max_stall_ms (3999 ms)"
            )
        );
        assert_eq!(violations[0].time_ms, Some(12_000));
        assert_eq!(
            messages(&violations),
            ["producer-1 stalled 4.0 s on orders/0 (12.0 s–16.0 s), longer than its max_stall_ms of 3999 \
              ms: no acknowledgement of its sends to orders/0 while orders/0 had a leader and \
              min.insync.replicas in its ISR"]
        );
        let stalls = stalls(&over.input());
        assert_eq!(
            client(&stalls, "producer-1").describe(),
            "producer-1 longest stall 4.0 s (12.0 s–16.0 s, orders/0), 1 longer than max_stall_ms 3999"
        );
        // Two stalls past a lower bound; none past the longest.
        let two = producer_stalls_with("max_stall_ms = 2500");
        assert!(messages(&two.check(&Progress))[0].ends_with("(2 stalls passed the bound)"));
        assert!(producer_stalls_with("max_stall_ms = 4000").check(&Progress).is_empty());
    }

    fn producer_stalls_with(keys: &str) -> Run {
        let mut run = producer_stalls();
        let events = std::mem::take(&mut run.history.events);
        let mut bounded = Run::new().with_producer(keys);
        bounded.history.events = events;
        bounded
    }

    #[test]
    fn a_consumer_stall_longer_than_its_max_stall_ms_is_a_bug() {
        let mut run = Run::new().with_consumer("max_stall_ms = 1000");
        run.at(1_000).high_watermark("broker-1", "orders/0", 0, 2, true);
        run.at(2_500).poll("consumer-1", "orders/0", &[(0, 1), (1, 2)]);
        run.healed();
        assert_eq!(
            messages(&run.check(&Progress)),
            ["consumer-1 stalled 1.5 s on orders/0 (1.0 s–2.5 s), longer than its max_stall_ms of 1000 ms: \
              no records of orders/0 while it was behind orders/0's high watermark and orders/0 had a \
              leader"]
        );
    }
}
