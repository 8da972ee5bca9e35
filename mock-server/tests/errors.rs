//! Every error status of each API, in that API's envelope; bad input never panics or hangs.

mod support;

use beacon_mock::MockServer;
use serde_json::json;
use support::{Api, panel, panel_error, send, status, status_error};

#[tokio::test]
async fn missing_malformed_unknown_tokens_are_401_on_both_apis() {
    let mock = MockServer::start().await;
    for (token, expected) in [
        (None, "Missing bearer token"),
        (Some("bkn_live_tooshort"), "Malformed bearer token"),
        (
            Some("bkn_live_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
            "Invalid token",
        ),
    ] {
        let mut api = status(&mock).await;
        api.token = token.map(str::to_owned);
        let reply = api.get("/pages").await;
        assert_eq!(status_error(&reply, 401, "unauthorized"), expected);
        assert!(
            reply.header("x-ratelimit-limit").is_some(),
            "Status rate headers on 401 too"
        );
    }
    for token in [None, Some("not-a-known-token")] {
        let mut api = panel(&mock).await;
        api.token = token.map(str::to_owned);
        let reply = api.get("/servers").await;
        panel_error(&reply, 401);
        assert!(
            reply.header("x-ratelimit-limit").is_none(),
            "Panel headers only when authenticated"
        );
    }
    let wrong_scheme = send(
        reqwest::Client::new()
            .get(format!("{}/servers", mock.panel_uri()))
            .header("authorization", "Basic cGFuZWw6cGFuZWw="),
    )
    .await;
    assert_eq!(panel_error(&wrong_scheme, 401), "Malformed bearer token");
}

#[tokio::test]
async fn another_accounts_server_is_forbidden_without_its_data() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for path in [
        "/servers/789",
        "/servers/789/console",
        "/servers/789/databases",
    ] {
        let reply = api.get(path).await;
        assert_eq!(panel_error(&reply, 403), "Forbidden");
        assert!(!reply.body.to_string().contains("Valheim"));
    }
    let other = Api::new(mock.panel_uri(), &mock.tokens().panel_other);
    assert_eq!(
        panel_error(&other.get("/servers/123").await, 403),
        "Forbidden"
    );
    assert_eq!(other.get("/servers/789").await.status, 200);
}

#[tokio::test]
async fn unknown_servers_and_paths_are_404() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for path in ["/servers/999999", "/servers/abc", "/servers/999999/console"] {
        assert_eq!(
            panel_error(&api.get(path).await, 404),
            "Server not found",
            "{path}"
        );
    }
    panel_error(&api.get("/nothing").await, 404);
    let outside = send(
        api.client
            .get(mock.panel_uri().replace("/api/v1", "/v2/servers"))
            .bearer_auth(&mock.tokens().panel),
    )
    .await;
    panel_error(&outside, 404);
    status_error(
        &status(&mock).await.get("/pages/nope").await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let mock = MockServer::start().await;
    let reply = send(panel(&mock).await.request("DELETE", "/servers/123/console")).await;
    panel_error(&reply, 405);
    assert_eq!(reply.header("allow"), Some("GET, POST"));
    let reply = send(status(&mock).await.request("PUT", "/pages")).await;
    status_error(&reply, 405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET"));
}

#[tokio::test]
async fn status_enforces_accept_and_content_type() {
    let mock = MockServer::start().await;
    let api = status(&mock).await;
    let html = send(api.request("GET", "/pages").header("accept", "text/html")).await;
    status_error(&html, 406, "not_acceptable");
    assert!(
        html.header("x-ratelimit-remaining").is_some(),
        "a 406 carries rate-limit headers"
    );
    for accept in [
        "*/*",
        "application/json",
        "text/html, application/json;q=0.9",
        "application/*",
    ] {
        assert_eq!(
            send(api.request("GET", "/pages").header("accept", accept))
                .await
                .status,
            200,
            "{accept}"
        );
    }
    let form = send(
        api.request("POST", "/pages/acme-cloud/incidents")
            .header("content-type", "text/plain")
            .body(r#"{"name":"x"}"#),
    )
    .await;
    status_error(&form, 415, "unsupported_media_type");
    let charset = send(
        api.request("POST", "/pages/acme-cloud/incidents")
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"name":"x"}"#),
    )
    .await;
    assert_eq!(charset.status, 201);
}

#[tokio::test]
async fn status_rejects_bad_json_with_400_and_bad_fields_with_422_naming_them() {
    let mock = MockServer::start().await;
    let api = status(&mock).await;
    let post = |body: &'static [u8]| {
        api.request("POST", "/pages/acme-cloud/incidents")
            .header("content-type", "application/json")
            .body(body)
    };
    for body in [&b"{not json"[..], b"", b"\xff\xfe{}", b"[1,"] {
        status_error(&send(post(body)).await, 400, "invalid_json");
    }
    for (body, field) in [
        (&br#"{}"#[..], "name"),
        (br#"{"name": ""}"#, "name"),
        (br#"{"name": 42}"#, "name"),
        (br#"{"name": "x", "status": "exploded"}"#, "status"),
        (br#"{"name": "x", "impact": "catastrophic"}"#, "impact"),
        (br#"{"name": "x", "colour": "red"}"#, "colour"),
    ] {
        let message = status_error(&send(post(body)).await, 422, "validation_failed");
        assert!(message.starts_with(field), "{message} names {field}");
    }
    let long = format!(r#"{{"name": "{}"}}"#, "x".repeat(201));
    let reply = send(
        api.request("POST", "/pages/acme-cloud/incidents")
            .header("content-type", "application/json")
            .body(long),
    )
    .await;
    status_error(&reply, 422, "validation_failed");
    let incidents = api.get("/pages/acme-cloud/incidents").await;
    assert_eq!(
        incidents.body["data"].as_array().unwrap().len(),
        2,
        "nothing was created"
    );
}

#[tokio::test]
async fn panel_rejects_bad_input_with_400_naming_the_field() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for body in [
        json!({"action": "explode"}),
        json!({}),
        json!({"action": 1}),
        json!("start"),
    ] {
        let message = panel_error(&api.post("/servers/123", body.clone()).await, 400);
        assert!(
            message.contains("action") || message.contains("body"),
            "{message}"
        );
    }
    let message = panel_error(
        &api.post("/servers/123", json!({"action": "explode"})).await,
        400,
    );
    assert!(message.contains(r#""explode" is not one of"#), "{message}");
    // Not an integer literal: a number the schema would count as an integer (`1e1`, `5.0`)
    // or one with a space around it is refused by name too, not by the typed query.
    for lines in [
        "0", "1001", "abc", "1.5", "-1", "1e1", "5.0", "%205", "5%20",
    ] {
        let message = panel_error(
            &api.get(&format!("/servers/123/console?lines={lines}"))
                .await,
            400,
        );
        assert!(message.starts_with("lines"), "{message}");
    }
    for body in [json!({}), json!({"command": ""}), json!({"command": "   "})] {
        let message = panel_error(&api.post("/servers/123/console", body).await, 400);
        assert!(message.contains("command"), "{message}");
    }
    for name in ["", "bad-name", "spaces no", "ü", &"x".repeat(49)] {
        let message = panel_error(
            &api.post("/servers/123/databases", json!({ "name": name }))
                .await,
            400,
        );
        assert!(message.starts_with("name"), "{message}");
    }
    let invalid = send(api.request("POST", "/servers/123").body("{oops")).await;
    assert!(panel_error(&invalid, 400).contains("not valid JSON"));
    assert_eq!(
        api.get("/servers/123").await.body["data"]["status"],
        "running",
        "state unchanged"
    );
}

#[tokio::test]
async fn duplicate_databases_and_commands_to_stopped_servers_are_400() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let duplicate = api
        .post("/servers/123/databases", json!({"name": "minecraft_main"}))
        .await;
    assert!(panel_error(&duplicate, 400).contains("already exists"));
    let stopped = api
        .post("/servers/456/console", json!({"command": "status"}))
        .await;
    assert_eq!(panel_error(&stopped, 400), "Server is not running");
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_and_the_server_keeps_serving() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let huge = format!(r#"{{"command": "{}"}}"#, "x".repeat(70 * 1024));
    let reply = send(
        api.request("POST", "/servers/123/console")
            .header("content-type", "application/json")
            .body(huge.clone()),
    )
    .await;
    panel_error(&reply, 413);
    let api = status(&mock).await;
    let reply = send(
        api.request("POST", "/pages/acme-cloud/incidents")
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    status_error(&reply, 413, "payload_too_large");
    assert_eq!(api.get("/pages").await.status, 200);
}

#[tokio::test]
async fn garbage_on_the_socket_gets_an_answer_or_a_close_never_a_hang() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = MockServer::start().await;
    let addr = mock
        .panel_uri()
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_owned();
    for garbage in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(garbage).await.unwrap();
        let mut buffer = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut buffer),
        )
        .await;
        assert!(
            read.is_ok(),
            "the connection was answered or closed within 5 s"
        );
    }
    assert_eq!(panel(&mock).await.get("/servers").await.status, 200);
}

#[tokio::test]
async fn a_413_comes_after_auth_and_rate_limiting_and_carries_their_headers() {
    let mock = MockServer::start().await;
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(70 * 1024));
    let api = status(&mock).await;
    let reply = send(
        api.request("POST", "/pages/acme-cloud/incidents")
            .header("content-type", "application/json")
            .body(huge.clone()),
    )
    .await;
    status_error(&reply, 413, "payload_too_large");
    assert!(reply.header("x-ratelimit-remaining").is_some());
    let mut anonymous = panel(&mock).await;
    anonymous.token = None;
    let reply = send(anonymous.request("POST", "/servers/123/console").body(huge)).await;
    panel_error(&reply, 401);
}

#[tokio::test]
async fn the_documented_401_wins_over_our_406_and_q_0_refuses_json() {
    let mock = MockServer::start().await;
    let mut anonymous = status(&mock).await;
    anonymous.token = None;
    let reply = send(
        anonymous
            .request("GET", "/pages")
            .header("accept", "text/html"),
    )
    .await;
    status_error(&reply, 401, "unauthorized");
    let api = status(&mock).await;
    let refused = send(
        api.request("GET", "/pages")
            .header("accept", "application/json;q=0"),
    )
    .await;
    status_error(&refused, 406, "not_acceptable");
    let other_ok = send(
        api.request("GET", "/pages")
            .header("accept", "text/html;q=0, */*;q=0.1"),
    )
    .await;
    assert_eq!(other_ok.status, 200);
}

#[tokio::test]
async fn an_unknown_resource_is_404_whatever_the_body() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for path in [
        "/servers/999",
        "/servers/999/console",
        "/servers/999/databases",
    ] {
        assert_eq!(
            panel_error(&api.post(path, json!({})).await, 404),
            "Server not found"
        );
    }
    assert_eq!(
        panel_error(&api.post("/servers/789", json!({})).await, 403),
        "Forbidden"
    );
    let reply = status(&mock)
        .await
        .post("/pages/nope/incidents", json!({}))
        .await;
    status_error(&reply, 404, "not_found");
}

#[tokio::test]
async fn a_database_whose_username_is_taken_is_400() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    assert_eq!(
        api.post("/servers/123/databases", json!({"name": "player_data"}))
            .await
            .status,
        200
    );
    let clash = api
        .post("/servers/123/databases", json!({"name": "playerdata"}))
        .await;
    assert_eq!(
        panel_error(&clash, 400),
        "The database s123_player_data already has the username s123_playerdata that playerdata would get"
    );
}
