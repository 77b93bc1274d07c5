//! Shared by the broker's tests: the invariants every `PartitionLog` must keep, checked against
//! its public API only; the proptest settings; and (`driver`) one broker driven by hand. Each
//! test crate uses a part of it.

#![allow(dead_code)]

pub mod driver;

use broker::log::PartitionLog;
use broker::protocol::EpochEndOffset;
use broker::types::Epoch;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Failing inputs are saved beside the test file (`<name>.proptest-regressions`) and replayed
/// first on the next run.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

/// `end_offset_for_epoch` computed the long way: undefined past the newest cached epoch; else the
/// newest cached epoch not newer than `epoch` (or `epoch` itself when all are newer), and how many
/// records (whose epochs never decrease along the log) belong to it or earlier.
pub fn brute_end_offset_for_epoch(log: &PartitionLog, epoch: Epoch) -> Option<EpochEndOffset> {
    let latest = log.epochs().iter().map(|&(e, _)| e).max()?;
    if epoch > latest {
        return None;
    }
    let found = log.epochs().iter().map(|&(e, _)| e).filter(|&e| e <= epoch).max().unwrap_or(epoch);
    let end_offset = log.records().iter().take_while(|r| r.epoch <= found).count() as u64;
    Some(EpochEndOffset { epoch: found, end_offset })
}

/// The invariants of one log, whatever happened to it.
pub fn check_log(log: &PartitionLog) -> Result<(), TestCaseError> {
    let end = log.end_offset();
    let records = log.records();
    let epochs = log.epochs();
    prop_assert_eq!(end, records.len() as u64);
    prop_assert!(log.flushed_offset() <= end, "flushed {} beyond end {}", log.flushed_offset(), end);

    // The cache: strictly increasing in epoch and in start offset, every start within the log.
    for w in epochs.windows(2) {
        prop_assert!(w[0].0 < w[1].0, "epochs not strictly increasing: {:?}", epochs);
        prop_assert!(w[0].1 < w[1].1, "start offsets not strictly increasing: {:?}", epochs);
    }
    for &(_, start) in epochs {
        prop_assert!(start <= end, "cache entry starts at {} beyond the end {}: {:?}", start, end, epochs);
    }
    prop_assert_eq!(log.latest_epoch(), epochs.last().map(|&(e, _)| e));

    // Records: epochs never decrease, and each is covered by the cache entry it falls in.
    for w in records.windows(2) {
        prop_assert!(w[0].epoch <= w[1].epoch, "record epochs decrease: {:?}", records);
    }
    for (offset, r) in records.iter().enumerate() {
        let covering = epochs.iter().rev().find(|&&(_, s)| s <= offset as u64);
        prop_assert_eq!(
            covering.map(|&(e, _)| e),
            Some(r.epoch),
            "record at {} (epoch {}) not covered by the cache {:?}",
            offset,
            r.epoch,
            epochs
        );
    }
    if let (Some(last), Some(&(latest, _))) = (records.last(), epochs.last()) {
        prop_assert!(last.epoch <= latest);
    }

    // end_offset_for_epoch agrees with the brute force for every epoch around the cached ones.
    let top = epochs.last().map_or(0, |&(e, _)| e) + 2;
    for e in 0..=top {
        prop_assert_eq!(log.end_offset_for_epoch(e), brute_end_offset_for_epoch(log, e), "epoch {}", e);
    }
    Ok(())
}
