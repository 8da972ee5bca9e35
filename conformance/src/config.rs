//! What a run checks, against what, and how hard it may push: [`Config`] and [`Token`].

use std::fmt;
use std::time::Duration;

use beacon_spec::Api;
use beacon_spec::redact::RedactedToken;

use crate::check::Phase;
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
/// // Assert: the default budget holds a full write run at the documented limits.
/// assert_eq!(config.max_requests, beacon_conformance::default_max_requests(Api::Status));
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
    /// The most requests the run may send, every request included (discovery, state
    /// re-reads, retries and the rate-limit probe): a hard ceiling.
    pub max_requests: u32,
    /// The phases to run, in any order (they always run examples, coverage, fuzz).
    pub phases: Vec<Phase>,
    /// Whether a skipped check fails the run.
    pub fail_on_skip: bool,
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
    /// PEM certificates trusted besides the built-in web roots: a private CA, or the
    /// certificate `beacon-mock --tls` generates.
    pub trusted_pem: Option<String>,
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
            phases: Phase::ALL.to_vec(),
            fail_on_skip: false,
            strict: false,
            progress: ProgressMode::Hidden,
            only: None,
            request_timeout: DEFAULT_TIMEOUT,
            max_wait: Duration::from_secs(api.rate_limit().period_secs() + 5),
            trusted_pem: None,
        }
    }
}

/// The per-request timeout when `--timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Proptest cases per property when `--cases` is not given.
pub const DEFAULT_CASES: u32 = 8;

/// The default request budget of `api`: what a full write run (`--allow-writes
/// --probe-rate-limit`, every phase, the default cases) plans at most, with room for
/// shrinking a failure or two: Status 400, Panel 800. The run paces itself to the
/// documented limits, so a budget above one window only makes the run wait.
pub fn default_max_requests(api: Api) -> u32 {
    match api {
        Api::Status => 400,
        Api::Panel => 800,
    }
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
    /// Wraps a secret token.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The redacted form, by the toolkit's one rule ([`RedactedToken`]).
    pub fn redacted(&self) -> String {
        RedactedToken(&self.0).to_string()
    }

    /// `text` with every occurrence of the secret replaced by its redacted form.
    pub fn scrub(&self, text: &str) -> String {
        beacon_spec::redact::scrub(text, &self.0)
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

    #[test]
    fn a_token_shows_as_the_spec_redacts_it_in_debug_display_and_scrub() {
        let token = Token::new("panel_0123456789");
        assert_eq!(format!("{token} {token:?}"), "panel_… panel_…");
        assert_eq!(token.scrub("sent panel_0123456789."), "sent panel_….");
    }
}
