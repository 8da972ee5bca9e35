//! Seed data: the fixture file format, the embedded defaults, and loading another set.

use std::path::{Path, PathBuf};

use beacon_spec::SchemaValidator;
use beacon_spec::WireType;
use beacon_spec::panel::{Database, LogEntry, ServerDetail};
use beacon_spec::status::{Incident, Page, StatusToken};
use serde::Deserialize;
use serde::de::DeserializeOwned;

const STATUS_JSON: &str = include_str!("../../fixtures/status.json");
const PANEL_JSON: &str = include_str!("../../fixtures/panel.json");

/// A fixture file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid fixture JSON.
    #[error("{file}: field `{field}`: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted path of the offending field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Both APIs' seed data.
#[derive(Debug, Clone)]
pub struct Fixtures {
    pub(crate) status: StatusFixtures,
    pub(crate) panel: PanelFixtures,
}

impl Fixtures {
    /// The fixtures compiled into the binary (`fixtures/status.json`, `fixtures/panel.json`).
    pub fn embedded() -> Self {
        Self::parse(STATUS_JSON, "status.json", PANEL_JSON, "panel.json")
            .expect("the embedded fixtures are valid (tested)")
    }

    /// Loads `status.json` and `panel.json` from `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, FixtureError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| FixtureError::Io { path, source })
        };
        let (status, panel) = (read("status.json")?, read("panel.json")?);
        let file = |name: &str| dir.join(name).display().to_string();
        Self::parse(&status, &file("status.json"), &panel, &file("panel.json"))
    }

    fn parse(
        status: &str,
        status_file: &str,
        panel: &str,
        panel_file: &str,
    ) -> Result<Self, FixtureError> {
        let fixtures = Self {
            status: parse_file(status, status_file)?,
            panel: parse_file(panel, panel_file)?,
        };
        fixtures.status.check(status_file)?;
        fixtures.panel.check(panel_file)?;
        Ok(fixtures)
    }
}

fn parse_file<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, FixtureError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| FixtureError::Invalid {
        file: file.to_owned(),
        field: error.path().to_string(),
        message: error.inner().to_string(),
    })
}

/// Checks every value against its generated schema (patterns and formats included).
fn check_schema<T: serde::Serialize>(
    wire: WireType,
    value: &T,
    file: &str,
    at: &str,
) -> Result<(), FixtureError> {
    let json = serde_json::to_value(value).expect("fixture values serialize");
    match SchemaValidator::new(&wire)
        .violations(&json)
        .into_iter()
        .next()
    {
        None => Ok(()),
        Some(violation) => Err(FixtureError::Invalid {
            file: file.to_owned(),
            field: format!("{at}.{}", violation.field()),
            message: violation.message,
        }),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusFixtures {
    pub(crate) workspaces: Vec<WorkspaceFixture>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkspaceFixture {
    pub(crate) id: String,
    /// Display name; part of the format for people reading the file.
    #[allow(dead_code)]
    pub(crate) name: String,
    pub(crate) tokens: Vec<NamedToken>,
    pub(crate) pages: Vec<PageFixture>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedToken {
    /// What the token is for; part of the format for people reading the file.
    #[allow(dead_code)]
    pub(crate) name: String,
    pub(crate) token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PageFixture {
    #[serde(flatten)]
    pub(crate) page: Page,
    pub(crate) incidents: Vec<Incident>,
}

impl StatusFixtures {
    fn check(&self, file: &str) -> Result<(), FixtureError> {
        if self.workspaces.is_empty() {
            return Err(invalid(
                file,
                "workspaces",
                "at least one workspace is required",
            ));
        }
        for (w, workspace) in self.workspaces.iter().enumerate() {
            for (t, token) in workspace.tokens.iter().enumerate() {
                if !StatusToken::is_well_formed(&token.token) {
                    return Err(invalid(
                        file,
                        &format!("workspaces.{w}.tokens.{t}.token"),
                        "not a bkn_live_ token (bkn_live_ + 32 lowercase alphanumerics)",
                    ));
                }
            }
            for (p, fixture) in workspace.pages.iter().enumerate() {
                let at = format!("workspaces.{w}.pages.{p}");
                check_schema(WireType::response::<Page>("Page"), &fixture.page, file, &at)?;
                for (i, incident) in fixture.incidents.iter().enumerate() {
                    let at = format!("{at}.incidents.{i}");
                    check_schema(
                        WireType::response::<Incident>("Incident"),
                        incident,
                        file,
                        &at,
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PanelFixtures {
    pub(crate) accounts: Vec<AccountFixture>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountFixture {
    pub(crate) id: String,
    /// Display name; part of the format for people reading the file.
    #[allow(dead_code)]
    pub(crate) name: String,
    pub(crate) tokens: Vec<String>,
    pub(crate) servers: Vec<ServerFixture>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServerFixture {
    #[serde(flatten)]
    pub(crate) detail: ServerDetail,
    pub(crate) console: Vec<LogEntry>,
    pub(crate) databases: Vec<Database>,
}

impl PanelFixtures {
    fn check(&self, file: &str) -> Result<(), FixtureError> {
        if self.accounts.is_empty() {
            return Err(invalid(
                file,
                "accounts",
                "at least one account is required",
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for (a, account) in self.accounts.iter().enumerate() {
            for (t, token) in account.tokens.iter().enumerate() {
                if !crate::auth::is_bearer_token(token) {
                    return Err(invalid(
                        file,
                        &format!("accounts.{a}.tokens.{t}"),
                        "a token is 1 to 256 visible ASCII characters without spaces",
                    ));
                }
            }
            for (s, server) in account.servers.iter().enumerate() {
                let at = format!("accounts.{a}.servers.{s}");
                check_schema(
                    WireType::response::<ServerDetail>("ServerDetail"),
                    &server.detail,
                    file,
                    &at,
                )?;
                if !ids.insert(server.detail.id.clone()) {
                    return Err(invalid(file, &format!("{at}.id"), "duplicate server id"));
                }
                for (d, database) in server.databases.iter().enumerate() {
                    let at = format!("{at}.databases.{d}");
                    check_schema(
                        WireType::response::<Database>("Database"),
                        database,
                        file,
                        &at,
                    )?;
                }
                for (l, line) in server.console.iter().enumerate() {
                    let at = format!("{at}.console.{l}");
                    check_schema(WireType::response::<LogEntry>("LogEntry"), line, file, &at)?;
                }
            }
        }
        Ok(())
    }
}

fn invalid(file: &str, field: &str, message: &str) -> FixtureError {
    FixtureError::Invalid {
        file: file.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}
