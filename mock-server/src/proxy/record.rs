//! `--record DIR`: the successful reads the proxy sees, turned into the fixture file that
//! `beacon-mock serve --only <api> --fixtures DIR` loads.
//!
//! Each token seen is one principal (a Panel account, a Status workspace), known by the
//! token's SHA-256 digest only; the file names it by a fresh placeholder token, never by the
//! real one. Panel's database list carries no password; the mock makes new ones on replay.

use std::collections::HashMap;
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
    state: Mutex<State>,
    dirty: AtomicBool,
}

/// Everything recorded so far.
#[derive(Debug, Default)]
struct State {
    principals: Vec<Principal>,
    /// Which principal each server (`{serverId}`) or page (slug) belongs to.
    owners: HashMap<String, usize>,
}

impl State {
    /// The principal `index` is recorded as (itself, or the one it is a second token of).
    fn resolve(&self, mut index: usize) -> usize {
        while let Some(owner) = self.principals[index].alias_of {
            index = owner;
        }
        index
    }
}

#[derive(Debug)]
struct Principal {
    digest: [u8; 32],
    placeholder: RecordedPrincipal,
    /// Set when this token turned out to be another principal's second token.
    alias_of: Option<usize>,
    /// Panel servers, in the order first seen (a Status recording has none).
    servers: Vec<Server>,
    /// Status pages, in the order first seen (a Panel recording has none).
    pages: Vec<RecordedPage>,
    /// The keys of the last list read, in its order: what the replayed list holds.
    listed: Option<Vec<String>>,
}

impl Principal {
    fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.pages.is_empty()
    }
}

/// One successful read, parsed.
enum Read {
    Servers(Vec<ServerSummary>),
    Server(ServerDetail),
    Console(String, ConsoleLogs),
    Databases(String, Vec<Database>),
    Pages(Vec<Page>),
    Page(Page),
    Incidents(String, Vec<Incident>),
}

impl Read {
    /// The servers (their `{serverId}`) or pages (their slug) it is about, in order.
    fn keys(&self) -> Vec<String> {
        match self {
            Read::Servers(list) => list
                .iter()
                .map(|s| s.id.path_segment().to_owned())
                .collect(),
            Read::Server(detail) => vec![detail.id.path_segment().to_owned()],
            Read::Console(key, _) | Read::Databases(key, _) | Read::Incidents(key, _) => {
                vec![key.clone()]
            }
            Read::Pages(list) => list.iter().map(|p| p.slug.0.clone()).collect(),
            Read::Page(page) => vec![page.slug.0.clone()],
        }
    }
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
    /// The slug.
    key: String,
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
            state: Mutex::new(State::default()),
            dirty: AtomicBool::new(false),
        })
    }

    /// Records what a successful read of `op` with `params` answered `data` (the envelope's
    /// `data`) to `token`. Other operations are left out, and so is data that does not fit
    /// the fixture format (logged).
    ///
    /// A server or page belongs to the first principal that read it. A new token whose first
    /// read shows one of them is the same account or workspace as its owner (a second token
    /// of it) and is recorded as such; otherwise it is left out of the other's.
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
        let read = match op.id {
            OperationId::ListServers => parse(op, data).map(Read::Servers),
            OperationId::GetServer => parse(op, data).map(Read::Server),
            OperationId::GetConsole => {
                parse(op, data).map(|logs| Read::Console(param("serverId"), logs))
            }
            OperationId::ListDatabases => {
                parse(op, data).map(|list| Read::Databases(param("serverId"), list))
            }
            OperationId::ListPages => parse(op, data).map(Read::Pages),
            OperationId::GetPage => parse(op, data).map(Read::Page),
            OperationId::ListIncidents => {
                parse(op, data).map(|list| Read::Incidents(param("slug"), list))
            }
            _ => None,
        };
        let Some(read) = read else {
            return;
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut state = self.state.lock();
        let reader = match state.principals.iter().position(|p| p.digest == digest) {
            Some(index) => index,
            None => {
                let placeholder = self.placeholder(state.principals.len() + 1);
                state.principals.push(Principal {
                    digest,
                    placeholder,
                    alias_of: None,
                    servers: Vec::new(),
                    pages: Vec::new(),
                    listed: None,
                });
                state.principals.len() - 1
            }
        };
        let keys = read.keys();
        let mut me = state.resolve(reader);
        if state.principals[me].is_empty() {
            // A token's first read of something another principal owns: the same one.
            if let Some(owner) = keys
                .iter()
                .find_map(|key| state.owners.get(key).copied().filter(|o| *o != me))
            {
                state.principals[reader].alias_of = Some(owner);
                me = owner;
            }
        }
        let mine: Vec<bool> = keys
            .iter()
            .map(|key| *state.owners.entry(key.clone()).or_insert(me) == me)
            .collect();
        let principal = &mut state.principals[me];
        let (servers, pages) = (&mut principal.servers, &mut principal.pages);
        let kept = |i: usize| mine[i];
        match read {
            Read::Servers(list) => {
                let listed = record_list(servers, &keys, &mine, list, |s, v| s.summary = Some(v));
                principal.listed = Some(listed);
            }
            Read::Server(detail) if kept(0) => entry(servers, &keys[0]).detail = Some(detail),
            Read::Console(_, console) if kept(0) => {
                entry(servers, &keys[0]).console = Some(console);
            }
            Read::Databases(_, list) if kept(0) => entry(servers, &keys[0]).databases = Some(list),
            Read::Pages(list) => {
                let listed = record_list(pages, &keys, &mine, list, |p, v| p.page = Some(v));
                principal.listed = Some(listed);
            }
            Read::Page(found) if kept(0) => entry(pages, &keys[0]).page = Some(found),
            Read::Incidents(_, list) if kept(0) => entry(pages, &keys[0]).incidents = Some(list),
            _ => return,
        }
        self.dirty.store(true, Ordering::Release);
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
        let state = self.state.lock();
        RecordingSummary {
            file: self.file.clone(),
            principals: state
                .principals
                .iter()
                .enumerate()
                .map(|(i, p)| RecordedPrincipal {
                    id: state.principals[state.resolve(i)].placeholder.id.clone(),
                    token: p.placeholder.token.clone(),
                })
                .collect(),
        }
    }

    /// The fixture document for everything recorded: one account or workspace per owning
    /// principal, with its second tokens; its servers or pages in the order of the last list
    /// read (only those it listed), or in the order first seen when no list was read.
    fn document(&self) -> Value {
        let state = self.state.lock();
        let owners =
            (0..state.principals.len()).filter(|i| state.principals[*i].alias_of.is_none());
        let tokens = |owner: usize| -> Vec<&str> {
            (0..state.principals.len())
                .filter(|i| state.resolve(*i) == owner)
                .map(|i| state.principals[i].placeholder.token.as_str())
                .collect()
        };
        let entries = owners.map(|owner| {
            let principal = &state.principals[owner];
            let listed = principal.listed.as_deref();
            let id = &principal.placeholder.id;
            match self.api {
                Api::Panel => json!({
                    "id": id,
                    "name": format!("Recorded account {id}"),
                    "tokens": tokens(owner),
                    "servers": in_list_order(&principal.servers, listed)
                        .filter_map(server_fixture)
                        .collect::<Vec<Value>>(),
                }),
                Api::Status => json!({
                    "id": id,
                    "name": format!("Recorded workspace {id}"),
                    "tokens": tokens(owner).iter().map(|token| json!({
                        "name": "Recorded by beacon-mock proxy",
                        "token": token,
                    })).collect::<Vec<Value>>(),
                    "pages": in_list_order(&principal.pages, listed)
                        .filter_map(page_fixture)
                        .collect::<Vec<Value>>(),
                }),
            }
        });
        match self.api {
            Api::Panel => json!({ "accounts": entries.collect::<Vec<Value>>() }),
            Api::Status => json!({ "workspaces": entries.collect::<Vec<Value>>() }),
        }
    }
}

fn parse<T: DeserializeOwned>(op: &Operation, data: &Value) -> Option<T> {
    T::deserialize(data)
        .map_err(|error| {
            tracing::warn!(
                "not recorded: a {} answer does not fit the fixture format ({error})",
                op.name
            );
        })
        .ok()
}

/// A recorded server or page, known by its key (`{serverId}` or slug).
trait Keyed: Default {
    fn key(&self) -> &str;
    fn set_key(&mut self, key: &str);
}

impl Keyed for Server {
    fn key(&self) -> &str {
        &self.key
    }
    fn set_key(&mut self, key: &str) {
        key.clone_into(&mut self.key);
    }
}

impl Keyed for RecordedPage {
    fn key(&self) -> &str {
        &self.key
    }
    fn set_key(&mut self, key: &str) {
        key.clone_into(&mut self.key);
    }
}

/// What `key` names in `list`, added empty at its end when first seen.
fn entry<'a, T: Keyed>(list: &'a mut Vec<T>, key: &str) -> &'a mut T {
    let at = list
        .iter()
        .position(|item| item.key() == key)
        .unwrap_or_else(|| {
            let mut item = T::default();
            item.set_key(key);
            list.push(item);
            list.len() - 1
        });
    &mut list[at]
}

/// Records a list read: each item whose key is this principal's (`mine`) is set on its entry
/// through `set`; returns their keys in the list's order.
fn record_list<T: Keyed, V>(
    entries: &mut Vec<T>,
    keys: &[String],
    mine: &[bool],
    list: Vec<V>,
    set: impl Fn(&mut T, V),
) -> Vec<String> {
    let mut listed = Vec::new();
    for ((key, item), _) in keys.iter().zip(list).zip(mine).filter(|(_, mine)| **mine) {
        listed.push(key.clone());
        set(entry(entries, key), item);
    }
    listed
}

/// `list` in the order of `listed` and only what it holds, or as first seen without a list.
fn in_list_order<'a, T: Keyed>(
    list: &'a [T],
    listed: Option<&'a [String]>,
) -> impl Iterator<Item = &'a T> {
    let mut ordered: Vec<&T> = list
        .iter()
        .filter(|item| listed.is_none_or(|keys| keys.iter().any(|k| k == item.key())))
        .collect();
    if let Some(keys) = listed {
        ordered.sort_by_key(|item| keys.iter().position(|k| k == item.key()));
    }
    ordered.into_iter()
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
