//! Bug or allowed: every violation is judged against the configuration that produced it. A
//! violation is a **bug** when the configuration promises it cannot happen, and **allowed**, with
//! a short reason a lecture can show, when the configuration gives that promise up.
//!
//! The rules are the table in [`judge`]. Their facts come from the scenario (the producer's acks,
//! retries and max.in.flight; the topic's min.insync.replicas and unclean.leader.election.enable,
//! inherited from the broker settings when the topic leaves them unset; the brokers' flush mode) and from the history (which brokers lost power, which partitions had an
//! unclean election, which re-elected a power-lost replica that was their only in-sync one).

use super::{CheckInput, Label};
use crate::history::Op;
use crate::scenario::{FlushSpec, ProducerSpec, Scenario, TopicSpec};
use broker::effect::ReplicaEvent;
use broker::types::{Acks, Millis, NodeId, Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

/// What went wrong, with what the rules need to know about it.
#[derive(Clone, Copy, Debug)]
pub enum Anomaly<'a> {
    /// An acknowledged send is missing; `producer` is the spec of the producer that sent it at
    /// `sent_ms`, acknowledged by the broker `acked_by` with `offset`, the acknowledgement
    /// received at `acked_ms`.
    LostWrite {
        tp: &'a TopicPartition,
        producer: Option<&'a ProducerSpec>,
        sent_ms: Millis,
        offset: Option<Offset>,
        acked_ms: Millis,
        acked_by: NodeId,
    },
    /// A value was written twice; `producer` sent it (`None`: no producer sent that value).
    Duplicate { producer: Option<&'a ProducerSpec> },
    /// An offset was read with two values.
    InconsistentOffsets { tp: &'a TopicPartition },
    /// A producer's acknowledged sends landed out of send order.
    NonmonotonicSend { producer: Option<&'a ProducerSpec> },
    /// Two replicas disagree on what they should agree on; `converged`: their whole logs, after
    /// the cluster converged.
    ReplicaDivergence { tp: &'a TopicPartition, converged: bool },
    /// A replica-state invariant broke: monotonic-hw, single-leader-per-epoch, monotonic-epoch.
    ReplicaState,
    /// The cluster did not recover after healing.
    Liveness,
}

/// The bug/allowed rules. For each anomaly the first matching row allows it; no match is a bug.
///
/// | anomaly | allowed when | reason |
/// |---|---|---|
/// | lost-write | the producer uses acks=0 | acks=0 never waits for the broker |
/// | lost-write | the producer uses acks=1 | acks=1 acknowledges before replication |
/// | lost-write, inconsistent-offsets, replica-divergence below the high watermarks | the controller elected an unclean leader for the partition, and its topic enables unclean election | unclean leader election on *tp* |
/// | lost-write, inconsistent-offsets, replica-divergence below the high watermarks | power loss hit at least min.insync.replicas distinct replicas of the partition, and flush is not every-batch | power loss of *N* replicas with unflushed page cache |
/// | lost-write, inconsistent-offsets, replica-divergence below the high watermarks | a replica lost power while it was the partition's only in-sync replica and was then elected cleanly (Kafka without KIP-966 keeps the last ISR member electable), and flush is not every-batch | the only in-sync replica lost power and was elected again without its unflushed tail |
/// | duplicate | the producer retries (retries > 0, or unset: unbounded) and acks is not 0 | retries without idempotence |
/// | nonmonotonic-send | the producer retries and max.in.flight.requests.per.connection > 1 | retries with several requests in flight reorder batches |
/// | replica-divergence after convergence, monotonic-hw, single-leader-per-epoch, monotonic-epoch, liveness | never | |
///
/// One exception comes before the durability rules: an acks=all write acknowledged while the
/// leader's committed ISR was smaller than min.insync.replicas (from the leaders' `LeaderIsr`
/// reports) broke the promise when it was acknowledged, so its loss is a bug whatever lost it.
///
/// An unclean election the topic does not enable stays a bug: the configuration promised clean
/// elections, so the controller broke it.
pub fn judge(facts: &Facts, anomaly: &Anomaly) -> Label {
    let reason = match *anomaly {
        Anomaly::LostWrite { tp, producer, sent_ms, offset, acked_ms, acked_by } => None
            .or(when(acks(producer) == Some(Acks::None), "acks=0 never waits for the broker"))
            .or(when(acks(producer) == Some(Acks::Leader), "acks=1 acknowledges before replication"))
            .or_else(|| {
                match facts.acked_below_min_isr(
                    tp,
                    acked_by,
                    facts.acknowledged_at(tp, acked_by, offset, sent_ms, acked_ms),
                ) {
                    // An acks=all write acknowledged by a leader whose ISR was below
                    // min.insync.replicas broke the configuration's promise, whatever lost it.
                    true => None,
                    false => facts.durability_loss(tp),
                }
            }),
        // Unclean election and power loss give up committed data, never convergence: replicas
        // that still differ once the cluster converged are a truncation defect (KIP-101's own
        // example is a power loss of every replica; KIP-279 fixed the unclean-election case).
        Anomaly::ReplicaDivergence { converged: true, .. } => None,
        Anomaly::InconsistentOffsets { tp } | Anomaly::ReplicaDivergence { tp, converged: false } => {
            facts.durability_loss(tp)
        }
        Anomaly::Duplicate { producer: Some(p) } => {
            when(retries(p) && p.acks.0 != Acks::None, "retries without idempotence")
        }
        Anomaly::NonmonotonicSend { producer: Some(p) } => when(
            retries(p) && p.max_in_flight_requests_per_connection > 1,
            "retries with several requests in flight reorder batches",
        ),
        Anomaly::Duplicate { producer: None } | Anomaly::NonmonotonicSend { producer: None } => None,
        Anomaly::ReplicaState | Anomaly::Liveness => None,
    };
    reason.map_or(Label::Bug, Label::allowed)
}

fn when(condition: bool, reason: &str) -> Option<String> {
    condition.then(|| reason.to_string())
}

fn acks(producer: Option<&ProducerSpec>) -> Option<Acks> {
    producer.map(|p| p.acks.0)
}

/// Whether a producer retries at all: `retries` unset means unbounded (Kafka's default).
fn retries(producer: &ProducerSpec) -> bool {
    producer.retries != Some(0)
}

/// What the rules know about one run, gathered once per check.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    scenario: &'a Scenario,
    /// Partitions for which the controller recorded `LeaderElected { unclean: true }`.
    unclean_elections: BTreeSet<&'a TopicPartition>,
    /// Nodes hit by a `power-loss` fault at any time of the run.
    power_lost: BTreeSet<NodeId>,
    /// Partitions that elected, cleanly, a replica that had lost power while it was the only
    /// member of the ISR: Kafka (without KIP-966) keeps the last ISR member electable, so it
    /// comes back as leader with its unflushed tail gone.
    sole_isr_power_lost: BTreeSet<&'a TopicPartition>,
    /// Per partition and leader, the spans of time during which that leader acted with a
    /// committed ISR smaller than min.insync.replicas (from its `LeaderIsr` reports): the broker
    /// as designed acknowledges no acks=all write then.
    below_min_isr: BTreeMap<(&'a TopicPartition, NodeId), Vec<(Millis, Millis)>>,
    /// Per partition and leader, its high watermark moves as leader: (time, high watermark).
    leader_hw: BTreeMap<(&'a TopicPartition, NodeId), Vec<(Millis, Offset)>>,
}

impl<'a> Facts<'a> {
    pub fn of(input: &CheckInput<'a>) -> Facts<'a> {
        let mut unclean_elections = BTreeSet::new();
        let mut power_lost = BTreeSet::new();
        let mut sole_isr_power_lost = BTreeSet::new();
        // The controller's ISR per partition; a partition starts with every replica in it.
        let mut isr: BTreeMap<&TopicPartition, Vec<NodeId>> = BTreeMap::new();
        let mut below_min_isr: BTreeMap<(&TopicPartition, NodeId), Vec<(Millis, Millis)>> = BTreeMap::new();
        let mut leader_hw: BTreeMap<(&TopicPartition, NodeId), Vec<(Millis, Offset)>> = BTreeMap::new();
        // Per partition and leader: since when its ISR has been below min.isr.
        let mut open: BTreeMap<(&TopicPartition, NodeId), Millis> = BTreeMap::new();
        let mut close = |key: (&'a TopicPartition, NodeId), at: Millis, open: &mut BTreeMap<_, Millis>| {
            if let Some(since) = open.remove(&key) {
                below_min_isr.entry(key).or_default().push((since, at));
            }
        };
        for event in &input.history.events {
            match &event.op {
                Op::Replica(ReplicaEvent::LeaderElected { tp, unclean: true, .. }) => {
                    unclean_elections.insert(tp);
                }
                Op::Replica(ReplicaEvent::LeaderElected {
                    tp, leader: Some(leader), unclean: false, ..
                }) => {
                    let current = isr.entry(tp).or_insert_with(|| replicas_of(input.scenario, tp));
                    if current.as_slice() == [*leader] && power_lost.contains(leader) {
                        sole_isr_power_lost.insert(tp);
                    }
                }
                Op::Replica(ReplicaEvent::IsrChanged { tp, isr: new, .. }) => {
                    isr.insert(tp, new.clone());
                }
                Op::Fault { fault, nodes, .. } if fault == "power-loss" => {
                    power_lost.extend(nodes.iter().copied());
                }
                Op::Replica(ReplicaEvent::HighWatermark { tp, high_watermark, leader: true, .. }) => {
                    leader_hw.entry((tp, event.node)).or_default().push((event.time_ms, *high_watermark));
                }
                _ => {}
            }
            match &event.op {
                Op::Replica(ReplicaEvent::LeaderIsr { tp, isr, .. }) => {
                    let min_isr = min_insync_replicas(input.scenario, tp) as usize;
                    if isr.len() < min_isr {
                        open.entry((tp, event.node)).or_insert(event.time_ms);
                    } else {
                        close((tp, event.node), event.time_ms, &mut open);
                    }
                }
                // The leader stopped leading: its ISR no longer speaks for the partition.
                Op::Replica(ReplicaEvent::BecameFollower { tp, .. }) => {
                    close((tp, event.node), event.time_ms, &mut open)
                }
                _ => {}
            }
        }
        let end = input.history.events.last().map_or(0, |e| e.time_ms);
        for (key, since) in open {
            below_min_isr.entry(key).or_default().push((since, end.saturating_add(1)));
        }
        Facts {
            scenario: input.scenario,
            unclean_elections,
            power_lost,
            sole_isr_power_lost,
            below_min_isr,
            leader_hw,
        }
    }

    /// When `broker` acknowledged the acks=all write it placed at `offset`: the first time, after
    /// the write was sent at `sent_ms`, that its high watermark as leader passed the offset (an
    /// acks=all produce is answered then, and Kafka's `checkEnoughReplicasReachOffset` looks at
    /// the ISR then), or, failing that, when the producer received the answer. The answer may
    /// travel a while: what the leader's ISR became meanwhile does not change what it promised.
    fn acknowledged_at(
        &self,
        tp: &TopicPartition,
        broker: NodeId,
        offset: Option<Offset>,
        sent_ms: Millis,
        received_ms: Millis,
    ) -> Millis {
        let Some(offset) = offset else { return received_ms };
        self.leader_hw
            .get(&(tp, broker))
            .and_then(|moves| {
                moves
                    .iter()
                    .find(|&&(t, hw)| t >= sent_ms && t <= received_ms && hw > offset)
                    .map(|&(t, _)| t)
            })
            .unwrap_or(received_ms)
    }

    pub fn judge(&self, anomaly: &Anomaly) -> Label {
        judge(self, anomaly)
    }

    /// Whether `broker`, leading `tp`, was acting with an ISR below min.insync.replicas at `at`.
    fn acked_below_min_isr(&self, tp: &TopicPartition, broker: NodeId, at: Millis) -> bool {
        self.below_min_isr
            .get(&(tp, broker))
            .is_some_and(|spans| spans.iter().any(|&(from, to)| from <= at && at < to))
    }

    /// Why the configuration lets committed data of `tp` be lost or rewritten, if it does.
    fn durability_loss(&self, tp: &TopicPartition) -> Option<String> {
        let broker = &self.scenario.broker;
        let topic = topic_spec(self.scenario, &tp.topic);
        let unclean_enabled = topic
            .and_then(|t| t.unclean_leader_election_enable)
            .unwrap_or(broker.unclean_leader_election_enable);
        let min_insync_replicas = min_insync_replicas(self.scenario, tp);
        let power_lost_replicas =
            replicas_of(self.scenario, tp).iter().filter(|r| self.power_lost.contains(r)).count() as u32;
        None.or(when(
            unclean_enabled && self.unclean_elections.contains(tp),
            &format!("unclean leader election on {tp}"),
        ))
        .or(when(
            power_lost_replicas > 0
                && power_lost_replicas >= min_insync_replicas
                && broker.flush != FlushSpec::EveryBatch,
            &format!(
                "power loss of {power_lost_replicas} replica{} with unflushed page cache",
                if power_lost_replicas == 1 { "" } else { "s" }
            ),
        ))
        .or(when(
            self.sole_isr_power_lost.contains(tp) && broker.flush != FlushSpec::EveryBatch,
            "the only in-sync replica lost power and was elected again without its unflushed tail",
        ))
    }
}

/// The `progress` rules, kept apart from [`judge`]'s table: a client that had not finished when
/// the liveness phase ended (a producer with sends unresolved, a consumer short of a partition's
/// high watermark, on `tp`) is a bug unless a row allows it. `request_timeout_ms` is the client's
/// request.timeout.ms.
///
/// | allowed when | reason |
/// |---|---|
/// | the cluster did not converge within the liveness bound | *tp* had no leader when the liveness phase ended, or else the cluster did not converge; liveness reports it |
/// | the client's request timeout is not shorter than liveness_timeout_ms | a request lost to a fault (a broker that lost power or was paused answers nothing) may go unanswered past the bound |
///
/// A stall past a scenario's `max_stall_ms` has no row: the scenario promised that bound.
pub fn judge_unfinished_client(input: &CheckInput, tp: &TopicPartition, request_timeout_ms: u64) -> Label {
    let events = &input.history.events;
    let converged = events.iter().any(|e| e.op == Op::Phase(crate::history::Phase::Converged));
    let leaderless = events.iter().rev().find_map(|e| match &e.op {
        Op::Replica(ReplicaEvent::LeaderElected { tp: t, leader, .. }) if t == tp => Some(leader.is_none()),
        _ => None,
    }) == Some(true);
    let liveness_timeout_ms = input.scenario.liveness_timeout_ms;
    let reason = None
        .or(when(
            !converged && leaderless,
            &format!("{tp} had no leader when the liveness phase ended; liveness reports it"),
        ))
        .or(when(!converged, "the cluster did not converge within the liveness bound; liveness reports it"))
        .or(when(
            request_timeout_ms >= liveness_timeout_ms,
            &format!(
                "its request timeout ({request_timeout_ms} ms) is not shorter than liveness_timeout_ms \
                 ({liveness_timeout_ms} ms): a request lost to a fault may go unanswered past the bound"
            ),
        ));
    reason.map_or(Label::Bug, Label::allowed)
}

/// A partition's min.insync.replicas: its topic's, or the brokers' when the topic leaves it unset.
pub fn min_insync_replicas(scenario: &Scenario, tp: &TopicPartition) -> u32 {
    topic_spec(scenario, &tp.topic)
        .and_then(|t| t.min_insync_replicas)
        .unwrap_or(scenario.broker.min_insync_replicas)
}

fn topic_spec<'a>(scenario: &'a Scenario, topic: &str) -> Option<&'a TopicSpec> {
    scenario.topics.iter().find(|t| t.name == topic)
}

/// The brokers holding replicas of `tp`, preferred leader first. Assignment is round-robin, the
/// same rule the harness uses to create topics: partition p of a topic with replication factor
/// r on n brokers lives on brokers `((p + i) % n) + 1` for i in 0..r. Unknown topics have none.
pub fn replicas_of(scenario: &Scenario, tp: &TopicPartition) -> Vec<NodeId> {
    let brokers = scenario.cluster.brokers;
    match topic_spec(scenario, &tp.topic) {
        Some(topic) if brokers > 0 => (0..topic.replication_factor.min(brokers))
            .map(|i| NodeId((tp.partition + i) % brokers + 1))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every partition of every topic of the scenario, in order.
pub fn all_partitions(scenario: &Scenario) -> Vec<TopicPartition> {
    scenario.topics.iter().flat_map(|t| (0..t.partitions).map(|p| TopicPartition::new(&t.name, p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::Run;

    fn tp(s: &str) -> TopicPartition {
        let (topic, p) = s.split_once('/').unwrap();
        TopicPartition::new(topic, p.parse().unwrap())
    }

    fn lost_write(run: &Run) -> Label {
        lost_write_acked_at(run, 0)
    }

    fn lost_write_acked_at(run: &Run, acked_ms: Millis) -> Label {
        let input = run.input();
        let producer = input.scenario.producers.first();
        let acked_by = NodeId(1);
        Facts::of(&input).judge(&Anomaly::LostWrite {
            tp: &tp("orders/0"),
            producer,
            sent_ms: 0,
            offset: None,
            acked_ms,
            acked_by,
        })
    }

    fn divergence(run: &Run) -> Label {
        Facts::of(&run.input()).judge(&Anomaly::ReplicaDivergence { tp: &tp("orders/0"), converged: false })
    }

    fn divergence_after_convergence(run: &Run) -> Label {
        Facts::of(&run.input()).judge(&Anomaly::ReplicaDivergence { tp: &tp("orders/0"), converged: true })
    }

    fn duplicate(run: &Run) -> Label {
        let input = run.input();
        let producer = input.scenario.producers.first();
        Facts::of(&input).judge(&Anomaly::Duplicate { producer })
    }

    fn reorder(run: &Run) -> Label {
        let input = run.input();
        let producer = input.scenario.producers.first();
        Facts::of(&input).judge(&Anomaly::NonmonotonicSend { producer })
    }

    fn allowed(reason: &str) -> Label {
        Label::allowed(reason)
    }

    #[test]
    fn replicas_are_assigned_round_robin() {
        let run = Run::new().with_topic("partitions = 4\nreplication_factor = 2");
        let s = &run.scenario;
        assert_eq!(replicas_of(s, &tp("orders/0")), [NodeId(1), NodeId(2)]);
        assert_eq!(replicas_of(s, &tp("orders/2")), [NodeId(3), NodeId(1)]);
        assert_eq!(replicas_of(s, &tp("orders/3")), [NodeId(1), NodeId(2)]);
        assert!(replicas_of(s, &tp("other/0")).is_empty());
    }

    #[test]
    fn lost_write_at_acks_all_is_a_bug() {
        assert_eq!(lost_write(&Run::new()), Label::Bug);
    }

    #[test]
    fn lost_write_at_acks_0_or_1_is_allowed() {
        let acks0 = Run::new().with_producer("acks = 0");
        assert_eq!(lost_write(&acks0), allowed("acks=0 never waits for the broker"));
        let acks1 = Run::new().with_producer("acks = 1");
        assert_eq!(lost_write(&acks1), allowed("acks=1 acknowledges before replication"));
    }

    #[test]
    fn unclean_election_allows_loss_only_where_the_topic_enables_it() {
        let mut enabled = Run::new().with_topic("unclean_leader_election_enable = true");
        enabled.unclean_election("orders/0", 2, "broker-3");
        assert_eq!(lost_write(&enabled), allowed("unclean leader election on orders/0"));
        assert_eq!(divergence(&enabled), allowed("unclean leader election on orders/0"));
        // Unclean election gives up committed data, never convergence.
        assert_eq!(divergence_after_convergence(&enabled), Label::Bug);

        // Inherited from the broker setting.
        let mut inherited = Run::new().with_broker("unclean_leader_election_enable = true");
        inherited.unclean_election("orders/0", 2, "broker-3");
        assert_eq!(lost_write(&inherited), allowed("unclean leader election on orders/0"));

        // Another partition's unclean election excuses nothing here.
        let mut elsewhere = Run::new().with_topic("unclean_leader_election_enable = true");
        elsewhere.unclean_election("orders/1", 2, "broker-3");
        assert_eq!(lost_write(&elsewhere), Label::Bug);

        // The topic overrides an enabling broker: the election broke the configuration.
        let mut disabled = Run::new()
            .with_broker("unclean_leader_election_enable = true")
            .with_topic("unclean_leader_election_enable = false");
        disabled.unclean_election("orders/0", 2, "broker-3");
        assert_eq!(lost_write(&disabled), Label::Bug);
    }

    #[test]
    fn high_watermark_truncation_excuses_nothing() {
        // The pre-KIP-101 protocol is a defect of the implementation, not a setting that gives
        // up the promise: what it loses is a bug, as it was in Kafka.
        let run = Run::new().with_broker("truncation = \"high-watermark\"");
        assert_eq!(lost_write(&run), Label::Bug);
        assert_eq!(divergence(&run), Label::Bug);
    }

    #[test]
    fn power_loss_of_min_insync_replicas_allows_loss_unless_every_batch_is_flushed() {
        // min.insync.replicas = 2 (inherited from the broker); one replica losing power is not enough.
        let mut one = Run::new();
        one.fault("power-loss", &["broker-1"]);
        assert_eq!(lost_write(&one), Label::Bug);

        let mut two = Run::new();
        two.fault("power-loss", &["broker-1"]).fault("power-loss", &["broker-2", "controller"]);
        let reason = allowed("power loss of 2 replicas with unflushed page cache");
        assert_eq!(lost_write(&two), reason);
        assert_eq!(divergence(&two), reason);
        assert_eq!(
            divergence_after_convergence(&two),
            Label::Bug,
            "power loss never excuses divergence for good"
        );

        let mut flushed = Run::new().with_broker("flush = \"every-batch\"");
        flushed.fault("power-loss", &["broker-1", "broker-2"]);
        assert_eq!(lost_write(&flushed), Label::Bug);

        // The same broker twice counts once.
        let mut twice = Run::new();
        twice.fault("power-loss", &["broker-1"]).fault("power-loss", &["broker-1"]);
        assert_eq!(lost_write(&twice), Label::Bug);

        // min.insync.replicas = 1, inherited from the broker: one power loss is enough.
        let mut min1 = Run::new().with_broker("min_insync_replicas = 1");
        min1.fault("power-loss", &["broker-3"]);
        assert_eq!(lost_write(&min1), allowed("power loss of 1 replica with unflushed page cache"));
    }

    #[test]
    fn the_only_in_sync_replica_losing_power_and_coming_back_as_leader_allows_loss() {
        let reason =
            allowed("the only in-sync replica lost power and was elected again without its unflushed tail");
        // min.isr = 2 by default here, so one power loss alone excuses nothing…
        let mut run = Run::new();
        run.isr("orders/0", 0, &["broker-1"]).fault("power-loss", &["broker-1"]);
        assert_eq!(lost_write(&run), Label::Bug);
        // …but the controller re-electing that last ISR member does.
        run.elected("orders/0", 2, "broker-1");
        assert_eq!(lost_write(&run), reason);
        assert_eq!(divergence(&run), reason);

        // Elected while others were in sync too: its peers had every acknowledged write.
        let mut peers = Run::new();
        peers.fault("power-loss", &["broker-1"]).elected("orders/0", 1, "broker-1");
        assert_eq!(lost_write(&peers), Label::Bug);

        // The election before the power loss does not count.
        let mut before = Run::new();
        before.isr("orders/0", 0, &["broker-1"]).elected("orders/0", 1, "broker-1");
        before.fault("power-loss", &["broker-1"]);
        assert_eq!(lost_write(&before), Label::Bug);
    }

    #[test]
    fn a_write_acknowledged_while_the_leaders_isr_was_below_min_isr_is_a_bug_whatever_lost_it() {
        let lone = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 1, isr: vec![NodeId(1)] };
        let full = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 1, isr: vec![NodeId(1), NodeId(2)] };
        // An unclean election on the partition: the usual excuse for a loss.
        let unclean = |broker: &str| {
            let mut run = Run::new().with_broker(&format!("unclean_leader_election_enable = true\n{broker}"));
            run.unclean_election("orders/0", 3, "broker-3");
            run
        };
        let reason = allowed("unclean leader election on orders/0");
        let mut run = unclean("");
        run.at(1_000).replica("broker-1", lone.clone());
        run.at(2_000).replica("broker-1", full);
        // Acknowledged while broker-1 led alone (min.isr = 2): the promise was broken then.
        assert_eq!(lost_write_acked_at(&run, 1_500), Label::Bug);
        // Before and after, the usual rules apply.
        assert_eq!(lost_write_acked_at(&run, 500), reason);
        assert_eq!(lost_write_acked_at(&run, 2_500), reason);
        // acks=1 promises nothing about the ISR.
        let mut acks1 = Run::new().with_producer("acks = 1");
        acks1.at(1_000).replica("broker-1", lone.clone());
        assert_eq!(lost_write_acked_at(&acks1, 1_500), allowed("acks=1 acknowledges before replication"));
        // With min.isr = 1 a lone leader is within the promise.
        let mut min1 = unclean("min_insync_replicas = 1");
        min1.at(1_000).replica("broker-1", lone.clone());
        assert_eq!(lost_write_acked_at(&min1, 1_500), reason);
        // Another broker's lone leadership says nothing of broker-1's acknowledgements.
        let mut other = unclean("");
        let lone_2 = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 2, isr: vec![NodeId(2)] };
        other.at(1_000).replica("broker-2", lone_2);
        assert_eq!(lost_write_acked_at(&other, 1_500), reason);
        // A leader that stepped down no longer speaks for the partition.
        let mut stepped_down = unclean("");
        stepped_down.at(1_000).replica("broker-1", lone);
        stepped_down.at(1_200).became_follower("broker-1", "orders/0", 2, "broker-2");
        assert_eq!(lost_write_acked_at(&stepped_down, 1_500), reason);
    }

    /// `../shared/cases/late-ack-power-loss.toml`: the leader acknowledged when its high watermark
    /// passed the write, with a full ISR; the answer reached the producer after the ISR shrank.
    /// What the leader promised is decided when it acknowledged.
    #[test]
    fn a_late_acknowledgement_is_judged_by_the_isr_when_the_leader_gave_it() {
        let lone = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 1, isr: vec![NodeId(1)] };
        let reason = allowed("unclean leader election on orders/0");
        let judge = |run: &Run, offset: Option<Offset>, received: Millis| {
            let input = run.input();
            let producer = input.scenario.producers.first();
            Facts::of(&input).judge(&Anomaly::LostWrite {
                tp: &tp("orders/0"),
                producer,
                sent_ms: 900,
                offset,
                acked_ms: received,
                acked_by: NodeId(1),
            })
        };
        let mut run = Run::new().with_broker("unclean_leader_election_enable = true");
        run.unclean_election("orders/0", 3, "broker-3");
        run.at(1_000).high_watermark("broker-1", "orders/0", 1, 8, true);
        run.at(1_200).replica("broker-1", lone.clone());
        run.at(2_000).healed();
        // Offset 7 was committed at 1,000 ms with a full ISR: the late answer changes nothing.
        assert_eq!(judge(&run, Some(7), 1_500), reason);
        // Offset 8 was never passed by the leader's high watermark before the answer: judged
        // when it arrived, below min.isr.
        assert_eq!(judge(&run, Some(8), 1_500), Label::Bug);
        // A high watermark that moved before the write was sent is no acknowledgement of it.
        let mut early = Run::new().with_broker("unclean_leader_election_enable = true");
        early.unclean_election("orders/0", 3, "broker-3");
        early.at(500).high_watermark("broker-1", "orders/0", 1, 8, true);
        early.at(1_200).replica("broker-1", lone);
        early.at(2_000).healed();
        assert_eq!(judge(&early, Some(7), 1_500), Label::Bug);
    }

    #[test]
    fn power_loss_of_brokers_without_a_replica_excuses_nothing() {
        // orders/0 with replication factor 2 lives on broker-1 and broker-2.
        let mut run = Run::new().with_topic("replication_factor = 2\nmin_insync_replicas = 1");
        run.fault("power-loss", &["broker-3"]);
        assert_eq!(lost_write(&run), Label::Bug);
    }

    #[test]
    fn acks_rules_come_before_durability_rules() {
        let mut run =
            Run::new().with_producer("acks = 1").with_broker("unclean_leader_election_enable = true");
        run.unclean_election("orders/0", 2, "broker-3");
        assert_eq!(lost_write(&run), allowed("acks=1 acknowledges before replication"));
    }

    #[test]
    fn inconsistent_offsets_ignore_acks() {
        let run = Run::new().with_producer("acks = 1");
        let label = Facts::of(&run.input()).judge(&Anomaly::InconsistentOffsets { tp: &tp("orders/0") });
        assert_eq!(label, Label::Bug);
    }

    #[test]
    fn duplicates_are_allowed_only_with_retries_and_acks() {
        let reason = allowed("retries without idempotence");
        assert_eq!(duplicate(&Run::new()), reason, "retries unset: unbounded");
        assert_eq!(duplicate(&Run::new().with_producer("retries = 3")), reason);
        assert_eq!(duplicate(&Run::new().with_producer("retries = 0")), Label::Bug);
        assert_eq!(duplicate(&Run::new().with_producer("acks = 0")), Label::Bug);
        let input = Run::new();
        let unknown = Facts::of(&input.input()).judge(&Anomaly::Duplicate { producer: None });
        assert_eq!(unknown, Label::Bug);
    }

    #[test]
    fn reordering_is_allowed_only_with_retries_and_several_in_flight() {
        let reason = allowed("retries with several requests in flight reorder batches");
        assert_eq!(reorder(&Run::new()), reason, "defaults: unbounded retries, 5 in flight");
        let one = Run::new().with_producer("max_in_flight_requests_per_connection = 1");
        assert_eq!(reorder(&one), Label::Bug);
        assert_eq!(reorder(&Run::new().with_producer("retries = 0")), Label::Bug);
    }

    #[test]
    fn replica_state_and_liveness_are_always_bugs() {
        let mut run = Run::new()
            .with_producer("acks = 0")
            .with_broker("truncation = \"high-watermark\"\nunclean_leader_election_enable = true");
        run.unclean_election("orders/0", 2, "broker-3").fault("power-loss", &["broker-1", "broker-2"]);
        let facts = Facts::of(&run.input());
        assert_eq!(facts.judge(&Anomaly::ReplicaState), Label::Bug);
        assert_eq!(facts.judge(&Anomaly::Liveness), Label::Bug);
    }
}
