//! The Status input checks — Accept and Content-Type negotiation, malformed JSON,
//! schema-breaking incidents, created incidents — each fail, naming their rule, against a
//! deployment that is lax in exactly that way.

mod common;

use std::sync::Arc;

use beacon_spec::catalog::operation;
use beacon_spec::{Api, OperationId, SchemaValidator};
use common::{Deployment, accepts_anything, assert_only_new_failure, json_body, respond};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request};

const INCIDENTS: &str = "/api/v1/pages/acme-cloud/incidents";

/// A well-formed 201 body, as if an incident had been created.
fn created_incident() -> Value {
    json!({"data": {
        "id": "inc_0123456789ab",
        "page_id": "pg_1a2b3c4d5e6f",
        "name": "Accepted anyway",
        "status": "investigating",
        "impact": "minor",
        "message": null,
        "created_at": "2026-03-15T10:00:00Z",
        "updated_at": "2026-03-15T10:00:00Z",
        "resolved_at": null,
    }})
}

fn content_type(request: &Request) -> String {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn incidents_served_as_html_fail_the_not_acceptable_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    let incidents = deployment.fetch("/pages/acme-cloud/incidents");
    deployment.mount(
        deployment
            .get_with_token(INCIDENTS)
            .and(|r: &Request| !accepts_anything(r))
            .respond_with(respond(Api::Status, 200, incidents)),
    );
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(
        &report,
        "not-acceptable",
        "list_incidents",
        "status.accept_406",
    );
}

#[test]
fn a_body_that_is_not_json_accepted_as_an_incident_fails_the_malformed_json_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(INCIDENTS))
            .and(|r: &Request| json_body(r).is_none())
            .respond_with(respond(Api::Status, 201, created_incident())),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "malformed-json",
        "create_incident",
        "status.invalid_json_400",
    );
    let result = report.results_of("malformed-json").next().expect("ran");
    let finding = &result.outcome.findings()[0];
    assert!(
        finding
            .input
            .as_deref()
            .is_some_and(|i| i.starts_with("MalformedBody("))
    );
    assert!(
        finding
            .request
            .as_deref()
            .is_some_and(|r| r.starts_with("curl -sS -i -X POST"))
    );
}

#[test]
fn an_incident_sent_as_text_plain_and_accepted_fails_the_unsupported_media_type_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(INCIDENTS))
            .and(|r: &Request| !content_type(r).starts_with("application/json"))
            .respond_with(respond(Api::Status, 201, created_incident())),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "unsupported-media-type",
        "create_incident",
        "status.content_type_415",
    );
}

#[test]
fn a_validation_error_that_does_not_name_the_field_fails_the_incident_invalid_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    let schema = Arc::new(SchemaValidator::new(
        &operation(OperationId::CreateIncident)
            .request
            .expect("create_incident has a body"),
    ));
    deployment.mount(
        Mock::given(method("POST"))
            .and(path(INCIDENTS))
            .and(move |r: &Request| json_body(r).is_some_and(|body| !schema.is_valid(&body)))
            .respond_with(respond(
                Api::Status,
                422,
                json!({"error": {"code": "validation_failed", "message": "Invalid request"}}),
            )),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "incident-invalid",
        "create_incident",
        "status.validation_422",
    );
}

#[test]
fn created_incidents_missing_from_the_list_fail_the_incident_create_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    let incidents = deployment.fetch("/pages/acme-cloud/incidents");
    deployment.mount(
        deployment
            .get_with_token(INCIDENTS)
            .and(accepts_anything)
            .respond_with(respond(Api::Status, 200, incidents)),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(
        &report,
        "incident-create",
        "create_incident",
        "status.incident_visible",
    );
}
