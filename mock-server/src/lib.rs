//! A faithful, stateful mock of the two Beacon APIs, for local development and Rust tests.
//!
//! `beacon-mock` serves the **Status API** and the **Panel API** from embedded fixtures,
//! with real token checks, both documented rate-limit policies, each API's envelope on every
//! response, request validation against the generated JSON Schemas, and in-memory state.
//!
//! # Getting started
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Arrange
//! let mock = beacon_mock::MockServer::start().await;
//! // Act: mock.panel_uri() is `http://127.0.0.1:<port>/api/v1`
//! let url = format!("{}/servers", mock.panel_uri());
//! // Assert
//! assert!(url.starts_with("http://127.0.0.1:"));
//! assert!(mock.tokens().status.starts_with("bkn_live_"));
//! # }
//! ```
//!
//! # Concepts
//!
//! - Each API listens on its own port; both share nothing but the process.
//! - `MockServer::builder()` shortens rate-limit windows, replaces limits, adds tokens,
//!   loads other fixtures, or serves one API only.
//! - Every listener also serves a test-only admin API under `/__admin/`: `POST reset`,
//!   `GET openapi.json` (the API's document, as in `spec/openapi/`), `GET|DELETE requests` (journal), `POST tokens` (mint), `POST tokens/revoke`,
//!   `POST|GET|DELETE faults` (latency, status or dropped connection for the next N or a
//!   ratio of requests, optionally per path). It belongs to whoever started the mock: open to
//!   loopback callers while every listener is on loopback, behind `Authorization: Bearer
//!   <admin token>` otherwise ([`MockServer::admin_token`]); another `Origin` is 403 and a
//!   body that is not `application/json` is 415.
//! - [`MockServer::admin`] drives that admin API from Rust, typed and in-process;
//!   [`MockServer::expect`] (checked on drop) and [`MockServer::received_requests`] verify what
//!   the app under test sent, as wiremock does.
//! - CORS is on for the Beacon routes ([`MockServerBuilder::no_cors`] turns it off): a browser
//!   page on any origin may call them, and its preflights cost no rate limit.
//! - Every store that grows with input is bounded (read cache 32 MiB, journal 16 MiB,
//!   1,000 faults, 100,000 minted tokens, 100,000 rate-limit keys, 1,000 connections per
//!   listener); see the README's "Limits and safety".
//! - `wiremock::mount` (cargo feature `wiremock`) puts the same behaviour on a
//!   `wiremock::MockServer`.

mod admin;
mod admin_client;
mod app;
mod auth;
mod call;
mod clock;
mod config;
mod cors;
mod defect;
mod error;
mod faults;
mod fixtures;
#[cfg(test)]
mod handle_proptest;
mod journal;
mod panel_api;
#[cfg(feature = "proxy")]
pub mod proxy;
mod rate_limit;
mod read_cache;
mod request_log;
mod server;
mod service;
mod status_api;
#[cfg(feature = "tls")]
mod tls;
mod watchdog;
#[cfg(feature = "wiremock")]
pub mod wiremock;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use admin_client::{
    AdminClient, AdminError, Fault, FaultsClient, JournalEntry, JournalFilter, MintedToken,
};
pub use auth::{is_bearer_token, token_refusal};
pub use beacon_spec::{Api, OperationId};
use config::MockConfig;
#[cfg(feature = "defects")]
#[doc(hidden)]
pub use defect::Defect;
pub use fixtures::{FixtureError, Fixtures, MAX_FIXTURE_BYTES};
pub use request_log::{REQUEST_LOG_TARGET, RequestLine, RequestLog};
pub use service::MAX_BODY_BYTES;
#[cfg(feature = "tls")]
pub use tls::{SELF_SIGNED_NAMES, TlsConfig, TlsError};

/// Ready-to-use tokens of the fixtures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockTokens {
    /// A `bkn_live_` token of the first Status workspace.
    pub status: String,
    /// A token of the first Panel account.
    pub panel: String,
    /// A token of the second Panel account (whose servers are 403 for the first).
    pub panel_other: String,
    /// The id of the first Panel account, whose token is `panel`.
    pub panel_account: String,
    /// The id of the second Panel account, whose token is `panel_other`.
    pub panel_other_account: String,
}

impl MockTokens {
    /// The first tokens of `fixtures`.
    fn of(fixtures: &Fixtures) -> Self {
        let status = &fixtures.status.workspaces;
        let panel = &fixtures.panel.accounts;
        let first = |tokens: Option<&Vec<String>>| {
            tokens.and_then(|t| t.first()).cloned().unwrap_or_default()
        };
        Self {
            status: status
                .first()
                .and_then(|w| w.tokens.first())
                .map(|t| t.token.clone())
                .unwrap_or_default(),
            panel: first(panel.first().map(|a| &a.tokens)),
            panel_other: first(panel.get(1).map(|a| &a.tokens)),
            panel_account: panel.first().map(|a| a.id.clone()).unwrap_or_default(),
            panel_other_account: panel.get(1).map(|a| a.id.clone()).unwrap_or_default(),
        }
    }
}

/// Could not start the mock.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind its address; the cause is the error's source.
    #[error("cannot bind the {api} API to {addr}")]
    Bind {
        /// Which API.
        api: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A builder option has a value the mock cannot serve with.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The builder method, e.g. `admin_token`.
        option: &'static str,
        /// What a valid value is.
        reason: &'static str,
    },
}

/// The longest [`MockServerBuilder::read_timeout`]: an hour (as `--read-timeout` allows).
pub const MAX_READ_TIMEOUT: Duration = Duration::from_secs(3_600);
/// The longest [`MockServerBuilder::rate_limit_window`]: a day (as `--rate-limit-window`
/// allows).
pub const MAX_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(86_400);

/// Options for [`MockServer`] (and for `wiremock::mount_with`, which uses the behaviour
/// options and ignores the listener ones); inert until [`MockServerBuilder::start`].
#[must_use]
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    config: MockConfig,
    limits: server::Limits,
    status_addr: SocketAddr,
    panel_addr: SocketAddr,
    only: Option<Api>,
    #[cfg(feature = "tls")]
    tls: Option<TlsConfig>,
}

const LOOPBACK_ANY_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            config: MockConfig::default(),
            limits: server::Limits::default(),
            status_addr: LOOPBACK_ANY_PORT,
            panel_addr: LOOPBACK_ANY_PORT,
            only: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

// Builder policy: `start` panics with a clear message on failure (tests want that);
// `try_start` returns the error for programs.
impl MockServerBuilder {
    /// Sends the one line per Beacon request to `log` instead of the `tracing` event
    /// (target `beacon_mock::request`, level `INFO`, fields `api`, `method`, `path`, `status`,
    /// `latency_us`) the mock emits by default.
    pub fn request_log(mut self, log: impl RequestLog) -> Self {
        self.config.request_log = request_log::RequestLogSink(Some(Arc::new(log)));
        self
    }

    /// Shortens (or lengthens) every rate-limit window.
    pub fn rate_limit_window(mut self, window: Duration) -> Self {
        self.config.rate_limit_window = Some(window);
        self
    }

    /// Replaces every per-window limit.
    pub fn rate_limit(mut self, limit: u32) -> Self {
        self.config.rate_limit = Some(limit);
        self
    }

    /// Accepts one more token: it goes to the first Panel account, and to the first Status
    /// workspace when it has the `bkn_live_` format (`bkn_live_` and 32 lowercase letters or
    /// digits); a token with the `bkn_live_` prefix in another shape is refused at start. A
    /// token the fixtures already give a principal keeps that principal.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.tokens.push(token.into());
        self
    }

    /// Requires `Authorization: Bearer <token>` on every admin request. Without it, the admin
    /// API is open while every listener is on loopback, and [`MockServerBuilder::try_start`]
    /// generates a token (see [`MockServer::admin_token`]) when one is not.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.config.admin_token = Some(token.into());
        self
    }

    /// Turns CORS off on the Beacon routes. It is on by default: a preflight (`OPTIONS` with
    /// `Origin` and `Access-Control-Request-Method`) is answered 204 without auth or rate
    /// limiting, and answers to a request with an `Origin` carry `Access-Control-Allow-Origin: *`
    /// and expose the rate-limit headers. The admin API refuses other origins either way.
    pub fn no_cors(mut self) -> Self {
        self.config.cors = false;
        self
    }

    /// Serves other seed data.
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.config.fixtures = fixtures;
        self
    }

    /// The Status listener's address (default `127.0.0.1:0`).
    pub fn status_addr(mut self, addr: SocketAddr) -> Self {
        self.status_addr = addr;
        self
    }

    /// The Panel listener's address (default `127.0.0.1:0`).
    pub fn panel_addr(mut self, addr: SocketAddr) -> Self {
        self.panel_addr = addr;
        self
    }

    /// Breaks one state transition on purpose, to prove that a contract check catches it.
    /// Test-only: needs the `defects` feature.
    #[cfg(feature = "defects")]
    #[doc(hidden)]
    pub fn defect(mut self, defect: Defect) -> Self {
        self.config.defect = Some(defect);
        self
    }

    /// How long a request's head, and then its body, may take to arrive before the connection
    /// is closed (default 30 s). An idle keep-alive connection is closed after it too; a head
    /// and an idle connection are checked four times per timeout, so they may get up to a
    /// quarter more. An answer that waits (injected latency), or that the client is still
    /// reading, is never cut.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.read_timeout = timeout;
        self
    }

    /// Connections each listener serves at once (default 1,000, at least 1); further ones
    /// wait in the kernel's backlog until one closes.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections.max(1);
        self
    }

    /// How long [`MockServer::shutdown`] (and dropping the mock) lets in-flight requests run
    /// before their connections are closed (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.limits.shutdown_timeout = timeout;
        self
    }

    /// Serves only one of the APIs.
    pub fn only(mut self, api: Api) -> Self {
        self.only = Some(api);
        self
    }

    /// Serves both listeners over HTTPS (HTTP/1.1 over TLS 1.2 or 1.3) with `config`:
    /// [`TlsConfig::self_signed`] or [`TlsConfig::from_pem_files`]. [`MockServer::base_url`]
    /// then starts with `https://`, and [`MockServer::tls_certificate_pem`] is what a client
    /// trusts. A TLS handshake gets the read timeout; a failed one closes the connection.
    /// Needs the `tls` feature.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Binds and starts serving. Panics if a port cannot be bound.
    pub async fn start(self) -> MockServer {
        self.try_start().await.expect("beacon-mock failed to start")
    }

    /// The options a mock cannot serve with, as the binary's flags refuse them: a token
    /// no `Authorization` header can carry, a limit of 0, a zero or overlong window or timeout.
    pub(crate) fn check(&self) -> Result<(), StartError> {
        let invalid = |option, reason| Err(StartError::InvalidOption { option, reason });
        if let Some(reason) = self
            .config
            .tokens
            .iter()
            .find_map(|t| auth::token_refusal(t))
        {
            return invalid("token", reason);
        }
        if let Some(admin) = &self.config.admin_token {
            if !auth::is_bearer_token(admin) {
                return invalid("admin_token", auth::BEARER_TOKEN_SHAPE);
            }
        }
        if self.config.rate_limit == Some(0) {
            return invalid("rate_limit", "at least 1 request per window");
        }
        if let Some(window) = self.config.rate_limit_window {
            if window.is_zero() || window > MAX_RATE_LIMIT_WINDOW {
                return invalid("rate_limit_window", "more than 0 and at most a day");
            }
        }
        let read = self.limits.read_timeout;
        if read.is_zero() || read > MAX_READ_TIMEOUT {
            return invalid("read_timeout", "more than 0 and at most an hour");
        }
        Ok(())
    }

    /// Binds and starts serving; refuses an option it cannot serve with
    /// ([`StartError::InvalidOption`]) before binding anything.
    pub async fn try_start(self) -> Result<MockServer, StartError> {
        self.check()?;
        let (shutdown, receiver) = watch::channel(false);
        let served: Vec<(Api, SocketAddr)> = [
            (Api::Status, self.status_addr),
            (Api::Panel, self.panel_addr),
        ]
        .into_iter()
        .filter(|(api, _)| self.only.is_none_or(|only| only == *api))
        .collect();
        let mut config = self.config;
        #[cfg(feature = "tls")]
        let (acceptor, certificate_pem) = match &self.tls {
            Some(tls) => (Some(tls.acceptor()), Some(tls.certificate_pem().to_owned())),
            None => (None, None),
        };
        #[cfg(not(feature = "tls"))]
        let (acceptor, certificate_pem): (Option<server::Acceptor>, Option<String>) = (None, None);
        config.https = acceptor.is_some();
        let beyond_loopback = served.iter().any(|(_, addr)| !addr.ip().is_loopback());
        if beyond_loopback && config.admin_token.is_none() {
            config.admin_token = Some(format!("bma_{}", clock::random_string(clock::ALNUM, 32)));
        }
        let mut listeners = Vec::new();
        for (api, addr) in served {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind {
                    api: api.name(),
                    addr,
                    source,
                })?;
            let local = listener.local_addr().map_err(|source| StartError::Bind {
                api: api.name(),
                addr,
                source,
            })?;
            // A second handle on the listening socket, for drop to shut it down at once.
            let closer = listener
                .into_std()
                .and_then(|listener| Ok((listener.try_clone()?, TcpListener::from_std(listener)?)));
            let (closer, listener) = closer.map_err(|source| StartError::Bind {
                api: api.name(),
                addr,
                source,
            })?;
            let service = Arc::new(app::App::new(api, &config, Some(local)));
            let service_for_client = Arc::clone(&service);
            let task = tokio::spawn(server::serve(
                listener,
                service,
                self.limits,
                acceptor.clone(),
                receiver.clone(),
            ));
            listeners.push(Listener {
                api,
                addr: local,
                app: service_for_client,
                task,
                closer,
            });
        }
        Ok(MockServer {
            listeners,
            scheme: if config.https { "https" } else { "http" },
            certificate_pem,
            tokens: parking_lot::RwLock::new(MockTokens::of(&config.fixtures)),
            admin_token: config.admin_token,
            expectations: parking_lot::Mutex::default(),
            shutdown,
        })
    }
}

#[derive(Debug)]
struct Listener {
    api: Api,
    addr: SocketAddr,
    app: Arc<app::App>,
    task: JoinHandle<()>,
    /// The listening socket again (a duplicate handle), which drop shuts down.
    closer: std::net::TcpListener,
}

impl Listener {
    /// Stops the listening socket taking connections now, not when its task next runs, so
    /// that its address can be bound again right after the mock is dropped (on Linux, where
    /// a listening socket can be shut down; elsewhere the task closes it soon after).
    fn stop_listening(&self) {
        let _ = socket2::SockRef::from(&self.closer).shutdown(std::net::Shutdown::Both);
    }
}

/// A running mock of both APIs (or one, with [`MockServerBuilder::only`]). Stops on drop: it
/// takes no more connections (on Linux its addresses can be bound again at once), and the
/// requests in flight finish in the background within the shutdown timeout;
/// [`MockServer::shutdown`] waits for them.
#[derive(Debug)]
pub struct MockServer {
    listeners: Vec<Listener>,
    /// `http`, or `https` over TLS.
    scheme: &'static str,
    /// The TLS certificate chain, PEM, when serving HTTPS.
    certificate_pem: Option<String>,
    /// The fixtures' tokens; a reload replaces them.
    tokens: parking_lot::RwLock<MockTokens>,
    admin_token: Option<String>,
    /// What [`MockServer::expect`] registered, checked on drop.
    expectations: parking_lot::Mutex<Vec<(OperationId, usize)>>,
    shutdown: watch::Sender<bool>,
}

impl MockServer {
    /// Starts both APIs on random loopback ports with the embedded fixtures.
    pub async fn start() -> MockServer {
        Self::builder().start().await
    }

    /// Options for a mock.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The socket address `api` listens on, if it is served.
    pub fn addr(&self, api: Api) -> Option<SocketAddr> {
        self.listeners.iter().find(|l| l.api == api).map(|l| l.addr)
    }

    /// The base URL of `api`, e.g. `http://127.0.0.1:4010/api/v1` (`https://` over TLS), if it
    /// is served.
    pub fn base_url(&self, api: Api) -> Option<String> {
        self.addr(api)
            .map(|addr| format!("{}://{addr}{}", self.scheme, service::BASE_PATH))
    }

    /// The certificate chain the listeners present, PEM, when they serve HTTPS
    /// ([`MockServerBuilder::tls`]): what a client adds as its only root.
    pub fn tls_certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The Status API's base URL. Panics if the Status API is not served.
    pub fn status_uri(&self) -> String {
        self.base_url(Api::Status)
            .expect("the Status API is not served by this mock")
    }

    /// The Panel API's base URL. Panics if the Panel API is not served.
    pub fn panel_uri(&self) -> String {
        self.base_url(Api::Panel)
            .expect("the Panel API is not served by this mock")
    }

    /// Ready-to-use tokens of the fixtures served now (a [`MockServer::reload`] changes them).
    pub fn tokens(&self) -> MockTokens {
        self.tokens.read().clone()
    }

    /// The token the admin API requires (`Authorization: Bearer <token>`), if it requires
    /// one: the one given to [`MockServerBuilder::admin_token`], or one generated at start
    /// because a listener is reachable beyond loopback.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// The typed admin API of `api`'s listener (see [`AdminClient`]; it runs in-process, without
    /// HTTP). Panics if `api` is not served.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use beacon_mock::{Api, Fault, JournalFilter, MockServer};
    /// use std::time::Duration;
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// let admin = mock.admin(Api::Panel);
    /// let minted = admin.mint_token("acct_2").await.unwrap();
    /// admin
    ///     .faults()
    ///     .add(Fault::latency(Duration::from_millis(200)).on_path("/servers").times(1))
    ///     .await
    ///     .unwrap();
    /// // Act: the app under test calls the mock here.
    /// // Assert
    /// let posts = admin.journal(JournalFilter::default().method("POST")).await.unwrap();
    /// assert!(posts.is_empty());
    /// admin.revoke(&minted.token).await.unwrap();
    /// admin.reset().await.unwrap();
    /// # }
    /// ```
    pub fn admin(&self, api: Api) -> AdminClient<'_> {
        let listener = self
            .listeners
            .iter()
            .find(|l| l.api == api)
            .unwrap_or_else(|| panic!("the {} API is not served by this mock", api.name()));
        AdminClient {
            app: &listener.app,
            addr: listener.addr,
            admin_token: self.admin_token.as_deref(),
        }
    }

    /// Every journaled Beacon request of every served API, oldest first per API (Status, then
    /// Panel), as wiremock's `received_requests`. A reset empties the journal.
    pub fn received_requests(&self) -> Vec<JournalEntry> {
        self.listeners
            .iter()
            .flat_map(|l| {
                // In-process, with the mock's own admin token: a refusal is a bug, not news.
                self.admin(l.api)
                    .journal_now(&JournalFilter::default())
                    .unwrap_or_else(|e| panic!("cannot read the {} journal: {e}", l.api.name()))
            })
            .collect()
    }

    /// Expects `operation` to be called exactly `times` times (any status) by the time the mock
    /// is dropped, or [`MockServer::verify`] is called; panics then otherwise, as wiremock's
    /// `Mock::expect` does.
    ///
    /// ```should_panic
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mock = beacon_mock::MockServer::start().await;
    /// mock.expect(beacon_mock::OperationId::ListServers, 1);
    /// // Nothing calls GET /servers: dropping the mock panics.
    /// # }
    /// ```
    pub fn expect(&self, operation: OperationId, times: usize) {
        self.expectations.lock().push((operation, times));
    }

    /// Checks every [`MockServer::expect`] now; panics naming each one that is not met.
    pub fn verify(&self) {
        if let Some(report) = self.unmet_expectations() {
            panic!("{report}");
        }
    }

    fn unmet_expectations(&self) -> Option<String> {
        let expectations = self.expectations.lock().clone();
        if expectations.is_empty() {
            return None;
        }
        let received = self.received_requests();
        let unmet: Vec<String> = expectations
            .iter()
            .filter_map(|&(operation, times)| {
                let seen = received.iter().filter(|r| r.is(operation)).count();
                (seen != times).then(|| {
                    let op = operation.operation();
                    format!(
                        "  {} {} ({}): expected {times}, received {seen}",
                        op.method.as_str(),
                        op.path,
                        op.name
                    )
                })
            })
            .collect();
        (!unmet.is_empty()).then(|| {
            format!(
                "beacon-mock: unmet expectations\n{}\nreceived:\n{}",
                unmet.join("\n"),
                received
                    .iter()
                    .map(|r| format!("  {} {} {}", r.method, r.path, r.status))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    }

    /// Serves `fixtures` from now on on every listener, as if the mock had started with them:
    /// each API's state (servers, consoles, databases, pages, incidents; changes made so far
    /// are lost) and fixture tokens are replaced and the read cache is emptied, while tokens
    /// minted through the admin API (for principals that still exist), rate-limit windows, the
    /// journal and faults are kept. A reset goes back to `fixtures`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mock = beacon_mock::MockServer::start().await;
    /// mock.reload(&beacon_mock::Fixtures::embedded());
    /// # }
    /// ```
    pub fn reload(&self, fixtures: &Fixtures) {
        for listener in &self.listeners {
            listener.app.reload(fixtures);
        }
        *self.tokens.write() = MockTokens::of(fixtures);
    }

    /// As [`MockServer::reload`], for `api` alone (the other API keeps its state). Returns
    /// whether `api` is served.
    pub fn reload_api(&self, api: Api, fixtures: &Fixtures) -> bool {
        let listener = self.listeners.iter().find(|l| l.api == api);
        if let Some(listener) = listener {
            listener.app.reload(fixtures);
            // Only `api`'s tokens change.
            let fresh = MockTokens::of(fixtures);
            let mut tokens = self.tokens.write();
            *tokens = match api {
                Api::Status => MockTokens {
                    status: fresh.status,
                    ..tokens.clone()
                },
                Api::Panel => MockTokens {
                    status: std::mem::take(&mut tokens.status),
                    ..fresh
                },
            };
        }
        listener.is_some()
    }

    /// Stops accepting connections and waits for in-flight requests to finish, for at most
    /// the shutdown timeout ([`MockServerBuilder::shutdown_timeout`]).
    /// Panics afterwards if an expectation ([`MockServer::expect`]) is not met.
    pub async fn shutdown(mut self) {
        let unmet = self.unmet_expectations();
        self.expectations.lock().clear();
        let _ = self.shutdown.send(true);
        for listener in std::mem::take(&mut self.listeners) {
            let _ = listener.task.await;
        }
        if let Some(report) = unmet {
            panic!("{report}");
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for listener in &self.listeners {
            listener.stop_listening();
        }
        if !std::thread::panicking() {
            self.verify();
        }
    }
}
