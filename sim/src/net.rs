//! The simulated network: TCP-like connections between nodes, on madsim's clock.
//!
//! Kafka speaks over TCP, and that shapes what faults do to it, so the harness models connections
//! rather than datagrams:
//! - messages between two nodes arrive in the order they were sent, whatever each one's latency
//!   (a message never overtakes an earlier one on the same link);
//! - a lost packet is retransmitted: it arrives late (one retransmission timeout, doubling per
//!   repeated loss), it is not dropped;
//! - a partition stalls a link: what is in flight and what is sent meanwhile waits and arrives,
//!   in order, after the heal — unless the sender gave up and closed the connection first;
//! - a closed connection drops whatever was still travelling on it, and a message arriving on a
//!   connection the receiver no longer has is answered with a reset;
//! - a process crash resets its connections (peers learn at once); a power loss or a pause does
//!   not (peers learn by timing out).
//!
//! Each node's inbox is ordered by (arrival time, send sequence); the node's own task takes what
//! is due, so delivery costs no task of its own. A node's task parks here with its waker, and the
//! network arms a madsim timer for the earliest moment the node has something to do: madsim's
//! timers cannot be cancelled, so at most one is armed per distinct wake-up time.

use crate::clock::Clock;
use broker::protocol::{ConnectionId, Envelope, Message};
use broker::types::{Millis, NodeId};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::task::Waker;

/// What a node's inbox hands it.
#[derive(Clone, Debug)]
pub enum Delivery {
    Message(Envelope),
    /// The connection with `peer` was reset or closed by the other side.
    Disconnected {
        peer: NodeId,
    },
}

/// Latency and loss, changeable while a run goes on.
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    pub latency_min_ms: Millis,
    pub latency_max_ms: Millis,
    pub packet_loss_rate: f64,
    pub retransmit_timeout_ms: Millis,
}

/// A message on its way.
#[derive(Clone, Debug)]
struct Packet {
    from: NodeId,
    to: NodeId,
    /// The connection a message travels on; `None` for a reset, which travels on none.
    connection: Option<ConnectionId>,
    /// For a reset: the receiver's outgoing connection it kills. A reset for a connection the
    /// receiver has already replaced is stale and is dropped on arrival.
    resets: Option<ConnectionId>,
    delivery: Delivery,
}

/// Resets belong to no connection; they keep their own order on a link.
const NO_CONNECTION: ConnectionId = 0;

#[derive(Default)]
struct Inbox {
    queue: BTreeMap<(Millis, u64), Packet>,
    /// The node's task, as it last parked.
    waker: Option<Waker>,
    /// When the parked task must run next; an earlier arrival moves it.
    wake_at: Millis,
    /// Timers armed for this node that have not fired yet.
    armed: BTreeSet<Millis>,
}

impl Inbox {
    /// Makes sure the node's task runs at `at`: an armed timer at or before `at` already does it.
    fn arm(&mut self, clock: &Clock, now: Millis, at: Millis) {
        self.armed = self.armed.split_off(&(now + 1));
        if self.armed.first().is_some_and(|&a| a <= at) {
            return;
        }
        if let Some(waker) = &self.waker {
            clock.wake_at(at, waker);
            self.armed.insert(at);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Up,
    /// The process died; the host answers connection attempts with resets.
    Crashed,
    /// The machine is off: nothing answers.
    PoweredOff,
}

/// Counters for benchmarks and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
}

pub struct Network {
    config: NetConfig,
    rng: ChaCha8Rng,
    clock: Clock,
    /// Directed pairs that cannot communicate.
    blocked: BTreeSet<(NodeId, NodeId)>,
    /// Packets a partition holds, per directed pair, in send order.
    stalled: BTreeMap<(NodeId, NodeId), VecDeque<Packet>>,
    /// Arrival time of the last packet scheduled on each connection, per direction: a later
    /// packet never arrives earlier. Order is per connection, as TCP's: a new connection does not
    /// wait behind an old one's retransmissions.
    last_arrival: BTreeMap<(NodeId, NodeId, ConnectionId), Millis>,
    /// The connection each client currently uses towards each server.
    outgoing: BTreeMap<(NodeId, NodeId), ConnectionId>,
    open: BTreeSet<ConnectionId>,
    next_connection: ConnectionId,
    inboxes: BTreeMap<NodeId, Inbox>,
    liveness: BTreeMap<NodeId, Liveness>,
    sequence: u64,
    stats: NetStats,
}

impl Network {
    pub fn new(config: NetConfig, rng: ChaCha8Rng, clock: Clock) -> Network {
        Network {
            config,
            rng,
            clock,
            blocked: BTreeSet::new(),
            stalled: BTreeMap::new(),
            last_arrival: BTreeMap::new(),
            outgoing: BTreeMap::new(),
            open: BTreeSet::new(),
            next_connection: 1,
            inboxes: BTreeMap::new(),
            liveness: BTreeMap::new(),
            sequence: 0,
            stats: NetStats::default(),
        }
    }

    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    pub fn set_config(&mut self, config: NetConfig) {
        self.config = config;
    }

    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Adds a node, initially down.
    pub fn add_node(&mut self, node: NodeId) {
        self.inboxes.insert(node, Inbox { wake_at: Millis::MAX, ..Inbox::default() });
        self.liveness.insert(node, Liveness::PoweredOff);
    }

    pub fn liveness(&self, node: NodeId) -> Liveness {
        self.liveness.get(&node).copied().unwrap_or(Liveness::PoweredOff)
    }

    pub fn set_up(&mut self, node: NodeId) {
        self.liveness.insert(node, Liveness::Up);
    }

    // ----- sending ----------------------------------------------------------------------------

    /// A client's request (or any message on its own outgoing connection to `to`).
    pub fn send(&mut self, now: Millis, from: NodeId, to: NodeId, message: Message) {
        let connection = match self.outgoing.get(&(from, to)) {
            Some(&c) => c,
            None => {
                let c = self.next_connection;
                self.next_connection += 1;
                self.outgoing.insert((from, to), c);
                self.open.insert(c);
                c
            }
        };
        self.transmit_message(now, from, to, connection, message);
    }

    /// A server's reply on the connection its request came in on; dropped if that closed.
    pub fn reply(
        &mut self,
        now: Millis,
        from: NodeId,
        to: NodeId,
        connection: ConnectionId,
        message: Message,
    ) {
        if !self.open.contains(&connection) {
            self.stats.dropped += 1;
            return;
        }
        self.transmit_message(now, from, to, connection, message);
    }

    fn transmit_message(
        &mut self,
        now: Millis,
        from: NodeId,
        to: NodeId,
        connection: ConnectionId,
        message: Message,
    ) {
        let delivery = Delivery::Message(Envelope { from, connection, message });
        self.transmit(now, Packet { from, to, connection: Some(connection), resets: None, delivery });
    }

    /// The client side gives up on its connection to `peer` (a request timed out).
    pub fn close_outgoing(&mut self, from: NodeId, peer: NodeId) {
        if let Some(c) = self.outgoing.remove(&(from, peer)) {
            self.close(c);
        }
    }

    /// The server side closes a client's connection: the client learns of it like of a reset.
    pub fn close_incoming(&mut self, now: Millis, server: NodeId, client: NodeId, connection: ConnectionId) {
        if self.open.contains(&connection) {
            self.close(connection);
            self.reset(now, server, client, connection);
        }
    }

    fn close(&mut self, connection: ConnectionId) {
        self.open.remove(&connection);
        for stalled in self.stalled.values_mut() {
            stalled.retain(|p| p.connection != Some(connection));
        }
        self.last_arrival.retain(|&(_, _, c), _| c != connection);
    }

    /// Tells `to` that its connection `connection` with `from` is gone, as a packet on the
    /// `from` → `to` link.
    fn reset(&mut self, now: Millis, from: NodeId, to: NodeId, connection: ConnectionId) {
        let delivery = Delivery::Disconnected { peer: from };
        self.transmit(now, Packet { from, to, connection: None, resets: Some(connection), delivery });
    }

    fn latency(&mut self) -> Millis {
        let c = &self.config;
        let mut latency = self.rng.gen_range(c.latency_min_ms..=c.latency_max_ms.max(c.latency_min_ms));
        let mut rto = c.retransmit_timeout_ms;
        // Each loss costs a retransmission timeout, doubling like TCP's backoff.
        while c.packet_loss_rate > 0.0 && self.rng.gen_bool(c.packet_loss_rate.min(0.99)) {
            latency += rto;
            rto *= 2;
        }
        latency
    }

    fn transmit(&mut self, now: Millis, packet: Packet) {
        self.stats.sent += 1;
        match self.liveness(packet.to) {
            Liveness::Up => {}
            Liveness::Crashed => {
                // The host is up without the process: a connection attempt is refused.
                self.stats.dropped += 1;
                if let (true, Some(c)) = (is_request(&packet), packet.connection) {
                    self.reset(now, packet.to, packet.from, c);
                }
                return;
            }
            Liveness::PoweredOff => {
                self.stats.dropped += 1;
                return;
            }
        }
        let key = (packet.from, packet.to);
        if self.blocked.contains(&key) {
            self.stalled.entry(key).or_default().push_back(packet);
            return;
        }
        self.schedule(now, packet);
    }

    fn schedule(&mut self, now: Millis, packet: Packet) {
        let latency = self.latency();
        let connection = packet.connection.unwrap_or(NO_CONNECTION);
        let last = self.last_arrival.entry((packet.from, packet.to, connection)).or_default();
        let arrival = (now + latency).max(*last);
        *last = arrival;
        self.sequence += 1;
        let inbox = self.inboxes.get_mut(&packet.to).expect("known node");
        inbox.queue.insert((arrival, self.sequence), packet);
        if arrival < inbox.wake_at {
            inbox.wake_at = arrival;
            inbox.arm(&self.clock, now, arrival);
        }
    }

    // ----- receiving --------------------------------------------------------------------------

    /// The next delivery due for `node` at `now`, if any. Packets on closed connections are
    /// dropped here (answered with a reset); packets for a dead node were dropped when it died.
    pub fn take_due(&mut self, now: Millis, node: NodeId) -> Option<Delivery> {
        loop {
            let inbox = self.inboxes.get_mut(&node)?;
            let (&key, _) = inbox.queue.first_key_value()?;
            if key.0 > now {
                return None;
            }
            let packet = inbox.queue.remove(&key).expect("first key");
            match (packet.connection, packet.resets) {
                (Some(c), _) if !self.open.contains(&c) => {
                    self.stats.dropped += 1;
                    if is_request(&packet) {
                        self.reset(now, packet.to, packet.from, c);
                    }
                }
                (_, Some(c)) => {
                    // Only a reset of the client's current connection to `peer` tells it anything:
                    // that connection is gone and its next send opens a new one.
                    if self.outgoing.get(&(node, packet.from)) == Some(&c) {
                        self.outgoing.remove(&(node, packet.from));
                        self.open.remove(&c);
                        self.stats.delivered += 1;
                        return Some(packet.delivery);
                    }
                    self.stats.dropped += 1;
                }
                _ => {
                    self.stats.delivered += 1;
                    return Some(packet.delivery);
                }
            }
        }
    }

    /// Parks `node`'s task until `until` or its next arrival, whichever is first. Returns false
    /// when that moment has come and the task should run now.
    pub fn park(&mut self, node: NodeId, now: Millis, until: Millis, waker: &Waker) -> bool {
        let inbox = self.inboxes.get_mut(&node).expect("known node");
        let next = inbox.queue.first_key_value().map_or(Millis::MAX, |(&(t, _), _)| t);
        let wake = next.min(until);
        if wake <= now {
            return false;
        }
        if !inbox.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            inbox.waker = Some(waker.clone());
            inbox.armed.clear();
        }
        inbox.wake_at = wake;
        if wake < Millis::MAX {
            inbox.arm(&self.clock, now, wake);
        }
        true
    }

    // ----- faults -----------------------------------------------------------------------------

    /// Blocks traffic from `from` to `to` (one direction). In-flight packets wait for the heal.
    pub fn block(&mut self, now: Millis, from: NodeId, to: NodeId) {
        if !self.blocked.insert((from, to)) {
            return;
        }
        // Packets still travelling are lost to the partition and will be retransmitted after it.
        let inbox = self.inboxes.get_mut(&to).expect("known node");
        let travelling: Vec<(Millis, u64)> =
            inbox.queue.iter().filter(|(&(t, _), p)| t > now && p.from == from).map(|(&k, _)| k).collect();
        let held: Vec<Packet> = travelling.iter().map(|k| inbox.queue.remove(k).expect("listed")).collect();
        let stalled = self.stalled.entry((from, to)).or_default();
        for p in held.into_iter().rev() {
            stalled.push_front(p);
        }
        for (&(a, b, _), last) in self.last_arrival.iter_mut() {
            if (a, b) == (from, to) {
                *last = (*last).min(now);
            }
        }
    }

    pub fn unblock(&mut self, now: Millis, from: NodeId, to: NodeId) {
        if !self.blocked.remove(&(from, to)) {
            return;
        }
        let stalled = self.stalled.remove(&(from, to)).unwrap_or_default();
        for p in stalled {
            self.schedule(now, p);
        }
    }

    pub fn blocked_pairs(&self) -> Vec<(NodeId, NodeId)> {
        self.blocked.iter().copied().collect()
    }

    /// The node's process or machine stopped: its inbox, connections and stalled traffic vanish.
    /// A process crash resets its peers' connections; a power loss leaves them to time out.
    pub fn node_down(&mut self, now: Millis, node: NodeId, how: Liveness) {
        debug_assert_ne!(how, Liveness::Up);
        self.liveness.insert(node, how);
        if let Some(inbox) = self.inboxes.get_mut(&node) {
            self.stats.dropped += inbox.queue.len() as u64;
            *inbox = Inbox { wake_at: Millis::MAX, ..Inbox::default() };
        }
        let gone: Vec<((NodeId, NodeId), ConnectionId)> = self
            .outgoing
            .iter()
            .filter(|((a, b), _)| *a == node || *b == node)
            .map(|(&k, &c)| (k, c))
            .collect();
        self.stalled.retain(|&(a, b), _| a != node && b != node);
        for ((client, server), c) in gone {
            self.outgoing.remove(&(client, server));
            self.open.remove(&c);
            // The crashed host's kernel resets the connections its peers opened to it.
            if how == Liveness::Crashed && server == node {
                self.reset(now, node, client, c);
            }
        }
    }
}

fn is_request(packet: &Packet) -> bool {
    matches!(packet.delivery, Delivery::Message(Envelope { message: Message::Request { .. }, .. }))
}
