//! Why a run could not produce a report.

/// A run that could not check anything: a usage mistake or an unreachable deployment.
///
/// A deployment that answers but breaks the contract is not an error: it is a [`crate::Report`]
/// with failed outcomes.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The configuration cannot be used, e.g. an unknown check name.
    #[error("{0}")]
    Usage(String),
    /// The budget cannot hold the plan's minimum; nothing was sent.
    #[error(
        "the plan needs at least {needed} requests (one generated case per property) but --max-requests is {budget}; pass --max-requests {needed} or more, or run fewer phases with --phases (nothing was sent)"
    )]
    BudgetTooSmall {
        /// The smallest budget that holds the plan.
        needed: u32,
        /// The budget given.
        budget: u32,
    },
    /// The deployment could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Connection {
        /// The URL requested.
        url: String,
        /// Why, as reported by the HTTP client.
        reason: String,
    },
    /// The token was refused by the first authenticated request.
    #[error("the token {token} was refused: {request} answered 401")]
    TokenRefused {
        /// The redacted token.
        token: String,
        /// The request, e.g. `GET /pages`.
        request: String,
    },
    /// The first request did not answer in a way that lets the run discover what to check.
    #[error("{request} answered {status}; cannot discover what to check: {detail}")]
    Discovery {
        /// The request, e.g. `GET /servers`.
        request: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong with the answer.
        detail: String,
    },
}
