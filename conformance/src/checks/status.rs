//! Status-only checks: Accept and Content-Type negotiation, schema-breaking incidents, and
//! incidents that are created and then listed.

use beacon_spec::catalog::operation;
use beacon_spec::status::IncidentStatus;
use beacon_spec::{Operation, OperationId, rules};
use serde_json::{Value, json};

use super::{
    Access, Ctx, Rejection, Stop, data, ensure, ensure_accepted, listed_item, property,
    rejects_every, snapshot_cost, unchanged_after,
};
use crate::check::{Check, Cost};
use crate::client::Request;
use crate::report::Finding;
use crate::strategies::sample_body;
use crate::strategies::status::{
    IncidentInput, boundary_bad_incidents, boundary_incidents, boundary_non_json_accepts,
    boundary_non_json_content_types, invalid_incident, non_json_accept, non_json_content_type,
    valid_incident,
};

fn count<T>(values: Vec<T>) -> u32 {
    values.len() as u32
}

/// One request per value.
pub(crate) fn not_acceptable_cost(_: &Operation) -> Cost {
    Cost::property(0, count(boundary_non_json_accepts()), 1)
}

/// Snapshots around one request per value.
pub(crate) fn unsupported_media_type_cost(op: &Operation) -> Cost {
    Cost::property(
        2 * snapshot_cost(op),
        count(boundary_non_json_content_types()),
        1,
    )
}

/// Snapshots around one request per value.
pub(crate) fn incident_invalid_cost(op: &Operation) -> Cost {
    Cost::property(2 * snapshot_cost(op), count(boundary_bad_incidents()), 1)
}

/// A create and a list per incident.
pub(crate) fn incident_create_cost(_: &Operation) -> Cost {
    Cost::property(0, 2 * count(boundary_incidents()), 2)
}

pub(crate) fn not_acceptable(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Read)?;
    rejects_every(
        ctx,
        check,
        op,
        boundary_non_json_accepts(),
        non_json_accept(),
        |accept| Request::new(op, &params).header("Accept", accept.clone()),
        Rejection {
            status: 406,
            code: Some("not_acceptable"),
            rule: rules::STATUS_NOT_ACCEPTABLE,
            what: "a request that does not accept JSON",
        },
        out,
    )
}

pub(crate) fn unsupported_media_type(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let body = sample_body(op.id)
        .ok_or_else(|| Stop::error("the operation takes no body"))?
        .to_string()
        .into_bytes();
    let params = ctx.params(op, Access::Write)?;
    let rejection = Rejection {
        status: 415,
        code: Some("unsupported_media_type"),
        rule: rules::STATUS_UNSUPPORTED_MEDIA_TYPE,
        what: "a body sent without Content-Type: application/json",
    };
    unchanged_after(ctx, op, rejection.rule, out, |out| {
        rejects_every(
            ctx,
            check,
            op,
            boundary_non_json_content_types(),
            non_json_content_type(),
            |content_type| {
                let request = Request::new(op, &params).body(body.clone());
                match content_type {
                    Some(content_type) => request.header("Content-Type", content_type.clone()),
                    None => request,
                }
            },
            rejection,
            out,
        )
    })
}

pub(crate) fn incident_invalid(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let rejection = Rejection {
        status: 422,
        code: Some("validation_failed"),
        rule: rules::STATUS_VALIDATION,
        what: "an incident that breaks the schema",
    };
    unchanged_after(ctx, op, rejection.rule, out, |out| {
        property(
            ctx,
            check,
            op,
            boundary_bad_incidents(),
            invalid_incident(),
            |incident| {
                let exchange = ctx.send(&Request::new(op, &params).json(&incident.body()))?;
                rejection.ensure(&exchange)?;
                let Some(field) = incident.field() else {
                    return Ok(());
                };
                let message = exchange
                    .json()
                    .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                ensure(message.contains(field), || {
                    Finding::new(
                        rules::STATUS_VALIDATION,
                        format!("the validation message does not name the field {field}"),
                    )
                    .expected(format!("a message naming {field}"))
                    .exchange(&exchange)
                })
            },
            out,
        )
    })
}

/// The fields an incident created from `input` on page `page_id` must have.
fn expected_incident(input: &IncidentInput, page_id: &str) -> Value {
    json!({
        "page_id": page_id,
        "name": input.name,
        "status": input.expected_status(),
        "impact": input.expected_impact(),
        "message": input.message,
    })
}

/// How `actual` differs from `expected` (and in `resolved_at`), one entry per field.
fn differences(actual: &Value, expected: &Value) -> Vec<String> {
    let mut out: Vec<String> = expected
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(field, value)| actual.get(field.as_str()) != Some(value))
        .map(|(field, value)| {
            format!(
                "{field}: expected {value}, got {}",
                actual.get(field.as_str()).unwrap_or(&Value::Null)
            )
        })
        .collect();
    let resolved = expected["status"] == json!(IncidentStatus::Resolved);
    let resolved_at = actual.get("resolved_at").unwrap_or(&Value::Null);
    if resolved == resolved_at.is_null() {
        out.push(format!(
            "resolved_at: expected {}, got {resolved_at}",
            if resolved { "a timestamp" } else { "null" }
        ));
    }
    out
}

pub(crate) fn incident_create(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let page_id = ctx
        .target
        .page
        .as_ref()
        .map(|page| page.id.clone())
        .unwrap_or_default();
    let list = operation(OperationId::ListIncidents);
    property(
        ctx,
        check,
        op,
        boundary_incidents(),
        valid_incident(),
        |incident| {
            let exchange = ctx.send(&Request::new(op, &params).json(&incident.body()))?;
            ensure_accepted(
                &exchange,
                op,
                rules::STATUS_VALIDATION,
                "a valid incident was not created",
                "the incident",
            )?;
            let expected = expected_incident(incident, &page_id);
            let created = data(&exchange);
            ctx.record_created(format!(
                "incident {} on page {}",
                created["id"].as_str().unwrap_or("?"),
                params[0].1
            ));
            let wrong = differences(&created, &expected);
            ensure(wrong.is_empty(), || {
                Finding::new(
                    rules::STATUS_INCIDENT_VISIBLE,
                    format!(
                        "the created incident differs from the one sent: {}",
                        wrong.join("; ")
                    ),
                )
                .expected(expected.to_string())
                .exchange(&exchange)
            })?;
            let listed = ctx.send(&Request::new(list, &params))?;
            let found = listed_item(&listed, |i| i["id"] == created["id"]);
            ensure(
                found
                    .as_ref()
                    .is_some_and(|f| differences(f, &expected).is_empty()),
                || {
                    let message = match &found {
                        None => format!("incident {} is missing from a later list", created["id"]),
                        Some(f) => format!(
                            "incident {} is listed with other fields: {}",
                            created["id"],
                            differences(f, &expected).join("; ")
                        ),
                    };
                    Finding::new(rules::STATUS_INCIDENT_VISIBLE, message)
                        .expected(format!("an item with id {} and {expected}", created["id"]))
                        .exchange(&listed)
                },
            )
        },
        out,
    )
}
