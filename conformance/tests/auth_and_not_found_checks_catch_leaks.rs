//! `auth` fails when a read is served without a valid token, and `not-found` when an unknown
//! id or slug is not a 404 in the envelope.

mod common;

use beacon_spec::Api;
use common::{Deployment, assert_only_new_failure, respond, serve_databases_without_token};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, Request};

#[test]
fn databases_served_without_a_token_fail_the_auth_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    serve_databases_without_token(&deployment);
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(&report, "auth", "list_databases", "auth.required");
}

#[test]
fn pages_served_to_an_unknown_well_formed_token_fail_the_auth_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    let pages = deployment.fetch("/pages");
    let known = format!("Bearer {}", deployment.token());
    deployment.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/pages"))
            .and(move |r: &Request| {
                r.headers.get("authorization").is_some_and(|v| {
                    let v = v.to_str().unwrap_or_default();
                    v.starts_with("Bearer bkn_live_") && v != known
                })
            })
            .respond_with(respond(Api::Status, 200, pages)),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(&report, "auth", "list_pages", "auth.required");
    let auth = report
        .results_of("auth")
        .find(|r| r.outcome.label() == "failed");
    let findings = auth.expect("auth failed").outcome.findings();
    assert_eq!(findings.len(), 1, "only the unknown token was served");
    assert_eq!(
        findings[0].input.as_deref(),
        Some("a well-formed unknown token")
    );
}

#[test]
fn an_unknown_server_answered_with_another_message_fails_the_not_found_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    deployment.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/servers/999999999/databases"))
            .respond_with(respond(
                Api::Panel,
                404,
                json!({"success": false, "error": "No such thing"}),
            )),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "not-found",
        "list_databases",
        "panel.server_not_found",
    );
}

#[test]
fn an_unknown_slug_answered_with_an_empty_list_fails_the_not_found_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    deployment.mount(
        Mock::given(method("GET"))
            .and(path_regex(
                "^/api/v1/pages/beacon-conformance-missing-[0-9a-f]+/incidents$",
            ))
            .respond_with(respond(Api::Status, 200, json!({"data": []}))),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "not-found",
        "list_incidents",
        "status.page_not_found",
    );
}
