//! Browsers: CORS on the Beacon routes, preflights answered without auth or rate limits, the
//! admin API still closed to other origins.

mod support;

use beacon_mock::MockServer;
use support::{panel, status};

const PAGE: &str = "http://app.example:3000";

async fn preflight(url: &str, method: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", PAGE)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn a_preflight_is_answered_204_without_auth_and_without_counting_against_the_rate_limit() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    let before = api
        .get("/servers")
        .await
        .header_u64("x-ratelimit-remaining");
    for _ in 0..3 {
        let answer = preflight(
            &format!("{}/servers/123/databases", mock.panel_uri()),
            "POST",
        )
        .await;
        assert_eq!(answer.status(), 204);
        assert_eq!(header(&answer, "access-control-allow-origin"), "*");
        assert_eq!(
            header(&answer, "access-control-allow-methods"),
            "GET, POST, OPTIONS"
        );
        assert_eq!(
            header(&answer, "access-control-allow-headers"),
            "Authorization, Content-Type, Accept"
        );
        assert_eq!(header(&answer, "access-control-max-age"), "7200");
        assert!(answer.headers().get("x-ratelimit-remaining").is_none());
        assert!(answer.bytes().await.unwrap().is_empty());
    }
    let after = api
        .get("/servers")
        .await
        .header_u64("x-ratelimit-remaining");
    assert_eq!(after, before - 1, "the preflights were not counted");
    let (code, journal) = journal(&mock.panel_uri()).await;
    assert_eq!(code, 200);
    assert!(
        journal["requests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["method"] == "GET"),
        "preflights are not journaled: {journal}"
    );
}

async fn journal(base: &str) -> (u16, serde_json::Value) {
    let root = base.trim_end_matches("/api/v1");
    let response = reqwest::get(format!("{root}/__admin/requests"))
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn answers_to_a_page_expose_the_rate_limit_headers() {
    let mock = MockServer::start().await;
    for (api, expose) in [
        (
            status(&mock).await,
            "X-RateLimit-Limit, X-RateLimit-Remaining, Retry-After",
        ),
        (
            panel(&mock).await,
            "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset",
        ),
    ] {
        let path = if api.base == mock.status_uri() {
            "/pages"
        } else {
            "/servers"
        };
        let answer = api
            .request("GET", path)
            .header("origin", PAGE)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(header(&answer, "access-control-allow-origin"), "*");
        assert_eq!(header(&answer, "access-control-expose-headers"), expose);
        assert_eq!(header(&answer, "vary"), "Origin");
        // An error answer too: a page must read the 401 and its envelope.
        let unauthenticated = reqwest::Client::new()
            .get(format!("{}{path}", api.base))
            .header("origin", PAGE)
            .send()
            .await
            .unwrap();
        assert_eq!(unauthenticated.status(), 401);
        assert_eq!(header(&unauthenticated, "access-control-allow-origin"), "*");
    }
}

#[tokio::test]
async fn without_cors_a_preflight_is_an_ordinary_unauthenticated_request() {
    let mock = MockServer::builder().no_cors().start().await;
    let answer = preflight(&format!("{}/servers", mock.panel_uri()), "GET").await;
    assert_eq!(answer.status(), 401);
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let page = panel(&mock)
        .await
        .request("GET", "/servers")
        .header("origin", PAGE)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_admin_api_still_refuses_a_preflight_and_a_request_of_another_origin() {
    let mock = MockServer::start().await;
    let root = mock.panel_uri().trim_end_matches("/api/v1").to_owned();
    let answer = preflight(&format!("{root}/__admin/reset"), "POST").await;
    assert_eq!(answer.status(), 403);
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let answer = reqwest::Client::new()
        .get(format!("{root}/__admin/requests"))
        .header("origin", PAGE)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
