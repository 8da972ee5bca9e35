//! A routed request as handlers see it, and the per-API route table that produces it.
//!
//! A leaf module: it knows the spec catalog and the request, not the service.

use std::borrow::Cow;

use beacon_spec::catalog::{Api, Operation, PanelOperation, StatusOperation};
use beacon_spec::{SchemaValidator, WireType, ascii};
use bytes::Bytes;
use http::{Request, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// Path parameters a template may have at most (the catalog has one at most).
const MAX_PARAMS: usize = 2;

/// Compiled schemas of an operation's inputs.
#[derive(Debug)]
struct Validators {
    body: Option<SchemaValidator>,
    query: Option<SchemaValidator>,
}

/// One segment of a path template.
#[derive(Debug, Clone, Copy)]
enum Segment {
    Literal(&'static str),
    Param(&'static str),
}

#[derive(Debug)]
struct Route<Op> {
    op: Op,
    operation: &'static Operation,
    /// The operation's method, compared by value rather than by name.
    method: http::Method,
    segments: Vec<Segment>,
    validators: Validators,
}

/// The routes of one API, typed by its operation enum.
#[derive(Debug)]
pub(crate) struct Router<Op> {
    api: Api,
    routes: Vec<Route<Op>>,
}

/// An operation enum of one API.
pub(crate) trait ApiOperation: Copy + 'static {
    fn operation(self) -> &'static Operation;
}

impl ApiOperation for StatusOperation {
    fn operation(self) -> &'static Operation {
        StatusOperation::operation(self)
    }
}

impl ApiOperation for PanelOperation {
    fn operation(self) -> &'static Operation {
        PanelOperation::operation(self)
    }
}

impl<Op: ApiOperation> Router<Op> {
    /// Routes to every operation of `ops`, with their schemas compiled once.
    ///
    /// Panics if an operation's method is not an HTTP method, or a template has more than
    /// [`MAX_PARAMS`] parameters or [`MAX_SEGMENTS`] segments (a catalog change that this
    /// router must then follow; the mock's tests would fail at start-up).
    pub(crate) fn new(api: Api, ops: impl IntoIterator<Item = Op>) -> Self {
        let compile = |t: Option<WireType>| t.as_ref().map(SchemaValidator::new);
        let routes = ops
            .into_iter()
            .map(|op| {
                let operation = op.operation();
                let segments: Vec<Segment> = operation
                    .path
                    .trim_start_matches('/')
                    .split('/')
                    .map(
                        |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some(name) => Segment::Param(name),
                            None => Segment::Literal(s),
                        },
                    )
                    .collect();
                let params = segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Param(_)))
                    .count();
                assert!(
                    params <= MAX_PARAMS && segments.len() <= MAX_SEGMENTS,
                    "{}: too many parameters or segments",
                    operation.path
                );
                Route {
                    op,
                    operation,
                    method: http::Method::from_bytes(operation.method.as_str().as_bytes())
                        .expect("the catalog's methods are HTTP methods"),
                    segments,
                    validators: Validators {
                        body: compile(operation.request),
                        query: compile(operation.query),
                    },
                }
            })
            .collect();
        Self { api, routes }
    }

    /// The operation `request` calls on `api_path` (the path after `/api/v1`): 404 when no
    /// template matches, 405 with `Allow` when only the method does not.
    pub(crate) fn route<'r>(
        &'r self,
        request: &'r Request<Bytes>,
        api_path: &'r str,
    ) -> Result<(Op, Call<'r>), ApiError> {
        let Some(segments) = PathSegments::split(api_path) else {
            return Err(ApiError::NotFound(format!(
                "Unknown path {}",
                request.uri().path()
            )));
        };
        let mut path_matched = false;
        for route in &self.routes {
            let Some(params) = segments.bind(&route.segments) else {
                continue;
            };
            if route.method == *request.method() {
                return Ok((
                    route.op,
                    Call {
                        operation: route.operation,
                        params,
                        request,
                        body: route.validators.body.as_ref(),
                        query: route.validators.query.as_ref(),
                        api: self.api,
                    },
                ));
            }
            path_matched = true;
        }
        if !path_matched {
            return Err(ApiError::NotFound(format!(
                "Unknown path {}",
                request.uri().path()
            )));
        }
        // The failure path only: list the methods of every matching template.
        let allow: Vec<&str> = self
            .routes
            .iter()
            .filter(|r| segments.bind(&r.segments).is_some())
            .map(|r| r.operation.method.as_str())
            .collect();
        Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allow: allow.join(", "),
        })
    }
}

/// Path parameters, without allocating.
type Params<'a> = [(&'static str, &'a str); MAX_PARAMS];

/// Segments a path may have: more than any template, so a longer path matches none.
const MAX_SEGMENTS: usize = 8;

/// A request path split on `/` once, then matched against each template.
struct PathSegments<'p> {
    segments: [&'p str; MAX_SEGMENTS],
    len: usize,
}

impl<'p> PathSegments<'p> {
    /// `None` when `path` does not start with `/` or has more than [`MAX_SEGMENTS`] segments.
    fn split(path: &'p str) -> Option<Self> {
        let rest = path.strip_prefix('/')?;
        let mut segments = [""; MAX_SEGMENTS];
        let mut len = 0;
        let mut start = 0;
        // A byte loop: paths are short, and `str::split`'s searcher costs more to set up
        // than this costs to run. `/` is ASCII, so every cut is a char boundary.
        for (at, byte) in rest.bytes().enumerate() {
            if byte == b'/' {
                *segments.get_mut(len)? = &rest[start..at];
                len += 1;
                start = at + 1;
            }
        }
        *segments.get_mut(len)? = &rest[start..];
        len += 1;
        Some(Self { segments, len })
    }

    /// The path parameters when the path matches `template`.
    fn bind(&self, template: &[Segment]) -> Option<Params<'p>> {
        if template.len() != self.len {
            return None;
        }
        let mut params: Params<'p> = [("", ""); MAX_PARAMS];
        let mut found = 0;
        for (expected, &segment) in template.iter().zip(&self.segments) {
            match *expected {
                Segment::Param(name) if !segment.is_empty() => {
                    params[found] = (name, segment);
                    found += 1;
                }
                Segment::Literal(literal) if literal == segment => {}
                _ => return None,
            }
        }
        Some(params)
    }
}

/// A routed request as handlers see it: the operation, its path parameters, and its body and
/// query parsed on demand against the operation's schemas.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) operation: &'static Operation,
    params: Params<'a>,
    request: &'a Request<Bytes>,
    body: Option<&'a SchemaValidator>,
    query: Option<&'a SchemaValidator>,
    api: Api,
}

impl Call<'_> {
    /// The value of path parameter `name` ("" if the operation has none).
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| !n.is_empty() && *n == name)
            .map_or("", |(_, v)| v)
    }

    /// The request body, checked against the operation's generated schema.
    pub(crate) fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.api == Api::Status && !is_json_content_type(self.request) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = self.request.body();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::InvalidJson("the body is empty".into()));
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
        validated(self.body, value)
    }

    /// The query string as the operation's query type, checked against its schema.
    /// Integer literals are sent as numbers and anything else as a string, so `lines=abc` and
    /// `lines=1e3` are both reported as not an integer, by name.
    pub(crate) fn query<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let mut object = serde_json::Map::new();
        each_query_pair(self.request.uri().query().unwrap_or(""), |key, value| {
            object
                .entry(key.into_owned())
                .or_insert_with(|| query_value(value));
        });
        validated(self.query, Value::Object(object))
    }
}

/// Calls `each` with the decoded name and value of every pair of a query string, as
/// `form_urlencoded::parse` gives them; borrowed, by a byte loop and without its decoder,
/// when there is nothing to decode (no `%`, no `+`), as in almost every request: about 300
/// instructions less a query under callgrind.
fn each_query_pair<'q>(query: &'q str, mut each: impl FnMut(Cow<'q, str>, Cow<'q, str>)) {
    if query.bytes().any(|b| b == b'%' || b == b'+') {
        url::form_urlencoded::parse(query.as_bytes()).for_each(|(name, value)| each(name, value));
        return;
    }
    for pair in ascii::split(query, b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = ascii::split_once(pair, b'=').unwrap_or((pair, ""));
        each(Cow::Borrowed(name), Cow::Borrowed(value));
    }
}

/// A query value as the schema sees it: an integer literal (`-?[0-9]+`, no leading zero) as a
/// number; anything else, `1e3`, `5.0` or ` 5` included, as a string, which an integer field
/// refuses by name (the typed query would otherwise fail on `1000.0` with no field named).
fn query_value(text: Cow<'_, str>) -> Value {
    // The usual value, a small natural number, without serde_json's number parser: the
    // same `Number` for a digit string without a leading zero that fits in a `u64`.
    let plain =
        text.bytes().all(|b| b.is_ascii_digit()) && !(text.len() > 1 && text.starts_with('0'));
    if let Some(n) = plain.then(|| text.parse::<u64>().ok()).flatten() {
        return Value::Number(n.into());
    }
    parsed_query_value(text)
}

/// [`query_value`] by serde_json's number parser, for any text.
fn parsed_query_value(text: Cow<'_, str>) -> Value {
    let digits = text.strip_prefix('-').unwrap_or(&text);
    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match serde_json::from_str::<serde_json::Number>(&text) {
        Ok(number) if integer => Value::Number(number),
        _ => Value::String(text.into_owned()),
    }
}

fn validated<T: DeserializeOwned>(
    validator: Option<&SchemaValidator>,
    value: Value,
) -> Result<T, ApiError> {
    // `is_valid` first: it builds no error, and almost every request passes.
    let invalid = validator.filter(|v| !v.is_valid(&value));
    if let Some(violation) = invalid.and_then(|v| v.violations(&value).into_iter().next()) {
        return Err(ApiError::Invalid(violation.to_string()));
    }
    serde_json::from_value(value).map_err(|e| ApiError::Invalid(e.to_string()))
}

/// A request's target: its path and query as sent (the read cache's key, and what the log
/// and journal show once redacted).
pub(crate) fn target(uri: &http::Uri) -> &str {
    uri.path_and_query().map_or(uri.path(), |p| p.as_str())
}

/// Whether a request's `Content-Type` is `application/json` (with any parameters); the Beacon
/// pipeline and the admin API both ask.
pub(crate) fn is_json_content_type(request: &Request<Bytes>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte loop cuts a path where `str::split('/')` does, and gives up past
        /// [`MAX_SEGMENTS`] segments or without a leading `/`.
        #[test]
        fn a_path_is_cut_where_str_split_cuts_it(path in "(/[a-z\u{e9}0-9]{0,3}){0,10}|[a-z/\u{e9}]{0,12}") {
            let expected = path.strip_prefix('/').and_then(|rest| {
                let segments: Vec<&str> = rest.split('/').collect();
                (segments.len() <= MAX_SEGMENTS).then_some(segments)
            });
            let cut = PathSegments::split(&path).map(|s| s.segments[..s.len].to_vec());
            prop_assert_eq!(cut, expected);
        }
    }

    proptest! {
        /// Without `%` or `+`, the borrowed pairs are `form_urlencoded::parse`'s own; with
        /// them, they are its output.
        #[test]
        fn each_query_pair_gives_form_urlencoded_s_pairs(query in "([a-z=&%+\u{e9}0-9]{0,4}){0,6}") {
            let expected: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut pairs: Vec<(String, String)> = Vec::new();
            each_query_pair(&query, |k, v| pairs.push((k.into_owned(), v.into_owned())));
            prop_assert_eq!(pairs, expected);
        }
    }

    /// The natural numbers' shortcut gives what serde_json's parser gives.
    #[test]
    fn a_query_value_is_the_same_with_or_without_the_shortcut() {
        let slow = |text: &str| parsed_query_value(text.into());
        for text in [
            "",
            "0",
            "00",
            "05",
            "5",
            "95",
            "-0",
            "-5",
            "1e3",
            "5.0",
            " 5",
            "x",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
        ] {
            assert_eq!(query_value(text.into()), slow(text), "{text:?}");
        }
    }

    fn route(api_path: &str, method: &str) -> Result<PanelOperation, ApiError> {
        let router = Router::new(Api::Panel, PanelOperation::ALL);
        let request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{api_path}"))
            .body(Bytes::new())
            .unwrap();
        router.route(&request, api_path).map(|(op, _)| op)
    }

    #[test]
    fn each_template_routes_to_its_own_operation() {
        assert_eq!(
            route("/servers/123/console", "GET").ok(),
            Some(PanelOperation::GetConsole)
        );
        assert_eq!(
            route("/servers/123/console", "POST").ok(),
            Some(PanelOperation::SendCommand)
        );
        assert_eq!(
            route("/servers", "GET").ok(),
            Some(PanelOperation::ListServers)
        );
        assert!(matches!(
            route("/servers//console", "GET"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            route("/servers/1/console/x", "GET"),
            Err(ApiError::NotFound(_))
        ));
        // Longer than any template, and past what the path is split into.
        let deep = "/servers/1/console".repeat(4);
        assert!(matches!(route(&deep, "GET"), Err(ApiError::NotFound(_))));
        assert!(matches!(
            route("/servers/", "GET"),
            Err(ApiError::NotFound(_))
        ));
        assert_eq!(
            route("/servers/1", "DELETE").err(),
            Some(ApiError::MethodNotAllowed {
                method: "DELETE".into(),
                allow: "GET, POST".into()
            })
        );
    }
}
