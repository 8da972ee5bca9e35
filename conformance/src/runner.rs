//! One run: look around, plan every (check, operation) unit, run them in a safe order, and
//! gather the report.

use std::time::Instant;

use beacon_spec::panel::ServerId;
use beacon_spec::{Api, Operation};
use serde_json::Value;

use crate::check::{Check, Kind, catalogue, find_check};
use crate::checks::{self, Ctx, PageTarget, Target, list_operation};
use crate::client::{Client, ClientError, Request};
use crate::config::Config;
use crate::error::ConformanceError;
use crate::progress::Progress;
use crate::report::{CheckResult, Outcome, Report};

/// Runs every check of the catalogue that applies to `config.api` against the deployment.
pub(crate) fn run(config: &Config) -> Result<Report, ConformanceError> {
    let started = Instant::now();
    let selected = select(config)?;
    let progress = Progress::new(config.progress);
    let client = Client::new(config, progress.clone()).map_err(ConformanceError::Usage)?;
    let target = discover(config, &client)?;
    let ctx = Ctx::new(config, client, target);
    warm_up(&ctx);

    // Plan: (catalogue position, check, operation, reason to skip).
    let mut units: Vec<Unit> = Vec::new();
    for (position, check) in selected.iter().enumerate() {
        let ops = checks::operations(check, config.api);
        if ops.is_empty() {
            units.push(Unit {
                position,
                check,
                op: None,
                skip: Some("no operation of this API applies".to_owned()),
            });
        }
        for op in ops {
            units.push(Unit {
                position,
                check,
                op: Some(op),
                skip: gate(config, check, op),
            });
        }
    }
    progress.set_total(units.len() as u64);

    // Run: requests first, the probe after them (it exhausts a window), then the observers
    // (they judge every response, the probe's included).
    let phase = |unit: &Unit| match unit.check.kind {
        Kind::Scenario | Kind::Property => 0,
        Kind::Probe => 1,
        Kind::Observer => 2,
    };
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&i| (phase(&units[i]), i));
    let mut results: Vec<(usize, CheckResult)> = Vec::with_capacity(units.len());
    let mut probe_ran = false;
    for index in order {
        let unit = &units[index];
        let title = match unit.op {
            Some(op) => format!("{} · {}", unit.check.name, op.name),
            None => unit.check.name.to_owned(),
        };
        progress.start(&title);
        let unit_started = Instant::now();
        let sent_before = ctx.client.total_sent();
        let outcome = match (&unit.skip, unit.op) {
            (Some(reason), _) => Outcome::Skipped(reason.clone()),
            (None, None) => Outcome::Skipped("no operation of this API applies".to_owned()),
            (None, Some(op)) => {
                probe_ran |= unit.check.kind == Kind::Probe;
                checks::run_unit(&ctx, unit.check, op)
            }
        };
        progress.finish_one(&title, outcome_tag(&outcome));
        results.push((
            index,
            CheckResult {
                check: unit.check,
                operation: unit.op,
                outcome,
                elapsed: unit_started.elapsed(),
                requests: ctx.client.total_sent() - sent_before,
            },
        ));
    }
    progress.finish();
    results.sort_by_key(|(index, _)| (units[*index].position, *index));

    let mut report = Report {
        api: config.api,
        base_url: config.base_url.to_string(),
        token: config.token.redacted(),
        seed: config.seed,
        cases: config.cases,
        strict: config.strict,
        allow_writes: config.allow_writes,
        results: results.into_iter().map(|(_, result)| result).collect(),
        requests: ctx.client.stats(probe_ran),
        elapsed: started.elapsed(),
    };
    report.scrub(&config.token);
    Ok(report)
}

struct Unit {
    position: usize,
    check: &'static Check,
    op: Option<&'static Operation>,
    skip: Option<String>,
}

fn outcome_tag(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "PASS",
        Outcome::Warned(_) => "WARN",
        Outcome::Failed(_) => "FAIL",
        Outcome::Skipped(_) => "SKIP",
    }
}

/// The checks to run, in catalogue order; an error names an unknown or foreign check.
fn select(config: &Config) -> Result<Vec<&'static Check>, ConformanceError> {
    if config.cases == 0 {
        return Err(ConformanceError::Usage(
            "--cases must be at least 1".to_owned(),
        ));
    }
    if config.max_requests == 0 {
        return Err(ConformanceError::Usage(
            "--max-requests must be at least 1".to_owned(),
        ));
    }
    if !matches!(config.base_url.scheme(), "http" | "https") {
        return Err(ConformanceError::Usage(format!(
            "--base-url must be an http or https URL, not {}",
            config.base_url
        )));
    }
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

/// Why a unit must not run with this configuration, if it must not.
fn gate(config: &Config, check: &Check, op: &Operation) -> Option<String> {
    if check.kind == Kind::Probe && !config.probe_rate_limit {
        return Some("exhausts a rate-limit window; pass --probe-rate-limit".to_owned());
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
    let touches_a_real_server = op.path_params.iter().any(|p| p.name == "serverId")
        && check.id != crate::check::CheckId::NotFound;
    if config.api == Api::Panel && touches_a_real_server && config.server_id.is_none() {
        return Some("writes on Panel touch only --server-id; pass it".to_owned());
    }
    None
}

/// Reads the API's collection with the token: proves the deployment answers and the token
/// works, and finds the page or server the checks use.
fn discover(config: &Config, client: &Client) -> Result<Target, ConformanceError> {
    let list = list_operation(config.api).ok_or_else(|| {
        ConformanceError::Usage(format!(
            "the {} API has no collection to read",
            config.api.name()
        ))
    })?;
    let request = Request::new(list, &[]);
    let exchange = client.send(&request).map_err(|error| match error {
        ClientError::Transport { url, reason } => ConformanceError::Connection { url, reason },
        ClientError::BudgetSpent { budget } => {
            ConformanceError::Usage(format!("the request budget of {budget} is too small"))
        }
    })?;
    if exchange.status == 401 {
        return Err(ConformanceError::TokenRefused {
            token: config.token.redacted(),
            request: request.describe(),
        });
    }
    let discovery_error = |detail: &str| ConformanceError::Discovery {
        request: request.describe(),
        status: exchange.status,
        detail: detail.to_owned(),
    };
    if !exchange.is_success() {
        return Err(discovery_error(&config.token.scrub(&exchange.summary())));
    }
    let items = exchange
        .json()
        .and_then(|body| body.get("data").and_then(Value::as_array).cloned())
        .ok_or_else(|| discovery_error("the body has no data array"))?;
    let string = |item: &Value, field: &str| item[field].as_str().map(str::to_owned);
    let mut target = Target::default();
    match config.api {
        Api::Status => {
            target.slugs = items.iter().filter_map(|p| string(p, "slug")).collect();
            target.page = items.first().and_then(|page| {
                Some(PageTarget {
                    slug: string(page, "slug")?,
                    id: string(page, "id")?,
                })
            });
        }
        Api::Panel => {
            target.servers = items
                .iter()
                .filter_map(|s| string(s, "id"))
                .map(|id| ServerId(id).path_segment().to_owned())
                .collect();
            let chosen = config
                .server_id
                .as_deref()
                .map(|id| ServerId(id.to_owned()).path_segment().to_owned());
            target.read_server = chosen.clone().or_else(|| target.servers.first().cloned());
            target.write_server = chosen;
        }
    }
    Ok(target)
}

/// Reads every read operation once with the token, so that the observers see a success
/// body of each (errors are left to the checks; a spent budget simply ends it).
fn warm_up(ctx: &Ctx) {
    let list = list_operation(ctx.api());
    for op in ctx.api().operations() {
        if op.mutates || list.is_some_and(|l| l.id == op.id) {
            continue;
        }
        let Ok(params) = ctx.params(op, checks::Access::Read) else {
            continue;
        };
        if ctx.client.send(&Request::new(op, &params)).is_err() {
            return;
        }
    }
}
