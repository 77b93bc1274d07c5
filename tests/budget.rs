//! A run's budget bounds its memory whatever the scenario says: a runaway run ends as a timeout
//! with its seed, a sweep goes on past it, and a timeline of simulated months neither has to be
//! drawn before the run starts nor can be written out whole.

mod common;

use common::{kafkasim, text};
use sim::budget::{Limits, HISTORY_BUDGET_PANIC, STEP_BUDGET_PANIC};
use sim::history::History;
use sim::run::FailureKind;
use sim::scenario::{self, Scenario};
use sim::sweep::{SeedFailure, SweepOptions, SweepVerdict};
use std::path::Path;
use std::sync::Arc;

/// `../shared/cases/nemesis-memory.toml`: the longest fault phase, with 1 ms nemesis faults and no
/// gap. Drawn before the run, its ten billion faults exhausted memory and aborted the process.
const NEMESIS_MEMORY: &str = r#"
name = "nemesis-memory"
description = "longest fault phase, nemesis drawing 1 ms faults with no gap"
duration_ms = 10000000000

[[topics]]
name = "orders"

[nemesis]
faults = ["crash"]
gap_min_ms = 0
gap_max_ms = 0
duration_min_ms = 1
duration_max_ms = 1
"#;

fn parse(source: &str) -> Scenario {
    scenario::parse(source, "inline.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn footprint(history: &History) -> u64 {
    history.events.iter().map(|e| e.op.footprint()).sum()
}

#[test]
fn a_timeline_of_simulated_months_runs_until_its_history_budget_and_is_a_timeout() {
    let limits = Limits { max_history_bytes: 4 << 20, ..Limits::default() };
    let failure = sim::run::run_with(Arc::new(parse(NEMESIS_MEMORY)), 0, limits).expect_err("runaway");
    assert_eq!(failure.kind, FailureKind::Timeout, "{}", failure.message);
    assert!(
        failure.message.starts_with(&format!("{HISTORY_BUDGET_PANIC}: 4 MiB of events by ")),
        "{}",
        failure.message
    );
    // The faults were drawn as the run reached them: it got well into its fault phase.
    let by_ms: u64 =
        failure.message.split(" by ").nth(1).and_then(|s| s.split(' ').next()?.parse().ok()).unwrap();
    assert!(by_ms > 5_000, "{}", failure.message);
}

#[test]
fn a_run_past_its_step_budget_is_a_timeout() {
    let scenario =
        scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/standard-acks-all.toml"))
            .unwrap();
    let limits = Limits { max_steps: 1_000, ..Limits::default() };
    let failure = sim::run::run_with(Arc::new(scenario), 0, limits).expect_err("past the budget");
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(
        failure.message.starts_with(&format!("{STEP_BUDGET_PANIC}: 1001 steps by ")),
        "{}",
        failure.message
    );
}

#[test]
fn a_sweep_goes_on_past_runs_over_the_budget_and_reports_each_with_its_seed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/standard-acks-all.toml");
    let scenario = Arc::new(scenario::load(&path).unwrap());
    let seeds = 0..6u64;
    // What each seed's history takes, so that a limit between them splits the sweep.
    let sizes: Vec<u64> = seeds
        .clone()
        .map(|s| footprint(&sim::run::run(scenario.clone(), s).expect("finishes").history))
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    let limit = sorted[2];
    let over: Vec<u64> = seeds.clone().filter(|&s| sizes[s as usize] > limit).collect();
    assert!(!over.is_empty() && over.len() < sizes.len(), "the limit splits the seeds: {sizes:?}");

    let options = SweepOptions {
        jobs: 2,
        limits: Limits { max_history_bytes: limit, ..Limits::default() },
        ..SweepOptions::default()
    };
    let mut seen = Vec::new();
    let summary = sim::sweep::sweep_with(scenario, "standard.toml", seeds.clone(), &options, |run| {
        seen.push((run.report.seed, run.report.failure.as_ref().map(|f| f.kind)));
    });
    let expected: Vec<(u64, Option<FailureKind>)> =
        seeds.clone().map(|s| (s, over.contains(&s).then_some(FailureKind::Timeout))).collect();
    assert_eq!(seen, expected, "every seed ran, in order; those over the budget timed out");
    assert_eq!(
        (summary.runs, summary.timed_out, summary.passed),
        (6, over.len() as u64, 6 - over.len() as u64)
    );
    let listed: Vec<(u64, SeedFailure)> = summary.failures.iter().map(|f| (f.seed, f.failure)).collect();
    assert_eq!(listed, over.iter().map(|&s| (s, SeedFailure::Timeout)).collect::<Vec<_>>());
    assert_eq!(
        summary.failures[0].reproduce,
        format!("cargo run --release -- run standard.toml --seed {}", over[0])
    );
    assert_eq!(summary.verdict(), SweepVerdict::TimedOut);
    let rendered = summary.render(1.0);
    assert!(rendered.contains(&format!("seed {} timed out: cargo run", over[0])), "{rendered}");
}

#[test]
fn resolving_a_timeline_of_simulated_months_is_refused() {
    let err = sim::resolve::resolve(&parse(NEMESIS_MEMORY), 0).expect_err("too many faults");
    assert_eq!(
        err.to_string(),
        "nemesis-memory seed 0: the timeline has more than 100000 faults (the 100000th fires at 104999 ms \
         of a 10000000000 ms fault phase), too many to write out as a scenario; expected at most 100000: \
         shorten duration_ms or lengthen the nemesis's gaps and durations"
    );
}

#[test]
fn dumping_a_timeline_of_simulated_months_is_bad_input() {
    let dir = std::env::temp_dir().join(format!("kafkasim-budget-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("nemesis-memory.toml");
    std::fs::write(&file, NEMESIS_MEMORY).unwrap();
    let o = kafkasim(&["run", file.to_str().unwrap(), "--seed", "0", "--dump-scenario"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).is_empty());
    assert!(text(&o.stderr).contains("the timeline has more than 100000 faults"), "{}", text(&o.stderr));
}
