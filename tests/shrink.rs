//! `kafkasim shrink`: the shrunk file loads, replays its violation with the seed it records, and
//! does not depend on the number of threads; a run with nothing to shrink is bad input.

mod common;

use common::{kafkasim, text};

use sim::scenario;
use sim::shrink::{self, Goal, Options};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kafkasim-shrink-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn shrink_writes_a_smaller_scenario_that_replays_the_violation() {
    let out = temp_dir("o").join("acks1.toml");
    let o = kafkasim(&[
        "shrink",
        "scenarios/acks1-leader-crash.toml",
        "--seed",
        "7",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", text(&o.stderr));
    assert!(stdout.contains("keeping lost-write (allowed)"), "{stdout}");
    assert!(stdout.contains("faults, messages 1000 → "), "{stdout}");
    assert!(stdout.contains(" runs in "), "{stdout}");
    let s = scenario::load(&out).unwrap();
    let r = s.regression.clone().expect("a [regression] table");
    assert_eq!((r.checker.as_str(), r.label.name()), ("lost-write", "allowed"));
    let reproduce = format!("reproduce: cargo run --release -- run {} --seed {}", out.display(), r.seed);
    assert!(stdout.contains(&reproduce), "{stdout}");
    assert!(s.producers[0].messages < 1000, "messages shrank");
    assert!(s.consumers.is_empty(), "the consumer is not needed for a lost write");

    // The file replays: the expected anomaly is found, so the run passes.
    let run = kafkasim(&["run", out.to_str().unwrap(), "--seed", &r.seed.to_string()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    assert!(text(&run.stdout).contains("lost-write               expected  found"), "{}", text(&run.stdout));
}

#[test]
fn without_output_the_scenario_goes_to_stdout() {
    let o = kafkasim(&["shrink", "scenarios/power-loss-all-replicas.toml", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s = scenario::parse(&text(&o.stdout), "stdout").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "power-loss-all-replicas-shrunk");
    assert!(text(&o.stderr).contains("reproduce: save the scenario below as FILE"), "{}", text(&o.stderr));
}

#[test]
fn a_run_without_the_violation_is_bad_input() {
    // acks=all with min.isr=2: seed 0 loses nothing, and nothing fails.
    let o =
        kafkasim(&["shrink", "scenarios/standard-acks-all.toml", "--seed", "0", "--checker", "lost-write"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("shows no lost-write violation"), "{}", text(&o.stderr));

    let o = kafkasim(&["shrink", "scenarios/standard-acks-all.toml", "--seed", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no checker failed"), "{}", text(&o.stderr));

    let o =
        kafkasim(&["shrink", "scenarios/standard-acks-all.toml", "--seed", "0", "--checker", "lost-writes"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown checker `lost-writes`"), "{}", text(&o.stderr));
}

#[test]
fn the_result_does_not_depend_on_the_number_of_threads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/standard-acks-all.toml");
    let resolved = sim::resolve::resolve(&scenario::load(&path).unwrap(), 3).unwrap();
    let goal = Goal::Violation { checker: "nonmonotonic-send", label: scenario::RegressionLabel::Allowed };
    let shrunk = |jobs| {
        let options = Options { max_runs: 2_000, jobs };
        shrink::shrink(&resolved, 3, &goal, options, &mut |_| {}).unwrap()
    };
    let (one, three) = (shrunk(1), shrunk(3));
    assert_eq!(one.scenario, three.scenario);
    assert_eq!((one.seed, one.charged, &one.steps), (three.seed, three.charged, &three.steps));
    assert!(
        one.scenario.faults.len() < resolved.faults.len() || one.scenario.duration_ms < resolved.duration_ms
    );
}

#[test]
fn the_run_budget_stops_shrinking() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/acks1-leader-crash.toml");
    let resolved = sim::resolve::resolve(&scenario::load(&path).unwrap(), 7).unwrap();
    let goal = Goal::Violation { checker: "lost-write", label: scenario::RegressionLabel::Allowed };
    let shrunk = shrink::shrink(&resolved, 7, &goal, Options { max_runs: 10, jobs: 2 }, &mut |_| {}).unwrap();
    assert!(shrunk.exhausted);
    assert!(shrunk.charged <= 10, "{} runs charged", shrunk.charged);
    // Whatever it got to still shows the violation.
    let result = sim::run::run(std::sync::Arc::new(shrunk.scenario.clone()), shrunk.seed);
    assert!(goal.holds(&shrunk.scenario, &result));
}
