//! One run of a plan: look around, run every unit in the plan's order within its share of
//! the budget, and gather the report.

use std::time::{Instant, SystemTime};

use beacon_spec::Api;
use beacon_spec::panel::ServerId;
use serde_json::Value;

use crate::checks::{self, Ctx, PageTarget, Target, list_operation};
use crate::client::{Client, ClientError, Request};
use crate::config::Config;
use crate::error::ConformanceError;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::report::{CheckResult, Outcome, Report};

/// Runs `plan` (built from `config`) against the deployment.
pub(crate) fn run(config: &Config, plan: Plan) -> Result<Report, ConformanceError> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    let mut config = config.clone();
    config.cases = plan.cases;
    let config = &config;
    let progress = Progress::new(config.progress);
    let client = Client::new(config, progress.clone()).map_err(ConformanceError::Usage)?;
    let limit = config.api.rate_limit().tightest_limit();
    // Keeps for every unit what the plan gives it, and its share of the 429 allowance.
    let reserve = |requests: u32| requests + requests / limit + 1;
    let mut remaining: u32 = plan.runnable().map(|u| u.requests).sum();
    client.reserve(reserve(remaining));
    let target = discover(config, &client)?;
    let ctx = Ctx::new(config, client, target);
    warm_up(&ctx);

    progress.set_total(plan.units.len() as u64);
    let mut results: Vec<CheckResult> = Vec::with_capacity(plan.units.len());
    for unit in &plan.units {
        let title = unit.title();
        progress.start(&title);
        remaining -= unit.requests;
        ctx.client.reserve(if remaining == 0 {
            0
        } else {
            reserve(remaining)
        });
        ctx.set_phase(unit.phase);
        let unit_started = Instant::now();
        let waited_before = ctx.client.waited();
        let sent_before = ctx.client.total_sent();
        let outcome = match &unit.skip {
            Some(reason) => Outcome::Skipped(reason.clone()),
            None => checks::run_unit(&ctx, unit.check, unit.operation),
        };
        progress.finish_one(&title, outcome.tag());
        let waited = ctx.client.waited() - waited_before;
        results.push(CheckResult {
            check: unit.check,
            operation: Some(unit.operation),
            phase: unit.phase,
            outcome,
            elapsed: unit_started.elapsed().saturating_sub(waited),
            waited,
            requests: ctx.client.total_sent() - sent_before,
        });
    }
    progress.finish();

    let mut report = Report {
        api: config.api,
        base_url: config.base_url.to_string(),
        token: config.token.redacted(),
        seed: config.seed,
        cases: config.cases,
        strict: config.strict,
        allow_writes: config.allow_writes,
        fail_on_skip: config.fail_on_skip,
        started_at,
        results,
        requests: ctx.client.stats(plan.requests()),
        responses: ctx.client.responses_seen(),
        created: ctx.created(),
        plan,
        elapsed: started.elapsed(),
    };
    report.scrub(&config.token);
    Ok(report)
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
            if let Some(id) = chosen.as_ref().filter(|id| !target.servers.contains(id)) {
                // A typo, or a server of another account: the user's mistake, not the
                // deployment's, so nothing is checked against it.
                return Err(ConformanceError::Usage(format!(
                    "--server-id {id} is not one of the servers this token lists ({})",
                    if target.servers.is_empty() {
                        "none".to_owned()
                    } else {
                        target.servers.join(", ")
                    }
                )));
            }
            target.read_server = chosen.clone().or_else(|| target.servers.first().cloned());
            target.write_server = chosen;
        }
    }
    Ok(target)
}

/// Reads every read operation once with the token, so that the observers see a success
/// body of each (errors are left to the checks; a spent budget simply ends it). A read that
/// gets no response is noted, and the checks of that operation's responses report it as an
/// error: a transport failure is never a pass or a skip.
fn warm_up(ctx: &Ctx) {
    let list = list_operation(ctx.api());
    for op in ctx.api().operations() {
        if op.mutates || list.is_some_and(|l| l.id == op.id) {
            continue;
        }
        let Ok(params) = ctx.params(op, checks::Access::Read) else {
            continue;
        };
        match ctx.client.send(&Request::new(op, &params)) {
            Ok(_) => {}
            Err(ClientError::BudgetSpent { .. }) => return,
            Err(error @ ClientError::Transport { .. }) => ctx.warm_up_failed(op, error.to_string()),
        }
    }
}
