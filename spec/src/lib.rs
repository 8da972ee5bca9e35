//! The Beacon contracts as Rust types: the single source of truth of the toolkit.
//!
//! Two APIs share the Beacon name and little else (see `docs/contract.md`, generated from
//! this crate):
//!
//! - [`status`]: Beacon Status API — status pages and incidents, `bkn_live_` tokens,
//!   `{"data": ...}` bodies, per-workspace and per-IP rate limits.
//! - [`panel`]: Beacon Panel API — game servers, power actions, console, databases,
//!   `{"success", "data", "error"}` envelope, 180 requests a minute per token.
//!
//! The [`catalog`] lists every operation once; [`rate_limit`] holds both policies as data;
//! [`rules`] names every behaviour that is not self-evident, each with its [`Provenance`].
//! [`codegen`] turns all of it into JSON Schemas and OpenAPI documents.
//!
//! ```
//! use beacon_spec::catalog::{Api, OperationId, operation};
//!
//! // Arrange
//! let console = operation(OperationId::GetConsole);
//! // Act
//! let params = console.match_path("/servers/123/console");
//! // Assert
//! assert_eq!(console.api, Api::Panel);
//! assert_eq!(params, Some(vec![("serverId", "123")]));
//! ```
//!
//! Invariant: this crate depends on no HTTP crate; it describes the wire, it does not use it.

pub mod admin;
pub mod ascii;
pub mod catalog;
pub mod codegen;
pub mod contract_doc;
pub mod examples;
pub mod exchange;
pub mod model;
pub mod panel;
mod provenance;
pub mod rate_limit;
pub mod redact;
pub mod rules;
pub mod status;
pub mod validate;
mod wire;

pub use catalog::{Api, Operation, OperationId, PanelOperation, StatusOperation, WireType};
pub use provenance::Provenance;
pub use rules::Rule;
pub use validate::{SchemaValidator, Violation};
pub use wire::{Flag, Timestamp};
