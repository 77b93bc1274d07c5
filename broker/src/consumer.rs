//! A simple consumer: no group, no commits. It reads every partition of its topics from offset 0,
//! from each partition's leader, and sees only records below the high watermark. The final reader
//! after a run is the same client, asked whether it has read everything.
//!
//! It shares the producer's connection and metadata rules (`connections`, `metadata_client`): a
//! fetch goes only on a ready connection, a lost connection asks for fresh metadata from the
//! least-loaded node, and a broker whose connection failed is retried after the reconnect backoff.
//! Through `tracing` (target `broker::consumer`) it says at info each fetch error by its Kafka
//! name, and at debug each fetch request.

use crate::config::ConsumerConfig;
use crate::connections::Connections;
use crate::effect::{Effect, Outbox};
use crate::fetch_order::FetchOrder;
use crate::metadata::MetadataImage;
use crate::metadata_client::{MetadataClient, PollContext};
use crate::protocol::{
    Envelope, ErrorCode, FetchPartition, FetchRequest, FetchResponse, Message, Request, Response,
};
use crate::random::Random;
use crate::types::{BrokerId, CorrelationId, Millis, NodeId, Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the consumer observed, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// Records read from `tp`, in offset order: (offset, value).
    Poll { tp: TopicPartition, records: Vec<(Offset, u64)> },
    /// The position moved without reading: the leader's log no longer reaches it.
    Seek { tp: TopicPartition, from: Offset, to: Offset },
}

struct InFlightFetch {
    broker: BrokerId,
    deadline: Millis,
}

#[derive(Clone, Copy, Debug, Default)]
struct Position {
    offset: Offset,
    /// The last answer showed the whole log read and committed (offset = HW = log end).
    caught_up: bool,
}

pub struct Consumer {
    config: ConsumerConfig,
    /// Empty: every topic.
    topics: Vec<Arc<str>>,
    metadata: MetadataClient,
    connections: Connections,
    /// Jitter and the least-loaded node's starting point, from the host.
    random: Box<dyn Random>,
    positions: BTreeMap<TopicPartition, Position>,
    /// The order partitions go in a fetch: the last to return records go last.
    fetch_order: FetchOrder,
    fetches: BTreeMap<CorrelationId, InFlightFetch>,
    /// After an error answer, when the broker may be fetched from again.
    retry_at: BTreeMap<BrokerId, Millis>,
    next_correlation: CorrelationId,
    events: Vec<ConsumerEvent>,
    /// When `poll` last ran: a fetch retry due by then was already considered.
    polled_at: Millis,
}

impl Consumer {
    /// A client reading `topics` (empty: all), drawing its jitter from `random`.
    pub fn new(config: ConsumerConfig, topics: Vec<Arc<str>>, random: Box<dyn Random>) -> Consumer {
        let metadata = MetadataClient::new(
            config.bootstrap.clone(),
            config.request_timeout_ms,
            config.retry_backoff_ms,
            config.retry_backoff_max_ms,
        );
        Consumer {
            connections: Connections::new(&config.connections),
            random,
            config,
            topics,
            metadata,
            positions: BTreeMap::new(),
            fetch_order: FetchOrder::default(),
            fetches: BTreeMap::new(),
            retry_at: BTreeMap::new(),
            next_correlation: 0,
            events: Vec::new(),
            polled_at: 0,
        }
    }

    pub fn take_events(&mut self) -> Vec<ConsumerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Every partition of the consumer's topics is known and read up to its log end, which is
    /// committed (high watermark = log end).
    pub fn is_caught_up(&self) -> bool {
        !self.positions.is_empty() && self.positions.values().all(|p| p.caught_up)
    }

    /// The offset the consumer fetches `tp` from next; `None` before metadata named the partition.
    pub fn position(&self, tp: &TopicPartition) -> Option<Offset> {
        self.positions.get(tp).map(|p| p.offset)
    }

    /// The partitions not read to their end yet, with the offset reached in each.
    pub fn unfinished(&self) -> Vec<(TopicPartition, Offset)> {
        self.positions.iter().filter(|(_, p)| !p.caught_up).map(|(tp, p)| (tp.clone(), p.offset)).collect()
    }

    /// The earliest time `on_timer` has work to do.
    pub fn next_deadline(&self) -> Millis {
        let mut d = self.metadata.deadline().unwrap_or(Millis::MAX);
        d = d.min(self.connections.next_deadline(self.polled_at));
        for f in self.fetches.values() {
            d = d.min(f.deadline);
        }
        for (b, &t) in &self.retry_at {
            if t > self.polled_at && !self.fetches.values().any(|f| f.broker == *b) {
                d = d.min(t);
            }
        }
        d
    }

    pub fn on_timer(&mut self, now: Millis, out: &mut Outbox) {
        if let Some(broker) = self.metadata.expire(now, &mut self.connections, &mut *self.random, out) {
            self.connection_lost(now, broker);
        }
        let timed_out: BTreeSet<BrokerId> =
            self.fetches.values().filter(|f| f.deadline <= now).map(|f| f.broker).collect();
        for broker in timed_out {
            self.connections.close(broker, now, &mut *self.random, out);
            self.connection_lost(now, broker);
        }
        for node in self.connections.expire(now, &mut *self.random, out) {
            self.connection_lost(now, node);
        }
        self.poll(now, out);
    }

    /// The handshake of the connection to `peer` completed: a fetch waiting for it may go.
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
            Response::Fetch(resp) => {
                if let Some(f) = self.fetches.remove(&correlation) {
                    self.handle_fetch_response(now, f.broker, resp);
                }
            }
            _ => {}
        }
        self.poll(now, out);
    }

    fn on_metadata(&mut self, now: Millis, correlation: CorrelationId, image: MetadataImage) {
        if !self.metadata.on_response(now, correlation, image, &mut *self.random) {
            return;
        }
        self.adopt_partitions();
        let image = self.metadata.image();
        let wanted =
            self.positions.is_empty() || self.positions.keys().any(|tp| image.leader_of(tp).is_none());
        self.metadata.set_wanted(wanted);
    }

    fn adopt_partitions(&mut self) {
        for tp in self.metadata.image().partitions.keys() {
            if self.topics.is_empty() || self.topics.contains(&tp.topic) {
                self.positions.entry(tp.clone()).or_default();
            }
        }
    }

    /// The connection to `broker` is gone, and its fetch with it; the reconnect backoff paces
    /// the next one, and fresh metadata may name another leader.
    fn connection_lost(&mut self, now: Millis, broker: BrokerId) {
        self.metadata.connection_lost(now, broker, &mut *self.random);
        self.fetches.retain(|_, f| f.broker != broker);
    }

    fn handle_fetch_response(&mut self, now: Millis, broker: BrokerId, resp: FetchResponse) {
        for p in resp.partitions {
            let Some(pos) = self.positions.get_mut(&p.tp) else {
                continue;
            };
            if p.base_offset != pos.offset {
                continue;
            }
            match p.error {
                None => {}
                Some(ErrorCode::OffsetOutOfRange) => {
                    let to = p.high_watermark;
                    tracing::info!(broker = broker.0, tp = %p.tp, from = pos.offset, to, "fetch error OFFSET_OUT_OF_RANGE, seeking");
                    self.events.push(ConsumerEvent::Seek { tp: p.tp.clone(), from: pos.offset, to });
                    pos.offset = to;
                    pos.caught_up = false;
                    continue;
                }
                Some(error) => {
                    tracing::info!(broker = broker.0, tp = %p.tp, error = error.kafka_name(), backoff_ms = self.config.retry_backoff_ms, "fetch error");
                    self.metadata.want_refresh();
                    self.retry_at.insert(broker, now + self.config.retry_backoff_ms);
                    pos.caught_up = false;
                    continue;
                }
            }
            if !p.records.is_empty() {
                self.fetch_order.served(&p.tp);
                let records = p
                    .records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (p.base_offset + i as Offset, r.value))
                    .collect();
                pos.offset += p.records.len() as Offset;
                self.events.push(ConsumerEvent::Poll { tp: p.tp.clone(), records });
            }
            pos.caught_up = pos.offset >= p.high_watermark && p.high_watermark == p.log_end_offset;
        }
    }

    fn poll(&mut self, now: Millis, out: &mut Outbox) {
        self.polled_at = now;
        let fetching: BTreeSet<BrokerId> = self.fetches.values().map(|f| f.broker).collect();
        let cx = PollContext {
            connections: &mut self.connections,
            random: &mut *self.random,
            in_flight: &|node| usize::from(fetching.contains(&node)),
            max_in_flight: usize::MAX,
            next_correlation: &mut self.next_correlation,
        };
        self.metadata.poll(now, cx, out);
        if self.metadata.is_update_due(now) {
            // Metadata first: nothing else goes until the refresh is sent.
            return;
        }
        let mut by_leader: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, pos) in &self.positions {
            let Some(state) = self.metadata.image().partitions.get(tp) else {
                continue;
            };
            let Some(leader) = state.leader else { continue };
            by_leader.entry(leader).or_default().push(FetchPartition {
                tp: tp.clone(),
                fetch_offset: pos.offset,
                current_leader_epoch: state.leader_epoch,
                last_fetched_epoch: None,
            });
        }
        for (broker, mut partitions) in by_leader {
            self.fetch_order.arrange(&mut partitions, |p| &p.tp);
            let busy = self.fetches.values().any(|f| f.broker == broker);
            if busy || self.retry_at.get(&broker).is_some_and(|&t| now < t) {
                continue;
            }
            if !self.connections.ready(broker, now, &mut *self.random, out) {
                continue;
            }
            let correlation = self.next_correlation;
            self.next_correlation += 1;
            self.fetches.insert(
                correlation,
                InFlightFetch { broker, deadline: now + self.config.request_timeout_ms },
            );
            let request = Request::Fetch(FetchRequest {
                replica: None,
                max_wait_ms: self.config.fetch_max_wait_ms,
                max_bytes: self.config.fetch_max_bytes,
                partition_max_bytes: self.config.max_partition_fetch_bytes,
                partitions,
            });
            if tracing::enabled!(tracing::Level::DEBUG) {
                if let Request::Fetch(r) = &request {
                    let at: Vec<String> =
                        r.partitions.iter().map(|p| format!("{}@{}", p.tp, p.fetch_offset)).collect();
                    tracing::debug!(broker = broker.0, correlation, partitions = %at.join(" "), "fetch request");
                }
            }
            out.push(Effect::Send { to: broker, message: Message::Request { correlation, request } });
        }
    }
}
