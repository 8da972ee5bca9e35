//! The request journal of one API: the most recent requests, at most
//! [`JOURNAL_CAPACITY_BYTES`] of them, formatted (time, redacted token) only when read.
//!
//! Each entry owns a copy of its path (truncated to [`MAX_PATH_BYTES`]) and of its
//! `Authorization` value, never a clone that would keep the request's whole head alive.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use beacon_spec::redact::{KNOWN_TOKEN_PREFIXES, RedactedToken, redact_tokens};
use http::{HeaderMap, Method, header};
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
/// What a body that is not JSON and may hold a secret is shown as.
const REDACTED_BODY: &str = "[redacted: not JSON, and it names a secret or holds a token]";

/// One journaled request, as recorded on the request path: no formatting, one allocation.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    method: Method,
    status: u16,
    at: SystemTime,
    latency_us: u64,
    /// The workspace or account id it authenticated as: shared, not copied.
    principal: Option<Arc<str>>,
    /// The path was cut at [`MAX_PATH_BYTES`].
    truncated: bool,
    /// The body was cut at [`MAX_JOURNAL_BODY_BYTES`].
    body_truncated: bool,
    /// Owned copies, one after the other: the path and query, the `Authorization` value, the
    /// other headers (each as its [`HEADER_PREFIX_BYTES`] of lengths, its name and its value)
    /// and the body. A copy in one block, not clones of hyper's buffers, which would keep the
    /// request's whole head alive. Secrets are redacted when read.
    copied: Box<[u8]>,
    path_end: usize,
    /// Where the `Authorization` value ends, when one was kept.
    authorization_end: Option<usize>,
    headers_end: usize,
}

/// Bytes ahead of each copied header: its name's and its value's lengths, each a `u16`.
const HEADER_PREFIX_BYTES: usize = 4;

/// How a journaled request was answered.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    /// When the answer was ready.
    pub(crate) at: SystemTime,
    pub(crate) latency_us: u64,
    /// The workspace or account id it authenticated as.
    pub(crate) principal: Option<Arc<str>>,
}

impl Outcome {
    #[cfg(test)]
    fn now(status: u16) -> Self {
        Self {
            status,
            at: SystemTime::now(),
            latency_us: 1,
            principal: None,
        }
    }
}

impl Recorded {
    /// An entry owning bounded copies of `path`, the `Authorization` value, the other
    /// `headers` (up to [`MAX_JOURNAL_HEADER_BYTES`]) and `body`, in one allocation.
    pub(crate) fn new(
        method: &Method,
        path: &str,
        outcome: Outcome,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        let Outcome {
            status,
            at,
            latency_us,
            principal,
        } = outcome;
        let mut path_end = path.len().min(MAX_PATH_BYTES);
        while !path.is_char_boundary(path_end) {
            path_end -= 1;
        }
        // One walk over the headers finds the `Authorization` value (the first, as
        // `HeaderMap::get` would) and sizes the other headers kept: in order, until their
        // names and values pass the cap. A second walk copies them, so that an entry costs
        // one allocation.
        let mut authorization = None;
        let (mut kept, mut kept_bytes, mut header_bytes) = (0, 0, 0);
        for (name, value) in headers {
            if *name == header::AUTHORIZATION {
                authorization = authorization.or(Some(value.as_bytes()));
                continue;
            }
            // Past the cap the running total only grows, so nothing after is kept.
            header_bytes += name.as_str().len() + value.len();
            if header_bytes <= MAX_JOURNAL_HEADER_BYTES {
                kept += 1;
                kept_bytes += HEADER_PREFIX_BYTES + name.as_str().len() + value.len();
            }
        }
        let authorization = authorization.filter(|v| v.len() <= MAX_AUTHORIZATION_BYTES);
        let kept = || {
            headers
                .iter()
                .filter(|(name, _)| *name != header::AUTHORIZATION)
                .take(kept)
                .map(|(name, value)| (name.as_str(), value.as_bytes()))
        };
        let body_end = body.len().min(MAX_JOURNAL_BODY_BYTES);
        let total = path_end + authorization.map_or(0, <[u8]>::len) + kept_bytes + body_end;
        let mut copied = Vec::with_capacity(total);
        copied.extend_from_slice(&path.as_bytes()[..path_end]);
        let authorization_end = authorization.map(|value| {
            copied.extend_from_slice(value);
            copied.len()
        });
        for (name, value) in kept() {
            // Both fit a u16: a name or value longer than the header cap is never kept.
            copied.extend_from_slice(&(name.len() as u16).to_le_bytes());
            copied.extend_from_slice(&(value.len() as u16).to_le_bytes());
            copied.extend_from_slice(name.as_bytes());
            copied.extend_from_slice(value);
        }
        let headers_end = copied.len();
        copied.extend_from_slice(&body[..body_end]);
        Self {
            method: method.clone(),
            status,
            at,
            latency_us,
            principal,
            truncated: path_end < path.len(),
            body_truncated: body_end < body.len(),
            copied: copied.into_boxed_slice(),
            path_end,
            authorization_end,
            headers_end,
        }
    }

    fn cost(&self) -> usize {
        self.copied.len() + self.method.as_str().len() + ENTRY_OVERHEAD
    }

    fn path(&self) -> &str {
        // Cut on a character boundary of a `&str`.
        std::str::from_utf8(&self.copied[..self.path_end]).unwrap_or_default()
    }

    fn authorization(&self) -> Option<&[u8]> {
        self.authorization_end
            .map(|end| &self.copied[self.path_end..end])
    }

    /// The kept headers other than `Authorization`, in request order.
    fn other_headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let start = self.authorization_end.unwrap_or(self.path_end);
        let mut rest = &self.copied[start..self.headers_end];
        std::iter::from_fn(move || {
            let (lengths, after) = rest.split_first_chunk::<HEADER_PREFIX_BYTES>()?;
            let name_len = usize::from(u16::from_le_bytes([lengths[0], lengths[1]]));
            let value_len = usize::from(u16::from_le_bytes([lengths[2], lengths[3]]));
            let (name, after) = after.split_at(name_len);
            let (value, after) = after.split_at(value_len);
            rest = after;
            // Copied from a `HeaderName`: ASCII.
            Some((std::str::from_utf8(name).unwrap_or_default(), value))
        })
    }

    fn body(&self) -> &[u8] {
        &self.copied[self.headers_end..]
    }

    fn token(&self) -> Option<String> {
        let bearer = auth::bearer(self.authorization());
        bearer.ok().map(|t| Redacted(t).to_string())
    }

    /// Every kept header, names in lower case, secrets redacted: `Authorization` shows its
    /// scheme and the redacted token, cookies and any header naming a key, token or secret
    /// show [`REDACTED`], and a token with a known prefix in any other is redacted.
    fn headers(&self) -> BTreeMap<String, String> {
        let mut shown = BTreeMap::new();
        if self.authorization().is_some() {
            let text = match self.token() {
                Some(token) => format!("Bearer {token}"),
                None => REDACTED.to_owned(),
            };
            shown.insert("authorization".to_owned(), text);
        }
        for (name, value) in self.other_headers() {
            let text = if is_secret_name(name) {
                REDACTED.to_owned()
            } else {
                redact_tokens(&String::from_utf8_lossy(value)).into_owned()
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
    /// password redacted (a token shown as its prefix and last four characters), and a token
    /// with a known prefix in any other string too; a body that
    /// is not JSON (or is cut) as lossy UTF-8, unless it names a secret or holds a token's
    /// known prefix anywhere: it has no keys to redact one by one, so it is
    /// [`REDACTED_BODY`] whole. `None` when empty.
    fn shown_body(&self) -> Option<String> {
        let body = self.body();
        if body.is_empty() {
            return None;
        }
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(mut value) => {
                redact_json(&mut value);
                Some(value.to_string())
            }
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let secret = is_secret_name(&text)
                    || KNOWN_TOKEN_PREFIXES
                        .iter()
                        .any(|prefix| text.contains(prefix));
                Some(if secret {
                    REDACTED_BODY.to_owned()
                } else {
                    text.into_owned()
                })
            }
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
        serde_json::Value::String(text) => {
            if let std::borrow::Cow::Owned(shown) = redact_tokens(text) {
                *text = shown;
            }
        }
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
                body: e.shown_body(),
                body_truncated: e.body_truncated,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
                Outcome::now(401),
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
                .all(|e| e.path().len() == MAX_PATH_BYTES && e.truncated)
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
        let entry = Recorded::new(
            &Method::GET,
            &path,
            Outcome::now(200),
            &HeaderMap::new(),
            b"",
        );
        assert!(entry.path().len() <= MAX_PATH_BYTES && entry.truncated);
    }

    #[test]
    fn an_entry_keeps_its_headers_in_order_up_to_the_cap_and_its_body() {
        let mut headers = HeaderMap::new();
        let bearer = "Bearer panel_acct1_7f3c9a2b5d1e4f60";
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(bearer));
        headers.append("x-trace", HeaderValue::from_static("a"));
        headers.append("x-trace", HeaderValue::from_static("b"));
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        let long = "v".repeat(MAX_JOURNAL_HEADER_BYTES);
        headers.insert("x-long", HeaderValue::from_str(&long).unwrap());
        headers.insert("x-after", HeaderValue::from_static("c"));
        let entry = Recorded::new(
            &Method::POST,
            "/p?q=1",
            Outcome::now(201),
            &headers,
            br#"{"a":1}"#,
        );
        assert_eq!(entry.path(), "/p?q=1");
        assert_eq!(entry.token().as_deref(), Some("panel_\u{2026}4f60"));
        let shown = entry.headers();
        assert_eq!(shown["authorization"], "Bearer panel_\u{2026}4f60");
        assert_eq!(shown["x-trace"], "a, b");
        assert_eq!(shown["x-api-key"], REDACTED);
        // Past the cap nothing more is kept, even a short header after the long one.
        assert!(
            !shown.contains_key("x-long") && !shown.contains_key("x-after"),
            "{shown:?}"
        );
        assert_eq!(entry.shown_body().as_deref(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn a_body_that_is_not_json_is_shown_whole_unless_it_may_hold_a_secret() {
        let shown = |body: &[u8]| {
            let entry = Recorded::new(
                &Method::POST,
                "/p",
                Outcome::now(400),
                &HeaderMap::new(),
                body,
            );
            entry.shown_body().unwrap()
        };
        assert_eq!(shown(b"command=list&n=1"), "command=list&n=1");
        for secret in [
            &b"password=hunter2&x=1"[..],
            b"say panel_acct1_7f3c9a2b5d1e4f60 now",
            b"bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
            // JSON cut short, so no key can be redacted on its own.
            br#"{"action":"start","Password":"hunter2""#,
        ] {
            assert_eq!(shown(secret), REDACTED_BODY, "{secret:?}");
        }
    }

    #[test]
    fn an_entry_keeps_the_first_authorization_even_past_the_header_cap() {
        let mut headers = HeaderMap::new();
        let long = "v".repeat(MAX_JOURNAL_HEADER_BYTES);
        headers.insert("x-long", HeaderValue::from_str(&long).unwrap());
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer panel_acct1_7f3c9a2b5d1e4f60"),
        );
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer panel_acct2_0b9e8d7c6a5f4e31"),
        );
        let entry = Recorded::new(&Method::GET, "/p", Outcome::now(200), &headers, b"");
        assert_eq!(entry.token().as_deref(), Some("panel_\u{2026}4f60"));
        assert_eq!(entry.headers().len(), 1, "{:?}", entry.headers());
    }
}
