//! duplicate: one value at two different offsets of a partition, across every read (the
//! consumers' polls and the final read). Values are unique per run, so a value at two offsets
//! was written twice: a producer retried a batch the leader had already appended.

use super::facts::Facts;
use super::index::{readings, Reading, Sends};
use super::judgement::Anomaly;
use super::{CheckInput, Checker, Violation};
use crate::history::History;
use crate::history::ValueName;
use broker::types::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub struct Duplicate;

impl Checker for Duplicate {
    fn name(&self) -> &'static str {
        "duplicate"
    }

    fn nothing_to_check(&self, input: &CheckInput) -> Option<&'static str> {
        readings(input.history).next().is_none().then_some("no record was read")
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let sends = Sends::of(input.history);
        let facts = Facts::of(input);
        duplicated_values(input.history)
            .into_iter()
            .map(|dup| {
                let send = sends.get(dup.value);
                let producer = send.and_then(|s| input.layout.producer_spec(input.scenario, s.producer));
                let sent = match send {
                    Some(s) => format!("sent once by {} at {} ms", input.node_name(s.producer), s.invoked_ms),
                    None => "never sent by any producer".to_string(),
                };
                let at: Vec<String> = dup
                    .sightings
                    .iter()
                    .map(|r| {
                        format!(
                            "{} (first read by {} at {} ms)",
                            r.offset,
                            input.node_name(r.node),
                            r.time_ms
                        )
                    })
                    .collect();
                Violation {
                    checker: self.name(),
                    label: facts.judge(&Anomaly::Duplicate { producer }),
                    message: format!(
                        "value {} of {} is at {} offsets: {}; {}",
                        ValueName(dup.value),
                        dup.tp,
                        dup.sightings.len(),
                        at.join(", "),
                        sent
                    ),
                    time_ms: Some(dup.sightings[1].time_ms),
                    tp: Some(dup.tp.clone()),
                }
            })
            .collect()
    }
}

/// A value read at more than one offset of one partition.
pub(super) struct DuplicatedValue<'a> {
    pub tp: &'a TopicPartition,
    pub value: u64,
    /// The first reading at each offset, in the order they were read (at least two).
    pub sightings: Vec<Reading<'a>>,
}

type Sightings<'a> = BTreeMap<Offset, (usize, Reading<'a>)>;

/// Every duplicated value, ordered by partition and value. `counts` uses the same rule.
pub(super) fn duplicated_values(history: &History) -> Vec<DuplicatedValue<'_>> {
    // For each value of each partition, the first reading at each offset and its rank.
    let mut seen: BTreeMap<(&TopicPartition, u64), Sightings> = BTreeMap::new();
    for (i, reading) in readings(history).enumerate() {
        seen.entry((reading.tp, reading.value)).or_default().entry(reading.offset).or_insert((i, reading));
    }
    seen.into_iter()
        .filter(|(_, offsets)| offsets.len() > 1)
        .map(|((tp, value), offsets)| {
            let mut sightings: Vec<(usize, Reading)> = offsets.into_values().collect();
            sightings.sort_by_key(|&(i, _)| i);
            DuplicatedValue { tp, value, sightings: sightings.into_iter().map(|(_, r)| r).collect() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};
    use crate::check::Label;

    #[test]
    fn fires_on_a_value_at_two_offsets_across_polls_and_the_final_read() {
        let mut run = Run::new().with_producer("retries = 0");
        run.send("producer-1", "orders/0", 7).ok(7, 0);
        run.at(3_000).poll("consumer-1", "orders/0", &[(0, 7)]);
        run.converged();
        run.at(9_000).final_read("orders/0", &[(0, 7), (1, 8), (2, 7)]);
        let violations = run.check(&Duplicate);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
        assert_eq!(violations[0].time_ms, Some(9_000));
        assert_eq!(
            messages(&violations),
            ["value 7 of orders/0 is at 2 offsets: 0 (first read by consumer-1 at 3000 ms), \
              2 (first read by final-reader at 9000 ms); sent once by producer-1 at 1000 ms"]
        );
    }

    #[test]
    fn fires_between_two_polls() {
        let mut run = Run::new();
        run.send("producer-1", "orders/1", 7);
        run.poll("consumer-1", "orders/1", &[(3, 7)]).poll("consumer-1", "orders/1", &[(5, 7)]);
        let violations = run.check(&Duplicate);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].label, Label::allowed("retries without idempotence"));
        assert!(violations[0].message.contains("value 7 of orders/1 is at 2 offsets: 3 "));
    }

    #[test]
    fn stays_quiet_when_values_are_reread_at_the_same_offset() {
        let mut run = Run::new();
        run.send("producer-1", "orders/0", 7).ok(7, 0);
        run.send("producer-1", "orders/1", 8).ok(8, 0);
        run.poll("consumer-1", "orders/0", &[(0, 7)]).poll("consumer-1", "orders/0", &[(0, 7)]);
        run.converged();
        // The same value in two partitions is not this checker's business.
        run.final_read("orders/0", &[(0, 7)]).final_read("orders/1", &[(0, 8), (1, 7)]);
        assert!(run.check(&Duplicate).is_empty());
    }

    #[test]
    fn a_value_nobody_sent_is_a_bug() {
        let mut run = Run::new();
        run.poll("consumer-1", "orders/0", &[(0, 99), (1, 99)]);
        let violations = run.check(&Duplicate);
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
        assert!(violations[0].message.ends_with("never sent by any producer"));
    }
}
