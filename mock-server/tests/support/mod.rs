//! Shared helpers: a started mock, a client, and a `call` that returns status, headers, JSON.
#![allow(dead_code)]

use beacon_mock::MockServer;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .parse()
            .unwrap_or_else(|_| panic!("header {name} is not an integer"))
    }
}

/// A request builder against a mock base URL.
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: String, token: &str) -> Self {
        Self {
            base,
            token: Some(token.to_owned()),
            client: reqwest::Client::new(),
        }
    }

    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut builder = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        builder
    }

    pub async fn get(&self, path: &str) -> Reply {
        send(self.request("GET", path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        send(self.request("POST", path).json(&body)).await
    }
}

pub async fn send(builder: reqwest::RequestBuilder) -> Reply {
    let response = builder.send().await.expect("request reaches the mock");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "every response is JSON (status {status})"
    );
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("body is JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn panel(mock: &MockServer) -> Api {
    Api::new(mock.panel_uri(), &mock.tokens().panel)
}

pub async fn status(mock: &MockServer) -> Api {
    Api::new(mock.status_uri(), &mock.tokens().status)
}

/// Asserts a Panel error envelope with `status`, returning the message.
pub fn panel_error(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    let object = reply.body.as_object().unwrap();
    assert_eq!(
        object.get("success"),
        Some(&Value::Bool(false)),
        "{}",
        reply.body
    );
    assert!(!object.contains_key("data"), "{}", reply.body);
    assert_eq!(object.len(), 2, "{}", reply.body);
    object["error"]
        .as_str()
        .expect("error is a string")
        .to_owned()
}

/// Asserts a Status error envelope with `status` and `code`, returning the message.
pub fn status_error(reply: &Reply, status: u16, code: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    let object = reply.body.as_object().unwrap();
    assert_eq!(object.len(), 1, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{}", reply.body);
    reply.body["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned()
}

/// The lines a spawned `beacon-mock` prints up to and including its `Admin API` line (the end
/// of its start-up banner).
pub fn banner(child: &mut std::process::Child) -> Vec<String> {
    banner_and_rest(child).0
}

/// The banner, and the rest of the output as it comes.
pub fn banner_and_rest(
    child: &mut std::process::Child,
) -> (
    Vec<String>,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("the mock's stdout is piped");
    let mut rest = BufReader::new(stdout).lines();
    let mut lines = Vec::new();
    for line in rest.by_ref() {
        let line = line.expect("a banner line");
        let done = line.starts_with("Admin API");
        lines.push(line);
        if done {
            break;
        }
    }
    (lines, rest)
}

/// The last word of the banner line that starts with `label`.
pub fn value_after(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label} in {lines:?}"))
        .rsplit(' ')
        .next()
        .expect("a value")
        .to_owned()
}
