//! Judging a run against its scenario's expectations.
//!
//! | modality | a run fails when | in a sweep |
//! |---|---|---|
//! | `never` | the checker reports anything | any run fails the sweep |
//! | `observe` | never | counted |
//! | `expected` | the checker reports nothing | the sweep fails if no seed shows it |
//! | unlisted (`promised`) | a violation is labelled bug | any such run fails the sweep |

use crate::check::Violation;
use crate::scenario::{Expectation, Scenario};
use serde::{Deserialize, Serialize};

/// What the scenario asks of one checker; `Promised` when it says nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Modality {
    Never,
    Observe,
    Expected,
    /// The configuration's own promises: bugs fail, allowed violations are counted.
    Promised,
}

impl Modality {
    pub fn of(scenario: &Scenario, checker: &str) -> Modality {
        match scenario.expect.get(checker) {
            Some(Expectation::Never) => Modality::Never,
            Some(Expectation::Observe) => Modality::Observe,
            Some(Expectation::Expected) => Modality::Expected,
            None => Modality::Promised,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Modality::Never => "never",
            Modality::Observe => "observe",
            Modality::Expected => "expected",
            Modality::Promised => "-",
        }
    }
}

/// How one checker came out in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing reported, nothing expected.
    Quiet,
    /// Nothing reported because there was nothing to examine (no record read, no leader
    /// elected): silence that proves nothing.
    NothingToCheck,
    /// Reported, and the scenario tolerates it.
    Observed,
    /// Reported, as the scenario expects.
    Found,
    /// Expected, not reported in this run.
    Missing,
    /// Reported where the scenario (or the configuration's promise) says it must not be.
    Failed,
}

impl Outcome {
    /// `nothing_to_check`: the checker had nothing to examine (its violations are then empty).
    pub fn judge(modality: Modality, violations: &[Violation], nothing_to_check: bool) -> Outcome {
        let any = !violations.is_empty();
        let bug = violations.iter().any(|v| v.label.is_bug());
        match modality {
            Modality::Never if any => Outcome::Failed,
            Modality::Observe if any => Outcome::Observed,
            Modality::Expected if any => Outcome::Found,
            Modality::Expected => Outcome::Missing,
            Modality::Promised if bug => Outcome::Failed,
            Modality::Promised if any => Outcome::Observed,
            _ if nothing_to_check => Outcome::NothingToCheck,
            _ => Outcome::Quiet,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Quiet => "ok",
            Outcome::NothingToCheck => "nothing",
            Outcome::Observed => "observed",
            Outcome::Found => "found",
            Outcome::Missing => "MISSING",
            Outcome::Failed => "FAILED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checker_with_nothing_to_check_is_never_ok_and_never_shows_an_expected_anomaly() {
        for modality in [Modality::Never, Modality::Observe, Modality::Promised] {
            assert_eq!(Outcome::judge(modality, &[], true), Outcome::NothingToCheck, "{modality:?}");
            assert_eq!(Outcome::judge(modality, &[], false), Outcome::Quiet, "{modality:?}");
        }
        assert_eq!(Outcome::judge(Modality::Expected, &[], true), Outcome::Missing);
        assert_eq!(Outcome::NothingToCheck.name(), "nothing");
    }
}
