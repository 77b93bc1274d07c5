//! The controller: broker registrations and sessions, leader election, ISR changes. It owns the
//! metadata image (durable, like KRaft's metadata log) and serves it to brokers by long poll.
//!
//! Rules modelled on KRaft (Kafka 3.7):
//! - a broker whose heartbeats stop for `broker_session_timeout_ms` is fenced: it leaves every
//!   ISR (unless it is the last member) and loses every leadership;
//! - a new incarnation may register only once the old one's session has expired;
//! - a leader is the first live ISR member in replica order; with none, an unclean election
//!   (if the topic allows it) takes the first live replica, otherwise the partition is offline;
//! - every leadership change bumps the leader epoch; every change bumps the partition epoch.

use crate::bugs::Bug;
use crate::config::{ControllerConfig, TopicConfig};
use crate::effect::{Effect, Outbox, ReplicaEvent};
use crate::metadata::{BrokerRegistration, MetadataImage, PartitionState};
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, Envelope, ErrorCode, Message, ReplyTo, Request, Response,
};
use crate::types::{BrokerId, CorrelationId, Incarnation, Millis, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the controller keeps across a restart: the metadata image and the topics' settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerState {
    pub image: MetadataImage,
    pub unclean_election: BTreeMap<Arc<str>, bool>,
}

impl ControllerState {
    /// A new cluster: every broker registered (first incarnation), every partition led by its
    /// preferred replica in epoch 0 with a full ISR, replicas assigned round-robin.
    pub fn new_cluster(brokers: &[BrokerId], topics: &[TopicConfig]) -> ControllerState {
        let mut image = MetadataImage { version: 1, ..MetadataImage::default() };
        for &b in brokers {
            image.brokers.insert(b, BrokerRegistration { incarnation: 1, fenced: false });
        }
        for t in topics {
            for p in 0..t.partitions {
                let replicas = assign_replicas(brokers, p, t.replication_factor);
                let state = PartitionState {
                    leader: replicas.first().copied(),
                    leader_epoch: 0,
                    isr: replicas.clone(),
                    partition_epoch: 0,
                    replicas,
                };
                image.partitions.insert(TopicPartition { topic: t.name.clone(), partition: p }, state);
            }
        }
        let unclean_election =
            topics.iter().map(|t| (t.name.clone(), t.unclean_leader_election_enable)).collect();
        ControllerState { image, unclean_election }
    }
}

/// Round-robin assignment: partition p's replicas are the brokers starting at index p.
pub fn assign_replicas(brokers: &[BrokerId], partition: u32, replication_factor: u32) -> Vec<BrokerId> {
    let n = brokers.len();
    (0..replication_factor as usize).map(|i| brokers[(partition as usize + i) % n]).collect()
}

/// The leader a clean election picks: the first ISR member (in replica order) that is live.
pub fn clean_leader(state: &PartitionState, is_live: impl Fn(BrokerId) -> bool) -> Option<BrokerId> {
    state.replicas.iter().copied().find(|&b| state.isr.contains(&b) && is_live(b))
}

/// The leader an unclean election picks: the first live replica, in sync or not.
pub fn unclean_leader(state: &PartitionState, is_live: impl Fn(BrokerId) -> bool) -> Option<BrokerId> {
    state.replicas.iter().copied().find(|&b| is_live(b))
}

struct ParkedFetch {
    reply: ReplyTo,
    correlation: CorrelationId,
    known_version: u64,
    deadline: Millis,
}

pub struct Controller {
    config: ControllerConfig,
    state: ControllerState,
    /// Volatile: when each broker last heartbeated. A restarted controller grants everyone a
    /// fresh session.
    last_heartbeat_ms: BTreeMap<BrokerId, Millis>,
    parked: Vec<ParkedFetch>,
}

impl Controller {
    pub fn start(config: ControllerConfig, state: ControllerState, now: Millis) -> Controller {
        let last_heartbeat_ms = state.image.brokers.keys().map(|&b| (b, now)).collect();
        Controller { config, state, last_heartbeat_ms, parked: Vec::new() }
    }

    pub fn state(&self) -> &ControllerState {
        &self.state
    }

    pub fn into_state(self) -> ControllerState {
        self.state
    }

    pub fn image(&self) -> &MetadataImage {
        &self.state.image
    }

    pub fn next_deadline(&self) -> Millis {
        let sessions =
            self.state.image.brokers.iter().filter(|(_, r)| !r.fenced).map(|(b, _)| self.session_expiry(*b));
        let parked = self.parked.iter().map(|p| p.deadline);
        sessions.chain(parked).min().unwrap_or(Millis::MAX)
    }

    fn session_expiry(&self, broker: BrokerId) -> Millis {
        self.last_heartbeat_ms.get(&broker).copied().unwrap_or(0) + self.config.broker_session_timeout_ms
    }

    pub fn on_timer(&mut self, now: Millis, out: &mut Outbox) {
        let expired: Vec<BrokerId> = self
            .state
            .image
            .brokers
            .iter()
            .filter(|(b, r)| !r.fenced && self.session_expiry(**b) <= now)
            .map(|(b, _)| *b)
            .collect();
        for b in expired {
            self.fence(b, out);
        }
        let (due, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.parked).into_iter().partition(|p| p.deadline <= now);
        self.parked = kept;
        for p in due {
            reply(out, p.reply, p.correlation, Response::MetadataFetch(None));
        }
        self.answer_parked(out);
    }

    pub fn on_message(&mut self, now: Millis, envelope: Envelope, out: &mut Outbox) {
        let to = envelope.reply_to();
        let Message::Request { correlation, request } = envelope.message else {
            return;
        };
        let response = match request {
            Request::BrokerRegistration { broker, incarnation } => {
                Some(self.register(now, broker, incarnation, out))
            }
            Request::BrokerHeartbeat { broker, incarnation } => {
                Some(self.heartbeat(now, broker, incarnation, out))
            }
            Request::AlterPartition(req) => Some(Response::AlterPartition(self.alter_partition(req, out))),
            Request::MetadataFetch { known_version, .. } => {
                if self.state.image.version > known_version {
                    Some(Response::MetadataFetch(Some(Box::new(self.state.image.clone()))))
                } else {
                    let deadline = now + self.config.metadata_fetch_wait_max_ms;
                    self.parked.push(ParkedFetch { reply: to, correlation, known_version, deadline });
                    None
                }
            }
            Request::Metadata => Some(Response::Metadata(Box::new(self.state.image.clone()))),
            Request::Produce(_) | Request::Fetch(_) => None,
        };
        if let Some(response) = response {
            reply(out, to, correlation, response);
        }
        self.answer_parked(out);
    }

    /// Long-polling brokers get the image as soon as it changes.
    fn answer_parked(&mut self, out: &mut Outbox) {
        let version = self.state.image.version;
        if self.parked.iter().all(|p| p.known_version >= version) {
            return;
        }
        let (ready, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.parked).into_iter().partition(|p| p.known_version < version);
        self.parked = kept;
        for p in ready {
            let response = Response::MetadataFetch(Some(Box::new(self.state.image.clone())));
            reply(out, p.reply, p.correlation, response);
        }
    }

    fn register(
        &mut self,
        now: Millis,
        broker: BrokerId,
        incarnation: Incarnation,
        out: &mut Outbox,
    ) -> Response {
        let current = self.state.image.brokers.get(&broker).cloned();
        match current {
            Some(r) if r.incarnation != incarnation && !r.fenced => Response::BrokerRegistration {
                error: Some(ErrorCode::DuplicateBrokerRegistration),
                metadata_version: self.state.image.version,
            },
            _ => {
                self.last_heartbeat_ms.insert(broker, now);
                let fenced = current.as_ref().is_none_or(|r| r.fenced);
                let changed = current.as_ref().is_none_or(|r| r.incarnation != incarnation);
                if changed {
                    self.state.image.brokers.insert(broker, BrokerRegistration { incarnation, fenced });
                    self.state.image.version += 1;
                }
                if fenced {
                    self.unfence(broker, out);
                }
                Response::BrokerRegistration { error: None, metadata_version: self.state.image.version }
            }
        }
    }

    fn heartbeat(
        &mut self,
        now: Millis,
        broker: BrokerId,
        incarnation: Incarnation,
        out: &mut Outbox,
    ) -> Response {
        match self.state.image.brokers.get(&broker) {
            Some(r) if r.incarnation == incarnation => {
                let fenced = r.fenced;
                self.last_heartbeat_ms.insert(broker, now);
                if fenced {
                    self.unfence(broker, out);
                }
                Response::BrokerHeartbeat { error: None }
            }
            _ => Response::BrokerHeartbeat { error: Some(ErrorCode::StaleBrokerEpoch) },
        }
    }

    fn fence(&mut self, broker: BrokerId, out: &mut Outbox) {
        let image = &mut self.state.image;
        image.brokers.get_mut(&broker).expect("registered").fenced = true;
        image.version += 1;
        out.push(Effect::Event(ReplicaEvent::BrokerFenced { broker }));
        let tps: Vec<TopicPartition> = image
            .partitions
            .iter()
            .filter(|(_, s)| s.leader == Some(broker) || s.isr.contains(&broker))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in tps {
            let s = &mut self.state.image.partitions.get_mut(&tp).expect("listed");
            // KRaft keeps the last ISR member, so that it can come back as a clean leader.
            if s.isr.len() > 1 {
                s.isr.retain(|&b| b != broker);
                s.partition_epoch += 1;
                out.push(Effect::Event(ReplicaEvent::IsrChanged {
                    tp: tp.clone(),
                    epoch: s.leader_epoch,
                    isr: s.isr.clone(),
                }));
            }
            if s.leader == Some(broker) {
                self.elect(&tp, out);
            }
        }
    }

    fn unfence(&mut self, broker: BrokerId, out: &mut Outbox) {
        let image = &mut self.state.image;
        if let Some(r) = image.brokers.get_mut(&broker) {
            r.fenced = false;
        }
        image.version += 1;
        out.push(Effect::Event(ReplicaEvent::BrokerUnfenced { broker }));
        let offline: Vec<TopicPartition> = image
            .partitions
            .iter()
            .filter(|(_, s)| s.leader.is_none() && s.replicas.contains(&broker))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in offline {
            self.elect(&tp, out);
        }
    }

    /// Chooses a new leader for `tp` (or none) and bumps its epoch if leadership changed.
    fn elect(&mut self, tp: &TopicPartition, out: &mut Outbox) {
        let image = &self.state.image;
        let is_live = |b: BrokerId| image.is_live(b);
        let state = &image.partitions[tp];
        let allow_unclean = self.state.unclean_election.get(&tp.topic).copied().unwrap_or(false);
        let clean = match self.config.bugs.contains(&Bug::ElectOutsideIsr) {
            true => unclean_leader(state, is_live),
            false => clean_leader(state, is_live),
        };
        let (leader, unclean) = match clean {
            Some(l) => (Some(l), false),
            None if allow_unclean => (unclean_leader(state, is_live), true),
            None => (None, false),
        };
        let unclean = unclean && leader.is_some();
        let s = self.state.image.partitions.get_mut(tp).expect("exists");
        if s.leader == leader {
            return;
        }
        s.leader = leader;
        s.leader_epoch += 1;
        s.partition_epoch += 1;
        if unclean {
            s.isr = leader.into_iter().collect();
        }
        self.state.image.version += 1;
        out.push(Effect::Event(ReplicaEvent::LeaderElected {
            tp: tp.clone(),
            epoch: s.leader_epoch,
            leader,
            unclean,
        }));
        if unclean {
            out.push(Effect::Event(ReplicaEvent::IsrChanged {
                tp: tp.clone(),
                epoch: s.leader_epoch,
                isr: s.isr.clone(),
            }));
        }
    }

    fn alter_partition(&mut self, req: AlterPartitionRequest, out: &mut Outbox) -> AlterPartitionResponse {
        let image = &self.state.image;
        let Some(s) = image.partitions.get(&req.tp) else {
            return AlterPartitionResponse {
                tp: req.tp,
                error: Some(ErrorCode::UnknownTopicOrPartition),
                leader_epoch: 0,
                isr: Vec::new(),
                partition_epoch: 0,
            };
        };
        let error = if s.leader != Some(req.broker) || s.leader_epoch != req.leader_epoch {
            Some(ErrorCode::FencedLeaderEpoch)
        } else if s.partition_epoch != req.partition_epoch {
            Some(ErrorCode::InvalidUpdateVersion)
        } else if req.new_isr.iter().any(|&b| !image.is_live(b) || !s.replicas.contains(&b))
            || !req.new_isr.contains(&req.broker)
        {
            Some(ErrorCode::IneligibleReplica)
        } else {
            None
        };
        if error.is_none() {
            let s = self.state.image.partitions.get_mut(&req.tp).expect("exists");
            // Keep replica order, so the ISR reads the same whoever proposed it.
            let mut isr: Vec<BrokerId> =
                s.replicas.iter().copied().filter(|b| req.new_isr.contains(b)).collect();
            isr.dedup();
            s.isr = isr;
            s.partition_epoch += 1;
            self.state.image.version += 1;
            out.push(Effect::Event(ReplicaEvent::IsrChanged {
                tp: req.tp.clone(),
                epoch: s.leader_epoch,
                isr: s.isr.clone(),
            }));
        }
        let s = &self.state.image.partitions[&req.tp];
        AlterPartitionResponse {
            tp: req.tp,
            error,
            leader_epoch: s.leader_epoch,
            isr: s.isr.clone(),
            partition_epoch: s.partition_epoch,
        }
    }
}

fn reply(out: &mut Outbox, to: ReplyTo, correlation: CorrelationId, response: Response) {
    out.push(Effect::Reply { to, message: Message::Response { correlation, response } });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NodeId;

    fn state(replicas: &[u32], isr: &[u32]) -> PartitionState {
        PartitionState {
            replicas: replicas.iter().map(|&b| NodeId(b)).collect(),
            leader: None,
            leader_epoch: 0,
            isr: isr.iter().map(|&b| NodeId(b)).collect(),
            partition_epoch: 0,
        }
    }

    #[test]
    fn clean_election_takes_first_live_isr_member_in_replica_order() {
        let s = state(&[3, 1, 2], &[2, 1]);
        assert_eq!(clean_leader(&s, |_| true), Some(NodeId(1)));
        assert_eq!(clean_leader(&s, |b| b != NodeId(1)), Some(NodeId(2)));
        assert_eq!(clean_leader(&s, |b| b == NodeId(3)), None);
    }

    #[test]
    fn unclean_election_takes_any_live_replica() {
        let s = state(&[3, 1, 2], &[2]);
        assert_eq!(unclean_leader(&s, |b| b != NodeId(2)), Some(NodeId(3)));
        assert_eq!(unclean_leader(&s, |_| false), None);
    }

    #[test]
    fn round_robin_assignment() {
        let brokers: Vec<BrokerId> = (1..=3).map(NodeId).collect();
        assert_eq!(assign_replicas(&brokers, 0, 3), vec![NodeId(1), NodeId(2), NodeId(3)]);
        assert_eq!(assign_replicas(&brokers, 1, 2), vec![NodeId(2), NodeId(3)]);
        assert_eq!(assign_replicas(&brokers, 5, 1), vec![NodeId(3)]);
    }
}
