//! The admin API from Rust: [`AdminClient`], returned by [`crate::MockServer::admin`].
//!
//! The client runs in-process: it builds each admin request and hands it to the listener's
//! `App` directly, with no socket, so it goes through exactly the routes, checks and JSON that
//! `/__admin/` serves over HTTP (the README's admin table), and a request of the app under test
//! never waits behind it. Its methods are `async` so that a client over HTTP could take its place.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use beacon_spec::{Api, OperationId};
use bytes::Bytes;
use http::{Method, Request, header};
use serde_json::{Value, json};

use crate::app::App;
use crate::service::BASE_PATH;

/// An admin request the mock refused, or an answer the client could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The admin API answered this status with `{"error": message}`.
    #[error("admin API answered {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The admin API's message.
        message: String,
    },
    /// The answer was not the JSON the client expects.
    #[error("unexpected admin answer: {0}")]
    Decode(String),
}

/// Which journal entries [`AdminClient::journal`] returns; every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// The method, e.g. `"POST"` (any case).
    pub method: Option<String>,
    /// A substring of the path and query, e.g. `"/databases"`.
    pub path: Option<String>,
    /// The answer's status.
    pub status: Option<u16>,
}

impl JournalFilter {
    /// Only requests with this method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Only requests whose path and query contain `path`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Only requests answered with `status`.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(method) = &self.method {
            query.append_pair("method", method);
        }
        if let Some(path) = &self.path {
            query.append_pair("path", path);
        }
        if let Some(status) = self.status {
            query.append_pair("status", &status.to_string());
        }
        query.finish()
    }
}

/// One journaled Beacon request, as `GET /__admin/requests` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The API that received it.
    pub api: Api,
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path, base path included, without the query, e.g. `/api/v1/servers/123`.
    pub path: String,
    /// The query, without `?`, if there was one.
    pub query: Option<String>,
    /// The answer's status.
    pub status: u16,
    /// When it was received (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// How long the mock took to answer (injected latency excluded).
    pub latency: Duration,
    /// The bearer token, redacted to its public prefix and last four characters.
    pub token: Option<String>,
    /// Who the request authenticated as: the workspace id (Status) or account id (Panel);
    /// `None` when it did not authenticate or an injected fault answered it.
    pub principal: Option<String>,
    /// The path and query were longer than 2 KiB and are cut.
    pub truncated: bool,
    /// The request headers (names in lower case, repeated ones joined with `, `), secrets
    /// redacted: `authorization` as `Bearer <redacted token>`, cookies and any header naming a
    /// key, token, secret or password as `[redacted]`. At most 4 KiB of them are kept.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The request body's first 4 KiB as text; in JSON, the value of any key naming a key,
    /// token, secret or password is redacted.
    pub body: Option<String>,
    /// The body was longer than 4 KiB and is cut.
    pub body_truncated: bool,
}

impl JournalEntry {
    /// Whether this request is a call of `operation` (same API, method and path template).
    pub fn is(&self, operation: OperationId) -> bool {
        let op = operation.operation();
        if op.api != self.api || !self.method.eq_ignore_ascii_case(op.method.as_str()) {
            return false;
        }
        let Some(path) = self.path.strip_prefix(BASE_PATH) else {
            return false;
        };
        let mut segments = path.split('/');
        let mut template = op.path.split('/');
        loop {
            match (segments.next(), template.next()) {
                (None, None) => return true,
                (Some(segment), Some(part)) if part.starts_with('{') => {
                    if segment.is_empty() {
                        return false;
                    }
                }
                (Some(segment), Some(part)) if segment == part => {}
                _ => return false,
            }
        }
    }
}

/// A fault to inject: latency, an error status or a dropped connection, for some requests.
#[must_use]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fault {
    path: Option<String>,
    count: Option<u32>,
    ratio: Option<f64>,
    latency_ms: Option<u64>,
    status: Option<u16>,
    drop: bool,
}

impl Fault {
    /// Wait `latency` before answering (at most 60 s), rounded up to whole milliseconds.
    pub fn latency(latency: Duration) -> Self {
        let millis = latency.as_nanos().div_ceil(1_000_000);
        Self {
            latency_ms: Some(u64::try_from(millis).unwrap_or(u64::MAX)),
            ..Self::default()
        }
    }

    /// Answer `status` in the API's error envelope.
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// Close the connection without answering. The request is still handled (a write takes
    /// effect) and journaled with the status it would have been answered with: the answer
    /// is what is lost, as when a network fails after the server acted.
    pub fn drop_connection() -> Self {
        Self {
            drop: true,
            ..Self::default()
        }
    }

    /// Only requests whose API path (after `/api/v1`) is `path` or below it.
    pub fn on_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Only the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Only this fraction (0 to 1) of matching requests.
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = Some(ratio);
        self
    }

    fn to_json(&self) -> Value {
        let mut body = json!({ "drop": self.drop });
        let fields = [
            ("path", self.path.as_ref().map(|p| json!(p))),
            ("count", self.count.map(|c| json!(c))),
            // JSON has no NaN or infinity: sent as text, which the mock refuses.
            (
                "ratio",
                self.ratio.map(|r| {
                    serde_json::Number::from_f64(r)
                        .map_or_else(|| json!(r.to_string()), Value::Number)
                }),
            ),
            ("latency_ms", self.latency_ms.map(|l| json!(l))),
            ("status", self.status.map(|s| json!(s))),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                body[name] = value;
            }
        }
        body
    }
}

/// A token minted by [`AdminClient::mint_token`]; the only time it is shown in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedToken {
    /// The token.
    pub token: String,
    /// The workspace (Status) or account (Panel) it belongs to.
    pub principal: String,
}

/// The admin API of one listener, typed. See the module docs: it runs in-process.
#[derive(Debug, Clone, Copy)]
pub struct AdminClient<'a> {
    pub(crate) app: &'a App,
    pub(crate) addr: SocketAddr,
    pub(crate) admin_token: Option<&'a str>,
}

/// The faults of one listener: [`AdminClient::faults`].
#[derive(Debug, Clone, Copy)]
pub struct FaultsClient<'a> {
    admin: AdminClient<'a>,
}

impl FaultsClient<'_> {
    /// Injects `fault`; returns its id.
    pub async fn add(&self, fault: Fault) -> Result<u64, AdminError> {
        let answer = self
            .admin
            .call(Method::POST, "/faults", Some(fault.to_json()))?;
        answer["id"]
            .as_u64()
            .ok_or_else(|| AdminError::Decode(answer.to_string()))
    }

    /// Removes every fault.
    pub async fn clear(&self) -> Result<(), AdminError> {
        self.admin.call(Method::DELETE, "/faults", None).map(drop)
    }
}

impl<'a> AdminClient<'a> {
    /// The journaled requests that match `filter`, oldest first.
    pub async fn journal(&self, filter: JournalFilter) -> Result<Vec<JournalEntry>, AdminError> {
        self.journal_now(&filter)
    }

    pub(crate) fn journal_now(
        &self,
        filter: &JournalFilter,
    ) -> Result<Vec<JournalEntry>, AdminError> {
        let query = filter.query();
        let route = if query.is_empty() {
            "/requests".to_owned()
        } else {
            format!("/requests?{query}")
        };
        let answer = self.call(Method::GET, &route, None)?;
        let journal: beacon_spec::admin::Journal =
            serde_json::from_value(answer).map_err(|e| AdminError::Decode(e.to_string()))?;
        Ok(journal
            .requests
            .into_iter()
            .map(|e| {
                let (path, query) = match e.path.split_once('?') {
                    Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
                    None => (e.path, None),
                };
                JournalEntry {
                    api: self.app.api(),
                    method: e.method,
                    path,
                    query,
                    status: e.status,
                    at: e.at,
                    latency: Duration::from_micros(e.latency_us),
                    token: e.token,
                    principal: e.principal,
                    truncated: e.truncated,
                    headers: e.headers,
                    body: e.body,
                    body_truncated: e.body_truncated,
                }
            })
            .collect())
    }

    /// Empties the journal.
    pub async fn clear_journal(&self) -> Result<(), AdminError> {
        self.call(Method::DELETE, "/requests", None).map(drop)
    }

    /// The listener's faults.
    pub fn faults(&self) -> FaultsClient<'a> {
        FaultsClient { admin: *self }
    }

    /// Mints a token for `principal` (a workspace id on Status, an account id on Panel).
    pub async fn mint_token(&self, principal: &str) -> Result<MintedToken, AdminError> {
        let answer = self.call(
            Method::POST,
            "/tokens",
            Some(json!({ "principal": principal })),
        )?;
        match (answer["token"].as_str(), answer["principal"].as_str()) {
            (Some(token), Some(principal)) => Ok(MintedToken {
                token: token.to_owned(),
                principal: principal.to_owned(),
            }),
            _ => Err(AdminError::Decode(answer.to_string())),
        }
    }

    /// Revokes `token` (then 401).
    pub async fn revoke(&self, token: &str) -> Result<(), AdminError> {
        self.call(
            Method::POST,
            "/tokens/revoke",
            Some(json!({ "token": token })),
        )
        .map(drop)
    }

    /// State, tokens, rate windows, journal and faults back to start-up.
    pub async fn reset(&self) -> Result<(), AdminError> {
        self.call(Method::POST, "/reset", None).map(drop)
    }

    /// One admin request, answered by the listener's own admin routes.
    fn call(&self, method: Method, route: &str, body: Option<Value>) -> Result<Value, AdminError> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/__admin{route}"))
            .header(header::HOST, self.addr.to_string());
        if let Some(token) = self.admin_token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(body)
            .map_err(|e| AdminError::Decode(e.to_string()))?;
        let handled = self.app.handle(&request, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let status = handled.response.status().as_u16();
        let answer: Value = serde_json::from_slice(handled.response.body())
            .map_err(|e| AdminError::Decode(e.to_string()))?;
        if status >= 400 {
            return Err(AdminError::Refused {
                status,
                message: answer["error"].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(answer)
    }
}
