//! An application's own Panel client, tested against the mock over HTTP: the shape a test of
//! an app that calls Beacon takes.

use beacon_mock::{Api, JournalFilter, MockServer, OperationId};

/// The application's code: lists the names of the account's servers.
struct PanelClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl PanelClient {
    async fn server_names(&self) -> Result<Vec<String>, reqwest::Error> {
        let body: serde_json::Value = self
            .http
            .get(format!("{}/servers", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|server| server["name"].as_str().map(str::to_owned))
            .collect())
    }
}

#[tokio::test]
async fn the_app_lists_its_servers_with_its_own_token() {
    // Arrange
    let mock = MockServer::start().await;
    mock.expect(OperationId::ListServers, 1);
    let app = PanelClient {
        base: mock.panel_uri(),
        token: mock.tokens().panel_other.clone(),
        http: reqwest::Client::new(),
    };
    // Act
    let names = app.server_names().await.expect("the mock answers");
    // Assert
    assert!(!names.is_empty());
    let sent = mock
        .admin(Api::Panel)
        .journal(JournalFilter::default().path("/servers"))
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].is(OperationId::ListServers));
    assert_eq!(sent[0].principal.as_deref(), Some("acct_2"));
    assert_eq!(sent[0].status, 200);
}

#[tokio::test]
async fn the_app_reports_a_revoked_token() {
    let mock = MockServer::start().await;
    let admin = mock.admin(Api::Panel);
    let minted = admin.mint_token("acct_1").await.unwrap();
    admin.revoke(&minted.token).await.unwrap();
    let app = PanelClient {
        base: mock.panel_uri(),
        token: minted.token,
        http: reqwest::Client::new(),
    };
    let error = app
        .server_names()
        .await
        .expect_err("a revoked token is refused");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
}
