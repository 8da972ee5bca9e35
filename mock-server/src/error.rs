//! Every way a request can fail, and the envelope each API answers it with.

use beacon_spec::panel::PanelError;
use beacon_spec::status::{ErrorCode, StatusError};
use beacon_spec::{Api, model};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::auth::AuthFailure;

/// A failed request. Each variant has one status and one body shape per API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{}", .0.message())]
    Unauthorized(AuthFailure),
    #[error("Forbidden")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("Method {method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: String },
    #[error("The Accept header must allow application/json")]
    NotAcceptable,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Request body must be at most 64 KiB")]
    PayloadTooLarge,
    #[error("Request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// JSON that breaks the request schema: 422 on Status, 400 on Panel.
    #[error("{0}")]
    Invalid(String),
    /// A request the state refuses (duplicate name, stopped server).
    #[error("{0}")]
    BadRequest(String),
    /// A bound of the mock is reached (409).
    #[error("{0}")]
    LimitReached(String),
    #[error("Rate limit exceeded; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// `beacon-mock proxy` could not get an answer from its upstream.
    #[error("Bad gateway: {0}")]
    #[cfg(feature = "proxy")]
    BadGateway(String),
    /// A status injected through the admin API.
    #[error("Injected fault: {}", .0.canonical_reason().unwrap_or("error"))]
    Injected(StatusCode),
}

impl From<model::Refusal> for ApiError {
    /// The contract model's refusals: 409 when a bound is reached, else the API's 400.
    fn from(refusal: model::Refusal) -> Self {
        match refusal.status {
            409 => ApiError::LimitReached(refusal.message),
            _ => ApiError::BadRequest(refusal.message),
        }
    }
}

impl ApiError {
    pub(crate) fn status(&self, api: Api) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::LimitReached(_) => StatusCode::CONFLICT,
            ApiError::InvalidJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => match api {
                Api::Status => StatusCode::UNPROCESSABLE_ENTITY,
                Api::Panel => StatusCode::BAD_REQUEST,
            },
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            #[cfg(feature = "proxy")]
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Injected(status) => *status,
        }
    }

    fn code(&self, status: StatusCode) -> ErrorCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest(_) => ErrorCode::ValidationFailed,
            _ => ErrorCode::for_status(status.as_u16()),
        }
    }

    /// The error in `api`'s envelope, with `Allow` or `Retry-After` where they belong.
    pub(crate) fn into_response(self, api: Api) -> Response<Bytes> {
        let status = self.status(api);
        let message = self.to_string();
        let body = match api {
            Api::Status => serde_json::to_vec(&StatusError::new(self.code(status), message)),
            Api::Panel => serde_json::to_vec(&PanelError::new(message)),
        }
        .expect("error envelopes serialize");
        let mut response = json_response(status, body);
        if let ApiError::MethodNotAllowed { allow, .. } = &self {
            if let Ok(value) = HeaderValue::from_str(allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
        }
        // An injected 429 says when to retry as a real one does (in a second), so that a
        // client's back-off can be tested with it (`ApiService::injected` adds the rest).
        let retry_after = match self {
            ApiError::RateLimited { retry_after } => Some(retry_after),
            ApiError::Injected(StatusCode::TOO_MANY_REQUESTS) => Some(INJECTED_RETRY_SECS),
            _ => None,
        };
        if let (Some(secs), Some(name)) = (retry_after, api.rate_limit().retry_after_header) {
            response.headers_mut().insert(name, HeaderValue::from(secs));
        }
        response
    }
}

/// When an injected 429 says to retry, in seconds.
pub(crate) const INJECTED_RETRY_SECS: u64 = 1;

/// A JSON response with `Content-Type: application/json`.
pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = headless_json(status, body);
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

/// A Beacon handler's JSON answer, without a head: the service gives every Beacon answer its
/// whole head in one piece, `Content-Type` included (`ApiService::handle`), which costs less
/// than inserting the content type here for the service to replace.
pub(crate) fn headless_json(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
}

/// `application/json`, the content type of every Beacon answer.
pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json");
