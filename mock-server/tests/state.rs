//! Concurrent writes lose nothing.

mod support;

use std::sync::Arc;

use beacon_mock::MockServer;
use serde_json::json;
use support::{panel, status};

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
