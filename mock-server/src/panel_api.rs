//! Beacon Panel API: state and handlers.

use std::collections::{HashMap, VecDeque};

use beacon_spec::PanelOperation;
use beacon_spec::panel::{
    CommandSent, ConsoleCommand, ConsoleQuery, CreateDatabase, CreatedDatabase, Database,
    DatabaseNaming, LogEntry, PanelSuccess, PowerAccepted, PowerRequest, ServerDetail,
    ServerStatus, ServerSummary,
};
use bytes::Bytes;
use http::{Response, StatusCode};
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::value::RawValue;

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
    console: VecDeque<ConsoleLine>,
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
                    console: s.console.iter().map(ConsoleLine::new).collect(),
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
    let line = ConsoleLine::new(&LogEntry {
        timestamp: clock::now(),
        level: level.to_owned(),
        message,
    });
    if server.console.len() == CONSOLE_CAPACITY {
        server.console.pop_front();
    }
    server.console.push_back(line);
}

/// A console line, serialized once when it is written: a read copies bytes and formats
/// nothing.
#[derive(Debug)]
struct ConsoleLine(Box<RawValue>);

impl ConsoleLine {
    fn new(entry: &LogEntry) -> Self {
        Self(serde_json::value::to_raw_value(entry).expect("wire types serialize"))
    }
}

/// The last `lines` lines of a console as the body of `GET /servers/{serverId}/console`:
/// the same JSON as `PanelSuccess<ConsoleLogs>`, from the lines' stored JSON.
fn console_body(console: &VecDeque<ConsoleLine>, lines: usize) -> Response<Bytes> {
    /// `ConsoleLogs` over borrowed, already serialized lines.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ConsoleLogsView<'a> {
        logs: Lines<'a>,
        total_lines: u64,
    }
    struct Lines<'a>(std::collections::vec_deque::Iter<'a, ConsoleLine>);
    impl Serialize for Lines<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.clone().map(|line| &*line.0))
        }
    }
    let skip = console.len().saturating_sub(lines);
    let shown = console.range(skip..);
    let size = 64 + shown.clone().map(|l| l.0.get().len() + 1).sum::<usize>();
    let mut body = Vec::with_capacity(size);
    let view = ConsoleLogsView {
        logs: Lines(shown),
        total_lines: console.len() as u64,
    };
    serde_json::to_writer(&mut body, &PanelSuccess::new(view)).expect("wire types serialize");
    json_response(StatusCode::OK, body)
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
            Ok(console_body(&state.servers[index].console, lines))
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

#[cfg(test)]
mod tests {
    use beacon_spec::panel::ConsoleLogs;

    use super::*;
    use crate::fixtures::Fixtures;

    #[test]
    fn the_console_body_is_the_json_of_console_logs() {
        let state = PanelState::new(&Fixtures::embedded().panel);
        let server = &state.servers[0];
        let entries = &Fixtures::embedded().panel.accounts[0].servers[0].console;
        for lines in [0, 1, 2, entries.len(), entries.len() + 5] {
            let skip = entries.len().saturating_sub(lines);
            let expected = serde_json::to_vec(&PanelSuccess::new(ConsoleLogs {
                logs: entries[skip..].to_vec(),
                total_lines: entries.len() as u64,
            }))
            .unwrap();
            assert_eq!(
                console_body(&server.console, lines).body()[..],
                expected[..]
            );
        }
    }
}
