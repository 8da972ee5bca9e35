//! Fixed-window rate limiting over several windows at once, exact under concurrency.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use beacon_spec::rate_limit::{RateLimitPolicy, RateScope};
use parking_lot::Mutex;

/// What a window counts by: the scope's key for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateKey {
    /// A Status workspace, by index.
    Workspace(usize),
    /// A client address.
    ClientIp(IpAddr),
    /// A Panel token, by digest prefix.
    Token(u64),
}

impl RateKey {
    fn scope(self) -> RateScope {
        match self {
            RateKey::Workspace(_) => RateScope::Workspace,
            RateKey::ClientIp(_) => RateScope::ClientIp,
            RateKey::Token(_) => RateScope::Token,
        }
    }
}

/// The limiter's verdict for one request, describing the binding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateDecision {
    /// Whether the request may proceed (and was counted).
    pub(crate) allowed: bool,
    /// The binding window's limit.
    pub(crate) limit: u32,
    /// Requests left in the binding window after this one.
    pub(crate) remaining: u32,
    /// Whole seconds (rounded up) until the binding window resets.
    pub(crate) reset_secs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    scope: RateScope,
    limit: u32,
    period: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    started: Instant,
    count: u32,
}

/// Counts requests per key in fixed windows that start with a key's first request.
///
/// One lock covers every window, so a request is counted against all of its windows or
/// none, and N concurrent requests against L remaining yield exactly min(N, L) successes.
/// Windows that have ended are dropped in the order they started, so that each request pays
/// amortised O(1) for them; at most [`MAX_TRACKED_KEYS`] windows are kept.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    windows: Vec<Window>,
    /// The longest window's period: a bucket older than this counts for nothing.
    longest: Duration,
    buckets: Mutex<Buckets>,
}

/// Keys (client addresses, workspaces, tokens) with a live window, at most; past it the
/// oldest window is forgotten early (that key starts afresh).
pub(crate) const MAX_TRACKED_KEYS: usize = 100_000;

#[derive(Debug, Default)]
struct Buckets {
    map: HashMap<RateKey, Bucket, foldhash::fast::RandomState>,
    /// When each window started, in start order; an item whose key restarted since is stale.
    started: VecDeque<(Instant, RateKey)>,
    /// Items of `started` examined, for the tests of the amortised bound.
    #[cfg(test)]
    examined: usize,
}

impl Buckets {
    /// Drops the oldest window while it has ended (or while more than `most` keys are live).
    fn expire(&mut self, now: Instant, longest: Duration, most: usize) {
        while let Some(&(started, key)) = self.started.front() {
            if now.duration_since(started) < longest && self.map.len() <= most {
                break;
            }
            self.started.pop_front();
            #[cfg(test)]
            {
                self.examined += 1;
            }
            if self.map.get(&key).is_some_and(|b| b.started == started) {
                self.map.remove(&key);
            }
        }
    }
}

/// Keys one request is counted under at most (Status: its IP and its workspace).
pub(crate) const MAX_KEYS: usize = 2;

impl RateLimiter {
    /// The limit most answers report: the first window's.
    pub(crate) fn usual_limit(&self) -> u32 {
        self.windows.first().map_or(u32::MAX, |w| w.limit)
    }

    /// A limiter for `policy`, optionally with every window's period and/or limit replaced.
    /// A period is kept within [`crate::MAX_RATE_LIMIT_WINDOW`] and a limit at least 1 (the
    /// builder refuses other values; the wiremock adapter takes them as given), so that no
    /// window's end overflows the clock.
    pub(crate) fn new(
        policy: &RateLimitPolicy,
        period: Option<Duration>,
        limit: Option<u32>,
    ) -> Self {
        let windows: Vec<Window> = policy
            .windows
            .iter()
            .map(|w| Window {
                scope: w.scope,
                limit: limit.unwrap_or(w.limit),
                period: period
                    .unwrap_or(Duration::from_secs(w.period_secs))
                    .min(crate::MAX_RATE_LIMIT_WINDOW),
            })
            .collect();
        let longest = windows
            .iter()
            .map(|w: &Window| w.period)
            .max()
            .unwrap_or_default();
        Self {
            windows,
            longest,
            buckets: Mutex::default(),
        }
    }

    /// Counts one request received at `now` against the window of each key, unless one of
    /// them is exhausted. Only the first [`MAX_KEYS`] keys count.
    pub(crate) fn acquire(&self, keys: &[RateKey], now: Instant) -> RateDecision {
        let mut guard = self.buckets.lock();
        // Room for this request's keys within the bound.
        let most = MAX_TRACKED_KEYS.saturating_sub(MAX_KEYS);
        guard.expire(now, self.longest, most);
        let Buckets {
            map: buckets,
            started,
            ..
        } = &mut *guard;
        // (limit, count after reset, reset instant) of each applicable window, on the stack.
        let mut states = [(RateKey::Workspace(0), 0, 0, now); MAX_KEYS];
        let mut len = 0;
        for key in keys.iter().take(MAX_KEYS) {
            let Some(window) = self.windows.iter().find(|w| w.scope == key.scope()) else {
                continue;
            };
            let bucket = buckets.entry(*key).or_insert_with(|| {
                started.push_back((now, *key));
                Bucket {
                    started: now,
                    count: 0,
                }
            });
            if now.duration_since(bucket.started) >= window.period {
                *bucket = Bucket {
                    started: now,
                    count: 0,
                };
                started.push_back((now, *key));
            }
            states[len] = (
                *key,
                window.limit,
                bucket.count,
                bucket.started + window.period,
            );
            len += 1;
        }
        let states = &states[..len];
        let exhausted = states
            .iter()
            .filter(|(_, limit, count, _)| count >= limit)
            .max_by_key(|(_, _, _, reset)| *reset);
        if let Some(&(_, limit, _, reset)) = exhausted {
            return RateDecision {
                allowed: false,
                limit,
                remaining: 0,
                reset_secs: secs_until(reset, now),
            };
        }
        for (key, ..) in states {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.count += 1;
            }
        }
        states
            .iter()
            .map(|&(_, limit, count, reset)| (limit, limit - count - 1, reset))
            .min_by_key(|&(limit, remaining, _)| (remaining, limit))
            .map_or(
                RateDecision {
                    allowed: true,
                    limit: u32::MAX,
                    remaining: u32::MAX,
                    reset_secs: 0,
                },
                |(limit, remaining, reset)| RateDecision {
                    allowed: true,
                    limit,
                    remaining,
                    reset_secs: secs_until(reset, now),
                },
            )
    }

    /// Where the windows of `keys` stand at `now`, counting nothing: the rate-limit headers
    /// of an answer that bypasses the limiter (an injected fault). The binding window is the
    /// one with the fewest requests left, as for [`RateLimiter::acquire`].
    pub(crate) fn peek(&self, keys: &[RateKey], now: Instant) -> RateDecision {
        let buckets = self.buckets.lock();
        let mut binding: Option<(u32, u32, Instant)> = None;
        for key in keys.iter().take(MAX_KEYS) {
            let Some(window) = self.windows.iter().find(|w| w.scope == key.scope()) else {
                continue;
            };
            let (count, reset) = match buckets.map.get(key) {
                Some(bucket) if now.duration_since(bucket.started) < window.period => {
                    (bucket.count, bucket.started + window.period)
                }
                // No window yet, or an ended one: a request now would start a new one.
                _ => (0, now + window.period),
            };
            let remaining = window.limit.saturating_sub(count);
            if binding.is_none_or(|(limit, left, _)| (remaining, window.limit) < (left, limit)) {
                binding = Some((window.limit, remaining, reset));
            }
        }
        match binding {
            Some((limit, remaining, reset)) => RateDecision {
                allowed: remaining > 0,
                limit,
                remaining,
                reset_secs: secs_until(reset, now),
            },
            None => RateDecision {
                allowed: true,
                limit: u32::MAX,
                remaining: u32::MAX,
                reset_secs: 0,
            },
        }
    }

    /// Forgets every window.
    pub(crate) fn reset(&self) {
        let mut buckets = self.buckets.lock();
        buckets.map.clear();
        buckets.started.clear();
    }
}

fn secs_until(instant: Instant, now: Instant) -> u64 {
    let left = instant.saturating_duration_since(now);
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_spec::rate_limit::{PANEL, STATUS};

    const IP: RateKey = RateKey::ClientIp(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn the_per_ip_window_binds_before_the_per_workspace_one() {
        let limiter = RateLimiter::new(&STATUS, None, None);
        let now = Instant::now();
        let first = limiter.acquire(&[IP, RateKey::Workspace(0)], now);
        assert_eq!(
            (first.limit, first.remaining, first.reset_secs),
            (60, 59, 60)
        );
        for _ in 1..60 {
            assert!(limiter.acquire(&[IP, RateKey::Workspace(0)], now).allowed);
        }
        let denied = limiter.acquire(&[IP, RateKey::Workspace(0)], now);
        assert!(!denied.allowed);
        assert_eq!((denied.limit, denied.remaining), (60, 0));
        // Another IP of the same workspace still has 60 left of its own but only 60 of the
        // workspace's 120: the workspace window binds at 59 remaining after 61 requests.
        let other = RateKey::ClientIp("10.0.0.1".parse().unwrap());
        let next = limiter.acquire(&[other, RateKey::Workspace(0)], now);
        assert_eq!((next.limit, next.remaining), (60, 59));
    }

    #[test]
    fn a_peek_reports_the_binding_window_and_counts_nothing() {
        let limiter = RateLimiter::new(&STATUS, None, None);
        let now = Instant::now();
        let keys = [IP, RateKey::Workspace(0)];
        let fresh = limiter.peek(&keys, now);
        assert_eq!(
            (fresh.limit, fresh.remaining, fresh.reset_secs),
            (60, 60, 60)
        );
        for _ in 0..3 {
            limiter.acquire(&keys, now);
        }
        let later = now + Duration::from_secs(10);
        for _ in 0..2 {
            let peeked = limiter.peek(&keys, later);
            assert_eq!(
                (peeked.limit, peeked.remaining, peeked.reset_secs),
                (60, 57, 50)
            );
            assert!(peeked.allowed);
        }
        assert_eq!(
            limiter.acquire(&keys, later).remaining,
            56,
            "the peeks counted nothing"
        );
        let ended = limiter.peek(&keys, now + Duration::from_secs(61));
        assert_eq!(
            (ended.remaining, ended.reset_secs),
            (60, 60),
            "a new window"
        );
    }

    #[test]
    fn a_window_past_a_day_is_kept_to_a_day_and_never_overflows_the_clock() {
        let limiter = RateLimiter::new(&PANEL, Some(Duration::MAX), None);
        let decision = limiter.acquire(&[RateKey::Token(0)], Instant::now());
        assert!(decision.allowed);
        assert_eq!(decision.reset_secs, crate::MAX_RATE_LIMIT_WINDOW.as_secs());
    }

    #[test]
    fn a_denied_request_counts_against_no_window() {
        let limiter = RateLimiter::new(&STATUS, None, Some(1));
        let now = Instant::now();
        assert!(limiter.acquire(&[IP, RateKey::Workspace(0)], now).allowed);
        assert!(!limiter.acquire(&[IP, RateKey::Workspace(1)], now).allowed);
        // Workspace 1 was not counted by the denied request.
        let other = RateKey::ClientIp("10.0.0.2".parse().unwrap());
        assert!(
            limiter
                .acquire(&[other, RateKey::Workspace(1)], now)
                .allowed
        );
    }

    #[test]
    fn windows_reset_after_their_period() {
        let limiter = RateLimiter::new(&PANEL, Some(Duration::from_secs(2)), None);
        let start = Instant::now();
        let key = [RateKey::Token(7)];
        for _ in 0..180 {
            assert!(limiter.acquire(&key, start).allowed);
        }
        let denied = limiter.acquire(&key, start + Duration::from_millis(500));
        assert_eq!((denied.allowed, denied.reset_secs), (false, 2));
        let later = limiter.acquire(&key, start + Duration::from_secs(2));
        assert_eq!((later.allowed, later.remaining), (true, 179));
    }

    fn ip(n: u32) -> RateKey {
        RateKey::ClientIp(IpAddr::V4(std::net::Ipv4Addr::from(0x7f01_0000 + n)))
    }

    /// Finding 3 of issue 10: past 10,000 keys every request rescanned the whole map.
    #[test]
    fn ended_windows_are_dropped_in_amortised_constant_work() {
        let limiter = RateLimiter::new(&STATUS, None, None);
        let start = Instant::now();
        for n in 0..12_000 {
            assert!(limiter.acquire(&[ip(n)], start).allowed);
        }
        // 12,000 live windows: a request examines none of them.
        for n in 0..1_000 {
            limiter.acquire(&[ip(n)], start + Duration::from_secs(1));
        }
        assert_eq!(limiter.buckets.lock().examined, 0);
        // Once they have ended, each is dropped once, and the map shrinks.
        let later = start + Duration::from_secs(61);
        for n in 0..1_000 {
            limiter.acquire(&[ip(100_000 + n)], later);
        }
        let buckets = limiter.buckets.lock();
        assert_eq!(buckets.examined, 12_000);
        assert_eq!(buckets.map.len(), 1_000);
        assert_eq!(buckets.started.len(), 1_000);
    }

    #[test]
    fn live_keys_are_bounded_by_forgetting_the_oldest() {
        let limiter = RateLimiter::new(&STATUS, None, Some(1));
        let start = Instant::now();
        for n in 0..(MAX_TRACKED_KEYS as u32 + 10) {
            limiter.acquire(&[ip(n)], start);
        }
        assert!(limiter.buckets.lock().map.len() <= MAX_TRACKED_KEYS);
        // The newest key is still limited.
        let newest = ip(MAX_TRACKED_KEYS as u32 + 9);
        assert!(!limiter.acquire(&[newest], start).allowed);
    }
}
