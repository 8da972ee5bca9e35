//! The mock's admin API wire types that other tools read: the request journal
//! (`GET /__admin/requests`) and the proxy's contract violations (`GET /__admin/violations`),
//! whose JSON Schemas codegen writes to `spec/schemas/admin/`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Provenance;
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
    /// The path and query, base path included, cut to 2 KiB; secret query parameters and
    /// `bkn_live_` or `panel_` tokens redacted.
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
    /// `authorization` value as `Bearer <redacted token>`, secret-named ones as `[redacted]`,
    /// a `bkn_live_` or `panel_` token in any other redacted.
    pub headers: BTreeMap<String, String>,
    /// The body's first 4 KiB as text, secret-named JSON keys and `bkn_live_` or `panel_`
    /// tokens in other strings redacted (a body that is not JSON and names a secret or holds
    /// a token, redacted whole); null when empty.
    pub body: Option<String>,
    /// Present and true when the body was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
}

/// The journal's schema, `spec/schemas/admin/Journal.json`.
pub const JOURNAL: WireType = WireType::response::<Journal>("Journal");

/// Which side of a proxied exchange broke a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The request: the client broke the contract.
    Client,
    /// The answer: the upstream deployment broke the contract.
    Upstream,
}

/// `GET /__admin/violations` on `beacon-mock proxy`: every contract violation seen in
/// proxied traffic since start or the last `DELETE`, oldest first.
pub type Violations = Vec<Violation>;

/// One rule one proxied exchange broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Violation {
    /// The rule's id, e.g. `panel.envelope`.
    pub rule: String,
    /// Where the rule comes from.
    pub provenance: Provenance,
    /// Who broke it.
    pub side: Side,
    /// The operation, e.g. `list_servers`.
    pub operation: String,
    /// What went wrong, in a sentence; tokens never appear in it.
    pub message: String,
    /// When the exchange ended: RFC 3339, UTC, milliseconds.
    pub time: String,
}

/// The proxy's violations schema, `spec/schemas/admin/Violations.json`.
pub const VIOLATIONS: WireType = WireType::response::<Violations>("Violations");
