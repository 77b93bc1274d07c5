//! Scenario files: what `scenarios/*.toml` say, and how they are read.
//!
//! - `model`: the file as data (serde types, every default).
//! - `target`: the grammar of fault targets (`broker-1`, `leader(orders/0)`, `random-broker`, …).
//! - `validate`: every check serde cannot make; a scenario that passes runs without further checks.
//! - `spans`: key paths and their lines, for locating errors.
//! - `error`: `ScenarioError`, naming the file, the line, the key and what was expected.
//!
//! `load` and `parse` are the entry points; both return fully validated scenarios.

mod error;
mod fields;
pub mod model;
mod spans;
mod target;
mod validate;

pub use error::ScenarioError;
pub use model::*;
pub use target::Target;
pub use validate::NEMESIS_KINDS;

use std::path::Path;

/// Reads, parses and validates a scenario file. Errors name the file as given.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file_name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| ScenarioError::unreadable(&file_name, &e))?;
    parse(&source, &file_name)
}

/// Parses and validates scenario text; `file_name` is only used in errors.
pub fn parse(source: &str, file_name: &str) -> Result<Scenario, ScenarioError> {
    let table: toml::Table =
        toml::from_str(source).map_err(|e| ScenarioError::from_toml(file_name, source, &e))?;
    validate::shapes(&table).map_err(|p| ScenarioError::at_path(file_name, source, &p.path, p.message))?;
    let scenario: Scenario =
        toml::from_str(source).map_err(|e| ScenarioError::from_toml(file_name, source, &e))?;
    validate::validate(&scenario)
        .map_err(|p| ScenarioError::at_path(file_name, source, &p.path, p.message))?;
    Ok(scenario)
}

impl Targets {
    /// The parsed targets. Only for validated scenarios, whose targets are known to parse.
    pub fn parsed(&self) -> Vec<Target> {
        self.as_slice()
            .iter()
            .map(|t| Target::parse(t).expect("targets of a validated scenario parse"))
            .collect()
    }
}

impl FaultKind {
    /// The kind as scenario files spell it: `power-loss`.
    pub fn name(self) -> &'static str {
        validate::kind_name(self)
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every checker, by the name scenario files and reports use.
pub const CHECKER_NAMES: [&str; 10] = [
    "lost-write",
    "duplicate",
    "inconsistent-offsets",
    "nonmonotonic-send",
    "replica-divergence",
    "monotonic-hw",
    "single-leader-per-epoch",
    "monotonic-epoch",
    "liveness",
    "progress",
];

impl serde::Serialize for AcksSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            broker::types::Acks::None => s.serialize_i64(0),
            broker::types::Acks::Leader => s.serialize_i64(1),
            broker::types::Acks::All => s.serialize_str("all"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for AcksSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AcksVisitor)
    }
}

struct AcksVisitor;

fn invalid_acks<E: serde::de::Error>(shown: &str) -> E {
    E::custom(format!("invalid acks {shown}; expected 0, 1 or \"all\""))
}

impl serde::de::Visitor<'_> for AcksVisitor {
    type Value = AcksSpec;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("0, 1 or \"all\"")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<AcksSpec, E> {
        use broker::types::Acks;
        match v {
            0 => Ok(AcksSpec(Acks::None)),
            1 => Ok(AcksSpec(Acks::Leader)),
            -1 => Ok(AcksSpec(Acks::All)),
            _ => Err(invalid_acks(&v.to_string())),
        }
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AcksSpec, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => Err(invalid_acks(&v.to_string())),
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AcksSpec, E> {
        use broker::types::Acks;
        match v {
            "0" => Ok(AcksSpec(Acks::None)),
            "1" => Ok(AcksSpec(Acks::Leader)),
            "all" | "-1" => Ok(AcksSpec(Acks::All)),
            _ => Err(invalid_acks(&format!("{v:?}"))),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Targets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TargetsVisitor)
    }
}

struct TargetsVisitor;

impl<'de> serde::de::Visitor<'de> for TargetsVisitor {
    type Value = Targets;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a target such as \"broker-1\" or \"leader(orders/0)\", or an array of them")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Targets, E> {
        Ok(Targets::One(v.to_string()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Targets, A::Error> {
        let mut targets = Vec::new();
        while let Some(t) = seq.next_element::<String>()? {
            targets.push(t);
        }
        Ok(Targets::Many(targets))
    }
}

#[cfg(test)]
mod tests {
    use super::fields::fields;
    use super::*;

    /// scenarios/README.md documents every key the model accepts, every checker and every fault
    /// kind; a key added to the model without documentation fails here.
    #[test]
    fn readme_documents_every_key() {
        let readme = include_str!("../../../scenarios/README.md");
        let sections = [
            ("top level", fields::<Scenario>()),
            ("[cluster]", fields::<ClusterSpec>()),
            ("[broker]", fields::<BrokerSpec>()),
            ("[controller]", fields::<ControllerSpec>()),
            ("[network]", fields::<NetworkSpec>()),
            ("[[topics]]", fields::<TopicSpec>()),
            ("[[producers]]", fields::<ProducerSpec>()),
            ("[[consumers]]", fields::<ConsumerSpec>()),
            ("[[faults]]", fields::<FaultSpec>()),
            ("[nemesis]", fields::<NemesisSpec>()),
            ("[expect]", fields::<Expectations>()),
            ("[regression]", fields::<RegressionSpec>()),
        ];
        for (section, keys) in sections {
            assert!(!keys.is_empty(), "{section} has keys");
            for key in keys {
                let documented = [format!("| `{key}` |"), format!("## `[{key}]`"), format!("## `[[{key}]]`")];
                assert!(
                    documented.iter().any(|d| readme.contains(d)),
                    "scenarios/README.md has no table row or section for `{key}` of {section}"
                );
            }
        }
        for checker in CHECKER_NAMES {
            assert!(readme.contains(&format!("| `{checker}` |")), "no row for checker {checker}");
        }
        for kind in [
            FaultKind::Partition,
            FaultKind::Heal,
            FaultKind::Crash,
            FaultKind::Restart,
            FaultKind::PowerLoss,
            FaultKind::Pause,
            FaultKind::Resume,
            FaultKind::PacketLoss,
            FaultKind::Latency,
        ] {
            assert!(readme.contains(&format!("| `{kind}` |")), "no row for fault kind {kind}");
        }
    }

    #[test]
    fn every_checker_has_an_expect_key() {
        assert_eq!(fields::<Expectations>(), CHECKER_NAMES);
    }
}
