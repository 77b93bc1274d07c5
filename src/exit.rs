//! Exit codes: a contract with scripts and CI.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every run passed its scenario's expectations |
//! | 1 | an invariant was violated: a `never` checker fired, a violation the configuration promises cannot happen was found, or an `expected` anomaly did not show up |
//! | 2 | bad input: a scenario file or an argument is wrong |
//! | 3 | nondeterminism: a seed run twice (`sweep --check-determinism`) gave two different histories |
//! | 4 | a run crashed: the simulation panicked |
//! | 5 | a run timed out: it hit its simulated-time limit or its budget of steps or history (`sim::budget`) |
//! | 6 | a run was incomplete: its final read did not reach every partition's end, so what it did not read was not judged |
//! | 130 | interrupted: Ctrl-C stopped a sweep, which printed the summary of the runs that had finished, marked partial (128 + SIGINT, as shells report a process the signal ended) |
//!
//! When several apply (a sweep, or a sweep of several scenarios), the gravest wins, in the order
//! 3, 4, 5, 6, 1: a nondeterministic seed makes every other result suspect. An interrupted sweep
//! exits 130 whatever its runs showed: it gave no verdict, and its summary says what it found so far.
//!
//! A closed pipe is none of these: the command stops and exits with the code of what it had done
//! (see `output`). Failing to write the output otherwise (a full disk) is an error, 2.

use sim::sweep::SweepVerdict;

pub const OK: i32 = 0;
pub const VIOLATION: i32 = 1;
pub const BAD_INPUT: i32 = 2;
pub const NONDETERMINISM: i32 = 3;
pub const CRASH: i32 = 4;
pub const TIMEOUT: i32 = 5;
pub const INCOMPLETE: i32 = 6;
pub const INTERRUPTED: i32 = 130;

/// The exit code of one sweep.
pub fn of_sweep(verdict: SweepVerdict) -> i32 {
    match verdict {
        SweepVerdict::Nondeterministic => NONDETERMINISM,
        SweepVerdict::Crashed => CRASH,
        SweepVerdict::TimedOut => TIMEOUT,
        SweepVerdict::Incomplete => INCOMPLETE,
        SweepVerdict::Violated => VIOLATION,
        SweepVerdict::Passed => OK,
    }
}
