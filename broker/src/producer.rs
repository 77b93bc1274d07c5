//! A producer client without idempotence: per-partition queues (Kafka's record accumulator)
//! drained into batches sent to the partition's leader, up to
//! `max_in_flight_requests_per_connection` requests per broker, retries with backoff within the
//! delivery timeout, metadata refresh on errors.
//!
//! Each send ends in exactly one `Completion`: `Ok` when acknowledged, `Fail` when no attempt can
//! have written it, `Info` (indeterminate) when one might have. A retried batch goes back to the
//! front of its partition's queue, but batches already in flight behind it may land first: that
//! is how retries reorder records without idempotence.
//!
//! How it rides out a broken leader, as Kafka 3.7's `Sender` and `RecordAccumulator` do:
//! - a batch is sent only on a ready connection (see `connections`); while the leader cannot be
//!   reached — being connected, refused, in reconnect backoff — its batches wait in their queue, in
//!   order, and go to whichever broker leads once metadata names one. Only a request actually sent
//!   on an established connection that then broke is in doubt: a refused connection, or one that
//!   never carried the batch, leaves it a plain failure if it expires;
//! - a retry waits `retry_backoff_ms` × 2^(attempts − 1), at most `retry_backoff_max_ms`, ±20 %
//!   (KIP-580), unless the partition's leader changed since the failed attempt (KIP-951);
//! - `delivery_timeout_ms` bounds a send from its creation, queued or in flight: a batch in
//!   flight past it is failed at once as indeterminate (it was sent), and its late answer, if any,
//!   is ignored (`Sender.getExpiredInflightBatches`);
//! - while a metadata refresh is due and not yet sent, nothing else is sent.
//!
//! It says what it does through `tracing` (target `broker::producer`): at info each produce
//! request with its batch, each error received by its Kafka name, each retry with its backoff,
//! each lost connection, request timeout and delivery timeout; at debug each request's
//! correlation id, epoch and records, and each acknowledgement.

use crate::backoff::ExponentialBackoff;
use crate::bugs::Bug;
use crate::config::ProducerConfig;
use crate::connections::Connections;
use crate::effect::{Effect, Outbox};
use crate::metadata::MetadataImage;
use crate::metadata_client::{MetadataClient, PollContext};
use crate::protocol::{Envelope, ErrorCode, Message, ProduceRequest, ProduceResponse, Request, Response};
use crate::random::Random;
use crate::types::{Acks, BrokerId, CorrelationId, Epoch, Millis, NodeId, Offset, Record, TopicPartition};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How one send ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Acknowledged by `broker` (for acks=0: written to the connection to it).
    Ok {
        value: u64,
        offset: Option<Offset>,
        broker: BrokerId,
    },
    Fail {
        value: u64,
        error: String,
    },
    Info {
        value: u64,
        reason: String,
    },
}

#[derive(Clone, Debug)]
struct Pending {
    record: Record,
    created_ms: Millis,
    attempts: u32,
    /// Some attempt may have been appended by a leader.
    maybe_written: bool,
    /// Retry backoff: not to be sent before this time, unless the leader changes.
    not_before: Millis,
    /// The partition's leader epoch when the record was last sent.
    sent_in_epoch: Option<Epoch>,
    last_error: String,
}

#[derive(Clone, Debug)]
struct InFlight {
    broker: BrokerId,
    tp: TopicPartition,
    /// Emptied when the delivery timeout expires it: the request stays in flight (it still
    /// occupies the pipeline) but its records are already resolved.
    batch: Vec<Pending>,
    deadline: Millis,
}

pub struct Producer {
    config: ProducerConfig,
    metadata: MetadataClient,
    connections: Connections,
    retry_backoff: ExponentialBackoff,
    /// Jitter and the least-loaded node's starting point, from the host.
    random: Box<dyn Random>,
    queues: BTreeMap<TopicPartition, VecDeque<Pending>>,
    in_flight: BTreeMap<CorrelationId, InFlight>,
    next_correlation: CorrelationId,
    completions: Vec<Completion>,
    /// When `poll` last ran: a retry due by then was already considered (and was blocked, or sent).
    polled_at: Millis,
    /// Partitions the `stall-after-not-leader` bug mode muted for good; always empty without it.
    muted: BTreeSet<TopicPartition>,
}

impl Producer {
    /// A client drawing its jitter from `random`, which the host seeds.
    pub fn new(config: ProducerConfig, random: Box<dyn Random>) -> Producer {
        let metadata = MetadataClient::new(
            config.bootstrap.clone(),
            config.request_timeout_ms,
            config.retry_backoff_ms,
            config.retry_backoff_max_ms,
        );
        Producer {
            connections: Connections::new(&config.connections),
            retry_backoff: ExponentialBackoff::new(config.retry_backoff_ms, config.retry_backoff_max_ms),
            random,
            config,
            metadata,
            queues: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_correlation: 0,
            completions: Vec::new(),
            polled_at: 0,
            muted: BTreeSet::new(),
        }
    }

    /// Hands a record to the client; its outcome arrives later as a `Completion`.
    pub fn send(&mut self, now: Millis, tp: TopicPartition, record: Record, out: &mut Outbox) {
        let pending = Pending {
            record,
            created_ms: now,
            attempts: 0,
            maybe_written: false,
            not_before: now,
            sent_in_epoch: None,
            last_error: String::new(),
        };
        self.queues.entry(tp).or_default().push_back(pending);
        self.poll(now, out);
    }

    /// Outcomes since the last call, in the order they happened.
    pub fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.completions)
    }

    /// Sends still waiting for an outcome.
    pub fn unresolved(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum::<usize>()
            + self.in_flight.values().map(|f| f.batch.len()).sum::<usize>()
    }

    /// Gives up on everything unresolved, as when the client is shut down.
    pub fn abandon(&mut self, reason: &str) {
        let queued = std::mem::take(&mut self.queues).into_values().flatten();
        let flying = std::mem::take(&mut self.in_flight).into_values().flat_map(|f| {
            f.batch.into_iter().map(|mut p| {
                p.maybe_written = true;
                p
            })
        });
        let all: Vec<Pending> = queued.chain(flying).collect();
        for p in all {
            self.finish(p, reason);
        }
    }

    /// The earliest time `on_timer` has work to do.
    pub fn next_deadline(&self) -> Millis {
        let mut d = self.metadata.deadline().unwrap_or(Millis::MAX);
        d = d.min(self.connections.next_deadline(self.polled_at));
        let timeout = self.config.delivery_timeout_ms;
        for f in self.in_flight.values() {
            d = d.min(f.deadline);
            if let Some(oldest) = f.batch.iter().map(|p| p.created_ms).min() {
                d = d.min(oldest + timeout);
            }
        }
        for q in self.queues.values() {
            if let Some(p) = q.front() {
                // A retry that was due at the last poll and still queued is blocked on a response,
                // on metadata or on a connection, not on time.
                if p.not_before > self.polled_at {
                    d = d.min(p.not_before);
                }
                d = d.min(p.created_ms + timeout);
            }
        }
        d
    }

    pub fn on_timer(&mut self, now: Millis, out: &mut Outbox) {
        if let Some(broker) = self.metadata.expire(now, &mut self.connections, &mut *self.random, out) {
            self.connection_lost(now, broker);
        }
        // A timed-out request closes its connection, failing every request on it.
        let timed_out: BTreeSet<BrokerId> =
            self.in_flight.values().filter(|f| f.deadline <= now).map(|f| f.broker).collect();
        for broker in timed_out {
            tracing::info!(
                broker = broker.0,
                "REQUEST_TIMED_OUT: no answer within request.timeout.ms, closing the connection"
            );
            self.connections.close(broker, now, &mut *self.random, out);
            self.connection_lost(now, broker);
        }
        // An unanswered connection attempt carried nothing: only metadata is in question.
        for node in self.connections.expire(now, &mut *self.random, out) {
            self.connection_lost(now, node);
        }
        self.expire_in_flight(now);
        self.expire_queued(now);
        self.poll(now, out);
    }

    /// The handshake of the connection to `peer` completed: what waited for it may go.
    pub fn on_connected(&mut self, now: Millis, peer: NodeId, out: &mut Outbox) {
        self.connections.connected(peer, &mut *self.random);
        self.poll(now, out);
    }

    /// The connection to `peer` was refused, reset or closed by the other side.
    pub fn on_disconnect(&mut self, now: Millis, peer: NodeId, out: &mut Outbox) {
        self.connections.disconnected(peer, now, &mut *self.random);
        self.connection_lost(now, peer);
        self.poll(now, out);
    }

    pub fn on_message(&mut self, now: Millis, envelope: Envelope, out: &mut Outbox) {
        let Message::Response { correlation, response } = envelope.message else {
            return;
        };
        match response {
            Response::Metadata(image) => self.on_metadata(now, correlation, *image),
            Response::Produce(resp) => {
                if let Some(f) = self.in_flight.remove(&correlation) {
                    self.handle_produce_response(now, f, resp);
                }
            }
            _ => {}
        }
        self.poll(now, out);
    }

    fn on_metadata(&mut self, now: Millis, correlation: CorrelationId, image: MetadataImage) {
        if self.metadata.on_response(now, correlation, image, &mut *self.random) {
            let wanted = !self.every_queue_has_leader();
            self.metadata.set_wanted(wanted);
        }
    }

    fn every_queue_has_leader(&self) -> bool {
        self.queues.iter().all(|(tp, q)| q.is_empty() || self.metadata.image().leader_of(tp).is_some())
    }

    fn handle_produce_response(&mut self, now: Millis, f: InFlight, resp: ProduceResponse) {
        match resp.error {
            None => {
                tracing::debug!(broker = f.broker.0, tp = %f.tp, base_offset = ?resp.base_offset, records = f.batch.len(), "produce acknowledged");
                for (i, p) in f.batch.into_iter().enumerate() {
                    let offset = resp.base_offset.map(|b| b + i as Offset);
                    self.completions.push(Completion::Ok { value: p.record.value, offset, broker: f.broker });
                }
            }
            Some(error) => {
                tracing::info!(broker = f.broker.0, tp = %f.tp, error = error.kafka_name(), "produce error");
                // Only a refusal before the append proves the batch was not written.
                let maybe_written = error != ErrorCode::NotEnoughReplicas;
                let refresh = !self.config.bugs.contains(&Bug::RetryWithoutMetadataRefresh);
                if refresh
                    && matches!(error, ErrorCode::NotLeaderOrFollower | ErrorCode::UnknownTopicOrPartition)
                {
                    self.metadata.want_refresh();
                }
                if self.config.bugs.contains(&Bug::StallAfterNotLeader)
                    && error == ErrorCode::NotLeaderOrFollower
                {
                    self.muted.insert(f.tp.clone());
                }
                self.retry(now, f.tp, f.batch, maybe_written, error.kafka_name());
            }
        }
    }

    /// The connection to `broker` is gone: every request on it failed in an unknown state. (A
    /// connection that was never established carried none.)
    fn connection_lost(&mut self, now: Millis, broker: BrokerId) {
        // Leadership may have moved (an acks=0 producer learns of it only this way).
        self.metadata.connection_lost(now, broker, &mut *self.random);
        if self.config.bugs.contains(&Bug::RetryWithoutMetadataRefresh) {
            let wanted = !self.every_queue_has_leader();
            self.metadata.set_wanted(wanted);
        }
        let lost: Vec<CorrelationId> =
            self.in_flight.iter().filter(|(_, f)| f.broker == broker).map(|(&c, _)| c).collect();
        if !lost.is_empty() {
            tracing::info!(
                broker = broker.0,
                requests = lost.len(),
                "connection lost with requests in flight"
            );
        }
        // Like Kafka, fail them oldest first, each going back to the front of its queue: the
        // newest ends up first, and the pipeline is resent in reverse.
        for c in lost {
            let f = self.in_flight.remove(&c).expect("listed above");
            self.retry(now, f.tp, f.batch, true, "connection lost");
        }
    }

    fn retry(
        &mut self,
        now: Millis,
        tp: TopicPartition,
        batch: Vec<Pending>,
        maybe_written: bool,
        error: &str,
    ) {
        if batch.is_empty() {
            return;
        }
        // One backoff for the batch, by its attempts so far (KIP-580).
        let attempts = batch.iter().map(|p| p.attempts).max().unwrap_or(1);
        let backoff = self.retry_backoff.backoff(attempts.saturating_sub(1), &mut *self.random);
        let (first, last, records) =
            (batch[0].record.value, batch[batch.len() - 1].record.value, batch.len());
        let mut requeue = Vec::new();
        for mut p in batch {
            p.maybe_written |= maybe_written;
            p.last_error = error.to_string();
            let expired = now >= p.created_ms + self.config.delivery_timeout_ms;
            if p.attempts > self.config.retries || expired {
                self.finish(p, error);
            } else {
                p.not_before = now + backoff;
                requeue.push(p);
            }
        }
        if !requeue.is_empty() {
            tracing::info!(%tp, first, last, records, attempts, backoff_ms = backoff, %error, "retry");
        }
        if requeue.len() < records {
            tracing::info!(%tp, records = records - requeue.len(), %error, "giving up: retries or delivery.timeout.ms exhausted");
        }
        let q = self.queues.entry(tp).or_default();
        for p in requeue.into_iter().rev() {
            q.push_front(p);
        }
    }

    /// Fails the batches in flight past their delivery timeout, counted from their oldest record's
    /// creation, as indeterminate: they were sent. The requests stay in flight.
    fn expire_in_flight(&mut self, now: Millis) {
        let timeout = self.config.delivery_timeout_ms;
        let mut expired = Vec::new();
        for f in self.in_flight.values_mut() {
            if f.batch.iter().any(|p| now >= p.created_ms + timeout) {
                expired.append(&mut f.batch);
            }
        }
        if let (Some(first), Some(last)) = (expired.first(), expired.last()) {
            let (first, last) = (first.record.value, last.record.value);
            tracing::info!(first, last, records = expired.len(), "delivery timeout of records in flight");
        }
        for mut p in expired {
            p.maybe_written = true;
            self.finish(p, "delivery timeout");
        }
    }

    fn expire_queued(&mut self, now: Millis) {
        let timeout = self.config.delivery_timeout_ms;
        let mut expired = Vec::new();
        for q in self.queues.values_mut() {
            while q.front().is_some_and(|p| now >= p.created_ms + timeout) {
                expired.push(q.pop_front().expect("checked"));
            }
        }
        if let (Some(first), Some(last)) = (expired.first(), expired.last()) {
            let (first, last) = (first.record.value, last.record.value);
            tracing::info!(first, last, records = expired.len(), "delivery timeout of queued records");
        }
        for p in expired {
            self.finish(p, "delivery timeout");
        }
    }

    fn finish(&mut self, p: Pending, reason: &str) {
        let value = p.record.value;
        let reason = if p.last_error.is_empty() || p.last_error == reason {
            reason.to_string()
        } else {
            format!("{reason} (last error: {})", p.last_error)
        };
        self.completions.push(if p.maybe_written {
            Completion::Info { value, reason }
        } else {
            Completion::Fail { value, error: reason }
        });
    }

    fn poll(&mut self, now: Millis, out: &mut Outbox) {
        self.polled_at = now;
        let mut load: BTreeMap<NodeId, usize> = BTreeMap::new();
        for f in self.in_flight.values() {
            *load.entry(f.broker).or_default() += 1;
        }
        let cx = PollContext {
            connections: &mut self.connections,
            random: &mut *self.random,
            in_flight: &|node| load.get(&node).copied().unwrap_or(0),
            max_in_flight: self.config.max_in_flight_requests_per_connection,
            next_correlation: &mut self.next_correlation,
        };
        self.metadata.poll(now, cx, out);
        if self.metadata.is_update_due(now) {
            // Metadata first: nothing else goes until the refresh is sent.
            return;
        }
        let tps: Vec<TopicPartition> =
            self.queues.iter().filter(|(_, q)| !q.is_empty()).map(|(tp, _)| tp.clone()).collect();
        for tp in tps {
            self.drain(now, &tp, out);
        }
    }

    /// Sends batches of `tp`'s queue to its leader while the pipeline has room and the connection
    /// is ready; opens the connection when it is not.
    fn drain(&mut self, now: Millis, tp: &TopicPartition, out: &mut Outbox) {
        if self.muted.contains(tp) {
            return;
        }
        let Some(state) = self.metadata.image().partitions.get(tp).filter(|s| s.leader.is_some()) else {
            self.metadata.want_refresh();
            return;
        };
        let (leader, epoch) = (state.leader.expect("filtered"), state.leader_epoch);
        // A record may go once its backoff has passed, or at once if a newer leader is known than
        // the one its last attempt went to (KIP-951).
        let sendable = |p: &Pending| p.not_before <= now || p.sent_in_epoch.is_some_and(|e| e < epoch);
        // With one request in flight Kafka guarantees order: a partition with a batch in flight
        // (to any broker, the old leader included) sends nothing more until it completes (the
        // accumulator mutes it, since KAFKA-3197; the bug mode brings the defect back).
        let guarantee_order = self.config.max_in_flight_requests_per_connection == 1
            && !self.config.bugs.contains(&Bug::ReorderWithOneInFlight);
        loop {
            let in_flight = self.in_flight.values().filter(|f| f.broker == leader).count();
            if self.config.acks != Acks::None
                && (in_flight >= self.config.max_in_flight_requests_per_connection
                    || guarantee_order && self.in_flight.values().any(|f| &f.tp == tp))
            {
                return;
            }
            if !self.queues.get(tp).and_then(VecDeque::front).is_some_and(sendable) {
                return;
            }
            // The batch waits in its queue until the leader's connection is ready.
            if !self.connections.ready(leader, now, &mut *self.random, out) {
                return;
            }
            let q = self.queues.get_mut(tp).expect("queued");
            let mut batch = Vec::new();
            while batch.len() < self.config.batch_max_records && q.front().is_some_and(sendable) {
                let mut p = q.pop_front().expect("checked");
                p.attempts += 1;
                p.sent_in_epoch = Some(epoch);
                batch.push(p);
            }
            let request = Request::Produce(ProduceRequest {
                tp: tp.clone(),
                acks: self.config.acks,
                timeout_ms: self.config.request_timeout_ms,
                records: batch.iter().map(|p| p.record).collect(),
            });
            let correlation = self.next_correlation;
            self.next_correlation += 1;
            if let Request::Produce(r) = &request {
                let (first, last) = (r.records[0].value, r.records[r.records.len() - 1].value);
                tracing::info!(broker = leader.0, %tp, first, last, records = r.records.len(), "produce request");
                tracing::debug!(correlation, epoch, acks = %r.acks, attempts = ?batch.iter().map(|p| p.attempts).collect::<Vec<_>>(), "produce request detail");
            }
            out.push(Effect::Send { to: leader, message: Message::Request { correlation, request } });
            if self.config.acks == Acks::None {
                // Fire and forget: done once written to the connection.
                for p in batch {
                    let value = p.record.value;
                    self.completions.push(Completion::Ok { value, offset: None, broker: leader });
                }
            } else {
                let deadline = now + self.config.request_timeout_ms;
                self.in_flight
                    .insert(correlation, InFlight { broker: leader, tp: tp.clone(), batch, deadline });
            }
        }
    }
}
