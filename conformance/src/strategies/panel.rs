//! Strategies for the Panel API: power actions, console lines and commands, database names.

use beacon_spec::panel::{ConsoleQuery, DatabaseName, PowerAction};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

use super::{non_string, regex};

/// A power request body whose action is missing or not one of the four.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BadPower {
    Missing,
    Empty,
    Unknown(String),
    WrongCase(String),
    NotString(Value),
}

impl BadPower {
    /// The JSON body sent.
    pub(crate) fn body(&self) -> Value {
        match self {
            BadPower::Missing => json!({}),
            BadPower::Empty => json!({"action": ""}),
            BadPower::Unknown(action) | BadPower::WrongCase(action) => json!({"action": action}),
            BadPower::NotString(value) => json!({"action": value}),
        }
    }
}

/// Power bodies that must be refused.
pub(crate) fn invalid_power() -> impl Strategy<Value = BadPower> {
    prop_oneof![
        Just(BadPower::Missing),
        Just(BadPower::Empty),
        regex("[a-z]{1,10}")
            .prop_filter("must not be a valid action", |a| {
                PowerAction::ALL.iter().all(|valid| valid.as_str() != a)
            })
            .prop_map(BadPower::Unknown),
        select(vec!["Start", "STOP", "Restart", "KILL", " start", "stop "])
            .prop_map(|a| BadPower::WrongCase(a.to_owned())),
        non_string().prop_map(BadPower::NotString),
    ]
}

/// The coverage phase's invalid power bodies: one of each kind.
pub(crate) fn boundary_invalid_power() -> Vec<BadPower> {
    vec![
        BadPower::Missing,
        BadPower::Empty,
        BadPower::WrongCase("Start".to_owned()),
        BadPower::WrongCase("STOP".to_owned()),
        BadPower::Unknown("reboot".to_owned()),
        BadPower::NotString(json!(1)),
    ]
}

/// The coverage phase's power sequences: every documented action alone, then the
/// transitions out of a stopped server (restart and start) and a kill of a running one.
pub(crate) fn boundary_power_sequences() -> Vec<Vec<PowerAction>> {
    use PowerAction::{Kill, Restart, Start, Stop};
    vec![
        vec![Start],
        vec![Stop],
        vec![Restart],
        vec![Kill],
        vec![Stop, Restart],
        vec![Kill, Start],
        vec![Start, Kill],
    ]
}

/// Requests the coverage phase's power sequences send: each action and one read after
/// each sequence.
pub(crate) fn boundary_power_requests() -> u32 {
    boundary_power_sequences()
        .iter()
        .map(|sequence| sequence.len() as u32 + 1)
        .sum()
}

/// The longest generated power sequence.
pub(crate) const MAX_POWER_SEQUENCE: u32 = 3;

/// Sequences of one to three valid power actions.
pub(crate) fn power_sequence() -> impl Strategy<Value = Vec<PowerAction>> {
    proptest::collection::vec(
        select(PowerAction::ALL.to_vec()),
        1..=MAX_POWER_SEQUENCE as usize,
    )
}

/// A console `lines` value that is not an integer in 1..=1000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadLines {
    Zero,
    Negative(i64),
    TooLarge(u64),
    Fraction(String),
    Word(String),
    Empty,
}

impl BadLines {
    /// The query string sent (the values need no percent-encoding).
    pub(crate) fn query(&self) -> String {
        match self {
            BadLines::Zero => "lines=0".to_owned(),
            BadLines::Negative(n) => format!("lines={n}"),
            BadLines::TooLarge(n) => format!("lines={n}"),
            BadLines::Fraction(text) | BadLines::Word(text) => format!("lines={text}"),
            BadLines::Empty => "lines=".to_owned(),
        }
    }
}

/// `lines` values that must be refused.
pub(crate) fn invalid_lines() -> impl Strategy<Value = BadLines> {
    prop_oneof![
        Just(BadLines::Zero),
        (-100_000i64..=-1).prop_map(BadLines::Negative),
        (1001u64..=10_000_000).prop_map(BadLines::TooLarge),
        (1u32..=999, 1u32..=9).prop_map(|(a, b)| BadLines::Fraction(format!("{a}.{b}"))),
        regex("[a-z]{1,6}").prop_map(BadLines::Word),
        Just(BadLines::Empty),
    ]
}

/// The coverage phase's refused `lines` values: just outside each end, and one of each
/// other kind.
pub(crate) fn boundary_invalid_lines() -> Vec<BadLines> {
    vec![
        BadLines::Zero,
        BadLines::Negative(-1),
        BadLines::TooLarge(u64::from(ConsoleQuery::MAX_LINES) + 1),
        BadLines::Fraction("1.5".to_owned()),
        BadLines::Word("abc".to_owned()),
        BadLines::Empty,
    ]
}

/// How many accepted `lines` values the coverage phase sends at most.
pub(crate) const BOUNDARY_LINES: u32 = 7;

/// The coverage phase's accepted `lines` values around a console of `total` lines: 1, 2,
/// total−1, total, total+1, 999 and 1000, each once and within 1..=1000.
pub(crate) fn boundary_lines(total: u64) -> Vec<u32> {
    let max = u64::from(ConsoleQuery::MAX_LINES);
    let mut values: Vec<u32> = [
        1,
        2,
        total.saturating_sub(1),
        total,
        total + 1,
        max - 1,
        max,
    ]
    .into_iter()
    .filter(|n| (1..=max).contains(n))
    .map(|n| n as u32)
    .collect();
    values.sort_unstable();
    values.dedup();
    debug_assert!(values.len() as u32 <= BOUNDARY_LINES);
    values
}

/// `lines` values that must be accepted.
pub(crate) fn valid_lines() -> impl Strategy<Value = u32> {
    1u32..=1000
}

/// A console command body that is missing, empty or only white space.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BadCommand {
    Missing,
    Empty,
    Blank(String),
    NotString(Value),
}

impl BadCommand {
    /// The JSON body sent.
    pub(crate) fn body(&self) -> Value {
        match self {
            BadCommand::Missing => json!({}),
            BadCommand::Empty => json!({"command": ""}),
            BadCommand::Blank(blank) => json!({"command": blank}),
            BadCommand::NotString(value) => json!({"command": value}),
        }
    }
}

/// Command bodies that must be refused.
pub(crate) fn invalid_command() -> impl Strategy<Value = BadCommand> {
    prop_oneof![
        Just(BadCommand::Missing),
        Just(BadCommand::Empty),
        regex("[ \t\n]{1,4}").prop_map(BadCommand::Blank),
        non_string().prop_map(BadCommand::NotString),
    ]
}

/// The coverage phase's refused commands: one of each kind.
pub(crate) fn boundary_invalid_commands() -> Vec<BadCommand> {
    vec![
        BadCommand::Missing,
        BadCommand::Empty,
        BadCommand::Blank(" ".to_owned()),
        BadCommand::Blank("\t\n".to_owned()),
        BadCommand::NotString(json!(1)),
    ]
}

/// The coverage phase's accepted commands: one character, a plain one, and one that is not
/// ASCII.
pub(crate) fn boundary_commands() -> Vec<String> {
    ["x", "say hello", "say héllo ✓ 日本"]
        .map(str::to_owned)
        .to_vec()
}

/// Plausible console commands: a word and up to three arguments.
pub(crate) fn valid_command() -> impl Strategy<Value = String> {
    regex("[a-z]{1,10}( [A-Za-z0-9_]{1,8}){0,3}")
}

/// A database name body that must be refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BadDatabaseName {
    Missing,
    Empty,
    TooLong(String),
    BadCharacter(String),
    NotString(Value),
}

impl BadDatabaseName {
    /// The JSON body sent.
    pub(crate) fn body(&self) -> Value {
        match self {
            BadDatabaseName::Missing => json!({}),
            BadDatabaseName::Empty => json!({"name": ""}),
            BadDatabaseName::TooLong(name) | BadDatabaseName::BadCharacter(name) => {
                json!({"name": name})
            }
            BadDatabaseName::NotString(value) => json!({"name": value}),
        }
    }
}

/// Database names the document forbids: missing, empty, or with a character other than a
/// letter, digit or underscore (`panel.database_name_400`).
pub(crate) fn invalid_database_name() -> impl Strategy<Value = BadDatabaseName> {
    prop_oneof![
        Just(BadDatabaseName::Missing),
        Just(BadDatabaseName::Empty),
        (
            regex("[A-Za-z0-9_]{0,10}"),
            select(vec![
                '-', '.', ' ', '!', '@', '#', '$', '%', '/', 'é', '\'', '*'
            ]),
            regex("[A-Za-z0-9_]{0,10}"),
        )
            .prop_map(|(a, bad, b)| BadDatabaseName::BadCharacter(format!("{a}{bad}{b}"))),
        non_string().prop_map(BadDatabaseName::NotString),
    ]
}

/// The coverage phase's forbidden database names: one of each kind.
pub(crate) fn boundary_invalid_database_names() -> Vec<BadDatabaseName> {
    vec![
        BadDatabaseName::Missing,
        BadDatabaseName::Empty,
        BadDatabaseName::BadCharacter("a-b".to_owned()),
        BadDatabaseName::BadCharacter("a b".to_owned()),
        BadDatabaseName::BadCharacter("é".to_owned()),
        BadDatabaseName::NotString(json!(1)),
    ]
}

/// The coverage phase's name one character over the maximum.
pub(crate) fn boundary_too_long_database_names() -> Vec<BadDatabaseName> {
    vec![BadDatabaseName::TooLong(
        "n".repeat(DatabaseName::MAX_LEN + 1),
    )]
}

/// Database names of valid characters but longer than 48: the length cap is ours
/// (`panel.database_name_length_400`), so these are generated apart from the names the
/// document forbids, and a deployment that accepts them only breaks an ours rule.
pub(crate) fn too_long_database_name() -> impl Strategy<Value = BadDatabaseName> {
    regex("[A-Za-z0-9_]{49,64}").prop_map(BadDatabaseName::TooLong)
}

/// The generated part of a valid database name (a unique suffix is added when sending,
/// keeping it within 48 characters).
pub(crate) fn valid_database_name() -> impl Strategy<Value = String> {
    regex("[A-Za-z0-9_]{1,30}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_spec::panel::DatabaseName;
    use proptest::test_runner::TestRunner;

    #[test]
    fn invalid_lines_are_never_integers_in_range() {
        TestRunner::deterministic()
            .run(&invalid_lines(), |lines| {
                let value = lines.query().trim_start_matches("lines=").to_owned();
                prop_assert!(
                    value
                        .parse::<u32>()
                        .map_or(true, |n| !(1..=1000).contains(&n))
                );
                Ok(())
            })
            .expect("invalid lines are invalid");
    }

    #[test]
    fn forbidden_database_names_are_never_valid_and_never_only_too_long() {
        TestRunner::deterministic()
            .run(&invalid_database_name(), |bad| {
                prop_assert!(!matches!(bad, BadDatabaseName::TooLong(_)));
                if let Some(name) = bad.body()["name"].as_str() {
                    prop_assert!(
                        name.is_empty()
                            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    );
                    prop_assert!(!DatabaseName::is_valid(name));
                }
                Ok(())
            })
            .expect("forbidden names are forbidden by the document");
    }

    #[test]
    fn too_long_database_names_are_valid_characters_beyond_48() {
        TestRunner::deterministic()
            .run(&too_long_database_name(), |bad| {
                let name = bad.body()["name"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_default();
                prop_assert!(name.len() > 48);
                prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
                Ok(())
            })
            .expect("too-long names differ only in length");
    }

    #[test]
    fn invalid_commands_are_missing_or_blank() {
        TestRunner::deterministic()
            .run(&invalid_command(), |bad| {
                let command = bad.body()["command"].as_str().map(str::to_owned);
                prop_assert!(command.is_none_or(|c| c.trim().is_empty()));
                Ok(())
            })
            .expect("invalid commands are invalid");
    }

    #[test]
    fn invalid_actions_are_never_valid() {
        TestRunner::deterministic()
            .run(&invalid_power(), |power| {
                let action = power.body()["action"].as_str().map(str::to_owned);
                prop_assert!(
                    action.is_none_or(|a| PowerAction::ALL.iter().all(|v| v.as_str() != a))
                );
                Ok(())
            })
            .expect("invalid actions are invalid");
    }
}
