//! A client's connections to the cluster's nodes, kept as Kafka's clients keep them
//! (`ClusterConnectionStates` and the connection side of `NetworkClient`):
//!
//! - a client sends a request only on a connection that is **ready** (its handshake completed).
//!   Wanting to send to a node without one, it opens one (`Effect::Connect`) and waits: what it
//!   meant to send stays with it (a producer's batch stays in the accumulator), so a refused or
//!   unanswered attempt carried nothing, and nothing it would have sent is in doubt;
//! - an attempt the host never answers is given up after the connection-setup timeout, 10 s,
//!   doubled per consecutive failed attempt up to 30 s, ±20 % (KIP-601);
//! - after any failure — refused, timed out, or an established connection broken — the node is in
//!   **reconnect backoff**: 50 ms, doubled per consecutive failure up to 1 s, ±20 %; a connection
//!   that becomes ready resets both;
//! - the **least-loaded node** (`NetworkClient.leastLoadedNode`) is where requests that any node
//!   can answer (metadata) go: among the known nodes, from a random starting point, a ready one
//!   with no request in flight, else the ready one with the fewest, else one being connected,
//!   else the one connected to longest ago that is not in reconnect backoff.

use crate::backoff::ExponentialBackoff;
use crate::config::ConnectionConfig;
use crate::effect::{Effect, Outbox};
use crate::random::Random;
use crate::types::{Millis, NodeId};
use std::collections::BTreeMap;

/// Where a client's connection to one node stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Asked for, handshake not answered yet; given up at `deadline`.
    Connecting { deadline: Millis },
    /// Connected: requests may be sent.
    Ready,
    /// No connection; a new one may be opened once the reconnect backoff has passed.
    Disconnected,
}

#[derive(Clone, Debug)]
struct NodeConnection {
    state: State,
    /// When the last attempt began or the last connection ended: the backoff counts from here.
    last_attempt_ms: Millis,
    reconnect_backoff_ms: Millis,
    /// Failures (attempts or connections) since the node was last ready.
    failed_attempts: u32,
    setup_timeout_ms: Millis,
    /// Attempts in a row that never connected.
    failed_connect_attempts: u32,
}

pub struct Connections {
    reconnect_backoff: ExponentialBackoff,
    setup_timeout: ExponentialBackoff,
    nodes: BTreeMap<NodeId, NodeConnection>,
}

impl Connections {
    pub fn new(config: &ConnectionConfig) -> Connections {
        Connections {
            reconnect_backoff: ExponentialBackoff::new(
                config.reconnect_backoff_ms,
                config.reconnect_backoff_max_ms,
            ),
            setup_timeout: ExponentialBackoff::new(
                config.socket_connection_setup_timeout_ms,
                config.socket_connection_setup_timeout_max_ms,
            ),
            nodes: BTreeMap::new(),
        }
    }

    /// The connection's state; `Disconnected` for a node never connected to.
    pub fn state(&self, node: NodeId) -> State {
        self.nodes.get(&node).map_or(State::Disconnected, |n| n.state)
    }

    pub fn is_ready(&self, node: NodeId) -> bool {
        self.state(node) == State::Ready
    }

    pub fn is_connecting(&self, node: NodeId) -> bool {
        matches!(self.state(node), State::Connecting { .. })
    }

    pub fn any_connecting(&self) -> bool {
        self.nodes.values().any(|n| matches!(n.state, State::Connecting { .. }))
    }

    /// Whether a new connection to `node` may be opened now: none is open and the reconnect
    /// backoff after the last failure has passed.
    pub fn can_connect(&self, node: NodeId, now: Millis) -> bool {
        self.nodes.get(&node).is_none_or(|n| {
            n.state == State::Disconnected && now >= n.last_attempt_ms + n.reconnect_backoff_ms
        })
    }

    /// When the last attempt to `node` began or its last connection ended (0: never).
    pub fn last_attempt_ms(&self, node: NodeId) -> Millis {
        self.nodes.get(&node).map_or(0, |n| n.last_attempt_ms)
    }

    /// The wait before the next attempt to `node` may start, as things stand.
    pub fn reconnect_backoff_ms(&self, node: NodeId) -> Option<Millis> {
        self.nodes.get(&node).map(|n| n.reconnect_backoff_ms)
    }

    /// The timeout the next attempt to `node` gets, as things stand.
    pub fn setup_timeout_ms(&self, node: NodeId) -> Option<Millis> {
        self.nodes.get(&node).map(|n| n.setup_timeout_ms)
    }

    /// Whether a request may be sent to `node` now; if not, opens a connection when one may be
    /// opened (Kafka's `NetworkClient.ready`).
    pub fn ready(&mut self, node: NodeId, now: Millis, random: &mut dyn Random, out: &mut Outbox) -> bool {
        if self.is_ready(node) {
            return true;
        }
        if self.can_connect(node, now) {
            self.connect(node, now, random, out);
        }
        false
    }

    fn connect(&mut self, node: NodeId, now: Millis, random: &mut dyn Random, out: &mut Outbox) {
        let (reconnect, setup) = (self.reconnect_backoff, self.setup_timeout);
        let n = self.nodes.entry(node).or_insert_with(|| NodeConnection {
            state: State::Disconnected,
            last_attempt_ms: now,
            reconnect_backoff_ms: reconnect.backoff(0, random),
            failed_attempts: 0,
            setup_timeout_ms: setup.backoff(0, random),
            failed_connect_attempts: 0,
        });
        n.state = State::Connecting { deadline: now + n.setup_timeout_ms };
        n.last_attempt_ms = now;
        tracing::debug!(node = node.0, setup_timeout_ms = n.setup_timeout_ms, "connecting");
        out.push(Effect::Connect { peer: node });
    }

    /// The handshake with `node` completed. Ignored unless an attempt was under way.
    pub fn connected(&mut self, node: NodeId, random: &mut dyn Random) {
        let (reconnect, setup) = (self.reconnect_backoff, self.setup_timeout);
        let Some(n) = self.nodes.get_mut(&node) else { return };
        if !matches!(n.state, State::Connecting { .. }) {
            return;
        }
        n.state = State::Ready;
        tracing::debug!(node = node.0, "connected");
        n.failed_attempts = 0;
        n.reconnect_backoff_ms = reconnect.backoff(0, random);
        n.failed_connect_attempts = 0;
        n.setup_timeout_ms = setup.backoff(0, random);
    }

    /// The connection to `node` is gone (refused, reset, closed or timed out). Returns whether it
    /// had been established — only then can it have carried requests — or `None` if there was no
    /// connection to lose.
    pub fn disconnected(&mut self, node: NodeId, now: Millis, random: &mut dyn Random) -> Option<bool> {
        let (reconnect, setup) = (self.reconnect_backoff, self.setup_timeout);
        let n = self.nodes.get_mut(&node)?;
        let established = match n.state {
            State::Disconnected => return None,
            State::Ready => {
                n.failed_connect_attempts = 0;
                n.setup_timeout_ms = setup.backoff(0, random);
                true
            }
            State::Connecting { .. } => {
                n.failed_connect_attempts += 1;
                n.setup_timeout_ms = setup.backoff(n.failed_connect_attempts, random);
                false
            }
        };
        n.state = State::Disconnected;
        n.last_attempt_ms = now;
        n.reconnect_backoff_ms = reconnect.backoff(n.failed_attempts, random);
        n.failed_attempts += 1;
        let what = if established { "connection closed" } else { "connection attempt failed" };
        tracing::info!(node = node.0, reconnect_backoff_ms = n.reconnect_backoff_ms, "{what}");
        Some(established)
    }

    /// The client gives its connection to `node` up (a request timed out): the host closes it.
    /// Returns what `disconnected` returns.
    pub fn close(
        &mut self,
        node: NodeId,
        now: Millis,
        random: &mut dyn Random,
        out: &mut Outbox,
    ) -> Option<bool> {
        out.push(Effect::CloseConnection { peer: node });
        self.disconnected(node, now, random)
    }

    /// Gives up the attempts whose setup timeout has passed; returns their nodes.
    pub fn expire(&mut self, now: Millis, random: &mut dyn Random, out: &mut Outbox) -> Vec<NodeId> {
        let expired: Vec<NodeId> = self
            .nodes
            .iter()
            .filter(|(_, n)| matches!(n.state, State::Connecting { deadline } if deadline <= now))
            .map(|(&node, _)| node)
            .collect();
        for &node in &expired {
            tracing::info!(node = node.0, "connection setup timed out");
            self.close(node, now, random, out);
        }
        expired
    }

    /// When the connections need the client's timer: a setup deadline, or the end of a reconnect
    /// backoff that was still running at the last poll (`polled_at`), after which a waiting
    /// request may go.
    pub fn next_deadline(&self, polled_at: Millis) -> Millis {
        let mut d = Millis::MAX;
        for n in self.nodes.values() {
            match n.state {
                State::Connecting { deadline } => d = d.min(deadline),
                State::Disconnected => {
                    let end = n.last_attempt_ms + n.reconnect_backoff_ms;
                    if end > polled_at {
                        d = d.min(end);
                    }
                }
                State::Ready => {}
            }
        }
        d
    }

    /// Kafka's `NetworkClient.leastLoadedNode`: the node of `nodes` to send a request any node can
    /// answer to. From a random starting point: the first ready node with nothing in flight; else
    /// the ready node with the fewest requests in flight (below `max_in_flight`); else a node being
    /// connected; else, of the nodes that may be connected, the one whose last attempt is oldest.
    /// A node in reconnect backoff is never chosen. `None` when no node qualifies.
    pub fn least_loaded(
        &self,
        nodes: &[NodeId],
        in_flight: &dyn Fn(NodeId) -> usize,
        max_in_flight: usize,
        now: Millis,
        random: &mut dyn Random,
    ) -> Option<NodeId> {
        if nodes.is_empty() {
            return None;
        }
        let offset = random.below(nodes.len());
        let mut fewest: Option<(usize, NodeId)> = None;
        let mut connecting = None;
        let mut connectable: Option<NodeId> = None;
        for i in 0..nodes.len() {
            let node = nodes[(offset + i) % nodes.len()];
            if self.is_ready(node) {
                let n = in_flight(node);
                if n == 0 {
                    return Some(node);
                }
                if n < max_in_flight && fewest.is_none_or(|(m, _)| n < m) {
                    fewest = Some((n, node));
                }
            } else if self.is_connecting(node) {
                connecting = Some(node);
            } else if self.can_connect(node, now)
                && connectable.is_none_or(|c| self.last_attempt_ms(c) > self.last_attempt_ms(node))
            {
                connectable = Some(node);
            }
        }
        fewest.map(|(_, node)| node).or(connecting).or(connectable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Midpoint;

    const A: NodeId = NodeId(1);
    const B: NodeId = NodeId(2);
    const C: NodeId = NodeId(3);

    fn connections() -> Connections {
        Connections::new(&ConnectionConfig::default())
    }

    fn connects(out: &Outbox) -> Vec<NodeId> {
        out.iter().filter_map(|e| if let Effect::Connect { peer } = e { Some(*peer) } else { None }).collect()
    }

    #[test]
    fn a_request_waits_for_the_handshake() {
        let mut c = connections();
        let mut out = Outbox::new();
        assert!(!c.ready(A, 0, &mut Midpoint, &mut out));
        assert_eq!(connects(&out), [A]);
        assert_eq!(c.state(A), State::Connecting { deadline: 10_000 });
        // Asking again while connecting opens nothing more.
        assert!(!c.ready(A, 5, &mut Midpoint, &mut out));
        assert_eq!(connects(&out), [A]);
        c.connected(A, &mut Midpoint);
        assert!(c.ready(A, 6, &mut Midpoint, &mut out));
    }

    #[test]
    fn refused_attempts_back_off_exponentially_and_a_connection_resets_the_backoff() {
        let mut c = connections();
        let mut out = Outbox::new();
        let mut t = 0;
        let mut waits = Vec::new();
        for _ in 0..7 {
            c.ready(A, t, &mut Midpoint, &mut out);
            assert!(c.is_connecting(A));
            assert_eq!(c.disconnected(A, t + 1, &mut Midpoint), Some(false), "refused");
            let wait = c.reconnect_backoff_ms(A).expect("known");
            assert!(!c.can_connect(A, t + wait), "still backing off");
            assert!(c.can_connect(A, t + 1 + wait));
            waits.push(wait);
            t += 1 + wait;
        }
        assert_eq!(waits, [50, 100, 200, 400, 800, 1_000, 1_000]);
        c.ready(A, t, &mut Midpoint, &mut out);
        c.connected(A, &mut Midpoint);
        assert_eq!(c.disconnected(A, t + 5, &mut Midpoint), Some(true), "established");
        assert_eq!(c.reconnect_backoff_ms(A), Some(50));
        // Nothing open: a second notice of the same loss changes nothing.
        assert_eq!(c.disconnected(A, t + 6, &mut Midpoint), None);
        assert_eq!(c.last_attempt_ms(A), t + 5);
    }

    #[test]
    fn unanswered_attempts_time_out_after_a_growing_setup_timeout() {
        let mut c = connections();
        let mut out = Outbox::new();
        let mut t = 0;
        let mut timeouts = Vec::new();
        for _ in 0..4 {
            assert!(c.can_connect(A, t));
            c.ready(A, t, &mut Midpoint, &mut out);
            let State::Connecting { deadline } = c.state(A) else { panic!("connecting") };
            timeouts.push(deadline - t);
            assert!(c.expire(deadline - 1, &mut Midpoint, &mut out).is_empty());
            assert_eq!(c.next_deadline(t), deadline);
            assert_eq!(c.expire(deadline, &mut Midpoint, &mut out), [A]);
            assert!(matches!(out.last(), Some(Effect::CloseConnection { peer: A })));
            t = deadline + c.reconnect_backoff_ms(A).expect("known");
        }
        assert_eq!(timeouts, [10_000, 20_000, 30_000, 30_000]);
        // A connection that becomes ready resets the setup timeout.
        c.ready(A, t, &mut Midpoint, &mut out);
        c.connected(A, &mut Midpoint);
        assert_eq!(c.setup_timeout_ms(A), Some(10_000));
    }

    #[test]
    fn least_loaded_prefers_idle_ready_nodes_then_the_fewest_in_flight_then_connecting_then_connectable() {
        let mut c = connections();
        let mut out = Outbox::new();
        let nodes = [A, B, C];
        let none = |_: NodeId| 0;
        // Nothing known: the first connectable from the starting point.
        assert_eq!(c.least_loaded(&nodes, &none, 5, 0, &mut Midpoint), Some(A));
        // A ready with two in flight, B ready with one, C connecting: B.
        for n in nodes {
            c.ready(n, 0, &mut Midpoint, &mut out);
        }
        c.connected(A, &mut Midpoint);
        c.connected(B, &mut Midpoint);
        let load = |n: NodeId| if n == A { 2 } else { 1 };
        assert_eq!(c.least_loaded(&nodes, &load, 5, 0, &mut Midpoint), Some(B));
        // A ready node with nothing in flight wins at once.
        let idle_a = |n: NodeId| usize::from(n != A);
        assert_eq!(c.least_loaded(&nodes, &idle_a, 5, 0, &mut Midpoint), Some(A));
        // Ready nodes with full pipelines do not count: the connecting one is next.
        let full = |_: NodeId| 5;
        assert_eq!(c.least_loaded(&nodes, &full, 5, 0, &mut Midpoint), Some(C));
    }

    #[test]
    fn least_loaded_skips_a_node_in_reconnect_backoff() {
        let mut c = connections();
        let mut out = Outbox::new();
        // A's connection just broke: in backoff for 50 ms. B was tried at 10 ms and refused; C never.
        c.ready(A, 0, &mut Midpoint, &mut out);
        c.connected(A, &mut Midpoint);
        c.disconnected(A, 100, &mut Midpoint);
        c.ready(B, 10, &mut Midpoint, &mut out);
        c.disconnected(B, 10, &mut Midpoint);
        let none = |_: NodeId| 0;
        assert_eq!(c.least_loaded(&[A, B, C], &none, 5, 100, &mut Midpoint), Some(C));
        assert_eq!(c.least_loaded(&[A, B], &none, 5, 100, &mut Midpoint), Some(B));
        assert_eq!(c.least_loaded(&[A], &none, 5, 100, &mut Midpoint), None);
        // Once the backoffs pass, the one tried longest ago first (B at 10 ms, before A at 100 ms).
        assert_eq!(c.least_loaded(&[A, B], &none, 5, 150, &mut Midpoint), Some(B));
    }

    #[test]
    fn least_loaded_starts_at_a_random_node() {
        let c = connections();
        let none = |_: NodeId| 0;
        struct Third;
        impl Random for Third {
            fn next_u64(&mut self) -> u64 {
                0
            }
            fn below(&mut self, _n: usize) -> usize {
                2
            }
        }
        // Every node is equally good: the random start decides.
        assert_eq!(c.least_loaded(&[A, B, C], &none, 5, 0, &mut Third), Some(C));
    }
}
