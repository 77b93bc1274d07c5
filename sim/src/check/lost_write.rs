//! lost-write: an acknowledged send whose value is not in the final read of its partition.
//!
//! Partitions without a final read (the cluster never converged) are skipped: liveness reports
//! them, and nothing can be said about what they hold.

use super::facts::Facts;
use super::index::{FinalReads, Outcome, Send, Sends};
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Violation};
use crate::history::ValueName;

pub struct LostWrite;

impl Checker for LostWrite {
    fn name(&self) -> &'static str {
        "lost-write"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        let finals = FinalReads::of_partitions(input.history);
        let sends = Sends::of(input.history);
        let any = sends.iter().any(|s| s.is_acked() && finals.contains(s.tp));
        (!any).then_some("no acknowledged write to a partition read to its end")
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let sends = Sends::of(input.history);
        let finals = FinalReads::of(input.history);
        let facts = Facts::of(input);
        lost_sends(&sends, &finals)
            .map(|send| {
                let Outcome::Ok { offset, at_ms, broker } = send.outcome else {
                    unreachable!("only acknowledged sends can be lost")
                };
                let producer = input.layout.producer_spec(input.scenario, send.producer);
                let final_read = finals.get(send.tp).expect("lost only where read");
                let (acked_with, now_there) = match offset {
                    Some(o) => {
                        let there = match final_read.value_at(o) {
                            Some(v) => format!(", which has value {} at offset {o}", ValueName(v)),
                            None => format!(", which has nothing at offset {o}"),
                        };
                        (format!("with offset {o}"), there)
                    }
                    None => ("without an offset".to_string(), String::new()),
                };
                Violation {
                    checker: self.name(),
                    label: facts.judge(&Anomaly::LostWrite {
                        tp: send.tp,
                        producer,
                        sent_ms: send.invoked_ms,
                        offset,
                        acked_ms: at_ms,
                        acked_by: broker,
                    }),
                    message: format!(
                        "value {} sent by {} to {} at {} ms, acknowledged at {} ms {}, \
                         is missing from the final read ({}){}",
                        ValueName(send.value),
                        input.node_name(send.producer),
                        send.tp,
                        send.invoked_ms,
                        at_ms,
                        acked_with,
                        final_read.extent(),
                        now_there,
                    ),
                    time_ms: Some(at_ms),
                    tp: Some(send.tp.clone()),
                }
            })
            .collect()
    }
}

/// Acknowledged sends missing from the final read of their partition, in invocation order.
/// `counts` uses the same rule.
pub(super) fn lost_sends<'s, 'a>(
    sends: &'s Sends<'a>,
    finals: &'s FinalReads<'a>,
) -> impl Iterator<Item = &'s Send<'a>> {
    sends.iter().filter(|send| {
        send.is_acked() && finals.get(send.tp).is_some_and(|read| !read.offset_of.contains_key(&send.value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};
    use crate::check::Label;

    #[test]
    fn fires_on_an_acknowledged_send_missing_from_the_final_read() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).ok(1, 0);
        run.at(2_000).send("producer-1", "orders/0", 2);
        run.at(2_050).ok(2, 1);
        run.converged().final_read("orders/0", &[(0, 1), (1, 9)]);
        let violations = run.check(&LostWrite);
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert!(v.label.is_bug(), "{:?}", v.label);
        assert_eq!(v.time_ms, Some(2_050));
        assert_eq!(v.tp, Some(crate::check::testkit::parse_tp("orders/0")));
        assert_eq!(
            messages(&violations),
            ["value 2 sent by producer-1 to orders/0 at 2000 ms, acknowledged at 2050 ms with \
              offset 1, is missing from the final read (2 records, offsets 0..1), which has \
              value 9 at offset 1"]
        );
    }

    #[test]
    fn stays_quiet_when_every_acknowledged_send_is_read() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).ok(1, 0);
        run.send("producer-2", "orders/1", 2).ok(2, 0);
        // Failed and indeterminate sends may be missing.
        run.send("producer-1", "orders/0", 3).fail(3);
        run.send("producer-1", "orders/0", 4).info(4);
        run.send("producer-1", "orders/0", 5);
        run.converged();
        run.final_read("orders/0", &[(0, 1)]).final_read("orders/1", &[(0, 2)]);
        assert!(run.check(&LostWrite).is_empty());
    }

    #[test]
    fn skips_partitions_without_a_final_read() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).ok(1, 0);
        run.send("producer-1", "orders/1", 2).ok(2, 0);
        run.not_converged().final_read("orders/1", &[]);
        let violations = run.check(&LostWrite);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].message.starts_with("value 2 "), "{}", violations[0].message);
        assert!(violations[0].message.contains("(empty)"));
    }

    #[test]
    fn a_value_read_in_another_partition_is_still_lost() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 1).ok(1, 0);
        run.converged().final_read("orders/0", &[]).final_read("orders/1", &[(0, 1)]);
        assert_eq!(run.check(&LostWrite).len(), 1);
    }

    #[test]
    fn acks_0_losses_are_allowed_and_say_no_offset_was_known() {
        let mut run = Run::new().with_producer("acks = 0");
        run.send("producer-1", "orders/0", 1).ok_without_offset(1);
        run.converged().final_read("orders/0", &[]);
        let violations = run.check(&LostWrite);
        assert_eq!(violations.len(), 1);
        assert_eq!(
            violations[0].label,
            Label::allowed(
                "acks=0: the producer counted the record written when it sent it at 1000 ms, \
                 without waiting for a broker"
            )
        );
        assert!(violations[0].message.contains("ms without an offset, is missing"));
    }

    #[test]
    fn acks_1_losses_are_allowed() {
        let mut run = Run::new().with_producer("acks = 1");
        run.send("producer-1", "orders/0", 1).ok(1, 0);
        run.converged().final_read("orders/0", &[]);
        let violations = run.check(&LostWrite);
        assert_eq!(
            violations[0].label,
            Label::allowed(
                "acks=1: broker-1 acknowledged offset 0 before replicating it, and its high \
                 watermark never passed it (never committed)"
            )
        );
    }
}
