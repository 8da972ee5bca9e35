//! Wire types of the Beacon Panel API (seed 003): game servers, power, console, databases.
//!
//! Field names are camelCase on the wire.
//! Every body is `{"success": true, "data": ...}` or `{"success": false, "error": "..."}`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::wire::{Flag, Timestamp, wire_string};

wire_string! {
    /// A server id as it appears in bodies: `servers/<n>` (paths use the bare `<n>`).
    ServerId,
    pattern = r"^servers/[0-9]+$"
}

impl ServerId {
    /// The prefix bodies put before the numeric id.
    pub const PREFIX: &'static str = "servers/";

    /// The id a path segment such as `123` stands for, if it is a number.
    pub fn from_path_segment(segment: &str) -> Option<ServerId> {
        (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
            .then(|| ServerId(format!("{}{segment}", Self::PREFIX)))
    }

    /// The bare numeric id used in paths: `servers/123` → `123`.
    pub fn path_segment(&self) -> &str {
        self.0.strip_prefix(Self::PREFIX).unwrap_or(&self.0)
    }
}

wire_string! {
    /// An allocation id: `allocations/<n>`.
    AllocationId,
    pattern = r"^allocations/[0-9]+$"
}

wire_string! {
    /// A database id: `db_<name>`.
    DatabaseId,
    pattern = r"^db_[A-Za-z0-9_]+$"
}

wire_string! {
    /// A database name as requested: letters, digits and underscores, 1 to 48 characters.
    DatabaseName,
    pattern = r"^[A-Za-z0-9_]{1,48}$"
}

impl DatabaseName {
    /// The longest database name accepted (ours: the document states no length).
    pub const MAX_LEN: usize = 48;

    /// Whether `name` is a valid database name to request.
    pub fn is_valid(name: &str) -> bool {
        (1..=Self::MAX_LEN).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }
}

/// Success envelope of the Panel API: `{"success": true, "data": <payload>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PanelSuccess<T> {
    /// Always `true`.
    pub success: Flag<true>,
    /// The payload; present only on success.
    pub data: T,
}

impl<T> PanelSuccess<T> {
    /// Wraps a payload in the success envelope.
    pub fn new(data: T) -> Self {
        Self {
            success: Flag,
            data,
        }
    }
}

/// Error envelope of the Panel API: `{"success": false, "error": "<message>"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PanelError {
    /// Always `false`.
    pub success: Flag<false>,
    /// Error message; present only on failure.
    pub error: String,
}

impl PanelError {
    /// An error envelope with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            success: Flag,
            error: message.into(),
        }
    }
}

/// Power state of a server.
///
/// - `running`: The server is up.
/// - `stopped`: The server is down.
/// - `starting`: Transitional: on its way up (ours).
/// - `stopping`: Transitional: on its way down (ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerStatus {
    Running,
    Stopped,
    Starting,
    Stopping,
}

/// Memory and disk in MiB, CPU in cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Memory in MiB.
    pub memory: u64,
    /// Disk in MiB.
    pub disk: u64,
    /// CPU cores.
    pub cpu: u32,
}

/// An item of `GET /servers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerSummary {
    /// `servers/<n>`.
    pub id: ServerId,
    /// Display name.
    pub name: String,
    /// Power state.
    pub status: ServerStatus,
    /// Memory in MiB.
    pub memory: u64,
    /// Disk in MiB.
    pub disk: u64,
    /// CPU cores.
    pub cpu: u32,
    /// When the server was created.
    pub created_at: Timestamp,
}

/// A network allocation (IP and port) of a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    /// `allocations/<n>`.
    pub id: AllocationId,
    /// IPv4 address.
    #[schemars(extend("format" = "ipv4"))]
    pub ip: String,
    /// Port number.
    pub port: u16,
    /// Free-text notes.
    pub notes: String,
    /// Whether this is the server's primary allocation.
    pub primary: bool,
}

/// Name and description as shown in the server's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerMeta {
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
}

/// The server's settings: metadata and resource limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Name and description.
    pub meta: ServerMeta,
    /// Resource limits.
    pub limits: Resources,
}

/// `GET /servers/{serverId}`: detailed information about a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerDetail {
    /// `servers/<n>`.
    pub id: ServerId,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Power state.
    pub status: ServerStatus,
    /// Allocated resources.
    pub resources: Resources,
    /// The node the server runs on, e.g. `us-west-1`.
    pub node: String,
    /// Network allocations.
    pub allocations: Vec<Allocation>,
    /// Settings: metadata and limits.
    pub settings: ServerSettings,
    /// When the server was created.
    pub created_at: Timestamp,
    /// When the server was last changed.
    pub updated_at: Timestamp,
}

impl ServerDetail {
    /// The list-item view of this server.
    pub fn summary(&self) -> ServerSummary {
        ServerSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            status: self.status,
            memory: self.resources.memory,
            disk: self.resources.disk,
            cpu: self.resources.cpu,
            created_at: self.created_at.clone(),
        }
    }
}

/// A power action.
///
/// - `start`: Start a stopped server.
/// - `stop`: Stop gracefully.
/// - `restart`: Stop then start.
/// - `kill`: Stop immediately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    Start,
    Stop,
    Restart,
    Kill,
}

impl PowerAction {
    /// Every action.
    pub const ALL: [PowerAction; 4] = [
        PowerAction::Start,
        PowerAction::Stop,
        PowerAction::Restart,
        PowerAction::Kill,
    ];

    /// The action as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::Start => "start",
            PowerAction::Stop => "stop",
            PowerAction::Restart => "restart",
            PowerAction::Kill => "kill",
        }
    }

    /// The status a server reads after this action has completed (ours).
    pub fn resulting_status(self) -> ServerStatus {
        match self {
            PowerAction::Start | PowerAction::Restart => ServerStatus::Running,
            PowerAction::Stop | PowerAction::Kill => ServerStatus::Stopped,
        }
    }
}

/// Request body of `POST /servers/{serverId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerRequest {
    /// The power action to perform: "start", "stop", "restart", or "kill".
    pub action: PowerAction,
}

/// A confirmation message, e.g. `Server restart initiated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerAccepted {
    /// `Server <action> initiated`.
    pub message: String,
}

/// Query of `GET /servers/{serverId}/console`. Unknown query parameters are ignored (ours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConsoleQuery {
    /// Number of recent log lines to retrieve (default: 100, max: 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1, max = 1000))]
    pub lines: Option<u32>,
}

impl ConsoleQuery {
    /// Lines returned when `lines` is absent.
    pub const DEFAULT_LINES: u32 = 100;
    /// The largest `lines` accepted.
    pub const MAX_LINES: u32 = 1000;
}

/// One console log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// When the line was written.
    pub timestamp: Timestamp,
    /// Upper-case level, e.g. `INFO`.
    #[schemars(pattern(r"^[A-Z]+$"))]
    pub level: String,
    /// The line's text.
    pub message: String,
}

/// `GET /servers/{serverId}/console`: recent console logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConsoleLogs {
    /// The most recent lines, oldest first.
    pub logs: Vec<LogEntry>,
    /// How many lines the console holds in all.
    pub total_lines: u64,
}

/// Request body of `POST /servers/{serverId}/console`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleCommand {
    /// The command to execute on the server console.
    #[schemars(length(min = 1))]
    pub command: String,
}

/// `POST /servers/{serverId}/console`: the command was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSent {
    /// `Command sent successfully`.
    pub message: String,
    /// The command as sent.
    pub command: String,
    /// When it was sent.
    pub timestamp: Timestamp,
}

/// An item of `GET /servers/{serverId}/databases` (no password).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Database {
    /// `db_<name>`.
    pub id: DatabaseId,
    /// `s<serverId>_<name>`.
    pub name: String,
    /// `s<serverId>_<name without underscores>`.
    pub username: String,
    /// Database host.
    pub host: String,
    /// Database port.
    pub port: u16,
    /// Connection limit.
    pub max_connections: u32,
    /// When the database was created.
    pub created_at: Timestamp,
}

/// Request body of `POST /servers/{serverId}/databases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDatabase {
    /// Name for the database (alphanumeric and underscores only).
    pub name: DatabaseName,
    /// Remote access host (default: localhost only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// `POST /servers/{serverId}/databases`: the created database, with its password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatedDatabase {
    /// `db_<name>`.
    pub id: DatabaseId,
    /// `s<serverId>_<name>`.
    pub name: String,
    /// `s<serverId>_<name without underscores>`.
    pub username: String,
    /// Generated password; shown only here.
    pub password: String,
    /// Database host.
    pub host: String,
    /// Database port.
    pub port: u16,
    /// `mysql://<username>:<password>@<host>:<port>/<name>`.
    pub connection_string: String,
}

/// The names a database created as `requested` on server `server` gets (corrected: the
/// create example's rule wins over the list example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseNaming {
    /// `db_<requested>`.
    pub id: DatabaseId,
    /// `s<n>_<requested>`.
    pub name: String,
    /// `s<n>_<requested without underscores>`.
    pub username: String,
}

impl DatabaseNaming {
    /// Applies the naming rule of the create example.
    pub fn new(server: &ServerId, requested: &str) -> Self {
        let n = server.path_segment();
        Self {
            id: DatabaseId(format!("db_{requested}")),
            name: format!("s{n}_{requested}"),
            username: format!("s{n}_{}", requested.replace('_', "")),
        }
    }
}
