//! The mock's admin API wire types that other tools read: the request journal
//! (`GET /__admin/requests`), whose JSON Schema codegen writes to `spec/schemas/admin/`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalog::WireType;

/// `GET /__admin/requests`: the journaled Beacon requests of one listener, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// The entries that match the query's filters.
    pub requests: Vec<JournalEntry>,
}

/// One journaled request. Secrets are redacted when the journal is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path and query, base path included, cut to 2 KiB.
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// When it arrived: RFC 3339, UTC, milliseconds.
    pub at: String,
    /// How long the mock took to answer, in microseconds (injected latency excluded).
    pub latency_us: u64,
    /// The bearer token sent, redacted to its known prefix and last 4 characters.
    pub token: Option<String>,
    /// Who the request authenticated as: the workspace id on Status, the account id on Panel;
    /// null when it did not authenticate (no, an unknown or a revoked token) or an injected
    /// fault answered it.
    pub principal: Option<String>,
    /// Present and true when the path was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The request headers, lower-case names, repeats joined with `, `, at most 4 KiB; the
    /// `authorization` value as `Bearer <redacted token>`, secret-named ones as `[redacted]`.
    pub headers: BTreeMap<String, String>,
    /// The body's first 4 KiB as text, secret-named JSON keys redacted; null when empty.
    pub body: Option<String>,
    /// Present and true when the body was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
}

/// The journal's schema, `spec/schemas/admin/Journal.json`.
pub const JOURNAL: WireType = WireType::response::<Journal>("Journal");
