//! Run with `cargo run --release -p beacon-mock --example bare_hyper -- --addr 127.0.0.1:8081`.
//!
//! The baseline of `cargo xtask bench`: a bare hyper 1.x HTTP/1 server on a multi-thread tokio
//! runtime that answers every request with one fixed JSON body.
//! It does only the work every mock request must do too: it checks `Authorization: Bearer
//! <token>` against one expected token in constant time (401 otherwise) and bumps one atomic
//! fixed-window rate-limit counter (429 past `--rate-limit` requests in the current second).
//! The body is either `--body-file PATH` served verbatim or `--body-bytes N` of padded JSON.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

/// Bare hyper baseline for `cargo xtask bench`.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (loopback only is the intent).
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// Size in bytes of the generated JSON body (ignored with `--body-file`).
    #[arg(long, default_value_t = 1024)]
    body_bytes: usize,
    /// A JSON file to serve verbatim instead of a generated body.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// The only accepted bearer token.
    #[arg(long, default_value = "panel_acct1_7f3c9a2b5d1e4f60")]
    token: String,
    /// Requests allowed per one-second window before answering 429.
    #[arg(long, default_value_t = u32::MAX)]
    rate_limit: u32,
}

/// What every connection shares: the body, the expected header and the rate-limit counter.
#[derive(Debug)]
struct State {
    body: Bytes,
    expected_authorization: Vec<u8>,
    rate_limit: u32,
    started: Instant,
    /// The current window (whole seconds since start) in the high 32 bits, its count in the low.
    window: AtomicU64,
}

impl State {
    /// Counts one request in the current window; false once the window is over the limit.
    fn admit(&self) -> bool {
        let now = self.started.elapsed().as_secs() << 32;
        let seen = self.window.load(Ordering::Relaxed);
        if seen & !u64::from(u32::MAX) != now {
            // A new window: one racer resets it, the others just count into it.
            let _ = self
                .window
                .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed);
        }
        let previous = self.window.fetch_add(1, Ordering::Relaxed);
        previous & !u64::from(u32::MAX) != now || (previous as u32) < self.rate_limit
    }

    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let authorized = req
            .headers()
            .get(AUTHORIZATION)
            .is_some_and(|value| bool::from(value.as_bytes().ct_eq(&self.expected_authorization)));
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
            (StatusCode::OK, self.body.clone())
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// `{"data":"xxx…"}` padded to exactly `len` bytes (at least the 11 bytes of the frame).
fn padded_json(len: usize) -> Bytes {
    let frame = br#"{"data":""}"#;
    let mut body = Vec::with_capacity(len.max(frame.len()));
    body.extend_from_slice(&frame[..9]);
    body.resize(len.max(frame.len()) - 2, b'x');
    body.extend_from_slice(&frame[9..]);
    Bytes::from(body)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body = match &args.body_file {
        Some(path) => Bytes::from(std::fs::read(path)?),
        None => padded_json(args.body_bytes),
    };
    let state = Arc::new(State {
        body,
        expected_authorization: format!("Bearer {}", args.token).into_bytes(),
        rate_limit: args.rate_limit,
        started: Instant::now(),
        window: AtomicU64::new(0),
    });
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(args.addr, state))
}

async fn serve(addr: SocketAddr, state: Arc<State>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!("bare_hyper listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, say: back off instead of spinning.
                eprintln!("accept failed: {err}");
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
            // A client that hangs up mid-request is not the server's error.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
