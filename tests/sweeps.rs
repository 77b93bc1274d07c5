//! Seed sweeps over every shipped scenario, enforcing each scenario's expectations: no run may
//! fail or crash, and every anomaly a scenario expects must show up in at least one seed.
//!
//! `KAFKASIM_SEEDS` sets the seeds per scenario (default 200); raise it for deep sweeps.

use sim::scenario;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn seeds() -> u64 {
    std::env::var("KAFKASIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200)
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn sweep(file: &str) {
    let path = scenario_dir().join(file);
    let scenario = Arc::new(scenario::load(&path).unwrap_or_else(|e| panic!("{e}")));
    let shown = format!("scenarios/{file}");
    let started = std::time::Instant::now();
    let summary = sim::sweep::sweep(scenario, &shown, 0..seeds(), jobs(), |_| {});
    let rendered = summary.render(started.elapsed().as_secs_f64());
    eprint!("{rendered}");
    assert!(summary.ok(), "sweep of {shown} failed:\n{rendered}");
}

macro_rules! sweeps {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                sweep($file);
            }
        )*

        #[test]
        fn every_shipped_scenario_is_swept() {
            let covered = [$($file),*];
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(scenario_dir()).expect("scenarios/") {
                let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
                if name.ends_with(".toml") && !covered.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
            assert!(missing.is_empty(), "scenarios without a sweep test: {missing:?}");
        }
    };
}

sweeps! {
    acks_all_leader_crashes => "acks-all-leader-crashes.toml",
    acks0_packet_loss => "acks0-packet-loss.toml",
    acks1_leader_crash => "acks1-leader-crash.toml",
    chaos_acks_all => "chaos-acks-all.toml",
    epoch_truncation_fast_failover => "epoch-truncation-fast-failover.toml",
    hw_truncation_fast_failover => "hw-truncation-fast-failover.toml",
    isr_shrunk_leader_crash_clean => "isr-shrunk-leader-crash-clean.toml",
    isr_shrunk_leader_crash_unclean => "isr-shrunk-leader-crash-unclean.toml",
    min_isr_followers_down => "min-isr-followers-down.toml",
    power_loss_all_replicas => "power-loss-all-replicas.toml",
    standard_acks_all => "standard-acks-all.toml",
}
