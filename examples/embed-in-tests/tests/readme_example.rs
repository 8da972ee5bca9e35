//! The README's Rust example, verbatim (`tests/readme_in_sync.rs` keeps them equal).

use std::time::Duration;

use beacon_mock::{Api, Fault, JournalFilter, MockServer, OperationId};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mock = MockServer::builder()
        .rate_limit_window(Duration::from_secs(2))
        .start()
        .await; // stops when `mock` is dropped
    let url = format!("{}/servers", mock.panel_uri());
    let token = &mock.tokens().panel;
    mock.expect(OperationId::PowerServer, 0); // checked when `mock` is dropped

    // The admin API, typed; it runs in-process, without HTTP.
    let admin = mock.admin(Api::Panel);
    let slow = Fault::latency(Duration::from_millis(200))
        .on_path("/servers")
        .times(1);
    admin.faults().add(slow).await.unwrap();
    let minted = admin.mint_token("acct_2").await.unwrap();

    // ... the app under test calls `url` with `token` or `minted.token` ...
    let _ = (url, token);

    let posts = admin
        .journal(JournalFilter::default().method("POST"))
        .await
        .unwrap();
    assert!(posts.is_empty());
    assert!(mock.received_requests().iter().all(|r| r.status < 500));
    admin.revoke(&minted.token).await.unwrap();
    admin.reset().await.unwrap();
}
