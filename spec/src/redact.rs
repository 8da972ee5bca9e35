//! How a secret token is shown in logs, journals and reports: the one redaction rule of the
//! toolkit, used by the mock and the conformance suite alike.

use std::fmt;

use crate::ascii;

/// Prefixes that are the same for every token of an API, so showing them reveals nothing:
/// Status's `bkn_live_` and the Panel tokens' `panel_`.
pub const KNOWN_TOKEN_PREFIXES: [&str; 2] = ["bkn_live_", "panel_"];

/// Tokens shorter than this many characters are shown as `…` alone.
pub const MIN_SHOWN_LEN: usize = 16;

/// Characters of the tail shown at most.
const TAIL: usize = 4;
/// Secret characters that always stay hidden: with fewer, no tail is shown.
const HIDDEN: usize = 8;

/// A token as it may be shown: `…` alone under [`MIN_SHOWN_LEN`] characters; otherwise a
/// known, non-secret prefix ([`KNOWN_TOKEN_PREFIXES`]) if the token starts with one, `…`,
/// and the last 4 characters, the tail only while at least 8 secret characters stay hidden.
/// Nothing else of an arbitrary token is ever shown: its own "prefix" (everything before its
/// first `_`, say) may well be secret.
///
/// ```
/// use beacon_spec::redact::RedactedToken;
///
/// // Arrange, Act
/// let shown = RedactedToken("bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6").to_string();
/// // Assert
/// assert_eq!(shown, "bkn_live_…o5p6");
/// assert_eq!(RedactedToken("panel_0123456789").to_string(), "panel_…");
/// ```
#[derive(Clone, Copy)]
pub struct RedactedToken<'a>(pub &'a str);

impl fmt::Display for RedactedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = self.0;
        let chars = secret.chars().count();
        if chars < MIN_SHOWN_LEN {
            return f.write_str("…");
        }
        let prefix = KNOWN_TOKEN_PREFIXES
            .iter()
            .find(|prefix| secret.starts_with(*prefix))
            .copied()
            .unwrap_or("");
        if chars >= prefix.chars().count() + TAIL + HIDDEN {
            let tail = secret
                .char_indices()
                .rev()
                .nth(TAIL - 1)
                .map_or("", |(i, _)| &secret[i..]);
            write!(f, "{prefix}…{tail}")
        } else {
            write!(f, "{prefix}…")
        }
    }
}

impl fmt::Debug for RedactedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Query parameters whose value is a secret whatever it looks like (compared ignoring ASCII
/// case): the names clients put tokens and keys under.
pub const SECRET_QUERY_PARAMETERS: [&str; 10] = [
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "password",
    "auth",
    "authorization",
    "bearer",
];

/// A request target (path and query) as it may be logged or journaled: the value of each
/// query parameter named in [`SECRET_QUERY_PARAMETERS`], or starting with a known token
/// prefix ([`KNOWN_TOKEN_PREFIXES`]), shown as a [`RedactedToken`]. Borrowed, and nothing
/// allocated, when nothing is secret (as for almost every request).
///
/// ```
/// use beacon_spec::redact::redact_query;
///
/// // Arrange, Act, Assert
/// assert_eq!(redact_query("/servers/123/console?lines=5"), "/servers/123/console?lines=5");
/// assert_eq!(
///     redact_query("/servers?token=panel_acct1_7f3c9a2b5d1e4f60&x=1"),
///     "/servers?token=panel_…4f60&x=1"
/// );
/// ```
pub fn redact_query(target: &str) -> std::borrow::Cow<'_, str> {
    let Some((path, query)) = ascii::split_once(target, b'?') else {
        return target.into();
    };
    let secret = |pair: &str| {
        let (name, value) = ascii::split_once(pair, b'=').unwrap_or((pair, ""));
        !value.is_empty()
            && (SECRET_QUERY_PARAMETERS
                .iter()
                .any(|secret| name.eq_ignore_ascii_case(secret))
                || KNOWN_TOKEN_PREFIXES
                    .iter()
                    .any(|prefix| value.starts_with(prefix)))
    };
    if !ascii::split(query, b'&').any(secret) {
        return target.into();
    }
    let mut shown = String::with_capacity(target.len());
    shown.push_str(path);
    for (i, pair) in ascii::split(query, b'&').enumerate() {
        shown.push(if i == 0 { '?' } else { '&' });
        match ascii::split_once(pair, b'=') {
            Some((name, value)) if secret(pair) => {
                shown.push_str(name);
                shown.push('=');
                shown.push_str(&RedactedToken(value).to_string());
            }
            _ => shown.push_str(pair),
        }
    }
    shown.into()
}

/// Whether `byte` can be part of a token that starts with a known prefix: ASCII letters,
/// digits, `_` and `-` (Status tokens are lower-case alphanumerics; Panel's own are
/// alphanumerics and `_`).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// `text` with every token that starts with a known prefix ([`KNOWN_TOKEN_PREFIXES`]),
/// wherever it stands (a path segment, a header value, a string in a body), shown as a
/// [`RedactedToken`]: the prefix and a run of token characters after it. Borrowed, and
/// nothing allocated, when `text` holds none, which one byte search for `_` (both prefixes
/// end in one) settles for almost every request target.
///
/// ```
/// use beacon_spec::redact::redact_tokens;
///
/// // Arrange, Act, Assert
/// assert_eq!(redact_tokens("/servers/123"), "/servers/123");
/// assert_eq!(
///     redact_tokens("say panel_acct2_0b9e8d7c6a5f4e31 now"),
///     "say panel_…4e31 now"
/// );
/// // What is already redacted stays as it is.
/// assert_eq!(redact_tokens("panel_…4e31"), "panel_…4e31");
/// ```
pub fn redact_tokens(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    // Where the next token starts, and where it ends.
    let next_token = |from: usize| {
        (from..bytes.len()).find_map(|start| {
            let prefix = KNOWN_TOKEN_PREFIXES
                .iter()
                .find(|prefix| bytes[start..].starts_with(prefix.as_bytes()))?;
            // A token's own character right before it: `xpanel_…` is not a token.
            if start > 0 && is_token_byte(bytes[start - 1]) {
                return None;
            }
            let after = start + prefix.len();
            let end = after
                + bytes[after..]
                    .iter()
                    .take_while(|&&b| is_token_byte(b))
                    .count();
            (end > after).then_some((start, end))
        })
    };
    if !bytes.contains(&b'_') {
        return text.into();
    }
    let Some(mut found) = next_token(0) else {
        return text.into();
    };
    let mut shown = String::with_capacity(text.len());
    let mut copied = 0;
    loop {
        let (start, end) = found;
        shown.push_str(&text[copied..start]);
        shown.push_str(&RedactedToken(&text[start..end]).to_string());
        copied = end;
        match next_token(end) {
            Some(next) => found = next,
            None => break,
        }
    }
    shown.push_str(&text[copied..]);
    shown.into()
}

/// `text` with every occurrence of `secret` replaced by its redacted form.
pub fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() || !text.contains(secret) {
        return text.to_owned();
    }
    text.replace(secret, &RedactedToken(secret).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(secret: &str) -> String {
        RedactedToken(secret).to_string()
    }

    #[test]
    fn a_token_with_a_known_prefix_is_redacted_wherever_it_stands() {
        let cases = [
            ("/api/v1/servers/123", "/api/v1/servers/123"),
            (
                "/api/v1/servers/panel_acct2_0b9e8d7c6a5f4e31",
                "/api/v1/servers/panel_…4e31",
            ),
            (
                "a bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6, then panel_acct1_7f3c9a2b5d1e4f60.",
                "a bkn_live_…o5p6, then panel_…4f60.",
            ),
            ("panel_short", "…"),
            // Not a token: the prefix inside a word, or with nothing after it.
            (
                "mypanel_acct2_0b9e8d7c6a5f4e31",
                "mypanel_acct2_0b9e8d7c6a5f4e31",
            ),
            ("panel_ and bkn_live_", "panel_ and bkn_live_"),
            ("snake_case_name", "snake_case_name"),
        ];
        for (text, shown) in cases {
            assert_eq!(redact_tokens(text), shown, "{text}");
        }
        assert!(matches!(
            redact_tokens("/servers/1_2"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn an_arbitrary_token_shows_nothing_before_its_last_four_characters() {
        assert_eq!(shown("mysecretpaneltoken_1"), "…en_1");
        assert_eq!(shown("mysec_retpaneltoken1"), "…ken1");
        assert_eq!(shown("bkn_test_a1b2c3d4e5f6g7h8"), "…g7h8");
        assert_eq!(shown("pane_l0123456789abcdef"), "…cdef");
        assert_eq!(
            shown("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_live_x"),
            "…ve_x"
        );
    }

    #[test]
    fn a_known_prefix_is_shown_with_the_last_four_characters_while_eight_stay_hidden() {
        assert_eq!(
            shown("bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"),
            "bkn_live_…o5p6"
        );
        assert_eq!(shown("panel_acct1_7f3c9a2b5d1e4f60"), "panel_…4f60");
        // Ten secret characters: a tail of 4 would leave only 6 hidden.
        assert_eq!(shown("panel_0123456789"), "panel_…");
        assert_eq!(shown("bkn_live_0123456789a"), "bkn_live_…");
        assert_eq!(shown("bkn_live_0123456789ab"), "bkn_live_…89ab");
    }

    #[test]
    fn a_query_shows_no_secret_value_and_keeps_everything_else() {
        for (target, shown) in [
            ("/pages", "/pages"),
            (
                "/servers/123/console?lines=100",
                "/servers/123/console?lines=100",
            ),
            (
                "/servers?token=panel_acct1_7f3c9a2b5d1e4f60",
                "/servers?token=panel_…4f60",
            ),
            (
                "/pages?page=2&API_KEY=0123456789abcdefXYZW&token=",
                "/pages?page=2&API_KEY=…XYZW&token=",
            ),
            (
                "/pages?x=bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6&y",
                "/pages?x=bkn_live_…o5p6&y",
            ),
            ("/servers?key=short", "/servers?key=…"),
            ("/servers?monkey=business", "/servers?monkey=business"),
            ("/servers?", "/servers?"),
        ] {
            assert_eq!(redact_query(target), shown, "{target}");
        }
        assert!(matches!(
            redact_query("/servers?lines=5"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_token_shorter_than_sixteen_characters_shows_only_an_ellipsis() {
        for secret in ["", "tiny", "short_secret", "panel_012345678"] {
            assert_eq!(shown(secret), "…", "{secret:?}");
        }
        assert_eq!(shown("0123456789abcdef"), "…cdef");
    }

    #[test]
    fn no_token_shows_more_than_a_known_prefix_and_four_characters() {
        for secret in [
            "mysecretpaneltoken_1",
            "my_secret_panel_token_1234",
            "averyveryverylongtokenwithoutunderscores",
            "panel_0123456789",
        ] {
            let display = shown(secret);
            let revealed = KNOWN_TOKEN_PREFIXES
                .iter()
                .fold(display.replace('…', ""), |text, prefix| {
                    text.strip_prefix(prefix).unwrap_or(&text).to_owned()
                });
            assert!(
                revealed.chars().count() <= 4,
                "{secret:?} shows {display:?}"
            );
            assert!(secret.ends_with(&revealed), "{secret:?} shows {display:?}");
            assert_eq!(scrub(secret, secret), display);
        }
    }
}
