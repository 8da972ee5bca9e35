//! The test-only admin API under `/__admin/` on each listener, outside Beacon auth:
//! reset, request journal, token minting and revocation, fault injection.
//!
//! These bodies are the mock's own, not Beacon wire types, so they live here.

use beacon_spec::Api;
use beacon_spec::status::StatusToken;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::clock;
use crate::error::json_response;
use crate::faults::{FaultSpec, Faults};
use crate::journal::{Journal, JournalFilter};
use crate::service::ApiService;

/// What the admin API acts on: one API's service, journal and faults.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin<'a> {
    pub(crate) service: &'a ApiService,
    pub(crate) journal: &'a Journal,
    pub(crate) faults: &'a Faults,
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
pub(crate) fn handle(admin: Admin<'_>, request: &Request<Bytes>) -> Response<Bytes> {
    let Admin {
        service,
        journal,
        faults,
    } = admin;
    let route = request
        .uri()
        .path()
        .trim_start_matches("/__admin")
        .trim_end_matches('/');
    let body = request.body();
    let result = match (request.method(), route) {
        (&Method::POST, "/reset") => {
            service.reset();
            journal.clear();
            faults.clear();
            Ok(reply(StatusCode::OK, json!({ "reset": true })))
        }
        (&Method::GET, "/requests") => {
            let query = request.uri().query().unwrap_or("");
            journal_filter(query).map(|filter| {
                reply(
                    StatusCode::OK,
                    json!({ "requests": journal.matching(&filter) }),
                )
            })
        }
        (&Method::DELETE, "/requests") => {
            journal.clear();
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
            if let Some(problem) = spec.problem() {
                return Err(admin_error(StatusCode::BAD_REQUEST, problem));
            }
            let id = faults.add(spec);
            Ok(reply(StatusCode::CREATED, json!({ "id": id })))
        }),
        (&Method::GET, "/faults") => Ok(reply(StatusCode::OK, json!({ "faults": faults.list() }))),
        (&Method::DELETE, "/faults") => {
            faults.clear();
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
