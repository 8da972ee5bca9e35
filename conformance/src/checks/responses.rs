//! Checks that look at every response the run received: content type, envelope, schema and
//! rate-limit headers. Each reports per operation, with the first offending request.

use std::cell::RefCell;
use std::collections::HashMap;

use beacon_spec::rate_limit::{RateLimitPolicy, RateScope};
use beacon_spec::{Api, Operation, Provenance, Rule, SchemaValidator, Violation, WireType, rules};
use serde_json::Value;

use super::rate_limit::{headers_rule, limits_rule};
use super::{Ctx, Stop};
use crate::check::Check;
use crate::client::Exchange;
use crate::client::retry_after_seconds;
use crate::report::Finding;

/// The exchanges of `op`, or a skip when the run saw none.
fn observed(ctx: &Ctx, op: &Operation) -> Result<Vec<Exchange>, Stop> {
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

pub(crate) fn content_type(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let exchanges = observed(ctx, op)?;
    PerRule::collect(&exchanges, out, |exchange, found| {
        let header = exchange.header("content-type");
        let is_json = header.is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
        });
        if !is_json {
            found.add(
                Finding::new(
                    rules::JSON_CONTENT_TYPE,
                    format!("a {} response is not declared as JSON", exchange.status),
                )
                .expected("Content-Type: application/json")
                .actual(format!("Content-Type: {}", header.unwrap_or("(none)")))
                .exchange(exchange),
            );
        }
    })
}

/// What is wrong with the envelope of `exchange`, as a finding, if anything.
fn envelope_problem(api: Api, exchange: &Exchange) -> Option<Finding> {
    let success = exchange.is_success();
    let body = exchange.json();
    let object = body.as_ref().and_then(Value::as_object);
    let (rule, expected, problem): (Rule, &str, Option<String>) = match (api, success) {
        (Api::Status, true) => (
            rules::STATUS_ENVELOPE,
            "{\"data\": ...} and nothing else",
            match object {
                None => Some("the success body is not a JSON object".into()),
                Some(o) if !o.contains_key("data") => Some("the success body has no data".into()),
                Some(o) if o.len() > 1 => {
                    let extra: Vec<&String> = o.keys().filter(|k| *k != "data").collect();
                    Some(format!("the success body has more than data: {extra:?}"))
                }
                Some(_) => None,
            },
        ),
        (Api::Status, false) => {
            let code_ok = |e: &serde_json::Map<String, Value>| {
                e.get("code").and_then(Value::as_str).is_some_and(|code| {
                    code.starts_with(|c: char| c.is_ascii_lowercase())
                        && code
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
            };
            (
                rules::STATUS_ERROR_SHAPE,
                "{\"error\": {\"code\": \"<snake_case>\", \"message\": \"...\"}} and no data",
                match object {
                    None => Some("the error body is not a JSON object".into()),
                    Some(o) if o.contains_key("data") => Some("the error body has data".into()),
                    Some(o) => match o.get("error").and_then(Value::as_object) {
                        None => Some("the error body has no error object".into()),
                        Some(e) if !code_ok(e) => {
                            Some("the error object has no snake_case code".into())
                        }
                        Some(e) if !e.get("message").is_some_and(Value::is_string) => {
                            Some("the error object has no message".into())
                        }
                        Some(_) => None,
                    },
                },
            )
        }
        (Api::Panel, true) => (
            rules::PANEL_ENVELOPE,
            "{\"success\": true, \"data\": ...} without error",
            match object {
                None => Some("the success body is not a JSON object".into()),
                Some(o) if o.get("success") != Some(&Value::Bool(true)) => {
                    Some("a success response lacks \"success\": true".into())
                }
                Some(o) if !o.contains_key("data") => Some("the success body has no data".into()),
                Some(o) if o.contains_key("error") => {
                    Some("the success body has both data and error".into())
                }
                Some(_) => None,
            },
        ),
        (Api::Panel, false) => (
            rules::PANEL_ENVELOPE,
            "{\"success\": false, \"error\": \"<message>\"} without data",
            match object {
                None => Some("the error body is not a JSON object".into()),
                Some(o) if o.get("success") != Some(&Value::Bool(false)) => {
                    Some("an error response lacks \"success\": false".into())
                }
                Some(o) if !o.get("error").is_some_and(Value::is_string) => {
                    Some("the error body has no error message".into())
                }
                Some(o) if o.contains_key("data") => {
                    Some("the error body has both data and error".into())
                }
                Some(_) => None,
            },
        ),
    };
    problem.map(|message| {
        Finding::new(rule, format!("{} ({})", message, exchange.status))
            .expected(expected)
            .exchange(exchange)
    })
}

pub(crate) fn envelope(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let exchanges = observed(ctx, op)?;
    PerRule::collect(&exchanges, out, |exchange, found| {
        if let Some(finding) = envelope_problem(ctx.api(), exchange) {
            found.add(finding);
        }
    })
}

thread_local! {
    static VALIDATORS: RefCell<HashMap<&'static str, std::rc::Rc<SchemaValidator>>> =
        RefCell::new(HashMap::new());
}

/// The compiled validator of `wire_type`, compiled once per thread.
fn validator(wire_type: &WireType) -> std::rc::Rc<SchemaValidator> {
    VALIDATORS.with(|cache| {
        cache
            .borrow_mut()
            .entry(wire_type.name)
            .or_insert_with(|| std::rc::Rc::new(SchemaValidator::new(wire_type)))
            .clone()
    })
}

/// Whether `violation` is only about a property the schema does not list (an unknown
/// field), which no document forbids: `additionalProperties: false` is ours.
fn is_unknown_field(violation: &Violation) -> bool {
    // The message starts with the keyword's own text; an instance value quoted in another
    // keyword's message (`"unexpected" is not one of …`) cannot pass for it.
    [
        "Additional properties are not allowed",
        "Unevaluated properties are not allowed",
    ]
    .iter()
    .any(|text| violation.message.starts_with(text))
}

/// Splits the violations of a body of an operation (or error envelope) whose shape has
/// `provenance` by the rule they break: unknown fields, and anything in a shape that is
/// ours, break [`rules::RESPONSE_SCHEMA_OURS`]; the rest break [`rules::RESPONSE_SCHEMA`].
fn schema_rules(provenance: Provenance, violations: Vec<Violation>) -> Vec<(Rule, Vec<Violation>)> {
    if provenance == Provenance::Ours {
        return vec![(rules::RESPONSE_SCHEMA_OURS, violations)];
    }
    let (unknown, other): (Vec<Violation>, Vec<Violation>) =
        violations.into_iter().partition(is_unknown_field);
    [
        (rules::RESPONSE_SCHEMA, other),
        (rules::RESPONSE_SCHEMA_OURS, unknown),
    ]
    .into_iter()
    .filter(|(_, violations)| !violations.is_empty())
    .collect()
}

pub(crate) fn schema(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let exchanges = observed(ctx, op)?;
    let api = ctx.api();
    PerRule::collect(&exchanges, out, |exchange, found| {
        // A broken envelope is the envelope check's to report; the schema check judges
        // only bodies whose envelope is sound.
        if envelope_problem(api, exchange).is_some() {
            return;
        }
        let Some(body) = exchange.json() else {
            return;
        };
        let wire_type = if exchange.is_success() {
            op.response
        } else {
            api.error_body()
        };
        let violations = validator(&wire_type).violations(&body);
        if violations.is_empty() {
            return;
        }
        // A success body has its operation's provenance; a Panel error body is the
        // documented envelope; a Status error body's shape is an ours rule of its own.
        let by_rule = match (exchange.is_success(), api) {
            (true, _) => schema_rules(op.provenance, violations),
            (false, Api::Panel) => schema_rules(Provenance::Documented, violations),
            (false, Api::Status) => vec![(rules::STATUS_ERROR_SHAPE, violations)],
        };
        for (rule, violations) in by_rule {
            let listed: Vec<String> = violations.iter().take(3).map(ToString::to_string).collect();
            let more = violations.len().saturating_sub(listed.len());
            found.add(
                Finding::new(
                    rule,
                    format!(
                        "a {} body breaks the {} schema: {}{}",
                        exchange.status,
                        wire_type.name,
                        listed.join("; "),
                        if more > 0 {
                            format!(" (and {more} more)")
                        } else {
                            String::new()
                        }
                    ),
                )
                .expected(format!("a body valid against {}", wire_type.name))
                .exchange(exchange),
            );
        }
    })
}

/// Parses an integer rate-limit header; `Err` says what is wrong with it.
pub(super) fn integer_header(exchange: &Exchange, name: &str) -> Result<u64, String> {
    match exchange.header(name) {
        None => Err(format!("{name} is missing")),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("{name} is not an integer: {value:?}")),
    }
}

pub(crate) fn rate_limit_headers(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let api = ctx.api();
    let policy = api.rate_limit();
    let exchanges: Vec<Exchange> = observed(ctx, op)?
        .into_iter()
        .filter(|e| policy.headers_on_unauthenticated || (e.authenticated && e.status != 401))
        .collect();
    if exchanges.is_empty() {
        return Err(Stop::skip(
            "no authenticated response of this operation was observed",
        ));
    }
    let limits_rule = limits_rule(api);
    let binding = policy.tightest_limit();
    let period = policy.period_secs();
    PerRule::collect(&exchanges, out, |exchange, found| {
        let mut headers = Vec::new();
        let limit = integer_header(exchange, policy.limit_header).map_err(|e| headers.push(e));
        let remaining =
            integer_header(exchange, policy.remaining_header).map_err(|e| headers.push(e));
        if let Some(reset_header) = policy.reset_header {
            match integer_header(exchange, reset_header) {
                Ok(reset) if reset > period => headers.push(format!(
                    "{reset_header} is {reset}, beyond the {period} s window"
                )),
                Ok(_) => {}
                Err(e) => headers.push(e),
            }
        }
        if let (Ok(limit), Ok(remaining)) = (limit, remaining) {
            if remaining > limit {
                headers.push(format!(
                    "{} ({remaining}) exceeds {} ({limit})",
                    policy.remaining_header, policy.limit_header
                ));
            }
        }
        if !headers.is_empty() {
            let rule = headers_rule(api, exchange);
            let on = if rule == rules::PANEL_RATE_HEADERS {
                "a 429"
            } else if rule == rules::PANEL_RATE_HEADERS_EVERY_RESPONSE {
                "every authenticated response"
            } else if rule == rules::STATUS_UNAUTHENTICATED_COUNTED {
                "every response, unauthenticated ones included"
            } else {
                "every response"
            };
            found.add(
                Finding::new(rule, headers.join("; "))
                    .expected(format!(
                        "integer {} on {on}",
                        policy.headers().collect::<Vec<_>>().join(", ")
                    ))
                    .exchange(exchange),
            );
        }
        if let Ok(limit) = limit {
            if limit != u64::from(binding) && !wider_may_bind(policy, limit, remaining) {
                let wider = policy
                    .windows
                    .iter()
                    .find(|w| u64::from(w.limit) == limit && w.limit != binding);
                let (rule, message) = match wider {
                    Some(window) => (
                        rules::STATUS_BINDING_WINDOW,
                        format!(
                            "{} is {limit}, the {} window, not the binding {} window of {binding}",
                            policy.limit_header,
                            scope_name(window.scope),
                            policy
                                .windows
                                .iter()
                                .find(|w| w.limit == binding)
                                .map_or("tightest", |w| scope_name(w.scope))
                        ),
                    ),
                    None => (
                        limits_rule,
                        format!(
                            "{} is {limit}, not the documented {binding}",
                            policy.limit_header
                        ),
                    ),
                };
                found.add(
                    Finding::new(rule, message)
                        .expected(format!("{}: {binding}", policy.limit_header))
                        .actual(format!("{}: {limit}", policy.limit_header))
                        .exchange(exchange),
                );
            }
        }
        if exchange.status == 429 {
            if let Some(retry_after) = policy.retry_after_header {
                match retry_after_seconds(exchange, retry_after) {
                    Ok(secs) if secs <= period => {}
                    Ok(secs) => found.add(
                        Finding::new(
                            limits_rule,
                            format!("{retry_after} is {secs}, beyond the {period} s window"),
                        )
                        .expected(format!("{retry_after}: 0..={period}"))
                        .exchange(exchange),
                    ),
                    Err(e) => found.add(
                        Finding::new(
                            limits_rule,
                            format!("a 429 without a usable {retry_after}: {e}"),
                        )
                        .expected(format!("{retry_after}: <seconds until the window resets>"))
                        .exchange(exchange),
                    ),
                }
            }
        }
    })
}

/// Whether a `limit` of a wider window can be the binding one: only when it has fewer
/// requests left than the tightest window can have after this request (its limit - 1),
/// e.g. right after the per-IP window rolled over while the per-workspace one did not.
fn wider_may_bind(policy: &RateLimitPolicy, limit: u64, remaining: Result<u64, ()>) -> bool {
    let tightest = u64::from(policy.tightest_limit());
    limit > tightest
        && policy.windows.iter().any(|w| u64::from(w.limit) == limit)
        && remaining.is_ok_and(|remaining| remaining + 1 < tightest)
}

fn scope_name(scope: RateScope) -> &'static str {
    match scope {
        RateScope::Workspace => "per-workspace",
        RateScope::ClientIp => "per-IP",
        RateScope::Token => "per-token",
    }
}

/// The statuses the Panel document lists; any other is undocumented.
const PANEL_DOCUMENTED_STATUSES: [u16; 7] = [200, 400, 401, 403, 404, 429, 500];

pub(crate) fn status_code(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let exchanges = observed(ctx, op)?;
    let listed: Vec<u16> = std::iter::once(op.success_status)
        .chain(op.error_statuses().iter().map(|e| e.status))
        .collect();
    PerRule::collect(&exchanges, out, |exchange, found| {
        let status = exchange.status;
        if listed.contains(&status) {
            return;
        }
        let documented_list = ctx.api() == Api::Panel;
        let (rule, expected) = if documented_list && !PANEL_DOCUMENTED_STATUSES.contains(&status) {
            (
                rules::PANEL_STATUS_CODES,
                format!("one of the documented {PANEL_DOCUMENTED_STATUSES:?}"),
            )
        } else {
            (
                rules::RESPONSE_STATUS_LISTED,
                format!("one of {listed:?}, the statuses listed for {}", op.name),
            )
        };
        found.add(
            Finding::new(
                rule,
                format!("{} answered the undocumented status {status}", op.name),
            )
            .expected(expected)
            .exchange(exchange),
        );
    })
}

#[cfg(test)]
mod tests {
    use beacon_spec::catalog::operation;
    use beacon_spec::{OperationId, Provenance, SchemaValidator, rules};
    use serde_json::{Value, json};

    use super::schema_rules;

    fn page() -> Value {
        json!({"data": [{
            "id": "pg_0123456789ab",
            "name": "Acme",
            "slug": "acme",
            "is_public": true,
            "timezone": "Europe/Paris",
            "created_at": "2026-03-15T10:00:00Z",
            "updated_at": "2026-03-15T10:00:00Z",
        }]})
    }

    /// The rules the schema check attributes `body`'s violations to, as a documented
    /// `list_pages` body.
    fn rule_ids(body: &Value) -> Vec<&'static str> {
        let op = operation(OperationId::ListPages);
        assert_eq!(op.provenance, Provenance::Documented);
        let violations = SchemaValidator::new(&op.response).violations(body);
        assert!(!violations.is_empty(), "the body is invalid");
        schema_rules(op.provenance, violations)
            .into_iter()
            .map(|(rule, _)| rule.id)
            .collect()
    }

    #[test]
    fn an_unknown_field_alone_breaks_only_the_ours_schema_rule() {
        let mut body = page();
        body["data"][0]["theme"] = json!("dark");
        assert_eq!(rule_ids(&body), [rules::RESPONSE_SCHEMA_OURS.id]);
    }

    #[test]
    fn a_documented_violation_breaks_the_documented_schema_rule() {
        let mut body = page();
        body["data"][0]["created_at"] = json!("2026-03-15 10:00:00");
        assert_eq!(rule_ids(&body), [rules::RESPONSE_SCHEMA.id]);
        let mut body = page();
        body["data"][0]
            .as_object_mut()
            .expect("an object")
            .remove("slug");
        assert_eq!(rule_ids(&body), [rules::RESPONSE_SCHEMA.id]);
    }

    #[test]
    fn both_kinds_of_violation_are_reported_each_under_its_rule() {
        let mut body = page();
        body["data"][0]["theme"] = json!("dark");
        body["data"][0]["is_public"] = json!("unexpected");
        assert_eq!(
            rule_ids(&body),
            [rules::RESPONSE_SCHEMA.id, rules::RESPONSE_SCHEMA_OURS.id]
        );
    }

    #[test]
    fn a_value_that_reads_unexpected_is_not_an_unknown_field() {
        let mut body = page();
        body["data"][0]["id"] = json!("Additional properties are not allowed (unexpected)");
        assert_eq!(rule_ids(&body), [rules::RESPONSE_SCHEMA.id]);
    }

    #[test]
    fn every_violation_of_an_ours_operation_breaks_the_ours_rule() {
        let op = operation(OperationId::GetPage);
        assert_eq!(op.provenance, Provenance::Ours);
        let body = json!({"data": {"id": "nope"}});
        let violations = SchemaValidator::new(&op.response).violations(&body);
        let by_rule = schema_rules(op.provenance, violations);
        assert_eq!(by_rule.len(), 1);
        assert_eq!(by_rule[0].0, rules::RESPONSE_SCHEMA_OURS);
    }
}
