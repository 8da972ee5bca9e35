//! beacon-mock honours the whole contract: every check passes, writes and the rate-limit
//! probe included, with `[ours]` rules binding.

mod common;

use std::time::{Duration, Instant};

use beacon_spec::Api;
use common::{Deployment, assert_green};

fn full_run(api: Api) {
    // Arrange
    let deployment = Deployment::mock(api);
    let mut config = deployment.config();
    config.cases = beacon_conformance::DEFAULT_CASES;
    config.phases = beacon_conformance::Phase::ALL.to_vec();
    config.max_requests = beacon_conformance::default_max_requests(api);
    config.probe_rate_limit = true;
    // Act
    let report = deployment.run(&config);
    // Assert
    assert_green(&report);
    assert_eq!(
        report.requests.probe_throttled, 1,
        "the probe provokes one 429"
    );
    assert!(report.requests.sent <= config.max_requests);
    assert_eq!(
        report.cases, config.cases,
        "the default budget holds every case"
    );
    assert!(report.results_of("stateful").all(|r| r.requests > 0));
}

#[test]
fn the_mock_passes_every_status_check_with_writes_probe_and_strict() {
    full_run(Api::Status);
}

#[test]
fn the_mock_passes_every_panel_check_with_writes_probe_and_strict() {
    full_run(Api::Panel);
}

#[test]
fn a_default_run_of_both_apis_against_the_mock_stays_within_budget_and_ten_seconds() {
    for api in Api::ALL {
        // Arrange
        let deployment = Deployment::mock(api);
        let config = beacon_conformance::Config::new(
            api,
            deployment.base_url.parse().expect("a URL"),
            beacon_conformance::Token::new(deployment.token()),
        );
        let started = Instant::now();
        // Act
        let report = deployment.run(&config);
        // Assert (whether every check passes is the business of the tests above)
        assert!(report.requests.sent <= beacon_conformance::default_max_requests(api));
        assert!(
            !report.human().contains("request budget"),
            "no check is skipped for the budget:\n{}",
            report.human()
        );
        assert_eq!(report.requests.throttled, 0, "a default run meets no 429");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
