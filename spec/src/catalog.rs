//! The operation catalog: one entry per endpoint of both APIs.
//!
//! The mock's router, the conformance suite and the OpenAPI export all iterate this catalog;
//! no other place lists endpoints.

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::panel::{
    CommandSent, ConsoleCommand, ConsoleLogs, ConsoleQuery, CreateDatabase, CreatedDatabase,
    Database, PanelError, PanelSuccess, PowerAccepted, PowerRequest, ServerDetail, ServerSummary,
};
use crate::provenance::Provenance;
use crate::rate_limit::{self, RateLimitPolicy};
use crate::status::{CreateIncident, Incident, Page, StatusData, StatusError, StatusToken};

/// One of the two Beacon APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// Beacon Status API (status pages, incidents).
    Status,
    /// Beacon Panel API (game servers, console, databases).
    Panel,
}

impl Api {
    /// Both APIs.
    pub const ALL: [Api; 2] = [Api::Status, Api::Panel];

    /// Lowercase name, as used in paths and flags: `status` or `panel`.
    pub fn name(self) -> &'static str {
        match self {
            Api::Status => "status",
            Api::Panel => "panel",
        }
    }

    /// Human title.
    pub fn title(self) -> &'static str {
        match self {
            Api::Status => "Beacon Status API",
            Api::Panel => "Beacon Panel API",
        }
    }

    /// The documented production base URL.
    pub fn documented_base_url(self) -> &'static str {
        match self {
            Api::Status => "https://usebeacon.pro/api/v1",
            Api::Panel => "https://www.beaconhosting.org/api/v1",
        }
    }

    /// The operations of this API, in catalog order.
    pub fn operations(self) -> impl Iterator<Item = &'static Operation> {
        OPERATIONS.iter().filter(move |op| op.api == self)
    }

    /// The rate-limit policy of this API.
    pub fn rate_limit(self) -> &'static RateLimitPolicy {
        match self {
            Api::Status => &rate_limit::STATUS,
            Api::Panel => &rate_limit::PANEL,
        }
    }

    /// The error envelope every error response of this API uses.
    pub fn error_body(self) -> WireType {
        match self {
            Api::Status => WireType::response::<StatusError>("StatusError"),
            Api::Panel => WireType::response::<PanelError>("PanelError"),
        }
    }

    /// The success envelope with any payload, e.g. to check the envelope of any success.
    pub fn success_envelope(self) -> WireType {
        match self {
            Api::Status => WireType::response::<StatusData<serde_json::Value>>("StatusEnvelope"),
            Api::Panel => WireType::response::<PanelSuccess<serde_json::Value>>("PanelEnvelope"),
        }
    }

    /// Error statuses every operation of this API can return.
    pub fn common_errors(self) -> &'static [ErrorStatus] {
        match self {
            Api::Status => &STATUS_COMMON_ERRORS,
            Api::Panel => &PANEL_COMMON_ERRORS,
        }
    }

    /// Every wire type of this API that gets its own schema file, without duplicates.
    pub fn wire_types(self) -> Vec<WireType> {
        let mut types = vec![self.success_envelope(), self.error_body()];
        types.extend(match self {
            Api::Status => vec![
                WireType::response::<Page>("Page"),
                WireType::response::<Incident>("Incident"),
                WireType::request::<StatusToken>("StatusToken"),
            ],
            Api::Panel => vec![
                WireType::response::<ServerSummary>("ServerSummary"),
                WireType::response::<ServerDetail>("ServerDetail"),
                WireType::response::<ConsoleLogs>("ConsoleLogs"),
                WireType::response::<Database>("Database"),
                WireType::response::<CreatedDatabase>("CreatedDatabase"),
            ],
        });
        for op in self.operations() {
            types.extend(op.query);
            types.extend(op.request);
            types.push(op.response);
        }
        let mut seen = std::collections::BTreeSet::new();
        types.retain(|t| seen.insert(t.name));
        types
    }
}

/// An HTTP method, as the catalog needs it (the spec crate depends on no HTTP crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

impl Method {
    /// Upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Which side of the exchange a wire type travels on; picks the schema contract (a response
/// schema requires every field that is always serialized, nullable ones included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the client (request body or query).
    Request,
    /// Sent by the server (response body).
    Response,
}

/// A named wire type whose JSON Schema is generated from its Rust type.
#[derive(Clone, Copy)]
pub struct WireType {
    /// The schema's name and file name, e.g. `ListServersResponse`.
    pub name: &'static str,
    /// Which way it travels.
    pub direction: Direction,
    schema: fn(&mut SchemaGenerator) -> Schema,
}

impl std::fmt::Debug for WireType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireType")
            .field("name", &self.name)
            .field("direction", &self.direction)
            .finish()
    }
}

impl WireType {
    /// A type the client sends.
    pub const fn request<T: JsonSchema>(name: &'static str) -> Self {
        Self {
            name,
            direction: Direction::Request,
            schema: T::json_schema,
        }
    }

    /// A type the server sends.
    pub const fn response<T: JsonSchema>(name: &'static str) -> Self {
        Self {
            name,
            direction: Direction::Response,
            schema: T::json_schema,
        }
    }

    /// The type's own schema (not a reference), generated with `generator`; the types it
    /// refers to are added to the generator's definitions.
    pub fn schema_with(&self, generator: &mut SchemaGenerator) -> Schema {
        (self.schema)(generator)
    }
}

/// A path parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Name as it appears in the path template, e.g. `serverId`.
    pub name: &'static str,
    /// What it identifies.
    pub description: &'static str,
    /// Regular expression its value matches.
    pub pattern: &'static str,
}

/// An error status an operation can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorStatus {
    /// HTTP status code.
    pub status: u16,
    /// When it is returned.
    pub when: &'static str,
    /// Where the rule comes from.
    pub provenance: Provenance,
}

impl ErrorStatus {
    const fn new(status: u16, when: &'static str, provenance: Provenance) -> Self {
        Self {
            status,
            when,
            provenance,
        }
    }
}

/// Identifies an operation: first its API, then the endpoint within it.
///
/// A consumer serving one API matches that API's enum ([`StatusOperation`] or
/// [`PanelOperation`]) exhaustively, so adding an endpoint is a compile error in every
/// handler that does not serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperationId {
    /// An operation of the Status API.
    Status(StatusOperation),
    /// An operation of the Panel API.
    Panel(PanelOperation),
}

/// An operation of the Status API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusOperation {
    /// `GET /pages`.
    ListPages,
    /// `GET /pages/{slug}`.
    GetPage,
    /// `GET /pages/{slug}/incidents`.
    ListIncidents,
    /// `POST /pages/{slug}/incidents`.
    CreateIncident,
}

/// An operation of the Panel API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PanelOperation {
    /// `GET /servers`.
    ListServers,
    /// `GET /servers/{serverId}`.
    GetServer,
    /// `POST /servers/{serverId}`.
    PowerServer,
    /// `GET /servers/{serverId}/console`.
    GetConsole,
    /// `POST /servers/{serverId}/console`.
    SendCommand,
    /// `GET /servers/{serverId}/databases`.
    ListDatabases,
    /// `POST /servers/{serverId}/databases`.
    CreateDatabase,
}

impl StatusOperation {
    /// Every Status operation, in catalog order.
    pub const ALL: [StatusOperation; 4] = [
        StatusOperation::ListPages,
        StatusOperation::GetPage,
        StatusOperation::ListIncidents,
        StatusOperation::CreateIncident,
    ];

    /// Its catalog entry.
    pub fn operation(self) -> &'static Operation {
        match self {
            StatusOperation::ListPages => &LIST_PAGES,
            StatusOperation::GetPage => &GET_PAGE,
            StatusOperation::ListIncidents => &LIST_INCIDENTS,
            StatusOperation::CreateIncident => &CREATE_INCIDENT,
        }
    }
}

impl PanelOperation {
    /// Every Panel operation, in catalog order.
    pub const ALL: [PanelOperation; 7] = [
        PanelOperation::ListServers,
        PanelOperation::GetServer,
        PanelOperation::PowerServer,
        PanelOperation::GetConsole,
        PanelOperation::SendCommand,
        PanelOperation::ListDatabases,
        PanelOperation::CreateDatabase,
    ];

    /// Its catalog entry.
    pub fn operation(self) -> &'static Operation {
        match self {
            PanelOperation::ListServers => &LIST_SERVERS,
            PanelOperation::GetServer => &GET_SERVER,
            PanelOperation::PowerServer => &POWER_SERVER,
            PanelOperation::GetConsole => &GET_CONSOLE,
            PanelOperation::SendCommand => &SEND_COMMAND,
            PanelOperation::ListDatabases => &LIST_DATABASES,
            PanelOperation::CreateDatabase => &CREATE_DATABASE,
        }
    }
}

/// Flat names of every operation, as constants usable in patterns, for code written before
/// the ids were split per API (`OperationId::GetConsole` is
/// `OperationId::Panel(PanelOperation::GetConsole)`).
#[allow(non_upper_case_globals)]
impl OperationId {
    /// `GET /pages`.
    pub const ListPages: Self = Self::Status(StatusOperation::ListPages);
    /// `GET /pages/{slug}`.
    pub const GetPage: Self = Self::Status(StatusOperation::GetPage);
    /// `GET /pages/{slug}/incidents`.
    pub const ListIncidents: Self = Self::Status(StatusOperation::ListIncidents);
    /// `POST /pages/{slug}/incidents`.
    pub const CreateIncident: Self = Self::Status(StatusOperation::CreateIncident);
    /// `GET /servers`.
    pub const ListServers: Self = Self::Panel(PanelOperation::ListServers);
    /// `GET /servers/{serverId}`.
    pub const GetServer: Self = Self::Panel(PanelOperation::GetServer);
    /// `POST /servers/{serverId}`.
    pub const PowerServer: Self = Self::Panel(PanelOperation::PowerServer);
    /// `GET /servers/{serverId}/console`.
    pub const GetConsole: Self = Self::Panel(PanelOperation::GetConsole);
    /// `POST /servers/{serverId}/console`.
    pub const SendCommand: Self = Self::Panel(PanelOperation::SendCommand);
    /// `GET /servers/{serverId}/databases`.
    pub const ListDatabases: Self = Self::Panel(PanelOperation::ListDatabases);
    /// `POST /servers/{serverId}/databases`.
    pub const CreateDatabase: Self = Self::Panel(PanelOperation::CreateDatabase);
}

impl OperationId {
    /// Every operation of both APIs, in catalog order.
    pub fn all() -> impl Iterator<Item = OperationId> {
        let status = StatusOperation::ALL.into_iter().map(OperationId::Status);
        status.chain(PanelOperation::ALL.into_iter().map(OperationId::Panel))
    }

    /// The API the operation belongs to.
    pub fn api(self) -> Api {
        match self {
            OperationId::Status(_) => Api::Status,
            OperationId::Panel(_) => Api::Panel,
        }
    }

    /// Its catalog entry.
    pub fn operation(self) -> &'static Operation {
        match self {
            OperationId::Status(op) => op.operation(),
            OperationId::Panel(op) => op.operation(),
        }
    }
}

/// One endpoint of one API.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// Which endpoint.
    pub id: OperationId,
    /// snake_case name, used for example files and reports, e.g. `list_servers`.
    pub name: &'static str,
    /// The API it belongs to.
    pub api: Api,
    /// HTTP method.
    pub method: Method,
    /// Path template relative to the base URL, e.g. `/servers/{serverId}/console`.
    pub path: &'static str,
    /// One-line description from the document.
    pub summary: &'static str,
    /// Parameters of the path template, in order.
    pub path_params: &'static [Param],
    /// Query parameters as one object type, if any.
    pub query: Option<WireType>,
    /// Request body type, if any.
    pub request: Option<WireType>,
    /// Success response body, envelope included.
    pub response: WireType,
    /// Success status.
    pub success_status: u16,
    /// Errors specific to this operation (see also [`Api::common_errors`]).
    pub errors: &'static [ErrorStatus],
    /// Whether it changes state.
    pub mutates: bool,
    /// Where the operation comes from.
    pub provenance: Provenance,
}

impl Operation {
    /// Every error status the operation can return: the API's common ones and its own,
    /// ordered by status.
    pub fn error_statuses(&self) -> Vec<ErrorStatus> {
        let mut all: Vec<ErrorStatus> = self
            .api
            .common_errors()
            .iter()
            .chain(self.errors)
            .copied()
            .collect();
        all.sort_by_key(|e| e.status);
        all
    }

    /// The path parameters of `path` if it matches this operation's template.
    ///
    /// ```
    /// use beacon_spec::catalog::{OperationId, operation};
    /// let op = operation(OperationId::GetConsole);
    /// assert_eq!(op.match_path("/servers/123/console"), Some(vec![("serverId", "123")]));
    /// assert_eq!(op.match_path("/servers/123"), None);
    /// ```
    pub fn match_path<'p>(&self, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
        let mut params = Vec::new();
        let mut actual = path.strip_prefix('/')?.split('/');
        for expected in self.path.trim_start_matches('/').split('/') {
            let segment = actual.next()?;
            match expected.strip_prefix('{').and_then(|e| e.strip_suffix('}')) {
                Some(name) if !segment.is_empty() => params.push((self.param_name(name), segment)),
                Some(_) => return None,
                None if expected == segment => {}
                None => return None,
            }
        }
        actual.next().is_none().then_some(params)
    }

    /// The path with each `{param}` replaced by its value from `values`.
    ///
    /// ```
    /// use beacon_spec::catalog::{OperationId, operation};
    /// let op = operation(OperationId::ListIncidents);
    /// assert_eq!(op.render_path(&[("slug", "acme-cloud")]), "/pages/acme-cloud/incidents");
    /// ```
    pub fn render_path(&self, values: &[(&str, &str)]) -> String {
        let mut path = self.path.to_owned();
        for (name, value) in values {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        path
    }

    fn param_name(&self, name: &str) -> &'static str {
        self.path_params
            .iter()
            .find(|p| p.name == name)
            .map_or("", |p| p.name)
    }
}

/// The catalog entry of `id`.
pub fn operation(id: OperationId) -> &'static Operation {
    id.operation()
}

const SLUG: Param = Param {
    name: "slug",
    description: "The page's URL slug, e.g. acme-cloud",
    pattern: r"^[a-z0-9]+(-[a-z0-9]+)*$",
};

const SERVER_ID: Param = Param {
    name: "serverId",
    description: "The unique identifier of the server (the bare <n> of servers/<n>)",
    pattern: r"^[0-9]+$",
};

const STATUS_COMMON_ERRORS: [ErrorStatus; 3] = [
    ErrorStatus::new(
        401,
        "Missing, malformed, unknown or revoked token",
        Provenance::Documented,
    ),
    ErrorStatus::new(406, "The Accept header excludes JSON", Provenance::Ours),
    ErrorStatus::new(
        429,
        "Past the per-workspace or per-IP window",
        Provenance::Documented,
    ),
];
const PANEL_COMMON_ERRORS: [ErrorStatus; 3] = [
    ErrorStatus::new(
        401,
        "Missing or invalid authentication token",
        Provenance::Documented,
    ),
    ErrorStatus::new(429, "Rate limit exceeded", Provenance::Documented),
    ErrorStatus::new(
        500,
        "An error occurred on the server",
        Provenance::Documented,
    ),
];
const PAGE_NOT_FOUND: ErrorStatus = ErrorStatus::new(404, "Unknown page slug", Provenance::Ours);
const STATUS_BODY_ERRORS: [ErrorStatus; 6] = [
    ErrorStatus::new(400, "The body is not JSON", Provenance::Ours),
    PAGE_NOT_FOUND,
    ErrorStatus::new(
        409,
        "The page holds 10,000 incidents already",
        Provenance::Ours,
    ),
    ErrorStatus::new(413, "The body is over 64 KiB", Provenance::Ours),
    ErrorStatus::new(
        415,
        "The body is not sent as application/json",
        Provenance::Ours,
    ),
    ErrorStatus::new(422, "The body breaks the schema", Provenance::Ours),
];
const FORBIDDEN: ErrorStatus = ErrorStatus::new(
    403,
    "The server belongs to another account",
    Provenance::Ours,
);
const SERVER_NOT_FOUND: ErrorStatus =
    ErrorStatus::new(404, "Server not found", Provenance::Documented);
const SERVER_ERRORS: [ErrorStatus; 2] = [FORBIDDEN, SERVER_NOT_FOUND];
const BAD_REQUEST: ErrorStatus = ErrorStatus::new(
    400,
    "The request was malformed or contained invalid parameters",
    Provenance::Documented,
);
const PANEL_BODY_ERRORS: [ErrorStatus; 4] = [
    BAD_REQUEST,
    FORBIDDEN,
    SERVER_NOT_FOUND,
    ErrorStatus::new(413, "The body is over 64 KiB", Provenance::Ours),
];

/// Every operation of both APIs, Status first, each API in documentation order.
pub const OPERATIONS: &[Operation] = &[
    LIST_PAGES,
    GET_PAGE,
    LIST_INCIDENTS,
    CREATE_INCIDENT,
    LIST_SERVERS,
    GET_SERVER,
    POWER_SERVER,
    GET_CONSOLE,
    SEND_COMMAND,
    LIST_DATABASES,
    CREATE_DATABASE,
];

const LIST_PAGES: Operation = Operation {
    id: OperationId::Status(StatusOperation::ListPages),
    name: "list_pages",
    api: Api::Status,
    method: Method::Get,
    path: "/pages",
    summary: "List the status pages of the token's workspace",
    path_params: &[],
    query: None,
    request: None,
    response: WireType::response::<StatusData<Vec<Page>>>("ListPagesResponse"),
    success_status: 200,
    errors: &[],
    mutates: false,
    provenance: Provenance::Documented,
};

const GET_PAGE: Operation = Operation {
    id: OperationId::Status(StatusOperation::GetPage),
    name: "get_page",
    api: Api::Status,
    method: Method::Get,
    path: "/pages/{slug}",
    summary: "Get one status page of the workspace",
    path_params: &[SLUG],
    query: None,
    request: None,
    response: WireType::response::<StatusData<Page>>("GetPageResponse"),
    success_status: 200,
    errors: &[PAGE_NOT_FOUND],
    mutates: false,
    provenance: Provenance::Ours,
};

const LIST_INCIDENTS: Operation = Operation {
    id: OperationId::Status(StatusOperation::ListIncidents),
    name: "list_incidents",
    api: Api::Status,
    method: Method::Get,
    path: "/pages/{slug}/incidents",
    summary: "List the incidents of a page, newest first",
    path_params: &[SLUG],
    query: None,
    request: None,
    response: WireType::response::<StatusData<Vec<Incident>>>("ListIncidentsResponse"),
    success_status: 200,
    errors: &[PAGE_NOT_FOUND],
    mutates: false,
    provenance: Provenance::Ours,
};

const CREATE_INCIDENT: Operation = Operation {
    id: OperationId::Status(StatusOperation::CreateIncident),
    name: "create_incident",
    api: Api::Status,
    method: Method::Post,
    path: "/pages/{slug}/incidents",
    summary: "Create an incident on a page (the document gives only this URL; body and response are ours)",
    path_params: &[SLUG],
    query: None,
    request: Some(WireType::request::<CreateIncident>("CreateIncident")),
    response: WireType::response::<StatusData<Incident>>("CreateIncidentResponse"),
    success_status: 201,
    errors: &STATUS_BODY_ERRORS,
    mutates: true,
    provenance: Provenance::Ours,
};

const LIST_SERVERS: Operation = Operation {
    id: OperationId::Panel(PanelOperation::ListServers),
    name: "list_servers",
    api: Api::Panel,
    method: Method::Get,
    path: "/servers",
    summary: "Returns a list of all servers associated with your account",
    path_params: &[],
    query: None,
    request: None,
    response: WireType::response::<PanelSuccess<Vec<ServerSummary>>>("ListServersResponse"),
    success_status: 200,
    errors: &[],
    mutates: false,
    provenance: Provenance::Documented,
};

const GET_SERVER: Operation = Operation {
    id: OperationId::Panel(PanelOperation::GetServer),
    name: "get_server",
    api: Api::Panel,
    method: Method::Get,
    path: "/servers/{serverId}",
    summary: "Returns detailed information about a specific server",
    path_params: &[SERVER_ID],
    query: None,
    request: None,
    response: WireType::response::<PanelSuccess<ServerDetail>>("GetServerResponse"),
    success_status: 200,
    errors: &SERVER_ERRORS,
    mutates: false,
    provenance: Provenance::Documented,
};

const POWER_SERVER: Operation = Operation {
    id: OperationId::Panel(PanelOperation::PowerServer),
    name: "power_server",
    api: Api::Panel,
    method: Method::Post,
    path: "/servers/{serverId}",
    summary: "Updates the power state of a server (start, stop, restart, kill)",
    path_params: &[SERVER_ID],
    query: None,
    request: Some(WireType::request::<PowerRequest>("PowerRequest")),
    response: WireType::response::<PanelSuccess<PowerAccepted>>("PowerServerResponse"),
    success_status: 200,
    errors: &PANEL_BODY_ERRORS,
    mutates: true,
    provenance: Provenance::Documented,
};

const GET_CONSOLE: Operation = Operation {
    id: OperationId::Panel(PanelOperation::GetConsole),
    name: "get_console",
    api: Api::Panel,
    method: Method::Get,
    path: "/servers/{serverId}/console",
    summary: "Retrieves recent console logs from the server",
    path_params: &[SERVER_ID],
    query: Some(WireType::request::<ConsoleQuery>("ConsoleQuery")),
    request: None,
    response: WireType::response::<PanelSuccess<ConsoleLogs>>("GetConsoleResponse"),
    success_status: 200,
    errors: &[
        ErrorStatus::new(400, "lines is not an integer in 1..=1000", Provenance::Ours),
        FORBIDDEN,
        SERVER_NOT_FOUND,
    ],
    mutates: false,
    provenance: Provenance::Documented,
};

const SEND_COMMAND: Operation = Operation {
    id: OperationId::Panel(PanelOperation::SendCommand),
    name: "send_command",
    api: Api::Panel,
    method: Method::Post,
    path: "/servers/{serverId}/console",
    summary: "Sends a command to the server console for execution",
    path_params: &[SERVER_ID],
    query: None,
    request: Some(WireType::request::<ConsoleCommand>("ConsoleCommand")),
    response: WireType::response::<PanelSuccess<CommandSent>>("SendCommandResponse"),
    success_status: 200,
    errors: &PANEL_BODY_ERRORS,
    mutates: true,
    provenance: Provenance::Documented,
};

const LIST_DATABASES: Operation = Operation {
    id: OperationId::Panel(PanelOperation::ListDatabases),
    name: "list_databases",
    api: Api::Panel,
    method: Method::Get,
    path: "/servers/{serverId}/databases",
    summary: "Returns a list of all databases associated with the server",
    path_params: &[SERVER_ID],
    query: None,
    request: None,
    response: WireType::response::<PanelSuccess<Vec<Database>>>("ListDatabasesResponse"),
    success_status: 200,
    errors: &SERVER_ERRORS,
    mutates: false,
    provenance: Provenance::Documented,
};

const CREATE_DATABASE: Operation = Operation {
    id: OperationId::Panel(PanelOperation::CreateDatabase),
    name: "create_database",
    api: Api::Panel,
    method: Method::Post,
    path: "/servers/{serverId}/databases",
    summary: "Creates a new database for the server",
    path_params: &[SERVER_ID],
    query: None,
    request: Some(WireType::request::<CreateDatabase>("CreateDatabase")),
    response: WireType::response::<PanelSuccess<CreatedDatabase>>("CreateDatabaseResponse"),
    success_status: 200,
    errors: &PANEL_BODY_ERRORS,
    mutates: true,
    provenance: Provenance::Documented,
};
