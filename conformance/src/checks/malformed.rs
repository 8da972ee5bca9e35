//! `malformed-json`: a body that is not JSON is rejected with 400 and changes nothing.

use beacon_spec::{Operation, OperationId, Rule, rules};

use super::{Access, Ctx, Rejection, Stop, rejects_every, snapshot_cost, unchanged_after};
use crate::check::{Check, Cost};
use crate::client::Request;
use crate::report::Finding;
use crate::strategies::{MALFORMED_KINDS, malformed_json, malformed_json_kinds, sample_body};

/// The rule a malformed body of `op` breaks, and the Status error code it must get. On
/// Panel a body that is not JSON has no action, command or name: the operation's
/// "missing field" rule applies.
fn rule_for(op: OperationId) -> Option<(Rule, Option<&'static str>)> {
    match op {
        OperationId::CreateIncident => Some((rules::STATUS_INVALID_JSON, Some("invalid_json"))),
        OperationId::PowerServer => Some((rules::PANEL_INVALID_ACTION, None)),
        OperationId::SendCommand => Some((rules::PANEL_EMPTY_COMMAND, None)),
        OperationId::CreateDatabase => Some((rules::PANEL_DATABASE_NAME, None)),
        OperationId::ListPages
        | OperationId::GetPage
        | OperationId::ListIncidents
        | OperationId::ListServers
        | OperationId::GetServer
        | OperationId::GetConsole
        | OperationId::ListDatabases => None,
    }
}

/// Snapshots before and after, the malformed bodies of the coverage phase (one of each
/// kind), and one request per generated case.
pub(crate) fn cost(op: &Operation) -> Cost {
    Cost::property(2 * snapshot_cost(op), MALFORMED_KINDS, 1)
}

pub(crate) fn run(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let (Some((rule, code)), Some(base)) = (rule_for(op.id), sample_body(op.id)) else {
        return Err(Stop::error("the operation takes no body"));
    };
    let params = ctx.params(op, Access::Write)?;
    let rejection = Rejection {
        status: 400,
        code,
        rule,
        what: "a body that is not JSON",
    };
    unchanged_after(ctx, op, rule, out, |out| {
        rejects_every(
            ctx,
            check,
            op,
            malformed_json_kinds(&base.to_string()),
            malformed_json(base.to_string()),
            |body| {
                Request::new(op, &params)
                    .header("Content-Type", "application/json")
                    .body(body.bytes.clone())
            },
            rejection,
            out,
        )
    })
}
