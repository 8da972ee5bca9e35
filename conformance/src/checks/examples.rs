//! `examples`: every documented request example the mode allows, sent as documented (path
//! parameters from the deployment), answered with the documented status and a body of the
//! documented response's shape.

use beacon_spec::examples::{ExampleKind as Kind, documented_statuses, example};
use beacon_spec::panel::ServerStatus;
use beacon_spec::{Api, Operation, OperationId, rules};
use serde_json::Value;

use super::{Access, Ctx, Stop, data, panel};
use crate::check::{Check, Cost};
use crate::client::Request;
use crate::report::Finding;

/// A server id no account is expected to have, for the documented 404.
const UNKNOWN_SERVER: &str = "999999999";

/// The operations of `api` with a documented response example.
pub(crate) fn operations(api: Api) -> Vec<&'static Operation> {
    api.operations()
        .filter(|op| !documented_statuses(op).is_empty())
        .collect()
}

/// One request per documented response; power and console commands also bring the server
/// to the state the example needs and back.
pub(crate) fn cost(op: &Operation) -> Cost {
    let around = match op.id {
        OperationId::PowerServer => 4,
        OperationId::SendCommand => panel::STATUS_ROUND_TRIP,
        _ => 0,
    };
    Cost::fixed(around + documented_statuses(op).len() as u32)
}

pub(crate) fn run(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    for status in documented_statuses(op) {
        let Some(documented) = example(op, status, Kind::Response) else {
            continue;
        };
        let request = documented_request(ctx, op, status)?;
        let exchange = match (op.id, status) {
            (OperationId::PowerServer, 200) => {
                let server = server_of(ctx, op)?;
                panel::restoring_status(ctx, &server, None, || ctx.send(&request))?
            }
            (OperationId::SendCommand, 200) => {
                let server = server_of(ctx, op)?;
                panel::restoring_status(ctx, &server, Some(ServerStatus::Running), || {
                    ctx.send(&request)
                })?
            }
            _ => ctx.send(&request)?,
        };
        if op.id == OperationId::CreateDatabase && exchange.is_success() {
            let name = data(&exchange)["name"].as_str().unwrap_or("?").to_owned();
            let server = server_of(ctx, op)?;
            ctx.record_created(format!("database {name} on server {server}"));
        }
        let actual = exchange.json().unwrap_or(Value::Null);
        let mut problems = Vec::new();
        if exchange.status != status {
            problems.push(format!("status {} instead of {status}", exchange.status));
        }
        shape_differences(&documented, &actual, "$", &mut problems);
        if !problems.is_empty() {
            out.push(
                Finding::new(
                    rules::DOCUMENTED_EXAMPLES,
                    format!(
                        "the documented {} example ({status}) was answered differently: {}",
                        op.name,
                        problems.join("; ")
                    ),
                )
                .expected(format!("{status} with a body shaped like {documented}"))
                .exchange(&exchange),
            );
        }
    }
    Ok(())
}

fn server_of(ctx: &Ctx, op: &Operation) -> Result<String, Stop> {
    Ok(ctx.params(op, Access::Write)?[0].1.clone())
}

/// The example request of `op` for `status`: the documented body and query; path
/// parameters from the deployment (an unknown server for the documented 404); a database
/// name made unique so that reruns do not collide.
fn documented_request(ctx: &Ctx, op: &'static Operation, status: u16) -> Result<Request, Stop> {
    let access = if op.mutates {
        Access::Write
    } else {
        Access::Read
    };
    let params = if status == 404 {
        op.path_params
            .iter()
            .map(|p| (p.name, UNKNOWN_SERVER.to_owned()))
            .collect()
    } else {
        ctx.params(op, access)?
    };
    let mut request = Request::new(op, &params);
    if let Some(query) = example(op, status, Kind::Query) {
        let pairs: Vec<String> = query
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| match value {
                Value::String(text) => format!("{key}={text}"),
                other => format!("{key}={other}"),
            })
            .collect();
        request = request.query(pairs.join("&"));
    }
    if let Some(mut body) = example(op, status, Kind::Request) {
        if op.id == OperationId::CreateDatabase {
            if let Some(name) = body["name"].as_str() {
                body["name"] = Value::from(format!("{name}_{}", ctx.unique()));
            }
        }
        request = request.json(&body);
    }
    Ok(request)
}

/// JSON's type names, for messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `actual` is not shaped like `documented`: a documented field missing or of another
/// JSON type (null stands for any type), recursively; arrays compare their first items.
/// Extra fields are the schema check's to judge.
fn shape_differences(documented: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (documented, actual) {
        (Value::Null, _) | (_, Value::Null) if documented.is_null() => {}
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let path = format!("{at}.{key}");
                match have.get(key) {
                    None => out.push(format!("{path} is missing")),
                    Some(found) => shape_differences(value, found, &path, out),
                }
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            if let (Some(first), Some(found)) = (want.first(), have.first()) {
                shape_differences(first, found, &format!("{at}[0]"), out);
            }
        }
        _ if type_name(documented) == type_name(actual) => {}
        _ => out.push(format!(
            "{at} is {} instead of {}",
            type_name(actual),
            type_name(documented)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn differences(documented: Value, actual: Value) -> Vec<String> {
        let mut out = Vec::new();
        shape_differences(&documented, &actual, "$", &mut out);
        out
    }

    #[test]
    fn a_body_of_the_documented_shape_has_no_differences() {
        let documented = json!({"success": true, "data": [{"id": "servers/1", "cpu": 2}]});
        let actual = json!({"success": true, "data": [{"id": "servers/9", "cpu": 4, "x": 1}]});
        assert!(differences(documented, actual).is_empty());
        assert!(differences(json!({"data": [{"a": 1}]}), json!({"data": []})).is_empty());
    }

    #[test]
    fn missing_fields_and_other_types_are_named_by_path() {
        let documented = json!({"data": {"logs": [{"level": "INFO"}], "totalLines": 3}});
        let actual = json!({"data": {"logs": [{"level": 1}]}});
        assert_eq!(
            differences(documented, actual),
            vec![
                "$.data.logs[0].level is number instead of string",
                "$.data.totalLines is missing"
            ]
        );
    }

    #[test]
    fn every_operation_with_an_example_has_a_response_example() {
        for api in Api::ALL {
            for op in operations(api) {
                assert!(example(op, documented_statuses(op)[0], Kind::Response).is_some());
            }
        }
        assert_eq!(operations(Api::Status).len(), 1);
        assert_eq!(operations(Api::Panel).len(), 7);
    }
}
