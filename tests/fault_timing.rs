//! Faults fire when the scenario says: at their instant, however many share it, at no cost in
//! simulated time; a fault at `at_ms = duration_ms` fires before the heal; a fault that finds
//! nobody to hit says so in the trace and the report; and overlapping faults compose, each undo
//! reversing its own fault's effect and nothing else.

mod common;

use broker::effect::ReplicaEvent;
use common::{kafkasim, text};
use sim::history::{History, Op, Phase};
use sim::layout::NEMESIS;
use sim::report::RunReport;
use sim::scenario::{self, Scenario};
use std::sync::Arc;

fn parse(source: &str) -> Scenario {
    scenario::parse(source, "inline.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn run(scenario: &Scenario, seed: u64) -> History {
    sim::run::run(Arc::new(scenario.clone()), seed).expect("the run finishes").history
}

/// The nemesis's own events: (time, fault, nodes or target), faults that hit nobody included.
fn nemesis_events(history: &History) -> Vec<(u64, String, String)> {
    history
        .events
        .iter()
        .filter(|e| e.node == NEMESIS)
        .filter_map(|e| match &e.op {
            Op::Fault { fault, nodes, .. } => {
                let names: Vec<&str> = nodes.iter().map(|&n| history.node_name(n)).collect();
                Some((e.time_ms, fault.clone(), names.join(",")))
            }
            Op::FaultHitNobody { fault, target, .. } => {
                Some((e.time_ms, fault.clone(), format!("nobody: {target}")))
            }
            _ => None,
        })
        .collect()
}

/// Two long lists are equal; if not, says where they first part rather than printing them whole.
#[track_caller]
fn assert_same(got: &[u64], expected: &[u64], what: &str) {
    if let Some(i) = (0..got.len().max(expected.len())).find(|&i| got.get(i) != expected.get(i)) {
        panic!(
            "{what}: the lists ({} and {} long) part at index {i}: got {:?}, expected {:?}",
            got.len(),
            expected.len(),
            got.get(i.saturating_sub(2)..(i + 3).min(got.len())),
            expected.get(i.saturating_sub(2)..(i + 3).min(expected.len())),
        );
    }
}

fn phase_at(history: &History, phase: Phase) -> Option<u64> {
    history.events.iter().find(|e| e.op == Op::Phase(phase)).map(|e| e.time_ms)
}

/// `../shared/cases/dense-faults-drift.toml`: two nemesis streams of 1 ms crashes with no gap.
/// Each stream's fault ends at the instant its next one fires, so every millisecond has two
/// restarts and two crashes. When each of those cost a millisecond of its own, the 20 s fault
/// phase lasted 80 s and the liveness phase gave up at once.
const DENSE: &str = r#"
name = "dense-faults-drift"
description = "two nemesis streams of 1 ms crashes with no gap"
duration_ms = 20000

[[topics]]
name = "orders"

[nemesis]
faults = ["crash"]
start_ms = 0
gap_min_ms = 0
gap_max_ms = 0
duration_min_ms = 1
duration_max_ms = 1
concurrent_faults = 2
"#;

#[test]
fn dense_faults_fire_at_their_scheduled_instants_and_the_fault_phase_ends_at_duration_ms() {
    let scenario = parse(DENSE);
    let seed = 0;
    let output = sim::run::run(Arc::new(scenario.clone()), seed).expect("the run finishes");
    let report = RunReport::new(&scenario, "dense.toml", seed, &Ok(output.clone()));
    let history = output.history;
    // The faults the timeline schedules, as the resolved scenario writes them out.
    let scheduled = sim::resolve::resolve(&scenario, seed).expect("resolves").faults;
    assert_eq!(scheduled.len(), 40_000, "two streams, one fault per millisecond each");

    let events = nemesis_events(&history);
    let crashes: Vec<u64> = events.iter().filter(|e| e.1 == "crash").map(|e| e.0).collect();
    let expected: Vec<u64> = scheduled.iter().map(|f| f.at_ms).collect();
    assert_same(&crashes, &expected, "every crash fires at its at_ms");

    // Every crash that hit a broker is undone for_ms (1 ms) later, up to the end of the phase.
    let mut undos: Vec<u64> = events.iter().filter(|e| e.1 == "restart").map(|e| e.0).collect();
    let mut expected_undos: Vec<u64> = events
        .iter()
        .filter(|e| e.1 == "crash" && !e.2.starts_with("nobody"))
        .map(|e| e.0 + 1)
        .filter(|&t| t <= scenario.duration_ms)
        .collect();
    undos.sort();
    expected_undos.sort();
    assert_same(&undos, &expected_undos, "every undo fires for_ms after its fault");
    // Each restart brings its broker up at that instant, so the crash due then finds it up.
    assert!(events.iter().all(|e| !e.2.starts_with("nobody")), "no fault hit nobody");

    assert_eq!(phase_at(&history, Phase::Healed), Some(scenario.duration_ms));
    assert!(report.passed, "{}", report.render(3));
    assert!(phase_at(&history, Phase::Converged).is_some());
}

#[test]
fn a_fault_at_duration_ms_fires_after_the_undos_due_then_and_before_the_heal() {
    let scenario = parse(
        r#"
name = "at-the-end"
description = "faults and undos at the very end of the fault phase"
duration_ms = 10000

[[topics]]
name = "orders"

# Undone at 10000, the end of the fault phase: the undo fires.
[[faults]]
at_ms = 9000
fault = "pause"
target = "broker-2"
for_ms = 1000

# Undone after the end of the fault phase: the heal restarts broker-3 instead.
[[faults]]
at_ms = 9500
fault = "crash"
target = "broker-3"
for_ms = 5000

# At the very end: it fires, and the heal restarts broker-1 at once.
[[faults]]
at_ms = 10000
fault = "power-loss"
target = "broker-1"
"#,
    );
    let history = run(&scenario, 1);
    let expected = [
        (9000, "pause", "broker-2"),
        (9500, "crash", "broker-3"),
        (10000, "resume", "broker-2"),
        (10000, "power-loss", "broker-1"),
    ];
    let expected: Vec<(u64, String, String)> =
        expected.iter().map(|&(t, f, n)| (t, f.to_string(), n.to_string())).collect();
    assert_eq!(nemesis_events(&history), expected);
    let healed = history.events.iter().position(|e| e.op == Op::Phase(Phase::Healed)).expect("healed");
    assert_eq!(history.events[healed].time_ms, 10000);
    let power_loss = history
        .events
        .iter()
        .position(|e| matches!(&e.op, Op::Fault { fault, .. } if fault == "power-loss"))
        .expect("the power loss is recorded");
    assert!(power_loss < healed, "the power loss fires before the heal");
    assert!(phase_at(&history, Phase::Converged).is_some(), "the cluster converges after the heal");
}

/// orders/0 has one replica, on broker-1. Once broker-1 has crashed and been fenced, the
/// partition has no leader, so `leader(orders/0)` names nobody; broker-2 is up, so restarting it
/// hits nobody either.
const MISSES: &str = r#"
name = "misses"
description = "faults that find nobody to hit"
duration_ms = 25000

[[topics]]
name = "orders"
replication_factor = 1

[[faults]]
at_ms = 2000
fault = "crash"
target = "broker-1"

[[faults]]
at_ms = 3000
fault = "restart"
target = "broker-2"

[[faults]]
at_ms = 20000
fault = "pause"
target = "leader(orders/0)"
for_ms = 1000
"#;

const ALREADY_UP: &str = "broker-2 is already up";
const NAMES_NOBODY: &str = "the target names no node at this moment";

#[test]
fn a_fault_that_hits_nobody_is_recorded_with_its_time_and_schedules_no_undo() {
    let history = run(&parse(MISSES), 0);
    let missed: Vec<(u64, String, String)> = nemesis_events(&history).into_iter().skip(1).collect();
    assert_eq!(
        missed,
        [
            (3000, "restart".to_string(), "nobody: broker-2".to_string()),
            (20000, "pause".to_string(), "nobody: leader(orders/0)".to_string()),
        ]
    );
    let reasons: Vec<&str> = history
        .events
        .iter()
        .filter_map(|e| match &e.op {
            Op::FaultHitNobody { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [ALREADY_UP, NAMES_NOBODY]);
}

#[test]
fn faults_that_hit_nobody_are_in_the_trace_and_both_reports() {
    let dir = std::env::temp_dir().join(format!("kafkasim-misses-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("misses.toml");
    std::fs::write(&file, MISSES).unwrap();
    let file = file.to_str().unwrap();

    let o = kafkasim(&["run", file, "--seed", "0", "--trace"]);
    let out = text(&o.stdout);
    assert!(
        out.contains(&format!("    3.000s nemesis       FAULT restart broker-2 hit nobody: {ALREADY_UP}\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "   20.000s nemesis       FAULT pause leader(orders/0) hit nobody: {NAMES_NOBODY}\n"
        )),
        "{out}"
    );
    let report = format!(
        "  2 faults hit nobody:\n      restart broker-2 at 3000 ms hit nobody: {ALREADY_UP}\n      \
         pause leader(orders/0) at 20000 ms hit nobody: {NAMES_NOBODY}\n"
    );
    assert!(out.contains(&report), "{out}");

    let o = kafkasim(&["run", file, "--seed", "0", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["faults_hit_nobody"], 2);
    assert_eq!(
        v["missed_faults"],
        serde_json::json!([
            {"time_ms": 3000, "fault": "restart", "target": "broker-2", "reason": ALREADY_UP},
            {"time_ms": 20000, "fault": "pause", "target": "leader(orders/0)", "reason": NAMES_NOBODY},
        ])
    );
}

#[test]
fn an_undo_whose_nodes_are_back_already_hits_nobody() {
    let scenario = parse(
        r#"
name = "early-restart"
description = "a crash restarted by hand before its for_ms runs out"
duration_ms = 10000

[[topics]]
name = "orders"

[[faults]]
at_ms = 1000
fault = "crash"
target = "broker-1"
for_ms = 3000

[[faults]]
at_ms = 2000
fault = "restart"
target = "broker-1"
"#,
    );
    let history = run(&scenario, 0);
    let expected =
        [(1000, "crash", "broker-1"), (2000, "restart", "broker-1"), (4000, "restart", "nobody: broker-1")];
    let expected: Vec<(u64, String, String)> =
        expected.iter().map(|&(t, f, n)| (t, f.to_string(), n.to_string())).collect();
    assert_eq!(nemesis_events(&history), expected);
    let reason = history.events.iter().find_map(|e| match &e.op {
        Op::FaultHitNobody { reason, .. } => Some(reason.as_str()),
        _ => None,
    });
    assert_eq!(reason, Some("end of the crash fault at 1000 ms, but broker-1 is already up"));
}

/// Faults at one instant share one replica-log snapshot (no node runs between them), unless a
/// broker has been restarted at that instant since: then the next fault takes a new one.
#[test]
fn faults_at_one_instant_share_a_snapshot_until_a_broker_comes_back() {
    let source = |middle: &str| {
        format!(
            r#"
name = "snapshots"
description = "faults at one instant"
duration_ms = 6000

[[topics]]
name = "orders"

[[faults]]
at_ms = 2000
fault = "crash"
target = "broker-1"

[[faults]]
at_ms = 3000
fault = "pause"
target = "broker-3"
for_ms = 100

[[faults]]
at_ms = 3000
fault = "{middle}"
target = "broker-1"

[[faults]]
at_ms = 3000
fault = "pause"
target = "broker-2"
for_ms = 100
"#
        )
    };
    let snapshots_at_3000 = |middle: &str| {
        let history = run(&parse(&source(middle)), 0);
        let logs = |broker: &str| {
            history
                .events
                .iter()
                .filter(|e| e.time_ms == 3000 && history.node_name(e.node) == broker)
                .filter(|e| matches!(e.op, Op::ReplicaLog { .. }))
                .count()
        };
        (logs("broker-2"), logs("broker-3"))
    };
    // A second crash of broker-1 hits nobody: the three faults share one snapshot.
    assert_eq!(snapshots_at_3000("crash"), (1, 1));
    // A restart brings broker-1 back: the last pause takes a second snapshot. (broker-1 itself is
    // in neither: it has no partitions until the controller's metadata reaches it.)
    assert_eq!(snapshots_at_3000("restart"), (2, 2));
}

/// When the controller fenced and unfenced `broker`: (time, fenced?).
fn fencing(history: &History, broker: &str) -> Vec<(u64, bool)> {
    history
        .events
        .iter()
        .filter_map(|e| match &e.op {
            Op::Replica(ReplicaEvent::BrokerFenced { broker: b }) if history.node_name(*b) == broker => {
                Some((e.time_ms, true))
            }
            Op::Replica(ReplicaEvent::BrokerUnfenced { broker: b }) if history.node_name(*b) == broker => {
                Some((e.time_ms, false))
            }
            _ => None,
        })
        .collect()
}

/// The nemesis's events with their details: (time, fault, detail or reason).
fn nemesis_details(history: &History) -> Vec<(u64, String, String)> {
    history
        .events
        .iter()
        .filter(|e| e.node == NEMESIS)
        .filter_map(|e| match &e.op {
            Op::Fault { fault, detail, .. } => Some((e.time_ms, fault.clone(), detail.clone())),
            Op::FaultHitNobody { fault, reason, .. } => {
                Some((e.time_ms, fault.clone(), format!("hit nobody: {reason}")))
            }
            _ => None,
        })
        .collect()
}

/// broker-3 is cut off from 5 s to 8 s and again from 6 s to 21 s. The end of the first
/// partition leaves it cut off: the second still cuts every one of its links, so broker-3 misses
/// its heartbeats, is fenced once its 9 s session runs out, and is back only after 21 s. (When
/// the first partition's end healed both, broker-3 was never fenced.)
#[test]
fn a_link_cut_by_two_partitions_stays_cut_until_the_last_one_ends() {
    let scenario = parse(
        r#"
name = "partition-undo-overlap"
description = "two partitions of broker-3, the second inside the first"
duration_ms = 30000

[[topics]]
name = "t"

[[producers]]
topic = "t"
messages = 1000

[[faults]]
at_ms = 5000
fault = "partition"
target = "broker-3"
for_ms = 3000

[[faults]]
at_ms = 6000
fault = "partition"
target = "broker-3"
for_ms = 15000
"#,
    );
    let history = run(&scenario, 0);
    let ends: Vec<(u64, String, String)> =
        nemesis_details(&history).into_iter().filter(|e| e.1 == "heal").collect();
    let expected = [
        (8000, "end of the partition fault at 5000 ms; 10 of its links stay cut by another partition"),
        (21000, "end of the partition fault at 6000 ms"),
    ];
    let expected: Vec<(u64, String, String)> =
        expected.iter().map(|&(t, d)| (t, "heal".to_string(), d.to_string())).collect();
    assert_eq!(ends, expected);
    let fencing = fencing(&history, "broker-3");
    assert!(
        matches!(fencing[..], [(fenced, true), (back, false)] if (13_000..14_000).contains(&fenced) && back > 21_000),
        "broker-3 is fenced 9 s after its last heartbeat before 5 s, and unfenced after 21 s: {fencing:?}"
    );
    assert!(phase_at(&history, Phase::Converged).is_some());
}

/// A scripted `heal` ends every partition; the later end of one of them hits nobody.
#[test]
fn a_heal_ends_every_partition_and_their_ends_hit_nobody() {
    let scenario = parse(
        r#"
name = "heal-then-end"
description = "a heal inside a partition"
duration_ms = 10000

[[topics]]
name = "t"

[[faults]]
at_ms = 1000
fault = "partition"
target = "broker-3"
for_ms = 5000

[[faults]]
at_ms = 2000
fault = "heal"
"#,
    );
    let history = run(&scenario, 0);
    let events = nemesis_details(&history);
    assert_eq!(events[1], (2000, "heal".to_string(), String::new()));
    assert_eq!(
        events[2],
        (
            6000,
            "heal".to_string(),
            "hit nobody: end of the partition fault at 1000 ms, but the heal at 2000 ms ended it already"
                .to_string()
        )
    );
    assert_eq!(fencing(&history, "broker-3"), [], "cut off for 1 s only, broker-3 keeps its session");
}

/// Sends acknowledged by acks=all, with when each was sent and acknowledged.
fn ack_times(history: &History) -> Vec<(u64, u64)> {
    let mut sent = std::collections::BTreeMap::new();
    let mut acks = Vec::new();
    for e in &history.events {
        match &e.op {
            Op::SendInvoke { value, .. } => {
                sent.insert(*value, e.time_ms);
            }
            Op::SendOk { value, .. } => acks.push((sent[value], e.time_ms)),
            _ => {}
        }
    }
    acks
}

/// A 20 s latency fault (400 to 500 ms one way) with a 1 s packet-loss fault inside it. The end
/// of the packet loss lifts only the loss: the latency stays until its own end at 25 s. So every
/// send between the two ends takes at least two one-way trips of 400 ms to be acknowledged, and
/// sends after 25 s are fast again. (When the packet loss's end restored the base settings, the
/// latency ended at 7 s.)
#[test]
fn the_end_of_a_network_fault_lifts_only_its_own_setting() {
    let scenario = parse(
        r#"
name = "netfault-overlap"
description = "a packet-loss fault inside a latency fault"
duration_ms = 30000

[[topics]]
name = "t"

# Sends until the end of the fault phase.
[[producers]]
topic = "t"
messages = 2000

[[faults]]
at_ms = 5000
fault = "latency"
latency_min_ms = 400
latency_max_ms = 500
for_ms = 20000

[[faults]]
at_ms = 6000
fault = "packet-loss"
rate = 0.1
for_ms = 1000
"#,
    );
    let history = run(&scenario, 0);
    let restores: Vec<(u64, String, String)> =
        nemesis_details(&history).into_iter().filter(|e| e.1 == "restore-network").collect();
    let expected = [
        (7000, "end of the packet-loss fault at 6000 ms; in force: latency 400..500 ms, packet loss rate 0"),
        (25000, "end of the latency fault at 5000 ms; in force: latency 1..5 ms, packet loss rate 0"),
    ];
    let expected: Vec<(u64, String, String)> =
        expected.iter().map(|&(t, d)| (t, "restore-network".to_string(), d.to_string())).collect();
    assert_eq!(restores, expected);

    let acks = ack_times(&history);
    let slow: Vec<u64> =
        acks.iter().filter(|&&(sent, _)| (7_000..24_000).contains(&sent)).map(|&(s, a)| a - s).collect();
    assert!(slow.len() > 100, "{} sends acknowledged between the two ends", slow.len());
    assert!(slow.iter().all(|&ms| ms >= 800), "an ack took {:?} ms", slow.iter().min());
    let fast: Vec<u64> = acks.iter().filter(|&&(sent, _)| sent >= 27_000).map(|&(s, a)| a - s).collect();
    assert!(!fast.is_empty() && fast.iter().all(|&ms| ms < 100), "after 25 s: {fast:?}");
}

/// Two nemesis streams of latency and packet-loss faults that overlap: after every end, the
/// settings in force are the scenario's with the faults still in force laid over them in firing
/// order, as a model computed from the resolved timeline says.
#[test]
fn overlapping_nemesis_network_faults_compose() {
    let scenario = parse(
        r#"
name = "network-streams"
description = "two streams of network faults"
duration_ms = 60000

[[topics]]
name = "t"

[network]
packet_loss_rate = 0.01

[nemesis]
faults = ["latency", "packet-loss"]
start_ms = 1000
gap_min_ms = 0
gap_max_ms = 2000
duration_min_ms = 500
duration_max_ms = 6000
packet_loss_rate = 0.2
concurrent_faults = 2
"#,
    );
    let seed = 3;
    let faults = sim::resolve::resolve(&scenario, seed).expect("resolves").faults;
    // The model: each fault in force with its end, in firing order.
    let mut in_force: Vec<(u64, &sim::scenario::FaultSpec)> = Vec::new();
    let mut expected = Vec::new();
    let mut ends: Vec<(u64, usize)> = faults
        .iter()
        .enumerate()
        .map(|(i, f)| (f.at_ms + f.for_ms.expect("drawn faults end"), i))
        .filter(|&(end, _)| end <= scenario.duration_ms)
        .collect();
    ends.sort();
    let mut next = 0;
    for (end, i) in ends {
        // Faults that fired before this end (at one instant, ends go first) are in force.
        while next < faults.len() && faults[next].at_ms < end {
            in_force.push((faults[next].at_ms + faults[next].for_ms.unwrap(), &faults[next]));
            next += 1;
        }
        let at = in_force.iter().position(|&(_, f)| std::ptr::eq(f, &faults[i])).expect("in force");
        in_force.remove(at);
        let (mut min, mut max, mut loss) = (1, 5, 0.01);
        for (_, f) in &in_force {
            match f.fault {
                sim::scenario::FaultKind::Latency => {
                    (min, max) = (f.latency_min_ms.unwrap(), f.latency_max_ms.unwrap());
                }
                _ => loss = f.rate.unwrap(),
            }
        }
        expected.push((end, format!("latency {min}..{max} ms, packet loss rate {loss}")));
    }
    let overlapping = expected.len();
    assert!(overlapping > 10, "{overlapping} ends");

    let history = run(&scenario, seed);
    let got: Vec<(u64, String)> = nemesis_details(&history)
        .into_iter()
        .filter(|e| e.1 == "restore-network")
        .map(|(t, _, d)| (t, d.split("in force: ").nth(1).expect("the settings in force").to_string()))
        .collect();
    assert_eq!(got, expected);
    assert!(
        expected.iter().any(|(_, s)| s != "latency 1..5 ms, packet loss rate 0.01"),
        "some end leaves another stream's fault in force"
    );
}

/// broker-3 crashes at 1 s for 5 s, is restarted by hand at 2 s and crashes for good at 3 s.
/// The first crash's end at 6 s finds broker-3 down from the second crash, not its own, and
/// leaves it down: it hits nobody and says why, and broker-3 stays fenced until the heal at 20 s.
#[test]
fn a_stale_crash_undo_leaves_a_node_that_went_down_again_alone() {
    let scenario = parse(
        r#"
name = "crash-undo-overlap"
description = "crash for 5 s, restarted early by hand, crashed again for good"
duration_ms = 20000

[[topics]]
name = "t"

[[producers]]
topic = "t"

[[faults]]
at_ms = 1000
fault = "crash"
target = "broker-3"
for_ms = 5000

[[faults]]
at_ms = 2000
fault = "restart"
target = "broker-3"

[[faults]]
at_ms = 3000
fault = "crash"
target = "broker-3"
"#,
    );
    let history = run(&scenario, 0);
    let expected = [
        (1000, "crash", "broker-3"),
        (2000, "restart", "broker-3"),
        (3000, "crash", "broker-3"),
        (6000, "restart", "nobody: broker-3"),
    ];
    let expected: Vec<(u64, String, String)> =
        expected.iter().map(|&(t, f, n)| (t, f.to_string(), n.to_string())).collect();
    assert_eq!(nemesis_events(&history), expected);
    assert_eq!(
        nemesis_details(&history)[3].2,
        "hit nobody: end of the crash fault at 1000 ms, but broker-3 went down again at 3000 ms"
    );
    let fencing = fencing(&history, "broker-3");
    assert!(
        matches!(fencing[..], [(fenced, true), (back, false)] if fenced < 20_000 && back > 20_000),
        "broker-3 stays down and fenced until the heal: {fencing:?}"
    );
}

/// The same for a pause: resumed by hand and paused again, a node is left to the second pause.
#[test]
fn a_stale_pause_undo_leaves_a_node_paused_again_alone() {
    let scenario = parse(
        r#"
name = "pause-undo-overlap"
description = "pause for 5 s, resumed early by hand, paused again for 10 s"
duration_ms = 20000

[[topics]]
name = "t"

[[faults]]
at_ms = 1000
fault = "pause"
target = ["broker-2", "broker-3"]
for_ms = 5000

[[faults]]
at_ms = 2000
fault = "resume"
target = "broker-3"

[[faults]]
at_ms = 3000
fault = "pause"
target = "broker-3"
for_ms = 10000
"#,
    );
    let history = run(&scenario, 0);
    let events: Vec<(u64, String, String)> = nemesis_details(&history);
    let resumes: Vec<&(u64, String, String)> = events.iter().filter(|e| e.1 == "resume").collect();
    assert_eq!(resumes.len(), 3, "{events:?}");
    assert_eq!(resumes[1].0, 6000);
    assert_eq!(resumes[1].2, "end of the pause fault at 1000 ms; broker-3 was paused again at 3000 ms");
    assert_eq!((resumes[2].0, resumes[2].2.as_str()), (13000, "end of the pause fault at 3000 ms"));
    let resumed: Vec<(u64, String)> =
        nemesis_events(&history).into_iter().filter(|e| e.1 == "resume").map(|(t, _, n)| (t, n)).collect();
    assert_eq!(
        resumed,
        [(2000, "broker-3".to_string()), (6000, "broker-2".to_string()), (13000, "broker-3".to_string())]
    );
}
