//! Properties of the judgement over random histories of one lost acks=all write: an *allowed*
//! label names the event that excused it, removing that event turns it into a *bug*, and events
//! that did not touch the record (other partitions, other offsets, before it was sent, elections
//! in older epochs) never excuse it.

use super::facts::Facts;
use super::judgement::Anomaly;
use super::testkit::{parse_tp, Run};
use super::Label;
use broker::types::{Epoch, Millis, NodeId, Offset};
use proptest::prelude::*;

/// The lost write: offset `OFFSET`-th record of orders/0, sent at `SENT_MS`, acknowledged by
/// broker-1 (leading in epoch 1 from the start) at `ACKED_MS`.
const SENT_MS: Millis = 2_000;
const ACKED_MS: Millis = 2_100;

#[derive(Clone, Debug)]
enum Event {
    /// An unclean election whose leader's log ended at `log_end` when it began leading.
    Unclean {
        tp: &'static str,
        epoch: Epoch,
        leader: &'static str,
        log_end: Offset,
    },
    PowerLoss {
        broker: &'static str,
        tp: &'static str,
        from: Offset,
        to: Offset,
    },
}

const BROKERS: [&str; 3] = ["broker-1", "broker-2", "broker-3"];

fn broker() -> impl Strategy<Value = &'static str> {
    prop::sample::select(BROKERS.to_vec())
}

/// Events that cannot have taken offset `offset` of orders/0 sent at `SENT_MS`.
fn unrelated(offset: Offset) -> impl Strategy<Value = (Millis, Event)> {
    prop_oneof![
        // Another partition's unclean election, at any time.
        (0..20_000u64, 1..9u32, broker())
            .prop_map(|(t, epoch, leader)| (t, Event::Unclean { tp: "orders/1", epoch, leader, log_end: 0 })),
        // An unclean election of orders/0 before the write was sent, in an epoch not after
        // the one it was acknowledged in.
        (0..SENT_MS, broker())
            .prop_map(|(t, leader)| (t, Event::Unclean { tp: "orders/0", epoch: 1, leader, log_end: 0 })),
        // A power loss that took other offsets of orders/0, at any time.
        (0..20_000u64, broker(), 0..40u64, 0..40u64).prop_filter_map(
            "takes the offset",
            move |(t, b, x, y)| {
                let (to, from) = (x.min(y), x.max(y) + 1);
                (!(to <= offset && offset < from))
                    .then_some((t, Event::PowerLoss { broker: b, tp: "orders/0", from, to }))
            }
        ),
        // A power loss that took the offset before the write was sent (an older record there).
        (0..SENT_MS, broker()).prop_map(move |(t, b)| {
            (
                t,
                Event::PowerLoss {
                    broker: b,
                    tp: "orders/0",
                    from: offset + 3,
                    to: offset.saturating_sub(2),
                },
            )
        }),
        // An unclean election after the acknowledgement whose leader had the offset (in epochs
        // apart from the excusing ones: one epoch has one election).
        (ACKED_MS..20_000u64, 10..19u32, broker(), 1..10u64).prop_map(move |(t, epoch, leader, more)| {
            (t, Event::Unclean { tp: "orders/0", epoch, leader, log_end: offset + more })
        }),
        // The same offset of another partition.
        (0..20_000u64, broker()).prop_map(move |(t, b)| (
            t,
            Event::PowerLoss { broker: b, tp: "orders/1", from: offset + 1, to: offset }
        )),
    ]
}

/// One event, or one set of events, that took the record: an unclean election in a later
/// epoch, or power losses taking its offset from min.insync.replicas distinct replicas.
fn excuse(offset: Offset, min_isr: usize) -> impl Strategy<Value = Vec<(Millis, Event)>> {
    prop_oneof![
        (ACKED_MS..20_000u64, 2..9u32, broker()).prop_map(move |(t, epoch, leader)| vec![(
            t,
            Event::Unclean { tp: "orders/0", epoch, leader, log_end: offset }
        )]),
        (
            prop::sample::subsequence(BROKERS.to_vec(), min_isr),
            prop::collection::vec(SENT_MS..20_000u64, min_isr)
        )
            .prop_map(move |(brokers, times)| {
                brokers
                    .into_iter()
                    .zip(times)
                    .map(|(b, t)| {
                        let event =
                            Event::PowerLoss { broker: b, tp: "orders/0", from: offset + 1, to: offset };
                        (t, event)
                    })
                    .collect()
            }),
    ]
}

fn judge(min_isr: usize, offset: Offset, events: &[(Millis, Event)]) -> Label {
    let config = format!("unclean_leader_election_enable = true\nmin_insync_replicas = {min_isr}");
    let mut run = Run::new().with_broker(&config);
    run.at(0).became_leader("broker-1", "orders/0", 1);
    let mut events = events.to_vec();
    events.sort_by_key(|&(t, _)| t);
    for (t, event) in events {
        match event {
            Event::Unclean { tp, epoch, leader, log_end } => {
                run.at(t).unclean_election(tp, epoch, leader).became_leader_at(leader, tp, epoch, log_end)
            }
            Event::PowerLoss { broker, tp, from, to } => run.at(t).power_loss(broker, tp, from, to),
        };
    }
    let input = run.input();
    Facts::of(&input).judge(&Anomaly::LostWrite {
        tp: &parse_tp("orders/0"),
        producer: input.scenario.producers.first(),
        sent_ms: SENT_MS,
        offset: Some(offset),
        acked_ms: ACKED_MS,
        acked_by: NodeId(1),
    })
}

/// What a reason must say of the event that excused the record.
fn names(reason: &str, event: &(Millis, Event)) -> bool {
    match event {
        (t, Event::Unclean { epoch, leader, .. }) => {
            reason.contains(&format!("{leader} became leader of orders/0 in epoch {epoch} at {t} ms"))
        }
        (t, Event::PowerLoss { broker, .. }) => reason.contains(&format!("{broker} at {t} ms")),
    }
}

proptest! {
    #[test]
    fn an_excuse_names_its_event_and_without_it_the_loss_is_a_bug(
        (min_isr, offset, excusing, others) in (1..=2usize, 0..30u64).prop_flat_map(|(min_isr, offset)| (
            Just(min_isr),
            Just(offset),
            excuse(offset, min_isr),
            prop::collection::vec(unrelated(offset), 0..8),
        ))
    ) {
        let all: Vec<_> = excusing.iter().chain(&others).cloned().collect();
        match judge(min_isr, offset, &all) {
            Label::Allowed { reason } => {
                // An unclean election is checked first, so of several the earliest is named; a
                // power loss names every replica it counted.
                match &excusing[0].1 {
                    Event::Unclean { .. } => prop_assert!(names(&reason, &excusing[0]), "{reason}"),
                    Event::PowerLoss { .. } => {
                        prop_assert!(excusing.iter().all(|e| names(&reason, e)), "{reason}")
                    }
                }
            }
            Label::Bug { promise } => prop_assert!(false, "not excused: {promise}"),
        }
        prop_assert!(judge(min_isr, offset, &others).is_bug(), "excused without its excuse: {others:?}");
    }
}
