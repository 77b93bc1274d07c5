//! inconsistent-offsets: one offset of a partition read with two different values, by any
//! readers (the consumers' polls and the final read). Consumers read only below the high
//! watermark, so two values at one offset mean a committed record was replaced.

use super::facts::Facts;
use super::index::{readings, Reading};
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Violation};
use crate::history::ValueName;
use broker::types::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub struct InconsistentOffsets;

impl Checker for InconsistentOffsets {
    fn name(&self) -> &'static str {
        "inconsistent-offsets"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        readings(input.history).next().is_none().then_some("no record was read")
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        // The first reading of each value at each offset, in the order read.
        let mut seen: BTreeMap<(&TopicPartition, Offset), Vec<Reading>> = BTreeMap::new();
        for reading in readings(input.history) {
            let values = seen.entry((reading.tp, reading.offset)).or_default();
            if values.iter().all(|r| r.value != reading.value) {
                values.push(reading);
            }
        }
        let facts = Facts::of(input);
        seen.into_iter()
            .filter(|(_, values)| values.len() > 1)
            .map(|((tp, offset), values)| {
                let reads: Vec<String> = values
                    .iter()
                    .map(|r| {
                        format!(
                            "value {} by {} at {} ms",
                            ValueName(r.value),
                            input.node_name(r.node),
                            r.time_ms
                        )
                    })
                    .collect();
                Violation {
                    checker: self.name(),
                    label: facts.judge(&Anomaly::InconsistentOffsets {
                        tp,
                        offset,
                        reread_ms: values[1].time_ms,
                    }),
                    message: format!("{tp} offset {offset} was read as {}", reads.join(", then as ")),
                    time_ms: Some(values[1].time_ms),
                    tp: Some(tp.clone()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};
    use crate::check::Label;

    #[test]
    fn fires_when_a_poll_and_the_final_read_disagree() {
        let mut run = Run::new();
        run.at(2_000).poll("consumer-1", "orders/0", &[(0, 1), (1, 2)]);
        run.converged();
        run.at(8_000).final_read("orders/0", &[(0, 1), (1, 3)]);
        let violations = run.check(&InconsistentOffsets);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
        assert_eq!(violations[0].time_ms, Some(8_000));
        assert_eq!(
            messages(&violations),
            ["orders/0 offset 1 was read as value 2 by consumer-1 at 2000 ms, \
              then as value 3 by final-reader at 8000 ms"]
        );
    }

    #[test]
    fn is_allowed_after_an_unclean_election_the_topic_enables() {
        let mut run = Run::new().with_topic("unclean_leader_election_enable = true");
        run.poll("consumer-1", "orders/1", &[(4, 2)]);
        run.unclean_election("orders/1", 3, "broker-1");
        // It began leading with a log ending before offset 4: it lacked the record there.
        run.became_leader_at("broker-1", "orders/1", 3, 2);
        run.poll("consumer-1", "orders/1", &[(4, 5)]);
        let violations = run.check(&InconsistentOffsets);
        assert_eq!(violations.len(), 1);
        assert_eq!(
            violations[0].label,
            Label::allowed(
                "unclean leader election: broker-1 became leader of orders/1 in epoch 3 at 1010 ms"
            )
        );
    }

    #[test]
    fn stays_quiet_when_readers_agree() {
        let mut run = Run::new();
        run.poll("consumer-1", "orders/0", &[(0, 1), (1, 2)]);
        run.poll("consumer-1", "orders/0", &[(1, 2), (2, 3)]);
        run.poll("consumer-1", "orders/1", &[(0, 4), (1, 5)]);
        run.converged().final_read("orders/0", &[(0, 1), (1, 2), (2, 3)]);
        assert!(run.check(&InconsistentOffsets).is_empty());
    }
}
