//! `kafkasim bench`: seeds per second for the standard scenario, next to the floor — a bare madsim
//! request/response exchange of the same number of messages.
//!
//! Both are measured in this process, one after the other, on one worker thread (and then on
//! `--jobs` threads for the sweep), so their ratio is meaningful even on a noisy machine.

use crate::exit;
use crate::output::outln;
use anyhow::Result;
use sim::report::RunReport;
use sim::scenario;
use std::sync::Arc;
use std::time::Instant;

const STANDARD: (&str, &str) =
    ("scenarios/standard-acks-all.toml", include_str!("../scenarios/standard-acks-all.toml"));

pub fn run(seeds: u64, jobs: usize) -> Result<i32> {
    let scenario = Arc::new(scenario::parse(STANDARD.1, STANDARD.0)?);
    outln!("standard scenario: {} ({} seeds)", STANDARD.0, seeds)?;

    // Warm-up: first-touch allocations and page faults out of the measurement.
    let _ = sim::run::run(scenario.clone(), u64::MAX);

    let started = Instant::now();
    let mut messages = 0u64;
    let mut failed = 0u64;
    for seed in 0..seeds {
        let result = sim::run::run(scenario.clone(), seed);
        let report = RunReport::new(&scenario, STANDARD.0, seed, &result);
        messages += report.messages;
        failed += u64::from(!report.passed);
    }
    let one_core = started.elapsed().as_secs_f64();
    let per_run = messages / seeds.max(1);
    let seeds_per_s = seeds as f64 / one_core;
    let msgs_per_s = messages as f64 / one_core;
    outln!(
        "  1 job:  {seeds_per_s:>7.1} seeds/s  {:>6.2} ms/run  {per_run} messages/run  {:>9.0} messages/s  ({failed} failed)",
        1000.0 / seeds_per_s,
        msgs_per_s
    )?;

    let started = Instant::now();
    for seed in 0..seeds {
        let _ = sim::floor::bare_exchange(seed, per_run / 2);
    }
    let floor_s = started.elapsed().as_secs_f64();
    let floor_msgs_per_s = (per_run / 2 * 2 * seeds) as f64 / floor_s;
    outln!(
        "  floor:  {:>7.1} runs/s   bare madsim exchange of {} round trips, {:>9.0} messages/s",
        seeds as f64 / floor_s,
        per_run / 2,
        floor_msgs_per_s
    )?;
    outln!("  harness messages/s ÷ floor messages/s = {:.2}", msgs_per_s / floor_msgs_per_s)?;

    if jobs > 1 {
        let started = Instant::now();
        let summary = sim::sweep::sweep(scenario, STANDARD.0, 0..seeds, jobs, |_| {});
        let rate = summary.runs as f64 / started.elapsed().as_secs_f64();
        outln!("  {jobs} jobs: {rate:>7.1} seeds/s  ({:.2}× one job)", rate / seeds_per_s)?;
    }
    Ok(if failed == 0 { exit::OK } else { exit::VIOLATION })
}
