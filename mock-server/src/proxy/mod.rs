//! `beacon-mock proxy`: forwards one API's traffic to a real deployment unchanged, judges
//! both directions against the contract, and can record what it reads into fixtures.
//!
//! A request flows: the same accept loop, timeouts and 64 KiB body cap as `serve` → the
//! proxy's handler: `/__admin/violations` is answered here;
//! anything else is routed to its operation (the mock's `Router`), its body and query are
//! checked against the request schemas (a failure is the client's violation, and the request
//! is still forwarded), it is sent upstream, and the answer is judged by
//! `beacon_spec::exchange` (the conformance suite's judge) before it goes back unchanged but
//! for `Beacon-Contract-Violations`. Successful reads feed the recorder (`--record`).

mod record;
mod violations;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use beacon_spec::admin::Side;
use beacon_spec::catalog::{Api, Operation, PanelOperation, StatusOperation};
use beacon_spec::exchange::{self, Observed};
use beacon_spec::{Provenance, rules};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::{Frame, Incoming, SizeHint};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use record::{RecordedPrincipal, RecordingSummary};
pub use violations::MAX_VIOLATIONS;

use crate::admin::AdminAccess;
use crate::auth;
use crate::call::Router;
use crate::error::{ApiError, json_response};
use crate::server::{self, Answer, BodyError, DroppedConnection, Limits, read_body};
use crate::service::BASE_PATH;
use crate::watchdog::{Activity, InFlight};
use record::Recorder;
use violations::ViolationLog;

/// An answer larger than this is forwarded as it streams, without being judged: the
/// violations header must go out before the body, so a judged answer is read whole first.
pub const MAX_JUDGED_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The header a judged answer carries when its exchange broke the contract: how many rules
/// it broke, the request's and the answer's together.
pub const VIOLATIONS_HEADER: &str = "beacon-contract-violations";
/// How often a recording is written while the proxy runs.
const RECORD_EVERY: Duration = Duration::from_secs(1);
/// How long the proxy waits for the upstream to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// `--upstream` is not an `http://` or `https://` base URL with a host and without
    /// credentials, query or fragment. The message never echoes the URL, which could hold a
    /// password or a secret.
    #[error("--upstream {0}")]
    Upstream(String),
    /// The listener could not bind.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The recording directory could not be created.
    #[error("cannot record into {}", dir.display())]
    Record {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the upstream client")]
    Client(#[source] reqwest::Error),
}

/// Configures and starts a [`Proxy`].
#[derive(Debug)]
pub struct ProxyBuilder {
    api: Api,
    upstream: String,
    listen: SocketAddr,
    record: Option<PathBuf>,
    admin_token: Option<String>,
    limits: Limits,
}

impl ProxyBuilder {
    /// Listens on `addr` instead of the API's usual port on loopback (`127.0.0.1:4010` for
    /// Status, `:4011` for Panel); port 0 picks a free one.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Records successful reads into `dir/<api>.json`.
    pub fn record(mut self, dir: impl Into<PathBuf>) -> Self {
        self.record = Some(dir.into());
        self
    }

    /// Requires `Authorization: Bearer <token>` on `/__admin/violations`.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// How long a request's head, and then its body, may take to arrive; also how long
    /// the upstream may take between two reads of its answer.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.read_timeout = timeout;
        self
    }

    /// Starts the proxy on the current tokio runtime.
    pub async fn start(self) -> Result<Proxy, ProxyError> {
        let upstream = upstream_base(&self.upstream)?;
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: self.listen,
            source,
        })?;
        // As for `serve`: beyond loopback the admin API needs a token, generated if not given.
        let admin_token = admin_token(self.admin_token.clone(), addr);
        let recorder = match &self.record {
            Some(dir) => Some(Arc::new(Recorder::new(self.api, dir).map_err(
                |source| ProxyError::Record {
                    dir: dir.clone(),
                    source,
                },
            )?)),
            None => None,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(self.limits.read_timeout)
            .build()
            .map_err(ProxyError::Client)?;
        let app = Arc::new(ProxyApp {
            api: self.api,
            upstream,
            client,
            routes: ApiRouter::new(self.api),
            violations: ViolationLog::default(),
            recorder: recorder.clone(),
            access: AdminAccess::new(admin_token.as_deref(), Some(addr), false),
        });
        let (shutdown, watcher) = watch::channel(false);
        let serving = tokio::spawn(server::serve(
            listener,
            Arc::clone(&app),
            self.limits,
            None,
            watcher.clone(),
        ));
        let flushing = recorder.map(|recorder| tokio::spawn(flush_loop(recorder, watcher)));
        Ok(Proxy {
            addr,
            admin_token,
            app,
            shutdown,
            serving,
            flushing,
        })
    }
}

/// A running validating proxy in front of one API's deployment.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    admin_token: Option<String>,
    app: Arc<ProxyApp>,
    shutdown: watch::Sender<bool>,
    serving: JoinHandle<()>,
    flushing: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy for `api` forwarding to `upstream`, the deployment's base URL (as for
    /// `beacon-conformance --base-url`, e.g. `https://panel.example.com/api/v1`).
    pub fn builder(api: Api, upstream: impl Into<String>) -> ProxyBuilder {
        let port = match api {
            Api::Status => 4010,
            Api::Panel => 4011,
        };
        ProxyBuilder {
            api,
            upstream: upstream.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            record: None,
            admin_token: None,
            limits: Limits::default(),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token `/__admin/violations` requires, if any: the one given, or one generated
    /// when the proxy listens beyond loopback.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// The base URL to point a client at instead of the deployment's, e.g.
    /// `http://127.0.0.1:4011/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.addr)
    }

    /// The violations seen so far, oldest first (what `GET /__admin/violations` answers).
    pub fn violations(&self) -> Vec<beacon_spec::admin::Violation> {
        self.app.violations.snapshot()
    }

    /// What the recording holds so far, if recording.
    pub fn recording(&self) -> Option<RecordingSummary> {
        self.app.recorder.as_ref().map(|r| r.summary())
    }

    /// Stops accepting, lets in-flight exchanges finish, and writes the recording a last
    /// time.
    pub async fn shutdown(self) -> std::io::Result<Option<RecordingSummary>> {
        let _ = self.shutdown.send(true);
        let _ = self.serving.await;
        if let Some(flushing) = self.flushing {
            let _ = flushing.await;
        }
        match &self.app.recorder {
            Some(recorder) => {
                recorder.flush()?;
                Ok(Some(recorder.summary()))
            }
            None => Ok(None),
        }
    }
}

async fn flush_loop(recorder: Arc<Recorder>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RECORD_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(error) = recorder.flush() {
            tracing::warn!("cannot write the recording: {error}");
        }
    }
}

/// As for `serve`: beyond loopback `/__admin/` needs a token, generated when not `given`.
fn admin_token(given: Option<String>, addr: SocketAddr) -> Option<String> {
    given.or_else(|| {
        (!addr.ip().is_loopback()).then(|| {
            format!(
                "bma_{}",
                crate::clock::random_string(crate::clock::ALNUM, 32)
            )
        })
    })
}

/// `--upstream`, checked. No refusal echoes the URL: it could hold a password or a secret.
fn upstream_base(upstream: &str) -> Result<url::Url, ProxyError> {
    let refuse = |why: &str| Err(ProxyError::Upstream(why.to_owned()));
    let url = match url::Url::parse(upstream) {
        Ok(url) => url,
        // The parser's own reasons ("invalid port number", …) do not quote the input.
        Err(e) => return refuse(&format!("is not a URL ({e})")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return refuse("must be an http:// or https:// base URL");
    }
    if url.host().is_none() {
        return refuse("must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        // They would be shown in the banner and the log, and never sent: the proxy forwards
        // each client's own `Authorization`.
        return refuse(
            "must not hold a user name or password: the proxy forwards each client's Authorization header",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return refuse("must not have a query or a fragment");
    }
    Ok(url)
}

/// The route table of the proxied API.
#[derive(Debug)]
enum ApiRouter {
    Status(Router<StatusOperation>),
    Panel(Router<PanelOperation>),
}

/// What the request side of an exchange showed.
struct RequestSeen {
    operation: &'static Operation,
    /// The path parameters, owned.
    params: Vec<(&'static str, String)>,
    /// Why the body or query breaks the operation's schema.
    invalid: Option<String>,
}

impl ApiRouter {
    fn new(api: Api) -> Self {
        match api {
            Api::Status => Self::Status(Router::new(api, StatusOperation::ALL)),
            Api::Panel => Self::Panel(Router::new(api, PanelOperation::ALL)),
        }
    }

    /// The operation `request` calls and whether its inputs are valid; `None` for a path
    /// or method the API does not have (the upstream's answer is not judged then).
    fn inspect(&self, request: &Request<Bytes>, api_path: &str) -> Option<RequestSeen> {
        let call = match self {
            Self::Status(router) => router.route(request, api_path).ok().map(|(_, call)| call),
            Self::Panel(router) => router.route(request, api_path).ok().map(|(_, call)| call),
        }?;
        let operation = call.operation;
        let body = operation
            .request
            .and_then(|_| call.body::<Value>().err().map(|e| e.to_string()));
        let query = operation
            .query
            .and_then(|_| call.query::<Value>().err().map(|e| e.to_string()));
        let params = operation
            .path_params
            .iter()
            .map(|p| (p.name, call.param(p.name).to_owned()))
            .collect();
        Some(RequestSeen {
            operation,
            params,
            invalid: body.or(query),
        })
    }
}

/// The proxy's listener state.
#[derive(Debug)]
struct ProxyApp {
    api: Api,
    /// The upstream base URL.
    upstream: url::Url,
    client: reqwest::Client,
    routes: ApiRouter,
    violations: ViolationLog,
    recorder: Option<Arc<Recorder>>,
    access: AdminAccess,
}

/// Hop-by-hop headers (RFC 9110 §7.6.1), which a proxy does not forward, and the framing it
/// sets itself.
const NOT_FORWARDED: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::CONTENT_LENGTH,
];

fn forwarded_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !NOT_FORWARDED.contains(name) && name != header::HOST {
            to.append(name.clone(), value.clone());
        }
    }
}

impl Answer for ProxyApp {
    type Body = ProxyBody;
    type Answering =
        Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, DroppedConnection>> + Send>>;

    fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
        _peer: SocketAddr,
        read_timeout: Duration,
        activity: &Activity,
    ) -> Self::Answering {
        // In flight until the response's body has been sent: the watchdog leaves it alone.
        let in_flight = activity.in_flight();
        Box::pin(async move {
            let answered = self.forward(request, read_timeout).await;
            answered.map(|response| response.map(|body| body.holding(in_flight)))
        })
    }
}

impl ProxyApp {
    /// Reads the body, then answers an admin request or forwards the request upstream.
    async fn forward(
        self: Arc<Self>,
        request: Request<Incoming>,
        read_timeout: Duration,
    ) -> Result<Response<ProxyBody>, DroppedConnection> {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let body = match read_body(body, read_timeout).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Ok(ApiError::PayloadTooLarge
                    .into_response(self.api)
                    .map(ProxyBody::full));
            }
            Err(BodyError::Dropped) => return Err(DroppedConnection),
        };
        let request = Request::from_parts(parts, body);
        let path = request.uri().path();
        if path == "/__admin" || path.starts_with("/__admin/") {
            return Ok(self.admin(&request).map(ProxyBody::full));
        }
        let response = self.exchange(&request, read_timeout).await;
        crate::request_log::trace(&crate::RequestLine {
            api: self.api,
            method: request.method().as_str(),
            path: &crate::request_log::logged_target(request.uri()),
            status: response.status().as_u16(),
            latency_us: started.elapsed().as_micros() as u64,
            at: SystemTime::now(),
        });
        Ok(response)
    }
}

impl ProxyApp {
    /// Forwards `request`, judges both sides, records a successful read.
    async fn exchange(
        &self,
        request: &Request<Bytes>,
        read_timeout: Duration,
    ) -> Response<ProxyBody> {
        let path = request.uri().path();
        let api_path = path.strip_prefix(BASE_PATH);
        let seen = api_path.and_then(|api_path| self.routes.inspect(request, api_path));
        let mut broken = 0;
        if let Some(seen) = &seen {
            if let Some(message) = &seen.invalid {
                let rule = match seen.operation.provenance {
                    Provenance::Ours => rules::REQUEST_SCHEMA_OURS,
                    _ => rules::REQUEST_SCHEMA,
                };
                self.violations
                    .record(rule, Side::Client, seen.operation.name, message.clone());
                broken += 1;
            }
        }
        // The path and query are set on a copy of the upstream URL, never joined or
        // concatenated: `//host/x`, `@host` or an absolute-form target cannot send the request
        // (and its token) elsewhere. Outside the API's base path: the same path on the
        // upstream's origin.
        let mut target = self.upstream.clone();
        match api_path {
            Some(rest) => {
                let base = self.upstream.path().trim_end_matches('/');
                target.set_path(&format!("{base}{rest}"));
            }
            None => target.set_path(path),
        }
        target.set_query(request.uri().query());
        let mut headers = HeaderMap::new();
        forwarded_headers(request.headers(), &mut headers);
        let sent = self
            .client
            .request(request.method().clone(), target)
            .headers(headers)
            .body(request.body().clone())
            .send()
            .await;
        let mut upstream = match sent {
            Ok(upstream) => upstream,
            Err(error) => {
                tracing::warn!("upstream {} failed: {}", self.upstream, error_chain(&error));
                return bad_gateway(self.api, "the upstream could not be reached");
            }
        };
        let status = upstream.status();
        let mut response_headers = HeaderMap::new();
        forwarded_headers(upstream.headers(), &mut response_headers);
        // The answer, whole when it fits the judged size.
        let mut buffered = BytesMut::new();
        let complete = loop {
            match tokio::time::timeout(read_timeout, upstream.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    buffered.extend_from_slice(&chunk);
                    if buffered.len() > MAX_JUDGED_BODY_BYTES {
                        break false;
                    }
                }
                Ok(Ok(None)) => break true,
                Ok(Err(error)) => {
                    tracing::warn!("upstream answer failed: {}", error_chain(&error));
                    return bad_gateway(self.api, "the upstream's answer broke off");
                }
                Err(_) => return bad_gateway(self.api, "the upstream's answer stalled"),
            }
        };
        let body = buffered.freeze();
        let mut response = if complete {
            if let Some(seen) = &seen {
                broken += self.judge(request, seen, status.as_u16(), &response_headers, &body);
            }
            Response::new(ProxyBody::full(body))
        } else {
            tracing::warn!(
                "an answer larger than {MAX_JUDGED_BODY_BYTES} bytes is forwarded without being judged"
            );
            Response::new(ProxyBody::streaming(body, upstream))
        };
        *response.status_mut() = status;
        *response.headers_mut() = response_headers;
        if broken > 0 {
            response.headers_mut().insert(
                HeaderName::from_static(VIOLATIONS_HEADER),
                HeaderValue::from(broken),
            );
        }
        response
    }

    /// Judges the upstream's answer; records a successful read. Returns the rules broken.
    fn judge(
        &self,
        request: &Request<Bytes>,
        seen: &RequestSeen,
        status: u16,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> usize {
        let token = auth::bearer_of(request.headers()).ok();
        let headers = HttpHeaders(headers);
        let observed = Observed::new(status, &headers, body, token.is_some());
        let now = SystemTime::now();
        // A compressed body (the client asked for it) is judged by its headers only, and
        // `json()` is `None` for it, so it is not recorded either.
        let mut json = observed.json();
        let breaches = exchange::judge(seen.operation, &observed, json.as_ref(), now);
        let broken = breaches.len();
        for breach in breaches {
            self.violations.record(
                breach.rule,
                Side::Upstream,
                seen.operation.name,
                breach.message,
            );
        }
        if let (Some(recorder), Some(token), true) = (&self.recorder, token, observed.is_success())
        {
            // `get_mut`: indexing a body that is not an object would panic.
            if let Some(data) = json
                .as_mut()
                .and_then(|v| v.get_mut("data"))
                .map(Value::take)
            {
                let params: Vec<(&str, &str)> =
                    seen.params.iter().map(|(n, v)| (*n, v.as_str())).collect();
                recorder.observe(seen.operation, &params, token, &data);
            }
        }
        broken
    }

    /// `GET /__admin/violations` and `DELETE /__admin/violations`.
    fn admin(&self, request: &Request<Bytes>) -> Response<Bytes> {
        if let Err(refused) = self.access.check(request) {
            return refused.into_response();
        }
        let reply = |status: StatusCode, body: Value| json_response(status, body.to_string());
        if request.uri().path() != "/__admin/violations" {
            return reply(
                StatusCode::NOT_FOUND,
                json!({ "error": "unknown admin route; the proxy has /__admin/violations" }),
            );
        }
        match *request.method() {
            Method::GET => reply(
                StatusCode::OK,
                serde_json::to_value(self.violations.snapshot()).unwrap_or_default(),
            ),
            Method::DELETE => reply(
                StatusCode::OK,
                json!({ "cleared": self.violations.clear() }),
            ),
            _ => {
                let mut response = reply(
                    StatusCode::METHOD_NOT_ALLOWED,
                    json!({ "error": "use GET or DELETE" }),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, DELETE"));
                response
            }
        }
    }
}

/// An answer's headers as the judge reads them, without copying them.
struct HttpHeaders<'a>(&'a HeaderMap);

impl exchange::Headers for HttpHeaders<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|value| value.to_str().ok())
    }
}

fn bad_gateway(api: Api, message: &str) -> Response<ProxyBody> {
    ApiError::BadGateway(message.to_owned())
        .into_response(api)
        .map(ProxyBody::full)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// An answer's body: whole, or a judged-size prefix and the rest as it streams.
#[derive(Debug)]
pub struct ProxyBody {
    first: Option<Bytes>,
    rest: Option<mpsc::Receiver<Result<Bytes, std::io::Error>>>,
    /// Keeps the connection busy for its watchdog until the body has been sent.
    _in_flight: Option<InFlight>,
}

impl ProxyBody {
    fn full(body: Bytes) -> Self {
        Self {
            first: (!body.is_empty()).then_some(body),
            rest: None,
            _in_flight: None,
        }
    }

    /// The same body, keeping its connection busy until it has been sent.
    fn holding(self, in_flight: InFlight) -> Self {
        Self {
            _in_flight: Some(in_flight),
            ..self
        }
    }

    /// `first`, then what `upstream` still sends, read by a task of its own.
    fn streaming(first: Bytes, mut upstream: reqwest::Response) -> Self {
        let (sender, receiver) = mpsc::channel(8);
        tokio::spawn(async move {
            loop {
                let next = match upstream.chunk().await {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => return,
                    Err(error) => Err(std::io::Error::other(error)),
                };
                let failed = next.is_err();
                if sender.send(next).await.is_err() || failed {
                    return;
                }
            }
        });
        Self {
            first: Some(first),
            rest: Some(receiver),
            _in_flight: None,
        }
    }
}

impl hyper::body::Body for ProxyBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match &mut self.rest {
            None => Poll::Ready(None),
            Some(rest) => rest
                .poll_recv(cx)
                .map(|next| next.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.first, &self.rest) {
            (Some(first), None) => SizeHint::with_exact(first.len() as u64),
            (None, None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_loopback_the_admin_api_gets_a_token() {
        let loopback: SocketAddr = "127.0.0.1:4011".parse().unwrap();
        let beyond: SocketAddr = "0.0.0.0:4011".parse().unwrap();
        assert_eq!(admin_token(None, loopback), None);
        assert!(admin_token(None, beyond).is_some_and(|t| t.len() > 32));
        assert_eq!(
            admin_token(Some("given".into()), beyond).as_deref(),
            Some("given")
        );
    }
}
