//! The top of one API's listener: sends `/__admin/` to the admin API and everything else,
//! after injected faults, to the Beacon pipeline; journals and logs each Beacon request.
//!
//! `App::handle` is synchronous and always returns a response, so the same code serves the
//! hyper listener (`server.rs`) and the wiremock adapter (`wiremock.rs`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use beacon_spec::Api;
use bytes::Bytes;
use http::{Request, Response};

use crate::admin::{self, Admin, AdminAccess};
use crate::config::MockConfig;
use crate::cors::Cors;
use crate::faults::Faults;
use crate::journal::{Journal, Outcome};
use crate::request_log::{RequestLine, RequestLogSink, logged_target};
use crate::service::{ApiService, BASE_PATH};

/// What the transport must do with a handled request.
#[derive(Debug)]
pub(crate) struct Handled {
    pub(crate) response: Response<Bytes>,
    /// Injected latency to wait before answering.
    pub(crate) delay: Option<Duration>,
    /// Injected fault: close the connection without answering.
    pub(crate) drop_connection: bool,
}

/// One API's mock: the Beacon service, its request journal and its injected faults.
#[derive(Debug)]
pub(crate) struct App {
    service: ApiService,
    journal: Journal,
    faults: Faults,
    access: AdminAccess,
    /// CORS answers, unless turned off.
    cors: Option<Cors>,
    /// Where the per-request line goes.
    request_log: RequestLogSink,
}

impl App {
    /// One API's mock. `listener` is the address it is served on, when known: the admin
    /// API accepts browser requests only from that origin.
    pub(crate) fn new(api: Api, config: &MockConfig, listener: Option<SocketAddr>) -> Self {
        Self {
            service: ApiService::new(api, config),
            journal: Journal::default(),
            faults: Faults::default(),
            access: AdminAccess::new(config.admin_token.as_deref(), listener, config.https),
            cors: config.cors.then(|| Cors::new(api)),
            request_log: config.request_log.clone(),
        }
    }

    /// The API it serves.
    pub(crate) fn api(&self) -> Api {
        self.service.api
    }

    /// Serves `fixtures` from now on, keeping minted tokens, rate-limit windows, the journal
    /// and faults.
    pub(crate) fn reload(&self, fixtures: &crate::fixtures::Fixtures) {
        self.service.reload(fixtures);
    }

    /// Handles one request from `peer`. Never panics on any input; always answers.
    pub(crate) fn handle(&self, request: &Request<Bytes>, peer: IpAddr) -> Handled {
        let path = request.uri().path();
        if path == "/__admin" || path.starts_with("/__admin/") {
            let admin = Admin {
                service: &self.service,
                journal: &self.journal,
                faults: &self.faults,
                access: &self.access,
            };
            return Handled {
                response: admin::handle(admin, request),
                delay: None,
                drop_connection: false,
            };
        }
        let started = Instant::now();
        // A preflight: no fault, no auth, no rate limit, no journal entry.
        if let Some(response) = self.cors.as_ref().and_then(|cors| cors.preflight(request)) {
            self.log(
                request,
                &logged_target(request.uri()),
                &response,
                started,
                SystemTime::now(),
            );
            return Handled {
                response,
                delay: None,
                drop_connection: false,
            };
        }
        let api_path = path.strip_prefix(BASE_PATH).unwrap_or(path);
        let fault = self.faults.take(api_path);
        let (mut response, principal, varied) = match fault.status {
            Some(status) => (
                self.service.injected(status, request, peer, started),
                None,
                false,
            ),
            None => {
                let answer = self.service.handle(request, peer, started);
                (answer.response, answer.principal, answer.varied)
            }
        };
        if let Some(cors) = &self.cors {
            cors.allow(request, &mut response, varied);
        }
        self.record(request, &response, principal, started);
        Handled {
            response,
            delay: fault.latency,
            drop_connection: fault.drop_connection,
        }
    }

    /// The request's line; returns its latency in microseconds.
    fn log(
        &self,
        request: &Request<Bytes>,
        path: &str,
        response: &Response<Bytes>,
        started: Instant,
        at: SystemTime,
    ) -> u64 {
        let latency_us = started.elapsed().as_micros() as u64;
        self.request_log.log(&RequestLine {
            api: self.service.api,
            method: request.method().as_str(),
            path,
            status: response.status().as_u16(),
            latency_us,
            at,
        });
        latency_us
    }

    /// One log line and one journal entry, at one time; the journal keeps cheap clones and
    /// formats them when it is read.
    fn record(
        &self,
        request: &Request<Bytes>,
        response: &Response<Bytes>,
        principal: Option<Arc<str>>,
        started: Instant,
    ) {
        let at = SystemTime::now();
        // An injected status answers before auth, but the journal still shows what was sent,
        // a token in the query redacted as in the `Authorization` header.
        let path = logged_target(request.uri());
        let latency_us = self.log(request, &path, response, started, at);
        let outcome = Outcome {
            status: response.status().as_u16(),
            at,
            latency_us,
            principal,
        };
        self.journal.push(
            request.method(),
            &path,
            outcome,
            request.headers(),
            request.body(),
        );
    }
}
