//! One broker's replica of one partition: its role, leader epoch and high watermark, and, when it
//! leads, what it knows of its followers and its ISR. The rules for the high watermark and the
//! ISR live here as small pure functions, so they can be tested on their own.

use crate::effect::{Effect, Outbox, ReplicaEvent};
use crate::types::{BrokerId, Epoch, Millis, Offset, PartitionEpoch, TopicPartition};
use std::collections::BTreeMap;

/// What the leader knows of one follower, learnt from its fetches (Kafka's `Replica` state).
/// `None` times and offsets mean "never" / "unknown": a run's time 0 is a real instant, so it
/// cannot stand for "never" the way Kafka's epoch-millisecond 0 does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's log end offset: its last fetch offset. `None` until it first fetches.
    pub log_end_offset: Option<Offset>,
    /// The last time the follower was known to have the leader's whole log; `None`: never.
    pub last_caught_up_ms: Option<Millis>,
    /// When the previous fetch was answered; `None`: no fetch since this leader took over.
    pub last_fetch_ms: Option<Millis>,
    /// The leader's log end offset when the previous fetch was answered; `None`: unknown.
    pub leader_end_at_last_fetch: Option<Offset>,
}

impl FollowerProgress {
    /// What a newly elected leader knows of a follower (Kafka's `Replica.resetReplicaState` with
    /// `isNewLeader`): nothing of its log or fetches; one in the ISR counts as caught up now, one
    /// outside it as never caught up, so it holds the high watermark back only after a real
    /// catch-up.
    pub fn new(now: Millis, in_isr: bool) -> Self {
        FollowerProgress {
            log_end_offset: None,
            last_caught_up_ms: in_isr.then_some(now),
            last_fetch_ms: None,
            leader_end_at_last_fetch: None,
        }
    }

    /// A leader re-elected in a newer epoch keeps what it learnt of the follower's log, but
    /// restarts its clocks (`resetReplicaState` without `isNewLeader`): caught up and fetched
    /// now if in the ISR, never otherwise, so a follower outside the ISR is not brought back
    /// before it fetches again.
    pub fn reset_on_reelection(&mut self, now: Millis, in_isr: bool) {
        self.last_caught_up_ms = in_isr.then_some(now);
        self.last_fetch_ms = in_isr.then_some(now);
    }

    /// Kafka's rule (`Replica.updateFetchStateOrThrow`): a fetch from at least the leader's
    /// current end means caught up now; from at least the end the previous fetch saw means caught
    /// up as of that previous fetch. (`Option`'s order puts `None`, never, below every time.)
    pub fn record_fetch(&mut self, fetch_offset: Offset, leader_end: Offset, now: Millis) {
        if fetch_offset >= leader_end {
            self.last_caught_up_ms = self.last_caught_up_ms.max(Some(now));
        } else if self.leader_end_at_last_fetch.is_none_or(|e| fetch_offset >= e) {
            self.last_caught_up_ms = self.last_caught_up_ms.max(self.last_fetch_ms);
        }
        self.log_end_offset = Some(fetch_offset);
        self.leader_end_at_last_fetch = Some(leader_end);
        self.last_fetch_ms = Some(now);
    }

    /// Out of sync: behind the leader's end and not caught up within the lag bound (never caught
    /// up counts as out of sync). Kafka's `isCaughtUp` is the negation.
    pub fn is_lagging(&self, leader_end: Offset, now: Millis, lag_max_ms: Millis) -> bool {
        self.log_end_offset != Some(leader_end)
            && self.last_caught_up_ms.is_none_or(|t| now.saturating_sub(t) > lag_max_ms)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderState {
    /// The ISR as the controller last committed it.
    pub isr: Vec<BrokerId>,
    pub partition_epoch: PartitionEpoch,
    /// An ISR change proposed to the controller and not yet settled. It stays pending across
    /// timeouts and most errors (the request is resent, or newer metadata replaces it), as in
    /// Kafka: forgetting it early would let the high watermark stop waiting for a replica the
    /// controller may already have added.
    pub pending_isr: Option<Vec<BrokerId>>,
    /// When to (re)send the pending change; `Millis::MAX` while waiting for newer metadata.
    pub alter_retry_at: Millis,
    pub followers: BTreeMap<BrokerId, FollowerProgress>,
    /// The log end when this leader's epoch began: a follower must reach it to join the ISR.
    pub epoch_start_offset: Offset,
}

impl LeaderState {
    /// The ISR the high watermark must wait for: committed members plus any being added (KIP-497):
    /// a pending shrink does not count until the controller commits it.
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut isr = self.isr.clone();
        for b in self.pending_isr.iter().flatten() {
            if !isr.contains(b) {
                isr.push(*b);
            }
        }
        isr
    }

    /// The replicas the high watermark waits for: the maximal ISR, and any follower outside it
    /// that is caught up and eligible (not fenced), since it is about to join (Kafka's
    /// maybeIncrementLeaderHW): a write is not committed behind a replica's back just before the
    /// replica enters the ISR.
    pub fn hw_replicas(
        &self,
        leader_end: Offset,
        now: Millis,
        lag_max_ms: Millis,
        eligible: impl Fn(BrokerId) -> bool,
    ) -> Vec<BrokerId> {
        let mut replicas = self.maximal_isr();
        for (&b, f) in &self.followers {
            if !replicas.contains(&b) && eligible(b) && !f.is_lagging(leader_end, now, lag_max_ms) {
                replicas.push(b);
            }
        }
        replicas
    }

    /// The lowest log end offset over the maximal ISR; a follower not heard from counts as 0.
    pub fn isr_min_log_end(&self, me: BrokerId, my_end: Offset) -> Offset {
        self.min_log_end(&self.maximal_isr(), me, my_end)
    }

    /// The lowest log end offset over `replicas`; a follower not heard from counts as 0.
    pub fn min_log_end(&self, replicas: &[BrokerId], me: BrokerId, my_end: Offset) -> Offset {
        replicas
            .iter()
            .map(|&b| {
                if b == me {
                    my_end
                } else {
                    self.followers.get(&b).and_then(|f| f.log_end_offset).unwrap_or(0)
                }
            })
            .min()
            .unwrap_or(my_end)
    }

    /// Kafka's expansion rule: a follower rejoins once it has the high watermark and everything of
    /// this leader's epoch start.
    pub fn can_join_isr(&self, follower: BrokerId, high_watermark: Offset) -> bool {
        !self.isr.contains(&follower)
            && self
                .followers
                .get(&follower)
                .and_then(|f| f.log_end_offset)
                .is_some_and(|end| end >= high_watermark && end >= self.epoch_start_offset)
    }

    /// ISR members (other than the leader) that have fallen out of sync.
    pub fn lagging(
        &self,
        me: BrokerId,
        leader_end: Offset,
        now: Millis,
        lag_max_ms: Millis,
    ) -> Vec<BrokerId> {
        self.isr
            .iter()
            .copied()
            .filter(|&b| b != me)
            .filter(|b| self.followers.get(b).is_some_and(|f| f.is_lagging(leader_end, now, lag_max_ms)))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// No leader known, or this broker is not acting yet (not registered).
    Offline,
    Leader(LeaderState),
    Follower {
        leader: BrokerId,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    pub tp: TopicPartition,
    pub replicas: Vec<BrokerId>,
    pub leader_epoch: Epoch,
    pub high_watermark: Offset,
    pub role: Role,
    pub min_insync_replicas: u32,
}

impl Replica {
    pub fn leader_state(&self) -> Option<&LeaderState> {
        match &self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    pub fn leader_state_mut(&mut self) -> Option<&mut LeaderState> {
        match &mut self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// Moves the high watermark, reporting the move with the replica's log end (`log_end`);
    /// returns whether it moved.
    pub fn set_high_watermark(&mut self, hw: Offset, log_end: Offset, out: &mut Outbox) -> bool {
        if hw == self.high_watermark {
            return false;
        }
        self.high_watermark = hw;
        out.push(Effect::Event(ReplicaEvent::HighWatermark {
            tp: self.tp.clone(),
            epoch: self.leader_epoch,
            high_watermark: hw,
            log_end_offset: log_end,
            leader: self.is_leader(),
        }));
        true
    }
}

/// The high watermark a leader moves to: the ISR's lowest log end, never backwards, and frozen
/// while the committed ISR is smaller than min.insync.replicas (KAFKA-15583).
pub fn next_high_watermark(current: Offset, isr_min_end: Offset, isr_len: usize, min_isr: u32) -> Offset {
    if (isr_len as u32) < min_isr {
        return current;
    }
    current.max(isr_min_end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NodeId;

    fn leader(isr: &[u32], ends: &[(u32, Option<Offset>)]) -> LeaderState {
        LeaderState {
            isr: isr.iter().map(|&b| NodeId(b)).collect(),
            partition_epoch: 0,
            pending_isr: None,
            alter_retry_at: 0,
            followers: ends
                .iter()
                .map(|&(b, end)| {
                    let mut p = FollowerProgress::new(0, true);
                    p.log_end_offset = end;
                    (NodeId(b), p)
                })
                .collect(),
            epoch_start_offset: 0,
        }
    }

    #[test]
    fn hw_is_min_over_isr_and_waits_for_unknown_followers() {
        let l = leader(&[1, 2, 3], &[(2, Some(7)), (3, None)]);
        assert_eq!(l.isr_min_log_end(NodeId(1), 10), 0);
        let l = leader(&[1, 2, 3], &[(2, Some(7)), (3, Some(9))]);
        assert_eq!(l.isr_min_log_end(NodeId(1), 10), 7);
        let l = leader(&[1, 3], &[(2, Some(1)), (3, Some(9))]);
        assert_eq!(l.isr_min_log_end(NodeId(1), 10), 9);
    }

    #[test]
    fn pending_expansion_counts_but_pending_shrink_does_not() {
        let mut l = leader(&[1, 2], &[(2, Some(9)), (3, Some(4))]);
        l.pending_isr = Some(vec![NodeId(1), NodeId(2), NodeId(3)]);
        assert_eq!(l.isr_min_log_end(NodeId(1), 10), 4);
        let mut l = leader(&[1, 2, 3], &[(2, Some(9)), (3, Some(4))]);
        l.pending_isr = Some(vec![NodeId(1), NodeId(2)]);
        assert_eq!(l.isr_min_log_end(NodeId(1), 10), 4);
    }

    #[test]
    fn hw_frozen_below_min_isr_and_never_backwards() {
        assert_eq!(next_high_watermark(5, 9, 1, 2), 5);
        assert_eq!(next_high_watermark(5, 9, 2, 2), 9);
        assert_eq!(next_high_watermark(5, 3, 3, 2), 5);
    }

    #[test]
    fn caught_up_tracking_follows_kafka() {
        let mut p = FollowerProgress::new(0, true);
        p.record_fetch(10, 10, 100); // at the end: caught up at 100
        assert_eq!(p.last_caught_up_ms, Some(100));
        p.record_fetch(10, 15, 200); // reached what the previous fetch saw: caught up as of 100
        assert_eq!(p.last_caught_up_ms, Some(100));
        p.record_fetch(12, 20, 300); // behind what the previous fetch saw (15): no progress
        assert_eq!(p.last_caught_up_ms, Some(100));
        assert!(p.is_lagging(20, 30_101, 30_000));
        assert!(!p.is_lagging(20, 30_100, 30_000));
    }

    #[test]
    fn a_follower_outside_the_isr_is_not_caught_up_by_fetching_behind() {
        // Elected at 5 s, early in a run: "never" must not read as "at time 0, within the bound".
        let mut p = FollowerProgress::new(5_000, false);
        assert!(p.is_lagging(900, 5_000, 30_000));
        p.record_fetch(100, 900, 5_010); // one fetch, far behind
        assert_eq!(p.last_caught_up_ms, None);
        assert!(p.is_lagging(900, 5_010, 30_000));
        p.record_fetch(300, 950, 5_500); // still behind what the previous fetch saw
        assert_eq!(p.last_caught_up_ms, None);
        p.record_fetch(950, 980, 6_000); // reached the end the previous fetch saw: as of 5.5 s
        assert_eq!(p.last_caught_up_ms, Some(5_500));
        // An ISR member starts caught up at the election.
        assert_eq!(FollowerProgress::new(5_000, true).last_caught_up_ms, Some(5_000));
    }

    #[test]
    fn reelection_keeps_the_log_end_and_restarts_the_clocks() {
        let mut p = FollowerProgress::new(0, true);
        p.record_fetch(40, 50, 1_000);
        p.reset_on_reelection(9_000, false);
        assert_eq!(p.log_end_offset, Some(40));
        assert_eq!(p.leader_end_at_last_fetch, Some(50));
        assert_eq!((p.last_caught_up_ms, p.last_fetch_ms), (None, None));
        p.reset_on_reelection(9_500, true);
        assert_eq!((p.last_caught_up_ms, p.last_fetch_ms), (Some(9_500), Some(9_500)));
    }

    #[test]
    fn rejoin_needs_hw_and_epoch_start() {
        let mut l = leader(&[1], &[(2, Some(8))]);
        l.epoch_start_offset = 9;
        assert!(!l.can_join_isr(NodeId(2), 5));
        l.epoch_start_offset = 8;
        assert!(l.can_join_isr(NodeId(2), 8));
        assert!(!l.can_join_isr(NodeId(2), 9));
    }
}
