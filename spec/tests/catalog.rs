//! The catalog is consistent: unique names and routes, provenance everywhere it matters.

use std::collections::HashSet;

use beacon_spec::catalog::{Api, OPERATIONS};
use beacon_spec::{Provenance, rules};

#[test]
fn operation_names_and_routes_are_unique() {
    let mut names = HashSet::new();
    let mut routes = HashSet::new();
    for op in OPERATIONS {
        assert!(names.insert(op.name), "duplicate name {}", op.name);
        assert!(
            routes.insert((op.api, op.method, op.path)),
            "duplicate route {}",
            op.path
        );
    }
}

#[test]
fn every_path_parameter_appears_in_its_template() {
    for op in OPERATIONS {
        for param in op.path_params {
            assert!(
                op.path.contains(&format!("{{{}}}", param.name)),
                "{} lacks {}",
                op.path,
                param.name
            );
        }
        assert_eq!(
            op.path.matches('{').count(),
            op.path_params.len(),
            "{}",
            op.path
        );
    }
}

#[test]
fn a_path_matches_only_its_own_template() {
    let matching: Vec<&str> = OPERATIONS
        .iter()
        .filter(|op| op.api == Api::Panel && op.match_path("/servers/123/databases").is_some())
        .map(|op| op.name)
        .collect();
    assert_eq!(matching, ["list_databases", "create_database"]);
    assert!(
        OPERATIONS
            .iter()
            .all(|op| op.match_path("/servers//console").is_none())
    );
    assert!(
        OPERATIONS
            .iter()
            .all(|op| op.match_path("/servers/1/console/x").is_none())
    );
}

#[test]
fn rules_have_unique_ids_and_ours_rules_are_not_binding_unless_strict() {
    let mut ids = HashSet::new();
    for rule in rules::ALL {
        assert!(ids.insert(rule.id), "duplicate rule {}", rule.id);
        match rule.provenance {
            Provenance::Ours => {
                assert!(!rule.provenance.is_binding(false));
                assert!(rule.provenance.is_binding(true));
            }
            _ => assert!(rule.provenance.is_binding(false)),
        }
    }
    assert!(
        rules::ALL
            .iter()
            .any(|r| r.provenance == Provenance::Corrected)
    );
}

#[test]
fn rate_limit_policies_are_as_documented() {
    let status = Api::Status.rate_limit();
    assert_eq!(status.tightest_limit(), 60);
    assert_eq!(status.windows.iter().map(|w| w.limit).max(), Some(120));
    assert_eq!(status.retry_after_header, Some("Retry-After"));
    let panel = Api::Panel.rate_limit();
    assert_eq!(panel.tightest_limit(), 180);
    assert_eq!(panel.reset_header, Some("X-RateLimit-Reset"));
}

/// The catalog holds each operation id exactly once, in the order of `OperationId::all`,
/// and each id's entry (found by an exhaustive `match`) is that id's, in its own API.
#[test]
fn every_operation_id_has_exactly_one_catalog_entry() {
    use beacon_spec::OperationId;
    let catalog: Vec<OperationId> = OPERATIONS.iter().map(|op| op.id).collect();
    let all: Vec<OperationId> = OperationId::all().collect();
    assert_eq!(catalog, all);
    for id in OperationId::all() {
        let op = id.operation();
        assert_eq!(op.id, id);
        assert_eq!(op.api, id.api(), "{}", op.name);
        assert!(std::ptr::eq(op, beacon_spec::catalog::operation(id)));
    }
}

/// The flat names kept for older code are the per-API ids, and work as patterns.
#[test]
fn flat_operation_names_are_the_per_api_ids() {
    use beacon_spec::{OperationId, PanelOperation};
    let id = OperationId::Panel(PanelOperation::GetConsole);
    assert_eq!(id, OperationId::GetConsole);
    assert!(matches!(id, OperationId::GetConsole));
    assert!(!matches!(id, OperationId::SendCommand));
}
