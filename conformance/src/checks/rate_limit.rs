//! `rate-limit-countdown` and `rate-limit-probe`: Remaining counts down by one per request;
//! past the limit comes a 429 with the right headers, and after the reset, service again.

use std::time::Duration;

use beacon_spec::Operation;
use beacon_spec::exchange::integer_header;

use super::{Ctx, Stop};
use crate::check::{Check, Cost};
use crate::client::{ClientError, Exchange, Request, reset_seconds};
use crate::report::Finding;
use beacon_spec::exchange::{headers_rule, limits_rule};

/// Consecutive requests the countdown check sends.
pub(crate) const COUNTDOWN_REQUESTS: u32 = 4;

/// The probe's cost: a fresh window's worth of requests, the 429, and one after the reset.
/// A window that rolls over while probing takes more, from the budget's slack.
pub(crate) fn probe_cost(op: &Operation) -> Cost {
    Cost::fixed(op.api.rate_limit().tightest_limit() + 2)
}

pub(crate) fn countdown(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let policy = ctx.api().rate_limit();
    let request = Request::new(op, &[]);
    let mut previous: Option<u64> = None;
    for _ in 0..COUNTDOWN_REQUESTS {
        let exchange = ctx.send(&request)?;
        // Missing or malformed headers are the rate-limit-headers check's to report.
        let Ok(remaining) = integer_header(&exchange.observed(), policy.remaining_header) else {
            previous = None;
            continue;
        };
        if let Some(before) = previous {
            // A rise is a new window; anything else must be exactly one less.
            if remaining <= before && remaining + 1 != before {
                out.push(
                    Finding::new(
                        limits_rule(ctx.api()),
                        format!(
                            "{} went from {before} to {remaining} between two consecutive requests",
                            policy.remaining_header
                        ),
                    )
                    .expected(format!(
                        "{}: {}",
                        policy.remaining_header,
                        before.saturating_sub(1)
                    ))
                    .actual(format!("{}: {remaining}", policy.remaining_header))
                    .exchange(&exchange),
                );
                return Ok(());
            }
        }
        previous = Some(remaining);
    }
    Ok(())
}

pub(crate) fn probe(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let api = ctx.api();
    let policy = api.rate_limit();
    let limit = u64::from(policy.tightest_limit());
    let period = policy.period_secs();
    let request = Request::new(op, &[]);
    let send = |request: &Request| -> Result<Option<Exchange>, Stop> {
        match ctx.client.probe(request) {
            Ok(exchange) => Ok(Some(exchange)),
            Err(ClientError::BudgetSpent { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    };
    // Whether a window began while probing: then a spent budget proves nothing.
    let mut rolled_over = false;

    // Exhaust the window, counting the requests served in it.
    let mut previous: Option<u64> = None;
    let mut served_in_window: u64 = 0;
    let mut sent: u64 = 0;
    let throttled = loop {
        let Some(exchange) = send(&request)? else {
            if rolled_over || sent <= limit {
                return Err(Stop::Budget(ctx.config.max_requests));
            }
            out.push(
                Finding::new(
                    limits_rule(api),
                    format!("{sent} requests in a row were served without a 429"),
                )
                .expected(format!("429 after at most {limit} requests in one window"))
                .actual(format!("{sent} requests served")),
            );
            return Ok(());
        };
        sent += 1;
        if exchange.status == 429 {
            if let Some(before) = previous.filter(|&r| r > 0) {
                out.push(
                    Finding::new(
                        limits_rule(api),
                        format!("429 although the previous response said {before} remaining"),
                    )
                    .expected(format!(
                        "a 429 only once {} reaches 0",
                        policy.remaining_header
                    ))
                    .exchange(&exchange),
                );
            }
            break exchange;
        }
        if !exchange.is_success() {
            return Err(Stop::error(format!(
                "the probe's {} answered {}",
                request.describe(),
                exchange.status
            )));
        }
        let remaining = match integer_header(&exchange.observed(), policy.remaining_header) {
            Ok(remaining) => remaining,
            Err(problem) => {
                out.push(
                    Finding::new(headers_rule(api, &exchange.observed()), problem)
                        .expected(format!("an integer {}", policy.remaining_header))
                        .exchange(&exchange),
                );
                return Ok(());
            }
        };
        served_in_window = match previous {
            // The first response: count what the tightest window had used already, when the
            // headers describe it (another binding window says nothing about it).
            None => match integer_header(&exchange.observed(), policy.limit_header) {
                Ok(window) if window == limit => window.saturating_sub(remaining),
                _ => 1,
            },
            // A rise in Remaining: a new window began with this request.
            Some(before) if remaining > before => {
                rolled_over = true;
                1
            }
            Some(0) => {
                out.push(
                    Finding::new(
                        limits_rule(api),
                        "a request past the limit was served".to_owned(),
                    )
                    .expected(format!(
                        "429 once {} has reached 0",
                        policy.remaining_header
                    ))
                    .exchange(&exchange),
                );
                return Ok(());
            }
            Some(_) => served_in_window + 1,
        };
        if served_in_window > limit {
            out.push(
                Finding::new(
                    limits_rule(api),
                    format!("{served_in_window} requests were served in one window"),
                )
                .expected(format!("at most {limit} requests a window from one client"))
                .exchange(&exchange),
            );
            return Ok(());
        }
        previous = Some(remaining);
    };

    // The 429 itself.
    let mut problems = Vec::new();
    match integer_header(&throttled.observed(), policy.remaining_header) {
        Ok(0) => {}
        Ok(n) => problems.push(format!("{} is {n} on a 429", policy.remaining_header)),
        Err(problem) => problems.push(problem),
    }
    if let Err(problem) = integer_header(&throttled.observed(), policy.limit_header) {
        problems.push(problem);
    }
    let reset_header = policy.retry_after_header.or(policy.reset_header);
    let wait = match reset_header.map(|h| (h, integer_header(&throttled.observed(), h))) {
        Some((_, Ok(secs))) if secs <= period => secs,
        Some((header, Ok(secs))) => {
            problems.push(format!("{header} is {secs}, beyond the {period} s window"));
            period
        }
        Some((_, Err(problem))) => {
            problems.push(problem);
            reset_seconds(&throttled).unwrap_or(period).min(period)
        }
        None => period,
    };
    if !problems.is_empty() {
        let rule = if policy.retry_after_header.is_some() {
            limits_rule(api)
        } else {
            headers_rule(api, &throttled.observed())
        };
        out.push(
            Finding::new(rule, problems.join("; "))
                .expected(format!(
                    "429 with {} 0 and {} within the window",
                    policy.remaining_header,
                    reset_header.unwrap_or("a reset time")
                ))
                .exchange(&throttled),
        );
    }

    // Recovery after the announced reset.
    let pause = ctx
        .client
        .pause(Duration::from_secs(wait) + Duration::from_secs(1));
    let Some(recovered) = send(&request)? else {
        return Err(Stop::Budget(ctx.config.max_requests));
    };
    if !recovered.is_success() {
        out.push(
            Finding::new(
                limits_rule(api),
                format!(
                    "still refused {:.1} s after the 429 announced a reset in {wait} s",
                    pause.as_secs_f64()
                ),
            )
            .expected("a success once the window has reset")
            .exchange(&recovered),
        );
    }
    Ok(())
}
