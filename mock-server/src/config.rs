//! The mock's behaviour options, shared by both APIs; a leaf module read by every layer.

use std::time::Duration;

use crate::defect::Defect;
use crate::fixtures::Fixtures;
use crate::request_log::RequestLogSink;

/// How the mock behaves; shared by both APIs. Set through [`crate::MockServerBuilder`], the one
/// way to configure a mock.
#[derive(Debug, Clone)]
pub(crate) struct MockConfig {
    /// Seed data.
    pub(crate) fixtures: Fixtures,
    /// Extra accepted tokens: each goes to the first Panel account, and to the first Status
    /// workspace when it has the `bkn_live_` format.
    pub(crate) tokens: Vec<String>,
    /// Replaces every window's period (the documented one is 60 s).
    pub(crate) rate_limit_window: Option<Duration>,
    /// Replaces every window's limit (for load tests).
    pub(crate) rate_limit: Option<u32>,
    /// A state transition broken on purpose (tests of the conformance suite only).
    pub(crate) defect: Option<Defect>,
    /// The admin API's bearer token; required when set.
    pub(crate) admin_token: Option<String>,
    /// CORS on the Beacon routes (on by default).
    pub(crate) cors: bool,
    /// The listeners serve HTTPS: the admin API's own origin is `https://`.
    pub(crate) https: bool,
    /// Where the per-request line goes (the `tracing` event by default).
    pub(crate) request_log: RequestLogSink,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            fixtures: Fixtures::embedded(),
            tokens: Vec::new(),
            rate_limit_window: None,
            rate_limit: None,
            defect: None,
            admin_token: None,
            cors: true,
            https: false,
            request_log: RequestLogSink::default(),
        }
    }
}
