//! Proptest strategies for the inputs the checks send, one module per API, next to the
//! spec types they generate; plus what both APIs share (malformed JSON, sample bodies).

pub(crate) mod panel;
pub(crate) mod status;

use std::fmt;

use beacon_spec::OperationId;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A valid request body for an operation that takes one, e.g. to reach a 404 with a body
/// that is otherwise acceptable, or as the base of malformed variants.
pub(crate) fn sample_body(op: OperationId) -> Option<Value> {
    match op {
        OperationId::CreateIncident => Some(json!({
            "name": "beacon-conformance check",
            "status": "investigating",
            "impact": "minor",
        })),
        OperationId::PowerServer => Some(json!({"action": "start"})),
        OperationId::SendCommand => Some(json!({"command": "help"})),
        OperationId::CreateDatabase => Some(json!({"name": "conformance"})),
        OperationId::ListPages
        | OperationId::GetPage
        | OperationId::ListIncidents
        | OperationId::ListServers
        | OperationId::GetServer
        | OperationId::GetConsole
        | OperationId::ListDatabases => None,
    }
}

/// A request body that is not JSON, with how it was made.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct MalformedBody {
    /// How the body was broken.
    pub(crate) kind: &'static str,
    /// The bytes sent.
    pub(crate) bytes: Vec<u8>,
}

impl fmt::Debug for MalformedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MalformedBody({}: {:?})",
            self.kind,
            String::from_utf8_lossy(&self.bytes)
        )
    }
}

/// Bodies that are not JSON, derived from the valid JSON text `base` (an object): cut
/// short, single-quoted, with a trailing comma, with trailing garbage, with a byte that is
/// not UTF-8, or garbage altogether.
pub(crate) fn malformed_json(base: String) -> impl Strategy<Value = MalformedBody> {
    let len = base.len();
    let truncated = {
        let base = base.clone();
        (1..len.max(2)).prop_map(move |cut| MalformedBody {
            kind: "truncated",
            bytes: base.as_bytes()[..cut.min(base.len())].to_vec(),
        })
    };
    let single_quoted = Just(MalformedBody {
        kind: "single-quoted",
        bytes: base.replace('"', "'").into_bytes(),
    });
    let trailing_comma = Just(MalformedBody {
        kind: "trailing comma",
        bytes: format!("{},}}", &base[..len.saturating_sub(1)]).into_bytes(),
    });
    let trailing_garbage = {
        let base = base.clone();
        "[a-z]{1,6}".prop_map(move |tail| MalformedBody {
            kind: "trailing garbage",
            bytes: format!("{base} {tail}").into_bytes(),
        })
    };
    let not_utf8 = {
        let base = base.clone();
        (1..len.max(2)).prop_map(move |at| {
            let mut bytes = base.as_bytes().to_vec();
            bytes.insert(at.min(bytes.len()), 0xff);
            MalformedBody {
                kind: "not UTF-8",
                bytes,
            }
        })
    };
    let garbage = "[A-Za-z<=#][ -~]{0,24}".prop_map(|text| MalformedBody {
        kind: "garbage",
        bytes: text.into_bytes(),
    });
    prop_oneof![
        truncated,
        single_quoted,
        trailing_comma,
        trailing_garbage,
        not_utf8,
        garbage
    ]
    .prop_filter("must not be JSON", |body| {
        serde_json::from_slice::<Value>(&body.bytes).is_err()
    })
}

/// How many boundary values [`malformed_json_kinds`] gives.
pub(crate) const MALFORMED_KINDS: u32 = 6;

/// One body of each malformed kind, derived from `base` deterministically: the coverage
/// phase's boundary values (cut after the first byte and before the last, and so on).
pub(crate) fn malformed_json_kinds(base: &str) -> Vec<MalformedBody> {
    let len = base.len();
    let mut not_utf8 = base.as_bytes().to_vec();
    not_utf8.insert(1.min(not_utf8.len()), 0xff);
    let bodies = vec![
        MalformedBody {
            kind: "truncated",
            bytes: base.as_bytes()[..len.saturating_sub(1)].to_vec(),
        },
        MalformedBody {
            kind: "single-quoted",
            bytes: base.replace('"', "'").into_bytes(),
        },
        MalformedBody {
            kind: "trailing comma",
            bytes: format!("{},}}", &base[..len.saturating_sub(1)]).into_bytes(),
        },
        MalformedBody {
            kind: "trailing garbage",
            bytes: format!("{base} x").into_bytes(),
        },
        MalformedBody {
            kind: "not UTF-8",
            bytes: not_utf8,
        },
        MalformedBody {
            kind: "empty",
            bytes: Vec::new(),
        },
    ];
    debug_assert_eq!(bodies.len() as u32, MALFORMED_KINDS);
    bodies
}

/// A string strategy from a regular expression known to be valid.
pub(crate) fn regex(pattern: &'static str) -> BoxedStrategy<String> {
    proptest::string::string_regex(pattern)
        .expect("the strategies' regular expressions are valid")
        .boxed()
}

/// JSON values that are not strings.
pub(crate) fn non_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({})),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::TestRunner;

    #[test]
    fn malformed_bodies_never_parse_as_json() {
        let base = sample_body(OperationId::CreateIncident)
            .expect("create_incident takes a body")
            .to_string();
        let mut runner = TestRunner::deterministic();
        runner
            .run(&malformed_json(base), |body| {
                prop_assert!(serde_json::from_slice::<Value>(&body.bytes).is_err());
                Ok(())
            })
            .expect("every generated body is malformed");
        let kinds = malformed_json_kinds(
            &sample_body(OperationId::PowerServer)
                .expect("a body")
                .to_string(),
        );
        assert_eq!(kinds.len() as u32, MALFORMED_KINDS);
        for body in kinds {
            assert!(
                serde_json::from_slice::<Value>(&body.bytes).is_err(),
                "{body:?}"
            );
        }
    }
}
