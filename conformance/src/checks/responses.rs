//! Checks that look at every response the run received: content type, envelope, schema and
//! rate-limit headers. Each reports per operation, with the first offending request; what a
//! response breaks is judged by `beacon_spec::exchange`, which `beacon-mock proxy` shares.

use std::time::SystemTime;

use beacon_spec::Operation;
use beacon_spec::exchange::{self, Breach};

use super::{Ctx, Stop};
use crate::check::Check;
use crate::client::Exchange;
use crate::report::Finding;

/// The exchanges of `op`; an error when its warm-up read got no response, or a skip when
/// the run sent it nothing.
fn observed(ctx: &Ctx, op: &Operation) -> Result<Vec<Exchange>, Stop> {
    if let Some(reason) = ctx.warm_up_failure(op) {
        return Err(Stop::Transport(format!(
            "the warm-up read of this operation: {reason}"
        )));
    }
    let exchanges: Vec<Exchange> = ctx
        .client
        .exchanges()
        .into_iter()
        .filter(|e| e.op.id == op.id)
        .collect();
    if exchanges.is_empty() {
        return Err(Stop::skip(
            "no selected check sent this operation (see --phases, --only and the mode)",
        ));
    }
    Ok(exchanges)
}

/// Records one finding per rule: the first offending exchange, with how many offended.
#[derive(Default)]
struct PerRule {
    found: Vec<(Finding, usize)>,
}

impl PerRule {
    /// Adds what the spec's judge found in `exchange`.
    fn add_all(&mut self, exchange: &Exchange, breaches: impl IntoIterator<Item = Breach>) {
        for breach in breaches {
            self.add(Finding::from_breach(breach).exchange(exchange));
        }
    }

    fn add(&mut self, finding: Finding) {
        match self
            .found
            .iter_mut()
            .find(|(f, _)| f.rule.id == finding.rule.id)
        {
            Some((_, count)) => *count += 1,
            None => self.found.push((finding, 1)),
        }
    }

    /// Records what `inspect` finds in each of `exchanges` into `out`, one finding per rule.
    fn collect(
        exchanges: &[Exchange],
        out: &mut Vec<Finding>,
        mut inspect: impl FnMut(&Exchange, &mut Self),
    ) -> Result<(), Stop> {
        let mut found = Self::default();
        for exchange in exchanges {
            inspect(exchange, &mut found);
        }
        found.finish(exchanges.len(), out);
        Ok(())
    }

    fn finish(self, total: usize, out: &mut Vec<Finding>) {
        for (mut finding, count) in self.found {
            if count > 1 {
                finding.message = format!("{} ({count} of {total} responses)", finding.message);
            }
            out.push(finding);
        }
    }
}

/// Judges every exchange of `op` the run saw with `judge`: one finding per rule.
fn judge_each<B: IntoIterator<Item = Breach>>(
    ctx: &Ctx,
    op: &'static Operation,
    out: &mut Vec<Finding>,
    mut judge: impl FnMut(&Exchange) -> B,
) -> Result<(), Stop> {
    let exchanges = observed(ctx, op)?;
    PerRule::collect(&exchanges, out, |exchange, found| {
        found.add_all(exchange, judge(exchange));
    })
}

pub(crate) fn content_type(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    judge_each(ctx, op, out, |exchange| {
        exchange::content_type(&exchange.observed())
    })
}

pub(crate) fn envelope(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    judge_each(ctx, op, out, |exchange| {
        exchange::envelope(ctx.api(), &exchange.observed(), exchange.json().as_ref())
    })
}

pub(crate) fn schema(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    judge_each(ctx, op, out, |exchange| {
        let response = exchange.observed();
        // A broken envelope is the envelope check's to report; the schema check judges
        // only bodies whose envelope is sound.
        match exchange.json() {
            Some(json) if exchange::envelope(ctx.api(), &response, Some(&json)).is_none() => {
                exchange::schema(op, &response, &json)
            }
            _ => Vec::new(),
        }
    })
}

pub(crate) fn rate_limit_headers(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let api = ctx.api();
    let exchanges: Vec<Exchange> = observed(ctx, op)?
        .into_iter()
        .filter(|e| exchange::rate_limit_headers_apply(api, &e.observed()))
        .collect();
    if exchanges.is_empty() {
        return Err(Stop::skip(
            "no authenticated response of this operation was observed",
        ));
    }
    let now = SystemTime::now();
    PerRule::collect(&exchanges, out, |exchange, found| {
        found.add_all(
            exchange,
            exchange::rate_limit_headers(api, &exchange.observed(), now),
        );
    })
}

pub(crate) fn status_code(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    judge_each(ctx, op, out, |exchange| {
        exchange::status_code(op, exchange.status)
    })
}
