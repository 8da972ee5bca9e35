//! Rate-limit policies of both APIs, as data.

use crate::provenance::Provenance;

/// What a rate-limit window counts requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateScope {
    /// All tokens of one Status workspace together.
    Workspace,
    /// One client IP address.
    ClientIp,
    /// One Panel API token.
    Token,
}

/// A fixed window: at most `limit` requests per `period_secs` for each key of `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// What requests are counted by.
    pub scope: RateScope,
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length in seconds.
    pub period_secs: u64,
}

/// An API's rate-limit policy: its windows and the headers that report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// Every window a request counts against.
    pub windows: &'static [RateWindow],
    /// Header carrying the limit of the binding window.
    pub limit_header: &'static str,
    /// Header carrying the requests remaining in the binding window.
    pub remaining_header: &'static str,
    /// Header carrying seconds until the window resets, on every limited response.
    pub reset_header: Option<&'static str>,
    /// Header carrying seconds until the window resets, on 429 responses only.
    pub retry_after_header: Option<&'static str>,
    /// Whether unauthenticated requests carry the headers too (and count per IP).
    pub headers_on_unauthenticated: bool,
    /// Where the policy comes from.
    pub provenance: Provenance,
}

impl RateLimitPolicy {
    /// The smallest limit of any window: the one a single client meets first.
    pub fn tightest_limit(&self) -> u32 {
        self.windows
            .iter()
            .map(|w| w.limit)
            .min()
            .unwrap_or(u32::MAX)
    }

    /// The longest window period.
    pub fn period_secs(&self) -> u64 {
        self.windows
            .iter()
            .map(|w| w.period_secs)
            .max()
            .unwrap_or(60)
    }

    /// The names of every header the policy puts on a limited (non-429) response.
    pub fn headers(&self) -> impl Iterator<Item = &'static str> {
        [
            Some(self.limit_header),
            Some(self.remaining_header),
            self.reset_header,
        ]
        .into_iter()
        .flatten()
    }
}

/// Beacon Status: 120 requests a minute per workspace and 60 per client IP.
pub const STATUS: RateLimitPolicy = RateLimitPolicy {
    windows: &[
        RateWindow {
            scope: RateScope::Workspace,
            limit: 120,
            period_secs: 60,
        },
        RateWindow {
            scope: RateScope::ClientIp,
            limit: 60,
            period_secs: 60,
        },
    ],
    limit_header: "X-RateLimit-Limit",
    remaining_header: "X-RateLimit-Remaining",
    reset_header: None,
    retry_after_header: Some("Retry-After"),
    headers_on_unauthenticated: true,
    provenance: Provenance::Documented,
};

/// Beacon Panel: 180 requests a minute per token (Standard plan).
pub const PANEL: RateLimitPolicy = RateLimitPolicy {
    windows: &[RateWindow {
        scope: RateScope::Token,
        limit: 180,
        period_secs: 60,
    }],
    limit_header: "X-RateLimit-Limit",
    remaining_header: "X-RateLimit-Remaining",
    reset_header: Some("X-RateLimit-Reset"),
    retry_after_header: None,
    headers_on_unauthenticated: false,
    provenance: Provenance::Documented,
};
