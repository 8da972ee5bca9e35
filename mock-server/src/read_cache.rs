//! Memoized bodies of read operations, valid until the next write to the same API.
//!
//! A read's body depends only on the state, the caller and the path and query, so it can be
//! served again as the same bytes until state changes. A generation counter makes this safe
//! under concurrency: a body computed while a write was in flight is never stored. The cache
//! is bounded in bytes and evicts its oldest entries first.

use parking_lot::RwLock;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use foldhash::fast::RandomState;

use bytes::Bytes;

/// Bytes of bodies and keys kept at most; the oldest entries are evicted to make room, and a
/// body larger than this is not kept at all.
pub(crate) const CAPACITY_BYTES: usize = 32 * 1024 * 1024;

/// What one entry costs besides its body and target: the map slot and the queue slot.
const ENTRY_OVERHEAD: usize = 96;

#[derive(Debug)]
struct Entry {
    principal: usize,
    target: Box<str>,
    body: Bytes,
}

impl Entry {
    fn cost(&self) -> usize {
        cost(&self.body, &self.target)
    }
}

/// What an entry for `body` under `target` costs, made or not.
fn cost(body: &Bytes, target: &str) -> usize {
    body.len() + target.len() + ENTRY_OVERHEAD
}

/// Slots of [`Inner::seen`].
const SEEN_SLOTS: usize = 64;

#[derive(Debug)]
struct Inner {
    generation: u64,
    entries: HashMap<u64, Entry, RandomState>,
    /// Keys in insertion order, oldest first.
    order: VecDeque<u64>,
    bytes: usize,
    /// Keys read once in this generation, by key modulo [`SEEN_SLOTS`] (`key | 1`, so that 0
    /// is an empty slot): a body is kept from its second read on. A read made once between
    /// two writes, as a client that writes often makes most of its reads, then costs no copy
    /// of its target and no body kept only to be freed at the next write.
    seen: [u64; SEEN_SLOTS],
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            generation: 0,
            entries: HashMap::default(),
            order: VecDeque::new(),
            bytes: 0,
            seen: [0; SEEN_SLOTS],
        }
    }
}

/// Read bodies by (principal, path and query), at most [`CAPACITY_BYTES`] of them. Hits share a
/// read lock.
#[derive(Debug)]
pub(crate) struct ReadCache {
    hasher: RandomState,
    capacity: usize,
    inner: RwLock<Inner>,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY_BYTES)
    }
}

/// What a lookup saw: the key to store under and the generation the read started in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    key: u64,
    generation: u64,
}

impl ReadCache {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            hasher: RandomState::default(),
            capacity,
            inner: RwLock::default(),
        }
    }

    /// The memoized body, or a ticket to store the body about to be computed.
    pub(crate) fn get(&self, principal: usize, target: &str) -> Result<Bytes, Ticket> {
        let key = self.hasher.hash_one((principal, target));
        let inner = self.inner.read();
        match inner.entries.get(&key) {
            Some(e) if e.principal == principal && *e.target == *target => Ok(e.body.clone()),
            _ => Err(Ticket {
                key,
                generation: inner.generation,
            }),
        }
    }

    /// Keeps `body` unless a write happened since `ticket` was issued, or this is the first
    /// read of its key since the last write (see [`Inner::seen`]); evicts the oldest entries
    /// past the capacity.
    pub(crate) fn put(&self, ticket: Ticket, principal: usize, target: &str, body: &Bytes) {
        let cost = cost(body, target);
        if cost > self.capacity {
            return;
        }
        let mut inner = self.inner.write();
        if inner.generation != ticket.generation {
            return;
        }
        let inner = &mut *inner;
        let seen = &mut inner.seen[(ticket.key % SEEN_SLOTS as u64) as usize];
        if *seen != ticket.key | 1 {
            *seen = ticket.key | 1;
            return;
        }
        let entry = Entry {
            principal,
            target: target.into(),
            body: body.clone(),
        };
        if let Some(old) = inner.entries.remove(&ticket.key) {
            // A colliding or concurrently stored key: its queue slot stays and is skipped.
            inner.bytes -= old.cost();
        }
        while inner.bytes + cost > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.entries.remove(&oldest) {
                inner.bytes -= old.cost();
            }
        }
        inner.bytes += cost;
        inner.entries.insert(ticket.key, entry);
        inner.order.push_back(ticket.key);
        // Queue slots of replaced keys: keep the queue within twice the live entries.
        if inner.order.len() > 2 * inner.entries.len() + 16 {
            let entries = &inner.entries;
            let mut seen = std::collections::HashSet::new();
            let mut order: Vec<u64> = inner
                .order
                .drain(..)
                .rev()
                .filter(|k| entries.contains_key(k) && seen.insert(*k))
                .collect();
            order.reverse();
            inner.order = order.into();
        }
    }

    /// Bytes held (bodies, keys and per-entry overhead).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.inner.read().bytes
    }

    /// Forgets every body; call after every write.
    pub(crate) fn invalidate(&self) {
        let mut inner = self.inner.write();
        inner.generation += 1;
        inner.entries.clear();
        inner.order.clear();
        inner.bytes = 0;
        inner.seen = [0; SEEN_SLOTS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `target` twice, each time a miss stored: the second is kept.
    fn read_twice(cache: &ReadCache, principal: usize, target: &str, body: &Bytes) {
        for _ in 0..2 {
            if let Err(ticket) = cache.get(principal, target) {
                cache.put(ticket, principal, target, body);
            }
        }
    }

    #[test]
    fn a_body_is_kept_from_the_second_read_of_its_key_after_a_write() {
        let cache = ReadCache::default();
        let body = Bytes::from_static(b"[]");
        for _ in 0..2 {
            let ticket = cache.get(0, "/servers").unwrap_err();
            cache.put(ticket, 0, "/servers", &body);
            assert!(cache.get(0, "/servers").is_err(), "read once: not kept");
            let ticket = cache.get(0, "/servers").unwrap_err();
            cache.put(ticket, 0, "/servers", &body);
            assert_eq!(cache.get(0, "/servers").unwrap(), body, "read twice: kept");
            assert!(cache.get(1, "/servers").is_err(), "another principal");
            // A write forgets the bodies and the reads seen.
            cache.invalidate();
            assert!(cache.get(0, "/servers").is_err());
        }
    }

    #[test]
    fn a_body_read_across_a_write_is_not_stored() {
        let cache = ReadCache::default();
        let old = Bytes::from_static(b"old");
        let ticket = cache.get(0, "/servers").unwrap_err();
        cache.invalidate();
        cache.put(ticket, 0, "/servers", &old);
        cache.put(ticket, 0, "/servers", &old);
        assert!(cache.get(0, "/servers").is_err());
        read_twice(&cache, 0, "/servers", &Bytes::from_static(b"new"));
        assert_eq!(cache.get(0, "/servers").unwrap(), "new");
        assert!(
            cache.get(1, "/servers").is_err(),
            "another principal has its own entry"
        );
    }

    /// Finding 1 of issue 10: the cache was bounded by entry count, so large pages grew it
    /// without limit.
    #[test]
    fn the_cache_is_bounded_in_bytes_and_evicts_the_oldest() {
        let cache = ReadCache::with_capacity(1024 * 1024);
        let page = Bytes::from(vec![b'x'; 300 * 1024]);
        for n in 0..100 {
            let target = format!("/servers/123/console?lines=1000&n={n}");
            read_twice(&cache, 0, &target, &page);
            assert!(cache.bytes() <= 1024 * 1024, "{} bytes", cache.bytes());
        }
        assert!(cache.get(0, "/servers/123/console?lines=1000&n=99").is_ok());
        assert!(cache.get(0, "/servers/123/console?lines=1000&n=97").is_ok());
        assert!(
            cache
                .get(0, "/servers/123/console?lines=1000&n=96")
                .is_err(),
            "the oldest were evicted"
        );
        let huge = Bytes::from(vec![b'x'; 2 * 1024 * 1024]);
        read_twice(&cache, 0, "/huge", &huge);
        assert!(
            cache.get(0, "/huge").is_err(),
            "larger than the cache: not kept"
        );
        // The same key stored again (by a read that missed before it was kept) replaces its
        // entry and its bytes.
        for _ in 0..10 {
            let body = Bytes::from_static(b"[]");
            let early = cache.get(1, "/servers").unwrap_err();
            read_twice(&cache, 1, "/servers", &body);
            let kept = cache.bytes();
            cache.put(early, 1, "/servers", &Bytes::from_static(b"{}"));
            assert_eq!(cache.bytes(), kept, "replaced, not added");
            assert_eq!(cache.get(1, "/servers").unwrap(), "{}");
            cache.invalidate();
        }
        assert_eq!(cache.bytes(), 0);
    }
}
