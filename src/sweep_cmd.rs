//! `kafkasim sweep`: scenarios over a set of seeds on every core, with progress on stderr, a summary
//! per scenario, and `--json` lines for machines (the shapes `merge` reads back).
//!
//! JSON lines, one object each, told apart by their key:
//! `{"run": RunReport}` (plus `"nondeterminism": {...}` when `--check-determinism` found the seed's
//! two runs disagreeing), then `{"summary": SweepSummary}` after each scenario's runs.

use crate::args::default_jobs;
use crate::exit;
use crate::output::{self, errln, out, outln};
use crate::progress::{self, Progress};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sim::report::RunReport;
use sim::scenario::{self, Scenario};
use sim::seeds::SeedSpec;
use sim::sweep::{Nondeterminism, RunRecord, SeedRun, Shard, SweepOptions, SweepSummary, SweepVerdict};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct SweepArgs {
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// Seeds: A..B (B excluded), A..=B, N (the first N, 0..N), a list 3,17,42, or random:N (N
    /// seeds from a start drawn at random, printed on stderr).
    #[arg(long, default_value = "0..100")]
    seeds: String,
    /// Worker threads (at least 1); default: the number of cores.
    #[arg(long, value_parser = crate::args::jobs)]
    jobs: Option<usize>,
    /// One JSON line per run ({"run": …}), then one per scenario ({"summary": …}).
    #[arg(long)]
    json: bool,
    /// Run only shard K of N: the seeds s with s % N == K. K counts from 0 (0/4 … 3/4).
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Stop at the first failing run (crash, timeout, failed checker); report the lowest failing seed.
    #[arg(long)]
    stop_on_first: bool,
    /// Run every seed twice, each on a fresh runtime, and compare the histories (exit 3 if they differ).
    #[arg(long)]
    check_determinism: bool,
}

/// A `--json` run line.
#[derive(Serialize)]
pub struct RunLine<'a> {
    pub run: &'a RunReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nondeterminism: Option<&'a Nondeterminism>,
}

/// A `--json` summary line.
#[derive(Serialize)]
pub struct SummaryLine<'a> {
    pub summary: &'a SweepSummary,
}

/// Any `--json` line, read back: exactly one of `run` and `summary` is set.
#[derive(Deserialize)]
pub struct Line {
    pub run: Option<RunRecord>,
    pub nondeterminism: Option<Nondeterminism>,
    pub summary: Option<SweepSummary>,
}

/// The exit code of sweeps with these verdicts: the gravest one's.
pub fn exit_code(verdicts: impl IntoIterator<Item = SweepVerdict>) -> i32 {
    verdicts.into_iter().min().map_or(exit::OK, exit::of_sweep)
}

pub fn run(args: &SweepArgs) -> Result<i32> {
    let spec = SeedSpec::parse(&args.seeds).map_err(anyhow::Error::msg)?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose().map_err(anyhow::Error::msg)?;
    let scenarios: Vec<(String, Arc<Scenario>)> = args
        .scenarios
        .iter()
        .map(|p| Ok((p.display().to_string(), Arc::new(scenario::load(p)?))))
        .collect::<Result<_>>()?;
    let random = spec.is_random();
    if random && shard.is_some() {
        bail!(
            "seeds `{}` with --shard: each shard would draw seeds of its own, and merge would refuse \
             them; expected a range or a list: draw once (kafkasim sweep --seeds {} prints what it \
             drew) and give every shard that range",
            args.seeds.trim(),
            args.seeds.trim()
        );
    }
    let seeds = spec.choose(sim::seeds::os_draw);
    if random {
        errln!("seeds {} drew {seeds}; sweep them again with --seeds {seeds}", args.seeds.trim());
    }
    // Set on Ctrl-C, or when nobody reads the output any more: the sweep stops.
    let cancel = Arc::new(AtomicBool::new(false));
    on_interrupt(cancel.clone())?;
    let options = SweepOptions {
        jobs: args.jobs.unwrap_or_else(default_jobs),
        shard,
        stop_on_first: args.stop_on_first,
        check_determinism: args.check_determinism,
        cancel: Some(cancel.clone()),
        ..SweepOptions::default()
    };
    let style = progress::Style::choose(std::io::stderr().is_terminal(), args.json);
    let mut verdicts = Vec::new();
    // The last scenario swept was interrupted (by Ctrl-C: a closed pipe returns at once).
    let mut cut_short = false;
    for (i, (file, scenario)) in scenarios.iter().enumerate() {
        let total = sim::sweep::seed_count(&seeds, shard);
        let mut progress = Progress::start(style, &scenario.name, total);
        let mut failing = 0u64;
        let mut written: Result<()> = Ok(());
        let summary = sim::sweep::sweep_with(scenario.clone(), file, seeds.clone(), &options, |run| {
            if args.json && written.is_ok() {
                written = write_run(run);
            }
            if written.is_err() || output::closed() {
                cancel.store(true, Ordering::Relaxed);
            }
            let fails = run.report.fails_sweep() || run.nondeterminism.is_some();
            failing += u64::from(fails);
            // The first few as they happen; the summary lists them again, and the count says the rest.
            let listed = (fails && failing <= sim::sweep::LISTED_FAILURES as u64)
                .then_some((run.report.seed, run.report.reproduce.as_str()));
            progress.run_done(failing, listed);
        });
        progress.finish(summary.runs, failing);
        written?;
        if args.json {
            outln!("{}", serde_json::to_string(&SummaryLine { summary: &summary })?)?;
        } else {
            out!("{}", summary.render_text())?;
        }
        verdicts.push(summary.verdict());
        cut_short = summary.interrupted;
        if output::closed() {
            // Nobody reads any more: stop, and exit with the code of the runs that finished.
            return Ok(exit_code(verdicts));
        }
        if summary.stopped_at.is_some() || summary.interrupted {
            let left = scenarios.len() - i - 1;
            if left > 0 && !args.json {
                let why = if summary.interrupted { "interrupted" } else { "stopped" };
                outln!("{why}: {left} more scenario(s) not swept")?;
            }
            break;
        }
    }
    let code = if cut_short { exit::INTERRUPTED } else { exit_code(verdicts.iter().copied()) };
    if scenarios.len() > 1 && !args.json {
        // An interrupted scenario is counted apart: it has no verdict.
        let partial = usize::from(cut_short);
        let judged = &verdicts[..verdicts.len() - partial];
        let passed = judged.iter().filter(|&&v| v == SweepVerdict::Passed).count();
        let interrupted = if partial > 0 { ", 1 interrupted" } else { "" };
        outln!(
            "{} scenarios: {passed} passed, {} failed{interrupted}, {} not swept (exit {code})",
            scenarios.len(),
            judged.len() - passed,
            scenarios.len() - verdicts.len()
        )?;
    }
    Ok(code)
}

/// Ctrl-C during a sweep: the first stops it, which then prints the summary of the runs that had
/// finished, marked partial, and exits 130; a second ends the process at once, also 130.
fn on_interrupt(cancel: Arc<AtomicBool>) -> Result<()> {
    let pressed = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if pressed.swap(true, Ordering::SeqCst) {
            std::process::exit(exit::INTERRUPTED);
        }
        cancel.store(true, Ordering::SeqCst);
        errln!("interrupted: summing up the runs that finished (Ctrl-C again to quit at once)");
    })
    .context("cannot handle Ctrl-C")
}

fn write_run(run: &SeedRun) -> Result<()> {
    let line = RunLine { run: &run.report, nondeterminism: run.nondeterminism.as_ref() };
    outln!("{}", serde_json::to_string(&line).expect("a run report serializes"))
}
