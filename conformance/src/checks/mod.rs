//! The checks, one file per family, and what they share: the run context
//! ([`context`]), the property driver ([`property`]), state snapshots ([`snapshot`]) and
//! assertions on answers ([`assert`]).

mod assert;
pub(crate) mod auth;
mod context;
pub(crate) mod examples;
pub(crate) mod malformed;
pub(crate) mod not_found;
pub(crate) mod panel;
mod property;
pub(crate) mod rate_limit;
pub(crate) mod responses;
mod snapshot;
pub(crate) mod stateful;
pub(crate) mod status;

use beacon_spec::{Api, Operation};

pub(crate) use assert::{
    Rejection, data, ensure_accepted, error_code, error_message, listed_item, rejects_every,
};
pub(crate) use context::{Access, Ctx, PageTarget, SplitMix, Stop, Target, ensure};
pub(crate) use property::property;
pub(crate) use snapshot::{snapshot_cost, unchanged_after};

use crate::check::Check;
use crate::report::Outcome;

/// Runs `check` on `op` in the context's phase and turns what it found into an [`Outcome`]:
/// a transport failure, a spent budget or a deployment that cannot be checked is an error,
/// never a pass or a skip.
pub(crate) fn run_unit(ctx: &Ctx, check: &'static Check, op: &'static Operation) -> Outcome {
    let mut findings = Vec::new();
    let halted = match (check.run)(ctx, check, op, &mut findings) {
        Ok(()) => None,
        Err(Stop::Finding(finding)) => {
            findings.push(*finding);
            None
        }
        Err(stop) => Some(stop),
    };
    match halted {
        None => Outcome::from_findings(findings, ctx.config.strict),
        // What was found before the stop still counts.
        Some(_) if !findings.is_empty() => Outcome::from_findings(findings, ctx.config.strict),
        Some(Stop::Skip(reason)) => Outcome::Skipped(reason),
        Some(Stop::Budget(budget)) => Outcome::Errored(format!(
            "the check needed more requests than the plan gave it, and the budget of {budget} has no slack left; raise --max-requests"
        )),
        Some(Stop::Transport(reason)) => Outcome::Errored(format!("request failed: {reason}")),
        Some(Stop::Error(reason)) => Outcome::Errored(reason),
        Some(Stop::Finding(finding)) => Outcome::from_findings(vec![*finding], ctx.config.strict),
    }
}

/// The API's collection read without parameters (`GET /pages`, `GET /servers`): the
/// cheapest authenticated request, used for discovery and rate-limit checks.
pub(crate) fn list_operation(api: Api) -> Option<&'static Operation> {
    api.operations()
        .find(|op| op.path_params.is_empty() && !op.mutates && op.query.is_none())
}
