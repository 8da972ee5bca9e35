//! The Panel input checks — console lines, malformed JSON, power actions and their effect,
//! console commands, database names — each fail, naming their rule, against a deployment
//! that is wrong in exactly that way.

mod common;

use beacon_conformance::Phase;
use beacon_spec::Api;
use beacon_spec::panel::{DatabaseName, PowerAction};
use common::{
    Deployment, assert_only_new_failure, assert_only_new_warning, json_body, lenient, panel_ok,
    respond,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, Request, ResponseTemplate};

const SERVER: &str = "/api/v1/servers/123";
const CONSOLE: &str = "/api/v1/servers/123/console";
const DATABASES: &str = "/api/v1/servers/123/databases";

fn lines(request: &Request) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "lines")
        .map(|(_, v)| v.into_owned())
}

fn lines_in_range(request: &Request) -> Option<bool> {
    lines(request).map(|v| v.parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n)))
}

#[test]
fn out_of_range_lines_served_anyway_fail_the_console_lines_invalid_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let console = deployment.fetch("/servers/123/console");
    deployment.mount(
        Mock::given(method("GET"))
            .and(path(CONSOLE))
            .and(|r: &Request| lines_in_range(r) == Some(false))
            .respond_with(respond(Api::Panel, 200, console)),
    );
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(
        &report,
        "console-lines-invalid",
        "get_console",
        "panel.lines_400",
    );
}

#[test]
fn console_lines_newest_first_fail_the_console_lines_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let mut console = deployment.fetch("/servers/123/console?lines=1000");
    if let Some(logs) = console["data"]["logs"].as_array_mut() {
        assert!(logs.len() >= 2, "the fixture console has several lines");
        logs.reverse();
    }
    deployment.mount(
        Mock::given(method("GET"))
            .and(path(CONSOLE))
            .and(|r: &Request| lines_in_range(r) == Some(true))
            .respond_with(respond(Api::Panel, 200, console)),
    );
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(
        &report,
        "console-lines",
        "get_console",
        "panel.console_order",
    );
}

#[test]
fn a_power_body_that_is_not_json_accepted_fails_the_malformed_json_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(SERVER))
            .and(|r: &Request| json_body(r).is_none())
            .respond_with(respond(
                Api::Panel,
                200,
                panel_ok(json!({"message": "Server start initiated"})),
            )),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "malformed-json",
        "power_server",
        "panel.invalid_action_400",
    );
}

fn action(request: &Request) -> Option<Value> {
    json_body(request).and_then(|body| body.get("action").cloned())
}

#[test]
fn an_unknown_power_action_accepted_fails_the_power_invalid_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(SERVER))
            .and(|r: &Request| {
                json_body(r).is_some()
                    && !action(r).is_some_and(|a| PowerAction::ALL.iter().any(|v| a == v.as_str()))
            })
            .respond_with(respond(
                Api::Panel,
                200,
                panel_ok(json!({"message": "Server explode initiated"})),
            )),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "power-invalid",
        "power_server",
        "panel.invalid_action_400",
    );
}

#[test]
fn stop_and_kill_that_change_nothing_fail_the_power_sequence_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(SERVER))
            .and(|r: &Request| action(r).is_some_and(|a| a == "stop" || a == "kill"))
            .respond_with(|r: &Request| {
                let action = action(r).and_then(|a| a.as_str().map(str::to_owned));
                respond(
                    Api::Panel,
                    200,
                    panel_ok(json!({"message": format!("Server {} initiated", action.unwrap_or_default())})),
                )
            }),
    );
    let mut config = deployment.config();
    // Enough sequences that one surely ends in stop or kill.
    config.cases = 8;
    // Act
    let report = deployment.run(&config);
    // Assert
    assert_only_new_failure(
        &report,
        "power-sequence",
        "power_server",
        "panel.power_effect",
    );
    let input = |phase: Phase| {
        report
            .results_of("power-sequence")
            .find(|r| r.phase == Some(phase))
            .expect("ran")
            .outcome
            .findings()[0]
            .input
            .clone()
            .unwrap_or_default()
    };
    // The coverage phase sends each action alone, stop first.
    assert_eq!(input(Phase::Coverage), "[Stop] (boundary value)");
    let fuzzed = input(Phase::Fuzz);
    assert!(
        fuzzed == "[Stop] (shrunk)" || fuzzed == "[Kill] (shrunk)",
        "shrunk to one action: {fuzzed}"
    );
}

#[test]
fn an_empty_command_accepted_fails_the_command_invalid_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(CONSOLE))
            .and(|r: &Request| {
                json_body(r).is_some_and(|b| b["command"].as_str().is_none_or(str::is_empty))
            })
            .respond_with(respond(
                Api::Panel,
                200,
                panel_ok(json!({
                    "message": "Command sent successfully",
                    "command": "",
                    "timestamp": "2026-03-15T10:00:00Z",
                })),
            )),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "command-invalid",
        "send_command",
        "panel.empty_command_400",
    );
}

#[test]
fn commands_missing_from_the_console_fail_the_command_send_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let console = deployment.fetch("/servers/123/console?lines=100");
    deployment.mount(
        deployment
            .get_with_token(CONSOLE)
            .and(query_param("lines", "100"))
            .respond_with(respond(Api::Panel, 200, console)),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "command-send",
        "send_command",
        "panel.command_logged",
    );
}

#[test]
fn a_command_to_a_stopped_server_accepted_fails_the_command_stopped_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(CONSOLE))
            .and(|r: &Request| json_body(r) == Some(json!({"command": "help"})))
            .respond_with(respond(
                Api::Panel,
                200,
                panel_ok(json!({
                    "message": "Command sent successfully",
                    "command": "help",
                    "timestamp": "2026-03-15T10:00:00Z",
                })),
            )),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "command-stopped",
        "send_command",
        "panel.command_stopped_400",
    );
}

fn requested_name(request: &Request) -> Option<String> {
    json_body(request).and_then(|b| b["name"].as_str().map(str::to_owned))
}

fn created_database(name: &str, username: &str) -> ResponseTemplate {
    respond(
        Api::Panel,
        200,
        panel_ok(json!({
            "id": format!("db_{name}"),
            "name": format!("s123_{name}"),
            "username": username,
            "password": "s3cret",
            "host": "127.0.0.1",
            "port": 3306,
            "connectionString": format!("mysql://{username}:s3cret@127.0.0.1:3306/s123_{name}"),
        })),
    )
}

fn valid_characters(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Mounts a database creation that accepts every name `accepted` matches.
fn accept_database_names(deployment: &Deployment, accepted: fn(&str) -> bool) {
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(DATABASES))
            .and(move |r: &Request| requested_name(r).is_some_and(|n| accepted(&n)))
            .respond_with(created_database("bad", "s123_bad")),
    );
}

#[test]
fn an_invalid_database_name_accepted_fails_the_database_name_invalid_check() {
    // Arrange: every invalid name is accepted, too long ones included; the documented
    // rule must still fail the run although the ours one breaks too.
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(DATABASES))
            .and(|r: &Request| {
                json_body(r).is_some()
                    && !requested_name(r).is_some_and(|n| DatabaseName::is_valid(&n))
            })
            .respond_with(created_database("bad", "s123_bad")),
    );
    // Act
    let report = deployment.run(&lenient(deployment.config()));
    // Assert
    assert_only_new_failure(
        &report,
        "database-name-invalid",
        "create_database",
        "panel.database_name_400",
    );
}

#[test]
fn a_name_with_a_bad_character_accepted_fails_the_database_name_invalid_check_without_strict() {
    // Arrange: `bad-name` and the like are accepted; length is enforced.
    let deployment = Deployment::wiremock(Api::Panel);
    accept_database_names(&deployment, |n| {
        !n.is_empty() && n.len() <= 48 && !valid_characters(n)
    });
    let mut config = lenient(deployment.config());
    // Enough cases that one surely has a bad character.
    config.cases = 8;
    // Act
    let report = deployment.run(&config);
    // Assert
    assert_only_new_failure(
        &report,
        "database-name-invalid",
        "create_database",
        "panel.database_name_400",
    );
    let result = report
        .results_of("database-name-invalid")
        .next()
        .expect("ran");
    let findings = result.outcome.findings();
    assert!(
        findings
            .iter()
            .all(|f| f.rule.id == "panel.database_name_400"),
        "{}",
        report.human()
    );
    let input = findings[0].input.as_deref().unwrap_or_default();
    assert!(input.starts_with("BadCharacter("), "{input}");
}

/// Accepts names of valid characters longer than 48, e.g. a 60-character one.
fn accept_long_names(deployment: &Deployment) {
    accept_database_names(deployment, |n| n.len() > 48 && valid_characters(n));
}

#[test]
fn a_name_longer_than_48_accepted_only_warns_without_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    accept_long_names(&deployment);
    // Act
    let report = deployment.run(&lenient(deployment.config()));
    // Assert
    assert_only_new_warning(
        &report,
        "database-name-invalid",
        "create_database",
        "panel.database_name_length_400",
    );
    let result = report
        .results_of("database-name-invalid")
        .next()
        .expect("ran");
    let input = result.outcome.findings()[0]
        .input
        .as_deref()
        .unwrap_or_default();
    assert!(input.starts_with("TooLong("), "{input}");
}

#[test]
fn a_name_longer_than_48_accepted_fails_the_database_name_invalid_check_when_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    accept_long_names(&deployment);
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "database-name-invalid",
        "create_database",
        "panel.database_name_length_400",
    );
}

#[test]
fn a_white_space_command_accepted_fails_the_command_invalid_check() {
    // Arrange: empty commands are refused, blank ones are not.
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(CONSOLE))
            .and(|r: &Request| {
                json_body(r).is_some_and(|b| {
                    b["command"]
                        .as_str()
                        .is_some_and(|c| !c.is_empty() && c.trim().is_empty())
                })
            })
            .respond_with(respond(
                Api::Panel,
                200,
                panel_ok(json!({
                    "message": "Command sent successfully",
                    "command": " ",
                    "timestamp": "2026-03-15T10:00:00Z",
                })),
            )),
    );
    let mut config = deployment.config();
    // Enough cases that one surely is blank.
    config.cases = 8;
    // Act
    let report = deployment.run(&config);
    // Assert
    assert_only_new_failure(
        &report,
        "command-invalid",
        "send_command",
        "panel.empty_command_400",
    );
}

#[test]
fn a_username_that_keeps_underscores_fails_the_database_create_check() {
    // Arrange: the list example's naming, which the create example overrides.
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(DATABASES))
            .and(|r: &Request| requested_name(r).is_some_and(|n| DatabaseName::is_valid(&n)))
            .respond_with(|r: &Request| {
                let name = requested_name(r).unwrap_or_default();
                created_database(&name, &format!("s123_{name}"))
            }),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "database-create",
        "create_database",
        "panel.database_naming",
    );
}
