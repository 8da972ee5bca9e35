//! Issue 10: connections are bounded in time and number, and shutdown is honest about its
//! drain. Every wait here is bounded; none measures speed.

mod support;

use std::time::Duration;

use beacon_mock::{Api, MockServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// A mock whose requests' heads and bodies, and idle connections, get one second.
async fn with_a_one_second_read_timeout() -> MockServer {
    MockServer::builder()
        .read_timeout(Duration::from_secs(1))
        .start()
        .await
}

/// Finding 4: a body announced by `Content-Length` that never arrives held its connection
/// forever.
#[tokio::test]
async fn a_body_that_never_arrives_is_cut_at_the_read_timeout() {
    let mock = with_a_one_second_read_timeout().await;
    let addr = mock.addr(Api::Panel).unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /api/v1/servers/123/console HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
                mock.tokens().panel
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = timeout(Duration::from_secs(15), stream.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the connection is still open 15 s after a 1 s read timeout"
    );
}

#[tokio::test]
async fn past_the_connection_limit_new_connections_wait_for_a_free_slot() {
    let mock = MockServer::builder().max_connections(2).start().await;
    let addr = mock.addr(Api::Panel).unwrap();
    let held = [
        TcpStream::connect(addr).await.unwrap(),
        TcpStream::connect(addr).await.unwrap(),
    ];
    let api = support::panel(&mock).await;
    let waiting = tokio::spawn(async move { api.get("/servers").await.status });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "served beyond the connection limit");
    drop(held);
    let status = timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert_eq!(status, 200);
}

/// Finding 9: the drain was cut at a hidden 10 s while faults allow 60 s of latency.
#[tokio::test]
async fn shutdown_drains_within_its_timeout_and_then_closes() {
    async fn fault(mock: &MockServer, latency_ms: u64) {
        let root = mock.panel_uri().replace("/api/v1", "");
        let response = reqwest::Client::new()
            .post(format!("{root}/__admin/faults"))
            .json(&json!({"latency_ms": latency_ms, "count": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    // A request slower than nothing but within the timeout finishes.
    let mock = MockServer::builder()
        .shutdown_timeout(Duration::from_secs(20))
        .start()
        .await;
    fault(&mock, 1_500).await;
    let api = support::panel(&mock).await;
    let in_flight = tokio::spawn(async move { api.request("GET", "/servers").send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    mock.shutdown().await;
    let answered = in_flight.await.unwrap().expect("answered during the drain");
    assert_eq!(answered.status(), 200);

    // A request longer than the timeout is cut when it ends.
    let mock = MockServer::builder()
        .shutdown_timeout(Duration::from_millis(300))
        .start()
        .await;
    fault(&mock, 60_000).await;
    let api = support::panel(&mock).await;
    let in_flight = tokio::spawn(async move { api.request("GET", "/servers").send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    timeout(Duration::from_secs(10), mock.shutdown())
        .await
        .expect("shutdown returns after its timeout, not after the 60 s fault");
    let cut = timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the connection is closed")
        .unwrap();
    assert!(cut.is_err(), "{cut:?}");
}

/// Reads until the mock closes `stream`; `None` if it is still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    timeout(within, stream.read_to_end(&mut received))
        .await
        .ok()
        .map(|_| received)
}

/// A connection that sends nothing, one that keeps a request head coming a byte at a time,
/// and an idle keep-alive connection all lose their slot at the read timeout (give or take
/// a quarter), without an answer.
#[tokio::test]
async fn silent_dripping_and_idle_connections_are_closed_at_the_read_timeout() {
    let mock = with_a_one_second_read_timeout().await;
    let addr = mock.addr(Api::Panel).unwrap();

    let mut silent = TcpStream::connect(addr).await.unwrap();
    let received = closed_within(&mut silent, Duration::from_secs(15))
        .await
        .expect("a silent connection is still open 15 s after a 1 s read timeout");
    assert!(received.is_empty(), "{received:?}");

    let mut dripping = TcpStream::connect(addr).await.unwrap();
    let head = format!("GET /api/v1/servers HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
    let drip = async {
        for byte in head.bytes().chain(std::iter::repeat(b'a')) {
            if dripping.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let dripped = timeout(Duration::from_secs(15), drip).await;
    assert!(
        dripped.is_ok(),
        "a head sent a byte every 100 ms is still read 15 s after a 1 s read timeout"
    );

    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(
        format!(
            "GET /api/v1/servers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
            mock.tokens().panel
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let received = closed_within(&mut idle, Duration::from_secs(15))
        .await
        .expect("an idle keep-alive connection is still open 15 s after a 1 s read timeout");
    let received = String::from_utf8_lossy(&received);
    assert!(received.starts_with("HTTP/1.1 200 "), "{received}");
}

/// The read timeout bounds how long a client takes to send, never how long the mock takes
/// to answer: injected latency longer than it is waited out.
#[tokio::test]
async fn latency_longer_than_the_read_timeout_is_answered() {
    let mock = with_a_one_second_read_timeout().await;
    let root = mock.panel_uri().replace("/api/v1", "");
    let fault = reqwest::Client::new()
        .post(format!("{root}/__admin/faults"))
        .json(&json!({"latency_ms": 3_000, "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 201);
    let api = support::panel(&mock).await;
    let answered = timeout(Duration::from_secs(15), api.get("/servers"))
        .await
        .expect("answered");
    assert_eq!(answered.status, 200);
}

/// A client that stops reading a long answer for longer than the read timeout gets all of
/// it once it reads again: a connection that is writing is busy, not idle (as with hyper's
/// own head timer, which never ran during an answer).
#[tokio::test]
async fn a_client_that_pauses_reading_long_answers_gets_all_of_them() {
    let mock = with_a_one_second_read_timeout().await;
    let addr = mock.addr(Api::Panel).unwrap();
    let request = format!("GET /__admin/openapi.json HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let last =
        format!("GET /__admin/openapi.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    const ANSWERS: usize = 200;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all((request.repeat(ANSWERS - 1) + &last).as_bytes())
        .await
        .unwrap();
    // Far more than the sockets hold: the mock waits on the client for 3 read timeouts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = closed_within(&mut stream, Duration::from_secs(60))
        .await
        .expect("the answers are still coming 60 s later");
    let received = String::from_utf8_lossy(&received);
    assert_eq!(
        received.matches("HTTP/1.1 200 OK").count(),
        ANSWERS,
        "{} bytes received",
        received.len()
    );
}

/// Audit: a dropped mock's address could not be bound again at once (always on a
/// current-thread runtime, 6 times in 20 on a multi-thread one): drop only signalled the
/// listener's task, which closed the socket when it next ran.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_mock_frees_its_addresses_at_once() {
    let mock = MockServer::start().await;
    let addrs = [Api::Status, Api::Panel].map(|api| mock.addr(api).unwrap());
    drop(mock);
    for addr in addrs {
        // No await in between: the listener's task has not run since the drop.
        let rebound = tokio::net::TcpListener::bind(addr).await;
        assert!(
            rebound.is_ok(),
            "{addr} still taken after drop: {rebound:?}"
        );
    }
    // The same addresses serve a new mock.
    let again = MockServer::builder()
        .status_addr(addrs[0])
        .panel_addr(addrs[1])
        .try_start()
        .await;
    assert!(again.is_ok(), "{again:?}");
}
