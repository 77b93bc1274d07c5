//! Scenario files: the model (`model`), loading with located errors, and validation.

pub mod model;
mod target;

pub use target::Target;

pub use model::*;

/// Every checker, by the name scenario files and reports use.
pub const CHECKER_NAMES: [&str; 9] = [
    "lost-write",
    "duplicate",
    "inconsistent-offsets",
    "nonmonotonic-send",
    "replica-divergence",
    "monotonic-hw",
    "single-leader-per-epoch",
    "monotonic-epoch",
    "liveness",
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
        use broker::types::Acks;
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        let acks = match Raw::deserialize(d)? {
            Raw::Int(0) => Acks::None,
            Raw::Int(1) => Acks::Leader,
            Raw::Int(-1) => Acks::All,
            Raw::Str(s) if s == "0" => Acks::None,
            Raw::Str(s) if s == "1" => Acks::Leader,
            Raw::Str(s) if s == "all" || s == "-1" => Acks::All,
            other => {
                let shown = match other {
                    Raw::Int(i) => i.to_string(),
                    Raw::Str(s) => format!("\"{s}\""),
                };
                return Err(serde::de::Error::custom(format!(
                    "invalid acks {shown}, expected 0, 1 or \"all\""
                )));
            }
        };
        Ok(AcksSpec(acks))
    }
}
