//! liveness: the cluster did not recover after healing.
//!
//! Fires when the harness recorded `Phase(NotConverged)` (the liveness bound passed), or when no
//! `Phase(Converged)` was recorded at all (the run was cut short before a verdict). The message
//! says what the controller last recorded for every partition that lacks a leader or a full ISR,
//! which is where to start reading the trace.

use super::facts::Facts;
use super::judgement::{all_partitions, replicas_of, Anomaly};
use super::{CheckInput, Checker, Violation};
use crate::history::{Op, Phase};
use broker::effect::ReplicaEvent;
use broker::types::{Epoch, NodeId, TopicPartition};
use std::collections::BTreeMap;

pub struct Liveness;

impl Checker for Liveness {
    fn name(&self) -> &'static str {
        "liveness"
    }

    /// Liveness always has something to say: the cluster converged, or did not, or the run
    /// ended without a verdict (itself a violation).
    fn nothing_to_check(&self, _input: &CheckInput) -> Option<&'static str> {
        None
    }

    fn check(&self, input: &CheckInput) -> Vec<Violation> {
        let events = &input.history.events;
        let phase_at = |phase: Phase| events.iter().find(|e| e.op == Op::Phase(phase));
        let healed = phase_at(Phase::Healed).map(|e| e.time_ms);
        let (message, time_ms) = match (phase_at(Phase::NotConverged), phase_at(Phase::Converged)) {
            (Some(not_converged), _) => {
                let since = match healed {
                    Some(t) => format!("healing at {t} ms"),
                    None => "healing".to_string(),
                };
                let message = format!(
                    "the cluster did not converge within {} ms after {since} (given up at {} \
                     ms); {}",
                    input.scenario.liveness_timeout_ms,
                    not_converged.time_ms,
                    partition_state(input),
                );
                (message, Some(not_converged.time_ms))
            }
            (None, Some(_)) => return Vec::new(),
            (None, None) => {
                let message = format!(
                    "the run ended without a liveness verdict: no convergence was recorded{}; {}",
                    if healed.is_some() { " after healing" } else { ", nor healing" },
                    partition_state(input),
                );
                (message, None)
            }
        };
        vec![Violation {
            checker: self.name(),
            label: Facts::of(input).judge(&Anomaly::Liveness),
            message,
            time_ms,
            tp: None,
        }]
    }
}

/// The controller's last word on each partition lacking a leader or a full ISR.
fn partition_state(input: &CheckInput) -> String {
    let mut leaders: BTreeMap<&TopicPartition, (Epoch, Option<NodeId>)> = BTreeMap::new();
    let mut isrs: BTreeMap<&TopicPartition, &[NodeId]> = BTreeMap::new();
    for event in &input.history.events {
        match &event.op {
            Op::Replica(ReplicaEvent::LeaderElected { tp, epoch, leader, .. }) => {
                leaders.insert(tp, (*epoch, *leader));
            }
            Op::Replica(ReplicaEvent::IsrChanged { tp, isr, .. }) => {
                isrs.insert(tp, isr);
            }
            _ => {}
        }
    }
    let names = |nodes: &[NodeId]| {
        let names: Vec<&str> = nodes.iter().map(|&n| input.node_name(n)).collect();
        format!("[{}]", names.join(", "))
    };
    let mut troubles = Vec::new();
    for tp in all_partitions(input.scenario) {
        // No election recorded: the partition still has the leader it was created with (epoch 0).
        if let Some((epoch, None)) = leaders.get(&tp) {
            troubles.push(format!("{tp} has no leader (epoch {epoch})"));
        }
        let replicas = replicas_of(input.scenario, &tp);
        if let Some(isr) = isrs.get(&tp) {
            if replicas.iter().any(|r| !isr.contains(r)) {
                troubles.push(format!("{tp} has ISR {} of replicas {}", names(isr), names(&replicas)));
            }
        }
    }
    if troubles.is_empty() {
        "the controller last recorded a leader and a full ISR for every partition".to_string()
    } else {
        troubles.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{messages, Run};

    #[test]
    fn fires_when_the_cluster_does_not_converge() {
        let mut run = Run::new();
        run.elected("orders/0", 1, "broker-1").elected("orders/1", 1, "broker-2");
        run.isr("orders/0", 1, &["broker-1"]);
        run.elected("orders/1", 2, "none");
        run.at(60_000).healed();
        run.at(120_000).not_converged();
        let violations = run.check(&Liveness);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].label.is_bug(), "{:?}", violations[0].label);
        assert_eq!(violations[0].time_ms, Some(120_000));
        assert_eq!(
            messages(&violations),
            ["the cluster did not converge within 60000 ms after healing at 60000 ms (given up \
              at 120000 ms); orders/0 has ISR [broker-1] of replicas [broker-1, broker-2, \
              broker-3], orders/1 has no leader (epoch 2)"]
        );
    }

    #[test]
    fn fires_when_the_run_ends_without_a_verdict() {
        let mut run = Run::new();
        run.elected("orders/0", 1, "broker-1").elected("orders/1", 1, "broker-2");
        run.healed();
        let violations = run.check(&Liveness);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].time_ms, None);
        assert_eq!(
            messages(&violations),
            ["the run ended without a liveness verdict: no convergence was recorded after \
              healing; the controller last recorded a leader and a full ISR for every partition"]
        );
    }

    #[test]
    fn stays_quiet_once_converged() {
        let mut run = Run::new();
        run.isr("orders/0", 1, &["broker-1"]);
        run.healed().converged();
        run.final_read("orders/0", &[]).phase(Phase::FinalReadDone);
        assert!(run.check(&Liveness).is_empty());
    }
}
