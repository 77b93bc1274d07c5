//! One seeded run of a scenario, start to finish:
//!
//! 1. **fault phase** — producers send, the timeline's faults fire (a replica-log snapshot is
//!    taken before each), until `duration_ms`. Firing costs no simulated time: faults due at one
//!    instant fire at that instant, one after the other, and the phase ends at `duration_ms`
//!    however dense the timeline. A fault lasts `[at_ms, at_ms + for_ms)`: at one instant, the
//!    undos due go first, then the faults due, in timeline order. Everything due at or before
//!    `duration_ms` happens, a scripted fault at `at_ms = duration_ms` included; undos due later
//!    are left to the heal that starts the liveness phase;
//! 2. **liveness phase** — every fault is healed; within `liveness_timeout_ms` every partition
//!    must have a leader with a full ISR and every replica the whole committed log (`liveness`),
//!    every send an outcome and every consumer its partitions read to their high watermarks
//!    (`progress`). What a producer has not resolved then is given up;
//! 3. **final read** — a fresh consumer reads every partition from offset 0.
//!
//! Each run gets a fresh OS thread and a fresh madsim runtime (madsim's determinism depends on
//! both), and every node is killed at the end so that nothing outlives the run. A run that goes
//! past its `budget` (steps, history) or its simulated-time limit panics on that thread and is
//! reported as a timeout.

use crate::budget::{Budget, Limits, HISTORY_BUDGET_PANIC, STEP_BUDGET_PANIC};
use crate::clock::{madsim_duration, Clock};
use crate::cluster::Cluster;
use crate::entropy::Entropy;
use crate::faults::{self, Undo};
use crate::history::{History, Op, Phase};
use crate::layout::{FINAL_READER, NEMESIS};
use crate::nemesis::Timeline;
use crate::net::NetStats;
use crate::scenario::Scenario;
use crate::trace_log::{self, LogLine, LogSink};
use broker::types::Millis;
use madsim::runtime::Runtime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

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
    /// What the final read of a converged cluster did not reach within its bound, if anything:
    /// the run cannot be judged and never passes.
    pub final_read_gap: Option<String>,
    /// What the clients said, with `run_traced`; empty otherwise. Not part of the history.
    pub log: Vec<LogLine>,
}

/// Why a run could not finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The simulation panicked: an assertion in the broker or the harness.
    Crash,
    /// The run hit its simulated-time limit or its budget of steps or history (see `budget`).
    Timeout,
    /// The run ended, but its final read did not reach every partition's end: what it did not
    /// read cannot be judged, so the run can neither pass nor fail on it.
    Incomplete,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// The panic message madsim gives when a run passes its simulated-time limit.
const TIME_LIMIT_PANIC: &str = "time limit exceeded";

/// Runs `scenario` with `seed` on a fresh thread with a fresh runtime.
pub fn run(scenario: Arc<Scenario>, seed: u64) -> Result<RunOutput, RunFailure> {
    run_with(scenario, seed, Limits::default())
}

/// As [`run`], with the broker crate's `tracing` events that `filter` lets through collected
/// in [`RunOutput::log`]. The history is the same as without.
pub fn run_traced(scenario: Arc<Scenario>, seed: u64, filter: EnvFilter) -> Result<RunOutput, RunFailure> {
    run_on_thread(scenario, seed, Limits::default(), Some(filter))
}

/// As [`run`], with other absolute limits than the documented ones.
pub fn run_with(scenario: Arc<Scenario>, seed: u64, limits: Limits) -> Result<RunOutput, RunFailure> {
    run_on_thread(scenario, seed, limits, None)
}

fn run_on_thread(
    scenario: Arc<Scenario>,
    seed: u64,
    limits: Limits,
    filter: Option<EnvFilter>,
) -> Result<RunOutput, RunFailure> {
    let time_limit_ms = simulated_time_limit_ms(&scenario);
    let thread = std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .spawn(move || {
            let mut rt = Runtime::with_seed_and_config(seed, madsim::Config::default());
            rt.set_time_limit(madsim_duration(time_limit_ms));
            match filter {
                None => rt.block_on(simulate(scenario, seed, limits, None)),
                // Installed after the runtime exists (madsim seeds this thread's hash keys when it
                // is created) and for this thread only: runs on other threads see nothing of it.
                Some(filter) => {
                    let sink = LogSink::default();
                    let subscriber = trace_log::subscriber(filter, sink.clone());
                    tracing::subscriber::with_default(subscriber, || {
                        rt.block_on(simulate(scenario, seed, limits, Some(sink)))
                    })
                }
            }
        })
        .expect("spawn run thread");
    thread.join().map_err(|panic| {
        let message = panic_message(panic.as_ref());
        // madsim states its limit in its own time, a second per simulated millisecond.
        let message = if message.contains(TIME_LIMIT_PANIC) {
            format!("{TIME_LIMIT_PANIC}: the run passed its simulated-time limit of {time_limit_ms} ms")
        } else {
            message
        };
        RunFailure::from_panic(message)
    })
}

impl RunFailure {
    /// A panic that ended a run: a timeout if it was the time limit or the budget.
    pub fn from_panic(message: String) -> RunFailure {
        let kind = if is_timeout(&message) { FailureKind::Timeout } else { FailureKind::Crash };
        RunFailure { kind, message }
    }
}

/// Whether a run's panic message is one of its limits (simulated time, steps, history) rather
/// than a crash. Such a panic is the run's way out, reported as a timeout: a host may keep it off
/// its terminal.
pub fn is_timeout(panic_message: &str) -> bool {
    [TIME_LIMIT_PANIC, STEP_BUDGET_PANIC, HISTORY_BUDGET_PANIC].iter().any(|m| panic_message.contains(m))
}

/// The budget of a run of `scenario`.
pub fn budget(scenario: &Scenario, limits: Limits) -> Budget {
    Budget::for_run(simulated_time_limit_ms(scenario), limits)
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

async fn simulate(scenario: Arc<Scenario>, seed: u64, limits: Limits, log: Option<LogSink>) -> RunOutput {
    let clock = Clock::start();
    let entropy = Entropy::new(seed);
    let mut timeline =
        Timeline::new(&scenario.faults, scenario.nemesis.as_ref(), scenario.duration_ms, &entropy);
    let mut cluster = Cluster::start(&scenario, clock, &entropy, budget(&scenario, limits));
    if let Some(log) = &log {
        log.attach(clock, cluster.history.clone());
    }
    let mut fault_rng = entropy.stream("faults");

    // Fault phase. Pending undos, by when they are due and then in the order they were scheduled.
    let mut undos: BTreeMap<(Millis, u64), Undo> = BTreeMap::new();
    let mut scheduled = 0u64;
    let mut last_snapshot = None;
    loop {
        let next_undo = undos.first_key_value().map(|(&(at, _), _)| at);
        let next_fire = timeline.peek_ms();
        let at = match (next_undo, next_fire) {
            (None, None) => break,
            (Some(u), Some(f)) => u.min(f),
            (Some(t), None) | (None, Some(t)) => t,
        };
        if at > scenario.duration_ms {
            break;
        }
        clock.sleep_until(at).await;
        cluster.budget.step(at);
        if next_undo == Some(at) {
            let (_, undo) = undos.pop_first().expect("an undo is due");
            faults::undo(&mut cluster, undo);
            continue;
        }
        let fault = timeline.next().expect("a fault is due");
        // No node has run since a snapshot taken at this instant, so another would repeat it,
        // unless a broker has been restarted since (it is up with its recovered log).
        let up = cluster.brokers_up();
        if !last_snapshot.as_ref().is_some_and(|(t, was_up)| *t == at && up.is_subset(was_up)) {
            cluster.snapshot();
            last_snapshot = Some((at, up));
        }
        if let Some(undo) = faults::fire(&mut cluster, &mut fault_rng, &fault) {
            let until = at + fault.for_ms.expect("an undo comes with for_ms");
            undos.insert((until, scheduled), undo);
            scheduled += 1;
        }
    }
    clock.sleep_until(scenario.duration_ms).await;

    // Liveness phase.
    cluster.heal_all();
    cluster.record(NEMESIS, Op::Phase(Phase::Healed));
    // One bound for the cluster and its clients: the phase ends once the cluster has converged
    // and every client has finished, or when the bound passes.
    let deadline = scenario.duration_ms + scenario.liveness_timeout_ms;
    let liveness_gap = loop {
        let gap = cluster.convergence_gap();
        let done = gap.is_none() && cluster.client_gap().is_none();
        if done || cluster.now() >= deadline {
            break gap;
        }
        cluster.budget.step(cluster.now());
        clock.sleep_until(cluster.now() + CONVERGENCE_POLL_MS).await
    };
    cluster.record_consumer_positions();
    let phase = if liveness_gap.is_none() { Phase::Converged } else { Phase::NotConverged };
    cluster.record(NEMESIS, Op::Phase(phase));
    cluster.snapshot();
    // What a producer has not resolved by now stays unresolved: it is given up here, before the
    // final read, so that nothing it sends later is acknowledged behind the final read's back.
    abandon_unresolved_sends(&mut cluster, "unresolved when the liveness phase ended");

    // Final read, only from a converged cluster: otherwise there is no whole log to read.
    let mut final_read_gap = None;
    if liveness_gap.is_none() {
        cluster.start_final_reader();
        let bound = cluster.now() + FINAL_READ_BOUND_MS;
        while cluster.with_consumer(FINAL_READER, |c| c.is_caught_up()) != Some(true) && cluster.now() < bound
        {
            cluster.budget.step(cluster.now());
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
        } else {
            final_read_gap = cluster.final_read_gap().map(|gap| {
                format!("the final read did not finish within {} s: {gap}", FINAL_READ_BOUND_MS / 1000)
            });
        }
    }

    let simulated_ms = cluster.now();
    let net = cluster.net_stats();
    cluster.shutdown();
    madsim::time::sleep(madsim_duration(1)).await;
    let history = std::mem::take(&mut *cluster.history.lock().expect("history lock"));
    let log = log.map(|l| l.take()).unwrap_or_default();
    RunOutput { history, net, simulated_ms, liveness_gap, final_read_gap, log }
}

/// Gives up every producer's unresolved sends (indeterminate if a request carried them) and
/// ends its workload.
fn abandon_unresolved_sends(cluster: &mut Cluster, reason: &str) {
    for p in cluster.layout.producers.clone() {
        let mut ops = Vec::new();
        cluster.with_producer(p, |app| app.finish(reason, &mut ops));
        for op in ops {
            cluster.record(p, op);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limit_and_budget_panics_are_timeouts_others_crashes() {
        let kind = |m: &str| RunFailure::from_panic(m.to_string()).kind;
        assert_eq!(kind("time limit exceeded: 180s"), FailureKind::Timeout);
        assert_eq!(
            kind("step budget exceeded: 3000001 steps by 12 ms, the limit is 3000000 (node 1 still busy)"),
            FailureKind::Timeout
        );
        assert_eq!(
            kind("history budget exceeded: 512 MiB of events by 12 ms, the limit is 512 MiB"),
            FailureKind::Timeout
        );
        assert_eq!(kind("assertion failed: leader"), FailureKind::Crash);
    }
}
