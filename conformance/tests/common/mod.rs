//! Shared harness: deployments to check (the mock, or wiremock with the mock's behaviour and
//! one fault mounted over it), configurations, and assertions on reports.
#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use beacon_conformance::{Config, Outcome, Phase, Report, Token};
use beacon_mock::MockTokens;
use beacon_spec::Api;
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, Request, ResponseTemplate};

/// The rate-limit window of every test deployment: short, so that waits stay short.
pub const WINDOW: Duration = Duration::from_secs(2);
/// The seed of every test run, so that failures reproduce.
pub const SEED: u64 = 20_260_315;
/// The Panel server that write checks may touch (account 1 owns it).
pub const SERVER: &str = "123";

/// A deployment on loopback, with the runtime that serves it; the checks run on the test
/// thread (the conformance client is blocking).
pub struct Deployment {
    pub api: Api,
    pub base_url: String,
    pub tokens: MockTokens,
    server: Option<Server>,
    runtime: Runtime,
}

enum Server {
    Wiremock(wiremock::MockServer),
    Mock(beacon_mock::MockServer),
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

impl Deployment {
    /// A wiremock server answering with the mock's full behaviour for `api` (2 s windows);
    /// mount overrides with [`Deployment::mount`].
    pub fn wiremock(api: Api) -> Self {
        let runtime = runtime();
        let (server, tokens) = runtime.block_on(async {
            let server = wiremock::MockServer::start().await;
            let options = beacon_mock::MockServer::builder().rate_limit_window(WINDOW);
            let tokens = beacon_mock::wiremock::mount_with(&server, api, options).await;
            (server, tokens)
        });
        Self {
            api,
            base_url: format!("{}/api/v1", server.uri()),
            tokens,
            server: Some(Server::Wiremock(server)),
            runtime,
        }
    }

    /// The beacon-mock server itself (2 s windows), serving `api`'s base URL.
    pub fn mock(api: Api) -> Self {
        Self::mock_with_window(api, WINDOW)
    }

    /// The beacon-mock server itself with rate-limit windows of `window`.
    pub fn mock_with_window(api: Api, window: Duration) -> Self {
        Self::mock_with(
            api,
            beacon_mock::MockServer::builder().rate_limit_window(window),
        )
    }

    /// The beacon-mock server `builder` makes.
    pub fn mock_with(api: Api, builder: beacon_mock::MockServerBuilder) -> Self {
        let runtime = runtime();
        let mock = runtime.block_on(builder.start());
        let base_url = match api {
            Api::Status => mock.status_uri(),
            Api::Panel => mock.panel_uri(),
        };
        Self {
            api,
            base_url,
            tokens: mock.tokens(),
            server: Some(Server::Mock(mock)),
            runtime,
        }
    }

    /// The token of the API under test.
    pub fn token(&self) -> String {
        match self.api {
            Api::Status => self.tokens.status.clone(),
            Api::Panel => self.tokens.panel.clone(),
        }
    }

    /// Mounts an override (wiremock deployments only).
    pub fn mount(&self, mock: Mock) {
        let Some(Server::Wiremock(server)) = &self.server else {
            panic!("overrides need a wiremock deployment");
        };
        self.runtime.block_on(mock.mount(server));
    }

    /// Every request the wiremock server received.
    pub fn received(&self) -> Vec<Request> {
        let Some(Server::Wiremock(server)) = &self.server else {
            panic!("the journal needs a wiremock deployment");
        };
        self.runtime
            .block_on(server.received_requests())
            .expect("request recording is on")
    }

    /// The JSON body of an authenticated GET of `path` (relative to the base URL), to build
    /// overrides from real answers.
    pub fn fetch(&self, path: &str) -> Value {
        reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(self.token())
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The configuration the fault tests use: everything on (writes to server 123, strict),
    /// 2 cases per property, a budget no run reaches, no probe.
    pub fn config(&self) -> Config {
        let mut config = Config::new(
            self.api,
            self.base_url.parse().expect("a valid base URL"),
            Token::new(self.token()),
        );
        config.seed = SEED;
        config.cases = 2;
        // The stateful phase has its own tests: a rule broken on purpose here would show in
        // its sequences too, and these tests prove one check per rule.
        config.phases = vec![Phase::Examples, Phase::Coverage, Phase::Fuzz];
        config.allow_writes = true;
        config.strict = true;
        config.max_requests = 400;
        if self.api == Api::Panel {
            config.server_id = Some(SERVER.to_owned());
        }
        config
    }

    /// [`Deployment::config`] without writes.
    pub fn read_only_config(&self) -> Config {
        let mut config = self.config();
        config.allow_writes = false;
        config
    }

    /// Matches GETs of `full_path` (e.g. `/api/v1/pages`) that carry this deployment's token,
    /// to mount an override on.
    pub fn get_with_token(&self, full_path: &str) -> MockBuilder {
        Mock::given(method("GET"))
            .and(path(full_path))
            .and(bearer(&self.token()))
    }

    /// The admin API's URL of a beacon-mock deployment: the origin, then `/__admin`.
    fn admin_url(&self, path: &str) -> String {
        assert!(
            matches!(self.server, Some(Server::Mock(_))),
            "the admin API needs a beacon-mock deployment"
        );
        let origin = self.base_url.trim_end_matches("/api/v1");
        format!("{origin}/__admin{path}")
    }

    /// How many Beacon requests the beacon-mock deployment has journaled.
    pub fn journaled(&self) -> usize {
        let journal: Value = reqwest::blocking::Client::new()
            .get(self.admin_url("/requests"))
            .send()
            .and_then(|r| r.json())
            .expect("the journal");
        journal["requests"].as_array().map_or(0, Vec::len)
    }

    /// Injects a fault into the beacon-mock deployment (`POST /__admin/faults`).
    pub fn inject(&self, fault: Value) {
        let response = reqwest::blocking::Client::new()
            .post(self.admin_url("/faults"))
            .json(&fault)
            .send()
            .expect("the admin API answers");
        assert!(response.status().is_success(), "{fault} was refused");
    }

    /// Runs `config` against this deployment.
    pub fn run(&self, config: &Config) -> Report {
        beacon_conformance::run(config).expect("the run reaches the deployment")
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _entered = self.runtime.enter();
        drop(self.server.take());
    }
}

/// (check, operation) of every failed result.
pub fn failed(report: &Report) -> BTreeSet<(String, String)> {
    report
        .failures()
        .map(|r| {
            (
                r.check.name.to_owned(),
                r.operation
                    .map_or_else(String::new, |op| op.name.to_owned()),
            )
        })
        .collect()
}

/// What fails against the unmodified behaviour with [`Deployment::config`] (with or
/// without writes), computed once per API and mode.
pub fn baseline(api: Api, writes: Writes) -> &'static BTreeSet<(String, String)> {
    static CELLS: [OnceLock<BTreeSet<(String, String)>>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let index = match (api, writes) {
        (Api::Status, Writes::Allowed) => 0,
        (Api::Status, Writes::Forbidden) => 1,
        (Api::Panel, Writes::Allowed) => 2,
        (Api::Panel, Writes::Forbidden) => 3,
    };
    CELLS[index].get_or_init(|| {
        let deployment = Deployment::wiremock(api);
        let config = match writes {
            Writes::Allowed => deployment.config(),
            Writes::Forbidden => deployment.read_only_config(),
        };
        failed(&deployment.run(&config))
    })
}

/// Whether a run may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    Allowed,
    Forbidden,
}

/// Asserts that, compared with the unmodified behaviour, exactly `check` on `operation`
/// newly fails, and that one of its findings names `rule`.
#[track_caller]
pub fn assert_only_new_failure(report: &Report, check: &str, operation: &str, rule: &str) {
    assert_only_new_failures(report, &[(check, operation)], check, operation, rule);
}

/// Asserts that exactly the (check, operation) pairs of `expected` fail beyond the
/// baseline, and that `check` on `operation` names `rule` in a binding finding.
#[track_caller]
pub fn assert_only_new_failures(
    report: &Report,
    expected: &[(&str, &str)],
    check: &str,
    operation: &str,
    rule: &str,
) {
    let writes = if report.allow_writes {
        Writes::Allowed
    } else {
        Writes::Forbidden
    };
    let baseline = baseline(report.api, writes);
    let targets: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(c, o)| ((*c).to_owned(), (*o).to_owned()))
        .collect();
    for target in &targets {
        assert!(
            !baseline.contains(target),
            "{target:?} fails even without the fault:\n{}",
            report.human()
        );
    }
    let new: BTreeSet<_> = failed(report).difference(baseline).cloned().collect();
    assert_eq!(
        new,
        targets,
        "exactly {expected:?} should newly fail:\n{}",
        report.human()
    );
    let result = report
        .results_of(check)
        .find(|r| r.operation.is_some_and(|op| op.name == operation))
        .expect("the check ran on the operation");
    assert!(
        result
            .outcome
            .findings()
            .iter()
            .any(|f| f.rule.id == rule && f.binding),
        "the failure of {check} should name {rule}:\n{}",
        report.human()
    );
}

/// Asserts that the run (not `--strict`) succeeded, that `check` on `operation` warned,
/// and that its findings name `rule`, none of them binding.
#[track_caller]
pub fn assert_only_new_warning(report: &Report, check: &str, operation: &str, rule: &str) {
    assert!(!report.strict, "warnings need a run without --strict");
    let writes = if report.allow_writes {
        Writes::Allowed
    } else {
        Writes::Forbidden
    };
    let new: BTreeSet<_> = failed(report)
        .difference(baseline(report.api, writes))
        .cloned()
        .collect();
    assert!(
        new.is_empty(),
        "nothing should newly fail:\n{}",
        report.human()
    );
    let result = report
        .results_of(check)
        .find(|r| r.operation.is_some_and(|op| op.name == operation))
        .expect("the check ran on the operation");
    let Outcome::Warned(findings) = &result.outcome else {
        panic!(
            "{check} on {operation} should warn, not {}:\n{}",
            result.outcome.label(),
            report.human()
        );
    };
    assert!(
        findings.iter().any(|f| f.rule.id == rule) && findings.iter().all(|f| !f.binding),
        "the warning of {check} should name {rule}:\n{}",
        report.human()
    );
}

/// [`Deployment::config`] or [`Deployment::read_only_config`] without `--strict`.
pub fn lenient(mut config: Config) -> Config {
    config.strict = false;
    config
}

/// Asserts that no result failed and none was skipped.
#[track_caller]
pub fn assert_green(report: &Report) {
    let skipped: Vec<String> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .map(|r| r.title())
        .collect();
    assert!(
        report.is_success() && skipped.is_empty(),
        "expected every check to pass; skipped: {skipped:?}\n{}",
        report.human()
    );
}

/// The rate-limit headers of a plausible response of `api`.
pub fn rate_headers(api: Api) -> Vec<(&'static str, &'static str)> {
    match api {
        Api::Status => vec![("X-RateLimit-Limit", "60"), ("X-RateLimit-Remaining", "50")],
        Api::Panel => vec![
            ("X-RateLimit-Limit", "180"),
            ("X-RateLimit-Remaining", "170"),
            ("X-RateLimit-Reset", "30"),
        ],
    }
}

/// `template` with the plausible rate-limit headers of `api` added.
pub fn with_rate_headers(api: Api, mut template: ResponseTemplate) -> ResponseTemplate {
    for (name, value) in rate_headers(api) {
        template = template.insert_header(name, value);
    }
    template
}

/// A JSON response of `api` with `status`, `body` and plausible rate-limit headers.
pub fn respond(api: Api, status: u16, body: Value) -> ResponseTemplate {
    with_rate_headers(api, ResponseTemplate::new(status).set_body_json(body))
}

/// Matches requests that carry `token` as their Bearer token.
pub fn bearer(token: &str) -> impl Fn(&Request) -> bool + Send + Sync + 'static {
    let expected = format!("Bearer {token}");
    move |request: &Request| {
        request
            .headers
            .get("authorization")
            .is_some_and(|v| v.as_bytes() == expected.as_bytes())
    }
}

/// Matches requests without an Authorization header.
pub fn without_authorization(request: &Request) -> bool {
    request.headers.get("authorization").is_none()
}

/// Matches GETs of `full_path` (e.g. `/api/v1/pages`) that carry no token.
pub fn get_without_token(full_path: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(full_path))
        .and(without_authorization)
}

/// Mounts a fault of a Panel deployment: `GET /servers/123/databases` answers the real list
/// to a request without a token.
pub fn serve_databases_without_token(deployment: &Deployment) {
    let databases = deployment.fetch("/servers/123/databases");
    deployment.mount(
        get_without_token("/api/v1/servers/123/databases").respond_with(respond(
            Api::Panel,
            200,
            databases,
        )),
    );
}

/// Matches requests whose Accept header allows anything (the client's default).
pub fn accepts_anything(request: &Request) -> bool {
    request
        .headers
        .get("accept")
        .is_none_or(|v| v.as_bytes() == b"*/*")
}

/// The request body as JSON, if it is JSON.
pub fn json_body(request: &Request) -> Option<Value> {
    serde_json::from_slice(&request.body).ok()
}

/// A Panel success body.
pub fn panel_ok(data: Value) -> Value {
    json!({"success": true, "data": data})
}
