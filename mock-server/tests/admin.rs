//! The test-only admin API: reset, journal, tokens, faults.

mod support;

use std::time::{Duration, Instant};

use beacon_mock::MockServer;
use serde_json::{Value, json};
use support::{Api, panel, panel_error, status, status_error};

async fn admin(mock_base: &str, method: &str, route: &str, body: Option<Value>) -> (u16, Value) {
    let root = mock_base.trim_end_matches("/api/v1");
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, format!("{root}/__admin{route}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Injects `fault` through the admin API at `mock_base`.
async fn inject(mock_base: &str, fault: Value) {
    let (code, reply) = admin(mock_base, "POST", "/faults", Some(fault)).await;
    assert_eq!(code, 201, "{reply}");
}

#[tokio::test]
async fn reset_restores_fixtures_and_rate_windows() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    api.post("/servers/123", json!({"action": "stop"})).await;
    api.post("/servers/123/databases", json!({"name": "temp"}))
        .await;
    let (code, _) = admin(&mock.panel_uri(), "POST", "/reset", None).await;
    assert_eq!(code, 200);
    let detail = api.get("/servers/123").await;
    assert_eq!(detail.body["data"]["status"], "running");
    assert_eq!(
        detail.header_u64("x-ratelimit-remaining"),
        179,
        "window reset too"
    );
    assert_eq!(
        api.get("/servers/123/databases").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn the_journal_records_requests_with_redacted_tokens_and_filters() {
    let mock = MockServer::start().await;
    let api = status(&mock).await;
    api.get("/pages").await;
    api.get("/pages/nope").await;
    let (_, all) = admin(&mock.status_uri(), "GET", "/requests", None).await;
    let entries = all["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["method"], "GET");
    assert_eq!(entries[0]["path"], "/api/v1/pages");
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[0]["token"], "bkn_live_…o5p6");
    let at = entries[0]["at"].as_str().unwrap();
    assert!(
        at.len() >= 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );
    assert!(!all.to_string().contains(&mock.tokens().status));
    let (_, missing) = admin(&mock.status_uri(), "GET", "/requests?status=404", None).await;
    assert_eq!(missing["requests"].as_array().unwrap().len(), 1);
    let (code, _) = admin(&mock.status_uri(), "GET", "/requests?colour=red", None).await;
    assert_eq!(code, 400);
    // A token in the query is redacted as in the header.
    api.get(&format!("/pages?token={}", mock.tokens().status))
        .await;
    let (_, all) = admin(&mock.status_uri(), "GET", "/requests", None).await;
    let entries = all["requests"].as_array().unwrap();
    assert_eq!(entries[2]["path"], "/api/v1/pages?token=bkn_live_…o5p6");
    assert!(!all.to_string().contains(&mock.tokens().status));
}

#[tokio::test]
async fn tokens_without_a_known_prefix_show_only_their_last_four_characters() {
    let mock = MockServer::builder()
        .token("mysecretpaneltoken_1")
        .start()
        .await;
    let api = Api::new(mock.panel_uri(), "mysecretpaneltoken_1");
    assert_eq!(api.get("/servers").await.status, 200);
    let (_, journal) = admin(&mock.panel_uri(), "GET", "/requests", None).await;
    assert_eq!(journal["requests"][0]["token"], "…en_1");
    assert!(!journal.to_string().contains("mysecret"));
}

#[tokio::test]
async fn minted_tokens_work_until_revoked() {
    let mock = MockServer::start().await;
    let (code, minted) = admin(&mock.status_uri(), "POST", "/tokens", Some(json!({}))).await;
    assert_eq!(code, 201);
    let token = minted["token"].as_str().unwrap().to_owned();
    assert!(
        beacon_spec::status::StatusToken::is_well_formed(&token),
        "{token}"
    );
    let api = Api::new(mock.status_uri(), &token);
    assert_eq!(api.get("/pages").await.status, 200);
    let (code, _) = admin(
        &mock.status_uri(),
        "POST",
        "/tokens/revoke",
        Some(json!({ "token": token })),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        status_error(&api.get("/pages").await, 401, "unauthorized"),
        "Token has been revoked"
    );
    let (code, minted) = admin(
        &mock.panel_uri(),
        "POST",
        "/tokens",
        Some(json!({"principal": "acct_2"})),
    )
    .await;
    assert_eq!(code, 201);
    let other = Api::new(mock.panel_uri(), minted["token"].as_str().unwrap());
    assert_eq!(other.get("/servers/789").await.status, 200);
    let (code, _) = admin(
        &mock.panel_uri(),
        "POST",
        "/tokens",
        Some(json!({"principal": "acct_9"})),
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn injected_statuses_apply_to_the_next_n_matching_requests() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let (code, _) = admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"status": 503, "count": 2, "path": "/servers/123"})),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        api.get("/servers").await.status,
        200,
        "other paths are untouched"
    );
    panel_error(&api.get("/servers/123").await, 503);
    panel_error(&api.get("/servers/123/console").await, 503);
    assert_eq!(api.get("/servers/123").await.status, 200, "count exhausted");
    // A path as the journal shows it, with /api/v1, matches too.
    let (code, _) = admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"status": 503, "count": 1, "path": "/api/v1/servers/123"})),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(api.get("/servers").await.status, 200, "another path");
    panel_error(&api.get("/servers/123/console").await, 503);
    let status_api = status(&mock).await;
    inject(&mock.status_uri(), json!({"status": 500, "count": 1})).await;
    status_error(&status_api.get("/pages").await, 500, "internal_error");
    // An injected 429 carries Retry-After where a real one does: on Status (Panel
    // documents none, and says when to retry in X-RateLimit-Reset). Like a real one, it has
    // every rate-limit header of its API, none remaining (audit: it had none on Panel).
    for (uri, get, retry_after, reset) in [
        (mock.status_uri(), "/pages", Some("1"), None),
        (mock.panel_uri(), "/servers", None, Some("1")),
    ] {
        admin(
            &uri,
            "POST",
            "/faults",
            Some(json!({"status": 429, "count": 1})),
        )
        .await;
        let answer = reqwest::Client::new()
            .get(format!("{uri}{get}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 429, "{uri}");
        let header = answer
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap());
        assert_eq!(header, retry_after, "{uri}");
        let header = |name: &str| answer.headers().get(name).map(|v| v.to_str().unwrap());
        assert!(header("x-ratelimit-limit").is_some(), "{uri}");
        assert_eq!(header("x-ratelimit-remaining"), Some("0"), "{uri}");
        assert_eq!(header("x-ratelimit-reset"), reset, "{uri}");
    }
}

#[tokio::test]
async fn injected_latency_and_dropped_connections() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"latency_ms": 300, "count": 1})),
    )
    .await;
    let started = Instant::now();
    assert_eq!(api.get("/servers").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"drop": true, "count": 1})),
    )
    .await;
    let dropped = api.request("GET", "/servers").send().await;
    assert!(
        dropped.is_err(),
        "the connection was dropped without a response"
    );
    assert_eq!(api.get("/servers").await.status, 200);
}

#[tokio::test]
async fn a_ratio_fault_hits_about_that_share_and_can_be_cleared() {
    let mock = MockServer::builder().rate_limit(10_000).start().await;
    let api = panel(&mock).await;
    admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"status": 500, "ratio": 0.5})),
    )
    .await;
    let mut failed = 0;
    for _ in 0..200 {
        if api.get("/servers").await.status == 500 {
            failed += 1;
        }
    }
    assert!(
        (50..=150).contains(&failed),
        "{failed} of 200 failed at ratio 0.5"
    );
    let (code, _) = admin(&mock.panel_uri(), "DELETE", "/faults", None).await;
    assert_eq!(code, 200);
    assert_eq!(api.get("/servers").await.status, 200);
}

#[tokio::test]
async fn bad_admin_requests_are_refused_clearly() {
    let mock = MockServer::start().await;
    for body in [
        json!({}),
        json!({"status": 200}),
        json!({"status": 500, "ratio": 2.0}),
        json!({"status": 500, "count": 0}),
        json!({"bogus": 1}),
        // No request path could match it.
        json!({"status": 500, "path": "servers"}),
    ] {
        let (code, reply) = admin(&mock.panel_uri(), "POST", "/faults", Some(body.clone())).await;
        assert_eq!(code, 400, "{body}");
        assert!(reply["error"].is_string());
    }
    // A body that is no JSON object is refused without naming a Rust type (audit: "expected
    // struct MintRequest"), and no body at all lacks what is required (audit: a 404 "unknown
    // token").
    for (route, body) in [("/tokens", json!(null)), ("/faults", json!([1]))] {
        let (code, reply) = admin(&mock.panel_uri(), "POST", route, Some(body)).await;
        assert_eq!(code, 400, "{route}");
        assert_eq!(
            reply["error"], "invalid body: expected a JSON object",
            "{route}"
        );
    }
    let (code, reply) = admin(&mock.panel_uri(), "POST", "/tokens/revoke", None).await;
    assert_eq!(code, 400, "{reply}");
    assert_eq!(reply["error"], "invalid body: missing field `token`");
    let (code, _) = admin(&mock.panel_uri(), "GET", "/nope", None).await;
    assert_eq!(code, 404);
    let (code, _) = admin(&mock.panel_uri(), "PUT", "/reset", None).await;
    assert_eq!(code, 405);
    let (code, every) = admin(
        &mock.panel_uri(),
        "GET",
        "/requests?method=&path=&status=",
        None,
    )
    .await;
    assert_eq!(code, 200, "an empty filter filters nothing: {every}");
    for filter in ["status=99999", "status=99", "status=abc"] {
        let (code, reply) = admin(
            &mock.panel_uri(),
            "GET",
            &format!("/requests?{filter}"),
            None,
        )
        .await;
        assert_eq!(code, 400, "{filter}");
        assert_eq!(
            reply["error"],
            "status must be an HTTP status code (an integer from 100 to 599)"
        );
    }
}

/// Each admin route answers exactly the methods its 405's `Allow` names.
#[tokio::test]
async fn an_admin_405_names_the_methods_the_route_answers() {
    let mock = MockServer::start().await;
    let client = reqwest::Client::new();
    let root = mock.panel_uri().trim_end_matches("/api/v1").to_owned();
    let routes = [
        "/openapi.json",
        "/reset",
        "/requests",
        "/tokens",
        "/tokens/revoke",
    ];
    for route in routes.into_iter().chain(["/faults"]) {
        let mut answered = Vec::new();
        let mut refused = Vec::new();
        for method in ["GET", "POST", "DELETE", "PUT", "PATCH"] {
            let url = format!("{root}/__admin{route}");
            let response = client
                .request(method.parse().unwrap(), url)
                .send()
                .await
                .unwrap();
            if response.status() == 405 {
                let allow = response.headers()["allow"].to_str().unwrap().to_owned();
                let body: Value = response.json().await.unwrap();
                refused.push((method, allow, body["error"].clone()));
            } else {
                answered.push(method);
            }
        }
        let allow = answered.join(", ");
        assert!(!answered.is_empty() && !refused.is_empty(), "{route}");
        for (method, header, error) in refused {
            assert_eq!(header, allow, "{method} {route}");
            assert_eq!(error, format!("{method} is not allowed here; use {allow}"));
        }
    }
}

#[tokio::test]
async fn a_browser_page_of_another_origin_cannot_drive_the_admin_api() {
    let mock = MockServer::start().await;
    let addr = mock.addr(beacon_mock::Api::Panel).unwrap();
    let client = reqwest::Client::new();
    let revoke = |origin: String, content_type: &'static str| {
        client
            .post(format!("http://{addr}/__admin/tokens/revoke"))
            .header("origin", origin)
            .header("content-type", content_type)
            .body(format!(r#"{{"token": "{}"}}"#, mock.tokens().panel))
            .send()
    };
    for origin in [
        "http://evil.example".to_owned(),
        format!("http://evil.example:{}", addr.port()),
        "null".to_owned(),
        format!("https://127.0.0.1:{}", addr.port()),
        format!("http://127.0.0.1:{}", addr.port() ^ 1),
    ] {
        let refused = revoke(origin.clone(), "text/plain").await.unwrap();
        assert_eq!(refused.status(), 403, "{origin}");
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    let fault = client
        .post(format!("http://{addr}/__admin/faults"))
        .header("origin", "http://evil.example")
        .json(&json!({"status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 403);
    let api = panel(&mock).await;
    assert_eq!(
        api.get("/servers").await.status,
        200,
        "token and faults untouched"
    );
    // The listener's own origin is fine.
    let own = revoke(
        format!("http://localhost:{}", addr.port()),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn a_request_addressed_to_another_host_is_refused_dns_rebinding() {
    let mock = MockServer::start().await;
    let addr = mock.addr(beacon_mock::Api::Status).unwrap();
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/__admin/requests"))
        .header("host", format!("rebound.example:{}", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn admin_bodies_must_be_json() {
    let mock = MockServer::start().await;
    let addr = mock.addr(beacon_mock::Api::Panel).unwrap();
    let client = reqwest::Client::new();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = client
            .post(format!("http://{addr}/__admin/faults"))
            .body(r#"{"status": 503}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
    }
    let (_, faults) = admin(&mock.panel_uri(), "GET", "/faults", None).await;
    assert_eq!(faults["faults"], json!([]));
    let reset = client
        .post(format!("http://{addr}/__admin/reset"))
        .header("content-type", "application/json; charset=utf-8")
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200, "an empty JSON body is fine");
}

#[tokio::test]
async fn admin_paths_match_exactly() {
    let mock = MockServer::start().await;
    for route in ["/__admin/reset", "/reset/", "//reset", "/Reset"] {
        let (code, reply) = admin(&mock.panel_uri(), "POST", route, None).await;
        assert_eq!(code, 404, "{route}");
        assert!(reply["error"].is_string());
    }
    let root = mock.panel_uri().replace("/api/v1", "");
    let response = reqwest::Client::new()
        .post(format!("{root}/__admin/__admin/__admin/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_admin_token_is_required_once_given() {
    let mock = MockServer::builder()
        .admin_token("owner-secret-1")
        .start()
        .await;
    assert_eq!(mock.admin_token(), Some("owner-secret-1"));
    let root = mock.panel_uri().replace("/api/v1", "");
    let client = reqwest::Client::new();
    for token in [None, Some("owner-secret-2"), Some("")] {
        let mut request = client.get(format!("{root}/__admin/requests"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{token:?}");
    }
    let allowed = client
        .get(format!("{root}/__admin/requests"))
        .bearer_auth("owner-secret-1")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}

/// Finding 6 of issue 10: binding beyond loopback left the admin API open to the network.
#[tokio::test]
async fn a_listener_beyond_loopback_gets_a_generated_admin_token() {
    let unspecified = "0.0.0.0:0".parse().unwrap();
    let mock = MockServer::builder()
        .only(beacon_mock::Api::Panel)
        .panel_addr(unspecified)
        .start()
        .await;
    let token = mock.admin_token().expect("generated").to_owned();
    assert!(token.len() >= 32, "{token}");
    let port = mock.addr(beacon_mock::Api::Panel).unwrap().port();
    let client = reqwest::Client::new();
    let mint = |bearer: Option<String>| {
        let mut request = client
            .post(format!("http://127.0.0.1:{port}/__admin/tokens"))
            .json(&json!({"principal": "acct_2"}));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    assert_eq!(mint(None).await.unwrap().status(), 401);
    assert_eq!(mint(Some(token)).await.unwrap().status(), 201);
    let loopback_only = MockServer::start().await;
    assert_eq!(loopback_only.admin_token(), None);
}

/// Finding 7 of issue 10: faults were unbounded, and each request scanned them all.
#[tokio::test]
async fn the_fault_list_is_bounded_with_a_clear_409() {
    let mock = MockServer::start().await;
    for n in 0..1_000 {
        let (code, _) = admin(
            &mock.panel_uri(),
            "POST",
            "/faults",
            Some(json!({"status": 503, "path": format!("/nowhere/{n}")})),
        )
        .await;
        assert_eq!(code, 201, "fault {n}");
    }
    let (code, reply) = admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"status": 503})),
    )
    .await;
    assert_eq!(code, 409, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("1000 faults"),
        "{reply}"
    );
    let (code, reply) = admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"status": 503, "path": "/".repeat(4096)})),
    )
    .await;
    assert_eq!(code, 400, "{reply}");
    admin(&mock.panel_uri(), "DELETE", "/faults", None).await;
    let (code, _) = admin(
        &mock.panel_uri(),
        "POST",
        "/faults",
        Some(json!({"status": 503, "count": 1})),
    )
    .await;
    assert_eq!(code, 201);
}

#[tokio::test]
async fn each_listener_serves_its_own_openapi_document_byte_for_byte() {
    let mock = MockServer::start().await;
    for (base, name) in [(mock.status_uri(), "status"), (mock.panel_uri(), "panel")] {
        let root = base.trim_end_matches("/api/v1");
        let response = reqwest::get(format!("{root}/__admin/openapi.json"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let served = response.bytes().await.unwrap();
        let path = format!("{}/../spec/openapi/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\r\n", "\n");
        assert!(
            served == committed.as_bytes(),
            "{name}: the served document differs from spec/openapi/{name}.json"
        );
    }
    // Still the admin API: another origin is refused.
    let root = mock.panel_uri().trim_end_matches("/api/v1").to_owned();
    let refused = reqwest::Client::new()
        .get(format!("{root}/__admin/openapi.json"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn the_journal_matches_its_generated_schema() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    api.get("/servers?x=1").await;
    api.post("/servers/123/console", json!({"command": "say hi"}))
        .await;
    reqwest::get(format!("{}/servers", mock.panel_uri()))
        .await
        .unwrap();
    let (code, journal) = admin(&mock.panel_uri(), "GET", "/requests", None).await;
    assert_eq!(code, 200);
    assert_eq!(journal["requests"].as_array().unwrap().len(), 3);
    let validator = beacon_spec::validate::SchemaValidator::new(&beacon_spec::admin::JOURNAL);
    assert_eq!(validator.violations(&journal), vec![], "{journal}");
    // The schema can fail: an entry with a field it does not know.
    let mut broken = journal.clone();
    broken["requests"][0]["extra"] = json!(1);
    assert!(!validator.is_valid(&broken));
}

#[tokio::test]
async fn each_journal_entry_names_the_principal_its_token_authenticated_as() {
    let mock = MockServer::start().await;
    let first = panel(&mock).await;
    let second = Api::new(mock.panel_uri(), &mock.tokens().panel_other);
    let unknown = Api::new(mock.panel_uri(), "panel_nobody_000000000000");
    assert_eq!(first.get("/servers").await.status, 200);
    assert_eq!(second.get("/servers").await.status, 200);
    // Authenticated, then refused: still acct_1's request.
    assert_eq!(first.get("/servers/789").await.status, 403);
    assert_eq!(unknown.get("/servers").await.status, 401);
    mock.admin(beacon_mock::Api::Panel)
        .faults()
        .add(beacon_mock::Fault::status(503).times(1))
        .await
        .unwrap();
    assert_eq!(second.get("/servers").await.status, 503);
    assert_eq!(status(&mock).await.get("/pages").await.status, 200);

    let (code, journal) = admin(&mock.panel_uri(), "GET", "/requests", None).await;
    assert_eq!(code, 200);
    let principals: Vec<&Value> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["principal"])
        .collect();
    assert_eq!(
        principals,
        [
            &json!("acct_1"),
            &json!("acct_2"),
            &json!("acct_1"),
            &Value::Null,
            &Value::Null
        ],
        "{journal}"
    );
    let (_, journal) = admin(&mock.status_uri(), "GET", "/requests", None).await;
    assert_eq!(journal["requests"][0]["principal"], "ws_acme");
    // The typed client shows the same.
    let typed = mock
        .admin(beacon_mock::Api::Panel)
        .journal(Default::default())
        .await
        .unwrap();
    let typed: Vec<Option<&str>> = typed.iter().map(|e| e.principal.as_deref()).collect();
    assert_eq!(
        typed,
        [Some("acct_1"), Some("acct_2"), Some("acct_1"), None, None]
    );
}

#[tokio::test]
async fn a_minted_token_journals_its_principal() {
    let mock = MockServer::start().await;
    let minted = mock
        .admin(beacon_mock::Api::Panel)
        .mint_token("acct_2")
        .await
        .unwrap();
    let api = Api::new(mock.panel_uri(), &minted.token);
    assert_eq!(api.get("/servers").await.status, 200);
    let (_, journal) = admin(&mock.panel_uri(), "GET", "/requests", None).await;
    assert_eq!(journal["requests"][0]["principal"], "acct_2", "{journal}");
}

/// Audit: an admin body over 64 KiB was read as no body, so `{"principal":"acct_2", …}` minted
/// a token for acct_1 (201), a fault was refused for a field it had, and a revoke said
/// "unknown token".
#[tokio::test]
async fn an_admin_body_over_64_kib_is_refused_with_413_and_changes_nothing() {
    let mock = MockServer::start().await;
    let padded = |fields: &str| format!("{{{fields}{}}}", " ".repeat(70_000));
    for (route, body) in [
        ("/tokens", padded(r#""principal":"acct_2""#)),
        ("/faults", padded(r#""status":503"#)),
        (
            "/tokens/revoke",
            padded(r#""token":"panel_acct1_7f3c9a2b5d1e4f60""#),
        ),
    ] {
        let root = mock.panel_uri().trim_end_matches("/api/v1").to_owned();
        let answer = reqwest::Client::new()
            .post(format!("{root}/__admin{route}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 413, "{route}");
        let reply: Value = answer.json().await.unwrap();
        assert_eq!(
            reply["error"], "admin request bodies are at most 64 KiB",
            "{route}"
        );
    }
    let (_, faults) = admin(&mock.panel_uri(), "GET", "/faults", None).await;
    assert_eq!(faults["faults"], json!([]), "no fault added");
    let api = panel(&mock).await;
    assert_eq!(
        api.get("/servers").await.status,
        200,
        "the token still works"
    );
}

/// Audit: an injected answer had no rate-limit headers, though Status documents them on every
/// response and Panel (ours) on every authenticated one. It carries where the windows stand,
/// and counts against none.
#[tokio::test]
async fn an_injected_answer_says_where_the_rate_limit_windows_stand() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    assert_eq!(
        api.get("/servers")
            .await
            .header_u64("x-ratelimit-remaining"),
        179
    );
    let fault = json!({"status": 503, "count": 1, "path": "/servers"});
    inject(&mock.panel_uri(), fault.clone()).await;
    let injected = api.get("/servers").await;
    assert_eq!(injected.status, 503);
    assert_eq!(injected.header_u64("x-ratelimit-limit"), 180);
    assert_eq!(
        injected.header_u64("x-ratelimit-remaining"),
        179,
        "not counted"
    );
    assert!(injected.header_u64("x-ratelimit-reset") <= 60);
    assert_eq!(
        api.get("/servers")
            .await
            .header_u64("x-ratelimit-remaining"),
        178
    );
    // Panel does not count an unauthenticated request: no headers on one.
    inject(&mock.panel_uri(), fault).await;
    let anonymous =
        support::send(reqwest::Client::new().get(format!("{}/servers", mock.panel_uri()))).await;
    assert_eq!(anonymous.status, 503);
    assert_eq!(anonymous.header("x-ratelimit-limit"), None);
    // Status counts every request per IP: the headers are on every answer.
    let status_api = status(&mock).await;
    let before = status_api
        .get("/pages")
        .await
        .header_u64("x-ratelimit-remaining");
    inject(&mock.status_uri(), json!({"status": 500, "count": 1})).await;
    let injected = status_api.get("/pages").await;
    assert_eq!(injected.status, 500);
    assert!(injected.header("x-ratelimit-limit").is_some());
    assert_eq!(
        injected.header_u64("x-ratelimit-remaining"),
        before,
        "not counted"
    );
}
