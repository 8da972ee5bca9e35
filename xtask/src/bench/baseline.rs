//! The bench's baseline: a bare hyper 1.x HTTP/1 server on a multi-thread tokio runtime
//! that answers each request with a body captured from the mock for the same request.
//!
//! It does only the work every mock request must do too: it checks `Authorization: Bearer
//! <token>` against one expected token in constant time (401 otherwise), bumps one atomic
//! fixed-window rate-limit counter, and looks the body up by method and path and query.
//! Run by `cargo xtask bench` as `xtask bench-baseline`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

/// `xtask bench-baseline`: serve captured bodies like the mock would.
#[derive(Debug, clap::Args)]
pub(crate) struct Baseline {
    /// Address to listen on (loopback).
    #[arg(long)]
    addr: SocketAddr,
    /// A directory of captured bodies: `GET <path?query>` and `POST <path>` per file, as
    /// listed in its `index` file (`METHOD TARGET FILE` per line).
    #[arg(long)]
    bodies: PathBuf,
    /// The only accepted bearer token.
    #[arg(long)]
    token: String,
}

/// What every connection shares: the bodies, the expected header and the rate-limit counter.
#[derive(Debug)]
struct State {
    bodies: HashMap<(Method, String), Bytes>,
    expected_authorization: Vec<u8>,
    started: Instant,
    /// The current window (whole seconds since start) in the high 32 bits, its count in the low.
    window: AtomicU64,
}

/// Requests allowed per one-second window before 429 (as high as the mock's bench limit).
const RATE_LIMIT: u32 = 1_000_000_000;

impl State {
    fn admit(&self) -> bool {
        let now = self.started.elapsed().as_secs() << 32;
        let seen = self.window.load(Ordering::Relaxed);
        if seen & !u64::from(u32::MAX) != now {
            let _ = self
                .window
                .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed);
        }
        let previous = self.window.fetch_add(1, Ordering::Relaxed);
        previous & !u64::from(u32::MAX) != now || (previous as u32) < RATE_LIMIT
    }

    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let authorized = req
            .headers()
            .get(AUTHORIZATION)
            .is_some_and(|value| bool::from(value.as_bytes().ct_eq(&self.expected_authorization)));
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let (status, body) = if !authorized {
            (
                StatusCode::UNAUTHORIZED,
                Bytes::from_static(br#"{"error":"unauthorized"}"#),
            )
        } else if !self.admit() {
            (
                StatusCode::TOO_MANY_REQUESTS,
                Bytes::from_static(br#"{"error":"rate_limited"}"#),
            )
        } else {
            match self.bodies.get(&(req.method().clone(), target.to_owned())) {
                Some(body) => (StatusCode::OK, body.clone()),
                None => (
                    StatusCode::NOT_FOUND,
                    Bytes::from_static(br#"{"error":"not found"}"#),
                ),
            }
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

impl Baseline {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let index = self.bodies.join("index");
        let index = std::fs::read_to_string(&index)
            .with_context(|| format!("cannot read {}", index.display()))?;
        let mut bodies = HashMap::new();
        for line in index.lines() {
            let mut words = line.split_whitespace();
            let (Some(method), Some(target), Some(file)) =
                (words.next(), words.next(), words.next())
            else {
                anyhow::bail!("malformed index line {line:?}");
            };
            let body = std::fs::read(self.bodies.join(file))?;
            bodies.insert((method.parse()?, target.to_owned()), Bytes::from(body));
        }
        let state = Arc::new(State {
            bodies,
            expected_authorization: format!("Bearer {}", self.token).into_bytes(),
            started: Instant::now(),
            window: AtomicU64::new(0),
        });
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(serve(self.addr, state))
    }
}

async fn serve(addr: SocketAddr, state: Arc<State>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of file descriptors, say: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let response = state.respond(&req);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
