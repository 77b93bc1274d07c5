//! Deliberate defects, each off by default and each a one-line change in behaviour, named for
//! what it breaks. They exist so the harness can show that its checkers catch what they are for:
//! a sweep of an ordinary fault scenario with one switched on must find a violation labelled bug.
//! Some are invented; the ones that name a KAFKA ticket are defects Kafka really had and fixed,
//! brought back.
//! (The historical high-watermark truncation is not here: it is a protocol, `TruncationMode`.)

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// The leader answers acks=all as soon as it has appended, before the ISR has the batch.
    AckBeforeReplication,
    /// The controller elects the first live replica, in sync or not, with unclean election off.
    ElectOutsideIsr,
    /// A follower takes the leader's high watermark as is, even past its own log end.
    FollowerHwPastLogEnd,
    /// The leader ignores min.insync.replicas: it takes and commits acks=all writes whatever the
    /// ISR's size.
    IgnoreMinIsr,
    /// The producer retries a failed batch without refreshing its metadata, so it keeps sending
    /// to a broker that is no longer the leader.
    RetryWithoutMetadataRefresh,
    /// KAFKA-7128 (fixed in 2.1): a leader admits a follower to the ISR once it reaches the
    /// leader's high watermark, without also requiring the start offset of the leader's epoch. A
    /// new leader's high watermark may lag the old leader's, so a follower missing committed
    /// records joins the ISR, and when it is elected next those records are gone.
    IsrJoinBelowEpochStart,
    /// KAFKA-13141 (fixed in 2.7.2/2.8.1/3.0): a leader records a follower's fetch offset even when
    /// the fetch shows the follower's log diverging, though the follower is about to truncate
    /// below it; the high watermark then counts records the follower does not have.
    RecordDivergingFetchOffset,
    /// KAFKA-9835 (fixed in 2.4.2/2.5.1): a consumer's fetch can return records above the high
    /// watermark (a read racing an append took the log's size twice). Consumers then see records
    /// that are not committed and may vanish in a failover.
    ReadAboveHighWatermark,
    /// KAFKA-3197 (fixed in 0.9.0.1): with max.in.flight.requests.per.connection=1, a producer
    /// whose partition moved to another broker sends the partition's next batch to the new leader
    /// while the previous one is still in flight to the old, so retries reorder records although
    /// one request in flight promised order.
    ReorderWithOneInFlight,
    /// After a NOT_LEADER_OR_FOLLOWER answer the producer mutes the partition and never unmutes
    /// it: the partition's batches wait in the accumulator for a leader it never looks up, sent
    /// nowhere, until their delivery timeout fails them.
    StallAfterNotLeader,
}

impl Bug {
    pub const ALL: [Bug; 10] = [
        Bug::AckBeforeReplication,
        Bug::ElectOutsideIsr,
        Bug::FollowerHwPastLogEnd,
        Bug::IgnoreMinIsr,
        Bug::RetryWithoutMetadataRefresh,
        Bug::IsrJoinBelowEpochStart,
        Bug::RecordDivergingFetchOffset,
        Bug::ReadAboveHighWatermark,
        Bug::ReorderWithOneInFlight,
        Bug::StallAfterNotLeader,
    ];

    /// The name scenario files use: `ack-before-replication`.
    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeReplication => "ack-before-replication",
            Bug::ElectOutsideIsr => "elect-outside-isr",
            Bug::FollowerHwPastLogEnd => "follower-hw-past-log-end",
            Bug::IgnoreMinIsr => "ignore-min-isr",
            Bug::RetryWithoutMetadataRefresh => "retry-without-metadata-refresh",
            Bug::IsrJoinBelowEpochStart => "isr-join-below-epoch-start",
            Bug::RecordDivergingFetchOffset => "record-diverging-fetch-offset",
            Bug::ReadAboveHighWatermark => "read-above-high-watermark",
            Bug::ReorderWithOneInFlight => "reorder-with-one-in-flight",
            Bug::StallAfterNotLeader => "stall-after-not-leader",
        }
    }
}

/// The bugs switched on for one run. Empty: the broker as designed.
pub type Bugs = BTreeSet<Bug>;
