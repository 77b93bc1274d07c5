//! A client's view of the cluster, as the producer and the consumer share it: the latest metadata
//! it got, and its one metadata request at a time (Kafka's `Metadata` and `DefaultMetadataUpdater`).
//!
//! - The request goes to the **least-loaded node** among the known ones — the live brokers of the
//!   latest metadata, or the bootstrap brokers before the first answer — skipping a node whose
//!   connection just failed (see `connections`). Without a ready node it opens a connection to the
//!   chosen one and waits; while any connection is being set up it waits for that one.
//! - Any lost connection asks for a refresh: the disconnect may come from stale metadata.
//! - Refreshes back off exponentially with jitter (KIP-580): `retry_backoff_ms` after an answer,
//!   doubled per consecutive failed request up to `retry_backoff_max_ms`, ±20 %.
//! - While a refresh is due and not yet sent, the client sends nothing else: metadata first
//!   (`NetworkClient.isReady`).
//!
//! It says what it does through `tracing` (target `broker::metadata_client`): at info each request
//! and the node asked, each answer, each failed or timed-out request with its backoff; at debug
//! the leaders an answer names and a refresh waiting for a connection.

use crate::backoff::ExponentialBackoff;
use crate::connections::Connections;
use crate::effect::{Effect, Outbox};
use crate::metadata::MetadataImage;
use crate::protocol::{Message, Request};
use crate::random::Random;
use crate::types::{BrokerId, CorrelationId, Millis, NodeId};

/// What the metadata client needs of its owner at a poll.
pub struct PollContext<'a> {
    pub connections: &'a mut Connections,
    pub random: &'a mut dyn Random,
    /// The owner's requests in flight per node, for the least-loaded choice.
    pub in_flight: &'a dyn Fn(NodeId) -> usize,
    /// How many requests a connection may carry at once.
    pub max_in_flight: usize,
    pub next_correlation: &'a mut CorrelationId,
}

pub struct MetadataClient {
    bootstrap: Vec<NodeId>,
    request_timeout_ms: Millis,
    refresh_backoff: ExponentialBackoff,
    image: MetadataImage,
    /// The request in flight: its correlation id, the broker asked, and its deadline.
    request: Option<(CorrelationId, BrokerId, Millis)>,
    wanted: bool,
    /// Metadata requests failed in a row (Kafka's `Metadata.attempts`).
    failed_attempts: u32,
    retry_at: Millis,
    /// When a poll last found a refresh due and could not send it (no ready node).
    blocked_at: Option<Millis>,
}

impl MetadataClient {
    /// A client that wants metadata from the start.
    pub fn new(
        bootstrap: Vec<NodeId>,
        request_timeout_ms: Millis,
        retry_backoff_ms: Millis,
        retry_backoff_max_ms: Millis,
    ) -> Self {
        MetadataClient {
            bootstrap,
            request_timeout_ms,
            refresh_backoff: ExponentialBackoff::new(retry_backoff_ms, retry_backoff_max_ms),
            image: MetadataImage::default(),
            request: None,
            wanted: true,
            failed_attempts: 0,
            retry_at: 0,
            blocked_at: None,
        }
    }

    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// Asks for a refresh at the next poll (after the backoff, if one is running).
    pub fn want_refresh(&mut self) {
        self.wanted = true;
    }

    /// Whether the client still wants a refresh (set after each answer by the caller's needs).
    pub fn set_wanted(&mut self, wanted: bool) {
        self.wanted = wanted;
    }

    /// A refresh is wanted, allowed by the backoff, and not yet sent: the owner holds its other
    /// requests back until it is (Kafka's `DefaultMetadataUpdater.isUpdateDue`).
    pub fn is_update_due(&self, now: Millis) -> bool {
        self.wanted && self.request.is_none() && now >= self.retry_at
    }

    /// The broker the request in flight went to, if one is in flight.
    pub fn in_flight_to(&self) -> Option<BrokerId> {
        self.request.map(|(_, b, _)| b)
    }

    /// When the metadata side needs the timer: the request's deadline, or the end of the backoff.
    /// A refresh that was due at a poll and could not be sent waits for a connection instead, whose
    /// events (the connections' deadline, a connected notice) wake the owner.
    pub fn deadline(&self) -> Option<Millis> {
        match self.request {
            Some((_, _, deadline)) => Some(deadline),
            None if !self.wanted => None,
            None if self.blocked_at.is_some_and(|b| b >= self.retry_at) => None,
            None => Some(self.retry_at),
        }
    }

    /// The nodes a request may go to: the live brokers of the latest metadata; before the first
    /// answer, or if it names no live broker, the bootstrap brokers.
    pub fn known_nodes(&self) -> Vec<NodeId> {
        let live: Vec<NodeId> =
            self.image.brokers.iter().filter(|(_, r)| !r.fenced).map(|(&b, _)| b).collect();
        if live.is_empty() {
            self.bootstrap.clone()
        } else {
            live
        }
    }

    /// Sends a request if one is due, to the least-loaded node; without a ready node, opens a
    /// connection to it (unless one is being opened already) and waits.
    pub fn poll(&mut self, now: Millis, cx: PollContext<'_>, out: &mut Outbox) {
        if !self.is_update_due(now) {
            return;
        }
        self.blocked_at = Some(now);
        let nodes = self.known_nodes();
        let Some(node) = cx.connections.least_loaded(&nodes, cx.in_flight, cx.max_in_flight, now, cx.random)
        else {
            return;
        };
        if cx.connections.is_ready(node) {
            let correlation = *cx.next_correlation;
            *cx.next_correlation += 1;
            self.request = Some((correlation, node, now + self.request_timeout_ms));
            tracing::info!(node = node.0, "metadata request");
            tracing::debug!(correlation, failed_attempts = self.failed_attempts, "metadata request detail");
            out.push(Effect::Send {
                to: node,
                message: Message::Request { correlation, request: Request::Metadata },
            });
        } else if !cx.connections.any_connecting() {
            tracing::debug!(node = node.0, "metadata refresh waits for a connection");
            cx.connections.ready(node, now, cx.random, out);
        }
    }

    /// A timed-out request closes its connection. Returns the broker if that happened.
    pub fn expire(
        &mut self,
        now: Millis,
        connections: &mut Connections,
        random: &mut dyn Random,
        out: &mut Outbox,
    ) -> Option<BrokerId> {
        let (_, broker, deadline) = self.request?;
        if deadline > now {
            return None;
        }
        tracing::info!(broker = broker.0, "metadata request REQUEST_TIMED_OUT, closing the connection");
        connections.close(broker, now, random, out);
        self.connection_lost(now, broker, random);
        Some(broker)
    }

    /// Takes a metadata answer if it is the one awaited; returns whether it was.
    pub fn on_response(
        &mut self,
        now: Millis,
        correlation: CorrelationId,
        image: MetadataImage,
        random: &mut dyn Random,
    ) -> bool {
        let Some((c, broker, _)) = self.request else { return false };
        if c != correlation {
            return false;
        }
        self.request = None;
        tracing::info!(broker = broker.0, version = image.version, "metadata refreshed");
        for (tp, state) in &image.partitions {
            let leader = state.leader.map(|l| l.0);
            tracing::debug!(%tp, leader, epoch = state.leader_epoch, "metadata names a leader");
        }
        if image.version >= self.image.version {
            self.image = image;
        }
        self.failed_attempts = 0;
        self.retry_at = now + self.refresh_backoff.backoff(0, random);
        true
    }

    /// The connection to `broker` broke: a request on it failed, and leadership may have moved.
    pub fn connection_lost(&mut self, now: Millis, broker: BrokerId, random: &mut dyn Random) {
        if self.request.is_some_and(|(_, b, _)| b == broker) {
            self.request = None;
            let backoff = self.refresh_backoff.backoff(self.failed_attempts, random);
            self.retry_at = now + backoff;
            self.failed_attempts += 1;
            tracing::info!(
                broker = broker.0,
                backoff_ms = backoff,
                "metadata request failed, retry after backoff"
            );
        }
        self.wanted = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConnectionConfig;
    use crate::metadata::BrokerRegistration;
    use crate::random::Midpoint;

    const B1: NodeId = NodeId(1);
    const B2: NodeId = NodeId(2);
    const B3: NodeId = NodeId(3);

    struct Client {
        metadata: MetadataClient,
        connections: Connections,
        correlation: CorrelationId,
    }

    impl Client {
        fn new() -> Client {
            Client {
                metadata: MetadataClient::new(vec![B1, B2, B3], 30_000, 100, 1_000),
                connections: Connections::new(&ConnectionConfig::default()),
                correlation: 0,
            }
        }

        fn poll(&mut self, now: Millis) -> Outbox {
            let mut out = Outbox::new();
            let none = |_: NodeId| 0;
            let cx = PollContext {
                connections: &mut self.connections,
                random: &mut Midpoint,
                in_flight: &none,
                max_in_flight: 5,
                next_correlation: &mut self.correlation,
            };
            self.metadata.poll(now, cx, &mut out);
            out
        }
    }

    fn image(live: &[NodeId], fenced: &[NodeId]) -> MetadataImage {
        let mut image = MetadataImage { version: 1, ..MetadataImage::default() };
        for (&b, f) in live.iter().map(|b| (b, false)).chain(fenced.iter().map(|b| (b, true))) {
            image.brokers.insert(b, BrokerRegistration { incarnation: 1, fenced: f });
        }
        image
    }

    #[test]
    fn a_request_waits_for_a_connection_to_the_least_loaded_node() {
        let mut c = Client::new();
        // A new client wants metadata at once: its owner's timer must run.
        assert_eq!(c.metadata.deadline(), Some(0));
        let out = c.poll(0);
        assert!(matches!(out[..], [Effect::Connect { peer: B1 }]), "{out:?}");
        assert!(c.metadata.is_update_due(0));
        // Blocked on the handshake, not on time: the connection's events wake the owner.
        assert_eq!(c.metadata.deadline(), None);
        // While that connection is being set up nothing else is tried.
        assert!(c.poll(1).is_empty());
        c.connections.connected(B1, &mut Midpoint);
        let out = c.poll(2);
        assert!(matches!(out[..], [Effect::Send { to: B1, .. }]), "{out:?}");
        assert!(!c.metadata.is_update_due(2));
        assert_eq!(c.metadata.in_flight_to(), Some(B1));
    }

    /// The power-loss case: the request to broker 1 times out; the next goes to another broker,
    /// not to broker 1 again.
    #[test]
    fn after_a_timeout_the_next_request_goes_to_another_node() {
        let mut c = Client::new();
        c.poll(0);
        c.connections.connected(B1, &mut Midpoint);
        c.poll(1);
        let mut out = Outbox::new();
        assert_eq!(c.metadata.expire(30_001, &mut c.connections, &mut Midpoint, &mut out), Some(B1));
        assert!(matches!(out[..], [Effect::CloseConnection { peer: B1 }]));
        // The failed request backs off 100 ms; then the node tried longest ago goes first, and
        // broker 1 was tried last.
        assert!(c.poll(30_050).is_empty());
        let out = c.poll(30_101);
        assert!(matches!(out[..], [Effect::Connect { peer: B2 }]), "{out:?}");
    }

    /// Polls from `t` on, answering every handshake, until a request is sent; returns its node
    /// and correlation id, and moves `t` to when it went.
    fn send_request(c: &mut Client, t: &mut Millis) -> (NodeId, CorrelationId) {
        loop {
            let out = c.poll(*t);
            match out.first() {
                Some(Effect::Connect { peer }) => c.connections.connected(*peer, &mut Midpoint),
                Some(Effect::Send { to, message: Message::Request { correlation, .. } }) => {
                    return (*to, *correlation)
                }
                _ => *t += 1,
            }
        }
    }

    #[test]
    fn refreshes_back_off_exponentially_per_failed_request_and_reset_on_an_answer() {
        let mut c = Client::new();
        let mut t = 0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            let (node, _) = send_request(&mut c, &mut t);
            c.connections.disconnected(node, t, &mut Midpoint);
            c.metadata.connection_lost(t, node, &mut Midpoint);
            let wait = c.metadata.deadline().expect("wanted") - t;
            waits.push(wait);
            t += wait;
        }
        assert_eq!(waits, [100, 200, 400, 800, 1_000, 1_000]);
        let (_, correlation) = send_request(&mut c, &mut t);
        assert!(c.metadata.on_response(t, correlation, image(&[B1], &[]), &mut Midpoint));
        assert_eq!(c.metadata.deadline(), Some(t + 100));
    }

    #[test]
    fn known_nodes_are_the_live_brokers_or_else_the_bootstrap_ones() {
        let mut c = Client::new();
        assert_eq!(c.metadata.known_nodes(), [B1, B2, B3]);
        c.poll(0);
        c.connections.connected(B1, &mut Midpoint);
        c.poll(1);
        assert!(c.metadata.on_response(2, 0, image(&[B2, B3], &[B1]), &mut Midpoint));
        assert_eq!(c.metadata.known_nodes(), [B2, B3]);
        let mut all_fenced = Client::new();
        all_fenced.poll(0);
        all_fenced.connections.connected(B1, &mut Midpoint);
        all_fenced.poll(1);
        assert!(all_fenced.metadata.on_response(2, 0, image(&[], &[B1, B2, B3]), &mut Midpoint));
        assert_eq!(all_fenced.metadata.known_nodes(), [B1, B2, B3]);
    }
}
