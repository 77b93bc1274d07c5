//! Scenario files that must load: the project's `scenarios/*.toml`, the valid fixtures, and the
//! examples in `scenarios/README.md`. Each also round-trips: printed with `toml::to_string`
//! (how a run prints its fully resolved scenario) it parses back to the same value.

use broker::types::Acks;
use sim::scenario::{self, Expectation, FaultKind, Scenario, Target};
use std::path::{Path, PathBuf};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn assert_round_trips(scenario: &Scenario, what: &str) {
    let printed = toml::to_string(scenario).unwrap_or_else(|e| panic!("{what}: cannot print: {e}"));
    let back = scenario::parse(&printed, what)
        .unwrap_or_else(|e| panic!("{what}: printed scenario does not parse: {e}\n{printed}"));
    assert_eq!(&back, scenario, "{what}: printed scenario parses to another value:\n{printed}");
}

#[test]
fn every_project_scenario_loads_and_round_trips() {
    for path in toml_files(&crate_dir().join("../scenarios")) {
        let scenario = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_round_trips(&scenario, &path.display().to_string());
    }
}

#[test]
fn valid_fixtures_load_and_round_trip() {
    for name in ["minimal.toml", "every-key.toml"] {
        let path = crate_dir().join("tests/fixtures").join(name);
        let scenario = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_round_trips(&scenario, name);
    }
}

#[test]
fn readme_examples_parse_and_round_trip() {
    let readme = std::fs::read_to_string(crate_dir().join("../scenarios/README.md"))
        .expect("scenarios/README.md exists");
    let examples = complete_examples(&readme);
    assert!(!examples.is_empty(), "the README has at least one complete ```toml example");
    for (i, example) in examples.iter().enumerate() {
        let scenario = scenario::parse(example, &format!("README example {i}"))
            .unwrap_or_else(|e| panic!("{e}\n{example}"));
        assert_round_trips(&scenario, "README example");
    }
}

/// The ```toml blocks that are whole scenarios (they set `name`), not fragments.
fn complete_examples(markdown: &str) -> Vec<String> {
    let mut examples = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                if block.lines().any(|l| l.starts_with("name = ")) {
                    examples.push(block.clone());
                }
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    examples
}

#[test]
fn minimal_scenario_takes_the_documented_defaults() {
    let s = scenario::load(&crate_dir().join("tests/fixtures/minimal.toml")).unwrap();
    assert_eq!(s.duration_ms, 60_000);
    assert_eq!(s.liveness_timeout_ms, 60_000);
    assert_eq!(s.cluster.brokers, 3);
    assert_eq!(s.topics[0].partitions, 1);
    assert_eq!(s.topics[0].replication_factor, 3);
    assert_eq!(s.topics[0].min_insync_replicas, None);
    assert!(s.producers.is_empty());
    assert_eq!(s.consumers.len(), 1, "one default consumer");
    assert!(s.consumers[0].topics.is_empty(), "reading every topic");
    assert!(s.faults.is_empty());
    assert!(s.nemesis.is_none());
    assert!(s.expect.listed().is_empty());
}

#[test]
fn every_key_fixture_reads_as_written() {
    let s = scenario::load(&crate_dir().join("tests/fixtures/every-key.toml")).unwrap();
    assert_eq!(s.cluster.brokers, 5);
    assert_eq!(s.producers[0].acks.0, Acks::All);
    assert_eq!(s.producers[1].acks.0, Acks::None);
    assert_eq!(s.producers[2].acks.0, Acks::Leader);
    assert_eq!(s.producers[0].messages_per_sec, 25.5);
    let p = &s.producers[0];
    assert_eq!((p.retry_backoff_ms, p.retry_backoff_max_ms), (50, 2_000));
    assert_eq!((p.reconnect_backoff_ms, p.reconnect_backoff_max_ms), (20, 500));
    assert_eq!(
        (p.socket_connection_setup_timeout_ms, p.socket_connection_setup_timeout_max_ms),
        (5_000, 15_000)
    );
    assert_eq!(p.max_stall_ms, Some(45_000));
    assert_eq!(s.consumers[0].max_stall_ms, Some(30_000));
    // Kafka's defaults where the file is silent.
    let q = &s.producers[1];
    assert_eq!(q.max_stall_ms, None, "unbounded");
    assert_eq!(s.consumers[1].max_stall_ms, None);
    assert_eq!((q.retry_backoff_ms, q.retry_backoff_max_ms), (100, 1_000));
    assert_eq!((q.reconnect_backoff_ms, q.reconnect_backoff_max_ms), (50, 1_000));
    assert_eq!(
        (q.socket_connection_setup_timeout_ms, q.socket_connection_setup_timeout_max_ms),
        (10_000, 30_000)
    );
    assert_eq!(s.faults.len(), 10);
    assert_eq!(s.faults[1].fault, FaultKind::Partition);
    assert_eq!(s.faults[1].groups.as_ref().unwrap()[1], ["broker-3", "controller", "checkout"]);
    let crash = s.faults[3].target.as_ref().unwrap().parsed();
    assert_eq!(crash[0], Target::Node("broker-4".into()));
    assert_eq!(crash[1].to_string(), "follower(orders/1)");
    let nemesis = s.nemesis.as_ref().unwrap();
    assert_eq!(nemesis.faults.len(), 6);
    assert_eq!(s.expect.get("lost-write"), Some(Expectation::Expected));
    assert_eq!(s.expect.listed().len(), scenario::CHECKER_NAMES.len());
    let regression = s.regression.as_ref().unwrap();
    assert_eq!((regression.seed, regression.checker.as_str()), (7, "lost-write"));
    assert_eq!(regression.label, scenario::RegressionLabel::Allowed);
}

#[test]
fn load_names_the_file_in_errors() {
    let path = crate_dir().join("tests/fixtures/typo.toml");
    let err = scenario::load(&path).unwrap_err();
    assert_eq!(err.file, path.display().to_string());
    assert_eq!(err.line, Some(6));
    assert_eq!(err.key.as_deref(), Some("topics[0].replication_factr"));
    assert!(err
        .to_string()
        .starts_with(&format!("{}:6: key `topics[0].replication_factr`: ", path.display())));
    assert!(err.message.contains("expected one of `name`, `partitions`, `replication_factor`"), "{err}");
}

#[test]
fn load_reports_an_unreadable_file() {
    let err = scenario::load(Path::new("no/such/scenario.toml")).unwrap_err();
    assert_eq!(err.file, "no/such/scenario.toml");
    assert_eq!(err.line, None);
    assert!(err.message.contains("cannot read the scenario file"), "{err}");
}
