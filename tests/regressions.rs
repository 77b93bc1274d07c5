//! The regression corpus: every scenario in `tests/regressions/` is a shrunk run (written by
//! `kafkasim shrink … -o tests/regressions/NAME.toml`) whose `[regression]` table records a seed,
//! a checker and a label. Each is replayed with its seed, and the checker must still report a
//! violation with that label. A file that stops reproducing says how it was made in its header:
//! shrink the original again if the change that broke it was intended.

use sim::report::RunReport;
use sim::scenario;
use sim::shrink::Goal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Why `file` does not reproduce what it records, if it does not.
fn replay(file: &Path) -> Option<String> {
    let shown = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display().to_string();
    let shown = shown.trim_start_matches('/');
    let s = match scenario::load(file) {
        Ok(s) => s,
        Err(e) => return Some(format!("{e}")),
    };
    let Some(regression) = s.regression.clone() else {
        return Some(format!("{shown}: no [regression] table; expected seed, checker and label"));
    };
    let goal = Goal::of_regression(&regression).expect("a validated checker name");
    let result = sim::run::run(Arc::new(s.clone()), regression.seed);
    if goal.holds(&s, &result) {
        return None;
    }
    let report = RunReport::new(&s, shown, regression.seed, &result);
    Some(format!(
        "{shown}: seed {} no longer shows {}\n{}",
        regression.seed,
        goal.describe(),
        report.render(3)
    ))
}

#[test]
fn every_regression_still_reproduces() {
    let files = corpus();
    assert!(!files.is_empty(), "tests/regressions/ has no scenarios");
    let failures: Vec<String> = files.iter().filter_map(|f| replay(f)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} regressions fail:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
