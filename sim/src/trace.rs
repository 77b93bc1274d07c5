//! A run's history as a readable trace: one line per event, with the simulated time and the node,
//! covering client operations, faults, leader and ISR changes, high-watermark moves, truncations
//! and phases. Everything in it comes from the recorded history, so a trace is as deterministic as
//! the history hash. With `run --trace`, the clients' own account (`trace_log`) is merged in, each
//! line before the first history event recorded after it.

use crate::history::{Event, History, Op, Phase, ValueName};
use crate::trace_log::LogLine;
use broker::effect::ReplicaEvent;
use broker::types::NodeId;
use std::fmt::Write;

pub fn render(history: &History) -> String {
    let mut s = String::new();
    for event in &history.events {
        let _ = writeln!(s, "{}", line(history, event));
    }
    s
}

/// The history's trace with the clients' log lines merged in, in the order they happened.
pub fn render_with_log(history: &History, log: &[LogLine]) -> String {
    let mut s = String::new();
    let mut log = log.iter().peekable();
    for (i, event) in history.events.iter().enumerate() {
        while let Some(l) = log.next_if(|l| l.after_events <= i) {
            let _ = writeln!(s, "{}", log_line(history, l));
        }
        let _ = writeln!(s, "{}", line(history, event));
    }
    for l in log {
        let _ = writeln!(s, "{}", log_line(history, l));
    }
    s
}

fn log_line(history: &History, l: &LogLine) -> String {
    let secs = l.time_ms as f64 / 1000.0;
    let node = l.node.map_or("-", |n| history.node_name(n));
    format!("{secs:>9.3}s {node:<13} {}", l.describe(history))
}

pub fn line(history: &History, event: &Event) -> String {
    let secs = event.time_ms as f64 / 1000.0;
    format!("{secs:>9.3}s {:<13} {}", history.node_name(event.node), describe(history, &event.op))
}

fn names(history: &History, nodes: &[NodeId]) -> String {
    nodes.iter().map(|&n| history.node_name(n)).collect::<Vec<_>>().join(", ")
}

fn describe(history: &History, op: &Op) -> String {
    match op {
        Op::SendInvoke { tp, key, value } => match key {
            Some(k) => format!("send {} to {tp} (key {k})", ValueName(*value)),
            None => format!("send {} to {tp}", ValueName(*value)),
        },
        Op::SendOk { value, offset: Some(o), broker } => {
            format!("ack {} at offset {o} from {}", ValueName(*value), history.node_name(*broker))
        }
        Op::SendOk { value, offset: None, broker } => {
            format!(
                "ack {} (written to {}; acks=0 learns no offset)",
                ValueName(*value),
                history.node_name(*broker)
            )
        }
        Op::SendFail { value, error } => format!("send {} failed: {error}", ValueName(*value)),
        Op::SendInfo { value, reason } => format!("send {} indeterminate: {reason}", ValueName(*value)),
        Op::Poll { tp, records } => match (records.first(), records.last()) {
            (Some(a), Some(b)) => {
                format!("poll {tp}: offsets {}..={} ({} records)", a.offset, b.offset, records.len())
            }
            _ => format!("poll {tp}: nothing"),
        },
        Op::Seek { tp, from, to } => format!("seek {tp} from {from} to {to}"),
        Op::ConsumerPosition { tp, position, high_watermark } => {
            let position = position.map_or("no position".to_string(), |p| format!("position {p}"));
            let hw = high_watermark.map_or("no leader's high watermark".to_string(), |hw| format!("hw {hw}"));
            format!("at the end of the liveness phase: {tp} {position}, {hw}")
        }
        Op::FinalRead { tp, records } => format!("final read of {tp}: {} records", records.len()),
        Op::ReplicaLog { tp, high_watermark, records } => {
            format!("snapshot {tp}: log end {}, hw {high_watermark}", records.len())
        }
        Op::Fault { fault, nodes, detail } => {
            let on = if nodes.is_empty() { String::new() } else { format!(" {}", names(history, nodes)) };
            let detail = if detail.is_empty() { String::new() } else { format!(" ({detail})") };
            format!("FAULT {fault}{on}{detail}")
        }
        Op::FaultHitNobody { fault, target, reason } => {
            let target = if target.is_empty() { String::new() } else { format!(" {target}") };
            format!("FAULT {fault}{target} hit nobody: {reason}")
        }
        Op::Phase(phase) => match phase {
            Phase::Healed => "PHASE healed: every fault undone, liveness phase begins".to_string(),
            Phase::Converged => "PHASE converged".to_string(),
            Phase::NotConverged => "PHASE did not converge within the liveness bound".to_string(),
            Phase::FinalReadDone => "PHASE final read done".to_string(),
        },
        Op::Replica(e) => describe_replica(history, e),
    }
}

fn describe_replica(history: &History, e: &ReplicaEvent) -> String {
    match e {
        ReplicaEvent::LeaderElected { tp, epoch, leader, unclean } => {
            let who = leader.map_or("no leader".to_string(), |l| history.node_name(l).to_string());
            format!("{tp} epoch {epoch}: {who}{}", if *unclean { " (UNCLEAN election)" } else { "" })
        }
        ReplicaEvent::IsrChanged { tp, epoch, isr } => {
            format!("{tp} epoch {epoch}: ISR [{}]", names(history, isr))
        }
        ReplicaEvent::LeaderIsr { tp, epoch, isr } => {
            format!("leads {tp} in epoch {epoch} with ISR [{}]", names(history, isr))
        }
        ReplicaEvent::BrokerFenced { broker } => format!("fenced {}", history.node_name(*broker)),
        ReplicaEvent::BrokerUnfenced { broker } => format!("unfenced {}", history.node_name(*broker)),
        ReplicaEvent::BecameLeader { tp, epoch, log_end_offset, high_watermark } => {
            format!("leads {tp} in epoch {epoch} (log end {log_end_offset}, hw {high_watermark})")
        }
        ReplicaEvent::BecameFollower { tp, epoch, leader } => {
            format!("follows {} for {tp} in epoch {epoch}", history.node_name(*leader))
        }
        ReplicaEvent::HighWatermark { tp, high_watermark, leader, .. } => {
            format!("{tp} hw {high_watermark}{}", if *leader { " (leader)" } else { "" })
        }
        ReplicaEvent::Truncated { tp, from, to } => format!("truncated {tp} from {from} to {to}"),
        ReplicaEvent::LostUnflushed { tp, from, to } => {
            format!("power loss took {tp} offsets {to}..{from} (unflushed)")
        }
        ReplicaEvent::Recovered { log_end_offsets } => {
            let logs: Vec<String> =
                log_end_offsets.iter().map(|(tp, end, hw)| format!("{tp} end {end} hw {hw}")).collect();
            if logs.is_empty() {
                "started with an empty disk".to_string()
            } else {
                format!("started from disk: {}", logs.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace_log::FieldValue;

    #[test]
    fn client_lines_go_before_the_first_event_recorded_after_them_with_names_for_ids() {
        let names = [(NodeId(1), "broker-1".to_string()), (NodeId(7), "producer-1".to_string())];
        let mut history = History { node_names: names.into_iter().collect(), events: Vec::new() };
        history.push(5, NEMESIS_ID, Op::Phase(Phase::Healed));
        history.push(9, NEMESIS_ID, Op::Phase(Phase::Converged));
        let line = |after_events, message: &str| LogLine {
            time_ms: 7,
            node: Some(NodeId(7)),
            after_events,
            level: tracing::Level::INFO,
            target: "broker::producer",
            message: message.to_string(),
            fields: vec![
                ("broker", FieldValue::Node(NodeId(1))),
                ("first", FieldValue::Value((1 << 32) | 3)),
            ],
        };
        let text = render_with_log(&history, &[line(1, "between"), line(2, "after")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].contains("PHASE healed"));
        assert_eq!(lines[1], "    0.007s producer-1    [producer] between broker=broker-1 first=p1-3");
        assert!(lines[2].contains("PHASE converged"));
        assert!(lines[3].ends_with("[producer] after broker=broker-1 first=p1-3"));
    }

    const NEMESIS_ID: NodeId = NodeId(99);
}
