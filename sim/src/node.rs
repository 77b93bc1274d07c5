//! Running a state machine as a madsim node.
//!
//! Each node's state lives in a `NodeSlot` the harness holds, outside the node, so that it can
//! survive the node: a crash turns a running broker into its disk (all of it after a process
//! crash, the flushed part after a power loss) and a restart boots a new broker from that disk.
//! The node's one task (`node_main`) takes due deliveries from the network, steps the state
//! machine, carries out its effects and records what it reports, then sleeps until the next
//! arrival or timer.

use crate::clock::Clock;
use crate::history::{History, Op};
use crate::net::{Delivery, Liveness, Network};
use crate::reader::ConsumerApp;
use crate::run::STEP_BUDGET_PANIC;
use crate::workload::ProducerApp;
use broker::broker::{Broker, BrokerBoot};
use broker::config::ControllerConfig;
use broker::controller::{Controller, ControllerState};
use broker::disk::Disk;
use broker::effect::{Effect, Outbox};
use broker::types::{Incarnation, Millis, NodeId};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
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
        let placeholder = NodeState::Down(Stored::Broker(Box::default()));
        let NodeState::Up(running) = std::mem::replace(&mut self.state, placeholder) else {
            unreachable!("checked above")
        };
        let stored = match running {
            Running::Broker(b) => {
                let disk = b.into_disk();
                Stored::Broker(Box::new(match how {
                    Halt::ProcessCrash => disk,
                    Halt::PowerLoss => disk.after_power_loss(),
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

/// Counts the steps of every node of a run against a budget; past it, the run is a livelock.
#[derive(Clone, Debug)]
pub struct StepBudget {
    taken: Arc<AtomicU64>,
    limit: u64,
}

impl StepBudget {
    pub fn new(limit: u64) -> StepBudget {
        StepBudget { taken: Arc::new(AtomicU64::new(0)), limit }
    }

    fn take(&self, node: NodeId, now: Millis) {
        let taken = self.taken.fetch_add(1, Ordering::Relaxed) + 1;
        if taken > self.limit {
            panic!("{STEP_BUDGET_PANIC}: {taken} steps by {now} ms (node {node} still busy)");
        }
    }
}

/// Everything a node's task shares with the harness.
#[derive(Clone)]
pub struct NodeContext {
    pub id: NodeId,
    pub slot: Arc<Mutex<NodeSlot>>,
    pub net: Arc<Mutex<Network>>,
    pub history: Arc<Mutex<History>>,
    pub clock: Clock,
    pub budget: StepBudget,
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
            let mut history = self.history.lock().expect("history lock");
            for op in ops.drain(..) {
                history.push(now, self.id, op);
            }
        }
    }
}

/// The node's task, from boot until the node is killed.
pub async fn node_main(ctx: NodeContext) {
    let mut out = Outbox::new();
    let mut ops = Vec::new();
    let now = ctx.clock.now_ms();
    ctx.slot.lock().expect("slot lock").boot(now, &mut out);
    ctx.net.lock().expect("network lock").set_up(ctx.id);
    ctx.carry(now, &mut out, &mut ops);
    loop {
        let now = ctx.clock.now_ms();
        loop {
            let delivery = ctx.net.lock().expect("network lock").take_due(now, ctx.id);
            let Some(delivery) = delivery else { break };
            ctx.budget.take(ctx.id, now);
            ctx.slot.lock().expect("slot lock").step(now, Input::Delivery(delivery), &mut out, &mut ops);
            ctx.carry(now, &mut out, &mut ops);
        }
        let mut deadline = ctx.slot.lock().expect("slot lock").next_deadline();
        if deadline <= now {
            ctx.budget.take(ctx.id, now);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_budget_is_shared_and_panics_past_its_limit() {
        let budget = StepBudget::new(3);
        let other = budget.clone();
        budget.take(NodeId(1), 0);
        other.take(NodeId(2), 0);
        budget.take(NodeId(1), 1);
        let past = std::panic::catch_unwind(|| other.take(NodeId(2), 2));
        let message = *past.expect_err("the fourth step is past the budget").downcast::<String>().unwrap();
        assert!(message.starts_with(STEP_BUDGET_PANIC), "{message}");
    }
}
