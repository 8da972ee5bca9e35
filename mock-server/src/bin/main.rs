//! `beacon-mock`: serve both Beacon APIs from embedded fixtures.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use beacon_mock::Api;
use beacon_mock::{Fixtures, MockServer};
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "beacon-mock",
    version,
    about = "A faithful, stateful mock of the Beacon Status and Panel APIs"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand, `beacon-mock [FLAGS]` means `beacon-mock serve [FLAGS]`.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the APIs (the default).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address of the Status API listener.
    #[arg(long, default_value = "127.0.0.1:4010")]
    status_addr: SocketAddr,
    /// Address of the Panel API listener.
    #[arg(long, default_value = "127.0.0.1:4011")]
    panel_addr: SocketAddr,
    /// Serve only one API.
    #[arg(long, value_enum)]
    only: Option<OnlyApi>,
    /// Accept this token too (repeatable): on Panel always, on Status when it is a bkn_live_ token.
    #[arg(long = "token", value_name = "TOKEN")]
    tokens: Vec<String>,
    /// Load status.json and panel.json from this directory instead of the embedded fixtures.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Length of every rate-limit window in seconds (documented: 60).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    rate_limit_window: Option<u64>,
    /// Replace every per-window limit (for load tests).
    #[arg(long, value_name = "LIMIT", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OnlyApi {
    Status,
    Panel,
}

fn main() {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    // The access log goes through a background thread, so a slow stderr never blocks a
    // worker; lines are dropped rather than queued without bound. The guard flushes on exit.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer)
        .init();
    let result = run(args);
    drop(guard);
    if let Err(error) = result {
        eprintln!("beacon-mock: {error:#}");
        std::process::exit(2);
    }
}

#[tokio::main]
async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let fixtures = match &args.fixtures {
        Some(dir) => Fixtures::from_dir(dir).context("invalid fixtures")?,
        None => Fixtures::embedded(),
    };
    let mut builder = MockServer::builder()
        .fixtures(fixtures)
        .status_addr(args.status_addr)
        .panel_addr(args.panel_addr);
    for token in &args.tokens {
        anyhow::ensure!(
            !token.is_empty() && token.len() <= 256 && token.bytes().all(|b| b.is_ascii_graphic()),
            "--token must be 1 to 256 visible ASCII characters without spaces"
        );
        builder = builder.token(token);
    }
    if let Some(secs) = args.rate_limit_window {
        builder = builder.rate_limit_window(Duration::from_secs(secs));
    }
    if let Some(limit) = args.rate_limit {
        builder = builder.rate_limit(limit);
    }
    if let Some(only) = args.only {
        builder = builder.only(match only {
            OnlyApi::Status => Api::Status,
            OnlyApi::Panel => Api::Panel,
        });
    }
    let mock = builder.try_start().await?;
    // The one place a token is printed in full: the mock's own test tokens, for convenience.
    let tokens = mock.tokens();
    if let Some(url) = mock.base_url(Api::Status) {
        println!("Beacon Status API  {url}");
        println!("  token            {}", tokens.status);
    }
    if let Some(url) = mock.base_url(Api::Panel) {
        println!("Beacon Panel API   {url}");
        println!("  token (acct_1)   {}", tokens.panel);
        println!("  token (acct_2)   {}", tokens.panel_other);
    }
    println!("Admin API: /__admin/ on each listener. Ctrl-C to stop.");
    shutdown_signal().await;
    tracing::info!("shutting down; letting in-flight requests finish");
    mock.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
