//! Wire types of the Beacon Status API (seed 000): status pages and incidents.
//!
//! Field names are snake_case on the wire.
//! Success bodies are `{"data": ...}`; error bodies are `{"error": {"code", "message"}}`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::wire::{Timestamp, wire_string};

wire_string! {
    /// A workspace API token: `bkn_live_` followed by 32 lowercase alphanumerics.
    StatusToken,
    pattern = r"^bkn_live_[a-z0-9]{32}$"
}

impl StatusToken {
    /// The documented prefix that makes tokens easy to spot in logs and secret scanners.
    pub const PREFIX: &'static str = "bkn_live_";

    /// Whether `token` has the documented `bkn_live_` + 32 lowercase alphanumerics format.
    pub fn is_well_formed(token: &str) -> bool {
        token.strip_prefix(Self::PREFIX).is_some_and(|rest| {
            rest.len() == 32
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
    }
}

wire_string! {
    /// A status page id: `pg_` followed by 12 lowercase hex digits.
    PageId,
    pattern = r"^pg_[0-9a-f]{12}$"
}

wire_string! {
    /// An incident id: `inc_` followed by 12 lowercase hex digits.
    IncidentId,
    pattern = r"^inc_[0-9a-f]{12}$"
}

wire_string! {
    /// A page slug as used in URLs, e.g. `acme-cloud`.
    Slug,
    pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"
}

wire_string! {
    /// An IANA time zone name, e.g. `America/New_York` or `UTC`.
    TimeZone,
    pattern = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"
}

/// Success envelope of the Status API: `{"data": <payload>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusData<T> {
    /// The requested object or array.
    pub data: T,
}

/// Error envelope of the Status API: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusError {
    /// What went wrong.
    pub error: StatusErrorDetail,
}

/// The body of a Status API error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusErrorDetail {
    /// Machine-readable snake_case error code.
    pub code: ErrorCode,
    /// Human-readable explanation; names the offending field on validation errors.
    pub message: String,
}

impl StatusError {
    /// An error body with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: StatusErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

/// Error codes the mock emits (ours: the document's "Errors & Rate Limits" page is missing).
///
/// The schema only requires a snake_case string, so that a deployment with other codes
/// still validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON (or not UTF-8).
    InvalidJson,
    /// 401: missing, malformed, unknown or revoked token.
    Unauthorized,
    /// 404: no such page or path.
    NotFound,
    /// 405: known path, wrong method.
    MethodNotAllowed,
    /// 406: the `Accept` header excludes JSON.
    NotAcceptable,
    /// 413: the body is larger than the mock accepts.
    PayloadTooLarge,
    /// 409: a bound of the mock is reached (a page's incidents).
    LimitReached,
    /// 415: a body without `Content-Type: application/json`.
    UnsupportedMediaType,
    /// 422: JSON that breaks the request schema.
    ValidationFailed,
    /// 429: past a rate-limit window.
    RateLimited,
    /// 500: an internal error.
    InternalError,
    /// 503: the service is unavailable.
    ServiceUnavailable,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::NotAcceptable => "not_acceptable",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::LimitReached => "limit_reached",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The code the mock uses for an HTTP status, for statuses that have one.
    pub fn for_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::InvalidJson,
            401 => ErrorCode::Unauthorized,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            406 => ErrorCode::NotAcceptable,
            409 => ErrorCode::LimitReached,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::ValidationFailed,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::ServiceUnavailable,
            _ => ErrorCode::InternalError,
        }
    }
}

impl JsonSchema for ErrorCode {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*$",
            "description": "Machine-readable snake_case error code, e.g. unauthorized, rate_limited, not_found, validation_failed, invalid_json, unsupported_media_type, not_acceptable, method_not_allowed.",
        })
    }
}

/// A status page of the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Unique page id, `pg_` + 12 lowercase hex digits.
    pub id: PageId,
    /// Display name, e.g. "Acme Cloud".
    pub name: String,
    /// URL slug, e.g. `acme-cloud`.
    pub slug: Slug,
    /// Whether the page is visible to the public.
    pub is_public: bool,
    /// IANA time zone the page displays times in.
    pub timezone: TimeZone,
    /// When the page was created.
    pub created_at: Timestamp,
    /// When the page was last changed.
    pub updated_at: Timestamp,
}

/// Where an incident is in its lifecycle.
///
/// - `investigating`: The cause is being looked for (the default).
/// - `identified`: The cause is known.
/// - `monitoring`: A fix is in place and being watched.
/// - `resolved`: The incident is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    #[default]
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Investigating,
        IncidentStatus::Identified,
        IncidentStatus::Monitoring,
        IncidentStatus::Resolved,
    ];
}

/// How badly an incident affects users.
///
/// - `none`: No user-visible impact.
/// - `minor`: Minor impact (the default).
/// - `major`: Major impact.
/// - `critical`: Critical impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    #[default]
    Minor,
    Major,
    Critical,
}

impl Impact {
    /// Every impact level, mildest first.
    pub const ALL: [Impact; 4] = [Impact::None, Impact::Minor, Impact::Major, Impact::Critical];
}

/// Request body of `POST /pages/{slug}/incidents` (ours: the document gives only the URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    /// Short title of the incident, 1 to 200 characters.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Lifecycle status; defaults to `investigating`.
    #[serde(default)]
    pub status: IncidentStatus,
    /// Impact level; defaults to `minor`.
    #[serde(default)]
    pub impact: Impact,
    /// Optional first update shown on the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An incident on a status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// Unique incident id, `inc_` + 12 lowercase hex digits.
    pub id: IncidentId,
    /// The page the incident is on.
    pub page_id: PageId,
    /// Short title of the incident.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Lifecycle status.
    pub status: IncidentStatus,
    /// Impact level.
    pub impact: Impact,
    /// Latest update text, or null.
    pub message: Option<String>,
    /// When the incident was created.
    pub created_at: Timestamp,
    /// When the incident was last changed.
    pub updated_at: Timestamp,
    /// When the incident was resolved; null unless `status` is `resolved`.
    pub resolved_at: Option<Timestamp>,
}
