//! The documents' own examples (`fixtures/examples/`), embedded at compile time: what the
//! conformance suite's examples phase sends and the OpenAPI documents show.

use serde_json::Value;

use crate::catalog::{Api, Operation};

/// What an example file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    /// A request body.
    Request,
    /// A query string, written as a JSON object.
    Query,
    /// A response body.
    Response,
}

/// One example of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The API.
    pub api: Api,
    /// The operation's name, e.g. `get_console`.
    pub operation: &'static str,
    /// The response status the example belongs to.
    pub status: u16,
    /// What it holds.
    pub kind: ExampleKind,
    /// The JSON text.
    pub text: &'static str,
}

impl Example {
    /// The example as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.text).expect("the example fixtures are JSON (a spec test checks)")
    }
}

/// Every example that belongs to an operation (the envelope example belongs to none).
pub const EXAMPLES: &[Example] = &[
    Example {
        api: Api::Status,
        operation: "list_pages",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/status/list_pages.200.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "create_database",
        status: 200,
        kind: ExampleKind::Request,
        text: include_str!("../../fixtures/examples/panel/create_database.200.request.json"),
    },
    Example {
        api: Api::Panel,
        operation: "create_database",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/create_database.200.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "get_console",
        status: 200,
        kind: ExampleKind::Query,
        text: include_str!("../../fixtures/examples/panel/get_console.200.query.json"),
    },
    Example {
        api: Api::Panel,
        operation: "get_console",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/get_console.200.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "get_server",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/get_server.200.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "get_server",
        status: 404,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/get_server.404.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "list_databases",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/list_databases.200.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "list_servers",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/list_servers.200.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "power_server",
        status: 200,
        kind: ExampleKind::Request,
        text: include_str!("../../fixtures/examples/panel/power_server.200.request.json"),
    },
    Example {
        api: Api::Panel,
        operation: "power_server",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/power_server.200.response.json"),
    },
    Example {
        api: Api::Panel,
        operation: "send_command",
        status: 200,
        kind: ExampleKind::Request,
        text: include_str!("../../fixtures/examples/panel/send_command.200.request.json"),
    },
    Example {
        api: Api::Panel,
        operation: "send_command",
        status: 200,
        kind: ExampleKind::Response,
        text: include_str!("../../fixtures/examples/panel/send_command.200.response.json"),
    },
];

/// The example of `op` for `status` and `kind`, if the documents have one.
pub fn example(op: &Operation, status: u16, kind: ExampleKind) -> Option<Value> {
    EXAMPLES
        .iter()
        .find(|e| e.api == op.api && e.operation == op.name && e.status == status && e.kind == kind)
        .map(Example::json)
}

/// The statuses `op` has a documented response example for, in order.
pub fn documented_statuses(op: &Operation) -> Vec<u16> {
    let mut statuses: Vec<u16> = EXAMPLES
        .iter()
        .filter(|e| e.api == op.api && e.operation == op.name && e.kind == ExampleKind::Response)
        .map(|e| e.status)
        .collect();
    statuses.sort_unstable();
    statuses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::OPERATIONS;

    #[test]
    fn every_embedded_example_parses_and_names_an_operation_of_its_api() {
        for example in EXAMPLES {
            example.json();
            assert!(
                OPERATIONS
                    .iter()
                    .any(|op| op.api == example.api && op.name == example.operation),
                "{example:?}"
            );
        }
    }

    #[test]
    fn every_example_file_is_embedded() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/examples");
        let mut files = 0;
        for api in ["status", "panel"] {
            for entry in std::fs::read_dir(format!("{root}/{api}")).expect("the examples") {
                let name = entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                if name.ends_with(".json") && !name.starts_with("envelope.") {
                    files += 1;
                }
            }
        }
        assert_eq!(files, EXAMPLES.len());
    }
}
