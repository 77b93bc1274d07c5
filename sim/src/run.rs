//! One seeded run of a scenario, start to finish:
//!
//! 1. **fault phase** — producers send, the timeline's faults fire (a replica-log snapshot is
//!    taken before each), until `duration_ms`;
//! 2. **liveness phase** — every fault is healed; within `liveness_timeout_ms` every partition
//!    must have a leader with a full ISR, every replica the whole committed log, and every send an
//!    outcome;
//! 3. **final read** — a fresh consumer reads every partition from offset 0.
//!
//! Each run gets a fresh OS thread and a fresh madsim runtime (madsim's determinism depends on
//! both), and every node is killed at the end so that nothing outlives the run.

use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::entropy::Entropy;
use crate::faults::{self, Undo};
use crate::history::{History, Op, Phase};
use crate::layout::{FINAL_READER, NEMESIS};
use crate::nemesis;
use crate::net::NetStats;
use crate::scenario::{FaultSpec, Scenario};
use broker::types::Millis;
use madsim::runtime::Runtime;
use madsim::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How often the liveness phase looks at the cluster.
const CONVERGENCE_POLL_MS: Millis = 100;
/// How long the final reader may take once the cluster has converged.
const FINAL_READ_BOUND_MS: Millis = 30_000;

/// What a run produced, for the checkers and the report.
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub history: History,
    pub net: NetStats,
    pub simulated_ms: Millis,
    /// Why the liveness phase did not converge, if it did not.
    pub liveness_gap: Option<String>,
}

/// Steps (deliveries and timer firings, all nodes together) a run may take per simulated
/// millisecond before it counts as a livelock: a hundred times what the shipped scenarios use.
pub const STEP_BUDGET_PER_SIMULATED_MS: u64 = 20;

/// Why a run could not finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The simulation panicked: an assertion in the broker or the harness.
    Crash,
    /// The run hit its simulated-time limit or its step budget (a livelock).
    Timeout,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// The panic message madsim gives when a run passes its simulated-time limit.
const TIME_LIMIT_PANIC: &str = "time limit exceeded";
/// The panic message a node gives when the run passes its step budget.
pub const STEP_BUDGET_PANIC: &str = "step budget exceeded";

/// Runs `scenario` with `seed` on a fresh thread with a fresh runtime.
pub fn run(scenario: Arc<Scenario>, seed: u64) -> Result<RunOutput, RunFailure> {
    let thread = std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .spawn(move || {
            let mut rt = Runtime::with_seed_and_config(seed, madsim::Config::default());
            rt.set_time_limit(Duration::from_millis(simulated_time_limit_ms(&scenario)));
            rt.block_on(simulate(scenario, seed))
        })
        .expect("spawn run thread");
    thread.join().map_err(|panic| RunFailure::from_panic(panic_message(panic.as_ref())))
}

impl RunFailure {
    /// A panic that ended a run: a timeout if it was the time limit or the step budget.
    pub fn from_panic(message: String) -> RunFailure {
        let timed_out = message.contains(TIME_LIMIT_PANIC) || message.contains(STEP_BUDGET_PANIC);
        RunFailure { kind: if timed_out { FailureKind::Timeout } else { FailureKind::Crash }, message }
    }
}

/// The step budget of a run of `scenario`.
pub fn step_budget(scenario: &Scenario) -> u64 {
    simulated_time_limit_ms(scenario) * STEP_BUDGET_PER_SIMULATED_MS
}

fn simulated_time_limit_ms(scenario: &Scenario) -> u64 {
    scenario.duration_ms + scenario.liveness_timeout_ms + FINAL_READ_BOUND_MS + 60_000
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

enum Step {
    Fire(FaultSpec),
    Undo(Undo),
}

async fn simulate(scenario: Arc<Scenario>, seed: u64) -> RunOutput {
    let clock = Clock::start();
    let entropy = Entropy::new(seed);
    let timeline = nemesis::timeline(
        &scenario.faults,
        scenario.nemesis.as_ref(),
        scenario.duration_ms,
        &mut entropy.stream("nemesis"),
    );
    let mut cluster = Cluster::start(&scenario, clock, &entropy);
    let mut fault_rng = entropy.stream("faults");

    // Fault phase.
    let mut steps: BTreeMap<(Millis, u64), Step> = BTreeMap::new();
    for (i, f) in timeline.iter().enumerate() {
        steps.insert((f.at_ms, i as u64), Step::Fire(f.clone()));
    }
    let mut sequence = timeline.len() as u64;
    while let Some(((at, _), step)) = steps.pop_first() {
        if at >= scenario.duration_ms {
            break;
        }
        clock.sleep_until(at).await;
        match step {
            Step::Fire(fault) => {
                cluster.snapshot();
                if let Some(undo) = faults::fire(&mut cluster, &mut fault_rng, &fault) {
                    let until = at + fault.for_ms.expect("an undo comes with for_ms");
                    steps.insert((until, sequence), Step::Undo(undo));
                    sequence += 1;
                }
            }
            Step::Undo(undo) => faults::undo(&mut cluster, undo),
        }
    }
    clock.sleep_until(scenario.duration_ms).await;

    // Liveness phase.
    cluster.heal_all();
    cluster.record(NEMESIS, Op::Phase(Phase::Healed));
    let deadline = scenario.duration_ms + scenario.liveness_timeout_ms;
    let liveness_gap = loop {
        match cluster.convergence_gap() {
            None => break None,
            Some(gap) if cluster.now() >= deadline => break Some(gap),
            Some(_) => clock.sleep_until(cluster.now() + CONVERGENCE_POLL_MS).await,
        }
    };
    let phase = if liveness_gap.is_none() { Phase::Converged } else { Phase::NotConverged };
    cluster.record(NEMESIS, Op::Phase(phase));
    cluster.snapshot();

    // Final read, only from a converged cluster: otherwise there is no whole log to read.
    if liveness_gap.is_none() {
        cluster.start_final_reader();
        let bound = cluster.now() + FINAL_READ_BOUND_MS;
        while cluster.with_consumer(FINAL_READER, |c| c.is_caught_up()) != Some(true) && cluster.now() < bound
        {
            clock.sleep_until(cluster.now() + CONVERGENCE_POLL_MS).await;
        }
        if cluster.with_consumer(FINAL_READER, |c| c.is_caught_up()) == Some(true) {
            let partitions = cluster.partitions.clone();
            let reads =
                cluster.with_consumer(FINAL_READER, |c| c.final_reads(&partitions)).unwrap_or_default();
            for op in reads {
                cluster.record(FINAL_READER, op);
            }
            cluster.record(NEMESIS, Op::Phase(Phase::FinalReadDone));
        }
    }

    // Whatever a producer still has unresolved stays indeterminate.
    for p in cluster.layout.producers.clone() {
        let mut ops = Vec::new();
        cluster.with_producer(p, |app| app.finish(&mut ops));
        for op in ops {
            cluster.record(p, op);
        }
    }
    let simulated_ms = cluster.now();
    let net = cluster.net_stats();
    cluster.shutdown();
    madsim::time::sleep(Duration::from_millis(1)).await;
    let history = std::mem::take(&mut *cluster.history.lock().expect("history lock"));
    RunOutput { history, net, simulated_ms, liveness_gap }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limit_and_step_budget_panics_are_timeouts_others_crashes() {
        let kind = |m: &str| RunFailure::from_panic(m.to_string()).kind;
        assert_eq!(kind("time limit exceeded: 180s"), FailureKind::Timeout);
        assert_eq!(
            kind("step budget exceeded: 3000001 steps by 12 ms (node 1 still busy)"),
            FailureKind::Timeout
        );
        assert_eq!(kind("assertion failed: leader"), FailureKind::Crash);
    }
}
