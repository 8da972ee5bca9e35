//! Beacon behaviour on a [`::wiremock::MockServer`], for teams that already use wiremock.
//!
//! [`mount`] adds one catch-all mock at the lowest priority that answers exactly as
//! beacon-mock does (auth, envelope, rate limits, state, admin API). Mocks mounted with a
//! higher priority (any default one) override it for the requests they match.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use beacon_mock::Api;
//! // Arrange
//! let server = ::wiremock::MockServer::start().await;
//! // Act
//! let tokens = beacon_mock::wiremock::mount(&server, Api::Panel).await;
//! // Assert
//! assert_eq!(tokens.panel, "panel_acct1_7f3c9a2b5d1e4f60");
//! # }
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ::wiremock::{Mock, Request, Respond, ResponseTemplate, matchers};
use beacon_spec::Api;
use bytes::Bytes;

use crate::app::App;
use crate::config::MockConfig;
use crate::service::{BodyTooLarge, MAX_BODY_BYTES};
use crate::{MockServerBuilder, MockTokens, StartError};

/// Answers wiremock requests with one API's Beacon behaviour.
#[derive(Debug, Clone)]
pub struct BeaconResponder {
    service: Arc<App>,
}

impl BeaconResponder {
    /// A responder for `api` with its own fresh state, behaving as `options` say (their
    /// listener addresses are ignored).
    ///
    /// # Panics
    ///
    /// On an option the mock cannot serve with; see [`BeaconResponder::try_new`].
    pub fn new(api: Api, options: &MockServerBuilder) -> Self {
        match Self::try_new(api, options) {
            Ok(responder) => responder,
            Err(error) => panic!("beacon-mock cannot respond: {error}"),
        }
    }

    /// [`BeaconResponder::new`], refusing an option the mock cannot serve with
    /// ([`StartError::InvalidOption`], as [`MockServerBuilder::try_start`] does).
    pub fn try_new(api: Api, options: &MockServerBuilder) -> Result<Self, StartError> {
        options.check()?;
        Ok(Self::with_config(api, &options.config))
    }

    fn with_config(api: Api, config: &MockConfig) -> Self {
        Self {
            service: Arc::new(App::new(api, config, None)),
        }
    }
}

impl Respond for BeaconResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let target = match request.url.query() {
            Some(query) => format!("{}?{query}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(target);
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers.clone();
        }
        let too_large = request.body.len() > MAX_BODY_BYTES;
        let body = if too_large {
            Bytes::new()
        } else {
            Bytes::from(request.body.clone())
        };
        let Ok(mut http_request) = builder.body(body) else {
            return ResponseTemplate::new(400);
        };
        if too_large {
            http_request.extensions_mut().insert(BodyTooLarge);
        }
        // wiremock does not expose the peer address; every caller is local.
        let handled = self
            .service
            .handle(&http_request, IpAddr::V4(Ipv4Addr::LOCALHOST));
        if handled.drop_connection {
            // wiremock cannot drop a connection; the nearest observable failure.
            return ResponseTemplate::new(503);
        }
        let mut template = to_template(handled.response);
        if let Some(delay) = handled.delay {
            template = template.set_delay(delay);
        }
        template
    }
}

fn to_template(response: http::Response<Bytes>) -> ResponseTemplate {
    let (parts, body) = response.into_parts();
    let mut template = ResponseTemplate::new(parts.status.as_u16());
    for (name, value) in &parts.headers {
        template = template.append_header(name.clone(), value.clone());
    }
    // The head carries the content type of every answer that has one (a preflight has none).
    template.set_body_bytes(body.to_vec())
}

/// Mounts `api`'s Beacon behaviour (embedded fixtures, documented limits) on `server` at the
/// lowest priority; base URL `format!("{}/api/v1", server.uri())`. It answers every request
/// no other mock of `server` takes, so mount one API per wiremock server.
pub async fn mount(server: &::wiremock::MockServer, api: Api) -> MockTokens {
    mount_with(server, api, crate::MockServer::builder()).await
}

/// [`mount`] with options, e.g. `MockServer::builder().rate_limit_window(…)` (listener
/// addresses and [`MockServerBuilder::only`] are ignored).
///
/// # Panics
///
/// On an option the mock cannot serve with, as [`MockServerBuilder::start`] does; see
/// [`try_mount_with`].
pub async fn mount_with(
    server: &::wiremock::MockServer,
    api: Api,
    options: MockServerBuilder,
) -> MockTokens {
    match try_mount_with(server, api, options).await {
        Ok(tokens) => tokens,
        Err(error) => panic!("beacon-mock cannot be mounted: {error}"),
    }
}

/// [`mount_with`], refusing an option the mock cannot serve with
/// ([`StartError::InvalidOption`], as [`MockServerBuilder::try_start`] does) before mounting
/// anything.
pub async fn try_mount_with(
    server: &::wiremock::MockServer,
    api: Api,
    options: MockServerBuilder,
) -> Result<MockTokens, StartError> {
    let responder = BeaconResponder::try_new(api, &options)?;
    Mock::given(matchers::any())
        .respond_with(responder)
        .with_priority(u8::MAX)
        .mount(server)
        .await;
    Ok(MockTokens::of(&options.config.fixtures))
}
