//! `kafkasim`: run a scenario with a seed, sweep seeds (and merge sharded sweeps), shrink a failing
//! run, list the shipped scenarios, or (with no arguments) run a short demo. See `cli.rs` for the
//! commands and `exit.rs` for exit codes.

mod args;
mod bench;
mod cli;
mod demo;
mod exit;
mod merge_cmd;
mod output;
mod progress;
mod shrink_cmd;
mod sweep_cmd;

fn main() {
    quiet_timeouts();
    std::process::exit(cli::main());
}

/// A run past one of its limits ends by panicking on its own thread, and the report says so as a
/// timeout; the panic's own message and backtrace on stderr would only read like a crash. Other
/// panics (real crashes) are printed as usual.
fn quiet_timeouts() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if !sim::run::is_timeout(&message) {
            default(info);
        }
    }));
}
