//! Seed sweeps: one scenario over a range of seeds on several worker threads, reports collected
//! in seed order, and the sweep's verdict: no run may fail, no run may crash, and every anomaly
//! the scenario expects must show up in at least one seed.

use crate::check::Counts;
use crate::report::RunReport;
use crate::run;
use crate::run::FailureKind;
use crate::scenario::{Scenario, CHECKER_NAMES};
use crate::verdict::{Modality, Outcome};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckerTally {
    pub modality: Option<Modality>,
    /// Runs in which the checker reported a violation labelled bug / allowed.
    pub runs_with_bug: u64,
    pub runs_with_allowed: u64,
    /// Runs the checker failed.
    pub failed_runs: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SweepSummary {
    pub scenario: String,
    pub file: String,
    pub runs: u64,
    pub passed: u64,
    pub crashed: u64,
    pub timed_out: u64,
    pub checkers: BTreeMap<&'static str, CheckerTally>,
    /// The workload's outcomes over every run together.
    pub totals: Counts,
    /// Expected anomalies no seed showed.
    pub missing_expected: Vec<&'static str>,
    /// The first failing seeds, with the command that reproduces each.
    pub failures: Vec<(u64, String)>,
}

impl SweepSummary {
    pub fn ok(&self) -> bool {
        self.passed == self.runs && self.missing_expected.is_empty()
    }
}

/// Runs every seed of `seeds` on `jobs` threads. `each` sees every report, in seed order.
pub fn sweep(
    scenario: Arc<Scenario>,
    file: &str,
    seeds: Range<u64>,
    jobs: usize,
    mut each: impl FnMut(&RunReport),
) -> SweepSummary {
    let next = Arc::new(AtomicU64::new(seeds.start));
    let (tx, rx) = mpsc::channel::<RunReport>();
    let workers: Vec<_> = (0..jobs.max(1))
        .map(|_| {
            let (next, tx, scenario, file, end) =
                (next.clone(), tx.clone(), scenario.clone(), file.to_string(), seeds.end);
            std::thread::spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= end {
                    break;
                }
                let result = run::run(scenario.clone(), seed);
                if tx.send(RunReport::new(&scenario, &file, seed, &result)).is_err() {
                    break;
                }
            })
        })
        .collect();
    drop(tx);

    let mut summary = SweepSummary {
        scenario: scenario.name.clone(),
        file: file.to_string(),
        runs: 0,
        passed: 0,
        crashed: 0,
        timed_out: 0,
        checkers: CHECKER_NAMES
            .iter()
            .map(|&c| (c, CheckerTally { modality: Some(Modality::of(&scenario, c)), ..Default::default() }))
            .collect(),
        totals: Counts::default(),
        missing_expected: Vec::new(),
        failures: Vec::new(),
    };
    let mut found: BTreeMap<&'static str, bool> = BTreeMap::new();
    // Reports arrive out of order; hand them on in seed order.
    let mut pending: BTreeMap<u64, RunReport> = BTreeMap::new();
    let mut next_seed = seeds.start;
    for report in rx {
        pending.insert(report.seed, report);
        while let Some(report) = pending.remove(&next_seed) {
            tally(&mut summary, &mut found, &report);
            each(&report);
            next_seed += 1;
        }
    }
    for w in workers {
        w.join().expect("sweep worker");
    }
    summary.missing_expected = CHECKER_NAMES
        .iter()
        .copied()
        .filter(|&c| {
            Modality::of(&scenario, c) == Modality::Expected && !found.get(c).copied().unwrap_or(false)
        })
        .collect();
    summary
}

/// How many failing seeds a summary lists.
const LISTED_FAILURES: usize = 10;

fn tally(summary: &mut SweepSummary, found: &mut BTreeMap<&'static str, bool>, report: &RunReport) {
    summary.runs += 1;
    summary.totals.add(&report.counts);
    match report.failure_kind() {
        Some(FailureKind::Crash) => summary.crashed += 1,
        Some(FailureKind::Timeout) => summary.timed_out += 1,
        None => {}
    }
    if report.fails_sweep() {
        if summary.failures.len() < LISTED_FAILURES {
            summary.failures.push((report.seed, report.reproduce.clone()));
        }
    } else {
        summary.passed += 1;
    }
    for v in &report.verdicts {
        let t = summary.checkers.entry(v.checker).or_default();
        t.runs_with_bug += u64::from(v.bugs > 0);
        t.runs_with_allowed += u64::from(v.allowed > 0);
        t.failed_runs += u64::from(v.outcome == Outcome::Failed);
        if v.outcome == Outcome::Found {
            found.insert(v.checker, true);
        }
    }
}

impl SweepSummary {
    /// The human-readable summary; `elapsed_s` is the wall time the sweep took.
    pub fn render(&self, elapsed_s: f64) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let rate = self.runs as f64 / elapsed_s.max(1e-9);
        let _ = writeln!(
            s,
            "{} ({}): {} runs, {} passed, {} crashed, {} timed out — {:.1} seeds/s",
            self.scenario, self.file, self.runs, self.passed, self.crashed, self.timed_out, rate
        );
        let t = &self.totals;
        let percent = |n: u64| 100.0 * n as f64 / t.acked.max(1) as f64;
        let _ = writeln!(
            s,
            "  sends: {} sent, {} acked, {} failed, {} indeterminate; acked then lost: {} ({:.2}%), duplicated: {}",
            t.sent,
            t.acked,
            t.failed,
            t.indeterminate,
            t.lost,
            percent(t.lost),
            t.duplicated
        );
        for (name, t) in &self.checkers {
            if t.runs_with_bug + t.runs_with_allowed == 0 && t.modality != Some(Modality::Expected) {
                continue;
            }
            let modality = t.modality.map_or("-", Modality::name);
            let _ = writeln!(
                s,
                "  {:<24} {:<9} bug in {} runs, allowed in {} runs, failed {} runs",
                name, modality, t.runs_with_bug, t.runs_with_allowed, t.failed_runs
            );
        }
        for c in &self.missing_expected {
            let _ = writeln!(s, "  expected {c} in at least one seed: not found");
        }
        for (seed, command) in &self.failures {
            let _ = writeln!(s, "  seed {seed} failed: {command}");
        }
        let _ = writeln!(s, "  sweep: {}", if self.ok() { "pass" } else { "FAIL" });
        s
    }
}
