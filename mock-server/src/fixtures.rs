//! Seed data: the fixture file format, the embedded defaults, and loading another set.

use std::path::{Path, PathBuf};

use beacon_spec::WireType;
use beacon_spec::panel::{Database, LogEntry, ServerDetail};
use beacon_spec::status::{Incident, Page, StatusToken};
use beacon_spec::{Api, SchemaValidator};
use serde::Deserialize;
use serde::de::DeserializeOwned;

const STATUS_JSON: &str = include_str!("../../fixtures/status.json");
const PANEL_JSON: &str = include_str!("../../fixtures/panel.json");

/// Largest fixture file accepted.
pub const MAX_FIXTURE_BYTES: u64 = 16 * 1024 * 1024;

/// A fixture file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read; the cause is the error's source.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The path is not a regular file (a directory, a FIFO, a device).
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_FIXTURE_BYTES`].
    #[error("{} is larger than {MAX_FIXTURE_BYTES} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
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
    /// They are parsed and validated once per process.
    pub fn embedded() -> Self {
        static EMBEDDED: std::sync::OnceLock<Fixtures> = std::sync::OnceLock::new();
        EMBEDDED
            .get_or_init(|| {
                Self::parse(STATUS_JSON, "status.json", PANEL_JSON, "panel.json")
                    .expect("the embedded fixtures are valid (tested)")
            })
            .clone()
    }

    /// Loads `status.json` and `panel.json` from `dir`. Each must be a regular file (never
    /// a FIFO or a device, which could block or never end) of at most [`MAX_FIXTURE_BYTES`].
    pub fn from_dir(dir: &Path) -> Result<Self, FixtureError> {
        Self::load(dir, None)
    }

    /// Loads only `api`'s file from `dir` (`status.json` or `panel.json`, e.g. a recording
    /// of `beacon-mock proxy --record`); the other API keeps the embedded fixtures.
    pub fn from_dir_for(dir: &Path, api: Api) -> Result<Self, FixtureError> {
        Self::load(dir, Some(api))
    }

    fn load(dir: &Path, only: Option<Api>) -> Result<Self, FixtureError> {
        let file = |api: Api, embedded: &str| -> Result<(String, String), FixtureError> {
            let name = format!("{}.json", api.name());
            if only.is_some_and(|only| only != api) {
                return Ok((embedded.to_owned(), name));
            }
            let path = dir.join(&name);
            Ok((read_fixture(&path)?, path.display().to_string()))
        };
        let (status, status_file) = file(Api::Status, STATUS_JSON)?;
        let (panel, panel_file) = file(Api::Panel, PANEL_JSON)?;
        Self::parse(&status, &status_file, &panel, &panel_file)
    }

    /// What `api`'s part holds, for people: e.g. `2 accounts, 3 servers, 2 databases`.
    pub fn summary(&self, api: beacon_spec::Api) -> String {
        let counts: [(usize, &str); 3] = match api {
            beacon_spec::Api::Status => {
                let workspaces = &self.status.workspaces;
                let pages = workspaces.iter().flat_map(|w| &w.pages);
                [
                    (workspaces.len(), "workspace"),
                    (pages.clone().count(), "page"),
                    (pages.map(|p| p.incidents.len()).sum(), "incident"),
                ]
            }
            beacon_spec::Api::Panel => {
                let accounts = &self.panel.accounts;
                let servers = accounts.iter().flat_map(|a| &a.servers);
                [
                    (accounts.len(), "account"),
                    (servers.clone().count(), "server"),
                    (servers.map(|s| s.databases.len()).sum(), "database"),
                ]
            }
        };
        counts
            .iter()
            .map(|&(n, one)| format!("{n} {one}{}", if n == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn parse(
        status: &str,
        status_file: &str,
        panel: &str,
        panel_file: &str,
    ) -> Result<Self, FixtureError> {
        check_entities(status, status_file, &STATUS_ENTITIES)?;
        check_entities(panel, panel_file, &PANEL_ENTITIES)?;
        let fixtures = Self {
            status: parse_file(status, status_file)?,
            panel: parse_file(panel, panel_file)?,
        };
        fixtures.status.check(status_file)?;
        fixtures.panel.check(panel_file)?;
        Ok(fixtures)
    }
}

/// Reads one fixture file, refusing what is not a regular file before opening it (opening a
/// FIFO blocks) and reading no more than [`MAX_FIXTURE_BYTES`] (a file can grow meanwhile).
fn read_fixture(path: &Path) -> Result<String, FixtureError> {
    use std::io::Read;
    let io = |source| FixtureError::Io {
        path: path.to_owned(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(FixtureError::NotAFile {
            path: path.to_owned(),
        });
    }
    if metadata.len() > MAX_FIXTURE_BYTES {
        return Err(FixtureError::TooLarge {
            path: path.to_owned(),
        });
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_FIXTURE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_FIXTURE_BYTES {
        return Err(FixtureError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(text)
}

/// Where an entity sits in a fixture file (`*` = every array item), the keys that are the
/// fixture's own rather than the entity's, and the wire type it must validate as.
struct Entity {
    path: &'static [&'static str],
    own_keys: &'static [&'static str],
    wire: WireType,
}

const STATUS_ENTITIES: [Entity; 2] = [
    Entity {
        path: &["workspaces", "*", "pages", "*"],
        own_keys: &["incidents"],
        wire: WireType::response::<Page>("Page"),
    },
    Entity {
        path: &["workspaces", "*", "pages", "*", "incidents", "*"],
        own_keys: &[],
        wire: WireType::response::<Incident>("Incident"),
    },
];

const PANEL_ENTITIES: [Entity; 3] = [
    Entity {
        path: &["accounts", "*", "servers", "*"],
        own_keys: &["console", "databases"],
        wire: WireType::response::<ServerDetail>("ServerDetail"),
    },
    Entity {
        path: &["accounts", "*", "servers", "*", "databases", "*"],
        own_keys: &[],
        wire: WireType::response::<Database>("Database"),
    },
    Entity {
        path: &["accounts", "*", "servers", "*", "console", "*"],
        own_keys: &[],
        wire: WireType::response::<LogEntry>("LogEntry"),
    },
];

/// Validates every entity of a fixture file against its generated schema before it is
/// deserialized, so that errors name the exact field (patterns and formats included).
fn check_entities(text: &str, file: &str, entities: &[Entity]) -> Result<(), FixtureError> {
    let Ok(root) = serde_json::from_str::<serde_json::Value>(text) else {
        return parse_file::<serde::de::IgnoredAny>(text, file).map(|_| ());
    };
    for entity in entities {
        let validator = SchemaValidator::new(&entity.wire);
        let mut found = Vec::new();
        collect(&root, entity.path, String::new(), &mut found);
        for (at, value) in found {
            let mut value = value.clone();
            if let Some(object) = value.as_object_mut() {
                for key in entity.own_keys {
                    object.remove(*key);
                }
            }
            if let Some(violation) = validator.violations(&value).into_iter().next() {
                return Err(FixtureError::Invalid {
                    file: file.to_owned(),
                    field: format!("{at}.{}", violation.field()),
                    message: violation.message,
                });
            }
        }
    }
    Ok(())
}

fn collect<'v>(
    value: &'v serde_json::Value,
    path: &[&str],
    at: String,
    out: &mut Vec<(String, &'v serde_json::Value)>,
) {
    let Some((head, rest)) = path.split_first() else {
        out.push((at, value));
        return;
    };
    let join = |segment: &str| {
        if at.is_empty() {
            segment.to_owned()
        } else {
            format!("{at}.{segment}")
        }
    };
    if *head == "*" {
        for (i, item) in value.as_array().into_iter().flatten().enumerate() {
            collect(item, rest, join(&i.to_string()), out);
        }
    } else if let Some(child) = value.get(*head) {
        collect(child, rest, join(head), out);
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
        let mut owners = std::collections::HashMap::new();
        // Ids are unique across the file, slugs within a workspace (its token reaches its
        // pages by slug): a second page of one slug could never be reached.
        let (mut workspace_ids, mut page_ids, mut incident_ids) = Default::default();
        for (w, workspace) in self.workspaces.iter().enumerate() {
            let field = format!("workspaces.{w}");
            unique(
                &mut workspace_ids,
                &workspace.id,
                file,
                &format!("{field}.id"),
                "duplicate workspace id",
            )?;
            let mut slugs = std::collections::HashSet::new();
            for (p, fixture) in workspace.pages.iter().enumerate() {
                let page = &fixture.page;
                let field = format!("{field}.pages.{p}");
                unique(
                    &mut page_ids,
                    &page.id.0,
                    file,
                    &format!("{field}.id"),
                    "duplicate page id",
                )?;
                unique(
                    &mut slugs,
                    &page.slug.0,
                    file,
                    &format!("{field}.slug"),
                    "duplicate slug in this workspace",
                )?;
                for (i, incident) in fixture.incidents.iter().enumerate() {
                    let field = format!("{field}.incidents.{i}");
                    unique(
                        &mut incident_ids,
                        &incident.id.0,
                        file,
                        &format!("{field}.id"),
                        "duplicate incident id",
                    )?;
                    if incident.page_id != page.id {
                        return Err(invalid(
                            file,
                            &format!("{field}.page_id"),
                            "not the id of the page the incident is listed under",
                        ));
                    }
                }
            }
        }
        for (w, workspace) in self.workspaces.iter().enumerate() {
            for (t, token) in workspace.tokens.iter().enumerate() {
                let field = format!("workspaces.{w}.tokens.{t}.token");
                if !StatusToken::is_well_formed(&token.token) {
                    return Err(invalid(
                        file,
                        &field,
                        "not a bkn_live_ token (bkn_live_ + 32 lowercase alphanumerics)",
                    ));
                }
                one_owner(
                    &mut owners,
                    &token.token,
                    &workspace.id,
                    "workspace",
                    file,
                    &field,
                )?;
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
        let (mut server_ids, mut account_ids) = Default::default();
        let mut owners = std::collections::HashMap::new();
        for (a, account) in self.accounts.iter().enumerate() {
            let field = format!("accounts.{a}");
            unique(
                &mut account_ids,
                &account.id,
                file,
                &format!("{field}.id"),
                "duplicate account id",
            )?;
            for (t, token) in account.tokens.iter().enumerate() {
                let field = format!("accounts.{a}.tokens.{t}");
                if !crate::auth::is_bearer_token(token) {
                    return Err(invalid(
                        file,
                        &field,
                        "a token is 1 to 256 visible ASCII characters without spaces",
                    ));
                }
                one_owner(&mut owners, token, &account.id, "account", file, &field)?;
            }
            for (s, server) in account.servers.iter().enumerate() {
                let field = format!("{field}.servers.{s}");
                unique(
                    &mut server_ids,
                    &server.detail.id.0,
                    file,
                    &format!("{field}.id"),
                    "duplicate server id",
                )?;
            }
        }
        Ok(())
    }
}

/// Refuses `value` at `field` with `message` when `seen` holds it already.
fn unique<'f>(
    seen: &mut std::collections::HashSet<&'f str>,
    value: &'f str,
    file: &str,
    field: &str,
    message: &str,
) -> Result<(), FixtureError> {
    if seen.insert(value) {
        Ok(())
    } else {
        Err(invalid(file, field, message))
    }
}

/// Refuses a token listed for two principals (a token belongs to one), naming both.
fn one_owner<'f>(
    owners: &mut std::collections::HashMap<&'f str, &'f str>,
    token: &'f str,
    principal: &'f str,
    kind: &str,
    file: &str,
    field: &str,
) -> Result<(), FixtureError> {
    match owners.insert(token, principal) {
        Some(first) if first != principal => Err(invalid(
            file,
            field,
            &format!(
                "this token is listed for both {kind} {first} and {kind} {principal}; a token belongs to one"
            ),
        )),
        _ => Ok(()),
    }
}

fn invalid(file: &str, field: &str, message: &str) -> FixtureError {
    FixtureError::Invalid {
        file: file.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The embedded Status fixtures changed by `edit`, parsed: the error's field and message.
    fn refused(edit: impl FnOnce(&mut Value)) -> (String, String) {
        let mut status: Value = serde_json::from_str(STATUS_JSON).unwrap();
        edit(&mut status);
        let text = serde_json::to_string(&status).unwrap();
        match Fixtures::parse(&text, "status.json", PANEL_JSON, "panel.json") {
            Err(FixtureError::Invalid { field, message, .. }) => (field, message),
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    /// A copy of workspace 0's first page, without incidents, added after its pages with
    /// `id` and `slug`; returns the new page's index.
    fn add_page(status: &mut Value, id: &str, slug: &str) -> usize {
        let pages = status["workspaces"][0]["pages"].as_array_mut().unwrap();
        let mut page = pages[0].clone();
        page["id"] = json!(id);
        page["slug"] = json!(slug);
        page["incidents"] = json!([]);
        pages.push(page);
        pages.len() - 1
    }

    #[test]
    fn status_ids_and_slugs_must_be_unique_and_incidents_under_their_page() {
        assert!(Fixtures::parse(STATUS_JSON, "status.json", PANEL_JSON, "panel.json").is_ok());
        let embedded: Value = serde_json::from_str(STATUS_JSON).unwrap();
        let first = &embedded["workspaces"][0]["pages"][0];
        let (id, slug) = (
            first["id"].as_str().unwrap(),
            first["slug"].as_str().unwrap(),
        );
        let mut added = 0;
        let slug_taken = refused(|status| added = add_page(status, "pg_000000000000", slug));
        assert_eq!(
            slug_taken,
            (
                format!("workspaces.0.pages.{added}.slug"),
                "duplicate slug in this workspace".to_owned()
            )
        );
        let id_taken = refused(|status| added = add_page(status, id, "another-slug"));
        assert_eq!(
            id_taken,
            (
                format!("workspaces.0.pages.{added}.id"),
                "duplicate page id".to_owned()
            )
        );
        let elsewhere = refused(|status| {
            status["workspaces"][0]["pages"][0]["incidents"][0]["page_id"] =
                json!("pg_000000000000");
        });
        assert_eq!(
            elsewhere,
            (
                "workspaces.0.pages.0.incidents.0.page_id".to_owned(),
                "not the id of the page the incident is listed under".to_owned()
            )
        );
        let workspace_taken = refused(|status| {
            let workspaces = status["workspaces"].as_array_mut().unwrap();
            let mut copy = workspaces[0].clone();
            copy["tokens"] = json!([]);
            copy["pages"] = json!([]);
            workspaces.push(copy);
            added = workspaces.len() - 1;
        });
        assert_eq!(
            workspace_taken,
            (
                format!("workspaces.{added}.id"),
                "duplicate workspace id".to_owned()
            )
        );
    }
}
