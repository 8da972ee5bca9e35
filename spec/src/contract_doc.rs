//! `docs/contract.md`: the contract as people read it, generated from the catalog, the
//! rate-limit policies, the model's bounds and the rules, so that it cannot drift from
//! what the mock serves and the conformance suite checks.

use std::fmt::Write as _;

use crate::catalog::{Api, OPERATIONS};
use crate::codegen::GENERATED_NOTICE;
use crate::model;
use crate::provenance::Provenance;
use crate::rate_limit::RateScope;
use crate::rules::{self, Rule};

/// Where the two source documents are kept in the repository.
pub const REFERENCE_DOCUMENTS: [(Api, &str); 2] = [
    (Api::Status, "docs/reference/beacon-status-api.txt"),
    (Api::Panel, "docs/reference/beacon-panel-api.txt"),
];

fn rule_line(out: &mut String, rule: &Rule) {
    let _ = writeln!(
        out,
        "- `{}` **[{}]** {}",
        rule.id, rule.provenance, rule.statement
    );
}

fn scope_name(scope: RateScope) -> &'static str {
    match scope {
        RateScope::Workspace => "per workspace",
        RateScope::ClientIp => "per client IP",
        RateScope::Token => "per token",
    }
}

/// The Markdown of `docs/contract.md`.
pub fn contract_markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<!-- {GENERATED_NOTICE} -->\n");
    out.push_str("# The Beacon contracts\n\n");
    out.push_str(
        "Two APIs share the Beacon name, a `/api/v1` prefix and Bearer auth, and differ in everything else.\n\
         Every behaviour below is tagged with where it comes from:\n\n\
         - **[doc]** the API document states it;\n\
         - **[fix]** corrects an obvious defect of the document;\n\
         - **[ours]** our decision where the documents are silent. beacon-mock behaves this way, and beacon-conformance only warns \
         when a deployment differs, unless `--strict`.\n\n",
    );
    out.push_str("The source documents, verbatim:\n\n");
    for (api, path) in REFERENCE_DOCUMENTS {
        let link = path.strip_prefix("docs/").unwrap_or(path);
        let _ = writeln!(out, "- {}: [`{path}`]({link})", api.title());
    }
    out.push_str(
        "\nThe JSON Schemas under `spec/schemas/` and the OpenAPI documents under `spec/openapi/` hold the exact shapes.\n\n",
    );
    out.push_str("## Both APIs\n\n");
    for rule in rules::ALL.iter().filter(|r| r.api.is_none()) {
        rule_line(&mut out, rule);
    }
    for api in Api::ALL {
        let _ = writeln!(out, "\n## {}\n", api.title());
        let _ = writeln!(
            out,
            "Documented base URL: `{}`.\n",
            api.documented_base_url()
        );
        let policy = api.rate_limit();
        let _ = writeln!(out, "### Rate limits **[{}]**\n", policy.provenance);
        for window in policy.windows {
            let _ = writeln!(
                out,
                "- {} requests {} every {} s",
                window.limit,
                scope_name(window.scope),
                window.period_secs
            );
        }
        let headers: Vec<&str> = policy.headers().collect();
        let _ = writeln!(out, "- Headers: {}", headers.join(", "));
        out.push_str("\n### Operations\n");
        for op in OPERATIONS.iter().filter(|op| op.api == api) {
            let _ = writeln!(
                out,
                "\n#### `{} {}` ({}) **[{}]**\n",
                op.method.as_str(),
                op.path,
                op.name,
                op.provenance
            );
            let _ = writeln!(out, "{}\n", op.summary);
            let _ = writeln!(
                out,
                "- {}: success, body `{}`{}",
                op.success_status,
                op.response.name,
                if op.mutates { " (changes state)" } else { "" }
            );
            if let Some(request) = op.request {
                let _ = writeln!(out, "- Request body: `{}`", request.name);
            }
            if let Some(query) = op.query {
                let _ = writeln!(out, "- Query: `{}`", query.name);
            }
            for error in op.error_statuses() {
                let _ = writeln!(
                    out,
                    "- {}: {} **[{}]**",
                    error.status, error.when, error.provenance
                );
            }
        }
        out.push_str("\n### Rules\n\n");
        for rule in rules::ALL.iter().filter(|r| r.api == Some(api)) {
            rule_line(&mut out, rule);
        }
    }
    let _ = writeln!(out, "\n## Bounds of the model **[{}]**\n", Provenance::Ours);
    let _ = writeln!(
        out,
        "- A console keeps its last {} lines.",
        model::CONSOLE_CAPACITY
    );
    let _ = writeln!(
        out,
        "- A console command is at most {} bytes.",
        model::MAX_COMMAND_BYTES
    );
    let _ = writeln!(
        out,
        "- A page holds at most {} incidents.",
        model::MAX_INCIDENTS_PER_PAGE
    );
    let _ = writeln!(
        out,
        "- A server holds at most {} databases.",
        model::MAX_DATABASES_PER_SERVER
    );
    let _ = writeln!(
        out,
        "- A created database is on `{}:{}` with {} connections.",
        model::DATABASE_HOST,
        model::DATABASE_PORT,
        model::DEFAULT_MAX_CONNECTIONS
    );
    out
}
