//! Strategies for the Status API: incidents (valid and schema-breaking), and the Accept and
//! Content-Type headers it must refuse.

use std::fmt;

use beacon_spec::status::{Impact, IncidentStatus};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use super::{non_string, regex};

/// A valid `CreateIncident` body; `None` fields are left out so that defaults get exercised.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct IncidentInput {
    pub(crate) name: String,
    pub(crate) status: Option<IncidentStatus>,
    pub(crate) impact: Option<Impact>,
    pub(crate) message: Option<String>,
}

impl fmt::Debug for IncidentInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IncidentInput {}", self.body())
    }
}

impl IncidentInput {
    /// The JSON body sent.
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), self.name.clone().into());
        if let Some(status) = self.status {
            body.insert("status".into(), json!(status));
        }
        if let Some(impact) = self.impact {
            body.insert("impact".into(), json!(impact));
        }
        if let Some(message) = &self.message {
            body.insert("message".into(), message.clone().into());
        }
        Value::Object(body)
    }

    /// The status the incident must have once created (default `investigating`).
    pub(crate) fn expected_status(&self) -> IncidentStatus {
        self.status.unwrap_or_default()
    }

    /// The impact the incident must have once created (default `minor`).
    pub(crate) fn expected_impact(&self) -> Impact {
        self.impact.unwrap_or_default()
    }
}

/// Valid incidents: names of 1 to 200 characters (some not ASCII) without surrounding
/// spaces, every status and impact or none, an optional message.
pub(crate) fn valid_incident() -> impl Strategy<Value = IncidentInput> {
    (
        regex("[A-Za-z0-9]([A-Za-z0-9 ,.:()'éü日本-]{0,198}[A-Za-z0-9.)])?"),
        proptest::option::of(select(IncidentStatus::ALL.to_vec())),
        proptest::option::of(select(Impact::ALL.to_vec())),
        proptest::option::of(regex("[A-Za-z0-9][ -~]{0,80}")),
    )
        .prop_map(|(name, status, impact, message)| IncidentInput {
            name,
            status,
            impact,
            message,
        })
}

/// The longest incident name the schema allows.
pub(crate) const MAX_INCIDENT_NAME: usize = 200;

/// The coverage phase's valid incidents: every status paired with an impact (so every enum
/// value is sent), names at 1 and at [`MAX_INCIDENT_NAME`] characters, and one body with
/// neither status nor impact, so that the defaults are exercised.
pub(crate) fn boundary_incidents() -> Vec<IncidentInput> {
    let names = [
        "x".to_owned(),
        "Checkout degraded".to_owned(),
        "n".repeat(MAX_INCIDENT_NAME),
        "API latency: élevée 日本".to_owned(),
    ];
    let mut inputs: Vec<IncidentInput> = IncidentStatus::ALL
        .iter()
        .zip(Impact::ALL)
        .zip(names)
        .map(|((status, impact), name)| IncidentInput {
            name,
            status: Some(*status),
            impact: Some(impact),
            message: Some("beacon-conformance coverage".to_owned()),
        })
        .collect();
    inputs.push(IncidentInput {
        name: "beacon-conformance defaults".to_owned(),
        status: None,
        impact: None,
        message: None,
    });
    inputs
}

/// An incident body that breaks the `CreateIncident` schema in exactly one way.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BadIncident {
    MissingName,
    EmptyName,
    NameTooLong(usize),
    NameNotString(Value),
    UnknownStatus(String),
    UnknownImpact(String),
    MessageNotString(Value),
    UnknownField(String),
    NotAnObject(Value),
}

impl BadIncident {
    /// The JSON body sent.
    pub(crate) fn body(&self) -> Value {
        let name = || Value::from("beacon-conformance check");
        match self {
            BadIncident::MissingName => json!({"status": "investigating"}),
            BadIncident::EmptyName => json!({"name": ""}),
            BadIncident::NameTooLong(len) => json!({"name": "x".repeat(*len)}),
            BadIncident::NameNotString(value) => json!({"name": value}),
            BadIncident::UnknownStatus(status) => json!({"name": name(), "status": status}),
            BadIncident::UnknownImpact(impact) => json!({"name": name(), "impact": impact}),
            BadIncident::MessageNotString(value) => json!({"name": name(), "message": value}),
            BadIncident::UnknownField(field) => {
                let mut body = Map::new();
                body.insert("name".into(), name());
                body.insert(field.clone(), Value::from(true));
                Value::Object(body)
            }
            BadIncident::NotAnObject(value) => value.clone(),
        }
    }

    /// The field a validation message must name, when one field is at fault.
    pub(crate) fn field(&self) -> Option<&str> {
        match self {
            BadIncident::MissingName
            | BadIncident::EmptyName
            | BadIncident::NameTooLong(_)
            | BadIncident::NameNotString(_) => Some("name"),
            BadIncident::UnknownStatus(_) => Some("status"),
            BadIncident::UnknownImpact(_) => Some("impact"),
            BadIncident::MessageNotString(_) => Some("message"),
            BadIncident::UnknownField(field) => Some(field),
            BadIncident::NotAnObject(_) => None,
        }
    }
}

fn not_one_of(valid: &'static [&'static str]) -> BoxedStrategy<String> {
    regex("[a-z_]{1,12}")
        .prop_filter("must not be a valid value", move |s| {
            !valid.contains(&s.as_str())
        })
        .boxed()
}

/// The coverage phase's schema-breaking incidents: one of each kind, at the boundary
/// (a name one character over the maximum, a value just outside each enum).
pub(crate) fn boundary_bad_incidents() -> Vec<BadIncident> {
    vec![
        BadIncident::MissingName,
        BadIncident::EmptyName,
        BadIncident::NameTooLong(MAX_INCIDENT_NAME + 1),
        BadIncident::NameNotString(json!(42)),
        BadIncident::UnknownStatus("closed".to_owned()),
        BadIncident::UnknownImpact("catastrophic".to_owned()),
        BadIncident::MessageNotString(json!(true)),
        BadIncident::UnknownField("severity".to_owned()),
        BadIncident::NotAnObject(json!([])),
    ]
}

/// Incident bodies that break the schema in one way each.
pub(crate) fn invalid_incident() -> impl Strategy<Value = BadIncident> {
    prop_oneof![
        Just(BadIncident::MissingName),
        Just(BadIncident::EmptyName),
        (201usize..=260).prop_map(BadIncident::NameTooLong),
        non_string().prop_map(BadIncident::NameNotString),
        not_one_of(&["investigating", "identified", "monitoring", "resolved"])
            .prop_map(BadIncident::UnknownStatus),
        not_one_of(&["none", "minor", "major", "critical"]).prop_map(BadIncident::UnknownImpact),
        non_string()
            .prop_filter("null is a valid message", |v| !v.is_null())
            .prop_map(BadIncident::MessageNotString),
        regex("[a-z][a-z_]{2,10}")
            .prop_filter("must be unknown", |f| {
                !["name", "status", "impact", "message"].contains(&f.as_str())
            })
            .prop_map(BadIncident::UnknownField),
        prop_oneof![
            Just(json!([])),
            Just(json!("incident")),
            Just(json!(42)),
            Just(Value::Null),
        ]
        .prop_map(BadIncident::NotAnObject),
    ]
}

/// The coverage phase's `Accept` values that exclude JSON: one per common media family,
/// and JSON refused by `q=0`.
pub(crate) fn boundary_non_json_accepts() -> Vec<String> {
    [
        "text/html",
        "application/xml",
        "text/plain",
        "image/png",
        "application/json;q=0",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The coverage phase's `Content-Type` values that are not JSON; `None` sends none.
pub(crate) fn boundary_non_json_content_types() -> Vec<Option<String>> {
    vec![
        None,
        Some("text/plain".to_owned()),
        Some("application/x-www-form-urlencoded".to_owned()),
        Some("application/xml".to_owned()),
    ]
}

/// `Accept` values that exclude JSON.
pub(crate) fn non_json_accept() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "text/html",
            "text/plain",
            "application/xml",
            "image/png",
            "text/csv",
            "text/html, application/xhtml+xml",
            "application/pdf",
        ])
        .prop_map(str::to_owned),
        regex("(text|image|audio|video)/[a-z]{1,10}"),
    ]
    .prop_filter("must exclude JSON", |accept| !accept.contains("json"))
}

/// `Content-Type` values that are not `application/json`; `None` sends no Content-Type.
pub(crate) fn non_json_content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        select(vec![
            "text/plain",
            "text/html",
            "application/xml",
            "application/x-www-form-urlencoded",
            "application/octet-stream",
            "multipart/form-data; boundary=beacon",
        ])
        .prop_map(|ct| Some(ct.to_owned())),
        regex("(text|image)/[a-z]{1,10}").prop_map(Some),
    ]
    .prop_filter("must not be JSON", |ct| {
        ct.as_deref().is_none_or(|ct| !ct.contains("json"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_spec::SchemaValidator;
    use beacon_spec::catalog::{OperationId, operation};
    use proptest::test_runner::TestRunner;

    fn create_incident_schema() -> SchemaValidator {
        SchemaValidator::new(
            &operation(OperationId::CreateIncident)
                .request
                .expect("create_incident has a body"),
        )
    }

    #[test]
    fn valid_incidents_satisfy_the_request_schema() {
        let schema = create_incident_schema();
        TestRunner::deterministic()
            .run(&valid_incident(), |incident| {
                prop_assert!(
                    schema.is_valid(&incident.body()),
                    "{:?}",
                    schema.violations(&incident.body())
                );
                Ok(())
            })
            .expect("valid incidents are valid");
    }

    #[test]
    fn invalid_incidents_break_the_request_schema() {
        let schema = create_incident_schema();
        TestRunner::deterministic()
            .run(&invalid_incident(), |incident| {
                prop_assert!(!schema.is_valid(&incident.body()));
                Ok(())
            })
            .expect("invalid incidents are invalid");
    }
}
