//! Deliberate defects, each off by default and each a one-line change in behaviour, named for
//! what it breaks. They exist so the harness can show that its checkers catch what they are for:
//! a sweep of an ordinary fault scenario with one switched on must find a violation labelled bug.
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
}

impl Bug {
    pub const ALL: [Bug; 5] = [
        Bug::AckBeforeReplication,
        Bug::ElectOutsideIsr,
        Bug::FollowerHwPastLogEnd,
        Bug::IgnoreMinIsr,
        Bug::RetryWithoutMetadataRefresh,
    ];

    /// The name scenario files use: `ack-before-replication`.
    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeReplication => "ack-before-replication",
            Bug::ElectOutsideIsr => "elect-outside-isr",
            Bug::FollowerHwPastLogEnd => "follower-hw-past-log-end",
            Bug::IgnoreMinIsr => "ignore-min-isr",
            Bug::RetryWithoutMetadataRefresh => "retry-without-metadata-refresh",
        }
    }
}

/// The bugs switched on for one run. Empty: the broker as designed.
pub type Bugs = BTreeSet<Bug>;
