//! Argument values that more than one subcommand takes, parsed with messages that say what was
//! expected. clap reports a value these parsers refuse as bad input (exit 2), naming the flag.

use crate::output::errln;
use sim::scenario::Scenario;

/// The most worker threads `--jobs` may ask for: far more than any machine's cores, far fewer
/// than an operating system refuses to start.
const MAX_JOBS: usize = 1024;

/// `--jobs N`: worker threads, at least one and at most `MAX_JOBS`.
pub fn jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => {
            Err("0 threads cannot run anything; expected at least 1 (leave --jobs out for one per core)"
                .to_string())
        }
        Ok(n) if n > MAX_JOBS => Err(format!(
            "{n} threads is more than this harness starts; expected at most {MAX_JOBS} (each runs one seed \
             at a time; leave --jobs out for one per core)"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a number of threads; expected a whole number, at least 1")),
    }
}

/// A count of runs that must be at least one (`bench --seeds N`).
pub fn at_least_one(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("0 measures nothing; expected at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a number; expected a whole number, at least 1")),
    }
}

/// The seed a command given `--seed` or not runs `scenario` with: the one given, else the one the
/// file records, else 0. When none was given, stderr says which it took and why, since the report
/// alone would not tell a recorded seed from the default.
pub fn seed_for(scenario: &Scenario, given: Option<u64>) -> u64 {
    if let Some(seed) = given {
        return seed;
    }
    let (seed, from) = match (&scenario.regression, scenario.seed) {
        (Some(r), _) => (r.seed, "from the file's [regression] seed"),
        (None, Some(seed)) => (seed, "from the file's `seed`"),
        (None, None) => (0, "no --seed given, and the file records none"),
    };
    errln!("seed {seed} ({from})");
    seed
}

/// Threads when `--jobs` is left out: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_at_least_one() {
        assert_eq!(jobs("3"), Ok(3));
        assert!(jobs("0").unwrap_err().contains("expected at least 1"));
        assert_eq!(jobs("1024"), Ok(1024));
        assert!(jobs("99999999999").unwrap_err().contains("expected at most 1024"));
        assert!(jobs("-1").unwrap_err().contains("not a number of threads"));
        assert!(jobs("two").unwrap_err().contains("not a number of threads"));
        assert_eq!(at_least_one("1"), Ok(1));
        assert!(at_least_one("0").unwrap_err().contains("expected at least 1"));
    }
}
