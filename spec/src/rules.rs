//! Behaviour rules of the contract that are not self-evident from the types, each with its
//! provenance. The mock implements them; the conformance suite checks them by these values.

use crate::catalog::Api;
use crate::provenance::Provenance;

/// One rule of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Stable dotted id, e.g. `auth.required`.
    pub id: &'static str,
    /// The API the rule is about, or `None` for both.
    pub api: Option<Api>,
    /// What the rule requires, as one sentence.
    pub statement: &'static str,
    /// Where the rule comes from.
    pub provenance: Provenance,
}

macro_rules! rules {
    ($($(#[$meta:meta])* $name:ident = ($id:literal, $api:expr, $prov:ident, $statement:literal);)*) => {
        $($(#[$meta])* pub const $name: Rule = Rule {
            id: $id,
            api: $api,
            statement: $statement,
            provenance: Provenance::$prov,
        };)*

        /// Every rule, in catalogue order.
        pub const ALL: &[Rule] = &[$($name),*];
    };
}

const BOTH: Option<Api> = None;
const STATUS: Option<Api> = Some(Api::Status);
const PANEL: Option<Api> = Some(Api::Panel);

rules! {
    /// `Authorization: Bearer <token>` on every request.
    AUTH_REQUIRED = ("auth.required", BOTH, Documented,
        "A request without a valid Bearer token (missing, malformed, unknown or revoked) is answered 401 in the API's error envelope");
    /// JSON everywhere.
    JSON_CONTENT_TYPE = ("response.content_type", BOTH, Documented,
        "Every response, errors included, has Content-Type: application/json");
    /// Bodies match the generated schemas.
    RESPONSE_SCHEMA = ("response.schema", BOTH, Documented,
        "Every response body validates against the schema for its operation and status, formats, id prefixes and unknown fields included");
    /// Shapes the documents do not define.
    RESPONSE_SCHEMA_OURS = ("response.schema_ours", BOTH, Ours,
        "Bodies of operations whose whole shape is ours match our schemas, and no response carries a field its schema does not list");
    /// Documented examples.
    DOCUMENTED_EXAMPLES = ("response.documented_examples", BOTH, Documented,
        "A documented request example is answered with the documented status and a body of the same shape as the documented response example");
    /// Statuses an operation may answer.
    RESPONSE_STATUS_LISTED = ("response.status_listed", BOTH, Ours,
        "Every response status is one the contract lists for its operation: its success status, the API's common errors or the operation's own");
    /// Requests match the generated schemas (judged by `beacon-mock proxy` on a client's requests).
    REQUEST_SCHEMA = ("request.schema", BOTH, Documented,
        "Every request body and query of a documented operation validates against the schema for its operation (Content-Type: application/json where a body is sent)");
    /// Requests of operations whose shape is ours.
    REQUEST_SCHEMA_OURS = ("request.schema_ours", BOTH, Ours,
        "Every request body and query of an operation whose whole shape is ours validates against our schema for it");
    /// Repeated query parameters.
    QUERY_FIRST_WINS = ("request.query_first_wins", BOTH, Ours,
        "When a query parameter is repeated the first value counts; unknown query parameters are ignored");
    /// Unknown paths.
    UNKNOWN_PATH = ("routing.not_found", BOTH, Ours,
        "An unknown path is answered 404 in the error envelope");
    /// Wrong method on a known path.
    METHOD_NOT_ALLOWED = ("routing.method_not_allowed", BOTH, Ours,
        "A wrong method on a known path is answered 405 with an Allow header, in the error envelope");
    /// Request bodies over the cap.
    BODY_TOO_LARGE = ("request.too_large", BOTH, Ours,
        "A request body over 64 KiB is answered 413 in the error envelope, after auth and rate limiting (Panel documents no 413: ours)");

    /// The mock's read cache.
    MOCK_READ_CACHE_BYTES = ("mock.read_cache_bytes", BOTH, Ours,
        "The mock memoizes read bodies within 32 MiB per API, from the second read of the same path and query by the same caller since the last write, evicting the oldest first; a larger body is not memoized");
    /// The mock's journal.
    MOCK_JOURNAL_BYTES = ("mock.journal_bytes", BOTH, Ours,
        "The mock's request journal keeps at most 16 MiB per API, oldest dropped first; each path is cut to 2 KiB and marked truncated, each body to 4 KiB (body_truncated), headers to 4 KiB; tokens and secret-named headers and JSON keys are redacted when read, a token with a known prefix anywhere (path, header, JSON string) too, and a body that is not JSON is redacted whole when it names a secret or holds a token");
    /// Injected faults.
    MOCK_FAULTS_MAX = ("mock.faults_max", BOTH, Ours,
        "At most 1,000 faults are set per API, each path at most 2 KiB; past it POST /__admin/faults is answered 409 {\"error\"}");
    /// Minted tokens.
    MOCK_MINTED_TOKENS_MAX = ("mock.minted_tokens_max", BOTH, Ours,
        "At most 100,000 tokens are minted per API between resets; past it POST /__admin/tokens is answered 409 {\"error\"}");
    /// Rate-limit keys.
    MOCK_RATE_KEYS_MAX = ("mock.rate_keys_max", BOTH, Ours,
        "The mock keeps rate-limit windows for at most 100,000 keys per API; ended windows are dropped in amortised O(1), and past the bound the oldest window is forgotten early");
    /// Connections.
    MOCK_CONNECTIONS = ("mock.connections", BOTH, Ours,
        "A request head and then its body must each arrive within the read timeout (30 s) or the connection is closed; a listener serves at most 1,000 connections at once, and more wait in the backlog");
    /// Shutdown.
    MOCK_SHUTDOWN_DRAIN = ("mock.shutdown_drain", BOTH, Ours,
        "On shutdown in-flight requests run for at most the shutdown timeout (10 s), then their connections are closed");
    /// Who drives the admin API.
    MOCK_ADMIN_OWNER = ("mock.admin_owner", BOTH, Ours,
        "The admin API is open to loopback callers only while every listener is on loopback; otherwise, or once an admin token is given, it requires Authorization: Bearer <admin token>, else 401");
    /// Browsers on other origins.
    MOCK_ADMIN_ORIGIN = ("mock.admin_origin", BOTH, Ours,
        "An admin request whose Origin is not the listener's own, or, while open, whose Host is not a loopback host, is answered 403");
    /// Admin bodies and paths.
    MOCK_ADMIN_JSON = ("mock.admin_json", BOTH, Ours,
        "An admin request body without Content-Type: application/json is answered 415; admin paths match exactly, else 404");
    /// Fixture files.
    MOCK_FIXTURE_FILES = ("mock.fixture_files", BOTH, Ours,
        "--fixtures reads only regular files of at most 16 MiB and refuses a token listed for two principals, naming both");

    /// Status success envelope.
    STATUS_ENVELOPE = ("status.envelope", STATUS, Documented,
        "A Status success body is {\"data\": ...} with nothing else");
    /// Status error envelope.
    STATUS_ERROR_SHAPE = ("status.error_shape", STATUS, Ours,
        "A Status error body is {\"error\": {\"code\", \"message\"}} with a snake_case code");
    /// Content-Type on requests with a body.
    STATUS_UNSUPPORTED_MEDIA_TYPE = ("status.content_type_415", STATUS, Ours,
        "A Status request with a body but without Content-Type: application/json is answered 415 unsupported_media_type");
    /// Accept must allow JSON.
    STATUS_NOT_ACCEPTABLE = ("status.accept_406", STATUS, Ours,
        "A Status request whose Accept header excludes JSON is answered 406 not_acceptable; absent or */* is fine");
    /// Non-JSON body.
    STATUS_INVALID_JSON = ("status.invalid_json_400", STATUS, Ours,
        "A Status request body that is not JSON is answered 400 invalid_json");
    /// JSON that breaks the schema.
    STATUS_VALIDATION = ("status.validation_422", STATUS, Ours,
        "A Status request body that breaks its schema is answered 422 validation_failed naming the field");
    /// Two windows.
    STATUS_RATE_LIMITS = ("status.rate_limits", STATUS, Documented,
        "Status allows 120 requests a minute per workspace and 60 per client IP; past either, 429 with Retry-After");
    /// Headers on every response.
    STATUS_RATE_HEADERS = ("status.rate_headers", STATUS, Documented,
        "Every Status response carries integer X-RateLimit-Limit and X-RateLimit-Remaining");
    /// Which window the headers describe.
    STATUS_BINDING_WINDOW = ("status.binding_window", STATUS, Ours,
        "Status rate-limit headers describe the binding window (fewer requests remaining), so the per-IP limit of 60 binds first");
    /// Unauthenticated requests count per IP.
    STATUS_UNAUTHENTICATED_COUNTED = ("status.unauthenticated_counted_per_ip", STATUS, Ours,
        "Unauthenticated Status requests count against the per-IP window and carry its headers");
    /// Incident order.
    STATUS_INCIDENTS_NEWEST_FIRST = ("status.incidents_newest_first", STATUS, Ours,
        "GET /pages/{slug}/incidents lists incidents newest first");
    /// Incidents a page holds.
    STATUS_INCIDENTS_LIMIT = ("status.incidents_limit_409", STATUS, Ours,
        "A page holds at most 10,000 incidents; creating one more is answered 409 limit_reached");
    /// Unknown page slug.
    STATUS_PAGE_NOT_FOUND = ("status.page_not_found", STATUS, Ours,
        "An unknown page slug is answered 404 not_found");
    /// Created incidents are readable.
    STATUS_INCIDENT_VISIBLE = ("status.incident_visible", STATUS, Ours,
        "An incident created with 201 appears in a later GET /pages/{slug}/incidents with the fields sent");

    /// Panel envelope.
    PANEL_ENVELOPE = ("panel.envelope", PANEL, Documented,
        "A Panel body is {\"success\": true, \"data\"} or {\"success\": false, \"error\": \"...\"}, never both data and error");
    /// The documented status codes.
    PANEL_STATUS_CODES = ("panel.status_codes", PANEL, Documented,
        "Panel answers with the documented status codes only: 200, 400, 401, 403, 404, 429 and 500");
    /// 180 a minute.
    PANEL_RATE_LIMIT = ("panel.rate_limit", PANEL, Documented,
        "Panel allows 180 requests a minute per token; past it, 429 in the error envelope");
    /// Headers on 429 responses.
    PANEL_RATE_HEADERS = ("panel.rate_headers", PANEL, Documented,
        "A Panel 429 carries integer X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset");
    /// Headers on every authenticated response (the document lists them under 429 only).
    PANEL_RATE_HEADERS_EVERY_RESPONSE = ("panel.rate_headers_every_response", PANEL, Ours,
        "Every authenticated Panel response, not only 429, carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset; unauthenticated requests are not counted");
    /// Another account's server.
    PANEL_FORBIDDEN = ("panel.forbidden_403", PANEL, Ours,
        "A server of another account is answered 403 \"Forbidden\", never with its data");
    /// Unknown server id.
    PANEL_SERVER_NOT_FOUND = ("panel.server_not_found", PANEL, Documented,
        "An unknown server id is answered 404 \"Server not found\"");
    /// Power action values.
    PANEL_INVALID_ACTION = ("panel.invalid_action_400", PANEL, Documented,
        "A power request whose action is missing or not start, stop, restart or kill is answered 400");
    /// Power effect.
    PANEL_POWER_EFFECT = ("panel.power_effect", PANEL, Ours,
        "After stop or kill a server reads stopped; after start or restart it reads running");
    /// Console lines bounds.
    PANEL_LINES_RANGE = ("panel.lines_400", PANEL, Ours,
        "A console lines parameter that is not an integer in 1..=1000 is answered 400");
    /// Power actions in the console.
    PANEL_POWER_LOGGED = ("panel.power_logged", PANEL, Ours,
        "A power action writes a line `[Beacon] Server <action> initiated` to the server's console");
    /// Consoles are per server.
    PANEL_CONSOLE_ISOLATED = ("panel.console_isolated", PANEL, Ours,
        "A console grows only by what its own server does: the commands sent to it and its power actions (on a live server, also its own output)");
    /// Console order.
    PANEL_CONSOLE_ORDER = ("panel.console_order", PANEL, Ours,
        "The console returns the most recent min(lines, totalLines) entries, oldest first");
    /// Empty console command.
    PANEL_EMPTY_COMMAND = ("panel.empty_command_400", PANEL, Ours,
        "A console command that is missing, empty or only white space is answered 400; commands are trimmed before they run");
    /// Command shows in logs.
    PANEL_COMMAND_LOGGED = ("panel.command_logged", PANEL, Ours,
        "A console command that was sent appears in later console logs");
    /// Console command length.
    PANEL_COMMAND_LENGTH = ("panel.command_length_400", PANEL, Ours,
        "A console command longer than 4096 bytes is answered 400");
    /// Stopped server console.
    PANEL_COMMAND_STOPPED = ("panel.command_stopped_400", PANEL, Ours,
        "A console command to a stopped server is answered 400 \"Server is not running\"");
    /// Database names.
    PANEL_DATABASE_NAME = ("panel.database_name_400", PANEL, Documented,
        "A database name that is empty or has characters other than letters, digits and underscores is answered 400");
    /// Database name length.
    PANEL_DATABASE_NAME_LENGTH = ("panel.database_name_length_400", PANEL, Ours,
        "A database name longer than 48 characters is answered 400");
    /// Database naming.
    PANEL_DATABASE_NAMING = ("panel.database_naming", PANEL, Corrected,
        "A created database is named s<n>_<name>, with username s<n>_<name without underscores>, id db_<name> and a matching connectionString");
    /// Duplicate names.
    PANEL_DATABASE_DUPLICATE = ("panel.database_duplicate_400", PANEL, Ours,
        "Creating a database whose name or derived username the server already has is answered 400");
    /// Databases a server holds.
    PANEL_DATABASES_LIMIT = ("panel.databases_limit_400", PANEL, Ours,
        "A server holds at most 1,000 databases; creating one more is answered 400");
    /// Created databases are listed without password.
    PANEL_DATABASE_LISTED = ("panel.database_listed", PANEL, Ours,
        "A created database appears in the list, and its password only in the create response");
}
