//! `cargo xtask codegen`: regenerate the JSON Schemas and OpenAPI documents from the spec
//! crate; with `--check`, fail (naming each file) when what is committed has drifted.

use beacon_spec::codegen::{Mode, ensure_artifacts};

pub(crate) struct Codegen {
    pub(crate) check: bool,
}

impl Codegen {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let mode = if self.check { Mode::Check } else { Mode::Write };
        let stale = ensure_artifacts(&super::project_root(), mode)?;
        if stale.is_empty() {
            println!("generated files are up to date");
            return Ok(());
        }
        for path in &stale {
            println!("{} {path}", if self.check { "stale:" } else { "updated:" });
        }
        if self.check {
            anyhow::bail!(
                "{} generated file(s) are stale: run `cargo xtask codegen` and commit",
                stale.len()
            );
        }
        Ok(())
    }
}
