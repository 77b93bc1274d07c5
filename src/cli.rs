//! Command-line arguments, parsed by clap and resolved into calls on the `sim` crate.

use crate::args::{self, default_jobs};
use crate::output::{errln, out, outln};
use crate::{bench, demo, exit, merge_cmd, shrink_cmd, sweep_cmd};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sim::report::RunReport;
use sim::run::FailureKind;
use sim::scenario::{self, Scenario};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "kafkasim", version, about = "Deterministic simulation harness for a Kafka-like broker")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario with one seed and judge it.
    Run {
        scenario: PathBuf,
        /// Default: the seed the file records (its [regression] seed, or the `seed` that
        /// --dump-scenario writes), else 0; stderr says which.
        #[arg(long)]
        seed: Option<u64>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Violations shown per checker.
        #[arg(long, default_value_t = 3)]
        examples: usize,
        /// Write the run's history to this file, one JSON event per line.
        #[arg(long)]
        history: Option<PathBuf>,
        /// Print the run's trace before the report: every recorded event, and what the clients
        /// did (requests, errors, retries, metadata refreshes, timeouts), with simulated time and
        /// node.
        #[arg(long)]
        trace: bool,
        /// Which client lines the trace shows, in RUST_LOG syntax (`debug`,
        /// `broker::producer=debug,info`, `warn`); default: RUST_LOG if set, else `info`.
        #[arg(long, value_name = "FILTER", requires = "trace")]
        log: Option<String>,
        /// Print the scenario resolved for this seed (defaults written out, the nemesis's faults
        /// scripted) as TOML, and exit without running: that file with this seed replays the run.
        /// A timeline of more than 100,000 faults is refused.
        #[arg(long)]
        dump_scenario: bool,
    },
    /// Run scenarios over a set of seeds on every core.
    Sweep(sweep_cmd::SweepArgs),
    /// Combine the `sweep --json` outputs of shards into one summary per scenario.
    Merge(merge_cmd::MergeArgs),
    /// Measure seeds per second for the standard scenario against a bare madsim exchange.
    Bench {
        #[arg(long, default_value_t = 200, value_parser = args::at_least_one)]
        seeds: u64,
        /// Also sweep on this many threads (at least 1); default: the number of cores.
        #[arg(long, value_parser = args::jobs)]
        jobs: Option<usize>,
    },
    /// Shrink a failing run to the smallest scenario that still fails the same checker with the
    /// same label (or crashes, or times out, as the run did).
    Shrink {
        scenario: PathBuf,
        /// Default: the seed the file records, else 0, as for `run`.
        #[arg(long)]
        seed: Option<u64>,
        /// Write the shrunk scenario here (with its seed and verdict in [regression]); default:
        /// print it to stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The checker whose violation to keep; default: the first that FAILED, else the first
        /// expected anomaly the run shows.
        #[arg(long)]
        checker: Option<String>,
        /// Stop after this many runs, wherever shrinking has got to.
        #[arg(long, default_value_t = 2000)]
        max_runs: usize,
        /// Threads running candidates (at least 1); default: the number of cores.
        #[arg(long, value_parser = args::jobs)]
        jobs: Option<usize>,
    },
    /// List the shipped scenarios with their descriptions.
    List {
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
}

pub fn main() -> i32 {
    let args = Args::parse();
    let result = match args.command {
        None => demo::run(),
        Some(Command::Run { scenario, seed, json, examples, history, trace, log, dump_scenario }) => {
            if dump_scenario {
                dump(&scenario, seed)
            } else {
                let output = RunOutput { json, examples, history: history.as_deref(), trace, log };
                run(&scenario, seed, &output)
            }
        }
        Some(Command::Sweep(args)) => sweep_cmd::run(&args),
        Some(Command::Merge(args)) => merge_cmd::run(&args),
        Some(Command::Shrink { scenario, seed, output, checker, max_runs, jobs }) => {
            shrink_cmd::run(&shrink_cmd::ShrinkArgs {
                path: &scenario,
                seed,
                output: output.as_deref(),
                checker: checker.as_deref(),
                max_runs,
                jobs: jobs.unwrap_or_else(default_jobs),
            })
        }
        Some(Command::List { dir }) => list(&dir),
        Some(Command::Bench { seeds, jobs }) => bench::run(seeds, jobs.unwrap_or_else(default_jobs)),
    };
    result.unwrap_or_else(|e| {
        errln!("error: {e:#}");
        exit::BAD_INPUT
    })
}

fn load(path: &Path) -> Result<Arc<Scenario>> {
    Ok(Arc::new(scenario::load(path)?))
}

/// What `run` prints and writes besides the report.
struct RunOutput<'a> {
    json: bool,
    examples: usize,
    history: Option<&'a Path>,
    trace: bool,
    /// The `--log` filter, if given.
    log: Option<String>,
}

/// The filter of the trace's client lines: `--log`, else `RUST_LOG`, else the default.
fn log_filter(log: Option<&str>) -> Result<tracing_subscriber::EnvFilter> {
    let env = std::env::var("RUST_LOG").ok().filter(|f| !f.trim().is_empty());
    let filter =
        log.map(str::to_string).or(env).unwrap_or_else(|| sim::trace_log::DEFAULT_FILTER.to_string());
    sim::trace_log::parse_filter(&filter).map_err(anyhow::Error::msg)
}

fn run(path: &Path, seed: Option<u64>, output: &RunOutput) -> Result<i32> {
    let scenario = load(path)?;
    let seed = args::seed_for(&scenario, seed);
    // Tracing only with --trace: without it no subscriber is installed and events cost nothing.
    let result = if output.trace {
        sim::run::run_traced(scenario.clone(), seed, log_filter(output.log.as_deref())?)
    } else {
        sim::run::run(scenario.clone(), seed)
    };
    if let Ok(out) = &result {
        if let Some(file) = output.history {
            write_history(file, &out.history)?;
        }
    }
    // Judged before anything is printed: a reader that stops early (`| head`) changes nothing
    // about the exit code.
    let report = RunReport::new(&scenario, &path.display().to_string(), seed, &result);
    if let (true, Ok(run)) = (output.trace, &result) {
        out!("{}", sim::trace::render_with_log(&run.history, &run.log))?;
    }
    if output.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        out!("{}", report.render(output.examples))?;
    }
    Ok(match (report.failure_kind(), report.passed) {
        (Some(FailureKind::Crash), _) => exit::CRASH,
        (Some(FailureKind::Timeout), _) => exit::TIMEOUT,
        (Some(FailureKind::Incomplete), _) => exit::INCOMPLETE,
        (None, true) => exit::OK,
        (None, false) => exit::VIOLATION,
    })
}

fn dump(path: &Path, seed: Option<u64>) -> Result<i32> {
    let scenario = load(path)?;
    let seed = args::seed_for(&scenario, seed);
    let resolved = sim::resolve::resolve(&scenario, seed)?;
    out!("{}", sim::resolve::to_toml(&resolved, &path.display().to_string(), seed))?;
    Ok(exit::OK)
}

fn list(dir: &Path) -> Result<i32> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for path in files {
        if crate::output::closed() {
            break;
        }
        match scenario::load(&path) {
            Ok(s) => {
                let mut text = format!("{}\n", path.display());
                for line in s.description.trim().lines() {
                    text.push_str(&format!("    {}\n", line.trim()));
                }
                out!("{text}")?;
            }
            Err(e) => outln!("{}\n    (does not load: {e})", path.display())?,
        }
    }
    Ok(exit::OK)
}

fn write_history(file: &Path, history: &sim::history::History) -> Result<()> {
    use std::io::Write;
    let f = std::fs::File::create(file).with_context(|| format!("cannot create {}", file.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for e in &history.events {
        writeln!(w, "{}", sim::history_json::event(history, e))?;
    }
    w.flush()?;
    Ok(())
}
