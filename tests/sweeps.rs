//! Seed sweeps over every shipped scenario, enforcing each scenario's expectations: no run may
//! fail or crash, and every anomaly a scenario expects must show up in at least one seed.
//!
//! `KAFKASIM_SEEDS` sets the seeds of every scenario, as `kafkasim sweep --seeds` writes them
//! (`sim::seeds`): `2000` for the first 2,000 (0..2000; the default is 200), `1000..2000`,
//! `3,17,42`, or `random:200` for 200 seeds from a start drawn once per test run, which is printed
//! (past the test harness's capture) so that a failure it finds can be swept again.

use sim::scenario;
use sim::seeds::SeedSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The seeds every sweep here runs: one set for the whole test binary, drawn once.
fn seeds() -> SeedSet {
    static SEEDS: OnceLock<SeedSet> = OnceLock::new();
    SEEDS
        .get_or_init(|| {
            let value = std::env::var_os("KAFKASIM_SEEDS").map(|v| v.to_string_lossy().into_owned());
            let default = SeedSet::Range(0..200);
            let (seeds, note) =
                sim::seeds::from_env("KAFKASIM_SEEDS", value.as_deref(), default, sim::seeds::os_draw)
                    .unwrap_or_else(|e| panic!("{e}"));
            if let Some(note) = note {
                // Straight to the process's stderr: the harness captures only `eprint!`, and a
                // passing test's output is thrown away, with the seeds it swept.
                let _ = writeln!(std::io::stderr(), "{note}");
            }
            seeds
        })
        .clone()
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
    let summary = sim::sweep::sweep(scenario, &shown, seeds(), jobs(), |_| {});
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
