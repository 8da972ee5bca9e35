//! The run plan, built before the first request: every (check, operation, phase) unit the
//! configuration selects, what each costs, and whether the budget holds them all.

use std::fmt::Write as _;
use std::time::Duration;

use beacon_spec::{Api, Operation};
use serde_json::{Value, json};

use crate::check::{Check, Kind, Phase, catalogue, find_check};
use crate::checks::list_operation;
use crate::config::Config;
use crate::error::ConformanceError;

/// Everything a run will do, and what it will cost at most when the deployment behaves.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The API planned for.
    pub api: Api,
    /// The units, in run order: examples, coverage, fuzz, the probe, then the observers.
    pub units: Vec<PlannedUnit>,
    /// Requests before the first check: the discovery read and one read of every other
    /// read operation.
    pub setup: u32,
    /// Requests kept for the 429s of crossing rate-limit windows (one per window).
    pub throttle_allowance: u32,
    /// Generated cases per property in the fuzz phase, after fitting to the budget.
    pub cases: u32,
    /// The cases asked for (`--cases`).
    pub requested_cases: u32,
    /// The budget (`--max-requests`), a hard ceiling.
    pub budget: u32,
    /// The phases selected.
    pub phases: Vec<Phase>,
}

/// One check on one operation in one phase, or the reason it will not run.
#[derive(Debug, Clone)]
pub struct PlannedUnit {
    /// The check.
    pub check: &'static Check,
    /// The operation.
    pub operation: &'static Operation,
    /// The phase, for checks that run in one.
    pub phase: Option<Phase>,
    /// Why it will not run: only what the user chose not to allow.
    pub skip: Option<String>,
    /// The requests it may send.
    pub requests: u32,
}

impl PlannedUnit {
    /// `check · operation [phase]`, for display.
    pub fn title(&self) -> String {
        match self.phase {
            Some(phase) => format!(
                "{} · {} [{}]",
                self.check.name,
                self.operation.name,
                phase.name()
            ),
            None => format!("{} · {}", self.check.name, self.operation.name),
        }
    }
}

impl Plan {
    /// The most requests the run sends when the deployment behaves (shrinking a failure
    /// and extra settling reads come from the rest of the budget).
    pub fn requests(&self) -> u32 {
        self.setup
            .saturating_add(self.unit_requests())
            .saturating_add(self.throttle_allowance)
    }

    /// Saturating: a plan of more than `u32::MAX` requests fits no budget either way.
    fn unit_requests(&self) -> u32 {
        self.units
            .iter()
            .fold(0, |sum, u| sum.saturating_add(u.requests))
    }

    /// The units that will run.
    pub fn runnable(&self) -> impl Iterator<Item = &PlannedUnit> {
        self.units.iter().filter(|u| u.skip.is_none())
    }

    /// Whether the rate-limit probe will run.
    pub fn probes(&self) -> bool {
        self.runnable().any(|u| u.check.kind == Kind::Probe)
    }

    /// The longest the run may wait for rate-limit windows at the documented limits: one
    /// window per tightest limit's worth of requests, and the probe's wait for its reset.
    pub fn longest_wait(&self) -> Duration {
        let policy = self.api.rate_limit();
        let period = policy.period_secs();
        let windows = u64::from(self.requests() / policy.tightest_limit());
        let probe = if self.probes() { period + 1 } else { 0 };
        Duration::from_secs(windows * period + probe)
    }

    /// The plan as text: one line per unit with its requests, then the totals.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let runnable = self.runnable().count();
        let _ = writeln!(
            out,
            "plan: {runnable} checks to run, {} skipped · phases {} · {} cases{}",
            self.units.len() - runnable,
            self.phases
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(","),
            self.cases,
            if self.cases < self.requested_cases {
                format!(
                    " (lowered from {} to fit --max-requests {})",
                    self.requested_cases, self.budget
                )
            } else {
                String::new()
            }
        );
        for unit in &self.units {
            match &unit.skip {
                Some(reason) => {
                    let _ = writeln!(out, "  skip {:<52} {reason}", unit.title());
                }
                None => {
                    let _ = writeln!(out, "  {:>4} {}", unit.requests, unit.title());
                }
            }
        }
        let _ = writeln!(
            out,
            "plan: at most {} requests of a budget of {} ({} to discover, {} for the checks, {} for 429s at window edges) · waits for rate-limit windows up to {} s at the documented limits",
            self.requests(),
            self.budget,
            self.setup,
            self.unit_requests(),
            self.throttle_allowance,
            self.longest_wait().as_secs()
        );
        out
    }

    /// The plan for the JSON report.
    pub fn json(&self) -> Value {
        json!({
            "requests": self.requests(),
            "budget": self.budget,
            "setup": self.setup,
            "throttle_allowance": self.throttle_allowance,
            "cases": self.cases,
            "requested_cases": self.requested_cases,
            "phases": self.phases.iter().map(|p| p.name()).collect::<Vec<_>>(),
            "longest_wait_s": self.longest_wait().as_secs(),
            "units": self.units.iter().map(|u| json!({
                "check": u.check.name,
                "operation": u.operation.name,
                "phase": u.phase.map(Phase::name),
                "requests": u.requests,
                "skip": u.skip,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Builds the plan of `config`, fitting the fuzz phase's cases to the budget; refuses, naming
/// the smallest budget that would do, when even one case per property does not fit.
pub(crate) fn build(config: &Config) -> Result<Plan, ConformanceError> {
    validate(config)?;
    let checks = select(config)?;
    let mut phases = config.phases.clone();
    phases.sort();
    phases.dedup();
    let api = config.api;
    let mut units = Vec::new();
    for phase in &phases {
        for check in &checks {
            if check.kind.phases().contains(phase) {
                push_units(&mut units, config, check, Some(*phase));
            }
        }
    }
    for kind in [Kind::Probe, Kind::Observer] {
        for check in checks.iter().filter(|c| c.kind == kind) {
            push_units(&mut units, config, check, None);
        }
    }
    let setup = 1 + api
        .operations()
        .filter(|op| !op.mutates && list_operation(api).is_none_or(|l| l.id != op.id))
        .count() as u32;
    let mut plan = Plan {
        api,
        units,
        setup,
        throttle_allowance: 0,
        cases: config.cases,
        requested_cases: config.cases,
        budget: config.max_requests,
        phases,
    };
    let fuzzes = plan
        .runnable()
        .any(|u| matches!(u.phase, Some(Phase::Fuzz | Phase::Stateful)));
    plan.cost(config.cases);
    if plan.requests() > plan.budget && fuzzes && config.cases > 1 {
        // The most cases that fit: requests never fall as cases grow, so halve the range
        // between a count that fits (or 1) and one that does not.
        let (mut fits, mut over) = (1, config.cases);
        while over - fits > 1 {
            let middle = fits + (over - fits) / 2;
            plan.cost(middle);
            if plan.requests() <= plan.budget {
                fits = middle;
            } else {
                over = middle;
            }
        }
        plan.cost(fits);
    }
    if plan.requests() > plan.budget {
        let mut smallest = plan.clone();
        smallest.cost(1);
        return Err(ConformanceError::BudgetTooSmall {
            needed: smallest.requests(),
            budget: plan.budget,
        });
    }
    Ok(plan)
}

impl Plan {
    /// Prices every unit with `cases` per property, and the 429s the total will meet.
    fn cost(&mut self, cases: u32) {
        self.cases = cases;
        for unit in &mut self.units {
            unit.requests = if unit.skip.is_some() {
                0
            } else {
                (unit.check.cost)(unit.operation).of(unit.check.kind, unit.phase, cases)
            };
        }
        let limit = self.api.rate_limit().tightest_limit();
        self.throttle_allowance = self.setup.saturating_add(self.unit_requests()) / limit + 1;
    }
}

fn push_units(
    units: &mut Vec<PlannedUnit>,
    config: &Config,
    check: &'static Check,
    phase: Option<Phase>,
) {
    for operation in check.operations(config.api) {
        units.push(PlannedUnit {
            check,
            operation,
            phase,
            skip: gate(config, check, operation),
            requests: 0,
        });
    }
}

/// The longest `--timeout` accepted: an hour per request is past any deployment worth
/// checking, and far from the clock's overflow.
pub(crate) const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(3_600);

fn validate(config: &Config) -> Result<(), ConformanceError> {
    let usage = |message: &str| Err(ConformanceError::Usage(message.to_owned()));
    if config.cases == 0 {
        return usage("--cases must be at least 1");
    }
    if config.max_requests == 0 {
        return usage("--max-requests must be at least 1");
    }
    if config.phases.is_empty() {
        return usage("--phases must name at least one phase");
    }
    if config.request_timeout.is_zero() {
        return usage("--timeout must be at least 1 second");
    }
    if config.request_timeout > MAX_REQUEST_TIMEOUT {
        return Err(ConformanceError::Usage(format!(
            "--timeout must be at most {} seconds",
            MAX_REQUEST_TIMEOUT.as_secs()
        )));
    }
    // Neither of the next two echoes the URL: it could hold a password or a secret.
    let url = &config.base_url;
    if !url.username().is_empty() || url.password().is_some() {
        return usage(
            "--base-url must not hold a user name or password; the token goes in --token",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return usage("--base-url must not have a query or a fragment");
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConformanceError::Usage(format!(
            "--base-url must be an http or https URL, not {url}"
        )));
    }
    Ok(())
}

/// The checks to run, in catalogue order; an error names an unknown or foreign check.
fn select(config: &Config) -> Result<Vec<&'static Check>, ConformanceError> {
    let Some(only) = &config.only else {
        return Ok(catalogue(config.api).collect());
    };
    for name in only {
        match find_check(name) {
            None => {
                return Err(ConformanceError::Usage(format!(
                    "there is no check named {name}"
                )));
            }
            Some(check) if !check.applies_to(config.api) => {
                return Err(ConformanceError::Usage(format!(
                    "the check {name} does not apply to the {} API",
                    config.api.name()
                )));
            }
            Some(_) => {}
        }
    }
    Ok(catalogue(config.api)
        .filter(|check| only.iter().any(|name| name == check.name))
        .collect())
}

/// Why a unit must not run with this configuration, if it must not: only what the user
/// chose not to allow.
fn gate(config: &Config, check: &Check, op: &Operation) -> Option<String> {
    if check.kind == Kind::Probe && !config.probe_rate_limit {
        return Some("exhausts a rate-limit window; pass --probe-rate-limit".to_owned());
    }
    if check.kind == Kind::Stateful {
        if !config.allow_writes {
            return Some("sends sequences with writes; pass --allow-writes".to_owned());
        }
        if config.api == Api::Panel && config.server_id.is_none() {
            return Some("writes on Panel touch only --server-id; pass it".to_owned());
        }
        return None;
    }
    if check.kind == Kind::Observer && op.mutates && !config.allow_writes {
        return Some(format!(
            "a read-only run sends no {} to observe; pass --allow-writes",
            op.method.as_str()
        ));
    }
    if check.kind == Kind::Observer || !op.mutates {
        return None;
    }
    if !config.allow_writes {
        return Some(format!(
            "sends {} requests that may change state; pass --allow-writes",
            op.method.as_str()
        ));
    }
    let touches_a_real_server =
        op.path_params.iter().any(|p| p.name == "serverId") && check.name != "not-found";
    if config.api == Api::Panel && touches_a_real_server && config.server_id.is_none() {
        return Some("writes on Panel touch only --server-id; pass it".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Token;

    fn config(api: Api) -> Config {
        let url = url::Url::parse("http://127.0.0.1:1/api/v1").expect("a URL");
        Config::new(api, url, Token::new("t"))
    }

    fn usage_error(config: &Config) -> String {
        match build(config) {
            Err(ConformanceError::Usage(message)) => message,
            other => panic!("not a usage error: {other:?}"),
        }
    }

    #[test]
    fn cases_are_lowered_to_the_most_that_fit_even_from_the_largest_count() {
        for api in Api::ALL {
            let mut asked = config(api);
            asked.cases = 1_000;
            let lowered = build(&asked).expect("a plan");
            assert!(lowered.cases < 1_000, "{}", lowered.cases);
            assert!(lowered.requests() <= lowered.budget);
            // One more case would not fit.
            let mut more = lowered.clone();
            more.cost(lowered.cases + 1);
            assert!(more.requests() > more.budget);
            // The largest count lands on the same number, and its costs do not wrap.
            asked.cases = u32::MAX;
            let from_max = build(&asked).expect("a plan");
            assert_eq!(from_max.cases, lowered.cases);
            assert_eq!(from_max.requested_cases, u32::MAX);
            let mut whole = from_max.clone();
            whole.cost(u32::MAX);
            assert_eq!(whole.requests(), u32::MAX, "saturated, not wrapped");
        }
    }

    #[test]
    fn a_timeout_past_an_hour_and_a_url_with_credentials_or_a_query_are_usage_errors() {
        let mut long = config(Api::Panel);
        long.request_timeout = Duration::from_secs(u64::MAX);
        assert_eq!(usage_error(&long), "--timeout must be at most 3600 seconds");
        long.request_timeout = MAX_REQUEST_TIMEOUT;
        assert!(build(&long).is_ok());
        for (url, expected) in [
            (
                "http://user:secret@127.0.0.1:1/api/v1",
                "--base-url must not hold a user name or password; the token goes in --token",
            ),
            (
                "http://user@127.0.0.1:1/api/v1",
                "--base-url must not hold a user name or password; the token goes in --token",
            ),
            (
                "http://127.0.0.1:1/api/v1?x=1",
                "--base-url must not have a query or a fragment",
            ),
            (
                "http://127.0.0.1:1/api/v1#top",
                "--base-url must not have a query or a fragment",
            ),
        ] {
            let mut odd = config(Api::Status);
            odd.base_url = url::Url::parse(url).expect("a URL");
            assert_eq!(usage_error(&odd), expected, "{url}");
        }
    }
}
