//! Running a state machine as a madsim node.
//!
//! Each node's state lives in a `NodeSlot` the harness holds, outside the node, so that it can
//! survive the node: a crash turns a running broker into its disk (all of it after a process
//! crash, the flushed part after a power loss) and a restart boots a new broker from that disk.
//! The node's one task (`node_main`) takes due deliveries from the network, steps the state
//! machine, carries out its effects and records what it reports, then sleeps until the next
//! arrival or timer.

use crate::budget::Budget;
use crate::clock::Clock;
use crate::history::{History, Op};
use crate::net::{Delivery, Liveness, Network};
use crate::reader::ConsumerApp;
use crate::trace_log;
use crate::workload::ProducerApp;
use broker::broker::{Broker, BrokerBoot};
use broker::config::ControllerConfig;
use broker::controller::{Controller, ControllerState};
use broker::disk::Disk;
use broker::effect::{Effect, Outbox};
use broker::types::{Incarnation, Millis, NodeId};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

pub enum Running {
    Broker(Box<Broker>),
    Controller(Box<Controller>),
    Producer(Box<ProducerApp>),
    Consumer(Box<ConsumerApp>),
}

/// What is left of a node while it is down.
pub enum Stored {
    Broker(Box<Disk>),
    Controller(Box<ControllerState>),
    Producer(Box<ProducerApp>),
    Consumer(Box<ConsumerApp>),
}

pub enum NodeState {
    Up(Running),
    Down(Stored),
}

/// How a node went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halt {
    /// kill -9: the page cache survives.
    ProcessCrash,
    /// The machine lost power: only flushed data survives.
    PowerLoss,
}

pub struct NodeSlot {
    pub id: NodeId,
    broker_boot: Option<BrokerBoot>,
    controller_config: ControllerConfig,
    pub incarnation: Incarnation,
    pub state: NodeState,
}

impl NodeSlot {
    pub fn broker(boot: BrokerBoot) -> NodeSlot {
        NodeSlot {
            id: boot.id,
            broker_boot: Some(boot),
            controller_config: ControllerConfig::default(),
            incarnation: 0,
            state: NodeState::Down(Stored::Broker(Box::default())),
        }
    }

    pub fn controller(id: NodeId, config: ControllerConfig, state: ControllerState) -> NodeSlot {
        NodeSlot {
            id,
            broker_boot: None,
            controller_config: config,
            incarnation: 0,
            state: NodeState::Down(Stored::Controller(Box::new(state))),
        }
    }

    pub fn client(id: NodeId, stored: Stored) -> NodeSlot {
        NodeSlot {
            id,
            broker_boot: None,
            controller_config: ControllerConfig::default(),
            incarnation: 0,
            state: NodeState::Down(stored),
        }
    }

    pub fn is_up(&self) -> bool {
        matches!(self.state, NodeState::Up(_))
    }

    pub fn running(&self) -> Option<&Running> {
        match &self.state {
            NodeState::Up(r) => Some(r),
            NodeState::Down(_) => None,
        }
    }

    pub fn running_mut(&mut self) -> Option<&mut Running> {
        match &mut self.state {
            NodeState::Up(r) => Some(r),
            NodeState::Down(_) => None,
        }
    }

    /// Starts the node from what it stored. Does nothing if it is already up.
    pub fn boot(&mut self, now: Millis, out: &mut Outbox) {
        if self.is_up() {
            return;
        }
        let _node = trace_log::in_node(self.id);
        let placeholder = NodeState::Down(Stored::Broker(Box::default()));
        let NodeState::Down(stored) = std::mem::replace(&mut self.state, placeholder) else {
            unreachable!("checked above")
        };
        self.incarnation += 1;
        let running = match stored {
            Stored::Broker(disk) => {
                let boot = self.broker_boot.as_ref().expect("broker slot");
                Running::Broker(Box::new(Broker::start(boot, self.incarnation, *disk, now, out)))
            }
            Stored::Controller(state) => {
                let config = self.controller_config.clone();
                Running::Controller(Box::new(Controller::start(config, *state, now)))
            }
            Stored::Producer(mut app) => {
                app.start_client();
                Running::Producer(app)
            }
            Stored::Consumer(mut app) => {
                app.start_client();
                Running::Consumer(app)
            }
        };
        self.state = NodeState::Up(running);
    }

    /// Stops the node; returns false if it was already down.
    pub fn halt(&mut self, how: Halt, ops: &mut Vec<Op>) -> bool {
        if !self.is_up() {
            return false;
        }
        let _node = trace_log::in_node(self.id);
        let placeholder = NodeState::Down(Stored::Broker(Box::default()));
        let NodeState::Up(running) = std::mem::replace(&mut self.state, placeholder) else {
            unreachable!("checked above")
        };
        let stored = match running {
            Running::Broker(b) => {
                let disk = b.into_disk();
                Stored::Broker(Box::new(match how {
                    Halt::ProcessCrash => disk,
                    Halt::PowerLoss => {
                        let (disk, lost) = disk.after_power_loss();
                        ops.extend(lost.into_iter().map(Op::Replica));
                        disk
                    }
                }))
            }
            // The controller's metadata log is synced on every write: it survives either way.
            Running::Controller(c) => Stored::Controller(Box::new(c.into_state())),
            Running::Producer(mut app) => {
                app.crash(ops);
                Stored::Producer(app)
            }
            Running::Consumer(mut app) => {
                app.crash();
                Stored::Consumer(app)
            }
        };
        self.state = NodeState::Down(stored);
        true
    }

    fn step(&mut self, now: Millis, input: Input, out: &mut Outbox, ops: &mut Vec<Op>) {
        let _node = trace_log::in_node(self.id);
        let Some(running) = self.running_mut() else { return };
        match running {
            // Brokers send at once and let the network hold what waits for a handshake: they need
            // no connected notice.
            Running::Broker(b) => match input {
                Input::Delivery(Delivery::Message(e)) => b.on_message(now, e, out),
                Input::Delivery(Delivery::Disconnected { peer, .. }) => b.on_disconnect(now, peer, out),
                Input::Delivery(Delivery::Connected { .. }) => {}
                Input::Timer => b.on_timer(now, out),
            },
            Running::Controller(c) => match input {
                Input::Delivery(Delivery::Message(e)) => c.on_message(now, e, out),
                Input::Delivery(Delivery::Disconnected { .. } | Delivery::Connected { .. }) => {}
                Input::Timer => c.on_timer(now, out),
            },
            Running::Producer(app) => {
                match input {
                    Input::Delivery(d) => {
                        let Some(client) = app.client_mut() else { return };
                        match d {
                            Delivery::Message(e) => client.on_message(now, e, out),
                            Delivery::Connected { peer } => client.on_connected(now, peer, out),
                            Delivery::Disconnected { peer, .. } => client.on_disconnect(now, peer, out),
                        }
                    }
                    Input::Timer => app.on_timer(now, out, ops),
                }
                app.record(ops);
            }
            Running::Consumer(app) => {
                let Some(client) = app.client_mut() else { return };
                match input {
                    Input::Delivery(Delivery::Message(e)) => client.on_message(now, e, out),
                    Input::Delivery(Delivery::Connected { peer }) => client.on_connected(now, peer, out),
                    Input::Delivery(Delivery::Disconnected { peer, .. }) => {
                        client.on_disconnect(now, peer, out)
                    }
                    Input::Timer => client.on_timer(now, out),
                }
                app.record(ops);
            }
        }
    }

    fn next_deadline(&self) -> Millis {
        match self.running() {
            Some(Running::Broker(b)) => b.next_deadline(),
            Some(Running::Controller(c)) => c.next_deadline(),
            Some(Running::Producer(app)) => app.next_deadline(),
            Some(Running::Consumer(app)) => app.client().map_or(Millis::MAX, |c| c.next_deadline()),
            None => Millis::MAX,
        }
    }
}

enum Input {
    Delivery(Delivery),
    Timer,
}

/// Everything a node's task shares with the harness.
#[derive(Clone)]
pub struct NodeContext {
    pub id: NodeId,
    pub slot: Arc<Mutex<NodeSlot>>,
    pub net: Arc<Mutex<Network>>,
    pub history: Arc<Mutex<History>>,
    pub clock: Clock,
    pub budget: Budget,
}

impl NodeContext {
    /// Carries out a step's effects and records what it reported.
    fn carry(&self, now: Millis, out: &mut Outbox, ops: &mut Vec<Op>) {
        if !out.is_empty() {
            let mut net = self.net.lock().expect("network lock");
            for effect in out.drain(..) {
                match effect {
                    Effect::Send { to, message } => net.send(now, self.id, to, message),
                    Effect::Connect { peer } => net.connect(now, self.id, peer),
                    Effect::Reply { to, message } => net.reply(now, self.id, to.node, to.connection, message),
                    Effect::CloseConnection { peer } => net.close_outgoing(self.id, peer),
                    Effect::CloseInbound { to } => net.close_incoming(now, self.id, to.node, to.connection),
                    Effect::Event(e) => ops.push(Op::Replica(e)),
                }
            }
        }
        if !ops.is_empty() {
            // Charged before the history grows, so a runaway run stops before memory does.
            self.budget.record(ops.iter().map(Op::footprint).sum(), now);
            let mut history = self.history.lock().expect("history lock");
            for op in ops.drain(..) {
                history.push(now, self.id, op);
            }
        }
    }
}

impl NodeContext {
    /// Starts the node's state machine from what its slot stored, and sends what it sends on
    /// boot. The harness calls it the instant it starts or restarts a node, so that the node is
    /// up from that instant (a fault due at the same instant finds it up) whenever madsim gets to
    /// run its task; the task calls it too, and then it does nothing.
    pub fn boot(&self) {
        let mut out = Outbox::new();
        let mut ops = Vec::new();
        let now = self.clock.now_ms();
        self.slot.lock().expect("slot lock").boot(now, &mut out);
        self.net.lock().expect("network lock").set_up(self.id);
        self.carry(now, &mut out, &mut ops);
    }
}

/// The node's task, from boot until the node is killed.
pub async fn node_main(ctx: NodeContext) {
    let mut out = Outbox::new();
    let mut ops = Vec::new();
    ctx.boot();
    loop {
        let now = ctx.clock.now_ms();
        loop {
            let delivery = ctx.net.lock().expect("network lock").take_due(now, ctx.id);
            let Some(delivery) = delivery else { break };
            ctx.budget.step(now);
            ctx.slot.lock().expect("slot lock").step(now, Input::Delivery(delivery), &mut out, &mut ops);
            ctx.carry(now, &mut out, &mut ops);
        }
        let mut deadline = ctx.slot.lock().expect("slot lock").next_deadline();
        if deadline <= now {
            ctx.budget.step(now);
            let mut slot = ctx.slot.lock().expect("slot lock");
            slot.step(now, Input::Timer, &mut out, &mut ops);
            deadline = slot.next_deadline();
            drop(slot);
            ctx.carry(now, &mut out, &mut ops);
        }
        // A state machine must move its deadlines past `now` when its timer runs; if one does
        // not, look again a millisecond later rather than spin.
        Parked { ctx: &ctx, until: deadline.max(now + 1) }.await;
    }
}

/// The node's task waiting for its next arrival or its own deadline, whichever comes first.
struct Parked<'a> {
    ctx: &'a NodeContext,
    until: Millis,
}

impl Future for Parked<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.ctx.clock.now_ms();
        let mut net = self.ctx.net.lock().expect("network lock");
        if net.park(self.ctx.id, now, self.until, cx.waker()) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// Marks a node as down in the network, in the way it went down.
pub fn network_liveness(how: Halt) -> Liveness {
    match how {
        Halt::ProcessCrash => Liveness::Crashed,
        Halt::PowerLoss => Liveness::PoweredOff,
    }
}
