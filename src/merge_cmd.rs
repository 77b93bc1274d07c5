//! `kafkasim merge FILE...`: the `--json` outputs of sweep shards, combined into one summary per
//! scenario. The summary is re-tallied from the run lines in seed order, so it is exactly the one
//! an unsharded sweep of the whole range would print — except for the rate, which a merge cannot
//! know and leaves out. The exit code is the one that sweep would have had.
//!
//! What is refused (exit 2), naming the file, since it would make the merged summary wrong: an
//! empty file, a line that is neither a run nor a summary, a line cut short (a file truncated),
//! runs without their summary line (a sweep cut short), an interrupted sweep, a file with a shard of some scenarios but
//! not of others (a sweep cut short between scenarios), shards of different seed ranges or shard
//! counts, one shard twice, a missing shard, and shards that disagree on what the scenario expects
//! (swept from different versions of the file).

use crate::output::{out, outln};
use crate::sweep_cmd::{exit_code, Line, SummaryLine};
use anyhow::{bail, Context, Result};
use sim::sweep::{Nondeterminism, RunRecord, Shard, SweepSummary, Tally};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Outputs of `kafkasim sweep --json`, one per shard.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print each merged summary as a JSON line ({"summary": …}).
    #[arg(long)]
    json: bool,
}

/// One scenario's runs and summary from one file.
struct Part {
    file: String,
    summary: SweepSummary,
    runs: Vec<(RunRecord, Option<Nondeterminism>)>,
}

pub fn run(args: &MergeArgs) -> Result<i32> {
    // Scenarios (by name and file) in the order they first appear, each with its parts.
    let mut scenarios: Vec<(String, Vec<Part>)> = Vec::new();
    for path in &args.files {
        for part in read_parts(path)? {
            let key = key(&part.summary.scenario, &part.summary.file);
            match scenarios.iter_mut().find(|(k, _)| *k == key) {
                Some((_, parts)) => parts.push(part),
                None => scenarios.push((key, vec![part])),
            }
        }
    }
    // Which files hold each shard, of any scenario: a file that has a shard of some scenarios but
    // not of others was cut short, and the error about the missing one names it.
    let mut holders: BTreeMap<Shard, BTreeSet<String>> = BTreeMap::new();
    for part in scenarios.iter().flat_map(|(_, parts)| parts) {
        holders.entry(part.summary.shard.unwrap_or(Shard::WHOLE)).or_default().insert(part.file.clone());
    }
    let summaries: Vec<SweepSummary> =
        scenarios.into_iter().map(|(name, parts)| merge(&name, parts, &holders)).collect::<Result<_>>()?;
    for summary in &summaries {
        if args.json {
            outln!("{}", serde_json::to_string(&SummaryLine { summary })?)?;
        } else {
            out!("{}", summary.render_text())?;
        }
    }
    Ok(exit_code(summaries.iter().map(SweepSummary::verdict)))
}

/// A scenario as merge tells them apart and names them in errors: its name and file.
fn key(scenario: &str, file: &str) -> String {
    format!("{scenario} ({file})")
}

fn read_parts(path: &Path) -> Result<Vec<Part>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    let mut parts = Vec::new();
    // Runs seen per scenario, waiting for their summary line.
    let mut open: BTreeMap<String, Vec<(RunRecord, Option<Nondeterminism>)>> = BTreeMap::new();
    for (i, text) in text.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let at = || format!("{name}:{}", i + 1);
        let line: Line = match serde_json::from_str(text) {
            Ok(line) => line,
            Err(e) if e.is_eof() => bail!(
                "{}: the line is cut short, {} bytes of a JSON line ending mid-way (was the sweep \
                 killed, or the file truncated?); sweep that shard again",
                at(),
                text.len()
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("{}: not a line of `kafkasim sweep --json`", at()))
            }
        };
        match line {
            Line { run: Some(run), summary: None, nondeterminism } => {
                open.entry(key(&run.scenario, &run.file)).or_default().push((run, nondeterminism));
            }
            Line { run: None, summary: Some(summary), .. } => {
                if summary.interrupted {
                    bail!(
                        "{}: the sweep of {} was interrupted after {} of {} seeds; sweep that shard again",
                        at(),
                        key(&summary.scenario, &summary.file),
                        summary.runs,
                        summary.seed_count()
                    );
                }
                if !summary.merged_shards.is_empty() {
                    bail!("{}: a merged summary, without run lines; merge the shards' own outputs", at());
                }
                let runs = open.remove(&key(&summary.scenario, &summary.file)).unwrap_or_default();
                if runs.len() as u64 != summary.runs {
                    bail!(
                        "{}: the summary of {} counts {} runs, but {} run lines precede it",
                        at(),
                        key(&summary.scenario, &summary.file),
                        summary.runs,
                        runs.len()
                    );
                }
                parts.push(Part { file: name.clone(), summary, runs });
            }
            _ => bail!("{}: expected a line with one key, `run` or `summary`", at()),
        }
    }
    if let Some((scenario, runs)) = open.into_iter().next() {
        bail!(
            "{name}: {} runs of {scenario} without a summary line (was the sweep cut short?); sweep that \
             shard again",
            runs.len()
        );
    }
    if parts.is_empty() {
        bail!(
            "{name}: empty; expected the output of `kafkasim sweep --json`: a run line per seed, then a \
             summary line per scenario"
        );
    }
    Ok(parts)
}

fn merge(
    scenario: &str,
    parts: Vec<Part>,
    holders: &BTreeMap<Shard, BTreeSet<String>>,
) -> Result<SweepSummary> {
    let first = &parts[0];
    let seeds = first.summary.seeds.clone();
    let count = first.summary.shard.unwrap_or(Shard::WHOLE).count;
    let modalities: BTreeMap<String, _> =
        first.summary.checkers.iter().filter_map(|(c, t)| Some((c.clone(), t.modality?))).collect();
    let mut shards: BTreeMap<Shard, &str> = BTreeMap::new();
    for part in &parts {
        let s = &part.summary;
        let shard = s.shard.unwrap_or(Shard::WHOLE);
        if s.seeds != seeds {
            bail!(
                "{scenario}: {} swept seeds {}, {} swept {}; merge combines shards of one sweep",
                first.file,
                seeds.short(),
                part.file,
                s.seeds.short()
            );
        }
        if shard.count != count {
            bail!(
                "{scenario}: {} is a shard of {count}, {} a shard of {}",
                first.file,
                part.file,
                shard.count
            );
        }
        if let Some(other) = shards.insert(shard, &part.file) {
            bail!("{scenario}: shard {shard} appears twice, in {other} and {}", part.file);
        }
        let theirs: BTreeMap<String, _> =
            s.checkers.iter().filter_map(|(c, t)| Some((c.clone(), t.modality?))).collect();
        if theirs != modalities {
            bail!(
                "{scenario}: {} and {} expect different things of the checkers (swept from different scenario files?)",
                first.file,
                part.file
            );
        }
    }
    let missing: Vec<Shard> =
        (0..count).map(|index| Shard { index, count }).filter(|s| !shards.contains_key(s)).collect();
    if !missing.is_empty() {
        let listed: Vec<String> = missing.iter().map(Shard::to_string).collect();
        let cut: Vec<String> = missing
            .iter()
            .filter_map(|s| holders.get(s).map(|files| (s, files)))
            .map(|(s, files)| {
                let files: Vec<&str> = files.iter().map(String::as_str).collect();
                format!(
                    "; {} {} shard {s} of other scenarios but not of this one (was that sweep cut short?)",
                    files.join(", "),
                    if files.len() == 1 { "holds" } else { "hold" }
                )
            })
            .collect();
        bail!("{scenario}: shard {} of seeds {} missing{}", listed.join(", "), seeds.short(), cut.concat());
    }

    let mut tally = Tally::new(&first.summary.scenario, &first.summary.file, modalities);
    let header = tally.summary_mut();
    header.seeds = seeds;
    header.merged_shards = shards.keys().copied().collect();
    header.check_determinism = parts.iter().all(|p| p.summary.check_determinism);
    header.stopped_at = parts.iter().filter_map(|p| p.summary.stopped_at).min();
    let mut runs: Vec<&(RunRecord, Option<Nondeterminism>)> = parts.iter().flat_map(|p| &p.runs).collect();
    runs.sort_by_key(|(run, _)| run.seed);
    for pair in runs.windows(2) {
        if pair[0].0.seed == pair[1].0.seed {
            bail!("{scenario}: seed {} appears twice", pair[0].0.seed);
        }
    }
    for (run, nondeterminism) in runs {
        tally.add(run, nondeterminism.as_ref());
    }
    Ok(tally.finish())
}
