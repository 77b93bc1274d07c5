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
    fn new(from: NodeId, to: NodeId, connection: ConnectionId, segment: Segment) -> Packet {
        Packet { from, to, connection, segment }
    }

    fn is_request(&self) -> bool {
        matches!(self.segment, Segment::Data(Message::Request { .. }))
    }
}

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
    /// Arrival of the last packet scheduled towards the server, and towards the client: a later
    /// packet never arrives earlier. Order is per connection, as TCP's: a new connection does not
    /// wait behind an old one's retransmissions. (Resets keep their own order: `Network::reset_last`.)
    last_to_server: Millis,
    last_to_client: Millis,
}

impl Connection {
    fn new(client: NodeId, server: NodeId) -> Connection {
        Connection {
            client,
            server,
            established: false,
            accepted: false,
            held: Vec::new(),
            last_to_server: 0,
            last_to_client: 0,
        }
    }

    /// The arrival of the last packet scheduled towards `to`, one of its ends.
    fn last_arrival(&mut self, to: NodeId) -> &mut Millis {
        if to == self.server {
            &mut self.last_to_server
        } else {
            &mut self.last_to_client
        }
    }
}

/// Where an inbox keeps a packet: its arrival time and its send sequence.
type Slot = (Millis, u64);

struct Inbox {
    queue: BTreeMap<Slot, Packet>,
    /// The slots of `queue`, per sender: what a partition of a link, or the sender's death, acts on.
    by_sender: BTreeMap<NodeId, BTreeSet<Slot>>,
    /// The node's task, as it last parked.
    waker: Option<Waker>,
    /// When the parked task must run next; an earlier arrival moves it.
    wake_at: Millis,
    /// Timers armed for this node that have not fired yet.
    armed: BTreeSet<Millis>,
}

impl Inbox {
    fn empty() -> Inbox {
        Inbox {
            queue: BTreeMap::new(),
            by_sender: BTreeMap::new(),
            waker: None,
            wake_at: Millis::MAX,
            armed: BTreeSet::new(),
        }
    }

    fn insert(&mut self, slot: Slot, packet: Packet) {
        self.by_sender.entry(packet.from).or_default().insert(slot);
        self.queue.insert(slot, packet);
    }

    fn remove(&mut self, slot: Slot) -> Packet {
        let packet = self.queue.remove(&slot).expect("a queued slot");
        self.by_sender.get_mut(&packet.from).expect("indexed sender").remove(&slot);
        packet
    }

    /// Takes out what `sender` sent that arrives after `now`, in arrival order.
    fn take_travelling_from(&mut self, sender: NodeId, now: Millis) -> Vec<Packet> {
        let Some(slots) = self.by_sender.get_mut(&sender) else { return Vec::new() };
        let later = slots.split_off(&(now + 1, 0));
        later.into_iter().map(|slot| self.queue.remove(&slot).expect("an indexed slot")).collect()
    }

    /// Takes out everything that arrives after `now`, with its slot.
    fn take_travelling(&mut self, now: Millis) -> Vec<(Slot, Packet)> {
        for slots in self.by_sender.values_mut() {
            slots.split_off(&(now + 1, 0));
        }
        self.queue.split_off(&(now + 1, 0)).into_iter().collect()
    }

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

/// The network's state is what is live now — connections their clients hold, packets on
/// their way, partitions in force — and nothing outlives what it belongs to: a connection's order
/// lives in the connection, and a packet of a connection that is gone is dropped wherever it is
/// next handled. So a fault costs in proportion to the links, connections and packets it touches,
/// however long the run.
pub struct Network {
    config: NetConfig,
    rng: ChaCha8Rng,
    clock: Clock,
    /// Directed pairs that cannot communicate.
    blocked: BTreeSet<(NodeId, NodeId)>,
    /// Packets a partition holds, per directed pair, in send order.
    stalled: BTreeMap<(NodeId, NodeId), VecDeque<Packet>>,
    /// Arrival of the last reset scheduled on each directed pair: resets keep their own order, so
    /// that one is never held behind data waiting out a retransmission.
    reset_last: BTreeMap<(NodeId, NodeId), Millis>,
    /// The connection each client currently holds towards each server: its end of it.
    outgoing: BTreeMap<(NodeId, NodeId), ConnectionId>,
    /// Every connection some client holds.
    connections: BTreeMap<ConnectionId, Connection>,
    /// The connections each node is an end of: what its death acts on.
    by_node: BTreeMap<NodeId, BTreeSet<ConnectionId>>,
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
            reset_last: BTreeMap::new(),
            outgoing: BTreeMap::new(),
            connections: BTreeMap::new(),
            by_node: BTreeMap::new(),
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
        self.inboxes.insert(node, Inbox::empty());
        self.liveness.insert(node, Liveness::PoweredOff);
    }

    pub fn liveness(&self, node: NodeId) -> Liveness {
        self.liveness.get(&node).copied().unwrap_or(Liveness::PoweredOff)
    }

    pub fn set_up(&mut self, node: NodeId) {
        self.liveness.insert(node, Liveness::Up);
    }

    // ----- connections ------------------------------------------------------------------------

    /// Whether the client still holds `connection`: its end exists.
    fn client_holds(&self, connection: ConnectionId) -> bool {
        self.connections
            .get(&connection)
            .is_some_and(|c| self.outgoing.get(&(c.client, c.server)) == Some(&connection))
    }

    /// Whether the server's end of `connection` exists.
    fn accepted(&self, connection: ConnectionId) -> bool {
        self.connections.get(&connection).is_some_and(|c| c.accepted)
    }

    /// The server's end of `connection` is gone; with `reset`, its client is told. What a
    /// partition holds of it is lost, and its order starts again.
    fn close_server_end(&mut self, now: Millis, connection: ConnectionId, reset: bool) {
        let Some(c) = self.connections.get_mut(&connection) else { return };
        c.accepted = false;
        c.last_to_server = 0;
        c.last_to_client = 0;
        let (server, client) = (c.server, c.client);
        for pair in [(server, client), (client, server)] {
            if let Some(held) = self.stalled.get_mut(&pair) {
                held.retain(|p| p.connection != connection || matches!(p.segment, Segment::Reset));
            }
        }
        if reset {
            self.transmit(now, Packet::new(server, client, connection, Segment::Reset));
        }
    }

    /// The client no longer holds `connection`, so both its ends are gone. Packets of it still
    /// travelling are dropped wherever they are next handled.
    fn remove_connection(&mut self, connection: ConnectionId) {
        let Some(c) = self.connections.remove(&connection) else { return };
        if self.outgoing.get(&(c.client, c.server)) == Some(&connection) {
            self.outgoing.remove(&(c.client, c.server));
        }
        for node in [c.client, c.server] {
            if let Some(ends) = self.by_node.get_mut(&node) {
                ends.remove(&connection);
            }
        }
    }

    /// `host` answers with a reset what `client` sent on `connection` and no end of it read: a
    /// connection attempt, or a request. Nothing is sent if the client has let the connection go:
    /// the reset would be stale.
    fn refuse(&mut self, now: Millis, host: NodeId, client: NodeId, connection: ConnectionId) {
        let from_its_client = self.connections.get(&connection).is_some_and(|c| c.client == client);
        if from_its_client && self.client_holds(connection) {
            self.transmit(now, Packet::new(host, client, connection, Segment::Reset));
        }
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
        self.connections.insert(c, Connection::new(client, server));
        for node in [client, server] {
            self.by_node.entry(node).or_default().insert(c);
        }
        self.transmit(now, Packet::new(client, server, c, Segment::Syn));
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
            self.transmit(now, Packet::new(from, to, c, Segment::Data(message)));
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
        self.transmit(now, Packet::new(from, to, connection, Segment::Data(message)));
    }

    /// The client side gives up on its connection to `peer` (a request or the handshake timed
    /// out): both ends close, and whatever is still travelling on it is lost.
    pub fn close_outgoing(&mut self, from: NodeId, peer: NodeId) {
        if let Some(c) = self.outgoing.remove(&(from, peer)) {
            self.remove_connection(c);
        }
    }

    /// The server side closes a client's connection: the client learns of it like of a reset.
    pub fn close_incoming(&mut self, now: Millis, server: NodeId, client: NodeId, connection: ConnectionId) {
        if self.accepted(connection) {
            let ends = self.connections.get(&connection).map(|c| (c.server, c.client));
            debug_assert_eq!(ends, Some((server, client)), "closing another node's connection");
            self.close_server_end(now, connection, true);
        }
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
                self.drop_packet(&packet);
                if matches!(packet.segment, Segment::Syn) || packet.is_request() {
                    self.refuse(now, packet.to, packet.from, packet.connection);
                }
                return;
            }
            Liveness::PoweredOff => {
                self.drop_packet(&packet);
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

    /// Puts `packet` on its way, never to arrive before the packet ahead of it on its connection
    /// (or, for a reset, the reset ahead of it on its link). A packet of a connection that is gone
    /// is dropped: no end is left to read it.
    fn schedule(&mut self, now: Millis, packet: Packet) {
        if !self.connections.contains_key(&packet.connection) {
            self.drop_packet(&packet);
            return;
        }
        let latency = self.latency();
        let last = match packet.segment {
            Segment::Reset => self.reset_last.entry((packet.from, packet.to)).or_default(),
            _ => self.connections.get_mut(&packet.connection).expect("checked above").last_arrival(packet.to),
        };
        let arrival = (now + latency).max(*last);
        *last = arrival;
        self.enqueue(now, arrival, packet);
    }

    fn enqueue(&mut self, now: Millis, arrival: Millis, packet: Packet) {
        self.sequence += 1;
        let inbox = self.inboxes.get_mut(&packet.to).expect("known node");
        inbox.insert((arrival, self.sequence), packet);
        if arrival < inbox.wake_at {
            inbox.wake_at = arrival;
            inbox.arm(&self.clock, now, arrival);
        }
    }

    fn drop_packet(&mut self, _packet: &Packet) {
        self.stats.dropped += 1;
    }

    // ----- receiving --------------------------------------------------------------------------

    /// The next delivery due for `node` at `now`, if any. Handshakes are answered here, by the
    /// host, without the node seeing them; packets for an end that is gone are dropped (a request
    /// answered with a reset); packets for a dead node were dropped when it died.
    pub fn take_due(&mut self, now: Millis, node: NodeId) -> Option<Delivery> {
        loop {
            let inbox = self.inboxes.get_mut(&node)?;
            let (&slot, _) = inbox.queue.first_key_value()?;
            if slot.0 > now {
                return None;
            }
            let packet = inbox.remove(slot);
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
                    self.transmit(now, Packet::new(packet.to, packet.from, c, Segment::SynAck));
                }
                None
            }
            Segment::SynAck => {
                let held = self.client_holds(c);
                let connection =
                    self.connections.get_mut(&c).filter(|x| held && x.accepted && !x.established)?;
                connection.established = true;
                let waiting = std::mem::take(&mut connection.held);
                for message in waiting {
                    self.transmit(now, Packet::new(packet.to, packet.from, c, Segment::Data(message)));
                }
                Some(Delivery::Connected { peer: packet.from })
            }
            Segment::Data(message) => {
                if !self.accepted(c) {
                    self.stats.dropped += 1;
                    if matches!(message, Message::Request { .. }) {
                        self.refuse(now, packet.to, packet.from, c);
                    }
                    return None;
                }
                Some(Delivery::Message(Envelope { from: packet.from, connection: c, message }))
            }
            Segment::Reset => {
                // Only a reset of the client's current connection to `peer` tells it anything:
                // that connection is gone and its next send opens a new one.
                if self.outgoing.get(&(packet.to, packet.from)) != Some(&c) {
                    self.drop_packet(&packet);
                    return None;
                }
                let established = self.connections[&c].established;
                self.remove_connection(c);
                Some(Delivery::Disconnected { peer: packet.from, established })
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
        // Packets still travelling are lost to the partition and will be retransmitted after it;
        // their connections' order starts again from the heal.
        let travelling = self.inboxes.get_mut(&to).expect("known node").take_travelling_from(from, now);
        let mut held = VecDeque::with_capacity(travelling.len());
        for packet in travelling {
            match self.connections.get_mut(&packet.connection) {
                Some(connection) => {
                    let last = connection.last_arrival(to);
                    *last = (*last).min(now);
                    held.push_back(packet);
                }
                None => self.drop_packet(&packet),
            }
        }
        if let Some(last) = self.reset_last.get_mut(&(from, to)) {
            *last = (*last).min(now);
        }
        debug_assert!(!self.stalled.contains_key(&(from, to)), "a link that was open stalls nothing");
        if !held.is_empty() {
            self.stalled.insert((from, to), held);
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
        let mut travelling: Vec<(Slot, Packet)> = Vec::new();
        for inbox in self.inboxes.values_mut() {
            travelling.extend(inbox.take_travelling(now));
        }
        travelling.sort_by_key(|(slot, _)| *slot);
        for last in self.reset_last.values_mut() {
            *last = (*last).min(now);
        }
        for (_, packet) in &travelling {
            if let Some(connection) = self.connections.get_mut(&packet.connection) {
                let last = connection.last_arrival(packet.to);
                *last = (*last).min(now);
            }
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
            *inbox = Inbox::empty();
        }
        self.stalled.retain(|&(a, b), _| a != node && b != node);
        let ends: Vec<ConnectionId> = self.by_node.get(&node).into_iter().flatten().copied().collect();
        for c in ends {
            let Some(connection) = self.connections.get(&c) else { continue };
            if connection.client == node {
                // Its own connections die with it; their servers' ends close.
                self.remove_connection(c);
            } else {
                // Connections to it: the client still holds its end until told.
                self.close_server_end(now, c, how == Liveness::Crashed);
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
