//! The result of a run and its three renderings: human text, JUnit XML and JSON.

use std::fmt::Write as _;
use std::time::Duration;

use beacon_spec::{Api, Operation, Rule};
use serde_json::{Value, json};

use crate::check::Check;
use crate::config::Token;

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
    /// Proptest cases per property.
    pub cases: u32,
    /// Whether `[ours]` rules were binding.
    pub strict: bool,
    /// Whether writes were allowed.
    pub allow_writes: bool,
    /// One result per check and operation, in catalogue order.
    pub results: Vec<CheckResult>,
    /// What the run cost.
    pub requests: RequestStats,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Requests sent and rate limits met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestStats {
    /// Requests the checks sent (retries after a 429 included).
    pub sent: u32,
    /// The checks' budget (`--max-requests`).
    pub budget: u32,
    /// Requests the rate-limit probe sent, counted apart from the budget.
    pub probe_sent: u32,
    /// The probe's own allowance, when the probe ran.
    pub probe_allowance: Option<u32>,
    /// 429 responses the checks met (each followed by a wait).
    pub throttled: u32,
    /// 429 responses the probe provoked on purpose.
    pub probe_throttled: u32,
    /// Time spent waiting for rate-limit windows to reset.
    pub waited: Duration,
}

/// The outcome of one check on one operation.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check.
    pub check: &'static Check,
    /// The operation it ran on, if it is about one.
    pub operation: Option<&'static Operation>,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
    /// Requests it sent (budget and probe allowance together).
    pub requests: u32,
}

impl CheckResult {
    /// `check · operation`, for display.
    pub fn title(&self) -> String {
        match self.operation {
            Some(op) => format!("{} · {}", self.check.name, op.name),
            None => self.check.name.to_owned(),
        }
    }
}

/// Passed, warned, failed or skipped.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every rule held.
    Passed,
    /// Only `[ours]` rules broke, and the run is not `--strict`.
    Warned(Vec<Finding>),
    /// A binding rule broke.
    Failed(Vec<Finding>),
    /// Not run, with the reason.
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

    /// `passed`, `warned`, `failed` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Warned(_) => "warned",
            Outcome::Failed(_) => "failed",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// The findings, empty unless warned or failed.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Outcome::Warned(findings) | Outcome::Failed(findings) => findings,
            Outcome::Passed | Outcome::Skipped(_) => &[],
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

    pub(crate) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = expected.into();
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
    /// Skipped.
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
                Outcome::Skipped(_) => counts.skipped += 1,
            }
        }
        counts
    }

    /// Whether no check failed (warnings allowed).
    pub fn is_success(&self) -> bool {
        self.counts().failed == 0
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

    /// The closing line: `N passed, N failed` and `, N skipped` when any were skipped
    /// (warned results count as passed).
    pub fn summary_line(&self) -> String {
        let counts = self.counts();
        let mut line = format!(
            "{} passed, {} failed",
            counts.passed + counts.warned,
            counts.failed
        );
        if counts.skipped > 0 {
            let _ = write!(line, ", {} skipped", counts.skipped);
        }
        line
    }

    pub(crate) fn scrub(&mut self, token: &Token) {
        for result in &mut self.results {
            match &mut result.outcome {
                Outcome::Warned(findings) | Outcome::Failed(findings) => {
                    findings.iter_mut().for_each(|f| f.scrub(token));
                }
                Outcome::Skipped(reason) => *reason = token.scrub(reason),
                Outcome::Passed => {}
            }
        }
    }

    /// The report for people: one line per result, details of every finding, the request
    /// counts, and the summary line last.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "beacon-conformance: {} at {}",
            self.api.title(),
            self.base_url
        );
        let _ = writeln!(
            out,
            "token {} · seed {} · {} cases · {}{}",
            self.token,
            self.seed,
            self.cases,
            if self.allow_writes {
                "writes allowed"
            } else {
                "read-only"
            },
            if self.strict { " · strict" } else { "" },
        );
        out.push('\n');
        for result in &self.results {
            let tag = match result.outcome {
                Outcome::Passed => "PASS",
                Outcome::Warned(_) => "WARN",
                Outcome::Failed(_) => "FAIL",
                Outcome::Skipped(_) => "SKIP",
            };
            let _ = write!(out, "{tag}  {}", result.title());
            if let Outcome::Skipped(reason) = &result.outcome {
                let _ = write!(out, " — {reason}");
            }
            out.push('\n');
            for finding in result.outcome.findings() {
                self.write_finding(&mut out, finding);
            }
        }
        out.push('\n');
        let stats = &self.requests;
        let _ = write!(
            out,
            "requests: {} of a budget of {}",
            stats.sent, stats.budget
        );
        match stats.probe_allowance {
            Some(allowance) => {
                let _ = write!(
                    out,
                    " · rate-limit probe: {} more (own allowance {allowance}), {} × 429 provoked",
                    stats.probe_sent, stats.probe_throttled
                );
            }
            None => out.push_str(" · rate-limit probe: not run"),
        }
        let _ = writeln!(
            out,
            " · 429s met: {} · waited {:.1} s · {:.1} s in all",
            stats.throttled,
            stats.waited.as_secs_f64(),
            self.elapsed.as_secs_f64()
        );
        let counts = self.counts();
        if counts.warned > 0 {
            let _ = writeln!(
                out,
                "{} passed with warnings on [ours] rules (--strict makes them failures)",
                counts.warned
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
        let _ = writeln!(out, "        rule:     {}", finding.rule.statement);
        if let Some(input) = &finding.input {
            let _ = writeln!(out, "        input:    {input}");
        }
        if let Some(request) = &finding.request {
            let _ = writeln!(out, "        request:  {request}");
        }
        if !finding.expected.is_empty() {
            let _ = writeln!(out, "        expected: {}", finding.expected);
        }
        if !finding.actual.is_empty() {
            let _ = writeln!(out, "        actual:   {}", finding.actual);
        }
        let _ = writeln!(
            out,
            "        seed:     {} (--seed {})",
            self.seed, self.seed
        );
    }

    /// JUnit XML: one `<testcase>` per check and operation (class `<api>.<operation>`,
    /// name the check); failures carry the rule id as their type, skips their reason, and
    /// warnings go to `<system-out>`.
    pub fn junit(&self) -> String {
        let counts = self.counts();
        let total = self.results.len();
        let suite = format!("beacon-conformance.{}", self.api.name());
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"beacon-conformance\" tests=\"{total}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            counts.failed,
            counts.skipped,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{total}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            xml(&suite),
            counts.failed,
            counts.skipped,
            self.elapsed.as_secs_f64()
        );
        out.push_str("    <properties>\n");
        for (name, value) in [
            ("base_url", self.base_url.clone()),
            ("seed", self.seed.to_string()),
            ("cases", self.cases.to_string()),
            ("strict", self.strict.to_string()),
            ("allow_writes", self.allow_writes.to_string()),
        ] {
            let _ = writeln!(
                out,
                "      <property name=\"{name}\" value=\"{}\"/>",
                xml(&value)
            );
        }
        out.push_str("    </properties>\n");
        for result in &self.results {
            let class = match result.operation {
                Some(op) => format!("{}.{}", self.api.name(), op.name),
                None => self.api.name().to_owned(),
            };
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(&class),
                xml(result.check.name),
                result.elapsed.as_secs_f64()
            );
            match &result.outcome {
                Outcome::Passed => out.push_str("/>\n"),
                Outcome::Skipped(reason) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(reason)
                    );
                }
                Outcome::Failed(findings) => {
                    out.push_str(">\n");
                    for finding in findings.iter().filter(|f| f.binding) {
                        let _ = writeln!(
                            out,
                            "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                            xml(finding.rule.id),
                            xml(&format!("{}: {}", finding.rule.id, finding.message)),
                            xml(&self.finding_text(finding))
                        );
                    }
                    let warnings: Vec<&Finding> = findings.iter().filter(|f| !f.binding).collect();
                    self.junit_warnings(&mut out, &warnings);
                    out.push_str("    </testcase>\n");
                }
                Outcome::Warned(findings) => {
                    out.push_str(">\n");
                    let warnings: Vec<&Finding> = findings.iter().collect();
                    self.junit_warnings(&mut out, &warnings);
                    out.push_str("    </testcase>\n");
                }
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }

    fn junit_warnings(&self, out: &mut String, warnings: &[&Finding]) {
        if warnings.is_empty() {
            return;
        }
        let text: Vec<String> = warnings
            .iter()
            .map(|f| {
                format!(
                    "warning {}: {}\n{}",
                    f.rule.id,
                    f.message,
                    self.finding_text(f)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            xml(&text.join("\n"))
        );
    }

    fn finding_text(&self, finding: &Finding) -> String {
        let mut text = format!(
            "rule: {} [{}] {}\n",
            finding.rule.id, finding.rule.provenance, finding.rule.statement
        );
        if let Some(input) = &finding.input {
            let _ = writeln!(text, "input: {input}");
        }
        if let Some(request) = &finding.request {
            let _ = writeln!(text, "request: {request}");
        }
        let _ = writeln!(text, "expected: {}", finding.expected);
        let _ = writeln!(text, "actual: {}", finding.actual);
        let _ = write!(text, "seed: {}", self.seed);
        text
    }

    /// The machine-readable report.
    pub fn json(&self) -> Value {
        let counts = self.counts();
        let results: Vec<Value> = self
            .results
            .iter()
            .map(|result| {
                json!({
                    "check": result.check.name,
                    "operation": result.operation.map(|op| op.name),
                    "outcome": result.outcome.label(),
                    "reason": match &result.outcome {
                        Outcome::Skipped(reason) => Some(reason.as_str()),
                        _ => None,
                    },
                    "elapsed_ms": result.elapsed.as_millis() as u64,
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
        json!({
            "api": self.api.name(),
            "base_url": self.base_url,
            "token": self.token,
            "seed": self.seed,
            "cases": self.cases,
            "strict": self.strict,
            "allow_writes": self.allow_writes,
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "summary": {
                "passed": counts.passed,
                "warned": counts.warned,
                "failed": counts.failed,
                "skipped": counts.skipped,
            },
            "requests": {
                "sent": stats.sent,
                "budget": stats.budget,
                "probe_sent": stats.probe_sent,
                "probe_allowance": stats.probe_allowance,
                "throttled": stats.throttled,
                "probe_throttled": stats.probe_throttled,
                "waited_ms": stats.waited.as_millis() as u64,
            },
            "results": results,
        })
    }
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}
