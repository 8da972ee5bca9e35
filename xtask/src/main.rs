//! Maintainer tasks: `cargo xtask codegen [--check]`, `cargo xtask bench`.

mod bench;
mod codegen;

use std::path::{Path, PathBuf};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen::Codegen { check: false }.run(),
        ["codegen", "--check"] => codegen::Codegen { check: true }.run(),
        ["bench", rest @ ..] => bench::Bench::parse(rest)?.run(),
        _ => {
            eprintln!(
                "usage: cargo xtask codegen [--check]\n       {}",
                bench::USAGE
            );
            std::process::exit(2)
        }
    }
}

/// The workspace root (xtask lives one level below it).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}
