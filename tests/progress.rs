//! Client progress on real runs: the stall a report gives is the failover a client waited out,
//! and a scenario's `max_stall_ms` fails the runs whose clients stalled longer, and only those.
//! (The checker's rules are unit-tested in `sim/src/check/progress.rs`; a producer that never
//! finishes is caught in `tests/bug_modes.rs`.)

use sim::report::RunReport;
use sim::scenario::{self, Scenario};
use sim::verdict::Outcome;
use std::path::Path;
use std::sync::Arc;

fn load(file: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn progress(report: &RunReport) -> &sim::report::CheckerVerdict {
    report.verdicts.iter().find(|v| v.checker == "progress").expect("a progress verdict")
}

/// `acks1-leader-crash` crashes orders/0's leader at 10 s: the producer waits, sends outstanding,
/// until the controller fences the crashed broker (within its 9 s session) and elects another.
#[test]
fn the_longest_stall_is_the_failover_the_producer_waited_out() {
    let s = load("scenarios/acks1-leader-crash.toml");
    let result = sim::run::run(Arc::new(s.clone()), 7);
    let report = RunReport::new(&s, "scenarios/acks1-leader-crash.toml", 7, &result);
    let producer = report.stalls.iter().find(|c| c.client == "producer-1").expect("producer-1");
    let stall = producer.longest.as_ref().expect("a stall");
    assert_eq!(stall.tp.to_string(), "orders/0");
    assert!((10_000..10_100).contains(&stall.from_ms), "{stall:?}");
    assert!((5_000..=9_000).contains(&stall.duration_ms()), "{stall:?}");
    let line = format!("  {}\n", producer.describe());
    assert!(line.starts_with("  producer-1 longest stall "), "{line}");
    assert!(report.render(1).contains(&line), "{}", report.render(1));
    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(json["stalls"][0]["client"], "producer-1");
    assert_eq!(json["stalls"][0]["longest"]["from_ms"], stall.from_ms);
    assert_eq!(json["stalls"][1]["client"], "consumer-1");
}

/// `standard-acks-all`'s producer waits about 12 s for a crashed leader's replacement in every
/// seed: a bound below that fails every run on progress, with a bug; one above it, none.
#[test]
fn max_stall_ms_fails_exactly_the_runs_that_stalled_longer() {
    let bounded = |max_stall_ms: u64| {
        let mut s = load("scenarios/standard-acks-all.toml");
        for p in &mut s.producers {
            p.max_stall_ms = Some(max_stall_ms);
        }
        Arc::new(s)
    };
    let tight = sim::sweep::sweep(bounded(5_000), "tight", 0..10, jobs(), |report| {
        let v = progress(report);
        assert_eq!((v.outcome, v.bugs), (Outcome::Failed, 1), "seed {}: {:?}", report.seed, v.violations);
        assert!(v.violations[0].message.contains("longer than its max_stall_ms of 5000 ms"));
    });
    assert!(!tight.ok());
    let loose = sim::sweep::sweep(bounded(30_000), "loose", 0..10, jobs(), |report| {
        assert!(progress(report).violations.is_empty(), "seed {}", report.seed);
    });
    assert!(loose.ok(), "{}", loose.render(1.0));
}
