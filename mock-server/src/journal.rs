//! The request journal of one API: the most recent requests, kept as cheap clones of their
//! parts and formatted (time, redacted token) only when read.

use std::collections::VecDeque;
use std::time::SystemTime;

use http::uri::PathAndQuery;
use http::{HeaderValue, Method};
use parking_lot::Mutex;
use serde::Serialize;

use crate::auth::{self, Redacted};

/// Entries kept in the journal; older ones are dropped.
const JOURNAL_CAPACITY: usize = 10_000;

/// One journaled request, as recorded on the request path: no formatting, no allocation
/// beyond reference-counted clones.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: Method,
    pub(crate) path: Option<PathAndQuery>,
    pub(crate) status: u16,
    pub(crate) at: SystemTime,
    pub(crate) latency_us: u64,
    /// The `Authorization` header value, kept in memory only and redacted when read.
    pub(crate) authorization: Option<HeaderValue>,
}

impl Recorded {
    fn path(&self) -> &str {
        self.path.as_ref().map_or("/", PathAndQuery::as_str)
    }

    fn token(&self) -> Option<String> {
        let bearer = auth::bearer(self.authorization.as_ref().map(HeaderValue::as_bytes));
        bearer.ok().map(|t| Redacted(t).to_string())
    }
}

/// One journal entry as the admin API shows it. The token is redacted to its public prefix
/// and last four characters.
#[derive(Debug, Serialize)]
pub(crate) struct JournalEntry {
    method: String,
    path: String,
    status: u16,
    at: String,
    latency_us: u64,
    token: Option<String>,
}

/// What `GET /__admin/requests` filters on.
#[derive(Debug, Default)]
pub(crate) struct JournalFilter {
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) status: Option<u16>,
}

/// The most recent requests of one API.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<VecDeque<Recorded>>,
}

impl Journal {
    pub(crate) fn push(&self, entry: Recorded) {
        let mut entries = self.entries.lock();
        if entries.len() == JOURNAL_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
    }

    /// The entries that match `filter`, oldest first, formatted outside the lock.
    pub(crate) fn matching(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        let selected: Vec<Recorded> = {
            let entries = self.entries.lock();
            entries
                .iter()
                .filter(|e| {
                    filter
                        .method
                        .as_ref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(e.method.as_str()))
                })
                .filter(|e| {
                    filter
                        .path
                        .as_ref()
                        .is_none_or(|p| e.path().contains(p.as_str()))
                })
                .filter(|e| filter.status.is_none_or(|s| s == e.status))
                .cloned()
                .collect()
        };
        selected
            .iter()
            .map(|e| JournalEntry {
                method: e.method.to_string(),
                path: e.path().to_owned(),
                status: e.status,
                at: humantime::format_rfc3339_millis(e.at).to_string(),
                latency_us: e.latency_us,
                token: e.token(),
            })
            .collect()
    }
}
