//! One broker driven by hand: the tests feed it the controller's, the followers' and the
//! clients' messages themselves and read the effects it answers with.

use broker::broker::{Broker, BrokerBoot, ReplicaStatus};
use broker::config::TopicConfig;
use broker::disk::Disk;
use broker::effect::{Effect, Outbox};
use broker::metadata::{BrokerRegistration, MetadataImage, PartitionState};
use broker::protocol::{
    Envelope, ErrorCode, FetchPartition, FetchRequest, FetchedPartition, Message, ProduceRequest, Request,
    Response,
};
use broker::types::{Acks, BrokerId, Epoch, Millis, NodeId, Offset, Record, TopicPartition};
use std::sync::Arc;

pub const ME: BrokerId = NodeId(1);
pub const CONTROLLER: NodeId = NodeId(0);
pub const PRODUCER: NodeId = NodeId(100);

pub fn tp() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

/// Broker 1 of three, one topic `orders` with `partitions` partitions, RF 3, min.isr 2.
pub fn boot(config: broker::config::BrokerConfig, partitions: u32) -> BrokerBoot {
    BrokerBoot {
        id: ME,
        controller: CONTROLLER,
        config,
        topics: vec![TopicConfig {
            name: Arc::from("orders"),
            partitions,
            replication_factor: 3,
            min_insync_replicas: 2,
            unclean_leader_election_enable: false,
        }],
    }
}

/// Metadata in which every partition of `orders` (`partitions` of them) is on brokers 1–3 with
/// this leader, epoch and ISR.
pub fn image_of(
    version: u64,
    partitions: u32,
    leader: Option<BrokerId>,
    leader_epoch: Epoch,
    isr: &[u32],
) -> MetadataImage {
    let mut image = MetadataImage { version, ..MetadataImage::default() };
    for b in 1..=3 {
        image.brokers.insert(NodeId(b), BrokerRegistration { incarnation: 1, fenced: false });
    }
    for p in 0..partitions {
        let state = PartitionState {
            replicas: vec![NodeId(1), NodeId(2), NodeId(3)],
            leader,
            leader_epoch,
            isr: isr.iter().map(|&b| NodeId(b)).collect(),
            partition_epoch: leader_epoch,
        };
        image.partitions.insert(TopicPartition::new("orders", p), state);
    }
    image
}

/// `image_of` for the one partition `orders/0`.
pub fn image(version: u64, leader: Option<BrokerId>, leader_epoch: Epoch, isr: &[u32]) -> MetadataImage {
    image_of(version, 1, leader, leader_epoch, isr)
}

/// A broker and the effects it produced, with answers to its requests fed back by hand.
pub struct Driver {
    pub broker: Broker,
    pub now: Millis,
    pub out: Outbox,
    next_connection: u64,
}

impl Driver {
    pub fn start(disk: Disk) -> Driver {
        Driver::start_with(boot(broker::config::BrokerConfig::default(), 1), disk)
    }

    pub fn start_with(boot: BrokerBoot, disk: Disk) -> Driver {
        let mut out = Outbox::new();
        let mut broker = Broker::start(&boot, 1, disk, 0, &mut out);
        // The host runs the timer at once: the broker registers and asks for metadata.
        broker.on_timer(0, &mut out);
        Driver { broker, now: 0, out, next_connection: 1 }
    }

    /// The correlation id of the latest request of this kind the broker sent.
    pub fn sent(&self, kind: impl Fn(&Request) -> bool) -> Option<u64> {
        self.out.iter().rev().find_map(|e| match e {
            Effect::Send { message: Message::Request { correlation, request }, .. } if kind(request) => {
                Some(*correlation)
            }
            _ => None,
        })
    }

    pub fn deliver(&mut self, from: NodeId, message: Message) {
        let envelope = Envelope { from, connection: self.next_connection, message };
        self.next_connection += 1;
        self.broker.on_message(self.now, envelope, &mut self.out);
    }

    pub fn register(&mut self, metadata_version: u64) {
        let correlation =
            self.sent(|r| matches!(r, Request::BrokerRegistration { .. })).expect("a registration");
        let response = Response::BrokerRegistration { error: None, metadata_version };
        self.deliver(CONTROLLER, Message::Response { correlation, response });
    }

    pub fn metadata(&mut self, image: MetadataImage) {
        let correlation =
            self.sent(|r| matches!(r, Request::MetadataFetch { .. })).expect("a metadata fetch");
        let response = Response::MetadataFetch(Some(Box::new(image)));
        self.deliver(CONTROLLER, Message::Response { correlation, response });
    }

    /// An acks=all produce of these records to `tp`.
    pub fn produce_to(&mut self, tp: TopicPartition, correlation: u64, records: Vec<Record>) {
        let request = Request::Produce(ProduceRequest { tp, acks: Acks::All, timeout_ms: 30_000, records });
        self.deliver(PRODUCER, Message::Request { correlation, request });
    }

    /// An acks=all produce of records of the default size to `orders/0`.
    pub fn produce(&mut self, correlation: u64, values: &[u64]) {
        let records = values.iter().map(|&value| Record::sized(None, value)).collect();
        self.produce_to(tp(), correlation, records);
    }

    /// A follower's fetch of `orders/0` answered at once.
    pub fn follower_fetch(&mut self, follower: u32, fetch_offset: Offset, epoch: Epoch) {
        let partitions = vec![FetchPartition {
            tp: tp(),
            fetch_offset,
            current_leader_epoch: epoch,
            last_fetched_epoch: (fetch_offset > 0).then_some(0),
        }];
        self.fetch(Some(NodeId(follower)), u64::MAX, u64::MAX, partitions);
    }

    /// A fetch answered at once (no wait), with these byte limits.
    pub fn fetch(
        &mut self,
        replica: Option<BrokerId>,
        max_bytes: u64,
        partition_max_bytes: u64,
        partitions: Vec<FetchPartition>,
    ) {
        let from = replica.unwrap_or(NodeId(200));
        let request = Request::Fetch(FetchRequest {
            replica,
            max_wait_ms: 0,
            max_bytes,
            partition_max_bytes,
            partitions,
        });
        self.deliver(from, Message::Request { correlation: 1_000 + u64::from(from.0), request });
    }

    /// The partitions of the latest fetch response the broker gave.
    pub fn last_fetch_response(&self) -> Vec<FetchedPartition> {
        self.out
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::Reply { message: Message::Response { response: Response::Fetch(f), .. }, .. } => {
                    Some(f.partitions.clone())
                }
                _ => None,
            })
            .expect("a fetch response")
    }

    /// Produce responses the broker has given so far: (correlation, error, base offset).
    pub fn produce_responses(&self) -> Vec<(u64, Option<ErrorCode>, Option<Offset>)> {
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

    pub fn status(&self) -> Option<ReplicaStatus> {
        self.broker.status(&tp())
    }
}
