//! Seed sweeps: one scenario over a range of seeds on several worker threads, reports handed on in
//! seed order, and the sweep's verdict: no run may fail, crash or time out, and every anomaly the
//! scenario expects must show up in at least one seed.
//!
//! | piece | what it is |
//! |---|---|
//! | [`Shard`] | `K/N`: the seeds `s` of a [`SeedSet`] with `s % N == K`, so a sweep splits across machines |
//! | [`SweepOptions`], [`sweep_with`] | jobs, shard, stop at the first failure, determinism check |
//! | [`RunRecord`] | what a summary needs of one run: taken from a report, or read back from JSON |
//! | [`Tally`], [`SweepSummary`] | runs added up in seed order; the same code merges shards exactly |
//! | [`Nondeterminism`], [`first_difference`] | a seed whose two runs disagreed, and where |
//!
//! The library prints nothing: the command line owns progress bars and output, through the
//! callback that sees every run.

use crate::budget::Limits;
use crate::check::Counts;
use crate::coverage::FaultCoverage;
use crate::hash;
use crate::history::History;
use crate::report::RunReport;
use crate::run::{self, FailureKind, RunFailure, RunOutput};
use crate::scenario::{Scenario, CHECKER_NAMES};
use crate::seeds::SeedSet;
use crate::trace;
use crate::verdict::{Modality, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

/// One of `count` shards of a seed range: the seeds `s` with `s % count == index`. `index`
/// counts from 0, so the shards of 4 are 0/4, 1/4, 2/4 and 3/4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N`, with `K < N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = |why: &str| format!("shard `{s}`: {why}");
        let (k, n) = s.split_once('/').ok_or_else(|| bad("expected K/N, e.g. 0/4 (K counts from 0)"))?;
        let index: u64 = k.trim().parse().map_err(|_| bad(&format!("`{k}` is not a number")))?;
        let count: u64 = n.trim().parse().map_err(|_| bad(&format!("`{n}` is not a number")))?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad(&format!(
                "K must be less than N: K counts from 0, so the shards of {count} are 0/{count} to {}/{count}",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// The whole range, as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn contains(self, seed: u64) -> bool {
        seed % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The seeds of a set in `shard`, in order, so that workers can take them by index: of a range,
/// an arithmetic progression; of a list, the list's seeds in the shard.
#[derive(Clone, Debug)]
enum SeedPlan {
    Progression { first: u64, step: u64, len: u64 },
    Listed(Arc<[u64]>),
}

impl SeedPlan {
    fn new(seeds: &SeedSet, shard: Shard) -> SeedPlan {
        match seeds {
            SeedSet::Range(range) => {
                let offset = (shard.index + shard.count - range.start % shard.count) % shard.count;
                let first = range.start.saturating_add(offset);
                let len = if first >= range.end { 0 } else { (range.end - first - 1) / shard.count + 1 };
                SeedPlan::Progression { first, step: shard.count, len }
            }
            SeedSet::List(list) => {
                SeedPlan::Listed(list.iter().copied().filter(|&s| shard.contains(s)).collect())
            }
        }
    }

    fn len(&self) -> u64 {
        match self {
            SeedPlan::Progression { len, .. } => *len,
            SeedPlan::Listed(seeds) => seeds.len() as u64,
        }
    }

    fn seed(&self, i: u64) -> u64 {
        match self {
            SeedPlan::Progression { first, step, .. } => first + i * step,
            SeedPlan::Listed(seeds) => seeds[i as usize],
        }
    }
}

/// How many seeds of `seeds` a sweep with `shard` runs.
pub fn seed_count(seeds: &SeedSet, shard: Option<Shard>) -> u64 {
    SeedPlan::new(seeds, shard.unwrap_or(Shard::WHOLE)).len()
}

#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Worker threads.
    pub jobs: usize,
    /// Run only this shard's seeds.
    pub shard: Option<Shard>,
    /// Stop at the first failing run in seed order (a crash, a timeout, a failed checker, or a
    /// nondeterministic seed). Workers may have run a few later seeds already; those are
    /// discarded, so what a stopped sweep reports does not depend on thread timing.
    pub stop_on_first: bool,
    /// Run every seed a second time, on a fresh thread and runtime, and compare the histories.
    pub check_determinism: bool,
    /// Each run's absolute budget (see `budget`): the documented one unless a test wants less.
    pub limits: Limits,
    /// Set from outside (on Ctrl-C, or when nobody reads the output any more) to stop the sweep:
    /// no seed starts after it is set, the runs that have finished are counted (in seed order,
    /// over any gap a run still in flight leaves), and the sweep returns without waiting for the
    /// runs in flight, whose threads end on their own. The summary says so: `interrupted`.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for SweepOptions {
    fn default() -> SweepOptions {
        SweepOptions {
            jobs: 1,
            shard: None,
            stop_on_first: false,
            check_determinism: false,
            limits: Limits::default(),
            cancel: None,
        }
    }
}

/// One seed's run as the sweep hands it on.
#[derive(Clone, Debug)]
pub struct SeedRun {
    pub report: RunReport,
    /// Set when the determinism check ran and the two runs disagreed.
    pub nondeterminism: Option<Nondeterminism>,
}

/// How often a sweep waiting for runs looks at its `cancel` flag.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs every seed of `seeds` on `jobs` threads. `each` sees every report, in seed order.
pub fn sweep(
    scenario: Arc<Scenario>,
    file: &str,
    seeds: impl Into<SeedSet>,
    jobs: usize,
    mut each: impl FnMut(&RunReport),
) -> SweepSummary {
    let options = SweepOptions { jobs, ..SweepOptions::default() };
    sweep_with(scenario, file, seeds, &options, |run| each(&run.report))
}

/// Runs the seeds of `seeds` that `options.shard` selects on `options.jobs` threads. `each` sees
/// every run the summary counts, in seed order.
pub fn sweep_with(
    scenario: Arc<Scenario>,
    file: &str,
    seeds: impl Into<SeedSet>,
    options: &SweepOptions,
    mut each: impl FnMut(&SeedRun),
) -> SweepSummary {
    let started = Instant::now();
    let seeds = seeds.into();
    let plan = SeedPlan::new(&seeds, options.shard.unwrap_or(Shard::WHOLE));
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<(u64, SeedRun)>();
    let workers: Vec<_> = (0..options.jobs.max(1))
        .map(|_| {
            let (next, stop, tx, scenario, file, plan) =
                (next.clone(), stop.clone(), tx.clone(), scenario.clone(), file.to_string(), plan.clone());
            let (check, limits) = (options.check_determinism, options.limits);
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                let run = run_seed(&scenario, &file, plan.seed(i), check, limits);
                if tx.send((i, run)).is_err() {
                    break;
                }
            })
        })
        .collect();
    drop(tx);

    let mut tally = Tally::new(&scenario.name, file, modalities(&scenario));
    tally.summary.seeds = seeds;
    tally.summary.shard = options.shard;
    tally.summary.check_determinism = options.check_determinism;
    // Counts one run; true when the sweep stops at it (`stop_on_first`).
    let mut count = |run: SeedRun, tally: &mut Tally| {
        let record = RunRecord::of(&run.report);
        tally.add(&record, run.nondeterminism.as_ref());
        each(&run);
        if options.stop_on_first && (record.fails_sweep() || run.nondeterminism.is_some()) {
            tally.summary.stopped_at = Some(record.seed);
            stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    };
    let cancelled = || options.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
    // Runs finish out of order; count and hand them on in seed order, so that the first failure
    // a stopped sweep reports is the lowest failing seed whatever the threads did.
    let mut pending: BTreeMap<u64, SeedRun> = BTreeMap::new();
    let mut next_index = 0;
    let mut interrupted = false;
    'receive: loop {
        if cancelled() {
            interrupted = true;
            break;
        }
        // A short wait, so that a cancel is seen within it even while a long run is in flight.
        let (i, run) = match rx.recv_timeout(CANCEL_POLL) {
            Ok(received) => received,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        pending.insert(i, run);
        while let Some(run) = pending.remove(&next_index) {
            next_index += 1;
            if count(run, &mut tally) {
                break 'receive;
            }
        }
    }
    if interrupted {
        stop.store(true, Ordering::Relaxed);
        // What finished counts, gaps or not; what is still running does not.
        pending.extend(rx.try_iter());
        for (_, run) in pending {
            if count(run, &mut tally) {
                break;
            }
        }
        tally.summary.interrupted = tally.summary.stopped_at.is_none() && tally.summary.runs < plan.len();
        // Not joined: a worker still running finishes its seed, fails to send it, and ends.
        drop(workers);
    } else {
        // The receiver is gone once we get here: a worker still running finishes its seed, fails to
        // send it, and ends.
        for w in workers {
            w.join().expect("sweep worker");
        }
    }
    let mut summary = tally.finish();
    let elapsed_s = started.elapsed().as_secs_f64();
    summary.elapsed_s = Some(elapsed_s);
    summary.seeds_per_s = Some(summary.runs as f64 / elapsed_s.max(1e-9));
    summary
}

fn run_seed(
    scenario: &Arc<Scenario>,
    file: &str,
    seed: u64,
    check_determinism: bool,
    limits: Limits,
) -> SeedRun {
    let first = run::run_with(scenario.clone(), seed, limits);
    let nondeterminism = if check_determinism {
        let second = run::run_with(scenario.clone(), seed, limits);
        compare_runs(file, seed, &first, &second)
    } else {
        None
    };
    SeedRun { report: RunReport::new(scenario, file, seed, &first), nondeterminism }
}

fn modalities(scenario: &Scenario) -> BTreeMap<String, Modality> {
    CHECKER_NAMES.iter().map(|&c| (c.to_string(), Modality::of(scenario, c))).collect()
}

/// What a summary needs of one run. Built from a [`RunReport`], or deserialized from a report's
/// JSON (other fields are ignored), which is how `merge` re-tallies shards exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub scenario: String,
    pub file: String,
    pub seed: u64,
    pub passed: bool,
    pub failure: Option<RunFailure>,
    pub counts: Counts,
    #[serde(default)]
    pub coverage: FaultCoverage,
    pub verdicts: Vec<VerdictRecord>,
    pub reproduce: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerdictRecord {
    pub checker: String,
    pub modality: Modality,
    pub outcome: Outcome,
    pub bugs: usize,
    pub allowed: usize,
}

impl RunRecord {
    pub fn of(report: &RunReport) -> RunRecord {
        RunRecord {
            scenario: report.scenario.clone(),
            file: report.file.clone(),
            seed: report.seed,
            passed: report.passed,
            failure: report.failure.clone(),
            counts: report.counts.clone(),
            coverage: report.coverage,
            verdicts: report
                .verdicts
                .iter()
                .map(|v| VerdictRecord {
                    checker: v.checker.to_string(),
                    modality: v.modality,
                    outcome: v.outcome,
                    bugs: v.bugs,
                    allowed: v.allowed,
                })
                .collect(),
            reproduce: report.reproduce.clone(),
        }
    }

    /// As [`RunReport::fails_sweep`].
    pub fn fails_sweep(&self) -> bool {
        self.failure.is_some() || self.verdicts.iter().any(|v| v.outcome == Outcome::Failed)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerTally {
    pub modality: Option<Modality>,
    /// Runs in which the checker reported a violation labelled bug / allowed.
    pub runs_with_bug: u64,
    pub runs_with_allowed: u64,
    /// Runs the checker failed.
    pub failed_runs: u64,
    /// Runs in which the checker had nothing to examine (no record read, no leader elected).
    #[serde(default)]
    pub runs_with_nothing_to_check: u64,
}

/// Why a listed seed failed, the gravest reason first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeedFailure {
    Nondeterminism,
    Crash,
    Timeout,
    Incomplete,
    Violation,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedSeed {
    pub seed: u64,
    pub failure: SeedFailure,
    /// The checkers that failed the run.
    pub checkers: Vec<String>,
    pub reproduce: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub scenario: String,
    pub file: String,
    /// The seeds swept (a shard runs only its part of them).
    pub seeds: SeedSet,
    pub shard: Option<Shard>,
    /// On a summary `merge` combined: the shards it combined. Empty on a sweep's own summary.
    #[serde(default)]
    pub merged_shards: Vec<Shard>,
    /// Every seed was run twice and the histories compared.
    pub check_determinism: bool,
    pub runs: u64,
    pub passed: u64,
    pub crashed: u64,
    pub timed_out: u64,
    /// Runs whose final read did not reach every partition's end.
    #[serde(default)]
    pub incomplete: u64,
    /// Seeds whose two runs disagreed (with `check_determinism`).
    pub nondeterministic: u64,
    pub checkers: BTreeMap<String, CheckerTally>,
    /// The workload's outcomes over every run together.
    pub totals: Counts,
    /// Fault coverage over every run together.
    #[serde(default)]
    pub coverage: FaultCoverage,
    /// Expected anomalies no seed showed.
    pub missing_expected: Vec<String>,
    /// The first failing seeds, with the command that reproduces each.
    pub failures: Vec<FailedSeed>,
    /// The first nondeterministic seeds, with where their histories part.
    pub nondeterminism: Vec<Nondeterminism>,
    /// Set when the sweep stopped at its first failing run: that run's seed.
    pub stopped_at: Option<u64>,
    /// The sweep was cancelled (Ctrl-C) before every seed had run: the counts are of the runs
    /// that finished, and expected anomalies are not judged.
    #[serde(default)]
    pub interrupted: bool,
    /// Wall time and rate of the sweep itself; absent (null) on a merged summary.
    pub elapsed_s: Option<f64>,
    pub seeds_per_s: Option<f64>,
}

/// How a sweep came out, the gravest first: this order decides the exit code when a command
/// sweeps several scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SweepVerdict {
    Nondeterministic,
    Crashed,
    TimedOut,
    Incomplete,
    Violated,
    Passed,
}

impl SweepSummary {
    pub fn ok(&self) -> bool {
        self.passed == self.runs && self.missing_expected.is_empty()
    }

    pub fn verdict(&self) -> SweepVerdict {
        if self.nondeterministic > 0 {
            SweepVerdict::Nondeterministic
        } else if self.crashed > 0 {
            SweepVerdict::Crashed
        } else if self.timed_out > 0 {
            SweepVerdict::TimedOut
        } else if self.incomplete > 0 {
            SweepVerdict::Incomplete
        } else if !self.ok() {
            SweepVerdict::Violated
        } else {
            SweepVerdict::Passed
        }
    }
}

/// How many failing seeds a summary lists.
pub const LISTED_FAILURES: usize = 10;

/// Adds runs up, in the order given, into a [`SweepSummary`].
#[derive(Clone, Debug)]
pub struct Tally {
    summary: SweepSummary,
    found: BTreeSet<String>,
}

impl Tally {
    /// A tally with no runs yet; `modalities` names every checker with what the scenario expects.
    pub fn new(scenario: &str, file: &str, modalities: BTreeMap<String, Modality>) -> Tally {
        let summary = SweepSummary {
            scenario: scenario.to_string(),
            file: file.to_string(),
            seeds: SeedSet::Range(0..0),
            shard: None,
            merged_shards: Vec::new(),
            check_determinism: false,
            runs: 0,
            passed: 0,
            crashed: 0,
            timed_out: 0,
            incomplete: 0,
            nondeterministic: 0,
            checkers: modalities
                .into_iter()
                .map(|(c, m)| (c, CheckerTally { modality: Some(m), ..CheckerTally::default() }))
                .collect(),
            totals: Counts::default(),
            coverage: FaultCoverage::default(),
            missing_expected: Vec::new(),
            failures: Vec::new(),
            nondeterminism: Vec::new(),
            stopped_at: None,
            interrupted: false,
            elapsed_s: None,
            seeds_per_s: None,
        };
        Tally { summary, found: BTreeSet::new() }
    }

    /// The summary being built, for its header fields (seeds, shard, …).
    pub fn summary_mut(&mut self) -> &mut SweepSummary {
        &mut self.summary
    }

    pub fn add(&mut self, run: &RunRecord, nondeterminism: Option<&Nondeterminism>) {
        let summary = &mut self.summary;
        summary.runs += 1;
        summary.totals.add(&run.counts);
        summary.coverage.add(&run.coverage);
        let kind = run.failure.as_ref().map(|f| f.kind);
        match kind {
            Some(FailureKind::Crash) => summary.crashed += 1,
            Some(FailureKind::Timeout) => summary.timed_out += 1,
            Some(FailureKind::Incomplete) => summary.incomplete += 1,
            None => {}
        }
        if let Some(n) = nondeterminism {
            summary.nondeterministic += 1;
            if summary.nondeterminism.len() < LISTED_FAILURES {
                summary.nondeterminism.push(n.clone());
            }
        }
        if run.fails_sweep() || nondeterminism.is_some() {
            if summary.failures.len() < LISTED_FAILURES {
                let failure = match (nondeterminism, kind) {
                    (Some(_), _) => SeedFailure::Nondeterminism,
                    (None, Some(FailureKind::Crash)) => SeedFailure::Crash,
                    (None, Some(FailureKind::Timeout)) => SeedFailure::Timeout,
                    (None, Some(FailureKind::Incomplete)) => SeedFailure::Incomplete,
                    (None, None) => SeedFailure::Violation,
                };
                summary.failures.push(FailedSeed {
                    seed: run.seed,
                    failure,
                    checkers: run
                        .verdicts
                        .iter()
                        .filter(|v| v.outcome == Outcome::Failed)
                        .map(|v| v.checker.clone())
                        .collect(),
                    reproduce: run.reproduce.clone(),
                });
            }
        } else {
            summary.passed += 1;
        }
        for v in &run.verdicts {
            let t = summary.checkers.entry(v.checker.clone()).or_default();
            t.modality.get_or_insert(v.modality);
            t.runs_with_bug += u64::from(v.bugs > 0);
            t.runs_with_allowed += u64::from(v.allowed > 0);
            t.failed_runs += u64::from(v.outcome == Outcome::Failed);
            t.runs_with_nothing_to_check += u64::from(v.outcome == Outcome::NothingToCheck);
            if v.outcome == Outcome::Found {
                self.found.insert(v.checker.clone());
            }
        }
    }

    /// The summary. Expected anomalies are judged only over a sweep that ran to the end: one
    /// that stopped early has failed already, and one interrupted did not see every seed, so
    /// their missing anomalies say nothing.
    pub fn finish(mut self) -> SweepSummary {
        if self.summary.stopped_at.is_none() && !self.summary.interrupted {
            self.summary.missing_expected = self
                .summary
                .checkers
                .iter()
                .filter(|(c, t)| t.modality == Some(Modality::Expected) && !self.found.contains(*c))
                .map(|(c, _)| c.clone())
                .collect();
        }
        self.summary
    }
}

/// A seed whose two runs disagreed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nondeterminism {
    pub seed: u64,
    /// How each run ended: `history <hash>`, or `crashed: …` / `timed out: …`.
    pub first_run: String,
    pub second_run: String,
    /// Where the histories part, when both runs finished and their events differ.
    pub difference: Option<EventDifference>,
    /// The command that runs the seed.
    pub reproduce: String,
    /// The command that checks the seed again.
    pub recheck: String,
}

/// The first event in which two histories differ; `None` for a history that had already ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDifference {
    pub index: usize,
    pub first: Option<String>,
    pub second: Option<String>,
}

/// The first event (rendered as a trace line) in which `a` and `b` differ, if any does.
pub fn first_difference(a: &History, b: &History) -> Option<EventDifference> {
    let index = a
        .events
        .iter()
        .zip(&b.events)
        .position(|(x, y)| x != y)
        .or_else(|| (a.events.len() != b.events.len()).then_some(a.events.len().min(b.events.len())))?;
    let render = |h: &History| h.events.get(index).map(|e| trace::line(h, e));
    Some(EventDifference { index, first: render(a), second: render(b) })
}

/// The command that checks one seed's determinism again, ready to paste into a shell.
pub fn recheck_command(file: &str, seed: u64) -> String {
    format!(
        "cargo run --release -- sweep {} --seeds {seed}..={seed} --check-determinism",
        crate::report::shell_word(file),
    )
}

fn ending(result: &Result<RunOutput, RunFailure>) -> String {
    match result {
        Ok(out) => format!("history {}", hash::hex(hash::history_hash(&out.history))),
        Err(f) => match f.kind {
            FailureKind::Crash => format!("crashed: {}", f.message),
            FailureKind::Timeout => format!("timed out: {}", f.message),
            FailureKind::Incomplete => format!("incomplete: {}", f.message),
        },
    }
}

/// Compares two runs of one seed: `None` when they agree (the same history hash, or the same
/// failure).
pub fn compare_runs(
    file: &str,
    seed: u64,
    first: &Result<RunOutput, RunFailure>,
    second: &Result<RunOutput, RunFailure>,
) -> Option<Nondeterminism> {
    let (first_run, second_run) = (ending(first), ending(second));
    if first_run == second_run {
        return None;
    }
    let difference = match (first, second) {
        (Ok(a), Ok(b)) => first_difference(&a.history, &b.history),
        _ => None,
    };
    Some(Nondeterminism {
        seed,
        first_run,
        second_run,
        difference,
        reproduce: crate::report::reproduce_command(file, seed),
        recheck: recheck_command(file, seed),
    })
}

impl Nondeterminism {
    /// The human-readable account, indented by two.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "  seed {} is NOT deterministic", self.seed);
        let _ = writeln!(s, "    first run:  {}", self.first_run);
        let _ = writeln!(s, "    second run: {}", self.second_run);
        match &self.difference {
            Some(d) => {
                let _ = writeln!(s, "    first differing event: #{}", d.index);
                let _ = writeln!(s, "      first run:  {}", d.first.as_deref().unwrap_or("(history ended)"));
                let _ = writeln!(s, "      second run: {}", d.second.as_deref().unwrap_or("(history ended)"));
            }
            None if self.first_run.starts_with("history") && self.second_run.starts_with("history") => {
                let _ = writeln!(s, "    every event is equal: the node names differ");
            }
            None => {}
        }
        let _ = writeln!(s, "    reproduce: {}", self.reproduce);
        let _ = writeln!(s, "    check again: {}", self.recheck);
        s
    }
}

impl SweepSummary {
    /// The human-readable summary; `elapsed_s` is the wall time the sweep took.
    pub fn render(&self, elapsed_s: f64) -> String {
        let mut summary = self.clone();
        summary.elapsed_s = Some(elapsed_s);
        summary.seeds_per_s = Some(self.runs as f64 / elapsed_s.max(1e-9));
        summary.render_text()
    }

    /// The human-readable summary, with the rate the summary carries (none on a merged one).
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let mut what = format!("seeds {}", self.seeds.short());
        if let Some(shard) = self.shard {
            let _ = write!(what, " shard {shard}");
        }
        if !self.merged_shards.is_empty() {
            let shards: Vec<String> = self.merged_shards.iter().map(Shard::to_string).collect();
            let _ = write!(what, ", merged from shards {}", shards.join(", "));
        }
        let _ = write!(
            s,
            "{} ({}), {what}: {} runs, {} passed, {} crashed, {} timed out",
            self.scenario, self.file, self.runs, self.passed, self.crashed, self.timed_out
        );
        if self.incomplete > 0 {
            let _ = write!(s, ", {} incomplete", self.incomplete);
        }
        if self.check_determinism {
            let _ = write!(s, ", {} nondeterministic", self.nondeterministic);
        }
        match self.seeds_per_s {
            Some(rate) => {
                let _ = writeln!(s, " — {rate:.1} seeds/s");
            }
            None => s.push('\n'),
        }
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
        if self.coverage.faults > 0 {
            let _ = writeln!(s, "  {}", self.coverage.describe());
        }
        if self.coverage.mostly_missed() {
            let _ = writeln!(
                s,
                "  warning: {} of {} faults hit nobody: their targets rarely name a node when they fire, \
                 so these runs test little (see the runs' \"hit nobody\" lines)",
                self.coverage.hit_nobody(),
                self.coverage.faults
            );
        }
        let shown: Vec<_> = self
            .checkers
            .iter()
            .filter(|(_, t)| {
                t.runs_with_bug + t.runs_with_allowed + t.failed_runs > 0
                    || t.modality == Some(Modality::Expected)
            })
            .collect();
        if !shown.is_empty() {
            let _ = writeln!(
                s,
                "  {:<24} {:<9} {:>15} {:>19} {:>13}",
                "checker", "expect", "runs with bug", "runs with allowed", "runs failed"
            );
        }
        for (name, t) in shown {
            let modality = t.modality.map_or("-", Modality::name);
            let _ = writeln!(
                s,
                "  {:<24} {:<9} {:>15} {:>19} {:>13}",
                name, modality, t.runs_with_bug, t.runs_with_allowed, t.failed_runs
            );
        }
        let idle: Vec<String> = self
            .checkers
            .iter()
            .filter(|(_, t)| t.runs_with_nothing_to_check > 0)
            .map(|(name, t)| match t.runs_with_nothing_to_check == self.runs {
                true => format!("{name} (every run)"),
                false => format!("{name} ({} runs)", t.runs_with_nothing_to_check),
            })
            .collect();
        if !idle.is_empty() {
            let _ = writeln!(s, "  nothing to check: {}", idle.join(", "));
        }
        for c in &self.missing_expected {
            let _ = writeln!(s, "  expected {c} in at least one seed: not found");
        }
        if let Some(seed) = self.stopped_at {
            let _ = writeln!(
                s,
                "  stopped early (--stop-on-first) at seed {seed}, the first failing seed; seeds after it not counted"
            );
        }
        if self.interrupted {
            let _ = writeln!(
                s,
                "  interrupted after {} of {} seeds: a partial summary; the seeds not run are not counted, and \
                 expected anomalies are not judged",
                self.runs,
                self.seed_count()
            );
        }
        for n in &self.nondeterminism {
            s.push_str(&n.render());
        }
        if !self.failures.is_empty() {
            let more = self.runs - self.passed - self.failures.len() as u64;
            let _ = writeln!(
                s,
                "  failing seeds{}:",
                if more > 0 {
                    format!(" (the first {}; {more} more)", self.failures.len())
                } else {
                    String::new()
                }
            );
        }
        for f in &self.failures {
            let why = match f.failure {
                SeedFailure::Nondeterminism => "nondeterministic".to_string(),
                SeedFailure::Crash => "crashed".to_string(),
                SeedFailure::Timeout => "timed out".to_string(),
                SeedFailure::Incomplete => "incomplete".to_string(),
                SeedFailure::Violation => format!("failed {}", f.checkers.join(", ")),
            };
            let _ = writeln!(s, "    seed {} {why}: {}", f.seed, f.reproduce);
        }
        let verdict = match (self.interrupted, self.verdict() == SweepVerdict::Passed) {
            (false, true) => "pass",
            (false, false) => "FAIL",
            (true, true) => "partial, no failure so far",
            (true, false) => "partial, FAIL so far",
        };
        let _ = writeln!(s, "  sweep: {verdict}");
        s
    }

    /// How many seeds the sweep was to run: those of its seed set in its shard.
    pub fn seed_count(&self) -> u64 {
        seed_count(&self.seeds, self.shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Op, Phase};
    use broker::types::NodeId;

    fn shard(s: &str) -> Shard {
        Shard::parse(s).unwrap()
    }

    #[test]
    fn shards_parse_from_0_and_reject_k_at_or_past_n() {
        assert_eq!(shard("0/4"), Shard { index: 0, count: 4 });
        assert_eq!(shard(" 3 / 4 "), Shard { index: 3, count: 4 });
        assert_eq!(shard("0/1"), Shard::WHOLE);
        let err = Shard::parse("4/4").unwrap_err();
        assert!(err.contains("K must be less than N") && err.contains("0/4 to 3/4"), "{err}");
        assert!(Shard::parse("0/0").unwrap_err().contains("at least 1"));
        assert!(Shard::parse("1").unwrap_err().contains("expected K/N"));
        assert!(Shard::parse("a/2").unwrap_err().contains("`a` is not a number"));
        assert!(Shard::parse("-1/2").is_err());
    }

    #[test]
    fn shards_partition_a_range_or_a_list() {
        let sets: Vec<(SeedSet, Vec<u64>)> = [0..10, 3..17, 5..6, 7..7, 100..101]
            .into_iter()
            .map(|r| (SeedSet::Range(r.clone()), r.collect()))
            .chain([(SeedSet::List(vec![3, 17, 42, 43, 1000]), vec![3, 17, 42, 43, 1000])])
            .collect();
        for (set, all_seeds) in sets {
            for count in 1..6 {
                let mut all = Vec::new();
                for index in 0..count {
                    let s = Shard { index, count };
                    let plan = SeedPlan::new(&set, s);
                    let seeds: Vec<u64> = (0..plan.len()).map(|i| plan.seed(i)).collect();
                    let expected: Vec<u64> = all_seeds.iter().copied().filter(|&x| s.contains(x)).collect();
                    assert_eq!(seeds, expected, "{set} shard {s}");
                    assert_eq!(seed_count(&set, Some(s)), expected.len() as u64);
                    all.extend(seeds);
                }
                all.sort();
                assert_eq!(all, all_seeds, "{set} in {count} shards");
            }
        }
    }

    fn history(ops: &[(u64, Op)]) -> History {
        let mut h = History::default();
        h.node_names.insert(NodeId(0), "nemesis".to_string());
        for (t, op) in ops {
            h.push(*t, NodeId(0), op.clone());
        }
        h
    }

    #[test]
    fn first_difference_names_the_event_where_histories_part() {
        let a = history(&[(1, Op::Phase(Phase::Healed)), (2, Op::Phase(Phase::Converged))]);
        let b = history(&[(1, Op::Phase(Phase::Healed)), (2, Op::Phase(Phase::NotConverged))]);
        assert_eq!(first_difference(&a, &a), None);
        let d = first_difference(&a, &b).expect("they differ");
        assert_eq!(d.index, 1);
        assert!(d.first.as_deref().unwrap().contains("PHASE converged"), "{d:?}");
        assert!(d.second.as_deref().unwrap().contains("did not converge"), "{d:?}");

        let short = history(&[(1, Op::Phase(Phase::Healed))]);
        let d = first_difference(&a, &short).expect("one is longer");
        assert_eq!((d.index, d.second.as_deref()), (1, None));
        assert!(d.first.is_some());
    }

    fn output(history: History) -> Result<RunOutput, RunFailure> {
        Ok(RunOutput {
            history,
            net: crate::net::NetStats::default(),
            simulated_ms: 0,
            liveness_gap: None,
            final_read_gap: None,
            log: Vec::new(),
        })
    }

    #[test]
    fn two_runs_of_a_seed_agree_or_say_where_they_part() {
        let a = output(history(&[(1, Op::Phase(Phase::Healed)), (2, Op::Phase(Phase::Converged))]));
        let b = output(history(&[(1, Op::Phase(Phase::Healed)), (3, Op::Phase(Phase::Converged))]));
        assert_eq!(compare_runs("s.toml", 9, &a, &a.clone()), None);
        let n = compare_runs("s.toml", 9, &a, &b).expect("the histories differ");
        assert_eq!(n.difference.as_ref().map(|d| d.index), Some(1));
        assert!(n.first_run.starts_with("history ") && n.first_run != n.second_run, "{n:?}");
        assert_eq!(n.reproduce, "cargo run --release -- run s.toml --seed 9");
        assert_eq!(n.recheck, "cargo run --release -- sweep s.toml --seeds 9..=9 --check-determinism");
        let rendered = n.render();
        assert!(rendered.contains("seed 9 is NOT deterministic") && rendered.contains("#1"), "{rendered}");

        let crashed: Result<RunOutput, RunFailure> =
            Err(RunFailure { kind: FailureKind::Crash, message: "boom".into() });
        assert_eq!(compare_runs("s.toml", 9, &crashed, &crashed.clone()), None);
        let n = compare_runs("s.toml", 9, &a, &crashed).expect("one run crashed");
        assert_eq!((n.second_run.as_str(), n.difference), ("crashed: boom", None));
    }

    fn record(seed: u64, outcome: Outcome, failure: Option<FailureKind>) -> RunRecord {
        RunRecord {
            scenario: "s".into(),
            file: "s.toml".into(),
            seed,
            passed: outcome != Outcome::Failed && failure.is_none(),
            failure: failure.map(|kind| RunFailure { kind, message: "m".into() }),
            counts: Counts { sent: 10, acked: 9, ..Counts::default() },
            coverage: FaultCoverage { faults: 3, hit_a_node: 1, hit_a_leader_with_writes_in_flight: 1 },
            verdicts: if failure.is_some() {
                Vec::new()
            } else {
                vec![VerdictRecord {
                    checker: "lost-write".into(),
                    modality: Modality::Never,
                    outcome,
                    bugs: usize::from(outcome == Outcome::Failed),
                    allowed: 0,
                }]
            },
            reproduce: format!("run s.toml --seed {seed}"),
        }
    }

    #[test]
    fn a_tally_counts_each_kind_of_failure_and_lists_seeds_in_order() {
        let modalities = BTreeMap::from([("lost-write".to_string(), Modality::Never)]);
        let mut tally = Tally::new("s", "s.toml", modalities);
        tally.add(&record(0, Outcome::Quiet, None), None);
        tally.add(&record(1, Outcome::Failed, None), None);
        tally.add(&record(2, Outcome::Quiet, Some(FailureKind::Crash)), None);
        tally.add(&record(3, Outcome::Quiet, Some(FailureKind::Timeout)), None);
        tally.add(&record(4, Outcome::Quiet, Some(FailureKind::Incomplete)), None);
        let summary = tally.finish();
        assert_eq!(
            (summary.runs, summary.passed, summary.crashed, summary.timed_out, summary.incomplete),
            (5, 1, 1, 1, 1)
        );
        assert_eq!(summary.totals.sent, 50);
        assert_eq!(
            summary.coverage,
            FaultCoverage { faults: 15, hit_a_node: 5, hit_a_leader_with_writes_in_flight: 5 }
        );
        let text = summary.render_text();
        assert!(text.contains("  15 faults: 5 hit a node, 5 hit a leader with writes in flight\n"), "{text}");
        assert!(text.contains("warning: 10 of 15 faults hit nobody"), "{text}");
        assert_eq!(summary.checkers["lost-write"].failed_runs, 1);
        let listed: Vec<(u64, SeedFailure)> = summary.failures.iter().map(|f| (f.seed, f.failure)).collect();
        assert_eq!(
            listed,
            [
                (1, SeedFailure::Violation),
                (2, SeedFailure::Crash),
                (3, SeedFailure::Timeout),
                (4, SeedFailure::Incomplete)
            ]
        );
        assert_eq!(summary.failures[0].checkers, ["lost-write"]);
        assert_eq!(summary.verdict(), SweepVerdict::Crashed);
        let mut incomplete = Tally::new("s", "s.toml", BTreeMap::new());
        incomplete.add(&record(0, Outcome::Quiet, None), None);
        incomplete.add(&record(1, Outcome::Quiet, Some(FailureKind::Incomplete)), None);
        assert_eq!(incomplete.finish().verdict(), SweepVerdict::Incomplete, "never a pass");
    }

    #[test]
    fn an_expected_anomaly_is_missing_only_from_a_sweep_that_ran_to_the_end() {
        let modalities = BTreeMap::from([("lost-write".to_string(), Modality::Expected)]);
        let tally = Tally::new("s", "s.toml", modalities.clone());
        assert_eq!(tally.finish().missing_expected, ["lost-write"]);
        let mut stopped = Tally::new("s", "s.toml", modalities);
        stopped.summary_mut().stopped_at = Some(0);
        assert!(stopped.finish().missing_expected.is_empty());
    }
}
