//! The hyper 1.x accept loop: one listener per API, graceful shutdown, body limit, read
//! timeouts, a connection limit with back-pressure, a pause on accept errors, and TLS
//! (`tls.rs`) when configured, its handshake within the read timeout.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::app::{App, Handled};
use crate::service::{BodyTooLarge, MAX_BODY_BYTES};
#[cfg(feature = "tls")]
pub(crate) use crate::tls::Acceptor;
use crate::watchdog::{self, Activity, Watched};

/// Without the `tls` feature no listener serves TLS: no value of this type exists.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub(crate) enum Acceptor {}

/// How a listener treats its connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How long a request's head, and then its body, may take to arrive.
    pub(crate) read_timeout: Duration,
    /// Connections served at once; past it, new ones wait in the kernel's backlog.
    pub(crate) max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    pub(crate) shutdown_timeout: Duration,
}

/// The defaults of [`Limits`].
pub(crate) const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1_000;
pub(crate) const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the loop pauses after an accept error that is not the peer's (no file
/// descriptors left, no memory), as axum's `serve` does.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

impl Default for Limits {
    fn default() -> Self {
        Self {
            read_timeout: DEFAULT_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// An accept error that concerns one connection only: try the next one at once.
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
pub(crate) struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedConnection {}

/// What a listener serves: the mock's [`App`], or the validating proxy.
pub(crate) trait Answer: Send + Sync + 'static {
    /// The body of an answer.
    type Body: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;

    /// The answer to one request.
    type Answering: Future<Output = Result<Response<Self::Body>, DroppedConnection>>
        + Send
        + 'static;

    /// Answers `request` from `peer`; `Err` closes the connection without answering. An
    /// answer that waits (for a body, latency or an upstream) holds `activity.in_flight()`
    /// while it does, so that the connection's watchdog does not take it for idle.
    fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: SocketAddr,
        read_timeout: Duration,
        activity: &Activity,
    ) -> Self::Answering;
}

/// Why a request body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Longer than [`MAX_BODY_BYTES`].
    TooLarge,
    /// It did not arrive within the read timeout, or the client went away mid-body.
    Dropped,
}

/// Reads a request body of at most [`MAX_BODY_BYTES`] within `read_timeout`.
pub(crate) async fn read_body(body: Incoming, read_timeout: Duration) -> Result<Bytes, BodyError> {
    use hyper::body::Body as _;
    if body.is_end_stream() {
        // No body (a GET, or `Content-Length: 0`): nothing to wait for.
        return Ok(Bytes::new());
    }
    let collected =
        tokio::time::timeout(read_timeout, Limited::new(body, MAX_BODY_BYTES).collect());
    match collected.await {
        Err(_elapsed) => Err(BodyError::Dropped),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error))
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge)
        }
        Ok(Err(_)) => Err(BodyError::Dropped),
    }
}

/// Serves `service` on `listener` (over TLS with `tls`) until `shutdown` changes, then lets
/// in-flight requests finish for up to `limits.shutdown_timeout`.
pub(crate) async fn serve<S: Answer>(
    listener: TcpListener,
    service: Arc<S>,
    limits: Limits,
    tls: Option<Acceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // No timer for hyper: each connection's watchdog keeps the read timeout of request heads
    // (`watchdog.rs`), at no cost per request.
    http.keep_alive(true).header_read_timeout(None);
    // One flat buffer per answer, not a `writev` of the head and the body: the answers are
    // small JSON bodies, and copying one into the head's buffer costs less than the kernel's
    // second iovec. Side by side on one core, `GET /servers` ran 4% more requests per
    // CPU-second this way, and the console's 100 lines 2% more. TLS wants it flat anyway.
    http.writev(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connections: amortised O(1) per accept.
        while connections.try_join_next().is_some() {}
        // Back-pressure: no accept while every slot is taken.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_connection_error(&error) => continue,
                // A stopping mock shuts its listening socket down (`MockServer`'s drop):
                // the accept that then fails is no news.
                Err(_) if *shutdown.borrow() => break,
                Err(error) => {
                    tracing::warn!("cannot accept a connection ({error}); pausing {ACCEPT_ERROR_PAUSE:?}");
                    tokio::select! {
                        _ = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                        _ = shutdown.changed() => break,
                    }
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            http: http.clone(),
            service: Arc::clone(&service),
            peer,
            read_timeout: limits.read_timeout,
            watcher: graceful.watcher(),
        };
        let tls = tls.clone();
        let activity = Activity::default();
        let watched = activity.clone();
        let serving = connections.spawn(async move {
            match tls {
                None => connection.serve(TokioIo::new(stream), &activity).await,
                #[cfg(feature = "tls")]
                Some(acceptor) => {
                    // The handshake holds a slot: it gets the read timeout, like a request head.
                    let timeout = connection.read_timeout;
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            // The head gets its own read timeout after the handshake's.
                            activity.active();
                            connection.serve(TokioIo::new(stream), &activity).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
                        Err(_) => {
                            tracing::debug!(%peer, "no TLS handshake within {timeout:?}; closing")
                        }
                    }
                }
                #[cfg(not(feature = "tls"))]
                Some(never) => match never {},
            }
            // Served, or a failed handshake: either way the watchdog is done.
            activity.ended();
            drop(slot);
        });
        connections.spawn(watchdog::watch(watched, serving, limits.read_timeout));
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {:?}; closing their connections",
            limits.shutdown_timeout
        );
    }
    // Whatever is still running past the timeout is cut.
    connections.shutdown().await;
}

/// One accepted connection, ready to be served once its transport (TCP or TLS) is.
struct Connection<S> {
    http: http1::Builder,
    service: Arc<S>,
    peer: SocketAddr,
    read_timeout: Duration,
    watcher: Watcher,
}

impl<S: Answer> Connection<S> {
    async fn serve<I>(self, io: I, activity: &Activity)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let Self {
            http,
            service,
            peer,
            read_timeout,
            watcher,
        } = self;
        let watched = activity.clone();
        let connection = http.serve_connection(
            Watched::new(io, activity.clone()),
            service_fn(move |request| {
                watched.active();
                Arc::clone(&service).answer(request, peer, read_timeout, &watched)
            }),
        );
        let _ = watcher.watch(connection).await;
    }
}

/// What answering one request yields.
type Answered = Result<Response<Full<Bytes>>, DroppedConnection>;

/// The mock's answer to one request: ready at once for a request without a body and without
/// injected latency (most requests, answered without building a future that awaits), or
/// still waiting for the body or the latency.
pub(crate) enum Answering {
    Ready(std::future::Ready<Answered>),
    Waiting(Pin<Box<dyn Future<Output = Answered> + Send>>),
}

impl Answering {
    /// An answer that waits for `answer`, in flight for `activity` until it is ready.
    fn waiting(
        activity: &Activity,
        answer: impl Future<Output = Answered> + Send + 'static,
    ) -> Self {
        let in_flight = activity.in_flight();
        Answering::Waiting(Box::pin(async move {
            let answered = answer.await;
            drop(in_flight);
            answered
        }))
    }
}

impl Future for Answering {
    type Output = Answered;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answered> {
        match self.get_mut() {
            Answering::Ready(answer) => Pin::new(answer).poll(cx),
            Answering::Waiting(future) => future.as_mut().poll(cx),
        }
    }
}

impl App {
    /// Answers at once, or, with injected latency, once it has passed (in flight for
    /// `activity` meanwhile).
    fn finish(handled: Handled, activity: &Activity) -> Answering {
        if handled.delay.is_none() {
            return Answering::Ready(std::future::ready(Self::reply(handled)));
        }
        Answering::waiting(activity, Self::after_latency(handled))
    }

    /// Waits out the injected latency, then answers or drops the connection.
    async fn after_latency(handled: Handled) -> Answered {
        if let Some(delay) = handled.delay {
            tokio::time::sleep(delay).await;
        }
        Self::reply(handled)
    }

    /// The response, or the dropped connection of an injected fault.
    fn reply(handled: Handled) -> Answered {
        if handled.drop_connection {
            Err(DroppedConnection)
        } else {
            Ok(handled.response.map(Full::new))
        }
    }

    /// Reads the body within `read_timeout`, then handles the request.
    async fn read_then_answer(
        self: Arc<Self>,
        parts: http::request::Parts,
        body: Incoming,
        peer: SocketAddr,
        read_timeout: Duration,
    ) -> Answered {
        let body = match read_body(body, read_timeout).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                // Answered 413 by the pipeline, after auth and rate limiting like any request.
                let mut request = Request::from_parts(parts, Bytes::new());
                request.extensions_mut().insert(BodyTooLarge);
                let handled = self.handle(&request, peer.ip());
                return Ok(handled.response.map(Full::new));
            }
            // Too slow, or the client went away mid-body: close, as for a slow head.
            Err(BodyError::Dropped) => return Err(DroppedConnection),
        };
        let request = Request::from_parts(parts, body);
        Self::after_latency(self.handle(&request, peer.ip())).await
    }
}

impl Answer for App {
    type Body = Full<Bytes>;
    type Answering = Answering;

    fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: SocketAddr,
        read_timeout: Duration,
        activity: &Activity,
    ) -> Answering {
        use hyper::body::Body as _;
        let (parts, body) = request.into_parts();
        if body.is_end_stream() {
            // No body (a GET, or `Content-Length: 0`): nothing to wait for.
            let request = Request::from_parts(parts, Bytes::new());
            return Self::finish(self.handle(&request, peer.ip()), activity);
        }
        Answering::waiting(
            activity,
            self.read_then_answer(parts, body, peer, read_timeout),
        )
    }
}
