//! Property-based contract checks for any deployment of the Beacon Status or Panel API.
//!
//! `beacon-conformance` takes a base URL and a token and says whether the implementation
//! behind them honours the Beacon contract, precisely enough to name a single broken rule
//! and safely enough to run in CI against staging or production.
//!
//! # Getting started
//!
//! ```no_run
//! use beacon_conformance::{Config, Token, run};
//! use beacon_spec::Api;
//!
//! // Arrange
//! let url = "http://127.0.0.1:4011/api/v1".parse()?;
//! let config = Config::new(Api::Panel, url, Token::new("panel_acct1_7f3c9a2b5d1e4f60"));
//! // Act
//! let report = run(&config)?;
//! // Assert
//! print!("{}", report.human());
//! assert!(report.is_success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Concepts
//!
//! - The [`Check`] catalogue ([`CHECKS`]) is driven by the spec crate: each check runs once per
//!   operation of `beacon_spec::catalog::OPERATIONS` it applies to, and every failure names a
//!   `beacon_spec::rules` [`Rule`] with its provenance.
//! - A broken `[ours]` rule only warns ([`Outcome::Warned`]) unless [`Config::strict`].
//! - Observer checks (content type, envelope, schema, rate-limit headers) judge every
//!   response the other checks received, errors included.
//! - Property checks generate inputs with proptest from [`Config::seed`]; a failure is
//!   shrunk and reported with its input, a curl command (token redacted) and the seed.
//! - Safety: nothing that may change state is sent unless [`Config::allow_writes`] (and on
//!   Panel, only to [`Config::server_id`]); at most [`Config::max_requests`] requests are
//!   sent (the rate-limit probe has its own allowance, [`Config::probe_allowance`]); a 429
//!   is waited out, never hammered; the token never appears in a report.

mod check;
mod checks;
mod client;
mod config;
mod error;
mod progress;
mod report;
mod runner;
mod strategies;

pub use check::{CHECKS, Check, Kind, catalogue, find_check};
pub use config::{Config, DEFAULT_CASES, ProgressMode, Token, default_max_requests, random_seed};
pub use error::ConformanceError;
pub use report::{CheckResult, Counts, Finding, Outcome, Report, RequestStats};

use beacon_spec::Api;
use beacon_spec::rules::{self, Rule};

/// Runs every applicable check against the deployment `config` describes.
///
/// Returns `Err` only when nothing can be checked (a usage mistake, an unreachable
/// deployment, a refused token); a deployment that breaks the contract yields a
/// [`Report`] whose [`Report::is_success`] is false.
pub fn run(config: &Config) -> Result<Report, ConformanceError> {
    runner::run(config)
}

/// The check catalogue of `apis` as text: each check's name, kind, what it asserts and its
/// rules with their provenance; then the API's rules that no check enforces.
///
/// ```
/// // Arrange, Act
/// let text = beacon_conformance::render_catalogue(&[beacon_spec::Api::Status]);
/// // Assert
/// assert!(text.contains("auth.required [doc]"));
/// assert!(!text.contains("power-sequence"));
/// ```
pub fn render_catalogue(apis: &[Api]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for &api in apis {
        let _ = writeln!(out, "{} ({})", api.title(), api.name());
        for check in catalogue(api) {
            let _ = writeln!(
                out,
                "  {:<24} [{}] {}",
                check.name,
                check.kind.label(),
                check.description
            );
            for rule in check.rules_for(api) {
                let _ = writeln!(
                    out,
                    "  {:<24}   {} [{}] {}",
                    "", rule.id, rule.provenance, rule.statement
                );
            }
        }
        let unchecked: Vec<&Rule> = rules::ALL
            .iter()
            .filter(|rule| rule.api.is_none_or(|a| a == api))
            .filter(|rule| !catalogue(api).any(|check| check.rules.contains(rule)))
            .collect();
        if !unchecked.is_empty() {
            let _ = writeln!(out, "  rules no check enforces (the mock implements them):");
            for rule in unchecked {
                let _ = writeln!(
                    out,
                    "  {:<24}   {} [{}] {}",
                    "", rule.id, rule.provenance, rule.statement
                );
            }
        }
        out.push('\n');
    }
    out
}
