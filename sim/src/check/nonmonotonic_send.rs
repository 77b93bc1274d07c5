//! nonmonotonic-send: one producer's acknowledged sends to one partition landing in the opposite
//! order to their invocations.
//!
//! A send's offset is where the final read found it. For a partition without a final read (the
//! cluster never converged) the acknowledged offset stands in; a send the final read lacks is
//! lost-write's business and is left out here. Sends are compared with the previous placed send
//! of the same producer and partition, so one reordered batch is one violation per place where
//! the order breaks, not one per pair.

use super::facts::Facts;
use super::index::{FinalReads, Outcome, Send, Sends};
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Violation};
use crate::history::{Op, ValueName};
use broker::types::{NodeId, Offset, TopicPartition};
use std::collections::BTreeMap;

pub struct NonmonotonicSend;

impl Checker for NonmonotonicSend {
    fn name(&self) -> &'static str {
        "nonmonotonic-send"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        let acked = input.history.events.iter().any(|e| matches!(e.op, Op::SendOk { .. }));
        (!acked).then_some("no acknowledged write")
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let sends = Sends::of(input.history);
        let finals = FinalReads::of(input.history);
        let mut placed: BTreeMap<(NodeId, &TopicPartition), Vec<(&Send, Offset)>> = BTreeMap::new();
        for send in sends.iter() {
            let Outcome::Ok { offset: acked_offset, .. } = send.outcome else { continue };
            let offset = match finals.get(send.tp) {
                Some(read) => read.offset_of.get(&send.value).copied(),
                None => acked_offset,
            };
            if let Some(offset) = offset {
                placed.entry((send.producer, send.tp)).or_default().push((send, offset));
            }
        }
        let facts = Facts::of(input);
        let mut violations = Vec::new();
        for ((producer, tp), sends) in placed {
            let spec = input.layout.producer_spec(input.scenario, producer);
            let source = if finals.get(tp).is_some() {
                "in the final read"
            } else {
                "as acknowledged; the partition has no final read"
            };
            for pair in sends.windows(2) {
                let ((earlier, earlier_offset), (later, later_offset)) = (pair[0], pair[1]);
                if later_offset < earlier_offset {
                    violations.push(Violation {
                        checker: self.name(),
                        label: facts.judge(&Anomaly::NonmonotonicSend { producer: spec }),
                        message: format!(
                            "{}'s sends to {tp} landed out of order ({source}): value {} sent at \
                             {} ms is at offset {later_offset}, before value {} sent earlier at \
                             {} ms at offset {earlier_offset}",
                            input.node_name(producer),
                            ValueName(later.value),
                            later.invoked_ms,
                            ValueName(earlier.value),
                            earlier.invoked_ms,
                        ),
                        time_ms: Some(later.invoked_ms),
                        tp: Some(tp.clone()),
                    });
                }
            }
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};
    use crate::check::Label;

    #[test]
    fn fires_when_a_later_send_lands_before_an_earlier_one() {
        let mut run = Run::new().with_producer("max_in_flight_requests_per_connection = 1");
        run.at(1_000).send("producer-1", "orders/0", 1);
        run.at(1_100).send("producer-1", "orders/0", 2);
        run.at(1_200).send("producer-1", "orders/0", 3);
        run.ok(2, 0).ok(3, 1).ok(1, 2);
        run.converged().final_read("orders/0", &[(0, 2), (1, 3), (2, 1)]);
        let violations = run.check(&NonmonotonicSend);
        assert_eq!(violations.len(), 1, "one place where the order breaks: {violations:#?}");
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
        assert_eq!(violations[0].time_ms, Some(1_100));
        assert_eq!(
            messages(&violations),
            ["producer-1's sends to orders/0 landed out of order (in the final read): value 2 \
              sent at 1100 ms is at offset 0, before value 1 sent earlier at 1000 ms at offset 2"]
        );
    }

    #[test]
    fn is_allowed_with_retries_and_several_requests_in_flight() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).send("producer-1", "orders/0", 2);
        run.ok(2, 0).ok(1, 1);
        run.converged().final_read("orders/0", &[(0, 2), (1, 1)]);
        let violations = run.check(&NonmonotonicSend);
        let reason = "retries with several requests in flight reorder batches";
        assert_eq!(violations[0].label, Label::allowed(reason));
    }

    #[test]
    fn falls_back_to_acknowledged_offsets_without_a_final_read() {
        let mut run = Run::new().with_producer("retries = 0");
        run.send("producer-2", "orders/1", 1).send("producer-2", "orders/1", 2);
        run.ok(1, 6).ok(2, 5);
        run.not_converged();
        let violations = run.check(&NonmonotonicSend);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].message.starts_with(
            "producer-2's sends to orders/1 landed out of order (as acknowledged; the partition \
             has no final read): value 2"
        ));
    }

    #[test]
    fn stays_quiet_for_in_order_sends_and_across_producers_and_partitions() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).ok(1, 0);
        run.send("producer-2", "orders/0", 2).ok(2, 1);
        run.send("producer-1", "orders/1", 3).ok(3, 0);
        // Another producer's later send landing earlier is no reordering of this one's.
        run.send("producer-1", "orders/0", 4);
        run.send("producer-2", "orders/0", 5).ok(5, 2).ok(4, 3);
        // Lost, failed and indeterminate sends are not placed.
        run.send("producer-1", "orders/0", 6).ok(6, 4);
        run.send("producer-1", "orders/0", 7).fail(7);
        run.send("producer-1", "orders/0", 8).info(8);
        run.send("producer-1", "orders/0", 9).ok(9, 5);
        run.converged();
        run.final_read("orders/0", &[(0, 1), (1, 2), (2, 5), (3, 4), (4, 8), (5, 9)]);
        run.final_read("orders/1", &[(0, 3)]);
        assert!(run.check(&NonmonotonicSend).is_empty());
    }
}
