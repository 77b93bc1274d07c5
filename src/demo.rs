//! The built-in demo: a few shipped scenarios, a few seeds each, one verdict per scenario.
//! The scenario files are compiled in, so the demo runs from anywhere.

use crate::args::default_jobs;
use crate::exit;
use crate::output::{closed, out, outln};
use anyhow::Result;
use sim::scenario;
use std::sync::Arc;

const DEMO_SEEDS: u64 = 8;

const SCENARIOS: [(&str, &str); 3] = [
    ("scenarios/acks1-leader-crash.toml", include_str!("../scenarios/acks1-leader-crash.toml")),
    ("scenarios/acks-all-leader-crashes.toml", include_str!("../scenarios/acks-all-leader-crashes.toml")),
    (
        "scenarios/hw-truncation-fast-failover.toml",
        include_str!("../scenarios/hw-truncation-fast-failover.toml"),
    ),
];

pub fn run() -> Result<i32> {
    outln!("kafkasim demo: {} scenarios × {DEMO_SEEDS} seeds\n", SCENARIOS.len())?;
    let mut code = exit::OK;
    for (file, source) in SCENARIOS {
        if closed() {
            break;
        }
        let scenario = Arc::new(scenario::parse(source, file)?);
        outln!("{}\n  {}", scenario.name, scenario.description.trim().replace('\n', "\n  "))?;
        let started = std::time::Instant::now();
        let summary = sim::sweep::sweep(scenario, file, 0..DEMO_SEEDS, default_jobs(), |_| {});
        out!("{}\n", summary.render(started.elapsed().as_secs_f64()))?;
        if !summary.ok() {
            code = exit::VIOLATION;
        }
    }
    outln!("next: `cargo run --release -- run scenarios/acks1-leader-crash.toml --seed 0` for one run in detail,")?;
    outln!(
        "      `cargo run --release -- list` for every scenario, `cargo test --release` for the full sweeps."
    )?;
    Ok(code)
}
