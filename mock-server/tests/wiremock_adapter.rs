//! The same Beacon behaviour mounted on a wiremock server, overridable per request.

use beacon_spec::Api;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn get(url: String, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn mounted_behaviour_matches_the_mock_and_can_be_overridden() {
    let server = MockServer::start().await;
    let tokens = beacon_mock::wiremock::mount(&server, Api::Panel).await;
    let base = format!("{}/api/v1", server.uri());

    let (status, headers, body) = get(format!("{base}/servers"), &tokens.panel).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-ratelimit-limit"], "180");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["data"][0]["id"], "servers/123");
    let (status, _, body) = get(format!("{base}/servers"), "wrong").await;
    assert_eq!((status, body["success"].clone()), (401, json!(false)));
    let (status, _, _) = get(format!("{base}/servers/789"), &tokens.panel).await;
    assert_eq!(status, 403);

    Mock::given(method("GET"))
        .and(path("/api/v1/servers/123"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"success": false, "error": "boom"})),
        )
        .mount(&server)
        .await;
    let (status, _, body) = get(format!("{base}/servers/123"), &tokens.panel).await;
    assert_eq!((status, body["error"].clone()), (500, json!("boom")));
    let (status, _, _) = get(format!("{base}/servers/123/console"), &tokens.panel).await;
    assert_eq!(
        status, 200,
        "unmatched requests still reach the Beacon behaviour"
    );
}

#[tokio::test]
async fn state_persists_across_requests_on_the_wiremock_server() {
    let server = MockServer::start().await;
    let tokens = beacon_mock::wiremock::mount(&server, Api::Status).await;
    let base = format!("{}/api/v1", server.uri());
    let created = reqwest::Client::new()
        .post(format!("{base}/pages/acme-cloud/incidents"))
        .bearer_auth(&tokens.status)
        .json(&json!({"name": "via wiremock"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let (_, headers, body) =
        get(format!("{base}/pages/acme-cloud/incidents"), &tokens.status).await;
    assert_eq!(body["data"][0]["name"], "via wiremock");
    assert_eq!(headers["x-ratelimit-remaining"], "58");
}

/// Audit: `mount_with` took options that `try_start` refuses, and then answered every
/// request 429 (a limit of 0).
#[tokio::test]
async fn options_the_mock_cannot_serve_with_are_refused_before_mounting() {
    let server = MockServer::start().await;
    for (options, named) in [
        (
            beacon_mock::MockServer::builder().rate_limit(0),
            "rate_limit",
        ),
        (
            beacon_mock::MockServer::builder().token("has space"),
            "token",
        ),
        (
            beacon_mock::MockServer::builder().rate_limit_window(std::time::Duration::ZERO),
            "rate_limit_window",
        ),
    ] {
        let refused = beacon_mock::wiremock::try_mount_with(&server, Api::Panel, options).await;
        match refused {
            Err(beacon_mock::StartError::InvalidOption { option, .. }) => {
                assert_eq!(option, named)
            }
            other => panic!("{named}: {other:?}"),
        }
    }
    // Nothing was mounted: wiremock's own 404 answers.
    let answer = reqwest::get(format!("{}/api/v1/servers", server.uri()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
}

/// Audit: through wiremock, an admin body over 64 KiB was read as none (201, a token for the
/// wrong account), and a CORS preflight's 204 said `Content-Type: application/json`.
#[tokio::test]
async fn an_oversized_admin_body_is_413_and_a_preflight_has_no_content_type() {
    let server = MockServer::start().await;
    beacon_mock::wiremock::mount(&server, Api::Panel).await;
    let body = format!(r#"{{"principal":"acct_2"{}}}"#, " ".repeat(70_000));
    let answer = reqwest::Client::new()
        .post(format!("{}/__admin/tokens", server.uri()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/servers", server.uri()),
        )
        .header("origin", "http://app.test")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(
        preflight.headers().get("content-type").is_none(),
        "{:?}",
        preflight.headers()
    );
}
