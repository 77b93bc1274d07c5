//! The leader's replication rules in `broker::replica`, as properties: the high watermark never
//! goes back and stays put while the ISR is below min.insync.replicas; the ISR's lowest log end
//! bounds the high watermark candidate from above; a follower's caught-up time only moves
//! forward and only to a time when it really had the leader's log; a follower joins the ISR only
//! with the high watermark and the leader's epoch start.

mod common;

use broker::replica::{next_high_watermark, FollowerProgress, LeaderState};
use broker::types::{BrokerId, Millis, NodeId, Offset};
use common::config;
use proptest::prelude::*;
use std::collections::BTreeMap;

// ----- high watermark --------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn one_hw_step_follows_the_rule(current in 0..100u64, isr_min_end in 0..100u64, isr_len in 0..5usize, min_isr in 1..4u32) {
        let hw = next_high_watermark(current, isr_min_end, isr_len, min_isr);
        prop_assert!(hw >= current, "went back from {} to {}", current, hw);
        if (isr_len as u32) < min_isr {
            prop_assert_eq!(hw, current, "moved while the ISR ({}) is below min.insync.replicas ({})", isr_len, min_isr);
        } else {
            prop_assert_eq!(hw, current.max(isr_min_end));
        }
    }

    /// A leader's high watermark over a run of ISR changes and fetches.
    #[test]
    fn hw_over_a_run_never_decreases_nor_moves_below_min_isr(
        min_isr in 1..4u32,
        steps in prop::collection::vec((0..100u64, 0..5usize), 1..50),
    ) {
        let mut hw = 0;
        for (isr_min_end, isr_len) in steps {
            let next = next_high_watermark(hw, isr_min_end, isr_len, min_isr);
            prop_assert!(next >= hw);
            if (isr_len as u32) < min_isr {
                prop_assert_eq!(next, hw);
            }
            hw = next;
        }
    }
}

// ----- the leader's view of its followers ----------------------------------------------------

const ME: BrokerId = NodeId(1);

/// A leader (broker 1) of a partition on brokers 1..=n: the controller keeps the leader in its
/// ISR, so both the committed ISR and any pending one contain it.
fn leader_state() -> impl Strategy<Value = (LeaderState, Offset)> {
    (2..=5u32)
        .prop_flat_map(|n| {
            let others = n as usize - 1;
            (
                Just(n),
                prop::collection::vec(any::<bool>(), others),
                prop::option::of(prop::collection::vec(any::<bool>(), others)),
                prop::collection::vec(prop::option::of(0..50u64), others),
                0..50u64,
                0..50u64,
            )
        })
        .prop_map(|(n, in_isr, pending, ends, my_end, epoch_start)| {
            let others: Vec<BrokerId> = (2..=n).map(NodeId).collect();
            let pick = |mask: &[bool]| {
                std::iter::once(ME)
                    .chain(others.iter().zip(mask).filter(|(_, &m)| m).map(|(&b, _)| b))
                    .collect()
            };
            let followers: BTreeMap<BrokerId, FollowerProgress> = others
                .iter()
                .zip(&ends)
                .map(|(&b, &end)| {
                    let mut p = FollowerProgress::new(0, true);
                    p.log_end_offset = end;
                    (b, p)
                })
                .collect();
            let state = LeaderState {
                isr: pick(&in_isr),
                partition_epoch: 0,
                pending_isr: pending.as_deref().map(pick),
                alter_retry_at: 0,
                followers,
                epoch_start_offset: epoch_start.min(my_end),
            };
            (state, my_end)
        })
}

fn known_end(l: &LeaderState, b: BrokerId, my_end: Offset) -> Offset {
    if b == ME {
        my_end
    } else {
        l.followers.get(&b).and_then(|f| f.log_end_offset).unwrap_or(0)
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn isr_min_log_end_is_the_lowest_known_end_over_the_maximal_isr((l, my_end) in leader_state()) {
        let min = l.isr_min_log_end(ME, my_end);
        let maximal = l.maximal_isr();
        // Every committed member counts, and so does every member being added; nobody else.
        for b in l.isr.iter().chain(l.pending_isr.iter().flatten()) {
            prop_assert!(maximal.contains(b), "{} left out of {:?}", b, maximal);
        }
        for b in &maximal {
            prop_assert!(l.isr.contains(b) || l.pending_isr.as_ref().is_some_and(|p| p.contains(b)));
        }
        prop_assert!(min <= my_end, "{} beyond the leader's end {}", min, my_end);
        for &b in &maximal {
            prop_assert!(min <= known_end(&l, b, my_end), "{} beyond the end of ISR member {}", min, b);
        }
        prop_assert!(maximal.iter().any(|&b| known_end(&l, b, my_end) == min));
    }

    #[test]
    fn joining_the_isr_needs_the_hw_and_the_epoch_start((l, _) in leader_state(), follower in 2..=5u32, hw in 0..50u64) {
        let follower = NodeId(follower);
        let end = l.followers.get(&follower).and_then(|f| f.log_end_offset);
        let eligible = !l.isr.contains(&follower)
            && end.is_some_and(|e| e >= hw && e >= l.epoch_start_offset);
        prop_assert_eq!(l.can_join_isr(follower, hw), eligible, "end {:?}, epoch start {}", end, l.epoch_start_offset);
    }

    #[test]
    fn only_isr_followers_out_of_sync_are_lagging(
        (l, my_end) in leader_state(),
        caught_up in prop::collection::vec(0..100_000u64, 4),
        now in 0..100_000u64,
        lag_max in 0..60_000u64,
    ) {
        let mut l = l;
        for (p, t) in l.followers.values_mut().zip(caught_up) {
            // Some never caught up (`None`), the rest at some time up to now.
            p.last_caught_up_ms = t.checked_sub(10_000).map(|t| t.min(now));
        }
        let lagging = l.lagging(ME, my_end, now, lag_max);
        prop_assert!(!lagging.contains(&ME));
        for (&b, p) in &l.followers {
            let out = p.log_end_offset != Some(my_end)
                && p.last_caught_up_ms.is_none_or(|t| now - t > lag_max);
            prop_assert_eq!(p.is_lagging(my_end, now, lag_max), out);
            prop_assert_eq!(lagging.contains(&b), out && l.isr.contains(&b));
        }
    }
}

// ----- caught-up tracking ----------------------------------------------------------------------

/// One follower fetch: time passes, the leader's log grows, the follower asks from somewhere at
/// or below the leader's end.
#[derive(Clone, Debug)]
struct Fetch {
    after_ms: Millis,
    leader_growth: Offset,
    behind: Offset,
}

fn fetch() -> impl Strategy<Value = Fetch> {
    (0..20_000u64, 0..4u64, prop_oneof![Just(0u64), 0..6u64])
        .prop_map(|(after_ms, leader_growth, behind)| Fetch { after_ms, leader_growth, behind })
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn caught_up_time_moves_forward_to_times_the_follower_had_the_log(
        start in 0..1000u64,
        fetches in prop::collection::vec(fetch(), 1..40),
        lag_max in 1..40_000u64,
    ) {
        let mut p = FollowerProgress::new(start, true);
        let (mut now, mut leader_end) = (start, 0);
        // (time, leader end, fetch offset) of every fetch so far.
        let mut seen: Vec<(Millis, Offset, Offset)> = Vec::new();
        for f in fetches {
            now += f.after_ms;
            leader_end += f.leader_growth;
            let fetch_offset = leader_end.saturating_sub(f.behind);
            let before = p.clone();
            p.record_fetch(fetch_offset, leader_end, now);
            seen.push((now, leader_end, fetch_offset));

            prop_assert!(p.last_caught_up_ms >= before.last_caught_up_ms, "caught-up time went back");
            let t = p.last_caught_up_ms.expect("an ISR member starts caught up");
            prop_assert!(t <= now);
            prop_assert_eq!(p.log_end_offset, Some(fetch_offset));
            // Sound: the caught-up time is the leader's election (the follower starts caught up)
            // or the time of a fetch whose leader end the follower reached then or later.
            let sound = t == start
                || seen.iter().enumerate().any(|(i, &(ti, end, _))| {
                    ti == t && seen[i..].iter().any(|&(_, _, offset)| offset >= end)
                });
            prop_assert!(sound, "caught up at {} is no time the follower had the leader's log", t);
            // Kafka's rule, both halves.
            if fetch_offset >= leader_end {
                prop_assert_eq!(t, now);
                prop_assert!(!p.is_lagging(leader_end, now, 0), "lagging right after fetching at the end");
                prop_assert!(!p.is_lagging(leader_end, now + 10 * lag_max, lag_max));
            } else if before.leader_end_at_last_fetch.is_none_or(|e| fetch_offset >= e) {
                prop_assert!(p.last_caught_up_ms >= before.last_fetch_ms);
            } else {
                prop_assert_eq!(p.last_caught_up_ms, before.last_caught_up_ms);
            }
            // Not lagging within the bound of having been caught up.
            prop_assert!(!p.is_lagging(leader_end, t + lag_max, lag_max));
        }
    }
}
