//! What clients observe when the leader's connections meet each fault kind, end to end on a
//! small cluster (three brokers, one acks=all producer, one consumer, orders/0 led by broker-1):
//! the rows of the table in `sim/src/net.rs`, each with the figure it must give.

use broker::types::{Millis, NodeId};
use sim::history::{History, Op};
use sim::scenario;
use std::sync::Arc;

const BROKER_1: NodeId = NodeId(1);
const PRODUCER: NodeId = NodeId(1000);
const CONSUMER: NodeId = NodeId(2000);

/// Runs the small cluster with `faults` (TOML `[[faults]]` tables) for seed 0.
fn run(name: &str, duration_ms: Millis, faults: &str) -> History {
    run_at_rate(name, duration_ms, 20, faults)
}

/// As `run`, with the producer sending `messages_per_sec`; `faults` may set `[network]` too.
fn run_at_rate(name: &str, duration_ms: Millis, messages_per_sec: u32, faults: &str) -> History {
    let source = format!(
        r#"
name = "{name}"
description = "A connection fault row."
duration_ms = {duration_ms}

[[topics]]
name = "orders"
partitions = 1
replication_factor = 3
min_insync_replicas = 2

[[producers]]
topic = "orders"
acks = "all"
messages = 3_000
messages_per_sec = {messages_per_sec}

{faults}
"#
    );
    let s = scenario::parse(&source, &format!("{name}.toml")).unwrap_or_else(|e| panic!("{e}"));
    sim::run::run(Arc::new(s), 0).unwrap_or_else(|f| panic!("{name}: {f:?}")).history
}

/// When `node` first did what `is` says after `after_ms`.
fn first_after(h: &History, node: NodeId, after_ms: Millis, is: impl Fn(&Op) -> bool) -> Option<Millis> {
    h.events.iter().find(|e| e.node == node && e.time_ms > after_ms && is(&e.op)).map(|e| e.time_ms)
}

fn is_poll(op: &Op) -> bool {
    matches!(op, Op::Poll { .. })
}

fn is_ack(op: &Op) -> bool {
    matches!(op, Op::SendOk { .. })
}

fn sends_resolved_otherwise(h: &History) -> usize {
    h.events.iter().filter(|e| matches!(e.op, Op::SendFail { .. } | Op::SendInfo { .. })).count()
}

/// Crash: the host resets every connection of the process at once — the consumer's long-poll fetch
/// in flight included — so the consumer asks another broker for metadata and polls the new leader
/// right after the election (the controller fences broker-1 ~9 s after its last heartbeat), not
/// after its 30 s request timeout (which gave ~40 s).
#[test]
fn crash_the_consumer_polls_the_new_leader_right_after_the_election() {
    let h = run(
        "crash-resets-in-flight",
        60_000,
        r#"
[[faults]]
at_ms = 10_004
fault = "crash"
target = "broker-1"
for_ms = 1_000
"#,
    );
    let poll = first_after(&h, CONSUMER, 10_010, is_poll).expect("the consumer polls again");
    assert!(poll < 20_000, "first poll after the crash at {poll} ms");
    let ack = first_after(&h, PRODUCER, 10_010, is_ack).expect("the producer is acknowledged again");
    assert!(ack < 20_000, "first ack after the crash at {ack} ms");
}

/// Power loss: nothing answers, so the clients learn only when their requests time out (30 s after
/// the last ones went, just before 10 s); then they ask another broker for metadata — not the dead
/// one again — and the leader elected at ~19 s takes the next batch.
#[test]
fn power_loss_clients_wait_their_request_timeout_then_ask_another_broker() {
    let h = run(
        "metadata-after-power-loss",
        90_000,
        r#"
[[faults]]
at_ms = 10_000
fault = "power-loss"
target = "broker-1"
"#,
    );
    let ack = first_after(&h, PRODUCER, 10_100, is_ack).expect("the producer is acknowledged again");
    assert!((39_000..45_000).contains(&ack), "first ack after the power loss at {ack} ms");
    let poll = first_after(&h, CONSUMER, 10_100, is_poll).expect("the consumer polls again");
    assert!((39_000..45_000).contains(&poll), "first poll after the power loss at {poll} ms");
}

/// Pause: a paused broker answers nothing; its peers wait out their own timeouts, as after a power
/// loss, and the batches they had in flight are retried on the new leader.
#[test]
fn pause_clients_wait_their_request_timeout() {
    let h = run(
        "pause-leader",
        90_000,
        r#"
[[faults]]
at_ms = 10_000
fault = "pause"
target = "broker-1"
"#,
    );
    let ack = first_after(&h, PRODUCER, 10_100, is_ack).expect("the producer is acknowledged again");
    assert!((39_000..45_000).contains(&ack), "first ack after the pause at {ack} ms");
}

/// Crash, power loss and pause of the leader with an ack on the wire: the "ack sent, then the leader
/// dies" window. At a fixed 5 ms latency and 40 sends a second, an ack is on the wire for a few of
/// every 25 ms; each fault is tried at every millisecond of one such stretch. The producer reads
/// every ack the leader had sent (none later than one latency after the fault), and each is true:
/// its record is in the final log.
#[test]
fn an_ack_on_the_wire_when_the_leader_stops_reaches_the_producer() {
    for fault in ["crash", "power-loss", "pause"] {
        let mut caught = Vec::new();
        for at in 10_000..10_025 {
            let faults = format!(
                "[network]\nlatency_min_ms = 5\nlatency_max_ms = 5\n\n\
                 [[faults]]\nat_ms = {at}\nfault = \"{fault}\"\ntarget = \"broker-1\"\n"
            );
            let h = run_at_rate("ack-on-the-wire", 20_000, 40, &faults);
            let read: Vec<u64> = h
                .events
                .iter()
                .flat_map(|e| match &e.op {
                    Op::FinalRead { records, .. } => records.iter().map(|r| r.value).collect(),
                    _ => Vec::new(),
                })
                .collect();
            for e in
                h.events.iter().filter(|e| e.node == PRODUCER && (at + 1..at + 1_000).contains(&e.time_ms))
            {
                if let Op::SendOk { value, broker: BROKER_1, .. } = e.op {
                    assert!(e.time_ms <= at + 5, "{fault} at {at}: an ack from broker-1 at {} ms", e.time_ms);
                    assert!(
                        read.contains(&value),
                        "{fault} at {at}: acked value {value} is not in the final log"
                    );
                    caught.push(at);
                }
            }
        }
        assert!(!caught.is_empty(), "{fault}: no ack was on the wire at any of 25 instants");
    }
}

/// Partition: the same silence across the cut.
#[test]
fn partition_clients_wait_their_request_timeout() {
    let h = run(
        "isolate-leader",
        90_000,
        r#"
[[faults]]
at_ms = 10_000
fault = "partition"
target = "broker-1"
"#,
    );
    let ack = first_after(&h, PRODUCER, 10_100, is_ack).expect("the producer is acknowledged again");
    assert!((39_000..45_000).contains(&ack), "first ack after the partition at {ack} ms");
}

/// Restart after a power loss: the old connections are dead (their clients still wait out their
/// timeouts), new ones work — broker-1 fetches as a follower again and rejoins the ISR — and no
/// send is left unresolved or failed.
#[test]
fn restart_new_connections_work_old_ones_are_dead() {
    let h = run(
        "power-loss-restart",
        90_000,
        r#"
[[faults]]
at_ms = 10_000
fault = "power-loss"
target = "broker-1"
for_ms = 2_000
"#,
    );
    let ack = first_after(&h, PRODUCER, 10_100, is_ack).expect("the producer is acknowledged again");
    assert!(ack > 39_000, "an old connection answered after the restart: ack at {ack} ms");
    let rejoined = h.events.iter().any(|e| {
        e.time_ms > 12_000
            && matches!(&e.op, Op::Replica(broker::effect::ReplicaEvent::IsrChanged { isr, .. })
                if isr.len() == 3 && isr.contains(&BROKER_1))
    });
    assert!(rejoined, "broker-1 never rejoined the ISR");
    assert_eq!(sends_resolved_otherwise(&h), 0, "every send acknowledged");
}

/// Heal: after a fault phase at 90 % packet loss, packets may be waiting out chains of
/// retransmission timeouts of minutes. The liveness phase starts on clean connections: what was
/// still travelling is retransmitted at once, and the cluster converges right after the heal.
#[test]
fn heal_the_liveness_phase_starts_on_clean_connections() {
    let source = r#"
name = "lossy-then-heal"
description = "Heavy packet loss through the fault phase."
duration_ms = 30_000

[network]
packet_loss_rate = 0.9

[[topics]]
name = "orders"
partitions = 1
replication_factor = 3
min_insync_replicas = 2

[[producers]]
topic = "orders"
acks = "all"
messages = 300
messages_per_sec = 20
"#;
    let s = scenario::parse(source, "lossy-then-heal.toml").unwrap_or_else(|e| panic!("{e}"));
    for seed in 0..3 {
        let h = sim::run::run(Arc::new(s.clone()), seed).unwrap_or_else(|f| panic!("{f:?}")).history;
        let converged = h
            .events
            .iter()
            .find(|e| matches!(e.op, Op::Phase(sim::history::Phase::Converged)))
            .map(|e| e.time_ms);
        assert!(converged.is_some_and(|t| t < 35_000), "seed {seed}: converged at {converged:?}");
    }
}
