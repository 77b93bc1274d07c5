//! `kafkasim`: run a scenario with a seed, sweep seeds (and merge sharded sweeps), shrink a failing
//! run, list the shipped scenarios, or (with no arguments) run a short demo. See `cli.rs` for the
//! commands and `exit.rs` for exit codes.

mod bench;
mod cli;
mod demo;
mod exit;
mod merge_cmd;
mod shrink_cmd;
mod sweep_cmd;

fn main() {
    std::process::exit(cli::main());
}
