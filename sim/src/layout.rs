//! Which node is which: the fixed mapping from a scenario's roles to node ids and names.
//!
//! The controller is node 0, brokers are 1..=N (their broker ids), producers start at 1000,
//! consumers at 2000, the final reader is 3000, and the harness records its own events (faults,
//! phases) as node 4000, `nemesis`.

use crate::scenario::{ConsumerSpec, ProducerSpec, Scenario};
use broker::types::NodeId;
use std::collections::BTreeMap;

pub const CONTROLLER: NodeId = NodeId(0);
pub const FINAL_READER: NodeId = NodeId(3000);
/// The harness itself, as the node faults and phases are recorded on.
pub const NEMESIS: NodeId = NodeId(4000);
const PRODUCER_BASE: u32 = 1000;
const CONSUMER_BASE: u32 = 2000;

#[derive(Clone, Debug)]
pub struct Layout {
    pub brokers: Vec<NodeId>,
    pub producers: Vec<NodeId>,
    pub consumers: Vec<NodeId>,
    names: BTreeMap<NodeId, String>,
}

impl Layout {
    pub fn of(scenario: &Scenario) -> Layout {
        let brokers: Vec<NodeId> = (1..=scenario.cluster.brokers).map(NodeId).collect();
        let producers: Vec<NodeId> =
            (0..scenario.producers.len() as u32).map(|i| NodeId(PRODUCER_BASE + i)).collect();
        let consumers: Vec<NodeId> =
            (0..scenario.consumers.len() as u32).map(|i| NodeId(CONSUMER_BASE + i)).collect();
        let mut names = BTreeMap::new();
        names.insert(CONTROLLER, "controller".to_string());
        names.insert(FINAL_READER, "final-reader".to_string());
        names.insert(NEMESIS, "nemesis".to_string());
        for &b in &brokers {
            names.insert(b, broker_name(b));
        }
        for (i, (&id, spec)) in producers.iter().zip(&scenario.producers).enumerate() {
            names.insert(id, producer_name(i, spec));
        }
        for (i, (&id, spec)) in consumers.iter().zip(&scenario.consumers).enumerate() {
            names.insert(id, consumer_name(i, spec));
        }
        Layout { brokers, producers, consumers, names }
    }

    pub fn name(&self, node: NodeId) -> &str {
        self.names.get(&node).map(String::as_str).unwrap_or("?")
    }

    pub fn by_name(&self, name: &str) -> Option<NodeId> {
        self.names.iter().find(|(_, n)| n.as_str() == name).map(|(&id, _)| id)
    }

    pub fn names(&self) -> &BTreeMap<NodeId, String> {
        &self.names
    }

    pub fn is_broker(&self, node: NodeId) -> bool {
        self.brokers.contains(&node)
    }

    /// The producer spec behind a producer node.
    pub fn producer_spec<'a>(&self, scenario: &'a Scenario, node: NodeId) -> Option<&'a ProducerSpec> {
        let i = self.producers.iter().position(|&p| p == node)?;
        scenario.producers.get(i)
    }
}

pub fn broker_name(id: NodeId) -> String {
    format!("broker-{}", id.0)
}

pub fn producer_name(index: usize, spec: &ProducerSpec) -> String {
    spec.name.clone().unwrap_or_else(|| format!("producer-{}", index + 1))
}

pub fn consumer_name(index: usize, spec: &ConsumerSpec) -> String {
    spec.name.clone().unwrap_or_else(|| format!("consumer-{}", index + 1))
}
