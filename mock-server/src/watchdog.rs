//! The read timeout of a connection's request heads, kept by one timer per connection
//! instead of one per request.
//!
//! hyper's own `header_read_timeout` arms, polls and frees a timer for every request head:
//! 1,365 of the mock's ~20,000 instructions a request under callgrind. Here the connection
//! only marks its progress (a relaxed store per request and per write), and a separate task
//! looks every quarter of the read timeout: a connection that has started no request, sent
//! no byte of an answer nor waited to ([`Watched`]) and had no answer in flight, for four
//! looks in a row — the read timeout, give or take a quarter — is closed.
//! That bounds a silent connection, an idle keep-alive connection and a request head sent a
//! byte at a time alike, as hyper's timer did. A request body has its own timeout
//! (`server::read_body`); an answer that waits (injected latency, the proxy's upstream, a
//! streamed body) holds an [`InFlight`] and is never cut.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// Looks per read timeout: the timeout is kept to within `1 / LOOKS` of itself.
const LOOKS: u32 = 4;
/// The shortest time between two looks.
const SHORTEST_LOOK: Duration = Duration::from_millis(1);

/// What a connection's watchdog sees of it. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Activity(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    /// Progress since the watchdog's last look.
    active: AtomicBool,
    /// An answer's bytes are waiting for the client to read what it was sent: busy, as hyper's
    /// header timer never ran while an answer was being written.
    writing: AtomicBool,
    /// Answers still waiting (latency, upstream, a streamed body).
    in_flight: AtomicUsize,
    /// Signalled once when the connection has ended.
    ended: Notify,
}

impl Activity {
    /// The connection made progress: a request head arrived, bytes of an answer went out, or
    /// its TLS handshake finished.
    #[inline]
    pub(crate) fn active(&self) {
        self.0.active.store(true, Ordering::Relaxed);
    }

    /// An answer that waits: the connection is busy, not idle, until the guard is dropped.
    pub(crate) fn in_flight(&self) -> InFlight {
        self.0.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.0))
    }

    /// The connection has ended: its watchdog stops.
    pub(crate) fn ended(&self) {
        self.0.ended.notify_one();
    }

    /// Whether the connection was busy since the last look; resets what it saw.
    fn busy_since_last_look(&self) -> bool {
        let active = self.0.active.swap(false, Ordering::Relaxed);
        active
            || self.0.writing.load(Ordering::Relaxed)
            || self.0.in_flight.load(Ordering::Relaxed) > 0
    }
}

/// Keeps a connection busy while alive; see [`Activity::in_flight`].
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        // The answer just ended: progress for the next look.
        self.0.active.store(true, Ordering::Relaxed);
    }
}

/// A connection's transport, telling its [`Activity`] when an answer's bytes go out or wait
/// for the client to read them: a client that reads a long answer slowly, or pauses, is busy,
/// not idle (hyper's header timer never ran while an answer was written). Reads tell it
/// nothing, so a head sent a byte at a time is still cut.
#[derive(Debug)]
pub(crate) struct Watched<I> {
    io: I,
    activity: Activity,
}

impl<I> Watched<I> {
    pub(crate) fn new(io: I, activity: Activity) -> Self {
        Self { io, activity }
    }

    /// Notes a write's progress, or that it waits for the client to read.
    fn wrote(&self, written: &Poll<std::io::Result<usize>>) {
        let shared = &self.activity.0;
        match written {
            Poll::Pending => shared.writing.store(true, Ordering::Relaxed),
            Poll::Ready(result) => {
                if shared.writing.load(Ordering::Relaxed) {
                    shared.writing.store(false, Ordering::Relaxed);
                }
                if matches!(result, Ok(n) if *n > 0) {
                    self.activity.active();
                }
            }
        }
    }
}

impl<I: hyper::rt::Read + Unpin> hyper::rt::Read for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: hyper::rt::Write + Unpin> hyper::rt::Write for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Watches one connection until it ends; aborts it (`connection`) when it has been idle for
/// `read_timeout`, give or take a quarter.
pub(crate) async fn watch(activity: Activity, connection: AbortHandle, read_timeout: Duration) {
    let look_every = (read_timeout / LOOKS).max(SHORTEST_LOOK);
    let mut looks = tokio::time::interval_at(tokio::time::Instant::now() + look_every, look_every);
    looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut idle_looks = 0;
    loop {
        tokio::select! {
            () = activity.0.ended.notified() => return,
            _ = looks.tick() => {
                if activity.busy_since_last_look() {
                    idle_looks = 0;
                } else {
                    idle_looks += 1;
                    if idle_looks == LOOKS {
                        connection.abort();
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_of_an_answer_going_out_or_waiting_count_as_activity_and_bytes_coming_in_do_not()
    {
        use hyper::rt::{Read as _, Write as _};
        let (ours, mut theirs) = tokio::io::duplex(64);
        let activity = Activity::default();
        let mut watched = Watched::new(hyper_util::rt::TokioIo::new(ours), activity.clone());
        assert!(!activity.busy_since_last_look());

        tokio::io::AsyncWriteExt::write_all(&mut theirs, b"GET / HTTP/1.1\r\n")
            .await
            .unwrap();
        let mut buffer = [std::mem::MaybeUninit::uninit(); 64];
        let mut read = hyper::rt::ReadBuf::uninit(&mut buffer);
        std::future::poll_fn(|cx| Pin::new(&mut watched).poll_read(cx, read.unfilled()))
            .await
            .unwrap();
        assert!(!read.filled().is_empty());
        assert!(!activity.busy_since_last_look(), "a read made it busy");

        let written = std::future::poll_fn(|cx| Pin::new(&mut watched).poll_write(cx, b"HTTP/1.1"))
            .await
            .unwrap();
        assert_eq!(written, 8);
        assert!(activity.busy_since_last_look(), "a write left it idle");
        assert!(!activity.busy_since_last_look(), "each look starts afresh");

        let slices = [std::io::IoSlice::new(b" 200 OK")];
        std::future::poll_fn(|cx| Pin::new(&mut watched).poll_write_vectored(cx, &slices))
            .await
            .unwrap();
        assert!(
            activity.busy_since_last_look(),
            "a vectored write left it idle"
        );

        // The client stops reading: once the pipe is full the write waits, and the connection
        // stays busy look after look until the client reads again.
        let pending = loop {
            let written = std::future::poll_fn(|cx| {
                Poll::Ready(Pin::new(&mut watched).poll_write(cx, &[b'x'; 32]))
            })
            .await;
            if written.is_pending() {
                break written;
            }
        };
        assert!(pending.is_pending());
        for look in 0..8 {
            assert!(
                activity.busy_since_last_look(),
                "idle at look {look} while writing"
            );
        }
        let mut drained = [0; 256];
        let _ = tokio::io::AsyncReadExt::read(&mut theirs, &mut drained)
            .await
            .unwrap();
        std::future::poll_fn(|cx| Pin::new(&mut watched).poll_write(cx, b"y"))
            .await
            .unwrap();
        assert!(
            activity.busy_since_last_look(),
            "the last write is progress"
        );
        assert!(
            !activity.busy_since_last_look(),
            "busy after the write went out"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_aborted_after_the_read_timeout_and_a_busy_one_is_not() {
        let timeout = Duration::from_secs(8);
        // Idle from the start: aborted after four looks of 2 s, not before.
        let activity = Activity::default();
        let idle = tokio::spawn(std::future::pending::<()>());
        let watching = tokio::spawn(watch(activity.clone(), idle.abort_handle(), timeout));
        tokio::time::sleep(Duration::from_millis(7_900)).await;
        assert!(!idle.is_finished(), "cut before the read timeout");
        tokio::time::sleep(Duration::from_millis(200)).await;
        watching.await.unwrap();
        assert!(idle.await.unwrap_err().is_cancelled());

        // A request every 3 s keeps it open; an answer in flight for 30 s too.
        let activity = Activity::default();
        let busy = tokio::spawn(std::future::pending::<()>());
        let watching = tokio::spawn(watch(activity.clone(), busy.abort_handle(), timeout));
        for _ in 0..10 {
            activity.active();
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let waiting = activity.in_flight();
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!busy.is_finished(), "cut while busy");
        // Idle again once the answer is out: cut one read timeout later, give or take a look.
        drop(waiting);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(!busy.is_finished(), "cut before the read timeout");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(busy.is_finished(), "not cut after the read timeout");
        watching.await.unwrap();

        // A connection that ends stops its watchdog at once.
        let activity = Activity::default();
        let ended = tokio::spawn(std::future::pending::<()>());
        let watching = tokio::spawn(watch(activity.clone(), ended.abort_handle(), timeout));
        activity.ended();
        tokio::time::timeout(Duration::from_millis(1), watching)
            .await
            .expect("the watchdog stops when its connection ends")
            .unwrap();
    }
}
