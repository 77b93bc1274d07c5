//! Defects Kafka really had, switched back on as bug modes, shown on one broker driven by hand:
//! with the bug the broker does what Kafka once did, without it what Kafka does since the fix.
//! These two are races whose harm needs a failover within milliseconds of the wrong step: a
//! generic chaos sweep does not find them, so besides these tests each has a scripted scenario in
//! `tests/historical_defects/` that `tests/bug_modes.rs` sweeps.

mod common;

use broker::bugs::Bug;
use broker::config::BrokerConfig;
use broker::disk::Disk;
use broker::effect::Effect;
use broker::protocol::{Message, Request};
use broker::types::NodeId;
use common::driver::{boot, image, Driver, ME};

fn with_bug(bug: Option<Bug>) -> Driver {
    let mut config = BrokerConfig::default();
    config.bugs.extend(bug);
    Driver::start_with(boot(config, 1), Disk::default())
}

/// The ISR the broker last proposed to the controller, if any.
fn proposed_isr(d: &Driver) -> Option<Vec<NodeId>> {
    d.out.iter().rev().find_map(|e| match e {
        Effect::Send { message: Message::Request { request: Request::AlterPartition(a), .. }, .. } => {
            Some(a.new_isr.clone())
        }
        _ => None,
    })
}

/// KAFKA-7128: re-elected in epoch 1 with 10 records and a high watermark of 8 (broker-2 has
/// confirmed only 8), the leader sees broker-3, outside the ISR, fetch at 9. It has the high
/// watermark but not the epoch's start (10): Kafka keeps it out; the defect lets it in.
#[test]
fn isr_join_needs_the_epoch_start_unless_kafka_7128_is_back() {
    for (bug, joins) in [(None, false), (Some(Bug::IsrJoinBelowEpochStart), true)] {
        let mut d = with_bug(bug);
        d.register(1);
        d.metadata(image(1, Some(ME), 0, &[1, 2]));
        d.produce(7, &(0..10).collect::<Vec<_>>());
        d.follower_fetch(2, 0, 0);
        d.follower_fetch(2, 8, 0);
        assert_eq!(d.status().unwrap().high_watermark, 8);
        d.now = 100;
        d.metadata(image(2, Some(ME), 1, &[1, 2]));
        d.follower_fetch(3, 9, 1);
        let proposed = proposed_isr(&d).is_some_and(|isr| isr.contains(&NodeId(3)));
        assert_eq!(proposed, joins, "bug {bug:?}: broker-3 at 9 proposed for the ISR");
    }
}

/// KAFKA-13141: broker-3, outside the ISR, fetches at 8 with a last epoch whose records end at 5
/// in the leader's log: its log diverges and it will truncate to 5. Kafka does not take 8 as
/// broker-3's log end; the defect does, and proposes a replica about to truncate for the ISR.
#[test]
fn a_diverging_fetch_is_no_log_end_unless_kafka_13141_is_back() {
    for (bug, joins) in [(None, false), (Some(Bug::RecordDivergingFetchOffset), true)] {
        let mut d = with_bug(bug);
        d.register(1);
        d.metadata(image(1, Some(ME), 0, &[1, 2]));
        d.produce(7, &(0..5).collect::<Vec<_>>());
        d.follower_fetch(2, 0, 0);
        d.follower_fetch(2, 5, 0);
        assert_eq!(d.status().unwrap().high_watermark, 5);
        d.follower_fetch(3, 8, 0);
        let diverging = d.last_fetch_response()[0].diverging_epoch;
        assert!(diverging.is_some_and(|e| e.end_offset == 5), "{diverging:?}");
        let proposed = proposed_isr(&d).is_some_and(|isr| isr.contains(&NodeId(3)));
        assert_eq!(proposed, joins, "bug {bug:?}: broker-3 at a diverging 8 proposed for the ISR");
    }
}
