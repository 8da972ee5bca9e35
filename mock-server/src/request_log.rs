//! The one line per Beacon request: a `tracing` event (target `beacon_mock::request`) unless
//! the user gives a [`RequestLog`] of their own; a leaf module read by the app.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use beacon_spec::Api;

/// The `tracing` target of the per-request line.
pub const REQUEST_LOG_TARGET: &str = "beacon_mock::request";

/// What the mock logs of one Beacon request (not of `/__admin/` calls).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestLine<'a> {
    /// The API that answered.
    pub api: Api,
    /// The request's method.
    pub method: &'a str,
    /// The request's path and query.
    pub path: &'a str,
    /// The answer's status code.
    pub status: u16,
    /// From the mock taking the request (its body read) to its answer being ready, in
    /// microseconds.
    pub latency_us: u64,
    /// When the answer was ready: the time the journal shows for the request.
    pub at: SystemTime,
}

/// Where the per-request line goes instead of the `beacon_mock::request` `tracing` event
/// ([`crate::MockServerBuilder::request_log`]); called on the request path, so it should be
/// cheap and must not block.
pub trait RequestLog: Send + Sync + 'static {
    /// Logs one request.
    fn log(&self, line: &RequestLine<'_>);
}

/// The configured [`RequestLog`], if any.
#[derive(Clone, Default)]
pub(crate) struct RequestLogSink(pub(crate) Option<Arc<dyn RequestLog>>);

impl fmt::Debug for RequestLogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "RequestLogSink(user)"
        } else {
            "RequestLogSink(tracing)"
        })
    }
}

impl RequestLogSink {
    /// Logs `line` to the user's log, or as the `tracing` event.
    pub(crate) fn log(&self, line: &RequestLine<'_>) {
        match &self.0 {
            Some(log) => log.log(line),
            None => trace(line),
        }
    }
}

/// A request's path and query as logged and journaled: a secret in the query
/// ([`beacon_spec::redact::redact_query`]) and a token anywhere
/// ([`beacon_spec::redact::redact_tokens`]) redacted.
pub(crate) fn logged_target(uri: &http::Uri) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let target = crate::call::target(uri);
    let target = if uri.query().is_none() {
        // No query to redact, and no need to look for the `?` the URI already found.
        Cow::Borrowed(target)
    } else {
        beacon_spec::redact::redact_query(target)
    };
    let scrubbed = match beacon_spec::redact::redact_tokens(&target) {
        Cow::Owned(scrubbed) => Some(scrubbed),
        Cow::Borrowed(_) => None,
    };
    scrubbed.map_or(target, Cow::Owned)
}

/// `line` as the [`REQUEST_LOG_TARGET`] `tracing` event (its `at` is the subscriber's own).
pub(crate) fn trace(line: &RequestLine<'_>) {
    tracing::info!(
        target: REQUEST_LOG_TARGET,
        api = line.api.name(),
        method = line.method,
        path = line.path,
        status = line.status,
        latency_us = line.latency_us,
    );
}
