//! CORS for the Beacon routes, so that a browser page on any origin can call the mock: a
//! preflight is answered here (204, before faults, auth and rate limits), and every other
//! Beacon answer to a request with an `Origin` says that any origin may read it and which
//! rate-limit headers scripts may see. The admin API takes no part: it refuses other origins.
//!
//! Beacon authenticates with a bearer token, never a cookie, so `*` is enough: no credentials
//! mode, no origin to reflect.

use beacon_spec::Api;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

/// How long a browser may cache a preflight's answer (Chromium caps it at 2 hours).
pub(crate) const PREFLIGHT_MAX_AGE_SECS: u32 = 7_200;
/// The request headers a page may send.
pub(crate) const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Accept";

/// `Vary: Origin`'s value: an answer may differ by origin.
pub(crate) const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("Origin");

/// One API's CORS answers, built once.
#[derive(Debug, Clone)]
pub(crate) struct Cors {
    methods: HeaderValue,
    expose: HeaderValue,
}

impl Cors {
    /// The methods `api`'s catalog uses, and its rate-limit headers.
    pub(crate) fn new(api: Api) -> Self {
        let mut methods: Vec<&str> = api.operations().map(|op| op.method.as_str()).collect();
        methods.sort_unstable();
        methods.dedup();
        methods.push("OPTIONS");
        let policy = api.rate_limit();
        let expose: Vec<&str> = policy.headers().chain(policy.retry_after_header).collect();
        Self {
            methods: HeaderValue::from_str(&methods.join(", "))
                .expect("method names are header-safe"),
            expose: HeaderValue::from_str(&expose.join(", "))
                .expect("header names are header-safe"),
        }
    }

    /// The answer to `request` when it is a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`): 204 with the allowed methods and headers.
    pub(crate) fn preflight(&self, request: &Request<Bytes>) -> Option<Response<Bytes>> {
        let headers = request.headers();
        if request.method() != Method::OPTIONS
            || !headers.contains_key(header::ORIGIN)
            || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
        );
        headers.insert(header::VARY, VARY_ORIGIN);
        Some(response)
    }

    /// Lets a page of any origin read `response` and its rate-limit headers, when `request`
    /// came from a page (has an `Origin`). `varied`: `response` already has `Vary: Origin`.
    pub(crate) fn allow(
        &self,
        request: &Request<Bytes>,
        response: &mut Response<Bytes>,
        varied: bool,
    ) {
        let headers = response.headers_mut();
        if !varied {
            headers.append(header::VARY, VARY_ORIGIN);
        }
        if !request.headers().contains_key(header::ORIGIN) {
            return;
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose.clone());
    }
}
