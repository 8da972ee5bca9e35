//! What checks assert about one answer: readers of the envelope, accepted and rejected.

use std::fmt;

use beacon_spec::{Operation, Rule};
use proptest::strategy::Strategy;
use serde_json::Value;

use super::{Ctx, Stop, ensure, property};
use crate::check::Check;
use crate::client::{Exchange, Request};
use crate::report::Finding;

/// The Status error code of a response, if it has one.
pub(crate) fn error_code(exchange: &Exchange) -> Option<String> {
    exchange.json()?["error"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// The Panel error message of a response, if it has one.
pub(crate) fn error_message(exchange: &Exchange) -> Option<String> {
    exchange.json()?["error"].as_str().map(str::to_owned)
}

/// The `data` of a success body, or `null` when there is none.
pub(crate) fn data(exchange: &Exchange) -> Value {
    exchange
        .json()
        .map(|b| b["data"].clone())
        .unwrap_or_default()
}

/// The first item of the list in the `data` of `exchange` that `matches`, if any.
pub(crate) fn listed_item(exchange: &Exchange, matches: impl Fn(&Value) -> bool) -> Option<Value> {
    exchange.json().and_then(|body| {
        body["data"]
            .as_array()?
            .iter()
            .find(|item| matches(item))
            .cloned()
    })
}

/// Reports `rule` with `message` unless `exchange` has the success status of `op`;
/// `answer` says what that success carries, e.g. "the console".
pub(crate) fn ensure_accepted(
    exchange: &Exchange,
    op: &Operation,
    rule: Rule,
    message: impl Into<String>,
    answer: &str,
) -> Result<(), Stop> {
    ensure(exchange.status == op.success_status, || {
        Finding::new(rule, message)
            .expected(format!("{} with {answer}", op.success_status))
            .exchange(exchange)
    })
}

/// How a negative input must be answered: with `status` and, on Status, the error `code`;
/// otherwise `rule` is reported, saying that `what` was not rejected as documented.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rejection {
    pub(crate) status: u16,
    pub(crate) code: Option<&'static str>,
    pub(crate) rule: Rule,
    pub(crate) what: &'static str,
}

impl Rejection {
    /// A Panel rejection: 400 in the error envelope.
    pub(crate) fn panel(rule: Rule, what: &'static str) -> Self {
        Self {
            status: 400,
            code: None,
            rule,
            what,
        }
    }

    /// Reports the rule unless `exchange` is rejected as documented.
    pub(crate) fn ensure(&self, exchange: &Exchange) -> Result<(), Stop> {
        let status = self.status;
        let actual_code = error_code(exchange);
        let code_ok = self
            .code
            .is_none_or(|code| actual_code.as_deref() == Some(code));
        ensure(exchange.status == status && code_ok, || {
            let expected = match self.code {
                Some(code) => format!("{status} with error code {code}"),
                None => format!("{status} in the error envelope"),
            };
            Finding::new(
                self.rule,
                format!("{} was not rejected as documented", self.what),
            )
            .expected(expected)
            .exchange(exchange)
        })
    }
}

/// Runs a property of `check` on `op` whose every input (the `boundary` values, then the
/// generated ones), sent as `request` builds it, must be rejected as `rejection` says.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rejects_every<S>(
    ctx: &Ctx,
    check: &Check,
    op: &Operation,
    boundary: Vec<S::Value>,
    strategy: S,
    request: impl Fn(&S::Value) -> Request,
    rejection: Rejection,
    out: &mut Vec<Finding>,
) -> Result<(), Stop>
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    property(
        ctx,
        check,
        op,
        boundary,
        strategy,
        |value| rejection.ensure(&ctx.send(&request(value))?),
        out,
    )
}
