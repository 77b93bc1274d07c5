//! A sweep's progress on stderr: a bar on a terminal; elsewhere (a CI log, a file) plain lines, a
//! bar's redrawing being garbage there: one when a scenario's sweep ends, one every
//! [`LINE_INTERVAL`] while it runs, and one for each of the first failing seeds.
//!
//! Progress is wall-clock bookkeeping about the sweep, never part of a run.

use crate::output::errln;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use std::time::{Duration, Instant};

/// How often a long sweep prints a plain progress line.
pub const LINE_INTERVAL: Duration = Duration::from_secs(10);

/// How progress is shown: chosen once per command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Bar,
    Lines,
    Hidden,
}

impl Style {
    /// A bar where stderr is a terminal (and stdout is not taken by JSON lines on it too), plain
    /// lines where it is not.
    pub fn choose(stderr_is_terminal: bool, json: bool) -> Style {
        match (stderr_is_terminal, json) {
            (false, _) => Style::Lines,
            (true, false) => Style::Bar,
            // JSON lines on the terminal already show each run as it ends.
            (true, true) => Style::Hidden,
        }
    }
}

/// One scenario's progress.
pub enum Progress {
    Bar(ProgressBar),
    Lines(Lines),
    Hidden,
}

impl Progress {
    pub fn start(style: Style, name: &str, total: u64) -> Progress {
        match style {
            Style::Bar => Progress::Bar(bar(name, total)),
            Style::Lines => Progress::Lines(Lines::new(name, total, Instant::now())),
            Style::Hidden => Progress::Hidden,
        }
    }

    /// A run was counted; `failing` runs so far, `failed` set to this run's reproduce line if it
    /// is one of the first failures, listed as they happen.
    pub fn run_done(&mut self, failing: u64, failed: Option<(u64, &str)>) {
        match self {
            Progress::Bar(bar) => {
                bar.set_message(format!("{failing} failing"));
                if let Some((seed, reproduce)) = failed {
                    bar.println(format!("  seed {seed} failed: {reproduce}"));
                }
                bar.inc(1);
            }
            Progress::Lines(lines) => {
                if let Some((seed, reproduce)) = failed {
                    errln!("  {} seed {seed} failed: {reproduce}", lines.name);
                }
                if let Some(line) = lines.run_done(failing, Instant::now()) {
                    errln!("{line}");
                }
            }
            Progress::Hidden => {}
        }
    }

    /// The scenario's sweep ended, having counted `runs` runs.
    pub fn finish(self, runs: u64, failing: u64) {
        match self {
            Progress::Bar(bar) => bar.finish_and_clear(),
            Progress::Lines(lines) => errln!("{}", lines.finish(runs, failing, Instant::now())),
            Progress::Hidden => {}
        }
    }
}

/// Plain progress lines for one scenario, given the time of each event (so that tests can).
pub struct Lines {
    name: String,
    total: u64,
    started: Instant,
    last: Instant,
    runs: u64,
}

impl Lines {
    pub fn new(name: &str, total: u64, now: Instant) -> Lines {
        Lines { name: name.to_string(), total, started: now, last: now, runs: 0 }
    }

    /// A run was counted at `now`: the line to print, when one is due.
    pub fn run_done(&mut self, failing: u64, now: Instant) -> Option<String> {
        self.runs += 1;
        if now.duration_since(self.last) < LINE_INTERVAL || self.runs == self.total {
            return None;
        }
        self.last = now;
        let elapsed = now.duration_since(self.started).as_secs_f64();
        Some(format!(
            "{}: {} of {} seeds, {failing} failing, {:.1} seeds/s, {elapsed:.0} s",
            self.name,
            self.runs,
            self.total,
            self.runs as f64 / elapsed.max(1e-9)
        ))
    }

    /// The line that ends the scenario's sweep.
    pub fn finish(&self, runs: u64, failing: u64, now: Instant) -> String {
        let elapsed = now.duration_since(self.started).as_secs_f64();
        format!("{}: swept {runs} of {} seeds, {failing} failing, {elapsed:.1} s", self.name, self.total)
    }
}

fn bar(name: &str, total: u64) -> ProgressBar {
    let style =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} seeds, {rate}, eta {eta} {msg}")
            .expect("progress template")
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} seeds/s", s.per_sec());
            })
            .progress_chars("=> ");
    let bar = ProgressBar::new(total).with_style(style).with_prefix(name.to_string());
    bar.set_message("0 failing");
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_gets_a_bar_and_anything_else_plain_lines() {
        assert_eq!(Style::choose(true, false), Style::Bar);
        assert_eq!(Style::choose(false, false), Style::Lines);
        assert_eq!(Style::choose(false, true), Style::Lines, "a CI log of a --json sweep too");
        assert_eq!(Style::choose(true, true), Style::Hidden);
    }

    #[test]
    fn a_long_sweep_prints_a_line_every_interval_and_one_at_the_end() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut lines = Lines::new("chaos", 100, start);
        assert_eq!(lines.run_done(0, at(3)), None, "not yet");
        assert_eq!(
            lines.run_done(1, at(10)).as_deref(),
            Some("chaos: 2 of 100 seeds, 1 failing, 0.2 seeds/s, 10 s")
        );
        assert_eq!(lines.run_done(1, at(19)), None, "ten seconds after the last line, not the start");
        assert!(lines.run_done(1, at(20)).is_some());
        for _ in 5..100 {
            lines.run_done(1, at(40));
        }
        assert_eq!(lines.runs, 99);
        assert_eq!(lines.run_done(1, at(60)), None, "the last run leaves it to the closing line");
        assert_eq!(lines.finish(100, 1, at(61)), "chaos: swept 100 of 100 seeds, 1 failing, 61.0 s");
    }
}
