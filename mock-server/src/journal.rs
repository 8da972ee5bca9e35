//! The request journal of one API: the most recent requests, at most
//! [`JOURNAL_CAPACITY_BYTES`] of them, formatted (time, redacted token) only when read.
//!
//! Each entry is a bounded copy of its path (truncated to [`MAX_PATH_BYTES`]), its
//! `Authorization` value, its other headers and its body, never a clone that would keep the
//! request's whole head alive. The entries are encoded one after the other in one buffer
//! used as a ring ([`Ring`]): journaling a request allocates and frees nothing, and writes
//! through memory in order, where the allocation and the free of a scattered box per entry
//! missed the cache on every request.

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
/// Request body bytes kept per entry; a longer body is cut and marked `body_truncated`.
pub(crate) const MAX_JOURNAL_BODY_BYTES: usize = 4 * 1024;
/// Header bytes (names and values) kept per entry; headers past it are left out.
pub(crate) const MAX_JOURNAL_HEADER_BYTES: usize = 4 * 1024;
/// What a secret is shown as when it is not a token.
const REDACTED: &str = "[redacted]";
/// What a body that is not JSON and may hold a secret is shown as.
const REDACTED_BODY: &str = "[redacted: not JSON, and it names a secret or holds a token]";

/// One journaled request as read back from the journal's buffer, to be formatted.
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
    /// Copies, one after the other: the path and query, the `Authorization` value, the other
    /// headers (each as its [`HEADER_PREFIX_BYTES`] of lengths, its name and its value) and
    /// the body, as the journal's buffer holds them (never clones of hyper's buffers, which
    /// would keep the request's whole head alive). Secrets are redacted when read.
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
    /// `headers` (up to [`MAX_JOURNAL_HEADER_BYTES`]) and `body`: what the journal keeps of
    /// a request, encoded and read back.
    #[cfg(test)]
    pub(crate) fn new(
        method: &Method,
        path: &str,
        outcome: Outcome,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        let layout = Layout::of(method, path, &outcome, headers, body);
        let mut encoded = vec![0; layout.len()];
        layout.write(&outcome, headers, &mut encoded);
        Self::decode(&encoded)
    }

    /// The entry `encoded` (by [`Layout::write`]) holds.
    fn decode(encoded: &[u8]) -> Self {
        let fixed = Fixed::read(encoded);
        let (method, rest) = encoded[FIXED_BYTES..].split_at(fixed.method_len);
        let (principal, copied) = rest.split_at(fixed.principal_len.unwrap_or(0));
        Self {
            // Copied from a `Method`, so it parses again.
            method: Method::from_bytes(method).unwrap_or_default(),
            status: fixed.status,
            at: SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(fixed.at_nanos),
            latency_us: fixed.latency_us,
            principal: fixed
                .principal_len
                .map(|_| Arc::from(std::str::from_utf8(principal).unwrap_or_default())),
            truncated: fixed.truncated,
            body_truncated: fixed.body_truncated,
            copied: copied.into(),
            path_end: fixed.path_end,
            authorization_end: fixed.authorization_end,
            headers_end: fixed.headers_end,
        }
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

/// Bytes of an encoded entry's fixed part ([`Fixed`]).
const FIXED_BYTES: usize = 39;
/// A `u32` field of [`Fixed`] that holds nothing (no principal, no `Authorization`).
const ABSENT: u32 = u32::MAX;
/// [`Fixed`]'s flags.
const TRUNCATED: u8 = 1;
const BODY_TRUNCATED: u8 = 2;

/// The head of an encoded entry, [`FIXED_BYTES`] long, little-endian: the status (`u16`),
/// the time (`u64` nanoseconds since the epoch), the latency (`u64` microseconds), the flags
/// (`u8`), then as `u32`s the method's and the principal's lengths and where the path, the
/// `Authorization` value and the other headers end in the copied bytes. The method, the
/// principal and the copied bytes of [`Recorded`] follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fixed {
    status: u16,
    at_nanos: u64,
    latency_us: u64,
    truncated: bool,
    body_truncated: bool,
    method_len: usize,
    principal_len: Option<usize>,
    path_end: usize,
    authorization_end: Option<usize>,
    headers_end: usize,
}

impl Fixed {
    fn read(encoded: &[u8]) -> Self {
        let bytes = |at: usize, n: usize| &encoded[at..at + n];
        let u32_at = |at| u32::from_le_bytes(bytes(at, 4).try_into().unwrap_or_default());
        let u64_at = |at| u64::from_le_bytes(bytes(at, 8).try_into().unwrap_or_default());
        let present = |n: u32| (n != ABSENT).then_some(n as usize);
        let flags = encoded[18];
        Self {
            status: u16::from_le_bytes([encoded[0], encoded[1]]),
            at_nanos: u64_at(2),
            latency_us: u64_at(10),
            truncated: flags & TRUNCATED != 0,
            body_truncated: flags & BODY_TRUNCATED != 0,
            method_len: u32_at(19) as usize,
            principal_len: present(u32_at(23)),
            path_end: u32_at(27) as usize,
            authorization_end: present(u32_at(31)),
            headers_end: u32_at(35) as usize,
        }
    }

    fn write(&self, cursor: &mut Cursor<'_>) {
        // Every length and end is under the journal's capacity, far below `u32::MAX`.
        let number = |n: usize| n as u32;
        let flags = if self.truncated { TRUNCATED } else { 0 }
            | if self.body_truncated {
                BODY_TRUNCATED
            } else {
                0
            };
        cursor.put(&self.status.to_le_bytes());
        cursor.put(&self.at_nanos.to_le_bytes());
        cursor.put(&self.latency_us.to_le_bytes());
        cursor.put(&[flags]);
        cursor.put(&number(self.method_len).to_le_bytes());
        cursor.put(&self.principal_len.map_or(ABSENT, number).to_le_bytes());
        cursor.put(&number(self.path_end).to_le_bytes());
        cursor.put(&self.authorization_end.map_or(ABSENT, number).to_le_bytes());
        cursor.put(&number(self.headers_end).to_le_bytes());
    }
}

/// Writes bytes one after the other into a slice sized for them.
struct Cursor<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// What an entry keeps of one request, sized by one walk over its headers, so that it is
/// written straight into the journal's buffer.
struct Layout<'r> {
    method: &'r str,
    principal: Option<&'r str>,
    /// The path and query, cut at [`MAX_PATH_BYTES`] on a character boundary.
    path: &'r str,
    truncated: bool,
    /// The first `Authorization` value, unless longer than [`MAX_AUTHORIZATION_BYTES`].
    authorization: Option<&'r [u8]>,
    /// How many of the other headers are kept (the first ones, in request order), and their
    /// bytes with their [`HEADER_PREFIX_BYTES`].
    kept: usize,
    kept_bytes: usize,
    /// The body, cut at [`MAX_JOURNAL_BODY_BYTES`].
    body: &'r [u8],
    body_truncated: bool,
}

impl<'r> Layout<'r> {
    fn of(
        method: &'r Method,
        path: &'r str,
        outcome: &'r Outcome,
        headers: &'r HeaderMap,
        body: &'r [u8],
    ) -> Self {
        let mut path_end = path.len().min(MAX_PATH_BYTES);
        while !path.is_char_boundary(path_end) {
            path_end -= 1;
        }
        // One walk over the headers finds the `Authorization` value (the first, as
        // `HeaderMap::get` would) and sizes the other headers kept: in order, until their
        // names and values pass the cap.
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
        let body_end = body.len().min(MAX_JOURNAL_BODY_BYTES);
        Self {
            method: method.as_str(),
            principal: outcome.principal.as_deref(),
            path: &path[..path_end],
            truncated: path_end < path.len(),
            authorization: authorization.filter(|v| v.len() <= MAX_AUTHORIZATION_BYTES),
            kept,
            kept_bytes,
            body: &body[..body_end],
            body_truncated: body_end < body.len(),
        }
    }

    /// The encoded entry's length.
    fn len(&self) -> usize {
        FIXED_BYTES
            + self.method.len()
            + self.principal.map_or(0, str::len)
            + self.path.len()
            + self.authorization.map_or(0, <[u8]>::len)
            + self.kept_bytes
            + self.body.len()
    }

    /// Encodes the entry into `out`, exactly [`Layout::len`] bytes long.
    fn write(&self, outcome: &Outcome, headers: &HeaderMap, out: &mut [u8]) {
        let path_end = self.path.len();
        let authorization_end = self.authorization.map(|value| path_end + value.len());
        let fixed = Fixed {
            status: outcome.status,
            at_nanos: outcome
                .at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |since| {
                    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
                }),
            latency_us: outcome.latency_us,
            truncated: self.truncated,
            body_truncated: self.body_truncated,
            method_len: self.method.len(),
            principal_len: self.principal.map(str::len),
            path_end,
            authorization_end,
            headers_end: authorization_end.unwrap_or(path_end) + self.kept_bytes,
        };
        let mut cursor = Cursor { out, at: 0 };
        fixed.write(&mut cursor);
        cursor.put(self.method.as_bytes());
        cursor.put(self.principal.unwrap_or_default().as_bytes());
        cursor.put(self.path.as_bytes());
        cursor.put(self.authorization.unwrap_or_default());
        let others = headers
            .iter()
            .filter(|(name, _)| *name != header::AUTHORIZATION)
            .take(self.kept);
        for (name, value) in others {
            // Both fit a u16: a name or value longer than the header cap is never kept.
            cursor.put(&(name.as_str().len() as u16).to_le_bytes());
            cursor.put(&(value.len() as u16).to_le_bytes());
            cursor.put(name.as_str().as_bytes());
            cursor.put(value.as_bytes());
        }
        cursor.put(self.body);
        debug_assert_eq!(cursor.at, cursor.out.len());
    }
}

/// One encoded entry in the journal's buffer, read without copying for the filters.
#[derive(Clone, Copy)]
struct Encoded<'j>(&'j [u8]);

impl<'j> Encoded<'j> {
    fn fixed(self) -> Fixed {
        Fixed::read(self.0)
    }

    fn method(self, fixed: &Fixed) -> &'j [u8] {
        &self.0[FIXED_BYTES..FIXED_BYTES + fixed.method_len]
    }

    fn path(self, fixed: &Fixed) -> &'j str {
        let copied = FIXED_BYTES + fixed.method_len + fixed.principal_len.unwrap_or(0);
        std::str::from_utf8(&self.0[copied..copied + fixed.path_end]).unwrap_or_default()
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

/// Where one entry lies: its first byte in the count of bytes ever written to the ring, and
/// its length.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u64,
    len: u32,
}

/// What each entry costs besides its encoded bytes: its [`Span`].
const SPAN_BYTES: usize = std::mem::size_of::<Span>();

/// The entries, encoded one after the other in one buffer used as a ring: a request is
/// written where the last one ended (at the start again when it would not fit before the
/// end), over the oldest entries. Writing runs through memory in order, with no allocation
/// and nothing to free per request.
#[derive(Debug, Default)]
struct Ring {
    /// The journal's capacity in bytes, allocated (zeroed, so that the kernel maps the pages
    /// in only as they are first written) at the first entry.
    buffer: Vec<u8>,
    /// The kept entries, oldest first.
    spans: VecDeque<Span>,
    /// Bytes ever written, padding included: where the next entry goes, modulo the capacity.
    written: u64,
    /// What the kept entries cost, their spans included: at most the capacity.
    bytes: usize,
}

impl Ring {
    fn entries(&self) -> impl Iterator<Item = Encoded<'_>> {
        let capacity = self.buffer.len() as u64;
        self.spans.iter().map(move |span| {
            let at = (span.start % capacity) as usize;
            Encoded(&self.buffer[at..at + span.len as usize])
        })
    }
}

/// The most recent requests of one API, at most [`JOURNAL_CAPACITY_BYTES`] of them.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    ring: Mutex<Ring>,
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
            ring: Mutex::default(),
        }
    }

    /// Journals a request: bounded copies of `path`, the `Authorization` value, the other
    /// `headers` (up to [`MAX_JOURNAL_HEADER_BYTES`]) and `body`, dropping the oldest
    /// entries to make room.
    pub(crate) fn push(
        &self,
        method: &Method,
        path: &str,
        outcome: Outcome,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        let layout = Layout::of(method, path, &outcome, headers, body);
        let len = layout.len();
        let cost = len + SPAN_BYTES;
        if cost > self.capacity {
            // Larger than the whole journal (only a journal of a few KiB has such entries).
            return;
        }
        let capacity = self.capacity as u64;
        let mut ring = self.ring.lock();
        let ring = &mut *ring;
        if ring.buffer.is_empty() {
            ring.buffer = vec![0; self.capacity];
        }
        let mut start = ring.written;
        if start % capacity + len as u64 > capacity {
            start = start.next_multiple_of(capacity);
        }
        let end = start + len as u64;
        // The oldest entries go: those the new one writes over (everything that started more
        // than a capacity before its end), and those past the byte budget.
        while let Some(oldest) = ring.spans.front().copied() {
            if oldest.start >= end.saturating_sub(capacity) && ring.bytes + cost <= self.capacity {
                break;
            }
            ring.spans.pop_front();
            ring.bytes -= oldest.len as usize + SPAN_BYTES;
        }
        let at = (start % capacity) as usize;
        layout.write(&outcome, headers, &mut ring.buffer[at..at + len]);
        ring.spans.push_back(Span {
            start,
            len: len as u32,
        });
        ring.written = end;
        ring.bytes += cost;
    }

    /// Forgets every entry (the buffer is kept for the next ones).
    pub(crate) fn clear(&self) {
        let mut ring = self.ring.lock();
        ring.spans = VecDeque::new();
        ring.written = 0;
        ring.bytes = 0;
    }

    /// The entries that match `filter`, oldest first, formatted outside the lock.
    pub(crate) fn matching(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        let selected: Vec<Recorded> = {
            let ring = self.ring.lock();
            ring.entries()
                .filter(|encoded| {
                    let fixed = encoded.fixed();
                    filter.status.is_none_or(|s| s == fixed.status)
                        && filter.method.as_ref().is_none_or(|m| {
                            m.as_bytes().eq_ignore_ascii_case(encoded.method(&fixed))
                        })
                        && filter
                            .path
                            .as_ref()
                            .is_none_or(|p| encoded.path(&fixed).contains(p.as_str()))
                })
                .map(|encoded| Recorded::decode(encoded.0))
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
            journal.push(
                &Method::GET,
                &long,
                Outcome::now(401),
                &HeaderMap::new(),
                b"",
            );
        }
        let entries = journal.ring.lock();
        assert!(entries.bytes <= 256 * 1024, "{} bytes", entries.bytes);
        assert_eq!(
            entries.bytes,
            entries
                .spans
                .iter()
                .map(|span| span.len as usize + SPAN_BYTES)
                .sum::<usize>()
        );
        assert!(
            entries.spans.len() > 50,
            "{} entries kept",
            entries.spans.len()
        );
        assert!(
            entries
                .entries()
                .map(|encoded| Recorded::decode(encoded.0))
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

    /// A request as the ring test pushes it.
    #[derive(Debug, Clone)]
    struct Pushed {
        path: String,
        status: u16,
        principal: Option<String>,
        authorization: bool,
        body: Vec<u8>,
    }

    fn pushed() -> impl proptest::strategy::Strategy<Value = Pushed> {
        use proptest::prelude::*;
        (
            "/[a-z0-9/]{0,300}",
            200u16..600,
            proptest::option::of("[a-z_0-9]{1,12}"),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..600),
        )
            .prop_map(|(path, status, principal, authorization, body)| Pushed {
                path,
                status,
                principal,
                authorization,
                body,
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The ring keeps the newest requests, in order and intact, within its capacity,
        /// and uses it: what it dropped would not have fitted (less an entry's worth
        /// lost where the ring wraps, and one where the oldest kept entry starts).
        #[test]
        fn the_ring_keeps_the_newest_requests_intact_within_its_capacity(
            requests in proptest::collection::vec(pushed(), 1..200),
            capacity in 2_048usize..16_384,
        ) {
            let journal = Journal::with_capacity(capacity);
            let mut headers = HeaderMap::new();
            headers.insert("x-trace", http::HeaderValue::from_static("t"));
            let mut with_authorization = headers.clone();
            with_authorization.insert(
                header::AUTHORIZATION,
                http::HeaderValue::from_static("Bearer panel_acct1_7f3c9a2b5d1e4f60"),
            );
            let (mut pushed_cost, mut largest) = (0, 0);
            for request in &requests {
                let outcome = Outcome {
                    principal: request.principal.as_deref().map(Arc::from),
                    ..Outcome::now(request.status)
                };
                let headers = if request.authorization { &with_authorization } else { &headers };
                let cost = Layout::of(&Method::PUT, &request.path, &outcome, headers, &request.body)
                    .len()
                    + SPAN_BYTES;
                pushed_cost += cost;
                largest = largest.max(cost);
                journal.push(&Method::PUT, &request.path, outcome, headers, &request.body);
            }
            let kept = journal.matching(&JournalFilter::default());
            proptest::prop_assert!(!kept.is_empty() && kept.len() <= requests.len());
            let newest = &requests[requests.len() - kept.len()..];
            for (shown, request) in kept.iter().zip(newest) {
                proptest::prop_assert_eq!(&shown.path, &request.path);
                proptest::prop_assert_eq!(shown.status, request.status);
                proptest::prop_assert_eq!(&shown.method, "PUT");
                proptest::prop_assert_eq!(&shown.principal, &request.principal);
                proptest::prop_assert_eq!(shown.token.is_some(), request.authorization);
                proptest::prop_assert_eq!(shown.headers.get("x-trace").map(String::as_str), Some("t"));
                let body = Recorded::new(
                    &Method::PUT,
                    "/",
                    Outcome::now(200),
                    &HeaderMap::new(),
                    &request.body,
                )
                .shown_body();
                proptest::prop_assert_eq!(&shown.body, &body);
            }
            let ring = journal.ring.lock();
            proptest::prop_assert!(ring.bytes <= capacity);
            if pushed_cost >= capacity {
                proptest::prop_assert!(
                    ring.bytes + 2 * largest >= capacity,
                    "{} of {} bytes kept, entries up to {}", ring.bytes, capacity, largest
                );
            }
        }
    }
}
