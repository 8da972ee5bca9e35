//! Bearer tokens: kept only as SHA-256 digests, compared in constant time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <token>`, or a token of the wrong format.
    Malformed,
    /// A well-formed token nobody issued.
    Unknown,
    /// A token that was revoked.
    Revoked,
}

impl AuthFailure {
    pub(crate) fn message(self) -> &'static str {
        match self {
            AuthFailure::Missing => "Missing bearer token",
            AuthFailure::Malformed => "Malformed bearer token",
            AuthFailure::Unknown => "Invalid token",
            AuthFailure::Revoked => "Token has been revoked",
        }
    }
}

/// Whether `token` can be sent as a bearer token at all: 1 to 256 visible ASCII characters
/// (so no spaces). What the mock accepts as a token, an admin token or a fixture token.
pub fn is_bearer_token(token: &str) -> bool {
    (1..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic())
}

/// What a bearer token is, as said when one is refused.
pub(crate) const BEARER_TOKEN_SHAPE: &str =
    "a token is 1 to 256 visible ASCII characters without spaces";

/// Why the mock cannot accept `token` as an extra token (`--token`,
/// [`crate::MockServerBuilder::token`]), if it cannot: it is no bearer token, or it has the
/// Status prefix in a shape Status never accepts (served on Panel alone, it would answer 401
/// on every Status request).
pub fn token_refusal(token: &str) -> Option<&'static str> {
    use beacon_spec::status::StatusToken;
    if !is_bearer_token(token) {
        return Some(BEARER_TOKEN_SHAPE);
    }
    if token.starts_with(StatusToken::PREFIX) && !StatusToken::is_well_formed(token) {
        return Some("a Status token is bkn_live_ and 32 lowercase letters or digits");
    }
    None
}

/// The bearer token of an `Authorization` header value, if it has the `Bearer` scheme.
pub(crate) fn bearer(header: Option<&[u8]>) -> Result<&str, AuthFailure> {
    let header = header.ok_or(AuthFailure::Missing)?;
    if let Some(token) = plain_bearer(header) {
        return Ok(token);
    }
    if header.is_ascii() {
        bearer_ascii(header)
    } else {
        bearer_text(header)
    }
}

/// `Bearer <token>` with nothing to trim, in one pass over the token: the usual value, and
/// the same answer as [`bearer_ascii`] and [`bearer_text`] when it is `Some`.
fn plain_bearer(header: &[u8]) -> Option<&str> {
    let (scheme, token) = header.split_at_checked(7)?;
    // Every byte looked at, without an early exit: a loop the compiler vectorizes.
    let graphic = token.iter().fold(true, |all, b| all & b.is_ascii_graphic());
    if graphic && (1..=256).contains(&token.len()) && scheme.eq_ignore_ascii_case(b"bearer ") {
        std::str::from_utf8(token).ok()
    } else {
        None
    }
}

/// [`bearer`] of an ASCII value, on bytes, and the same answer as [`bearer_text`].
fn bearer_ascii(header: &[u8]) -> Result<&str, AuthFailure> {
    let space = header.iter().position(|&b| b == b' ');
    // `str::trim`'s white space within ASCII: `\t`, `\n`, `\x0b`, `\x0c`, `\r` and ` `.
    let white = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    let (scheme, token) = space
        .map(|i| (&header[..i], &header[i + 1..]))
        .ok_or(AuthFailure::Malformed)?;
    let start = token.iter().position(|b| !white(b)).unwrap_or(token.len());
    let end = token
        .iter()
        .rposition(|b| !white(b))
        .map_or(start, |i| i + 1);
    let token = &token[start..end];
    let token = std::str::from_utf8(token).map_err(|_| AuthFailure::Malformed)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") || !is_bearer_token(token) {
        return Err(AuthFailure::Malformed);
    }
    Ok(token)
}

/// [`bearer`] of any value, as text: it trims Unicode white space too.
fn bearer_text(header: &[u8]) -> Result<&str, AuthFailure> {
    let header = std::str::from_utf8(header).map_err(|_| AuthFailure::Malformed)?;
    let (scheme, token) = header.split_once(' ').ok_or(AuthFailure::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || !is_bearer_token(token.trim()) {
        return Err(AuthFailure::Malformed);
    }
    Ok(token.trim())
}

/// The bearer token of a request's `Authorization` header.
pub(crate) fn bearer_of(headers: &http::HeaderMap) -> Result<&str, AuthFailure> {
    bearer(
        headers
            .get(http::header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes),
    )
}

/// A token shown in logs and the journal: the toolkit's one redaction rule.
pub(crate) use beacon_spec::redact::RedactedToken as Redacted;

#[derive(Debug, Clone, Copy)]
struct Entry {
    digest: [u8; 32],
    principal: usize,
    revoked: bool,
    /// Minted through the admin API (kept by a fixture reload), not seeded.
    minted: bool,
}

/// The issued tokens by digest bucket, and the principals' names by index.
#[derive(Debug, Default)]
struct Issued {
    entries: HashMap<u64, Vec<Entry>, foldhash::fast::RandomState>,
    names: Vec<Arc<str>>,
}

impl Issued {
    /// Issues `entry`'s token, replacing an earlier issue of the same token.
    fn insert(&mut self, entry: Entry) {
        let list = self.entries.entry(bucket(&entry.digest)).or_default();
        list.retain(|e| !same_digest(&e.digest, &entry.digest));
        list.push(entry);
    }

    fn issue(&mut self, token: &str, principal: usize, minted: bool) {
        self.insert(Entry {
            digest: digest(token),
            principal,
            revoked: false,
            minted,
        });
    }
}

/// Issued tokens of one API, by digest. The plain text of a token is never stored.
///
/// Lookups go through a map keyed by the first 8 bytes of the digest, then compare the full
/// digest in constant time: the time taken reveals nothing about a valid token's bytes.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    issued: RwLock<Issued>,
    /// Tokens minted through the admin API since start-up or the last reset.
    minted: AtomicUsize,
}

/// Who a valid token belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    /// The workspace or account index.
    pub(crate) index: usize,
    /// A stable key for the token (for counting its requests without keeping it).
    pub(crate) key: u64,
    /// The workspace or account id: a shared name, cloned without allocating.
    pub(crate) name: Arc<str>,
}

/// Tokens the admin API mints at most between resets.
pub(crate) const MAX_MINTED_TOKENS: usize = 100_000;

/// The token store holds [`MAX_MINTED_TOKENS`] minted tokens already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{MAX_MINTED_TOKENS} tokens were minted, the most the mock keeps; POST /__admin/reset to start over"
)]
pub(crate) struct TokensFull;

/// A token's SHA-256 digest: what is stored and compared instead of the token.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether two digests are equal, in constant time: the words' differences are folded
/// without branching and only the fold is compared (through `subtle`).
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let words = |d: &[u8; 32]| {
        std::array::from_fn::<u64, 4, _>(|i| {
            u64::from_ne_bytes(d[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
        })
    };
    let (a, b) = (words(a), words(b));
    let difference = (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]);
    bool::from(difference.ct_eq(&0))
}

fn bucket(digest: &[u8; 32]) -> u64 {
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

impl TokenStore {
    /// Issues `token` to `principal` (a workspace or account index). Re-issuing a revoked
    /// token makes it valid again.
    #[cfg(test)]
    pub(crate) fn insert(&self, token: &str, principal: usize) {
        self.issued.write().issue(token, principal, false);
    }

    /// Issues a freshly minted `token` to `principal`, unless [`MAX_MINTED_TOKENS`] were
    /// minted already.
    pub(crate) fn mint(&self, token: &str, principal: usize) -> Result<(), TokensFull> {
        self.mint_within(token, principal, MAX_MINTED_TOKENS)
    }

    fn mint_within(&self, token: &str, principal: usize, most: usize) -> Result<(), TokensFull> {
        let claimed = self
            .minted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < most).then_some(n + 1)
            });
        if claimed.is_err() {
            return Err(TokensFull);
        }
        self.issued.write().issue(token, principal, true);
        Ok(())
    }

    /// Revokes `token`; returns whether it was known.
    pub(crate) fn revoke(&self, token: &str) -> bool {
        let digest = digest(token);
        let mut issued = self.issued.write();
        let mut found = false;
        for entry in issued
            .entries
            .get_mut(&bucket(&digest))
            .into_iter()
            .flatten()
        {
            if same_digest(&entry.digest, &digest) {
                entry.revoked = true;
                found = true;
            }
        }
        found
    }

    /// Who `token` was issued to.
    pub(crate) fn principal(&self, token: &str) -> Result<Holder, AuthFailure> {
        let digest = digest(token);
        let issued = self.issued.read();
        let key = bucket(&digest);
        let entry = issued
            .entries
            .get(&key)
            .into_iter()
            .flatten()
            .find(|e| same_digest(&e.digest, &digest))
            .ok_or(AuthFailure::Unknown)?;
        if entry.revoked {
            return Err(AuthFailure::Revoked);
        }
        let name = issued
            .names
            .get(entry.principal)
            .cloned()
            .unwrap_or_else(|| Arc::from(""));
        Ok(Holder {
            index: entry.principal,
            key,
            name,
        })
    }

    /// The principals' ids, by index.
    pub(crate) fn names(&self) -> Vec<Arc<str>> {
        self.issued.read().names.clone()
    }

    /// Replaces every issued token with `tokens` (principals by index into `names`) in one
    /// step, so that a concurrent request never sees an empty store.
    pub(crate) fn replace_all<'t>(
        &self,
        tokens: impl IntoIterator<Item = (&'t str, usize)>,
        names: Vec<Arc<str>>,
    ) {
        let fresh = seeded(tokens, names);
        *self.issued.write() = fresh;
        self.minted.store(0, Ordering::Release);
    }

    /// Replaces the seeded tokens with `tokens` and the principals with `names`, keeping every
    /// minted token (and its revocation) whose principal is still named; a minted token whose
    /// principal is gone is dropped.
    pub(crate) fn reseed<'t>(
        &self,
        tokens: impl IntoIterator<Item = (&'t str, usize)>,
        names: Vec<Arc<str>>,
    ) {
        let mut fresh = seeded(tokens, names);
        let mut issued = self.issued.write();
        for entry in issued.entries.values().flatten().filter(|e| e.minted) {
            let name = issued.names.get(entry.principal);
            let Some(index) = name.and_then(|n| fresh.names.iter().position(|f| f == n)) else {
                continue;
            };
            fresh.insert(Entry {
                principal: index,
                ..*entry
            });
        }
        *issued = fresh;
    }
}

fn seeded<'t>(tokens: impl IntoIterator<Item = (&'t str, usize)>, names: Vec<Arc<str>>) -> Issued {
    let mut fresh = Issued {
        entries: HashMap::default(),
        names,
    };
    for (token, principal) in tokens {
        fresh.issue(token, principal, false);
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_to_prefix_and_last_four() {
        assert_eq!(
            Redacted("bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6").to_string(),
            "bkn_live_…o5p6"
        );
        assert_eq!(
            Redacted("panel_acct1_7f3c9a2b5d1e4f60").to_string(),
            "panel_…4f60"
        );
        assert_eq!(Redacted("mysecretpaneltoken_1").to_string(), "…en_1");
        assert_eq!(
            Redacted("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_live_x").to_string(),
            "…ve_x"
        );
        assert_eq!(Redacted("short_token_1234").to_string(), "…1234");
        assert_eq!(Redacted("short").to_string(), "…");
        // Ten secret characters: showing four of them would leave too few hidden.
        assert_eq!(Redacted("panel_0123456789").to_string(), "panel_…");
    }

    #[test]
    fn bearer_requires_the_scheme_and_a_visible_token() {
        assert_eq!(bearer(Some(b"Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some(b"bearer abc")), Ok("abc"));
        assert_eq!(bearer(None), Err(AuthFailure::Missing));
        assert_eq!(bearer(Some(b"Basic abc")), Err(AuthFailure::Malformed));
        assert_eq!(bearer(Some(b"Bearer ")), Err(AuthFailure::Malformed));
        assert_eq!(bearer(Some(b"Bearer a b")), Err(AuthFailure::Malformed));
    }

    proptest::proptest! {
        #[test]
        fn the_byte_paths_answer_ascii_like_the_text_path(
            value in "(Bearer|bearer|BEARER|Basic|Bear)?[ \t]{0,3}[ -~\t\x0b\x0c]{0,40}"
        ) {
            let text = bearer_text(value.as_bytes());
            proptest::prop_assert_eq!(bearer_ascii(value.as_bytes()), text);
            // `bearer` tries `plain_bearer` first.
            proptest::prop_assert_eq!(bearer(Some(value.as_bytes())), text);
        }
    }

    #[test]
    fn digests_are_equal_only_when_every_byte_is() {
        let a = digest("tok_1234567890");
        assert!(same_digest(&a, &a));
        for i in 0..32 {
            let mut b = a;
            b[i] ^= 0x80;
            assert!(!same_digest(&a, &b), "byte {i}");
        }
    }

    #[test]
    fn revoked_tokens_are_rejected_and_reissue_restores_them() {
        let store = TokenStore::default();
        store.insert("tok_1234567890", 3);
        assert_eq!(store.principal("tok_1234567890").map(|p| p.index), Ok(3));
        assert_eq!(
            store.principal("tok_0000000000").map(|p| p.index),
            Err(AuthFailure::Unknown)
        );
        assert!(store.revoke("tok_1234567890"));
        assert_eq!(
            store.principal("tok_1234567890").map(|p| p.index),
            Err(AuthFailure::Revoked)
        );
        store.insert("tok_1234567890", 3);
        assert_eq!(store.principal("tok_1234567890").map(|p| p.index), Ok(3));
    }

    /// Finding 7 of issue 10: minted tokens were unbounded.
    #[test]
    fn minting_stops_at_the_bound_until_a_reset() {
        let store = TokenStore::default();
        for i in 0..3 {
            assert_eq!(store.mint_within(&format!("tok_{i:012}"), 0, 3), Ok(()));
        }
        assert_eq!(store.mint_within("tok_999999999999", 0, 3), Err(TokensFull));
        assert_eq!(
            store.principal("tok_999999999999").map(|p| p.index),
            Err(AuthFailure::Unknown)
        );
        store.replace_all([("seed_token_1234", 0)], vec![Arc::from("ws_1")]);
        assert_eq!(store.mint_within("tok_999999999999", 0, 3), Ok(()));
    }

    #[test]
    fn a_reseed_keeps_minted_tokens_by_principal_id_and_replaces_seeded_ones() {
        let names = |ids: &[&str]| ids.iter().map(|id| Arc::from(*id)).collect::<Vec<_>>();
        let store = TokenStore::default();
        store.replace_all(
            [("seed_token_a_1234", 0)],
            names(&["acct_1", "acct_2", "acct_3"]),
        );
        store.mint("minted_for_2_0000", 1).unwrap();
        store.mint("minted_for_3_0000", 2).unwrap();
        store.mint("revoked_for_2_000", 1).unwrap();
        assert!(store.revoke("revoked_for_2_000"));
        // acct_2 moves to index 0, acct_3 is gone, the seeded token changes.
        store.reseed([("seed_token_b_1234", 1)], names(&["acct_2", "acct_1"]));
        let holder = store.principal("minted_for_2_0000").unwrap();
        assert_eq!((holder.index, &*holder.name), (0, "acct_2"));
        assert_eq!(
            store.principal("minted_for_3_0000").map(|h| h.index),
            Err(AuthFailure::Unknown)
        );
        assert_eq!(
            store.principal("revoked_for_2_000").map(|h| h.index),
            Err(AuthFailure::Revoked)
        );
        assert_eq!(
            store.principal("seed_token_a_1234").map(|h| h.index),
            Err(AuthFailure::Unknown)
        );
        assert_eq!(
            &*store.principal("seed_token_b_1234").unwrap().name,
            "acct_1"
        );
    }
}
