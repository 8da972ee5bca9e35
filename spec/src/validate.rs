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
    /// The JSON Schema keyword that failed, e.g. `required` or `additionalProperties`.
    pub keyword: String,
    /// The property the keyword names, when it names one: the missing property of
    /// `required`, the first unexpected one of `additionalProperties` or
    /// `unevaluatedProperties`.
    pub property: Option<String>,
    /// The segments of the instance path, e.g. `["data", "0", "memory"]`.
    segments: Vec<String>,
}

impl Violation {
    fn new(error: &jsonschema::ValidationError<'_>) -> Self {
        use jsonschema::error::ValidationErrorKind as Kind;
        let property = match error.kind() {
            Kind::Required { property } => Some(match property {
                Value::String(name) => name.clone(),
                other => other.to_string(),
            }),
            Kind::AdditionalProperties { unexpected }
            | Kind::UnevaluatedProperties { unexpected } => unexpected.first().cloned(),
            _ => None,
        };
        let path = error.instance_path();
        Self {
            pointer: path.to_string(),
            message: error.to_string(),
            keyword: error.kind().keyword().to_owned(),
            property,
            segments: path.segments().map(|s| s.to_string()).collect(),
        }
    }

    /// The field the violation is about, as a dotted path (`data.0.memory`), or the name of
    /// the missing or unexpected property when the violation is on an object (`body` for
    /// the whole body).
    ///
    /// Found from the error's kind and instance path, never from its message: a value
    /// quoted in a message (`{"status": "unexpected"}`) cannot pass for a field name.
    pub fn field(&self) -> String {
        let mut parts: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        parts.extend(self.property.as_deref());
        if parts.is_empty() {
            "body".to_owned()
        } else {
            parts.join(".")
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
            .map(|error| Violation::new(&error))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{OperationId, operation};

    fn fields(instance: Value) -> Vec<(String, String)> {
        let request = operation(OperationId::CreateIncident).request.unwrap();
        SchemaValidator::new(&request)
            .violations(&instance)
            .into_iter()
            .map(|v| (v.keyword.clone(), v.field()))
            .collect()
    }

    #[test]
    fn a_value_quoted_in_a_message_is_not_taken_for_a_field() {
        assert_eq!(
            fields(json!({"name": "Outage", "status": "unexpected"})),
            [("enum".to_owned(), "status".to_owned())]
        );
    }

    #[test]
    fn missing_and_unexpected_properties_are_named_from_the_error_kind() {
        let mut found = fields(json!({"colour": "red"}));
        found.sort();
        assert_eq!(
            found,
            [
                ("additionalProperties".to_owned(), "colour".to_owned()),
                ("required".to_owned(), "name".to_owned()),
            ]
        );
    }

    #[test]
    fn a_violation_of_the_whole_body_is_about_the_body() {
        assert_eq!(fields(json!([])), [("type".to_owned(), "body".to_owned())]);
    }
}
