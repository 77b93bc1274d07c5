//! A producer application: sends `messages` records at a steady rate from `start_ms` until the
//! fault phase ends, through a producer client, and records each send's invoke and outcome.
//!
//! Values are unique per run: the producer's index in the high bits, the send's number in the low.
//! The application outlives its client: a crash loses the client (its unresolved sends become
//! indeterminate) and a restart resumes the workload with a new one.

use crate::history::Op;
use broker::config::ProducerConfig;
use broker::effect::Outbox;
use broker::partitioner::Partitioner;
use broker::producer::{Completion, Producer};
use broker::random::SplitMix64;
use broker::types::{Millis, Record, TopicPartition};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The most records a producer sends in one step: 1,000 per simulated millisecond, a million a
/// second.
pub const MAX_SENDS_PER_STEP: usize = 1_000;

pub struct ProducerApp {
    topic: Arc<str>,
    partitions: u32,
    partitioner: Partitioner,
    round_robin: u32,
    keys: u32,
    record_size_bytes: u32,
    /// Sends are due at start + i * interval.
    start_ms: Millis,
    interval_ms: f64,
    stop_ms: Millis,
    total: u64,
    sent: u64,
    value_base: u64,
    rng: ChaCha8Rng,
    /// Seeds each new client's jitter: a stream of its own, so that the client's draws never shift
    /// the workload's keys.
    client_rng: ChaCha8Rng,
    config: ProducerConfig,
    client: Option<Producer>,
}

/// Everything a producer application needs to be built.
pub struct ProducerPlan {
    pub index: u32,
    pub topic: Arc<str>,
    pub partitions: u32,
    pub partitioner: Partitioner,
    pub keys: u32,
    pub record_size_bytes: u32,
    pub start_ms: Millis,
    pub messages_per_sec: f64,
    pub stop_ms: Millis,
    pub messages: u64,
    pub config: ProducerConfig,
    pub rng: ChaCha8Rng,
    pub client_rng: ChaCha8Rng,
}

impl ProducerApp {
    pub fn new(plan: ProducerPlan) -> ProducerApp {
        ProducerApp {
            topic: plan.topic,
            partitions: plan.partitions,
            partitioner: plan.partitioner,
            round_robin: 0,
            keys: plan.keys,
            record_size_bytes: plan.record_size_bytes,
            start_ms: plan.start_ms,
            interval_ms: 1000.0 / plan.messages_per_sec,
            stop_ms: plan.stop_ms,
            total: plan.messages,
            sent: 0,
            value_base: (plan.index as u64 + 1) << 32,
            rng: plan.rng,
            client_rng: plan.client_rng,
            config: plan.config,
            client: None,
        }
    }

    pub fn start_client(&mut self) {
        let random = Box::new(SplitMix64::new(self.client_rng.gen()));
        self.client = Some(Producer::new(self.config.clone(), random));
    }

    /// The process died: unresolved sends are indeterminate.
    pub fn crash(&mut self, ops: &mut Vec<Op>) {
        self.give_up("producer crashed", ops);
    }

    fn give_up(&mut self, reason: &str, ops: &mut Vec<Op>) {
        if let Some(mut client) = self.client.take() {
            client.abandon(reason);
            record_completions(&mut client, ops);
        }
    }

    /// Sends not yet resolved, and whether the workload still has sends to make.
    pub fn is_idle(&self) -> bool {
        self.client.as_ref().is_none_or(|c| c.unresolved() == 0) && self.next_send_ms().is_none()
    }

    /// The run is over: whatever is unresolved is given up, for `reason`, and nothing more is
    /// sent.
    pub fn finish(&mut self, reason: &str, ops: &mut Vec<Op>) {
        self.give_up(reason, ops);
        self.total = self.sent;
    }

    fn next_send_ms(&self) -> Option<Millis> {
        if self.sent >= self.total {
            return None;
        }
        // Compared as a float first: at a tiny rate the next send lies past any u64 time (and
        // the interval may be infinite, so the first send is placed without it).
        let offset = if self.sent == 0 { 0.0 } else { self.sent as f64 * self.interval_ms };
        if offset >= self.stop_ms.saturating_sub(self.start_ms) as f64 {
            return None;
        }
        let due = self.start_ms + offset as Millis;
        (due < self.stop_ms).then_some(due)
    }

    pub fn next_deadline(&self) -> Millis {
        let client = self.client.as_ref().map_or(Millis::MAX, |c| c.next_deadline());
        client.min(self.next_send_ms().unwrap_or(Millis::MAX))
    }

    pub fn on_timer(&mut self, now: Millis, out: &mut Outbox, ops: &mut Vec<Op>) {
        let Some(client) = self.client.as_mut() else { return };
        client.on_timer(now, out);
        // The sends due by now, at most MAX_SENDS_PER_STEP of them: the rest wait for the next
        // millisecond (see `next_deadline`), so that one step's memory stays bounded whatever the
        // rate or the backlog after a restart.
        for _ in 0..MAX_SENDS_PER_STEP {
            let Some(due) = self.next_send_ms() else { break };
            if due > now {
                break;
            }
            let key = (self.keys > 0).then(|| self.rng.gen_range(0..self.keys));
            let partition = self.partitioner.partition(key, self.partitions, &mut self.round_robin);
            let tp = TopicPartition { topic: self.topic.clone(), partition };
            let value = self.value_base + self.sent;
            self.sent += 1;
            ops.push(Op::SendInvoke { tp: tp.clone(), key, value });
            let client = self.client.as_mut().expect("running");
            let record = Record { key, value, size_bytes: self.record_size_bytes };
            client.send(now, tp, record, out);
        }
        self.record(ops);
    }

    pub fn client_mut(&mut self) -> Option<&mut Producer> {
        self.client.as_mut()
    }

    pub fn record(&mut self, ops: &mut Vec<Op>) {
        if let Some(client) = self.client.as_mut() {
            record_completions(client, ops);
        }
    }
}

fn record_completions(client: &mut Producer, ops: &mut Vec<Op>) {
    for c in client.take_completions() {
        ops.push(match c {
            Completion::Ok { value, offset, broker } => Op::SendOk { value, offset, broker },
            Completion::Fail { value, error } => Op::SendFail { value, error },
            Completion::Info { value, reason } => Op::SendInfo { value, reason },
        });
    }
}
