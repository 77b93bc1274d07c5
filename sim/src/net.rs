//! The simulated network: TCP-like connections between nodes, on madsim's clock.
//!
//! Kafka speaks over TCP, and that shapes what faults do to it, so the harness models connections
//! rather than datagrams:
//! - a connection is opened by its client with a handshake (SYN, SYN-ACK: one round trip) answered
//!   by the server's host. Until it completes the connection carries nothing: what the client sends
//!   meanwhile waits at the client and goes, in order, once it is connected. A client can also open
//!   one without sending (`connect`) and is told when it is connected (`Delivery::Connected`), as
//!   Kafka's clients are before they send a request;
//! - messages between two nodes arrive in the order they were sent, whatever each one's latency
//!   (a message never overtakes an earlier one on the same connection);
//! - a lost packet is retransmitted: it arrives late (one retransmission timeout, doubling per
//!   repeated loss up to Linux's `TCP_RTO_MAX`, 120 s), it is not dropped;
//! - a partition stalls a link: what is in flight and what is sent meanwhile waits and arrives,
//!   in order, after the heal — unless the sender gave up and closed the connection first;
//! - a closed connection drops whatever was still travelling on it, and a message arriving on a
//!   connection the receiver no longer has is answered with a reset;
//! - a client whose connection is reset or refused is told (`Delivery::Disconnected`), with
//!   whether the connection had ever been established: a refused one carried nothing.
//!
//! What a node's peers observe when a fault hits it, and when:
//!
//! | fault | its peers observe | when |
//! |---|---|---|
//! | crash (kill -9) | every connection the process had is reset — those it opened (their servers close them) and those opened to it (their clients are told), established or still in handshake, with or without a request in flight. A new connection to the host is refused: its kernel is up and answers the SYN with a reset | at once: one network latency |
//! | power loss | silence: the host sends nothing, answers no handshake, and what is sent to it is lost | at each peer's own timeout: a request timeout, or a connection-setup timeout for a handshake |
//! | pause | silence: the process reads and answers nothing, handshakes included (the model pauses the whole host, as a VM pause does; a stopped JVM's kernel would still complete handshakes, and its peers would wait their request timeout instead of the setup timeout — silence either way). What was sent to it waits and is read after the resume | at each peer's own timeout, or late answers after the resume |
//! | partition | silence across the cut: traffic and handshakes stall (one way or both) | at each peer's own timeout; what stalled arrives after the heal, in order, on connections both ends still hold |
//! | restart (after a crash or a power loss) | a new process: new connections are accepted; the old ones are dead, and anything arriving on one is answered with a reset | when a peer next sends on an old connection, or at its timeout |
//! | heal (end of the fault phase) | stalled traffic delivered in order; packets still waiting out retransmission delays are retransmitted at once, at the restored latency (`retransmit_now`) | at the heal |
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

/// Linux's ceiling on the retransmission timeout (`TCP_RTO_MAX`, include/net/tcp.h): however many
/// times a packet is lost, one retransmission waits at most this long.
pub const TCP_RTO_MAX_MS: Millis = 120_000;

/// What a node's inbox hands it.
#[derive(Clone, Debug)]
pub enum Delivery {
    Message(Envelope),
    /// This node's connection to `peer` completed its handshake: it carries data from now on.
    Connected {
        peer: NodeId,
    },
    /// This node's connection to `peer` was reset, refused or closed by the other side.
    /// `established`: whether it had completed its handshake; a connection that never did carried
    /// nothing this node sent on it.
    Disconnected {
        peer: NodeId,
        established: bool,
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

/// What a packet carries.
#[derive(Clone, Debug)]
enum Segment {
    /// Client → server: opens the connection.
    Syn,
    /// Server → client: the handshake's answer.
    SynAck,
    Data(Message),
    /// Kills the receiver's end of the connection. A reset of a connection the receiver has
    /// already let go (or replaced) is stale and is dropped on arrival.
    Reset,
}

/// A packet on its way.
#[derive(Clone, Debug)]
struct Packet {
    from: NodeId,
    to: NodeId,
    connection: ConnectionId,
    segment: Segment,
}

impl Packet {
    fn is_request(&self) -> bool {
        matches!(self.segment, Segment::Data(Message::Request { .. }))
    }

    /// The order key of its link: resets keep their own order (on no connection), so that one is
    /// never held behind data waiting out a retransmission.
    fn lane(&self) -> (NodeId, NodeId, ConnectionId) {
        match self.segment {
            Segment::Reset => (self.from, self.to, NO_CONNECTION),
            _ => (self.from, self.to, self.connection),
        }
    }
}

/// Connection ids start at 1; 0 is the lane of resets.
const NO_CONNECTION: ConnectionId = 0;

/// One connection, while its client holds it.
#[derive(Clone, Debug)]
struct Connection {
    client: NodeId,
    server: NodeId,
    /// The handshake completed: the client's end carries data.
    established: bool,
    /// The server's end exists: the SYN reached a live host, and nothing has killed that end since.
    accepted: bool,
    /// What the client sent before the handshake completed, in order.
    held: Vec<Message>,
}

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
    /// Arrival time of the last packet scheduled on each lane: a later packet never arrives
    /// earlier. Order is per connection, as TCP's: a new connection does not wait behind an old
    /// one's retransmissions.
    last_arrival: BTreeMap<(NodeId, NodeId, ConnectionId), Millis>,
    /// The connection each client currently holds towards each server.
    outgoing: BTreeMap<(NodeId, NodeId), ConnectionId>,
    /// Every connection some client holds.
    connections: BTreeMap<ConnectionId, Connection>,
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
            connections: BTreeMap::new(),
            next_connection: NO_CONNECTION + 1,
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

    /// Opens a connection from `from` to `to` unless it holds one; `from` is told when the
    /// handshake completes, or that it was refused.
    pub fn connect(&mut self, now: Millis, from: NodeId, to: NodeId) {
        if !self.outgoing.contains_key(&(from, to)) {
            self.open(now, from, to);
        }
    }

    fn open(&mut self, now: Millis, client: NodeId, server: NodeId) -> ConnectionId {
        let c = self.next_connection;
        self.next_connection += 1;
        self.outgoing.insert((client, server), c);
        let connection = Connection { client, server, established: false, accepted: false, held: Vec::new() };
        self.connections.insert(c, connection);
        self.transmit(now, Packet { from: client, to: server, connection: c, segment: Segment::Syn });
        c
    }

    /// A client's request (or any message on its own outgoing connection to `to`), opening a
    /// connection if it holds none. Until the handshake completes, the message waits at the client.
    pub fn send(&mut self, now: Millis, from: NodeId, to: NodeId, message: Message) {
        let c = match self.outgoing.get(&(from, to)) {
            Some(&c) => c,
            None => self.open(now, from, to),
        };
        let connection = self.connections.get_mut(&c).expect("an outgoing connection is held");
        if connection.established {
            self.transmit(now, Packet { from, to, connection: c, segment: Segment::Data(message) });
        } else {
            connection.held.push(message);
        }
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
        if !self.accepted(connection) {
            self.stats.dropped += 1;
            return;
        }
        self.transmit(now, Packet { from, to, connection, segment: Segment::Data(message) });
    }

    /// Whether `connection` is live at both ends.
    fn accepted(&self, connection: ConnectionId) -> bool {
        self.connections.get(&connection).is_some_and(|c| c.accepted)
    }

    /// The client side gives up on its connection to `peer` (a request or the handshake timed
    /// out): both ends close, and whatever is still travelling on it is lost.
    pub fn close_outgoing(&mut self, from: NodeId, peer: NodeId) {
        if let Some(c) = self.outgoing.remove(&(from, peer)) {
            self.connections.remove(&c);
            self.forget(c);
        }
    }

    /// The server side closes a client's connection: the client learns of it like of a reset.
    pub fn close_incoming(&mut self, now: Millis, server: NodeId, client: NodeId, connection: ConnectionId) {
        if self.accepted(connection) {
            let ends = self.connections.get(&connection).map(|c| (c.server, c.client));
            debug_assert_eq!(ends, Some((server, client)), "closing another node's connection");
            self.kill_server_end(now, connection, true);
        }
    }

    /// The server's end of `connection` is gone; with `reset`, its client is told.
    fn kill_server_end(&mut self, now: Millis, connection: ConnectionId, reset: bool) {
        let Some(c) = self.connections.get_mut(&connection) else { return };
        c.accepted = false;
        let (server, client) = (c.server, c.client);
        self.forget(connection);
        if reset {
            self.reset(now, server, client, connection);
        }
    }

    /// Drops what a partition holds of `connection` and its place in the arrival order.
    fn forget(&mut self, connection: ConnectionId) {
        for stalled in self.stalled.values_mut() {
            stalled.retain(|p| p.connection != connection || matches!(p.segment, Segment::Reset));
        }
        self.last_arrival.retain(|&(_, _, c), _| c != connection);
    }

    /// Tells `to` that its connection `connection` with `from` is gone, as a packet on the
    /// `from` → `to` link.
    fn reset(&mut self, now: Millis, from: NodeId, to: NodeId, connection: ConnectionId) {
        self.transmit(now, Packet { from, to, connection, segment: Segment::Reset });
    }

    fn latency(&mut self) -> Millis {
        let c = &self.config;
        let latency = self.rng.gen_range(c.latency_min_ms..=c.latency_max_ms.max(c.latency_min_ms));
        let mut losses = 0;
        while c.packet_loss_rate > 0.0 && self.rng.gen_bool(c.packet_loss_rate.min(0.99)) {
            losses += 1;
        }
        latency + retransmission_delay(c.retransmit_timeout_ms, losses)
    }

    fn transmit(&mut self, now: Millis, packet: Packet) {
        self.stats.sent += 1;
        match self.liveness(packet.to) {
            Liveness::Up => {}
            Liveness::Crashed => {
                // The host is up without the process: a connection attempt, or a request on a
                // connection the process had, is answered with a reset.
                self.stats.dropped += 1;
                if matches!(packet.segment, Segment::Syn) || packet.is_request() {
                    self.reset(now, packet.to, packet.from, packet.connection);
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
        let last = self.last_arrival.entry(packet.lane()).or_default();
        let arrival = (now + latency).max(*last);
        *last = arrival;
        self.enqueue(now, arrival, packet);
    }

    fn enqueue(&mut self, now: Millis, arrival: Millis, packet: Packet) {
        self.sequence += 1;
        let inbox = self.inboxes.get_mut(&packet.to).expect("known node");
        inbox.queue.insert((arrival, self.sequence), packet);
        if arrival < inbox.wake_at {
            inbox.wake_at = arrival;
            inbox.arm(&self.clock, now, arrival);
        }
    }

    // ----- receiving --------------------------------------------------------------------------

    /// The next delivery due for `node` at `now`, if any. Handshakes are answered here, by the
    /// host, without the node seeing them; packets on connections gone at the receiving end are
    /// dropped (a request answered with a reset); packets for a dead node were dropped when it died.
    pub fn take_due(&mut self, now: Millis, node: NodeId) -> Option<Delivery> {
        loop {
            let inbox = self.inboxes.get_mut(&node)?;
            let (&key, _) = inbox.queue.first_key_value()?;
            if key.0 > now {
                return None;
            }
            let packet = inbox.queue.remove(&key).expect("first key");
            if let Some(delivery) = self.receive(now, packet) {
                self.stats.delivered += 1;
                return Some(delivery);
            }
        }
    }

    /// What the arrival of `packet` at its receiver hands the receiver, if anything.
    fn receive(&mut self, now: Millis, packet: Packet) -> Option<Delivery> {
        let c = packet.connection;
        match packet.segment {
            Segment::Syn => {
                // The client may have given up meanwhile; then there is nothing to accept.
                if let Some(connection) = self.connections.get_mut(&c) {
                    connection.accepted = true;
                    self.transmit(
                        now,
                        Packet { from: packet.to, to: packet.from, connection: c, segment: Segment::SynAck },
                    );
                }
                None
            }
            Segment::SynAck => {
                let held = self.outgoing.get(&(packet.to, packet.from)) == Some(&c);
                let connection =
                    self.connections.get_mut(&c).filter(|x| held && x.accepted && !x.established)?;
                connection.established = true;
                let waiting = std::mem::take(&mut connection.held);
                for message in waiting {
                    let segment = Segment::Data(message);
                    self.transmit(now, Packet { from: packet.to, to: packet.from, connection: c, segment });
                }
                Some(Delivery::Connected { peer: packet.from })
            }
            Segment::Data(message) => {
                if !self.accepted(c) {
                    self.stats.dropped += 1;
                    if matches!(message, Message::Request { .. }) {
                        self.reset(now, packet.to, packet.from, c);
                    }
                    return None;
                }
                Some(Delivery::Message(Envelope { from: packet.from, connection: c, message }))
            }
            Segment::Reset => {
                // Only a reset of the client's current connection to `peer` tells it anything:
                // that connection is gone and its next send opens a new one.
                if self.outgoing.get(&(packet.to, packet.from)) != Some(&c) {
                    self.stats.dropped += 1;
                    return None;
                }
                self.outgoing.remove(&(packet.to, packet.from));
                let connection = self.connections.remove(&c).expect("held");
                self.forget(c);
                Some(Delivery::Disconnected { peer: packet.from, established: connection.established })
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

    /// Retransmits at once everything still travelling, at the current latency and loss, in the
    /// order it would have arrived (so each connection keeps its order). For the start of the
    /// liveness phase: its packets may have been waiting out retransmission timeouts of up to
    /// two minutes from the fault phase's packet loss, and liveness is judged on a sound network,
    /// not on the tail of a fault. Rescheduling keeps every connection and every message — a
    /// reset would instead turn requests in flight into failures the heal itself caused.
    pub fn retransmit_now(&mut self, now: Millis) {
        let mut travelling: Vec<((Millis, u64), Packet)> = Vec::new();
        for inbox in self.inboxes.values_mut() {
            let later = inbox.queue.split_off(&(now + 1, 0));
            travelling.extend(later);
        }
        travelling.sort_by_key(|(key, _)| *key);
        for last in self.last_arrival.values_mut() {
            *last = (*last).min(now);
        }
        for (_, packet) in travelling {
            self.schedule(now, packet);
        }
    }

    /// The node's process or machine stopped: its inbox, connections and stalled traffic vanish.
    /// After a process crash the host resets every connection the process had at once, so its
    /// peers learn at once; after a power loss they learn only by timing out (or, once it is
    /// back, from the reset a new process answers on an old connection).
    pub fn node_down(&mut self, now: Millis, node: NodeId, how: Liveness) {
        debug_assert_ne!(how, Liveness::Up);
        self.liveness.insert(node, how);
        if let Some(inbox) = self.inboxes.get_mut(&node) {
            self.stats.dropped += inbox.queue.len() as u64;
            *inbox = Inbox { wake_at: Millis::MAX, ..Inbox::default() };
        }
        self.stalled.retain(|&(a, b), _| a != node && b != node);
        let involved: Vec<(ConnectionId, NodeId)> = self
            .connections
            .iter()
            .filter(|(_, c)| c.client == node || c.server == node)
            .map(|(&id, c)| (id, c.client))
            .collect();
        for (c, client) in involved {
            if client == node {
                // Its own connections die with it; their servers' ends close.
                let server = self.connections.remove(&c).expect("listed").server;
                self.outgoing.remove(&(node, server));
                self.forget(c);
            } else {
                // Connections to it: the client still holds its end until told.
                self.kill_server_end(now, c, how == Liveness::Crashed);
            }
        }
    }
}

/// What `losses` consecutive losses of one packet add to its latency: a retransmission timeout
/// each, starting at `first_rto_ms` and doubling like TCP's backoff, each at most `TCP_RTO_MAX_MS`.
pub fn retransmission_delay(first_rto_ms: Millis, losses: u32) -> Millis {
    let mut rto = first_rto_ms.min(TCP_RTO_MAX_MS);
    let mut delay: Millis = 0;
    for _ in 0..losses {
        delay = delay.saturating_add(rto);
        rto = rto.saturating_mul(2).min(TCP_RTO_MAX_MS);
    }
    delay
}

#[cfg(test)]
mod tests;
