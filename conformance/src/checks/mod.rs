//! The checks, one file per family, and what they share: the run context, the proptest
//! driver and the state snapshots that prove a rejected request changed nothing.

mod auth;
mod malformed;
mod not_found;
mod panel;
mod rate_limit;
mod responses;
mod status;

use std::cell::{Cell, RefCell};
use std::fmt;

use beacon_spec::catalog::operation;
use beacon_spec::{Api, Operation, OperationId, Rule};
use proptest::strategy::Strategy;
use proptest::test_runner::{RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::Value;

use crate::check::{Check, CheckId};
use crate::client::{Client, ClientError, Exchange, Request};
use crate::config::Config;
use crate::report::{Finding, Outcome};

/// Shrinking steps a failing property may take (each costs requests); later steps pass
/// without a request, so that proptest keeps the last input that really failed.
const MAX_SHRINK_ITERS: u32 = 32;
/// proptest's own cap, never reached in practice (reaching it prints to stderr).
const PROPTEST_SHRINK_CAP: u32 = 100_000;

/// What a run knows about the deployment once it has looked around.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// Status: the page that reads and writes use (the first of `GET /pages`).
    pub(crate) page: Option<PageTarget>,
    /// Status: every slug of the first page of `GET /pages`.
    pub(crate) slugs: Vec<String>,
    /// Panel: the server reads use (`--server-id`, else the first of `GET /servers`).
    pub(crate) read_server: Option<String>,
    /// Panel: the server writes may touch (`--server-id` only).
    pub(crate) write_server: Option<String>,
    /// Panel: every server id of `GET /servers`, bare.
    pub(crate) servers: Vec<String>,
}

/// A status page to use.
#[derive(Debug, Clone)]
pub(crate) struct PageTarget {
    pub(crate) slug: String,
    pub(crate) id: String,
}

/// Whether a request only reads or may change state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Everything a check needs while it runs.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a Config,
    pub(crate) client: Client,
    pub(crate) target: Target,
    nonce: String,
    counter: Cell<u32>,
}

impl fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("client", &self.client)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(config: &'a Config, client: Client, target: Target) -> Self {
        Self {
            config,
            client,
            target,
            nonce: format!("{:06x}", rand::random::<u32>() & 0xff_ffff),
            counter: Cell::new(0),
        }
    }

    pub(crate) fn api(&self) -> Api {
        self.config.api
    }

    /// The path parameters `op` needs, from the target; a skip when there is none to use.
    pub(crate) fn params(
        &self,
        op: &Operation,
        access: Access,
    ) -> Result<Vec<(&'static str, String)>, Stop> {
        op.path_params
            .iter()
            .map(|param| {
                let value = match (param.name, access) {
                    ("slug", _) => self
                        .target
                        .page
                        .as_ref()
                        .map(|page| page.slug.clone())
                        .ok_or_else(|| Stop::skip("the workspace has no status page to use")),
                    ("serverId", Access::Read) => self
                        .target
                        .read_server
                        .clone()
                        .ok_or_else(|| Stop::skip("the account has no server to read")),
                    ("serverId", Access::Write) => {
                        self.target.write_server.clone().ok_or_else(|| {
                            Stop::skip("writes on Panel touch only --server-id; pass it")
                        })
                    }
                    (other, _) => Err(Stop::skip(format!("no value for path parameter {other}"))),
                }?;
                Ok((param.name, value))
            })
            .collect()
    }

    /// A short string no earlier call of this run returned, e.g. for database names.
    pub(crate) fn unique(&self) -> String {
        self.counter.set(self.counter.get() + 1);
        format!("{}{}", self.nonce, self.counter.get())
    }

    /// A deterministic random stream for `check` on `op`, from the run's seed.
    pub(crate) fn rng(&self, check: &Check, op: &Operation) -> SplitMix {
        SplitMix(self.config.seed ^ fnv1a(check.name) ^ fnv1a(op.name).rotate_left(17))
    }

    fn seed_bytes(&self, check: &Check, op: &Operation) -> [u8; 32] {
        let mut rng = self.rng(check, op);
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        bytes
    }

    /// Sends within the check budget.
    pub(crate) fn send(&self, request: &Request) -> Result<Exchange, Stop> {
        Ok(self.client.send(request)?)
    }
}

/// Why a check stopped before the end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A rule broke.
    Finding(Box<Finding>),
    /// The request budget is spent.
    Budget(u32),
    /// A request failed on the wire.
    Transport(String),
    /// The check cannot run here.
    Skip(String),
}

impl Stop {
    pub(crate) fn skip(reason: impl Into<String>) -> Self {
        Stop::Skip(reason.into())
    }

    fn reason(&self) -> String {
        match self {
            Stop::Finding(finding) => finding.message.clone(),
            Stop::Budget(budget) => format!("request budget of {budget} spent"),
            Stop::Transport(reason) => format!("request failed: {reason}"),
            Stop::Skip(reason) => reason.clone(),
        }
    }
}

impl From<ClientError> for Stop {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::BudgetSpent { budget } => Stop::Budget(budget),
            ClientError::Transport { .. } => Stop::Transport(error.to_string()),
        }
    }
}

impl From<Finding> for Stop {
    fn from(finding: Finding) -> Self {
        Stop::Finding(Box::new(finding))
    }
}

/// Fails with `finding` unless `condition` holds.
pub(crate) fn ensure(condition: bool, finding: impl FnOnce() -> Finding) -> Result<(), Stop> {
    if condition {
        Ok(())
    } else {
        Err(finding().into())
    }
}

/// Runs `check` on `op` and turns what it found into an [`Outcome`].
pub(crate) fn run_unit(ctx: &Ctx, check: &'static Check, op: &'static Operation) -> Outcome {
    let mut findings = Vec::new();
    let halted = match dispatch(ctx, check, op, &mut findings) {
        Ok(()) => None,
        Err(Stop::Finding(finding)) => {
            findings.push(*finding);
            None
        }
        Err(stop) => Some(stop),
    };
    match halted {
        Some(stop) if findings.is_empty() => Outcome::Skipped(stop.reason()),
        _ => Outcome::from_findings(findings, ctx.config.strict),
    }
}

fn dispatch(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    match check.id {
        CheckId::ContentType => responses::content_type(ctx, op, out),
        CheckId::Envelope => responses::envelope(ctx, op, out),
        CheckId::Schema => responses::schema(ctx, op, out),
        CheckId::RateLimitHeaders => responses::rate_limit_headers(ctx, op, out),
        CheckId::Auth => auth::run(ctx, check, op, out),
        CheckId::NotFound => not_found::run(ctx, check, op, out),
        CheckId::RateLimitCountdown => rate_limit::countdown(ctx, op, out),
        CheckId::RateLimitProbe => rate_limit::probe(ctx, op, out),
        CheckId::MalformedJson => malformed::run(ctx, check, op, out),
        CheckId::NotAcceptable => status::not_acceptable(ctx, check, op, out),
        CheckId::UnsupportedMediaType => status::unsupported_media_type(ctx, check, op, out),
        CheckId::IncidentInvalid => status::incident_invalid(ctx, check, op, out),
        CheckId::IncidentCreate => status::incident_create(ctx, check, op, out),
        CheckId::ConsoleLinesInvalid => panel::console_lines_invalid(ctx, check, op, out),
        CheckId::ConsoleLines => panel::console_lines(ctx, check, op, out),
        CheckId::PowerInvalid => panel::power_invalid(ctx, check, op, out),
        CheckId::PowerSequence => panel::power_sequence(ctx, check, op, out),
        CheckId::CommandInvalid => panel::command_invalid(ctx, check, op, out),
        CheckId::CommandSend => panel::command_send(ctx, check, op, out),
        CheckId::CommandStopped => panel::command_stopped(ctx, op, out),
        CheckId::DatabaseNameInvalid => panel::database_name_invalid(ctx, check, op, out),
        CheckId::DatabaseCreate => panel::database_create(ctx, check, op, out),
    }
}

/// The operations of `api` that `check` runs on, from the spec's catalog.
pub(crate) fn operations(check: &Check, api: Api) -> Vec<&'static Operation> {
    let has_error =
        |op: &Operation, status: u16| op.error_statuses().iter().any(|e| e.status == status);
    let by_id = |id: OperationId| api.operations().filter(move |op| op.id == id);
    match check.id {
        CheckId::ContentType | CheckId::Envelope | CheckId::Schema | CheckId::RateLimitHeaders => {
            api.operations().collect()
        }
        CheckId::Auth => api.operations().filter(|op| !op.mutates).collect(),
        CheckId::NotFound => api
            .operations()
            .filter(|op| !op.path_params.is_empty() && has_error(op, 404))
            .collect(),
        CheckId::RateLimitCountdown | CheckId::RateLimitProbe => {
            list_operation(api).into_iter().collect()
        }
        CheckId::NotAcceptable => api
            .operations()
            .filter(|op| !op.mutates && has_error(op, 406))
            .collect(),
        CheckId::ConsoleLinesInvalid | CheckId::ConsoleLines => {
            api.operations().filter(|op| op.query.is_some()).collect()
        }
        CheckId::MalformedJson => api.operations().filter(|op| op.request.is_some()).collect(),
        CheckId::UnsupportedMediaType => api
            .operations()
            .filter(|op| op.request.is_some() && has_error(op, 415))
            .collect(),
        CheckId::IncidentInvalid => api
            .operations()
            .filter(|op| op.request.is_some() && has_error(op, 422))
            .collect(),
        CheckId::IncidentCreate => by_id(OperationId::CreateIncident).collect(),
        CheckId::PowerInvalid | CheckId::PowerSequence => by_id(OperationId::PowerServer).collect(),
        CheckId::CommandInvalid | CheckId::CommandSend | CheckId::CommandStopped => {
            by_id(OperationId::SendCommand).collect()
        }
        CheckId::DatabaseNameInvalid | CheckId::DatabaseCreate => {
            by_id(OperationId::CreateDatabase).collect()
        }
    }
}

/// The API's collection read without parameters (`GET /pages`, `GET /servers`): the
/// cheapest authenticated request, used for discovery and rate-limit checks.
pub(crate) fn list_operation(api: Api) -> Option<&'static Operation> {
    api.operations()
        .find(|op| op.path_params.is_empty() && !op.mutates && op.query.is_none())
}

/// Runs a proptest property of `check` on `op`: `case` sends one generated input and
/// checks the answer. The first failing input is shrunk (within [`MAX_SHRINK_ITERS`] and
/// the budget) and reported with its request.
pub(crate) fn property<S>(
    ctx: &Ctx,
    check: &Check,
    op: &Operation,
    strategy: S,
    case: impl Fn(&S::Value) -> Result<(), Stop>,
    out: &mut Vec<Finding>,
) -> Result<(), Stop>
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let config = proptest::test_runner::Config {
        cases: ctx.config.cases,
        max_shrink_iters: PROPTEST_SHRINK_CAP,
        failure_persistence: None,
        max_local_rejects: 10_000,
        max_global_rejects: 10_000,
        ..proptest::test_runner::Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &ctx.seed_bytes(check, op));
    let mut runner = TestRunner::new_with_rng(config, rng);
    let halted: RefCell<Option<Stop>> = RefCell::new(None);
    let failures: RefCell<Vec<(String, Finding)>> = RefCell::new(Vec::new());
    let shrink_steps = Cell::new(0u32);
    let result = runner.run(&strategy, |value| {
        if !failures.borrow().is_empty() {
            shrink_steps.set(shrink_steps.get() + 1);
        }
        if halted.borrow().is_some() || shrink_steps.get() > MAX_SHRINK_ITERS {
            // The budget or the shrinking allowance is spent: every further case passes
            // without a request, so that shrinking keeps the last input that really failed.
            return Ok(());
        }
        match case(&value) {
            Ok(()) => Ok(()),
            Err(Stop::Finding(finding)) => {
                let message = finding.message.clone();
                failures.borrow_mut().push((format!("{value:?}"), *finding));
                Err(TestCaseError::fail(message))
            }
            Err(stop) => {
                *halted.borrow_mut() = Some(stop);
                Ok(())
            }
        }
    });
    let halted = halted.into_inner();
    match result {
        Ok(()) => halted.map_or(Ok(()), Err),
        Err(TestError::Fail(_, minimal)) => {
            let key = format!("{minimal:?}");
            let mut failures = failures.into_inner();
            let index = failures
                .iter()
                .rposition(|(input, _)| *input == key)
                .unwrap_or(failures.len().saturating_sub(1));
            if failures.is_empty() {
                return Err(Stop::skip("proptest reported a failure without a case"));
            }
            let (_, mut finding) = failures.swap_remove(index);
            let note = if halted.is_some() {
                " (shrinking stopped: budget spent)"
            } else if shrink_steps.get() > MAX_SHRINK_ITERS {
                " (partly shrunk)"
            } else {
                " (shrunk)"
            };
            finding.input = Some(format!("{key}{note}"));
            out.push(finding);
            Ok(())
        }
        Err(TestError::Abort(reason)) => Err(Stop::skip(format!("proptest gave up: {reason}"))),
    }
}

/// State that a rejected request of `op` must leave alone, and how it was read.
pub(crate) struct Snapshot {
    what: String,
    value: Value,
}

/// Reads the state a request of `op` could change; `None` when there is no stable state to
/// compare (a live console writes its own lines).
fn snapshot(ctx: &Ctx, op: &Operation) -> Result<Option<Snapshot>, Stop> {
    let (read, pick): (OperationId, fn(Value) -> Value) = match op.id {
        OperationId::CreateIncident => (OperationId::ListIncidents, |body| body["data"].clone()),
        OperationId::PowerServer => {
            let server = ctx.params(op, Access::Write)?;
            let status = panel::settled_status(ctx, &server[0].1)?;
            return Ok(Some(Snapshot {
                what: format!("GET /servers/{} status", server[0].1),
                value: Value::from(status),
            }));
        }
        OperationId::CreateDatabase => (OperationId::ListDatabases, |body| body["data"].clone()),
        OperationId::SendCommand
        | OperationId::ListPages
        | OperationId::GetPage
        | OperationId::ListIncidents
        | OperationId::ListServers
        | OperationId::GetServer
        | OperationId::GetConsole
        | OperationId::ListDatabases => return Ok(None),
    };
    let read = operation(read);
    let params = ctx.params(read, Access::Write)?;
    let request = Request::new(read, &params);
    let exchange = ctx.send(&request)?;
    if !exchange.is_success() {
        return Err(Stop::skip(format!(
            "cannot read state: {} answered {}",
            request.describe(),
            exchange.status
        )));
    }
    Ok(Some(Snapshot {
        what: request.describe(),
        value: exchange.json().map(pick).unwrap_or(Value::Null),
    }))
}

/// Reads the state again and reports `rule` if it differs from `before`.
fn ensure_unchanged(
    ctx: &Ctx,
    op: &Operation,
    before: Option<Snapshot>,
    rule: Rule,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let Some(before) = before else {
        return Ok(());
    };
    let Some(after) = snapshot(ctx, op)? else {
        return Ok(());
    };
    if after.value != before.value {
        out.push(
            Finding::new(
                rule,
                format!(
                    "a rejected request changed state: {} differs after the check",
                    before.what
                ),
            )
            .expected(format!("unchanged: {}", before.value))
            .actual(after.value.to_string()),
        );
    }
    Ok(())
}

/// A small deterministic random stream (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A character of `alphabet`, uniformly.
    pub(crate) fn pick(&mut self, alphabet: &[u8]) -> char {
        char::from(alphabet[(self.next_u64() % alphabet.len() as u64) as usize])
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

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

/// Runs a property of `check` on `op` whose every generated input, sent as `request`
/// builds it, must be rejected as `rejection` says.
pub(crate) fn rejects_every<S>(
    ctx: &Ctx,
    check: &Check,
    op: &Operation,
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
        strategy,
        |value| rejection.ensure(&ctx.send(&request(value))?),
        out,
    )
}

/// Reads the state `op` could change, runs `run` (whose requests must all be rejected),
/// and reports `rule` if the state differs afterwards.
pub(crate) fn unchanged_after(
    ctx: &Ctx,
    op: &Operation,
    rule: Rule,
    out: &mut Vec<Finding>,
    run: impl FnOnce(&mut Vec<Finding>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let before = snapshot(ctx, op)?;
    run(out)?;
    ensure_unchanged(ctx, op, before, rule, out)
}
