//! Beacon Panel API: state and handlers.

use std::collections::{HashMap, VecDeque};

use beacon_spec::panel::{
    CommandSent, ConsoleCommand, ConsoleQuery, CreateDatabase, Database, LogEntry, PanelSuccess,
    PowerAccepted, PowerAction, PowerRequest, ServerDetail, ServerStatus, ServerSummary,
};
use beacon_spec::{PanelOperation, model};
use bytes::Bytes;
use http::{Response, StatusCode};
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::call::Call;
use crate::clock;
use crate::defect::Defect;
use crate::error::{ApiError, json_response};
use crate::fixtures::PanelFixtures;

/// In-memory state of the Panel API, seeded from fixtures. Every transition is the
/// contract's model (`beacon_spec::model`); this only stores its results.
#[derive(Debug)]
pub(crate) struct PanelState {
    servers: Vec<ServerState>,
    /// Bare path id (`123`) → index in `servers`.
    by_path_id: HashMap<String, usize>,
    defect: Option<Defect>,
}

#[derive(Debug)]
struct ServerState {
    owner: usize,
    detail: ServerDetail,
    console: VecDeque<ConsoleLine>,
    databases: Vec<Database>,
}

impl PanelState {
    pub(crate) fn new(fixtures: &PanelFixtures, defect: Option<Defect>) -> Self {
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
            defect,
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
    if server.console.len() == model::CONSOLE_CAPACITY {
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
    let shown = console.range(model::console_window(console.len(), lines));
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
            let defect = state.defect;
            let server = &mut state.servers[index];
            let effect = model::power(request.action);
            let keeps_stopped = defect == Some(Defect::RestartLeavesStoppedServerStopped)
                && request.action == PowerAction::Restart
                && server.detail.status == ServerStatus::Stopped;
            if !keeps_stopped {
                server.detail.status = effect.status;
            }
            server.detail.updated_at = clock::now();
            log(server, "INFO", effect.console_line);
            Ok(success(PowerAccepted {
                message: effect.message,
            }))
        }
        PanelOperation::GetConsole => {
            let query: ConsoleQuery = call.query()?;
            let lines = query.lines.unwrap_or(ConsoleQuery::DEFAULT_LINES) as usize;
            let state = state.read();
            let index = state.server_index(id, account)?;
            Ok(console_body(&state.servers[index].console, lines))
        }
        PanelOperation::SendCommand => {
            let request = call.body::<ConsoleCommand>();
            let mut state = state.write();
            let index = state.server_index(id, account)?;
            let request = request?;
            let (_, line) = model::command(state.servers[index].detail.status, &request.command)?;
            if state.defect == Some(Defect::CommandInEveryConsole) {
                for other in state.servers.iter_mut().filter(|s| s.owner == account) {
                    log(other, "INFO", line.clone());
                }
            } else {
                log(&mut state.servers[index], "INFO", line);
            }
            Ok(success(CommandSent {
                message: "Command sent successfully".into(),
                command: request.command,
                timestamp: clock::now(),
            }))
        }
        PanelOperation::ListDatabases => {
            let state = state.read();
            let index = state.server_index(id, account)?;
            let databases = &state.servers[index].databases;
            if state.defect == Some(Defect::DatabaseListStopsAtThree) {
                return Ok(success(&databases[..databases.len().min(3)]));
            }
            Ok(success(databases))
        }
        PanelOperation::CreateDatabase => {
            let request = call.body::<CreateDatabase>();
            let password = clock::random_string(clock::ALNUM, 24);
            let mut state = state.write();
            let index = state.server_index(id, account)?;
            let request = request?;
            let server = &mut state.servers[index];
            let (listed, created) = model::create_database(
                &server.detail.id,
                &server.databases,
                request.name.as_str(),
                password,
                clock::now(),
            )?;
            server.databases.push(listed);
            Ok(success(created))
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
        let state = PanelState::new(&Fixtures::embedded().panel, None);
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
