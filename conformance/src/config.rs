//! What a run checks, against what, and how hard it may push: [`Config`] and [`Token`].

use std::fmt;
use std::time::Duration;

use beacon_spec::Api;
use url::Url;

/// Everything a conformance run needs; build it with [`Config::new`] and adjust the fields.
///
/// ```
/// use beacon_conformance::{Config, Token};
/// use beacon_spec::Api;
///
/// // Arrange
/// let url = "http://127.0.0.1:4010/api/v1".parse().unwrap();
/// // Act
/// let config = Config::new(Api::Status, url, Token::new("bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"));
/// // Assert: the default budget stays below the tightest rate-limit window (60 a minute).
/// assert_eq!(config.max_requests, 50);
/// assert!(!config.allow_writes);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Which API the deployment implements.
    pub api: Api,
    /// Base URL ending in `/api/v1`.
    pub base_url: Url,
    /// The Bearer token; never printed in full.
    pub token: Token,
    /// Proptest cases per property (per check and operation).
    pub cases: u32,
    /// Seed of every generated input; a run is reproducible from it.
    pub seed: u64,
    /// Whether checks may send requests that change state (POST).
    pub allow_writes: bool,
    /// The Panel server that writes may touch (the bare `<n>` of `servers/<n>`); reads use
    /// it too when set, else the first server of `GET /servers`.
    pub server_id: Option<String>,
    /// Whether to exhaust one rate-limit window and wait for its reset.
    pub probe_rate_limit: bool,
    /// The most requests the checks may send (the rate-limit probe has its own allowance,
    /// see [`Config::probe_allowance`]).
    pub max_requests: u32,
    /// Whether a broken `[ours]` rule fails the run instead of warning.
    pub strict: bool,
    /// How progress is shown while running.
    pub progress: ProgressMode,
    /// Runs only the checks with these names (all when `None`).
    pub only: Option<Vec<String>>,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// The longest wait for a rate-limit window to reset (after a 429, or in the probe);
    /// by default the API's window plus 5 s.
    pub max_wait: Duration,
}

impl Config {
    /// A read-only configuration with the defaults of the command line: 8 cases, a random
    /// seed, the default budget of `api` and no progress output.
    pub fn new(api: Api, base_url: Url, token: Token) -> Self {
        Self {
            api,
            base_url,
            token,
            cases: DEFAULT_CASES,
            seed: random_seed(),
            allow_writes: false,
            server_id: None,
            probe_rate_limit: false,
            max_requests: default_max_requests(api),
            strict: false,
            progress: ProgressMode::Hidden,
            only: None,
            request_timeout: Duration::from_secs(10),
            max_wait: Duration::from_secs(api.rate_limit().period_secs() + 5),
        }
    }

    /// Requests the rate-limit probe may send on top of [`Config::max_requests`]: enough to
    /// exhaust one window even if it rolls over once while probing, plus the recovery.
    pub fn probe_allowance(&self) -> u32 {
        self.api.rate_limit().tightest_limit().saturating_mul(2) + 10
    }
}

/// Proptest cases per property when `--cases` is not given.
pub const DEFAULT_CASES: u32 = 8;

/// The default request budget of `api`: five sixths of its tightest rate-limit window
/// (Status 50 of 60 per IP, Panel 150 of 180 per token), so a default run never meets a 429.
pub fn default_max_requests(api: Api) -> u32 {
    api.rate_limit().tightest_limit() * 5 / 6
}

/// A fresh random seed (printed with every report).
pub fn random_seed() -> u64 {
    rand::random()
}

/// How a run shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// An indicatif progress bar on stderr (for terminals).
    Bar,
    /// One plain line per finished check on stderr (for logs).
    Lines,
    /// Nothing (for tests and libraries).
    #[default]
    Hidden,
}

/// A Bearer token whose `Debug` and `Display` show at most a prefix and the last 4
/// characters, e.g. `bkn_live_…o5p6`.
///
/// ```
/// use beacon_conformance::Token;
///
/// // Arrange
/// let token = Token::new("bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6");
/// // Act
/// let shown = format!("{token} {token:?}");
/// // Assert
/// assert_eq!(shown, "bkn_live_…o5p6 bkn_live_…o5p6");
/// assert!(!shown.contains("a1b2c3"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Prefixes that are the same for every token of an API, so showing them reveals
    /// nothing: Status's `bkn_live_` and the Panel tokens' `panel_`.
    pub const KNOWN_PREFIXES: [&'static str; 2] = ["bkn_live_", "panel_"];

    /// Tokens shorter than this many characters are shown as `…` alone.
    pub const MIN_SHOWN_LEN: usize = 16;

    /// Wraps a secret token.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The redacted form: `…` alone for a token shorter than [`Token::MIN_SHOWN_LEN`]
    /// characters; otherwise a known, non-secret prefix ([`Token::KNOWN_PREFIXES`]) if the
    /// token starts with one, `…`, and the last 4 characters — the tail only while at least
    /// 8 characters stay hidden. Nothing else of an arbitrary token is ever shown: its own
    /// "prefix" (e.g. everything before its first `_`) may well be secret.
    pub fn redacted(&self) -> String {
        const TAIL: usize = 4;
        const HIDDEN: usize = 8;
        let secret = self.0.as_str();
        let chars = secret.chars().count();
        if chars < Self::MIN_SHOWN_LEN {
            return "…".to_owned();
        }
        let prefix = Self::KNOWN_PREFIXES
            .iter()
            .find(|prefix| secret.starts_with(*prefix))
            .copied()
            .unwrap_or("");
        let prefix_chars = prefix.chars().count();
        if chars >= prefix_chars + TAIL + HIDDEN {
            let tail: String = secret.chars().skip(chars - TAIL).collect();
            format!("{prefix}…{tail}")
        } else {
            format!("{prefix}…")
        }
    }

    /// `text` with every occurrence of the secret replaced by its redacted form.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() || !text.contains(&self.0) {
            return text.to_owned();
        }
        text.replace(&self.0, &self.redacted())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    /// What a token shows: only a known prefix, `…` and at most the last 4 characters.
    fn shown(secret: &str) -> String {
        let token = Token::new(secret);
        let display = token.to_string();
        assert_eq!(format!("{token:?}"), display, "Debug and Display agree");
        display
    }

    #[test]
    fn an_arbitrary_token_shows_nothing_before_its_last_four_characters() {
        // Everything before the first `_` is not a prefix to show: it is the secret.
        assert_eq!(shown("mysecretpaneltoken_1"), "…en_1");
        assert_eq!(shown("mysec_retpaneltoken1"), "…ken1");
        assert_eq!(shown("ab_cdefghijklmnopqrstu"), "…rstu");
        assert_eq!(shown("bkn_test_a1b2c3d4e5f6g7h8"), "…g7h8");
        assert_eq!(shown("pane_l0123456789abcdef"), "…cdef");
    }

    #[test]
    fn a_known_prefix_is_shown_with_the_last_four_characters() {
        assert_eq!(
            shown("bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"),
            "bkn_live_…o5p6"
        );
        assert_eq!(shown("panel_acct1_7f3c9a2b5d1e4f60"), "panel_…4f60");
        // Prefix and tail would leave fewer than 8 characters hidden: no tail.
        assert_eq!(shown("panel_0123456789"), "panel_…");
        assert_eq!(shown("bkn_live_0123456789a"), "bkn_live_…");
        assert_eq!(shown("bkn_live_0123456789ab"), "bkn_live_…89ab");
    }

    #[test]
    fn a_token_shorter_than_sixteen_characters_shows_only_an_ellipsis() {
        for secret in [
            "",
            "tiny",
            "short_secret",
            "panel_012345678",
            "bkn_live_abcdef",
        ] {
            assert!(secret.chars().count() < Token::MIN_SHOWN_LEN);
            assert_eq!(shown(secret), "…", "{secret:?}");
        }
        assert_eq!(shown("0123456789abcdef"), "…cdef");
    }

    #[test]
    fn no_token_shows_more_than_a_known_prefix_and_four_characters() {
        let secrets = [
            "mysecretpaneltoken_1",
            "my_secret_panel_token_1234",
            "x_0123456789abcdefghij",
            "averyveryverylongtokenwithoutunderscores",
        ];
        for secret in secrets {
            let display = shown(secret);
            let revealed = display.replace('…', "");
            assert!(
                revealed.chars().count() <= 4,
                "{secret:?} shows {display:?}"
            );
            assert!(secret.ends_with(&revealed), "{secret:?} shows {display:?}");
            assert!(Token::new(secret).scrub(secret) == display);
        }
    }
}
