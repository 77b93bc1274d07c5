//! How the producer client rides out an unreachable or changing leader, as Kafka 3.7's does: one
//! producer against a scripted world that answers its effects at once — handshakes connected,
//! refused or never answered, metadata naming a chosen leader, produce requests answered or not.
//! Jitter is off (`Midpoint`), so every backoff has its exact figure.

use broker::bugs::Bug;
use broker::config::ProducerConfig;
use broker::effect::{Effect, Outbox};
use broker::metadata::{BrokerRegistration, MetadataImage, PartitionState};
use broker::producer::{Completion, Producer};
use broker::protocol::{Envelope, ErrorCode, Message, ProduceResponse, Request, Response};
use broker::random::Midpoint;
use broker::types::{Acks, BrokerId, Epoch, Millis, NodeId, Record, TopicPartition};
use std::collections::BTreeSet;

const B1: BrokerId = NodeId(1);
const B2: BrokerId = NodeId(2);
const B3: BrokerId = NodeId(3);

fn tp() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

/// How the world answers produce requests.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Appended and acknowledged.
    Ok,
    /// An error response.
    Error(ErrorCode),
    /// Never answered: the request stays in flight.
    Silence,
}

/// A produce request the producer sent.
#[derive(Clone, Debug)]
struct Sent {
    at: Millis,
    to: BrokerId,
    values: Vec<u64>,
}

struct World {
    producer: Producer,
    now: Millis,
    out: Outbox,
    /// Hosts whose process died: handshakes are refused.
    refused: BTreeSet<NodeId>,
    /// Hosts without power: handshakes are never answered, nor requests.
    silent: BTreeSet<NodeId>,
    leader: BrokerId,
    epoch: Epoch,
    answer: Answer,
    /// What happens after the first produce answer (for one-off errors).
    then: Option<(Answer, BrokerId, Epoch)>,
    sent: Vec<Sent>,
    connects: Vec<(Millis, NodeId)>,
    closes: Vec<(Millis, NodeId)>,
    completions: Vec<(Millis, Completion)>,
    next_offset: u64,
}

impl World {
    fn new(config: ProducerConfig) -> World {
        let config = ProducerConfig { bootstrap: vec![B1, B2, B3], ..config };
        World {
            producer: Producer::new(config, Box::new(Midpoint)),
            now: 0,
            out: Outbox::new(),
            refused: BTreeSet::new(),
            silent: BTreeSet::new(),
            leader: B1,
            epoch: 0,
            answer: Answer::Ok,
            then: None,
            sent: Vec::new(),
            connects: Vec::new(),
            closes: Vec::new(),
            completions: Vec::new(),
            next_offset: 0,
        }
    }

    fn image(&self) -> MetadataImage {
        let mut image = MetadataImage { version: u64::from(self.epoch) + 1, ..MetadataImage::default() };
        for b in [B1, B2, B3] {
            image.brokers.insert(b, BrokerRegistration { incarnation: 1, fenced: false });
        }
        let state = PartitionState {
            replicas: vec![B1, B2, B3],
            leader: Some(self.leader),
            leader_epoch: self.epoch,
            isr: vec![B1, B2, B3],
            partition_epoch: self.epoch,
        };
        image.partitions.insert(tp(), state);
        image
    }

    fn send(&mut self, value: u64) {
        let record = Record::sized(None, value);
        self.producer.send(self.now, tp(), record, &mut self.out);
        self.react();
    }

    /// Carries out the producer's effects, and the effects of the answers, until none is left.
    fn react(&mut self) {
        while !self.out.is_empty() {
            let now = self.now;
            let mut out = Outbox::new();
            for effect in std::mem::take(&mut self.out) {
                match effect {
                    Effect::Connect { peer } => {
                        self.connects.push((now, peer));
                        if self.refused.contains(&peer) {
                            self.producer.on_disconnect(now, peer, &mut out);
                        } else if !self.silent.contains(&peer) {
                            self.producer.on_connected(now, peer, &mut out);
                        }
                    }
                    Effect::Send { to, message: Message::Request { correlation, request } } => {
                        if self.silent.contains(&to) {
                            continue;
                        }
                        let response = match request {
                            Request::Metadata => Response::Metadata(Box::new(self.image())),
                            Request::Produce(req) => {
                                let values = req.records.iter().map(|r| r.value).collect();
                                self.sent.push(Sent { at: now, to, values });
                                let answer = self.answer;
                                if let Some((answer, leader, epoch)) = self.then.take() {
                                    (self.answer, self.leader, self.epoch) = (answer, leader, epoch);
                                }
                                let (error, base_offset) = match answer {
                                    Answer::Silence => continue,
                                    Answer::Error(e) => (Some(e), None),
                                    Answer::Ok => {
                                        let base = self.next_offset;
                                        self.next_offset += req.records.len() as u64;
                                        (None, Some(base))
                                    }
                                };
                                Response::Produce(ProduceResponse { tp: req.tp, error, base_offset })
                            }
                            other => panic!("unexpected request {other:?}"),
                        };
                        let message = Message::Response { correlation, response };
                        self.producer.on_message(
                            now,
                            Envelope { from: to, connection: 0, message },
                            &mut out,
                        );
                    }
                    Effect::CloseConnection { peer } => self.closes.push((now, peer)),
                    other => panic!("unexpected effect {other:?}"),
                }
            }
            self.out = out;
            for c in self.producer.take_completions() {
                self.completions.push((now, c));
            }
        }
        for c in self.producer.take_completions() {
            self.completions.push((self.now, c));
        }
    }

    /// Runs the producer's timers up to `until`.
    fn run_until(&mut self, until: Millis) {
        loop {
            let deadline = self.producer.next_deadline();
            if deadline > until {
                break;
            }
            assert!(deadline >= self.now, "deadline {deadline} before now {}", self.now);
            self.now = deadline;
            self.producer.on_timer(self.now, &mut self.out);
            self.react();
        }
        self.now = until;
    }

    /// The leader's host crashes: its connections reset, its handshakes refused from now on.
    fn crash(&mut self, broker: BrokerId) {
        self.refused.insert(broker);
        self.producer.on_disconnect(self.now, broker, &mut self.out);
        self.react();
    }

    fn outcomes(&self) -> Vec<&Completion> {
        self.completions.iter().map(|(_, c)| c).collect()
    }
}

fn config() -> ProducerConfig {
    ProducerConfig { acks: Acks::All, ..ProducerConfig::default() }
}

#[test]
fn a_refused_connection_carries_nothing_and_makes_nothing_indeterminate() {
    // Broker 3 leads, but its process is dead: every handshake is refused.
    let mut w = World::new(config());
    w.leader = B3;
    w.refused.insert(B3);
    w.send(1);
    w.run_until(130_000);
    assert!(w.sent.is_empty(), "a batch went out: {:?}", w.sent);
    assert_eq!(w.completions.len(), 1);
    let (at, Completion::Fail { value: 1, error }) = &w.completions[0] else {
        panic!("not a plain failure: {:?}", w.completions)
    };
    assert_eq!((*at, error.as_str()), (120_000, "delivery timeout"));
    // Attempts back off 50 ms doubling to 1 s: about one a second, not a busy loop.
    let attempts = w.connects.iter().filter(|(_, n)| *n == B3).count();
    assert!((110..=130).contains(&attempts), "{attempts} attempts in 120 s");
}

#[test]
fn an_unanswered_connection_times_out_carries_nothing_and_makes_nothing_indeterminate() {
    // Broker 3 leads and has no power: handshakes go unanswered.
    let mut w = World::new(config());
    w.leader = B3;
    w.silent.insert(B3);
    w.send(1);
    w.run_until(130_000);
    assert!(w.sent.is_empty(), "a batch went out: {:?}", w.sent);
    assert!(matches!(w.outcomes()[..], [Completion::Fail { value: 1, .. }]), "{:?}", w.completions);
    // Each attempt is given up after the setup timeout: 10 s, 20 s, then 30 s (KIP-601).
    let attempts: Vec<Millis> = w.connects.iter().filter(|(_, n)| *n == B3).map(|(t, _)| *t).collect();
    let closes: Vec<Millis> = w.closes.iter().filter(|(_, n)| *n == B3).map(|(t, _)| *t).collect();
    let waited: Vec<Millis> = attempts.iter().zip(&closes).map(|(a, c)| c - a).collect();
    assert_eq!(waited[..4], [10_000, 20_000, 30_000, 30_000]);
}

#[test]
fn a_request_in_flight_when_the_connection_breaks_is_indeterminate() {
    let mut w = World::new(config());
    w.answer = Answer::Silence;
    w.run_until(1_000);
    w.send(1);
    assert_eq!(w.sent.len(), 1, "sent on the ready connection to the leader");
    // The leader's process dies with the request in flight: the reset arrives, and every
    // attempt to reconnect is refused.
    w.run_until(2_000);
    w.crash(B1);
    w.run_until(130_000);
    assert_eq!(w.sent.len(), 1);
    let (at, Completion::Info { value: 1, reason }) = &w.completions[0] else {
        panic!("not indeterminate: {:?}", w.completions)
    };
    assert_eq!(*at, 121_000);
    assert!(reason.starts_with("delivery timeout"), "{reason}");
}

#[test]
fn batches_wait_for_an_unreachable_leader_and_go_to_the_new_one_in_order() {
    let mut w = World::new(config());
    w.leader = B3;
    w.refused.insert(B3);
    for value in 1..=5 {
        w.send(value);
        w.run_until(w.now + 1_000);
    }
    assert!(w.sent.is_empty());
    // Broker 2 is elected; the next refresh (after the next refused attempt) names it.
    w.leader = B2;
    w.epoch = 1;
    w.run_until(20_000);
    let values: Vec<u64> = w.sent.iter().flat_map(|s| s.values.clone()).collect();
    assert_eq!(values, [1, 2, 3, 4, 5]);
    assert!(w.sent.iter().all(|s| s.to == B2));
    assert!(w.sent[0].at < 7_000, "first batch to the new leader at {} ms", w.sent[0].at);
    assert!(
        w.outcomes().iter().all(|c| matches!(c, Completion::Ok { broker: B2, .. })),
        "{:?}",
        w.completions
    );
    assert_eq!(w.completions.len(), 5);
}

#[test]
fn retries_back_off_exponentially_up_to_the_max() {
    // Refused before the append, every time: each retry waits retry.backoff.ms × 2^(attempts−1),
    // capped at retry.backoff.max.ms (KIP-580).
    let mut w = World::new(config());
    w.answer = Answer::Error(ErrorCode::NotEnoughReplicas);
    w.run_until(1_000);
    w.send(1);
    w.run_until(6_000);
    let gaps: Vec<Millis> = w.sent.windows(2).map(|p| p[1].at - p[0].at).collect();
    assert_eq!(gaps[..6], [100, 200, 400, 800, 1_000, 1_000]);
}

/// The retries of a send answered NOT_LEADER_OR_FOLLOWER once, after a first send has warmed
/// the producer up (metadata fetched long enough ago for a refresh to go at once): when each went
/// and to whom.
fn retries_after_not_leader(then_leader: BrokerId, then_epoch: Epoch) -> Vec<(Millis, BrokerId)> {
    let mut w = World::new(config());
    w.send(0);
    w.run_until(1_000);
    w.answer = Answer::Error(ErrorCode::NotLeaderOrFollower);
    w.then = Some((Answer::Ok, then_leader, then_epoch));
    w.send(1);
    w.run_until(5_000);
    w.sent.iter().skip(1).map(|s| (s.at, s.to)).collect()
}

#[test]
fn a_retry_skips_its_backoff_when_the_leader_changed() {
    // The refresh the error asks for names a new leader (epoch 1): the retry goes at once (KIP-951).
    assert_eq!(retries_after_not_leader(B2, 1), [(1_000, B1), (1_000, B2)]);
    // The same error with the leader unchanged: the retry waits out its backoff.
    assert_eq!(retries_after_not_leader(B1, 0), [(1_000, B1), (1_100, B1)]);
}

#[test]
fn with_stall_after_not_leader_the_partition_is_never_sent_to_again() {
    // The defect mutes the partition on NOT_LEADER_OR_FOLLOWER for good: the refresh names a new
    // leader (as in the test above), yet nothing more goes anywhere, and every send of the
    // partition waits until its delivery timeout fails it.
    let bugs = [Bug::StallAfterNotLeader].into_iter().collect();
    let mut w = World::new(ProducerConfig { bugs, delivery_timeout_ms: 40_000, ..config() });
    w.send(0);
    w.run_until(1_000);
    w.answer = Answer::Error(ErrorCode::NotLeaderOrFollower);
    w.then = Some((Answer::Ok, B2, 1));
    w.send(1);
    w.run_until(2_000);
    w.send(2);
    w.run_until(60_000);
    let sent: Vec<(Millis, BrokerId)> = w.sent.iter().skip(1).map(|s| (s.at, s.to)).collect();
    assert_eq!(sent, [(1_000, B1)]);
    let outcomes: Vec<(Millis, &Completion)> = w.completions.iter().skip(1).map(|(t, c)| (*t, c)).collect();
    let reason = "delivery timeout (last error: NOT_LEADER_OR_FOLLOWER)".to_string();
    assert_eq!(
        outcomes,
        [
            (41_000, &Completion::Info { value: 1, reason }),
            (42_000, &Completion::Fail { value: 2, error: "delivery timeout".to_string() }),
        ]
    );
}

#[test]
fn the_delivery_timeout_expires_a_batch_in_flight_as_indeterminate() {
    // The leader never answers. The first request times out after 30 s and closes the connection;
    // the retry goes out on a new one and is still in flight when the send's delivery timeout (40 s
    // from its creation) passes: it is failed then, as indeterminate, without waiting for its own
    // request timeout.
    let timeouts = ProducerConfig { request_timeout_ms: 30_000, delivery_timeout_ms: 40_000, ..config() };
    let mut w = World::new(timeouts);
    w.answer = Answer::Silence;
    w.run_until(1_000);
    w.send(1);
    w.run_until(60_000);
    assert_eq!(w.sent.len(), 2, "{:?}", w.sent);
    assert!(w.sent[1].at < 41_000);
    let (at, Completion::Info { value: 1, reason }) = &w.completions[0] else {
        panic!("not indeterminate: {:?}", w.completions)
    };
    assert_eq!(*at, 41_000);
    assert!(reason.starts_with("delivery timeout"), "{reason}");
    assert_eq!(w.completions.len(), 1, "resolved once: {:?}", w.completions);
    // Only the first request's timeout closed a connection: the retry stays in flight.
    assert_eq!(w.closes, [(31_000, B1)]);
}
