//! Memoized bodies of read operations, valid until the next write to the same API.
//!
//! A read's body depends only on the state, the caller and the path and query, so it can be
//! served again as the same bytes until state changes. A generation counter makes this safe
//! under concurrency: a body computed while a write was in flight is never stored.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use bytes::Bytes;

/// Entries kept at most; the cache is emptied when it would grow past this.
const CAPACITY: usize = 4_096;

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    entries: HashMap<u64, (usize, Box<str>, Bytes)>,
}

/// Read bodies by (principal, path and query). Hits share a read lock.
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    hasher: RandomState,
    inner: RwLock<Inner>,
}

/// What a lookup saw: the key to store under and the generation the read started in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    key: u64,
    generation: u64,
}

impl ReadCache {
    /// The memoized body, or a ticket to store the body about to be computed.
    pub(crate) fn get(&self, principal: usize, target: &str) -> Result<Bytes, Ticket> {
        let key = self.hasher.hash_one((principal, target));
        let inner = self.inner.read();
        match inner.entries.get(&key) {
            Some((p, t, body)) if *p == principal && **t == *target => Ok(body.clone()),
            _ => Err(Ticket {
                key,
                generation: inner.generation,
            }),
        }
    }

    /// Stores `body` unless a write happened since `ticket` was issued.
    pub(crate) fn put(&self, ticket: Ticket, principal: usize, target: &str, body: Bytes) {
        let mut inner = self.inner.write();
        if inner.generation != ticket.generation {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.clear();
        }
        inner
            .entries
            .insert(ticket.key, (principal, target.into(), body));
    }

    /// Forgets every body; call after every write.
    pub(crate) fn invalidate(&self) {
        let mut inner = self.inner.write();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_read_across_a_write_is_not_stored() {
        let cache = ReadCache::default();
        let ticket = cache.get(0, "/servers").unwrap_err();
        cache.invalidate();
        cache.put(ticket, 0, "/servers", Bytes::from_static(b"old"));
        assert!(cache.get(0, "/servers").is_err());
        let ticket = cache.get(0, "/servers").unwrap_err();
        cache.put(ticket, 0, "/servers", Bytes::from_static(b"new"));
        assert_eq!(cache.get(0, "/servers").unwrap(), "new");
        assert!(
            cache.get(1, "/servers").is_err(),
            "another principal has its own entry"
        );
    }
}
