//! What each fault holds, so that overlapping faults compose: every fault that takes effect gets a
//! [`Hold`], and its undo releases that hold and nothing else.
//!
//! - **Partitions** ([`Cuts`]): a directed link is cut while at least one partition holds it, so
//!   when two partitions cut the same link, the end of the first leaves it cut until the second
//!   ends too. A scripted `heal` releases every partition at once.
//! - **Network settings** ([`NetLayers`]): each `latency` or `packet-loss` fault lays its setting
//!   over the scenario's `[network]`; the setting in force is the base with the layers in force
//!   applied in firing order, so the newest one wins. The end of a fault lifts its own layer, and
//!   whatever another layer sets stays.
//! - **Crashes, power losses and pauses**: the cluster remembers which hold took each node down
//!   (or paused it); an undo restarts or resumes a node only while that is still its own hold, so
//!   a stale undo never revives a node that was restarted and went down again since.
//!
//! Everything here is ordered (`BTreeMap`), so composing faults is as deterministic as firing them.

use crate::net::NetConfig;
use broker::types::{Millis, NodeId};
use std::collections::{BTreeMap, BTreeSet};

/// One fault's hold on the cluster: `seq` orders holds by when their fault took effect in the
/// run (ties at one instant go by firing order), `at_ms` says when, for the reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hold {
    pub seq: u64,
    pub at_ms: Millis,
}

/// A directed link: traffic from the first node to the second.
pub type Link = (NodeId, NodeId);

/// The partitions in force, each with the links it cuts, and how many of them cut each link.
#[derive(Debug, Default)]
pub struct Cuts {
    by_hold: BTreeMap<Hold, BTreeSet<Link>>,
    holders: BTreeMap<Link, u32>,
}

/// What releasing one partition did.
#[derive(Debug, PartialEq, Eq)]
pub struct Released {
    /// Links no partition cuts any more: to be opened.
    pub opened: Vec<Link>,
    /// The partition's links that another partition still cuts.
    pub still_cut: usize,
}

impl Cuts {
    /// Adds a partition's hold on `links`. Returns the links that were open until now: those
    /// to cut in the network.
    pub fn add(&mut self, hold: Hold, links: impl IntoIterator<Item = Link>) -> Vec<Link> {
        let links: BTreeSet<Link> = links.into_iter().collect();
        let mut newly_cut = Vec::new();
        for &link in &links {
            let holders = self.holders.entry(link).or_insert(0);
            if *holders == 0 {
                newly_cut.push(link);
            }
            *holders += 1;
        }
        self.by_hold.insert(hold, links);
        newly_cut
    }

    /// Releases one partition's hold, or returns `None` if it holds nothing any more (a `heal`
    /// released it already).
    pub fn release(&mut self, hold: Hold) -> Option<Released> {
        let links = self.by_hold.remove(&hold)?;
        let mut released = Released { opened: Vec::new(), still_cut: 0 };
        for link in links {
            let holders = self.holders.get_mut(&link).expect("a held link has holders");
            *holders -= 1;
            if *holders == 0 {
                self.holders.remove(&link);
                released.opened.push(link);
            } else {
                released.still_cut += 1;
            }
        }
        Some(released)
    }

    /// Releases every partition: a `heal`. Returns every link that was cut.
    pub fn release_all(&mut self) -> Vec<Link> {
        self.by_hold.clear();
        std::mem::take(&mut self.holders).into_keys().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hold.is_empty()
    }
}

/// What one network fault sets, leaving the rest of the settings as they are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NetLayer {
    PacketLoss { rate: f64 },
    Latency { min_ms: Millis, max_ms: Millis },
}

impl NetLayer {
    fn apply(self, config: &mut NetConfig) {
        match self {
            NetLayer::PacketLoss { rate } => config.packet_loss_rate = rate,
            NetLayer::Latency { min_ms, max_ms } => {
                config.latency_min_ms = min_ms;
                config.latency_max_ms = max_ms;
            }
        }
    }
}

/// The scenario's network settings with the network faults in force laid over them.
#[derive(Debug)]
pub struct NetLayers {
    base: NetConfig,
    layers: BTreeMap<Hold, NetLayer>,
}

impl NetLayers {
    pub fn new(base: NetConfig) -> NetLayers {
        NetLayers { base, layers: BTreeMap::new() }
    }

    pub fn push(&mut self, hold: Hold, layer: NetLayer) {
        self.layers.insert(hold, layer);
    }

    /// Lifts one fault's layer. Returns false if it had none.
    pub fn lift(&mut self, hold: Hold) -> bool {
        self.layers.remove(&hold).is_some()
    }

    /// Lifts every layer: the scenario's own settings again.
    pub fn lift_all(&mut self) {
        self.layers.clear();
    }

    /// The settings in force: the base, then each layer in firing order, the newest winning.
    pub fn effective(&self) -> NetConfig {
        let mut config = self.base.clone();
        for layer in self.layers.values() {
            layer.apply(&mut config);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(seq: u64) -> Hold {
        Hold { seq, at_ms: seq * 1000 }
    }

    fn link(from: u32, to: u32) -> Link {
        (NodeId(from), NodeId(to))
    }

    #[test]
    fn a_link_cut_by_two_partitions_opens_when_the_last_one_ends() {
        let mut cuts = Cuts::default();
        assert_eq!(cuts.add(hold(1), [link(1, 2), link(2, 1)]), [link(1, 2), link(2, 1)]);
        // The second cuts one link again and a new one: only the new one is newly cut.
        assert_eq!(cuts.add(hold(2), [link(1, 2), link(1, 3)]), [link(1, 3)]);
        assert_eq!(cuts.release(hold(1)), Some(Released { opened: vec![link(2, 1)], still_cut: 1 }));
        assert_eq!(
            cuts.release(hold(2)),
            Some(Released { opened: vec![link(1, 2), link(1, 3)], still_cut: 0 })
        );
        assert!(cuts.is_empty());
    }

    #[test]
    fn a_heal_releases_every_partition_and_their_ends_find_nothing() {
        let mut cuts = Cuts::default();
        cuts.add(hold(1), [link(1, 2)]);
        cuts.add(hold(2), [link(1, 2), link(3, 1)]);
        assert_eq!(cuts.release_all(), [link(1, 2), link(3, 1)]);
        assert_eq!(cuts.release(hold(1)), None);
        assert_eq!(cuts.release(hold(2)), None);
    }

    #[test]
    fn network_layers_apply_in_firing_order_and_each_end_lifts_its_own() {
        let base = NetConfig {
            latency_min_ms: 1,
            latency_max_ms: 5,
            packet_loss_rate: 0.0,
            retransmit_timeout_ms: 200,
        };
        let mut net = NetLayers::new(base.clone());
        net.push(hold(1), NetLayer::Latency { min_ms: 400, max_ms: 500 });
        net.push(hold(2), NetLayer::PacketLoss { rate: 0.1 });
        net.push(hold(3), NetLayer::Latency { min_ms: 50, max_ms: 60 });
        let now = net.effective();
        assert_eq!((now.latency_min_ms, now.latency_max_ms, now.packet_loss_rate), (50, 60, 0.1));
        // The packet loss ends: the latest latency stays.
        assert!(net.lift(hold(2)));
        let now = net.effective();
        assert_eq!((now.latency_min_ms, now.latency_max_ms, now.packet_loss_rate), (50, 60, 0.0));
        // The newest latency ends: the older one is in force again.
        assert!(net.lift(hold(3)));
        assert_eq!((net.effective().latency_min_ms, net.effective().latency_max_ms), (400, 500));
        assert!(!net.lift(hold(3)), "a layer is lifted once");
        assert!(net.lift(hold(1)));
        assert_eq!(net.effective(), base);
    }
}
