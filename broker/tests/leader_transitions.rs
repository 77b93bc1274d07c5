//! One broker driven by hand through Kafka's leader transitions: what a replica keeps when it is
//! re-elected leader in a newer epoch, what a restarted broker may act on, and what its
//! high-watermark checkpoint holds while it waits to register. Each test feeds the broker the
//! controller's and the followers' messages itself and reads the effects it answers with.

use broker::broker::{Broker, BrokerBoot};
use broker::config::{BrokerConfig, TopicConfig};
use broker::disk::Disk;
use broker::effect::{Effect, Outbox};
use broker::metadata::{BrokerRegistration, MetadataImage, PartitionState};
use broker::protocol::{
    Envelope, ErrorCode, FetchPartition, FetchRequest, Message, ProduceRequest, Request, Response,
};
use broker::types::{Acks, BrokerId, Epoch, Millis, NodeId, Offset, Record, TopicPartition};
use std::sync::Arc;

const ME: BrokerId = NodeId(1);
const CONTROLLER: NodeId = NodeId(0);
const PRODUCER: NodeId = NodeId(100);

fn tp() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

fn boot() -> BrokerBoot {
    BrokerBoot {
        id: ME,
        controller: CONTROLLER,
        config: BrokerConfig::default(),
        topics: vec![TopicConfig {
            name: Arc::from("orders"),
            partitions: 1,
            replication_factor: 3,
            min_insync_replicas: 2,
            unclean_leader_election_enable: false,
        }],
    }
}

fn image(version: u64, leader: Option<BrokerId>, leader_epoch: Epoch, isr: &[u32]) -> MetadataImage {
    let mut image = MetadataImage { version, ..MetadataImage::default() };
    for b in 1..=3 {
        image.brokers.insert(NodeId(b), BrokerRegistration { incarnation: 1, fenced: false });
    }
    let state = PartitionState {
        replicas: vec![NodeId(1), NodeId(2), NodeId(3)],
        leader,
        leader_epoch,
        isr: isr.iter().map(|&b| NodeId(b)).collect(),
        partition_epoch: leader_epoch,
    };
    image.partitions.insert(tp(), state);
    image
}

/// A broker and the effects it produced, with answers to its requests fed back by hand.
struct Driver {
    broker: Broker,
    now: Millis,
    out: Outbox,
    next_connection: u64,
}

impl Driver {
    fn start(disk: Disk) -> Driver {
        let mut out = Outbox::new();
        let mut broker = Broker::start(&boot(), 1, disk, 0, &mut out);
        // The host runs the timer at once: the broker registers and asks for metadata.
        broker.on_timer(0, &mut out);
        Driver { broker, now: 0, out, next_connection: 1 }
    }

    /// The correlation id of the latest request of this kind the broker sent.
    fn sent(&self, kind: impl Fn(&Request) -> bool) -> Option<u64> {
        self.out.iter().rev().find_map(|e| match e {
            Effect::Send { message: Message::Request { correlation, request }, .. } if kind(request) => {
                Some(*correlation)
            }
            _ => None,
        })
    }

    fn deliver(&mut self, from: NodeId, message: Message) {
        let envelope = Envelope { from, connection: self.next_connection, message };
        self.next_connection += 1;
        self.broker.on_message(self.now, envelope, &mut self.out);
    }

    fn register(&mut self, metadata_version: u64) {
        let correlation =
            self.sent(|r| matches!(r, Request::BrokerRegistration { .. })).expect("a registration");
        let response = Response::BrokerRegistration { error: None, metadata_version };
        self.deliver(CONTROLLER, Message::Response { correlation, response });
    }

    fn metadata(&mut self, image: MetadataImage) {
        let correlation =
            self.sent(|r| matches!(r, Request::MetadataFetch { .. })).expect("a metadata fetch");
        let response = Response::MetadataFetch(Some(Box::new(image)));
        self.deliver(CONTROLLER, Message::Response { correlation, response });
    }

    fn produce(&mut self, correlation: u64, values: &[u64]) {
        let records = values.iter().map(|&value| Record { key: None, value }).collect();
        let request =
            Request::Produce(ProduceRequest { tp: tp(), acks: Acks::All, timeout_ms: 30_000, records });
        self.deliver(PRODUCER, Message::Request { correlation, request });
    }

    fn follower_fetch(&mut self, follower: u32, fetch_offset: Offset, epoch: Epoch) {
        let partitions = vec![FetchPartition {
            tp: tp(),
            fetch_offset,
            current_leader_epoch: epoch,
            last_fetched_epoch: (fetch_offset > 0).then_some(0),
        }];
        let request =
            Request::Fetch(FetchRequest { replica: Some(NodeId(follower)), max_wait_ms: 0, partitions });
        self.deliver(NodeId(follower), Message::Request { correlation: 1_000 + follower as u64, request });
    }

    /// Produce responses the broker has given so far: (correlation, error, base offset).
    fn produce_responses(&self) -> Vec<(u64, Option<ErrorCode>, Option<Offset>)> {
        self.out
            .iter()
            .filter_map(|e| match e {
                Effect::Reply {
                    message: Message::Response { correlation, response: Response::Produce(p) },
                    ..
                } => Some((*correlation, p.error, p.base_offset)),
                _ => None,
            })
            .collect()
    }

    fn status(&self) -> Option<broker::broker::ReplicaStatus> {
        self.broker.status(&tp())
    }
}

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
