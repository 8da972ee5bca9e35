//! Panel-only checks: console lines, power actions and their effect, console commands, and
//! databases.

use std::cell::RefCell;
use std::time::Duration;

use beacon_spec::catalog::operation;
use beacon_spec::panel::{DatabaseName, DatabaseNaming, PowerAction, ServerId, ServerStatus};
use beacon_spec::{Operation, OperationId, rules};
use proptest::strategy::Strategy as _;
use serde_json::{Value, json};

use super::{
    Access, Ctx, Rejection, Stop, data, ensure, ensure_accepted, error_message, listed_item,
    property, rejects_every, snapshot_cost, unchanged_after,
};
use crate::check::{Check, Cost};
use crate::client::{Exchange, Request};
use crate::report::Finding;
use crate::strategies::panel::{
    BOUNDARY_LINES, MAX_POWER_SEQUENCE, boundary_commands, boundary_invalid_commands,
    boundary_invalid_database_names, boundary_invalid_lines, boundary_invalid_power,
    boundary_lines, boundary_power_requests, boundary_power_sequences,
    boundary_too_long_database_names, invalid_command, invalid_database_name, invalid_lines,
    invalid_power, power_sequence as power_sequences, too_long_database_name, valid_command,
    valid_database_name, valid_lines,
};

/// Requests a check that puts the server in a wanted state and back costs at most: the
/// first read, a power action and a read to get there, and the same to come back.
pub(crate) const STATUS_ROUND_TRIP: u32 = 7;
/// The same without a wanted state: the first read, and the way back.
const STATUS_RESTORE: u32 = 4;

fn count<T>(values: Vec<T>) -> u32 {
    values.len() as u32
}

/// One request per value.
pub(crate) fn console_lines_invalid_cost(_: &Operation) -> Cost {
    Cost::property(0, count(boundary_invalid_lines()), 1)
}

/// A read of totalLines, then one request per boundary value; one per case.
pub(crate) fn console_lines_cost(_: &Operation) -> Cost {
    Cost::property(0, 1 + BOUNDARY_LINES, 1)
}

/// Snapshots around one request per value.
pub(crate) fn power_invalid_cost(op: &Operation) -> Cost {
    Cost::property(2 * snapshot_cost(op), count(boundary_invalid_power()), 1)
}

/// The way back to the first state, each sequence's actions and a read after it.
pub(crate) fn power_sequence_cost(_: &Operation) -> Cost {
    Cost::property(
        STATUS_RESTORE,
        boundary_power_requests(),
        MAX_POWER_SEQUENCE + 1,
    )
}

/// A running server and back, one request per value.
pub(crate) fn command_invalid_cost(_: &Operation) -> Cost {
    Cost::property(STATUS_ROUND_TRIP, count(boundary_invalid_commands()), 1)
}

/// A running server and back, a command and a console read per value.
pub(crate) fn command_send_cost(_: &Operation) -> Cost {
    Cost::property(STATUS_ROUND_TRIP, 2 * count(boundary_commands()), 2)
}

/// Two properties, each between snapshots, one request per value.
pub(crate) fn database_name_invalid_cost(op: &Operation) -> Cost {
    Cost::property(
        4 * snapshot_cost(op),
        count(boundary_invalid_database_names()) + count(boundary_too_long_database_names()),
        2,
    )
}

/// The duplicate at the end; a list read, then a create and a list per boundary name; a
/// create and a list per case.
pub(crate) fn database_create_cost(_: &Operation) -> Cost {
    Cost::property(1, 1 + 2 * 2, 2)
}

/// Reads of a server in a transitional state before giving up waiting.
const SETTLE_POLLS: u32 = 10;
/// Pause between two such reads.
const SETTLE_PAUSE: Duration = Duration::from_millis(200);
/// Console lines read to find a command that was sent.
const CONSOLE_TAIL: u32 = 100;

pub(super) fn status_name(status: ServerStatus) -> &'static str {
    match status {
        ServerStatus::Running => "running",
        ServerStatus::Stopped => "stopped",
        ServerStatus::Starting => "starting",
        ServerStatus::Stopping => "stopping",
    }
}

fn server_param(server: &str) -> [(&'static str, String); 1] {
    [("serverId", server.to_owned())]
}

/// The server's status once it is no longer starting or stopping (or after
/// [`SETTLE_POLLS`] reads), with the last read.
fn settled(ctx: &Ctx, server: &str) -> Result<(String, Exchange), Stop> {
    let get = operation(OperationId::GetServer);
    let mut polls = 0;
    loop {
        let exchange = ctx.send(&Request::new(get, &server_param(server)))?;
        if !exchange.is_success() {
            return Err(Stop::error(format!(
                "cannot read server {server}: GET /servers/{server} answered {}",
                exchange.status
            )));
        }
        let status = exchange
            .json()
            .and_then(|body| body["data"]["status"].as_str().map(str::to_owned))
            .unwrap_or_default();
        polls += 1;
        let transitional = status == "starting" || status == "stopping";
        if !transitional || polls == SETTLE_POLLS {
            return Ok((status, exchange));
        }
        std::thread::sleep(SETTLE_PAUSE);
    }
}

/// The server's settled status.
pub(super) fn settled_status(ctx: &Ctx, server: &str) -> Result<String, Stop> {
    settled(ctx, server).map(|(status, _)| status)
}

fn power(ctx: &Ctx, server: &str, action: PowerAction) -> Result<Exchange, Stop> {
    ctx.send(
        &Request::new(operation(OperationId::PowerServer), &server_param(server))
            .json(&json!({"action": action.as_str()})),
    )
}

/// Brings the server to `wanted` (running or stopped) if it is not there already.
pub(super) fn ensure_status(ctx: &Ctx, server: &str, wanted: ServerStatus) -> Result<(), Stop> {
    let status = settled_status(ctx, server)?;
    if status == status_name(wanted) {
        return Ok(());
    }
    let action = match wanted {
        ServerStatus::Stopped | ServerStatus::Stopping => PowerAction::Stop,
        ServerStatus::Running | ServerStatus::Starting => PowerAction::Start,
    };
    let exchange = power(ctx, server, action)?;
    let status = settled_status(ctx, server)?;
    if !exchange.is_success() || status != status_name(wanted) {
        return Err(Stop::error(format!(
            "cannot bring server {server} to {}: {} answered {}, then it read {status}",
            status_name(wanted),
            action.as_str(),
            exchange.status
        )));
    }
    Ok(())
}

/// Puts the server back the way a check found it; best effort (a failure here is not the
/// deployment's fault to report).
fn restore(ctx: &Ctx, server: &str, initial: &str) {
    let wanted = match initial {
        "running" => ServerStatus::Running,
        "stopped" => ServerStatus::Stopped,
        _ => return,
    };
    let _ = ensure_status(ctx, server, wanted);
}

/// Runs `run` with the server first brought to `wanted` (when given), then puts the server
/// back the way it was found, whatever `run` returned.
pub(super) fn restoring_status<T>(
    ctx: &Ctx,
    server: &str,
    wanted: Option<ServerStatus>,
    run: impl FnOnce() -> Result<T, Stop>,
) -> Result<T, Stop> {
    let initial = settled_status(ctx, server)?;
    if let Some(wanted) = wanted {
        ensure_status(ctx, server, wanted)?;
    }
    let result = run();
    restore(ctx, server, &initial);
    result
}

pub(crate) fn console_lines_invalid(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Read)?;
    rejects_every(
        ctx,
        check,
        op,
        boundary_invalid_lines(),
        invalid_lines(),
        |lines| Request::new(op, &params).query(lines.query()),
        Rejection::panel(
            rules::PANEL_LINES_RANGE,
            "a lines value that is not an integer in 1..=1000",
        ),
        out,
    )
}

/// Orders RFC 3339 UTC timestamps, fractional seconds included.
fn timestamp_key(timestamp: &str) -> (String, f64) {
    let trimmed = timestamp.trim_end_matches('Z');
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, "0"));
    (
        whole.to_owned(),
        format!("0.{fraction}").parse().unwrap_or(0.0),
    )
}

pub(crate) fn console_lines(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Read)?;
    let boundary = if ctx.phase() == Some(crate::check::Phase::Coverage) {
        let read = ctx.send(&Request::new(op, &params))?;
        let total = data(&read)["totalLines"].as_u64().ok_or_else(|| {
            Stop::error(format!(
                "cannot read totalLines: {} answered {}",
                read.op.name,
                read.summary()
            ))
        })?;
        boundary_lines(total)
    } else {
        Vec::new()
    };
    property(
        ctx,
        check,
        op,
        boundary,
        valid_lines(),
        |&lines| {
            let exchange = ctx.send(&Request::new(op, &params).query(format!("lines={lines}")))?;
            ensure_accepted(
                &exchange,
                op,
                rules::PANEL_LINES_RANGE,
                format!("lines={lines} was refused"),
                "the console",
            )?;
            let data = data(&exchange);
            let logs = data["logs"].as_array().cloned().unwrap_or_default();
            let Some(total) = data["totalLines"].as_u64() else {
                return Ok(()); // The schema check reports a missing totalLines.
            };
            let wanted = u64::from(lines).min(total);
            ensure(logs.len() as u64 == wanted, || {
                Finding::new(
                    rules::PANEL_CONSOLE_ORDER,
                    format!("lines={lines} of {total} returned {} entries", logs.len()),
                )
                .expected(format!("{wanted} entries"))
                .actual(format!("{} entries", logs.len()))
                .exchange(&exchange)
            })?;
            let keys: Vec<(String, f64)> = logs
                .iter()
                .map(|entry| timestamp_key(entry["timestamp"].as_str().unwrap_or_default()))
                .collect();
            let ordered = keys
                .windows(2)
                .all(|pair| pair[0].partial_cmp(&pair[1]).is_some_and(|o| o.is_le()));
            ensure(ordered, || {
                Finding::new(
                    rules::PANEL_CONSOLE_ORDER,
                    "console entries are not oldest first",
                )
                .expected("timestamps in ascending order")
                .exchange(&exchange)
            })
        },
        out,
    )
}

pub(crate) fn power_invalid(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let rejection = Rejection::panel(
        rules::PANEL_INVALID_ACTION,
        "a power request with an invalid action",
    );
    unchanged_after(ctx, op, rejection.rule, out, |out| {
        rejects_every(
            ctx,
            check,
            op,
            boundary_invalid_power(),
            invalid_power(),
            |bad| Request::new(op, &params).json(&bad.body()),
            rejection,
            out,
        )
    })
}

pub(crate) fn power_sequence(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let server = params[0].1.clone();
    restoring_status(ctx, &server, None, || {
        property(
            ctx,
            check,
            op,
            boundary_power_sequences(),
            power_sequences(),
            |actions| {
                for action in actions {
                    let exchange = power(ctx, &server, *action)?;
                    ensure_accepted(
                        &exchange,
                        op,
                        rules::PANEL_INVALID_ACTION,
                        format!("the valid action {} was refused", action.as_str()),
                        &format!("\"Server {} initiated\"", action.as_str()),
                    )?;
                }
                let Some(last) = actions.last() else {
                    return Ok(());
                };
                let wanted = status_name(last.resulting_status());
                let (status, read) = settled(ctx, &server)?;
                ensure(status == wanted, || {
                    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
                    Finding::new(
                        rules::PANEL_POWER_EFFECT,
                        format!("after {} the server reads {status}", names.join(", ")),
                    )
                    .expected(format!("status {wanted}"))
                    .actual(format!("status {status}"))
                    .exchange(&read)
                })
            },
            out,
        )
    })
}

pub(crate) fn command_invalid(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let server = params[0].1.clone();
    restoring_status(ctx, &server, Some(ServerStatus::Running), || {
        rejects_every(
            ctx,
            check,
            op,
            boundary_invalid_commands(),
            invalid_command(),
            |bad| Request::new(op, &params).json(&bad.body()),
            Rejection::panel(
                rules::PANEL_EMPTY_COMMAND,
                "a missing, empty or white-space-only console command",
            ),
            out,
        )
    })
}

pub(crate) fn command_send(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let server = params[0].1.clone();
    let console = operation(OperationId::GetConsole);
    restoring_status(ctx, &server, Some(ServerStatus::Running), || {
        property(
            ctx,
            check,
            op,
            boundary_commands(),
            valid_command(),
            |generated| {
                // A unique last argument, so that an earlier line cannot pass for this one.
                let command = format!("{generated} bc{}", ctx.unique());
                let exchange =
                    ctx.send(&Request::new(op, &params).json(&json!({"command": command})))?;
                ensure_accepted(
                    &exchange,
                    op,
                    rules::PANEL_EMPTY_COMMAND,
                    "a non-empty command to a running server was refused",
                    "\"Command sent successfully\"",
                )?;
                let read = ctx
                    .send(&Request::new(console, &params).query(format!("lines={CONSOLE_TAIL}")))?;
                let logged = read.json().is_some_and(|body| {
                    body["data"]["logs"].as_array().is_some_and(|logs| {
                        logs.iter()
                            .any(|e| e["message"].as_str().is_some_and(|m| m.contains(&command)))
                    })
                });
                ensure(logged, || {
                    Finding::new(
                        rules::PANEL_COMMAND_LOGGED,
                        format!("the command {command:?} is not in the console afterwards"),
                    )
                    .expected(format!("a log entry containing {command:?}"))
                    .exchange(&read)
                })
            },
            out,
        )
    })
}

pub(crate) fn command_stopped(
    ctx: &Ctx,
    _check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let server = params[0].1.clone();
    let exchange = restoring_status(ctx, &server, Some(ServerStatus::Stopped), || {
        ctx.send(&Request::new(op, &params).json(&json!({"command": "help"})))
    })?;
    let message = error_message(&exchange);
    if exchange.status != 400 || message.as_deref() != Some("Server is not running") {
        out.push(
            Finding::new(
                rules::PANEL_COMMAND_STOPPED,
                "a command to a stopped server was not refused as documented",
            )
            .expected("400 with error \"Server is not running\"")
            .exchange(&exchange),
        );
    }
    Ok(())
}

pub(crate) fn database_name_invalid(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    // Two properties, each with its own rule: a deployment that accepts both kinds must
    // fail on the documented one, which shrinking across kinds could otherwise hide.
    let forbidden = Rejection::panel(
        rules::PANEL_DATABASE_NAME,
        "a database name that is empty or has a character other than a letter, digit or underscore",
    );
    unchanged_after(ctx, op, forbidden.rule, out, |out| {
        rejects_every(
            ctx,
            check,
            op,
            boundary_invalid_database_names(),
            invalid_database_name(),
            |bad| Request::new(op, &params).json(&bad.body()),
            forbidden,
            out,
        )
    })?;
    let too_long = Rejection::panel(
        rules::PANEL_DATABASE_NAME_LENGTH,
        "a database name of valid characters but longer than 48",
    );
    unchanged_after(ctx, op, too_long.rule, out, |out| {
        rejects_every(
            ctx,
            check,
            op,
            boundary_too_long_database_names(),
            too_long_database_name(),
            |bad| Request::new(op, &params).json(&bad.body()),
            too_long,
            out,
        )
    })
}

/// How a created database breaks the naming rule, one entry per field.
fn naming_problems(created: &Value, naming: &DatabaseNaming) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, wanted) in [
        ("id", naming.id.as_str()),
        ("name", naming.name.as_str()),
        ("username", naming.username.as_str()),
    ] {
        if created[field].as_str() != Some(wanted) {
            problems.push(format!(
                "{field}: expected {wanted:?}, got {}",
                created[field]
            ));
        }
    }
    let connection = format!(
        "mysql://{}:{}@{}:{}/{}",
        naming.username,
        created["password"].as_str().unwrap_or_default(),
        created["host"].as_str().unwrap_or_default(),
        created["port"],
        naming.name
    );
    if created["connectionString"].as_str() != Some(connection.as_str()) {
        problems.push(format!(
            "connectionString: expected {connection:?}, got {}",
            created["connectionString"]
        ));
    }
    problems
}

pub(crate) fn database_create(
    ctx: &Ctx,
    check: &'static Check,
    op: &'static Operation,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    let params = ctx.params(op, Access::Write)?;
    let server = ServerId(format!("{}{}", ServerId::PREFIX, params[0].1));
    let list = operation(OperationId::ListDatabases);
    let last_created: RefCell<Option<String>> = RefCell::new(None);
    let boundary = if ctx.phase() == Some(crate::check::Phase::Coverage) {
        boundary_database_names(ctx, &server, &params)?
    } else {
        Vec::new()
    };
    property(
        ctx,
        check,
        op,
        boundary,
        valid_database_name().prop_map(NameInput::Generated),
        |input| {
            let name = match input {
                NameInput::Generated(generated) => format!("{generated}_{}", ctx.unique()),
                NameInput::Exact(name) => name.clone(),
            };
            let exchange = ctx.send(&Request::new(op, &params).json(&json!({"name": name})))?;
            ensure_accepted(
                &exchange,
                op,
                rules::PANEL_DATABASE_NAME,
                format!("the valid database name {name:?} was refused"),
                "the database",
            )?;
            *last_created.borrow_mut() = Some(name.clone());
            ctx.record_created(format!("database {name} on server {}", params[0].1));
            let created = data(&exchange);
            let naming = DatabaseNaming::new(&server, &name);
            let problems = naming_problems(&created, &naming);
            ensure(problems.is_empty(), || {
                Finding::new(
                    rules::PANEL_DATABASE_NAMING,
                    format!("the database is misnamed: {}", problems.join("; ")),
                )
                .expected(format!(
                    "id {}, name {}, username {}",
                    naming.id, naming.name, naming.username
                ))
                .exchange(&exchange)
            })?;
            let listed = ctx.send(&Request::new(list, &params))?;
            let item = listed_item(&listed, |d| d["id"].as_str() == Some(naming.id.as_str()));
            ensure(
                item.as_ref().is_some_and(|d| d.get("password").is_none()),
                || {
                    let message = match &item {
                        None => format!("database {} is missing from a later list", naming.id),
                        Some(_) => format!("database {} is listed with its password", naming.id),
                    };
                    Finding::new(rules::PANEL_DATABASE_LISTED, message)
                        .expected(format!("an item with id {} and no password", naming.id))
                        .exchange(&listed)
                },
            )
        },
        out,
    )?;
    if let Some(name) = last_created.into_inner() {
        let exchange = ctx.send(&Request::new(op, &params).json(&json!({"name": name})))?;
        let rejection = Rejection::panel(
            rules::PANEL_DATABASE_DUPLICATE,
            "a second database with the same name",
        );
        if let Err(Stop::Finding(finding)) = rejection.ensure(&exchange) {
            out.push(*finding);
        }
    }
    Ok(())
}

/// A database name to create: a generated stem that gets a unique suffix when sent, or an
/// exact boundary name.
#[derive(Debug, Clone)]
pub(crate) enum NameInput {
    Generated(String),
    Exact(String),
}

/// The coverage phase's valid names at the two ends of the length range: one character
/// that no database of the server uses yet (neither as name nor as username), and 48
/// characters ending in a unique suffix.
fn boundary_database_names(
    ctx: &Ctx,
    server: &ServerId,
    params: &[(&'static str, String)],
) -> Result<Vec<NameInput>, Stop> {
    let list = operation(OperationId::ListDatabases);
    let listed = ctx.send(&Request::new(list, params))?;
    let taken: Vec<String> = data(&listed)
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|db| [db["name"].as_str(), db["username"].as_str()])
        .flatten()
        .map(str::to_owned)
        .collect();
    let mut names = Vec::new();
    let mut rng = ctx.rng(
        crate::check::find_check("database-create").expect("registered"),
        list,
    );
    let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let start = (rng.next_u64() % alphabet.len() as u64) as usize;
    let free = (0..alphabet.len())
        .map(|i| char::from(alphabet[(start + i) % alphabet.len()]).to_string())
        .find(|one| {
            let naming = DatabaseNaming::new(server, one);
            !taken.contains(&naming.name) && !taken.contains(&naming.username)
        });
    names.extend(free.map(NameInput::Exact));
    let suffix = format!("_{}", ctx.unique());
    let stem = "m".repeat(DatabaseName::MAX_LEN - suffix.len());
    names.push(NameInput::Exact(format!("{stem}{suffix}")));
    Ok(names)
}
