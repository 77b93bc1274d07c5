//! Leader election and replica placement in `broker::controller`, as properties: a clean election
//! takes the first live ISR member in replica order and fails exactly when no ISR member is live;
//! an unclean one takes the first live replica; round-robin assignment gives distinct replicas
//! and spreads preferred leaders evenly. Then the controller itself, under random heartbeats,
//! silences, re-registrations and ISR changes, keeps every partition's leader a live ISR member
//! (or has none only when no ISR member is live) and bumps the epoch on every leadership change.

mod common;

use broker::config::{ControllerConfig, TopicConfig};
use broker::controller::{assign_replicas, clean_leader, unclean_leader, Controller, ControllerState};
use broker::effect::Outbox;
use broker::metadata::{MetadataImage, PartitionState};
use broker::protocol::{AlterPartitionRequest, Envelope, Message, Request};
use broker::types::{BrokerId, Epoch, Incarnation, Millis, NodeId, TopicPartition};
use common::config;
use proptest::prelude::*;
use proptest::sample::subsequence;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const BROKERS: u32 = 6;

/// Replicas in any order (a shuffled subset of the brokers), an ISR among them, the live brokers.
fn election() -> impl Strategy<Value = (PartitionState, BTreeSet<BrokerId>)> {
    let all: Vec<BrokerId> = (1..=BROKERS).map(NodeId).collect();
    (subsequence(all.clone(), 1..=5).prop_shuffle(), subsequence(all, 0..=BROKERS as usize))
        .prop_flat_map(|(replicas, live)| {
            let n = replicas.len();
            (Just(replicas.clone()), subsequence(replicas, 0..=n).prop_shuffle(), Just(live))
        })
        .prop_map(|(replicas, isr, live)| {
            let state = PartitionState { replicas, leader: None, leader_epoch: 0, isr, partition_epoch: 0 };
            (state, live.into_iter().collect())
        })
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn clean_election_takes_the_first_live_isr_member((state, live) in election()) {
        let eligible = |b: &BrokerId| state.isr.contains(b) && live.contains(b);
        match clean_leader(&state, |b| live.contains(&b)) {
            Some(l) => {
                prop_assert!(eligible(&l), "{} is not a live ISR member", l);
                let first = state.replicas.iter().find(|b| eligible(b));
                prop_assert_eq!(first, Some(&l), "not the first in replica order {:?}", state.replicas);
            }
            None => prop_assert!(!state.isr.iter().any(|b| live.contains(b)), "a live ISR member was passed over"),
        }
    }

    #[test]
    fn unclean_election_takes_the_first_live_replica((state, live) in election()) {
        match unclean_leader(&state, |b| live.contains(&b)) {
            Some(l) => {
                prop_assert!(live.contains(&l));
                prop_assert_eq!(state.replicas.iter().find(|b| live.contains(b)), Some(&l));
            }
            None => prop_assert!(!state.replicas.iter().any(|b| live.contains(b))),
        }
        // Whoever a clean election would take, an unclean one can take someone too.
        if clean_leader(&state, |b| live.contains(&b)).is_some() {
            prop_assert!(unclean_leader(&state, |b| live.contains(&b)).is_some());
        }
    }

    #[test]
    fn round_robin_assignment_is_distinct_and_spreads_leaders(
        brokers in subsequence((1..=12).map(NodeId).collect::<Vec<BrokerId>>(), 1..=8),
        rounds in 1..5u32,
        extra in 0..8u32,
        rf_pick in 0..8u32,
    ) {
        let n = brokers.len() as u32;
        let rf = 1 + rf_pick % n;
        let partitions = rounds * n + extra % n;
        let mut preferred: BTreeMap<BrokerId, u32> = BTreeMap::new();
        let mut hosted: BTreeMap<BrokerId, u32> = BTreeMap::new();
        for p in 0..partitions {
            let replicas = assign_replicas(&brokers, p, rf);
            prop_assert_eq!(replicas.len(), rf as usize);
            let distinct: BTreeSet<_> = replicas.iter().collect();
            prop_assert_eq!(distinct.len(), replicas.len(), "repeated broker in {:?}", replicas);
            prop_assert!(replicas.iter().all(|b| brokers.contains(b)));
            prop_assert_eq!(replicas[0], brokers[(p % n) as usize], "preferred leader not round-robin");
            *preferred.entry(replicas[0]).or_default() += 1;
            for b in replicas {
                *hosted.entry(b).or_default() += 1;
            }
        }
        // Preferred leaders: every broker leads `rounds` or `rounds + 1` partitions.
        for b in &brokers {
            let led = preferred.get(b).copied().unwrap_or(0);
            prop_assert!(led == rounds || led == rounds + 1, "{} prefers {} of {} partitions", b, led, partitions);
        }
        // Over whole rounds every broker hosts the same number of replicas.
        if partitions.is_multiple_of(n) {
            prop_assert!(hosted.values().all(|&c| c == rounds * rf), "{:?}", hosted);
        }
    }
}

// ----- the controller under random broker sessions -----------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// A broker heartbeats with its current incarnation.
    Heartbeat(u32),
    /// A broker restarts: it registers with a new incarnation.
    Register(u32),
    /// Time passes; sessions of brokers that did not heartbeat expire.
    Advance(Millis),
    /// A partition's leader proposes a new ISR: itself plus a subset of the others.
    AlterIsr { partition: u32, keep: Vec<bool> },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1..=4u32).prop_map(Op::Heartbeat),
        1 => (1..=4u32).prop_map(Op::Register),
        3 => (0..6_000u64).prop_map(Op::Advance),
        2 => (0..4u32, prop::collection::vec(any::<bool>(), 3)).prop_map(|(partition, keep)| Op::AlterIsr { partition, keep }),
    ]
}

fn request(from: u32, request: Request) -> Envelope {
    Envelope {
        from: NodeId(from),
        connection: from as u64,
        message: Message::Request { correlation: 0, request },
    }
}

fn check_image(image: &MetadataImage, before: &MetadataImage, unclean: bool) -> Result<(), TestCaseError> {
    prop_assert!(image.version >= before.version);
    if image != before {
        prop_assert!(image.version > before.version, "the image changed without a new version");
    }
    for (tp, s) in &image.partitions {
        let old = &before.partitions[tp];
        prop_assert!(!s.isr.is_empty(), "{}: empty ISR", tp);
        prop_assert!(
            s.isr.iter().all(|b| s.replicas.contains(b)),
            "{}: ISR {:?} outside replicas",
            tp,
            s.isr
        );
        prop_assert_eq!(s.isr.iter().collect::<BTreeSet<_>>().len(), s.isr.len());
        prop_assert!(s.leader_epoch >= old.leader_epoch && s.partition_epoch >= old.partition_epoch);
        if s.leader != old.leader {
            prop_assert!(
                s.leader_epoch > old.leader_epoch,
                "{}: leader changed within epoch {}",
                tp,
                s.leader_epoch
            );
        }
        match s.leader {
            Some(l) => {
                prop_assert!(image.is_live(l), "{}: leader {} is fenced", tp, l);
                prop_assert!(s.isr.contains(&l), "{}: leader {} outside the ISR {:?}", tp, l, s.isr);
            }
            None => {
                prop_assert!(
                    !s.isr.iter().any(|&b| image.is_live(b)),
                    "{}: offline with a live ISR member",
                    tp
                );
                if unclean {
                    prop_assert!(
                        !s.replicas.iter().any(|&b| image.is_live(b)),
                        "{}: offline with a live replica",
                        tp
                    );
                }
            }
        }
        // A fenced broker stays in an ISR only as its last member.
        for &b in &s.isr {
            prop_assert!(image.is_live(b) || s.isr.len() == 1, "{}: fenced {} in ISR {:?}", tp, b, s.isr);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn the_controller_keeps_leaders_live_and_in_sync(
        unclean in any::<bool>(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let brokers: Vec<BrokerId> = (1..=4).map(NodeId).collect();
        let topic = TopicConfig {
            name: Arc::from("t"),
            partitions: 4,
            replication_factor: 3,
            min_insync_replicas: 2,
            unclean_leader_election_enable: unclean,
        };
        let state = ControllerState::new_cluster(&brokers, &[topic]);
        let mut c = Controller::start(ControllerConfig::default(), state, 0);
        let mut incarnation: BTreeMap<u32, Incarnation> = (1..=4).map(|b| (b, 1)).collect();
        let mut now = 0;
        let mut out = Outbox::new();
        let mut epochs_seen: BTreeMap<(TopicPartition, Epoch), Option<BrokerId>> = BTreeMap::new();
        for op in ops {
            let before = c.image().clone();
            match op {
                Op::Heartbeat(b) => {
                    let req = Request::BrokerHeartbeat { broker: NodeId(b), incarnation: incarnation[&b] };
                    c.on_message(now, request(b, req), &mut out);
                }
                Op::Register(b) => {
                    let next = incarnation[&b] + 1;
                    incarnation.insert(b, next);
                    c.on_message(now, request(b, Request::BrokerRegistration { broker: NodeId(b), incarnation: next }), &mut out);
                }
                Op::Advance(ms) => {
                    now += ms;
                    c.on_timer(now, &mut out);
                }
                Op::AlterIsr { partition, keep } => {
                    let tp = TopicPartition::new("t", partition);
                    let s = &before.partitions[&tp];
                    if let Some(leader) = s.leader {
                        let others = s.replicas.iter().filter(|&&b| b != leader);
                        let new_isr = std::iter::once(leader)
                            .chain(others.zip(&keep).filter(|(_, &k)| k).map(|(&b, _)| b))
                            .collect();
                        let req = Request::AlterPartition(AlterPartitionRequest {
                            broker: leader,
                            tp: tp.clone(),
                            leader_epoch: s.leader_epoch,
                            partition_epoch: s.partition_epoch,
                            new_isr,
                        });
                        c.on_message(now, request(leader.0, req), &mut out);
                    }
                }
            }
            out.clear();
            check_image(c.image(), &before, unclean)?;
            // One leader per epoch, whatever happens later.
            for (tp, s) in &c.image().partitions {
                let first = *epochs_seen.entry((tp.clone(), s.leader_epoch)).or_insert(s.leader);
                prop_assert_eq!(first, s.leader, "{} had two leaders in epoch {}", tp, s.leader_epoch);
            }
        }
    }
}
