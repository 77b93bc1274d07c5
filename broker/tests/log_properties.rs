//! `PartitionLog` under random sequences of what a replica does to its log: leader appends in
//! non-decreasing epochs, appends copied from a leader, new epochs without records, truncations,
//! flushes and power losses. After every step the log must match a plain model of its records and
//! flushed offset, and keep its own invariants (`common::check_log`): a strictly increasing epoch
//! cache inside the log, every record covered by the entry of its epoch, `end_offset_for_epoch`
//! equal to a brute-force answer, the flushed offset within the log.

mod common;

use broker::log::PartitionLog;
use broker::types::{Epoch, LogRecord, Offset, Record};
use common::{check_log, config};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    /// `n` records as leader in the latest epoch raised by `bump` (0: the same epoch).
    AppendAsLeader {
        bump: Epoch,
        n: usize,
    },
    /// Records copied from a leader: runs of (epoch bump, count), so epochs never decrease.
    AppendReplicated {
        runs: Vec<(Epoch, usize)>,
    },
    /// A new leader epoch without records (becoming leader).
    AssignEpoch {
        bump: Epoch,
    },
    /// Truncate at `pick % (end + 3)`: inside the log, at its end or beyond it.
    TruncateTo {
        pick: u64,
    },
    Flush,
    LoseUnflushed,
    Read {
        from: u64,
        limit: u64,
        max_bytes: u64,
        at_least_one: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u32, 0..5usize).prop_map(|(bump, n)| Op::AppendAsLeader { bump, n }),
        3 => prop::collection::vec((0..3u32, 1..4usize), 1..4).prop_map(|runs| Op::AppendReplicated { runs }),
        2 => (0..3u32).prop_map(|bump| Op::AssignEpoch { bump }),
        3 => any::<u64>().prop_map(|pick| Op::TruncateTo { pick }),
        2 => Just(Op::Flush),
        1 => Just(Op::LoseUnflushed),
        2 => (any::<u64>(), any::<u64>(), 0..1_000u64, any::<bool>())
            .prop_map(|(from, limit, max_bytes, at_least_one)| Op::Read { from, limit, max_bytes, at_least_one }),
    ]
}

/// What the log should hold: its records and flushed offset, kept the obvious way.
#[derive(Default)]
struct Model {
    records: Vec<LogRecord>,
    flushed: Offset,
    next_value: u64,
}

impl Model {
    fn end(&self) -> Offset {
        self.records.len() as Offset
    }

    fn fresh(&mut self, n: usize) -> Vec<Record> {
        (0..n)
            .map(|_| {
                self.next_value += 1;
                // Sizes vary, so reads bounded by bytes stop at different counts.
                let size_bytes = 1 + (self.next_value * 37 % 300) as u32;
                Record { key: Some(self.next_value as u32 % 7), value: self.next_value, size_bytes }
            })
            .collect()
    }
}

fn next_epoch(log: &PartitionLog, bump: Epoch) -> Epoch {
    log.latest_epoch().map_or(bump, |e| e + bump)
}

fn apply(log: &mut PartitionLog, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let old_end = log.end_offset();
    match *op {
        Op::AppendAsLeader { bump, n } => {
            let epoch = next_epoch(log, bump);
            let batch = model.fresh(n);
            let base = log.append_as_leader(epoch, &batch);
            // Offsets stay contiguous, also right after a truncation or a power loss.
            prop_assert_eq!(base, model.end());
            model.records.extend(batch.iter().map(|r| LogRecord {
                epoch,
                key: r.key,
                value: r.value,
                size_bytes: r.size_bytes,
            }));
            prop_assert_eq!(log.end_offset(), base + n as Offset);
            prop_assert_eq!(log.latest_epoch(), Some(epoch));
        }
        Op::AppendReplicated { ref runs } => {
            let mut epoch = log.latest_epoch().unwrap_or(0);
            let mut copied = Vec::new();
            for &(bump, n) in runs {
                epoch += bump;
                copied.extend(model.fresh(n).iter().map(|r| LogRecord {
                    epoch,
                    key: r.key,
                    value: r.value,
                    size_bytes: r.size_bytes,
                }));
            }
            log.append_replicated(&copied);
            model.records.extend_from_slice(&copied);
            prop_assert_eq!(log.latest_epoch(), Some(epoch));
        }
        Op::AssignEpoch { bump } => {
            let epoch = next_epoch(log, bump);
            let before = log.epochs().to_vec();
            log.assign_epoch(epoch);
            prop_assert_eq!(log.latest_epoch(), Some(epoch));
            prop_assert_eq!(log.end_offset(), old_end);
            // Earlier entries that hold records are kept.
            let kept: Vec<_> = before.iter().copied().filter(|&(e, s)| e < epoch && s < old_end).collect();
            prop_assert_eq!(&log.epochs()[..kept.len()], &kept[..]);
        }
        Op::TruncateTo { pick } => {
            let offset = pick % (old_end + 3);
            let before = log.epochs().to_vec();
            let removed = log.truncate_to(offset);
            prop_assert_eq!(removed, (offset < old_end).then_some(old_end));
            model.records.truncate(offset as usize);
            model.flushed = model.flushed.min(offset);
            // Exactly the cache entries of epochs starting at or above the offset go.
            let kept: Vec<_> = before.into_iter().filter(|&(_, s)| s < offset).collect();
            prop_assert_eq!(log.epochs(), &kept[..]);
        }
        Op::Flush => {
            log.flush();
            model.flushed = model.end();
            prop_assert_eq!(log.flushed_offset(), log.end_offset());
        }
        Op::LoseUnflushed => {
            let before = log.epochs().to_vec();
            log.lose_unflushed();
            // Exactly the flushed prefix survives, with the cache entries that start inside it.
            model.records.truncate(model.flushed as usize);
            prop_assert_eq!(log.end_offset(), model.flushed);
            prop_assert_eq!(log.flushed_offset(), model.flushed);
            let kept: Vec<_> = before.into_iter().filter(|&(_, s)| s < model.flushed).collect();
            prop_assert_eq!(log.epochs(), &kept[..]);
        }
        Op::Read { from, limit, max_bytes, at_least_one } => {
            let (from, limit) = (from % (old_end + 3), limit % (old_end + 3));
            let got = log.read(from, limit, max_bytes, at_least_one);
            // Never at or beyond the limit, never beyond the log.
            prop_assert!(got.is_empty() || from + got.len() as Offset <= limit.min(old_end));
            let stop = limit.min(old_end);
            let available = if from < stop { &model.records[from as usize..stop as usize] } else { &[] };
            // The longest prefix within the byte bound; at least one record when asked to.
            let mut n = 0;
            while n < available.len()
                && available[..=n].iter().map(|r| u64::from(r.size_bytes)).sum::<u64>() <= max_bytes
            {
                n += 1;
            }
            if at_least_one && n == 0 && !available.is_empty() {
                n = 1;
            }
            prop_assert_eq!(got, &available[..n]);
        }
    }
    prop_assert_eq!(log.records(), &model.records[..]);
    prop_assert_eq!(log.flushed_offset(), model.flushed);
    Ok(())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn log_keeps_its_invariants_after_every_step(ops in prop::collection::vec(op(), 1..60)) {
        let mut log = PartitionLog::default();
        let mut model = Model::default();
        for op in &ops {
            apply(&mut log, &mut model, op)?;
            check_log(&log)?;
        }
    }
}

/// The checker itself must fail on a broken log: a cache entry assigned out of order (an older
/// epoch after a newer one with records) leaves records uncovered.
#[test]
fn check_log_rejects_a_record_without_its_epoch() {
    let mut log = PartitionLog::default();
    log.append_as_leader(1, &[Record::sized(None, 1)]);
    log.append_as_leader(3, &[Record::sized(None, 2)]);
    log.assign_epoch(2);
    assert!(check_log(&log).is_err());
}
