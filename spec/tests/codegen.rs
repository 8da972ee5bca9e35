//! The committed schemas and OpenAPI documents are exactly what the Rust types generate.

use std::path::Path;

use beacon_spec::codegen::{Mode, ensure_artifacts};

#[test]
fn committed_artifacts_match_the_rust_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let stale = ensure_artifacts(root, Mode::Write).unwrap();
    assert!(
        stale.is_empty(),
        "stale generated files (now rewritten): {stale:?}; run `cargo xtask codegen` and commit"
    );
}
