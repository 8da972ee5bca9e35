//! The result of a run and its three renderings: human text, JUnit XML and JSON.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use beacon_spec::{Api, Operation, Rule, rules};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use serde_json::{Value, json};

use crate::check::{Check, Phase};
use crate::config::Token;
use crate::plan::Plan;

/// Everything a run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The API checked.
    pub api: Api,
    /// The base URL checked.
    pub base_url: String,
    /// The token used, redacted.
    pub token: String,
    /// The seed every generated input came from.
    pub seed: u64,
    /// Proptest cases per property (after fitting to the budget).
    pub cases: u32,
    /// Whether `[ours]` rules were binding.
    pub strict: bool,
    /// Whether writes were allowed.
    pub allow_writes: bool,
    /// Whether a skip fails the run.
    pub fail_on_skip: bool,
    /// When the run started.
    pub started_at: SystemTime,
    /// What the run planned to do.
    pub plan: Plan,
    /// One result per planned unit, in run order.
    pub results: Vec<CheckResult>,
    /// What the run cost.
    pub requests: RequestStats,
    /// How often each (operation, status) pair was answered.
    pub responses: Vec<ResponseSeen>,
    /// What the run created and left behind (the APIs cannot delete databases or
    /// incidents).
    pub created: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Requests sent and rate limits met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestStats {
    /// Requests sent, every one included (retries and the probe too).
    pub sent: u32,
    /// The plan's count.
    pub planned: u32,
    /// The budget (`--max-requests`).
    pub budget: u32,
    /// Transport failures retried.
    pub retried: u32,
    /// 429 responses the checks met (each followed by a wait).
    pub throttled: u32,
    /// 429 responses the probe provoked on purpose.
    pub probe_throttled: u32,
    /// Time spent waiting for rate-limit windows to reset.
    pub waited: Duration,
}

/// How often one operation was answered with one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSeen {
    /// The operation's name.
    pub operation: &'static str,
    /// The status.
    pub status: u16,
    /// How many responses.
    pub count: u32,
}

/// The outcome of one check on one operation in one phase.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check.
    pub check: &'static Check,
    /// The operation it ran on, if it is about one.
    pub operation: Option<&'static Operation>,
    /// The phase it ran in, for checks that run in one.
    pub phase: Option<Phase>,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took, rate-limit waits excluded.
    pub elapsed: Duration,
    /// How long it waited for rate-limit windows (not its own doing).
    pub waited: Duration,
    /// Requests it sent.
    pub requests: u32,
}

impl CheckResult {
    /// `check · operation [phase]`, for display.
    pub fn title(&self) -> String {
        let mut title = self.check.name.to_owned();
        if let Some(op) = self.operation {
            title = format!("{title} · {}", op.name);
        }
        if let Some(phase) = self.phase {
            title = format!("{title} [{}]", phase.name());
        }
        title
    }
}

/// Passed, warned, failed, errored or skipped.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every rule held.
    Passed,
    /// Only `[ours]` rules broke, and the run is not `--strict`.
    Warned(Vec<Finding>),
    /// A binding rule broke.
    Failed(Vec<Finding>),
    /// The check could not do its work (a transport failure, a spent budget, a deployment
    /// with nothing to check): it proves nothing, and fails the run.
    Errored(String),
    /// Not run because the user did not allow it, with the reason.
    Skipped(String),
}

impl Outcome {
    /// `Failed` if any finding is binding, else `Warned`, or `Passed` when there are none.
    pub(crate) fn from_findings(mut findings: Vec<Finding>, strict: bool) -> Self {
        if findings.is_empty() {
            return Outcome::Passed;
        }
        for finding in &mut findings {
            finding.binding = finding.rule.provenance.is_binding(strict);
        }
        if findings.iter().any(|f| f.binding) {
            Outcome::Failed(findings)
        } else {
            Outcome::Warned(findings)
        }
    }

    /// `passed`, `warned`, `failed`, `errored` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Warned(_) => "warned",
            Outcome::Failed(_) => "failed",
            Outcome::Errored(_) => "errored",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// `PASS`, `WARN`, `FAIL`, `ERROR` or `SKIP`.
    pub fn tag(&self) -> &'static str {
        match self {
            Outcome::Passed => "PASS",
            Outcome::Warned(_) => "WARN",
            Outcome::Failed(_) => "FAIL",
            Outcome::Errored(_) => "ERROR",
            Outcome::Skipped(_) => "SKIP",
        }
    }

    /// The findings, empty unless warned or failed.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Outcome::Warned(findings) | Outcome::Failed(findings) => findings,
            Outcome::Passed | Outcome::Errored(_) | Outcome::Skipped(_) => &[],
        }
    }

    /// The reason of an error or a skip.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Errored(reason) | Outcome::Skipped(reason) => Some(reason),
            _ => None,
        }
    }
}

/// One broken rule, with everything needed to reproduce it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule that broke.
    pub rule: Rule,
    /// What went wrong, in a sentence.
    pub message: String,
    /// What the rule requires of the response.
    pub expected: String,
    /// What the deployment did.
    pub actual: String,
    /// The minimal (shrunk) generated input, for property checks.
    pub input: Option<String>,
    /// The request as a curl command, token redacted.
    pub request: Option<String>,
    /// Whether this finding fails the run (false: a warning on an `[ours]` rule).
    pub binding: bool,
}

impl Finding {
    pub(crate) fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            expected: String::new(),
            actual: String::new(),
            input: None,
            request: None,
            binding: true,
        }
    }

    /// A finding of what the spec's judge found in one response.
    pub(crate) fn from_breach(breach: beacon_spec::exchange::Breach) -> Self {
        let finding = Self::new(breach.rule, breach.message).expected(breach.expected);
        match breach.actual {
            Some(actual) => finding.actual(actual),
            None => finding,
        }
    }

    pub(crate) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = expected.into();
        self
    }

    pub(crate) fn request(mut self, curl: impl Into<String>) -> Self {
        self.request = Some(curl.into());
        self
    }

    pub(crate) fn input(mut self, input: impl Into<String>) -> Self {
        self.input = Some(input.into());
        self
    }

    pub(crate) fn actual(mut self, actual: impl Into<String>) -> Self {
        self.actual = actual.into();
        self
    }

    /// Takes the request and, unless already set, the actual response from `exchange`.
    pub(crate) fn exchange(mut self, exchange: &crate::client::Exchange) -> Self {
        self.request = Some(exchange.curl.clone());
        if self.actual.is_empty() {
            self.actual = exchange.summary();
        }
        self
    }

    fn scrub(&mut self, token: &Token) {
        for text in [&mut self.message, &mut self.expected, &mut self.actual] {
            *text = token.scrub(text);
        }
        for text in [&mut self.input, &mut self.request].into_iter().flatten() {
            *text = token.scrub(text);
        }
    }
}

/// How many results ended each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Passed without findings.
    pub passed: usize,
    /// Passed with warnings on `[ours]` rules.
    pub warned: usize,
    /// Failed.
    pub failed: usize,
    /// Could not check (transport failure, spent budget, nothing to check).
    pub errored: usize,
    /// Skipped because the user did not allow them.
    pub skipped: usize,
}

impl Report {
    /// How many results ended each way.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for result in &self.results {
            match result.outcome {
                Outcome::Passed => counts.passed += 1,
                Outcome::Warned(_) => counts.warned += 1,
                Outcome::Failed(_) => counts.failed += 1,
                Outcome::Errored(_) => counts.errored += 1,
                Outcome::Skipped(_) => counts.skipped += 1,
            }
        }
        counts
    }

    /// Whether the run passes: nothing failed or errored (warnings allowed), and nothing
    /// was skipped under `--fail-on-skip`.
    pub fn is_success(&self) -> bool {
        let counts = self.counts();
        counts.failed == 0 && counts.errored == 0 && !(self.fail_on_skip && counts.skipped > 0)
    }

    /// The results of the check named `name`.
    pub fn results_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a CheckResult> {
        self.results.iter().filter(move |r| r.check.name == name)
    }

    /// The results that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
    }

    /// The results that errored.
    pub fn errors(&self) -> impl Iterator<Item = &CheckResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Errored(_)))
    }

    /// The closing line: `N passed, N failed, N skipped`, with `, N errors` before the
    /// skips when any check errored (warned results count as passed).
    pub fn summary_line(&self) -> String {
        let counts = self.counts();
        let errors = if counts.errored > 0 {
            format!(", {} errors", counts.errored)
        } else {
            String::new()
        };
        format!(
            "{} passed, {} failed{errors}, {} skipped",
            counts.passed + counts.warned,
            counts.failed,
            counts.skipped
        )
    }

    /// The rules the run exercised: those of every check that ran to a verdict.
    pub fn rules_exercised(&self) -> Vec<&'static Rule> {
        let mut rules: Vec<&'static Rule> = Vec::new();
        for result in &self.results {
            if matches!(result.outcome, Outcome::Errored(_) | Outcome::Skipped(_)) {
                continue;
            }
            for rule in result.check.rules_for(self.api) {
                if !rules.iter().any(|r| r.id == rule.id) {
                    rules.push(rule);
                }
            }
        }
        rules
    }

    pub(crate) fn scrub(&mut self, token: &Token) {
        for result in &mut self.results {
            match &mut result.outcome {
                Outcome::Warned(findings) | Outcome::Failed(findings) => {
                    findings.iter_mut().for_each(|f| f.scrub(token));
                }
                Outcome::Skipped(reason) | Outcome::Errored(reason) => {
                    *reason = token.scrub(reason);
                }
                Outcome::Passed => {}
            }
        }
    }

    /// The report for people: the plan's totals, one line per result, details of every
    /// finding, the request counts, and the summary line last.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "beacon-conformance {}: {} at {}",
            env!("CARGO_PKG_VERSION"),
            self.api.title(),
            self.base_url
        );
        let _ = writeln!(
            out,
            "token {} · seed {} · {} cases · phases {} · {}{}",
            self.token,
            self.seed,
            self.cases,
            self.plan
                .phases
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(","),
            if self.allow_writes {
                "writes allowed"
            } else {
                "read-only"
            },
            if self.strict { " · strict" } else { "" },
        );
        out.push('\n');
        for result in &self.results {
            let _ = write!(out, "{:<5} {}", result.outcome.tag(), result.title());
            if let Some(reason) = result.outcome.reason() {
                let _ = write!(out, " — {reason}");
            }
            out.push('\n');
            for finding in result.outcome.findings() {
                self.write_finding(&mut out, finding);
            }
        }
        out.push('\n');
        let stats = &self.requests;
        let _ = writeln!(
            out,
            "requests: {} sent of {} planned, budget {} · {} retried after a transport failure · {} × 429 met, {} provoked by the probe · waited {:.1} s · {:.1} s in all",
            stats.sent,
            stats.planned,
            stats.budget,
            stats.retried,
            stats.throttled,
            stats.probe_throttled,
            stats.waited.as_secs_f64(),
            self.elapsed.as_secs_f64()
        );
        if !self.created.is_empty() {
            let _ = writeln!(
                out,
                "created and left in place (the API has no delete): {}",
                self.created.join(", ")
            );
        }
        let counts = self.counts();
        if counts.warned > 0 {
            let _ = writeln!(
                out,
                "{} passed with warnings on [ours] rules (--strict makes them failures)",
                counts.warned
            );
        }
        if counts.errored > 0 {
            let _ = writeln!(
                out,
                "{} could not be checked (ERROR): the run fails, as it proves nothing about them",
                counts.errored
            );
        }
        if self.fail_on_skip && counts.skipped > 0 {
            let _ = writeln!(
                out,
                "{} skipped: --fail-on-skip fails the run",
                counts.skipped
            );
        }
        if counts.failed > 0 {
            let _ = writeln!(out, "reproduce with --seed {}", self.seed);
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    fn write_finding(&self, out: &mut String, finding: &Finding) {
        let level = if finding.binding {
            "failure"
        } else {
            "warning"
        };
        let _ = writeln!(
            out,
            "      {level}: {} [{}] {}",
            finding.rule.id, finding.rule.provenance, finding.message
        );
        for line in self.finding_text(finding).lines().skip(1) {
            let _ = writeln!(out, "        {line}");
        }
    }

    /// JUnit XML: one `<testcase>` per check, operation and phase (class
    /// `<api>.<operation>`, name `check [phase]`), with one `<failure>` (the rule of its first
    /// binding finding as type, every finding in the text) or `<error>` or `<skipped>`;
    /// warnings go to `<system-out>`. Times exclude rate-limit waits.
    pub fn junit(&self) -> String {
        let mut suite = TestSuite::new(format!("beacon-conformance.{}", self.api.name()));
        suite.set_time(self.elapsed);
        suite.set_timestamp(timestamp(self.started_at));
        for (name, value) in [
            ("base_url", self.base_url.clone()),
            ("seed", self.seed.to_string()),
            ("cases", self.cases.to_string()),
            ("strict", self.strict.to_string()),
            ("allow_writes", self.allow_writes.to_string()),
            ("requests_planned", self.requests.planned.to_string()),
            ("requests_sent", self.requests.sent.to_string()),
        ] {
            suite.add_property(Property::new(name, value));
        }
        for result in &self.results {
            let status = match &result.outcome {
                Outcome::Passed | Outcome::Warned(_) => TestCaseStatus::success(),
                Outcome::Skipped(reason) => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(reason.as_str());
                    status
                }
                Outcome::Errored(reason) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(reason.as_str());
                    status.set_type("error");
                    status
                }
                Outcome::Failed(findings) => {
                    let first = findings.iter().find(|f| f.binding).unwrap_or(&findings[0]);
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(format!("{}: {}", first.rule.id, first.message));
                    status.set_type(first.rule.id);
                    let text: Vec<String> = findings
                        .iter()
                        .map(|f| {
                            let level = if f.binding { "failure" } else { "warning" };
                            format!("{level} {}", self.finding_text(f))
                        })
                        .collect();
                    status.set_description(text.join("\n\n"));
                    status
                }
            };
            let name = match result.phase {
                Some(phase) => format!("{} [{}]", result.check.name, phase.name()),
                None => result.check.name.to_owned(),
            };
            let mut case = TestCase::new(name, status);
            let class = match result.operation {
                Some(op) => format!("{}.{}", self.api.name(), op.name),
                None => self.api.name().to_owned(),
            };
            case.set_classname(class);
            case.set_time(result.elapsed);
            if let Outcome::Warned(findings) = &result.outcome {
                let text: Vec<String> = findings
                    .iter()
                    .map(|f| format!("warning {}", self.finding_text(f)))
                    .collect();
                case.set_system_out(text.join("\n\n"));
            }
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("beacon-conformance");
        report.set_time(self.elapsed);
        report.set_timestamp(timestamp(self.started_at));
        report.add_test_suite(suite);
        report
            .to_string()
            .unwrap_or_else(|e| format!("<!-- cannot render JUnit: {e} -->\n"))
    }

    /// A finding as text: the rule line, then input, request, expected, actual and seed.
    fn finding_text(&self, finding: &Finding) -> String {
        let mut text = format!(
            "{} [{}] {}\nrule:     {}\n",
            finding.rule.id, finding.rule.provenance, finding.message, finding.rule.statement
        );
        if let Some(input) = &finding.input {
            let _ = writeln!(text, "input:    {input}");
        }
        if let Some(request) = &finding.request {
            let _ = writeln!(text, "request:  {request}");
        }
        if !finding.expected.is_empty() {
            let _ = writeln!(text, "expected: {}", finding.expected);
        }
        if !finding.actual.is_empty() {
            let _ = writeln!(text, "actual:   {}", finding.actual);
        }
        let _ = write!(text, "seed:     {} (--seed {})", self.seed, self.seed);
        text
    }

    /// The machine-readable report: the tool, the run, the plan, every result, the
    /// coverage (which operation answered which status, which rules were exercised).
    pub fn json(&self) -> Value {
        let counts = self.counts();
        let results: Vec<Value> = self
            .results
            .iter()
            .map(|result| {
                json!({
                    "check": result.check.name,
                    "operation": result.operation.map(|op| op.name),
                    "phase": result.phase.map(Phase::name),
                    "outcome": result.outcome.label(),
                    "reason": result.outcome.reason(),
                    "elapsed_ms": result.elapsed.as_millis() as u64,
                    "waited_ms": result.waited.as_millis() as u64,
                    "requests": result.requests,
                    "findings": result.outcome.findings().iter().map(|f| json!({
                        "rule": f.rule.id,
                        "provenance": f.rule.provenance.tag(),
                        "binding": f.binding,
                        "message": f.message,
                        "expected": f.expected,
                        "actual": f.actual,
                        "input": f.input,
                        "request": f.request,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let stats = &self.requests;
        let exercised = self.rules_exercised();
        let not_exercised: Vec<&str> = rules::ALL
            .iter()
            .filter(|rule| rule.api.is_none_or(|a| a == self.api))
            .filter(|rule| !exercised.iter().any(|r| r.id == rule.id))
            .map(|rule| rule.id)
            .collect();
        json!({
            "tool": "beacon-conformance",
            "version": env!("CARGO_PKG_VERSION"),
            "started_at": humantime::format_rfc3339_seconds(self.started_at).to_string(),
            "api": self.api.name(),
            "base_url": self.base_url,
            "token": self.token,
            "seed": self.seed,
            "cases": self.cases,
            "strict": self.strict,
            "allow_writes": self.allow_writes,
            "fail_on_skip": self.fail_on_skip,
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "success": self.is_success(),
            "summary": {
                "passed": counts.passed,
                "warned": counts.warned,
                "failed": counts.failed,
                "errored": counts.errored,
                "skipped": counts.skipped,
            },
            "plan": self.plan.json(),
            "requests": {
                "sent": stats.sent,
                "planned": stats.planned,
                "budget": stats.budget,
                "retried": stats.retried,
                "throttled": stats.throttled,
                "probe_throttled": stats.probe_throttled,
                "waited_ms": stats.waited.as_millis() as u64,
            },
            "coverage": {
                "responses": self.responses.iter().map(|r| json!({
                    "operation": r.operation,
                    "status": r.status,
                    "count": r.count,
                })).collect::<Vec<_>>(),
                "rules_exercised": exercised.iter().map(|r| json!({
                    "rule": r.id,
                    "provenance": r.provenance.tag(),
                })).collect::<Vec<_>>(),
                "rules_not_exercised": not_exercised,
            },
            "created": self.created,
            "results": results,
        })
    }
}

/// What a run that could not report checks writes instead: JUnit with a single error test
/// case that says why, so that a CI reporter shows it.
pub fn error_junit(api: Option<Api>, reason: &str) -> String {
    let name = api.map_or("beacon-conformance".to_owned(), |api| {
        format!("beacon-conformance.{}", api.name())
    });
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_message(reason);
    status.set_type("run-error");
    let mut case = TestCase::new("run", status);
    case.set_classname(name.clone());
    let mut suite = TestSuite::new(name);
    suite.add_test_case(case);
    let mut report = quick_junit::Report::new("beacon-conformance");
    report.add_test_suite(suite);
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit: {e} -->\n"))
}

/// The JSON report of a run that could not report checks: the tool, what was asked, and
/// why it stopped.
pub fn error_json(api: Option<Api>, seed: Option<u64>, reason: &str) -> Value {
    json!({
        "tool": "beacon-conformance",
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        "api": api.map(Api::name),
        "seed": seed,
        "success": false,
        "error": reason,
        "summary": {"passed": 0, "warned": 0, "failed": 0, "errored": 1, "skipped": 0},
        "results": [],
    })
}

fn timestamp(at: SystemTime) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::<chrono::Utc>::from(at).fixed_offset()
}
