//! The checkers: each reads the history of one run and reports the violations of one property,
//! and `judgement` labels every violation a bug or allowed by the configuration.
//!
//! | file | checker | a violation is |
//! |---|---|---|
//! | `lost_write.rs` | lost-write | an acknowledged send missing from the final read of its partition |
//! | `duplicate.rs` | duplicate | one value at two offsets of a partition, across every read |
//! | `inconsistent_offsets.rs` | inconsistent-offsets | one offset read with two different values |
//! | `nonmonotonic_send.rs` | nonmonotonic-send | one producer's acked sends to a partition landing out of send order |
//! | `replica_divergence.rs` | replica-divergence | replicas differing below their high watermarks, or at all once converged |
//! | `monotonic_hw.rs` | monotonic-hw | a leader lowering its high watermark within one epoch |
//! | `single_leader_per_epoch.rs` | single-leader-per-epoch | two leaders for one partition and epoch |
//! | `monotonic_epoch.rs` | monotonic-epoch | a broker's or the controller's leader epoch going back |
//! | `liveness.rs` | liveness | the cluster not converging after healing |
//! | `progress.rs` | progress | a client not finishing after healing, or stalling past its bound |
//!
//! `index.rs` holds the views of the history several checkers share (sends and their outcomes,
//! final reads, every record read); `judgement.rs` holds the bug/allowed rules and the replica
//! assignment the rules need. Every checker is deterministic: it walks the history in order and
//! keeps its state in `BTreeMap`s.

mod duplicate;
pub mod facts;
mod inconsistent_offsets;
pub mod index;
pub mod judgement;
#[cfg(test)]
mod judgement_props;
mod liveness;
mod lost_write;
mod monotonic_epoch;
mod monotonic_hw;
mod nonmonotonic_send;
pub mod progress;
mod replica_divergence;
mod single_leader_per_epoch;

#[cfg(test)]
mod testkit;

pub use duplicate::Duplicate;
pub use inconsistent_offsets::InconsistentOffsets;
pub use liveness::Liveness;
pub use lost_write::LostWrite;
pub use monotonic_epoch::MonotonicEpoch;
pub use monotonic_hw::MonotonicHw;
pub use nonmonotonic_send::NonmonotonicSend;
pub use progress::Progress;
pub use replica_divergence::ReplicaDivergence;
pub use single_leader_per_epoch::SingleLeaderPerEpoch;

use crate::history::History;
use crate::layout::Layout;
use crate::scenario::Scenario;
use broker::types::{Millis, NodeId, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a checker reads: the configuration, who is who, and what happened.
#[derive(Clone, Copy, Debug)]
pub struct CheckInput<'a> {
    pub scenario: &'a Scenario,
    pub layout: &'a Layout,
    pub history: &'a History,
}

impl CheckInput<'_> {
    /// A node's name for messages: the history's own names, else the layout's.
    pub fn node_name(&self, node: NodeId) -> &str {
        match self.history.node_name(node) {
            "?" => self.layout.name(node),
            name => name,
        }
    }
}

/// One broken property, with enough detail (values, partition, offsets, node names, time) to find
/// the event in a trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    pub checker: &'static str,
    /// Serialized inline: `"label": "bug"` or `"label": "allowed", "reason": "…"`.
    #[serde(flatten)]
    pub label: Label,
    pub message: String,
    pub time_ms: Option<Millis>,
    pub tp: Option<TopicPartition>,
}

/// Whether the configuration promises a violation cannot happen (`Bug`), or allows it and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "label", rename_all = "kebab-case")]
pub enum Label {
    /// `promise`: what the configuration promised, which the violation broke.
    Bug { promise: String },
    /// `reason`: the setting that gives the promise up, and the event that took this record.
    Allowed { reason: String },
}

impl Label {
    pub fn is_bug(&self) -> bool {
        matches!(self, Label::Bug { .. })
    }

    pub fn bug(promise: impl Into<String>) -> Label {
        Label::Bug { promise: promise.into() }
    }

    pub fn allowed(reason: impl Into<String>) -> Label {
        Label::Allowed { reason: reason.into() }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Bug { .. } => f.write_str("bug"),
            Label::Allowed { reason } => write!(f, "allowed: {reason}"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.checker, self.label, self.message)
    }
}

/// A named property of a run's history.
pub trait Checker {
    /// The kebab-case name scenario files and reports use (one of `scenario::CHECKER_NAMES`).
    fn name(&self) -> &'static str;
    /// Every violation in the history, labelled, in a deterministic order.
    fn check(&self, input: &CheckInput) -> Vec<Violation>;
    /// Why the checker had nothing to examine in this history ("no record was read"), if so:
    /// its silence then proves nothing, and the report says so instead of "ok".
    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str>;
}

/// Every checker, in the order of `scenario::CHECKER_NAMES`.
pub fn all_checkers() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(LostWrite),
        Box::new(Duplicate),
        Box::new(InconsistentOffsets),
        Box::new(NonmonotonicSend),
        Box::new(ReplicaDivergence),
        Box::new(MonotonicHw),
        Box::new(SingleLeaderPerEpoch),
        Box::new(MonotonicEpoch),
        Box::new(Liveness),
        Box::new(Progress),
    ]
}

/// What one checker made of one history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checked {
    pub violations: Vec<Violation>,
    /// Set when the checker had nothing to examine: why.
    pub nothing_to_check: Option<&'static str>,
}

/// Runs every checker; the map has an entry for each.
pub fn check_all(input: &CheckInput) -> BTreeMap<&'static str, Checked> {
    all_checkers()
        .iter()
        .map(|c| {
            let checked = Checked { violations: c.check(input), nothing_to_check: c.nothing_to_check(input) };
            (c.name(), checked)
        })
        .collect()
}

/// What happened to the workload, for summaries and comparison tables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Sends invoked.
    pub sent: u64,
    /// Sends acknowledged (`SendOk`).
    pub acked: u64,
    /// Sends that definitely failed (`SendFail`).
    pub failed: u64,
    /// Sends with an indeterminate outcome (`SendInfo`, or none because the run was cut short).
    pub indeterminate: u64,
    /// Acknowledged sends missing from the final read (the lost-write rule).
    pub lost: u64,
    /// Distinct values consumers read.
    pub polled: u64,
    /// Records in the final reads, every partition together.
    pub final_records: u64,
    /// Values that appear at more than one offset of a partition (the duplicate rule).
    pub duplicated: u64,
    /// Partitions that have no final read (the cluster never converged for them).
    pub unread_partitions: u64,
}

impl Counts {
    /// Adds another run's counts to these, for sweep totals.
    pub fn add(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.acked += other.acked;
        self.failed += other.failed;
        self.indeterminate += other.indeterminate;
        self.lost += other.lost;
        self.polled += other.polled;
        self.final_records += other.final_records;
        self.duplicated += other.duplicated;
        self.unread_partitions += other.unread_partitions;
    }
}

/// Counts the workload's outcomes. `lost` and `duplicated` follow the lost-write and duplicate
/// rules exactly, so they equal those checkers' violation counts.
pub fn counts(input: &CheckInput) -> Counts {
    let history = input.history;
    let sends = index::Sends::of(history);
    let finals = index::FinalReads::of(history);
    let mut counts = Counts { sent: sends.len() as u64, ..Counts::default() };
    for send in sends.iter() {
        match send.outcome {
            index::Outcome::Ok { .. } => counts.acked += 1,
            index::Outcome::Fail => counts.failed += 1,
            index::Outcome::Info | index::Outcome::Pending => counts.indeterminate += 1,
        }
    }
    counts.lost = lost_write::lost_sends(&sends, &finals).count() as u64;
    let polled: BTreeSet<(&TopicPartition, u64)> = index::readings(history)
        .filter(|r| r.source == index::ReadSource::Poll)
        .map(|r| (r.tp, r.value))
        .collect();
    counts.polled = polled.len() as u64;
    counts.final_records = finals.iter().map(|(_, records)| records.len() as u64).sum();
    counts.duplicated = duplicate::duplicated_values(history).len() as u64;
    let partitions = judgement::all_partitions(input.scenario);
    counts.unread_partitions = partitions.iter().filter(|tp| finals.get(tp).is_none()).count() as u64;
    counts
}

#[cfg(test)]
mod tests {
    use super::testkit::Run;
    use super::*;
    use crate::scenario::CHECKER_NAMES;

    #[test]
    fn checkers_follow_the_scenario_names_in_order() {
        let names: Vec<&str> = all_checkers().iter().map(|c| c.name()).collect();
        assert_eq!(names, CHECKER_NAMES);
    }

    #[test]
    fn check_all_has_an_entry_for_every_checker() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).ok(1, 0).converged().final_read("orders/0", &[(0, 1)]);
        let all = check_all(&run.input());
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), {
            let mut names = CHECKER_NAMES.to_vec();
            names.sort();
            names
        });
        assert!(all.values().all(|c| c.violations.is_empty()), "{all:?}");
        // An acknowledged write read back, one record read, and a converged cluster: lost-write,
        // nonmonotonic-send, duplicate, inconsistent-offsets, liveness and progress had something
        // to examine.
        let examined: Vec<&str> =
            all.iter().filter(|(_, c)| c.nothing_to_check.is_none()).map(|(&name, _)| name).collect();
        assert_eq!(
            examined,
            ["duplicate", "inconsistent-offsets", "liveness", "lost-write", "nonmonotonic-send", "progress"]
        );
    }

    #[test]
    fn an_empty_history_gives_every_checker_but_liveness_nothing_to_check() {
        let run = Run::new();
        let all = check_all(&run.input());
        let reasons: Vec<(&str, Option<&str>)> = all.iter().map(|(&n, c)| (n, c.nothing_to_check)).collect();
        assert_eq!(
            reasons,
            [
                ("duplicate", Some("no record was read")),
                ("inconsistent-offsets", Some("no record was read")),
                ("liveness", None),
                ("lost-write", Some("no acknowledged write to a partition read to its end")),
                ("monotonic-epoch", Some("no leader was elected")),
                ("monotonic-hw", Some("no leader reported a high watermark")),
                ("nonmonotonic-send", Some("no acknowledged write")),
                ("progress", Some("the run ended before its liveness phase did")),
                ("replica-divergence", Some("no two replicas of a partition were sampled together")),
                ("single-leader-per-epoch", Some("no leader was elected")),
            ]
        );
    }

    #[test]
    fn counts_follow_the_checkers_rules() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).ok(1, 0);
        run.send("producer-1", "orders/0", 2).ok(2, 1);
        run.send("producer-1", "orders/0", 3).fail(3);
        run.send("producer-1", "orders/0", 4).info(4);
        run.send("producer-1", "orders/1", 5);
        run.send("producer-1", "orders/1", 6).ok(6, 0);
        run.poll("consumer-1", "orders/0", &[(0, 1), (1, 2)]);
        run.poll("consumer-1", "orders/0", &[(1, 2)]);
        run.converged();
        run.final_read("orders/0", &[(0, 1), (1, 4), (2, 1)]);
        let counts = counts(&run.input());
        assert_eq!(
            counts,
            Counts {
                sent: 6,
                acked: 3,
                failed: 1,
                indeterminate: 2,
                lost: 1, // value 2; value 6's partition was never read, so it is not judged
                polled: 2,
                final_records: 3,
                duplicated: 1, // value 1 at offsets 0 and 2
                unread_partitions: 1,
            }
        );
        assert_eq!(run.check(&LostWrite).len() as u64, counts.lost);
        assert_eq!(run.check(&Duplicate).len() as u64, counts.duplicated);
    }

    #[test]
    fn violations_serialize_with_an_inline_label() {
        let v = Violation {
            checker: "lost-write",
            label: Label::allowed("acks=1 acknowledges before replication"),
            message: "m".into(),
            time_ms: Some(5),
            tp: Some(TopicPartition::new("orders", 0)),
        };
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["label"], "allowed");
        assert_eq!(json["reason"], "acks=1 acknowledges before replication");
        assert_eq!(json["tp"]["topic"], "orders");
        assert_eq!(v.to_string(), "lost-write (allowed: acks=1 acknowledges before replication): m");
        let bug = serde_json::to_value(Violation { label: Label::bug("p"), ..v }).unwrap();
        assert_eq!(bug["label"], "bug");
        assert!(bug.get("reason").is_none());
        assert_eq!(bug["promise"], "p");
    }
}
