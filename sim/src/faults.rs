//! Firing a scenario's faults on the cluster: resolving targets (roles are resolved when the
//! fault fires), carrying the fault out, recording it, and remembering how to undo it.
//!
//! A fault aimed at nodes that hits none of them — its role names nobody at that moment
//! (`leader(orders/0)` while the partition has no leader), or every node it names is already in
//! the state it would bring about (a restart of a broker that is up) — is recorded as
//! `Op::FaultHitNobody`, so the trace and the report can say so, and schedules no undo.

use crate::cluster::Cluster;
use crate::history::Op;
use crate::layout::{CONTROLLER, NEMESIS};
use crate::node::Halt;
use crate::scenario::{FaultKind, FaultSpec, Target};
use broker::types::NodeId;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// How to undo a fault that had a `for_ms`, with the nodes it was resolved to.
#[derive(Clone, Debug)]
pub enum Undo {
    Unblock(Vec<(NodeId, NodeId)>),
    Restart(Vec<NodeId>),
    Resume(Vec<NodeId>),
    RestoreNetwork,
}

/// Fires one fault. Returns the undo to schedule `for_ms` later, if the fault asks for one and
/// hit somebody.
pub fn fire(cluster: &mut Cluster, rng: &mut ChaCha8Rng, fault: &FaultSpec) -> Option<Undo> {
    let targets: Vec<Target> = fault
        .target
        .iter()
        .flat_map(|t| t.as_slice())
        .map(|t| Target::parse(t).expect("validated target"))
        .collect();
    let nodes = resolve_all(cluster, rng, &targets, fault.fault);
    let name = fault.fault.name();
    let undo = match fault.fault {
        FaultKind::Partition => {
            let groups = match &fault.groups {
                Some(groups) => groups
                    .iter()
                    .map(|g| {
                        let ts: Vec<Target> =
                            g.iter().map(|t| Target::parse(t).expect("validated group")).collect();
                        resolve_all(cluster, rng, &ts, fault.fault)
                    })
                    .collect(),
                None => {
                    let rest = cluster.all_nodes().into_iter().filter(|n| !nodes.contains(n)).collect();
                    vec![nodes.clone(), rest]
                }
            };
            let pairs = cluster.partition(&groups, fault.one_way);
            if pairs.is_empty() {
                let reason = if nodes.is_empty() {
                    NAMES_NOBODY.to_string()
                } else {
                    format!("{} takes in every node: no link is left to cut", names(cluster, &nodes))
                };
                hit_nobody(cluster, name, target_text(fault), reason);
                return None;
            }
            let detail = format!(
                "{}{}",
                groups.iter().map(|g| names(cluster, g)).collect::<Vec<_>>().join(" | "),
                if fault.one_way { " (one way)" } else { "" }
            );
            record(cluster, name, groups.concat(), detail);
            Undo::Unblock(pairs)
        }
        FaultKind::Heal => {
            cluster.heal_network();
            record(cluster, name, Vec::new(), String::new());
            return None;
        }
        FaultKind::Crash | FaultKind::PowerLoss => {
            let how = if fault.fault == FaultKind::Crash { Halt::ProcessCrash } else { Halt::PowerLoss };
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.halt(n, how)).collect();
            Undo::Restart(record_hits(cluster, fault, &nodes, hit, "already down")?)
        }
        FaultKind::Restart => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.restart(n)).collect();
            record_hits(cluster, fault, &nodes, hit, "already up");
            return None;
        }
        FaultKind::Pause => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.pause(n)).collect();
            Undo::Resume(record_hits(cluster, fault, &nodes, hit, "down or already paused")?)
        }
        FaultKind::Resume => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.resume(n)).collect();
            record_hits(cluster, fault, &nodes, hit, "not paused");
            return None;
        }
        FaultKind::PacketLoss => {
            let rate = fault.rate.expect("validated rate");
            cluster.set_net_config(|c| c.packet_loss_rate = rate);
            record(cluster, name, Vec::new(), format!("rate {rate}"));
            Undo::RestoreNetwork
        }
        FaultKind::Latency => {
            let (min, max) =
                (fault.latency_min_ms.expect("validated"), fault.latency_max_ms.expect("validated"));
            cluster.set_net_config(|c| {
                c.latency_min_ms = min;
                c.latency_max_ms = max;
            });
            record(cluster, name, Vec::new(), format!("{min}..{max} ms"));
            Undo::RestoreNetwork
        }
    };
    fault.for_ms.map(|_| undo)
}

/// Undoes a fault whose `for_ms` is over. Nodes that something else has brought back already
/// (a scripted `restart` or `resume`) are left alone; if that is all of them, the undo hit nobody.
pub fn undo(cluster: &mut Cluster, undo: Undo) {
    match undo {
        Undo::Unblock(pairs) => {
            cluster.unblock(&pairs);
            record(cluster, "heal", Vec::new(), "end of partition".into());
        }
        Undo::Restart(nodes) => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.restart(n)).collect();
            record_undo(cluster, "restart", &nodes, hit, "already up");
        }
        Undo::Resume(nodes) => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.resume(n)).collect();
            record_undo(cluster, "resume", &nodes, hit, "not paused");
        }
        Undo::RestoreNetwork => {
            cluster.restore_net_config();
            record(cluster, "restore-network", Vec::new(), String::new());
        }
    }
}

fn record(cluster: &Cluster, fault: &str, nodes: Vec<NodeId>, detail: String) {
    cluster.record(NEMESIS, Op::Fault { fault: fault.to_string(), nodes, detail });
}

fn hit_nobody(cluster: &Cluster, fault: &str, target: String, reason: String) {
    cluster.record(NEMESIS, Op::FaultHitNobody { fault: fault.to_string(), target, reason });
}

/// Records a targeted fault: the nodes it `hit` of those its target `named`, or that it hit
/// nobody (`state`: why a named node could not be hit). Returns the nodes hit, if any.
fn record_hits(
    cluster: &Cluster,
    fault: &FaultSpec,
    named: &[NodeId],
    hit: Vec<NodeId>,
    state: &str,
) -> Option<Vec<NodeId>> {
    if hit.is_empty() {
        let reason = if named.is_empty() {
            NAMES_NOBODY.to_string()
        } else {
            format!("{} {} {state}", names(cluster, named), if named.len() == 1 { "is" } else { "are" })
        };
        hit_nobody(cluster, fault.fault.name(), target_text(fault), reason);
        return None;
    }
    record(cluster, fault.fault.name(), hit.clone(), String::new());
    Some(hit)
}

fn record_undo(cluster: &Cluster, fault: &str, nodes: &[NodeId], hit: Vec<NodeId>, state: &str) {
    if hit.is_empty() {
        let verb = if nodes.len() == 1 { "is" } else { "are" };
        let reason = format!("end of an earlier fault, but {} {verb} {state}", names(cluster, nodes));
        hit_nobody(cluster, fault, names(cluster, nodes), reason);
    } else {
        record(cluster, fault, hit, String::new());
    }
}

/// Why a fault whose target resolved to no node at all hit nobody.
const NAMES_NOBODY: &str = "the target names no node at this moment";

/// The fault's target as the scenario wrote it.
fn target_text(fault: &FaultSpec) -> String {
    fault.target.as_ref().map(|t| t.as_slice().join(", ")).unwrap_or_default()
}

fn names(cluster: &Cluster, nodes: &[NodeId]) -> String {
    nodes.iter().map(|&n| cluster.layout.name(n)).collect::<Vec<_>>().join(",")
}

fn resolve_all(cluster: &Cluster, rng: &mut ChaCha8Rng, targets: &[Target], kind: FaultKind) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    for t in targets {
        for n in resolve(cluster, rng, t, kind) {
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
    }
    nodes
}

/// The nodes a target names right now. Random choices prefer nodes the fault can act on (a
/// running broker to crash, a stopped one to restart).
fn resolve(cluster: &Cluster, rng: &mut ChaCha8Rng, target: &Target, kind: FaultKind) -> Vec<NodeId> {
    let brokers = &cluster.layout.brokers;
    let partition_state = |tp| cluster.controller_image().partitions.get(tp).cloned();
    match target {
        Target::Node(name) => cluster.layout.by_name(name).into_iter().collect(),
        Target::Controller => vec![CONTROLLER],
        Target::AllBrokers => brokers.clone(),
        Target::RandomBroker => {
            let actionable: Vec<NodeId> = brokers
                .iter()
                .copied()
                .filter(|&b| match kind {
                    FaultKind::Restart => !cluster.is_up(b),
                    FaultKind::Resume => cluster.is_paused(b),
                    FaultKind::Crash | FaultKind::PowerLoss | FaultKind::Pause => {
                        cluster.is_up(b) && !cluster.is_paused(b)
                    }
                    _ => true,
                })
                .collect();
            let pool = if actionable.is_empty() { brokers } else { &actionable };
            pool.choose(rng).copied().into_iter().collect()
        }
        Target::Leader(tp) => partition_state(tp).and_then(|s| s.leader).into_iter().collect(),
        Target::Follower(tp) | Target::Followers(tp) => {
            let Some(s) = partition_state(tp) else { return Vec::new() };
            let followers: Vec<NodeId> =
                s.replicas.iter().copied().filter(|&r| Some(r) != s.leader).collect();
            if matches!(target, Target::Follower(_)) {
                followers.choose(rng).copied().into_iter().collect()
            } else {
                followers
            }
        }
        Target::Replicas(tp) => partition_state(tp).map(|s| s.replicas).unwrap_or_default(),
    }
}
