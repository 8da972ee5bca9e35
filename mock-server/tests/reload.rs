//! `MockServer::reload`: new fixtures served at once, minted tokens and rate windows kept.

mod support;

use beacon_mock::{Api, Fixtures, MockServer};
use support::{panel, panel_error};

/// A fixtures directory whose `panel.json` has `from` replaced by `to` once.
fn fixtures_dir(name: &str, from: &str, to: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("beacon-reload-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    std::fs::copy(source.join("status.json"), dir.join("status.json")).unwrap();
    let panel = std::fs::read_to_string(source.join("panel.json")).unwrap();
    assert!(panel.contains(from));
    std::fs::write(dir.join("panel.json"), panel.replacen(from, to, 1)).unwrap();
    dir
}

#[tokio::test]
async fn a_reload_serves_the_new_fixtures_and_keeps_minted_tokens_and_rate_windows() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let before = api.get("/servers").await;
    assert_eq!(before.body["data"][0]["name"], "Minecraft Server");
    let remaining = before.header_u64("x-ratelimit-remaining");
    // A write that the reload undoes.
    let created = api
        .post(
            "/servers/123/databases",
            serde_json::json!({"name": "before_reload"}),
        )
        .await;
    assert!(created.status < 300, "{}", created.body);
    let minted = mock.admin(Api::Panel).mint_token("acct_2").await.unwrap();

    let dir = fixtures_dir(
        "lib",
        "\"name\": \"Minecraft Server\"",
        "\"name\": \"Reloaded Server\"",
    );
    let fixtures = Fixtures::from_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    mock.reload(&fixtures);

    // The read cache was emptied: the new name shows at once.
    let after = api.get("/servers").await;
    assert_eq!(
        after.body["data"][0]["name"], "Reloaded Server",
        "{}",
        after.body
    );
    // The rate window went on counting.
    assert_eq!(after.header_u64("x-ratelimit-remaining"), remaining - 2);
    let databases = api.get("/servers/123/databases").await;
    assert!(
        !databases.body.to_string().contains("before_reload"),
        "{}",
        databases.body
    );
    // The minted token still belongs to acct_2.
    let other = support::Api::new(mock.panel_uri(), &minted.token);
    assert_eq!(other.get("/servers/789").await.status, 200);
    panel_error(&other.get("/servers/123").await, 403);
    // A reset goes back to the reloaded fixtures.
    mock.admin(Api::Panel).reset().await.unwrap();
    assert_eq!(
        api.get("/servers").await.body["data"][0]["name"],
        "Reloaded Server"
    );
}

#[tokio::test]
async fn reload_api_leaves_the_other_api_alone() {
    let mock = MockServer::builder().only(Api::Panel).start().await;
    assert!(!mock.reload_api(Api::Status, &Fixtures::embedded()));
    assert!(mock.reload_api(Api::Panel, &Fixtures::embedded()));
    let summary = Fixtures::embedded().summary(Api::Panel);
    assert!(summary.starts_with("2 accounts, "), "{summary}");
}

#[tokio::test]
async fn tokens_follow_a_reload() {
    let mock = MockServer::start().await;
    let before = mock.tokens();
    let dir = fixtures_dir("tokens", &before.panel, "panel_reloaded_0123456789abcdef");
    let fixtures = Fixtures::from_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    mock.reload(&fixtures);
    let after = mock.tokens();
    assert_eq!(after.panel, "panel_reloaded_0123456789abcdef");
    assert_eq!(
        (&after.status, &after.panel_other),
        (&before.status, &before.panel_other)
    );
    let api = support::Api::new(mock.panel_uri(), &after.panel);
    assert_eq!(api.get("/servers").await.status, 200);
    // Status alone: the Panel tokens stay.
    mock.reload_api(Api::Status, &Fixtures::embedded());
    assert_eq!(mock.tokens().panel, after.panel);
}
