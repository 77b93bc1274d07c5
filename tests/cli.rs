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

/// Runs kafkasim with its stdout read by something like `head -n keep`: `keep` lines are read,
/// then the pipe is closed. Returns the exit code and stderr.
fn through_head(args: &[&str], keep: usize) -> (Option<i32>, String) {
    use std::io::{BufRead, Read};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kafkasim runs");
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..keep {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "{args:?} printed fewer than {keep} lines");
    }
    drop(reader);
    // A command whose reader went away must stop: a sweep of 100,000 seeds as well.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{args:?} still running two minutes after its stdout closed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status.code(), err)
}

#[test]
fn a_closed_pipe_ends_a_command_quietly_with_the_code_of_what_was_done() {
    let never = never_variant("closed-pipe");
    let never = never.to_str().unwrap();
    let cases: [(&[&str], usize, i32); 6] = [
        (&["run", "scenarios/acks1-leader-crash.toml", "--seed", "1", "--trace"], 1, 0),
        (&["run", never, "--seed", "4", "--trace"], 1, 1),
        (&["run", never, "--seed", "4", "--dump-scenario"], 0, 0),
        (&["list"], 0, 0),
        (&["sweep", "scenarios/standard-acks-all.toml", "--seeds", "0..100000", "--json"], 1, 0),
        // The first summary is read; the second scenario's runs fail, and the exit code says so.
        (&["sweep", "scenarios/acks1-leader-crash.toml", never, "--seeds", "0..4"], 1, 1),
    ];
    for (args, keep, code) in cases {
        let (status, err) = through_head(args, keep);
        assert_eq!(status, Some(code), "{args:?}: {err}");
        // A sweep's progress lines may stand on stderr; nothing about the closed pipe does.
        for word in ["panicked", "Broken pipe", "failed printing", "error"] {
            assert!(!err.contains(word), "{args:?} says nothing when its reader goes away: {err}");
        }
    }
}

/// The acks=1 scenario with its expected lost writes turned into `never`: seed 4 fails.
fn never_variant(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kafkasim-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("acks1-never.toml");
    let source = std::fs::read_to_string("scenarios/acks1-leader-crash.toml")
        .unwrap()
        .replace("lost-write = \"expected\"", "lost-write = \"never\"")
        .replace("name = \"acks1-leader-crash\"", "name = \"acks1-never\"");
    std::fs::write(&file, source).unwrap();
    file
}

/// The run's history hash, from its report.
fn history_hash(report: &str) -> String {
    let at = report.find(", history ").expect("a history hash") + ", history ".len();
    report[at..at + 16].to_string()
}

#[test]
fn run_without_seed_takes_the_seed_the_file_records_and_says_so() {
    // A regression file records its seed in [regression].
    let regression = "tests/regressions/acks1-leader-crash-lost-write.toml";
    let recorded = sim::scenario::load(std::path::Path::new(regression)).unwrap().regression.unwrap().seed;
    let o = kafkasim(&["run", regression]);
    assert_eq!(text(&o.stderr), format!("seed {recorded} (from the file's [regression] seed)\n"));
    let given = kafkasim(&["run", regression, "--seed", &recorded.to_string()]);
    assert!(given.stderr.is_empty(), "a seed given is not announced: {}", text(&given.stderr));
    assert_eq!(stdout(&o), stdout(&given), "the same run");

    // --dump-scenario writes the seed it resolved for, and the file replays the run without --seed.
    let dumped = kafkasim(&["run", "scenarios/chaos-acks-all.toml", "--seed", "5", "--dump-scenario"]);
    assert_eq!(dumped.status.code(), Some(0));
    assert!(stdout(&dumped).contains("\nseed = 5\n"), "{}", stdout(&dumped));
    let dir = std::env::temp_dir().join(format!("kafkasim-cli-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("chaos-5.toml");
    std::fs::write(&file, &dumped.stdout).unwrap();
    let replay = kafkasim(&["run", file.to_str().unwrap()]);
    assert_eq!(text(&replay.stderr), "seed 5 (from the file's `seed`)\n");
    let original = kafkasim(&["run", "scenarios/chaos-acks-all.toml", "--seed", "5"]);
    assert!(stdout(&replay).starts_with("chaos-acks-all seed 5\n"), "{}", stdout(&replay));
    assert_eq!(history_hash(&stdout(&replay)), history_hash(&stdout(&original)));

    // A file that records none runs seed 0, and says that it was not chosen.
    let o = kafkasim(&["run", "scenarios/acks1-leader-crash.toml", "--json"]);
    assert_eq!(text(&o.stderr), "seed 0 (no --seed given, and the file records none)\n");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["seed"], 0);

    // Two different seeds in one file are refused, at the top-level key.
    let both = dir.join("both.toml");
    let source = std::fs::read_to_string(regression).unwrap();
    let source = source.replacen("duration_ms", &format!("seed = {}\nduration_ms", recorded + 1), 1);
    std::fs::write(&both, source).unwrap();
    let o = kafkasim(&["run", both.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("key `seed`: seed") && err.contains("differs from the [regression] seed"), "{err}");
}

/// `run --trace` as a user without RUST_LOG sees it, with `extra` arguments.
fn trace(scenario: &str, seed: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", scenario, "--seed", seed, "--trace"];
    args.extend_from_slice(extra);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .output()
        .expect("kafkasim runs");
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o.stderr));
    stdout(&o)
}

/// The index of the first line at or after `from` that contains every one of `parts`.
fn find(lines: &[&str], from: usize, parts: &[&str]) -> Option<usize> {
    (from..lines.len()).find(|&i| parts.iter().all(|p| lines[i].contains(p)))
}

/// After the partitioned leader of orders/2 is replaced (seed 0), the producer's next requests to
/// it are refused: the trace shows the error by its Kafka name, the retry with its backoff, the
/// metadata refresh that finds the new leader, and the batch resent to it.
#[test]
fn the_trace_follows_a_produce_error_through_retry_and_metadata_refresh() {
    let out = trace("scenarios/acks-all-leader-crashes.toml", "0", &[]);
    let lines: Vec<&str> = out.lines().collect();
    let error = find(&lines, 0, &["producer-1", "[producer] produce error", "error=NOT_LEADER_OR_FOLLOWER"])
        .expect(&out);
    let retry = find(&lines, error, &["producer-1", "[producer] retry", "backoff_ms=", "error=NOT_LEADER"]);
    let retry = retry.expect("a retry after the error");
    let refresh = find(&lines, retry, &["producer-1", "[metadata_client] metadata refreshed broker="]);
    let refresh = refresh.expect("a metadata refresh after the retry");
    assert!(find(&lines, error, &["producer-1", "[metadata_client] metadata request node=broker-"]).is_some());
    let resent = find(&lines, refresh, &["producer-1", "[producer] produce request broker=", "tp=orders/2"]);
    assert!(resent.is_some(), "the batch is resent after the refresh");
    // Client lines carry the simulated time and node, in the format of the history's lines.
    assert!(lines[error].starts_with("   19.072s producer-1    [producer]"), "{}", lines[error]);
    // A crashed leader shows as a lost connection, its request retried, and metadata asked for.
    let out = trace("scenarios/acks1-leader-crash.toml", "1", &[]);
    let lines: Vec<&str> = out.lines().collect();
    let crash = find(&lines, 0, &["FAULT crash broker-1"]).expect(&out);
    let lost = find(&lines, crash, &["[producer] connection lost with requests in flight broker=broker-1"]);
    let retry =
        find(&lines, lost.expect("a lost connection"), &["[producer] retry", "error=connection lost"]);
    assert!(find(&lines, retry.expect("a retry"), &["producer-1", "[metadata_client] metadata request"])
        .is_some());
}

#[test]
fn two_runs_of_a_seed_print_the_same_trace_byte_for_byte() {
    for log in ["info", "debug"] {
        let a = trace("scenarios/acks-all-leader-crashes.toml", "3", &["--log", log]);
        let b = trace("scenarios/acks-all-leader-crashes.toml", "3", &["--log", log]);
        assert!(a.contains("[producer] produce request"), "{a}");
        assert!(a == b, "two runs of seed 3 with --log {log} printed different traces");
    }
}

#[test]
fn log_filters_the_client_lines_by_target_and_level_and_never_the_history() {
    let scenario = "scenarios/acks1-leader-crash.toml";
    let default = trace(scenario, "1", &[]);
    let history_lines =
        |t: &str| t.lines().filter(|l| !l.contains(" [")).map(str::to_string).collect::<Vec<_>>();
    assert!(default.contains("[producer] produce request") && default.contains("[metadata_client]"));
    assert!(!default.contains("produce request detail"), "debug lines are off by default");
    let debug = trace(scenario, "1", &["--log", "debug"]);
    assert!(
        debug.contains("[producer] produce request detail correlation="),
        "debug adds per-request detail"
    );
    assert!(debug.contains("[consumer] fetch request"));
    let no_producer = trace(scenario, "1", &["--log", "info,broker::producer=off"]);
    assert!(!no_producer.contains("[producer]") && no_producer.contains("[metadata_client]"));
    let none = trace(scenario, "1", &["--log", "warn"]);
    assert!(!none.contains(" [producer]") && !none.contains(" [metadata_client]"));
    // The history's own lines and the report are the same whatever the filter.
    for t in [&debug, &no_producer, &none] {
        assert_eq!(history_lines(t), history_lines(&default));
        assert_eq!(history_hash(t), history_hash(&default));
    }
}

#[test]
fn log_without_trace_or_with_a_bad_filter_is_bad_input() {
    let o = kafkasim(&["run", "scenarios/acks1-leader-crash.toml", "--log", "debug"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = kafkasim(&["run", "scenarios/acks1-leader-crash.toml", "--trace", "--log", "broker=loud"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("bad log filter"), "{}", text(&o.stderr));
}
