//! `beacon-conformance`: checks a Beacon deployment against the contract.
//!
//! Exit status: 0 when no check fails, 1 when a check fails or errors (or is skipped under
//! `--fail-on-skip`), 2 when nothing could be checked: a usage error, a budget too small for
//! the plan, an unreachable deployment (with a one-line reason on stderr, and `--junit` and
//! `--json` written all the same).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use beacon_conformance::{Config, Phase, ProgressMode, Token};
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
    /// (its requests count against --max-requests like every other).
    #[arg(long)]
    probe_rate_limit: bool,
    /// The most requests the run may send, every one counted (a hard ceiling); --cases is
    /// lowered to fit [default: 400 for status, 800 for panel].
    #[arg(long, value_name = "N")]
    max_requests: Option<u32>,
    /// The phases to run, comma-separated: examples, coverage, fuzz, stateful (stateful
    /// runs only with --allow-writes).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "examples,coverage,fuzz,stateful", value_parser = parse_phase)]
    phases: Vec<Phase>,
    /// Trust the PEM certificates in PATH besides the built-in web roots (a private CA, or
    /// the certificate `beacon-mock --tls` prints the path of).
    #[arg(long, value_name = "PATH")]
    ca_cert: Option<PathBuf>,
    /// Timeout of one request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Print the plan (checks, requests, longest wait) and exit without sending anything.
    #[arg(long)]
    plan: bool,
    /// Fail the run when any check is skipped.
    #[arg(long)]
    fail_on_skip: bool,
    /// Fail, not only warn, when an [ours] rule breaks.
    #[arg(long)]
    strict: bool,
    /// Write a JUnit XML report to PATH.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Write a self-contained HTML report to PATH.
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// Write a JSON report to PATH (with --list: the catalogue).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Print the check catalogue and exit.
    #[arg(long)]
    list: bool,
}

fn parse_phase(name: &str) -> Result<Phase, String> {
    Phase::from_name(name.trim()).ok_or_else(|| {
        format!("unknown phase {name:?}: the phases are examples, coverage, fuzz and stateful")
    })
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
    let mut args = Args::parse();
    // Drawn here, so that a report written on an error exit names the seed the run printed.
    args.seed
        .get_or_insert_with(beacon_conformance::random_seed);
    let reports = Reports {
        api: args.api.map(Api::from),
        seed: args.seed,
        junit: args.junit.clone(),
        json: args.json.clone().filter(|_| !args.list),
    };
    // Before anything is sent: a report that cannot be written is a usage error, said once.
    let outputs = [&args.junit, &args.json, &args.html];
    if let Err(error) = outputs.into_iter().flatten().try_for_each(|p| writable(p)) {
        eprintln!("error: {error:#}");
        return ExitCode::from(2);
    }
    match run(args) {
        Ok(code) => code,
        Err(error) => {
            let reason: Vec<String> = error.chain().map(ToString::to_string).collect();
            let reason = reason.join(": ").replace('\n', " ");
            eprintln!("error: {reason}");
            if let Err(write_error) = reports.write_error(&reason) {
                eprintln!("error: {write_error:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// Where the reports go, known before the run, so that they exist on every exit path.
struct Reports {
    api: Option<Api>,
    seed: Option<u64>,
    junit: Option<PathBuf>,
    json: Option<PathBuf>,
}

impl Reports {
    /// Writes JUnit and JSON reports that hold only why the run stopped.
    fn write_error(&self, reason: &str) -> anyhow::Result<()> {
        if let Some(path) = &self.junit {
            write(path, beacon_conformance::error_junit(self.api, reason))?;
        }
        if let Some(path) = &self.json {
            let value = beacon_conformance::error_json(self.api, self.seed, reason);
            write(path, serde_json::to_string_pretty(&value)? + "\n")?;
        }
        Ok(())
    }
}

/// Whether `path` can be written: opened for writing, its contents left as they are; a file
/// that was missing is created to try, then removed.
fn writable(path: &std::path::Path) -> anyhow::Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Writes the report `text` makes to `path`, if one was asked for; says why it could not.
fn save(path: Option<&std::path::Path>, text: impl FnOnce() -> anyhow::Result<String>) -> bool {
    let Some(path) = path else { return true };
    match text().and_then(|text| write(path, text)) {
        Ok(()) => true,
        Err(error) => {
            eprintln!("error: {error:#}");
            false
        }
    }
}

fn write(path: &std::path::Path, text: String) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        let apis: Vec<Api> = match args.api {
            Some(api) => vec![api.into()],
            None => Api::ALL.to_vec(),
        };
        if let Some(path) = &args.json {
            let value = beacon_conformance::catalogue_json(&apis);
            write(path, serde_json::to_string_pretty(&value)? + "\n")?;
        }
        print!("{}", beacon_conformance::render_catalogue(&apis));
        return Ok(ExitCode::SUCCESS);
    }
    let api: Api = args.api.context("--api is required")?.into();
    let base_url = args.base_url.context("--base-url is required")?;
    // A plan sends nothing, so it needs no token.
    let token = match args.token.filter(|t| !t.is_empty()) {
        Some(token) => token,
        None if args.plan => String::new(),
        None => anyhow::bail!("no token: pass --token or set BEACON_TOKEN"),
    };
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
    config.phases = args.phases;
    config.request_timeout = std::time::Duration::from_secs(args.timeout);
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --ca-cert {}", path.display()))?;
        config.trusted_pem = Some(pem);
    }
    config.fail_on_skip = args.fail_on_skip;
    config.strict = args.strict;
    config.progress = if std::io::stderr().is_terminal() {
        ProgressMode::Bar
    } else {
        ProgressMode::Lines
    };

    let plan = beacon_conformance::plan(&config)?;
    if args.plan {
        print!("{}", plan.render());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "beacon-conformance: {} at {} · seed {} (re-run with --seed {})",
        api.title(),
        config.base_url,
        config.seed,
        config.seed
    );
    eprint!("{}", plan.render());
    let report = beacon_conformance::run_plan(&config, plan)?;
    // The summary first: a report file that cannot be written after all (a path that took
    // the probe but not the write, such as `/dev/full`) must not take the verdict with it.
    print!("{}", report.human());
    // Each is tried, and each failure said once, here: the run is over, so no error report
    // is tried on top.
    let unwritten = [
        save(args.junit.as_deref(), || Ok(report.junit())),
        save(args.json.as_deref(), || {
            Ok(serde_json::to_string_pretty(&report.json())? + "\n")
        }),
        save(args.html.as_deref(), || Ok(report.html())),
    ]
    .contains(&false);
    Ok(if unwritten {
        ExitCode::from(2)
    } else if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
