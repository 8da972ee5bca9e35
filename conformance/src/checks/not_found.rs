//! `not-found`: unknown page slugs and server ids are answered 404 in the envelope.

use beacon_spec::{Api, Operation, rules};

use super::{Ctx, Stop, error_code, error_message};
use crate::check::Check;
use crate::client::Request;
use crate::report::Finding;
use crate::strategies::sample_body;

/// A server id no account is expected to have.
const UNKNOWN_SERVER: &str = "999999999";

pub(crate) fn run(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let mut rng = ctx.rng(check, op);
    let mut params = Vec::new();
    for param in op.path_params {
        let value = match param.name {
            "slug" => loop {
                let slug = format!("beacon-conformance-missing-{:08x}", rng.next_u64() as u32);
                if !ctx.target.slugs.contains(&slug) {
                    break slug;
                }
            },
            "serverId" if !ctx.target.servers.iter().any(|s| s == UNKNOWN_SERVER) => {
                UNKNOWN_SERVER.to_owned()
            }
            other => return Err(Stop::error(format!("no unknown value for {other}"))),
        };
        params.push((param.name, value));
    }
    let mut request = Request::new(op, &params);
    if let Some(body) = sample_body(op.id) {
        request = request.json(&body);
    }
    let exchange = ctx.send(&request)?;
    let (rule, expected, ok) = match ctx.api() {
        Api::Status => (
            rules::STATUS_PAGE_NOT_FOUND,
            "404 with error code not_found",
            exchange.status == 404 && error_code(&exchange).as_deref() == Some("not_found"),
        ),
        Api::Panel => (
            rules::PANEL_SERVER_NOT_FOUND,
            "404 with error \"Server not found\"",
            exchange.status == 404
                && error_message(&exchange).as_deref() == Some("Server not found"),
        ),
    };
    if !ok {
        out.push(
            Finding::new(rule, format!("{} was not answered 404", request.describe()))
                .expected(expected)
                .exchange(&exchange),
        );
    }
    Ok(())
}
