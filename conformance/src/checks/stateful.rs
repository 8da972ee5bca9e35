//! `stateful`: random sequences of operations against the deployment, each answer compared
//! with what the contract's model (`beacon_spec::model`, the same functions beacon-mock's
//! handlers run) predicts from the state the deployment showed before the sequence.
//!
//! A sequence starts from a fresh look at the deployment (servers, their status, console
//! and databases; pages and incidents), so that it assumes nothing of the fixtures.
//! Server-made values (ids, timestamps, passwords, where `totalLines` starts) are compared
//! by shape and then carried into the model. A divergence is shrunk to the shortest
//! sequence that still diverges and reported as a numbered curl script.

use std::cell::RefCell;
use std::fmt;

use beacon_spec::catalog::operation;
use beacon_spec::model;
use beacon_spec::panel::{Database, PowerAction, ServerId, ServerStatus};
use beacon_spec::status::{CreateIncident, IncidentId, PageId};
use beacon_spec::{Api, Operation, OperationId, Rule, Timestamp, rules};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use super::{Access, Ctx, Stop, data, error_message};
use crate::check::{Check, Cost};
use crate::client::{Exchange, Request};
use crate::report::Finding;
use crate::strategies::panel::{BadPower, invalid_power};
use crate::strategies::status::{BadIncident, IncidentInput, invalid_incident, valid_incident};

/// The longest generated sequence.
pub(crate) const MAX_STEPS: u32 = 8;
/// Servers (Panel) or pages (Status) the model follows, the write server among them.
const MAX_FOLLOWED: usize = 4;
/// Console lines read to learn a console's tail.
const CONSOLE_READ: u32 = 1000;
/// Re-runs the shrinker may make.
const MAX_SHRINK_RUNS: u32 = 24;

/// One sequence: the reads that build the model, its steps, and putting the power state
/// back.
pub(crate) fn cost(op: &Operation) -> Cost {
    let (look, restore) = match op.api {
        Api::Panel => (1 + 2 * MAX_FOLLOWED as u32, 2),
        Api::Status => (1 + MAX_FOLLOWED as u32, 0),
    };
    Cost::property(0, 0, look + MAX_STEPS + restore)
}

/// One operation of a sequence.
#[derive(Clone)]
pub(crate) enum Step {
    /// Panel: a valid power action on the write server.
    Power(PowerAction),
    /// Panel: an invalid power body on the write server.
    PowerInvalid(BadPower),
    /// Panel: a console command (blank ones included) to the write server.
    Command(String),
    /// Panel: a database whose name is the run's name for this slot (a slot used twice is
    /// a duplicate).
    CreateDatabase(u8),
    /// Panel: a database name the document forbids.
    CreateDatabaseInvalid(String),
    /// Panel: read a followed server.
    GetServer(u8),
    /// Panel: read a followed server's console.
    GetConsole(u8, u16),
    /// Panel: read a followed server's databases.
    ListDatabases(u8),
    /// Panel: read the servers.
    ListServers,
    /// Status: a valid incident on the first page.
    CreateIncident(IncidentInput),
    /// Status: an incident that breaks the schema.
    CreateIncidentInvalid(BadIncident),
    /// Status: read a followed page's incidents.
    ListIncidents(u8),
    /// Status: read the pages.
    ListPages,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Power(action) => write!(f, "power {}", action.as_str()),
            Step::PowerInvalid(bad) => write!(f, "power {}", bad.body()),
            Step::Command(text) => write!(f, "command {text:?}"),
            Step::CreateDatabase(slot) => write!(f, "create database #{slot}"),
            Step::CreateDatabaseInvalid(name) => write!(f, "create database {name:?}"),
            Step::GetServer(i) => write!(f, "get server #{i}"),
            Step::GetConsole(i, lines) => write!(f, "console of server #{i}, lines={lines}"),
            Step::ListDatabases(i) => write!(f, "databases of server #{i}"),
            Step::ListServers => write!(f, "list servers"),
            Step::CreateIncident(input) => write!(f, "create incident {}", input.body()),
            Step::CreateIncidentInvalid(bad) => write!(f, "create incident {}", bad.body()),
            Step::ListIncidents(i) => write!(f, "incidents of page #{i}"),
            Step::ListPages => write!(f, "list pages"),
        }
    }
}

/// A followed server or page, the first (the write server, the page written to) half of
/// the time, so that reads meet the writes.
fn followed() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![Just(0u8), 0u8..MAX_FOLLOWED as u8]
}

fn panel_steps() -> impl Strategy<Value = Step> {
    let index = followed();
    prop_oneof![
        3 => select(PowerAction::ALL.to_vec()).prop_map(Step::Power),
        1 => invalid_power().prop_map(Step::PowerInvalid),
        3 => prop_oneof![
            4 => "[a-z]{1,8}( [a-z0-9]{1,6}){0,2}",
            1 => "[ \t]{0,3}",
        ]
        .prop_map(Step::Command),
        2 => (0u8..3).prop_map(Step::CreateDatabase),
        1 => "[a-z]{1,4}[-. ][a-z]{1,4}".prop_map(Step::CreateDatabaseInvalid),
        2 => index.clone().prop_map(Step::GetServer),
        3 => (index.clone(), prop_oneof![1u16..=5, 1u16..=1000]).prop_map(|(i, l)| Step::GetConsole(i, l)),
        2 => index.prop_map(Step::ListDatabases),
        1 => Just(Step::ListServers),
    ]
}

fn status_steps() -> impl Strategy<Value = Step> {
    let index = followed();
    prop_oneof![
        3 => valid_incident().prop_map(Step::CreateIncident),
        1 => invalid_incident().prop_map(Step::CreateIncidentInvalid),
        3 => index.prop_map(Step::ListIncidents),
        1 => Just(Step::ListPages),
    ]
}

/// Where the deployment and the model part ways.
#[derive(Debug, Clone)]
struct Divergence {
    rule: Rule,
    message: String,
    expected: String,
    actual: String,
}

impl Divergence {
    fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            expected: String::new(),
            actual: String::new(),
        }
    }

    fn expected(mut self, expected: impl fmt::Display, actual: impl fmt::Display) -> Self {
        self.expected = expected.to_string();
        self.actual = actual.to_string();
        self
    }
}

/// A Panel server as the model knows it.
#[derive(Debug, Clone)]
struct ServerModel {
    /// The bare path id, e.g. `123`.
    id: String,
    status: String,
    console_total: u64,
    /// The messages of the console lines the model knows, oldest first.
    console: Vec<String>,
    databases: Vec<Database>,
}

/// A Status page as the model knows it.
#[derive(Debug, Clone)]
struct PageModel {
    slug: String,
    id: String,
    /// Incident ids, oldest first.
    incidents: Vec<String>,
}

/// The model of the deployment.
#[derive(Debug, Clone)]
enum Model {
    Panel {
        servers: Vec<ServerModel>,
        /// Index of the write server in `servers`.
        write: usize,
    },
    Status {
        pages: Vec<PageModel>,
    },
}

/// One run of a sequence, and where it diverged.
struct Run {
    /// The requests sent for the steps, as curl commands.
    curls: Vec<String>,
    /// The step that diverged, with the divergence and the exchange.
    diverged: Option<(usize, Divergence, Exchange)>,
}

pub(crate) fn run(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let config = proptest::test_runner::Config {
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &ctx.seed_bytes(check, op));
    let mut runner = TestRunner::new_with_rng(config, rng);
    let steps: BoxedStrategy<Step> = match ctx.api() {
        Api::Panel => panel_steps().boxed(),
        Api::Status => status_steps().boxed(),
    };
    let sequences = proptest::collection::vec(steps, 1..=MAX_STEPS as usize);
    for _ in 0..ctx.config.cases {
        let sequence = sequences
            .new_tree(&mut runner)
            .map_err(|e| Stop::error(format!("cannot generate a sequence: {e}")))?
            .current();
        let run = run_sequence(ctx, &sequence)?;
        if let Some((index, _, _)) = &run.diverged {
            let (shrunk, run, note) = shrink(ctx, sequence[..=*index].to_vec(), run)?;
            out.push(finding(&shrunk, run, note));
            return Ok(());
        }
    }
    Ok(())
}

/// The shortest sequence found that still diverges: the failing prefix, then one step
/// removed at a time while it still diverges.
fn shrink(
    ctx: &Ctx,
    mut sequence: Vec<Step>,
    mut last: Run,
) -> Result<(Vec<Step>, Run, &'static str), Stop> {
    let mut runs = 0;
    let mut removed = true;
    while removed && sequence.len() > 1 {
        removed = false;
        for skip in 0..sequence.len() {
            if runs == MAX_SHRINK_RUNS {
                return Ok((sequence, last, "partly shrunk"));
            }
            let candidate: Vec<Step> = sequence
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, s)| s.clone())
                .collect();
            runs += 1;
            let run = match run_sequence(ctx, &candidate) {
                Ok(run) => run,
                Err(Stop::Budget(_)) => {
                    return Ok((sequence, last, "shrinking stopped: budget spent"));
                }
                Err(stop) => return Err(stop),
            };
            if let Some((index, _, _)) = &run.diverged {
                sequence = candidate[..=*index].to_vec();
                last = run;
                removed = true;
                break;
            }
        }
    }
    Ok((sequence, last, "shrunk"))
}

fn finding(sequence: &[Step], run: Run, note: &str) -> Finding {
    let (index, divergence, exchange) = run.diverged.expect("a diverged run");
    let script: Vec<String> = run
        .curls
        .iter()
        .zip(sequence)
        .enumerate()
        .map(|(i, (curl, step))| format!("{}. {curl}   # {step:?}", i + 1))
        .collect();
    Finding::new(
        divergence.rule,
        format!(
            "step {} of {} diverged from the model: {}",
            index + 1,
            sequence.len(),
            divergence.message
        ),
    )
    .input(format!(
        "{} steps ({note}):\n{}",
        sequence.len(),
        script.join("\n")
    ))
    .expected(divergence.expected)
    .actual(if divergence.actual.is_empty() {
        exchange.summary()
    } else {
        format!("{} — {}", divergence.actual, exchange.summary())
    })
    .request(exchange.curl.clone())
}

/// Looks at the deployment, runs `sequence` step by step against the model, stops at the
/// first divergence or when the budget would not hold the next step, and puts the power
/// state back.
fn run_sequence(ctx: &Ctx, sequence: &[Step]) -> Result<Run, Stop> {
    let mut model = look(ctx)?;
    let initial = match &model {
        Model::Panel { servers, write } => {
            Some((servers[*write].id.clone(), servers[*write].status.clone()))
        }
        Model::Status { .. } => None,
    };
    let names = RefCell::new(Vec::<String>::new());
    let mut run = Run {
        curls: Vec::new(),
        diverged: None,
    };
    for (index, step) in sequence.iter().enumerate() {
        // Cut at a step boundary when the budget would not hold the step and the way back.
        if ctx.client.available() < 3 {
            break;
        }
        let request = request(ctx, &model, step, &names)?;
        let exchange = ctx.send(&request)?;
        run.curls.push(exchange.curl.clone());
        if let Err(divergence) = apply(ctx, &mut model, step, &exchange, &names) {
            run.diverged = Some((index, divergence, exchange));
            break;
        }
    }
    if let Some((server, status)) = initial {
        restore_power(ctx, &server, &status)?;
    }
    Ok(run)
}

fn restore_power(ctx: &Ctx, server: &str, initial: &str) -> Result<(), Stop> {
    let wanted = match initial {
        "running" => ServerStatus::Running,
        "stopped" => ServerStatus::Stopped,
        _ => return Ok(()),
    };
    super::panel::ensure_status(ctx, server, wanted)
}

fn server_param(id: &str) -> [(&'static str, String); 1] {
    [("serverId", id.to_owned())]
}

/// Builds the model from what the deployment shows now.
fn look(ctx: &Ctx) -> Result<Model, Stop> {
    match ctx.api() {
        Api::Panel => {
            let write = ctx.params(operation(OperationId::PowerServer), Access::Write)?[0]
                .1
                .clone();
            let list = ctx.send(&Request::new(operation(OperationId::ListServers), &[]))?;
            let listed = success_data(&list, "list the servers")?;
            let mut ids: Vec<(String, String)> = listed
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| {
                    let id = ServerId(s["id"].as_str()?.to_owned())
                        .path_segment()
                        .to_owned();
                    Some((id, s["status"].as_str().unwrap_or_default().to_owned()))
                })
                .collect();
            // The write server first, then the others the account shows.
            ids.sort_by_key(|(id, _)| *id != write);
            ids.truncate(MAX_FOLLOWED);
            if ids.first().is_none_or(|(id, _)| *id != write) {
                return Err(Stop::error(format!(
                    "GET /servers does not list --server-id {write}"
                )));
            }
            let mut servers = Vec::new();
            for (id, status) in ids {
                let console = ctx.send(
                    &Request::new(operation(OperationId::GetConsole), &server_param(&id))
                        .query(format!("lines={CONSOLE_READ}")),
                )?;
                let console = success_data(&console, "read a console")?;
                let databases = ctx.send(&Request::new(
                    operation(OperationId::ListDatabases),
                    &server_param(&id),
                ))?;
                let databases: Vec<Database> =
                    serde_json::from_value(success_data(&databases, "list databases")?).map_err(
                        |e| Stop::error(format!("cannot read the databases of {id}: {e}")),
                    )?;
                servers.push(ServerModel {
                    id,
                    status,
                    console_total: console["totalLines"].as_u64().unwrap_or(0),
                    console: messages(&console),
                    databases,
                });
            }
            Ok(Model::Panel { servers, write: 0 })
        }
        Api::Status => {
            let list = ctx.send(&Request::new(operation(OperationId::ListPages), &[]))?;
            let listed = success_data(&list, "list the pages")?;
            let mut pages = Vec::new();
            for page in listed.as_array().into_iter().flatten().take(MAX_FOLLOWED) {
                let (Some(slug), Some(id)) = (page["slug"].as_str(), page["id"].as_str()) else {
                    continue;
                };
                let incidents = ctx.send(&Request::new(
                    operation(OperationId::ListIncidents),
                    &[("slug", slug.to_owned())],
                ))?;
                let mut ids = incident_ids(&success_data(&incidents, "list incidents")?);
                ids.reverse();
                pages.push(PageModel {
                    slug: slug.to_owned(),
                    id: id.to_owned(),
                    incidents: ids,
                });
            }
            if pages.is_empty() {
                return Err(Stop::error("the workspace has no status page to check"));
            }
            Ok(Model::Status { pages })
        }
    }
}

fn success_data(exchange: &Exchange, what: &str) -> Result<Value, Stop> {
    if !exchange.is_success() {
        return Err(Stop::error(format!(
            "cannot {what} to build the model: {}",
            exchange.summary()
        )));
    }
    Ok(data(exchange))
}

fn messages(console: &Value) -> Vec<String> {
    console["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn incident_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect()
}

/// The run's database name for `slot`, made once per run.
fn slot_name(ctx: &Ctx, names: &RefCell<Vec<String>>, slot: u8) -> String {
    let mut names = names.borrow_mut();
    while names.len() <= usize::from(slot) {
        names.push(format!("st_{}", ctx.unique()));
    }
    names[usize::from(slot)].clone()
}

fn request(
    ctx: &Ctx,
    model: &Model,
    step: &Step,
    names: &RefCell<Vec<String>>,
) -> Result<Request, Stop> {
    let panel = |id: OperationId| operation(id);
    Ok(match (model, step) {
        (Model::Panel { servers, write }, step) => {
            let write_id = &servers[*write].id;
            let followed = |i: &u8| &servers[usize::from(*i) % servers.len()].id;
            match step {
                Step::Power(action) => {
                    Request::new(panel(OperationId::PowerServer), &server_param(write_id))
                        .json(&json!({"action": action.as_str()}))
                }
                Step::PowerInvalid(bad) => {
                    Request::new(panel(OperationId::PowerServer), &server_param(write_id))
                        .json(&bad.body())
                }
                Step::Command(text) => {
                    Request::new(panel(OperationId::SendCommand), &server_param(write_id))
                        .json(&json!({"command": text}))
                }
                Step::CreateDatabase(slot) => {
                    Request::new(panel(OperationId::CreateDatabase), &server_param(write_id))
                        .json(&json!({"name": slot_name(ctx, names, *slot)}))
                }
                Step::CreateDatabaseInvalid(name) => {
                    Request::new(panel(OperationId::CreateDatabase), &server_param(write_id))
                        .json(&json!({"name": name}))
                }
                Step::GetServer(i) => {
                    Request::new(panel(OperationId::GetServer), &server_param(followed(i)))
                }
                Step::GetConsole(i, lines) => {
                    Request::new(panel(OperationId::GetConsole), &server_param(followed(i)))
                        .query(format!("lines={lines}"))
                }
                Step::ListDatabases(i) => Request::new(
                    panel(OperationId::ListDatabases),
                    &server_param(followed(i)),
                ),
                Step::ListServers => Request::new(panel(OperationId::ListServers), &[]),
                _ => return Err(Stop::error(format!("{step:?} is not a Panel step"))),
            }
        }
        (Model::Status { pages }, step) => {
            let first = [("slug", pages[0].slug.clone())];
            match step {
                Step::CreateIncident(input) => {
                    Request::new(operation(OperationId::CreateIncident), &first).json(&input.body())
                }
                Step::CreateIncidentInvalid(bad) => {
                    Request::new(operation(OperationId::CreateIncident), &first).json(&bad.body())
                }
                Step::ListIncidents(i) => Request::new(
                    operation(OperationId::ListIncidents),
                    &[("slug", pages[usize::from(*i) % pages.len()].slug.clone())],
                ),
                Step::ListPages => Request::new(operation(OperationId::ListPages), &[]),
                _ => return Err(Stop::error(format!("{step:?} is not a Status step"))),
            }
        }
    })
}

/// Compares `exchange` with the model's prediction for `step`, then carries the step's
/// effect (and the server-made values) into the model.
fn apply(
    ctx: &Ctx,
    model: &mut Model,
    step: &Step,
    exchange: &Exchange,
    names: &RefCell<Vec<String>>,
) -> Result<(), Divergence> {
    match model {
        Model::Panel { servers, write } => apply_panel(ctx, servers, *write, step, exchange, names),
        Model::Status { pages } => apply_status(ctx, pages, step, exchange),
    }
}

fn expect_status(
    exchange: &Exchange,
    status: u16,
    rule: Rule,
    what: &str,
) -> Result<(), Divergence> {
    if exchange.status == status {
        return Ok(());
    }
    Err(
        Divergence::new(rule, format!("{what} was answered {}", exchange.status))
            .expected(status, exchange.status),
    )
}

fn expect_refusal(
    exchange: &Exchange,
    refusal: &model::Refusal,
    what: &str,
) -> Result<(), Divergence> {
    expect_status(exchange, refusal.status, refusal.rule, what)?;
    if refusal.rule == rules::PANEL_COMMAND_STOPPED
        && error_message(exchange).as_deref() != Some(&refusal.message)
    {
        return Err(Divergence::new(
            refusal.rule,
            format!("{what} was refused with another message"),
        )
        .expected(
            format!("{:?}", refusal.message),
            format!("{:?}", error_message(exchange).unwrap_or_default()),
        ));
    }
    Ok(())
}

fn apply_panel(
    ctx: &Ctx,
    servers: &mut [ServerModel],
    write: usize,
    step: &Step,
    exchange: &Exchange,
    names: &RefCell<Vec<String>>,
) -> Result<(), Divergence> {
    let count = servers.len();
    let body = data(exchange);
    match step {
        Step::Power(action) => {
            let effect = model::power(*action);
            expect_status(
                exchange,
                200,
                rules::PANEL_INVALID_ACTION,
                &format!("the valid action {}", action.as_str()),
            )?;
            if body["message"].as_str() != Some(effect.message.as_str()) {
                return Err(Divergence::new(
                    rules::PANEL_INVALID_ACTION,
                    "the power answer's message differs",
                )
                .expected(format!("{:?}", effect.message), &body["message"]));
            }
            let server = &mut servers[write];
            server.status = super::panel::status_name(effect.status).to_owned();
            server.console.push(effect.console_line);
            server.console_total += 1;
        }
        Step::PowerInvalid(_) => {
            expect_status(
                exchange,
                400,
                rules::PANEL_INVALID_ACTION,
                "an invalid power action",
            )?;
        }
        Step::Command(text) => {
            let server = &mut servers[write];
            let status = parse_status(&server.status);
            match model::command(status, text) {
                Ok((_, line)) => {
                    expect_status(
                        exchange,
                        200,
                        rules::PANEL_EMPTY_COMMAND,
                        "a command to a running server",
                    )?;
                    server.console.push(line);
                    server.console_total += 1;
                }
                Err(refusal) => expect_refusal(exchange, &refusal, "the command")?,
            }
        }
        Step::CreateDatabase(slot) => {
            let name = slot_name(ctx, names, *slot);
            let server = &mut servers[write];
            let id = ServerId(format!("{}{}", ServerId::PREFIX, server.id));
            let password = body["password"].as_str().unwrap_or_default().to_owned();
            let now = Timestamp(String::new());
            match model::create_database(&id, &server.databases, &name, password, now) {
                Ok((mut listed, created)) => {
                    expect_status(
                        exchange,
                        200,
                        rules::PANEL_DATABASE_NAME,
                        &format!("the valid database name {name:?}"),
                    )?;
                    for (field, wanted) in [
                        ("id", created.id.as_str()),
                        ("name", &created.name),
                        ("username", &created.username),
                    ] {
                        if body[field].as_str() != Some(wanted) {
                            return Err(Divergence::new(
                                rules::PANEL_DATABASE_NAMING,
                                format!("the created database's {field} differs"),
                            )
                            .expected(format!("{wanted:?}"), &body[field]));
                        }
                    }
                    // Server-made values are carried from the answer.
                    listed.host = body["host"].as_str().unwrap_or(&listed.host).to_owned();
                    listed.port = body["port"]
                        .as_u64()
                        .and_then(|p| u16::try_from(p).ok())
                        .unwrap_or(listed.port);
                    server.databases.push(listed);
                    ctx.record_created(format!(
                        "database {} on server {}",
                        created.name, server.id
                    ));
                }
                Err(refusal) => expect_refusal(
                    exchange,
                    &refusal,
                    &format!("a second database named {name:?}"),
                )?,
            }
        }
        Step::CreateDatabaseInvalid(_) => {
            expect_status(
                exchange,
                400,
                rules::PANEL_DATABASE_NAME,
                "a forbidden database name",
            )?;
        }
        Step::GetServer(i) => {
            let server = &servers[usize::from(*i) % count];
            expect_status(
                exchange,
                200,
                rules::PANEL_SERVER_NOT_FOUND,
                &format!("GET /servers/{}", server.id),
            )?;
            if body["status"].as_str() != Some(server.status.as_str()) {
                return Err(Divergence::new(
                    rules::PANEL_POWER_EFFECT,
                    format!("server {} reads another status", server.id),
                )
                .expected(
                    format!("status {}", server.status),
                    format!("status {}", body["status"]),
                ));
            }
        }
        Step::GetConsole(i, lines) => {
            let server = &mut servers[usize::from(*i) % count];
            expect_status(
                exchange,
                200,
                rules::PANEL_LINES_RANGE,
                &format!("lines={lines}"),
            )?;
            let total = body["totalLines"].as_u64().unwrap_or(0);
            if total != server.console_total {
                return Err(Divergence::new(
                    rules::PANEL_CONSOLE_ISOLATED,
                    format!("the console of server {} has another number of lines than its own writes explain", server.id),
                )
                .expected(format!("totalLines {}", server.console_total), format!("totalLines {total}")));
            }
            let shown = messages(&body);
            let window = model::console_window(server.console_total as usize, usize::from(*lines));
            let wanted = window.len();
            if shown.len() != wanted {
                return Err(Divergence::new(
                    rules::PANEL_CONSOLE_ORDER,
                    format!("lines={lines} of {total} returned {} entries", shown.len()),
                )
                .expected(
                    format!("{wanted} entries"),
                    format!("{} entries", shown.len()),
                ));
            }
            // Compare the tail the model knows.
            let known = server.console.len().min(wanted);
            let model_tail = &server.console[server.console.len() - known..];
            let shown_tail = &shown[shown.len() - known..];
            if model_tail != shown_tail {
                let rule = if model_tail.iter().any(|m| m.starts_with("> ")) {
                    rules::PANEL_COMMAND_LOGGED
                } else {
                    rules::PANEL_CONSOLE_ORDER
                };
                return Err(Divergence::new(
                    rule,
                    format!("the console of server {} shows other lines", server.id),
                )
                .expected(format!("{model_tail:?}"), format!("{shown_tail:?}")));
            }
        }
        Step::ListDatabases(i) => {
            let server = &mut servers[usize::from(*i) % count];
            expect_status(
                exchange,
                200,
                rules::PANEL_SERVER_NOT_FOUND,
                &format!("the databases of server {}", server.id),
            )?;
            if body.to_string().contains("\"password\"") {
                return Err(Divergence::new(
                    rules::PANEL_DATABASE_LISTED,
                    "the database list shows a password",
                ));
            }
            let listed: Vec<Database> = serde_json::from_value(body.clone()).map_err(|e| {
                Divergence::new(
                    rules::RESPONSE_SCHEMA,
                    format!("the database list does not parse: {e}"),
                )
            })?;
            let ids = |dbs: &[Database]| dbs.iter().map(|d| d.id.0.clone()).collect::<Vec<_>>();
            if ids(&listed) != ids(&server.databases) {
                return Err(Divergence::new(
                    rules::PANEL_DATABASE_LISTED,
                    format!("server {} lists other databases", server.id),
                )
                .expected(
                    format!("{:?}", ids(&server.databases)),
                    format!("{:?}", ids(&listed)),
                ));
            }
            // Server-made values (maxConnections, createdAt) are carried from the list.
            server.databases = listed;
        }
        Step::ListServers => {
            expect_status(exchange, 200, rules::AUTH_REQUIRED, "GET /servers")?;
            for server in servers.iter() {
                let shown = body.as_array().into_iter().flatten().find(|s| {
                    s["id"]
                        .as_str()
                        .is_some_and(|id| ServerId(id.to_owned()).path_segment() == server.id)
                });
                let status = shown.and_then(|s| s["status"].as_str());
                if status != Some(server.status.as_str()) {
                    return Err(Divergence::new(
                        rules::PANEL_POWER_EFFECT,
                        format!("server {} is listed with another status", server.id),
                    )
                    .expected(
                        format!("status {}", server.status),
                        status.map_or("no status".to_owned(), |s| format!("status {s}")),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn apply_status(
    ctx: &Ctx,
    pages: &mut [PageModel],
    step: &Step,
    exchange: &Exchange,
) -> Result<(), Divergence> {
    let body = data(exchange);
    match step {
        Step::CreateIncident(input) => {
            let page = &mut pages[0];
            let request: CreateIncident = serde_json::from_value(input.body()).map_err(|e| {
                Divergence::new(
                    rules::STATUS_VALIDATION,
                    format!("a generated incident does not parse: {e}"),
                )
            })?;
            let id = IncidentId(body["id"].as_str().unwrap_or_default().to_owned());
            let now = Timestamp(body["created_at"].as_str().unwrap_or_default().to_owned());
            match model::create_incident(
                &PageId(page.id.clone()),
                page.incidents.len(),
                request,
                id,
                now,
            ) {
                Ok(predicted) => {
                    expect_status(exchange, 201, rules::STATUS_VALIDATION, "a valid incident")?;
                    let predicted = serde_json::to_value(&predicted).unwrap_or_default();
                    for field in [
                        "page_id",
                        "name",
                        "status",
                        "impact",
                        "message",
                        "resolved_at",
                    ] {
                        if body[field] != predicted[field] {
                            return Err(Divergence::new(
                                rules::STATUS_INCIDENT_VISIBLE,
                                format!("the created incident's {field} differs"),
                            )
                            .expected(&predicted[field], &body[field]));
                        }
                    }
                    let id = predicted["id"].as_str().unwrap_or_default().to_owned();
                    ctx.record_created(format!("incident {id} on page {}", page.slug));
                    page.incidents.push(id);
                }
                Err(refusal) => expect_status(
                    exchange,
                    refusal.status,
                    refusal.rule,
                    "an incident on a full page",
                )?,
            }
        }
        Step::CreateIncidentInvalid(_) => {
            expect_status(
                exchange,
                422,
                rules::STATUS_VALIDATION,
                "an incident that breaks the schema",
            )?;
        }
        Step::ListIncidents(i) => {
            let count = pages.len();
            let page = &pages[usize::from(*i) % count];
            expect_status(
                exchange,
                200,
                rules::STATUS_PAGE_NOT_FOUND,
                &format!("the incidents of {}", page.slug),
            )?;
            let listed = incident_ids(&body);
            let predicted: Vec<String> =
                model::incidents_listed(&page.incidents).cloned().collect();
            if listed != predicted {
                let mut sorted = (listed.clone(), predicted.clone());
                sorted.0.sort();
                sorted.1.sort();
                let rule = if sorted.0 == sorted.1 {
                    rules::STATUS_INCIDENTS_NEWEST_FIRST
                } else {
                    rules::STATUS_INCIDENT_VISIBLE
                };
                return Err(Divergence::new(
                    rule,
                    format!("page {} lists other incidents", page.slug),
                )
                .expected(format!("{predicted:?}"), format!("{listed:?}")));
            }
        }
        Step::ListPages => {
            expect_status(exchange, 200, rules::AUTH_REQUIRED, "GET /pages")?;
            let slugs: Vec<&str> = body
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["slug"].as_str())
                .collect();
            for page in pages.iter() {
                if !slugs.contains(&page.slug.as_str()) {
                    return Err(Divergence::new(
                        rules::STATUS_PAGE_NOT_FOUND,
                        format!("page {} is no longer listed", page.slug),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn parse_status(status: &str) -> ServerStatus {
    match status {
        "running" => ServerStatus::Running,
        "starting" => ServerStatus::Starting,
        "stopping" => ServerStatus::Stopping,
        _ => ServerStatus::Stopped,
    }
}
