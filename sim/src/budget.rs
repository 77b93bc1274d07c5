//! A run's budget: how much work it may do and how much it may record before it counts as a
//! runaway and ends as a **timeout** (exit 5), reported with its seed like any other failure.
//!
//! | limit | figure | why |
//! |---|---|---|
//! | steps per simulated ms | 20 × the run's simulated-time limit in ms | a livelock: nodes stepping at one instant for ever |
//! | steps in all | 10,000,000 | a run that keeps busy for simulated months: tens of seconds of wall time for a cluster the size of the shipped scenarios', more with thousands of partitions |
//! | history | 512 MiB | memory: the history is what a run keeps, and it grows with everything that happens |
//!
//! A *step* is one delivery or timer of a node, or one fault the harness fires or undoes, or one
//! look at the cluster in the liveness phase. The history's size is each event's own size plus
//! what it carries (a poll's or final read's records, a replica log snapshot), as
//! `history::Op::footprint` estimates it. A shipped scenario takes about 8,000 steps and 0.6 MB
//! of history; a 600,000-record partition written at 20,000 records/s and read back whole takes
//! 100,000 steps and 180 MB: the limits leave room for runs much larger than that.
//!
//! Past a limit the run panics with a message `run::RunFailure` recognises as a timeout. The
//! panic unwinds only the run's own thread (each run has one), so a sweep goes on.

use broker::types::Millis;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Steps a run may take per simulated millisecond of its time limit before it counts as a livelock.
pub const STEPS_PER_SIMULATED_MS: u64 = 20;
/// Steps a run may take in all, whatever its length.
pub const MAX_STEPS: u64 = 10_000_000;
/// Bytes a run's history may take, as `history::Op::footprint` estimates them: 512 MiB.
pub const MAX_HISTORY_BYTES: u64 = 512 << 20;

/// The panic message past the step budget.
pub const STEP_BUDGET_PANIC: &str = "step budget exceeded";
/// The panic message past the history budget.
pub const HISTORY_BUDGET_PANIC: &str = "history budget exceeded";

/// The absolute limits a run gets: [`MAX_STEPS`] and [`MAX_HISTORY_BYTES`] unless a caller (a
/// test that wants a runaway run to end quickly) asks for others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_steps: u64,
    pub max_history_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_steps: MAX_STEPS, max_history_bytes: MAX_HISTORY_BYTES }
    }
}

/// Counts the steps of every node of a run, and the bytes of its history, against their
/// limits. Clones share the counts.
#[derive(Clone, Debug)]
pub struct Budget {
    steps: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    step_limit: u64,
    byte_limit: u64,
}

impl Budget {
    /// The budget of a run whose simulated time is limited to `time_limit_ms`.
    pub fn for_run(time_limit_ms: u64, limits: Limits) -> Budget {
        let steps = time_limit_ms.saturating_mul(STEPS_PER_SIMULATED_MS).min(limits.max_steps);
        Budget::new(steps, limits.max_history_bytes)
    }

    pub fn new(step_limit: u64, byte_limit: u64) -> Budget {
        Budget { steps: Arc::default(), bytes: Arc::default(), step_limit, byte_limit }
    }

    /// One step at `now`, of any node or of the harness; panics past the limit.
    pub fn step(&self, now: Millis) {
        let taken = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        if taken > self.step_limit {
            panic!("{STEP_BUDGET_PANIC}: {taken} steps by {now} ms, the limit is {}", self.step_limit);
        }
    }

    /// `bytes` more of history at `now`; panics past the limit.
    pub fn record(&self, bytes: u64, now: Millis) {
        let held = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if held > self.byte_limit {
            panic!(
                "{HISTORY_BUDGET_PANIC}: {} MiB of events by {now} ms, the limit is {} MiB",
                held >> 20,
                self.byte_limit >> 20
            );
        }
    }

    pub fn steps_taken(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    pub fn bytes_recorded(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        *std::panic::catch_unwind(f).expect_err("past the budget").downcast::<String>().unwrap()
    }

    #[test]
    fn steps_are_shared_and_panic_past_their_limit() {
        let budget = Budget::new(3, 100);
        let other = budget.clone();
        budget.step(0);
        other.step(0);
        budget.step(1);
        let message = panic_message(move || other.step(2));
        assert!(message.starts_with(STEP_BUDGET_PANIC), "{message}");
        assert!(message.contains("4 steps by 2 ms, the limit is 3"), "{message}");
    }

    #[test]
    fn history_bytes_panic_past_their_limit() {
        let budget = Budget::new(100, 3 << 20);
        budget.record(1 << 20, 0);
        budget.record(2 << 20, 1);
        assert_eq!(budget.bytes_recorded(), 3 << 20);
        let message = panic_message(move || budget.record(1, 2));
        assert!(message.starts_with(HISTORY_BUDGET_PANIC), "{message}");
        assert!(message.contains("3 MiB of events by 2 ms, the limit is 3 MiB"), "{message}");
    }

    #[test]
    fn a_long_run_gets_the_absolute_step_limit_a_short_one_its_rate() {
        let limits = Limits::default();
        assert_eq!(Budget::for_run(1_000, limits).step_limit, 20_000);
        assert_eq!(Budget::for_run(10_000_000_000, limits).step_limit, MAX_STEPS);
        assert_eq!(Budget::for_run(u64::MAX, limits).step_limit, MAX_STEPS);
        assert_eq!(Budget::for_run(u64::MAX, limits).byte_limit, MAX_HISTORY_BYTES);
    }
}
