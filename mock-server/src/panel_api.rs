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

use crate::call::Call;
use crate::clock;
use crate::defect::Defect;
use crate::error::{ApiError, headless_json};
use crate::fixtures::PanelFixtures;

/// In-memory state of the Panel API, seeded from fixtures. Every transition is the
/// contract's model (`beacon_spec::model`); this only stores its results.
#[derive(Debug)]
pub(crate) struct PanelState {
    servers: Vec<ServerState>,
    /// Bare path id (`123`) → index in `servers`. Its keys come from fixtures, never from
    /// requests, so a fast hash does not open it to flooding.
    by_path_id: HashMap<String, usize, foldhash::fast::RandomState>,
    defect: Option<Defect>,
}

#[derive(Debug)]
struct ServerState {
    owner: usize,
    detail: ServerDetail,
    console: Console,
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
                    console: s.console.iter().collect(),
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
    headless_json(
        StatusCode::OK,
        serde_json::to_vec(&PanelSuccess::new(payload)).expect("wire types serialize"),
    )
}

fn log(server: &mut ServerState, level: &str, message: String) {
    server.console.push(&LogEntry {
        timestamp: clock::now(),
        level: level.to_owned(),
        message,
    });
}

/// A server's console, its last [`model::CONSOLE_CAPACITY`] lines: each line's JSON,
/// serialized once when it is written, one after the other in one buffer, so that a read of
/// the last lines copies one slice and formats nothing.
#[derive(Debug, Default)]
struct Console {
    /// `,<line JSON>` for each line, oldest first; what comes before the first start is the
    /// text of dropped lines, cut off once it is half the buffer.
    text: Vec<u8>,
    /// Where each kept line (its leading comma) starts in `text`.
    starts: VecDeque<usize>,
}

impl<'a> FromIterator<&'a LogEntry> for Console {
    fn from_iter<I: IntoIterator<Item = &'a LogEntry>>(entries: I) -> Self {
        let mut console = Self::default();
        entries.into_iter().for_each(|entry| console.push(entry));
        console
    }
}

impl Console {
    /// Appends `entry`, dropping the oldest line past the capacity.
    fn push(&mut self, entry: &LogEntry) {
        if self.starts.len() >= model::CONSOLE_CAPACITY {
            self.starts.pop_front();
            let dropped = self.starts.front().copied().unwrap_or(self.text.len());
            if dropped > self.text.len() / 2 {
                self.text.drain(..dropped);
                self.starts.iter_mut().for_each(|start| *start -= dropped);
            }
        }
        self.starts.push_back(self.text.len());
        self.text.push(b',');
        serde_json::to_writer(&mut self.text, entry).expect("wire types serialize");
    }

    /// The body of `GET /servers/{serverId}/console` for its last `lines` lines: the same
    /// JSON as `PanelSuccess<ConsoleLogs>` (a test holds them equal).
    fn body(&self, lines: usize) -> Response<Bytes> {
        const HEAD: &[u8] = br#"{"success":true,"data":{"logs":["#;
        const TOTAL: &[u8] = br#"],"totalLines":"#;
        let total = self.starts.len();
        let first = model::console_window(total, lines).start;
        // From the first shown line, without its leading comma, to the end.
        let shown = self
            .starts
            .get(first)
            .map_or(&[][..], |&start| &self.text[start + 1..]);
        let mut count = itoa::Buffer::new();
        let count = count.format(total).as_bytes();
        let mut body = Vec::with_capacity(HEAD.len() + shown.len() + TOTAL.len() + count.len() + 2);
        body.extend_from_slice(HEAD);
        body.extend_from_slice(shown);
        body.extend_from_slice(TOTAL);
        body.extend_from_slice(count);
        body.extend_from_slice(b"}}");
        headless_json(StatusCode::OK, body)
    }
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
            Ok(state.servers[index].console.body(lines))
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

    /// `Console::body` against `PanelSuccess<ConsoleLogs>` serialized by serde.
    fn assert_body_is_console_logs(console: &Console, entries: &[LogEntry]) {
        let kept = &entries[entries.len().saturating_sub(model::CONSOLE_CAPACITY)..];
        for lines in [
            0,
            1,
            2,
            kept.len().saturating_sub(1),
            kept.len(),
            kept.len() + 5,
        ] {
            let skip = kept.len().saturating_sub(lines);
            let expected = serde_json::to_vec(&PanelSuccess::new(ConsoleLogs {
                logs: kept[skip..].to_vec(),
                total_lines: kept.len() as u64,
            }))
            .unwrap();
            let body = console.body(lines);
            assert_eq!(
                String::from_utf8_lossy(body.body()),
                String::from_utf8_lossy(&expected),
                "{lines} lines of {}",
                entries.len()
            );
        }
    }

    #[test]
    fn the_console_body_is_the_json_of_console_logs() {
        let state = PanelState::new(&Fixtures::embedded().panel, None);
        let entries = &Fixtures::embedded().panel.accounts[0].servers[0].console;
        assert_body_is_console_logs(&state.servers[0].console, entries);
        assert_body_is_console_logs(&Console::default(), &[]);
    }

    #[test]
    fn a_console_past_its_capacity_keeps_and_shows_its_last_lines() {
        let mut console = Console::default();
        let mut entries = Vec::new();
        let capacity = model::CONSOLE_CAPACITY;
        let checked = [0, 1, capacity - 1, capacity, capacity + 1, 2 * capacity + 3];
        for n in 0..capacity * 3 + 7 {
            let entry = LogEntry {
                timestamp: clock::now(),
                level: "INFO".into(),
                // Lines of different lengths, with characters JSON escapes.
                message: format!("line {n} \"{}\"", "x".repeat(n % 13)),
            };
            console.push(&entry);
            entries.push(entry);
            if checked.contains(&n) {
                assert_body_is_console_logs(&console, &entries);
            }
        }
        assert_body_is_console_logs(&console, &entries);
        assert_eq!(console.starts.len(), capacity);
        // Dropped lines are cut off: the buffer holds at most twice what is kept.
        let kept = console.text.len() - console.starts[0];
        assert!(
            console.text.len() <= 2 * kept + 200,
            "{} bytes for {kept}",
            console.text.len()
        );
    }
}
