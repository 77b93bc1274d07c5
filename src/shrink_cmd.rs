//! `kafkasim shrink`: a failing run reduced to the smallest scenario that still fails the same
//! way (see `sim::shrink` for the algorithm), written as a scenario file that records its seed
//! and the violation it shows in a `[regression]` table.

use crate::exit;
use crate::output::{self, errln, out};
use anyhow::{bail, Context, Result};
use sim::report::{reproduce_command, RunReport};
use sim::scenario;
use sim::shrink::{self, Goal, Options};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub struct ShrinkArgs<'a> {
    pub path: &'a Path,
    /// `--seed`, if given.
    pub seed: Option<u64>,
    pub output: Option<&'a Path>,
    pub checker: Option<&'a str>,
    pub max_runs: usize,
    pub jobs: usize,
}

pub fn run(args: &ShrinkArgs) -> Result<i32> {
    let file = args.path.display().to_string();
    let original = scenario::load(args.path)?;
    let seed = crate::args::seed_for(&original, args.seed);
    if i64::try_from(seed).is_err() {
        bail!("seed {seed} is too large to record in a scenario file; expected at most {}", i64::MAX);
    }
    let started = Instant::now();
    let result = sim::run::run(Arc::new(original.clone()), seed);
    let report = RunReport::new(&original, &file, seed, &result);
    let goal = Goal::of_report(&report, args.checker).map_err(anyhow::Error::msg)?;
    errln!("shrinking {file} seed {}, keeping {}", seed, goal.describe());

    let resolved = sim::resolve::resolve(&original, seed)?;
    let options = Options { max_runs: args.max_runs, jobs: args.jobs };
    let shrunk = shrink::shrink(&resolved, seed, &goal, options, &mut |step| errln!("  {step}"))
        .map_err(anyhow::Error::msg)?;

    let shown_file = args.output.map_or_else(|| "FILE".to_string(), |p| p.display().to_string());
    let text = shrunk.to_file(&goal, &file, &shown_file);
    // The file as written must replay the shrunk run: load it back and run it once more.
    let written = scenario::parse(&text, &shown_file).context("the shrunk scenario does not load back")?;
    let check = sim::run::run(Arc::new(written.clone()), shrunk.seed);
    if !goal.holds(&written, &check) {
        bail!("the shrunk scenario does not show {} when loaded back; this is a bug", goal.describe());
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut summary = String::new();
    summary.push_str(&format!("shrunk {file} seed {}, keeping {}\n", seed, goal.describe()));
    summary.push_str(&format!("  {}\n", shrunk.summary()));
    let end = if shrunk.exhausted {
        format!("stopped at the bound of {} runs (--max-runs)", args.max_runs)
    } else {
        "nothing more can be removed".to_string()
    };
    summary.push_str(&format!(
        "  {} runs in {elapsed:.1} s on {} thread{}; {end}\n",
        shrunk.runs + 2,
        args.jobs,
        if args.jobs == 1 { "" } else { "s" }
    ));
    match args.output {
        Some(out) => {
            write_file(out, &text)?;
            summary.push_str(&format!("  wrote {}\n", out.display()));
            summary.push_str(&format!("reproduce: {}\n", reproduce_command(&shown_file, shrunk.seed)));
            out!("{summary}")?;
        }
        None => {
            summary.push_str(&format!(
                "reproduce: save the scenario below as FILE, then {}\n",
                reproduce_command("FILE", shrunk.seed)
            ));
            output::to_stderr(&summary);
            out!("{text}")?;
        }
    }
    Ok(exit::OK)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
