//! The seeded random nemesis: draws a fault schedule from the run's RNG before the run starts,
//! so the drawn faults join the scripted timeline and a run can be printed back as a scenario
//! with every fault explicit.
//!
//! `concurrent_faults` independent streams; in each, one fault at a time fires, lasts a random
//! duration, is undone, and the next follows after a random gap, until the fault phase ends.

use crate::scenario::{FaultKind, FaultSpec, NemesisSpec, Targets};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Latency range of a drawn `latency` fault: slow enough to trip fetch waits, not timeouts.
const LATENCY_FAULT_MS: (u64, u64) = (50, 500);

pub fn draw(spec: &NemesisSpec, duration_ms: u64, rng: &mut ChaCha8Rng) -> Vec<FaultSpec> {
    let mut faults = Vec::new();
    for _ in 0..spec.concurrent_faults {
        draw_stream(spec, duration_ms, rng, &mut faults);
    }
    faults
}

fn draw_stream(spec: &NemesisSpec, duration_ms: u64, rng: &mut ChaCha8Rng, faults: &mut Vec<FaultSpec>) {
    let mut t = spec.start_ms;
    while t < duration_ms && !spec.faults.is_empty() {
        let kind = *spec.faults.choose(rng).expect("non-empty");
        let lasts = rng.gen_range(spec.duration_min_ms..=spec.duration_max_ms.max(spec.duration_min_ms));
        let target = match kind {
            FaultKind::PacketLoss | FaultKind::Latency => None,
            _ => spec.targets.choose(rng).map(|t| Targets::One(t.clone())),
        };
        faults.push(FaultSpec {
            at_ms: t,
            fault: kind,
            target,
            groups: None,
            one_way: false,
            for_ms: Some(lasts),
            rate: (kind == FaultKind::PacketLoss).then_some(spec.packet_loss_rate),
            latency_min_ms: (kind == FaultKind::Latency).then_some(LATENCY_FAULT_MS.0),
            latency_max_ms: (kind == FaultKind::Latency).then_some(LATENCY_FAULT_MS.1),
        });
        let gap = rng.gen_range(spec.gap_min_ms..=spec.gap_max_ms.max(spec.gap_min_ms));
        t += lasts + gap;
    }
}

/// The whole fault timeline of a run: scripted faults and drawn ones, in firing order.
pub fn timeline(
    scripted: &[FaultSpec],
    nemesis: Option<&NemesisSpec>,
    duration_ms: u64,
    rng: &mut ChaCha8Rng,
) -> Vec<FaultSpec> {
    let mut all: Vec<FaultSpec> = scripted.to_vec();
    if let Some(spec) = nemesis {
        all.extend(draw(spec, duration_ms, rng));
    }
    // Stable: scripted faults at the same instant keep their file order, ahead of drawn ones.
    all.sort_by_key(|f| f.at_ms);
    all
}
