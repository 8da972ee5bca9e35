//! State snapshots: what a rejected request must leave alone, read before and after.

use beacon_spec::catalog::operation;
use beacon_spec::{Operation, OperationId, Rule};
use serde_json::Value;

use super::{Access, Ctx, Stop, panel};
use crate::client::Request;
use crate::report::Finding;

/// State that a rejected request of `op` must leave alone, and how it was read.
pub(crate) struct Snapshot {
    what: String,
    value: Value,
}

/// Requests one snapshot of `op`'s state costs.
pub(crate) fn snapshot_cost(op: &Operation) -> u32 {
    match op.id {
        OperationId::CreateIncident | OperationId::PowerServer | OperationId::CreateDatabase => 1,
        _ => 0,
    }
}

/// Reads the state a request of `op` could change; `None` when there is no stable state to
/// compare (a live console writes its own lines).
pub(crate) fn snapshot(ctx: &Ctx, op: &Operation) -> Result<Option<Snapshot>, Stop> {
    let (read, pick): (OperationId, fn(Value) -> Value) = match op.id {
        OperationId::CreateIncident => (OperationId::ListIncidents, |body| body["data"].clone()),
        OperationId::PowerServer => {
            let server = ctx.params(op, Access::Write)?;
            let status = panel::settled_status(ctx, &server[0].1)?;
            return Ok(Some(Snapshot {
                what: format!("GET /servers/{} status", server[0].1),
                value: Value::from(status),
            }));
        }
        OperationId::CreateDatabase => (OperationId::ListDatabases, |body| body["data"].clone()),
        OperationId::SendCommand
        | OperationId::ListPages
        | OperationId::GetPage
        | OperationId::ListIncidents
        | OperationId::ListServers
        | OperationId::GetServer
        | OperationId::GetConsole
        | OperationId::ListDatabases => return Ok(None),
    };
    let read = operation(read);
    let params = ctx.params(read, Access::Write)?;
    let request = Request::new(read, &params);
    let exchange = ctx.send(&request)?;
    if !exchange.is_success() {
        return Err(Stop::error(format!(
            "cannot read state: {} answered {}",
            request.describe(),
            exchange.status
        )));
    }
    Ok(Some(Snapshot {
        what: request.describe(),
        value: exchange.json().map(pick).unwrap_or(Value::Null),
    }))
}

/// Reads the state again and reports `rule` if it differs from `before`.
fn ensure_unchanged(
    ctx: &Ctx,
    op: &Operation,
    before: Option<Snapshot>,
    rule: Rule,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let Some(before) = before else {
        return Ok(());
    };
    let Some(after) = snapshot(ctx, op)? else {
        return Ok(());
    };
    if after.value != before.value {
        out.push(
            Finding::new(
                rule,
                format!(
                    "a rejected request changed state: {} differs after the check",
                    before.what
                ),
            )
            .expected(format!("unchanged: {}", before.value))
            .actual(after.value.to_string()),
        );
    }
    Ok(())
}

/// Reads the state `op` could change, runs `run` (whose requests must all be rejected),
/// and reports `rule` if the state differs afterwards.
pub(crate) fn unchanged_after(
    ctx: &Ctx,
    op: &Operation,
    rule: Rule,
    out: &mut Vec<Finding>,
    run: impl FnOnce(&mut Vec<Finding>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let before = snapshot(ctx, op)?;
    run(out)?;
    ensure_unchanged(ctx, op, before, rule, out)
}
