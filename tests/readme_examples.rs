//! The README's example outputs are what the commands print: each example block is compared
//! with a fresh run of its command, so the README cannot go stale.
//!
//! A README line must appear in the output, in order, after trailing spaces are trimmed; a line
//! that is only `…` stands for lines left out. Lines that depend on the machine (wall time,
//! threads) are compared up to their first digit of wall time.

use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md")
}

/// The lines of the README's code block whose first line starts with `first`.
fn block(readme: &str, first: &str) -> Vec<String> {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(first))
        .unwrap_or_else(|| panic!("README has no example starting with {first:?}"));
    lines[start..].iter().take_while(|l| !l.starts_with("```")).map(|l| l.trim_end().to_string()).collect()
}

fn kafkasim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("kafkasim runs");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Every README line appears in `output` in order; `…` skips ahead; `machine` lines are
/// compared only up to where machine-dependent figures start.
fn assert_shows(example: &[String], output: &str, machine: impl Fn(&str) -> Option<usize>) {
    let actual: Vec<String> = output.lines().map(|l| l.trim_end().to_string()).collect();
    let mut at = 0;
    for line in example {
        if line.trim() == "…" {
            continue;
        }
        let prefix = machine(line).map_or(line.as_str(), |n| &line[..n]);
        match actual[at..]
            .iter()
            .position(|a| a.starts_with(prefix) && (prefix.len() < line.len() || a == line))
        {
            Some(i) => at += i + 1,
            None => panic!("the README shows\n  {line}\nbut the command printed\n{output}"),
        }
    }
}

#[test]
fn the_run_example_is_what_run_prints() {
    let example = block(&readme(), "acks1-leader-crash seed 7");
    let output = kafkasim(&["run", "scenarios/acks1-leader-crash.toml", "--seed", "7"]);
    assert_shows(&example, &output, |_| None);
}

#[test]
fn the_trace_example_is_what_run_trace_prints() {
    let example: Vec<String> =
        block(&readme(), "$ cargo run --release -- run scenarios/acks-all-leader-crashes")
            .into_iter()
            .skip(1)
            .collect();
    let output = kafkasim(&[
        "run",
        "scenarios/acks-all-leader-crashes.toml",
        "--seed",
        "0",
        "--trace",
        "--log",
        "info",
    ]);
    assert_shows(&example, &output, |_| None);
}

#[test]
fn the_shrink_example_is_what_shrink_prints() {
    let example: Vec<String> =
        block(&readme(), "$ cargo run --release -- shrink").into_iter().skip(1).collect();
    let dir = std::env::temp_dir().join(format!("kafkasim-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let small = dir.join("small.toml");
    let output = kafkasim(&[
        "shrink",
        "scenarios/acks1-leader-crash.toml",
        "--seed",
        "7",
        "-o",
        small.to_str().expect("utf-8 path"),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    let output = output.replace(small.to_str().expect("utf-8 path"), "small.toml");
    // "88 runs in 0.6 s on 2 threads": the wall time and the threads are the machine's, and so
    // is the count: on several threads it is what the workers had made by the time the first
    // success was known (the result itself does not depend on it).
    assert_shows(&example, &output, |l| {
        l.find(" runs in ").and_then(|_| l.find(|c: char| c.is_ascii_digit()))
    });
}
