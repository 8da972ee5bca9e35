//! Beacon Panel API: state and handlers.

use std::collections::{HashMap, VecDeque};

use beacon_spec::PanelOperation;
use beacon_spec::panel::{
    CommandSent, ConsoleCommand, ConsoleLogs, ConsoleQuery, CreateDatabase, CreatedDatabase,
    Database, DatabaseNaming, LogEntry, PanelSuccess, PowerAccepted, PowerRequest, ServerDetail,
    ServerStatus, ServerSummary,
};
use bytes::Bytes;
use http::{Response, StatusCode};
use parking_lot::RwLock;

use crate::call::Call;
use crate::clock;
use crate::error::{ApiError, json_response};
use crate::fixtures::PanelFixtures;

/// Console lines kept per server; older ones are dropped.
const CONSOLE_CAPACITY: usize = 10_000;
const DATABASE_HOST: &str = "mysql.beaconhosting.org";
const DATABASE_PORT: u16 = 3306;
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// In-memory state of the Panel API, seeded from fixtures.
#[derive(Debug)]
pub(crate) struct PanelState {
    servers: Vec<ServerState>,
    /// Bare path id (`123`) → index in `servers`.
    by_path_id: HashMap<String, usize>,
}

#[derive(Debug)]
struct ServerState {
    owner: usize,
    detail: ServerDetail,
    console: VecDeque<LogEntry>,
    databases: Vec<Database>,
}

impl PanelState {
    pub(crate) fn new(fixtures: &PanelFixtures) -> Self {
        let servers: Vec<ServerState> = fixtures
            .accounts
            .iter()
            .enumerate()
            .flat_map(|(owner, account)| {
                account.servers.iter().map(move |s| ServerState {
                    owner,
                    detail: s.detail.clone(),
                    console: s.console.iter().cloned().collect(),
                    databases: s.databases.clone(),
                })
            })
            .collect();
        let by_path_id = servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.detail.id.path_segment().to_owned(), i))
            .collect();
        Self {
            servers,
            by_path_id,
        }
    }

    /// The server at path id `id` if `account` owns it: 404 if unknown, 403 if another's.
    fn server_index(&self, id: &str, account: usize) -> Result<usize, ApiError> {
        let index = *self
            .by_path_id
            .get(id)
            .ok_or_else(|| ApiError::NotFound("Server not found".into()))?;
        if self.servers[index].owner == account {
            Ok(index)
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

fn success<T: serde::Serialize>(payload: T) -> Response<Bytes> {
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&PanelSuccess::new(payload)).expect("wire types serialize"),
    )
}

fn log(server: &mut ServerState, level: &str, message: String) {
    if server.console.len() == CONSOLE_CAPACITY {
        server.console.pop_front();
    }
    server.console.push_back(LogEntry {
        timestamp: clock::now(),
        level: level.to_owned(),
        message,
    });
}

/// Handles one authenticated, rate-limited Panel operation for `account`.
///
/// A write parses and validates its body before it takes the state's write lock, then
/// looks the server up under the lock (an unknown one is 404, another account's 403,
/// whatever the body) and re-checks what depends on state (a stopped server, a duplicate
/// database) there.
pub(crate) fn handle(
    state: &RwLock<PanelState>,
    op: PanelOperation,
    call: &Call<'_>,
    account: usize,
) -> Result<Response<Bytes>, ApiError> {
    let id = call.param("serverId");
    match op {
        PanelOperation::ListServers => {
            let state = state.read();
            let servers: Vec<ServerSummary> = state
                .servers
                .iter()
                .filter(|s| s.owner == account)
                .map(|s| s.detail.summary())
                .collect();
            Ok(success(servers))
        }
        PanelOperation::GetServer => {
            let state = state.read();
            let index = state.server_index(id, account)?;
            Ok(success(&state.servers[index].detail))
        }
        PanelOperation::PowerServer => {
            let request = call.body::<PowerRequest>();
            let mut state = state.write();
            let index = state.server_index(id, account)?;
            let request = request?;
            let server = &mut state.servers[index];
            server.detail.status = request.action.resulting_status();
            server.detail.updated_at = clock::now();
            let message = format!("Server {} initiated", request.action.as_str());
            log(server, "INFO", format!("[Beacon] {message}"));
            Ok(success(PowerAccepted { message }))
        }
        PanelOperation::GetConsole => {
            let query: ConsoleQuery = call.query()?;
            let lines = query.lines.unwrap_or(ConsoleQuery::DEFAULT_LINES) as usize;
            let state = state.read();
            let index = state.server_index(id, account)?;
            let console = &state.servers[index].console;
            let skip = console.len().saturating_sub(lines);
            Ok(success(ConsoleLogs {
                logs: console.iter().skip(skip).cloned().collect(),
                total_lines: console.len() as u64,
            }))
        }
        PanelOperation::SendCommand => {
            let request = call.body::<ConsoleCommand>().and_then(|request| {
                if request.command.trim().is_empty() {
                    return Err(ApiError::Invalid("command: must not be empty".into()));
                }
                Ok(request)
            });
            let mut state = state.write();
            let index = state.server_index(id, account)?;
            let request = request?;
            let command = request.command.trim();
            let server = &mut state.servers[index];
            if server.detail.status != ServerStatus::Running {
                return Err(ApiError::BadRequest("Server is not running".into()));
            }
            log(server, "INFO", format!("> {command}"));
            Ok(success(CommandSent {
                message: "Command sent successfully".into(),
                command: request.command,
                timestamp: clock::now(),
            }))
        }
        PanelOperation::ListDatabases => {
            let state = state.read();
            let index = state.server_index(id, account)?;
            Ok(success(&state.servers[index].databases))
        }
        PanelOperation::CreateDatabase => {
            let request = call.body::<CreateDatabase>();
            let password = clock::random_string(clock::ALNUM, 24);
            let mut state = state.write();
            let index = state.server_index(id, account)?;
            let request = request?;
            let server = &mut state.servers[index];
            let naming = DatabaseNaming::new(&server.detail.id, request.name.as_str());
            if server
                .databases
                .iter()
                .any(|d| d.id == naming.id || d.username == naming.username)
            {
                return Err(ApiError::BadRequest(format!(
                    "A database named {} already exists on this server",
                    request.name
                )));
            }
            server.databases.push(Database {
                id: naming.id.clone(),
                name: naming.name.clone(),
                username: naming.username.clone(),
                host: DATABASE_HOST.into(),
                port: DATABASE_PORT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                created_at: clock::now(),
            });
            Ok(success(CreatedDatabase {
                connection_string: format!(
                    "mysql://{}:{password}@{DATABASE_HOST}:{DATABASE_PORT}/{}",
                    naming.username, naming.name
                ),
                id: naming.id,
                name: naming.name,
                username: naming.username,
                password,
                host: DATABASE_HOST.into(),
                port: DATABASE_PORT,
            }))
        }
    }
}
