//! The report of one run: each checker's verdict against the scenario, counts, the history hash,
//! and the command that reproduces the run. Rendered for humans or as JSON.

use crate::check::progress::ClientStalls;
use crate::check::{self, CheckInput, Counts, Violation};
use crate::coverage::FaultCoverage;
use crate::hash;
use crate::history::{History, Op};
use crate::layout::Layout;
use crate::run::{FailureKind, RunFailure, RunOutput};
use crate::scenario::{Scenario, CHECKER_NAMES};
use crate::verdict::{Modality, Outcome};
use serde::Serialize;
use std::fmt::Write;

#[derive(Clone, Debug, Serialize)]
pub struct CheckerVerdict {
    pub checker: &'static str,
    pub modality: Modality,
    pub outcome: Outcome,
    pub bugs: usize,
    pub allowed: usize,
    pub violations: Vec<Violation>,
    /// Set when the checker had nothing to examine: why ("no record was read").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nothing_to_check: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub file: String,
    pub seed: u64,
    pub passed: bool,
    /// Set when the run could not finish: a crash (panic) or a timeout (time limit, livelock).
    pub failure: Option<RunFailure>,
    pub history_hash: Option<String>,
    pub simulated_ms: u64,
    /// Messages the network delivered.
    pub messages: u64,
    pub counts: Counts,
    /// Of the disruptive faults fired, how many hit a node and a leader with writes in flight.
    pub coverage: FaultCoverage,
    pub liveness_gap: Option<String>,
    /// Each producer's and consumer's longest stall during the fault phase (see `check::progress`).
    pub stalls: Vec<ClientStalls>,
    /// How many faults hit nobody (their target named no node they could act on when they
    /// fired), and the first [`LISTED_MISSED_FAULTS`] of them.
    pub faults_hit_nobody: usize,
    pub missed_faults: Vec<MissedFault>,
    pub verdicts: Vec<CheckerVerdict>,
    pub reproduce: String,
}

/// A fault that fired but hit nobody, as the history recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissedFault {
    pub time_ms: u64,
    pub fault: String,
    /// The target as the scenario wrote it, or the nodes an undo was meant for.
    pub target: String,
    pub reason: String,
}

impl MissedFault {
    /// Every fault of `history` that hit nobody, in order.
    pub fn all(history: &History) -> impl Iterator<Item = MissedFault> + '_ {
        history.events.iter().filter_map(|e| match &e.op {
            Op::FaultHitNobody { fault, target, reason } => Some(MissedFault {
                time_ms: e.time_ms,
                fault: fault.clone(),
                target: target.clone(),
                reason: reason.clone(),
            }),
            _ => None,
        })
    }

    /// One line: `crash leader(orders/0) at 12000 ms hit nobody: …`.
    pub fn describe(&self) -> String {
        let target = if self.target.is_empty() { String::new() } else { format!(" {}", self.target) };
        format!("{}{target} at {} ms hit nobody: {}", self.fault, self.time_ms, self.reason)
    }
}

/// How many faults that hit nobody a report lists (it counts them all).
pub const LISTED_MISSED_FAULTS: usize = 20;

/// How many clients' stalls a report lists (`--json` has them all).
pub const LISTED_STALLS: usize = 10;

/// The command that reproduces a run on a fresh clone, ready to paste into a shell.
pub fn reproduce_command(file: &str, seed: u64) -> String {
    format!("cargo run --release -- run {} --seed {seed}", shell_word(file))
}

/// `word` as one word of a POSIX shell command: as it is when the shell would read it so, quoted
/// otherwise (a path with a space, a quote, a `$`). Control characters stay as they are: no
/// quoting makes a word holding a newline one line long.
pub fn shell_word(word: &str) -> std::borrow::Cow<'_, str> {
    // A NUL is the only thing quoting refuses, and no path or argument can hold one.
    shlex::Quoter::new().allow_nul(true).quote(word).expect("with NUL allowed, every word quotes")
}

impl RunReport {
    pub fn new(
        scenario: &Scenario,
        file: &str,
        seed: u64,
        result: &Result<RunOutput, RunFailure>,
    ) -> RunReport {
        let reproduce = reproduce_command(file, seed);
        let out = match result {
            Ok(out) => out,
            Err(failure) => {
                return RunReport {
                    scenario: scenario.name.clone(),
                    file: file.to_string(),
                    seed,
                    passed: false,
                    failure: Some(failure.clone()),
                    history_hash: None,
                    simulated_ms: 0,
                    messages: 0,
                    counts: Counts::default(),
                    coverage: FaultCoverage::default(),
                    liveness_gap: None,
                    stalls: Vec::new(),
                    faults_hit_nobody: 0,
                    missed_faults: Vec::new(),
                    verdicts: Vec::new(),
                    reproduce,
                }
            }
        };
        let layout = Layout::of(scenario);
        let input = CheckInput { scenario, layout: &layout, history: &out.history };
        let mut found = check::check_all(&input);
        let verdicts: Vec<CheckerVerdict> = CHECKER_NAMES
            .iter()
            .map(|&name| {
                let check::Checked { mut violations, nothing_to_check } =
                    found.remove(name).unwrap_or_default();
                // Bugs first: the report shows only the first few, and a bug is what failed the run.
                violations.sort_by_key(|v| !v.label.is_bug());
                let modality = Modality::of(scenario, name);
                let bugs = violations.iter().filter(|v| v.label.is_bug()).count();
                CheckerVerdict {
                    checker: name,
                    modality,
                    outcome: Outcome::judge(modality, &violations, nothing_to_check.is_some()),
                    bugs,
                    allowed: violations.len() - bugs,
                    violations,
                    nothing_to_check,
                }
            })
            .collect();
        // A final read cut short leaves the logs unread: nothing about them can pass. The run is
        // incomplete, its verdicts kept for what they say of the part read.
        let failure = out.final_read_gap.as_ref().map(|gap| RunFailure {
            kind: FailureKind::Incomplete,
            message: format!("{gap}; what it did not read cannot be judged"),
        });
        let passed = failure.is_none()
            && verdicts.iter().all(|v| !matches!(v.outcome, Outcome::Failed | Outcome::Missing));
        RunReport {
            scenario: scenario.name.clone(),
            file: file.to_string(),
            seed,
            passed,
            failure,
            history_hash: Some(hash::hex(hash::history_hash(&out.history))),
            simulated_ms: out.simulated_ms,
            messages: out.net.delivered,
            counts: check::counts(&input),
            coverage: FaultCoverage::of(&out.history),
            liveness_gap: out.liveness_gap.clone(),
            stalls: check::progress::stalls(&input),
            faults_hit_nobody: MissedFault::all(&out.history).count(),
            missed_faults: MissedFault::all(&out.history).take(LISTED_MISSED_FAULTS).collect(),
            verdicts,
            reproduce,
        }
    }

    /// A sweep fails on a run with a failed checker, a crash or a timeout; a missing expected
    /// anomaly in one seed is judged over the whole sweep instead.
    pub fn fails_sweep(&self) -> bool {
        self.failure.is_some() || self.verdicts.iter().any(|v| v.outcome == Outcome::Failed)
    }

    pub fn failure_kind(&self) -> Option<FailureKind> {
        self.failure.as_ref().map(|f| f.kind)
    }

    /// The human-readable report. `max_examples` violations are shown per checker.
    pub fn render(&self, max_examples: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{} seed {}", self.scenario, self.seed);
        let what = match self.failure.as_ref().map(|f| f.kind) {
            Some(FailureKind::Crash) => "crashed",
            Some(FailureKind::Timeout) => "timed out",
            // The checkers' verdicts are shown below, for the part that was read.
            Some(FailureKind::Incomplete) | None => "",
        };
        if let (false, Some(failure)) = (what.is_empty(), &self.failure) {
            let _ = writeln!(s, "  the run {what}: {}", failure.message);
            let _ = writeln!(s, "reproduce: {}", self.reproduce);
            return s;
        }
        let c = &self.counts;
        let _ = writeln!(
            s,
            "  {:.1} s simulated, {} messages, history {}",
            self.simulated_ms as f64 / 1000.0,
            self.messages,
            self.history_hash.as_deref().unwrap_or("-")
        );
        let _ = writeln!(
            s,
            "  sends: {} sent, {} acked, {} failed, {} indeterminate; {} lost, {} duplicated; {} read by consumers",
            c.sent, c.acked, c.failed, c.indeterminate, c.lost, c.duplicated, c.polled
        );
        if self.coverage.faults > 0 {
            let _ = writeln!(s, "  {}", self.coverage.describe());
        }
        let shown = self.stalls.len().min(LISTED_STALLS);
        for stalls in &self.stalls[..shown] {
            let _ = writeln!(s, "  {}", stalls.describe());
        }
        if self.stalls.len() > shown {
            let _ = writeln!(s, "  … and {} more clients", self.stalls.len() - shown);
        }
        if let Some(gap) = &self.liveness_gap {
            let _ = writeln!(s, "  did not converge after healing: {gap}");
        }
        if let Some(failure) = self.failure.as_ref().filter(|f| f.kind == FailureKind::Incomplete) {
            let _ = writeln!(s, "  INCOMPLETE: {}", failure.message);
        }
        if self.faults_hit_nobody > 0 {
            let n = self.faults_hit_nobody;
            let _ = writeln!(s, "  {n} fault{} hit nobody:", if n == 1 { "" } else { "s" });
            let shown = max_examples.max(1).min(self.missed_faults.len());
            for missed in &self.missed_faults[..shown] {
                let _ = writeln!(s, "      {}", missed.describe());
            }
            if n > shown {
                let _ = writeln!(s, "      … and {} more", n - shown);
            }
        }
        let _ = writeln!(s, "  {:<24} {:<9} {:<9} violations", "checker", "expect", "verdict");
        for v in &self.verdicts {
            let counts = match (v.bugs, v.allowed) {
                (0, 0) => v.nothing_to_check.map_or(String::new(), |why| format!("nothing to check: {why}")),
                (b, 0) => format!("{b} bug"),
                (0, a) => format!("{a} allowed"),
                (b, a) => format!("{b} bug, {a} allowed"),
            };
            let _ = writeln!(
                s,
                "  {:<24} {:<9} {:<9} {}",
                v.checker,
                v.modality.name(),
                v.outcome.name(),
                counts
            );
            for violation in v.violations.iter().take(max_examples) {
                let _ = writeln!(s, "      {}", violation.message);
                let _ = match &violation.label {
                    check::Label::Allowed { reason } => writeln!(s, "        allowed: {reason}"),
                    check::Label::Bug { promise } => writeln!(s, "        bug: {promise}"),
                };
            }
            if v.violations.len() > max_examples && max_examples > 0 {
                let _ = writeln!(s, "      … and {} more", v.violations.len() - max_examples);
            }
        }
        let result = match (self.passed, self.failure_kind()) {
            (_, Some(FailureKind::Incomplete)) => "INCOMPLETE",
            (true, _) => "pass",
            (false, _) => "FAIL",
        };
        let _ = writeln!(s, "result: {result}");
        if !self.passed {
            let _ = writeln!(s, "reproduce: {}", self.reproduce);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reproduce_command_quotes_the_file_for_a_shell() {
        let plain = "scenarios/acks1-leader-crash.toml";
        assert_eq!(reproduce_command(plain, 7), format!("cargo run --release -- run {plain} --seed 7"));
        for file in
            ["my dir/a.toml", "it's.toml", "a\"b$c`d\\e.toml", "~/a.toml", "#a.toml", "a*.toml", "a;b"]
        {
            let command = reproduce_command(file, 7);
            assert!(!command.contains(&format!(" {file} ")), "{file} is quoted: {command}");
            let words = shlex::split(&command).unwrap_or_else(|| panic!("a shell reads {command}"));
            assert_eq!(words, ["cargo", "run", "--release", "--", "run", file, "--seed", "7"], "{command}");
        }
    }
}
