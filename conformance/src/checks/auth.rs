//! `auth`: every read operation refuses a missing, a malformed and an unknown token.

use beacon_spec::status::StatusToken;
use beacon_spec::{Api, Operation, rules};

use super::{Access, Ctx, SplitMix, Stop};
use crate::check::Check;
use crate::client::{Auth, Request};
use crate::report::Finding;

const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Requests the check sends per operation: no token, a malformed one, an unknown one.
pub(crate) const REQUESTS: u32 = 3;

pub(crate) fn run(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Read)?;
    let mut rng = ctx.rng(check, op);
    let unknown = unknown_token(ctx.api(), ctx.config.token.expose(), &mut rng);
    let variants = [
        ("no token", Auth::Missing),
        (
            "a malformed token",
            Auth::Header("Bearer not a valid token".to_owned()),
        ),
        (
            "a well-formed unknown token",
            Auth::Header(format!("Bearer {unknown}")),
        ),
    ];
    for (label, auth) in variants {
        let exchange = ctx.send(&Request::new(op, &params).auth(auth))?;
        if exchange.status != 401 {
            out.push(
                Finding::new(
                    rules::AUTH_REQUIRED,
                    format!("a request with {label} was not refused"),
                )
                .input(label)
                .expected("401 in the error envelope")
                .exchange(&exchange),
            );
        }
    }
    Ok(())
}

/// A token shaped like a real one that no deployment knows: Status `bkn_live_` and 32
/// random lowercase alphanumerics; Panel the configured token's prefix (up to its last `_`)
/// with every later character replaced by a random one of the same kind.
pub(crate) fn unknown_token(api: Api, configured: &str, rng: &mut SplitMix) -> String {
    match api {
        Api::Status => {
            let tail: String = (0..32).map(|_| rng.pick(ALPHANUMERIC)).collect();
            format!("{}{tail}", StatusToken::PREFIX)
        }
        Api::Panel => {
            let keep = configured.rfind('_').map_or(0, |i| i + 1);
            let (prefix, secret_tail) = configured.split_at(keep);
            let tail: String = secret_tail
                .chars()
                .map(|c| match c {
                    '0'..='9' => rng.pick(b"0123456789"),
                    'a'..='z' => rng.pick(b"abcdefghijklmnopqrstuvwxyz"),
                    'A'..='Z' => rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                    other => other,
                })
                .collect();
            if tail.len() >= 8 && tail != secret_tail {
                format!("{prefix}{tail}")
            } else {
                let tail: String = (0..24).map(|_| rng.pick(ALPHANUMERIC)).collect();
                format!("{prefix}{tail}")
            }
        }
    }
}
