//! The contract's state semantics, once: what each state-changing operation does and
//! answers, as pure functions of the state it needs and the values the server makes
//! (timestamps, ids, passwords).
//!
//! beacon-mock's handlers call these to change their state; beacon-conformance's stateful
//! phase calls them on a model of the deployment to predict each answer. A divergence is
//! reported under the [`Rule`] a refusal or an effect names.

use std::ops::Range;

use crate::panel::{
    CreatedDatabase, Database, DatabaseId, DatabaseNaming, PowerAction, ServerId, ServerStatus,
};
use crate::rules::{self, Rule};
use crate::status::{CreateIncident, Incident, IncidentId, IncidentStatus, PageId};
use crate::wire::Timestamp;

/// Console lines a server keeps (ours); older ones are dropped.
pub const CONSOLE_CAPACITY: usize = 10_000;
/// The longest console command accepted, in bytes (ours).
pub const MAX_COMMAND_BYTES: usize = 4096;
/// The most incidents a page holds (ours); creating one more is refused.
pub const MAX_INCIDENTS_PER_PAGE: usize = 10_000;
/// The most databases a server holds (ours); creating one more is refused.
pub const MAX_DATABASES_PER_SERVER: usize = 1_000;
/// The database host every created database gets (ours: the documented one).
pub const DATABASE_HOST: &str = "mysql.beaconhosting.org";
/// The database port (documented).
pub const DATABASE_PORT: u16 = 3306;
/// Connections a created database allows (ours).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// Why a request is refused, with the rule that says so: the API's `400` (Panel) or its
/// status and error code (Status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The error message the answer carries.
    pub message: String,
    /// The rule behind it.
    pub rule: Rule,
}

impl Refusal {
    fn bad_request(message: impl Into<String>, rule: Rule) -> Self {
        Self {
            status: 400,
            message: message.into(),
            rule,
        }
    }
}

/// What a power action does: the status the server reads afterwards, the line it writes to
/// the console, and the answer's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerEffect {
    /// The server's status afterwards ([`rules::PANEL_POWER_EFFECT`]).
    pub status: ServerStatus,
    /// The console line written ([`rules::PANEL_POWER_LOGGED`]).
    pub console_line: String,
    /// The answer's `message` (documented).
    pub message: String,
}

/// `POST /servers/{serverId}` with a valid action: every action is accepted in every state.
pub fn power(action: PowerAction) -> PowerEffect {
    let message = format!("Server {} initiated", action.as_str());
    PowerEffect {
        status: action.resulting_status(),
        console_line: format!("[Beacon] {message}"),
        message,
    }
}

/// `POST /servers/{serverId}/console`: the command as it runs (trimmed) and the console
/// line it writes, or why it is refused.
pub fn command(status: ServerStatus, command: &str) -> Result<(String, String), Refusal> {
    let trimmed = command.trim();
    if trimmed.is_empty() {
        return Err(Refusal::bad_request(
            "command: must not be empty",
            rules::PANEL_EMPTY_COMMAND,
        ));
    }
    if command.len() > MAX_COMMAND_BYTES {
        return Err(Refusal::bad_request(
            format!("command: must be at most {MAX_COMMAND_BYTES} bytes"),
            rules::PANEL_COMMAND_LENGTH,
        ));
    }
    if status != ServerStatus::Running {
        return Err(Refusal::bad_request(
            "Server is not running",
            rules::PANEL_COMMAND_STOPPED,
        ));
    }
    // `concat`, not `format!`: no formatting machinery for one prefix (on every command).
    Ok((trimmed.to_owned(), ["> ", trimmed].concat()))
}

/// The part of a console of `total` lines that `GET …/console?lines=` returns: the most
/// recent `min(lines, total)`, oldest first ([`rules::PANEL_CONSOLE_ORDER`]).
pub fn console_window(total: usize, lines: usize) -> Range<usize> {
    total.saturating_sub(lines)..total
}

/// `POST /servers/{serverId}/databases` with a valid name: the database as listed and as
/// answered, or a refusal when the server has one of that name or username already.
pub fn create_database(
    server: &ServerId,
    existing: &[Database],
    requested: &str,
    password: String,
    created_at: Timestamp,
) -> Result<(Database, CreatedDatabase), Refusal> {
    let naming = DatabaseNaming::new(server, requested);
    if existing.len() >= MAX_DATABASES_PER_SERVER {
        return Err(Refusal::bad_request(
            format!("A server holds at most {MAX_DATABASES_PER_SERVER} databases"),
            rules::PANEL_DATABASES_LIMIT,
        ));
    }
    if let Some(clash) = existing
        .iter()
        .find(|d| d.id == naming.id || d.username == naming.username)
    {
        // Names the database that is in the way: with another name, the clash is its
        // derived username.
        let message = if clash.id == naming.id {
            format!("A database named {requested} already exists on this server")
        } else {
            format!(
                "The database {} already has the username {} that {requested} would get",
                clash.name, clash.username
            )
        };
        return Err(Refusal::bad_request(
            message,
            rules::PANEL_DATABASE_DUPLICATE,
        ));
    }
    let listed = Database {
        id: naming.id.clone(),
        name: naming.name.clone(),
        username: naming.username.clone(),
        host: DATABASE_HOST.into(),
        port: DATABASE_PORT,
        max_connections: DEFAULT_MAX_CONNECTIONS,
        created_at,
    };
    let created = CreatedDatabase {
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
    };
    Ok((listed, created))
}

/// Whether `id` names a database of `databases`.
pub fn has_database(databases: &[Database], id: &DatabaseId) -> bool {
    databases.iter().any(|d| &d.id == id)
}

/// `POST /pages/{slug}/incidents` with a valid body: the incident created on a page that
/// holds `existing` incidents, with the id and time the server made, or a refusal when the
/// page is full.
pub fn create_incident(
    page_id: &PageId,
    existing: usize,
    request: CreateIncident,
    id: IncidentId,
    now: Timestamp,
) -> Result<Incident, Refusal> {
    if existing >= MAX_INCIDENTS_PER_PAGE {
        return Err(Refusal {
            status: 409,
            message: format!("A page holds at most {MAX_INCIDENTS_PER_PAGE} incidents"),
            rule: rules::STATUS_INCIDENTS_LIMIT,
        });
    }
    Ok(Incident {
        id,
        page_id: page_id.clone(),
        name: request.name,
        status: request.status,
        impact: request.impact,
        message: request.message,
        created_at: now.clone(),
        updated_at: now.clone(),
        resolved_at: (request.status == IncidentStatus::Resolved).then_some(now),
    })
}

/// `GET /pages/{slug}/incidents`: a page's incidents, kept oldest first, listed newest
/// first ([`rules::STATUS_INCIDENTS_NEWEST_FIRST`]).
pub fn incidents_listed<T>(oldest_first: &[T]) -> impl Iterator<Item = &T> {
    oldest_first.iter().rev()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_and_start_run_a_stopped_server_and_log_one_line() {
        for action in [PowerAction::Start, PowerAction::Restart] {
            let effect = power(action);
            assert_eq!(effect.status, ServerStatus::Running);
            assert_eq!(
                effect.console_line,
                format!("[Beacon] Server {} initiated", action.as_str())
            );
        }
        assert_eq!(power(PowerAction::Kill).status, ServerStatus::Stopped);
    }

    #[test]
    fn a_command_is_trimmed_and_refused_when_blank_long_or_stopped() {
        assert_eq!(
            command(ServerStatus::Running, "  say hi "),
            Ok(("say hi".to_owned(), "> say hi".to_owned()))
        );
        assert_eq!(
            command(ServerStatus::Running, " \t").unwrap_err().rule,
            rules::PANEL_EMPTY_COMMAND
        );
        assert_eq!(
            command(ServerStatus::Stopped, "say hi")
                .unwrap_err()
                .message,
            "Server is not running"
        );
        let long = "x".repeat(MAX_COMMAND_BYTES + 1);
        assert_eq!(
            command(ServerStatus::Running, &long).unwrap_err().rule,
            rules::PANEL_COMMAND_LENGTH
        );
    }

    #[test]
    fn the_console_window_is_the_most_recent_lines() {
        assert_eq!(console_window(156, 50), 106..156);
        assert_eq!(console_window(3, 50), 0..3);
        assert_eq!(console_window(0, 1), 0..0);
    }

    #[test]
    fn a_database_whose_username_collides_is_a_duplicate() {
        let server = ServerId("servers/123".to_owned());
        let now = Timestamp("2026-01-01T00:00:00Z".to_owned());
        let (first, created) =
            create_database(&server, &[], "player_data", "p".into(), now.clone()).unwrap();
        assert_eq!(created.username, "s123_playerdata");
        let refusal = create_database(
            &server,
            std::slice::from_ref(&first),
            "playerdata",
            "p".into(),
            now.clone(),
        )
        .unwrap_err();
        assert_eq!(refusal.rule, rules::PANEL_DATABASE_DUPLICATE);
        assert_eq!(
            refusal.message,
            "The database s123_player_data already has the username s123_playerdata that playerdata would get"
        );
        let again = create_database(
            &server,
            std::slice::from_ref(&first),
            "player_data",
            "p".into(),
            now.clone(),
        )
        .unwrap_err();
        assert_eq!(
            again.message,
            "A database named player_data already exists on this server"
        );
        let full = vec![first; MAX_DATABASES_PER_SERVER];
        let refusal = create_database(&server, &full, "other", "p".into(), now).unwrap_err();
        assert_eq!(refusal.rule, rules::PANEL_DATABASES_LIMIT);
    }
}
