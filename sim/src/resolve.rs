//! A scenario fully resolved for one seed: every default written out, every inherited setting
//! made explicit, and the nemesis's draws turned into scripted faults. Printed as TOML, it is a
//! scenario of its own that, run with the same seed, replays the same run (each random stream is
//! derived from the seed and its own label, see `entropy`, so removing the nemesis shifts none).
//! Shrinking starts from it.
//!
//! The faults come from the run's own lazy [`Timeline`], so they are exactly the faults the run
//! fires. Unlike the run, a resolved scenario holds them all at once: past
//! [`MAX_RESOLVED_FAULTS`] resolving refuses, rather than exhaust memory on a timeline of
//! simulated months of millisecond faults (which no one could read or shrink anyway).

use crate::entropy::Entropy;
use crate::layout::{consumer_name, producer_name};
use crate::nemesis::Timeline;
use crate::scenario::Scenario;

/// The most faults a resolved scenario may hold, scripted and drawn together: about 15 MB of TOML.
pub const MAX_RESOLVED_FAULTS: usize = 100_000;

/// Why a scenario cannot be resolved for a seed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{scenario} seed {seed}: the timeline has more than {MAX_RESOLVED_FAULTS} faults (the \
     {MAX_RESOLVED_FAULTS}th fires at {at_ms} ms of a {duration_ms} ms fault phase), too many to write \
     out as a scenario; expected at most {MAX_RESOLVED_FAULTS}: shorten duration_ms or lengthen the \
     nemesis's gaps and durations"
)]
pub struct TooManyFaults {
    pub scenario: String,
    pub seed: u64,
    pub at_ms: u64,
    pub duration_ms: u64,
}

pub fn resolve(scenario: &Scenario, seed: u64) -> Result<Scenario, TooManyFaults> {
    let mut s = scenario.clone();
    let mut timeline =
        Timeline::new(&scenario.faults, scenario.nemesis.as_ref(), scenario.duration_ms, &Entropy::new(seed));
    s.faults = timeline.by_ref().take(MAX_RESOLVED_FAULTS).collect();
    if timeline.peek_ms().is_some() {
        return Err(TooManyFaults {
            scenario: scenario.name.clone(),
            seed,
            at_ms: s.faults.last().map_or(0, |f| f.at_ms),
            duration_ms: scenario.duration_ms,
        });
    }
    s.nemesis = None;
    // Recorded so that the file replays without `--seed`; TOML's integers stop at i64::MAX, and
    // a larger seed is only in the header.
    s.seed = i64::try_from(seed).is_ok().then_some(seed);
    for t in &mut s.topics {
        t.min_insync_replicas.get_or_insert(scenario.broker.min_insync_replicas);
        t.unclean_leader_election_enable.get_or_insert(scenario.broker.unclean_leader_election_enable);
    }
    for (i, p) in s.producers.iter_mut().enumerate() {
        p.name = Some(producer_name(i, p));
    }
    for (i, c) in s.consumers.iter_mut().enumerate() {
        c.name = Some(consumer_name(i, c));
    }
    Ok(s)
}

/// The resolved scenario as a TOML file, with a header saying what it is.
pub fn to_toml(resolved: &Scenario, from: &str, seed: u64) -> String {
    let body = toml::to_string(resolved).expect("a scenario serializes to TOML");
    let replay = if resolved.seed == Some(seed) {
        "`kafkasim run` replays it with the seed it records".to_string()
    } else {
        format!("run it with --seed {seed}")
    };
    format!(
        "# {from} resolved for seed {seed}: every default written out, the nemesis's faults scripted; \
         {replay}.\n{body}"
    )
}
