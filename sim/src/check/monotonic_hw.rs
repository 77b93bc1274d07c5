//! monotonic-hw: a leader's high watermark went down within one leader epoch on one broker, or any
//! replica's high watermark went past its own log end.
//!
//! Read from the brokers' `HighWatermark` probes. Going down is judged per broker, partition and
//! epoch, for leaders only: across epochs a new leader may start below its predecessor's high
//! watermark (it learns the true one from its followers' fetches), and followers follow the
//! leader's with a delay; that is Kafka's behaviour, not a violation. A high watermark past the
//! replica's own log end claims committed records the replica does not have, leader or not.

use super::facts::Facts;
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Violation};
use crate::history::Op;
use broker::effect::ReplicaEvent;
use broker::types::{Epoch, Millis, NodeId, Offset, TopicPartition};
use std::collections::BTreeMap;

pub struct MonotonicHw;

/// What a violation breaks.
const PROMISE: &str = "a leader's high watermark never goes back within its epoch, nor past its own log end";

impl Checker for MonotonicHw {
    fn name(&self) -> &'static str {
        "monotonic-hw"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        let reported = input
            .history
            .events
            .iter()
            .any(|e| matches!(e.op, Op::Replica(ReplicaEvent::HighWatermark { leader: true, .. })));
        (!reported).then_some("no leader reported a high watermark")
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let label = Facts::of(input).judge(&Anomaly::ReplicaState { promise: PROMISE });
        let mut last: BTreeMap<(NodeId, &TopicPartition, Epoch), (Offset, Millis)> = BTreeMap::new();
        let mut violations = Vec::new();
        for event in &input.history.events {
            let Op::Replica(ReplicaEvent::HighWatermark {
                tp,
                epoch,
                high_watermark,
                log_end_offset,
                leader,
            }) = &event.op
            else {
                continue;
            };
            if high_watermark > log_end_offset {
                violations.push(Violation {
                    checker: self.name(),
                    label: label.clone(),
                    message: format!(
                        "{} moved its high watermark of {tp} to {high_watermark}, past its own log end {log_end_offset}, at {} ms",
                        input.node_name(event.node),
                        event.time_ms,
                    ),
                    time_ms: Some(event.time_ms),
                    tp: Some(tp.clone()),
                });
            }
            if !leader {
                continue;
            }
            let previous = last.insert((event.node, tp, *epoch), (*high_watermark, event.time_ms));
            if let Some((before, since)) = previous.filter(|&(before, _)| *high_watermark < before) {
                violations.push(Violation {
                    checker: self.name(),
                    label: label.clone(),
                    message: format!(
                        "{}, leader of {tp} in epoch {epoch}, lowered its high watermark from \
                         {before} (reached at {since} ms) to {high_watermark} at {} ms",
                        input.node_name(event.node),
                        event.time_ms,
                    ),
                    time_ms: Some(event.time_ms),
                    tp: Some(tp.clone()),
                });
            }
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};

    #[test]
    fn fires_when_a_leader_lowers_its_high_watermark_within_an_epoch() {
        let mut run = Run::new().with_producer("acks = 0");
        run.at(1_000).high_watermark("broker-1", "orders/0", 3, 10, true);
        run.at(1_500).high_watermark("broker-1", "orders/0", 3, 7, true);
        run.high_watermark("broker-1", "orders/0", 3, 8, true);
        let violations = run.check(&MonotonicHw);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].label.is_bug(), "always a bug, whatever the acks");
        assert_eq!(violations[0].time_ms, Some(1_500));
        assert_eq!(
            messages(&violations),
            ["broker-1, leader of orders/0 in epoch 3, lowered its high watermark from 10 \
              (reached at 1000 ms) to 7 at 1500 ms"]
        );
    }

    #[test]
    fn fires_when_a_replica_claims_a_high_watermark_past_its_log_end() {
        let mut run = Run::new();
        run.at(2_000).high_watermark_at_log_end("broker-2", "orders/0", 12, 9);
        run.high_watermark_at_log_end("broker-2", "orders/0", 9, 9);
        let violations = run.check(&MonotonicHw);
        assert_eq!(
            messages(&violations),
            ["broker-2 moved its high watermark of orders/0 to 12, past its own log end 9, at 2000 ms"]
        );
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
    }

    #[test]
    fn stays_quiet_across_epochs_brokers_partitions_and_followers() {
        let mut run = Run::new();
        run.high_watermark("broker-1", "orders/0", 3, 10, true);
        run.high_watermark("broker-1", "orders/0", 3, 10, true);
        // A new epoch's leader may start lower.
        run.high_watermark("broker-2", "orders/0", 4, 6, true);
        run.high_watermark("broker-1", "orders/0", 5, 6, true);
        run.high_watermark("broker-1", "orders/1", 3, 2, true);
        // Followers are not checked.
        run.high_watermark("broker-3", "orders/0", 5, 9, false);
        run.high_watermark("broker-3", "orders/0", 5, 4, false);
        assert!(run.check(&MonotonicHw).is_empty());
    }
}
