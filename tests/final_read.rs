//! The final read: it reads every partition of a converged cluster to its end, large ones
//! included, and a run whose final read could not finish never passes.

use sim::history::{Op, Phase};
use sim::report::RunReport;
use sim::run::FailureKind;
use sim::scenario;
use std::sync::Arc;

/// 6,000 records of 1 MiB on one partition, 5–10 ms apart, a leader crash halfway: far more than
/// a consumer's default fetch sizes (one such record per fetch) read in the 30 s the final read
/// may take.
const LARGE: &str = r#"
name = "large-records"
description = "1 MiB records, acks=1, a leader crash"
duration_ms = 30_000

[network]
latency_min_ms = 5
latency_max_ms = 10

[[topics]]
name = "orders"
replication_factor = 3

[[producers]]
topic = "orders"
acks = 1
messages = 6_000
messages_per_sec = 300
record_size_bytes = 1_048_576

[[faults]]
at_ms = 10_000
fault = "crash"
target = "leader(orders/0)"
for_ms = 5_000
"#;

#[test]
fn a_large_partition_is_read_to_its_end() {
    let s = scenario::parse(LARGE, "large.toml").expect("valid");
    let out = sim::run::run(Arc::new(s.clone()), 0).expect("the run finishes");
    assert_eq!(out.final_read_gap, None);
    assert!(out.history.events.iter().any(|e| e.op == Op::Phase(Phase::FinalReadDone)));
    let read: usize = out
        .history
        .events
        .iter()
        .filter_map(|e| match &e.op {
            Op::FinalRead { records, .. } => Some(records.len()),
            _ => None,
        })
        .sum();
    assert!(read > 2_000, "the final read holds {read} records");
    let report = RunReport::new(&s, "large.toml", 0, &Ok(out));
    assert!(report.failure.is_none(), "{:?}", report.failure);
}

#[test]
fn a_final_read_cut_short_is_incomplete_never_a_pass() {
    let s = scenario::parse(LARGE, "large.toml").expect("valid");
    let mut out = sim::run::run(Arc::new(s.clone()), 0).expect("the run finishes");
    out.final_read_gap =
        Some("the final read did not finish within 30 s: orders/0 read up to offset 12".into());
    let report = RunReport::new(&s, "large.toml", 0, &Ok(out));
    assert!(!report.passed);
    assert!(report.fails_sweep());
    assert_eq!(report.failure_kind(), Some(FailureKind::Incomplete));
    let shown = report.render(3);
    assert!(
        shown
            .contains("INCOMPLETE: the final read did not finish within 30 s: orders/0 read up to offset 12"),
        "{shown}"
    );
    assert!(shown.contains("cannot be judged"), "{shown}");
    // The checkers still say what they found in the part that was read.
    assert!(shown.contains("lost-write"), "{shown}");
    assert!(shown.contains("\nresult: INCOMPLETE\nreproduce: "), "{shown}");
}
