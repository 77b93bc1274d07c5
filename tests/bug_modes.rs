//! The checkers can fail: with each deliberate broker defect switched on (and with the historical
//! high-watermark truncation), a sweep of the generic chaos scenario
//! (`scenarios/chaos-acks-all.toml`, not written for any one defect) finds a violation labelled
//! bug within a bounded number of seeds; `shrink` reduces that run; and the shrunk file, loaded
//! back, replays the same violation with the seed it records.

use broker::bugs::Bug;
use sim::report::RunReport;
use sim::run::RunFailure;
use sim::scenario::{self, RegressionLabel, Scenario, TruncationSpec};
use sim::shrink::{self, Goal, Options};
use sim::verdict::Outcome;
use std::path::Path;
use std::sync::Arc;

/// Seeds a sweep may take to find each defect.
const SEED_BOUND: u64 = 200;
/// Seeds run at a time while looking.
const BATCH: u64 = 20;

fn chaos() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/chaos-acks-all.toml");
    scenario::load(&path).expect("the chaos scenario loads")
}

fn chaos_with(bug: Bug) -> Scenario {
    let mut s = chaos();
    s.bugs.insert(bug);
    s
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The first seed whose run fails a checker on a violation labelled bug, and that checker.
fn first_bug(s: &Arc<Scenario>) -> Option<(u64, &'static str)> {
    for start in (0..SEED_BOUND).step_by(BATCH as usize) {
        let mut found = None;
        let _ = sim::sweep::sweep(s.clone(), "chaos", start..start + BATCH, jobs(), |report| {
            let failed = report.verdicts.iter().find(|v| v.outcome == Outcome::Failed && v.bugs > 0);
            if let (None, Some(v)) = (found, failed) {
                found = Some((report.seed, v.checker));
            }
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

fn shows_bug(
    s: &Scenario,
    seed: u64,
    checker: &str,
    result: &Result<sim::run::RunOutput, RunFailure>,
) -> bool {
    let report = RunReport::new(s, "shrunk", seed, result);
    report.verdicts.iter().any(|v| v.checker == checker && v.bugs > 0)
}

fn found_shrunk_and_replayed(bug: Bug) -> (u64, &'static str) {
    found_shrunk_and_replayed_in(chaos_with(bug), CHAOS, bug.name(), |s| s.bugs.contains(&bug))
}

const CHAOS: &str = "scenarios/chaos-acks-all.toml";

/// Sweeps `s` (loaded from `source`) for a bug verdict, shrinks the run, and replays the shrunk
/// file; `kept` says whether a scenario still has the defect under test switched on. Returns the
/// seed the sweep found and the checker that failed it.
fn found_shrunk_and_replayed_in(
    s: Scenario,
    source: &str,
    name: &str,
    kept: impl Fn(&Scenario) -> bool,
) -> (u64, &'static str) {
    let s = Arc::new(s);
    let (seed, checker) =
        first_bug(&s).unwrap_or_else(|| panic!("{name}: no seed below {SEED_BOUND} shows a bug verdict"));

    let resolved = sim::resolve::resolve(&s, seed).expect("resolves");
    let goal = Goal::Violation {
        checker: scenario::CHECKER_NAMES.iter().find(|&&c| c == checker).expect("a checker"),
        label: RegressionLabel::Bug,
    };
    let options = Options { max_runs: 400, jobs: jobs() };
    let shrunk = shrink::shrink(&resolved, seed, &goal, options, &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let smaller = shrunk.scenario.faults.len() < resolved.faults.len()
        || shrunk.scenario.duration_ms < resolved.duration_ms
        || shrunk.scenario.producers.iter().map(|p| p.messages).sum::<u64>()
            < resolved.producers.iter().map(|p| p.messages).sum::<u64>();
    assert!(smaller, "{name}: shrinking removed nothing ({})", shrunk.summary());

    // The file as `shrink -o` writes it, loaded back, replays the violation with its seed.
    let file = shrunk.to_file(&goal, source, "shrunk.toml");
    let replayed = scenario::parse(&file, "shrunk.toml").unwrap_or_else(|e| panic!("{e}\n{file}"));
    assert!(kept(&replayed), "{name}: the shrunk file keeps the defect switched on");
    let recorded = replayed.regression.clone().expect("a [regression] table");
    assert_eq!((recorded.checker.as_str(), recorded.label), (checker, RegressionLabel::Bug));
    let result = sim::run::run(Arc::new(replayed.clone()), recorded.seed);
    assert!(
        shows_bug(&replayed, recorded.seed, checker, &result),
        "{name}: the shrunk file does not replay {checker} (bug) with seed {}:\n{file}",
        recorded.seed
    );
    (seed, checker)
}

#[test]
fn ack_before_replication_is_caught() {
    found_shrunk_and_replayed(Bug::AckBeforeReplication);
}

#[test]
fn elect_outside_isr_is_caught() {
    found_shrunk_and_replayed(Bug::ElectOutsideIsr);
}

#[test]
fn follower_hw_past_log_end_is_caught() {
    found_shrunk_and_replayed(Bug::FollowerHwPastLogEnd);
}

#[test]
fn ignore_min_isr_is_caught() {
    found_shrunk_and_replayed(Bug::IgnoreMinIsr);
}

#[test]
fn retry_without_metadata_refresh_is_caught() {
    found_shrunk_and_replayed(Bug::RetryWithoutMetadataRefresh);
}

#[test]
fn read_above_high_watermark_is_caught() {
    found_shrunk_and_replayed(Bug::ReadAboveHighWatermark);
}

#[test]
fn reorder_with_one_in_flight_is_caught() {
    found_shrunk_and_replayed(Bug::ReorderWithOneInFlight);
}

/// A producer that stops sending after a leader change is caught by `progress`: its sends are
/// still unresolved when the liveness phase ends. The seeds the sweep looked at, without the
/// defect, give `progress` nothing to report at all, not even an allowed violation.
#[test]
fn stall_after_not_leader_is_caught_by_progress() {
    let (seed, checker) = found_shrunk_and_replayed(Bug::StallAfterNotLeader);
    assert_eq!(checker, "progress", "seed {seed}");
    let seeds = 0..(seed + 1).max(BATCH);
    let summary = sim::sweep::sweep(Arc::new(chaos()), "chaos", seeds, jobs(), |report| {
        let progress = report.verdicts.iter().find(|v| v.checker == "progress").expect("a progress verdict");
        assert!(progress.violations.is_empty(), "seed {}: {:?}", report.seed, progress.violations);
    });
    assert!(summary.ok(), "{}", summary.render(1.0));
}

#[test]
fn high_watermark_truncation_is_caught() {
    let mut s = chaos();
    s.broker.truncation = TruncationSpec::HighWatermark;
    found_shrunk_and_replayed_in(s, CHAOS, "high-watermark truncation", |s| {
        s.broker.truncation == TruncationSpec::HighWatermark
    });
}

/// Historical defects a chaos sweep cannot be expected to find: races whose harm needs a
/// failover within milliseconds of the wrong step (no seed below 3,000 of `chaos-acks-all` loses
/// a write with either). Each has a scripted scenario in `tests/historical_defects/` that sets the
/// stage; the sweep searches its seeds for the step landing in the window, and the same seeds
/// with the defect off lose nothing. (`broker/tests/historical_defects.rs` shows each mechanism
/// on one broker.)
const SCRIPTED: [(Bug, &str); 2] = [
    (Bug::IsrJoinBelowEpochStart, "tests/historical_defects/kafka-7128.toml"),
    (Bug::RecordDivergingFetchOffset, "tests/historical_defects/kafka-13141.toml"),
];

fn scripted(bug: Bug) -> (Scenario, &'static str) {
    let (_, file) = SCRIPTED.iter().find(|(b, _)| *b == bug).expect("a scripted scenario");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let s = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.bugs.contains(&bug), "{file} switches {} on", bug.name());
    (s, file)
}

fn found_in_its_scenario_and_absent_without_it(bug: Bug) {
    let (s, file) = scripted(bug);
    found_shrunk_and_replayed_in(s.clone(), file, bug.name(), |s| s.bugs.contains(&bug));
    let mut fixed = s;
    fixed.bugs.remove(&bug);
    let summary = sim::sweep::sweep(Arc::new(fixed), file, 0..SEED_BOUND, jobs(), |_| {});
    assert!(summary.ok(), "{file} without the defect:\n{}", summary.render(1.0));
}

#[test]
fn isr_join_below_epoch_start_is_caught_in_its_scenario() {
    found_in_its_scenario_and_absent_without_it(Bug::IsrJoinBelowEpochStart);
}

#[test]
fn record_diverging_fetch_offset_is_caught_in_its_scenario() {
    found_in_its_scenario_and_absent_without_it(Bug::RecordDivergingFetchOffset);
}

#[test]
fn every_bug_mode_has_a_test() {
    // Adding a bug mode means adding its sweep test above, with a scripted scenario in SCRIPTED
    // if the chaos sweep cannot find it.
    assert_eq!(Bug::ALL.len(), 8 + SCRIPTED.len());
}

#[test]
fn the_broker_as_designed_shows_no_bug_in_the_same_seeds() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/chaos-acks-all.toml");
    let s = Arc::new(scenario::load(&path).expect("the chaos scenario loads"));
    assert!(s.bugs.is_empty());
    let summary = sim::sweep::sweep(s, "chaos", 0..60, jobs(), |_| {});
    assert!(summary.ok(), "{}", summary.render(1.0));
}
