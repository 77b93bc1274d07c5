//! The seeded random nemesis, and a run's whole fault timeline (scripted and drawn faults in
//! firing order).
//!
//! `concurrent_faults` independent streams; in each, one fault at a time fires, lasts a random
//! duration, is undone, and the next follows after a random gap, until the fault phase ends.
//!
//! Faults are drawn **as the run reaches them**, not before it starts: a stream draws its next
//! fault only when the previous one has been taken, so memory does not grow with `duration_ms`
//! (a 115-day fault phase of 1 ms faults is as cheap to start as a one-minute one). Each stream
//! draws from its own random stream (`nemesis/0`, `nemesis/1`, …, see `entropy`), so what one
//! stream draws never depends on how far another has got. Resolving a scenario for a seed
//! (`resolve`) iterates the same [`Timeline`], so the faults it writes out are exactly the faults
//! the run fires.

use crate::entropy::Entropy;
use crate::scenario::{FaultKind, FaultSpec, NemesisSpec, Targets};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Latency range of a drawn `latency` fault: slow enough to trip fetch waits, not timeouts.
const LATENCY_FAULT_MS: (u64, u64) = (50, 500);

/// One nemesis stream: its faults from `start_ms` until the fault phase ends, drawn one at a time.
pub struct Stream<'a> {
    spec: &'a NemesisSpec,
    duration_ms: u64,
    rng: ChaCha8Rng,
    /// When the next fault fires.
    next_ms: u64,
}

impl<'a> Stream<'a> {
    pub fn new(spec: &'a NemesisSpec, duration_ms: u64, rng: ChaCha8Rng) -> Stream<'a> {
        Stream { spec, duration_ms, rng, next_ms: spec.start_ms }
    }
}

impl Iterator for Stream<'_> {
    type Item = FaultSpec;

    fn next(&mut self) -> Option<FaultSpec> {
        let (spec, rng) = (self.spec, &mut self.rng);
        // Drawn faults fire strictly inside the fault phase; a scripted fault may also fire at
        // its very end (see `run`).
        if self.next_ms >= self.duration_ms {
            return None;
        }
        let kind = *spec.faults.choose(rng)?;
        let lasts = rng.gen_range(spec.duration_min_ms..=spec.duration_max_ms.max(spec.duration_min_ms));
        let target = match kind {
            FaultKind::PacketLoss | FaultKind::Latency => None,
            _ => spec.targets.choose(rng).map(|t| Targets::One(t.clone())),
        };
        let fault = FaultSpec {
            at_ms: self.next_ms,
            fault: kind,
            target,
            groups: None,
            one_way: false,
            for_ms: Some(lasts),
            rate: (kind == FaultKind::PacketLoss).then_some(spec.packet_loss_rate),
            latency_min_ms: (kind == FaultKind::Latency).then_some(LATENCY_FAULT_MS.0),
            latency_max_ms: (kind == FaultKind::Latency).then_some(LATENCY_FAULT_MS.1),
        };
        let gap = rng.gen_range(spec.gap_min_ms..=spec.gap_max_ms.max(spec.gap_min_ms));
        // Validated times are at most 10^10 ms each: no overflow.
        self.next_ms += lasts + gap;
        Some(fault)
    }
}

/// The whole fault timeline of a run, in firing order: by `at_ms`; at one instant, scripted
/// faults first in file order, then the nemesis's streams in order. Drawn lazily.
pub struct Timeline<'a> {
    scripted: std::iter::Peekable<std::vec::IntoIter<FaultSpec>>,
    streams: Vec<std::iter::Peekable<Stream<'a>>>,
}

impl<'a> Timeline<'a> {
    pub fn new(
        scripted: &[FaultSpec],
        nemesis: Option<&'a NemesisSpec>,
        duration_ms: u64,
        entropy: &Entropy,
    ) -> Timeline<'a> {
        let mut sorted = scripted.to_vec();
        // Stable: faults at the same instant keep their file order.
        sorted.sort_by_key(|f| f.at_ms);
        let streams = nemesis
            .map(|spec| {
                (0..spec.concurrent_faults)
                    .map(|i| Stream::new(spec, duration_ms, stream_rng(entropy, i)).peekable())
                    .collect()
            })
            .unwrap_or_default();
        Timeline { scripted: sorted.into_iter().peekable(), streams }
    }

    /// When the next fault fires, if any is left.
    pub fn peek_ms(&mut self) -> Option<u64> {
        let scripted = self.scripted.peek().map(|f| f.at_ms);
        let drawn = self.streams.iter_mut().filter_map(|s| s.peek().map(|f| f.at_ms)).min();
        scripted.into_iter().chain(drawn).min()
    }
}

/// Stream `i`'s own random stream.
fn stream_rng(entropy: &Entropy, i: u32) -> ChaCha8Rng {
    entropy.stream(&format!("nemesis/{i}"))
}

impl Iterator for Timeline<'_> {
    type Item = FaultSpec;

    fn next(&mut self) -> Option<FaultSpec> {
        let at = self.peek_ms()?;
        if self.scripted.peek().is_some_and(|f| f.at_ms == at) {
            return self.scripted.next();
        }
        self.streams.iter_mut().find_map(|s| s.next_if(|f| f.at_ms == at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nemesis(toml: &str) -> NemesisSpec {
        toml::from_str(toml).expect("a nemesis table")
    }

    fn fault(at_ms: u64) -> FaultSpec {
        toml::from_str(&format!("at_ms = {at_ms}\nfault = \"heal\"")).unwrap()
    }

    #[test]
    fn streams_draw_back_to_back_faults_until_the_end_of_the_fault_phase() {
        let spec = nemesis(
            "faults = [\"crash\"]\nstart_ms = 0\ngap_min_ms = 0\ngap_max_ms = 0\n\
             duration_min_ms = 1\nduration_max_ms = 1",
        );
        let drawn: Vec<u64> =
            Stream::new(&spec, 5, stream_rng(&Entropy::new(1), 0)).map(|f| f.at_ms).collect();
        assert_eq!(drawn, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_timeline_merges_scripted_and_drawn_faults_in_firing_order() {
        let spec = nemesis(
            "faults = [\"crash\"]\nstart_ms = 2\ngap_min_ms = 1\ngap_max_ms = 1\n\
             duration_min_ms = 1\nduration_max_ms = 1\nconcurrent_faults = 2",
        );
        let scripted = [fault(4), fault(2), fault(2)];
        let timeline = Timeline::new(&scripted, Some(&spec), 7, &Entropy::new(3));
        let order: Vec<(u64, bool)> = timeline.map(|f| (f.at_ms, f.fault == FaultKind::Heal)).collect();
        // At 2 and 4: the two scripted heals, then one drawn crash per stream.
        assert_eq!(
            order,
            [
                (2, true),
                (2, true),
                (2, false),
                (2, false),
                (4, true),
                (4, false),
                (4, false),
                (6, false),
                (6, false)
            ]
        );
    }

    #[test]
    fn an_absurdly_long_timeline_starts_at_once() {
        let spec = nemesis(
            "faults = [\"crash\"]\ngap_min_ms = 0\ngap_max_ms = 0\nduration_min_ms = 1\nduration_max_ms = 1",
        );
        let mut timeline = Timeline::new(&[], Some(&spec), 10_000_000_000, &Entropy::new(0));
        assert_eq!(timeline.peek_ms(), Some(5_000));
        assert_eq!(timeline.nth(999_999).map(|f| f.at_ms), Some(1_004_999));
    }
}
