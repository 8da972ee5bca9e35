//! The bench's baseline: a bare hyper 1.x HTTP/1 server on a multi-thread tokio runtime
//! that answers each request with a body captured from the mock for the same request.
//!
//! It does only the work every mock request must do too: it checks `Authorization: Bearer
//! <token>` against one expected token in constant time (401 otherwise), bumps one atomic
//! fixed-window rate-limit counter, and looks the body up by method and path and query.
//! Run by `cargo xtask bench` as `xtask bench-baseline`.
//!
//! With `--floor` it is the *floor*: it also does, per request, the least work the contract
//! and the mock's other requirements ask of any faithful mock, each in its cheapest form —
//! the token looked up by its SHA-256 digest (tokens are kept only as digests), the
//! rate-limit headers with the request's own `remaining` and `Vary: Origin`, a journal entry
//! owning a copy of the path and token, and an access line queued for a writer thread. It
//! also serves with the mock's own hyper settings (each answer written as one flat buffer,
//! hyper's `writev(false)`), so that what the mock loses to the floor is the mock's own code.
//!
//! With `--flat` the bare baseline serves with those settings too: what hyper's own tuning
//! gives bare hyper, so that the bench can say how much of the mock's ratio it is.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, VARY};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
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
    /// Be the floor: also do the per-request work every faithful mock must do, and serve
    /// with the mock's hyper settings (implies `--flat`).
    #[arg(long)]
    floor: bool,
    /// Write each answer as one flat buffer (hyper's `writev(false)`), as the mock does.
    #[arg(long)]
    flat: bool,
}

/// What every connection shares: the bodies, the expected header and the rate-limit counter.
#[derive(Debug)]
struct State {
    /// By method, then by path and query: looked up without building an owned key.
    bodies: HashMap<Method, HashMap<String, Bytes>>,
    expected_authorization: Vec<u8>,
    started: Instant,
    /// The current window (whole seconds since start) in the high 32 bits, its count in the low.
    window: AtomicU64,
    /// The floor's extra work, with `--floor`.
    floor: Option<Floor>,
    /// Answers go out as one flat buffer, not a `writev` of head and body.
    flat: bool,
}

/// The work every faithful mock does per request, each part in its cheapest form.
#[derive(Debug)]
struct Floor {
    /// SHA-256 digests of the issued tokens, and whose they are.
    tokens: HashMap<[u8; 32], u32>,
    /// The most recent requests: method, status, time, latency, and a copy of the path and
    /// token (bounded by entries, not bytes: every entry here is small).
    journal: Mutex<VecDeque<JournalEntry>>,
    /// Access lines waiting for the writer thread.
    access_log: Arc<Mutex<Vec<u8>>>,
}

type JournalEntry = (Method, u16, SystemTime, u64, Box<[u8]>);

/// `at` (whose whole seconds since the epoch are `secs`) as RFC 3339 up to the seconds,
/// formatted once per second per thread.
fn second_text(at: SystemTime, secs: u64) -> [u8; 19] {
    thread_local! {
        static SECOND: std::cell::Cell<(u64, [u8; 19])> = const { std::cell::Cell::new((u64::MAX, [0; 19])) };
    }
    SECOND.with(|second| {
        let (cached, text) = second.get();
        if cached == secs {
            return text;
        }
        let mut text = [0; 19];
        let formatted = humantime::format_rfc3339_seconds(at).to_string();
        text.copy_from_slice(&formatted.as_bytes()[..19]);
        second.set((secs, text));
        text
    })
}

/// Entries the floor's journal keeps.
const JOURNAL_ENTRIES: usize = 100_000;
/// How often the floor's writer thread writes the queued access lines to stderr.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

impl Floor {
    /// The floor, its access lines queued until [`Floor::start_writer`].
    fn new(token: &str) -> Self {
        Self {
            tokens: HashMap::from([(Sha256::digest(token.as_bytes()).into(), 0)]),
            journal: Mutex::new(VecDeque::with_capacity(JOURNAL_ENTRIES)),
            access_log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Starts the thread that writes the queued access lines to stderr every [`FLUSH_EVERY`].
    fn start_writer(self) -> Self {
        let queued = Arc::clone(&self.access_log);
        std::thread::spawn(move || {
            // Two buffers swapped, as the mock's writer does: neither regrows per flush.
            let mut spare = Vec::new();
            loop {
                std::thread::sleep(FLUSH_EVERY);
                std::mem::swap(&mut *queued.lock(), &mut spare);
                let _ = std::io::stderr().lock().write_all(&spare);
                spare.clear();
            }
        });
        self
    }

    /// Whose `token` is, by its digest.
    fn principal(&self, token: &[u8]) -> Option<u32> {
        let digest: [u8; 32] = Sha256::digest(token).into();
        self.tokens.get(&digest).copied()
    }

    /// Journals the request and queues its access line.
    fn record(&self, method: &Method, target: &str, token: &[u8], status: u16, started: Instant) {
        let latency_us = started.elapsed().as_micros() as u64;
        let copy: Box<[u8]> = [target.as_bytes(), token].concat().into();
        let at = SystemTime::now();
        {
            let mut journal = self.journal.lock();
            if journal.len() == JOURNAL_ENTRIES {
                journal.pop_front();
            }
            journal.push_back((method.clone(), status, at, latency_us, copy));
        }
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut numbers = (
            itoa::Buffer::new(),
            itoa::Buffer::new(),
            itoa::Buffer::new(),
        );
        let micros = numbers.2.format(since.subsec_micros() + 1_000_000);
        let parts: [&[u8]; 12] = [
            // The time as the mock writes it: the second formatted once per second.
            &second_text(at, since.as_secs()),
            b".",
            &micros.as_bytes()[1..],
            br#"Z  INFO beacon_mock::request: api="panel" method=""#,
            method.as_str().as_bytes(),
            br#"" path=""#,
            target.as_bytes(),
            br#"" status="#,
            numbers.0.format(status).as_bytes(),
            b" latency_us=",
            numbers.1.format(latency_us).as_bytes(),
            b"\n",
        ];
        let mut queue = self.access_log.lock();
        for part in parts {
            queue.extend_from_slice(part);
        }
    }
}

/// Requests allowed per one-second window before 429 (as high as the mock's bench limit).
const RATE_LIMIT: u32 = 1_000_000_000;
/// [`RATE_LIMIT`] as its header value, written once (the mock keeps its limit's value too).
const RATE_LIMIT_TEXT: &str = "1000000000";
/// The rate-limit header names, parsed at compile time: a `&str` name would be checked on
/// every insert (the mock keeps its names ready too).
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

impl State {
    /// Counts one request in the current window: `Some(remaining)` when it is admitted.
    fn admit(&self) -> Option<u32> {
        let now = self.started.elapsed().as_secs() << 32;
        let seen = self.window.load(Ordering::Relaxed);
        if seen & !u64::from(u32::MAX) != now {
            let _ = self
                .window
                .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed);
        }
        let previous = self.window.fetch_add(1, Ordering::Relaxed);
        let used = if previous & !u64::from(u32::MAX) != now {
            0
        } else {
            previous as u32
        };
        (used < RATE_LIMIT).then(|| RATE_LIMIT - used - 1)
    }

    fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        // The floor's clock and token; the bare baseline reads neither.
        let floor = self.floor.as_ref().map(|floor| (floor, Instant::now()));
        let authorization = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
        let token = || {
            authorization
                .and_then(|value| value.strip_prefix(b"Bearer "))
                .unwrap_or_default()
        };
        let authorized = match floor {
            None => authorization
                .is_some_and(|value| bool::from(value.ct_eq(&self.expected_authorization))),
            Some((floor, _)) => floor.principal(token()).is_some(),
        };
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let mut remaining = None;
        let (status, body) = if !authorized {
            (
                StatusCode::UNAUTHORIZED,
                Bytes::from_static(br#"{"error":"unauthorized"}"#),
            )
        } else if let Some(left) = self.admit() {
            remaining = Some(left);
            match self
                .bodies
                .get(req.method())
                .and_then(|by_target| by_target.get(target))
            {
                Some(body) => (StatusCode::OK, body.clone()),
                None => (
                    StatusCode::NOT_FOUND,
                    Bytes::from_static(br#"{"error":"not found"}"#),
                ),
            }
        } else {
            (
                StatusCode::TOO_MANY_REQUESTS,
                Bytes::from_static(br#"{"error":"rate_limited"}"#),
            )
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some((floor, started)) = floor {
            let headers = response.headers_mut();
            // Counted (authenticated) requests only: Panel sends none on a 401.
            if authorized {
                headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from_static(RATE_LIMIT_TEXT));
                headers.insert(
                    X_RATELIMIT_REMAINING,
                    HeaderValue::from(remaining.unwrap_or(0)),
                );
                headers.insert(X_RATELIMIT_RESET, HeaderValue::from_static("1"));
            }
            headers.insert(VARY, HeaderValue::from_static("Origin"));
            floor.record(req.method(), target, token(), status.as_u16(), started);
        }
        response
    }
}

impl Baseline {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let index = self.bodies.join("index");
        let index = std::fs::read_to_string(&index)
            .with_context(|| format!("cannot read {}", index.display()))?;
        let mut bodies: HashMap<Method, HashMap<String, Bytes>> = HashMap::new();
        for line in index.lines() {
            let mut words = line.split_whitespace();
            let (Some(method), Some(target), Some(file)) =
                (words.next(), words.next(), words.next())
            else {
                anyhow::bail!("malformed index line {line:?}");
            };
            let body = std::fs::read(self.bodies.join(file))?;
            bodies
                .entry(method.parse()?)
                .or_default()
                .insert(target.to_owned(), Bytes::from(body));
        }
        let state = Arc::new(State {
            bodies,
            expected_authorization: format!("Bearer {}", self.token).into_bytes(),
            started: Instant::now(),
            window: AtomicU64::new(0),
            floor: self.floor.then(|| Floor::new(&self.token).start_writer()),
            flat: self.flat || self.floor,
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
            let flat = state.flat;
            let service = service_fn(move |req| {
                let response = state.respond(&req);
                async move { Ok::<_, Infallible>(response) }
            });
            let mut http = http1::Builder::new();
            // The mock's own hyper setting (`mock-server/src/server.rs`), or hyper's default.
            http.writev(!flat);
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(floor: bool) -> State {
        State {
            bodies: HashMap::from([(
                Method::GET,
                HashMap::from([("/api/v1/servers".to_owned(), Bytes::from_static(b"[]"))]),
            )]),
            expected_authorization: b"Bearer secret".to_vec(),
            started: Instant::now(),
            window: AtomicU64::new(0),
            floor: floor.then(|| Floor::new("secret")),
            flat: floor,
        }
    }

    fn get(token: &str) -> Request<()> {
        Request::get("/api/v1/servers")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .unwrap()
    }

    #[test]
    fn the_floor_answers_like_the_baseline_and_does_the_mandated_work() {
        let bare = state(false);
        let floor = state(true);
        for state in [&bare, &floor] {
            assert_eq!(state.respond(&get("secret")).status(), StatusCode::OK);
            assert_eq!(
                state.respond(&get("wrong")).status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let refused = floor.respond(&get("wrong"));
        assert!(refused.headers().get("x-ratelimit-limit").is_none());
        assert_eq!(refused.headers()[VARY], "Origin");
        assert!(bare.respond(&get("secret")).headers().get(VARY).is_none());
        let answer = floor.respond(&get("secret"));
        let headers = answer.headers();
        assert_eq!(
            headers["x-ratelimit-limit"],
            RATE_LIMIT.to_string().as_str()
        );
        // The second admitted request of the window (a 401 is not counted).
        assert_eq!(
            headers["x-ratelimit-remaining"],
            (RATE_LIMIT - 2).to_string().as_str()
        );
        assert_eq!(headers[VARY], "Origin");
        let work = floor.floor.as_ref().unwrap();
        let journal = work.journal.lock();
        assert_eq!(journal.len(), 4);
        assert_eq!(&*journal[1].4, b"/api/v1/serverswrong");
        assert_eq!(journal[1].1, 401);
        let lines = String::from_utf8(work.access_log.lock().clone()).unwrap();
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        for (line, status) in lines.iter().zip([200, 401, 401, 200]) {
            // `2026-11-30T21:34:06.764616Z  INFO beacon_mock::request: …`, as the mock writes it.
            let (time, rest) = line.split_at(27);
            assert!(
                time.starts_with("20")
                    && time.as_bytes()[10] == b'T'
                    && time.as_bytes()[19] == b'.'
                    && time.ends_with('Z')
                    && time[20..26].bytes().all(|b| b.is_ascii_digit()),
                "{line}"
            );
            assert!(
                rest.starts_with(&format!(
                    r#"  INFO beacon_mock::request: api="panel" method="GET" path="/api/v1/servers" status={status} latency_us="#
                )),
                "{line}"
            );
        }
    }
}
