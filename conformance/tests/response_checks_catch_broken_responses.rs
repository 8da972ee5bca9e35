//! The checks that judge every response — content type, envelope, schema, rate-limit
//! headers — each fail, naming their rule, against a deployment that breaks only that rule.

mod common;

use beacon_spec::Api;
use common::{
    Deployment, accepts_anything, assert_only_new_failure, assert_only_new_failures,
    assert_only_new_warning, get_without_token, lenient, respond, with_rate_headers,
};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

#[test]
fn a_page_served_as_text_plain_fails_the_content_type_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    let page = deployment.fetch("/pages/acme-cloud");
    let template = with_rate_headers(
        Api::Status,
        ResponseTemplate::new(200).set_body_raw(page.to_string(), "text/plain"),
    );
    deployment.mount(
        deployment
            .get_with_token("/api/v1/pages/acme-cloud")
            .and(accepts_anything)
            .respond_with(template),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(&report, "content-type", "get_page", "response.content_type");
}

#[test]
fn a_success_body_with_both_data_and_error_fails_the_envelope_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let server = deployment.fetch("/servers/123");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/servers/123")
            .respond_with(respond(
                Api::Panel,
                200,
                json!({"success": true, "data": server["data"], "error": "none"}),
            )),
    );
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(&report, "envelope", "get_server", "panel.envelope");
}

#[test]
fn a_status_error_without_a_code_fails_the_envelope_check_as_an_ours_rule() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    deployment.mount(
        get_without_token("/api/v1/pages/acme-cloud/incidents").respond_with(respond(
            Api::Status,
            401,
            json!({"error": {"message": "Missing token"}}),
        )),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(&report, "envelope", "list_incidents", "status.error_shape");
}

/// Mounts a `GET /pages/acme-cloud` (an [ours] operation) whose page is changed by `edit`.
fn serve_page(deployment: &Deployment, edit: impl FnOnce(&mut Value)) {
    let mut page = deployment.fetch("/pages/acme-cloud");
    edit(&mut page["data"]);
    deployment.mount(
        deployment
            .get_with_token("/api/v1/pages/acme-cloud")
            .and(accepts_anything)
            .respond_with(respond(Api::Status, 200, page)),
    );
}

/// Mounts a `GET /servers/123` (a documented operation) whose server is changed by `edit`.
fn serve_server(deployment: &Deployment, edit: impl FnOnce(&mut Value)) {
    let mut server = deployment.fetch("/servers/123");
    edit(&mut server["data"]);
    deployment.mount(
        deployment
            .get_with_token("/api/v1/servers/123")
            .respond_with(respond(Api::Panel, 200, server)),
    );
}

#[test]
fn an_unknown_field_in_a_page_only_warns_without_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    serve_page(&deployment, |page| page["theme"] = json!("dark"));
    // Act
    let report = deployment.run(&lenient(deployment.config()));
    // Assert
    assert_only_new_warning(&report, "schema", "get_page", "response.schema_ours");
}

#[test]
fn an_unknown_field_in_a_page_fails_the_schema_check_when_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    serve_page(&deployment, |page| page["theme"] = json!("dark"));
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(&report, "schema", "get_page", "response.schema_ours");
}

#[test]
fn an_unknown_field_in_a_documented_body_only_warns_without_strict() {
    // Arrange: get_server's shape is documented, but no document forbids more fields.
    let deployment = Deployment::wiremock(Api::Panel);
    serve_server(&deployment, |server| server["theme"] = json!("dark"));
    // Act
    let report = deployment.run(&lenient(deployment.read_only_config()));
    // Assert
    assert_only_new_warning(&report, "schema", "get_server", "response.schema_ours");
}

#[test]
fn an_unknown_field_in_a_documented_body_fails_the_schema_check_when_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    serve_server(&deployment, |server| server["theme"] = json!("dark"));
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(&report, "schema", "get_server", "response.schema_ours");
    let result = report
        .results_of("schema")
        .find(|r| r.outcome.label() == "failed");
    let findings = result.expect("schema failed").outcome.findings();
    assert!(
        findings.iter().all(|f| f.rule.id == "response.schema_ours"),
        "{}",
        report.human()
    );
}

#[test]
fn a_schema_violation_in_a_page_only_warns_without_strict() {
    // Arrange: not an unknown field, but GET /pages/{slug} is an [ours] operation.
    let deployment = Deployment::wiremock(Api::Status);
    serve_page(&deployment, |page| {
        page["created_at"] = json!("2026-03-15 10:00:00")
    });
    // Act
    let report = deployment.run(&lenient(deployment.config()));
    // Assert
    assert_only_new_warning(&report, "schema", "get_page", "response.schema_ours");
}

#[test]
fn a_missing_field_in_a_documented_server_fails_without_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    serve_server(&deployment, |server| {
        server.as_object_mut().expect("an object").remove("node");
    });
    // Act
    let report = deployment.run(&lenient(deployment.read_only_config()));
    // Assert: the documented example's shape lacks the field too.
    assert_only_new_failures(
        &report,
        &[("schema", "get_server"), ("examples", "get_server")],
        "schema",
        "get_server",
        "response.schema",
    );
}

#[test]
fn a_timestamp_that_is_not_rfc_3339_fails_the_schema_check_without_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let mut databases = deployment.fetch("/servers/123/databases");
    databases["data"][0]["createdAt"] = json!("2025-07-01 09:45:00");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/servers/123/databases")
            .respond_with(respond(Api::Panel, 200, databases)),
    );
    // Act
    let report = deployment.run(&lenient(deployment.read_only_config()));
    // Assert
    assert_only_new_failure(&report, "schema", "list_databases", "response.schema");
    let schema = report
        .results_of("schema")
        .find(|r| r.outcome.label() == "failed");
    let finding = &schema.expect("schema failed").outcome.findings()[0];
    assert!(finding.message.contains("createdAt"), "{}", finding.message);
}

/// Mounts a `GET /servers/123` whose 200 lacks `X-RateLimit-Remaining`.
fn serve_server_without_remaining(deployment: &Deployment) {
    let server = deployment.fetch("/servers/123");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/servers/123")
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(server)
                    .insert_header("X-RateLimit-Limit", "180")
                    .insert_header("X-RateLimit-Reset", "30"),
            ),
    );
}

#[test]
fn a_missing_remaining_header_on_a_panel_200_only_warns_without_strict() {
    // Arrange: Panel documents its rate-limit headers on 429s only.
    let deployment = Deployment::wiremock(Api::Panel);
    serve_server_without_remaining(&deployment);
    // Act
    let report = deployment.run(&lenient(deployment.read_only_config()));
    // Assert
    assert_only_new_warning(
        &report,
        "rate-limit-headers",
        "get_server",
        "panel.rate_headers_every_response",
    );
}

#[test]
fn a_missing_remaining_header_on_a_panel_200_fails_the_rate_limit_headers_check_when_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    serve_server_without_remaining(&deployment);
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(
        &report,
        "rate-limit-headers",
        "get_server",
        "panel.rate_headers_every_response",
    );
}

#[test]
fn a_missing_remaining_header_on_a_status_200_fails_the_rate_limit_headers_check_without_strict() {
    // Arrange: Status documents its rate-limit headers on every response.
    let deployment = Deployment::wiremock(Api::Status);
    let page = deployment.fetch("/pages/acme-cloud");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/pages/acme-cloud")
            .and(accepts_anything)
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(page)
                    .insert_header("X-RateLimit-Limit", "60"),
            ),
    );
    // Act
    let report = deployment.run(&lenient(deployment.config()));
    // Assert
    assert_only_new_failure(
        &report,
        "rate-limit-headers",
        "get_page",
        "status.rate_headers",
    );
}

#[test]
fn a_limit_other_than_the_documented_one_fails_the_rate_limit_headers_check_without_strict() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
    let console = deployment.fetch("/servers/123/console");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/servers/123/console")
            .and(|r: &wiremock::Request| r.url.query().is_none())
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(console)
                    .insert_header("X-RateLimit-Limit", "1000")
                    .insert_header("X-RateLimit-Remaining", "990")
                    .insert_header("X-RateLimit-Reset", "30"),
            ),
    );
    // Act
    let report = deployment.run(&lenient(deployment.read_only_config()));
    // Assert
    assert_only_new_failure(
        &report,
        "rate-limit-headers",
        "get_console",
        "panel.rate_limit",
    );
}
