//! Which partition a producer sends a record to.
//!
//! - [`murmur2`] and [`Partitioner::Murmur2`]: the Java client's default for keyed records,
//!   `(murmur2(key bytes) & 0x7fffffff) % partitions`.
//! - [`crc32`] and [`Partitioner::Crc32`]: librdkafka's `consistent_random`,
//!   `crc32(key bytes) % partitions`.
//! - [`key_bytes`]: how a record's numeric key is serialized before hashing, so the partition a
//!   key lands on is the one a real client with a string key serializer would pick.
//!
//! Records without a key go round-robin over the partitions. Kafka's sticky partitioning
//! (KIP-480/KIP-794: fill a batch for one partition, then switch) is not modelled: it changes how
//! batches are formed, not which guarantees hold, and round-robin keeps unkeyed traffic spread
//! evenly and predictably.

/// The bytes a record key is hashed as: the UTF-8 string `key-{n}`.
pub fn key_bytes(key: u32) -> Vec<u8> {
    format!("key-{key}").into_bytes()
}

/// The 32-bit MurmurHash2 the Java Kafka client partitions with: seed `0x9747b28c`, input read
/// as little-endian 4-byte words, result reinterpreted as a Java `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // The length is mixed in as a Java int: truncation only matters beyond 4 GiB.
    let mut h = SEED ^ data.len() as u32;

    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u32::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// IEEE 802.3 CRC-32 (reflected polynomial `0xEDB88320`, initial value and final xor all ones),
/// the checksum librdkafka's `consistent_random` partitioner hashes keys with.
///
/// Written here rather than taken from a crate: it is a dozen lines over a table built at
/// compile time, and the broker crate keeps its dependencies to a minimum.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc = CRC32_TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `CRC32_TABLE[b]` is the CRC register after shifting the byte `b` through it bit by bit.
const CRC32_TABLE: [u32; 256] = {
    const POLYNOMIAL: u32 = 0xedb8_8320;
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// How a producer maps a keyed record to a partition. Unkeyed records go round-robin whatever
/// the choice (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partitioner {
    /// The Java client's default: `(murmur2(key bytes) & 0x7fffffff) % partitions`.
    Murmur2,
    /// librdkafka's `consistent_random`: `crc32(key bytes) % partitions`.
    Crc32,
}

impl Partitioner {
    /// The partition, in `0..partitions`, for a record with this key.
    ///
    /// A record without a key takes `*round_robin_counter % partitions` and advances the counter,
    /// which the producer keeps (one per topic) so successive unkeyed records cycle through the
    /// partitions.
    ///
    /// Panics if `partitions` is 0: a topic always has at least one partition.
    pub fn partition(
        &self,
        key: Option<u32>,
        partitions: u32,
        round_robin_counter: &mut u32,
    ) -> u32 {
        assert!(partitions > 0, "a topic has at least one partition");
        match key {
            None => {
                let partition = *round_robin_counter % partitions;
                *round_robin_counter = round_robin_counter.wrapping_add(1);
                partition
            }
            Some(key) => {
                let bytes = key_bytes(key);
                match self {
                    // The mask, not abs(): abs(i32::MIN) would stay negative.
                    Partitioner::Murmur2 => (murmur2(&bytes) as u32 & 0x7fff_ffff) % partitions,
                    Partitioner::Crc32 => crc32(&bytes) % partitions,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The vectors published in Kafka's own unit tests for its murmur2 (`UtilsTest.testMurmur2`).
    #[test]
    fn murmur2_matches_kafka_published_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Computed by an independent implementation written from the MurmurHash2 description; they
    /// cover the empty input and every tail length of the keys this harness hashes.
    #[test]
    fn murmur2_of_record_keys() {
        assert_eq!(murmur2(b""), 275_646_681);
        assert_eq!(murmur2(&key_bytes(0)), 29_210_041);
        assert_eq!(murmur2(&key_bytes(42)), -187_086_521);
        assert_eq!(murmur2(&key_bytes(999)), -1_349_681_240);
        assert_eq!(murmur2(&key_bytes(123_456)), 1_803_999_010);
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(&key_bytes(7)), 0xe78f_1a4f);
    }

    #[test]
    fn keys_serialize_as_strings() {
        assert_eq!(key_bytes(0), b"key-0");
        assert_eq!(key_bytes(u32::MAX), b"key-4294967295");
    }

    #[test]
    fn keyed_records_land_where_the_clients_put_them() {
        let mut counter = 0;
        // Reference values from the same independent implementation, 6 partitions.
        assert_eq!(Partitioner::Murmur2.partition(Some(0), 6, &mut counter), 1);
        assert_eq!(Partitioner::Murmur2.partition(Some(42), 6, &mut counter), 3);
        assert_eq!(
            Partitioner::Murmur2.partition(Some(123_456), 6, &mut counter),
            4
        );
        assert_eq!(Partitioner::Crc32.partition(Some(0), 6, &mut counter), 0);
        assert_eq!(Partitioner::Crc32.partition(Some(7), 6, &mut counter), 5);
        assert_eq!(
            Partitioner::Crc32.partition(Some(123_456), 6, &mut counter),
            3
        );
        assert_eq!(
            counter, 0,
            "keyed records leave the round-robin counter alone"
        );
    }

    /// murmur2 of `key-42` is negative: its sign bit is cleared, as the Java client's
    /// `Utils.toPositive` does, rather than the value negated.
    #[test]
    fn negative_hashes_are_masked_not_negated() {
        let hash = murmur2(&key_bytes(42));
        assert!(hash < 0);
        let expected = (hash & 0x7fff_ffff) as u32 % 6;
        assert_eq!(
            Partitioner::Murmur2.partition(Some(42), 6, &mut 0),
            expected
        );
    }

    #[test]
    fn unkeyed_records_go_round_robin() {
        let mut counter = 0;
        let picks: Vec<u32> = (0..7)
            .map(|_| Partitioner::Murmur2.partition(None, 3, &mut counter))
            .collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(counter, 7);

        let mut counter = u32::MAX;
        assert_eq!(Partitioner::Crc32.partition(None, 4, &mut counter), 3);
        assert_eq!(counter, 0, "the counter wraps instead of overflowing");
    }

    fn any_partitioner() -> impl Strategy<Value = Partitioner> {
        prop_oneof![Just(Partitioner::Murmur2), Just(Partitioner::Crc32)]
    }

    proptest! {
        #[test]
        fn partition_is_in_range_and_deterministic(
            partitioner in any_partitioner(),
            key in proptest::option::of(any::<u32>()),
            partitions in 1u32..=1024,
            counter in any::<u32>(),
        ) {
            let (mut first_counter, mut second_counter) = (counter, counter);
            let first = partitioner.partition(key, partitions, &mut first_counter);
            let second = partitioner.partition(key, partitions, &mut second_counter);
            prop_assert!(first < partitions);
            prop_assert_eq!(first, second);
            prop_assert_eq!(first_counter, second_counter);
        }
    }
}
