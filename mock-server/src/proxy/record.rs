//! `--record DIR`: the successful reads the proxy sees, turned into the fixture file that
//! `beacon-mock serve --only <api> --fixtures DIR` loads.
//!
//! Each token seen is one principal (a Panel account, a Status workspace), known by the
//! token's SHA-256 digest only; the file names it by a fresh placeholder token, never by the
//! real one. Panel's database list carries no password; the mock makes new ones on replay.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use beacon_spec::catalog::{Api, Operation, OperationId};
use beacon_spec::panel::{
    ConsoleLogs, Database, Resources, ServerDetail, ServerMeta, ServerSettings, ServerSummary,
};
use beacon_spec::status::{Incident, Page};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clock;

/// A principal's placeholder token in the recorded file, and the id it is recorded under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPrincipal {
    /// The account (Panel) or workspace (Status) id in the file.
    pub id: String,
    /// The placeholder token that `serve --fixtures` accepts for it.
    pub token: String,
}

/// What a recording wrote, for the closing banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    /// The fixture file.
    pub file: PathBuf,
    /// The principals recorded, in the order they were first seen.
    pub principals: Vec<RecordedPrincipal>,
}

/// The recording of one API, written to `DIR/<api>.json`.
#[derive(Debug)]
pub(crate) struct Recorder {
    api: Api,
    file: PathBuf,
    principals: Mutex<Vec<Principal>>,
    dirty: AtomicBool,
}

#[derive(Debug)]
struct Principal {
    digest: [u8; 32],
    placeholder: RecordedPrincipal,
    /// Panel servers or Status pages, in the order first seen.
    items: Vec<Item>,
}

#[derive(Debug)]
enum Item {
    Server(Box<Server>),
    Page(RecordedPage),
}

#[derive(Debug, Default)]
struct Server {
    /// The `{serverId}` path segment.
    key: String,
    summary: Option<ServerSummary>,
    detail: Option<ServerDetail>,
    console: Option<ConsoleLogs>,
    databases: Option<Vec<Database>>,
}

#[derive(Debug, Default)]
struct RecordedPage {
    slug: String,
    page: Option<Page>,
    incidents: Option<Vec<Incident>>,
}

impl Recorder {
    /// A recorder writing to `dir/<api>.json`; creates `dir` if needed.
    pub(crate) fn new(api: Api, dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            api,
            file: dir.join(format!("{}.json", api.name())),
            principals: Mutex::new(Vec::new()),
            dirty: AtomicBool::new(false),
        })
    }

    /// Records what a successful read of `op` with `params` answered `data` (the envelope's
    /// `data`) to `token`. Other operations, and data that is not the documented shape, are
    /// left out.
    pub(crate) fn observe(
        &self,
        op: &Operation,
        params: &[(&str, &str)],
        token: &str,
        data: &Value,
    ) {
        if op.mutates {
            return;
        }
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| *v)
                .to_owned()
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut principals = self.principals.lock();
        let index = match principals.iter().position(|p| p.digest == digest) {
            Some(index) => index,
            None => {
                let placeholder = self.placeholder(principals.len() + 1);
                principals.push(Principal {
                    digest,
                    placeholder,
                    items: Vec::new(),
                });
                principals.len() - 1
            }
        };
        let items = &mut principals[index].items;
        let recorded = match op.id {
            OperationId::ListServers => parse::<Vec<ServerSummary>>(data).map(|list| {
                for summary in list {
                    let key = summary.id.path_segment().to_owned();
                    server(items, &key).summary = Some(summary);
                }
            }),
            OperationId::GetServer => parse::<ServerDetail>(data).map(|detail| {
                server(items, &param("serverId")).detail = Some(detail);
            }),
            OperationId::GetConsole => parse::<ConsoleLogs>(data).map(|console| {
                server(items, &param("serverId")).console = Some(console);
            }),
            OperationId::ListDatabases => parse::<Vec<Database>>(data).map(|databases| {
                server(items, &param("serverId")).databases = Some(databases);
            }),
            OperationId::ListPages => parse::<Vec<Page>>(data).map(|pages| {
                for page in pages {
                    let slug = page.slug.0.clone();
                    self::page(items, &slug).page = Some(page);
                }
            }),
            OperationId::GetPage => parse::<Page>(data).map(|found| {
                page(items, &param("slug")).page = Some(found);
            }),
            OperationId::ListIncidents => parse::<Vec<Incident>>(data).map(|incidents| {
                page(items, &param("slug")).incidents = Some(incidents);
            }),
            _ => None,
        };
        if recorded.is_some() {
            self.dirty.store(true, Ordering::Release);
        }
    }

    fn placeholder(&self, n: usize) -> RecordedPrincipal {
        match self.api {
            Api::Panel => RecordedPrincipal {
                id: format!("acct_rec{n}"),
                token: format!("panel_rec_{}", clock::random_string(clock::ALNUM, 24)),
            },
            Api::Status => RecordedPrincipal {
                id: format!("ws_rec{n}"),
                token: format!("bkn_live_{}", clock::random_string(clock::LOWER_ALNUM, 32)),
            },
        }
    }

    /// Writes the file if anything was recorded since the last write: to a temporary file
    /// beside it, then renamed over it, so that a reader never sees half a file.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let document = self.document();
        let written = write_atomically(&self.file, &document);
        if written.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        written
    }

    /// The file and the placeholder tokens recorded so far.
    pub(crate) fn summary(&self) -> RecordingSummary {
        RecordingSummary {
            file: self.file.clone(),
            principals: self
                .principals
                .lock()
                .iter()
                .map(|p| p.placeholder.clone())
                .collect(),
        }
    }

    /// The fixture document for everything recorded.
    fn document(&self) -> Value {
        let principals = self.principals.lock();
        match self.api {
            Api::Panel => json!({ "accounts": principals.iter().map(|p| json!({
                "id": p.placeholder.id,
                "name": format!("Recorded account {}", p.placeholder.id),
                "tokens": [p.placeholder.token],
                "servers": p.items.iter().filter_map(|item| match item {
                    Item::Server(server) => server_fixture(server),
                    Item::Page(_) => None,
                }).collect::<Vec<Value>>(),
            })).collect::<Vec<Value>>() }),
            Api::Status => json!({ "workspaces": principals.iter().map(|p| json!({
                "id": p.placeholder.id,
                "name": format!("Recorded workspace {}", p.placeholder.id),
                "tokens": [{ "name": "Recorded by beacon-mock proxy", "token": p.placeholder.token }],
                "pages": p.items.iter().filter_map(|item| match item {
                    Item::Page(page) => page_fixture(page),
                    Item::Server(_) => None,
                }).collect::<Vec<Value>>(),
            })).collect::<Vec<Value>>() }),
        }
    }
}

fn parse<T: DeserializeOwned>(data: &Value) -> Option<T> {
    serde_json::from_value(data.clone()).ok()
}

fn server<'a>(items: &'a mut Vec<Item>, key: &str) -> &'a mut Server {
    let at = items
        .iter()
        .position(|item| matches!(item, Item::Server(s) if s.key == key))
        .unwrap_or_else(|| {
            items.push(Item::Server(Box::new(Server {
                key: key.to_owned(),
                ..Server::default()
            })));
            items.len() - 1
        });
    match &mut items[at] {
        Item::Server(server) => server,
        Item::Page(_) => unreachable!("the position found a server"),
    }
}

fn page<'a>(items: &'a mut Vec<Item>, slug: &str) -> &'a mut RecordedPage {
    let at = items
        .iter()
        .position(|item| matches!(item, Item::Page(p) if p.slug == slug))
        .unwrap_or_else(|| {
            items.push(Item::Page(RecordedPage {
                slug: slug.to_owned(),
                ..RecordedPage::default()
            }));
            items.len() - 1
        });
    match &mut items[at] {
        Item::Page(page) => page,
        Item::Server(_) => unreachable!("the position found a page"),
    }
}

/// A server's fixture: its detail as recorded, or made from its list summary when only
/// the list was read.
fn server_fixture(server: &Server) -> Option<Value> {
    let detail = match (&server.detail, &server.summary) {
        (Some(detail), _) => detail.clone(),
        (None, Some(summary)) => detail_from_summary(summary),
        (None, None) => return None,
    };
    let mut fixture = serde_json::to_value(detail).ok()?;
    let object = fixture.as_object_mut()?;
    object.insert(
        "console".into(),
        json!(server.console.as_ref().map_or(&[][..], |c| &c.logs[..])),
    );
    object.insert(
        "databases".into(),
        json!(server.databases.as_deref().unwrap_or_default()),
    );
    Some(fixture)
}

fn detail_from_summary(summary: &ServerSummary) -> ServerDetail {
    let resources = Resources {
        memory: summary.memory,
        disk: summary.disk,
        cpu: summary.cpu,
    };
    ServerDetail {
        id: summary.id.clone(),
        name: summary.name.clone(),
        description: String::new(),
        status: summary.status,
        resources,
        node: "recorded".to_owned(),
        allocations: Vec::new(),
        settings: ServerSettings {
            meta: ServerMeta {
                name: summary.name.clone(),
                description: String::new(),
            },
            limits: resources,
        },
        created_at: summary.created_at.clone(),
        updated_at: summary.created_at.clone(),
    }
}

fn page_fixture(page: &RecordedPage) -> Option<Value> {
    let mut fixture = serde_json::to_value(page.page.as_ref()?).ok()?;
    fixture.as_object_mut()?.insert(
        "incidents".into(),
        json!(page.incidents.as_deref().unwrap_or_default()),
    );
    Some(fixture)
}

fn write_atomically(file: &Path, document: &Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(document).map_err(std::io::Error::other)?;
    let mut temporary = file.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let mut out = std::fs::File::create(&temporary)?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&temporary, file)
}
