//! The test-only admin API under `/__admin/` on each listener, outside Beacon auth:
//! reset, request journal, token minting and revocation, fault injection.
//!
//! These bodies are the mock's own, not Beacon wire types, so they live here.
//!
//! The admin API belongs to whoever started the mock ([`AdminAccess`]): a request from a
//! browser page of another origin is 403, a request body that is not JSON is 415, and when a
//! listener is reachable beyond loopback (or an admin token was given) every admin request
//! needs `Authorization: Bearer <admin token>`.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use beacon_spec::Api;
use beacon_spec::status::StatusToken;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::clock;
use crate::error::json_response;
use crate::faults::{FaultSpec, Faults};
use crate::journal::{Journal, JournalFilter};
use crate::service::ApiService;

/// What the admin API acts on: one API's service, journal and faults, and who may drive it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin<'a> {
    pub(crate) service: &'a ApiService,
    pub(crate) journal: &'a Journal,
    pub(crate) faults: &'a Faults,
    pub(crate) access: &'a AdminAccess,
}

/// Who may drive one listener's admin API.
#[derive(Clone, Default)]
pub(crate) struct AdminAccess {
    /// SHA-256 of the admin token, when the admin API requires one.
    token: Option<[u8; 32]>,
    /// The listener's own address, when known (not behind wiremock).
    listener: Option<SocketAddr>,
    /// The listener serves HTTPS: its origin is `https://`.
    https: bool,
}

impl std::fmt::Debug for AdminAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAccess")
            .field("token_required", &self.token.is_some())
            .field("listener", &self.listener)
            .finish()
    }
}

impl AdminAccess {
    /// Open to loopback callers without a token, or requiring `token` when it is given.
    pub(crate) fn new(token: Option<&str>, listener: Option<SocketAddr>, https: bool) -> Self {
        Self {
            token: token.map(crate::auth::digest),
            listener,
            https,
        }
    }

    /// Refuses a request from a browser page of another origin (403), a request that does
    /// not name a loopback host while no token is required (403: DNS rebinding), and a
    /// request without the admin token when one is required (401).
    pub(crate) fn check(&self, request: &Request<Bytes>) -> Result<(), AdminError> {
        let headers = request.headers();
        let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
        for origin in headers.get_all(header::ORIGIN) {
            if !self.is_own_origin(origin.as_bytes(), host) {
                return Err(admin_error(
                    StatusCode::FORBIDDEN,
                    "cross-origin admin requests are refused",
                ));
            }
        }
        let Some(expected) = &self.token else {
            if host.is_some_and(|h| !self.names_this_host(h)) {
                return Err(admin_error(
                    StatusCode::FORBIDDEN,
                    "the admin API answers only requests addressed to a loopback host",
                ));
            }
            return Ok(());
        };
        let given = crate::auth::bearer_of(headers);
        let valid = given.is_ok_and(|token| bool::from(crate::auth::digest(token).ct_eq(expected)));
        if valid {
            Ok(())
        } else {
            Err(admin_error(
                StatusCode::UNAUTHORIZED,
                "the admin API requires Authorization: Bearer <admin token> (printed at start-up, or --admin-token)",
            ))
        }
    }

    /// Whether `host` (a `Host` header's `host[:port]`) is a loopback name or address, or
    /// the listener's own address.
    fn names_this_host(&self, host: &[u8]) -> bool {
        let Ok(authority) = http::uri::Authority::try_from(host) else {
            return false;
        };
        self.is_own_host(authority.host())
    }

    fn is_own_host(&self, host: &str) -> bool {
        if host.eq_ignore_ascii_case("localhost") {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<IpAddr>().is_ok_and(|ip| {
            ip.is_loopback()
                || self
                    .listener
                    .is_some_and(|l| !l.ip().is_unspecified() && l.ip() == ip)
        })
    }

    /// Whether an `Origin` value is this listener's own: its scheme (`http://`, or `https://`
    /// over TLS), a loopback host or the listener's address, and the listener's port (or,
    /// behind wiremock, exactly the `Host`).
    fn is_own_origin(&self, origin: &[u8], host: Option<&[u8]>) -> bool {
        let (scheme, default_port): (&[u8], u16) = if self.https {
            (b"https://", 443)
        } else {
            (b"http://", 80)
        };
        let Some(rest) = origin.strip_prefix(scheme) else {
            return false;
        };
        let Ok(authority) = http::uri::Authority::try_from(rest) else {
            return false;
        };
        let port = authority.port_u16().unwrap_or(default_port);
        let same_port = match self.listener {
            Some(listener) => listener.port() == port,
            None => host.is_some_and(|h| h.eq_ignore_ascii_case(rest)),
        };
        same_port && self.is_own_host(authority.host())
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

/// A refused admin request: answered `{"error": message}` with `status` (and `Allow` on a
/// 405).
#[derive(Debug)]
pub(crate) struct AdminError {
    status: StatusCode,
    message: String,
    allow: Option<&'static str>,
}

fn admin_error(status: StatusCode, message: impl std::fmt::Display) -> AdminError {
    AdminError {
        status,
        message: message.to_string(),
        allow: None,
    }
}

impl AdminError {
    pub(crate) fn into_response(self) -> Response<Bytes> {
        let mut response = reply(self.status, json!({ "error": self.message }));
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, http::HeaderValue::from_static(allow));
        }
        response
    }
}

/// An admin body: a JSON object, where no body at all reads as `{}` (so a request whose
/// fields are all optional needs none, and one with a required field says which).
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AdminError> {
    let invalid =
        |e: serde_json::Error| admin_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}"));
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(invalid)?
    };
    // Checked here, so that the message names no Rust type ("expected struct MintRequest").
    if !value.is_object() {
        return Err(admin_error(
            StatusCode::BAD_REQUEST,
            "invalid body: expected a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(invalid)
}

/// Every admin route, after `/__admin` and matched exactly, with the methods it answers
/// (its 405's `Allow`).
const ROUTES: [(&str, &str); 6] = [
    ("/openapi.json", "GET"),
    ("/reset", "POST"),
    ("/requests", "GET, DELETE"),
    ("/tokens", "POST"),
    ("/tokens/revoke", "POST"),
    ("/faults", "GET, POST, DELETE"),
];

/// Answers one admin request.
pub(crate) fn handle(admin: Admin<'_>, request: &Request<Bytes>) -> Response<Bytes> {
    route(admin, request).unwrap_or_else(AdminError::into_response)
}

fn route(admin: Admin<'_>, request: &Request<Bytes>) -> Result<Response<Bytes>, AdminError> {
    let Admin {
        service,
        journal,
        faults,
        access,
    } = admin;
    access.check(request)?;
    let (route, allow) = request
        .uri()
        .path()
        .strip_prefix("/__admin")
        .and_then(|route| ROUTES.into_iter().find(|(r, _)| *r == route))
        .ok_or_else(|| {
            admin_error(
                StatusCode::NOT_FOUND,
                "unknown admin route; see /__admin/{openapi.json,reset,requests,tokens,tokens/revoke,faults}",
            )
        })?;
    let body = request.body();
    let has_content_type = request.headers().contains_key(header::CONTENT_TYPE);
    if (!body.is_empty() || has_content_type) && !crate::call::is_json_content_type(request) {
        return Err(admin_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "admin request bodies must be Content-Type: application/json",
        ));
    }
    if request
        .extensions()
        .get::<crate::service::BodyTooLarge>()
        .is_some()
    {
        return Err(admin_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "admin request bodies are at most {} KiB",
                crate::service::MAX_BODY_BYTES / 1024
            ),
        ));
    }
    match (request.method(), route) {
        (&Method::GET, "/openapi.json") => Ok(json_response(
            StatusCode::OK,
            openapi_document(service.api).clone(),
        )),
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
        (&Method::POST, "/tokens/revoke") => parse::<RevokeRequest>(body).and_then(|revoke| {
            if service.tokens.revoke(&revoke.token) {
                Ok(reply(StatusCode::OK, json!({ "revoked": true })))
            } else {
                Err(admin_error(StatusCode::NOT_FOUND, "unknown token"))
            }
        }),
        (&Method::POST, "/faults") => parse::<FaultSpec>(body).and_then(|spec| {
            if let Some(problem) = spec.problem() {
                return Err(admin_error(StatusCode::BAD_REQUEST, problem));
            }
            let id = faults
                .add(spec)
                .map_err(|full| admin_error(StatusCode::CONFLICT, full))?;
            Ok(reply(StatusCode::CREATED, json!({ "id": id })))
        }),
        (&Method::GET, "/faults") => Ok(reply(StatusCode::OK, json!({ "faults": faults.list() }))),
        (&Method::DELETE, "/faults") => {
            faults.clear();
            Ok(reply(StatusCode::OK, json!({ "cleared": true })))
        }
        _ => Err(AdminError {
            allow: Some(allow),
            ..admin_error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} is not allowed here; use {allow}", request.method()),
            )
        }),
    }
}

/// `spec/openapi/<api>.json`, rendered by beacon-spec once per process.
fn openapi_document(api: Api) -> &'static Bytes {
    static STATUS: OnceLock<Bytes> = OnceLock::new();
    static PANEL: OnceLock<Bytes> = OnceLock::new();
    let cell = match api {
        Api::Status => &STATUS,
        Api::Panel => &PANEL,
    };
    cell.get_or_init(|| Bytes::from(beacon_spec::codegen::openapi_json(api)))
}

fn journal_filter(query: &str) -> Result<JournalFilter, AdminError> {
    let mut filter = JournalFilter::default();
    // An empty value filters nothing: `?method=&path=&status=` is every request.
    let given = url::form_urlencoded::parse(query.as_bytes()).filter(|(_, v)| !v.is_empty());
    for (key, value) in given {
        match key.as_ref() {
            "method" => filter.method = Some(value.into_owned()),
            "path" => filter.path = Some(value.into_owned()),
            "status" => {
                let status = value.parse().ok().filter(|s| (100..=599).contains(s));
                filter.status = Some(status.ok_or_else(|| {
                    admin_error(
                        StatusCode::BAD_REQUEST,
                        "status must be an HTTP status code (an integer from 100 to 599)",
                    )
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
        Some(name) => principals
            .iter()
            .position(|p| **p == **name)
            .ok_or_else(|| {
                admin_error(
                    StatusCode::NOT_FOUND,
                    format!(
                        "unknown principal {name}; known: {}",
                        principals
                            .iter()
                            .map(|p| &**p)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
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
    service
        .tokens
        .mint(&token, index)
        .map_err(|full| admin_error(StatusCode::CONFLICT, full))?;
    Ok(reply(
        StatusCode::CREATED,
        json!({ "token": token, "principal": &*principals[index], "note": "shown once; store it now" }),
    ))
}
