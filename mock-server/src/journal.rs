//! The request journal of one API: the most recent requests, at most
//! [`JOURNAL_CAPACITY_BYTES`] of them, formatted (time, redacted token) only when read.
//!
//! Each entry owns a copy of its path (truncated to [`MAX_PATH_BYTES`]) and of its
//! `Authorization` value, never a clone that would keep the request's whole head alive.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use beacon_spec::redact::RedactedToken;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use parking_lot::Mutex;

use crate::auth::{self, Redacted};

/// Bytes kept in the journal (paths, tokens and per-entry overhead); the oldest entries are
/// dropped to make room.
pub(crate) const JOURNAL_CAPACITY_BYTES: usize = 16 * 1024 * 1024;
/// Longest path and query kept per entry; longer ones are cut and marked `truncated`.
pub(crate) const MAX_PATH_BYTES: usize = 2 * 1024;
/// Longest `Authorization` value kept (a bearer token is at most 256 characters).
const MAX_AUTHORIZATION_BYTES: usize = 512;
/// What one entry costs besides its path, method, token, headers and body.
const ENTRY_OVERHEAD: usize = 128;
/// Request body bytes kept per entry; a longer body is cut and marked `body_truncated`.
pub(crate) const MAX_JOURNAL_BODY_BYTES: usize = 4 * 1024;
/// Header bytes (names and values) kept per entry; headers past it are left out.
pub(crate) const MAX_JOURNAL_HEADER_BYTES: usize = 4 * 1024;
/// What a secret is shown as when it is not a token.
const REDACTED: &str = "[redacted]";

/// One journaled request, as recorded on the request path: no formatting.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    method: Method,
    path: Box<str>,
    truncated: bool,
    status: u16,
    at: SystemTime,
    latency_us: u64,
    /// The workspace or account id it authenticated as: shared, not copied.
    principal: Option<Arc<str>>,
    /// The `Authorization` header value, kept in memory only and redacted when read.
    authorization: Option<HeaderValue>,
    /// The other request headers, up to [`MAX_JOURNAL_HEADER_BYTES`]; redacted when read.
    headers: Box<[(HeaderName, HeaderValue)]>,
    /// The request body's first [`MAX_JOURNAL_BODY_BYTES`], an owned copy; redacted when read.
    body: Bytes,
    body_truncated: bool,
}

impl Recorded {
    /// An entry owning bounded copies of `path`, `authorization`, `headers` and `body`.
    pub(crate) fn new(
        method: &Method,
        path: &str,
        status: u16,
        latency_us: u64,
        principal: Option<Arc<str>>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        let authorization = headers.get(header::AUTHORIZATION);
        let mut kept = Vec::new();
        let mut header_bytes = 0;
        for (name, value) in headers {
            if name == header::AUTHORIZATION {
                continue;
            }
            header_bytes += name.as_str().len() + value.len();
            if header_bytes > MAX_JOURNAL_HEADER_BYTES {
                break;
            }
            // Owned copies: a clone of hyper's would keep the request's whole head alive.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_str().as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                kept.push((name, value));
            }
        }
        let body_end = body.len().min(MAX_JOURNAL_BODY_BYTES);
        let mut end = path.len().min(MAX_PATH_BYTES);
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            method: method.clone(),
            path: path[..end].into(),
            truncated: end < path.len(),
            status,
            at: SystemTime::now(),
            latency_us,
            principal,
            authorization: authorization
                .filter(|v| v.len() <= MAX_AUTHORIZATION_BYTES)
                .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok()),
            headers: kept.into_boxed_slice(),
            body: Bytes::copy_from_slice(&body[..body_end]),
            body_truncated: body_end < body.len(),
        }
    }

    fn cost(&self) -> usize {
        self.path.len()
            + self.method.as_str().len()
            + self.authorization.as_ref().map_or(0, HeaderValue::len)
            + self
                .headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len() + 16)
                .sum::<usize>()
            + self.body.len()
            + ENTRY_OVERHEAD
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn token(&self) -> Option<String> {
        let bearer = auth::bearer(self.authorization.as_ref().map(HeaderValue::as_bytes));
        bearer.ok().map(|t| Redacted(t).to_string())
    }

    /// Every kept header, names in lower case, secrets redacted: `Authorization` shows its
    /// scheme and the redacted token, cookies and any header naming a key, token or secret
    /// show [`REDACTED`].
    fn headers(&self) -> BTreeMap<String, String> {
        let mut shown = BTreeMap::new();
        if self.authorization.is_some() {
            let text = match self.token() {
                Some(token) => format!("Bearer {token}"),
                None => REDACTED.to_owned(),
            };
            shown.insert("authorization".to_owned(), text);
        }
        for (name, value) in self.headers.iter() {
            let name = name.as_str();
            let text = if is_secret_name(name) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            match shown.get_mut(name) {
                Some(joined) => {
                    joined.push_str(", ");
                    joined.push_str(&text);
                }
                None => {
                    shown.insert(name.to_owned(), text);
                }
            }
        }
        shown
    }

    /// The body as text: JSON with the value of every key naming a key, token, secret or
    /// password redacted (a token shown as its prefix and last four characters); a body that
    /// is not JSON (or is cut) as lossy UTF-8. `None` when empty.
    fn body(&self) -> Option<String> {
        if self.body.is_empty() {
            return None;
        }
        match serde_json::from_slice::<serde_json::Value>(&self.body) {
            Ok(mut value) => {
                redact_json(&mut value);
                Some(value.to_string())
            }
            Err(_) => Some(String::from_utf8_lossy(&self.body).into_owned()),
        }
    }
}

/// Whether a header or JSON key names a secret.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "password",
        "api-key",
        "api_key",
        "apikey",
    ]
    .iter()
    .any(|secret| name.contains(secret))
}

fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            for (key, value) in object.iter_mut() {
                if is_secret_name(key) {
                    *value = match value {
                        serde_json::Value::String(secret) => {
                            RedactedToken(secret).to_string().into()
                        }
                        _ => REDACTED.into(),
                    };
                } else {
                    redact_json(value);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// One journal entry as the admin API shows it: the wire type of `beacon_spec::admin`, whose
/// schema is `spec/schemas/admin/Journal.json`.
pub(crate) use beacon_spec::admin::JournalEntry;

/// What `GET /__admin/requests` filters on.
#[derive(Debug, Default)]
pub(crate) struct JournalFilter {
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) status: Option<u16>,
}

#[derive(Debug, Default)]
struct Entries {
    queue: VecDeque<Recorded>,
    bytes: usize,
}

/// The most recent requests of one API, at most [`JOURNAL_CAPACITY_BYTES`] of them.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::with_capacity(JOURNAL_CAPACITY_BYTES)
    }
}

impl Journal {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::default(),
        }
    }

    pub(crate) fn push(&self, entry: Recorded) {
        let cost = entry.cost();
        let mut entries = self.entries.lock();
        while entries.bytes + cost > self.capacity {
            let Some(oldest) = entries.queue.pop_front() else {
                break;
            };
            entries.bytes -= oldest.cost();
        }
        entries.bytes += cost;
        entries.queue.push_back(entry);
    }

    pub(crate) fn clear(&self) {
        let mut entries = self.entries.lock();
        entries.queue = VecDeque::new();
        entries.bytes = 0;
    }

    /// The entries that match `filter`, oldest first, formatted outside the lock.
    pub(crate) fn matching(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        let selected: Vec<Recorded> = {
            let entries = self.entries.lock();
            entries
                .queue
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
                principal: e.principal.as_deref().map(str::to_owned),
                truncated: e.truncated,
                headers: e.headers(),
                body: e.body(),
                body_truncated: e.body_truncated,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding 2 of issue 10: the journal was bounded by count, and each entry kept its
    /// whole path (and, through a shared clone, the request's head).
    #[test]
    fn the_journal_is_bounded_in_bytes_and_cuts_long_paths() {
        let journal = Journal::with_capacity(256 * 1024);
        let long = format!("/api/v1/{}", "a".repeat(32 * 1024));
        for _ in 0..6_000 {
            journal.push(Recorded::new(
                &Method::GET,
                &long,
                401,
                1,
                None,
                &HeaderMap::new(),
                b"",
            ));
        }
        let entries = journal.entries.lock();
        assert!(entries.bytes <= 256 * 1024, "{} bytes", entries.bytes);
        assert_eq!(
            entries.bytes,
            entries.queue.iter().map(Recorded::cost).sum::<usize>()
        );
        assert!(
            entries.queue.len() > 50,
            "{} entries kept",
            entries.queue.len()
        );
        assert!(
            entries
                .queue
                .iter()
                .all(|e| e.path.len() == MAX_PATH_BYTES && e.truncated)
        );
        drop(entries);
        let shown = journal.matching(&JournalFilter::default());
        assert!(
            serde_json::to_string(&shown)
                .unwrap()
                .contains("\"truncated\":true")
        );
    }

    #[test]
    fn a_path_is_cut_on_a_character_boundary() {
        let path = "é".repeat(MAX_PATH_BYTES);
        let entry = Recorded::new(&Method::GET, &path, 200, 1, None, &HeaderMap::new(), b"");
        assert!(entry.path.len() <= MAX_PATH_BYTES && entry.truncated);
    }
}
