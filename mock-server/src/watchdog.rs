//! The read timeout of a connection's request heads, kept by one timer per connection
//! instead of one per request.
//!
//! hyper's own `header_read_timeout` arms, polls and frees a timer for every request head:
//! 1,365 of the mock's ~20,000 instructions a request under callgrind. Here the connection
//! only marks that a request arrived (one relaxed store), and a separate task looks every
//! quarter of the read timeout: a connection that has started no request, and has none in
//! flight, for four looks in a row — the read timeout, give or take a quarter — is closed.
//! That bounds a silent connection, an idle keep-alive connection and a request head sent a
//! byte at a time alike, as hyper's timer did. A request body has its own timeout
//! (`server::read_body`); an answer that waits (injected latency, the proxy's upstream, a
//! streamed body) holds an [`InFlight`] and is never cut.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// A request started since the watchdog's last look.
    requested: AtomicBool,
    /// Answers still waiting (latency, upstream, a streamed body).
    in_flight: AtomicUsize,
    /// Signalled once when the connection has ended.
    ended: Notify,
}

impl Activity {
    /// A request head has arrived.
    #[inline]
    pub(crate) fn requested(&self) {
        self.0.requested.store(true, Ordering::Relaxed);
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
        let requested = self.0.requested.swap(false, Ordering::Relaxed);
        requested || self.0.in_flight.load(Ordering::Relaxed) > 0
    }
}

/// Keeps a connection busy while alive; see [`Activity::in_flight`].
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        // The answer just ended: it counts as a request for the next look.
        self.0.requested.store(true, Ordering::Relaxed);
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
            activity.requested();
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
