//! Where a run's randomness comes from. Each consumer gets its own stream, derived from the seed
//! and a label, so that one stream's use never shifts another's: a scenario printed back with its
//! nemesis's draws written out as scripted faults replays the same run, because the network and
//! the workloads draw exactly what they drew before.
//!
//! madsim's own generator (also seeded by the run's seed) orders tasks that are ready at the same
//! instant; the harness draws nothing from it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::xxh3_64_with_seed;

#[derive(Clone, Copy, Debug)]
pub struct Entropy {
    seed: u64,
}

impl Entropy {
    pub fn new(seed: u64) -> Entropy {
        Entropy { seed }
    }

    /// The stream named `label`: the same seed and label always give the same stream.
    pub fn stream(&self, label: &str) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(xxh3_64_with_seed(label.as_bytes(), self.seed))
    }
}
