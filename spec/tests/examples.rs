//! Every example body of both documents (in `fixtures/examples/`) and every seed fixture
//! validates against its generated schema, and a broken copy is rejected naming the field.

use std::path::{Path, PathBuf};

use beacon_spec::catalog::Api;
use beacon_spec::{SchemaValidator, WireType};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The wire type an example file stands for, from its name `<operation>.<status>.<kind>.json`.
fn wire_type_of(api: Api, file: &str) -> WireType {
    let parts: Vec<&str> = file.trim_end_matches(".json").split('.').collect();
    let [operation, status, kind] = parts[..] else {
        panic!("{file}: expected <operation>.<status>.<kind>.json")
    };
    let status: u16 = status
        .parse()
        .unwrap_or_else(|_| panic!("{file}: bad status"));
    if operation == "envelope" {
        return api.success_envelope();
    }
    let op = api
        .operations()
        .find(|op| op.name == operation)
        .unwrap_or_else(|| {
            panic!(
                "{file}: no operation {operation} in the {} catalog",
                api.name()
            )
        });
    match kind {
        "request" => op
            .request
            .unwrap_or_else(|| panic!("{file}: {operation} takes no body")),
        "query" => op
            .query
            .unwrap_or_else(|| panic!("{file}: {operation} takes no query")),
        "response" if status == op.success_status => op.response,
        "response" => api.error_body(),
        other => panic!("{file}: unknown kind {other}"),
    }
}

fn examples(api: Api) -> Vec<(String, Value)> {
    let dir = fixtures().join("examples").join(api.name());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                load(p),
            )
        })
        .collect()
}

#[test]
fn every_documented_example_validates_against_its_schema() {
    let mut checked = 0;
    for api in Api::ALL {
        for (file, body) in examples(api) {
            let validator = SchemaValidator::new(&wire_type_of(api, &file));
            let violations = validator.violations(&body);
            assert!(
                violations.is_empty(),
                "{}/{file}: {violations:?}",
                api.name()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 14, "every example of both documents is checked");
}

#[test]
fn every_documented_operation_has_an_example_response() {
    for api in Api::ALL {
        let files: Vec<String> = examples(api).into_iter().map(|(f, _)| f).collect();
        for op in api
            .operations()
            .filter(|op| op.provenance == beacon_spec::Provenance::Documented)
        {
            let expected = format!("{}.{}.response.json", op.name, op.success_status);
            assert!(files.contains(&expected), "missing example {expected}");
        }
    }
}

#[test]
fn a_broken_example_is_rejected_naming_the_field() {
    let (_, mut body) = examples(Api::Panel)
        .into_iter()
        .find(|(f, _)| f == "list_servers.200.response.json")
        .unwrap();
    body["data"][0].as_object_mut().unwrap().remove("memory");
    body["data"][1]["status"] = json!("exploded");
    body["data"][1]["colour"] = json!("red");
    let validator =
        SchemaValidator::new(&wire_type_of(Api::Panel, "list_servers.200.response.json"));
    let fields: Vec<String> = validator
        .violations(&body)
        .iter()
        .map(|v| v.field())
        .collect();
    assert!(fields.contains(&"data.0.memory".to_owned()), "{fields:?}");
    assert!(fields.contains(&"data.1.status".to_owned()), "{fields:?}");
    assert!(fields.contains(&"data.1.colour".to_owned()), "{fields:?}");
}

#[test]
fn ids_and_timestamps_are_checked_by_format() {
    let validator =
        SchemaValidator::new(&wire_type_of(Api::Status, "list_pages.200.response.json"));
    let (_, body) = examples(Api::Status).remove(0);
    for (field, bad) in [
        ("id", json!("page_1a2b3c4d5e6f")),
        ("created_at", json!("2026-03-15 10:00:00")),
        ("slug", json!("Acme Cloud")),
    ] {
        let mut broken = body.clone();
        broken["data"][0][field] = bad;
        let violations = validator.violations(&broken);
        assert!(!violations.is_empty(), "{field} accepted");
        for violation in violations {
            assert_eq!(violation.field(), format!("data.0.{field}"));
        }
    }
}

/// Seed fixtures served by the mock match the wire types they are served as.
#[test]
fn seed_fixtures_validate_against_their_schemas() {
    use beacon_spec::panel::{ConsoleLogs, Database, ServerDetail};
    use beacon_spec::status::{Incident, Page};
    let check = |wire: WireType, value: &Value, at: &str| {
        let violations = SchemaValidator::new(&wire).violations(value);
        assert!(violations.is_empty(), "{at}: {violations:?}");
    };
    let status = load(&fixtures().join("status.json"));
    for workspace in status["workspaces"].as_array().unwrap() {
        for page in workspace["pages"].as_array().unwrap() {
            let mut page = page.clone();
            let incidents = page.as_object_mut().unwrap().remove("incidents").unwrap();
            check(WireType::response::<Page>("Page"), &page, "status page");
            for incident in incidents.as_array().unwrap() {
                check(
                    WireType::response::<Incident>("Incident"),
                    incident,
                    "incident",
                );
            }
        }
    }
    let panel = load(&fixtures().join("panel.json"));
    for account in panel["accounts"].as_array().unwrap() {
        for server in account["servers"].as_array().unwrap() {
            let mut server = server.clone();
            let object = server.as_object_mut().unwrap();
            let logs = object.remove("console").unwrap();
            let databases = object.remove("databases").unwrap();
            check(
                WireType::response::<ServerDetail>("ServerDetail"),
                &server,
                "server",
            );
            let total = logs.as_array().unwrap().len();
            let console = json!({ "logs": logs, "totalLines": total });
            check(
                WireType::response::<ConsoleLogs>("ConsoleLogs"),
                &console,
                "console",
            );
            for database in databases.as_array().unwrap() {
                check(
                    WireType::response::<Database>("Database"),
                    database,
                    "database",
                );
            }
        }
    }
}
