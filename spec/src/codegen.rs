//! Generated artifacts: one JSON Schema per wire type, one OpenAPI 3.1 document per API,
//! and `docs/contract.md`.
//!
//! Both `cargo xtask codegen` and the drift test in `tests/codegen.rs` go through
//! [`ensure_artifacts`], so the two can never disagree about what is stale.

use std::path::{Path, PathBuf};

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::catalog::{Api, Direction, Method, Operation, WireType};
use crate::examples::{self, ExampleKind};

/// The text every generated file carries so that nobody edits it by hand.
pub const GENERATED_NOTICE: &str =
    "Generated from the beacon-spec Rust types; do not edit by hand. Run `cargo xtask codegen`.";

const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// A generated file: where it goes (relative to the workspace root) and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the workspace root, with `/` separators.
    pub path: String,
    /// Full contents, ending in a newline.
    pub contents: String,
}

/// Every generated artifact, in a stable order.
pub fn artifacts() -> Vec<Artifact> {
    let mut out = Vec::new();
    for api in Api::ALL {
        for wire_type in api.wire_types() {
            out.push(Artifact {
                path: format!("spec/schemas/{}/{}.json", api.name(), wire_type.name),
                contents: render(&schema_document(&wire_type)),
            });
        }
        out.push(Artifact {
            path: format!("spec/openapi/{}.json", api.name()),
            contents: openapi_json(api),
        });
    }
    for admin in [crate::admin::JOURNAL, crate::admin::VIOLATIONS] {
        out.push(Artifact {
            path: format!("spec/schemas/admin/{}.json", admin.name),
            contents: render(&schema_document(&admin)),
        });
    }
    out.push(Artifact {
        path: "docs/contract.md".to_owned(),
        contents: crate::contract_doc::contract_markdown(),
    });
    out
}

/// The directories whose `*.json` files are all generated (a file there that is not an
/// artifact is stale).
pub const GENERATED_DIRS: &[&str] = &[
    "spec/schemas/status",
    "spec/schemas/panel",
    "spec/schemas/admin",
    "spec/openapi",
];

/// Whether [`ensure_artifacts`] only compares, or also rewrites what differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Compare only.
    Check,
    /// Write every artifact that differs and delete stale files.
    Write,
}

/// Compares the artifacts with the files under `root` (newlines normalized) and, in
/// [`Mode::Write`], brings the files up to date. Returns the paths that were stale.
pub fn ensure_artifacts(root: &Path, mode: Mode) -> std::io::Result<Vec<String>> {
    let expected = artifacts();
    let mut stale = Vec::new();
    for artifact in &expected {
        let path = root.join(&artifact.path);
        let current = std::fs::read_to_string(&path)
            .map(|s| s.replace("\r\n", "\n"))
            .ok();
        if current.as_deref() != Some(artifact.contents.as_str()) {
            stale.push(artifact.path.clone());
            if mode == Mode::Write {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&path, &artifact.contents)?;
            }
        }
    }
    for dir in GENERATED_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path: PathBuf = entry?.path();
            let relative = format!(
                "{dir}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            if path.extension().is_some_and(|e| e == "json")
                && !expected.iter().any(|a| a.path == relative)
            {
                stale.push(relative);
                if mode == Mode::Write {
                    std::fs::remove_file(&path)?;
                }
            }
        }
    }
    Ok(stale)
}

fn render(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values always serialize");
    text.push('\n');
    text
}

fn settings(direction: Direction) -> SchemaSettings {
    let settings = SchemaSettings::draft2020_12();
    match direction {
        Direction::Request => settings.for_deserialize(),
        Direction::Response => settings.for_serialize(),
    }
}

/// The standalone JSON Schema (draft 2020-12) of a wire type, with its `$defs`.
pub fn schema_document(wire_type: &WireType) -> Value {
    let mut generator = settings(wire_type.direction).into_generator();
    let schema = wire_type.schema_with(&mut generator);
    let definitions = generator.take_definitions(true);
    let mut document = Map::new();
    document.insert("$schema".into(), DRAFT_2020_12.into());
    document.insert("$comment".into(), GENERATED_NOTICE.into());
    document.insert("title".into(), wire_type.name.into());
    if let Value::Object(body) = schema.to_value() {
        for (key, value) in body {
            if key != "title" {
                document.insert(key, value);
            }
        }
    }
    if !definitions.is_empty() {
        document.insert("$defs".into(), Value::Object(definitions));
    }
    Value::Object(document)
}

/// Collects component schemas for an OpenAPI document, one generator per direction.
struct Components {
    requests: SchemaGenerator,
    responses: SchemaGenerator,
    named: Map<String, Value>,
}

impl Components {
    fn new() -> Self {
        let at_components =
            |s: &mut SchemaSettings| s.definitions_path = "/components/schemas".into();
        Self {
            requests: settings(Direction::Request)
                .with(at_components)
                .into_generator(),
            responses: settings(Direction::Response)
                .with(at_components)
                .into_generator(),
            named: Map::new(),
        }
    }

    fn generator(&mut self, direction: Direction) -> &mut SchemaGenerator {
        match direction {
            Direction::Request => &mut self.requests,
            Direction::Response => &mut self.responses,
        }
    }

    /// A `$ref` to the named component for `wire_type`, defining it on first use.
    fn reference(&mut self, wire_type: &WireType) -> Value {
        if !self.named.contains_key(wire_type.name) {
            let schema = wire_type.schema_with(self.generator(wire_type.direction));
            self.named.insert(wire_type.name.into(), schema.to_value());
        }
        json!({ "$ref": format!("#/components/schemas/{}", wire_type.name) })
    }

    /// The schema of `wire_type` inline (for query parameters).
    fn inline(&mut self, wire_type: &WireType) -> Value {
        wire_type
            .schema_with(self.generator(wire_type.direction))
            .to_value()
    }

    fn into_schemas(mut self) -> Map<String, Value> {
        let mut all = self.requests.take_definitions(true);
        all.extend(self.responses.take_definitions(true));
        all.extend(self.named);
        all
    }
}

/// The OpenAPI 3.1 document of one API as the text of `spec/openapi/<api>.json`, byte for byte
/// (the drift test keeps the committed file equal to it).
pub fn openapi_json(api: Api) -> String {
    render(&openapi(api))
}

/// The OpenAPI 3.1 document of one API.
pub fn openapi(api: Api) -> Value {
    let mut components = Components::new();
    let error_ref = components.reference(&api.error_body());
    let mut paths = Map::new();
    for op in api.operations() {
        let entry = paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Map::new()));
        let method = match op.method {
            Method::Get => "get",
            Method::Post => "post",
        };
        entry[method] = operation_object(op, &mut components, &error_ref);
    }
    let policy = api.rate_limit();
    let limits = policy
        .windows
        .iter()
        .map(|w| {
            format!(
                "{} requests per {} s per {:?}",
                w.limit, w.period_secs, w.scope
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers = Map::new();
    headers.insert(
        policy.limit_header.into(),
        header("Maximum requests allowed in the binding window"),
    );
    headers.insert(
        policy.remaining_header.into(),
        header("Requests remaining in the binding window"),
    );
    for name in [policy.reset_header, policy.retry_after_header]
        .into_iter()
        .flatten()
    {
        headers.insert(name.into(), header("Seconds until the window resets"));
    }
    let bearer_format = match api {
        Api::Status => "bkn_live_ followed by 32 lowercase alphanumerics",
        Api::Panel => "opaque API token",
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": api.title(),
            "version": "1.0.0",
            "description": format!("{GENERATED_NOTICE}\n\nRate limits: {limits}."),
        },
        "jsonSchemaDialect": DRAFT_2020_12,
        "servers": [
            { "url": api.documented_base_url(), "description": "Production (documented)" },
            { "url": format!("http://127.0.0.1:{}/api/v1", match api { Api::Status => 4010, Api::Panel => 4011 }), "description": "beacon-mock" },
        ],
        "security": [ { "bearerAuth": [] } ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": bearer_format },
            },
            "headers": headers,
            "schemas": components.into_schemas(),
        },
    })
}

fn header(description: &str) -> Value {
    json!({ "description": description, "schema": { "type": "integer", "minimum": 0 } })
}

fn header_refs(names: &[&str]) -> Value {
    let map: Map<String, Value> = names
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                json!({ "$ref": format!("#/components/headers/{n}") }),
            )
        })
        .collect();
    Value::Object(map)
}

/// The example value of a path parameter: the documents' own (`123`, `acme-cloud`), which
/// beacon-mock's fixtures serve.
fn path_example(name: &str) -> &'static str {
    match name {
        "serverId" => "123",
        "slug" => "acme-cloud",
        _ => "example",
    }
}

/// The reads that show what a write did, as OpenAPI links: (link name, operation).
fn follow_ups(op: &Operation) -> &'static [(&'static str, &'static str)] {
    match op.name {
        "create_database" => &[("ListDatabases", "list_databases")],
        "power_server" => &[("GetServer", "get_server")],
        "send_command" => &[("GetConsole", "get_console")],
        "create_incident" => &[("ListIncidents", "list_incidents")],
        _ => &[],
    }
}

fn operation_object(op: &Operation, components: &mut Components, error_ref: &Value) -> Value {
    let policy = op.api.rate_limit();
    let query_example = examples::example(op, op.success_status, ExampleKind::Query);
    let mut parameters: Vec<Value> = op
        .path_params
        .iter()
        .map(|p| {
            json!({
                "name": p.name, "in": "path", "required": true, "description": p.description,
                "schema": { "type": "string", "pattern": p.pattern },
                "example": path_example(p.name),
            })
        })
        .collect();
    if let Some(query) = &op.query {
        let schema = components.inline(query);
        let required: Vec<Value> = schema
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                let mut property = property.clone();
                let description = property
                    .as_object_mut()
                    .and_then(|p| p.remove("description"))
                    .unwrap_or(Value::Null);
                let mut parameter = json!({
                    "name": name, "in": "query",
                    "required": required.contains(&Value::String(name.clone())),
                    "description": description, "schema": property,
                });
                if let Some(example) = query_example.as_ref().and_then(|q| q.get(name)) {
                    parameter["example"] = example.clone();
                }
                parameters.push(parameter);
            }
        }
    }
    let limited: Vec<&str> = policy.headers().collect();
    let mut responses = Map::new();
    let mut success = json!({
        "description": if op.success_status == 201 { "Created" } else { "OK" },
        "headers": header_refs(&limited),
        "content": { "application/json": { "schema": components.reference(&op.response) } },
    });
    if let Some(example) = examples::example(op, op.success_status, ExampleKind::Response) {
        success["content"]["application/json"]["example"] = example;
    }
    let links: Map<String, Value> = follow_ups(op)
        .iter()
        .map(|(name, target)| {
            let parameters: Map<String, Value> = op
                .path_params
                .iter()
                .map(|p| {
                    (
                        p.name.to_owned(),
                        json!(format!("$request.path.{}", p.name)),
                    )
                })
                .collect();
            (
                (*name).to_owned(),
                json!({
                    "operationId": target,
                    "parameters": parameters,
                    "description": format!("Shows what {} changed", op.name),
                }),
            )
        })
        .collect();
    if !links.is_empty() {
        success["links"] = Value::Object(links);
    }
    responses.insert(op.success_status.to_string(), success);
    for error in op.error_statuses() {
        let mut names = limited.clone();
        if error.status == 401 && !policy.headers_on_unauthenticated {
            names.clear();
        }
        if error.status == 429 {
            names.extend(policy.retry_after_header);
        }
        let key = error.status.to_string();
        let when = match responses.get(&key) {
            Some(existing) => format!(
                "{}; {}",
                existing["description"].as_str().unwrap_or(""),
                error.when
            ),
            None => error.when.to_owned(),
        };
        let mut response = json!({
            "description": when,
            "x-provenance": error.provenance.tag(),
            "headers": header_refs(&names),
            "content": { "application/json": { "schema": error_ref } },
        });
        if let Some(example) = examples::example(op, error.status, ExampleKind::Response) {
            response["content"]["application/json"]["example"] = example;
        }
        responses.insert(key, response);
    }
    let mut object = json!({
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.api.name()],
        "x-provenance": op.provenance.tag(),
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(request) = &op.request {
        object["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": components.reference(request) } },
        });
        if let Some(example) = examples::example(op, op.success_status, ExampleKind::Request) {
            object["requestBody"]["content"]["application/json"]["example"] = example;
        }
    }
    object
}

#[cfg(test)]
mod openapi_tests {
    use super::*;

    #[test]
    fn every_path_parameter_has_an_example_and_every_write_links_to_its_read() {
        let mut links = Vec::new();
        for api in Api::ALL {
            let document = openapi(api);
            for op in api.operations() {
                let method = match op.method {
                    Method::Get => "get",
                    Method::Post => "post",
                };
                let object = &document["paths"][op.path][method];
                for parameter in object["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "path" {
                        assert!(
                            parameter["example"].is_string(),
                            "{} {}",
                            op.name,
                            parameter
                        );
                    }
                }
                let success = &object["responses"][op.success_status.to_string()];
                for (name, link) in success["links"].as_object().into_iter().flatten() {
                    let target = link["operationId"].as_str().expect("an operationId");
                    assert!(api.operations().any(|o| o.name == target), "{name}");
                    links.push(format!("{} -> {target}", op.name));
                }
            }
        }
        links.sort_unstable();
        assert_eq!(
            links,
            [
                "create_database -> list_databases",
                "create_incident -> list_incidents",
                "power_server -> get_server",
                "send_command -> get_console",
            ]
        );
    }

    #[test]
    fn documented_examples_appear_in_the_openapi_documents() {
        let panel = openapi(Api::Panel).to_string();
        assert!(panel.contains("\"say Hello from the API!\""));
        assert!(panel.contains("\"Server not found\""));
        let status = openapi(Api::Status).to_string();
        assert!(status.contains("\"pg_1a2b3c4d5e6f\""));
    }
}
