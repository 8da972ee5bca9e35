//! Timestamps and random ids for created resources.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use beacon_spec::Timestamp;
use rand::Rng;

/// Now, as an RFC 3339 UTC timestamp with a `Z` suffix.
pub(crate) fn now() -> Timestamp {
    at(SystemTime::now())
}

/// `time` as an RFC 3339 UTC timestamp with a `Z` suffix, formatted once per second per
/// thread: a console that takes many commands a second copies the text instead.
fn at(time: SystemTime) -> Timestamp {
    thread_local! {
        static LAST: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let format = || humantime::format_rfc3339_seconds(time).to_string();
    let Ok(since) = time.duration_since(UNIX_EPOCH) else {
        return Timestamp(format());
    };
    let second = since.as_secs();
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != second {
            *last = (second, format());
        }
        Timestamp(last.1.clone())
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_timestamp_is_rfc_3339_in_seconds_across_seconds() {
        let start = UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        for millis in [0, 1, 999, 1_000, 1_500, 61_000, 86_400_000] {
            let time = start + Duration::from_millis(millis);
            let expected = humantime::format_rfc3339_seconds(time).to_string();
            assert_eq!(at(time).0, expected);
            assert_eq!(at(time).0, expected, "from the cache");
        }
        assert_eq!(at(UNIX_EPOCH).0, "1970-01-01T00:00:00Z");
        // A thread's first timestamp, at second 0, is formatted too.
        let first = std::thread::spawn(|| at(UNIX_EPOCH).0).join().unwrap();
        assert_eq!(first, "1970-01-01T00:00:00Z");
    }
}
