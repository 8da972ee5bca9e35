//! Replaying every documented example request returns a response that validates against
//! its schema and carries the documented example's values where the fixtures hold them.

mod support;

use std::path::Path;

use beacon_mock::MockServer;
use beacon_spec::SchemaValidator;
use beacon_spec::catalog::Api as ApiName;
use serde_json::{Value, json};
use support::{panel, status};

fn example(api: &str, file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/examples")
        .join(api)
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `actual` has every key of `expected`, recursively, with equal leaf values, except the
/// keys in `volatile` (generated values), which must only be present.
fn check_shape_and_values(expected: &Value, actual: &Value, volatile: &[&str], at: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut expected_keys: Vec<_> = e.keys().collect();
            let mut actual_keys: Vec<_> = a.keys().collect();
            expected_keys.sort();
            actual_keys.sort();
            assert_eq!(expected_keys, actual_keys, "keys at {at}");
            for (key, value) in e {
                if !volatile.contains(&key.as_str()) {
                    check_shape_and_values(value, &a[key], volatile, &format!("{at}.{key}"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "length at {at}");
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                check_shape_and_values(e, a, volatile, &format!("{at}.{i}"));
            }
        }
        _ => assert_eq!(expected, actual, "value at {at}"),
    }
}

fn response_schema(api: ApiName, operation: &str) -> SchemaValidator {
    let op = api.operations().find(|op| op.name == operation).unwrap();
    SchemaValidator::new(&op.response)
}

fn assert_valid(validator: &SchemaValidator, body: &Value) {
    let violations = validator.violations(body);
    assert!(
        violations.is_empty(),
        "{}: {violations:?}",
        validator.name()
    );
}

#[tokio::test]
async fn documented_status_examples_replay_exactly() {
    let mock = MockServer::start().await;
    let reply = status(&mock).await.get("/pages").await;
    assert_valid(&response_schema(ApiName::Status, "list_pages"), &reply.body);
    let documented = example("status", "list_pages.200.response.json");
    // The document shows one page; the fixtures add a private one after it.
    assert_eq!(reply.body["data"][0], documented["data"][0]);
}

#[tokio::test]
async fn documented_panel_reads_replay_exactly() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for (path, operation, file) in [
        ("/servers", "list_servers", "list_servers.200.response.json"),
        ("/servers/123", "get_server", "get_server.200.response.json"),
        (
            "/servers/123/databases",
            "list_databases",
            "list_databases.200.response.json",
        ),
    ] {
        let reply = api.get(path).await;
        assert_valid(&response_schema(ApiName::Panel, operation), &reply.body);
        check_shape_and_values(&example("panel", file), &reply.body, &[], operation);
    }
    let error = api.get("/servers/999").await;
    check_shape_and_values(
        &example("panel", "get_server.404.response.json"),
        &error.body,
        &[],
        "404",
    );
}

#[tokio::test]
async fn documented_console_example_replays_with_its_last_lines() {
    let mock = MockServer::start().await;
    let query = example("panel", "get_console.200.query.json");
    let reply = panel(&mock)
        .await
        .get(&format!("/servers/123/console?lines={}", query["lines"]))
        .await;
    assert_valid(&response_schema(ApiName::Panel, "get_console"), &reply.body);
    let documented = example("panel", "get_console.200.response.json");
    // The document asks for 50 lines but shows 3 (of 156): the last 3 must match.
    let logs = reply.body["data"]["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 50);
    assert_eq!(
        logs[47..],
        documented["data"]["logs"].as_array().unwrap()[..]
    );
    assert_eq!(
        reply.body["data"]["totalLines"],
        documented["data"]["totalLines"]
    );
}

#[tokio::test]
async fn documented_panel_writes_replay_with_generated_values_only_where_expected() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for (path, operation, volatile) in [
        ("/servers/123", "power_server", &[][..]),
        ("/servers/123/console", "send_command", &["timestamp"][..]),
        (
            "/servers/123/databases",
            "create_database",
            &["password", "connectionString"][..],
        ),
    ] {
        let request = example("panel", &format!("{operation}.200.request.json"));
        let reply = api.post(path, request).await;
        assert_valid(&response_schema(ApiName::Panel, operation), &reply.body);
        let documented = example("panel", &format!("{operation}.200.response.json"));
        check_shape_and_values(&documented, &reply.body, volatile, operation);
    }
    let created = api.get("/servers/123/databases").await;
    assert_eq!(created.body["data"][2]["name"], json!("s123_player_data"));
}
