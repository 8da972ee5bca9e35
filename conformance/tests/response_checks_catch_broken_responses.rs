//! The checks that judge every response — content type, envelope, schema, rate-limit
//! headers — each fail, naming their rule, against a deployment that breaks only that rule.

mod common;

use beacon_spec::Api;
use common::{
    Deployment, accepts_anything, assert_only_new_failure, get_without_token, respond,
    with_rate_headers,
};
use serde_json::json;
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

#[test]
fn an_unknown_field_in_a_page_fails_the_schema_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Status);
    let mut page = deployment.fetch("/pages/acme-cloud");
    page["data"]["theme"] = json!("dark");
    deployment.mount(
        deployment
            .get_with_token("/api/v1/pages/acme-cloud")
            .and(accepts_anything)
            .respond_with(respond(Api::Status, 200, page)),
    );
    // Act
    let report = deployment.run(&deployment.config());
    // Assert
    assert_only_new_failure(&report, "schema", "get_page", "response.schema");
}

#[test]
fn a_timestamp_that_is_not_rfc_3339_fails_the_schema_check() {
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
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(&report, "schema", "list_databases", "response.schema");
    let schema = report
        .results_of("schema")
        .find(|r| r.outcome.label() == "failed");
    let finding = &schema.expect("schema failed").outcome.findings()[0];
    assert!(finding.message.contains("createdAt"), "{}", finding.message);
}

#[test]
fn a_missing_remaining_header_fails_the_rate_limit_headers_check() {
    // Arrange
    let deployment = Deployment::wiremock(Api::Panel);
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
    // Act
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(
        &report,
        "rate-limit-headers",
        "get_server",
        "panel.rate_headers",
    );
}

#[test]
fn a_limit_other_than_the_documented_one_fails_the_rate_limit_headers_check() {
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
    let report = deployment.run(&deployment.read_only_config());
    // Assert
    assert_only_new_failure(
        &report,
        "rate-limit-headers",
        "get_console",
        "panel.rate_limit",
    );
}
