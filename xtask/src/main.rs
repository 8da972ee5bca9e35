//! Maintainer tasks: `cargo xtask codegen [--check]`, `cargo xtask bench`.

mod bench;
mod codegen;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Maintainer tasks of the Beacon contract toolkit"
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Regenerate the JSON Schemas and OpenAPI documents.
    Codegen {
        /// Fail, naming each stale file, instead of rewriting.
        #[arg(long)]
        check: bool,
    },
    /// The mock against a bare hyper baseline under wrk: ratios, p99s, RSS, start-up.
    Bench(bench::Bench),
    /// The bench's baseline server (run by `bench`).
    #[command(hide = true)]
    BenchBaseline(bench::Baseline),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Codegen { check } => codegen::Codegen { check }.run(),
        Task::Bench(bench) => bench.run(),
        Task::BenchBaseline(baseline) => baseline.run(),
    }
}

/// The workspace root (xtask lives one level below it).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}
