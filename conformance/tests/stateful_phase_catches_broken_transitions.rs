//! The stateful phase: against beacon-mock with one state transition broken on purpose
//! (every single answer still well-formed), it fails, naming the rule, with a shrunk
//! sequence of at most four requests; against the intact mock it passes, strictly.

mod common;

use beacon_conformance::{Config, Outcome, Phase, Report};
use beacon_mock::{Defect, MockServer};
use beacon_spec::Api;
use common::{Deployment, WINDOW};

/// A stateful-only, strict run with writes, sequences enough to meet the defect, and a
/// budget that leaves room to shrink.
fn stateful_config(deployment: &Deployment) -> Config {
    let mut config = deployment.config();
    config.phases = vec![Phase::Stateful];
    config.cases = 100;
    config.max_requests = 3_000;
    config
}

fn broken(api: Api, defect: Defect) -> (Deployment, Report) {
    let deployment = Deployment::mock_with(
        api,
        MockServer::builder()
            .rate_limit_window(WINDOW)
            .rate_limit(10_000)
            .defect(defect),
    );
    let report = deployment.run(&stateful_config(&deployment));
    (deployment, report)
}

/// Asserts that the stateful phase failed on `rule` with a script of at most four steps,
/// and returns the finding's input (the numbered script).
#[track_caller]
fn assert_caught(report: &Report, rules: &[&str]) -> String {
    let result = report
        .results_of("stateful")
        .next()
        .expect("the stateful phase ran");
    let Outcome::Failed(findings) = &result.outcome else {
        panic!("the stateful phase did not fail:\n{}", report.human());
    };
    let finding = &findings[0];
    assert!(
        rules.contains(&finding.rule.id),
        "{} is not one of {rules:?}:\n{}",
        finding.rule.id,
        report.human()
    );
    let input = finding.input.clone().expect("the shrunk sequence");
    let steps = input.lines().skip(1).count();
    assert!(
        (1..=4).contains(&steps),
        "{steps} steps:\n{}",
        report.human()
    );
    assert!(
        input
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("1. curl ")),
        "{input}"
    );
    assert!(input.contains("(shrunk)"), "{input}");
    assert!(!finding.expected.is_empty() && !finding.actual.is_empty());
    input
}

#[test]
fn a_database_list_that_drops_entries_after_the_third_fails() {
    let (_deployment, report) = broken(Api::Panel, Defect::DatabaseListStopsAtThree);
    let script = assert_caught(&report, &["panel.database_listed"]);
    assert!(script.contains("create database"), "{script}");
}

#[test]
fn a_console_command_that_also_lands_in_another_console_fails() {
    let (_deployment, report) = broken(Api::Panel, Defect::CommandInEveryConsole);
    assert_caught(
        &report,
        &[
            "panel.console_isolated",
            "panel.console_order",
            "panel.command_logged",
        ],
    );
}

#[test]
fn a_restart_that_leaves_a_stopped_server_stopped_fails() {
    let (_deployment, report) = broken(Api::Panel, Defect::RestartLeavesStoppedServerStopped);
    let script = assert_caught(
        &report,
        &[
            "panel.power_effect",
            "panel.command_stopped_400",
            "panel.empty_command_400",
        ],
    );
    assert!(script.contains("power restart"), "{script}");
}

#[test]
fn an_incident_list_that_keeps_serving_a_stale_copy_fails() {
    let (_deployment, report) = broken(Api::Status, Defect::StaleIncidentList);
    assert_caught(&report, &["status.incident_visible"]);
}

#[test]
fn the_intact_mock_passes_the_stateful_phase_strictly_and_puts_the_power_back() {
    for api in [Api::Status, Api::Panel] {
        // Arrange
        let deployment = Deployment::mock(api);
        let before =
            (api == Api::Panel).then(|| deployment.fetch("/servers/123")["data"]["status"].clone());
        // Act
        let report = deployment.run(&stateful_config(&deployment));
        // Assert
        assert!(report.is_success(), "{}", report.human());
        let result = report.results_of("stateful").next().expect("ran");
        assert!(
            matches!(result.outcome, Outcome::Passed),
            "{}",
            report.human()
        );
        assert!(
            result.requests > 40,
            "sequences were sent: {}",
            result.requests
        );
        if let Some(before) = before {
            assert_eq!(deployment.fetch("/servers/123")["data"]["status"], before);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_sequences() {
    let run = || {
        let (_deployment, report) = broken(Api::Panel, Defect::DatabaseListStopsAtThree);
        let finding = report
            .results_of("stateful")
            .next()
            .expect("ran")
            .outcome
            .findings()[0]
            .clone();
        // The scripts differ only in the run's unique database names.
        finding
            .input
            .unwrap_or_default()
            .lines()
            .map(|line| line.split("   # ").nth(1).unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}
