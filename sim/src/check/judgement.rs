//! Bug or allowed: every violation is judged against the configuration that produced it. A
//! violation is a **bug** when the configuration promises it cannot happen, and the bug label
//! says what was promised; it is **allowed** when the configuration gives that promise up, and
//! the reason names the event that took *this* record (its time, node, epoch), never a count
//! of what happened elsewhere in the run.
//!
//! The rules are the table in [`judge`]. Their facts come from the scenario (the producer's acks,
//! retries and max.in.flight; the topic's min.insync.replicas and unclean.leader.election.enable,
//! inherited from the broker settings when the topic leaves them unset; the brokers' flush mode)
//! and from the history, gathered in [`Facts`]: each election with its epoch, what each power
//! loss took from each replica's log (`LostUnflushed`), each leader's high-watermark moves and ISR.

use super::facts::Facts;
use super::{CheckInput, Label};
use crate::history::{Op, Phase};
use crate::scenario::{FlushSpec, ProducerSpec, Scenario, TopicSpec};
use broker::effect::ReplicaEvent;
use broker::types::{Acks, Epoch, Millis, NodeId, Offset, TopicPartition};
use std::collections::BTreeSet;

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
    /// `offset` was read with one value, then with another at `reread_ms`.
    InconsistentOffsets { tp: &'a TopicPartition, offset: Offset, reread_ms: Millis },
    /// A producer's acknowledged sends landed out of send order.
    NonmonotonicSend { producer: Option<&'a ProducerSpec> },
    /// Two replicas disagree from `offset` on, in the snapshot taken at `snapshot_ms`;
    /// `converged`: on their whole logs, after the cluster converged, else below their high
    /// watermarks.
    ReplicaDivergence { tp: &'a TopicPartition, converged: bool, offset: Offset, snapshot_ms: Millis },
    /// A replica-state invariant broke (monotonic-hw, single-leader-per-epoch, monotonic-epoch):
    /// `promise` states it.
    ReplicaState { promise: &'static str },
    /// The cluster did not recover after healing.
    Liveness,
}

/// The bug/allowed rules. For each anomaly the first matching row allows it; no match is a bug,
/// labelled with what the configuration promised.
///
/// | anomaly | allowed when | the reason names |
/// |---|---|---|
/// | lost-write | the producer uses acks=0 | the send |
/// | lost-write | the producer uses acks=1 and the acknowledging leader's high watermark never passed the record in the epoch it acknowledged it in (it was never committed) | the leader, offset, epoch |
/// | lost-write, inconsistent-offsets, replica-divergence below the high watermarks | the topic enables unclean election and the controller elected an unclean leader after the record was acknowledged (in a later epoch), or before the anomaly was seen | the election: leader, epoch, time |
/// | lost-write, inconsistent-offsets, replica-divergence below the high watermarks | flush is not every-batch, and power losses after the record was sent (or before the anomaly was seen) took its offset, unflushed, from at least min.insync.replicas distinct replicas | each power loss: broker, time |
/// | lost-write, inconsistent-offsets, replica-divergence below the high watermarks | flush is not every-batch, and the partition's only in-sync replica lost the offset to a power loss and was then elected again cleanly (Kafka without KIP-966 keeps the last ISR member electable) | the power loss and the election |
/// | duplicate | the producer retries (retries > 0, or unset: unbounded) and acks is not 0 | |
/// | nonmonotonic-send | the producer retries and max.in.flight.requests.per.connection > 1 | |
/// | replica-divergence after convergence, monotonic-hw, single-leader-per-epoch, monotonic-epoch, liveness | never | |
///
/// One exception comes before the durability rules: an acks=all write acknowledged while the
/// leader's committed ISR was smaller than min.insync.replicas broke the promise when it was
/// acknowledged, so its loss is a bug whatever lost it. The leader acknowledged it when its high
/// watermark passed the record (Kafka's `Partition.checkEnoughReplicasReachOffset` answers the
/// delayed produce then), however late the answer reached the producer.
///
/// An acks=1 record that did become committed is judged by the durability rules, as an acks=all
/// one: acks=1 gives up what the leader loses before replicating, not committed data.
///
/// An unclean election the topic does not enable stays a bug: the configuration promised clean
/// elections, so the controller broke it. Every rule about an offset needs the offset: an acks=0
/// send never learns one, and is excused by acks=0 alone.
pub fn judge(facts: &Facts, anomaly: &Anomaly) -> Label {
    let scenario = facts.input.scenario;
    match *anomaly {
        Anomaly::LostWrite { tp, producer, sent_ms, offset, acked_ms, acked_by } => {
            lost_write(facts, tp, producer, sent_ms, offset, acked_ms, acked_by)
        }
        // Unclean election and power loss give up committed data, never convergence: replicas
        // that still differ once the cluster converged are a truncation defect (KIP-101's own
        // example is a power loss of every replica; KIP-279 fixed the unclean-election case).
        Anomaly::ReplicaDivergence { converged: true, .. } => Label::bug(
            "replicas agree once the cluster has converged: unclean election and power loss give \
             up committed data, never convergence (KIP-101, KIP-279)",
        ),
        Anomaly::InconsistentOffsets { tp, offset, reread_ms: seen_ms }
        | Anomaly::ReplicaDivergence { tp, offset, snapshot_ms: seen_ms, converged: false } => {
            let scope = Scope { tp, offset: Some(offset), from_ms: 0, until_ms: seen_ms, after_epoch: None };
            match durability_loss(facts, &scope) {
                Some(reason) => Label::allowed(reason),
                None => Label::bug(format!(
                    "a committed record keeps its offset {}",
                    durability_promise(scenario, tp)
                )),
            }
        }
        Anomaly::Duplicate { producer: Some(p) } => match (retries(p), p.acks.0) {
            (_, Acks::None) => Label::bug("acks=0 sends each record once and never retries it"),
            (false, _) => Label::bug("retries=0 sends each record once: it is written at most once"),
            (true, _) => Label::allowed("retries without idempotence"),
        },
        Anomaly::NonmonotonicSend { producer: Some(p) } => {
            match (retries(p), p.max_in_flight_requests_per_connection) {
                (false, _) => Label::bug("retries=0 writes a producer's batches in the order it sends them"),
                (true, 1) => Label::bug(
                    "max.in.flight.requests.per.connection=1 writes a producer's batches in the order \
                     it sends them",
                ),
                (true, _) => Label::allowed("retries with several requests in flight reorder batches"),
            }
        }
        Anomaly::Duplicate { producer: None } => Label::bug("a value no producer sent twice is written once"),
        Anomaly::NonmonotonicSend { producer: None } => {
            Label::bug("a producer's batches are written in the order it sends them")
        }
        Anomaly::ReplicaState { promise } => Label::bug(promise),
        Anomaly::Liveness => Label::bug(format!(
            "after the faults heal, every partition has a leader and every replica catches up \
             within liveness_timeout_ms ({} ms)",
            scenario.liveness_timeout_ms
        )),
    }
}

impl Facts<'_> {
    pub fn judge(&self, anomaly: &Anomaly) -> Label {
        judge(self, anomaly)
    }
}

/// The lost-write rows of [`judge`].
fn lost_write(
    facts: &Facts,
    tp: &TopicPartition,
    producer: Option<&ProducerSpec>,
    sent_ms: Millis,
    offset: Option<Offset>,
    acked_ms: Millis,
    acked_by: NodeId,
) -> Label {
    let scenario = facts.input.scenario;
    let leader = facts.name(acked_by);
    let acks = producer.map(|p| p.acks.0);
    if acks == Some(Acks::None) {
        return Label::allowed(format!(
            "acks=0: the producer counted the record written when it sent it at {sent_ms} ms, \
             without waiting for a broker"
        ));
    }
    let epoch = facts.leader_epoch_at(tp, acked_by, acked_ms);
    let committed_at = |until_ms| facts.committed_at(tp, acked_by, epoch?, offset?, sent_ms, until_ms);
    if acks == Some(Acks::Leader) && committed_at(Millis::MAX).is_none() {
        let at = match (offset, epoch) {
            (Some(o), Some(e)) => format!(" offset {o} in epoch {e}"),
            (Some(o), None) => format!(" offset {o}"),
            _ => String::new(),
        };
        return Label::allowed(format!(
            "acks=1: {leader} acknowledged{at} before replicating it, and its high watermark never \
             passed it (never committed)"
        ));
    }
    let min_isr = min_insync_replicas(scenario, tp);
    if acks == Some(Acks::All) {
        // When the leader acknowledged: its high watermark passed the record, else (no report
        // of it) when the answer arrived.
        let at = committed_at(acked_ms).unwrap_or(acked_ms);
        if let Some(isr) = facts.leader_isr_at(tp, acked_by, at).filter(|isr| isr.len() < min_isr as usize) {
            let isr: Vec<&str> = isr.iter().map(|&n| facts.name(n)).collect();
            return Label::bug(format!(
                "acks=all with min.insync.replicas={min_isr} acknowledges no write while fewer \
                 than {min_isr} replicas are in sync, yet {leader} acknowledged it at {at} ms with \
                 ISR [{}]",
                isr.join(", ")
            ));
        }
    }
    let scope = Scope { tp, offset, from_ms: sent_ms, until_ms: Millis::MAX, after_epoch: epoch };
    match durability_loss(facts, &scope) {
        Some(reason) => Label::allowed(reason),
        None => Label::bug(match acks {
            Some(Acks::Leader) => format!(
                "acks=1 gives up only what its leader loses before replicating, and this record \
                 was committed; a committed record is kept {}",
                durability_promise(scenario, tp)
            ),
            _ => format!(
                "acks=all with min.insync.replicas={min_isr} keeps every acknowledged write {}",
                durability_promise(scenario, tp)
            ),
        }),
    }
}

/// The record a durability rule asks about: `offset` of `tp`, and the events that can have
/// taken it: from `from_ms` (its send) until `until_ms` (when its loss was seen), and elections
/// after `after_epoch` (the epoch it was acknowledged in).
struct Scope<'a> {
    tp: &'a TopicPartition,
    offset: Option<Offset>,
    from_ms: Millis,
    until_ms: Millis,
    after_epoch: Option<Epoch>,
}

impl Scope<'_> {
    fn covers(&self, time_ms: Millis) -> bool {
        (self.from_ms..=self.until_ms).contains(&time_ms)
    }

    fn follows_the_ack(&self, epoch: Epoch) -> bool {
        self.after_epoch.is_none_or(|acked| epoch > acked)
    }
}

/// Why the configuration lets the record in `scope` be lost or rewritten, naming the events
/// that took it; `None` if no such event did.
fn durability_loss(facts: &Facts, scope: &Scope) -> Option<String> {
    let scenario = facts.input.scenario;
    let tp = scope.tp;
    let elections = facts.elections_of(tp);
    let unclean = elections.iter().filter(|_| unclean_enabled(scenario, tp)).find(|e| {
        e.unclean
            && scope.covers(e.time_ms)
            && scope.follows_the_ack(e.epoch)
            && scope.offset.is_none_or(|o| facts.leader_lacked(tp, e, o))
    });
    if let Some(e) = unclean {
        let after = scope
            .after_epoch
            .map_or(String::new(), |a| format!(", after the record was acknowledged in epoch {a}"));
        return Some(format!(
            "unclean leader election: {} became leader of {tp} in epoch {} at {} ms{after}",
            facts.name(e.leader),
            e.epoch,
            e.time_ms
        ));
    }
    let offset = scope.offset?;
    if scenario.broker.flush == FlushSpec::EveryBatch {
        return None;
    }
    let replicas = replicas_of(scenario, tp);
    let taken: Vec<_> = facts
        .removals_of(tp)
        .iter()
        .filter(|r| r.took(offset) && scope.covers(r.time_ms) && replicas.contains(&r.node))
        .collect();
    let mut nodes = BTreeSet::new();
    let distinct: Vec<_> = taken.iter().filter(|r| nodes.insert(r.node)).collect();
    let min_isr = min_insync_replicas(scenario, tp) as usize;
    if !distinct.is_empty() && distinct.len() >= min_isr {
        let events: Vec<String> =
            distinct.iter().map(|r| format!("{} at {} ms", facts.name(r.node), r.time_ms)).collect();
        return Some(format!(
            "power loss took offset {offset} of {tp}, unflushed, from {} replica{} \
             (min.insync.replicas={min_isr}): {}",
            distinct.len(),
            if distinct.len() == 1 { "" } else { "s" },
            events.join(", ")
        ));
    }
    // The only in-sync replica lost the record to a power loss and was elected again.
    elections
        .iter()
        .filter(|e| e.sole_isr && scope.covers(e.time_ms) && scope.follows_the_ack(e.epoch))
        .find_map(|e| {
            let loss = taken.iter().rev().find(|r| r.node == e.leader && r.time_ms <= e.time_ms)?;
            Some(format!(
                "{} lost offset {offset} of {tp}, unflushed, to a power loss at {} ms while it was \
                 the only in-sync replica, and was elected again in epoch {} at {} ms (without \
                 KIP-966 the last in-sync replica stays electable)",
                facts.name(e.leader),
                loss.time_ms,
                e.epoch,
                e.time_ms
            ))
        })
}

/// What the configuration promises about committed records of `tp`, completing "… keeps X".
fn durability_promise(scenario: &Scenario, tp: &TopicPartition) -> String {
    let min_isr = min_insync_replicas(scenario, tp);
    let mut unless = Vec::new();
    if scenario.broker.flush != FlushSpec::EveryBatch {
        unless.push(format!(
            "power loss takes it, unflushed, from {min_isr} replica{}",
            if min_isr == 1 { "" } else { "s" }
        ));
    }
    if unclean_enabled(scenario, tp) {
        unless.push("an unclean leader election follows it".to_string());
    }
    match unless.is_empty() {
        true => "whatever fails (every batch is flushed, unclean leader election is disabled)".to_string(),
        false => format!("unless {}; no such event took this one", unless.join(" or ")),
    }
}

/// Whether a producer retries at all: `retries` unset means unbounded (Kafka's default).
fn retries(producer: &ProducerSpec) -> bool {
    producer.retries != Some(0)
}

fn unclean_enabled(scenario: &Scenario, tp: &TopicPartition) -> bool {
    topic_spec(scenario, &tp.topic)
        .and_then(|t| t.unclean_leader_election_enable)
        .unwrap_or(scenario.broker.unclean_leader_election_enable)
}

/// The `progress` rules, kept apart from [`judge`]'s table: a client that had not finished when
/// the liveness phase ended (a producer with sends unresolved, a consumer short of a partition's
/// high watermark, on `tp`) is a bug unless a row allows it. `request_timeout_ms` is the client's
/// request.timeout.ms.
///
/// | allowed when | the reason names |
/// |---|---|
/// | the cluster did not converge within the liveness bound, and the controller's last election left *tp* without a leader | that election: epoch, time (liveness reports the run) |
/// | the cluster did not converge within the liveness bound | the bound (liveness reports the run) |
/// | the client's request timeout is not shorter than liveness_timeout_ms | both settings: a request lost to a fault (a broker that lost power or was paused answers nothing) may go unanswered past the bound |
///
/// A stall past a scenario's `max_stall_ms` has no row: the scenario promised that bound.
pub fn judge_unfinished_client(input: &CheckInput, tp: &TopicPartition, request_timeout_ms: u64) -> Label {
    let events = &input.history.events;
    let liveness_timeout_ms = input.scenario.liveness_timeout_ms;
    let converged = events.iter().any(|e| e.op == Op::Phase(Phase::Converged));
    if !converged {
        let last_election = events.iter().rev().find_map(|e| match &e.op {
            Op::Replica(ReplicaEvent::LeaderElected { tp: t, leader, epoch, .. }) if t == tp => {
                Some((leader.is_none(), *epoch, e.time_ms))
            }
            _ => None,
        });
        return Label::allowed(match last_election {
            Some((true, epoch, time_ms)) => format!(
                "the controller left {tp} without a leader in epoch {epoch} at {time_ms} ms, and the \
                 cluster did not converge within liveness_timeout_ms ({liveness_timeout_ms} ms); \
                 liveness reports it"
            ),
            _ => format!(
                "the cluster did not converge within liveness_timeout_ms ({liveness_timeout_ms} ms); \
                 liveness reports it"
            ),
        });
    }
    if request_timeout_ms >= liveness_timeout_ms {
        return Label::allowed(format!(
            "request_timeout_ms ({request_timeout_ms} ms) is not shorter than liveness_timeout_ms \
             ({liveness_timeout_ms} ms): a request lost to a fault may go unanswered past the bound"
        ));
    }
    Label::bug(format!(
        "once the faults heal and the cluster converges, every producer resolves every send and \
         every consumer reads each of its partitions to the high watermark within \
         liveness_timeout_ms ({liveness_timeout_ms} ms)"
    ))
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
    use broker::effect::ReplicaEvent;

    fn tp(s: &str) -> TopicPartition {
        let (topic, p) = s.split_once('/').unwrap();
        TopicPartition::new(topic, p.parse().unwrap())
    }

    /// `run` with broker-1 leading orders/0 from the start, in epoch 1.
    fn led(run: Run) -> Run {
        let mut run = run;
        run.at(0).became_leader("broker-1", "orders/0", 1);
        run
    }

    /// The judgement of a lost write of offset 5 of orders/0, sent at 2,000 ms and acknowledged
    /// by broker-1 at 2,100 ms.
    fn lost(run: &Run) -> Label {
        lost_at(run, Some(5), 2_100)
    }

    fn lost_at(run: &Run, offset: Option<Offset>, acked_ms: Millis) -> Label {
        let input = run.input();
        let producer = input.scenario.producers.first();
        Facts::of(&input).judge(&Anomaly::LostWrite {
            tp: &tp("orders/0"),
            producer,
            sent_ms: 2_000,
            offset,
            acked_ms,
            acked_by: NodeId(1),
        })
    }

    /// Offset 5 of orders/0 read with two values, the second read at 10,000 ms.
    fn inconsistent(run: &Run) -> Label {
        let anomaly = Anomaly::InconsistentOffsets { tp: &tp("orders/0"), offset: 5, reread_ms: 10_000 };
        Facts::of(&run.input()).judge(&anomaly)
    }

    fn divergence(run: &Run, converged: bool) -> Label {
        let anomaly =
            Anomaly::ReplicaDivergence { tp: &tp("orders/0"), converged, offset: 5, snapshot_ms: 10_000 };
        Facts::of(&run.input()).judge(&anomaly)
    }

    fn duplicate(run: &Run) -> Label {
        let input = run.input();
        Facts::of(&input).judge(&Anomaly::Duplicate { producer: input.scenario.producers.first() })
    }

    fn reorder(run: &Run) -> Label {
        let input = run.input();
        Facts::of(&input).judge(&Anomaly::NonmonotonicSend { producer: input.scenario.producers.first() })
    }

    fn allowed(reason: &str) -> Label {
        Label::allowed(reason)
    }

    fn reason(label: &Label) -> &str {
        match label {
            Label::Allowed { reason } => reason,
            Label::Bug { promise } => panic!("a bug ({promise}), not allowed"),
        }
    }

    fn promise(label: &Label) -> &str {
        match label {
            Label::Bug { promise } => promise,
            Label::Allowed { reason } => panic!("allowed ({reason}), not a bug"),
        }
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
    fn a_lost_write_at_acks_all_is_a_bug_that_says_what_was_promised() {
        assert_eq!(
            promise(&lost(&led(Run::new()))),
            "acks=all with min.insync.replicas=2 keeps every acknowledged write unless power loss \
             takes it, unflushed, from 2 replicas; no such event took this one"
        );
        let flushed =
            led(Run::new().with_broker("flush = \"every-batch\"\nunclean_leader_election_enable = true"));
        assert_eq!(
            promise(&lost(&flushed)),
            "acks=all with min.insync.replicas=2 keeps every acknowledged write unless an unclean \
             leader election follows it; no such event took this one"
        );
        let neither = led(Run::new().with_broker("flush = \"every-batch\""));
        assert!(promise(&lost(&neither))
            .ends_with("write whatever fails (every batch is flushed, unclean leader election is disabled)"));
    }

    #[test]
    fn acks_0_excuses_the_send_by_its_time() {
        let run = led(Run::new().with_producer("acks = 0"));
        assert_eq!(
            lost_at(&run, None, 2_000),
            allowed(
                "acks=0: the producer counted the record written when it sent it at 2000 ms, \
                 without waiting for a broker"
            )
        );
    }

    #[test]
    fn acks_1_excuses_only_a_record_that_never_became_committed() {
        let mut run = led(Run::new().with_producer("acks = 1"));
        assert_eq!(
            lost(&run),
            allowed(
                "acks=1: broker-1 acknowledged offset 5 in epoch 1 before replicating it, and its \
                 high watermark never passed it (never committed)"
            )
        );
        // A high watermark past offset 5 in another epoch, or of another broker, commits nothing.
        run.at(2_200).high_watermark("broker-1", "orders/0", 2, 9, true);
        run.high_watermark("broker-2", "orders/0", 1, 9, true);
        assert!(!lost(&run).is_bug());
        // broker-1's own high watermark passing it in epoch 1 committed it: the durability rules
        // judge it.
        run.at(2_300).high_watermark("broker-1", "orders/0", 1, 6, true);
        assert!(
            promise(&lost(&run)).starts_with("acks=1 gives up only what its leader loses before replicating")
        );
        // …and an unclean election after it excuses it.
        let mut unclean =
            led(Run::new().with_producer("acks = 1").with_topic("unclean_leader_election_enable = true"));
        unclean.at(2_300).high_watermark("broker-1", "orders/0", 1, 6, true);
        unclean.at(5_000).unclean_election("orders/0", 2, "broker-3");
        unclean.became_leader("broker-3", "orders/0", 2);
        assert!(reason(&lost(&unclean)).starts_with("unclean leader election: broker-3"));
    }

    #[test]
    fn an_unclean_election_excuses_only_records_acknowledged_in_an_older_epoch() {
        let expected = "unclean leader election: broker-3 became leader of orders/0 in epoch 2 at \
                        5000 ms, after the record was acknowledged in epoch 1";
        let mut after = led(Run::new().with_topic("unclean_leader_election_enable = true"));
        after.at(5_000).unclean_election("orders/0", 2, "broker-3");
        after.became_leader("broker-3", "orders/0", 2);
        assert_eq!(lost(&after), allowed(expected));
        assert_eq!(
            reason(&divergence(&after, false)),
            "unclean leader election: broker-3 became leader of orders/0 in epoch 2 at 5000 ms"
        );
        assert!(
            divergence(&after, true).is_bug(),
            "unclean election gives up committed data, never convergence"
        );

        // An election before the record was acknowledged (in its epoch or earlier) took nothing
        // of it.
        let mut before = Run::new().with_topic("unclean_leader_election_enable = true");
        before.at(500).unclean_election("orders/0", 1, "broker-1");
        before.became_leader("broker-1", "orders/0", 1);
        before.at(600).became_leader("broker-1", "orders/0", 1);
        assert!(lost(&before).is_bug());

        // Inherited from the broker setting.
        let mut inherited = led(Run::new().with_broker("unclean_leader_election_enable = true"));
        inherited.at(5_000).unclean_election("orders/0", 2, "broker-3");
        inherited.became_leader("broker-3", "orders/0", 2);
        assert_eq!(lost(&inherited), allowed(expected));

        // Another partition's unclean election excuses nothing here.
        let mut elsewhere = led(Run::new().with_topic("unclean_leader_election_enable = true"));
        elsewhere.at(5_000).unclean_election("orders/1", 2, "broker-3");
        assert!(lost(&elsewhere).is_bug());

        // The topic overrides an enabling broker: the election broke the configuration.
        let mut disabled = led(Run::new()
            .with_broker("unclean_leader_election_enable = true")
            .with_topic("unclean_leader_election_enable = false"));
        disabled.at(5_000).unclean_election("orders/0", 2, "broker-3");
        disabled.became_leader("broker-3", "orders/0", 2);
        assert!(lost(&disabled).is_bug());

        // An unclean leader that had the record took nothing of it…
        let mut had_it = led(Run::new().with_topic("unclean_leader_election_enable = true"));
        had_it.at(5_000).unclean_election("orders/0", 2, "broker-3");
        had_it.became_leader_at("broker-3", "orders/0", 2, 9);
        assert!(lost(&had_it).is_bug());
        // …unless a replica then cut the offset to follow it: its record there differed.
        had_it.at(5_100).replica("broker-1", ReplicaEvent::Truncated { tp: tp("orders/0"), from: 9, to: 4 });
        assert_eq!(lost(&had_it), allowed(expected));

        // An offset seen rewritten is excused only by an election before it was seen.
        let mut late = led(Run::new().with_topic("unclean_leader_election_enable = true"));
        late.at(11_000).unclean_election("orders/0", 2, "broker-3");
        late.became_leader("broker-3", "orders/0", 2);
        assert!(inconsistent(&late).is_bug());
        assert!(!inconsistent(&after).is_bug());
    }

    #[test]
    fn high_watermark_truncation_excuses_nothing() {
        // The pre-KIP-101 protocol is a defect of the implementation, not a setting that gives
        // up the promise: what it loses is a bug, as it was in Kafka.
        let run = led(Run::new().with_broker("truncation = \"high-watermark\""));
        assert!(lost(&run).is_bug());
        assert!(divergence(&run, false).is_bug());
    }

    /// `../shared/cases/power-loss-excuse-scope.toml`: power losses that did not take the record
    /// excuse nothing, however many there were.
    #[test]
    fn power_loss_excuses_a_record_only_when_it_took_its_offset_from_min_isr_replicas() {
        let mut two = led(Run::new());
        two.at(3_000).power_loss("broker-2", "orders/0", 8, 4);
        assert!(lost(&two).is_bug(), "one replica is fewer than min.insync.replicas = 2");
        two.at(4_000).power_loss("broker-3", "orders/0", 7, 5);
        let expected = "power loss took offset 5 of orders/0, unflushed, from 2 replicas \
                        (min.insync.replicas=2): broker-2 at 3000 ms, broker-3 at 4000 ms";
        assert_eq!(lost(&two), allowed(expected));
        assert_eq!(inconsistent(&two), allowed(expected));
        assert_eq!(divergence(&two, false), allowed(expected));
        assert!(divergence(&two, true).is_bug(), "power loss never excuses divergence for good");
        // Another offset was not taken.
        assert!(lost_at(&two, Some(7), 2_100).is_bug());
        assert!(lost_at(&two, Some(3), 2_100).is_bug());
        // An acks=all write without a known offset is excused by no power loss.
        assert!(lost_at(&two, None, 2_100).is_bug());

        // Power losses before the record was sent took an older record at that offset, not it.
        let mut before = led(Run::new());
        before.at(1_000).power_loss("broker-2", "orders/0", 8, 4);
        before.at(1_500).power_loss("broker-3", "orders/0", 8, 4);
        assert!(lost(&before).is_bug());
        // …but an offset seen rewritten later may have lost its record then.
        assert!(!inconsistent(&before).is_bug());

        // With every batch flushed, power loss excuses nothing.
        let mut flushed = led(Run::new().with_broker("flush = \"every-batch\""));
        flushed.at(3_000).power_loss("broker-2", "orders/0", 8, 4).power_loss("broker-3", "orders/0", 8, 4);
        assert!(lost(&flushed).is_bug());

        // The same broker twice counts once.
        let mut twice = led(Run::new());
        twice.at(3_000).power_loss("broker-2", "orders/0", 8, 4).power_loss("broker-2", "orders/0", 8, 4);
        assert!(lost(&twice).is_bug());

        // min.insync.replicas = 1, inherited from the broker: one replica is enough.
        let mut min1 = led(Run::new().with_broker("min_insync_replicas = 1"));
        min1.at(3_000).power_loss("broker-3", "orders/0", 8, 4);
        assert!(reason(&lost(&min1)).contains("from 1 replica (min.insync.replicas=1): broker-3 at 3000 ms"));

        // A broker without a replica of the partition holds nothing of it.
        let mut none = led(Run::new().with_topic("replication_factor = 2\nmin_insync_replicas = 1"));
        none.at(3_000).power_loss("broker-3", "orders/0", 8, 4);
        assert!(lost(&none).is_bug());
    }

    #[test]
    fn the_only_in_sync_replica_losing_the_record_and_coming_back_as_leader_excuses_it() {
        let expected = "broker-1 lost offset 5 of orders/0, unflushed, to a power loss at 3000 ms \
                        while it was the only in-sync replica, and was elected again in epoch 2 at \
                        5000 ms (without KIP-966 the last in-sync replica stays electable)";
        // min.isr = 2 here, so one power loss alone excuses nothing…
        let mut run = led(Run::new());
        run.at(2_500).isr("orders/0", 1, &["broker-1"]);
        run.at(3_000).power_loss("broker-1", "orders/0", 9, 2);
        assert!(lost(&run).is_bug());
        // …but the controller re-electing that last ISR member does.
        run.at(5_000).elected("orders/0", 2, "broker-1");
        assert_eq!(lost(&run), allowed(expected));
        assert_eq!(divergence(&run, false), allowed(expected));
        // A power loss that did not take offset 9 does not.
        assert!(lost_at(&run, Some(9), 2_100).is_bug());

        // Elected while others were in sync too: its peers had every acknowledged write.
        let mut peers = led(Run::new());
        peers.at(3_000).power_loss("broker-1", "orders/0", 9, 2);
        peers.at(5_000).elected("orders/0", 2, "broker-1");
        assert!(lost(&peers).is_bug());

        // An election before the power loss does not count.
        let mut before = led(Run::new());
        before.at(2_500).isr("orders/0", 1, &["broker-1"]);
        before.at(2_600).elected("orders/0", 2, "broker-1");
        before.at(3_000).power_loss("broker-1", "orders/0", 9, 2);
        assert!(lost(&before).is_bug());
    }

    #[test]
    fn a_write_acknowledged_while_the_leaders_isr_was_below_min_isr_is_a_bug_whatever_lost_it() {
        let lone = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 1, isr: vec![NodeId(1)] };
        let full = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 1, isr: vec![NodeId(1), NodeId(2)] };
        // An unclean election on the partition: the usual excuse for a loss.
        let unclean = |broker: &str| {
            let mut run =
                led(Run::new().with_broker(&format!("unclean_leader_election_enable = true\n{broker}")));
            run.at(9_000).unclean_election("orders/0", 3, "broker-3");
            run.became_leader("broker-3", "orders/0", 3);
            run
        };
        let mut run = unclean("");
        run.at(2_050).replica("broker-1", lone.clone());
        run.at(2_200).replica("broker-1", full);
        // Acknowledged while broker-1 led alone (min.isr = 2): the promise was broken then.
        assert_eq!(
            promise(&lost_at(&run, None, 2_100)),
            "acks=all with min.insync.replicas=2 acknowledges no write while fewer than 2 replicas \
             are in sync, yet broker-1 acknowledged it at 2100 ms with ISR [broker-1]"
        );
        // Before and after, the usual rules apply.
        assert!(!lost_at(&run, None, 2_040).is_bug());
        assert!(!lost_at(&run, None, 2_300).is_bug());
        // acks=1 promises nothing about the ISR.
        let mut acks1 = led(Run::new().with_producer("acks = 1"));
        acks1.at(2_050).replica("broker-1", lone.clone());
        assert!(reason(&lost_at(&acks1, Some(5), 2_100)).starts_with("acks=1"));
        // With min.isr = 1 a lone leader is within the promise.
        let mut min1 = unclean("min_insync_replicas = 1");
        min1.at(2_050).replica("broker-1", lone.clone());
        assert!(!lost_at(&min1, None, 2_100).is_bug());
        // Another broker's lone leadership says nothing of broker-1's acknowledgements.
        let mut other = unclean("");
        let lone_2 = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 2, isr: vec![NodeId(2)] };
        other.at(2_050).replica("broker-2", lone_2);
        assert!(!lost_at(&other, None, 2_100).is_bug());
        // A leader that stepped down no longer speaks for the partition.
        let mut stepped_down = unclean("");
        stepped_down.at(2_050).replica("broker-1", lone);
        stepped_down.at(2_060).became_follower("broker-1", "orders/0", 2, "broker-2");
        assert!(!lost_at(&stepped_down, None, 2_100).is_bug());
    }

    /// `../shared/cases/late-ack-power-loss.toml`: the leader acknowledged when its high watermark
    /// passed the write, with a full ISR; the answer reached the producer after the ISR shrank.
    /// What the leader promised is decided when it acknowledged.
    #[test]
    fn a_late_acknowledgement_is_judged_by_the_isr_when_the_leader_gave_it() {
        let lone = ReplicaEvent::LeaderIsr { tp: tp("orders/0"), epoch: 1, isr: vec![NodeId(1)] };
        let mut run = led(Run::new().with_broker("unclean_leader_election_enable = true"));
        run.at(2_050).high_watermark("broker-1", "orders/0", 1, 6, true);
        run.at(2_080).replica("broker-1", lone.clone());
        run.at(9_000).unclean_election("orders/0", 3, "broker-3");
        run.became_leader("broker-3", "orders/0", 3);
        // Offset 5 was committed at 2,050 ms with a full ISR: the late answer changes nothing.
        assert!(!lost_at(&run, Some(5), 2_100).is_bug());
        // Offset 6 was never passed by the leader's high watermark before the answer: judged
        // when it arrived, below min.isr.
        assert!(lost_at(&run, Some(6), 2_100).is_bug());
        // A high watermark that moved before the write was sent is no acknowledgement of it.
        let mut early = led(Run::new().with_broker("unclean_leader_election_enable = true"));
        early.at(1_500).high_watermark("broker-1", "orders/0", 1, 6, true);
        early.at(2_080).replica("broker-1", lone);
        early.at(9_000).unclean_election("orders/0", 3, "broker-3");
        early.became_leader("broker-3", "orders/0", 3);
        assert!(lost_at(&early, Some(5), 2_100).is_bug());
    }

    #[test]
    fn acks_rules_come_before_durability_rules() {
        let mut run =
            led(Run::new().with_producer("acks = 1").with_broker("unclean_leader_election_enable = true"));
        run.at(5_000).unclean_election("orders/0", 2, "broker-3");
        run.became_leader("broker-3", "orders/0", 2);
        assert!(reason(&lost(&run)).starts_with("acks=1: broker-1 acknowledged offset 5"));
    }

    #[test]
    fn inconsistent_offsets_ignore_acks() {
        let run = led(Run::new().with_producer("acks = 1"));
        assert_eq!(
            promise(&inconsistent(&run)),
            "a committed record keeps its offset unless power loss takes it, unflushed, from 2 \
             replicas; no such event took this one"
        );
    }

    #[test]
    fn duplicates_are_allowed_only_with_retries_and_acks() {
        let reason = allowed("retries without idempotence");
        assert_eq!(duplicate(&Run::new()), reason, "retries unset: unbounded");
        assert_eq!(duplicate(&Run::new().with_producer("retries = 3")), reason);
        assert_eq!(
            promise(&duplicate(&Run::new().with_producer("retries = 0"))),
            "retries=0 sends each record once: it is written at most once"
        );
        assert!(duplicate(&Run::new().with_producer("acks = 0")).is_bug());
        let input = Run::new();
        assert!(Facts::of(&input.input()).judge(&Anomaly::Duplicate { producer: None }).is_bug());
    }

    #[test]
    fn reordering_is_allowed_only_with_retries_and_several_in_flight() {
        let reason = allowed("retries with several requests in flight reorder batches");
        assert_eq!(reorder(&Run::new()), reason, "defaults: unbounded retries, 5 in flight");
        let one = Run::new().with_producer("max_in_flight_requests_per_connection = 1");
        assert!(promise(&reorder(&one)).starts_with("max.in.flight.requests.per.connection=1"));
        assert!(reorder(&Run::new().with_producer("retries = 0")).is_bug());
    }

    #[test]
    fn replica_state_and_liveness_are_always_bugs() {
        let mut run = led(Run::new()
            .with_producer("acks = 0")
            .with_broker("truncation = \"high-watermark\"\nunclean_leader_election_enable = true"));
        run.at(5_000).unclean_election("orders/0", 2, "broker-3");
        run.became_leader("broker-3", "orders/0", 2);
        run.power_loss("broker-1", "orders/0", 9, 0).power_loss("broker-2", "orders/0", 9, 0);
        let facts = Facts::of(&run.input());
        let state = facts.judge(&Anomaly::ReplicaState { promise: "one leader per epoch" });
        assert_eq!(state, Label::bug("one leader per epoch"));
        assert!(promise(&facts.judge(&Anomaly::Liveness)).starts_with("after the faults heal"));
    }
}
