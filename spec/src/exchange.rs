//! The rules one response can show broken on its own: content type, envelope, schema,
//! listed status, rate-limit headers, `Retry-After` on 429, and 401 for a missing token.
//!
//! One judge for two users: the conformance suite's response checks read every response of
//! a run through it, and `beacon-mock proxy` reads every answer of live traffic through it.
//! Neither has rules of its own about a single response.
//!
//! ```
//! use beacon_spec::catalog::{OperationId, operation};
//! use beacon_spec::exchange::{Observed, judge};
//! use beacon_spec::rules;
//!
//! // Arrange: a 200 without the Panel envelope, declared as text.
//! let op = operation(OperationId::ListServers);
//! let headers = [("content-type", "text/plain")];
//! let observed = Observed::new(200, &headers, br#"{"data": []}"#, true);
//! // Act
//! let breaches = judge(op, &observed, observed.json().as_ref(), std::time::SystemTime::now());
//! // Assert
//! let ids: Vec<&str> = breaches.iter().map(|b| b.rule.id).collect();
//! assert!(ids.contains(&rules::JSON_CONTENT_TYPE.id));
//! assert!(ids.contains(&rules::PANEL_ENVELOPE.id));
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use serde_json::Value;

use crate::catalog::{Api, Operation};
use crate::rate_limit::{RateLimitPolicy, RateScope};
use crate::rules::{self, Rule};
use crate::validate::{SchemaValidator, Violation};
use crate::{Provenance, WireType};

/// The statuses the Panel document lists; any other is undocumented.
pub const PANEL_DOCUMENTED_STATUSES: [u16; 7] = [200, 400, 401, 403, 404, 429, 500];

/// A response's headers, looked up by case-insensitive name.
pub trait Headers {
    /// The first value of header `name`, if present and text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl<N: AsRef<str>, V: AsRef<str>> Headers for [(N, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<N: AsRef<str>, V: AsRef<str>, const L: usize> Headers for [(N, V); L] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<N: AsRef<str>, V: AsRef<str>> Headers for Vec<(N, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

/// One response as the judge sees it.
#[derive(Clone, Copy)]
pub struct Observed<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: &'a dyn Headers,
    /// The response body.
    pub body: &'a [u8],
    /// Whether the request carried a bearer token.
    pub token_sent: bool,
}

impl std::fmt::Debug for Observed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .field("token_sent", &self.token_sent)
            .finish_non_exhaustive()
    }
}

impl<'a> Observed<'a> {
    /// A response with `status`, `headers` and `body` to a request that did or did not carry
    /// a token.
    pub fn new(status: u16, headers: &'a dyn Headers, body: &'a [u8], token_sent: bool) -> Self {
        Self {
            status,
            headers,
            body,
            token_sent,
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.header(name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the body is sent compressed (`Content-Encoding` other than `identity`): its
    /// bytes are not the JSON, so no body rule can judge them.
    pub fn is_encoded(&self) -> bool {
        self.header("content-encoding")
            .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
    }

    /// The body as JSON, if it is JSON (never for an encoded body).
    pub fn json(&self) -> Option<Value> {
        if self.is_encoded() {
            return None;
        }
        serde_json::from_slice(self.body).ok()
    }
}

/// A rule one response broke, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The rule broken.
    pub rule: Rule,
    /// What went wrong, in a sentence.
    pub message: String,
    /// What the rule requires of the response.
    pub expected: String,
    /// What the response showed, when the message does not say it all.
    pub actual: Option<String>,
}

impl Breach {
    fn new(rule: Rule, message: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            expected: expected.into(),
            actual: None,
        }
    }

    fn actual(mut self, actual: impl Into<String>) -> Self {
        self.actual = Some(actual.into());
        self
    }
}

/// Every rule `response` to a request of `op` breaks, in the order: content type, envelope,
/// schema (only when the envelope is sound), listed status, rate-limit headers, and 401 for
/// a request without a token. `json` is [`Observed::json`], parsed once by the caller; an
/// encoded body is not judged (envelope and schema). `now` dates a `Retry-After` given as an
/// HTTP-date.
pub fn judge(
    op: &Operation,
    response: &Observed<'_>,
    json: Option<&Value>,
    now: SystemTime,
) -> Vec<Breach> {
    let mut breaches: Vec<Breach> = content_type(response).into_iter().collect();
    if !response.is_encoded() {
        match envelope(op.api, response, json) {
            Some(breach) => breaches.push(breach),
            None => breaches.extend(json.into_iter().flat_map(|json| schema(op, response, json))),
        }
    }
    breaches.extend(status_code(op, response.status));
    if rate_limit_headers_apply(op.api, response) {
        breaches.extend(rate_limit_headers(op.api, response, now));
    }
    breaches.extend(missing_token(op, response));
    breaches
}

/// `response.content_type`: every response is declared as `application/json`.
pub fn content_type(response: &Observed<'_>) -> Option<Breach> {
    let header = response.header("content-type");
    let is_json = header.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    });
    (!is_json).then(|| {
        Breach::new(
            rules::JSON_CONTENT_TYPE,
            format!("a {} response is not declared as JSON", response.status),
            "Content-Type: application/json",
        )
        .actual(format!("Content-Type: {}", header.unwrap_or("(none)")))
    })
}

/// What is wrong with the envelope of `response` on `api`, given its body as JSON.
pub fn envelope(api: Api, response: &Observed<'_>, json: Option<&Value>) -> Option<Breach> {
    let success = response.is_success();
    let object = json.and_then(Value::as_object);
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
    problem.map(|message| Breach::new(rule, format!("{message} ({})", response.status), expected))
}

/// The compiled validator of `wire_type`, compiled once per process.
pub fn validator(wire_type: &WireType) -> Arc<SchemaValidator> {
    static VALIDATORS: OnceLock<Mutex<HashMap<&'static str, Arc<SchemaValidator>>>> =
        OnceLock::new();
    let cache = VALIDATORS.get_or_init(Mutex::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(
        cache
            .entry(wire_type.name)
            .or_insert_with(|| Arc::new(SchemaValidator::new(wire_type))),
    )
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
pub fn schema_rules(
    provenance: Provenance,
    violations: Vec<Violation>,
) -> Vec<(Rule, Vec<Violation>)> {
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

/// `response.schema` (and its ours part): the body, whose envelope is sound, against the
/// operation's success schema or the API's error body.
pub fn schema(op: &Operation, response: &Observed<'_>, json: &Value) -> Vec<Breach> {
    let api = op.api;
    let wire_type = if response.is_success() {
        op.response
    } else {
        api.error_body()
    };
    let validator = validator(&wire_type);
    // The common case first: collecting violations costs more than a yes or no.
    if validator.is_valid(json) {
        return Vec::new();
    }
    let violations = validator.violations(json);
    // A success body has its operation's provenance; a Panel error body is the documented
    // envelope; a Status error body's shape is an ours rule of its own.
    let by_rule = match (response.is_success(), api) {
        (true, _) => schema_rules(op.provenance, violations),
        (false, Api::Panel) => schema_rules(Provenance::Documented, violations),
        (false, Api::Status) => vec![(rules::STATUS_ERROR_SHAPE, violations)],
    };
    by_rule
        .into_iter()
        .map(|(rule, violations)| {
            let listed: Vec<String> = violations.iter().take(3).map(ToString::to_string).collect();
            let more = violations.len().saturating_sub(listed.len());
            Breach::new(
                rule,
                format!(
                    "a {} body breaks the {} schema: {}{}",
                    response.status,
                    wire_type.name,
                    listed.join("; "),
                    if more > 0 {
                        format!(" (and {more} more)")
                    } else {
                        String::new()
                    }
                ),
                format!("a body valid against {}", wire_type.name),
            )
        })
        .collect()
}

/// `panel.status_codes` or `response.status_listed`: a status `op` does not list.
pub fn status_code(op: &Operation, status: u16) -> Option<Breach> {
    let listed: Vec<u16> = std::iter::once(op.success_status)
        .chain(op.error_statuses().iter().map(|e| e.status))
        .collect();
    if listed.contains(&status) {
        return None;
    }
    let (rule, expected) = if op.api == Api::Panel && !PANEL_DOCUMENTED_STATUSES.contains(&status) {
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
    Some(Breach::new(
        rule,
        format!("{} answered the undocumented status {status}", op.name),
        expected,
    ))
}

/// The rule that breaks when `api`'s rate limits are exceeded or misreported.
pub fn limits_rule(api: Api) -> Rule {
    match api {
        Api::Status => rules::STATUS_RATE_LIMITS,
        Api::Panel => rules::PANEL_RATE_LIMIT,
    }
}

/// The rule that missing or malformed rate-limit headers on `response` break on `api`:
/// Status documents them on every response, but that unauthenticated requests count (and so
/// carry them) is ours; Panel documents them on its 429s only, on every other
/// authenticated response they are ours.
pub fn headers_rule(api: Api, response: &Observed<'_>) -> Rule {
    match api {
        Api::Status if response.token_sent => rules::STATUS_RATE_HEADERS,
        Api::Status => rules::STATUS_UNAUTHENTICATED_COUNTED,
        Api::Panel if response.status == 429 => rules::PANEL_RATE_HEADERS,
        Api::Panel => rules::PANEL_RATE_HEADERS_EVERY_RESPONSE,
    }
}

/// Whether `api`'s rate-limit headers are due on `response`: on every authenticated answer,
/// and on unauthenticated ones too where the policy counts them.
pub fn rate_limit_headers_apply(api: Api, response: &Observed<'_>) -> bool {
    api.rate_limit().headers_on_unauthenticated || (response.token_sent && response.status != 401)
}

/// Parses an integer rate-limit header; `Err` says what is wrong with it.
pub fn integer_header(response: &Observed<'_>, name: &str) -> Result<u64, String> {
    match response.header(name) {
        None => Err(format!("{name} is missing")),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("{name} is not an integer: {value:?}")),
    }
}

/// The seconds header `name` of `response` asks to wait, in either `Retry-After` form
/// (seconds, or an HTTP-date read against `now`); `Err` says what is wrong with it.
pub fn retry_after_seconds(
    response: &Observed<'_>,
    name: &str,
    now: SystemTime,
) -> Result<u64, String> {
    let value = response
        .header(name)
        .ok_or_else(|| format!("{name} is missing"))?
        .trim();
    parse_retry_after(value, now)
        .ok_or_else(|| format!("{name} is neither seconds nor an HTTP-date: {value:?}"))
}

/// `Retry-After`'s value as seconds from `now`: delay-seconds, or an HTTP-date (a date in
/// the past is 0).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u64> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .map_or(0, |d| d.as_secs_f64().ceil() as u64),
    )
}

/// The rate-limit headers of `response` against `api`'s policy: present and integers, the
/// reset within the window, remaining within the limit, the limit the binding window's, and
/// a usable `Retry-After` on a 429. Call it where [`rate_limit_headers_apply`].
pub fn rate_limit_headers(api: Api, response: &Observed<'_>, now: SystemTime) -> Vec<Breach> {
    let policy = api.rate_limit();
    let limits_rule = limits_rule(api);
    let binding = policy.tightest_limit();
    let period = policy.period_secs();
    let mut breaches = Vec::new();
    let mut headers = Vec::new();
    let limit = integer_header(response, policy.limit_header).map_err(|e| headers.push(e));
    let remaining = integer_header(response, policy.remaining_header).map_err(|e| headers.push(e));
    if let Some(reset_header) = policy.reset_header {
        match integer_header(response, reset_header) {
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
        let rule = headers_rule(api, response);
        let on = if rule == rules::PANEL_RATE_HEADERS {
            "a 429"
        } else if rule == rules::PANEL_RATE_HEADERS_EVERY_RESPONSE {
            "every authenticated response"
        } else if rule == rules::STATUS_UNAUTHENTICATED_COUNTED {
            "every response, unauthenticated ones included"
        } else {
            "every response"
        };
        breaches.push(Breach::new(
            rule,
            headers.join("; "),
            format!(
                "integer {} on {on}",
                policy.headers().collect::<Vec<_>>().join(", ")
            ),
        ));
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
            breaches.push(
                Breach::new(rule, message, format!("{}: {binding}", policy.limit_header))
                    .actual(format!("{}: {limit}", policy.limit_header)),
            );
        }
    }
    if response.status == 429 {
        if let Some(retry_after) = policy.retry_after_header {
            match retry_after_seconds(response, retry_after, now) {
                Ok(secs) if secs <= period => {}
                Ok(secs) => breaches.push(Breach::new(
                    limits_rule,
                    format!("{retry_after} is {secs}, beyond the {period} s window"),
                    format!("{retry_after}: 0..={period}"),
                )),
                Err(e) => breaches.push(Breach::new(
                    limits_rule,
                    format!("a 429 without a usable {retry_after}: {e}"),
                    format!("{retry_after}: <seconds until the window resets>"),
                )),
            }
        }
    }
    breaches
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

/// The statuses that may answer a request without a token before its 401: 406 (Status
/// checks `Accept` first), 429 (a per-IP window counts unauthenticated requests) and a
/// server error.
const BEFORE_AUTH: [u16; 2] = [406, 429];

/// `auth.required`: a request of `op` without a token is answered 401.
pub fn missing_token(op: &Operation, response: &Observed<'_>) -> Option<Breach> {
    let status = response.status;
    let excused = status == 401 || BEFORE_AUTH.contains(&status) || status >= 500;
    (!response.token_sent && !excused).then(|| {
        Breach::new(
            rules::AUTH_REQUIRED,
            format!("{} answered {status} to a request without a token", op.name),
            "401 and the API's error envelope",
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::OperationId;
    use crate::catalog::operation;

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

    fn rules_of(
        op: OperationId,
        status: u16,
        headers: &dyn Headers,
        body: &str,
    ) -> Vec<&'static str> {
        let observed = Observed::new(status, headers, body.as_bytes(), true);
        judge(
            operation(op),
            &observed,
            observed.json().as_ref(),
            SystemTime::now(),
        )
        .iter()
        .map(|b| b.rule.id)
        .collect()
    }

    const PANEL_HEADERS: [(&str, &str); 4] = [
        ("Content-Type", "application/json"),
        ("X-RateLimit-Limit", "180"),
        ("X-RateLimit-Remaining", "179"),
        ("X-RateLimit-Reset", "42"),
    ];

    #[test]
    fn a_sound_panel_answer_breaks_nothing() {
        let body = r#"{"success": true, "data": []}"#;
        assert!(rules_of(OperationId::ListServers, 200, &PANEL_HEADERS, body).is_empty());
    }

    #[test]
    fn a_panel_429_without_its_reset_breaks_the_documented_headers() {
        let body = r#"{"success": false, "error": "slow down"}"#;
        assert!(rules_of(OperationId::ListServers, 429, &PANEL_HEADERS, body).is_empty());
        let without_reset = &PANEL_HEADERS[..3];
        assert_eq!(
            rules_of(OperationId::ListServers, 429, &without_reset.to_vec(), body),
            [rules::PANEL_RATE_HEADERS.id]
        );
    }

    #[test]
    fn an_undocumented_panel_status_breaks_the_documented_list() {
        let body = r#"{"success": false, "error": "busy"}"#;
        assert_eq!(
            rules_of(OperationId::ListServers, 503, &PANEL_HEADERS, body),
            [rules::PANEL_STATUS_CODES.id]
        );
    }

    #[test]
    fn a_request_without_a_token_must_get_401() {
        let op = operation(OperationId::ListServers);
        let body = br#"{"success": true, "data": []}"#;
        let ok = Observed::new(200, &PANEL_HEADERS, body, false);
        assert_eq!(
            missing_token(op, &ok).map(|b| b.rule),
            Some(rules::AUTH_REQUIRED)
        );
        let refused = Observed::new(401, &PANEL_HEADERS, body, false);
        assert_eq!(missing_token(op, &refused), None);
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("a date");
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(30)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
