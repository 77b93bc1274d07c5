//! Firing a scenario's faults on the cluster: resolving targets (roles are resolved when the
//! fault fires), carrying the fault out, recording it, and remembering how to undo it.
//!
//! A fault aimed at nodes that hits none of them — its role names nobody at that moment
//! (`leader(orders/0)` while the partition has no leader), or every node it names is already in
//! the state it would bring about (a restart of a broker that is up) — is recorded as
//! `Op::FaultHitNobody`, so the trace and the report can say so, and schedules no undo.
//!
//! **Overlapping faults compose.** Every fault that takes effect gets a [`Hold`], and its undo
//! (`for_ms` later) reverses that fault's own effect and nothing else (see `holds`):
//! - the end of a partition opens only the links no other partition still cuts; a scripted
//!   `heal` ends every partition, and the later end of one it ended hits nobody;
//! - the end of a `latency` or `packet-loss` fault lifts its own setting; the settings in force
//!   are the scenario's `[network]` with the remaining faults' settings applied in firing order,
//!   the newest winning;
//! - the end of a crash, power loss or pause restarts (resumes) a node only if it is still down
//!   (paused) from that fault. If something else brought it back, or brought it back and it went
//!   down again since, the undo leaves it alone; if that is true of every node, the undo hit
//!   nobody, and says why.

use crate::cluster::Cluster;
use crate::history::Op;
use crate::holds::{Hold, NetLayer};
use crate::layout::{CONTROLLER, NEMESIS};
use crate::net::NetConfig;
use crate::node::Halt;
use crate::scenario::{FaultKind, FaultSpec, Target};
use broker::types::NodeId;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// How to undo a fault that had a `for_ms`: which fault it was, its hold, and what to reverse.
#[derive(Clone, Debug)]
pub struct Undo {
    kind: FaultKind,
    hold: Hold,
    reverse: Reverse,
}

#[derive(Clone, Debug)]
enum Reverse {
    /// End the partition; `sides` names its groups, for the reports.
    EndPartition {
        sides: String,
    },
    Restart(Vec<NodeId>),
    Resume(Vec<NodeId>),
    LiftNetLayer,
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
    let hold = cluster.new_hold();
    let reverse = match fault.fault {
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
            let links = cluster.partition(&groups, fault.one_way, hold);
            if links.is_empty() {
                let reason = if nodes.is_empty() {
                    NAMES_NOBODY.to_string()
                } else {
                    format!("{} takes in every node: no link is left to cut", names(cluster, &nodes))
                };
                hit_nobody(cluster, name, target_text(fault), reason);
                return None;
            }
            let sides = groups.iter().map(|g| names(cluster, g)).collect::<Vec<_>>().join(" | ");
            let detail = format!("{sides}{}", if fault.one_way { " (one way)" } else { "" });
            record(cluster, name, groups.concat(), detail);
            Reverse::EndPartition { sides }
        }
        FaultKind::Heal => {
            cluster.heal_network();
            record(cluster, name, Vec::new(), String::new());
            return None;
        }
        FaultKind::Crash | FaultKind::PowerLoss => {
            let how = if fault.fault == FaultKind::Crash { Halt::ProcessCrash } else { Halt::PowerLoss };
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.halt(n, how, hold)).collect();
            Reverse::Restart(record_hits(cluster, fault, &nodes, hit, "already down")?)
        }
        FaultKind::Restart => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.restart(n)).collect();
            record_hits(cluster, fault, &nodes, hit, "already up");
            return None;
        }
        FaultKind::Pause => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.pause(n, hold)).collect();
            Reverse::Resume(record_hits(cluster, fault, &nodes, hit, "down or already paused")?)
        }
        FaultKind::Resume => {
            let hit: Vec<NodeId> = nodes.iter().copied().filter(|&n| cluster.resume(n)).collect();
            record_hits(cluster, fault, &nodes, hit, "not paused");
            return None;
        }
        FaultKind::PacketLoss => {
            let rate = fault.rate.expect("validated rate");
            cluster.push_net_layer(hold, NetLayer::PacketLoss { rate });
            record(cluster, name, Vec::new(), format!("rate {rate}"));
            Reverse::LiftNetLayer
        }
        FaultKind::Latency => {
            let (min_ms, max_ms) =
                (fault.latency_min_ms.expect("validated"), fault.latency_max_ms.expect("validated"));
            cluster.push_net_layer(hold, NetLayer::Latency { min_ms, max_ms });
            record(cluster, name, Vec::new(), format!("{min_ms}..{max_ms} ms"));
            Reverse::LiftNetLayer
        }
    };
    fault.for_ms.map(|_| Undo { kind: fault.fault, hold, reverse })
}

/// Undoes a fault whose `for_ms` is over: reverses that fault's own effect, and nothing another
/// fault still holds (see the module's doc).
pub fn undo(cluster: &mut Cluster, undo: Undo) {
    let Undo { kind, hold, reverse } = undo;
    let end = format!("end of the {} fault at {} ms", kind.name(), hold.at_ms);
    match reverse {
        Reverse::EndPartition { sides } => match cluster.end_partition(hold) {
            Some(released) if released.still_cut > 0 => {
                let still = released.still_cut;
                let detail = format!(
                    "{end}; {still} of its links stay{} cut by another partition",
                    if still == 1 { "s" } else { "" }
                );
                record(cluster, "heal", Vec::new(), detail);
            }
            Some(_) => record(cluster, "heal", Vec::new(), end),
            None => {
                let heal = cluster.last_heal_ms().expect("only a heal ends a partition before its own end");
                hit_nobody(
                    cluster,
                    "heal",
                    sides,
                    format!("{end}, but the heal at {heal} ms ended it already"),
                );
            }
        },
        Reverse::Restart(nodes) => {
            let (hit, misses) = split_by_hold(nodes, |n| cluster.down_hold(n), hold);
            for &n in &hit {
                cluster.restart(n);
            }
            record_undo(cluster, "restart", &end, hit, &misses);
        }
        Reverse::Resume(nodes) => {
            let (hit, misses) = split_by_hold(nodes, |n| cluster.pause_hold(n), hold);
            for &n in &hit {
                cluster.resume(n);
            }
            record_undo(cluster, "resume", &end, hit, &misses);
        }
        Reverse::LiftNetLayer => {
            cluster.lift_net_layer(hold);
            let detail = format!("{end}; in force: {}", describe_net(&cluster.net_config()));
            record(cluster, "restore-network", Vec::new(), detail);
        }
    }
}

/// The network settings a fault can change, as the trace shows them.
fn describe_net(config: &NetConfig) -> String {
    format!(
        "latency {}..{} ms, packet loss rate {}",
        config.latency_min_ms, config.latency_max_ms, config.packet_loss_rate
    )
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

/// Why an undo left a node alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Left {
    /// Something else brought it back already (a scripted `restart` or `resume`).
    Back,
    /// It was brought back and another fault took it down (or paused it) again, at this time.
    TakenAgain(u64),
}

/// Splits an undo's nodes into those still held by its own fault (`held` gives each node's
/// current hold, if any) and those it must leave alone, with why.
fn split_by_hold(
    nodes: Vec<NodeId>,
    held: impl Fn(NodeId) -> Option<Hold>,
    hold: Hold,
) -> (Vec<NodeId>, Vec<(NodeId, Left)>) {
    let mut hit = Vec::new();
    let mut misses = Vec::new();
    for n in nodes {
        match held(n) {
            Some(h) if h == hold => hit.push(n),
            Some(h) => misses.push((n, Left::TakenAgain(h.at_ms))),
            None => misses.push((n, Left::Back)),
        }
    }
    (hit, misses)
}

/// Records a `restart` or `resume` undo: the nodes it `hit`, and why it left the others alone.
/// With nobody hit, the undo hit nobody.
fn record_undo(cluster: &Cluster, fault: &str, end: &str, hit: Vec<NodeId>, misses: &[(NodeId, Left)]) {
    // Nodes left alone for the same reason share one phrase: "broker-1,broker-2 are already up".
    let mut groups: Vec<(Left, Vec<NodeId>)> = Vec::new();
    for &(n, left) in misses {
        match groups.iter_mut().find(|(l, _)| *l == left) {
            Some((_, nodes)) => nodes.push(n),
            None => groups.push((left, vec![n])),
        }
    }
    let why: Vec<String> = groups
        .iter()
        .map(|(left, nodes)| {
            let one = nodes.len() == 1;
            let state = match (left, fault == "restart") {
                (Left::Back, true) => format!("{} already up", if one { "is" } else { "are" }),
                (Left::Back, false) => format!("{} not paused", if one { "is" } else { "are" }),
                (Left::TakenAgain(t), true) => format!("went down again at {t} ms"),
                (Left::TakenAgain(t), false) => {
                    format!("{} paused again at {t} ms", if one { "was" } else { "were" })
                }
            };
            format!("{} {state}", names(cluster, nodes))
        })
        .collect();
    if hit.is_empty() {
        let all: Vec<NodeId> = misses.iter().map(|&(n, _)| n).collect();
        hit_nobody(cluster, fault, names(cluster, &all), format!("{end}, but {}", why.join("; ")));
    } else if why.is_empty() {
        record(cluster, fault, hit, end.to_string());
    } else {
        record(cluster, fault, hit, format!("{end}; {}", why.join("; ")));
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
