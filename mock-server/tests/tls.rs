//! `MockServerBuilder::tls`: the library serves HTTPS too.

mod support;

use beacon_mock::{Api, MockServer, TlsConfig};

#[tokio::test]
async fn the_library_serves_https_with_a_certificate_the_client_trusts() {
    let mock = MockServer::builder()
        .tls(TlsConfig::self_signed().unwrap())
        .start()
        .await;
    let base = mock.panel_uri();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let pem = mock.tls_certificate_pem().expect("serving HTTPS");
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let api = support::Api {
        base: base.clone(),
        token: Some(mock.tokens().panel.clone()),
        client: client.clone(),
    };
    let reply = api.get("/servers").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["success"], true);
    // The admin API's own origin is now https://.
    let root = base.trim_end_matches("/api/v1");
    let admin = |origin: String| {
        client
            .get(format!("{root}/__admin/requests"))
            .header("origin", origin)
            .send()
    };
    assert_eq!(admin(root.to_owned()).await.unwrap().status(), 200);
    let plain = root.replace("https://", "http://");
    assert_eq!(admin(plain).await.unwrap().status(), 403);
    assert_eq!(
        mock.admin(Api::Panel)
            .journal(Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn without_tls_the_mock_serves_http() {
    let mock = MockServer::start().await;
    assert!(mock.panel_uri().starts_with("http://"));
    assert!(mock.tls_certificate_pem().is_none());
}
