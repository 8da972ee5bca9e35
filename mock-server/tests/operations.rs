//! Every operation of both APIs answers as documented and its effects are visible.

mod support;

use beacon_mock::MockServer;
use beacon_spec::SchemaValidator;
use beacon_spec::catalog::{Api, OPERATIONS};
use beacon_spec::{OperationId, PanelOperation, StatusOperation};
use serde_json::json;
use support::{panel, status};

#[tokio::test]
async fn list_pages_returns_the_workspaces_pages() {
    let mock = MockServer::start().await;
    let reply = status(&mock).await.get("/pages").await;
    assert_eq!(reply.status, 200);
    let slugs: Vec<&str> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme-cloud", "acme-internal"]);
}

#[tokio::test]
async fn a_created_incident_appears_first_under_its_page() {
    let mock = MockServer::start().await;
    let api = status(&mock).await;
    let created = api
        .post(
            "/pages/acme-cloud/incidents",
            json!({"name": "API latency", "impact": "major"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let incident = &created.body["data"];
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "major");
    assert_eq!(incident["page_id"], "pg_1a2b3c4d5e6f");
    assert_eq!(incident["resolved_at"], json!(null));
    let listed = api.get("/pages/acme-cloud/incidents").await;
    assert_eq!(listed.body["data"][0], *incident);
    let page = api.get("/pages/acme-cloud").await;
    assert_eq!(page.body["data"]["slug"], "acme-cloud");
}

#[tokio::test]
async fn a_resolved_incident_has_resolved_at() {
    let mock = MockServer::start().await;
    let created = status(&mock)
        .await
        .post(
            "/pages/acme-cloud/incidents",
            json!({"name": "Done", "status": "resolved", "message": "fixed"}),
        )
        .await;
    assert_eq!(
        created.body["data"]["resolved_at"],
        created.body["data"]["created_at"]
    );
    assert_eq!(created.body["data"]["message"], "fixed");
}

#[tokio::test]
async fn pages_of_another_workspace_are_not_found() {
    let mock = MockServer::start().await;
    let reply = status(&mock).await.get("/pages/globex").await;
    support::status_error(&reply, 404, "not_found");
}

#[tokio::test]
async fn power_actions_change_the_status_seen_in_list_and_detail() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for (action, expected) in [
        ("stop", "stopped"),
        ("start", "running"),
        ("kill", "stopped"),
        ("restart", "running"),
    ] {
        let reply = api.post("/servers/123", json!({"action": action})).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.body["data"]["message"],
            format!("Server {action} initiated")
        );
        assert_eq!(
            api.get("/servers/123").await.body["data"]["status"],
            expected
        );
        let list = api.get("/servers").await;
        assert_eq!(list.body["data"][0]["status"], expected, "after {action}");
    }
}

#[tokio::test]
async fn console_returns_the_most_recent_lines_oldest_first() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let default = api.get("/servers/123/console").await;
    assert_eq!(default.body["data"]["logs"].as_array().unwrap().len(), 100);
    assert_eq!(default.body["data"]["totalLines"], 156);
    let three = api.get("/servers/123/console?lines=3").await;
    let messages: Vec<&str> = three.body["data"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "Server started successfully",
            "Loading world: world",
            "Done (5.2s)! For help, type \"help\""
        ]
    );
    let all = api.get("/servers/123/console?lines=1000").await;
    assert_eq!(all.body["data"]["logs"].as_array().unwrap().len(), 156);
}

#[tokio::test]
async fn a_console_command_appears_in_later_logs() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let sent = api
        .post(
            "/servers/123/console",
            json!({"command": "say Hello from the API!"}),
        )
        .await;
    assert_eq!(sent.status, 200);
    assert_eq!(sent.body["data"]["message"], "Command sent successfully");
    assert_eq!(sent.body["data"]["command"], "say Hello from the API!");
    let logs = api.get("/servers/123/console?lines=1").await;
    assert!(
        logs.body["data"]["logs"][0]["message"]
            .as_str()
            .unwrap()
            .contains("say Hello from the API!")
    );
    assert_eq!(logs.body["data"]["totalLines"], 157);
}

#[tokio::test]
async fn a_created_database_is_listed_without_its_password() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let created = api
        .post(
            "/servers/123/databases",
            json!({"name": "player_data", "remote": "%"}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let data = &created.body["data"];
    assert_eq!(data["id"], "db_player_data");
    assert_eq!(data["name"], "s123_player_data");
    assert_eq!(data["username"], "s123_playerdata");
    let password = data["password"].as_str().unwrap();
    assert_eq!(
        data["connectionString"],
        format!("mysql://s123_playerdata:{password}@mysql.beaconhosting.org:3306/s123_player_data")
    );
    let list = api.get("/servers/123/databases").await;
    let listed = list.body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[2]["name"], "s123_player_data");
    assert!(listed[2].get("password").is_none());
    assert!(!list.body.to_string().contains(password));
}

/// Every success response of every operation validates against its generated schema.
#[tokio::test]
async fn every_operation_answers_with_its_schema() {
    let mock = MockServer::start().await;
    let mut answered = Vec::new();
    for op in OPERATIONS {
        let (api, params): (_, &[(&str, &str)]) = match op.api {
            Api::Status => (status(&mock).await, &[("slug", "acme-cloud")]),
            Api::Panel => (panel(&mock).await, &[("serverId", "123")]),
        };
        let path = op.render_path(params);
        // Exhaustive: a new operation does not compile here until it has a body (or none).
        let body = match op.id {
            OperationId::Status(StatusOperation::CreateIncident) => json!({"name": "Schema check"}),
            OperationId::Panel(PanelOperation::PowerServer) => json!({"action": "restart"}),
            OperationId::Panel(PanelOperation::SendCommand) => json!({"command": "list"}),
            OperationId::Panel(PanelOperation::CreateDatabase) => json!({"name": "schema_check"}),
            OperationId::Status(
                StatusOperation::ListPages
                | StatusOperation::GetPage
                | StatusOperation::ListIncidents,
            )
            | OperationId::Panel(
                PanelOperation::ListServers
                | PanelOperation::GetServer
                | PanelOperation::GetConsole
                | PanelOperation::ListDatabases,
            ) => json!(null),
        };
        let reply = match op.method.as_str() {
            "GET" => api.get(&path).await,
            _ => api.post(&path, body).await,
        };
        assert_eq!(
            reply.status, op.success_status,
            "{} {}",
            op.name, reply.body
        );
        let violations = SchemaValidator::new(&op.response).violations(&reply.body);
        assert!(violations.is_empty(), "{}: {violations:?}", op.name);
        answered.push(op.id);
    }
    // Every operation id, each once: fails if the catalog loses or repeats one.
    answered.sort();
    let mut all: Vec<OperationId> = OperationId::all().collect();
    all.sort();
    assert_eq!(answered, all);
}
