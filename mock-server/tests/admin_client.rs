//! The typed admin client, `received_requests` and `expect`, from a test's point of view.

mod support;

use std::time::Duration;

use beacon_mock::{AdminError, Api, Fault, JournalFilter, MockServer, OperationId};
use serde_json::json;
use support::{Api as Client, panel};

#[tokio::test]
async fn the_journal_is_typed_with_query_and_redacted_token() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    api.get("/servers/123/console?lines=5").await;
    let created = api
        .post("/servers/123/databases", json!({"name": "typed"}))
        .await;
    let admin = mock.admin(Api::Panel);
    let all = admin.journal(JournalFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].api, Api::Panel);
    assert_eq!(all[0].method, "GET");
    assert_eq!(all[0].path, "/api/v1/servers/123/console");
    assert_eq!(all[0].query.as_deref(), Some("lines=5"));
    assert_eq!(all[0].status, 200);
    assert_eq!(all[0].token.as_deref(), Some("panel_…4f60"));
    assert!(all[0].is(OperationId::GetConsole) && !all[0].is(OperationId::SendCommand));
    let posts = admin
        .journal(
            JournalFilter::default()
                .method("post")
                .status(created.status),
        )
        .await
        .unwrap();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].is(OperationId::CreateDatabase));
    assert!(format!("{all:?}").find(&mock.tokens().panel).is_none());
}

#[tokio::test]
async fn faults_tokens_and_reset_through_the_client() {
    let mock = MockServer::start().await;
    let admin = mock.admin(Api::Panel);
    admin
        .faults()
        .add(Fault::status(503).on_path("/servers").times(1))
        .await
        .unwrap();
    let minted = admin.mint_token("acct_2").await.unwrap();
    assert_eq!(minted.principal, "acct_2");
    let client = Client::new(mock.panel_uri(), &minted.token);
    assert_eq!(client.get("/servers").await.status, 503);
    assert_eq!(client.get("/servers").await.status, 200);
    admin.revoke(&minted.token).await.unwrap();
    assert_eq!(client.get("/servers").await.status, 401);
    assert_eq!(
        admin.revoke("panel_0000").await,
        Err(AdminError::Refused {
            status: 404,
            message: "unknown token".into()
        })
    );
    assert!(matches!(
        admin
            .faults()
            .add(Fault::latency(Duration::from_secs(3_600)))
            .await,
        Err(AdminError::Refused { status: 400, .. })
    ));
    admin.reset().await.unwrap();
    assert!(
        admin
            .journal(JournalFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn received_requests_lists_both_apis() {
    let mock = MockServer::start().await;
    support::status(&mock).await.get("/pages").await;
    panel(&mock).await.get("/servers").await;
    let received = mock.received_requests();
    assert_eq!(received.len(), 2);
    assert!(received[0].is(OperationId::ListPages));
    assert!(received[1].is(OperationId::ListServers));
}

#[tokio::test]
async fn met_expectations_pass_on_drop_and_on_shutdown() {
    let mock = MockServer::start().await;
    mock.expect(OperationId::ListServers, 2);
    mock.expect(OperationId::PowerServer, 0);
    let api = panel(&mock).await;
    api.get("/servers").await;
    api.get("/servers").await;
    api.get("/servers/123").await;
    mock.verify();
    mock.shutdown().await;
}

#[tokio::test]
#[should_panic(expected = "GET /servers (list_servers): expected 2, received 1")]
async fn an_unmet_expectation_panics_when_the_mock_is_dropped() {
    let mock = MockServer::start().await;
    mock.expect(OperationId::ListServers, 2);
    panel(&mock).await.get("/servers").await;
    drop(mock);
}

#[tokio::test]
async fn journal_entries_show_headers_and_bodies_with_secrets_redacted() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    api.request("POST", "/servers/123/console")
        .header("cookie", "session=abc123secret")
        .header("x-trace", "t-1")
        .json(&json!({"command": "say hi", "token": "panel_acct2_0b9e8d7c6a5f4e31"}))
        .send()
        .await
        .unwrap();
    let long = "x".repeat(6 * 1024);
    api.post("/servers/123/databases", json!({ "name": long }))
        .await;
    let entries = mock
        .admin(Api::Panel)
        .journal(JournalFilter::default())
        .await
        .unwrap();
    let first = &entries[0];
    assert_eq!(first.headers["authorization"], "Bearer panel_…4f60");
    assert_eq!(first.headers["cookie"], "[redacted]");
    assert_eq!(first.headers["x-trace"], "t-1");
    assert_eq!(first.headers["content-type"], "application/json");
    let body = first.body.as_deref().unwrap();
    assert!(body.contains("\"command\":\"say hi\""), "{body}");
    assert!(body.contains("panel_…4e31"), "{body}");
    assert!(!body.contains("panel_acct2_0b9e8d7c6a5f4e31"), "{body}");
    assert!(!first.body_truncated);
    let second = &entries[1];
    assert!(second.body_truncated);
    assert_eq!(second.body.as_ref().unwrap().len(), 4 * 1024);
    let everything = format!("{entries:?}");
    assert!(!everything.contains(&mock.tokens().panel) && !everything.contains("abc123secret"));
}

/// Issue 11: a faulted request was journaled with `"token": null` although a token was sent.
#[tokio::test]
async fn a_faulted_request_is_journaled_with_its_redacted_token() {
    let mock = MockServer::start().await;
    let admin = mock.admin(Api::Panel);
    admin
        .faults()
        .add(Fault::status(500).times(1))
        .await
        .unwrap();
    assert_eq!(panel(&mock).await.get("/servers").await.status, 500);
    let entries = admin.journal(JournalFilter::default()).await.unwrap();
    assert_eq!(entries[0].status, 500);
    assert_eq!(entries[0].token.as_deref(), Some("panel_…4f60"));
}
