//! Validation of JSON values against the generated schemas, with messages that name the
//! offending field and the rule it breaks.

use std::fmt;

use serde_json::Value;

use crate::catalog::WireType;
use crate::codegen::schema_document;

/// A compiled validator for one wire type's generated schema (formats checked).
pub struct SchemaValidator {
    name: &'static str,
    validator: jsonschema::Validator,
}

impl fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaValidator")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value, e.g. `/data/0/memory` (empty for the root).
    pub pointer: String,
    /// What rule it breaks, e.g. `"memory" is a required property`.
    pub message: String,
}

impl Violation {
    /// The field the violation is about, as a dotted path (`data.0.memory`), or the name of
    /// the missing or unexpected property when the violation is on an object.
    pub fn field(&self) -> String {
        let dotted = self.pointer.trim_start_matches('/').replace('/', ".");
        let named = if self.message.contains("required property") {
            self.message.split('"').nth(1)
        } else if self.message.contains("unexpected") {
            self.message.split(['\'', '"']).nth(1)
        } else {
            None
        };
        match (dotted.is_empty(), named) {
            (true, Some(name)) => name.to_owned(),
            (false, Some(name)) => format!("{dotted}.{name}"),
            (true, None) => "body".to_owned(),
            (false, None) => dotted,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.message)
    }
}

impl SchemaValidator {
    /// Compiles the generated schema of `wire_type`.
    ///
    /// Panics only if the generated schema itself is invalid, which the spec's tests rule out.
    pub fn new(wire_type: &WireType) -> Self {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema_document(wire_type))
            .expect("generated schemas are valid draft 2020-12");
        Self {
            name: wire_type.name,
            validator,
        }
    }

    /// The wire type's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether `instance` is valid.
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }

    /// Every violation in `instance`, empty when it is valid.
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        self.validator
            .iter_errors(instance)
            .map(|error| Violation {
                pointer: error.instance_path().to_string(),
                message: error.to_string(),
            })
            .collect()
    }
}
