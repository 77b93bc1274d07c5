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
//!   repeated loss up to Linux's `TCP_RTO_MAX`, 120 s), it is not dropped. It is retransmitted
//!   at most `TCP_RETRIES2` (15) times, Linux's `tcp_retries2`, and the last retransmission gets
//!   through: 805 s after the first send at the default 200 ms timeout. Linux instead breaks the
//!   connection once the last one is lost too, 925 s after the first send. Every timeout of
//!   Kafka's (a request's 30 s, a send's 120 s, a session's 45 s) is far shorter, so whoever
//!   waits on such a packet has given up long before either; only traffic nobody waits on (an
//!   acks=0 produce) arrives late here where Linux would lose it. (At the end of the fault phase
//!   whatever is still waiting goes at once: `retransmit_now`.);
//! - a partition stalls a link: what is in flight and what is sent meanwhile waits and arrives,
//!   in order, after the heal — unless the sender gave up and closed the connection first;
//! - a packet on the wire when its sender dies (a crash or a power loss) arrives and is read, as
//!   TCP delivers what reached the peer's host whatever became of the sender; after a crash the
//!   host's reset follows it. What the sender's kernel still held dies with it: a packet waiting
//!   out a retransmission timeout (a packet is on the wire once it has left for the last time,
//!   `Packet::departs`) or held by a partition, and everything behind it on that connection, as
//!   TCP delivers nothing past a hole. What was on its way *to* a node that dies is lost with it;
//! - each end of a connection reads only while it exists: a message arriving for an end that is
//!   gone is dropped (a request is answered with a reset). A client that gives up on a connection
//!   closes both ends at once, and what it had sent and is still travelling is lost with them;
//! - a client whose connection is reset or refused is told (`Delivery::Disconnected`), with
//!   whether the connection had ever been established: a refused one carried nothing.
//!
//! What a node's peers observe when a fault hits it, and when:
//!
//! | fault | its peers observe | when |
//! |---|---|---|
//! | crash (kill -9) | what the process had put on the wire arrives, in order (an answer it sent just before is read). Then every connection the process had is reset — those it opened (their servers close them) and those opened to it (their clients are told), established or still in handshake, with or without a request in flight. A new connection to the host is refused: its kernel is up and answers the SYN with a reset | at once: one network latency, behind what was on the wire |
//! | power loss | what the host had put on the wire arrives, in order. Then silence: the host sends nothing, answers no handshake, and what is sent to it is lost | at each peer's own timeout: a request timeout, or a connection-setup timeout for a handshake |
//! | pause | what the process had sent arrives; it sends nothing new. Silence: the process reads and answers nothing, handshakes included (the model pauses the whole host, as a VM pause does; a stopped JVM's kernel would still complete handshakes, and its peers would wait their request timeout instead of the setup timeout — silence either way). What was sent to it waits and is read after the resume | at each peer's own timeout, or late answers after the resume |
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

/// Linux's limit on the retransmissions of one packet (`tcp_retries2`, 15 by default). The last
/// one gets through here (the module doc says why), so no loss rate holds a packet back for longer
/// than `retransmission_delay(rto, TCP_RETRIES2)`.
pub const TCP_RETRIES2: u32 = 15;

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
    /// Kills the receiver's end of the connection: a client is told; a server's end closes
    /// silently (no server here acts on an inbound connection closing). A reset of an end the
    /// receiver has already let go (or replaced) is stale and is dropped on arrival.
    Reset,
    /// Not a packet: it follows the last data a client that lost power had on the wire, and closes
    /// the server's end once that data is read. A real server's host notices only much later (a
    /// keepalive, a failed write), but its process can read nothing more on the connection
    /// meanwhile, so closing the end here changes nothing a node observes, and frees the connection.
    Forget,
}

/// A packet on its way.
#[derive(Clone, Debug)]
struct Packet {
    from: NodeId,
    to: NodeId,
    connection: ConnectionId,
    segment: Segment,
    /// When it leaves its sender for the last time: its send time plus the retransmission
    /// timeouts it waits out. From then on it is on the wire, and arrives whatever becomes of its
    /// sender; before, it is in the sender's kernel, and dies with it.
    departs: Millis,
}

impl Packet {
    fn new(from: NodeId, to: NodeId, connection: ConnectionId, segment: Segment) -> Packet {
        Packet { from, to, connection, segment, departs: 0 }
    }

    fn is_request(&self) -> bool {
        matches!(self.segment, Segment::Data(Message::Request { .. }))
    }

    /// Whether it is a real packet, which the statistics count.
    fn is_real(&self) -> bool {
        !matches!(self.segment, Segment::Forget)
    }
}

/// One connection, while either of its ends exists.
#[derive(Clone, Debug)]
struct Connection {
    client: NodeId,
    server: NodeId,
    /// The handshake completed: the client's end carries data.
    established: bool,
    /// The server's end exists: the SYN reached a live host, and nothing has killed that end since.
    /// (The client's end exists while the client holds the connection in `Network::outgoing`.)
    accepted: bool,
    /// What the client sent before the handshake completed, in order.
    held: Vec<Message>,
    /// Arrival of the last packet scheduled towards the server, and towards the client: a later
    /// packet never arrives earlier. Order is per connection, as TCP's: a new connection does not
    /// wait behind an old one's retransmissions.
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

/// The network's state is what is live now — connections either of whose ends exists, packets on
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
    /// The connection each client currently holds towards each server: its end of it.
    outgoing: BTreeMap<(NodeId, NodeId), ConnectionId>,
    /// Every connection either of whose ends exists.
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

    /// Whether `node`'s end of `connection` exists: only an existing end reads anything.
    fn holds(&self, node: NodeId, connection: ConnectionId) -> bool {
        match self.connections.get(&connection) {
            Some(c) if node == c.server => c.accepted,
            Some(_) => self.client_holds(connection),
            None => false,
        }
    }

    /// The server's end of `connection` is gone; with `reset`, its client is told, after whatever
    /// the server had already sent on it.
    fn close_server_end(&mut self, now: Millis, connection: ConnectionId, reset: bool) {
        let Some(c) = self.connections.get_mut(&connection) else { return };
        c.accepted = false;
        let (server, client) = (c.server, c.client);
        if !self.client_holds(connection) {
            self.remove_connection(connection);
        } else if reset {
            self.transmit(now, Packet::new(server, client, connection, Segment::Reset));
        }
    }

    /// The client's end of `connection` died with its node. A server's end learns of it after
    /// whatever the client had already sent on it: from the host's reset after a crash, or, after
    /// a power loss, when it would notice by itself (`Segment::Forget`). If the client's end was
    /// gone already (its node died before, and the server's end has not heard yet), this is said
    /// again: this death may just have cut the first farewell off.
    fn close_client_end(&mut self, now: Millis, connection: ConnectionId, how: Liveness) {
        let Some(c) = self.connections.get(&connection) else { return };
        let (client, server, accepted) = (c.client, c.server, c.accepted);
        if self.outgoing.get(&(client, server)) == Some(&connection) {
            self.outgoing.remove(&(client, server));
        }
        if !accepted {
            self.remove_connection(connection);
            return;
        }
        let segment = if how == Liveness::Crashed { Segment::Reset } else { Segment::Forget };
        self.transmit(now, Packet::new(client, server, connection, segment));
    }

    /// Both ends of `connection` are gone. Packets of it still travelling are dropped wherever they
    /// are next handled.
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

    /// The server side closes a client's connection: the client learns of it like of a reset,
    /// after what the server had already sent on it.
    pub fn close_incoming(&mut self, now: Millis, server: NodeId, client: NodeId, connection: ConnectionId) {
        if self.accepted(connection) {
            let ends = self.connections.get(&connection).map(|c| (c.server, c.client));
            debug_assert_eq!(ends, Some((server, client)), "closing another node's connection");
            self.close_server_end(now, connection, true);
        }
    }

    /// How long a packet waits out retransmission timeouts at its sender (one per loss, at most
    /// `TCP_RETRIES2` losses), and its latency on the wire once it leaves.
    fn delays(&mut self) -> (Millis, Millis) {
        let c = &self.config;
        let latency = self.rng.gen_range(c.latency_min_ms..=c.latency_max_ms.max(c.latency_min_ms));
        let mut losses = 0;
        while losses < TCP_RETRIES2 && c.packet_loss_rate > 0.0 && self.rng.gen_bool(c.packet_loss_rate) {
            losses += 1;
        }
        (retransmission_delay(c.retransmit_timeout_ms, losses), latency)
    }

    fn transmit(&mut self, now: Millis, packet: Packet) {
        if packet.is_real() {
            self.stats.sent += 1;
        }
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

    /// Puts `packet` on its way: it leaves once it has waited out its retransmission timeouts and
    /// arrives a latency later, never before the packet ahead of it on its connection. A packet of
    /// a connection that is gone is dropped: no end is left to read it.
    fn schedule(&mut self, now: Millis, mut packet: Packet) {
        if !self.connections.contains_key(&packet.connection) {
            self.drop_packet(&packet);
            return;
        }
        let (waiting, latency) = self.delays();
        packet.departs = now + waiting;
        let connection = self.connections.get_mut(&packet.connection).expect("checked above");
        let last = connection.last_arrival(packet.to);
        let arrival = (packet.departs + latency).max(*last);
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

    fn drop_packet(&mut self, packet: &Packet) {
        if packet.is_real() {
            self.stats.dropped += 1;
        }
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
                // It completes the handshake even if the server's end has died since it left: the
                // client learns that from the reset behind it, as a real client would.
                if !self.client_holds(c) {
                    return None;
                }
                let connection = self.connections.get_mut(&c).expect("held");
                if connection.established {
                    return None;
                }
                connection.established = true;
                let waiting = std::mem::take(&mut connection.held);
                for message in waiting {
                    self.transmit(now, Packet::new(packet.to, packet.from, c, Segment::Data(message)));
                }
                Some(Delivery::Connected { peer: packet.from })
            }
            Segment::Data(message) => {
                if !self.holds(packet.to, c) {
                    self.stats.dropped += 1;
                    if matches!(message, Message::Request { .. }) {
                        self.refuse(now, packet.to, packet.from, c);
                    }
                    return None;
                }
                Some(Delivery::Message(Envelope { from: packet.from, connection: c, message }))
            }
            Segment::Reset | Segment::Forget => {
                let Some(connection) = self.connections.get(&c) else {
                    self.drop_packet(&packet);
                    return None;
                };
                if packet.to == connection.server {
                    // The client's end is gone, so the server's closes, silently.
                    self.close_server_end(now, c, false);
                    return None;
                }
                // Only a reset of the client's current connection to `peer` tells it anything:
                // that connection is gone and its next send opens a new one.
                if !self.client_holds(c) {
                    self.drop_packet(&packet);
                    return None;
                }
                let established = connection.established;
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
        // their connections' order starts again from the heal. A packet whose sender's end is
        // gone has nobody left to retransmit it. (A reset, or the silent end, is the host's last
        // word on a connection and waits like any packet.)
        let travelling = self.inboxes.get_mut(&to).expect("known node").take_travelling_from(from, now);
        let mut held = VecDeque::with_capacity(travelling.len());
        for packet in travelling {
            let last_word = matches!(packet.segment, Segment::Reset | Segment::Forget);
            let retransmitted = last_word || self.holds(from, packet.connection);
            match self.connections.get_mut(&packet.connection) {
                Some(connection) if retransmitted => {
                    let last = connection.last_arrival(to);
                    *last = (*last).min(now);
                    held.push_back(packet);
                }
                _ => self.drop_packet(&packet),
            }
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

    /// The node's process or machine stopped. What was on its way to it is lost with it. What it
    /// had already put on the wire arrives; what its kernel still held — a packet waiting out a
    /// retransmission timeout, or held by a partition — is lost, with everything behind it on the
    /// same connection. Then every connection it was an end of closes: after a process crash the
    /// host resets each at once (the reset following what was on the wire), so its peers learn at
    /// once; after a power loss they learn only by timing out (or, once it is back, from the reset
    /// a new process answers on an old connection).
    pub fn node_down(&mut self, now: Millis, node: NodeId, how: Liveness) {
        debug_assert_ne!(how, Liveness::Up);
        self.liveness.insert(node, how);
        if let Some(inbox) = self.inboxes.get_mut(&node) {
            self.stats.dropped += inbox.queue.values().filter(|p| p.is_real()).count() as u64;
            *inbox = Inbox::empty();
        }
        let mut lost = 0;
        self.stalled.retain(|&(a, b), held| {
            let involved = a == node || b == node;
            if involved {
                lost += held.iter().filter(|p| p.is_real()).count() as u64;
            }
            !involved
        });
        self.stats.dropped += lost;
        self.cut_what_had_not_left(now, node);
        let ends: Vec<ConnectionId> = self.by_node.get(&node).into_iter().flatten().copied().collect();
        for c in ends {
            let Some(connection) = self.connections.get(&c) else { continue };
            if connection.client == node {
                self.close_client_end(now, c, how);
            } else {
                self.close_server_end(now, c, how == Liveness::Crashed);
            }
        }
    }

    /// Drops, of what `node` sent, each packet still in its kernel (`departs` after `now`) and
    /// everything behind it on the same connection: TCP delivers nothing past a hole. Each
    /// connection cut orders what comes next after what is left of it.
    fn cut_what_had_not_left(&mut self, now: Millis, node: NodeId) {
        for (&to, inbox) in self.inboxes.iter_mut() {
            let Some(slots) = inbox.by_sender.get(&node) else { continue };
            let mut cut: BTreeSet<ConnectionId> = BTreeSet::new();
            let mut kept: BTreeMap<ConnectionId, Millis> = BTreeMap::new();
            let mut doomed: Vec<Slot> = Vec::new();
            for &slot in slots {
                let packet = &inbox.queue[&slot];
                if cut.contains(&packet.connection) || packet.departs > now {
                    cut.insert(packet.connection);
                    doomed.push(slot);
                } else {
                    kept.insert(packet.connection, slot.0);
                }
            }
            for slot in doomed {
                if inbox.remove(slot).is_real() {
                    self.stats.dropped += 1;
                }
            }
            for c in cut {
                if let Some(connection) = self.connections.get_mut(&c) {
                    let last = connection.last_arrival(to);
                    *last = kept.get(&c).copied().unwrap_or((*last).min(now));
                }
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
