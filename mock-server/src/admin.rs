//! The test-only admin API under `/__admin/` on each listener, outside Beacon auth:
//! reset, request journal, token minting and revocation, fault injection.
//!
//! These bodies are the mock's own, not Beacon wire types, so they live here.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use beacon_spec::Api;
use beacon_spec::status::StatusToken;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::clock;
use crate::error::json_response;
use crate::service::ApiService;

/// Entries kept in the journal; older ones are dropped.
const JOURNAL_CAPACITY: usize = 10_000;

/// One journaled request. The token is redacted to its prefix and last four characters.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct JournalEntry {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: u16,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) at: std::time::SystemTime,
    pub(crate) latency_us: u64,
    pub(crate) token: Option<String>,
}

/// Journal times are formatted when the journal is read, not on the request path.
fn rfc3339<S: serde::Serializer>(
    at: &std::time::SystemTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*at))
}

/// The most recent requests of one API.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<VecDeque<JournalEntry>>,
}

impl Journal {
    pub(crate) fn push(&self, entry: JournalEntry) {
        let mut entries = self.entries.lock().expect("journal lock");
        if entries.len() == JOURNAL_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    pub(crate) fn clear(&self) {
        self.entries.lock().expect("journal lock").clear();
    }

    fn matching(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        let entries = self.entries.lock().expect("journal lock");
        entries
            .iter()
            .filter(|e| {
                filter
                    .method
                    .as_ref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
            })
            .filter(|e| {
                filter
                    .path
                    .as_ref()
                    .is_none_or(|p| e.path.contains(p.as_str()))
            })
            .filter(|e| filter.status.is_none_or(|s| s == e.status))
            .cloned()
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalFilter {
    method: Option<String>,
    path: Option<String>,
    status: Option<u16>,
}

/// What an injected fault does to a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FaultEffect {
    pub(crate) latency: Option<Duration>,
    pub(crate) status: Option<StatusCode>,
    pub(crate) drop_connection: bool,
}

/// Request body of `POST /__admin/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    /// Only requests whose API path (after `/api/v1`) is this path or below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// Apply to the next `count` matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    /// Apply to this fraction (0..=1) of matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ratio: Option<f64>,
    /// Wait this long before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    /// Answer with this status, in the API's error envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// Close the connection without answering.
    #[serde(default)]
    drop: bool,
}

#[derive(Debug, Clone)]
struct Fault {
    id: u64,
    spec: FaultSpec,
    remaining: Option<u32>,
}

/// Injected faults of one API. The request path pays one atomic load while none is set.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    active: AtomicBool,
    next_id: AtomicU64,
    faults: Mutex<Vec<Fault>>,
}

impl Faults {
    /// The effect of the first fault that applies to a request on `api_path`, consuming one
    /// of its count.
    pub(crate) fn take(&self, api_path: &str) -> FaultEffect {
        if !self.active.load(Ordering::Acquire) {
            return FaultEffect::default();
        }
        let mut faults = self.faults.lock().expect("faults lock");
        let applies = |f: &Fault| {
            f.spec.path.as_ref().is_none_or(|p| {
                api_path == p || api_path.starts_with(&format!("{}/", p.trim_end_matches('/')))
            }) && f
                .spec
                .ratio
                .is_none_or(|r| rand::rng().random_bool(r.clamp(0.0, 1.0)))
        };
        let Some(index) = faults.iter().position(applies) else {
            return FaultEffect::default();
        };
        let fault = &mut faults[index];
        let effect = FaultEffect {
            latency: fault.spec.latency_ms.map(Duration::from_millis),
            status: fault.spec.status.and_then(|s| StatusCode::from_u16(s).ok()),
            drop_connection: fault.spec.drop,
        };
        if let Some(remaining) = &mut fault.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                faults.remove(index);
                self.active.store(!faults.is_empty(), Ordering::Release);
            }
        }
        effect
    }

    fn add(&self, spec: FaultSpec) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut faults = self.faults.lock().expect("faults lock");
        faults.push(Fault {
            id,
            remaining: spec.count,
            spec,
        });
        self.active.store(true, Ordering::Release);
        id
    }

    fn list(&self) -> serde_json::Value {
        let faults = self.faults.lock().expect("faults lock");
        json!(
            faults
                .iter()
                .map(|f| json!({ "id": f.id, "remaining": f.remaining, "fault": f.spec }))
                .collect::<Vec<_>>()
        )
    }

    pub(crate) fn clear(&self) {
        self.faults.lock().expect("faults lock").clear();
        self.active.store(false, Ordering::Release);
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    /// Workspace (Status) or account (Panel) id; the first one by default.
    principal: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    token: String,
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Bytes> {
    json_response(
        status,
        serde_json::to_vec(&body).expect("JSON values serialize"),
    )
}

/// A refused admin request: answered `{"error": message}` with `status`.
#[derive(Debug)]
struct AdminError {
    status: StatusCode,
    message: String,
}

fn admin_error(status: StatusCode, message: impl std::fmt::Display) -> AdminError {
    AdminError {
        status,
        message: message.to_string(),
    }
}

impl AdminError {
    fn into_response(self) -> Response<Bytes> {
        reply(self.status, json!({ "error": self.message }))
    }
}

fn parse<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| admin_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

/// Answers one admin request.
pub(crate) fn handle(service: &ApiService, request: &Request<Bytes>) -> Response<Bytes> {
    let route = request
        .uri()
        .path()
        .trim_start_matches("/__admin")
        .trim_end_matches('/');
    let body = request.body();
    let result = match (request.method(), route) {
        (&Method::POST, "/reset") => {
            service.reset();
            Ok(reply(StatusCode::OK, json!({ "reset": true })))
        }
        (&Method::GET, "/requests") => {
            let query = request.uri().query().unwrap_or("");
            journal_filter(query).map(|filter| {
                reply(
                    StatusCode::OK,
                    json!({ "requests": service.journal.matching(&filter) }),
                )
            })
        }
        (&Method::DELETE, "/requests") => {
            service.journal.clear();
            Ok(reply(StatusCode::OK, json!({ "cleared": true })))
        }
        (&Method::POST, "/tokens") => {
            parse::<MintRequest>(body).and_then(|mint| mint_token(service, mint))
        }
        (&Method::POST, "/tokens/revoke") => parse::<RevokeRequest>(body).map(|revoke| {
            if service.tokens.revoke(&revoke.token) {
                reply(StatusCode::OK, json!({ "revoked": true }))
            } else {
                admin_error(StatusCode::NOT_FOUND, "unknown token").into_response()
            }
        }),
        (&Method::POST, "/faults") => parse::<FaultSpec>(body).and_then(|spec| {
            validate_fault(&spec)?;
            let id = service.faults.add(spec);
            Ok(reply(StatusCode::CREATED, json!({ "id": id })))
        }),
        (&Method::GET, "/faults") => Ok(reply(
            StatusCode::OK,
            json!({ "faults": service.faults.list() }),
        )),
        (&Method::DELETE, "/faults") => {
            service.faults.clear();
            Ok(reply(StatusCode::OK, json!({ "cleared": true })))
        }
        (_, "/reset" | "/requests" | "/tokens" | "/tokens/revoke" | "/faults") => Err(admin_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        )),
        _ => Err(admin_error(
            StatusCode::NOT_FOUND,
            "unknown admin route; see /__admin/{reset,requests,tokens,tokens/revoke,faults}",
        )),
    };
    result.unwrap_or_else(AdminError::into_response)
}

fn journal_filter(query: &str) -> Result<JournalFilter, AdminError> {
    let mut filter = JournalFilter::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "method" => filter.method = Some(value.into_owned()),
            "path" => filter.path = Some(value.into_owned()),
            "status" => {
                filter.status = Some(value.parse().map_err(|_| {
                    admin_error(StatusCode::BAD_REQUEST, "status must be an integer")
                })?)
            }
            other => {
                return Err(admin_error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown filter {other}; use method, path or status"),
                ));
            }
        }
    }
    Ok(filter)
}

fn validate_fault(spec: &FaultSpec) -> Result<(), AdminError> {
    let bad = |m: &str| Err(admin_error(StatusCode::BAD_REQUEST, m));
    if spec.latency_ms.is_none() && spec.status.is_none() && !spec.drop {
        return bad("a fault needs latency_ms, status or drop");
    }
    if spec.count == Some(0) {
        return bad("count must be at least 1");
    }
    if spec.ratio.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return bad("ratio must be between 0 and 1");
    }
    if spec.status.is_some_and(|s| !(400..=599).contains(&s)) {
        return bad("status must be an error status (400..=599)");
    }
    if spec.latency_ms.is_some_and(|ms| ms > 60_000) {
        return bad("latency_ms must be at most 60000");
    }
    Ok(())
}

fn mint_token(service: &ApiService, mint: MintRequest) -> Result<Response<Bytes>, AdminError> {
    let principals = service.principals();
    let index = match &mint.principal {
        None => 0,
        Some(name) => principals.iter().position(|p| p == name).ok_or_else(|| {
            admin_error(
                StatusCode::NOT_FOUND,
                format!("unknown principal {name}; known: {}", principals.join(", ")),
            )
        })?,
    };
    let token = match service.api {
        Api::Status => format!(
            "{}{}",
            StatusToken::PREFIX,
            clock::random_string(clock::LOWER_ALNUM, 32)
        ),
        Api::Panel => format!("panel_{}", clock::random_string(clock::HEX, 32)),
    };
    service.tokens.insert(&token, index);
    Ok(reply(
        StatusCode::CREATED,
        json!({ "token": token, "principal": principals[index], "note": "shown once; store it now" }),
    ))
}
