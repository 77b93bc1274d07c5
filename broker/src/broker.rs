//! A broker: leader and follower replicas of its partitions, the follower fetchers, the produce
//! and fetch purgatories, and its session with the controller.
//!
//! The broker is driven by its host: `on_message` for every delivered envelope, `on_disconnect`
//! when a connection to a peer breaks, `on_timer` once `now` reaches `next_deadline()`. Each step
//! ends in `poll`, which sends whatever the state calls for (registration, heartbeat, metadata
//! fetch, follower fetches), so sends are driven by state rather than by scattered calls.

use crate::bugs::Bug;
use crate::config::{BrokerConfig, FlushPolicy, TopicConfig, TruncationMode};
use crate::disk::Disk;
use crate::effect::{Effect, Outbox, ReplicaEvent};
use crate::fetch_order::FetchOrder;
use crate::metadata::MetadataImage;
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, Envelope, EpochEndOffset, ErrorCode, FetchPartition,
    FetchRequest, FetchResponse, FetchedPartition, Message, ProduceRequest, ProduceResponse, ReplyTo,
    Request, Response,
};
use crate::replica::{next_high_watermark, FollowerProgress, LeaderState, Replica, Role};
use crate::types::{
    Acks, BrokerId, CorrelationId, Epoch, Incarnation, Millis, NodeId, Offset, TopicPartition,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// How soon a broker resends an ISR change whose request failed (Kafka's AlterPartition retry).
const ALTER_PARTITION_RETRY_MS: Millis = 50;

/// The broker's standing with the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Session {
    /// Not registered; try at this time.
    Unregistered {
        retry_at: Millis,
    },
    Registering,
    Registered,
}

/// A request this broker sent and awaits an answer to.
#[derive(Clone, Debug)]
struct Outstanding {
    peer: NodeId,
    deadline: Millis,
    kind: OutstandingKind,
}

#[derive(Clone, Debug)]
enum OutstandingKind {
    Registration,
    Heartbeat,
    MetadataFetch,
    AlterPartition(AlterProposal),
    /// A follower fetch, with the epoch and offset each partition was fetched at.
    Fetch(Vec<(TopicPartition, Epoch, Offset)>),
}

/// An ISR change as sent to the controller: its answer applies only if this is still the change
/// pending, in the same leader and partition epochs (Kafka's `Partition.handleAlterPartitionUpdate`
/// ignores answers to proposals the state has moved on from).
#[derive(Clone, Debug, PartialEq, Eq)]
struct AlterProposal {
    tp: TopicPartition,
    leader_epoch: Epoch,
    partition_epoch: crate::types::PartitionEpoch,
    new_isr: Vec<BrokerId>,
}

/// One follower fetch session towards one leader.
#[derive(Clone, Debug, Default)]
struct Fetcher {
    in_flight: bool,
    retry_at: Millis,
}

/// An acks=all produce waiting for the high watermark to pass it.
#[derive(Clone, Debug)]
struct DelayedProduce {
    reply: ReplyTo,
    correlation: CorrelationId,
    tp: TopicPartition,
    leader_epoch: Epoch,
    base_offset: Offset,
    required_offset: Offset,
    deadline: Millis,
}

/// A fetch with nothing to return yet, held for up to its max wait.
#[derive(Clone, Debug)]
struct DelayedFetch {
    reply: ReplyTo,
    correlation: CorrelationId,
    replica: Option<BrokerId>,
    max_bytes: u64,
    partition_max_bytes: u64,
    partitions: Vec<FetchPartition>,
    deadline: Millis,
}

/// What a broker process is started with, the same for each of its lives.
#[derive(Clone, Debug)]
pub struct BrokerBoot {
    pub id: BrokerId,
    pub controller: NodeId,
    pub config: BrokerConfig,
    pub topics: Vec<TopicConfig>,
}

pub struct Broker {
    id: BrokerId,
    incarnation: Incarnation,
    controller: NodeId,
    config: BrokerConfig,
    topics: BTreeMap<Arc<str>, TopicConfig>,
    disk: Disk,
    metadata: MetadataImage,
    session: Session,
    /// The controller's metadata version when this broker's registration took effect.
    registered_at_version: u64,
    next_heartbeat_ms: Millis,
    heartbeat_in_flight: bool,
    metadata_fetch_in_flight: bool,
    metadata_fetch_retry_at: Millis,
    replicas: BTreeMap<TopicPartition, Replica>,
    fetchers: BTreeMap<BrokerId, Fetcher>,
    /// Followed partitions whose leader answered FENCED_LEADER_EPOCH: not fetched until new
    /// metadata moves them to a newer epoch.
    fetch_fenced: BTreeSet<TopicPartition>,
    /// The order followed partitions go in a fetch: the last to return records go last.
    fetch_order: FetchOrder,
    outstanding: BTreeMap<CorrelationId, Outstanding>,
    /// Partitions with an AlterPartition on its way: one at a time per partition, whatever
    /// happened to the proposal meanwhile (Kafka's `AlterPartitionManager`).
    alter_in_flight: BTreeSet<TopicPartition>,
    next_correlation: CorrelationId,
    delayed_produces: Vec<DelayedProduce>,
    delayed_fetches: Vec<DelayedFetch>,
    next_isr_check_ms: Millis,
    next_flush_ms: Millis,
    next_writeback_ms: Millis,
    /// Log ends as each writeback saw them: the OS writes a page back once it has been dirty for
    /// `os_dirty_expire_ms`, so a writeback flushes up to where the logs ended that long ago.
    writeback_marks: VecDeque<(Millis, BTreeMap<TopicPartition, Offset>)>,
    next_checkpoint_ms: Millis,
    /// When `poll` last ran: a fetch retry due by then was already considered.
    polled_at: Millis,
}

/// A replica's state as the harness probes it for liveness and snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub leader_epoch: Epoch,
    pub is_leader: bool,
    /// The ISR as this replica knows it when leading.
    pub isr: Vec<BrokerId>,
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
}

impl Broker {
    /// Starts a broker from what its disk holds (empty on first start).
    pub fn start(
        boot: &BrokerBoot,
        incarnation: Incarnation,
        disk: Disk,
        now: Millis,
        out: &mut Outbox,
    ) -> Broker {
        let config = boot.config.clone();
        let log_end_offsets = disk
            .logs
            .iter()
            .map(|(tp, log)| (tp.clone(), log.end_offset(), disk.recovered_high_watermark(tp)))
            .collect();
        out.push(Effect::Event(ReplicaEvent::Recovered { log_end_offsets }));
        let flush_period = Self::flush_period(&config);
        Broker {
            id: boot.id,
            incarnation,
            controller: boot.controller,
            topics: boot.topics.iter().map(|t| (t.name.clone(), t.clone())).collect(),
            disk,
            metadata: MetadataImage::default(),
            session: Session::Unregistered { retry_at: now },
            registered_at_version: 0,
            next_heartbeat_ms: now,
            heartbeat_in_flight: false,
            metadata_fetch_in_flight: false,
            metadata_fetch_retry_at: now,
            replicas: BTreeMap::new(),
            fetchers: BTreeMap::new(),
            fetch_fenced: BTreeSet::new(),
            fetch_order: FetchOrder::default(),
            outstanding: BTreeMap::new(),
            alter_in_flight: BTreeSet::new(),
            next_correlation: 0,
            delayed_produces: Vec::new(),
            delayed_fetches: Vec::new(),
            next_isr_check_ms: now + config.replica_lag_time_max_ms / 2,
            next_flush_ms: now + flush_period.unwrap_or(0),
            next_writeback_ms: now + config.os_writeback_interval_ms,
            writeback_marks: VecDeque::new(),
            next_checkpoint_ms: now + config.replica_high_watermark_checkpoint_interval_ms,
            polled_at: now,
            config,
        }
    }

    /// How often Kafka itself fsyncs every log, if it does so on a timer.
    fn flush_period(config: &BrokerConfig) -> Option<Millis> {
        match config.flush {
            FlushPolicy::Interval => Some(config.flush_interval_ms),
            FlushPolicy::Never | FlushPolicy::EveryBatch => None,
        }
    }

    /// The OS writeback, whatever Kafka's flush policy: pages dirty for long enough reach the disk.
    fn os_writeback(&mut self, now: Millis) {
        let expired_before = now.saturating_sub(self.config.os_dirty_expire_ms);
        while self.writeback_marks.front().is_some_and(|(t, _)| *t <= expired_before) {
            let (_, ends) = self.writeback_marks.pop_front().expect("checked");
            for (tp, end) in ends {
                self.disk.log_mut(&tp).flush_to(end);
            }
        }
        let ends = self.disk.logs.iter().map(|(tp, log)| (tp.clone(), log.end_offset())).collect();
        self.writeback_marks.push_back((now, ends));
    }

    pub fn id(&self) -> BrokerId {
        self.id
    }

    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// What survives this process: its disk (the host decides whether the page cache goes too).
    pub fn into_disk(self) -> Disk {
        self.disk
    }

    pub fn status(&self, tp: &TopicPartition) -> Option<ReplicaStatus> {
        let r = self.replicas.get(tp)?;
        Some(ReplicaStatus {
            leader_epoch: r.leader_epoch,
            is_leader: r.is_leader(),
            isr: r.leader_state().map(|l| l.isr.clone()).unwrap_or_default(),
            high_watermark: r.high_watermark,
            log_end_offset: self.log_end(tp),
        })
    }

    fn log_end(&self, tp: &TopicPartition) -> Offset {
        self.disk.log(tp).map_or(0, |l| l.end_offset())
    }

    // ----- host interface -------------------------------------------------------------------

    pub fn on_message(&mut self, now: Millis, envelope: Envelope, out: &mut Outbox) {
        let reply = envelope.reply_to();
        match envelope.message {
            Message::Request { correlation, request } => {
                self.handle_request(now, reply, correlation, request, out)
            }
            Message::Response { correlation, response } => {
                if let Some(o) = self.outstanding.remove(&correlation) {
                    self.handle_response(now, o, response, out);
                }
            }
        }
        self.poll(now, out);
    }

    /// The connection to `peer` broke: every request outstanding on it has failed.
    pub fn on_disconnect(&mut self, now: Millis, peer: NodeId, out: &mut Outbox) {
        let failed: Vec<CorrelationId> =
            self.outstanding.iter().filter(|(_, o)| o.peer == peer).map(|(&c, _)| c).collect();
        for c in failed {
            let o = self.outstanding.remove(&c).expect("listed above");
            self.request_failed(now, o);
        }
        self.poll(now, out);
    }

    pub fn on_timer(&mut self, now: Millis, out: &mut Outbox) {
        self.expire_outstanding(now, out);
        self.expire_delayed(now, out);
        if now >= self.next_isr_check_ms {
            self.next_isr_check_ms = now + (self.config.replica_lag_time_max_ms / 2).max(1);
            self.shrink_lagging_isrs(now, out);
        }
        if let Some(period) = Self::flush_period(&self.config) {
            if now >= self.next_flush_ms {
                self.next_flush_ms = now + period.max(1);
                self.disk.flush_all();
            }
        }
        if now >= self.next_writeback_ms {
            self.next_writeback_ms = now + self.config.os_writeback_interval_ms.max(1);
            self.os_writeback(now);
        }
        if now >= self.next_checkpoint_ms {
            self.next_checkpoint_ms = now + self.config.replica_high_watermark_checkpoint_interval_ms.max(1);
            self.checkpoint_high_watermarks();
        }
        self.poll(now, out);
    }

    /// Writes the high watermarks of the partitions this broker holds into the checkpoint.
    /// Partitions it does not hold yet (a restarted broker waiting to register) keep their old
    /// entries: Kafka's `ReplicaManager.checkpointHighWatermarks` writes only online partitions'
    /// logs, and never an empty file over the old one.
    fn checkpoint_high_watermarks(&mut self) {
        for (tp, r) in &self.replicas {
            self.disk.hw_checkpoint.insert(tp.clone(), r.high_watermark);
        }
    }

    /// The earliest time `on_timer` has work to do.
    pub fn next_deadline(&self) -> Millis {
        let mut d = self.next_isr_check_ms.min(self.next_checkpoint_ms).min(self.next_writeback_ms);
        if Self::flush_period(&self.config).is_some() {
            d = d.min(self.next_flush_ms);
        }
        if let Session::Unregistered { retry_at } = self.session {
            d = d.min(retry_at);
        }
        if self.session == Session::Registered && !self.heartbeat_in_flight {
            d = d.min(self.next_heartbeat_ms);
        }
        if !self.metadata_fetch_in_flight {
            d = d.min(self.metadata_fetch_retry_at);
        }
        for f in self.fetchers.values() {
            if !f.in_flight && f.retry_at > self.polled_at {
                d = d.min(f.retry_at);
            }
        }
        for o in self.outstanding.values() {
            d = d.min(o.deadline);
        }
        for (tp, r) in &self.replicas {
            let Some(l) = r.leader_state() else { continue };
            if l.pending_isr.is_some()
                && !self.alter_in_flight.contains(tp)
                && l.alter_retry_at > self.polled_at
            {
                d = d.min(l.alter_retry_at);
            }
        }
        for p in &self.delayed_produces {
            d = d.min(p.deadline);
        }
        for f in &self.delayed_fetches {
            d = d.min(f.deadline);
        }
        d
    }

    // ----- sending, driven by state ----------------------------------------------------------

    fn poll(&mut self, now: Millis, out: &mut Outbox) {
        self.polled_at = now;
        if let Session::Unregistered { retry_at } = self.session {
            if now >= retry_at {
                self.session = Session::Registering;
                let req = Request::BrokerRegistration { broker: self.id, incarnation: self.incarnation };
                self.send_to_controller(now, req, OutstandingKind::Registration, out);
            }
        }
        if self.session == Session::Registered && !self.heartbeat_in_flight && now >= self.next_heartbeat_ms {
            self.heartbeat_in_flight = true;
            self.next_heartbeat_ms = now + self.config.broker_heartbeat_interval_ms;
            let req = Request::BrokerHeartbeat { broker: self.id, incarnation: self.incarnation };
            self.send_to_controller(now, req, OutstandingKind::Heartbeat, out);
        }
        if !self.metadata_fetch_in_flight && now >= self.metadata_fetch_retry_at {
            self.metadata_fetch_in_flight = true;
            let req = Request::MetadataFetch { broker: self.id, known_version: self.metadata.version };
            self.send_to_controller(now, req, OutstandingKind::MetadataFetch, out);
        }
        self.send_fetches(now, out);
        self.send_alter_partitions(now, out);
    }

    fn send_to_controller(&mut self, now: Millis, request: Request, kind: OutstandingKind, out: &mut Outbox) {
        let timeout = self.config.controller_request_timeout_ms;
        self.send_request(now, self.controller, request, timeout, kind, out);
    }

    fn send_request(
        &mut self,
        now: Millis,
        to: NodeId,
        request: Request,
        timeout_ms: Millis,
        kind: OutstandingKind,
        out: &mut Outbox,
    ) {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        self.outstanding.insert(correlation, Outstanding { peer: to, deadline: now + timeout_ms, kind });
        out.push(Effect::Send { to, message: Message::Request { correlation, request } });
    }

    /// One fetch per leader we follow, covering every partition we follow from it.
    fn send_fetches(&mut self, now: Millis, out: &mut Outbox) {
        let mut by_leader: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, r) in &self.replicas {
            if let Role::Follower { leader } = r.role {
                if self.fetch_fenced.contains(tp) {
                    continue;
                }
                let log = self.disk.log(tp);
                let last_fetched_epoch = match self.config.truncation {
                    TruncationMode::LeaderEpoch => log.and_then(|l| l.latest_epoch()),
                    TruncationMode::HighWatermark => None,
                };
                by_leader.entry(leader).or_default().push(FetchPartition {
                    tp: tp.clone(),
                    fetch_offset: log.map_or(0, |l| l.end_offset()),
                    current_leader_epoch: r.leader_epoch,
                    last_fetched_epoch,
                });
            }
        }
        self.fetchers.retain(|leader, f| f.in_flight || by_leader.contains_key(leader));
        for (leader, mut partitions) in by_leader {
            self.fetch_order.arrange(&mut partitions, |p| &p.tp);
            let f = self.fetchers.entry(leader).or_default();
            if f.in_flight || now < f.retry_at {
                continue;
            }
            f.in_flight = true;
            let fetched =
                partitions.iter().map(|p| (p.tp.clone(), p.current_leader_epoch, p.fetch_offset)).collect();
            let request = Request::Fetch(FetchRequest {
                replica: Some(self.id),
                max_wait_ms: self.config.replica_fetch_wait_max_ms,
                max_bytes: self.config.replica_fetch_response_max_bytes,
                partition_max_bytes: self.config.replica_fetch_max_bytes,
                partitions,
            });
            let timeout = self.config.replica_socket_timeout_ms;
            self.send_request(now, leader, request, timeout, OutstandingKind::Fetch(fetched), out);
        }
    }

    // ----- timeouts --------------------------------------------------------------------------

    fn expire_outstanding(&mut self, now: Millis, out: &mut Outbox) {
        let expired: Vec<CorrelationId> =
            self.outstanding.iter().filter(|(_, o)| o.deadline <= now).map(|(&c, _)| c).collect();
        for c in expired {
            // A timed-out request closes its connection, failing everything else on it too.
            let Some(o) = self.outstanding.remove(&c) else {
                continue;
            };
            let peer = o.peer;
            out.push(Effect::CloseConnection { peer });
            self.request_failed(now, o);
            let same_peer: Vec<CorrelationId> =
                self.outstanding.iter().filter(|(_, o)| o.peer == peer).map(|(&c, _)| c).collect();
            for c in same_peer {
                let o = self.outstanding.remove(&c).expect("listed above");
                self.request_failed(now, o);
            }
        }
    }

    fn request_failed(&mut self, now: Millis, o: Outstanding) {
        match o.kind {
            OutstandingKind::Registration => {
                self.session =
                    Session::Unregistered { retry_at: now + self.config.broker_registration_retry_ms };
            }
            OutstandingKind::Heartbeat => self.heartbeat_in_flight = false,
            OutstandingKind::MetadataFetch => {
                self.metadata_fetch_in_flight = false;
                self.metadata_fetch_retry_at = now + self.config.replica_fetch_backoff_ms;
            }
            OutstandingKind::AlterPartition(proposal) => {
                // Kafka never gives up on an ISR change: resend it shortly (at once if the change
                // pending now is another one).
                self.alter_in_flight.remove(&proposal.tp);
                let still_pending = self.is_pending(&proposal);
                if let Some(l) = self.replicas.get_mut(&proposal.tp).and_then(Replica::leader_state_mut) {
                    l.alter_retry_at = if still_pending { now + ALTER_PARTITION_RETRY_MS } else { now };
                }
            }
            OutstandingKind::Fetch(_) => {
                let f = self.fetchers.entry(o.peer).or_default();
                f.in_flight = false;
                f.retry_at = now + self.config.replica_fetch_backoff_ms;
            }
        }
    }

    fn expire_delayed(&mut self, now: Millis, out: &mut Outbox) {
        let (expired, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.delayed_produces).into_iter().partition(|p| p.deadline <= now);
        self.delayed_produces = kept;
        for p in expired {
            reply_produce(out, p.reply, p.correlation, p.tp, Some(ErrorCode::RequestTimedOut), None);
        }
        let (expired, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.delayed_fetches).into_iter().partition(|f| f.deadline <= now);
        self.delayed_fetches = kept;
        for f in expired {
            self.complete_fetch(f, None, out);
        }
    }

    // ----- requests from others --------------------------------------------------------------

    fn handle_request(
        &mut self,
        now: Millis,
        reply: ReplyTo,
        correlation: CorrelationId,
        request: Request,
        out: &mut Outbox,
    ) {
        match request {
            Request::Produce(p) => self.handle_produce(now, reply, correlation, p, out),
            Request::Fetch(f) => self.handle_fetch(now, reply, correlation, f, out),
            Request::Metadata => {
                let response = Response::Metadata(Box::new(self.metadata.clone()));
                out.push(Effect::Reply { to: reply, message: Message::Response { correlation, response } });
            }
            // Controller-facing requests sent to a broker by mistake are ignored.
            _ => {}
        }
    }

    fn handle_produce(
        &mut self,
        now: Millis,
        reply: ReplyTo,
        correlation: CorrelationId,
        req: ProduceRequest,
        out: &mut Outbox,
    ) {
        let error = match self.replicas.get(&req.tp) {
            Some(r) if r.is_leader() => {
                let isr_len = r.leader_state().map_or(0, |l| l.isr.len()) as u32;
                (req.acks == Acks::All && isr_len < r.min_insync_replicas)
                    .then_some(ErrorCode::NotEnoughReplicas)
            }
            Some(_) => Some(ErrorCode::NotLeaderOrFollower),
            None => Some(ErrorCode::NotLeaderOrFollower),
        };
        if let Some(error) = error {
            if req.acks == Acks::None {
                // acks=0 has no response to carry the error: Kafka closes the connection instead.
                out.push(Effect::CloseInbound { to: reply });
            } else {
                reply_produce(out, reply, correlation, req.tp, Some(error), None);
            }
            return;
        }
        let r = self.replicas.get(&req.tp).expect("checked above");
        let epoch = r.leader_epoch;
        let log = self.disk.log_mut(&req.tp);
        let base = log.append_as_leader(epoch, &req.records);
        if self.config.flush == FlushPolicy::EveryBatch {
            log.flush();
        }
        let required = base + req.records.len() as Offset;
        self.maybe_advance_hw(now, &req.tp, out);
        self.wake_fetches(&req.tp, out);
        match req.acks {
            Acks::None => {}
            Acks::Leader => reply_produce(out, reply, correlation, req.tp, None, Some(base)),
            Acks::All if self.config.bugs.contains(&Bug::AckBeforeReplication) => {
                reply_produce(out, reply, correlation, req.tp, None, Some(base))
            }
            Acks::All => {
                let delayed = DelayedProduce {
                    reply,
                    correlation,
                    tp: req.tp,
                    leader_epoch: epoch,
                    base_offset: base,
                    required_offset: required,
                    deadline: now + req.timeout_ms,
                };
                self.delayed_produces.push(delayed);
                self.complete_produces(out);
            }
        }
    }

    fn handle_fetch(
        &mut self,
        now: Millis,
        reply: ReplyTo,
        correlation: CorrelationId,
        req: FetchRequest,
        out: &mut Outbox,
    ) {
        // Kafka answers with the high watermark as it was before this fetch moved it: a follower
        // learns of the advance its own fetch caused only on its next fetch.
        let hw_before: BTreeMap<TopicPartition, Offset> = req
            .partitions
            .iter()
            .map(|p| (p.tp.clone(), self.replicas.get(&p.tp).map_or(0, |r| r.high_watermark)))
            .collect();
        let mut answer_now = false;
        let mut touched = Vec::new();
        let record_diverging = self.config.bugs.contains(&Bug::RecordDivergingFetchOffset);
        for p in &req.partitions {
            match self.validate_fetch(req.replica, p) {
                FetchCheck::Ok => {}
                // A diverging follower is about to truncate: its fetch offset is no log end to
                // count (KAFKA-13141), unless that defect is switched on.
                FetchCheck::Diverging if record_diverging => answer_now = true,
                FetchCheck::Diverging | FetchCheck::Error => {
                    answer_now = true;
                    continue;
                }
            }
            if let Some(follower) = req.replica {
                let end = self.log_end(&p.tp);
                let r = self.replicas.get_mut(&p.tp).expect("validated");
                let l = r.leader_state_mut().expect("validated");
                if let Some(progress) = l.followers.get_mut(&follower) {
                    progress.record_fetch(p.fetch_offset, end, now);
                }
                touched.push(p.tp.clone());
            }
            if self.has_data(p, req.replica.is_some()) {
                answer_now = true;
            }
        }
        for tp in touched {
            self.maybe_expand_isr(now, &tp, req.replica.expect("follower fetch"), out);
            self.maybe_advance_hw(now, &tp, out);
        }
        let delayed = DelayedFetch {
            reply,
            correlation,
            replica: req.replica,
            max_bytes: req.max_bytes,
            partition_max_bytes: req.partition_max_bytes,
            partitions: req.partitions,
            deadline: now + req.max_wait_ms,
        };
        if answer_now || req.max_wait_ms == 0 {
            self.complete_fetch(delayed, Some(&hw_before), out);
        } else {
            self.delayed_fetches.push(delayed);
        }
    }

    /// Whether a fetched partition can be served, or must be answered at once with an error or a
    /// divergence.
    fn validate_fetch(&self, replica: Option<BrokerId>, p: &FetchPartition) -> FetchCheck {
        match self.fetch_error(replica, p) {
            None if self.diverging_epoch(p).is_some() => FetchCheck::Diverging,
            None => FetchCheck::Ok,
            Some(_) => FetchCheck::Error,
        }
    }

    /// Why a fetch of `p` by `replica` (a follower's broker id; `None` for a consumer) cannot be
    /// served, if it cannot.
    fn fetch_error(&self, replica: Option<BrokerId>, p: &FetchPartition) -> Option<ErrorCode> {
        let Some(r) = self.replicas.get(&p.tp) else {
            return Some(ErrorCode::NotLeaderOrFollower);
        };
        if p.current_leader_epoch < r.leader_epoch {
            return Some(ErrorCode::FencedLeaderEpoch);
        }
        if p.current_leader_epoch > r.leader_epoch {
            return Some(ErrorCode::UnknownLeaderEpoch);
        }
        if !r.is_leader() {
            return Some(ErrorCode::NotLeaderOrFollower);
        }
        // Only the partition's own replicas may fetch as followers (Kafka's
        // `Partition.getFollowerReplicaOrThrow`).
        if replica.is_some_and(|b| !r.replicas.contains(&b)) {
            return Some(ErrorCode::NotLeaderOrFollower);
        }
        match p.last_fetched_epoch {
            None if p.fetch_offset > self.log_end(&p.tp) => Some(ErrorCode::OffsetOutOfRange),
            // An epoch this log cannot place (newer than any it knows) leaves no end offset to
            // compare with: Kafka answers OFFSET_OUT_OF_RANGE (`Partition.fetchRecords`).
            Some(epoch) if self.disk.log(&p.tp).and_then(|l| l.end_offset_for_epoch(epoch)).is_none() => {
                Some(ErrorCode::OffsetOutOfRange)
            }
            _ => None,
        }
    }

    /// The leader's side of truncation on fetch: the follower's last epoch must end, in the
    /// leader's log, no earlier than where the follower's log does.
    fn diverging_epoch(&self, p: &FetchPartition) -> Option<EpochEndOffset> {
        let epoch = p.last_fetched_epoch?;
        // An epoch this log cannot place is answered as an error (`fetch_error`).
        let theirs = self.disk.log(&p.tp)?.end_offset_for_epoch(epoch)?;
        (theirs.epoch != epoch || theirs.end_offset < p.fetch_offset).then_some(theirs)
    }

    fn has_data(&self, p: &FetchPartition, follower: bool) -> bool {
        let Some(r) = self.replicas.get(&p.tp) else {
            return true;
        };
        let limit = if follower { self.log_end(&p.tp) } else { r.high_watermark };
        limit > p.fetch_offset
    }

    /// Answers a fetch. `hw_before`, for an immediate answer, holds the high watermarks as they
    /// were when it arrived; a held fetch reads them as they are when it completes.
    fn complete_fetch(
        &self,
        f: DelayedFetch,
        hw_before: Option<&BTreeMap<TopicPartition, Offset>>,
        out: &mut Outbox,
    ) {
        let mut budget = FetchBudget {
            response_left: f.max_bytes,
            partition_max: f.partition_max_bytes,
            any_taken: false,
        };
        let partitions = f
            .partitions
            .iter()
            .map(|p| {
                let hw = hw_before
                    .and_then(|hws| hws.get(&p.tp).copied())
                    .unwrap_or_else(|| self.replicas.get(&p.tp).map_or(0, |r| r.high_watermark));
                self.read_partition(p, f.replica, hw, &mut budget)
            })
            .collect();
        let response = Response::Fetch(FetchResponse { partitions });
        out.push(Effect::Reply {
            to: f.reply,
            message: Message::Response { correlation: f.correlation, response },
        });
    }

    fn read_partition(
        &self,
        p: &FetchPartition,
        replica: Option<BrokerId>,
        hw: Offset,
        budget: &mut FetchBudget,
    ) -> FetchedPartition {
        let follower = replica.is_some();
        let end = self.log_end(&p.tp);
        let mut fetched = FetchedPartition {
            tp: p.tp.clone(),
            error: self.fetch_error(replica, p),
            high_watermark: hw,
            log_end_offset: end,
            diverging_epoch: None,
            base_offset: p.fetch_offset,
            records: Vec::new(),
        };
        if fetched.error.is_some() {
            return fetched;
        }
        if !follower && p.fetch_offset > end {
            fetched.error = Some(ErrorCode::OffsetOutOfRange);
            return fetched;
        }
        if let Some(d) = self.diverging_epoch(p) {
            fetched.diverging_epoch = Some(d);
            return fetched;
        }
        if let Some(log) = self.disk.log(&p.tp) {
            let above_hw = follower || self.config.bugs.contains(&Bug::ReadAboveHighWatermark);
            let limit = if above_hw { end } else { hw };
            fetched.records = budget.take(log, p.fetch_offset, limit).to_vec();
        }
        fetched
    }

    /// New data or a moved high watermark on `tp`: answer the held fetches that can now return something.
    fn wake_fetches(&mut self, tp: &TopicPartition, out: &mut Outbox) {
        if self.delayed_fetches.is_empty() {
            return;
        }
        let (ready, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.delayed_fetches).into_iter().partition(|f| {
                f.partitions.iter().any(|p| {
                    &p.tp == tp
                        && (self.fetch_error(f.replica, p).is_some() || self.has_data(p, f.replica.is_some()))
                })
            });
        self.delayed_fetches = kept;
        for f in ready {
            self.complete_fetch(f, None, out);
        }
    }

    // ----- leader duties ---------------------------------------------------------------------

    fn maybe_advance_hw(&mut self, now: Millis, tp: &TopicPartition, out: &mut Outbox) {
        let end = self.log_end(tp);
        let id = self.id;
        let metadata = &self.metadata;
        let Some(r) = self.replicas.get_mut(tp) else {
            return;
        };
        let Some(l) = r.leader_state() else { return };
        let lag_max = self.config.replica_lag_time_max_ms;
        let waits_for = l.hw_replicas(end, now, lag_max, |b| metadata.is_live(b));
        let candidate = l.min_log_end(&waits_for, id, end);
        let hw = next_high_watermark(r.high_watermark, candidate, l.isr.len(), r.min_insync_replicas);
        if r.set_high_watermark(hw, end, out) {
            self.complete_produces(out);
            self.wake_fetches(tp, out);
        }
    }

    /// Answers the acks=all produces whose batch the high watermark has passed.
    fn complete_produces(&mut self, out: &mut Outbox) {
        let replicas = &self.replicas;
        let (done, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_produces)
            .into_iter()
            .partition(|p| replicas.get(&p.tp).is_some_and(|r| r.high_watermark >= p.required_offset));
        self.delayed_produces = kept;
        for p in done {
            let r = &self.replicas[&p.tp];
            let isr_len = r.leader_state().map_or(0, |l| l.isr.len()) as u32;
            if isr_len >= r.min_insync_replicas {
                reply_produce(out, p.reply, p.correlation, p.tp, None, Some(p.base_offset));
            } else {
                let error = Some(ErrorCode::NotEnoughReplicasAfterAppend);
                reply_produce(out, p.reply, p.correlation, p.tp, error, None);
            }
        }
    }

    fn maybe_expand_isr(&mut self, now: Millis, tp: &TopicPartition, follower: BrokerId, out: &mut Outbox) {
        let live = self.metadata.is_live(follower);
        let Some(r) = self.replicas.get(tp) else {
            return;
        };
        let Some(l) = r.leader_state() else { return };
        if l.pending_isr.is_some() || !live || !l.can_join_isr(follower, r.high_watermark) {
            return;
        }
        let mut new_isr = l.isr.clone();
        new_isr.push(follower);
        self.propose_isr(now, tp, new_isr, out);
    }

    fn shrink_lagging_isrs(&mut self, now: Millis, out: &mut Outbox) {
        let mut shrinks = Vec::new();
        for (tp, r) in &self.replicas {
            let Some(l) = r.leader_state() else { continue };
            if l.pending_isr.is_some() {
                continue;
            }
            let lagging = l.lagging(self.id, self.log_end(tp), now, self.config.replica_lag_time_max_ms);
            if !lagging.is_empty() {
                let new_isr = l.isr.iter().copied().filter(|b| !lagging.contains(b)).collect();
                shrinks.push((tp.clone(), new_isr));
            }
        }
        for (tp, new_isr) in shrinks {
            self.propose_isr(now, &tp, new_isr, out);
        }
        // A follower outside the ISR that stopped being caught up no longer holds the HW back.
        let leading: Vec<TopicPartition> =
            self.replicas.iter().filter(|(_, r)| r.is_leader()).map(|(tp, _)| tp.clone()).collect();
        for tp in leading {
            self.maybe_advance_hw(now, &tp, out);
        }
    }

    /// Makes `new_isr` the pending ISR change of `tp`; `poll` sends it.
    fn propose_isr(&mut self, now: Millis, tp: &TopicPartition, new_isr: Vec<BrokerId>, out: &mut Outbox) {
        let l = self.replicas.get_mut(tp).and_then(Replica::leader_state_mut).expect("leader of tp");
        l.pending_isr = Some(new_isr);
        l.alter_retry_at = now;
        self.send_alter_partitions(now, out);
    }

    /// Whether `proposal` is the ISR change `tp`'s leader state has pending right now.
    fn is_pending(&self, proposal: &AlterProposal) -> bool {
        self.replicas.get(&proposal.tp).is_some_and(|r| {
            r.leader_epoch == proposal.leader_epoch
                && r.leader_state().is_some_and(|l| {
                    l.partition_epoch == proposal.partition_epoch
                        && l.pending_isr.as_ref() == Some(&proposal.new_isr)
                })
        })
    }

    /// Sends every pending ISR change that is due and not already on its way.
    fn send_alter_partitions(&mut self, now: Millis, out: &mut Outbox) {
        let mut proposals = Vec::new();
        for (tp, r) in &self.replicas {
            let Some(l) = r.leader_state() else { continue };
            let Some(new_isr) = &l.pending_isr else { continue };
            if self.alter_in_flight.contains(tp) || now < l.alter_retry_at {
                continue;
            }
            proposals.push(AlterProposal {
                tp: tp.clone(),
                leader_epoch: r.leader_epoch,
                partition_epoch: l.partition_epoch,
                new_isr: new_isr.clone(),
            });
        }
        for p in proposals {
            self.alter_in_flight.insert(p.tp.clone());
            let request = Request::AlterPartition(AlterPartitionRequest {
                broker: self.id,
                tp: p.tp.clone(),
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                new_isr: p.new_isr.clone(),
            });
            self.send_to_controller(now, request, OutstandingKind::AlterPartition(p), out);
        }
    }

    // ----- responses to this broker's requests -----------------------------------------------

    fn handle_response(&mut self, now: Millis, o: Outstanding, response: Response, out: &mut Outbox) {
        match (o.kind, response) {
            (OutstandingKind::Registration, Response::BrokerRegistration { error, metadata_version }) => {
                match error {
                    None => {
                        self.session = Session::Registered;
                        self.registered_at_version = metadata_version;
                        self.next_heartbeat_ms = now;
                        self.apply_roles(now, out);
                    }
                    Some(_) => {
                        let retry_at = now + self.config.broker_registration_retry_ms;
                        self.session = Session::Unregistered { retry_at };
                    }
                }
            }
            (OutstandingKind::Heartbeat, Response::BrokerHeartbeat { error }) => {
                self.heartbeat_in_flight = false;
                if error == Some(ErrorCode::StaleBrokerEpoch) {
                    self.session = Session::Unregistered { retry_at: now };
                }
            }
            (OutstandingKind::MetadataFetch, Response::MetadataFetch(image)) => {
                self.metadata_fetch_in_flight = false;
                self.metadata_fetch_retry_at = now;
                if let Some(image) = image {
                    if image.version > self.metadata.version {
                        self.metadata = *image;
                        self.apply_roles(now, out);
                    }
                }
            }
            (OutstandingKind::AlterPartition(proposal), Response::AlterPartition(resp)) => {
                self.handle_alter_partition(now, proposal, resp, out);
            }
            (OutstandingKind::Fetch(fetched), Response::Fetch(resp)) => {
                let f = self.fetchers.entry(o.peer).or_default();
                f.in_flight = false;
                self.handle_fetch_response(now, o.peer, fetched, resp, out);
            }
            (kind, _) => {
                // A response of the wrong kind is a protocol bug in this crate.
                debug_assert!(false, "mismatched response for {kind:?}");
            }
        }
    }

    fn handle_alter_partition(
        &mut self,
        now: Millis,
        proposal: AlterProposal,
        resp: AlterPartitionResponse,
        out: &mut Outbox,
    ) {
        self.alter_in_flight.remove(&proposal.tp);
        // An answer to a change the state has moved on from (newer metadata replaced it, or a
        // new epoch began) says nothing about the change pending now, which is sent next.
        if !self.is_pending(&proposal) {
            return;
        }
        let tp = &proposal.tp;
        let r = self.replicas.get_mut(tp).expect("pending");
        let epoch = r.leader_epoch;
        let l = r.leader_state_mut().expect("pending");
        match resp.error {
            None if resp.leader_epoch == epoch && resp.partition_epoch >= l.partition_epoch => {
                l.isr = resp.isr;
                l.partition_epoch = resp.partition_epoch;
                l.pending_isr = None;
                leader_isr_event(tp, epoch, &l.isr, out);
                self.maybe_advance_hw(now, tp, out);
                self.complete_produces(out);
            }
            // The controller refused a replica outright: back to the committed ISR.
            Some(ErrorCode::IneligibleReplica) => l.pending_isr = None,
            // Anything else (a stale epoch) is settled by newer metadata, which replaces the change.
            _ => l.alter_retry_at = Millis::MAX,
        }
    }

    fn handle_fetch_response(
        &mut self,
        now: Millis,
        leader: BrokerId,
        fetched: Vec<(TopicPartition, Epoch, Offset)>,
        resp: FetchResponse,
        out: &mut Outbox,
    ) {
        let mut back_off = false;
        for (p, (tp, epoch, offset)) in resp.partitions.into_iter().zip(fetched) {
            // Ignore answers for partitions we no longer follow from this leader in that epoch.
            let current = self
                .replicas
                .get(&tp)
                .is_some_and(|r| r.leader_epoch == epoch && r.role == Role::Follower { leader });
            if !current || p.tp != tp {
                continue;
            }
            if let Some(error) = p.error {
                match error {
                    ErrorCode::OffsetOutOfRange => {
                        let target = self.out_of_range_truncation_offset(&tp, p.log_end_offset);
                        self.truncate(&tp, target, out)
                    }
                    // The leader is in a newer epoch: stop fetching this partition until new
                    // metadata arrives (Kafka's AbstractFetcherThread marks it failed).
                    ErrorCode::FencedLeaderEpoch => {
                        self.fetch_fenced.insert(tp.clone());
                    }
                    _ => back_off = true,
                }
                continue;
            }
            if let Some(d) = p.diverging_epoch {
                let target = self.divergence_truncation_offset(&tp, d);
                self.truncate(&tp, target, out);
                continue;
            }
            let log = self.disk.log_mut(&tp);
            if p.base_offset != offset || log.end_offset() != offset {
                continue;
            }
            if !p.records.is_empty() {
                self.fetch_order.served(&tp);
                log.append_replicated(&p.records);
                if self.config.flush == FlushPolicy::EveryBatch {
                    log.flush();
                }
            }
            let end = log.end_offset();
            let hw = match self.config.bugs.contains(&Bug::FollowerHwPastLogEnd) {
                true => p.high_watermark,
                false => p.high_watermark.min(end),
            };
            self.replicas.get_mut(&tp).expect("checked current").set_high_watermark(hw, end, out);
        }
        if back_off {
            self.fetchers.entry(leader).or_default().retry_at = now + self.config.replica_fetch_backoff_ms;
        }
    }

    /// The follower's side of OFFSET_OUT_OF_RANGE (Kafka's `AbstractFetcherThread.fetchOffsetAndTruncate`):
    /// ahead of the leader's log end, back to it; otherwise the leader cannot place what this
    /// log holds, so start over from the leader's log start (0: logs are never deleted here).
    fn out_of_range_truncation_offset(&self, tp: &TopicPartition, leader_end: Offset) -> Offset {
        if leader_end < self.log_end(tp) {
            leader_end
        } else {
            0
        }
    }

    /// The follower's side of truncation on fetch (KIP-279): cut at the end of the leader's epoch,
    /// but no further than where that epoch ends in this log.
    fn divergence_truncation_offset(&self, tp: &TopicPartition, leader: EpochEndOffset) -> Offset {
        let log = self.disk.log(tp);
        let mine = log.and_then(|l| l.end_offset_for_epoch(leader.epoch));
        match mine {
            Some(m) => m.end_offset.min(leader.end_offset),
            None => 0,
        }
    }

    fn truncate(&mut self, tp: &TopicPartition, offset: Offset, out: &mut Outbox) {
        // Records written after this point reuse these offsets: they are not the old dirty pages.
        for (_, ends) in &mut self.writeback_marks {
            if let Some(end) = ends.get_mut(tp) {
                *end = (*end).min(offset);
            }
        }
        let log = self.disk.log_mut(tp);
        if let Some(from) = log.truncate_to(offset) {
            out.push(Effect::Event(ReplicaEvent::Truncated { tp: tp.clone(), from, to: offset }));
        }
        if let Some(r) = self.replicas.get_mut(tp) {
            r.high_watermark = r.high_watermark.min(offset);
        }
    }

    // ----- metadata: becoming leader or follower ---------------------------------------------

    /// Acts on the latest metadata: every partition whose leader epoch moved changes role.
    /// Only a registered broker acts, and only on metadata at least as new as its registration:
    /// what it fetched before registering predates the controller's moves away from its previous
    /// life (KRaft brokers publish metadata only once caught up to the quorum's high
    /// watermark), and acting on it would lead in an epoch the controller has already ended.
    fn apply_roles(&mut self, now: Millis, out: &mut Outbox) {
        if self.session != Session::Registered || self.metadata.version < self.registered_at_version {
            return;
        }
        let partitions: Vec<_> = self
            .metadata
            .partitions
            .iter()
            .filter(|(_, s)| s.replicas.contains(&self.id))
            .map(|(tp, s)| (tp.clone(), s.clone()))
            .collect();
        for (tp, state) in partitions {
            let known = self.replicas.get(&tp).map(|r| (r.leader_epoch, r.is_leader()));
            match known {
                Some((epoch, _)) if state.leader_epoch < epoch => {}
                Some((epoch, true)) if state.leader_epoch == epoch => {
                    // Same epoch: the controller may have changed the ISR (e.g. fenced a follower).
                    let r = self.replicas.get_mut(&tp).expect("known");
                    let l = r.leader_state_mut().expect("leader");
                    if state.partition_epoch > l.partition_epoch && state.leader == Some(self.id) {
                        l.isr = state.isr.clone();
                        l.partition_epoch = state.partition_epoch;
                        l.pending_isr = None;
                        leader_isr_event(&tp, epoch, &l.isr, out);
                        self.maybe_advance_hw(now, &tp, out);
                    }
                }
                Some((epoch, false)) if state.leader_epoch == epoch => {}
                _ => self.change_role(now, &tp, &state, out),
            }
        }
    }

    fn change_role(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        state: &crate::metadata::PartitionState,
        out: &mut Outbox,
    ) {
        let hw = match self.replicas.get(tp) {
            Some(r) => r.high_watermark,
            None => self.disk.recovered_high_watermark(tp),
        };
        let min_isr = match self.config.bugs.contains(&Bug::IgnoreMinIsr) {
            true => 1,
            false => self.topics.get(&tp.topic).map_or(1, |t| t.min_insync_replicas),
        };
        let previous = self.replicas.get(tp).and_then(Replica::leader_state);
        let was_leader = previous.is_some();
        let end = self.log_end(tp);
        let role = match state.leader {
            Some(l) if l == self.id => {
                self.disk.log_mut(tp).assign_epoch(state.leader_epoch);
                let followers = state
                    .replicas
                    .iter()
                    .filter(|&&b| b != self.id)
                    .map(|&b| {
                        let in_isr = state.isr.contains(&b);
                        // Re-elected (Kafka's makeLeader when already leader): what the old
                        // epoch learnt of each follower's log stays; only the clocks restart.
                        let progress = match previous.and_then(|p| p.followers.get(&b)) {
                            Some(p) => {
                                let mut p = p.clone();
                                p.reset_on_reelection(now, in_isr);
                                p
                            }
                            None => FollowerProgress::new(now, in_isr),
                        };
                        (b, progress)
                    })
                    .collect();
                Role::Leader(LeaderState {
                    isr: state.isr.clone(),
                    partition_epoch: state.partition_epoch,
                    pending_isr: None,
                    alter_retry_at: 0,
                    followers,
                    // KAFKA-7128's defect: the ISR rule forgets where this epoch began.
                    epoch_start_offset: match self.config.bugs.contains(&Bug::IsrJoinBelowEpochStart) {
                        true => 0,
                        false => end,
                    },
                })
            }
            Some(leader) => Role::Follower { leader },
            None => Role::Offline,
        };
        let replica = Replica {
            tp: tp.clone(),
            replicas: state.replicas.clone(),
            leader_epoch: state.leader_epoch,
            high_watermark: hw,
            role,
            min_insync_replicas: min_isr,
        };
        let becomes_leader = replica.is_leader();
        let follows = match replica.role {
            Role::Follower { leader } => Some(leader),
            _ => None,
        };
        self.replicas.insert(tp.clone(), replica);
        self.fetch_fenced.remove(tp);
        // A leader re-elected keeps its waiting acks=all requests: its log was not truncated,
        // so they complete when the high watermark passes them, as in Kafka's DelayedProduce.
        if was_leader && !becomes_leader {
            self.abandon_leadership(tp, out);
        } else if was_leader {
            // Followers' fetches held in the old epoch are fenced now: answer them.
            self.wake_fetches(tp, out);
        }
        if becomes_leader {
            out.push(Effect::Event(ReplicaEvent::BecameLeader {
                tp: tp.clone(),
                epoch: state.leader_epoch,
                log_end_offset: end,
                high_watermark: hw,
            }));
            leader_isr_event(tp, state.leader_epoch, &state.isr, out);
            self.maybe_advance_hw(now, tp, out);
        } else if let Some(leader) = follows {
            out.push(Effect::Event(ReplicaEvent::BecameFollower {
                tp: tp.clone(),
                epoch: state.leader_epoch,
                leader,
            }));
            if self.config.truncation == TruncationMode::HighWatermark {
                self.truncate(tp, hw, out);
            }
        }
    }

    /// Leadership of `tp` moved away: pending acks=all produces fail (their records may still be
    /// committed by the new leader), held fetches are answered.
    fn abandon_leadership(&mut self, tp: &TopicPartition, out: &mut Outbox) {
        let (lost, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.delayed_produces).into_iter().partition(|p| &p.tp == tp);
        self.delayed_produces = kept;
        for p in lost {
            debug_assert!(p.leader_epoch <= self.replicas[tp].leader_epoch);
            let error = Some(ErrorCode::NotLeaderOrFollower);
            reply_produce(out, p.reply, p.correlation, p.tp, error, None);
        }
        self.wake_fetches(tp, out);
    }
}

/// What a fetched partition calls for before it is read.
enum FetchCheck {
    Ok,
    /// Answered at once with the epoch where the follower's log diverges.
    Diverging,
    /// Answered at once with an error.
    Error,
}

/// What is left of a fetch response's byte limits as its partitions are read in request order
/// (Kafka's `ReplicaManager.readFromLog`): each partition takes at most `partition_max` of what
/// the response has left, and only the first partition with records may exceed the limits, by
/// one record, so that a fetch always makes progress (KIP-74).
struct FetchBudget {
    response_left: u64,
    partition_max: u64,
    /// Some partition already returned records.
    any_taken: bool,
}

impl FetchBudget {
    fn take<'a>(
        &mut self,
        log: &'a crate::log::PartitionLog,
        from: Offset,
        limit: Offset,
    ) -> &'a [crate::types::LogRecord] {
        let records = log.read(from, limit, self.partition_max.min(self.response_left), !self.any_taken);
        let bytes: u64 = records.iter().map(|r| u64::from(r.size_bytes)).sum();
        self.response_left = self.response_left.saturating_sub(bytes);
        self.any_taken |= !records.is_empty();
        records
    }
}

fn leader_isr_event(tp: &TopicPartition, epoch: Epoch, isr: &[BrokerId], out: &mut Outbox) {
    out.push(Effect::Event(ReplicaEvent::LeaderIsr { tp: tp.clone(), epoch, isr: isr.to_vec() }));
}

fn reply_produce(
    out: &mut Outbox,
    to: ReplyTo,
    correlation: CorrelationId,
    tp: TopicPartition,
    error: Option<ErrorCode>,
    base_offset: Option<Offset>,
) {
    let response = Response::Produce(ProduceResponse { tp, error, base_offset });
    out.push(Effect::Reply { to, message: Message::Response { correlation, response } });
}
