//! A run is safe against production: read-only unless told otherwise, within its request
//! budget, patient on 429s, reproducible from its seed, and silent about the token.

mod common;

use std::time::Duration;

use beacon_conformance::{Outcome, Token};
use beacon_spec::Api;
use common::{Deployment, assert_only_new_failure, bearer, get_without_token, respond};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[test]
fn a_read_only_run_sends_only_gets() {
    for api in Api::ALL {
        // Arrange
        let deployment = Deployment::wiremock(api);
        // Act
        let report = deployment.run(&deployment.read_only_config());
        // Assert
        let methods: Vec<String> = deployment
            .received()
            .iter()
            .map(|r| r.method.to_string())
            .collect();
        assert!(!methods.is_empty());
        assert!(methods.iter().all(|m| m == "GET"), "{api:?}: {methods:?}");
        let skipped_writes = report
            .results
            .iter()
            .filter(|r| matches!(&r.outcome, Outcome::Skipped(reason) if reason.contains("--allow-writes")))
            .count();
        assert!(skipped_writes > 0);
    }
}

#[test]
fn panel_writes_touch_only_the_server_given_by_server_id() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let mut config = deployment.config();
    config.server_id = None;
    // Act
    let report = deployment.run(&config);
    // Assert: the only POSTs go to a server that does not exist (not-found).
    for request in deployment
        .received()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
    {
        assert!(
            request.url.path().starts_with("/api/v1/servers/999999999"),
            "{}",
            request.url
        );
    }
    let power = report.results_of("power-sequence").next().expect("listed");
    assert!(matches!(&power.outcome, Outcome::Skipped(reason) if reason.contains("--server-id")));
}

#[test]
fn a_429_is_waited_out_for_x_ratelimit_reset_and_counted() {
    // Arrange: the first authenticated GET /servers is refused for one second.
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        deployment
            .get_with_token("/api/v1/servers")
            .respond_with(
                ResponseTemplate::new(429)
                    .set_body_json(json!({"success": false, "error": "Rate limit exceeded"}))
                    .insert_header("X-RateLimit-Limit", "180")
                    .insert_header("X-RateLimit-Remaining", "0")
                    .insert_header("X-RateLimit-Reset", "1"),
            )
            .up_to_n_times(1),
    );
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_eq!(report.requests.throttled, 1);
    assert!(report.requests.waited >= Duration::from_secs(1));
    assert!(report.human().contains("1 × 429 met"));
    let failed: Vec<_> = report.failures().map(|r| r.title()).collect();
    assert!(
        failed.is_empty(),
        "a waited-out 429 is no failure: {failed:?}"
    );
}

#[test]
fn the_token_never_appears_in_any_report_even_when_the_server_echoes_it() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let secret = deployment.token();
    deployment.mount(
        get_without_token("/api/v1/servers/123/databases").respond_with(respond(
            Api::Panel,
            200,
            json!({"success": true, "data": []}),
        )),
    );
    deployment.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/servers/123"))
            .and(bearer(&secret))
            .respond_with(respond(
                Api::Panel,
                200,
                json!({"success": true, "data": {"echo": format!("you sent {secret}")}}),
            )),
    );
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert!(!report.is_success());
    let rendered = [
        report.human(),
        report.junit(),
        report.json().to_string(),
        format!("{report:?}"),
    ];
    for text in &rendered {
        assert!(!text.contains(&secret), "the token leaked:\n{text}");
    }
    assert!(
        rendered[0].contains("you sent panel_…4f60"),
        "the echo is redacted"
    );
    assert!(rendered[0].contains("\"Authorization: Bearer $BEACON_TOKEN\""));
}

#[test]
fn a_token_shows_at_most_its_prefix_and_last_four_characters() {
    let cases = [
        (
            "bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
            "bkn_live_…o5p6",
        ),
        ("panel_acct1_7f3c9a2b5d1e4f60", "panel_…4f60"),
        ("averyveryverylongtokenwithoutunderscores", "…ores"),
        // Only known prefixes are shown: before the first `_` may be the secret itself.
        ("mysecretpaneltoken_1", "…en_1"),
        ("mysec_retpaneltoken1", "…ken1"),
        ("short_secret", "…"),
        ("tiny", "…"),
    ];
    for (secret, shown) in cases {
        let token = Token::new(secret);
        assert_eq!(token.to_string(), shown);
        assert_eq!(format!("{token:?}"), shown);
        assert_eq!(
            token.scrub(&format!("x {secret} y")),
            format!("x {shown} y")
        );
    }
}

#[test]
fn the_same_seed_sends_the_same_generated_inputs() {
    let console_queries = |seed: u64| {
        let deployment = Deployment::wiremock(Api::Panel);
        let mut config = deployment.read_only_config();
        config.seed = seed;
        deployment.run(&config);
        deployment
            .received()
            .iter()
            .filter(|r| r.url.path().ends_with("/console"))
            .map(|r| r.url.query().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    // Arrange, Act
    let first = console_queries(7);
    let again = console_queries(7);
    let other = console_queries(8);
    // Assert
    assert!(first.len() > 4);
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[test]
fn a_fault_found_again_with_the_same_seed_shrinks_to_the_same_input() {
    let shrunk = || {
        // Arrange: lines out of range are served anyway.
        let deployment = Deployment::wiremock(Api::Panel);
        let console = deployment.fetch("/servers/123/console");
        deployment.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/servers/123/console"))
                .and(|r: &wiremock::Request| {
                    r.url.query_pairs().any(|(k, v)| {
                        k == "lines" && !v.parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n))
                    })
                })
                .respond_with(respond(Api::Panel, 200, console)),
        );
        let mut config = deployment.read_only_config();
        config.cases = 8;
        // Act
        let report = deployment.run(&config);
        assert_only_new_failure(
            &report,
            "console-lines-invalid",
            "get_console",
            "panel.lines_400",
        );
        let result = report
            .results_of("console-lines-invalid")
            .next()
            .expect("ran");
        result.outcome.findings()[0]
            .input
            .clone()
            .expect("an input")
    };
    // Assert
    assert_eq!(shrunk(), shrunk());
}
