//! The mock never panics on input: arbitrary methods, paths, headers and bodies through the
//! synchronous entries (`ApiService::handle`, and `App::handle` above it for the admin API),
//! and every answer is JSON in its API's envelope.

use std::net::{IpAddr, Ipv4Addr};

use beacon_spec::Api;
use bytes::Bytes;
use http::{Request, Response, header};
use proptest::prelude::*;
use serde_json::Value;

use crate::MockConfig;
use crate::app::App;
use crate::service::ApiService;

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        Just("PUT".to_owned()),
        Just("DELETE".to_owned()),
        Just("PATCH".to_owned()),
        Just("HEAD".to_owned()),
        Just("OPTIONS".to_owned()),
        "[A-Z]{1,12}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        3 => Just("/api/v1"),
        1 => Just("/__admin"),
        1 => Just(""),
        1 => Just("/api/v1/__admin"),
    ];
    let segment = prop_oneof![
        Just("servers".to_owned()),
        Just("123".to_owned()),
        Just("789".to_owned()),
        Just("console".to_owned()),
        Just("databases".to_owned()),
        Just("pages".to_owned()),
        Just("status".to_owned()),
        Just("incidents".to_owned()),
        Just("reset".to_owned()),
        Just("requests".to_owned()),
        Just("tokens".to_owned()),
        Just("revoke".to_owned()),
        Just("faults".to_owned()),
        Just("".to_owned()),
        Just("%00".to_owned()),
        Just("..".to_owned()),
        "[a-zA-Z0-9_.~%-]{0,12}",
    ];
    let query = prop_oneof![
        Just(String::new()),
        Just("?lines=5".to_owned()),
        Just("?lines=0".to_owned()),
        Just("?lines=99999999999".to_owned()),
        Just("?status=500&method=GET".to_owned()),
        "\\?[a-z=&%0-9]{0,20}",
    ];
    (prefix, prop::collection::vec(segment, 0..5), query)
        .prop_map(|(prefix, segments, query)| format!("{prefix}/{}{query}", segments.join("/")))
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let header = prop_oneof![
        prop_oneof![
            Just(b"Bearer panel_acct1_7f3c9a2b5d1e4f60".to_vec()),
            Just(b"Bearer panel_acct2_0b9e8d7c6a5f4e31".to_vec()),
            Just(b"Bearer bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6".to_vec()),
            Just(b"Bearer ".to_vec()),
            prop::collection::vec(any::<u8>(), 0..40),
        ]
        .prop_map(|v| ("authorization".to_owned(), v)),
        prop_oneof![
            Just(b"application/json".to_vec()),
            Just(b"text/plain".to_vec()),
            Just(b"application/json; charset=utf-8".to_vec()),
            prop::collection::vec(any::<u8>(), 0..20),
        ]
        .prop_map(|v| ("content-type".to_owned(), v)),
        prop_oneof![
            Just(b"application/json".to_vec()),
            Just(b"text/html".to_vec()),
            Just(b"application/json;q=0".to_vec()),
            Just(b"*/*;q=abc".to_vec()),
        ]
        .prop_map(|v| ("accept".to_owned(), v)),
        prop_oneof![
            Just(b"http://evil.example".to_vec()),
            Just(b"http://127.0.0.1:4011".to_vec()),
            Just(b"null".to_vec()),
        ]
        .prop_map(|v| ("origin".to_owned(), v)),
        prop_oneof![Just(b"POST".to_vec()), Just(b"GET".to_vec())]
            .prop_map(|v| ("access-control-request-method".to_owned(), v)),
        prop_oneof![
            Just(b"127.0.0.1:4011".to_vec()),
            Just(b"evil.example".to_vec()),
            Just(b"[::1]".to_vec()),
            prop::collection::vec(any::<u8>(), 0..20),
        ]
        .prop_map(|v| ("host".to_owned(), v)),
        ("x-[a-z]{1,8}", prop::collection::vec(any::<u8>(), 0..20)),
    ];
    prop::collection::vec(header, 0..6)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(br#"{"action": "stop"}"#.to_vec()),
        Just(br#"{"action": "start"}"#.to_vec()),
        Just(br#"{"command": "say hi"}"#.to_vec()),
        Just(br#"{"name": "db_1"}"#.to_vec()),
        Just(br#"{"name": "Outage", "status": "resolved", "impact": "major"}"#.to_vec()),
        Just(br#"{"principal": "acct_2"}"#.to_vec()),
        Just(br#"{"status": 503, "count": 1}"#.to_vec()),
        Just(br#"{"latency_ms": 10, "drop": true}"#.to_vec()),
        Just(b"null".to_vec()),
        Just(b"[]".to_vec()),
        "\\{\"[a-z]{1,8}\": (1|\"x\"|null|\\[\\]|\\{\\}|-1|1e999)\\}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// The request, unless `http` refuses its parts (hyper would have refused them on the wire).
fn request(
    method: &str,
    path: &str,
    headers: &[(String, Vec<u8>)],
    body: Vec<u8>,
) -> Option<Request<Bytes>> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        let value = http::HeaderValue::from_bytes(value).ok()?;
        builder = builder.header(name.as_str(), value);
    }
    builder.body(Bytes::from(body)).ok()
}

/// Asserts the answer is JSON in `api`'s envelope, or the admin API's `{"error"}`, or an
/// empty 204 answering a CORS preflight.
fn assert_envelope(api: Api, admin: bool, response: &Response<Bytes>) {
    if !admin && response.status() == 204 {
        assert!(response.body().is_empty());
        assert!(
            response
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_METHODS)
        );
        return;
    }
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
    );
    let body: Value = serde_json::from_slice(response.body()).expect("the body is JSON");
    let object = body.as_object().expect("the body is an object");
    let failed = response.status().as_u16() >= 400;
    if admin {
        if failed {
            assert!(object["error"].is_string(), "{body}");
        }
        return;
    }
    match (api, failed) {
        (Api::Status, true) => {
            assert_eq!(object.len(), 1, "{body}");
            assert!(object["error"]["code"].is_string(), "{body}");
            assert!(object["error"]["message"].is_string(), "{body}");
        }
        (Api::Status, false) => assert!(object.contains_key("data"), "{body}"),
        (Api::Panel, true) => {
            assert_eq!(object.len(), 2, "{body}");
            assert_eq!(object["success"], false, "{body}");
            assert!(object["error"].is_string(), "{body}");
        }
        (Api::Panel, false) => {
            assert_eq!(object["success"], true, "{body}");
            assert!(object.contains_key("data"), "{body}");
        }
    }
}

fn is_admin(path: &str) -> bool {
    path == "/__admin" || path.starts_with("/__admin/") || path.starts_with("/__admin?")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn api_service_handle_answers_every_input_in_its_envelope(
        panel in any::<bool>(),
        method in method(),
        path in path(),
        headers in headers(),
        body in body(),
        peer in any::<u32>(),
    ) {
        let api = if panel { Api::Panel } else { Api::Status };
        let service = ApiService::new(api, &MockConfig::default());
        let Some(request) = request(&method, &path, &headers, body) else {
            return Ok(());
        };
        let response = service
            .handle(&request, IpAddr::V4(Ipv4Addr::from(peer)), std::time::Instant::now())
            .response;
        assert_envelope(api, false, &response);
    }

    #[test]
    fn app_handle_answers_every_sequence_in_its_envelope(
        panel in any::<bool>(),
        requests in prop::collection::vec((method(), path(), headers(), body()), 1..8),
    ) {
        let api = if panel { Api::Panel } else { Api::Status };
        let app = App::new(api, &MockConfig::default(), Some("127.0.0.1:4011".parse().unwrap()));
        for (method, path, headers, body) in requests {
            let Some(request) = request(&method, &path, &headers, body) else {
                continue;
            };
            let handled = app.handle(&request, IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert_envelope(api, is_admin(request.uri().path()), &handled.response);
        }
    }
}
