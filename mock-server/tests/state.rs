//! Concurrent writes lose nothing.

mod support;

use std::sync::Arc;

use beacon_mock::MockServer;
use serde_json::json;
use support::{Api, panel, status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_and_commands_are_all_kept() {
    let mock = MockServer::start().await;
    let panel = Arc::new(panel(&mock).await);
    let status = Arc::new(status(&mock).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (panel, status) = (panel.clone(), status.clone());
        tasks.push(tokio::spawn(async move {
            let db = panel
                .post(
                    "/servers/123/databases",
                    json!({ "name": format!("db_{i}") }),
                )
                .await;
            let cmd = panel
                .post(
                    "/servers/123/console",
                    json!({ "command": format!("say {i}") }),
                )
                .await;
            let inc = status
                .post(
                    "/pages/acme-internal/incidents",
                    json!({ "name": format!("incident {i}") }),
                )
                .await;
            (db.status, cmd.status, inc.status)
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), (200, 200, 201));
    }
    let databases = panel.get("/servers/123/databases").await;
    assert_eq!(databases.body["data"].as_array().unwrap().len(), 2 + 40);
    let console = panel.get("/servers/123/console?lines=40").await;
    assert_eq!(console.body["data"]["totalLines"], 156 + 40);
    let mut said: Vec<u32> = console.body["data"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["message"]
                .as_str()
                .unwrap()
                .trim_start_matches("> say ")
                .parse()
                .unwrap()
        })
        .collect();
    said.sort_unstable();
    assert_eq!(said, (0..40).collect::<Vec<_>>());
    let incidents = status.get("/pages/acme-internal/incidents").await;
    assert_eq!(incidents.body["data"].as_array().unwrap().len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_command_over_4_kib_is_refused_and_not_logged() {
    let mock = MockServer::start().await;
    let panel = panel(&mock).await;
    let limit = beacon_spec::model::MAX_COMMAND_BYTES;
    let at_limit = panel
        .post(
            "/servers/123/console",
            json!({ "command": "x".repeat(limit) }),
        )
        .await;
    assert_eq!(at_limit.status, 200);
    let over = panel
        .post(
            "/servers/123/console",
            json!({ "command": "x".repeat(limit + 1) }),
        )
        .await;
    assert_eq!(
        support::panel_error(&over, 400),
        format!("command: must be at most {limit} bytes")
    );
    let console = panel.get("/servers/123/console?lines=1").await;
    assert_eq!(console.body["data"]["totalLines"], 156 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_holds_at_most_10_000_incidents_then_answers_409() {
    let mock = MockServer::builder().rate_limit(1_000_000).start().await;
    let status = status(&mock).await;
    let listed = status.get("/pages/acme-cloud/incidents").await;
    let existing = listed.body["data"].as_array().unwrap().len();
    let limit = beacon_spec::model::MAX_INCIDENTS_PER_PAGE;
    for i in existing..limit {
        let created = status
            .post(
                "/pages/acme-cloud/incidents",
                json!({ "name": format!("i{i}") }),
            )
            .await;
        assert_eq!(created.status, 201, "incident {i}");
    }
    let full = status
        .post(
            "/pages/acme-cloud/incidents",
            json!({ "name": "one too many" }),
        )
        .await;
    let message = support::status_error(&full, 409, "limit_reached");
    assert!(message.contains("10000"), "{message}");
    let listed = status.get("/pages/acme-cloud/incidents").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), limit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_holds_at_most_1_000_databases_then_answers_400() {
    let mock = MockServer::builder().rate_limit(1_000_000).start().await;
    let panel = panel(&mock).await;
    let listed = panel.get("/servers/123/databases").await;
    let existing = listed.body["data"].as_array().unwrap().len();
    let limit = beacon_spec::model::MAX_DATABASES_PER_SERVER;
    for i in existing..limit {
        let created = panel
            .post("/servers/123/databases", json!({ "name": format!("d{i}") }))
            .await;
        assert_eq!(created.status, 200, "database {i}");
    }
    let full = panel
        .post("/servers/123/databases", json!({ "name": "one_too_many" }))
        .await;
    assert_eq!(
        support::panel_error(&full, 400),
        format!("A server holds at most {limit} databases")
    );
}

/// Audit: `.token(t)` (and `--token t`) with a token the fixtures give the second Panel
/// account moved it to the first, while the banner and `tokens()` still named the second:
/// it then listed acct_1's servers and got 403 on acct_2's own.
#[tokio::test]
async fn an_extra_token_the_fixtures_already_give_keeps_its_owner() {
    let other = MockServer::start().await.tokens().panel_other.clone();
    let mock = MockServer::builder().token(other.clone()).start().await;
    let api = Api::new(mock.panel_uri(), &other);
    let listed = api.get("/servers").await;
    assert_eq!(listed.status, 200);
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["servers/789"], "acct_2's servers");
    assert_eq!(api.get("/servers/789").await.status, 200);
}
