//! `beacon_mock::proxy`: a validating, recording proxy, driven over HTTP in front of the mock
//! itself (which keeps the contract) and of wiremock upstreams that break one rule each.

use std::net::SocketAddr;

use beacon_mock::proxy::{Proxy, VIOLATIONS_HEADER};
use beacon_mock::{Api, Fixtures, MockServer};
use beacon_spec::admin::{Side, Violation};
use beacon_spec::examples::{ExampleKind, example};
use beacon_spec::rules;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const ANY_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

async fn mock(api: Api) -> MockServer {
    MockServer::builder().only(api).start().await
}

async fn proxy_to(api: Api, upstream: &str) -> Proxy {
    Proxy::builder(api, upstream)
        .listen(ANY_PORT)
        .start()
        .await
        .expect("the proxy starts")
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: bytes::Bytes,
}

impl Answer {
    fn violations(&self) -> Option<&str> {
        self.headers
            .get(VIOLATIONS_HEADER)
            .map(|v| v.to_str().expect("a number"))
    }
}

async fn send(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
    let mut request = reqwest::Client::new().request(method.parse().expect("a method"), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("an answer");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("a body"),
    }
}

async fn violations(proxy: &Proxy) -> Vec<Violation> {
    let url = format!("http://{}/__admin/violations", proxy.addr());
    let answer = send("GET", &url, None, None).await;
    assert_eq!(answer.status, 200);
    serde_json::from_slice(&answer.body).expect("the violations JSON")
}

/// A path for `op` with the documents' own parameter values.
fn path_of(op: &beacon_spec::Operation) -> String {
    op.render_path(&[("serverId", "123"), ("slug", "acme-cloud")])
}

/// A request body for `op`: its documented example, or a small valid one.
fn body_of(op: &beacon_spec::Operation) -> Option<Value> {
    op.request?;
    example(op, op.success_status, ExampleKind::Request).or_else(|| {
        Some(match op.name {
            "create_incident" => json!({"name": "Proxied incident"}),
            "power_server" => json!({"action": "restart"}),
            "send_command" => json!({"command": "say proxied"}),
            other => panic!("no body for {other}"),
        })
    })
}

/// `template` with the Panel rate-limit headers of a fresh window.
fn with_rate_headers(template: wiremock::ResponseTemplate) -> wiremock::ResponseTemplate {
    template
        .insert_header("X-RateLimit-Limit", "180")
        .insert_header("X-RateLimit-Remaining", "179")
        .insert_header("X-RateLimit-Reset", "60")
}

/// A proxy in front of a wiremock upstream with the mock's Panel behaviour but `GET
/// /servers` answered by `answer`, and the Panel token that upstream accepts.
struct Front {
    proxy: Proxy,
    token: String,
    _upstream: wiremock::MockServer,
}

impl Front {
    /// A front whose proxy records into `record`, if given.
    async fn new(answer: wiremock::ResponseTemplate, record: Option<&std::path::Path>) -> Self {
        use wiremock::Mock;
        use wiremock::matchers::{method, path};

        let upstream = wiremock::MockServer::start().await;
        let tokens = beacon_mock::wiremock::mount(&upstream, Api::Panel).await;
        Mock::given(method("GET"))
            .and(path("/api/v1/servers"))
            .respond_with(answer)
            .mount(&upstream)
            .await;
        let mut builder =
            Proxy::builder(Api::Panel, format!("{}/api/v1", upstream.uri())).listen(ANY_PORT);
        if let Some(dir) = record {
            builder = builder.record(dir);
        }
        Self {
            proxy: builder.start().await.expect("the proxy starts"),
            token: tokens.panel,
            _upstream: upstream,
        }
    }

    /// `GET path` through the proxy with the upstream's token.
    async fn get(&self, path: &str) -> Answer {
        let url = format!("{}{path}", self.proxy.base_url());
        send("GET", &url, Some(&self.token), None).await
    }
}

/// The ids of the rules `proxy` has seen broken, oldest first.
async fn rule_ids(proxy: &Proxy) -> Vec<String> {
    violations(proxy)
        .await
        .into_iter()
        .map(|v| v.rule)
        .collect()
}

#[tokio::test]
async fn in_front_of_the_mock_the_proxy_changes_no_body_and_reports_nothing() {
    for api in [Api::Status, Api::Panel] {
        let mock = mock(api).await;
        let upstream = mock.base_url(api).expect("the API is served");
        let proxy = proxy_to(api, &upstream).await;
        let token = match api {
            Api::Status => mock.tokens().status.clone(),
            Api::Panel => mock.tokens().panel.clone(),
        };
        let mut exchanges = 0;
        for op in api.operations() {
            let mut path = path_of(op);
            if let Some(Value::Object(query)) = example(op, op.success_status, ExampleKind::Query) {
                let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                path = format!("{path}?{}", pairs.join("&"));
            }
            let body = body_of(op);
            let method = op.method.as_str();
            let proxied = send(
                method,
                &format!("{}{path}", proxy.base_url()),
                Some(&token),
                body.as_ref(),
            )
            .await;
            assert_eq!(
                proxied.status, op.success_status,
                "{} through the proxy",
                op.name
            );
            assert_eq!(proxied.violations(), None, "{}", op.name);
            if !op.mutates {
                // Nothing changed state in between: the direct answer is the same body.
                let direct = send(method, &format!("{upstream}{path}"), Some(&token), None).await;
                assert_eq!(
                    proxied.body, direct.body,
                    "{} answered another body",
                    op.name
                );
            }
            let refused = send(
                method,
                &format!("{}{path}", proxy.base_url()),
                None,
                body.as_ref(),
            )
            .await;
            assert_eq!(refused.status, 401);
            assert_eq!(refused.violations(), None);
            exchanges += 2;
        }
        assert!(exchanges >= 8);
        assert_eq!(violations(&proxy).await, [], "{api:?}");
        proxy.shutdown().await.expect("no recording to write");
        mock.shutdown().await;
    }
}

#[tokio::test]
async fn an_upstream_that_breaks_one_rule_is_reported_as_exactly_that_rule() {
    use wiremock::ResponseTemplate;

    // The one break: a success without "success": true.
    let broken = r#"{"data": []}"#;
    let front = Front::new(
        with_rate_headers(ResponseTemplate::new(200)).set_body_raw(broken, "application/json"),
        None,
    )
    .await;
    let proxy = &front.proxy;

    let answer = front.get("/servers").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        broken.as_bytes(),
        "the answer passes unchanged"
    );
    assert_eq!(answer.violations(), Some("1"));
    let seen = violations(proxy).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].rule, rules::PANEL_ENVELOPE.id);
    assert_eq!(seen[0].side, Side::Upstream);
    assert_eq!(seen[0].operation, "list_servers");
    assert_eq!(seen[0].provenance, rules::PANEL_ENVELOPE.provenance);

    // A sound exchange adds nothing, and DELETE clears.
    let sound = front.get("/servers/123").await;
    assert_eq!((sound.status, sound.violations()), (200, None));
    let url = format!("http://{}/__admin/violations", proxy.addr());
    assert_eq!(send("DELETE", &url, None, None).await.status, 200);
    assert_eq!(violations(proxy).await, []);
}

#[tokio::test]
async fn each_single_exchange_rule_is_caught_on_the_upstream_side() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    let ok_headers = with_rate_headers;
    let cases: Vec<(&str, ResponseTemplate, &str)> = vec![
        (
            "a JSON array for a body",
            ok_headers(ResponseTemplate::new(200)).set_body_raw("[1, 2]", "application/json"),
            rules::PANEL_ENVELOPE.id,
        ),
        (
            "content type",
            ok_headers(ResponseTemplate::new(200))
                .set_body_raw(r#"{"success": true, "data": []}"#, "text/plain"),
            rules::JSON_CONTENT_TYPE.id,
        ),
        (
            "schema",
            ok_headers(ResponseTemplate::new(200)).set_body_raw(
                r#"{"success": true, "data": [{"id": 7}]}"#,
                "application/json",
            ),
            rules::RESPONSE_SCHEMA.id,
        ),
        (
            "undocumented status",
            ok_headers(ResponseTemplate::new(503))
                .set_body_raw(r#"{"success": false, "error": "busy"}"#, "application/json"),
            rules::PANEL_STATUS_CODES.id,
        ),
        (
            "rate-limit headers on a 429",
            ResponseTemplate::new(429)
                .set_body_raw(r#"{"success": false, "error": "slow"}"#, "application/json"),
            rules::PANEL_RATE_HEADERS.id,
        ),
    ];
    let recordings =
        std::env::temp_dir().join(format!("beacon-proxy-cases-{}", std::process::id()));
    for (case, template, rule) in cases {
        // Recording too: a broken body must not trip the recorder either.
        let front = Front::new(template, Some(&recordings)).await;
        front.get("/servers").await;
        let rules = rule_ids(&front.proxy).await;
        assert_eq!(rules, [rule], "{case}");
    }
    let _ = std::fs::remove_dir_all(&recordings);

    // 401 for a missing token: an upstream that answers without one.
    let upstream = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/servers"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"success": true, "data": []}"#, "application/json"),
        )
        .mount(&upstream)
        .await;
    let proxy = proxy_to(Api::Panel, &format!("{}/api/v1", upstream.uri())).await;
    send("GET", &format!("{}/servers", proxy.base_url()), None, None).await;
    assert_eq!(rule_ids(&proxy).await, [rules::AUTH_REQUIRED.id]);
}

#[tokio::test]
async fn a_request_that_breaks_its_schema_is_the_clients_violation_and_still_forwarded() {
    let mock = mock(Api::Panel).await;
    let proxy = proxy_to(Api::Panel, &mock.base_url(Api::Panel).expect("served")).await;
    let answer = send(
        "POST",
        &format!("{}/servers/123", proxy.base_url()),
        Some(&mock.tokens().panel),
        Some(&json!({"action": "explode"})),
    )
    .await;
    assert_eq!(answer.status, 400, "the upstream's own answer");
    assert_eq!(answer.violations(), Some("1"));
    let seen = violations(&proxy).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].rule, rules::REQUEST_SCHEMA.id);
    assert_eq!(seen[0].side, Side::Client);
    assert_eq!(seen[0].operation, "power_server");
    let received = mock.received_requests();
    assert!(
        received
            .iter()
            .any(|r| r.method == "POST" && r.path == "/api/v1/servers/123"),
        "the request reached the upstream: {received:?}"
    );
    assert!(!seen[0].message.contains(&mock.tokens().panel));
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_in_the_apis_envelope() {
    // A port nobody listens on: bind one, then free it.
    let free = std::net::TcpListener::bind(ANY_PORT).expect("a port");
    let addr = free.local_addr().expect("its address");
    drop(free);
    let proxy = proxy_to(Api::Panel, &format!("http://{addr}/api/v1")).await;
    let answer = send(
        "GET",
        &format!("{}/servers", proxy.base_url()),
        Some("panel_x"),
        None,
    )
    .await;
    assert_eq!(answer.status, 502);
    let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(body["success"], json!(false));
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn a_bad_upstream_url_is_refused_before_listening() {
    for bad in [
        "ftp://example.com/api",
        "not a url",
        "http://example.com/api?x=1",
    ] {
        let error = Proxy::builder(Api::Panel, bad)
            .listen(ANY_PORT)
            .start()
            .await
            .expect_err(bad);
        assert!(error.to_string().contains("--upstream"), "{error}");
    }
}

/// Reads `paths` through a recording proxy in front of a fresh mock of `api`, then serves
/// the recording alone and checks each path answers the recorded body exactly.
async fn record_and_replay(api: Api, paths: &[&str]) {
    let dir = std::env::temp_dir().join(format!(
        "beacon-mock-recording-{}-{}",
        api.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mock = mock(api).await;
    let token = match api {
        Api::Status => mock.tokens().status.clone(),
        Api::Panel => mock.tokens().panel.clone(),
    };
    let token = token.as_str();
    let upstream = mock.base_url(api).expect("served");
    let proxy = Proxy::builder(api, &upstream)
        .listen(ANY_PORT)
        .record(&dir)
        .start()
        .await
        .expect("the proxy starts");
    let mut recorded = Vec::new();
    for path in paths {
        let answer = send(
            "GET",
            &format!("{}{path}", proxy.base_url()),
            Some(token),
            None,
        )
        .await;
        assert_eq!(answer.status, 200, "{path}");
        recorded.push(answer.body);
    }
    let summary = proxy
        .shutdown()
        .await
        .expect("the recording is written")
        .expect("recording");
    mock.shutdown().await;
    assert_eq!(summary.principals.len(), 1);
    let file = std::fs::read_to_string(&summary.file).expect("the recording");
    assert!(
        !file.contains(token),
        "the upstream's token is not in the recording"
    );

    let replay = MockServer::builder()
        .only(api)
        .fixtures(Fixtures::from_dir_for(&dir, api).expect("the recording loads"))
        .start()
        .await;
    let base = replay.base_url(api).expect("served");
    let placeholder = &summary.principals[0].token;
    for (path, body) in paths.iter().zip(recorded) {
        let answer = send("GET", &format!("{base}{path}"), Some(placeholder), None).await;
        assert_eq!(answer.status, 200, "{path} replayed");
        assert_eq!(
            String::from_utf8_lossy(&answer.body),
            String::from_utf8_lossy(&body),
            "{path} replays the recorded body"
        );
    }
    let old = send("GET", &format!("{base}{}", paths[0]), Some(token), None).await;
    assert_eq!(
        old.status, 401,
        "the upstream's token is not accepted by the replay"
    );
    replay.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_panel_recording_replays() {
    record_and_replay(
        Api::Panel,
        &["/servers", "/servers/123", "/servers/123/databases"],
    )
    .await;
}

#[tokio::test]
async fn a_status_recording_replays() {
    record_and_replay(Api::Status, &["/pages", "/pages/acme-cloud/incidents"]).await;
}

#[tokio::test]
async fn a_second_token_of_an_account_and_the_list_order_survive_a_recording() {
    let dir =
        std::env::temp_dir().join(format!("beacon-mock-recording-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mock = mock(Api::Panel).await;
    let first = mock.tokens().panel.clone();
    let second = mock
        .admin(Api::Panel)
        .mint_token("acct_1")
        .await
        .expect("a second token of acct_1")
        .token;
    let proxy = Proxy::builder(Api::Panel, mock.base_url(Api::Panel).expect("served"))
        .listen(ANY_PORT)
        .record(&dir)
        .start()
        .await
        .expect("the proxy starts");
    let base = proxy.base_url();
    // A detail read before the list must not change the list's order on replay.
    let detail = send("GET", &format!("{base}/servers/456"), Some(&first), None).await;
    assert_eq!(detail.status, 200);
    let list = send("GET", &format!("{base}/servers"), Some(&first), None).await;
    // The same account's second token reads the same list.
    let again = send("GET", &format!("{base}/servers"), Some(&second), None).await;
    assert_eq!(again.body, list.body);
    let summary = proxy.shutdown().await.expect("written").expect("recording");
    mock.shutdown().await;
    assert_eq!(summary.principals.len(), 2);
    assert_eq!(
        summary.principals[0].id, summary.principals[1].id,
        "both tokens are one account"
    );

    let replay = MockServer::builder()
        .only(Api::Panel)
        .fixtures(Fixtures::from_dir_for(&dir, Api::Panel).expect("the recording loads"))
        .start()
        .await;
    let replayed = replay.base_url(Api::Panel).expect("served");
    for principal in &summary.principals {
        let answer = send(
            "GET",
            &format!("{replayed}/servers"),
            Some(&principal.token),
            None,
        )
        .await;
        assert_eq!(answer.body, list.body, "the list replays in its order");
    }
    let answer = send(
        "GET",
        &format!("{replayed}/servers/456"),
        Some(&summary.principals[1].token),
        None,
    )
    .await;
    assert_eq!(answer.body, detail.body);
    replay.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn no_request_target_sends_the_request_to_another_host() {
    use wiremock::matchers::any;
    use wiremock::{Mock, ResponseTemplate};

    let elsewhere = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    let upstream = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&upstream)
        .await;
    // An upstream without a base path: a concatenated `@host` would become its authority.
    let proxy = proxy_to(Api::Panel, &upstream.uri()).await;
    let other = elsewhere.address().to_string();
    for target in [
        format!("//{other}/steal"),
        format!("/api/v1@{other}/steal"),
        format!("/api/v1/..//{other}/steal"),
    ] {
        let answer = send(
            "GET",
            &format!("http://{}{target}", proxy.addr()),
            Some("panel_secret"),
            None,
        )
        .await;
        assert_eq!(answer.status, 404, "{target} went to the upstream");
    }
    assert_eq!(
        elsewhere.received_requests().await.map(|r| r.len()),
        Some(0),
        "nothing reached another host"
    );
    assert_eq!(upstream.received_requests().await.map(|r| r.len()), Some(3));
}

#[tokio::test]
async fn a_compressed_answer_is_passed_on_and_its_body_not_judged() {
    use wiremock::ResponseTemplate;

    let gzipped: &[u8] = &[0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00];
    let front = Front::new(
        with_rate_headers(ResponseTemplate::new(200))
            .insert_header("Content-Encoding", "gzip")
            .set_body_raw(gzipped, "application/json"),
        None,
    )
    .await;
    let answer = front.get("/servers").await;
    assert_eq!(answer.body, gzipped, "passed on as it came");
    assert_eq!(answer.violations(), None);
    assert_eq!(violations(&front.proxy).await, []);
}
