//! The rate-limit checks: Remaining must count down by one, the per-IP window of 60 must be
//! what Status reports (an `[ours]` rule: a warning unless strict), and the probe must meet
//! a 429 with the right headers and then recover.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::time::Duration;

use beacon_conformance::Outcome;
use beacon_spec::Api;
use common::{Deployment, accepts_anything, assert_only_new_failure};
use wiremock::ResponseTemplate;

#[test]
fn a_remaining_count_that_does_not_fall_fails_the_countdown_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    let pages = deployment.fetch("/pages");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/pages")
            .and(accepts_anything)
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(pages)
                    .insert_header("X-RateLimit-Limit", "60")
                    .insert_header("X-RateLimit-Remaining", "42"),
            ),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "rate-limit-countdown",
        "list_pages",
        "status.rate_limits",
    );
}

/// Mounts a `GET /incidents` that reports the per-workspace window (120) while plenty of
/// requests remain, which the binding per-IP window (60) cannot have.
fn report_the_workspace_window(deployment: &Deployment) {
    let incidents = deployment.fetch("/pages/acme-cloud/incidents");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/pages/acme-cloud/incidents")
            .and(accepts_anything)
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(incidents)
                    .insert_header("X-RateLimit-Limit", "120")
                    .insert_header("X-RateLimit-Remaining", "110"),
            ),
    );
}

#[test]
fn reporting_the_workspace_window_fails_the_binding_window_rule_when_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    report_the_workspace_window(&deployment);
    let config = deployment.read_only_config();
    // Act
    let report = deployment.run(&config);
    // Assert
    let failed: Vec<String> = report.failures().map(|r| r.title()).collect();
    assert_eq!(
        failed,
        ["rate-limit-headers · list_incidents"],
        "{}",
        report.human()
    );
    let findings = report
        .failures()
        .next()
        .expect("one failure")
        .outcome
        .findings();
    assert!(
        findings
            .iter()
            .all(|f| f.rule.id == "status.binding_window" && f.binding)
    );
}

#[test]
fn reporting_the_workspace_window_only_warns_without_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    report_the_workspace_window(&deployment);
    let mut config = deployment.read_only_config();
    config.strict = false;
    // Act
    let report = deployment.run(&config);
    // Assert
    assert!(report.is_success(), "{}", report.human());
    let result = report
        .results_of("rate-limit-headers")
        .find(|r| r.operation.is_some_and(|op| op.name == "list_incidents"))
        .expect("the check ran");
    let Outcome::Warned(findings) = &result.outcome else {
        panic!("an [ours] rule only warns:\n{}", report.human());
    };
    assert!(
        findings
            .iter()
            .all(|f| f.rule.id == "status.binding_window" && !f.binding)
    );
    assert!(
        report
            .human()
            .contains("WARN  rate-limit-headers · list_incidents")
    );
}

#[test]
fn a_deployment_that_never_limits_fails_the_probe() {
    // Arrange: Remaining counts down to 0 and stays there, but no 429 ever comes.
    let deployment = Deployment::wiremock(Api::Panel);
    let servers = deployment.fetch("/servers");
    let count = Arc::new(AtomicU64::new(0));
    deployment.mount(deployment.get_with_token("/api/v1/servers").respond_with(
        move |_: &wiremock::Request| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200)
                .set_body_json(servers.clone())
                .insert_header("X-RateLimit-Limit", "180")
                .insert_header(
                    "X-RateLimit-Remaining",
                    180u64.saturating_sub(n).to_string(),
                )
                .insert_header("X-RateLimit-Reset", "1")
        },
    ));
    let mut config = deployment.read_only_config();
    config.probe_rate_limit = true;
    config.only = Some(vec!["rate-limit-probe".to_owned()]);
    // Act
    let report = deployment.run(&config);
    // Assert
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{}", report.human());
    assert_eq!(failures[0].check.name, "rate-limit-probe");
    assert_eq!(
        failures[0].outcome.findings()[0].rule.id,
        "panel.rate_limit"
    );
    assert!(report.requests.sent <= config.max_requests);
}

#[test]
fn a_429_without_retry_after_fails_the_probe() {
    // Arrange: the real limiter, but its 429s lose their Retry-After.
    let deployment = Deployment::wiremock(Api::Status);
    let pages = deployment.fetch("/pages");
    let count = Arc::new(AtomicU64::new(0));
    deployment.mount(
        deployment
            .get_with_token("/api/v1/pages")
            .and(accepts_anything)
            .respond_with(move |_: &wiremock::Request| {
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                if n <= 60 {
                    ResponseTemplate::new(200)
                        .set_body_json(pages.clone())
                        .insert_header("X-RateLimit-Limit", "60")
                        .insert_header("X-RateLimit-Remaining", (60 - n).to_string())
                } else if n == 61 {
                    ResponseTemplate::new(429)
                        .set_body_json(serde_json::json!({"error": {"code": "rate_limited", "message": "Too many requests"}}))
                        .insert_header("X-RateLimit-Limit", "60")
                        .insert_header("X-RateLimit-Remaining", "0")
                } else {
                    ResponseTemplate::new(200)
                        .set_body_json(pages.clone())
                        .insert_header("X-RateLimit-Limit", "60")
                        .insert_header("X-RateLimit-Remaining", "59")
                }
            }),
    );
    let mut config = deployment.read_only_config();
    config.probe_rate_limit = true;
    config.only = Some(vec!["rate-limit-probe".to_owned()]);
    // Without Retry-After the probe would wait a whole documented window (60 s).
    config.max_wait = Duration::from_secs(2);
    // Act
    let report = deployment.run(&config);
    // Assert
    let failure = report.failures().next().expect("the probe fails");
    assert_eq!(failure.check.name, "rate-limit-probe", "{}", report.human());
    let finding = &failure.outcome.findings()[0];
    assert_eq!(finding.rule.id, "status.rate_limits");
    assert!(
        finding.message.contains("Retry-After is missing"),
        "{}",
        finding.message
    );
    assert_eq!(report.requests.probe_throttled, 1);
}

#[test]
fn a_panel_429_without_reset_fails_the_probe_without_strict() {
    // Arrange: the 429 itself is where Panel documents its rate-limit headers.
    let deployment = Deployment::wiremock(Api::Panel);
    let servers = deployment.fetch("/servers");
    let count = Arc::new(AtomicU64::new(0));
    deployment.mount(deployment.get_with_token("/api/v1/servers").respond_with(
        move |_: &wiremock::Request| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let served = |remaining: u64| {
                ResponseTemplate::new(200)
                    .set_body_json(servers.clone())
                    .insert_header("X-RateLimit-Limit", "180")
                    .insert_header("X-RateLimit-Remaining", remaining.to_string())
                    .insert_header("X-RateLimit-Reset", "1")
            };
            match n {
                1..=180 => served(180 - n),
                181 => ResponseTemplate::new(429)
                    .set_body_json(
                        serde_json::json!({"success": false, "error": "Too many requests"}),
                    )
                    .insert_header("X-RateLimit-Limit", "180")
                    .insert_header("X-RateLimit-Remaining", "0"),
                _ => served(179),
            }
        },
    ));
    let mut config = deployment.read_only_config();
    config.strict = false;
    config.probe_rate_limit = true;
    config.only = Some(vec!["rate-limit-probe".to_owned()]);
    config.max_wait = Duration::from_secs(2);
    // Act
    let report = deployment.run(&config);
    // Assert
    let failure = report.failures().next().expect("the probe fails");
    assert_eq!(failure.check.name, "rate-limit-probe", "{}", report.human());
    let finding = &failure.outcome.findings()[0];
    assert_eq!(finding.rule.id, "panel.rate_headers");
    assert!(finding.binding);
    assert!(
        finding.message.contains("X-RateLimit-Reset is missing"),
        "{}",
        finding.message
    );
}
