//! Everything the command line prints goes through here, so that a closed pipe ends a command
//! quietly, as it does cargo and ripgrep: once `head` has read its lines from `kafkasim run X
//! --trace | head`, the next write must not panic with "failed printing to stdout".
//!
//! Rust ignores SIGPIPE, so a write to a pipe nobody reads fails with `BrokenPipe` instead of
//! killing the process. These helpers note it in [`closed`], write nothing more to either stream,
//! and let the command stop its work and exit with the code of what it had done (a run's verdict;
//! a sweep's over the runs it finished). Any other error writing stdout (a full disk under a
//! redirect) is an error of the command: what it printed is incomplete. Errors writing stderr are
//! ignored, since there is nowhere left to report them.

use anyhow::{Context, Result};
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// A reader of stdout or stderr went away: nothing more is written, and long work should stop.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Writes `text` to stdout and flushes it.
pub fn to_stdout(text: &str) -> Result<()> {
    if closed() {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        result => result.context("cannot write to stdout"),
    }
}

/// Writes `text` to stderr.
pub fn to_stderr(text: &str) {
    if closed() {
        return;
    }
    if let Err(e) = std::io::stderr().lock().write_all(visible(text).as_bytes()) {
        if e.kind() == ErrorKind::BrokenPipe {
            CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// `print!` that ends quietly on a closed pipe: `out!("{x}")?`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::to_stdout(&format!($($arg)*)) };
}

/// `println!` that ends quietly on a closed pipe: `outln!("{x}")?`.
macro_rules! outln {
    () => { $crate::output::to_stdout("\n") };
    ($($arg:tt)*) => { $crate::output::to_stdout(&format!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that ends quietly on a closed pipe.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::to_stderr(&format!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {errln, out, outln};

/// `text` with every character that would act on a terminal instead of showing — control
/// characters other than newline and tab (escape sequences), and the invisible format and
/// direction characters (U+200B–U+200F, U+2028–U+202E, U+2060–U+206F, U+FEFF) — written as
/// `\u{…}`. Errors echo what a file or an argument holds; none of it may move the cursor, set
/// the window title or reverse the text that follows.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
    };
    if !text.chars().any(acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars().map(|c| if acts(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn what_would_act_on_a_terminal_is_shown_escaped() {
        assert_eq!(visible("plain\n\ttext"), "plain\n\ttext");
        assert_eq!(visible("x\u{1b}]0;pwned\u{7}"), "x\\u{1b}]0;pwned\\u{7}");
        assert_eq!(visible("ok\u{202E}name\r"), "ok\\u{202e}name\\u{d}");
    }
}
