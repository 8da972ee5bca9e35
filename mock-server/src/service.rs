//! The request pipeline of one API, independent of the transport: content negotiation,
//! auth, rate limiting, routing, validation, dispatch, journal and faults.
//!
//! `ApiService::handle` is synchronous and always returns a response, so the same code
//! serves the hyper listener and the wiremock adapter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use beacon_spec::catalog::{Api, Method, Operation, OperationId};
use beacon_spec::status::StatusToken;
use beacon_spec::{SchemaValidator, WireType};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::MockConfig;
use crate::admin::{Faults, Journal, JournalEntry};
use crate::auth::{self, AuthFailure, Redacted, TokenStore};
use crate::error::{ApiError, json_response};
use crate::fixtures::Fixtures;
use crate::panel_api::{self, PanelState};
use crate::rate_limit::{RateDecision, RateKey, RateLimiter};
use crate::read_cache::ReadCache;
use crate::status_api::{self, StatusState};

/// Path prefix of every Beacon operation.
pub(crate) const BASE_PATH: &str = "/api/v1";
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Request extension set by the transport when the body was over [`MAX_BODY_BYTES`] (the
/// request then carries no body).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTooLarge;

/// What the transport must do with a handled request.
#[derive(Debug)]
pub(crate) struct Handled {
    pub(crate) response: Response<Bytes>,
    /// Injected latency to wait before answering.
    pub(crate) delay: Option<Duration>,
    /// Injected fault: close the connection without answering.
    pub(crate) drop_connection: bool,
}

enum ApiState {
    Status(RwLock<StatusState>),
    Panel(RwLock<PanelState>),
}

struct Validators {
    body: Option<SchemaValidator>,
    query: Option<SchemaValidator>,
}

/// One API's mock: its state, tokens, limiter and admin facilities.
pub(crate) struct ApiService {
    pub(crate) api: Api,
    fixtures: Fixtures,
    extra_tokens: Vec<String>,
    pub(crate) tokens: TokenStore,
    limiter: RateLimiter,
    state: ApiState,
    validators: HashMap<OperationId, Validators>,
    reads: ReadCache,
    pub(crate) journal: Journal,
    pub(crate) faults: Faults,
}

impl std::fmt::Debug for ApiService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiService")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// An authenticated caller: the workspace or account index, and its rate-limit key.
#[derive(Debug, Clone, Copy)]
struct Principal {
    index: usize,
    key: RateKey,
}

/// A routed request as handlers see it.
pub(crate) struct Call<'a> {
    pub(crate) operation: &'static Operation,
    params: Vec<(&'static str, &'a str)>,
    request: &'a Request<Bytes>,
    validators: &'a Validators,
    api: Api,
}

impl Call<'_> {
    /// The value of path parameter `name` ("" if the operation has none).
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v)
    }

    /// The request body, checked against the operation's generated schema.
    pub(crate) fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.api == Api::Status && !is_json_content_type(self.request) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = self.request.body();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::InvalidJson("the body is empty".into()));
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
        self.validated(self.validators.body.as_ref(), value)
    }

    /// The query string as the operation's query type, checked against its schema.
    /// Numbers are sent as numbers, so `lines=abc` is reported as not an integer.
    pub(crate) fn query<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let mut object = serde_json::Map::new();
        for (key, value) in
            url::form_urlencoded::parse(self.request.uri().query().unwrap_or("").as_bytes())
        {
            let value = serde_json::from_str::<serde_json::Number>(&value)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(value.into_owned()));
            object.entry(key.into_owned()).or_insert(value);
        }
        self.validated(self.validators.query.as_ref(), Value::Object(object))
    }

    fn validated<T: DeserializeOwned>(
        &self,
        validator: Option<&SchemaValidator>,
        value: Value,
    ) -> Result<T, ApiError> {
        if let Some(violation) = validator.and_then(|v| v.violations(&value).into_iter().next()) {
            return Err(ApiError::Invalid(violation.to_string()));
        }
        serde_json::from_value(value).map_err(|e| ApiError::Invalid(e.to_string()))
    }
}

fn is_json_content_type(request: &Request<Bytes>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Absent, `*/*`, `application/*` and `application/json` (with any parameters) accept JSON.
fn accepts_json(request: &Request<Bytes>) -> bool {
    let mut values = request.headers().get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    values.filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|range| {
            let mut parts = range.split(';');
            let mime = parts.next().unwrap_or("").trim();
            // `q=0` means "not acceptable".
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            !refused
                && ["*/*", "application/*", "application/json"]
                    .iter()
                    .any(|ok| mime.eq_ignore_ascii_case(ok))
        })
    })
}

impl ApiService {
    pub(crate) fn new(api: Api, config: &MockConfig) -> Self {
        let validators = api
            .operations()
            .map(|op| {
                let compile = |t: Option<WireType>| t.as_ref().map(SchemaValidator::new);
                (
                    op.id,
                    Validators {
                        body: compile(op.request),
                        query: compile(op.query),
                    },
                )
            })
            .collect();
        let fixtures = config.fixtures.clone();
        let service = Self {
            api,
            state: Self::seed_state(api, &fixtures),
            fixtures,
            extra_tokens: config.tokens.clone(),
            tokens: TokenStore::default(),
            limiter: RateLimiter::new(
                api.rate_limit(),
                config.rate_limit_window,
                config.rate_limit,
            ),
            validators,
            reads: ReadCache::default(),
            journal: Journal::default(),
            faults: Faults::default(),
        };
        service.tokens.replace_all(service.seed_tokens());
        service
    }

    fn seed_state(api: Api, fixtures: &Fixtures) -> ApiState {
        match api {
            Api::Status => ApiState::Status(RwLock::new(StatusState::new(&fixtures.status))),
            Api::Panel => ApiState::Panel(RwLock::new(PanelState::new(&fixtures.panel))),
        }
    }

    /// Every token the fixtures and `--token` issue, with its principal.
    fn seed_tokens(&self) -> Vec<(&str, usize)> {
        let mut tokens: Vec<(&str, usize)> = Vec::new();
        match self.api {
            Api::Status => {
                for (i, workspace) in self.fixtures.status.workspaces.iter().enumerate() {
                    tokens.extend(workspace.tokens.iter().map(|t| (t.token.as_str(), i)));
                }
                let extra = self
                    .extra_tokens
                    .iter()
                    .filter(|t| StatusToken::is_well_formed(t));
                tokens.extend(extra.map(|t| (t.as_str(), 0)));
            }
            Api::Panel => {
                for (i, account) in self.fixtures.panel.accounts.iter().enumerate() {
                    tokens.extend(account.tokens.iter().map(|t| (t.as_str(), i)));
                }
                let extra = self
                    .extra_tokens
                    .iter()
                    .filter(|t| auth::is_bearer_token(t));
                tokens.extend(extra.map(|t| (t.as_str(), 0)));
            }
        }
        tokens
    }

    /// Puts state, tokens, rate-limit windows, journal and faults back as at start-up.
    pub(crate) fn reset(&self) {
        match (&self.state, Self::seed_state(self.api, &self.fixtures)) {
            (ApiState::Status(current), ApiState::Status(fresh)) => {
                *current.write().expect("state lock") = fresh.into_inner().expect("fresh lock");
            }
            (ApiState::Panel(current), ApiState::Panel(fresh)) => {
                *current.write().expect("state lock") = fresh.into_inner().expect("fresh lock");
            }
            _ => {}
        }
        self.tokens.replace_all(self.seed_tokens());
        self.limiter.reset();
        self.reads.invalidate();
        self.journal.clear();
        self.faults.clear();
    }

    /// Principal names (workspace or account ids), by index.
    pub(crate) fn principals(&self) -> Vec<&str> {
        match self.api {
            Api::Status => self
                .fixtures
                .status
                .workspaces
                .iter()
                .map(|w| w.id.as_str())
                .collect(),
            Api::Panel => self
                .fixtures
                .panel
                .accounts
                .iter()
                .map(|a| a.id.as_str())
                .collect(),
        }
    }

    /// Handles one request from `peer`. Never panics on any input; always answers.
    pub(crate) fn handle(&self, request: &Request<Bytes>, peer: IpAddr) -> Handled {
        let path = request.uri().path();
        if path == "/__admin" || path.starts_with("/__admin/") {
            return Handled {
                response: crate::admin::handle(self, request),
                delay: None,
                drop_connection: false,
            };
        }
        let started = Instant::now();
        let api_path = path.strip_prefix(BASE_PATH).unwrap_or(path);
        let fault = self.faults.take(api_path);
        let (response, token) = match fault.status {
            Some(status) => (ApiError::Injected(status).into_response(self.api), None),
            None => self.handle_api(request, peer),
        };
        self.record(request, &response, token, started);
        Handled {
            response,
            delay: fault.latency,
            drop_connection: fault.drop_connection,
        }
    }

    fn record(
        &self,
        request: &Request<Bytes>,
        response: &Response<Bytes>,
        token: Option<String>,
        started: Instant,
    ) {
        let path = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |p| p.as_str().to_owned(),
        );
        let latency = started.elapsed();
        tracing::info!(
            target: "beacon_mock::request",
            api = self.api.name(),
            method = %request.method(),
            path = %path,
            status = response.status().as_u16(),
            latency_us = latency.as_micros() as u64,
        );
        self.journal.push(JournalEntry {
            method: request.method().to_string(),
            path,
            status: response.status().as_u16(),
            at: std::time::SystemTime::now(),
            latency_us: latency.as_micros() as u64,
            token,
        });
    }

    /// Returns the response and, for the journal, the redacted token.
    fn handle_api(
        &self,
        request: &Request<Bytes>,
        peer: IpAddr,
    ) -> (Response<Bytes>, Option<String>) {
        let bearer = auth::bearer(
            request
                .headers()
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
        );
        let redacted = bearer.ok().map(|t| Redacted(t).to_string());
        let principal = bearer.and_then(|token| self.authenticate(token));
        let mut decision = None;
        let result = self.pipeline(request, peer, principal, &mut decision);
        let mut response = result.unwrap_or_else(|e| e.into_response(self.api));
        if let Some(decision) = decision {
            self.add_rate_headers(&mut response, decision);
        }
        (response, redacted)
    }

    fn authenticate(&self, token: &str) -> Result<Principal, AuthFailure> {
        if self.api == Api::Status && !StatusToken::is_well_formed(token) {
            return Err(AuthFailure::Malformed);
        }
        let (index, token_key) = self.tokens.principal(token)?;
        let key = match self.api {
            Api::Status => RateKey::Workspace(index),
            Api::Panel => RateKey::Token(token_key),
        };
        Ok(Principal { index, key })
    }

    fn pipeline(
        &self,
        request: &Request<Bytes>,
        peer: IpAddr,
        principal: Result<Principal, AuthFailure>,
        decision: &mut Option<RateDecision>,
    ) -> Result<Response<Bytes>, ApiError> {
        // Status counts every request per IP, and authenticated ones per workspace too;
        // Panel counts authenticated requests per token.
        let ip = RateKey::ClientIp(peer);
        let both;
        let keys: &[RateKey] = match (self.api, &principal) {
            (Api::Status, Ok(p)) => {
                both = [ip, p.key];
                &both
            }
            (Api::Status, Err(_)) => std::slice::from_ref(&ip),
            (Api::Panel, Ok(p)) => std::slice::from_ref(&p.key),
            (Api::Panel, Err(_)) => &[],
        };
        if !keys.is_empty() {
            let verdict = self.limiter.acquire(keys);
            *decision = Some(verdict);
            if !verdict.allowed {
                return Err(ApiError::RateLimited {
                    retry_after: verdict.reset_secs,
                });
            }
        }
        let principal = principal.map_err(ApiError::Unauthorized)?;
        // After the limiter and auth: a 406 carries the rate-limit headers like every
        // response, and the documented 401 wins over our 406.
        if self.api == Api::Status && !accepts_json(request) {
            return Err(ApiError::NotAcceptable);
        }
        let path = request.uri().path();
        let api_path = path
            .strip_prefix(BASE_PATH)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| ApiError::NotFound(format!("Unknown path {path}")))?;
        let call = self.route(request, api_path)?;
        if request.extensions().get::<BodyTooLarge>().is_some() {
            return Err(ApiError::PayloadTooLarge);
        }
        if call.operation.mutates {
            let response = self.dispatch(&call, principal.index);
            if response.is_ok() {
                self.reads.invalidate();
            }
            return response;
        }
        let target = request.uri().path_and_query().map_or(path, |p| p.as_str());
        match self.reads.get(principal.index, target) {
            Ok(body) => Ok(json_response(
                StatusCode::from_u16(call.operation.success_status).unwrap_or(StatusCode::OK),
                body,
            )),
            Err(ticket) => {
                let response = self.dispatch(&call, principal.index)?;
                self.reads
                    .put(ticket, principal.index, target, response.body().clone());
                Ok(response)
            }
        }
    }

    fn dispatch(&self, call: &Call<'_>, principal: usize) -> Result<Response<Bytes>, ApiError> {
        match &self.state {
            ApiState::Status(state) => status_api::handle(state, call, principal),
            ApiState::Panel(state) => panel_api::handle(state, call, principal),
        }
    }

    fn route<'r>(
        &'r self,
        request: &'r Request<Bytes>,
        api_path: &'r str,
    ) -> Result<Call<'r>, ApiError> {
        let mut allowed = Vec::new();
        for operation in self.api.operations() {
            let Some(params) = operation.match_path(api_path) else {
                continue;
            };
            if operation.method.as_str() == request.method().as_str() {
                return Ok(Call {
                    operation,
                    params,
                    request,
                    validators: &self.validators[&operation.id],
                    api: self.api,
                });
            }
            allowed.push(operation.method);
        }
        if allowed.is_empty() {
            return Err(ApiError::NotFound(format!(
                "Unknown path {}",
                request.uri().path()
            )));
        }
        Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allow: allowed
                .iter()
                .map(|m: &Method| m.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    fn add_rate_headers(&self, response: &mut Response<Bytes>, decision: RateDecision) {
        let policy = self.api.rate_limit();
        let headers = response.headers_mut();
        headers.insert(policy.limit_header, HeaderValue::from(decision.limit));
        headers.insert(
            policy.remaining_header,
            HeaderValue::from(decision.remaining),
        );
        if let Some(name) = policy.reset_header {
            headers.insert(name, HeaderValue::from(decision.reset_secs));
        }
    }
}
