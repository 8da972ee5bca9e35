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
//! - A run is planned before its first request ([`plan`]): every (check, operation, phase)
//!   unit with its cost; the fuzz phase's cases are fitted to [`Config::max_requests`], and
//!   a budget that cannot hold the minimum is refused before anything is sent.
//! - Phases ([`Phase`]): the documented examples, deterministic boundary values
//!   (coverage), and generated inputs (fuzz).
//! - A check that cannot do its work (a transport failure retried once, a spent budget) is
//!   an [`Outcome::Errored`] and fails the run; a skip is only for what the user did not
//!   allow.
//! - Safety: nothing that may change state is sent unless [`Config::allow_writes`] (and on
//!   Panel, only to [`Config::server_id`]); at most [`Config::max_requests`] requests are
//!   sent, every one counted; a 429 is waited out, never hammered; the token never appears
//!   in a report.

mod check;
mod checks;
mod client;
mod config;
mod error;
mod html;
mod plan;
mod progress;
mod report;
mod runner;
mod strategies;

pub use check::{CHECKS, Check, Kind, Phase, catalogue, find_check};
pub use config::{
    Config, DEFAULT_CASES, DEFAULT_TIMEOUT, ProgressMode, Token, default_max_requests, random_seed,
};
pub use error::ConformanceError;
pub use plan::{Plan, PlannedUnit};
pub use report::{
    CheckResult, Counts, Finding, Outcome, Report, RequestStats, ResponseSeen, error_json,
    error_junit,
};

use beacon_spec::Api;
use beacon_spec::rules::{self, Rule};
use serde_json::{Value, json};

/// Plans the run `config` describes without sending anything: every unit, its cost, and the
/// cases fitted to the budget.
///
/// Returns [`ConformanceError::BudgetTooSmall`], naming the smallest budget that would
/// do, when the budget cannot hold one generated case per property.
pub fn plan(config: &Config) -> Result<Plan, ConformanceError> {
    plan::build(config)
}

/// Plans and runs every applicable check against the deployment `config` describes.
///
/// Returns `Err` only when nothing can be checked (a usage mistake, a budget too small for
/// the plan, an unreachable deployment, a refused token); a deployment that breaks the
/// contract yields a [`Report`] whose [`Report::is_success`] is false.
pub fn run(config: &Config) -> Result<Report, ConformanceError> {
    run_plan(config, plan(config)?)
}

/// Runs a plan made by [`plan`] from the same `config`.
pub fn run_plan(config: &Config, plan: Plan) -> Result<Report, ConformanceError> {
    runner::run(config, plan)
}

/// The check catalogue of `apis` as JSON: each check with its kind, phases, description,
/// rules (id, provenance, statement) and the operations it runs on.
pub fn catalogue_json(apis: &[Api]) -> Value {
    let apis_json: Vec<Value> = apis
        .iter()
        .map(|&api| {
            let checks: Vec<Value> = catalogue(api)
                .map(|check| {
                    json!({
                        "name": check.name,
                        "kind": check.kind.label(),
                        "phases": check.kind.phases().iter().map(|p| p.name()).collect::<Vec<_>>(),
                        "description": check.description,
                        "operations": check.operations(api).iter().map(|op| op.name).collect::<Vec<_>>(),
                        "rules": check.rules_for(api).map(|rule| json!({
                            "id": rule.id,
                            "provenance": rule.provenance.tag(),
                            "statement": rule.statement,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({"api": api.name(), "title": api.title(), "checks": checks})
        })
        .collect();
    json!({"tool": "beacon-conformance", "version": env!("CARGO_PKG_VERSION"), "apis": apis_json})
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
