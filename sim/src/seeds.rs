//! Seed sets: which seeds a sweep runs, as `kafkasim sweep --seeds` and the test sweeps'
//! `KAFKASIM_SEEDS` write them.
//!
//! | written | seeds |
//! |---|---|
//! | `A..B` | A up to B, B excluded |
//! | `A..=B` | A up to B, B included (`17..=17` is seed 17 alone) |
//! | `N` | the first N seeds, `0..N` (what `KAFKASIM_SEEDS=N` has always meant) |
//! | `3,17,42` | those seeds, in any order, each once; swept in seed order |
//! | `random:N` | N seeds from a start drawn from the OS, `S..S+N`: a fresh stretch each time |
//!
//! A random start is the one read of OS entropy in the harness. It chooses which seeds run, never
//! what a run does, and whoever draws it prints the range it chose, so a failure found in it is
//! reproduced like any other: with its seed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;

/// The seeds a sweep runs: a range, or a list in seed order without repeats.
///
/// In JSON a range is `{"start": A, "end": B}` (B excluded), a list an array of seeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SeedSet {
    Range(Range<u64>),
    List(Vec<u64>),
}

/// Read back by shape, not tried in turn: serde would read an array of two as a range.
impl<'de> Deserialize<'de> for SeedSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SeedSet, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bounds {
            start: u64,
            end: u64,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            List(Vec<u64>),
            Range(Bounds),
        }
        Ok(match Shape::deserialize(d)? {
            Shape::List(seeds) => SeedSet::List(seeds),
            Shape::Range(b) => SeedSet::Range(b.start..b.end),
        })
    }
}

impl From<Range<u64>> for SeedSet {
    fn from(range: Range<u64>) -> SeedSet {
        SeedSet::Range(range)
    }
}

impl SeedSet {
    /// How many seeds the set holds.
    pub fn len(&self) -> u64 {
        match self {
            SeedSet::Range(r) => r.end.saturating_sub(r.start),
            SeedSet::List(seeds) => seeds.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The set as a summary line shows it: a long list shortened to its first seeds and a count.
    pub fn short(&self) -> String {
        const SHOWN: usize = 8;
        match self {
            SeedSet::List(seeds) if seeds.len() > SHOWN => {
                let first: Vec<String> = seeds[..SHOWN].iter().map(u64::to_string).collect();
                format!("{},… ({} seeds)", first.join(","), seeds.len())
            }
            _ => self.to_string(),
        }
    }
}

/// As `--seeds` reads it back: `A..B`, or a list `3,17,42` (one seed alone as `S..=S`, since a
/// lone number means the first N seeds).
impl fmt::Display for SeedSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedSet::Range(r) => write!(f, "{}..{}", r.start, r.end),
            SeedSet::List(seeds) if seeds.len() == 1 => write!(f, "{0}..={0}", seeds[0]),
            SeedSet::List(seeds) => {
                let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
                f.write_str(&seeds.join(","))
            }
        }
    }
}

/// What `--seeds` or `KAFKASIM_SEEDS` says: the seeds themselves, or how many to take from a
/// random start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeedSpec {
    Set(SeedSet),
    Random { count: u64 },
}

/// Random starts are drawn below this, so that seeds stay short enough to read and type, and far
/// below `i64::MAX`, the largest seed a scenario file can record.
pub const RANDOM_STARTS: u64 = 1 << 32;

/// The grammar, for error messages.
const EXPECTED: &str =
    "expected A..B, A..=B, N (the first N seeds, 0..N), a list such as 3,17,42, or random:N";

impl SeedSpec {
    pub fn parse(s: &str) -> Result<SeedSpec, String> {
        let bad = |why: String| format!("seeds `{s}`: {why}");
        let text = s.trim();
        if let Some(count) = text.strip_prefix("random:") {
            let count = number(count).map_err(&bad)?;
            if count == 0 {
                return Err(bad("random:0 is no seeds; expected random:N with N at least 1".to_string()));
            }
            if count > u64::MAX - RANDOM_STARTS {
                return Err(bad(format!(
                    "random:{count} is too many; expected at most {}",
                    u64::MAX - RANDOM_STARTS
                )));
            }
            return Ok(SeedSpec::Random { count });
        }
        if text.is_empty() {
            return Err(bad(format!("no seeds given; {EXPECTED}")));
        }
        if text.contains(',') {
            return list(text).map(|seeds| SeedSpec::Set(SeedSet::List(seeds))).map_err(bad);
        }
        if let Some((a, b)) = text.split_once("..=") {
            let (a, b) = (number(a).map_err(&bad)?, number(b).map_err(&bad)?);
            if b < a {
                return Err(bad(format!("the range is empty; expected A..=B with A <= B ({b} < {a})")));
            }
            if b == u64::MAX {
                if a == b {
                    return Ok(SeedSpec::Set(SeedSet::List(vec![a])));
                }
                return Err(bad(format!("the range ends at the last seed; expected B below {b}, or a list")));
            }
            return Ok(SeedSpec::Set(SeedSet::Range(a..b + 1)));
        }
        if let Some((a, b)) = text.split_once("..") {
            let (a, b) = (number(a).map_err(&bad)?, number(b).map_err(&bad)?);
            if b <= a {
                return Err(bad("the range is empty; expected A..B with A < B (B is excluded)".to_string()));
            }
            return Ok(SeedSpec::Set(SeedSet::Range(a..b)));
        }
        let n: u64 =
            text.parse().map_err(|_| bad(format!("`{text}` is not a number of seeds; {EXPECTED}")))?;
        if n == 0 {
            return Err(bad(
                "0 is no seeds: N means the first N seeds, 0..N; expected at least 1".to_string()
            ));
        }
        Ok(SeedSpec::Set(SeedSet::Range(0..n)))
    }

    /// The seeds: the set given, or `count` seeds from a start `draw` picks (any `u64`; it is
    /// reduced below [`RANDOM_STARTS`]).
    pub fn choose(self, draw: impl FnOnce() -> u64) -> SeedSet {
        match self {
            SeedSpec::Set(set) => set,
            SeedSpec::Random { count } => {
                let start = draw() % RANDOM_STARTS;
                SeedSet::Range(start..start + count)
            }
        }
    }

    pub fn is_random(&self) -> bool {
        matches!(self, SeedSpec::Random { .. })
    }
}

/// The seeds an environment variable such as `KAFKASIM_SEEDS` names (`value`, `None` when it is
/// unset): `default` when unset, else parsed, a random start drawn with `draw`. A random set comes
/// with the line to print, which says how to sweep the same seeds again.
pub fn from_env(
    name: &str,
    value: Option<&str>,
    default: SeedSet,
    draw: impl FnOnce() -> u64,
) -> Result<(SeedSet, Option<String>), String> {
    let Some(text) = value else {
        return Ok((default, None));
    };
    let spec = SeedSpec::parse(text).map_err(|e| format!("{name}={text}: {e}"))?;
    let random = spec.is_random();
    let seeds = spec.choose(draw);
    let note =
        random.then(|| format!("{name}={text} drew seeds {seeds}; sweep them again with {name}={seeds}"));
    Ok((seeds, note))
}

/// A fresh random number from the operating system, for a `random:N` start.
pub fn os_draw() -> u64 {
    use rand::RngCore;
    rand::rngs::OsRng.next_u64()
}

fn number(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(format!("a number is missing; {EXPECTED}"));
    }
    s.parse().map_err(|_| format!("`{s}` is not a seed; expected a whole number from 0 to {}", u64::MAX))
}

/// `3,17,42`: single seeds, sorted, each once.
fn list(text: &str) -> Result<Vec<u64>, String> {
    let mut seeds = Vec::new();
    for (i, item) in text.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!(
                "item {} of the list is empty; expected a seed between each two commas",
                i + 1
            ));
        }
        if item.contains("..") {
            return Err(format!("`{item}` is a range; a list holds single seeds (write a range on its own)"));
        }
        seeds.push(number(item)?);
    }
    seeds.sort_unstable();
    if let Some(pair) = seeds.windows(2).find(|p| p[0] == p[1]) {
        return Err(format!("seed {} appears twice; expected each seed once", pair[0]));
    }
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> SeedSet {
        match SeedSpec::parse(s) {
            Ok(SeedSpec::Set(set)) => set,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn err(s: &str) -> String {
        SeedSpec::parse(s).expect_err(s)
    }

    #[test]
    fn every_form_parses() {
        assert_eq!(set("0..1000"), SeedSet::Range(0..1000));
        assert_eq!(set(" 1000..2000 "), SeedSet::Range(1000..2000));
        assert_eq!(set("5..=9"), SeedSet::Range(5..10));
        assert_eq!(set("17..=17"), SeedSet::Range(17..18));
        assert_eq!(
            set("200"),
            SeedSet::Range(0..200),
            "N is the first N seeds, as KAFKASIM_SEEDS always had it"
        );
        assert_eq!(set("42, 3,17"), SeedSet::List(vec![3, 17, 42]), "a list is swept in seed order");
        assert_eq!(set(&format!("{0}..={0}", u64::MAX)), SeedSet::List(vec![u64::MAX]));
        assert_eq!(SeedSpec::parse("random:200"), Ok(SeedSpec::Random { count: 200 }));
    }

    #[test]
    fn bad_seeds_say_what_was_expected() {
        for (s, says) in [
            ("5..2", "the range is empty"),
            ("5..5", "the range is empty"),
            ("5..=4", "expected A..=B with A <= B"),
            ("0", "0 is no seeds"),
            ("", "no seeds given; expected A..B"),
            ("x", "`x` is not a number of seeds; expected A..B, A..=B, N"),
            ("-3..5", "`-3` is not a seed"),
            ("1..2..3", "`2..3` is not a seed"),
            ("3,,17", "item 2 of the list is empty"),
            ("3,", "item 2 of the list is empty"),
            ("3,10..20", "`10..20` is a range"),
            ("3,17,3", "seed 3 appears twice"),
            ("random:0", "expected random:N with N at least 1"),
            ("random:", "a number is missing"),
            ("..5", "a number is missing"),
            ("random:x", "`x` is not a seed"),
            ("18446744073709551616", "not a number of seeds"),
            ("1..18446744073709551616", "`18446744073709551616` is not a seed"),
        ] {
            let e = err(s);
            assert!(e.starts_with(&format!("seeds `{s}`: ")) && e.contains(says), "{s}: {e}");
        }
        assert!(err(&format!("0..={}", u64::MAX)).contains("ends at the last seed"));
    }

    #[test]
    fn a_set_prints_as_it_parses_back() {
        for s in ["0..1000", "3,17,42", "7..=7"] {
            let parsed = set(s);
            assert_eq!(set(&parsed.to_string()), parsed, "{s}");
        }
        let lone = SeedSet::List(vec![9]);
        assert_eq!(lone.to_string(), "9..=9", "a lone number would mean 0..9");
        let long = SeedSet::List((0..20).map(|i| i * 3).collect());
        assert_eq!(long.short(), "0,3,6,9,12,15,18,21,… (20 seeds)");
        assert_eq!(set("1..4").short(), "1..4");
    }

    #[test]
    fn a_random_spec_takes_count_seeds_from_the_drawn_start() {
        let spec = SeedSpec::parse("random:200").unwrap();
        assert!(spec.is_random());
        assert_eq!(spec.clone().choose(|| 5), SeedSet::Range(5..205));
        assert_eq!(spec.choose(|| u64::MAX), SeedSet::Range(RANDOM_STARTS - 1..RANDOM_STARTS + 199));
        assert_eq!(SeedSpec::parse("3..5").unwrap().choose(|| unreachable!()), SeedSet::Range(3..5));
        assert_ne!(os_draw(), os_draw(), "the OS gives fresh numbers");
    }

    #[test]
    fn an_environment_variable_is_validated_and_a_random_draw_is_told() {
        let env = |value: Option<&str>| from_env("KAFKASIM_SEEDS", value, SeedSet::Range(0..200), || 7);
        assert_eq!(env(None), Ok((SeedSet::Range(0..200), None)));
        assert_eq!(env(Some("2000")), Ok((SeedSet::Range(0..2000), None)));
        assert_eq!(env(Some("1000..2000")), Ok((SeedSet::Range(1000..2000), None)));
        let (seeds, note) = env(Some("random:200")).unwrap();
        assert_eq!(seeds, SeedSet::Range(7..207));
        assert_eq!(
            note.as_deref(),
            Some("KAFKASIM_SEEDS=random:200 drew seeds 7..207; sweep them again with KAFKASIM_SEEDS=7..207")
        );
        let e = env(Some("lots")).unwrap_err();
        assert!(e.starts_with("KAFKASIM_SEEDS=lots: seeds `lots`: `lots` is not a number of seeds"), "{e}");
    }

    #[test]
    fn json_keeps_a_range_as_start_and_end_and_a_list_as_an_array() {
        let range = SeedSet::Range(0..3);
        assert_eq!(serde_json::to_string(&range).unwrap(), r#"{"start":0,"end":3}"#);
        let list = SeedSet::List(vec![3, 17]);
        assert_eq!(serde_json::to_string(&list).unwrap(), "[3,17]");
        for s in [range, list] {
            let back: SeedSet = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
            assert_eq!(back, s);
        }
    }
}
