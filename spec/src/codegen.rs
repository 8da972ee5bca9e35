//! Generated artifacts: one JSON Schema per wire type, one OpenAPI 3.1 document per API,
//! and `docs/contract.md`.
//!
//! Both `cargo xtask codegen` and the drift test in `tests/codegen.rs` go through
//! [`ensure_artifacts`], so the two can never disagree about what is stale.

use std::path::{Path, PathBuf};

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::catalog::{Api, Direction, Method, Operation, WireType};

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
            contents: render(&openapi(api)),
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
pub const GENERATED_DIRS: &[&str] = &["spec/schemas/status", "spec/schemas/panel", "spec/openapi"];

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

fn operation_object(op: &Operation, components: &mut Components, error_ref: &Value) -> Value {
    let policy = op.api.rate_limit();
    let mut parameters: Vec<Value> = op
        .path_params
        .iter()
        .map(|p| {
            json!({
                "name": p.name, "in": "path", "required": true, "description": p.description,
                "schema": { "type": "string", "pattern": p.pattern },
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
                parameters.push(json!({
                    "name": name, "in": "query",
                    "required": required.contains(&Value::String(name.clone())),
                    "description": description, "schema": property,
                }));
            }
        }
    }
    let limited: Vec<&str> = policy.headers().collect();
    let mut responses = Map::new();
    responses.insert(
        op.success_status.to_string(),
        json!({
            "description": if op.success_status == 201 { "Created" } else { "OK" },
            "headers": header_refs(&limited),
            "content": { "application/json": { "schema": components.reference(&op.response) } },
        }),
    );
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
        responses.insert(
            key,
            json!({
                "description": when,
                "x-provenance": error.provenance.tag(),
                "headers": header_refs(&names),
                "content": { "application/json": { "schema": error_ref } },
            }),
        );
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
    }
    object
}
