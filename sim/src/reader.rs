//! Consumer applications: live consumers record each poll; the final reader, started after the
//! liveness phase, reads every partition from offset 0 and records it whole.

use crate::history::{Op, ReadRecord};
use broker::config::ConsumerConfig;
use broker::consumer::{Consumer, ConsumerEvent};
use broker::random::SplitMix64;
use broker::types::TopicPartition;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct ConsumerApp {
    config: ConsumerConfig,
    topics: Vec<Arc<str>>,
    client: Option<Consumer>,
    /// Seeds each new client's jitter.
    client_rng: ChaCha8Rng,
    /// `Some` for the final reader: what it has read so far, per partition.
    final_read: Option<BTreeMap<TopicPartition, Vec<ReadRecord>>>,
}

impl ConsumerApp {
    pub fn live(config: ConsumerConfig, topics: Vec<Arc<str>>, client_rng: ChaCha8Rng) -> ConsumerApp {
        ConsumerApp { config, topics, client: None, client_rng, final_read: None }
    }

    pub fn final_reader(config: ConsumerConfig, client_rng: ChaCha8Rng) -> ConsumerApp {
        ConsumerApp {
            config,
            topics: Vec::new(),
            client: None,
            client_rng,
            final_read: Some(BTreeMap::new()),
        }
    }

    /// A new process: a new client, reading again from offset 0.
    pub fn start_client(&mut self) {
        let random = Box::new(SplitMix64::new(self.client_rng.gen()));
        self.client = Some(Consumer::new(self.config.clone(), self.topics.clone(), random));
        if let Some(acc) = self.final_read.as_mut() {
            acc.clear();
        }
    }

    pub fn crash(&mut self) {
        self.client = None;
    }

    pub fn client_mut(&mut self) -> Option<&mut Consumer> {
        self.client.as_mut()
    }

    pub fn client(&self) -> Option<&Consumer> {
        self.client.as_ref()
    }

    pub fn is_caught_up(&self) -> bool {
        self.client.as_ref().is_some_and(Consumer::is_caught_up)
    }

    pub fn record(&mut self, ops: &mut Vec<Op>) {
        let Some(client) = self.client.as_mut() else { return };
        for e in client.take_events() {
            match e {
                ConsumerEvent::Poll { tp, records } => {
                    let records: Vec<ReadRecord> =
                        records.into_iter().map(|(offset, value)| ReadRecord { offset, value }).collect();
                    match self.final_read.as_mut() {
                        Some(acc) => acc.entry(tp).or_default().extend(records),
                        None => ops.push(Op::Poll { tp, records }),
                    }
                }
                ConsumerEvent::Seek { tp, from, to } => {
                    if let Some(acc) = self.final_read.as_mut() {
                        acc.entry(tp.clone()).or_default().retain(|r| r.offset < to);
                    }
                    ops.push(Op::Seek { tp, from, to });
                }
            }
        }
    }

    /// The final reader's result: one `FinalRead` per partition, empty ones included.
    pub fn final_reads(&mut self, partitions: &[TopicPartition]) -> Vec<Op> {
        let mut acc = self.final_read.take().unwrap_or_default();
        partitions
            .iter()
            .map(|tp| Op::FinalRead { tp: tp.clone(), records: acc.remove(tp).unwrap_or_default() })
            .collect()
    }
}
