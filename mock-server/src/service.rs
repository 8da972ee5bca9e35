//! The Beacon pipeline of one API, independent of the transport: content negotiation, auth,
//! rate limiting, routing, the read cache and dispatch to the handlers.
//!
//! `ApiService::handle` is synchronous and always returns a response. It sits under the app
//! (`app.rs`) and over the handlers (`status_api.rs`, `panel_api.rs`); it knows nothing of the
//! admin API, the journal or faults.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use beacon_spec::catalog::{Api, PanelOperation, StatusOperation};
use beacon_spec::status::StatusToken;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use parking_lot::RwLock;

use crate::auth::{self, AuthFailure, TokenStore};
use crate::call::{Call, Router};
use crate::config::MockConfig;
use crate::defect::Defect;
use crate::error::{ApiError, INJECTED_RETRY_SECS, headless_json};
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

/// Each API's state, and its routes typed by its own operation enum.
enum ApiState {
    Status {
        state: RwLock<StatusState>,
        router: Router<StatusOperation>,
    },
    Panel {
        state: RwLock<PanelState>,
        router: Router<PanelOperation>,
    },
}

/// One API's mock: its state, routes, tokens, limiter and read cache.
pub(crate) struct ApiService {
    pub(crate) api: Api,
    /// The seed data of reset; a reload replaces it.
    fixtures: RwLock<Fixtures>,
    extra_tokens: Vec<String>,
    defect: Option<Defect>,
    pub(crate) tokens: TokenStore,
    limiter: RateLimiter,
    state: ApiState,
    reads: ReadCache,
    /// The usual head of an answer, ready to be cloned, and the policy's header names.
    usual_head: UsualHead,
}

/// The head of most answers — `Content-Type: application/json`, the rate-limit headers and,
/// with CORS on, `Vary: Origin` — made once, so that an answer clones it and sets its numbers
/// in place instead of hashing and inserting each header (about 1,300 instructions a request
/// under callgrind).
struct UsualHead {
    names: &'static RateHeaders,
    headers: http::HeaderMap,
    /// The limit whose value `headers` holds.
    limit: u32,
    /// Whether `headers` has `Vary: Origin`.
    varied: bool,
}

impl UsualHead {
    fn new(names: &'static RateHeaders, limit: u32, varied: bool) -> Self {
        let mut headers = http::HeaderMap::with_capacity(5);
        headers.insert(header::CONTENT_TYPE, crate::error::JSON);
        // Right after the content type, in `insert`'s order: `filled` sets them by position.
        names.insert(
            &mut headers,
            RateDecision {
                allowed: true,
                limit,
                remaining: 0,
                reset_secs: 0,
            },
        );
        if varied {
            headers.insert(header::VARY, crate::cors::VARY_ORIGIN);
        }
        Self {
            names,
            headers,
            limit,
            varied,
        }
    }

    /// The head with `decision`'s numbers.
    fn filled(&self, decision: RateDecision) -> http::HeaderMap {
        let mut headers = self.headers.clone();
        let mut values = headers.values_mut().skip(1);
        if let Some(limit) = values.next()
            && decision.limit != self.limit
        {
            *limit = RateHeaders::number(decision.limit);
        }
        if let Some(remaining) = values.next() {
            *remaining = RateHeaders::number(decision.remaining);
        }
        if let Some(reset) = values.next().filter(|_| self.names.reset.is_some()) {
            *reset = RateHeaders::number(decision.reset_secs);
        }
        headers
    }
}

/// The policy's rate-limit header names, made once per process from static bytes (as are the
/// values, [`cached_numbers`]): a clone costs no allocation and no reference count.
struct RateHeaders {
    limit: HeaderName,
    remaining: HeaderName,
    reset: Option<HeaderName>,
}

/// The largest number kept ready as a header value; larger ones are formatted per response.
const MAX_CACHED_VALUE: u64 = 4_096;

/// `0..=MAX_CACHED_VALUE` as header values over one leaked string, made once per process.
fn cached_numbers() -> &'static [HeaderValue] {
    static NUMBERS: OnceLock<Box<[HeaderValue]>> = OnceLock::new();
    NUMBERS.get_or_init(|| {
        let mut text = String::new();
        let mut ends = Vec::new();
        for n in 0..=MAX_CACHED_VALUE {
            text.push_str(itoa::Buffer::new().format(n));
            ends.push(text.len());
        }
        let text: &'static str = Box::leak(text.into_boxed_str());
        let starts = std::iter::once(0).chain(ends.iter().copied());
        starts
            .zip(&ends)
            .map(|(start, &end)| HeaderValue::from_static(&text[start..end]))
            .collect()
    })
}

impl RateHeaders {
    /// The header names of `api`'s policy, made once per process per API.
    fn of(api: Api) -> &'static Self {
        static BY_API: [OnceLock<RateHeaders>; 2] = [OnceLock::new(), OnceLock::new()];
        let slot = match api {
            Api::Status => &BY_API[0],
            Api::Panel => &BY_API[1],
        };
        slot.get_or_init(|| {
            let policy = api.rate_limit();
            // `from_static` wants lower case; one small leak per API and process.
            let name = |n: &str| {
                HeaderName::from_static(Box::leak(n.to_ascii_lowercase().into_boxed_str()))
            };
            Self {
                limit: name(policy.limit_header),
                remaining: name(policy.remaining_header),
                reset: policy.reset_header.map(name),
            }
        })
    }

    /// Inserts `decision`'s limit, remaining and (if the policy has one) reset headers, in
    /// that order.
    fn insert(&self, headers: &mut http::HeaderMap, decision: RateDecision) {
        headers.insert(self.limit.clone(), Self::number(decision.limit));
        headers.insert(self.remaining.clone(), Self::number(decision.remaining));
        if let Some(name) = &self.reset {
            headers.insert(name.clone(), Self::number(decision.reset_secs));
        }
    }

    fn number(n: impl Into<u64>) -> HeaderValue {
        let n = n.into();
        usize::try_from(n)
            .ok()
            .and_then(|i| cached_numbers().get(i))
            .cloned()
            .unwrap_or_else(|| HeaderValue::from(n))
    }
}

/// Adds the extra tokens (`--token`, [`crate::MockServerBuilder::token`]) for the first
/// principal, except one the fixtures already give a principal: that one keeps its owner, as
/// the start-up banner and [`crate::MockTokens`] say.
fn add_extra_tokens<'t>(
    tokens: &mut Vec<(&'t str, usize)>,
    extra: impl Iterator<Item = &'t String>,
) {
    for token in extra {
        if !tokens.iter().any(|(known, _)| *known == token.as_str()) {
            tokens.push((token.as_str(), 0));
        }
    }
}

impl std::fmt::Debug for ApiService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiService")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// An authenticated caller: the workspace or account index, its rate-limit key and its id.
#[derive(Debug, Clone)]
struct Principal {
    index: usize,
    key: RateKey,
    name: Arc<str>,
}

/// A Beacon answer, and who the request authenticated as.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) response: Response<Bytes>,
    /// The workspace or account id; `None` when the request did not authenticate.
    pub(crate) principal: Option<Arc<str>>,
    /// Whether the response already has `Vary: Origin`.
    pub(crate) varied: bool,
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
        let fixtures = config.fixtures.clone();
        let state = match api {
            Api::Status => ApiState::Status {
                state: RwLock::new(StatusState::new(&fixtures.status, config.defect)),
                router: Router::new(api, StatusOperation::ALL),
            },
            Api::Panel => ApiState::Panel {
                state: RwLock::new(PanelState::new(&fixtures.panel, config.defect)),
                router: Router::new(api, PanelOperation::ALL),
            },
        };
        let limiter = RateLimiter::new(
            api.rate_limit(),
            config.rate_limit_window,
            config.rate_limit,
        );
        let service = Self {
            api,
            state,
            fixtures: RwLock::new(fixtures),
            extra_tokens: config.tokens.clone(),
            defect: config.defect,
            tokens: TokenStore::default(),
            usual_head: UsualHead::new(RateHeaders::of(api), limiter.usual_limit(), config.cors),
            limiter,
            reads: ReadCache::default(),
        };
        {
            let fixtures = service.fixtures.read();
            let (tokens, names) = service.seed(&fixtures);
            service.tokens.replace_all(tokens, names);
        }
        service
    }

    /// Every token `fixtures` and `--token` issue, with its principal's index, and the
    /// principals' ids by index.
    fn seed<'f>(&'f self, fixtures: &'f Fixtures) -> (Vec<(&'f str, usize)>, Vec<Arc<str>>) {
        let mut tokens: Vec<(&str, usize)> = Vec::new();
        let names;
        match self.api {
            Api::Status => {
                let workspaces = &fixtures.status.workspaces;
                names = workspaces
                    .iter()
                    .map(|w| Arc::from(w.id.as_str()))
                    .collect();
                for (i, workspace) in workspaces.iter().enumerate() {
                    tokens.extend(workspace.tokens.iter().map(|t| (t.token.as_str(), i)));
                }
                let extra = self
                    .extra_tokens
                    .iter()
                    .filter(|t| StatusToken::is_well_formed(t));
                add_extra_tokens(&mut tokens, extra);
            }
            Api::Panel => {
                let accounts = &fixtures.panel.accounts;
                names = accounts.iter().map(|a| Arc::from(a.id.as_str())).collect();
                for (i, account) in accounts.iter().enumerate() {
                    tokens.extend(account.tokens.iter().map(|t| (t.as_str(), i)));
                }
                let extra = self
                    .extra_tokens
                    .iter()
                    .filter(|t| auth::is_bearer_token(t));
                add_extra_tokens(&mut tokens, extra);
            }
        }
        (tokens, names)
    }

    /// Puts state, tokens and rate-limit windows back as at start-up.
    pub(crate) fn reset(&self) {
        let fixtures = self.fixtures.read();
        self.replace_state(&fixtures);
        let (tokens, names) = self.seed(&fixtures);
        self.tokens.replace_all(tokens, names);
        self.limiter.reset();
        self.reads.invalidate();
    }

    /// Serves `fixtures` from now on: their state (the changes made so far are lost) and their
    /// tokens, keeping minted tokens and rate-limit windows; a reset goes back to them.
    pub(crate) fn reload(&self, fixtures: &Fixtures) {
        let mut current = self.fixtures.write();
        *current = fixtures.clone();
        self.replace_state(&current);
        let (tokens, names) = self.seed(&current);
        self.tokens.reseed(tokens, names);
        self.reads.invalidate();
    }

    fn replace_state(&self, fixtures: &Fixtures) {
        match &self.state {
            ApiState::Status { state, .. } => {
                let fresh = StatusState::new(&fixtures.status, self.defect);
                *state.write() = fresh;
            }
            ApiState::Panel { state, .. } => {
                let fresh = PanelState::new(&fixtures.panel, self.defect);
                *state.write() = fresh;
            }
        }
    }

    /// Principal names (workspace or account ids), by index.
    pub(crate) fn principals(&self) -> Vec<Arc<str>> {
        self.tokens.names()
    }

    /// Handles one Beacon request from `peer`, received at `received` (the rate-limit windows'
    /// clock). Never panics on any input; always answers.
    pub(crate) fn handle(
        &self,
        request: &Request<Bytes>,
        peer: IpAddr,
        received: Instant,
    ) -> Answer {
        let bearer = auth::bearer_of(request.headers());
        let principal = bearer.and_then(|token| self.authenticate(token));
        let mut decision = None;
        let result = self.pipeline(request, peer, received, &principal, &mut decision);
        let mut response = result.unwrap_or_else(|e| e.into_response(self.api));
        let varied = match decision {
            Some(decision) => self.add_rate_headers(&mut response, decision),
            None => {
                if response.headers().is_empty() {
                    // A head-less answer (a handler's or a cached read's, which always have a
                    // decision today) still says what it is.
                    response
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, crate::error::JSON);
                }
                false
            }
        };
        Answer {
            response,
            principal: principal.ok().map(|p| p.name),
            varied,
        }
    }

    fn authenticate(&self, token: &str) -> Result<Principal, AuthFailure> {
        if self.api == Api::Status && !StatusToken::is_well_formed(token) {
            return Err(AuthFailure::Malformed);
        }
        let holder = self.tokens.principal(token)?;
        let key = match self.api {
            Api::Status => RateKey::Workspace(holder.index),
            Api::Panel => RateKey::Token(holder.key),
        };
        Ok(Principal {
            index: holder.index,
            key,
            name: holder.name,
        })
    }

    /// The windows a request counts against, and how many there are: Status counts every
    /// request per IP, and authenticated ones per workspace too; Panel counts authenticated
    /// requests per token.
    fn rate_keys(
        &self,
        peer: IpAddr,
        principal: &Result<Principal, AuthFailure>,
    ) -> ([RateKey; 2], usize) {
        let ip = RateKey::ClientIp(peer);
        match (self.api, principal) {
            (Api::Status, Ok(p)) => ([ip, p.key], 2),
            (Api::Status, Err(_)) => ([ip, ip], 1),
            (Api::Panel, Ok(p)) => ([p.key, p.key], 1),
            (Api::Panel, Err(_)) => ([ip, ip], 0),
        }
    }

    fn pipeline(
        &self,
        request: &Request<Bytes>,
        peer: IpAddr,
        received: Instant,
        principal: &Result<Principal, AuthFailure>,
        decision: &mut Option<RateDecision>,
    ) -> Result<Response<Bytes>, ApiError> {
        let (keys, counted) = self.rate_keys(peer, principal);
        let keys = &keys[..counted];
        if !keys.is_empty() {
            let verdict = self.limiter.acquire(keys, received);
            *decision = Some(verdict);
            if !verdict.allowed {
                return Err(ApiError::RateLimited {
                    retry_after: verdict.reset_secs,
                });
            }
        }
        let principal = principal
            .as_ref()
            .map_err(|failure| ApiError::Unauthorized(*failure))?;
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
        let index = principal.index;
        match &self.state {
            ApiState::Status { state, router } => {
                self.serve(router, request, api_path, index, |op, call| {
                    status_api::handle(state, op, call, index)
                })
            }
            ApiState::Panel { state, router } => {
                self.serve(router, request, api_path, index, |op, call| {
                    panel_api::handle(state, op, call, index)
                })
            }
        }
    }

    /// Routes the request, then answers a write through `handler` (and forgets every
    /// memoized read) or a read from the read cache, computing it through `handler` on a miss.
    fn serve<Op: crate::call::ApiOperation>(
        &self,
        router: &Router<Op>,
        request: &Request<Bytes>,
        api_path: &str,
        principal: usize,
        handler: impl FnOnce(Op, &Call<'_>) -> Result<Response<Bytes>, ApiError>,
    ) -> Result<Response<Bytes>, ApiError> {
        let (op, call) = router.route(request, api_path)?;
        if request.extensions().get::<BodyTooLarge>().is_some() {
            return Err(ApiError::PayloadTooLarge);
        }
        if call.operation.mutates {
            let response = handler(op, &call);
            if response.is_ok() {
                self.reads.invalidate();
            }
            return response;
        }
        let target = crate::call::target(request.uri());
        match self.reads.get(principal, target) {
            // Head-less, like the handler's own answer: `handle` adds the head.
            Ok(body) => Ok(headless_json(
                StatusCode::from_u16(call.operation.success_status).unwrap_or(StatusCode::OK),
                body,
            )),
            Err(ticket) => {
                let response = handler(op, &call)?;
                self.reads.put(ticket, principal, target, response.body());
                Ok(response)
            }
        }
    }

    /// The answer of an injected `status` fault to `request`, in the API's envelope. It
    /// counts against no window, but carries the rate-limit headers a real answer would:
    /// where the request's windows stand (on every Status answer, on an authenticated Panel
    /// one), and on a 429 none remaining and a retry in a second (`Retry-After` or
    /// `X-RateLimit-Reset`), so that a client's back-off can be tested with it.
    pub(crate) fn injected(
        &self,
        status: StatusCode,
        request: &Request<Bytes>,
        peer: IpAddr,
        received: Instant,
    ) -> Response<Bytes> {
        let mut response = ApiError::Injected(status).into_response(self.api);
        let bearer = auth::bearer_of(request.headers());
        let principal = bearer.and_then(|token| self.authenticate(token));
        let (keys, counted) = self.rate_keys(peer, &principal);
        let peeked = (counted > 0).then(|| self.limiter.peek(&keys[..counted], received));
        let decision = if status == StatusCode::TOO_MANY_REQUESTS {
            Some(RateDecision {
                allowed: false,
                limit: peeked.map_or(self.limiter.usual_limit(), |p| p.limit),
                remaining: 0,
                reset_secs: INJECTED_RETRY_SECS,
            })
        } else {
            peeked
        };
        if let Some(decision) = decision {
            self.usual_head
                .names
                .insert(response.headers_mut(), decision);
        }
        response
    }

    /// Adds `decision`'s rate-limit headers (and, to the usual head, its content type and
    /// `Vary`); returns whether the response now has `Vary: Origin`.
    fn add_rate_headers(&self, response: &mut Response<Bytes>, decision: RateDecision) -> bool {
        let headers = response.headers_mut();
        let usual = headers.is_empty()
            || (headers.len() == 1
                && headers.iter().next().is_some_and(|(name, value)| {
                    name == header::CONTENT_TYPE && value == crate::error::JSON
                }));
        if usual {
            *headers = self.usual_head.filled(decision);
            return self.usual_head.varied;
        }
        self.usual_head.names.insert(headers, decision);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_head_filled_in_place_reads_as_the_headers_inserted_one_by_one() {
        let pairs = |headers: &http::HeaderMap| -> Vec<(String, String)> {
            headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                .collect()
        };
        for api in [Api::Status, Api::Panel] {
            let names = RateHeaders::of(api);
            for varied in [false, true] {
                let usual = UsualHead::new(names, 180, varied);
                for (limit, remaining, reset_secs) in [
                    (180, 179, 60),
                    (180, 0, 1),
                    (60, 12, 3_600),
                    (1_000_000_000, 999_999_999, 0),
                ] {
                    let decision = RateDecision {
                        allowed: true,
                        limit,
                        remaining,
                        reset_secs,
                    };
                    let mut expected = http::HeaderMap::new();
                    expected.insert(header::CONTENT_TYPE, crate::error::JSON);
                    expected.insert(names.limit.clone(), HeaderValue::from(limit));
                    expected.insert(names.remaining.clone(), HeaderValue::from(remaining));
                    if let Some(reset) = &names.reset {
                        expected.insert(reset.clone(), HeaderValue::from(reset_secs));
                    }
                    if varied {
                        expected.insert(header::VARY, crate::cors::VARY_ORIGIN);
                    }
                    assert_eq!(
                        pairs(&usual.filled(decision)),
                        pairs(&expected),
                        "{api:?}, varied {varied}, {limit} {remaining} {reset_secs}"
                    );
                }
            }
        }
    }

    #[test]
    fn rate_header_values_read_the_same_kept_ready_or_formatted() {
        assert_eq!(cached_numbers().len() as u64, MAX_CACHED_VALUE + 1);
        for n in [
            0,
            1,
            9,
            10,
            59,
            99,
            100,
            180,
            999,
            1_000,
            MAX_CACHED_VALUE,
            MAX_CACHED_VALUE + 1,
            u64::MAX,
        ] {
            assert_eq!(RateHeaders::number(n).to_str().unwrap(), n.to_string());
        }
        for (n, value) in cached_numbers().iter().enumerate() {
            assert_eq!(value.to_str().unwrap(), n.to_string());
        }
        for api in [Api::Status, Api::Panel] {
            let names = RateHeaders::of(api);
            assert!(std::ptr::eq(names, RateHeaders::of(api)), "made once");
            let policy = api.rate_limit();
            assert!(
                names
                    .limit
                    .as_str()
                    .eq_ignore_ascii_case(policy.limit_header)
            );
            assert!(
                names
                    .remaining
                    .as_str()
                    .eq_ignore_ascii_case(policy.remaining_header)
            );
            assert_eq!(
                names.reset.as_ref().map(|n| n.as_str().to_owned()),
                policy.reset_header.map(str::to_ascii_lowercase)
            );
        }
    }
}
