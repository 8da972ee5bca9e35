//! The HTML report: one self-contained file (no outside script, style, font or image) for a
//! person reading a CI artifact — the summary, the plan, a coverage matrix of operation ×
//! check, every failure and every warning with what reproduces it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::check::Phase;
use crate::report::{CheckResult, Finding, Outcome, Report};

const STYLE: &str = r#"
:root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --skip: #6e7781; --error: #8250df; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
main { max-width: 1240px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #57606a; margin: 0 0 16px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 16px; min-width: 120px; }
.card b { display: block; font-size: 22px; }
.verdict { font-weight: 600; padding: 10px 16px; border-radius: 6px; color: #fff; display: inline-block; margin: 8px 0 16px; }
.ok { background: var(--pass); } .ko { background: var(--fail); }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
.matrix td { text-align: center; font-size: 12px; white-space: nowrap; }
.matrix th.op { white-space: nowrap; }
.matrix th.check { writing-mode: vertical-rl; transform: rotate(180deg); font-size: 12px; white-space: nowrap; }
.PASS { background: #dafbe1; color: var(--pass); } .FAIL { background: #ffebe9; color: var(--fail); font-weight: 700; }
.WARN { background: #fff8c5; color: var(--warn); } .SKIP { background: #f6f8fa; color: var(--skip); }
.ERROR { background: #fbefff; color: var(--error); font-weight: 700; }
.finding { background: #fff; border: 1px solid #d0d7de; border-left: 4px solid var(--fail); border-radius: 6px; padding: 10px 14px; margin: 10px 0; break-inside: avoid; }
.finding.warning { border-left-color: var(--warn); }
.finding h3 { font-size: 14px; margin: 0 0 6px; }
.tag { font: 12px ui-monospace, monospace; background: #eaeef2; border-radius: 4px; padding: 0 4px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 4px; padding: 6px 8px; white-space: pre-wrap; word-break: break-all; margin: 4px 0; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: #57606a; }
dd { margin: 0; min-width: 0; }
details summary { cursor: pointer; color: #0969da; }
@media print { body { background: #fff; } main { max-width: none; padding: 0; } details { display: block; } .finding { border-color: #999; } }
"#;

/// HTML-escapes `text`.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How bad an outcome is, for the matrix cell that sums up a check's phases.
fn severity(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Skipped(_) => 0,
        Outcome::Passed => 1,
        Outcome::Warned(_) => 2,
        Outcome::Errored(_) => 3,
        Outcome::Failed(_) => 4,
    }
}

/// A result's phase and what it found, for a cell's tooltip.
fn describe(result: &CheckResult) -> String {
    let what = match &result.outcome {
        Outcome::Skipped(reason) | Outcome::Errored(reason) => reason.clone(),
        other => other
            .findings()
            .iter()
            .map(|f| format!("{}: {}", f.rule.id, f.message))
            .collect::<Vec<_>>()
            .join("; "),
    };
    let phase = result.phase.map_or("", Phase::name);
    format!("{phase} {} {what}", result.outcome.tag())
        .trim()
        .to_owned()
}

impl Report {
    /// The report as one self-contained HTML page.
    pub fn html(&self) -> String {
        let counts = self.counts();
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>beacon-conformance · {} · {}</title><style>{STYLE}</style></head><body><main>\n",
            esc(self.api.title()),
            esc(&self.summary_line())
        );
        let _ = writeln!(
            out,
            "<h1>beacon-conformance: {}</h1><p class=\"meta\">{} · token {} · seed <code>{}</code> · {} cases · {} · {}{} · started {} · {:.1} s</p>",
            esc(self.api.title()),
            esc(&self.base_url),
            esc(&self.token),
            self.seed,
            self.cases,
            esc(&self
                .plan
                .phases
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")),
            if self.allow_writes {
                "writes allowed"
            } else {
                "read-only"
            },
            if self.strict { " · strict" } else { "" },
            humantime::format_rfc3339_seconds(self.started_at),
            self.elapsed.as_secs_f64()
        );
        let (class, verdict) = if self.is_success() {
            ("ok", "Passed")
        } else {
            ("ko", "Failed")
        };
        let _ = writeln!(
            out,
            "<div class=\"verdict {class}\">{verdict}: {}</div>",
            esc(&self.summary_line())
        );
        out.push_str("<div class=\"cards\">");
        for (label, value) in [
            ("passed", counts.passed),
            ("warned", counts.warned),
            ("failed", counts.failed),
            ("errors", counts.errored),
            ("skipped", counts.skipped),
        ] {
            let _ = write!(out, "<div class=\"card\"><b>{value}</b>{label}</div>");
        }
        let stats = &self.requests;
        let _ = write!(
            out,
            "<div class=\"card\"><b>{} / {}</b>requests sent / planned (budget {})</div>\
             <div class=\"card\"><b>{:.1} s</b>waited for rate-limit windows ({} × 429)</div></div>",
            stats.sent,
            stats.planned,
            stats.budget,
            stats.waited.as_secs_f64(),
            stats.throttled + stats.probe_throttled
        );

        self.html_matrix(&mut out);
        self.html_findings(&mut out);

        out.push_str("<h2>Plan</h2><details><summary>");
        let _ = write!(
            out,
            "{} units, at most {} requests</summary><pre>{}</pre></details>",
            self.plan.units.len(),
            self.plan.requests(),
            esc(&self.plan.render())
        );
        if !self.created.is_empty() {
            out.push_str("<h2>Created and left in place</h2><p>The API has no delete.</p><ul>");
            for item in &self.created {
                let _ = write!(out, "<li>{}</li>", esc(item));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("<h2>Responses seen</h2><table><tr><th>operation</th><th>status</th><th>count</th></tr>");
        for seen in &self.responses {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(seen.operation),
                seen.status,
                seen.count
            );
        }
        out.push_str("</table>\n</main></body></html>\n");
        out
    }

    fn html_matrix(&self, out: &mut String) {
        let mut columns: Vec<&str> = Vec::new();
        for result in &self.results {
            if !columns.contains(&result.check.name) {
                columns.push(result.check.name);
            }
        }
        let operations: BTreeSet<(usize, &str)> = self
            .results
            .iter()
            .filter_map(|r| r.operation)
            .map(|op| {
                let position = beacon_spec::catalog::OPERATIONS
                    .iter()
                    .position(|o| o.name == op.name)
                    .unwrap_or(usize::MAX);
                (position, op.name)
            })
            .collect();
        out.push_str(
            "<h2>Coverage: operation × check</h2><p class=\"meta\">A cell sums up the check's phases on the operation (the worst outcome); hover for each phase.</p><table class=\"matrix\"><tr><th class=\"op\">operation</th>",
        );
        for name in &columns {
            let _ = write!(out, "<th class=\"check\">{}</th>", esc(name));
        }
        out.push_str("</tr>\n");
        for (_, operation) in operations {
            let _ = write!(out, "<tr><th class=\"op\">{}</th>", esc(operation));
            for name in &columns {
                let cells: Vec<&CheckResult> = self
                    .results
                    .iter()
                    .filter(|r| {
                        r.check.name == *name && r.operation.is_some_and(|op| op.name == operation)
                    })
                    .collect();
                match cells.iter().max_by_key(|r| severity(&r.outcome)) {
                    None => out.push_str("<td></td>"),
                    Some(worst) => {
                        let tag = worst.outcome.tag();
                        let title: Vec<String> = cells.iter().map(|r| describe(r)).collect();
                        let _ = write!(
                            out,
                            "<td class=\"{tag}\" title=\"{}\">{tag}</td>",
                            esc(&title.join(" | "))
                        );
                    }
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }

    fn html_findings(&self, out: &mut String) {
        let failing: Vec<(&CheckResult, &Finding)> = self
            .results
            .iter()
            .flat_map(|r| r.outcome.findings().iter().map(move |f| (r, f)))
            .collect();
        let errors: Vec<&CheckResult> = self.errors().collect();
        let _ = writeln!(
            out,
            "<h2>Failures ({})</h2>",
            failing.iter().filter(|(_, f)| f.binding).count()
        );
        self.html_finding_list(
            out,
            failing.iter().filter(|(_, f)| f.binding).copied(),
            "failure",
        );
        if !errors.is_empty() {
            let _ = writeln!(out, "<h2>Errors ({})</h2>", errors.len());
            for result in errors {
                let _ = writeln!(
                    out,
                    "<div class=\"finding\" style=\"border-left-color: var(--error)\"><h3>{}</h3><pre>{}</pre></div>",
                    esc(&result.title()),
                    esc(result.outcome.reason().unwrap_or_default())
                );
            }
        }
        let _ = writeln!(
            out,
            "<h2>Warnings ({})</h2>",
            failing.iter().filter(|(_, f)| !f.binding).count()
        );
        self.html_finding_list(
            out,
            failing.iter().filter(|(_, f)| !f.binding).copied(),
            "warning",
        );
    }

    fn html_finding_list<'a>(
        &self,
        out: &mut String,
        findings: impl Iterator<Item = (&'a CheckResult, &'a Finding)>,
        class: &str,
    ) {
        let mut any = false;
        for (result, finding) in findings {
            any = true;
            let _ = write!(
                out,
                "<div class=\"finding {class}\"><h3>{} — <span class=\"tag\">{}</span> <span class=\"tag\">[{}]</span></h3><p>{}</p><dl><dt>rule</dt><dd>{}</dd>",
                esc(&result.title()),
                esc(finding.rule.id),
                finding.rule.provenance,
                esc(&finding.message),
                esc(finding.rule.statement)
            );
            if let Some(input) = &finding.input {
                let _ = write!(out, "<dt>input</dt><dd><pre>{}</pre></dd>", esc(input));
            }
            if let Some(request) = &finding.request {
                let _ = write!(out, "<dt>request</dt><dd><pre>{}</pre></dd>", esc(request));
            }
            if !finding.expected.is_empty() {
                let _ = write!(
                    out,
                    "<dt>expected</dt><dd><pre>{}</pre></dd>",
                    esc(&finding.expected)
                );
            }
            if !finding.actual.is_empty() {
                let _ = write!(
                    out,
                    "<dt>actual</dt><dd><pre>{}</pre></dd>",
                    esc(&finding.actual)
                );
            }
            let _ = writeln!(
                out,
                "<dt>seed</dt><dd><code>--seed {}</code></dd></dl></div>",
                self.seed
            );
        }
        if !any {
            out.push_str("<p>None.</p>\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
