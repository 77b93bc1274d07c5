//! What the command-line tests share: running the built `kafkasim` from the repository root.
//! Each test crate compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::process::{Command, Output};

pub fn kafkasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("kafkasim runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
