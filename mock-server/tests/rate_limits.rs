//! Both documented rate-limit policies, their headers, reset, and exactness under concurrency.

mod support;

use std::time::Duration;

use beacon_mock::MockServer;
use support::{Api, panel, panel_error, status, status_error};

#[tokio::test]
async fn panel_allows_180_a_minute_per_token_with_headers_on_every_response() {
    let mock = MockServer::start().await;
    let api = panel(&mock).await;
    for n in 1..=180u64 {
        let reply = api.get("/servers").await;
        assert_eq!(reply.status, 200, "request {n}");
        assert_eq!(reply.header_u64("x-ratelimit-limit"), 180);
        assert_eq!(reply.header_u64("x-ratelimit-remaining"), 180 - n);
        assert!((1..=60).contains(&reply.header_u64("x-ratelimit-reset")));
    }
    let limited = api.get("/servers").await;
    assert!(panel_error(&limited, 429).contains("Rate limit exceeded"));
    assert_eq!(limited.header_u64("x-ratelimit-remaining"), 0);
    assert!((1..=60).contains(&limited.header_u64("x-ratelimit-reset")));
    // Another account's token has its own window.
    let other = Api::new(mock.panel_uri(), &mock.tokens().panel_other);
    assert_eq!(
        other
            .get("/servers")
            .await
            .header_u64("x-ratelimit-remaining"),
        179
    );
}

#[tokio::test]
async fn status_per_ip_window_of_60_binds_before_the_workspace_window() {
    let mock = MockServer::start().await;
    let api = status(&mock).await;
    for n in 1..=60u64 {
        let reply = api.get("/pages").await;
        assert_eq!(reply.status, 200, "request {n}");
        assert_eq!(reply.header_u64("x-ratelimit-limit"), 60);
        assert_eq!(reply.header_u64("x-ratelimit-remaining"), 60 - n);
        assert!(reply.header("retry-after").is_none());
    }
    let limited = api.get("/pages").await;
    status_error(&limited, 429, "rate_limited");
    assert!((1..=60).contains(&limited.header_u64("retry-after")));
    assert_eq!(limited.header_u64("x-ratelimit-remaining"), 0);
    // Unauthenticated requests from the same IP are limited too.
    let mut anonymous = status(&mock).await;
    anonymous.token = None;
    status_error(&anonymous.get("/pages").await, 429, "rate_limited");
}

#[tokio::test]
async fn windows_reset_after_the_configured_period() {
    let mock = MockServer::builder()
        .rate_limit_window(Duration::from_secs(1))
        .rate_limit(3)
        .start()
        .await;
    let api = panel(&mock).await;
    for _ in 0..3 {
        assert_eq!(api.get("/servers").await.status, 200);
    }
    let limited = api.get("/servers").await;
    panel_error(&limited, 429);
    assert_eq!(limited.header_u64("x-ratelimit-reset"), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let recovered = api.get("/servers").await;
    assert_eq!(recovered.status, 200);
    assert_eq!(recovered.header_u64("x-ratelimit-remaining"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_get_exactly_the_remaining_successes() {
    for (limit, concurrent) in [(50u32, 80usize), (180, 150)] {
        let mock = MockServer::builder().rate_limit(limit).start().await;
        let api = std::sync::Arc::new(panel(&mock).await);
        let tasks: Vec<_> = (0..concurrent)
            .map(|_| {
                let api = api.clone();
                tokio::spawn(async move { api.get("/servers").await.status })
            })
            .collect();
        let mut ok = 0;
        let mut limited = 0;
        for task in tasks {
            match task.await.unwrap() {
                200 => ok += 1,
                429 => limited += 1,
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(
            ok,
            concurrent.min(limit as usize),
            "limit {limit}, {concurrent} concurrent"
        );
        assert_eq!(ok + limited, concurrent);
    }
}
