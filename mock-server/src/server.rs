//! The hyper 1.x accept loop: one listener per API, graceful shutdown, body limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::service::{BodyTooLarge, MAX_BODY_BYTES};

/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedConnection {}

/// Serves `service` on `listener` until `shutdown` changes, then lets in-flight requests
/// finish (up to a bound).
pub(crate) async fn serve(
    listener: TcpListener,
    service: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(Duration::from_secs(30));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let service = Arc::clone(&service);
                let connection = http.serve_connection(
                    TokioIo::new(stream),
                    service_fn(move |request| answer(Arc::clone(&service), request, peer)),
                );
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

async fn answer(
    service: Arc<App>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error)
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            // Answered 413 by the pipeline, after auth and rate limiting like any request.
            let mut request = Request::from_parts(parts, Bytes::new());
            request.extensions_mut().insert(BodyTooLarge);
            let handled = service.handle(&request, peer.ip());
            return Ok(handled.response.map(Full::new));
        }
        // The client went away mid-body: nobody to answer.
        Err(_) => return Err(DroppedConnection),
    };
    let request = Request::from_parts(parts, body);
    let handled = service.handle(&request, peer.ip());
    if let Some(delay) = handled.delay {
        tokio::time::sleep(delay).await;
    }
    if handled.drop_connection {
        return Err(DroppedConnection);
    }
    Ok(handled.response.map(Full::new))
}
