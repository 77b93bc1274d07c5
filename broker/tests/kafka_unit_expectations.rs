//! Kafka 3.7's own unit-test expectations (PartitionTest, AbstractFetcherThreadTest,
//! LeaderEpochFileCacheTest) restated against one broker driven by hand: one ISR change in flight
//! at a time and stale answers ignored, a fenced follower that stops fetching until new metadata,
//! an epoch a leader cannot place, and a fetch from a broker that is no replica.

mod common;

use broker::disk::Disk;
use broker::effect::Effect;
use broker::protocol::{
    AlterPartitionResponse, ErrorCode, FetchPartition, FetchResponse, FetchedPartition, Message, Request,
    Response,
};
use broker::types::NodeId;
use common::driver::{image, tp, Driver, CONTROLLER, ME};

fn alter_partitions_sent(d: &Driver) -> usize {
    d.out
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Send { message: Message::Request { request: Request::AlterPartition(_), .. }, .. }
            )
        })
        .count()
}

fn fetches_sent(d: &Driver) -> usize {
    d.out
        .iter()
        .filter(|e| {
            matches!(e, Effect::Send { message: Message::Request { request: Request::Fetch(_), .. }, .. })
        })
        .count()
}

/// PartitionTest: one AlterPartition in flight per partition; an answer to a proposal the state
/// has moved on from is ignored, and the change pending now is sent once the first is answered.
#[test]
fn one_isr_change_in_flight_and_stale_answers_ignored() {
    let mut d = Driver::start(Disk::default());
    d.register(1);
    d.metadata(image(1, Some(ME), 0, &[1, 2]));
    d.produce(7, &[1, 2, 3]);
    d.follower_fetch(2, 3, 0);
    d.follower_fetch(3, 3, 0); // broker-3 has everything: it joins
    assert_eq!(alter_partitions_sent(&d), 1);
    let first = d.sent(|r| matches!(r, Request::AlterPartition(_))).unwrap();

    // New metadata in the same epoch replaces the pending change; broker-3 fetches again and is
    // proposed again, but the first request is still on its way.
    let mut newer = image(2, Some(ME), 0, &[1, 2]);
    newer.partitions.get_mut(&tp()).unwrap().partition_epoch = 1;
    d.metadata(newer);
    d.follower_fetch(3, 3, 0);
    assert_eq!(alter_partitions_sent(&d), 1, "a second AlterPartition while the first is in flight");

    // The controller's answer to the first proposal comes: it is stale and changes nothing.
    let stale = AlterPartitionResponse {
        tp: tp(),
        error: None,
        leader_epoch: 0,
        isr: vec![NodeId(1), NodeId(2), NodeId(3)],
        partition_epoch: 1,
    };
    d.deliver(
        CONTROLLER,
        Message::Response { correlation: first, response: Response::AlterPartition(stale) },
    );
    assert_eq!(d.status().unwrap().isr, vec![NodeId(1), NodeId(2)]);
    // ... and the change pending now goes out.
    assert_eq!(alter_partitions_sent(&d), 2);
}

/// AbstractFetcherThreadTest: a follower answered FENCED_LEADER_EPOCH stops fetching the
/// partition until metadata moves it to a newer epoch.
#[test]
fn a_fenced_follower_waits_for_new_metadata() {
    let mut d = Driver::start(Disk::default());
    d.register(1);
    d.metadata(image(1, Some(NodeId(2)), 0, &[1, 2, 3]));
    let fetch = d.sent(|r| matches!(r, Request::Fetch(_))).expect("the follower fetches");
    let fenced = FetchedPartition {
        tp: tp(),
        error: Some(ErrorCode::FencedLeaderEpoch),
        high_watermark: 0,
        log_end_offset: 0,
        diverging_epoch: None,
        base_offset: 0,
        records: Vec::new(),
    };
    let response = Response::Fetch(FetchResponse { partitions: vec![fenced] });
    d.deliver(NodeId(2), Message::Response { correlation: fetch, response });
    let before = fetches_sent(&d);
    for t in [1_000, 5_000, 20_000] {
        d.now = t;
        d.broker.on_timer(t, &mut d.out);
    }
    assert_eq!(fetches_sent(&d), before, "fetched again before new metadata");
    d.metadata(image(2, Some(NodeId(2)), 1, &[1, 2, 3]));
    assert_eq!(fetches_sent(&d), before + 1, "fetching resumes in the new epoch");
}

/// LeaderEpochFileCacheTest: the end offset of an epoch newer than any cached is undefined, which
/// a leader answers with OFFSET_OUT_OF_RANGE.
#[test]
fn an_epoch_the_leader_cannot_place_is_out_of_range() {
    let mut d = Driver::start(Disk::default());
    d.register(1);
    d.metadata(image(1, Some(ME), 0, &[1, 2, 3]));
    d.produce(7, &[1, 2, 3]);
    let p =
        FetchPartition { tp: tp(), fetch_offset: 3, current_leader_epoch: 0, last_fetched_epoch: Some(5) };
    d.fetch(Some(NodeId(2)), u64::MAX, u64::MAX, vec![p]);
    assert_eq!(d.last_fetch_response()[0].error, Some(ErrorCode::OffsetOutOfRange));
}

/// PartitionTest: a fetch as a follower from a broker that is not a replica of the partition is
/// refused.
#[test]
fn a_fetch_from_a_broker_that_is_no_replica_is_refused() {
    let mut d = Driver::start(Disk::default());
    d.register(1);
    d.metadata(image(1, Some(ME), 0, &[1, 2, 3]));
    d.produce(7, &[1, 2, 3]);
    let p = FetchPartition { tp: tp(), fetch_offset: 0, current_leader_epoch: 0, last_fetched_epoch: None };
    d.fetch(Some(NodeId(4)), u64::MAX, u64::MAX, vec![p.clone()]);
    let answer = &d.last_fetch_response()[0];
    assert_eq!(answer.error, Some(ErrorCode::NotLeaderOrFollower));
    assert!(answer.records.is_empty());
    // A replica's fetch of the same is served.
    d.fetch(Some(NodeId(2)), u64::MAX, u64::MAX, vec![p]);
    assert_eq!(d.last_fetch_response()[0].records.len(), 3);
}
