//! Exponential backoff with jitter, as Kafka's clients compute every delay that grows with
//! repeated failure: retries (KIP-580), metadata refreshes, reconnects and connection-setup
//! timeouts (KIP-601). Kafka's `ExponentialBackoff` (clients/.../common/utils/ExponentialBackoff.java):
//!
//! `backoff(attempts) = min(max, initial × 2^min(attempts, e) × r)`, where `e` is the exponent at
//! which `initial × 2^e` reaches `max` and `r` is uniform in [1 − jitter, 1 + jitter]. A `max` not
//! above `initial` gives a constant `max`, without jitter.

use crate::random::Random;
use crate::types::Millis;
use serde::{Deserialize, Serialize};

/// The multiplier of every client backoff in Kafka (`RETRY_BACKOFF_EXP_BASE`,
/// `RECONNECT_BACKOFF_EXP_BASE`, `CONNECTION_SETUP_TIMEOUT_EXP_BASE`).
pub const MULTIPLIER: f64 = 2.0;
/// ±20 %, the jitter of every client backoff in Kafka (`RETRY_BACKOFF_JITTER` and friends).
pub const JITTER: f64 = 0.2;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExponentialBackoff {
    initial_ms: Millis,
    max_ms: Millis,
    /// The exponent at which the backoff reaches `max_ms`; 0 for a constant backoff.
    max_exponent: f64,
}

impl ExponentialBackoff {
    pub fn new(initial_ms: Millis, max_ms: Millis) -> ExponentialBackoff {
        let initial_ms = initial_ms.min(max_ms);
        let max_exponent = if max_ms > initial_ms {
            (max_ms as f64 / initial_ms.max(1) as f64).ln() / MULTIPLIER.ln()
        } else {
            0.0
        };
        ExponentialBackoff { initial_ms, max_ms, max_exponent }
    }

    /// The delay after `attempts` earlier failures (0: the first delay), jittered by `random`.
    pub fn backoff(&self, attempts: u32, random: &mut dyn Random) -> Millis {
        if self.max_exponent == 0.0 {
            return self.initial_ms;
        }
        // Past the exponent that reaches the max, the max itself (exactly, where Kafka's floating
        // point may land a millisecond short of it).
        let term = if f64::from(attempts) >= self.max_exponent {
            self.max_ms as f64
        } else {
            self.initial_ms as f64 * MULTIPLIER.powi(attempts as i32)
        };
        // 1 ± JITTER, written so that the middle of the range is exactly 1.
        let factor = 1.0 + JITTER * (2.0 * random.unit() - 1.0);
        ((factor * term) as Millis).min(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Midpoint;

    /// A random source that always returns one fraction of the range.
    struct At(f64);

    impl Random for At {
        fn next_u64(&mut self) -> u64 {
            unreachable!("unit is overridden")
        }
        fn unit(&mut self) -> f64 {
            self.0
        }
    }

    #[test]
    fn kafka_defaults_double_from_the_initial_value_up_to_the_max() {
        // (initial, max) → the delay after 0, 1, 2, … failures, without jitter.
        let table: [((Millis, Millis), &[Millis]); 4] = [
            // retry.backoff.ms / retry.backoff.max.ms (KIP-580)
            ((100, 1_000), &[100, 200, 400, 800, 1_000, 1_000]),
            // reconnect.backoff.ms / reconnect.backoff.max.ms
            ((50, 1_000), &[50, 100, 200, 400, 800, 1_000, 1_000]),
            // socket.connection.setup.timeout.ms / .max.ms (KIP-601)
            ((10_000, 30_000), &[10_000, 20_000, 30_000, 30_000]),
            // a max not above the initial value: constant, the max
            ((100, 100), &[100, 100, 100]),
        ];
        for ((initial, max), expected) in table {
            let b = ExponentialBackoff::new(initial, max);
            let got: Vec<Millis> = (0..expected.len() as u32).map(|a| b.backoff(a, &mut Midpoint)).collect();
            assert_eq!(got, expected, "initial {initial} max {max}");
        }
        assert_eq!(ExponentialBackoff::new(500, 100).backoff(3, &mut Midpoint), 100);
    }

    #[test]
    fn jitter_is_twenty_percent_either_way_and_never_passes_the_max() {
        let b = ExponentialBackoff::new(100, 1_000);
        assert_eq!(b.backoff(0, &mut At(0.0)), 80);
        assert_eq!(b.backoff(0, &mut At(0.999_999)), 119);
        assert_eq!(b.backoff(2, &mut At(0.0)), 320);
        assert_eq!(b.backoff(3, &mut At(0.999_999)), 959);
        // 800 × 1.2 would pass 1 000: capped.
        assert_eq!(b.backoff(4, &mut At(0.999_999)), 1_000);
        assert_eq!(b.backoff(4, &mut At(0.0)), 800);
        // A constant backoff is never jittered.
        assert_eq!(ExponentialBackoff::new(100, 100).backoff(0, &mut At(0.0)), 100);
    }
}
