//! Timestamps and random ids for created resources.

use beacon_spec::Timestamp;
use rand::Rng;

/// Now, as an RFC 3339 UTC timestamp with a `Z` suffix.
pub(crate) fn now() -> Timestamp {
    Timestamp(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string())
}

/// `len` random characters of `alphabet`.
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

pub(crate) const HEX: &[u8] = b"0123456789abcdef";
pub(crate) const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
