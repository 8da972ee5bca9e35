//! The budgeted, blocking HTTP client every check goes through.
//!
//! It counts requests and never sends more than the budget, every request of the run
//! included; it keeps the requests the plan gives later checks in reserve; on an unexpected
//! 429 it waits for `Retry-After` or `X-RateLimit-Reset` and retries instead of hammering; it
//! retries a transport failure once where that is safe (GET); it records every exchange for
//! the checks that look at all responses; and it renders each request as a curl command with
//! the token replaced by `$BEACON_TOKEN`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::time::{Duration, SystemTime};

use beacon_spec::Operation;
use beacon_spec::catalog::Method;
use beacon_spec::exchange::{self, Observed};
use serde_json::Value;

use crate::config::{Config, Token};
use crate::progress::Progress;
use crate::report::{RequestStats, ResponseSeen};

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <the configured token>`.
    Configured,
    /// No `Authorization` header.
    Missing,
    /// This exact `Authorization` value; never the configured secret.
    Header(String),
}

/// One request, relative to the base URL.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    op: &'static Operation,
    path: String,
    query: Option<String>,
    auth: Auth,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Request {
    /// A request of `op` with its path parameters filled from `params`.
    pub(crate) fn new(op: &'static Operation, params: &[(&str, String)]) -> Self {
        let values: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Self {
            op,
            path: op.render_path(&values),
            query: None,
            auth: Auth::Configured,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Sets the raw (already encoded) query string.
    pub(crate) fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Sets how the request authenticates.
    pub(crate) fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sends `value` as `application/json`.
    pub(crate) fn json(self, value: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(value.to_string().into_bytes())
    }

    /// Sets the raw body, without any Content-Type.
    pub(crate) fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    /// `METHOD /path?query`, for messages.
    pub(crate) fn describe(&self) -> String {
        match &self.query {
            Some(query) => format!("{} {}?{query}", self.op.method.as_str(), self.path),
            None => format!("{} {}", self.op.method.as_str(), self.path),
        }
    }
}

/// A request and the response it got.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The operation exercised.
    pub(crate) op: &'static Operation,
    /// Whether the request carried the configured token.
    pub(crate) authenticated: bool,
    /// The HTTP status.
    pub(crate) status: u16,
    /// Response headers, names lowercased.
    headers: Vec<(String, String)>,
    /// Response body.
    pub(crate) body: Vec<u8>,
    /// The request as a curl command, token redacted.
    pub(crate) curl: String,
}

impl Exchange {
    /// The response as `beacon_spec::exchange` judges it.
    pub(crate) fn observed(&self) -> Observed<'_> {
        Observed::new(self.status, &self.headers, &self.body, self.authenticated)
    }

    /// The body as JSON, if it is JSON.
    pub(crate) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `status body`, the body cut to a readable length.
    pub(crate) fn summary(&self) -> String {
        const MAX: usize = 400;
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.is_empty() {
            return format!("{} (empty body)", self.status);
        }
        let cut: String = text.chars().take(MAX).collect();
        if cut.len() < text.len() {
            format!("{} {cut}…", self.status)
        } else {
            format!("{} {cut}", self.status)
        }
    }
}

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientError {
    /// The allowance is spent; nothing was sent.
    BudgetSpent {
        /// The allowance that is spent.
        budget: u32,
    },
    /// The request failed on the wire (connection refused, timeout, …).
    Transport {
        /// The URL requested.
        url: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::BudgetSpent { budget } => {
                write!(f, "the request budget of {budget} is spent")
            }
            ClientError::Transport { url, reason } => write!(f, "{url}: {reason}"),
        }
    }
}

/// Retries of one request after a 429 before its 429 is returned to the check.
const MAX_RETRIES_AFTER_429: u32 = 3;

/// The budgeted client; single-threaded (checks run one after another).
pub(crate) struct Client {
    http: reqwest::blocking::Client,
    base: String,
    token: Token,
    budget: u32,
    reserved: Cell<u32>,
    max_wait: Duration,
    sent: Cell<u32>,
    retried: Cell<u32>,
    throttled: Cell<u32>,
    probe_throttled: Cell<u32>,
    waited: Cell<Duration>,
    log: RefCell<Vec<Exchange>>,
    progress: Progress,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token)
            .field("sent", &self.sent.get())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`, reporting waits on `progress`.
    pub(crate) fn new(config: &Config, progress: Progress) -> Result<Self, String> {
        let mut http = reqwest::blocking::Client::builder()
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("beacon-conformance/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &config.trusted_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or("--ca-cert holds no PEM certificate")?;
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http.build().map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            base: config.base_url.as_str().trim_end_matches('/').to_owned(),
            token: config.token.clone(),
            budget: config.max_requests,
            reserved: Cell::new(0),
            max_wait: config.max_wait,
            sent: Cell::new(0),
            retried: Cell::new(0),
            throttled: Cell::new(0),
            probe_throttled: Cell::new(0),
            waited: Cell::new(Duration::ZERO),
            log: RefCell::new(Vec::new()),
            progress,
        })
    }

    /// Keeps `requests` of the budget for what the plan still has to run after the check
    /// now running: this check may use the rest, and no more.
    pub(crate) fn reserve(&self, requests: u32) {
        self.reserved.set(requests);
    }

    /// Sends `request` within the budget; on a 429 waits for the window named by the
    /// response's `Retry-After` or `X-RateLimit-Reset` and retries (each retry counts).
    pub(crate) fn send(&self, request: &Request) -> Result<Exchange, ClientError> {
        let mut retries = 0;
        loop {
            let exchange = self.send_once(request)?;
            if exchange.status != 429 {
                return Ok(exchange);
            }
            self.throttled.set(self.throttled.get() + 1);
            if retries == MAX_RETRIES_AFTER_429 {
                return Ok(exchange);
            }
            retries += 1;
            self.wait_for_reset(&exchange);
        }
    }

    /// Sends `request` within the budget without waiting on a 429 (the rate-limit probe).
    pub(crate) fn probe(&self, request: &Request) -> Result<Exchange, ClientError> {
        let exchange = self.send_once(request)?;
        if exchange.status == 429 {
            self.probe_throttled.set(self.probe_throttled.get() + 1);
        }
        Ok(exchange)
    }

    /// One request, counted against the budget; a transport failure of a GET is retried
    /// once (the retry counts too), any other is returned.
    fn send_once(&self, request: &Request) -> Result<Exchange, ClientError> {
        self.take_one()?;
        match self.execute(request) {
            Err(ClientError::Transport { .. }) if request.op.method == Method::Get => {
                self.take_one()?;
                self.retried.set(self.retried.get() + 1);
                self.execute(request)
            }
            other => other,
        }
    }

    /// Counts one request, or refuses when it would eat into the reserve or the budget.
    fn take_one(&self) -> Result<(), ClientError> {
        if self.sent.get() + self.reserved.get() >= self.budget {
            return Err(ClientError::BudgetSpent {
                budget: self.budget,
            });
        }
        self.sent.set(self.sent.get() + 1);
        Ok(())
    }

    /// Sleeps for the window reset a 429 (or any limited response) announces, at most
    /// one window and a few seconds; returns how long it slept.
    pub(crate) fn wait_for_reset(&self, exchange: &Exchange) -> Duration {
        let announced = reset_seconds(exchange).unwrap_or(1);
        let wait = (Duration::from_secs(announced) + Duration::from_millis(500)).min(self.max_wait);
        self.progress.note(&format!(
            "rate limited: waiting {:.1} s for the window to reset",
            wait.as_secs_f64()
        ));
        std::thread::sleep(wait);
        self.waited.set(self.waited.get() + wait);
        wait
    }

    /// Sleeps `duration` (at most the configured longest wait) on purpose, e.g. the probe
    /// waiting for a reset; counted as waited. Returns how long it slept.
    pub(crate) fn pause(&self, duration: Duration) -> Duration {
        let duration = duration.min(self.max_wait);
        self.progress.note(&format!(
            "waiting {:.1} s for the rate-limit window to reset",
            duration.as_secs_f64()
        ));
        std::thread::sleep(duration);
        self.waited.set(self.waited.get() + duration);
        duration
    }

    /// Requests the check now running may still send: the budget less what was sent and
    /// what the plan keeps for later checks.
    pub(crate) fn available(&self) -> u32 {
        self.budget
            .saturating_sub(self.sent.get())
            .saturating_sub(self.reserved.get())
    }

    /// Requests sent so far.
    pub(crate) fn total_sent(&self) -> u32 {
        self.sent.get()
    }

    /// Time spent waiting for rate-limit windows so far.
    pub(crate) fn waited(&self) -> Duration {
        self.waited.get()
    }

    /// How often each (operation, status) pair was answered, in catalog and status order.
    pub(crate) fn responses_seen(&self) -> Vec<ResponseSeen> {
        let mut seen: Vec<ResponseSeen> = Vec::new();
        for exchange in self.log.borrow().iter() {
            match seen
                .iter_mut()
                .find(|s| s.operation == exchange.op.name && s.status == exchange.status)
            {
                Some(entry) => entry.count += 1,
                None => seen.push(ResponseSeen {
                    operation: exchange.op.name,
                    status: exchange.status,
                    count: 1,
                }),
            }
        }
        let position = |name: &str| {
            beacon_spec::catalog::OPERATIONS
                .iter()
                .position(|op| op.name == name)
        };
        seen.sort_by_key(|s| (position(s.operation), s.status));
        seen
    }

    /// Every exchange so far, in order.
    pub(crate) fn exchanges(&self) -> Vec<Exchange> {
        self.log.borrow().clone()
    }

    /// Counters for the report; `planned` is the plan's count.
    pub(crate) fn stats(&self, planned: u32) -> RequestStats {
        RequestStats {
            sent: self.sent.get(),
            planned,
            budget: self.budget,
            retried: self.retried.get(),
            throttled: self.throttled.get(),
            probe_throttled: self.probe_throttled.get(),
            waited: self.waited.get(),
        }
    }

    fn execute(&self, request: &Request) -> Result<Exchange, ClientError> {
        let url = match &request.query {
            Some(query) => format!("{}{}?{query}", self.base, request.path),
            None => format!("{}{}", self.base, request.path),
        };
        let method = match request.op.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.http.request(method, &url);
        match &request.auth {
            Auth::Configured => {
                builder = builder.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {}", self.token.expose()),
                );
            }
            Auth::Header(value) => {
                builder = builder.header(reqwest::header::AUTHORIZATION, value);
            }
            Auth::Missing => {}
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let transport = |e: reqwest::Error| ClientError::Transport {
            url: url.clone(),
            reason: self.token.scrub(&error_chain(&e)),
        };
        let response = builder.send().map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().map_err(transport)?.to_vec();
        let exchange = Exchange {
            op: request.op,
            authenticated: request.auth == Auth::Configured,
            status,
            headers,
            body,
            curl: curl(request, &url),
        };
        self.log.borrow_mut().push(exchange.clone());
        Ok(exchange)
    }
}

/// Seconds until the window resets, from `Retry-After` (either form) or
/// `X-RateLimit-Reset`.
pub(crate) fn reset_seconds(exchange: &Exchange) -> Option<u64> {
    ["retry-after", "x-ratelimit-reset"]
        .iter()
        .find_map(|name| {
            exchange::retry_after_seconds(&exchange.observed(), name, SystemTime::now()).ok()
        })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `request` as a ready-to-run curl command; the configured token is `$BEACON_TOKEN`.
fn curl(request: &Request, url: &str) -> String {
    let mut parts = vec!["curl -sS -i".to_owned()];
    if request.op.method != Method::Get {
        parts.push(format!("-X {}", request.op.method.as_str()));
    }
    parts.push(shell_quote(url));
    match &request.auth {
        Auth::Configured => parts.push("-H \"Authorization: Bearer $BEACON_TOKEN\"".to_owned()),
        Auth::Header(value) => parts.push(format!(
            "-H {}",
            shell_quote(&format!("Authorization: {value}"))
        )),
        Auth::Missing => {}
    }
    for (name, value) in &request.headers {
        parts.push(format!("-H {}", shell_quote(&format!("{name}: {value}"))));
    }
    if let Some(body) = &request.body {
        let has_content_type = request
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if !has_content_type {
            // curl would otherwise add application/x-www-form-urlencoded.
            parts.push("-H 'Content-Type:'".to_owned());
        }
        match std::str::from_utf8(body) {
            Ok(text) => parts.push(format!("--data-raw {}", shell_quote(text))),
            Err(_) => parts.push(format!("--data-binary {}", ansi_c_quote(body))),
        }
    }
    parts.join(" ")
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn ansi_c_quote(bytes: &[u8]) -> String {
    let mut out = String::from("$'");
    for &b in bytes {
        match b {
            b'\\' => out.push_str(r"\\"),
            b'\'' => out.push_str(r"\'"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_spec::catalog::{OperationId, operation};

    #[test]
    fn curl_hides_the_token_and_quotes_the_body() {
        let op = operation(OperationId::CreateIncident);
        let request = Request::new(op, &[("slug", "acme-cloud".to_owned())])
            .json(&serde_json::json!({"name": "it's down"}));
        let rendered = curl(&request, "http://h/api/v1/pages/acme-cloud/incidents");
        assert_eq!(
            rendered,
            "curl -sS -i -X POST 'http://h/api/v1/pages/acme-cloud/incidents' \
             -H \"Authorization: Bearer $BEACON_TOKEN\" -H 'Content-Type: application/json' \
             --data-raw '{\"name\":\"it'\\''s down\"}'"
        );
    }

    #[test]
    fn curl_renders_binary_bodies_and_suppresses_curls_default_content_type() {
        let op = operation(OperationId::CreateIncident);
        let request = Request::new(op, &[("slug", "x".to_owned())])
            .auth(Auth::Missing)
            .body(vec![b'{', 0xff]);
        let rendered = curl(&request, "http://h/x");
        assert!(
            rendered.ends_with("-H 'Content-Type:' --data-binary $'{\\xff'"),
            "{rendered}"
        );
        assert!(!rendered.contains("Authorization"));
    }
}
