//! The cluster metadata the controller owns and every broker and client caches: which brokers are
//! registered and fenced, and each partition's replicas, leader, leader epoch and ISR.

use crate::types::{BrokerId, Epoch, Incarnation, PartitionEpoch, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The controller's record of one broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    pub incarnation: Incarnation,
    /// A fenced broker has lost its session: it leads nothing and is in no ISR.
    pub fenced: bool,
}

/// One partition's replication state, as the controller decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// Assigned replicas; the first is the preferred leader.
    pub replicas: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: Epoch,
    pub isr: Vec<BrokerId>,
    pub partition_epoch: PartitionEpoch,
}

/// A versioned snapshot of the whole cluster's metadata. Small enough to ship whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataImage {
    /// Bumped on every change; brokers ask for anything newer than what they have.
    pub version: u64,
    pub brokers: BTreeMap<BrokerId, BrokerRegistration>,
    pub partitions: BTreeMap<TopicPartition, PartitionState>,
}

impl MetadataImage {
    pub fn is_live(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).is_some_and(|b| !b.fenced)
    }

    pub fn leader_of(&self, tp: &TopicPartition) -> Option<BrokerId> {
        self.partitions.get(tp).and_then(|p| p.leader)
    }
}
