//! The `beacon-conformance` binary: its flags, exit codes (0 pass, 1 fail, 2 usage or
//! connection error), summary line, JUnit and JSON files.

mod common;

use std::process::{Command, Output};

use beacon_spec::Api;
use common::{Deployment, serve_databases_without_token};
use serde_json::json;

fn conformance(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_beacon-conformance"));
    command.args(args).env_remove("BEACON_TOKEN");
    command
}

/// The binary pointed at `deployment` with its API and token, and `args`.
fn against(deployment: &Deployment, args: &[&str]) -> Command {
    let token = deployment.token();
    let mut command = conformance(&[
        "--api",
        deployment.api.name(),
        "--base-url",
        &deployment.base_url,
        "--token",
        &token,
    ]);
    command.args(args);
    command
}

/// Runs `command` to its end: its exit code, stdout and stderr.
fn exits(mut command: Command) -> (Option<i32>, String, String) {
    let output = command.output().expect("the binary runs");
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `N passed, N failed, N skipped` (`, N errors` before the skips when any errored).
fn summary(stdout: &str) -> (u32, u32, Option<u32>) {
    let last = stdout.lines().last().expect("a summary line");
    let numbers: Vec<u32> = last
        .split(", ")
        .map(|part| {
            part.split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect(last)
        })
        .collect();
    let words: Vec<&str> = last
        .split(", ")
        .map(|p| p.split(' ').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(words, ["passed", "failed", "skipped"], "{last}");
    (numbers[0], numbers[1], Some(numbers[2]).filter(|&n| n > 0))
}

#[test]
fn exits_0_when_every_check_passes_and_takes_the_token_from_beacon_token() {
    // Arrange
    let deployment = Deployment::mock(Api::Panel);
    // Act
    let output = conformance(&[
        "--api",
        "panel",
        "--base-url",
        &deployment.base_url,
        "--seed",
        "1",
    ])
    .env("BEACON_TOKEN", deployment.token())
    .output()
    .expect("the binary runs");
    // Assert
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let (passed, failed, skipped) = summary(&stdout);
    assert!(passed > 0);
    assert_eq!(failed, 0);
    assert!(
        skipped.is_some_and(|n| n > 0),
        "a read-only run skips the writes"
    );
    assert!(stderr.contains("seed 1"));
    assert!(!stdout.contains(&deployment.token()) && !stderr.contains(&deployment.token()));
    assert!(stdout.contains("panel_…4f60"));
}

#[test]
fn exits_1_and_writes_junit_and_json_reports_when_a_check_fails() {
    // Arrange: databases are served without a token.
    let deployment = Deployment::wiremock(Api::Panel);
    serve_databases_without_token(&deployment);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let junit = dir.path().join("junit.xml");
    let json_path = dir.path().join("report.json");
    // Act
    let output = against(
        &deployment,
        &[
            "--seed",
            "5",
            "--junit",
            junit.to_str().expect("UTF-8 path"),
            "--json",
            json_path.to_str().expect("UTF-8 path"),
        ],
    )
    .output()
    .expect("the binary runs");
    // Assert: exit code and summary
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let (passed, failed, skipped) = summary(&stdout);
    assert_eq!(failed, 1, "{stdout}");
    assert!(stdout.contains("FAIL  auth · list_databases"));
    assert!(stdout.contains("auth.required [doc]"));
    assert!(stdout.contains("curl -sS -i 'http://127.0.0.1:"));
    assert!(stdout.contains("seed:     5 (--seed 5)"));
    // Assert: JUnit, one test case per check and operation
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a testsuite");
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let total = passed + failed + skipped.unwrap_or(0);
    assert_eq!(cases.len(), total as usize);
    assert_eq!(suite.attribute("tests"), Some(total.to_string().as_str()));
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(
        suite.attribute("skipped"),
        Some(skipped.unwrap_or(0).to_string().as_str())
    );
    let mut names: Vec<(&str, &str)> = cases
        .iter()
        .map(|c| {
            (
                c.attribute("classname").unwrap_or(""),
                c.attribute("name").unwrap_or(""),
            )
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "one case per check and operation");
    let failing: Vec<_> = cases
        .iter()
        .filter_map(|c| {
            c.children()
                .find(|n| n.has_tag_name("failure"))
                .map(|f| (c, f))
        })
        .collect();
    assert_eq!(failing.len(), 1);
    let (case, failure) = failing[0];
    assert_eq!(case.attribute("classname"), Some("panel.list_databases"));
    assert_eq!(case.attribute("name"), Some("auth [coverage]"));
    assert_eq!(failure.attribute("type"), Some("auth.required"));
    assert!(
        failure
            .text()
            .unwrap_or_default()
            .contains("request:  curl")
    );
    let skipped_cases = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
        .count();
    assert_eq!(skipped_cases as u32, skipped.unwrap_or(0));
    assert!(!xml.contains(&deployment.token()));
    // Assert: JSON
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("the JSON file"))
            .expect("valid JSON");
    assert_eq!(report["summary"]["failed"], json!(1));
    assert_eq!(report["seed"], json!(5));
    let failed_result = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["outcome"] == "failed")
        .expect("a failed result");
    assert_eq!(failed_result["findings"][0]["rule"], "auth.required");
    assert_eq!(failed_result["findings"][0]["provenance"], "doc");
}

#[test]
fn exits_2_with_a_one_line_reason_when_the_deployment_is_unreachable() {
    // Arrange: a port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/api/v1");
    // Act
    let output = conformance(&[
        "--api",
        "status",
        "--base-url",
        &url,
        "--token",
        "bkn_live_x",
    ])
    .output()
    .expect("the binary runs");
    // Assert
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    let last = stderr.lines().last().expect("a reason");
    assert!(
        last.starts_with("error: cannot reach http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stdout.is_empty());
}

#[test]
fn exits_2_for_usage_errors() {
    let cases: [&[&str]; 4] = [
        &["--base-url", "http://127.0.0.1:1/api/v1", "--token", "t"],
        &["--api", "status", "--base-url", "http://127.0.0.1:1/api/v1"],
        &[
            "--api",
            "nope",
            "--base-url",
            "http://127.0.0.1:1/api/v1",
            "--token",
            "t",
        ],
        &["--api", "panel", "--base-url", "not a url", "--token", "t"],
    ];
    for args in cases {
        let output = conformance(args).output().expect("the binary runs");
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }
}

#[test]
fn exits_2_when_the_token_is_refused() {
    // Arrange
    let deployment = Deployment::mock(Api::Status);
    // Act
    let output = conformance(&[
        "--api",
        "status",
        "--base-url",
        &deployment.base_url,
        "--token",
        "bkn_live_00000000000000000000000000000000",
    ])
    .output()
    .expect("the binary runs");
    // Assert
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("was refused"), "{stderr}");
    assert!(
        !stderr.contains("00000000000000000000000000000000"),
        "{stderr}"
    );
}

#[test]
fn lists_the_check_catalogue_with_provenance() {
    // Act
    let output = conformance(&["--list"]).output().expect("the binary runs");
    // Assert
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0));
    for check in beacon_conformance::CHECKS {
        assert!(stdout.contains(check.name), "{} is listed", check.name);
        for rule in check.rules {
            assert!(stdout.contains(&format!("{} [{}]", rule.id, rule.provenance)));
        }
    }
}

#[test]
fn lists_every_rule_of_the_spec_the_new_ones_included() {
    // Act
    let output = conformance(&["--list"]).output().expect("the binary runs");
    // Assert
    let (stdout, _) = text(&output);
    for rule in beacon_spec::rules::ALL {
        assert!(
            stdout.contains(&format!("{} [{}]", rule.id, rule.provenance)),
            "{} is listed",
            rule.id
        );
    }
    for id in [
        "response.schema_ours [ours]",
        "panel.database_name_length_400 [ours]",
        "panel.rate_headers_every_response [ours]",
        "request.query_first_wins [ours]",
    ] {
        assert!(stdout.contains(id), "{id} is listed");
    }
}

#[test]
fn the_readme_catalogue_names_every_check_and_rule_with_its_provenance() {
    // Arrange
    let readme = include_str!("../README.md");
    // Assert
    for check in beacon_conformance::CHECKS {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{}` |", check.name)))
            .unwrap_or_else(|| panic!("{} has a row in the README", check.name));
        for rule in check.rules {
            let cell = format!("`{}` [{}]", rule.id, rule.provenance);
            assert!(
                row.contains(&cell),
                "the row of {} lists {cell}",
                check.name
            );
        }
    }
    for rule in beacon_spec::rules::ALL {
        let cell = format!("`{}` [{}]", rule.id, rule.provenance);
        assert!(readme.contains(&cell), "the README lists {cell}");
    }
}

#[test]
fn the_default_full_write_run_against_the_mock_skips_nothing_and_exits_0() {
    for api in [Api::Status, Api::Panel] {
        // Arrange: the mock as `beacon-mock --rate-limit-window 3` serves it.
        let deployment = Deployment::mock_with_window(api, std::time::Duration::from_secs(3));
        let mut args = vec![
            "--api",
            api.name(),
            "--base-url",
            &deployment.base_url,
            "--allow-writes",
            "--probe-rate-limit",
        ];
        if api == Api::Panel {
            args.extend(["--server-id", "123"]);
        }
        // Act
        let output = conformance(&args)
            .env("BEACON_TOKEN", deployment.token())
            .output()
            .expect("the binary runs");
        // Assert
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
        assert!(stdout.ends_with(" failed, 0 skipped\n"), "{stdout}");
        assert!(
            stderr.contains("plan: at most"),
            "the plan heads the run: {stderr}"
        );
        assert!(
            !stdout.contains("ERROR") && !stdout.contains("SKIP "),
            "{stdout}"
        );
    }
}

#[test]
fn plan_prints_the_plan_and_sends_nothing() {
    // Arrange
    let deployment = Deployment::mock(Api::Panel);
    // Act
    let output = against(
        &deployment,
        &[
            "--allow-writes",
            "--server-id",
            "123",
            "--probe-rate-limit",
            "--plan",
        ],
    )
    .output()
    .expect("the binary runs");
    // Assert
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("rate-limit-probe · list_servers"),
        "{stdout}"
    );
    assert!(
        stdout.contains("console-lines · get_console [coverage]"),
        "{stdout}"
    );
    let last = stdout.lines().last().expect("a total");
    assert!(last.starts_with("plan: at most "), "{last}");
    assert!(last.contains("of a budget of 800"), "{last}");
    assert_eq!(deployment.journaled(), 0, "nothing was sent");
}

#[test]
fn a_budget_too_small_exits_2_naming_the_smallest_that_would_do() {
    // Arrange
    let deployment = Deployment::mock(Api::Status);
    // Act
    let output = against(&deployment, &["--max-requests", "5"])
        .output()
        .expect("the binary runs");
    // Assert
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --max-requests "), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    assert_eq!(deployment.journaled(), 0);
}

#[test]
fn junit_and_json_are_written_when_the_run_stops_with_exit_2() {
    // Arrange: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/api/v1");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let junit = dir.path().join("junit.xml");
    let json_path = dir.path().join("report.json");
    // Act
    let output = conformance(&[
        "--api",
        "status",
        "--base-url",
        &url,
        "--token",
        "bkn_live_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
        "--junit",
        junit.to_str().expect("UTF-8 path"),
        "--json",
        json_path.to_str().expect("UTF-8 path"),
    ])
    .output()
    .expect("the binary runs");
    // Assert
    assert_eq!(output.status.code(), Some(2));
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("an error test case");
    assert!(
        error
            .attribute("message")
            .is_some_and(|m| m.contains("cannot reach")),
        "{xml}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("the JSON file"))
            .expect("valid JSON");
    assert_eq!(report["success"], json!(false));
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach"))
    );
    assert!(!xml.contains("a1b2c3d4"));
    // The seed the run printed, not null.
    let seed = report["seed"].as_u64().expect("a seed");
    let (_, stderr) = text(&output);
    assert!(stderr.contains(&format!("seed {seed} ")), "{stderr}");
}

#[test]
fn fail_on_skip_fails_a_read_only_run() {
    // Arrange
    let deployment = Deployment::mock(Api::Status);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--api",
            "status",
            "--base-url",
            &deployment.base_url,
            "--token",
            "",
            "--seed",
            "3",
        ];
        let token = deployment.token();
        args[5] = &token;
        args.extend(extra);
        conformance(&args).output().expect("the binary runs")
    };
    // Act, Assert
    assert_eq!(run(&[]).status.code(), Some(0));
    let output = run(&["--fail-on-skip"]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("--fail-on-skip fails the run"), "{stdout}");
}

#[test]
fn list_json_writes_the_catalogue() {
    // Arrange
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("catalogue.json");
    // Act
    let output = conformance(&["--list", "--json", path.to_str().expect("UTF-8 path")])
        .output()
        .expect("the binary runs");
    // Assert
    assert_eq!(output.status.code(), Some(0));
    let catalogue: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the catalogue"))
            .expect("valid JSON");
    let apis = catalogue["apis"].as_array().expect("apis");
    assert_eq!(apis.len(), 2);
    let names: Vec<&str> = apis
        .iter()
        .flat_map(|api| api["checks"].as_array().into_iter().flatten())
        .filter_map(|check| check["name"].as_str())
        .collect();
    for check in beacon_conformance::CHECKS {
        assert!(names.contains(&check.name), "{} is listed", check.name);
    }
    let panel_schema = apis[1]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == "schema"))
        .expect("the schema check on Panel");
    let text = panel_schema.to_string();
    assert!(
        !text.contains("/pages"),
        "no Status endpoint in Panel's entry: {text}"
    );
}

#[test]
fn the_html_report_holds_every_check_of_the_run_and_loads_nothing_from_outside() {
    // Arrange: a deployment that fails one check, so the report has a failure to show.
    let deployment = Deployment::wiremock(Api::Panel);
    serve_databases_without_token(&deployment);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let html_path = dir.path().join("report.html");
    // Act
    let output = against(
        &deployment,
        &[
            "--seed",
            "5",
            "--html",
            html_path.to_str().expect("UTF-8 path"),
        ],
    )
    .output()
    .expect("the binary runs");
    // Assert
    assert_eq!(output.status.code(), Some(1));
    let html = std::fs::read_to_string(&html_path).expect("the HTML file");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for check in beacon_conformance::catalogue(Api::Panel) {
        assert!(
            html.contains(&format!("<th class=\"check\">{}</th>", check.name)),
            "{} has a column",
            check.name
        );
    }
    assert!(
        html.contains("auth.required"),
        "the failure is shown with its rule"
    );
    assert!(html.contains("curl -sS -i"), "with its request");
    let lower = html.to_ascii_lowercase();
    for outside in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        " src=",
        "url(",
        "@import",
        "@font-face",
    ] {
        assert!(
            !lower.contains(outside),
            "the report loads nothing: {outside}"
        );
    }
    assert!(!html.contains(&deployment.token()));
}

#[test]
fn a_server_id_the_token_does_not_list_is_a_usage_error_not_a_failure_of_the_deployment() {
    let deployment = Deployment::mock(Api::Panel);
    let args = [
        "--allow-writes",
        "--server-id",
        "999",
        "--phases",
        "examples",
    ];
    let (code, stdout, stderr) = exits(against(&deployment, &args));
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    let said = "error: --server-id 999 is not one of the servers this token lists (123, 456)";
    assert!(stderr.contains(said), "{stderr}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert_eq!(deployment.journaled(), 1, "only the discovery read");
}

#[test]
fn plan_needs_no_token() {
    let deployment = Deployment::mock(Api::Panel);
    let url = deployment.base_url.as_str();
    let (code, stdout, stderr) = exits(conformance(&[
        "--api",
        "panel",
        "--base-url",
        url,
        "--plan",
    ]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("plan: "), "{stdout}");
    assert_eq!(deployment.journaled(), 0, "nothing was sent");
}

#[test]
fn a_report_path_that_cannot_be_written_stops_the_run_before_it_sends_anything() {
    let deployment = Deployment::mock(Api::Status);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("no-such-dir").join("junit.xml");
    let html = dir.path().join("report.html");
    let paths = [html.to_str(), missing.to_str()].map(|p| p.expect("UTF-8 path"));
    let args = ["--html", paths[0], "--junit", paths[1]];
    let (code, stdout, stderr) = exits(against(&deployment, &args));
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    let said = format!("error: cannot write {}", missing.display());
    assert_eq!(stderr.matches(&said).count(), 1, "said once: {stderr}");
    assert_eq!(deployment.journaled(), 0, "nothing was sent");
    assert!(
        !html.exists(),
        "the writable report's trial file is removed"
    );
}

/// `/dev/full` opens for writing, so the probe before the run passes, and every write to it
/// fails: the summary is still printed, the failure said once, and the exit is 2.
#[cfg(target_os = "linux")]
#[test]
fn a_report_that_fails_only_when_written_keeps_the_summary_and_says_so_once() {
    let deployment = Deployment::mock(Api::Panel);
    let args = ["--phases", "examples", "--json", "/dev/full"];
    let (code, stdout, stderr) = exits(against(&deployment, &args));
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    let (passed, failed, _) = summary(&stdout);
    assert!(passed > 0 && failed == 0, "{stdout}");
    let said = "error: cannot write /dev/full";
    assert_eq!(stderr.matches(said).count(), 1, "said once: {stderr}");
}

#[test]
fn a_huge_timeout_or_case_count_is_handled_without_a_panic() {
    let deployment = Deployment::mock(Api::Panel);
    let (code, _, stderr) = exits(against(&deployment, &["--timeout", "18446744073709551615"]));
    assert_eq!(code, Some(2), "{stderr}");
    let said = "error: --timeout must be at most 3600 seconds";
    assert!(stderr.contains(said), "{stderr}");
    let (code, stdout, stderr) = exits(against(&deployment, &["--cases", "4294967295", "--plan"]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let lowered = "(lowered from 4294967295 to fit --max-requests 800)";
    assert!(stdout.contains(lowered), "{stdout}");
    assert_eq!(deployment.journaled(), 0, "nothing was sent");
}

#[test]
fn ca_cert_trusts_a_deployment_with_its_own_certificate() {
    let tls = beacon_mock::TlsConfig::self_signed().expect("a certificate");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pem = dir.path().join("mock.pem");
    std::fs::write(&pem, tls.certificate_pem()).expect("the PEM file");
    let builder = beacon_mock::MockServer::builder().tls(tls);
    let deployment = Deployment::mock_with(Api::Panel, builder);
    assert!(deployment.base_url.starts_with("https://"));
    let examples = ["--phases", "examples"];
    // Without it: the certificate's issuer is unknown, and nothing can be checked.
    let (code, _, stderr) = exits(against(&deployment, &examples));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("error: cannot reach https://"), "{stderr}");
    // With it: the run checks the deployment.
    let pem = pem.to_str().expect("UTF-8 path");
    let trusted = [examples[0], examples[1], "--ca-cert", pem];
    let (code, stdout, stderr) = exits(against(&deployment, &trusted));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    // A file that holds no certificate is a usage error.
    let (code, _, stderr) = exits(against(&deployment, &["--ca-cert", "Cargo.toml"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--ca-cert holds no PEM certificate"),
        "{stderr}"
    );
}
