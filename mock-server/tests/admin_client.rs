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

/// One line as a test's own [`beacon_mock::RequestLog`] keeps it.
type Line = (Api, String, String, u16, std::time::SystemTime);

/// What a [`beacon_mock::RequestLog`] of a test's own was given.
#[derive(Default, Clone)]
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<Line>>>);

impl beacon_mock::RequestLog for Lines {
    fn log(&self, line: &beacon_mock::RequestLine<'_>) {
        self.0.lock().unwrap().push((
            line.api,
            line.method.to_owned(),
            line.path.to_owned(),
            line.status,
            line.at,
        ));
    }
}

#[tokio::test]
async fn a_request_log_gets_one_line_per_beacon_request() {
    let lines = Lines::default();
    let mock = MockServer::builder()
        .request_log(lines.clone())
        .start()
        .await;
    panel(&mock).await.get("/servers/123/console?lines=5").await;
    let status = Client::new(
        mock.status_uri(),
        "bkn_live_not_issued_00000000000000000000",
    );
    status.get("/pages").await;
    // Admin calls are not Beacon requests: no line.
    let journal = mock.received_requests();
    let lines = lines.0.lock().unwrap().clone();
    let summary: Vec<_> = lines
        .iter()
        .map(|(api, method, path, status, _)| (*api, method.as_str(), path.as_str(), *status))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Api::Panel,
                "GET",
                "/api/v1/servers/123/console?lines=5",
                200
            ),
            (Api::Status, "GET", "/api/v1/pages", 401),
        ]
    );
    assert_eq!(journal.len(), lines.len());
    for (api, .., at) in &lines {
        // `received_requests` lists the Status API's journal first.
        let entry = journal.iter().find(|e| e.api == *api).unwrap();
        let at = humantime::format_rfc3339_millis(*at).to_string();
        assert_eq!(
            entry.at, at,
            "the journal shows the line's time (to the millisecond)"
        );
    }
}

#[tokio::test]
async fn a_fault_the_mock_cannot_apply_is_refused_and_latency_rounds_up() {
    let mock = MockServer::start().await;
    let admin = mock.admin(Api::Panel);
    // JSON has no NaN: sent as text, refused, instead of as null (no ratio at all).
    let refused = admin.faults().add(Fault::status(503).ratio(f64::NAN)).await;
    assert!(
        matches!(&refused, Err(AdminError::Refused { status: 400, .. })),
        "{refused:?}"
    );
    admin
        .faults()
        .add(Fault::latency(Duration::from_micros(500)).times(1))
        .await
        .unwrap();
    let root = mock.panel_uri().trim_end_matches("/api/v1").to_owned();
    let listed: serde_json::Value = reqwest::get(format!("{root}/__admin/faults"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["faults"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["faults"][0]["fault"]["latency_ms"], 1, "{listed}");
}

#[tokio::test]
async fn options_the_mock_cannot_serve_with_are_refused_before_it_binds() {
    let options: [(beacon_mock::MockServerBuilder, &str); 8] = [
        (
            MockServer::builder().admin_token("my admin token"),
            "admin_token",
        ),
        (MockServer::builder().token(""), "token"),
        // The Status format's prefix, but a token Status would never accept.
        (MockServer::builder().token("bkn_live_short"), "token"),
        (MockServer::builder().rate_limit(0), "rate_limit"),
        (
            MockServer::builder().rate_limit_window(Duration::MAX),
            "rate_limit_window",
        ),
        (
            MockServer::builder().rate_limit_window(Duration::ZERO),
            "rate_limit_window",
        ),
        (
            MockServer::builder().read_timeout(Duration::MAX),
            "read_timeout",
        ),
        (
            MockServer::builder().read_timeout(Duration::ZERO),
            "read_timeout",
        ),
    ];
    for (builder, option) in options {
        match builder.try_start().await {
            Err(beacon_mock::StartError::InvalidOption { option: named, .. }) => {
                assert_eq!(named, option);
            }
            other => panic!("{option}: not refused: {other:?}"),
        }
    }
    let error = MockServer::builder()
        .admin_token("my admin token")
        .try_start()
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid admin_token: a token is 1 to 256 visible ASCII characters without spaces"
    );
    // The bounds themselves are accepted.
    let mock = MockServer::builder()
        .rate_limit_window(beacon_mock::MAX_RATE_LIMIT_WINDOW)
        .read_timeout(beacon_mock::MAX_READ_TIMEOUT)
        .admin_token("admin_token_0123456789")
        .try_start()
        .await
        .unwrap();
    mock.admin(Api::Panel).reset().await.unwrap();
}

/// Audit: a token was shown in full in a header whose name names no secret, in a JSON string
/// under an ordinary key, and in the path (journal and log line alike).
#[tokio::test]
async fn a_token_is_redacted_wherever_the_request_carries_it() {
    let other = "panel_acct2_0b9e8d7c6a5f4e31";
    let lines = Lines::default();
    let mock = MockServer::builder()
        .request_log(lines.clone())
        .start()
        .await;
    let api = panel(&mock).await;
    api.request("POST", "/servers/123/console")
        .header("x-auth", other)
        .json(&json!({ "command": format!("say {other}") }))
        .send()
        .await
        .unwrap();
    api.get(&format!("/servers/{other}")).await;
    let entries = mock
        .admin(Api::Panel)
        .journal(JournalFilter::default())
        .await
        .unwrap();
    assert_eq!(entries[0].headers["x-auth"], "panel_…4e31");
    assert_eq!(
        entries[0].body.as_deref(),
        Some(r#"{"command":"say panel_…4e31"}"#)
    );
    assert_eq!(entries[1].path, "/api/v1/servers/panel_…4e31");
    let logged = lines.0.lock().unwrap().clone();
    assert_eq!(logged[1].2, "/api/v1/servers/panel_…4e31");
    let everything = format!("{entries:?} {logged:?}");
    assert!(!everything.contains(other), "{everything}");
}
