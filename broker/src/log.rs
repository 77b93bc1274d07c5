//! One replica's log of one partition: records, the leader-epoch cache, and how much of it has
//! reached the disk. Offsets start at 0; nothing is ever compacted or deleted.

use crate::protocol::EpochEndOffset;
use crate::types::{Epoch, LogRecord, Offset, Record};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionLog {
    records: Vec<LogRecord>,
    /// The leader-epoch cache: (epoch, start offset), strictly increasing in both. Kafka writes
    /// its checkpoint synchronously, so it survives any crash (trimmed to the log on recovery).
    epochs: Vec<(Epoch, Offset)>,
    /// Records below this offset are on disk; the rest is in the page cache.
    flushed: Offset,
}

impl PartitionLog {
    pub fn end_offset(&self) -> Offset {
        self.records.len() as Offset
    }

    pub fn flushed_offset(&self) -> Offset {
        self.flushed
    }

    pub fn records(&self) -> &[LogRecord] {
        &self.records
    }

    pub fn epochs(&self) -> &[(Epoch, Offset)] {
        &self.epochs
    }

    /// The epoch of the newest cache entry: the last leader this log heard of, with or without records.
    pub fn latest_epoch(&self) -> Option<Epoch> {
        self.epochs.last().map(|&(e, _)| e)
    }

    /// Records `epoch` as starting at the current end. Entries that conflict with it (an epoch
    /// at least as new, or one that starts at or after it and so holds no records) are replaced.
    pub fn assign_epoch(&mut self, epoch: Epoch) {
        let start = self.end_offset();
        if self.latest_epoch() == Some(epoch) {
            return;
        }
        self.epochs.retain(|&(e, s)| e < epoch && s < start);
        self.epochs.push((epoch, start));
    }

    /// Appends a producer batch as leader in `epoch`; returns the batch's base offset.
    pub fn append_as_leader(&mut self, epoch: Epoch, batch: &[Record]) -> Offset {
        let base = self.end_offset();
        self.assign_epoch(epoch);
        self.records.extend(batch.iter().map(|r| LogRecord {
            epoch,
            key: r.key,
            value: r.value,
            size_bytes: r.size_bytes,
        }));
        base
    }

    /// Appends records copied from the leader. They must start at this log's end.
    pub fn append_replicated(&mut self, records: &[LogRecord]) {
        for r in records {
            self.assign_epoch(r.epoch);
            self.records.push(*r);
        }
    }

    /// Removes every record at `offset` and above, and the cache entries of epochs starting there.
    /// Returns the old end offset when records were removed.
    pub fn truncate_to(&mut self, offset: Offset) -> Option<Offset> {
        let old_end = self.end_offset();
        self.epochs.retain(|&(_, s)| s < offset);
        if offset >= old_end {
            return None;
        }
        self.records.truncate(offset as usize);
        self.flushed = self.flushed.min(offset);
        Some(old_end)
    }

    /// Where `epoch` ends in this log, as Kafka's `LeaderEpochFileCache.endOffsetFor` answers:
    /// the largest cached epoch not newer than it, and the start of the epoch after that (or the
    /// log end for the latest epoch). An epoch older than every cached one ends where the first
    /// cached epoch starts. `None` (undefined) when the cache is empty or the epoch is newer than
    /// every cached one.
    pub fn end_offset_for_epoch(&self, epoch: Epoch) -> Option<EpochEndOffset> {
        let &(latest, _) = self.epochs.last()?;
        if epoch > latest {
            return None;
        }
        let Some(i) = self.epochs.iter().rposition(|&(e, _)| e <= epoch) else {
            return Some(EpochEndOffset { epoch, end_offset: self.epochs[0].1 });
        };
        let end_offset = self.epochs.get(i + 1).map_or(self.end_offset(), |&(_, s)| s);
        Some(EpochEndOffset { epoch: self.epochs[i].0, end_offset })
    }

    /// Records from `from`, not reaching `limit`, of at most `max_bytes` in all — except that
    /// with `at_least_one` the first record comes even if it alone is larger, so that a fetch
    /// always makes progress (KIP-74).
    pub fn read(&self, from: Offset, limit: Offset, max_bytes: u64, at_least_one: bool) -> &[LogRecord] {
        let end = limit.min(self.end_offset());
        if from >= end {
            return &[];
        }
        let available = &self.records[from as usize..end as usize];
        let mut taken = 0;
        let mut bytes = 0u64;
        for r in available {
            bytes += u64::from(r.size_bytes);
            if bytes > max_bytes && !(at_least_one && taken == 0) {
                break;
            }
            taken += 1;
        }
        &available[..taken]
    }

    /// fsync: everything written so far is on disk.
    pub fn flush(&mut self) {
        self.flushed = self.end_offset();
    }

    /// The OS wrote back everything below `offset` (never past the end, never backwards).
    pub fn flush_to(&mut self, offset: Offset) {
        self.flushed = self.flushed.max(offset.min(self.end_offset()));
    }

    /// Power loss: the page cache is gone, only flushed records remain.
    pub fn lose_unflushed(&mut self) {
        let flushed = self.flushed;
        self.records.truncate(flushed as usize);
        self.epochs.retain(|&(_, s)| s < flushed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(value: u64) -> Record {
        Record::sized(None, value)
    }

    #[test]
    fn append_assigns_offsets_and_epochs() {
        let mut log = PartitionLog::default();
        assert_eq!(log.append_as_leader(1, &[rec(10), rec(11)]), 0);
        assert_eq!(log.append_as_leader(3, &[rec(12)]), 2);
        assert_eq!(log.end_offset(), 3);
        assert_eq!(log.epochs(), &[(1, 0), (3, 2)]);
        assert_eq!(log.records()[2], LogRecord { epoch: 3, key: None, value: 12, size_bytes: 100 });
    }

    #[test]
    fn end_offset_for_epoch_is_start_of_next_epoch() {
        let mut log = PartitionLog::default();
        log.append_as_leader(1, &[rec(1), rec(2)]);
        log.append_as_leader(3, &[rec(3)]);
        assert_eq!(log.end_offset_for_epoch(1), Some(EpochEndOffset { epoch: 1, end_offset: 2 }));
        assert_eq!(log.end_offset_for_epoch(2), Some(EpochEndOffset { epoch: 1, end_offset: 2 }));
        assert_eq!(log.end_offset_for_epoch(3), Some(EpochEndOffset { epoch: 3, end_offset: 3 }));
        // Newer than any cached epoch: undefined (Kafka's UNDEFINED_EPOCH_OFFSET).
        assert_eq!(log.end_offset_for_epoch(9), None);
        // Older than every cached epoch: ends where the first cached epoch starts.
        assert_eq!(log.end_offset_for_epoch(0), Some(EpochEndOffset { epoch: 0, end_offset: 0 }));
        assert_eq!(PartitionLog::default().end_offset_for_epoch(0), None);
    }

    #[test]
    fn an_epoch_without_records_is_replaced_by_a_newer_one() {
        let mut log = PartitionLog::default();
        log.append_as_leader(1, &[rec(1)]);
        log.assign_epoch(2);
        log.assign_epoch(4);
        assert_eq!(log.epochs(), &[(1, 0), (4, 1)]);
    }

    #[test]
    fn truncation_drops_records_and_epochs_at_or_above() {
        let mut log = PartitionLog::default();
        log.append_as_leader(1, &[rec(1), rec(2)]);
        log.append_as_leader(2, &[rec(3), rec(4)]);
        log.flush();
        assert_eq!(log.truncate_to(2), Some(4));
        assert_eq!(log.end_offset(), 2);
        assert_eq!(log.epochs(), &[(1, 0)]);
        assert_eq!(log.flushed_offset(), 2);
        assert_eq!(log.truncate_to(5), None);
    }

    #[test]
    fn power_loss_keeps_only_the_flushed_prefix() {
        let mut log = PartitionLog::default();
        log.append_as_leader(1, &[rec(1), rec(2)]);
        log.flush();
        log.append_as_leader(2, &[rec(3)]);
        log.lose_unflushed();
        assert_eq!(log.end_offset(), 2);
        assert_eq!(log.latest_epoch(), Some(1));
    }

    #[test]
    fn read_respects_the_limit_and_the_byte_bound() {
        let mut log = PartitionLog::default();
        log.append_as_leader(1, &[rec(1), rec(2), rec(3), rec(4)]); // 100 bytes each
        assert_eq!(log.read(1, 3, 1_000, false).len(), 2);
        assert_eq!(log.read(0, 10, 300, false).len(), 3);
        assert_eq!(log.read(0, 10, 399, false).len(), 3);
        assert!(log.read(4, 10, 1_000, false).is_empty());
        // A bound smaller than one record: nothing, unless the read must make progress.
        assert!(log.read(0, 10, 99, false).is_empty());
        assert_eq!(log.read(0, 10, 99, true).len(), 1);
        assert_eq!(log.read(0, 10, 0, true).len(), 1);
        assert!(log.read(4, 10, 0, true).is_empty());
    }
}
