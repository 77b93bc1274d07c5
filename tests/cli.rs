//! The command line's contract: exit codes, the reproduce line, errors that name file and line.

mod common;

use common::{kafkasim, text};

use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_passing_run_exits_0_and_reports_every_checker() {
    let o = kafkasim(&["run", "scenarios/acks1-leader-crash.toml", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let text = stdout(&o);
    for checker in sim::scenario::CHECKER_NAMES {
        assert!(text.contains(checker), "report lacks {checker}:\n{text}");
    }
    assert!(text.contains("lost-write               expected  found"), "{text}");
    assert!(text.contains("history "), "{text}");
}

#[test]
fn a_failing_run_exits_1_and_prints_the_command_that_reproduces_it() {
    // The acks=1 scenario with the expectation turned around: a lost write must now never happen.
    let dir = std::env::temp_dir().join(format!("kafkasim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("acks1-never.toml");
    let source = std::fs::read_to_string("scenarios/acks1-leader-crash.toml")
        .unwrap()
        .replace("lost-write = \"expected\"", "lost-write = \"never\"");
    std::fs::write(&file, source).unwrap();
    let o = kafkasim(&["run", file.to_str().unwrap(), "--seed", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let expected = format!("reproduce: cargo run --release -- run {} --seed 4", file.display());
    assert!(stdout(&o).contains(&expected), "{}", stdout(&o));
}

#[test]
fn a_bad_scenario_exits_2_naming_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("kafkasim-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("typo.toml");
    std::fs::write(
        &file,
        "name = \"x\"\ndescription = \"y\"\n\n[[topics]]\nname = \"t\"\nreplication_factr = 3\n",
    )
    .unwrap();
    let o = kafkasim(&["run", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("typo.toml:6"), "{err}");
    assert!(err.contains("replication_factr"), "{err}");
}

#[test]
fn json_report_has_verdicts_and_hash() {
    let o = kafkasim(&["run", "scenarios/standard-acks-all.toml", "--seed", "2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["verdicts"].as_array().map(Vec::len), Some(sim::scenario::CHECKER_NAMES.len()));
    assert_eq!(v["history_hash"].as_str().map(str::len), Some(16));
    assert_eq!(v["passed"], serde_json::Value::Bool(o.status.code() == Some(0)));
}

#[test]
fn list_shows_every_scenario_with_its_description() {
    let o = kafkasim(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("scenarios/acks1-leader-crash.toml"), "{text}");
    assert!(text.contains("acknowledges a write as soon as it has appended it"), "{text}");
    assert!(!text.contains("does not load"), "{text}");
}

#[test]
fn bad_seed_range_is_bad_input() {
    let o = kafkasim(&["sweep", "scenarios/standard-acks-all.toml", "--seeds", "5..2"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn jobs_0_is_bad_input_in_every_command_that_takes_jobs() {
    let commands: [&[&str]; 3] = [
        &["sweep", "scenarios/standard-acks-all.toml", "--seeds", "0..2", "--jobs", "0"],
        &["shrink", "scenarios/acks1-leader-crash.toml", "--seed", "7", "--jobs", "0"],
        &["bench", "--seeds", "1", "--jobs", "0"],
    ];
    for args in commands {
        let o = kafkasim(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert!(err.contains("--jobs") && err.contains("expected at least 1"), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "nothing ran for {args:?}: {}", stdout(&o));
    }
    let o = kafkasim(&["bench", "--seeds", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("expected at least 1"), "{}", text(&o.stderr));
}

#[test]
fn the_reproduce_line_pastes_into_a_shell_whatever_the_path() {
    let dir = std::env::temp_dir()
        .join(format!("kafkasim-cli-quote-{}", std::process::id()))
        .join("it's a \"dir\" $HOME `x`");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("acks1 never.toml");
    let source = std::fs::read_to_string("scenarios/acks1-leader-crash.toml")
        .unwrap()
        .replace("lost-write = \"expected\"", "lost-write = \"never\"");
    std::fs::write(&file, source).unwrap();
    let o = kafkasim(&["run", file.to_str().unwrap(), "--seed", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let report = stdout(&o);
    let line = report.lines().find(|l| l.starts_with("reproduce: ")).expect("a reproduce line");
    let args = line.strip_prefix("reproduce: cargo run --release -- ").expect("the cargo command");
    // The line as a shell reads it, with the built binary standing for `cargo run --release --`.
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("\"$KAFKASIM\" {args}"))
        .env("KAFKASIM", env!("CARGO_BIN_EXE_kafkasim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sh runs");
    assert_eq!(shell.status.code(), Some(1), "{line}\n{}", text(&shell.stderr));
    assert_eq!(stdout(&shell), report, "the pasted line replays the run");
}
