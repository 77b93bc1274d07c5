//! The sweep and merge commands' contract: `--json` line shapes, `--shard` partitioning, merging
//! shards back into the unsharded summary, `--stop-on-first`, `--check-determinism`, and bad
//! input. Seed ranges are small: these test the command line, not the broker.

mod common;

use common::kafkasim;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The run lines' reports and the summary lines' summaries.
fn split(lines: &[Value]) -> (Vec<&Value>, Vec<&Value>) {
    let runs = lines.iter().filter_map(|l| l.get("run")).collect();
    let summaries = lines.iter().filter_map(|l| l.get("summary")).collect();
    (runs, summaries)
}

fn seeds(runs: &[&Value]) -> Vec<u64> {
    runs.iter().map(|r| r["seed"].as_u64().expect("a seed")).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kafkasim-sweep-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A shipped scenario with its `expected` lost writes turned into `never`, renamed, so that the
/// seeds showing the anomaly fail.
fn never_variant(file: &str, dir: &std::path::Path) -> String {
    let source = std::fs::read_to_string(format!("scenarios/{file}.toml")).unwrap();
    assert!(source.contains("lost-write = \"expected\""), "{file} expects lost writes");
    let source = source.replace("lost-write = \"expected\"", "lost-write = \"never\"").replacen(
        &format!("name = \"{file}\""),
        &format!("name = \"{file}-never\""),
        1,
    );
    let path = dir.join(format!("{file}-never.toml"));
    std::fs::write(&path, source).unwrap();
    path.display().to_string()
}

/// A summary without what depends on how the sweep was run: its timing and its shard.
fn counts_of(summary: &Value) -> Value {
    let mut s = summary.clone();
    for key in ["elapsed_s", "seeds_per_s", "shard", "merged_shards"] {
        s.as_object_mut().unwrap().remove(key);
    }
    s
}

#[test]
fn json_lines_are_runs_tagged_run_then_a_summary_tagged_summary() {
    let o = kafkasim(&["sweep", "scenarios/standard-acks-all.toml", "--seeds", "0..3", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = lines(&o);
    assert_eq!(lines.len(), 4);
    for line in &lines {
        let keys: Vec<&String> = line.as_object().expect("an object").keys().collect();
        assert!(keys == ["run"] || keys == ["summary"], "one tag per line: {keys:?}");
    }
    let (runs, summaries) = split(&lines);
    assert_eq!(seeds(&runs), [0, 1, 2], "run lines in seed order");
    for run in &runs {
        assert_eq!(run["history_hash"].as_str().map(str::len), Some(16));
        assert!(run["verdicts"].is_array() && run["reproduce"].is_string());
    }
    assert!(lines[3].get("summary").is_some(), "the summary comes last");
    let summary = summaries[0];
    assert_eq!(summary["scenario"], "standard-acks-all");
    assert_eq!(summary["runs"], 3);
    assert_eq!(summary["passed"], 3);
    assert_eq!(summary["seeds"], serde_json::json!({"start": 0, "end": 3}));
    assert_eq!(summary["shard"], Value::Null);
    assert!(summary["seeds_per_s"].as_f64().is_some_and(|r| r > 0.0));
    assert!(summary["checkers"]["lost-write"]["runs_with_bug"].is_u64());
    // stderr is not a terminal here: no bar, one plain line at the end of the scenario's sweep.
    let err = stderr(&o);
    assert!(err.starts_with("standard-acks-all: swept 3 of 3 seeds, 0 failing, "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains(['\r', '\x1b']), "no bar's redrawing: {err:?}");
}

#[test]
fn the_human_summary_splits_violations_and_lists_failing_seeds_with_their_command() {
    let dir = temp_dir("human");
    let never = never_variant("acks1-leader-crash", &dir);
    let o = kafkasim(&["sweep", "scenarios/acks1-leader-crash.toml", &never, "--seeds", "0..2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    for part in ["2 runs, 2 passed, 0 crashed, 0 timed out", "seeds/s", "runs with bug", "runs with allowed"]
    {
        assert!(text.contains(part), "{part}:\n{text}");
    }
    let reproduce = format!("seed 0 failed lost-write: cargo run --release -- run {never} --seed 0");
    assert!(text.contains(&reproduce), "{text}");
    assert!(text.contains("2 scenarios: 1 passed, 1 failed"), "{text}");
    // Progress on stderr, which is not a terminal here: plain lines, failing seeds as they come.
    let err = stderr(&o);
    let progress: Vec<&str> = err.lines().collect();
    assert_eq!(progress.len(), 4, "{err}");
    assert!(progress[0].starts_with("acks1-leader-crash: swept 2 of 2 seeds, 0 failing, "), "{err}");
    for (line, seed) in [(progress[1], 0), (progress[2], 1)] {
        let failed = format!(
            "  acks1-leader-crash-never seed {seed} failed: cargo run --release -- run {never} --seed {seed}"
        );
        assert_eq!(line, failed, "{err}");
    }
    assert!(progress[3].starts_with("acks1-leader-crash-never: swept 2 of 2 seeds, 2 failing, "), "{err}");
}

#[test]
fn shards_are_disjoint_and_cover_the_range() {
    let range = 3..11u64;
    let mut all = Vec::new();
    for k in 0..3u64 {
        let shard = format!("{k}/3");
        let o = kafkasim(&[
            "sweep",
            "scenarios/acks1-leader-crash.toml",
            "--seeds",
            "3..11",
            "--shard",
            &shard,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let lines = lines(&o);
        let (runs, summaries) = split(&lines);
        let mine = seeds(&runs);
        assert!(mine.iter().all(|s| s % 3 == k), "shard {shard} (counting from 0) ran {mine:?}");
        assert_eq!(summaries[0]["shard"], serde_json::json!({"index": k, "count": 3}));
        assert_eq!(summaries[0]["runs"], mine.len());
        all.extend(mine);
    }
    all.sort();
    assert_eq!(all, range.collect::<Vec<_>>(), "the shards together are the range, each seed once");
}

#[test]
fn merging_two_shards_gives_the_unsharded_summary() {
    let dir = temp_dir("merge");
    let never = never_variant("acks1-leader-crash", &dir);
    let scenarios = ["scenarios/acks1-leader-crash.toml", never.as_str()];
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep"];
        args.extend(scenarios);
        args.extend(["--seeds", "0..6", "--json"]);
        args.extend(extra);
        kafkasim(&args)
    };
    let whole = sweep(&[]);
    let mut files = Vec::new();
    for shard in ["0/2", "1/2"] {
        let o = sweep(&["--shard", shard]);
        let file = dir.join(format!("shard-{}.jsonl", &shard[..1]));
        std::fs::write(&file, &o.stdout).unwrap();
        files.push(file.display().to_string());
    }
    let merged = kafkasim(&["merge", &files[0], &files[1], "--json"]);
    assert_eq!(merged.status.code(), whole.status.code(), "merge exits as the whole sweep does");
    assert_eq!(merged.status.code(), Some(1), "the never variant fails");
    let whole_lines = lines(&whole);
    let merged_lines = lines(&merged);
    let (_, expected) = split(&whole_lines);
    let (runs, got) = split(&merged_lines);
    assert!(runs.is_empty(), "merge prints summaries only");
    assert_eq!(got.len(), 2);
    for (got, expected) in got.iter().zip(&expected) {
        assert_eq!(counts_of(got), counts_of(expected), "merged vs unsharded {}", expected["scenario"]);
        assert_eq!(got["seeds_per_s"], Value::Null, "a merge knows no rate");
        assert_eq!(got["merged_shards"].as_array().map(Vec::len), Some(2));
    }
    assert_eq!(got[1]["failures"][0]["seed"], 0);

    let text = stdout(&kafkasim(&["merge", &files[0], &files[1]]));
    assert!(text.contains("merged from shards 0/2, 1/2: 6 runs"), "{text}");
    assert!(!text.contains("seeds/s"), "{text}");
}

#[test]
fn merge_refuses_a_missing_or_repeated_shard() {
    let dir = temp_dir("merge-bad");
    let o = kafkasim(&[
        "sweep",
        "scenarios/acks1-leader-crash.toml",
        "--seeds",
        "0..2",
        "--shard",
        "0/2",
        "--json",
    ]);
    let file = dir.join("shard-0.jsonl");
    std::fs::write(&file, &o.stdout).unwrap();
    let file = file.display().to_string();
    let missing = kafkasim(&["merge", &file]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("shard 1/2 of seeds 0..2 missing"), "{}", stderr(&missing));
    let twice = kafkasim(&["merge", &file, &file]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(stderr(&twice).contains("appears twice"), "{}", stderr(&twice));
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, stdout(&o).lines().next().unwrap()).unwrap();
    let cut = kafkasim(&["merge", cut.to_str().unwrap()]);
    assert_eq!(cut.status.code(), Some(2));
    assert!(stderr(&cut).contains("without a summary line"), "{}", stderr(&cut));
}

#[test]
fn stop_on_first_reports_the_lowest_failing_seed_whatever_the_jobs() {
    let dir = temp_dir("stop");
    let never = never_variant("hw-truncation-fast-failover", &dir);
    // Seed 14 passed and 15 failed when this was written: the stop lands after a passing run.
    let range = "14..24";
    // The whole range, to know which seed fails first.
    let full = kafkasim(&["sweep", &never, "--seeds", range, "--json"]);
    let full_lines = lines(&full);
    let (runs, _) = split(&full_lines);
    let first_failure = runs
        .iter()
        .find(|r| r["verdicts"].as_array().unwrap().iter().any(|v| v["outcome"] == "failed"))
        .map(|r| r["seed"].as_u64().unwrap())
        .expect("some seed loses a write under hw truncation");

    let mut summaries = Vec::new();
    for jobs in ["1", "2", "3"] {
        let o = kafkasim(&["sweep", &never, "--seeds", range, "--stop-on-first", "--jobs", jobs, "--json"]);
        assert_eq!(o.status.code(), Some(1));
        let lines = lines(&o);
        let (runs, summary) = split(&lines);
        assert_eq!(seeds(&runs), (14..=first_failure).collect::<Vec<_>>(), "--jobs {jobs}");
        assert_eq!(summary[0]["stopped_at"], first_failure, "--jobs {jobs}");
        summaries.push(counts_of(summary[0]));
    }
    assert!(summaries.windows(2).all(|w| w[0] == w[1]), "the same report on 1, 2 and 3 jobs");

    let text = stdout(&kafkasim(&["sweep", &never, "--seeds", range, "--stop-on-first"]));
    let expected = format!("stopped early (--stop-on-first) at seed {first_failure}");
    assert!(text.contains(&expected), "{text}");
    let reproduce = format!("seed {first_failure} failed lost-write: cargo run --release -- run {never}");
    assert!(text.contains(&reproduce), "{text}");
}

#[test]
fn check_determinism_runs_each_seed_twice_and_passes_on_a_deterministic_scenario() {
    let args = ["sweep", "scenarios/acks0-packet-loss.toml", "--seeds", "0..3", "--check-determinism"];
    let o = kafkasim(&[&args[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let lines = lines(&o);
    let (runs, summary) = split(&lines);
    assert_eq!(runs.len(), 3);
    assert!(lines.iter().all(|l| l.get("nondeterminism").is_none()));
    assert_eq!(summary[0]["check_determinism"], true);
    assert_eq!(summary[0]["nondeterministic"], 0);
    let text = stdout(&kafkasim(&args));
    assert!(text.contains("0 nondeterministic"), "{text}");
}

#[test]
fn a_bad_shard_is_bad_input() {
    for (shard, says) in [
        ("2/2", "K must be less than N"),
        ("5/3", "K counts from 0"),
        ("1/0", "N must be at least 1"),
        ("1", "expected K/N"),
        ("a/2", "not a number"),
    ] {
        let o = kafkasim(&["sweep", "scenarios/standard-acks-all.toml", "--seeds", "0..4", "--shard", shard]);
        assert_eq!(o.status.code(), Some(2), "--shard {shard}");
        assert!(stderr(&o).contains(says), "--shard {shard}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "nothing ran for --shard {shard}");
    }
}

#[test]
fn merge_refuses_an_empty_or_truncated_file_naming_it() {
    let dir = temp_dir("merge-cut");
    let shard = |k: &str| {
        let o = kafkasim(&[
            "sweep",
            "scenarios/acks1-leader-crash.toml",
            "scenarios/acks0-packet-loss.toml",
            "--seeds",
            "0..2",
            "--shard",
            k,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    let (first, second) = (shard("0/2"), shard("1/2"));
    let write = |name: &str, text: &str| {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        file.display().to_string()
    };
    let whole = write("1.jsonl", &second);
    let merge = |file: &str| {
        let o = kafkasim(&["merge", file, &whole]);
        assert_eq!(o.status.code(), Some(2), "merge {file}: {}", stdout(&o));
        assert!(stdout(&o).is_empty(), "nothing merged: {}", stdout(&o));
        stderr(&o)
    };

    for (name, text) in [("empty.jsonl", ""), ("blank.jsonl", "\n\n")] {
        let file = write(name, text);
        let err = merge(&file);
        assert!(
            err.contains(&format!("{file}: empty; expected the output of `kafkasim sweep --json`")),
            "{err}"
        );
    }

    // Cut in the middle of its last line, as a full disk or a killed copy leaves it.
    let cut = write("cut.jsonl", &first[..first.len() - 20]);
    let err = merge(&cut);
    let last = first.lines().count();
    assert!(err.contains(&format!("{cut}:{last}: the line is cut short")), "{err}");

    // Cut between scenarios: the first one's lines whole, the second's missing.
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines.len(), 4, "a run and a summary per scenario: {first}");
    let between = write("between.jsonl", &format!("{}\n{}\n", lines[0], lines[1]));
    let err = merge(&between);
    assert!(
        err.contains("shard 0/2 of seeds 0..2 missing")
            && err.contains(&format!("{between} holds shard 0/2 of other scenarios but not of this one")),
        "{err}"
    );
}

#[test]
fn seeds_take_a_range_an_inclusive_range_a_count_or_a_list() {
    let sweep = |given: &str| {
        let o = kafkasim(&["sweep", "scenarios/acks1-leader-crash.toml", "--seeds", given, "--json"]);
        assert_eq!(o.status.code(), Some(0), "--seeds {given}: {}", stderr(&o));
        let lines = lines(&o);
        let (runs, summaries) = split(&lines);
        (seeds(&runs), summaries[0]["seeds"].clone())
    };
    assert_eq!(sweep("2..4"), (vec![2, 3], serde_json::json!({"start": 2, "end": 4})));
    assert_eq!(sweep("2..=4"), (vec![2, 3, 4], serde_json::json!({"start": 2, "end": 5})));
    assert_eq!(sweep("3"), (vec![0, 1, 2], serde_json::json!({"start": 0, "end": 3})), "N is 0..N");
    assert_eq!(sweep("17,3"), (vec![3, 17], serde_json::json!([3, 17])), "a list, in seed order");

    let o = kafkasim(&["sweep", "scenarios/acks1-leader-crash.toml", "--seeds", "17,3"]);
    assert!(stdout(&o).contains("seeds 3,17: 2 runs"), "{}", stdout(&o));
}

#[test]
fn a_list_of_seeds_shards_and_merges_like_a_range() {
    let dir = temp_dir("merge-list");
    let mut files = Vec::new();
    for shard in ["0/2", "1/2"] {
        let o = kafkasim(&[
            "sweep",
            "scenarios/acks1-leader-crash.toml",
            "--seeds",
            "3,4,17",
            "--shard",
            shard,
            "--json",
        ]);
        let file = dir.join(format!("shard-{}.jsonl", &shard[..1]));
        std::fs::write(&file, &o.stdout).unwrap();
        files.push(file.display().to_string());
    }
    let merged = kafkasim(&["merge", &files[0], &files[1], "--json"]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let lines = lines(&merged);
    assert_eq!(lines[0]["summary"]["seeds"], serde_json::json!([3, 4, 17]));
    assert_eq!(lines[0]["summary"]["runs"], 3);
}

#[test]
fn random_seeds_are_drawn_fresh_and_printed() {
    let sweep = || {
        let o = kafkasim(&["sweep", "scenarios/acks1-leader-crash.toml", "--seeds", "random:2", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let lines = lines(&o);
        let (runs, summaries) = split(&lines);
        let ran = seeds(&runs);
        let start = ran[0];
        assert_eq!(ran, [start, start + 1]);
        assert_eq!(summaries[0]["seeds"], serde_json::json!({"start": start, "end": start + 2}));
        let printed = format!(
            "seeds random:2 drew {start}..{0}; sweep them again with --seeds {start}..{0}",
            start + 2
        );
        assert!(stderr(&o).contains(&printed), "{}", stderr(&o));
        start
    };
    assert_ne!(sweep(), sweep(), "two sweeps draw two starts (one chance in 4 billion of the same)");

    // Shards drawing one start each would sweep unrelated seeds.
    let o =
        kafkasim(&["sweep", "scenarios/acks1-leader-crash.toml", "--seeds", "random:4", "--shard", "0/2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("with --shard: each shard would draw seeds of its own"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn bad_seeds_are_bad_input() {
    for (seeds, says) in [
        ("5..2", "the range is empty"),
        ("0", "0 is no seeds"),
        ("3,3", "seed 3 appears twice"),
        ("3,,4", "item 2 of the list is empty"),
        ("random:0", "at least 1"),
        ("many", "expected A..B, A..=B, N (the first N seeds, 0..N), a list such as 3,17,42, or random:N"),
    ] {
        let o = kafkasim(&["sweep", "scenarios/standard-acks-all.toml", "--seeds", seeds]);
        assert_eq!(o.status.code(), Some(2), "--seeds {seeds}");
        assert!(stderr(&o).contains(says), "--seeds {seeds}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "nothing ran for --seeds {seeds}");
    }
}

/// Sends SIGINT to a process, as Ctrl-C does (the shell's own `kill`, present wherever `sh` is).
fn interrupt(pid: u32) {
    let status = std::process::Command::new("sh")
        .args(["-c", "kill -INT \"$1\"", "sh", &pid.to_string()])
        .status()
        .expect("sh runs");
    assert!(status.success(), "kill -INT {pid}");
}

/// Runs a long sweep, interrupts it once it has printed `after_lines` lines (or, with 0, after a
/// second), and returns its exit code, stdout and stderr.
fn interrupted_sweep(args: &[&str], after_lines: usize) -> (Option<i32>, String, String) {
    use std::io::{BufRead, Read};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kafkasim runs");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    for _ in 0..after_lines {
        out.read_line(&mut text).unwrap();
    }
    if after_lines == 0 {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    interrupt(child.id());
    out.read_to_string(&mut text).unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (child.wait().unwrap().code(), text, err)
}

#[test]
fn ctrl_c_prints_the_summary_so_far_marked_partial_and_exits_130() {
    let (code, text, err) = interrupted_sweep(
        &[
            "sweep",
            "scenarios/standard-acks-all.toml",
            "scenarios/acks1-leader-crash.toml",
            "--seeds",
            "0..100000",
        ],
        0,
    );
    assert_eq!(code, Some(130), "{text}\n{err}");
    assert!(err.contains("interrupted: summing up the runs that finished"), "{err}");
    let runs: u64 = text
        .split_once("seeds 0..100000: ")
        .and_then(|(_, rest)| rest.split_once(" runs"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("a summary line with the runs: {text}"));
    assert!(runs < 100_000, "{text}");
    for part in [
        format!("interrupted after {runs} of 100000 seeds: a partial summary"),
        "sweep: partial, no failure so far".to_string(),
        "interrupted: 1 more scenario(s) not swept".to_string(),
        "2 scenarios: 0 passed, 0 failed, 1 interrupted, 1 not swept (exit 130)".to_string(),
    ] {
        assert!(text.contains(&part), "{part}:\n{text}");
    }
}

#[test]
fn an_interrupted_json_sweep_counts_the_runs_that_finished_and_merge_refuses_it() {
    let (code, text, _) = interrupted_sweep(
        &["sweep", "scenarios/standard-acks-all.toml", "--seeds", "0..100000", "--shard", "0/2", "--json"],
        2,
    );
    assert_eq!(code, Some(130), "{text}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let (runs, summaries) = split(&lines);
    assert_eq!(summaries.len(), 1, "one summary, last: {text}");
    let summary = summaries[0];
    assert_eq!(summary["interrupted"], true);
    assert_eq!(summary["runs"], runs.len(), "every run counted has its line, and only those");
    assert!(runs.len() >= 2 && runs.len() < 50_000, "{}", runs.len());
    assert_eq!(summary["missing_expected"], serde_json::json!([]), "not judged on a partial sweep");

    let file = temp_dir("interrupted").join("shard-0.jsonl");
    std::fs::write(&file, &text).unwrap();
    let merged = kafkasim(&["merge", file.to_str().unwrap()]);
    assert_eq!(merged.status.code(), Some(2));
    let expected = format!("was interrupted after {} of 50000 seeds; sweep that shard again", runs.len());
    assert!(stderr(&merged).contains(&expected), "{}", stderr(&merged));
}
