//! Seed sweeps over every scenario in `scenarios/`, enforcing each scenario's expectations: no
//! run may fail or crash, and every anomaly a scenario expects must show up in at least one seed.
//! A file dropped into `scenarios/` is swept with no change here. `KAFKASIM_SCENARIOS` names
//! other directories to sweep instead (separated by `:`), so a user's own scenarios run under
//! this same test.
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

/// The directories to sweep: `KAFKASIM_SCENARIOS`, else the shipped `scenarios/`.
fn scenario_dirs() -> Vec<PathBuf> {
    match std::env::var_os("KAFKASIM_SCENARIOS") {
        Some(dirs) => std::env::split_paths(&dirs).collect(),
        None => vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")],
    }
}

/// Every `.toml` file of `dir`, in name order.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())).path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

/// Sweeps one scenario; its rendered summary if it failed.
fn sweep(path: &Path) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
    let scenario = match scenario::load(path) {
        Ok(scenario) => Arc::new(scenario),
        Err(e) => return Some(format!("{e}\n")),
    };
    let started = std::time::Instant::now();
    let summary = sim::sweep::sweep(scenario, &shown, seeds(), jobs(), |_| {});
    let rendered = summary.render(started.elapsed().as_secs_f64());
    eprint!("{rendered}");
    (!summary.ok()).then_some(rendered)
}

#[test]
fn every_scenario_keeps_its_expectations() {
    let mut swept = 0;
    let mut failed = Vec::new();
    for dir in scenario_dirs() {
        for file in scenario_files(&dir) {
            swept += 1;
            failed.extend(sweep(&file));
        }
    }
    assert!(swept > 0, "no scenario file in {:?}", scenario_dirs());
    assert!(failed.is_empty(), "{} of {swept} sweeps failed:\n{}", failed.len(), failed.join("\n"));
}
