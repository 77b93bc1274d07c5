//! Randomness handed in by the host. The clients need a little — the jitter of their backoffs and
//! the random starting point of the least-loaded-node search — but a sans-IO core never seeds or
//! draws its own: the host gives each client a `Random`, fed from the run's seed, so one seed still
//! gives one history.

/// A source of uniform random 64-bit numbers.
pub trait Random: Send {
    fn next_u64(&mut self) -> u64;

    /// Uniform in [0, 1), from the top 53 bits (exact in an `f64`).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n; `n` must be positive.
    fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0, "below(0)");
        ((self.unit() * n as f64) as usize).min(n - 1)
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, well-mixed generator for a host that hands a
/// client a seed rather than a generator of its own.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }
}

impl Random for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Always the middle of every range: backoffs without jitter, searches from the first node. For
/// tests that want exact figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Midpoint;

impl Random for Midpoint {
    fn next_u64(&mut self) -> u64 {
        1 << 63
    }

    fn below(&mut self, _n: usize) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic_and_spread() {
        let draw = |seed| {
            let mut r = SplitMix64::new(seed);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let mut r = SplitMix64::new(1);
        let mut seen = [0u32; 4];
        for _ in 0..4000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            seen[r.below(4)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
    }

    #[test]
    fn midpoint_is_the_middle() {
        assert_eq!(Midpoint.unit(), 0.5);
        assert_eq!(Midpoint.below(3), 0);
    }
}
