//! Where each behaviour of the contract comes from.

use std::fmt;

/// The origin of a rule, exactly as `docs/contract.md` tags it.
///
/// The conformance suite fails a deployment only on [`Provenance::Documented`] and
/// [`Provenance::Corrected`] rules; [`Provenance::Ours`] rules only warn unless `--strict`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub enum Provenance {
    /// Stated by the API document (`[doc]`).
    #[serde(rename = "doc")]
    Documented,
    /// Corrects an obvious defect in the document (`[fix]`).
    #[serde(rename = "fix")]
    Corrected,
    /// Our decision where the documents are silent (`[ours]`).
    #[serde(rename = "ours")]
    Ours,
}

impl Provenance {
    /// Whether a deployment that breaks a rule of this provenance fails conformance
    /// (as opposed to only being warned about).
    pub fn is_binding(self, strict: bool) -> bool {
        strict || !matches!(self, Provenance::Ours)
    }

    /// The tag used in `docs/contract.md`: `doc`, `fix` or `ours`.
    pub fn tag(self) -> &'static str {
        match self {
            Provenance::Documented => "doc",
            Provenance::Corrected => "fix",
            Provenance::Ours => "ours",
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}
