//! What a broker keeps across a restart: its partition logs and the high-watermark checkpoint.
//!
//! A process crash (kill -9) keeps the page cache, so the whole written log survives. A power loss
//! keeps only what was flushed. The high-watermark checkpoint is written (and synced) periodically,
//! so after any restart a replica's high watermark may be stale.

use crate::effect::ReplicaEvent;
use crate::log::PartitionLog;
use crate::types::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub logs: BTreeMap<TopicPartition, PartitionLog>,
    /// replication-offset-checkpoint: the high watermarks as last written.
    pub hw_checkpoint: BTreeMap<TopicPartition, Offset>,
}

impl Disk {
    pub fn log(&self, tp: &TopicPartition) -> Option<&PartitionLog> {
        self.logs.get(tp)
    }

    pub fn log_mut(&mut self, tp: &TopicPartition) -> &mut PartitionLog {
        self.logs.entry(tp.clone()).or_default()
    }

    pub fn flush_all(&mut self) {
        self.logs.values_mut().for_each(PartitionLog::flush);
    }

    /// What survives a power loss: flushed log prefixes and the checkpoint file; with a
    /// `LostUnflushed` event for each log that lost records, in partition order.
    pub fn after_power_loss(mut self) -> (Disk, Vec<ReplicaEvent>) {
        let mut lost = Vec::new();
        for (tp, log) in &mut self.logs {
            let (from, to) = (log.end_offset(), log.flushed_offset());
            log.lose_unflushed();
            if from > to {
                lost.push(ReplicaEvent::LostUnflushed { tp: tp.clone(), from, to });
            }
        }
        (self, lost)
    }

    /// The high watermark a replica restarts with: the checkpoint, capped by what the log still holds.
    pub fn recovered_high_watermark(&self, tp: &TopicPartition) -> Offset {
        let end = self.log(tp).map_or(0, PartitionLog::end_offset);
        self.hw_checkpoint.get(tp).copied().unwrap_or(0).min(end)
    }
}
