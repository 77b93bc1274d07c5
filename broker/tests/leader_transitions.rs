//! One broker driven by hand through Kafka's leader transitions: what a replica keeps when it is
//! re-elected leader in a newer epoch, what a restarted broker may act on, and what its
//! high-watermark checkpoint holds while it waits to register. Each test feeds the broker the
//! controller's and the followers' messages itself and reads the effects it answers with.

mod common;

use broker::config::BrokerConfig;
use broker::disk::Disk;
use broker::protocol::ErrorCode;
use broker::types::NodeId;
use common::driver::{image, tp, Driver, ME};

#[test]
fn a_leader_reelected_in_a_newer_epoch_keeps_its_waiting_produces_and_follower_log_ends() {
    let mut d = Driver::start(Disk::default());
    d.register(1);
    d.metadata(image(1, Some(ME), 0, &[1, 2, 3]));
    assert!(d.status().expect("holds orders/0").is_leader);
    d.produce(7, &[10, 11, 12]);
    // Both followers fetch the batch: they have it, but the high watermark needs their next fetch.
    d.follower_fetch(2, 0, 0);
    d.follower_fetch(3, 0, 0);
    d.follower_fetch(2, 3, 0);
    assert_eq!(d.status().unwrap().high_watermark, 0, "broker-3 has not confirmed offset 3 yet");

    // Re-elected in epoch 1 (the controller bumped the epoch, the leader stayed).
    d.now = 100;
    d.metadata(image(2, Some(ME), 1, &[1, 2, 3]));
    let status = d.status().unwrap();
    assert!(status.is_leader && status.leader_epoch == 1);
    assert!(
        d.produce_responses().is_empty(),
        "the waiting acks=all produce was failed: {:?}",
        d.produce_responses()
    );

    // broker-2's log end (3) carried over: broker-3 confirming offset 3 is enough.
    d.follower_fetch(3, 3, 1);
    assert_eq!(d.status().unwrap().high_watermark, 3);
    assert_eq!(d.produce_responses(), vec![(7, None, Some(0))]);
}

#[test]
fn a_leader_deposed_fails_its_waiting_produces_as_not_leader() {
    let mut d = Driver::start(Disk::default());
    d.register(1);
    d.metadata(image(1, Some(ME), 0, &[1, 2, 3]));
    d.produce(7, &[10]);
    d.metadata(image(2, Some(NodeId(2)), 1, &[1, 2, 3]));
    assert_eq!(d.produce_responses(), vec![(7, Some(ErrorCode::NotLeaderOrFollower), None)]);
}

#[test]
fn a_restarted_broker_acts_only_on_metadata_as_new_as_its_registration() {
    let mut d = Driver::start(Disk::default());
    // Fetched before registering: a stale image in which this broker leads epoch 0.
    d.metadata(image(5, Some(ME), 0, &[1]));
    d.register(8);
    assert_eq!(d.status(), None, "acted on metadata older than its registration");
    d.metadata(image(8, Some(ME), 2, &[1]));
    let status = d.status().expect("acts on the registration's metadata");
    assert!(status.is_leader);
    assert_eq!(status.leader_epoch, 2);
}

#[test]
fn the_checkpoint_keeps_partitions_the_broker_does_not_hold_yet() {
    let mut disk = Disk::default();
    disk.hw_checkpoint.insert(tp(), 42);
    let mut d = Driver::start(disk);
    // Not registered for longer than a checkpoint interval: the timer runs, nothing is held.
    let interval = BrokerConfig::default().replica_high_watermark_checkpoint_interval_ms;
    d.now = 3 * interval;
    d.broker.on_timer(d.now, &mut d.out);
    assert_eq!(d.broker.disk().hw_checkpoint.get(&tp()), Some(&42));
}
