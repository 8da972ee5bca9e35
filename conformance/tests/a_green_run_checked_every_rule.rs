//! A green run means every rule was checked: the plan refuses a budget it cannot hold,
//! `--max-requests` is a ceiling on every request, transport failures are errors, an
//! undocumented status fails, and the coverage phase reaches the boundaries.

mod common;

use std::time::Duration;

use beacon_conformance::{ConformanceError, Outcome, Phase};
use beacon_spec::Api;
use common::{Deployment, respond};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

#[test]
fn a_budget_too_small_for_the_plan_is_refused_before_anything_is_sent() {
    // Arrange
    let deployment = Deployment::mock(Api::Status);
    let mut config = deployment.config();
    config.probe_rate_limit = true;
    config.max_requests = 40;
    // Act
    let error = beacon_conformance::run(&config).expect_err("the budget is too small");
    // Assert: the smallest budget is named, and it is the plan's with one case.
    let ConformanceError::BudgetTooSmall { needed, budget } = error else {
        panic!("a budget error, not {error}");
    };
    assert_eq!(budget, 40);
    config.cases = 1;
    config.max_requests = needed;
    let smallest = beacon_conformance::plan(&config).expect("the named budget holds the plan");
    assert_eq!(smallest.requests(), needed);
    config.max_requests = needed - 1;
    assert!(beacon_conformance::plan(&config).is_err());
    assert_eq!(deployment.journaled(), 0, "nothing was sent");
}

#[test]
fn cases_are_lowered_to_fit_the_budget_and_the_plan_says_so() {
    // Arrange
    let deployment = Deployment::mock(Api::Panel);
    let mut config = deployment.config();
    config.cases = 8;
    let full = beacon_conformance::plan(&config).expect("a plan");
    config.max_requests = full.requests() - 1;
    // Act
    let plan = beacon_conformance::plan(&config).expect("a smaller plan");
    // Assert
    assert!(plan.cases < 8);
    assert_eq!(plan.requested_cases, 8);
    assert!(plan.requests() <= config.max_requests);
    assert!(
        plan.render().contains("lowered from 8"),
        "{}",
        plan.render()
    );
}

#[test]
fn a_full_run_sends_no_more_than_its_plan_and_its_budget_the_probe_included() {
    // Arrange: the smallest budget that holds a full write run with the probe.
    let deployment = Deployment::mock(Api::Status);
    let mut config = deployment.config();
    config.probe_rate_limit = true;
    config.cases = 1;
    let plan = beacon_conformance::plan(&config).expect("a plan");
    config.max_requests = plan.requests();
    // Act
    let report = deployment.run(&config);
    // Assert
    assert!(report.is_success(), "{}", report.human());
    assert_eq!(report.counts().skipped, 0, "{}", report.human());
    let journaled = deployment.journaled() as u32;
    assert_eq!(journaled, report.requests.sent);
    assert!(journaled <= config.max_requests, "{journaled} requests");
}

#[test]
fn a_deployment_that_never_limits_meets_the_ceiling_not_an_allowance_beyond_it() {
    // Arrange: every GET /pages is served with a Remaining that never reaches 0.
    let deployment = Deployment::wiremock(Api::Status);
    let pages = deployment.fetch("/pages");
    deployment.mount(
        deployment.get_with_token("/api/v1/pages").respond_with(
            ResponseTemplate::new(200)
                .set_body_json(pages)
                .insert_header("X-RateLimit-Limit", "60")
                .insert_header("X-RateLimit-Remaining", "59"),
        ),
    );
    let mut config = deployment.read_only_config();
    config.probe_rate_limit = true;
    config.only = Some(vec!["rate-limit-probe".to_owned()]);
    config.max_requests = beacon_conformance::plan(&config)
        .expect("a plan")
        .requests();
    // Act
    let report = deployment.run(&config);
    // Assert
    let received = deployment.received().len() as u32;
    assert!(
        received <= config.max_requests,
        "{received} requests for a budget of {}",
        config.max_requests
    );
    assert!(!report.is_success(), "{}", report.human());
}

#[test]
fn dropped_connections_are_errors_that_fail_the_run_not_skips() {
    // Arrange: every console read loses its connection.
    let deployment = Deployment::mock(Api::Panel);
    deployment.inject(json!({"path": "/servers/123/console", "drop": true}));
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert!(!report.is_success());
    let errored: Vec<_> = report.errors().map(|r| r.title()).collect();
    assert!(
        errored.contains(&"console-lines · get_console [coverage]".to_owned()),
        "{}",
        report.human()
    );
    for result in report.errors() {
        let Outcome::Errored(reason) = &result.outcome else {
            unreachable!()
        };
        assert!(reason.contains("request failed"), "{reason}");
    }
    assert!(
        report.results.iter().all(
            |r| !matches!(&r.outcome, Outcome::Skipped(reason) if reason.contains("connection"))
        ),
        "{}",
        report.human()
    );
    assert!(report.requests.retried > 0, "GETs are retried once");
    assert!(report.summary_line().contains(" errors, "));
}

/// Audit: a read that lost its connection during the warm-up (and on its one retry) was
/// forgotten: the run passed, and the response checks of that operation were skipped as if
/// nothing had sent it.
#[test]
fn a_warm_up_read_that_gets_no_response_is_an_error() {
    // Arrange: the warm-up's database list and its retry lose their connection.
    let deployment = Deployment::mock(Api::Panel);
    deployment.inject(json!({"path": "/servers/123/databases", "drop": true, "count": 2}));
    let mut config = deployment.read_only_config();
    config.phases = vec![Phase::Examples];
    // Act
    let report = deployment.run(&config);
    // Assert
    assert!(!report.is_success(), "{}", report.human());
    let errored: Vec<_> = report
        .errors()
        .filter(|r| r.operation.is_some_and(|op| op.name == "list_databases"))
        .collect();
    assert!(!errored.is_empty(), "{}", report.human());
    for result in errored {
        assert!(
            matches!(&result.outcome, Outcome::Errored(reason) if reason.contains("warm-up read")),
            "{}",
            report.human()
        );
    }
}

#[test]
fn a_server_slower_than_the_timeout_is_an_error() {
    // Arrange: database lists take 3 s, the timeout is 1 s.
    let deployment = Deployment::mock(Api::Panel);
    deployment.inject(json!({"path": "/servers/123/databases", "latency_ms": 3000}));
    let mut config = deployment.read_only_config();
    config.request_timeout = Duration::from_secs(1);
    config.only = Some(vec!["auth".to_owned()]);
    // Act
    let report = deployment.run(&config);
    // Assert
    let result = report
        .results_of("auth")
        .find(|r| r.operation.is_some_and(|op| op.name == "list_databases"))
        .expect("ran");
    assert!(
        matches!(&result.outcome, Outcome::Errored(reason) if reason.contains("timed out") || reason.contains("timeout")),
        "{}",
        report.human()
    );
    assert!(!report.is_success());
}

fn serve_503(deployment: &Deployment, full_path: &str) {
    let body = match deployment.api {
        Api::Panel => json!({"success": false, "error": "Service Unavailable"}),
        Api::Status => json!({"error": {"code": "unavailable", "message": "Try later"}}),
    };
    deployment.mount(deployment.get_with_token(full_path).respond_with(respond(
        deployment.api,
        503,
        body,
    )));
}

#[test]
fn an_undocumented_503_on_panel_fails_the_status_code_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    serve_503(&deployment, "/api/v1/servers/123/databases");
    let mut config = deployment.read_only_config();
    config.strict = false;
    // Act
    let report = deployment.run(&config);
    // Assert
    let result = report
        .results_of("status-code")
        .find(|r| r.operation.is_some_and(|op| op.name == "list_databases"))
        .expect("ran");
    let Outcome::Failed(findings) = &result.outcome else {
        panic!("status-code failed:\n{}", report.human());
    };
    assert_eq!(findings[0].rule.id, "panel.status_codes");
    assert!(findings[0].message.contains("503"));
}

#[test]
fn an_undocumented_503_on_status_fails_when_strict_and_warns_otherwise() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    serve_503(&deployment, "/api/v1/pages/acme-cloud/incidents");
    let strict = deployment.read_only_config();
    let mut lenient = strict.clone();
    lenient.strict = false;
    for (config, failed) in [(strict, true), (lenient, false)] {
        // Act
        let report = deployment.run(&config);
        // Assert
        let result = report
            .results_of("status-code")
            .find(|r| r.operation.is_some_and(|op| op.name == "list_incidents"))
            .expect("ran");
        assert_eq!(
            matches!(result.outcome, Outcome::Failed(_)),
            failed,
            "{}",
            report.human()
        );
        assert_eq!(
            result.outcome.findings()[0].rule.id,
            "response.status_listed"
        );
    }
}

/// A console of three lines whose `lines` is off by one below three: `lines=1` returns two
/// entries and `lines=2` three.
fn serve_an_off_by_one_console(deployment: &Deployment) {
    let console = deployment.fetch("/servers/123/console?lines=3");
    let logs: Vec<Value> = console["data"]["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .rev()
        .take(3)
        .rev()
        .cloned()
        .collect();
    deployment.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/servers/123/console"))
            .and(|r: &Request| {
                r.headers.get("authorization").is_some_and(|v| {
                    v.to_str()
                        .is_ok_and(|v| v.starts_with("Bearer panel_acct1"))
                })
            })
            .respond_with(move |r: &Request| {
                let lines = r
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "lines")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(100);
                let served = if lines < 3 { lines + 1 } else { lines.min(3) };
                respond(
                    Api::Panel,
                    200,
                    json!({"success": true, "data": {
                        "logs": logs[3 - served..].to_vec(),
                        "totalLines": 3,
                    }}),
                )
            }),
    );
}

#[test]
fn a_lines_off_by_one_below_three_lines_is_caught_by_the_coverage_phase() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    serve_an_off_by_one_console(&deployment);
    let mut config = deployment.read_only_config();
    config.phases = vec![Phase::Coverage];
    config.only = Some(vec!["console-lines".to_owned()]);
    // Act
    let report = deployment.run(&config);
    // Assert
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{}", report.human());
    let finding = &failures[0].outcome.findings()[0];
    assert_eq!(finding.rule.id, "panel.console_order");
    assert_eq!(finding.input.as_deref(), Some("1 (boundary value)"));
}
