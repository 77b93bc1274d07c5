//! Shrinking a failing run: delta debugging over the scenario resolved for its seed, until the
//! smallest scenario found still shows the same violation.
//!
//! The input is `resolve::resolve(scenario, seed)`: the nemesis's draws are scripted faults and
//! every default is written out, so each part of the run is an entry that can be removed. A
//! [`Goal`] says what must survive: a violation of one checker with one label (`bug` or
//! `allowed`), or a crash or a timeout of the same kind. Each candidate is a smaller scenario; it
//! is kept only if it loads (printed as TOML and parsed back, so the result is always a valid
//! file) and its run still meets the goal.
//!
//! Passes, repeated in this order until a whole round removes nothing (a fixpoint):
//!
//! | pass | how |
//! |---|---|
//! | faults | ddmin over the fault list (a fault and its `for_ms` undo are one entry); then one target of a list, one node of a partition group, at a time; then the network's packet loss set to 0 |
//! | producers, consumers, topics | ddmin over each list |
//! | partitions, replication factor | per topic, the smallest count that still fails (RF not below min.isr) |
//! | brokers | the smallest count that still fails (never below a replication factor) |
//! | fault lengths | per fault with `for_ms`, the shortest that still fails, on a 100 ms grid |
//! | messages | per producer, the smallest count that still fails |
//! | duration | the shortest fault phase that still fails, on a 100 ms grid, never below the end of the last fault nor the producers' last send, plus a margin |
//!
//! "The smallest count that still fails" is a search that tries the lower bound and the quarter
//! points below the current value, keeps the smallest that fails and narrows in, so it finds the
//! least failing value when failing is monotonic and a smaller failing one otherwise.
//!
//! **Seeds.** Every candidate runs with the current seed first. Removing a fault shifts what the
//! later random choices mean (a `random-broker` drawn when a fault fires takes the next draw of
//! the run's fault stream), so a candidate that no longer fails with the seed may fail with a
//! neighbour. When a round with the current seed removes nothing, one more round tries the
//! candidates of the structural passes (lists, partitions, replication factor, brokers; not
//! messages and duration, which a new seed is not worth) with seeds `seed+1 ..= seed+NEARBY_SEEDS`;
//! the first that fails is kept together with its seed, and shrinking goes on with that seed. The
//! result records the seed it needs.
//!
//! **Determinism and cost.** A step's candidates run in parallel on `jobs` threads (each run on
//! its own thread and runtime, see `run`), and the first candidate *in candidate order* that
//! fails is kept, so the result does not depend on the number of threads or their timing. The
//! budget `max_runs` counts runs the sequential order would have made (every candidate up to and
//! including the one kept), also independent of threads; runs made speculatively beyond it are
//! reported in `runs` but not charged.

use crate::check::{self, CheckInput, Label};
use crate::layout::Layout;
use crate::report::{reproduce_command, shell_word, RunReport};
use crate::run::{self, FailureKind, RunFailure, RunOutput};
use crate::scenario::{self, RegressionLabel, RegressionSpec, Scenario, Targets};
use crate::verdict::Outcome;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Neighbouring seeds tried when the current seed no longer reproduces a candidate.
pub const NEARBY_SEEDS: u64 = 3;
/// The shortened fault phase lasts at least this long past the last fault and the last send.
pub const DURATION_MARGIN_MS: u64 = 1_000;
/// The grid the fault phase's length and the faults' `for_ms` are shortened on.
const DURATION_GRID_MS: u64 = 100;

/// What a shrunk run must still show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Goal {
    /// `checker` reports at least one violation labelled `label`.
    Violation { checker: &'static str, label: RegressionLabel },
    /// The run crashes (panics) or times out.
    Failure(FailureKind),
}

impl Goal {
    /// The goal a run's report sets. With `checker`, that checker's violations (labelled bug if
    /// any is, else allowed). Without it: a crash or a timeout, else the first checker whose
    /// outcome is `FAILED`, else the first expected anomaly the run shows (`found`).
    pub fn of_report(report: &RunReport, checker: Option<&str>) -> Result<Goal, String> {
        let label_of = |bugs: usize| if bugs > 0 { RegressionLabel::Bug } else { RegressionLabel::Allowed };
        if let Some(name) = checker {
            let Some(&name) = scenario::CHECKER_NAMES.iter().find(|&&c| c == name) else {
                return Err(format!(
                    "unknown checker `{name}`; expected one of {}",
                    scenario::CHECKER_NAMES.join(", ")
                ));
            };
            if let Some(f) = &report.failure {
                return Err(format!(
                    "seed {} does not reach the checkers: the run {} ({}); shrink it without --checker",
                    report.seed,
                    failure_name(f.kind),
                    f.message
                ));
            }
            return match report.verdicts.iter().find(|v| v.checker == name && !v.violations.is_empty()) {
                Some(v) => Ok(Goal::Violation { checker: name, label: label_of(v.bugs) }),
                None => Err(format!("seed {} shows no {name} violation: nothing to shrink", report.seed)),
            };
        }
        if let Some(f) = &report.failure {
            return Ok(Goal::Failure(f.kind));
        }
        let first = |outcome: Outcome| report.verdicts.iter().find(|v| v.outcome == outcome);
        match first(Outcome::Failed).or_else(|| first(Outcome::Found)) {
            Some(v) => Ok(Goal::Violation { checker: v.checker, label: label_of(v.bugs) }),
            None => {
                let shown: Vec<String> = report
                    .verdicts
                    .iter()
                    .filter(|v| !v.violations.is_empty())
                    .map(|v| format!("{} ({} bug, {} allowed)", v.checker, v.bugs, v.allowed))
                    .collect();
                let hint = if shown.is_empty() {
                    " and no checker reports a violation".to_string()
                } else {
                    format!(
                        "; to shrink a violation it shows, name its checker with --checker: {}",
                        shown.join(", ")
                    )
                };
                Err(format!("seed {} passes: no checker failed{hint}", report.seed))
            }
        }
    }

    /// The goal a regression file records; `None` for an unknown checker.
    pub fn of_regression(r: &RegressionSpec) -> Option<Goal> {
        let checker = scenario::CHECKER_NAMES.iter().find(|&&c| c == r.checker)?;
        Some(Goal::Violation { checker, label: r.label })
    }

    /// Whether a run of `scenario` meets the goal.
    pub fn holds(&self, scenario: &Scenario, result: &Result<RunOutput, RunFailure>) -> bool {
        match (self, result) {
            (Goal::Failure(kind), Err(f)) => f.kind == *kind,
            (Goal::Violation { checker, label }, Ok(out)) => {
                let layout = Layout::of(scenario);
                let input = CheckInput { scenario, layout: &layout, history: &out.history };
                let checkers = check::all_checkers();
                let mut violations =
                    checkers.iter().filter(|c| c.name() == *checker).flat_map(|c| c.check(&input));
                if *label == RegressionLabel::Fixed {
                    return violations.next().is_none();
                }
                violations.any(|v| {
                    matches!(
                        (&v.label, label),
                        (Label::Bug { .. }, RegressionLabel::Bug)
                            | (Label::Allowed { .. }, RegressionLabel::Allowed)
                    )
                })
            }
            _ => false,
        }
    }

    /// "lost-write (bug)", "a crash".
    pub fn describe(&self) -> String {
        match self {
            Goal::Violation { checker, label } => format!("{checker} ({})", label.name()),
            Goal::Failure(kind) => format!("a {}", failure_noun(*kind)),
        }
    }

    /// The `[regression]` table a shrunk file records, for a violation goal.
    pub fn regression(&self, seed: u64) -> Option<RegressionSpec> {
        match self {
            Goal::Violation { checker, label } => {
                Some(RegressionSpec { seed, checker: checker.to_string(), label: *label })
            }
            Goal::Failure(_) => None,
        }
    }
}

fn failure_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Crash => "crashed",
        FailureKind::Timeout => "timed out",
        FailureKind::Incomplete => "incomplete",
    }
}

fn failure_noun(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Crash => "crash",
        FailureKind::Timeout => "timeout",
        FailureKind::Incomplete => "incomplete",
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Runs charged before shrinking stops, whatever is left to try.
    pub max_runs: usize,
    /// Threads running candidates.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_runs: 2_000, jobs: 1 }
    }
}

/// What shrinking found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The resolved scenario shrinking started from, and its seed.
    pub original: Scenario,
    pub original_seed: u64,
    /// The smallest scenario found that meets the goal, and the seed it meets it with.
    pub scenario: Scenario,
    pub seed: u64,
    /// Runs made, speculative ones included.
    pub runs: usize,
    /// Runs charged against `max_runs`.
    pub charged: usize,
    /// Shrinking stopped at `max_runs` rather than at a fixpoint.
    pub exhausted: bool,
    /// Each step kept, in order: "faults 9 → 4", "messages of producer-1 1000 → 250 (seed 8)".
    pub steps: Vec<String>,
}

impl Shrunk {
    /// One line saying what was removed: "removed 7 of 9 faults, messages 1000 → 120, …".
    pub fn summary(&self) -> String {
        let (a, b) = (&self.original, &self.scenario);
        let messages = |s: &Scenario| s.producers.iter().map(|p| p.messages).sum::<u64>();
        let partitions = |s: &Scenario| s.topics.iter().map(|t| u64::from(t.partitions)).sum::<u64>();
        let mut parts =
            vec![format!("removed {} of {} faults", a.faults.len() - b.faults.len(), a.faults.len())];
        parts.push(format!("messages {} → {}", messages(a), messages(b)));
        if a.producers.len() != b.producers.len() {
            parts.push(format!("producers {} → {}", a.producers.len(), b.producers.len()));
        }
        if a.consumers.len() != b.consumers.len() {
            parts.push(format!("consumers {} → {}", a.consumers.len(), b.consumers.len()));
        }
        if a.topics.len() != b.topics.len() {
            parts.push(format!("topics {} → {}", a.topics.len(), b.topics.len()));
        }
        parts.push(format!("partitions {} → {}", partitions(a), partitions(b)));
        let rf = |s: &Scenario| s.topics.iter().map(|t| t.replication_factor).max().unwrap_or(0);
        if rf(a) != rf(b) {
            parts.push(format!("replication factor {} → {}", rf(a), rf(b)));
        }
        parts.push(format!("brokers {} → {}", a.cluster.brokers, b.cluster.brokers));
        parts.push(format!("duration {} → {} ms", a.duration_ms, b.duration_ms));
        if self.seed != self.original_seed {
            parts.push(format!("seed {} → {}", self.original_seed, self.seed));
        }
        parts.join(", ")
    }
}

impl Shrunk {
    /// The shrunk scenario as a file: a header saying where it came from (`from`, the original
    /// file) and how to replay it as `file`, then the scenario, renamed `…-shrunk`, with a
    /// `[regression]` table recording its seed and the violation it shows.
    pub fn to_file(&self, goal: &Goal, from: &str, file: &str) -> String {
        let mut s = self.scenario.clone();
        if !s.name.ends_with("-shrunk") {
            s.name = format!("{}-shrunk", s.name);
        }
        s.description = format!(
            "Shrunk from {from} (seed {}): the smallest run found that still shows {}.\n{}",
            self.original_seed,
            goal.describe(),
            self.original.description.trim_start()
        );
        s.regression = goal.regression(self.seed);
        // The seed once: in [regression] when there is one, else at the top.
        s.seed = s.regression.is_none().then_some(self.seed);
        let recorded = if s.regression.is_some() {
            "the seed and the violation are in [regression]"
        } else {
            "the seed is `seed`"
        };
        let body = toml::to_string(&s).expect("a scenario serializes to TOML");
        format!(
            "# Shrunk by `kafkasim shrink {} --seed {}`: {}.\n\
             # Every default is written out; {recorded}.\n\
             # Reproduce: {}\n\n{body}",
            shell_word(from),
            self.original_seed,
            self.summary(),
            reproduce_command(file, self.seed),
        )
    }
}

/// Shrinks `resolved` (a scenario resolved for `seed`, see `resolve::resolve`) while `goal`
/// holds. `progress` hears each step kept. Errors when the starting point itself does not meet
/// the goal.
pub fn shrink(
    resolved: &Scenario,
    seed: u64,
    goal: &Goal,
    options: Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Shrunk, String> {
    let mut s = Shrinker {
        goal,
        options,
        current: loadable(resolved).ok_or("the resolved scenario does not load back")?,
        seed,
        nearby: false,
        runs: 0,
        charged: 0,
        exhausted: false,
        steps: Vec::new(),
        progress,
    };
    if s.first_reproducing(std::slice::from_ref(&s.current.clone()), &[seed]).is_none() {
        return Err(format!(
            "the scenario resolved for seed {seed} does not show {} when run again",
            goal.describe()
        ));
    }
    s.run_to_fixpoint();
    Ok(Shrunk {
        original: resolved.clone(),
        original_seed: seed,
        scenario: s.current,
        seed: s.seed,
        runs: s.runs,
        charged: s.charged,
        exhausted: s.exhausted,
        steps: s.steps,
    })
}

/// The scenario as it loads from its own TOML, or `None` if that does not validate.
pub fn loadable(candidate: &Scenario) -> Option<Scenario> {
    let text = toml::to_string(candidate).ok()?;
    scenario::parse(&text, "candidate.toml").ok()
}

struct Shrinker<'a> {
    goal: &'a Goal,
    options: Options,
    /// The smallest scenario so far; it meets the goal with `seed`.
    current: Scenario,
    seed: u64,
    /// Try the seeds after `seed` instead of `seed` itself.
    nearby: bool,
    runs: usize,
    charged: usize,
    exhausted: bool,
    steps: Vec<String>,
    progress: &'a mut dyn FnMut(&str),
}

/// A scenario made smaller, and what was made smaller: "faults 9 → 4".
type Candidate = (Scenario, String);

impl Shrinker<'_> {
    fn run_to_fixpoint(&mut self) {
        loop {
            let before = self.steps.len();
            self.round();
            if self.exhausted {
                return;
            }
            let changed = self.steps.len() > before;
            if changed {
                self.nearby = false;
            } else if !self.nearby {
                self.nearby = true;
            } else {
                return;
            }
        }
    }

    fn round(&mut self) {
        self.ddmin("faults", |s| &mut s.faults);
        self.narrow_faults();
        self.without_packet_loss();
        self.ddmin("producers", |s| &mut s.producers);
        self.ddmin("consumers", |s| &mut s.consumers);
        self.ddmin("topics", |s| &mut s.topics);
        for t in 0..self.current.topics.len() {
            let name = self.current.topics[t].name.clone();
            self.smallest(&format!("partitions of {name}"), 1, |s| &mut s.topics[t].partitions);
            let min_isr = self.current.topics[t].min_insync_replicas.unwrap_or(1).max(1);
            self.smallest(&format!("replication factor of {name}"), min_isr, |s| {
                &mut s.topics[t].replication_factor
            });
        }
        let rf = self.current.topics.iter().map(|t| t.replication_factor).max().unwrap_or(1);
        self.smallest("brokers", rf.max(1), |s| &mut s.cluster.brokers);
        if self.nearby {
            // Another seed is worth taking to remove a part of the run, not to trim a count.
            return;
        }
        for f in 0..self.current.faults.len() {
            if self.current.faults[f].for_ms.is_some() {
                // On the duration's grid, like the fault phase itself.
                let what = format!("for_ms of faults[{f}]");
                let get = |s: &Scenario| {
                    s.faults.get(f).and_then(|x| x.for_ms).unwrap_or(0).div_ceil(DURATION_GRID_MS)
                };
                let set = |s: &mut Scenario, v: u64| {
                    s.faults[f].for_ms = Some(v * DURATION_GRID_MS);
                    true
                };
                let show = |v: u64| (v * DURATION_GRID_MS).to_string();
                let shown = |s: &Scenario| s.faults[f].for_ms.unwrap_or(0).to_string();
                self.search(&what, 1, get, set, show, shown);
            }
        }
        for p in 0..self.current.producers.len() {
            let name = crate::layout::producer_name(p, &self.current.producers[p]);
            self.smallest(&format!("messages of {name}"), 1, |s| &mut s.producers[p].messages);
        }
        self.shorten_duration();
    }

    /// Delta debugging over one list of the scenario: first everything removed, then, at
    /// granularity n, each of n chunks alone and each chunk removed.
    fn ddmin<T: Clone>(&mut self, what: &str, list: impl Fn(&mut Scenario) -> &mut Vec<T>) {
        let with = |base: &Scenario, items: Vec<T>| {
            let mut s = base.clone();
            *list(&mut s) = items;
            s
        };
        let mut n = 2;
        loop {
            let items = list(&mut self.current.clone()).clone();
            let total = items.len();
            if total == 0 {
                return;
            }
            let label = |kept: usize| format!("{what} {total} → {kept}");
            let mut candidates: Vec<Candidate> = vec![(with(&self.current, Vec::new()), label(0))];
            let chunks = chunks(total, n.min(total));
            if total > 1 {
                for range in &chunks {
                    if range.len() < total {
                        candidates
                            .push((with(&self.current, items[range.clone()].to_vec()), label(range.len())));
                    }
                }
                for range in &chunks {
                    if range.len() < total && chunks.len() > 2 {
                        let rest: Vec<T> = items
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !range.contains(i))
                            .map(|(_, x)| x.clone())
                            .collect();
                        let kept = rest.len();
                        candidates.push((with(&self.current, rest), label(kept)));
                    }
                }
            }
            match self.adopt_first(candidates) {
                Some(0) => return,
                Some(i) if i <= chunks.len() => n = 2,
                Some(_) => n = (n - 1).max(2),
                None if n >= total || self.exhausted => return,
                None => n = (n * 2).min(total),
            }
        }
    }

    /// Fewer nodes per fault: one target of a list, one node of a partition's group, or one whole
    /// group of three or more, removed at a time until none can be.
    fn narrow_faults(&mut self) {
        loop {
            let mut candidates: Vec<Candidate> = Vec::new();
            for (i, f) in self.current.faults.iter().enumerate() {
                if let Some(Targets::Many(ts)) = &f.target {
                    for j in 0..ts.len() {
                        let mut s = self.current.clone();
                        let mut rest = ts.clone();
                        let gone = rest.remove(j);
                        s.faults[i].target = Some(Targets::Many(rest));
                        candidates.push((s, format!("faults[{i}] without target {gone}")));
                    }
                }
                for (g, group) in f.groups.iter().flatten().enumerate() {
                    let groups = f.groups.as_ref().expect("iterating them");
                    if groups.len() > 2 {
                        let mut s = self.current.clone();
                        s.faults[i].groups.as_mut().expect("groups").remove(g);
                        candidates.push((s, format!("faults[{i}] without group {}", group.join(","))));
                    }
                    for n in 0..group.len() {
                        let mut s = self.current.clone();
                        let gone = s.faults[i].groups.as_mut().expect("groups")[g].remove(n);
                        candidates.push((s, format!("faults[{i}] without {gone} in its groups")));
                    }
                }
            }
            if candidates.is_empty() || self.adopt_first(candidates).is_none() {
                return;
            }
        }
    }

    /// A lossless network, if the scenario has a lossy one.
    fn without_packet_loss(&mut self) {
        let rate = self.current.network.packet_loss_rate;
        if rate > 0.0 {
            let mut s = self.current.clone();
            s.network.packet_loss_rate = 0.0;
            self.adopt_first(vec![(s, format!("packet loss rate {rate} → 0"))]);
        }
    }

    /// Lowers one count to the smallest value in `lo..` (below its current value) that still
    /// meets the goal.
    fn smallest<N>(&mut self, what: &str, lo: N, field: impl Fn(&mut Scenario) -> &mut N)
    where
        N: Copy + Into<u64> + TryFrom<u64>,
    {
        let get = |s: &Scenario| (*field(&mut s.clone())).into();
        let set = |s: &mut Scenario, v: u64| N::try_from(v).map(|v| *field(s) = v).is_ok();
        self.search(what, lo.into(), get, set, |v| v.to_string(), |s| get(s).to_string());
    }

    /// Shortens the fault phase, on a grid, never below the last fault's end and the producers'
    /// last send (plus a margin).
    fn shorten_duration(&mut self) {
        let floor = duration_floor(&self.current).min(self.current.duration_ms);
        // In grid units; the current length, off the grid, counts as the next point up.
        let get = |s: &Scenario| s.duration_ms.div_ceil(DURATION_GRID_MS);
        let set = |s: &mut Scenario, v: u64| {
            s.duration_ms = v * DURATION_GRID_MS;
            true
        };
        let show = |v: u64| format!("{} ms", v * DURATION_GRID_MS);
        let shown = |s: &Scenario| format!("{} ms", s.duration_ms);
        self.search("duration", floor.div_ceil(DURATION_GRID_MS), get, set, show, shown);
    }

    /// The search behind `smallest`: values in `lo..get(current)`, tried at `lo` and the quarter
    /// points, narrowing to the smallest that fails. `show` prints a value, `shown` the current
    /// scenario's, for the steps' descriptions.
    fn search(
        &mut self,
        what: &str,
        mut lo: u64,
        get: impl Fn(&Scenario) -> u64,
        set: impl Fn(&mut Scenario, u64) -> bool,
        show: impl Fn(u64) -> String,
        shown: impl Fn(&Scenario) -> String,
    ) {
        loop {
            let hi = get(&self.current);
            if lo >= hi || self.exhausted {
                return;
            }
            let from = shown(&self.current);
            let (points, candidates): (Vec<u64>, Vec<Candidate>) = search_points(lo, hi)
                .into_iter()
                .filter_map(|v| {
                    let mut s = self.current.clone();
                    set(&mut s, v).then(|| (v, (s, format!("{what} {from} → {}", show(v)))))
                })
                .unzip();
            match self.adopt_first(candidates) {
                Some(i) if i > 0 => lo = points[i - 1] + 1,
                Some(_) => {}
                None => lo = points.last().map_or(hi, |p| p + 1),
            }
        }
    }

    /// Keeps the first candidate, in order, that loads and meets the goal. Returns its index.
    fn adopt_first(&mut self, candidates: Vec<Candidate>) -> Option<usize> {
        let mut valid: Vec<(usize, Scenario, String)> = Vec::new();
        for (i, (c, what)) in candidates.into_iter().enumerate() {
            if c == self.current {
                continue;
            }
            if let Some(c) = loadable(&c) {
                valid.push((i, c, what));
            }
        }
        if valid.is_empty() {
            return None;
        }
        let seeds: Vec<u64> = if self.nearby {
            (1..=NEARBY_SEEDS).filter_map(|d| self.seed.checked_add(d)).collect()
        } else {
            vec![self.seed]
        };
        let scenarios: Vec<Scenario> = valid.iter().map(|(_, c, _)| c.clone()).collect();
        let (k, seed) = self.first_reproducing(&scenarios, &seeds)?;
        let (index, scenario, what) = valid.swap_remove(k);
        let step = if seed == self.seed { what } else { format!("{what} (seed {} → {seed})", self.seed) };
        (self.progress)(&step);
        self.steps.push(step);
        self.current = scenario;
        self.seed = seed;
        self.nearby = false;
        Some(index)
    }

    /// Runs each scenario with each seed (scenario-major order) in parallel and returns the
    /// first pair, in that order, that meets the goal. Charges the runs the sequential order
    /// would have made, and stops at the budget.
    fn first_reproducing(&mut self, scenarios: &[Scenario], seeds: &[u64]) -> Option<(usize, u64)> {
        let left = self.options.max_runs.saturating_sub(self.charged);
        let pairs: Vec<(usize, u64)> =
            (0..scenarios.len()).flat_map(|i| seeds.iter().map(move |&s| (i, s))).take(left).collect();
        let all = scenarios.len() * seeds.len();
        if pairs.len() < all {
            self.exhausted = true;
        }
        let arcs: Vec<Arc<Scenario>> = scenarios.iter().cloned().map(Arc::new).collect();
        let (found, made) = first_success(pairs.len(), self.options.jobs, |k| {
            let (i, seed) = pairs[k];
            let result = run::run(arcs[i].clone(), seed);
            self.goal.holds(&arcs[i], &result)
        });
        self.runs += made;
        self.charged += found.map_or(pairs.len(), |k| k + 1);
        if found.is_some() {
            // The budget ran out after a success: what remained is still untried, not exhausted.
            self.exhausted = self.charged >= self.options.max_runs;
        }
        found.map(|k| pairs[k])
    }
}

/// `n` contiguous ranges covering `0..len`, sizes differing by at most one.
fn chunks(len: usize, n: usize) -> Vec<std::ops::Range<usize>> {
    let n = n.clamp(1, len.max(1));
    (0..n).map(|i| (i * len / n)..((i + 1) * len / n)).filter(|r| !r.is_empty()).collect()
}

/// The values a search for the smallest failing value in `lo..hi` tries next: `lo` and the
/// quarter points, ascending, distinct, below `hi`.
fn search_points(lo: u64, hi: u64) -> Vec<u64> {
    let span = hi - lo;
    let mut points: Vec<u64> = [0, span / 4, span / 2, span * 3 / 4].iter().map(|d| lo + d).collect();
    points.dedup();
    points.retain(|&p| p < hi);
    points
}

/// How short the fault phase may get: past the end of the last fault and the producers' last
/// send, by a margin.
pub fn duration_floor(s: &Scenario) -> u64 {
    let faults = s.faults.iter().map(|f| f.at_ms + f.for_ms.unwrap_or(0)).max().unwrap_or(0);
    let sends = s
        .producers
        .iter()
        .filter(|p| p.messages > 0)
        .map(|p| p.start_ms + ((p.messages - 1) as f64 * 1000.0 / p.messages_per_sec).ceil() as u64)
        .max()
        .unwrap_or(0);
    faults.max(sends) + DURATION_MARGIN_MS
}

/// Runs `test(0)`, `test(1)`, … on `jobs` threads and returns the smallest index for which it
/// holds, and how many tests ran. Every index below the one returned is tested, so the answer is
/// the one a sequential loop would give; indices above it may run too, speculatively.
fn first_success(count: usize, jobs: usize, test: impl Fn(usize) -> bool + Sync) -> (Option<usize>, usize) {
    let next = AtomicUsize::new(0);
    let best = AtomicUsize::new(usize::MAX);
    let made = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= count || k > best.load(Ordering::SeqCst) {
                    break;
                }
                made.fetch_add(1, Ordering::SeqCst);
                if test(k) {
                    best.fetch_min(k, Ordering::SeqCst);
                }
            });
        }
    });
    let best = best.load(Ordering::SeqCst);
    ((best != usize::MAX).then_some(best), made.load(Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One producer: 101 messages at 50 a second from 1 s, the last sent at 3 s.
    fn small() -> Scenario {
        let text = "name = \"s\"\ndescription = \"d\"\n[[topics]]\nname = \"orders\"\n\
                    [[producers]]\ntopic = \"orders\"\nmessages = 101\nmessages_per_sec = 50\n";
        scenario::parse(text, "s.toml").unwrap()
    }

    #[test]
    fn a_shrunk_file_records_its_seed_once_so_that_run_replays_it_without_one() {
        let resolved = crate::resolve::resolve(&small(), 5).unwrap();
        assert_eq!(resolved.seed, Some(5), "resolving records the seed");
        let shrunk = Shrunk {
            original: resolved.clone(),
            original_seed: 5,
            scenario: resolved,
            seed: 8,
            runs: 0,
            charged: 0,
            exhausted: false,
            steps: Vec::new(),
        };
        let violation = Goal::Violation { checker: "lost-write", label: RegressionLabel::Allowed };
        let file =
            scenario::parse(&shrunk.to_file(&violation, "my dir/s.toml", "out.toml"), "out.toml").unwrap();
        assert_eq!((file.seed, file.regression.map(|r| r.seed)), (None, Some(8)));
        let text = shrunk.to_file(&Goal::Failure(FailureKind::Crash), "my dir/s.toml", "out.toml");
        assert!(text.starts_with("# Shrunk by `kafkasim shrink 'my dir/s.toml' --seed 5`"), "{text}");
        assert!(text.contains("the seed is `seed`"), "{text}");
        let file = scenario::parse(&text, "out.toml").unwrap();
        assert_eq!(
            (file.seed, file.regression),
            (Some(8), None),
            "a crash has no [regression]: the seed is on top"
        );
    }

    fn report(verdicts: &[(&'static str, Outcome, usize, usize)], failure: Option<FailureKind>) -> RunReport {
        use crate::report::CheckerVerdict;
        use crate::verdict::Modality;
        let violation = |checker: &'static str, label: Label| check::Violation {
            checker,
            label,
            message: String::new(),
            time_ms: None,
            tp: None,
        };
        RunReport {
            scenario: "s".into(),
            file: "s.toml".into(),
            seed: 9,
            passed: false,
            failure: failure.map(|kind| RunFailure { kind, message: "boom".into() }),
            history_hash: None,
            simulated_ms: 0,
            messages: 0,
            counts: Default::default(),
            coverage: Default::default(),
            liveness_gap: None,
            stalls: Vec::new(),
            faults_hit_nobody: 0,
            missed_faults: Vec::new(),
            verdicts: verdicts
                .iter()
                .map(|&(checker, outcome, bugs, allowed)| CheckerVerdict {
                    checker,
                    modality: Modality::Promised,
                    outcome,
                    bugs,
                    allowed,
                    violations: (0..bugs)
                        .map(|_| violation(checker, Label::bug("p")))
                        .chain((0..allowed).map(|_| violation(checker, Label::allowed("why"))))
                        .collect(),
                    nothing_to_check: None,
                })
                .collect(),
            reproduce: String::new(),
        }
    }

    #[test]
    fn the_goal_is_the_first_failed_checker_then_the_first_found_one() {
        let r = report(
            &[
                ("lost-write", Outcome::Found, 0, 3),
                ("duplicate", Outcome::Observed, 0, 1),
                ("nonmonotonic-send", Outcome::Failed, 2, 1),
            ],
            None,
        );
        let goal = |checker| Goal::of_report(&r, checker);
        assert_eq!(
            goal(None),
            Ok(Goal::Violation { checker: "nonmonotonic-send", label: RegressionLabel::Bug })
        );
        assert_eq!(
            goal(Some("duplicate")),
            Ok(Goal::Violation { checker: "duplicate", label: RegressionLabel::Allowed })
        );
        assert!(goal(Some("liveness")).unwrap_err().contains("shows no liveness violation"));
        let found = report(&[("lost-write", Outcome::Found, 0, 3)], None);
        assert_eq!(
            Goal::of_report(&found, None),
            Ok(Goal::Violation { checker: "lost-write", label: RegressionLabel::Allowed })
        );
        let quiet = report(&[("duplicate", Outcome::Observed, 0, 1)], None);
        assert!(Goal::of_report(&quiet, None)
            .unwrap_err()
            .contains("--checker: duplicate (0 bug, 1 allowed)"));
    }

    #[test]
    fn a_crashed_run_is_shrunk_to_a_crash() {
        let crashed = report(&[], Some(FailureKind::Crash));
        assert_eq!(Goal::of_report(&crashed, None), Ok(Goal::Failure(FailureKind::Crash)));
        assert!(Goal::of_report(&crashed, Some("lost-write")).unwrap_err().contains("the run crashed"));
        let goal = Goal::Failure(FailureKind::Crash);
        let scenario = small();
        assert!(goal.holds(&scenario, &Err(RunFailure { kind: FailureKind::Crash, message: "x".into() })));
        assert!(!goal.holds(&scenario, &Err(RunFailure { kind: FailureKind::Timeout, message: "x".into() })));
        assert_eq!(goal.regression(3), None);
    }

    #[test]
    fn the_duration_floor_is_past_the_last_fault_and_the_last_send() {
        let mut s = small();
        assert_eq!(duration_floor(&s), 1_000 + 2_000 + DURATION_MARGIN_MS);
        let fault: crate::scenario::FaultSpec =
            toml::from_str("at_ms = 4000\nfault = \"crash\"\ntarget = \"broker-1\"\nfor_ms = 500").unwrap();
        s.faults.push(fault);
        assert_eq!(duration_floor(&s), 4_500 + DURATION_MARGIN_MS);
    }

    #[test]
    fn chunks_cover_the_list() {
        assert_eq!(chunks(9, 2), vec![0..4, 4..9]);
        assert_eq!(chunks(3, 3), vec![0..1, 1..2, 2..3]);
        assert_eq!(chunks(2, 5), vec![0..1, 1..2]);
    }

    #[test]
    fn search_points_are_ascending_and_below_hi() {
        assert_eq!(search_points(1, 1000), vec![1, 250, 500, 750]);
        assert_eq!(search_points(3, 5), vec![3, 3 + 1]);
        assert_eq!(search_points(4, 5), vec![4]);
    }

    #[test]
    fn first_success_is_the_sequential_answer() {
        for jobs in 1..=4 {
            let (found, made) = first_success(10, jobs, |k| k == 3 || k == 7);
            assert_eq!(found, Some(3));
            assert!(made >= 4);
            assert_eq!(first_success(5, jobs, |_| false), (None, 5));
        }
    }
}
