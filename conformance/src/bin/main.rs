//! `beacon-conformance`: checks a Beacon deployment against the contract.
//!
//! Exit status: 0 when no check fails, 1 when any check fails, 2 for usage or connection
//! errors (with a one-line reason on stderr).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use beacon_conformance::{Config, ProgressMode, Token};
use beacon_spec::Api;
use clap::{Parser, ValueEnum};

/// Property-based contract checks against any deployment of the Beacon Status or Panel API.
#[derive(Debug, Parser)]
#[command(name = "beacon-conformance", version)]
struct Args {
    /// Which API the deployment implements.
    #[arg(long, value_enum, required_unless_present = "list")]
    api: Option<ApiArg>,
    /// Base URL, ending in /api/v1.
    #[arg(long, value_name = "URL", required_unless_present = "list")]
    base_url: Option<url::Url>,
    /// Bearer token (never printed in full).
    #[arg(long, env = "BEACON_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Proptest cases per property.
    #[arg(long, value_name = "N", default_value_t = beacon_conformance::DEFAULT_CASES)]
    cases: u32,
    /// Seed of the generated inputs (default: random, always printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Allow requests that change state (POST).
    #[arg(long)]
    allow_writes: bool,
    /// The only Panel server writes may touch (reads use it too).
    #[arg(long, value_name = "ID")]
    server_id: Option<String>,
    /// Exhaust one rate-limit window, require 429, wait for the reset, require recovery
    /// (its requests come from a separate allowance of twice the window plus 10).
    #[arg(long)]
    probe_rate_limit: bool,
    /// The most requests the checks may send [default: 50 for status, 150 for panel].
    #[arg(long, value_name = "N")]
    max_requests: Option<u32>,
    /// Fail, not only warn, when an [ours] rule breaks.
    #[arg(long)]
    strict: bool,
    /// Write a JUnit XML report to PATH.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Write a JSON report to PATH.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Print the check catalogue and exit.
    #[arg(long)]
    list: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ApiArg {
    Status,
    Panel,
}

impl From<ApiArg> for Api {
    fn from(api: ApiArg) -> Self {
        match api {
            ApiArg::Status => Api::Status,
            ApiArg::Panel => Api::Panel,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(error) => {
            let reason: Vec<String> = error.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", reason.join(": ").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        let apis: Vec<Api> = match args.api {
            Some(api) => vec![api.into()],
            None => Api::ALL.to_vec(),
        };
        print!("{}", beacon_conformance::render_catalogue(&apis));
        return Ok(ExitCode::SUCCESS);
    }
    let api: Api = args.api.context("--api is required")?.into();
    let base_url = args.base_url.context("--base-url is required")?;
    let token = args
        .token
        .filter(|t| !t.is_empty())
        .context("no token: pass --token or set BEACON_TOKEN")?;
    let mut config = Config::new(api, base_url, Token::new(token));
    config.cases = args.cases;
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config.allow_writes = args.allow_writes;
    config.server_id = args.server_id;
    config.probe_rate_limit = args.probe_rate_limit;
    if let Some(max) = args.max_requests {
        config.max_requests = max;
    }
    config.strict = args.strict;
    config.progress = if std::io::stderr().is_terminal() {
        ProgressMode::Bar
    } else {
        ProgressMode::Lines
    };
    eprintln!(
        "beacon-conformance: {} at {} · seed {} (re-run with --seed {})",
        api.title(),
        config.base_url,
        config.seed,
        config.seed
    );

    let report = beacon_conformance::run(&config)?;
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.json())?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{}", report.human());
    Ok(if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
