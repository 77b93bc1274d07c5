//! Fetches are bounded by bytes, as Kafka's are (`replica.fetch.max.bytes`,
//! `replica.fetch.response.max.bytes`, and the consumer's `max.partition.fetch.bytes` and
//! `fetch.max.bytes`), so catching up after a long outage takes as many round trips as it would
//! in Kafka: each partition contributes at most its limit, the response at most its own, and the
//! first record of the first partition with data comes whatever its size (KIP-74).

mod common;

use broker::config::BrokerConfig;
use broker::disk::Disk;
use broker::protocol::{FetchPartition, Request};
use broker::types::{NodeId, Offset, Record, TopicPartition};
use common::driver::{boot, image, image_of, tp, Driver, ME};

fn orders(p: u32) -> TopicPartition {
    TopicPartition::new("orders", p)
}

/// A leader of `partitions` partitions of `orders`, each holding `count` records of `size` bytes.
fn leader_with(partitions: u32, count: u64, size: u32) -> Driver {
    let mut d = Driver::start_with(boot(BrokerConfig::default(), partitions), Disk::default());
    d.register(1);
    d.metadata(image_of(1, partitions, Some(ME), 0, &[1, 2, 3]));
    for p in 0..partitions {
        let records = (0..count).map(|i| Record { key: None, value: i, size_bytes: size }).collect();
        d.produce_to(orders(p), u64::from(p), records);
    }
    d
}

fn from_zero(partitions: u32) -> Vec<FetchPartition> {
    (0..partitions)
        .map(|p| FetchPartition {
            tp: orders(p),
            fetch_offset: 0,
            current_leader_epoch: 0,
            last_fetched_epoch: None,
        })
        .collect()
}

fn counts(d: &Driver) -> Vec<usize> {
    d.last_fetch_response().iter().map(|p| p.records.len()).collect()
}

#[test]
fn each_partition_takes_at_most_its_limit_and_the_response_at_most_its_own() {
    let mut d = leader_with(3, 50, 100);
    d.fetch(Some(NodeId(2)), 100_000, 1_000, from_zero(3));
    assert_eq!(counts(&d), vec![10, 10, 10]);
    d.fetch(Some(NodeId(2)), 2_500, 1_000, from_zero(3));
    assert_eq!(counts(&d), vec![10, 10, 5]);
    d.fetch(Some(NodeId(2)), u64::MAX, u64::MAX, from_zero(3));
    assert_eq!(counts(&d), vec![50, 50, 50]);
}

#[test]
fn only_the_first_partition_with_data_may_exceed_the_limits_by_one_record() {
    let mut d = leader_with(2, 5, 5_000);
    d.fetch(Some(NodeId(2)), 8_000, 1_000, from_zero(2));
    assert_eq!(counts(&d), vec![1, 0], "progress on the first partition only");
}

#[test]
fn a_follower_far_behind_catches_up_in_as_many_fetches_as_its_limit_allows() {
    // 1 MiB per fetch: 10,000 records of 100 B come in one fetch, of 10 kB in 97 (104 a fetch).
    for (size, fetches) in [(100u32, 1usize), (10_000, 97)] {
        let mut d = leader_with(1, 10_000, size);
        let limit = BrokerConfig::default().replica_fetch_max_bytes;
        let mut offset: Offset = 0;
        let mut rounds = 0;
        while offset < 10_000 {
            let p = FetchPartition {
                tp: tp(),
                fetch_offset: offset,
                current_leader_epoch: 0,
                last_fetched_epoch: None,
            };
            d.fetch(Some(NodeId(2)), u64::MAX, limit, vec![p]);
            offset += d.last_fetch_response()[0].records.len() as Offset;
            rounds += 1;
        }
        assert_eq!(rounds, fetches, "records of {size} bytes");
    }
}

#[test]
fn a_follower_asks_with_its_configured_limits() {
    let config = BrokerConfig {
        replica_fetch_max_bytes: 4_096,
        replica_fetch_response_max_bytes: 65_536,
        ..BrokerConfig::default()
    };
    let mut d = Driver::start_with(boot(config, 1), Disk::default());
    d.register(1);
    d.metadata(image(1, Some(NodeId(2)), 0, &[1, 2, 3]));
    let fetch = d.out.iter().rev().find_map(|e| match e {
        broker::effect::Effect::Send {
            message: broker::protocol::Message::Request { request: Request::Fetch(f), .. },
            ..
        } => Some(f.clone()),
        _ => None,
    });
    let fetch = fetch.expect("the follower fetches from broker-2");
    assert_eq!((fetch.partition_max_bytes, fetch.max_bytes), (4_096, 65_536));
}

#[test]
fn a_consumer_reads_below_the_high_watermark_within_its_limits() {
    let mut d = leader_with(1, 50, 100);
    // Both followers confirm 30 records: the high watermark is 30.
    for f in [2, 3] {
        d.follower_fetch(f, 0, 0);
        let p = FetchPartition {
            tp: tp(),
            fetch_offset: 30,
            current_leader_epoch: 0,
            last_fetched_epoch: Some(0),
        };
        d.fetch(Some(NodeId(f)), u64::MAX, 0, vec![p]);
    }
    assert_eq!(d.status().unwrap().high_watermark, 30);
    d.fetch(None, u64::MAX, 2_000, from_zero(1));
    assert_eq!(counts(&d), vec![20]);
    d.fetch(None, u64::MAX, u64::MAX, from_zero(1));
    assert_eq!(counts(&d), vec![30]);
}

/// Kafka's fetchers move a partition that returned records to the end of the next fetch, so that
/// large records on one partition cannot starve the others of the response's bytes.
#[test]
fn a_partition_that_returned_records_goes_last_in_the_next_fetch() {
    use broker::effect::Effect;
    use broker::protocol::{FetchResponse, FetchedPartition, Message, Response};
    use broker::types::LogRecord;
    let mut d = Driver::start_with(boot(BrokerConfig::default(), 2), Disk::default());
    d.register(1);
    d.metadata(image_of(1, 2, Some(NodeId(2)), 0, &[1, 2, 3]));
    let order = |d: &Driver| -> Vec<u32> {
        d.out
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::Send { message: Message::Request { request: Request::Fetch(f), .. }, .. } => {
                    Some(f.partitions.iter().map(|p| p.tp.partition).collect())
                }
                _ => None,
            })
            .expect("a fetch")
    };
    assert_eq!(order(&d), vec![0, 1]);
    let fetch = d.sent(|r| matches!(r, Request::Fetch(_))).unwrap();
    let record = LogRecord { epoch: 0, key: None, value: 1, size_bytes: 100 };
    let part = |p: u32, records: Vec<LogRecord>| FetchedPartition {
        tp: orders(p),
        error: None,
        high_watermark: 0,
        log_end_offset: records.len() as u64,
        diverging_epoch: None,
        base_offset: 0,
        records,
    };
    let response =
        Response::Fetch(FetchResponse { partitions: vec![part(0, vec![record]), part(1, vec![])] });
    d.deliver(NodeId(2), Message::Response { correlation: fetch, response });
    assert_eq!(order(&d), vec![1, 0], "orders/0 returned records: it goes last");
}
