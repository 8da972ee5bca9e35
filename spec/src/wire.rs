//! String-shaped wire values whose format lives in the generated schema.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Declares a transparent string newtype whose JSON Schema carries a pattern (and optional
/// format), so that the constraint is visible to every consumer of the generated schemas.
macro_rules! wire_string {
    ($(#[$meta:meta])* $name:ident, pattern = $pattern:expr $(, format = $format:literal)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The regular expression every value of this type matches.
            pub const PATTERN: &'static str = $pattern;

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                #[allow(unused_mut)]
                let mut schema = schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                });
                $(schema.insert("format".into(), $format.into());)?
                schema
            }
        }
    };
}

pub(crate) use wire_string;

wire_string! {
    /// An RFC 3339 UTC timestamp with a `Z` suffix, e.g. `2026-03-15T10:00:00Z`.
    Timestamp,
    pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$",
    format = "date-time"
}

/// Constant `true` or `false` on the wire, with a `const` schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag<const VALUE: bool>;

impl<const VALUE: bool> Serialize for Flag<VALUE> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(VALUE)
    }
}

impl<'de, const VALUE: bool> Deserialize<'de> for Flag<VALUE> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = bool::deserialize(deserializer)?;
        if value == VALUE {
            Ok(Flag)
        } else {
            Err(serde::de::Error::custom(format_args!("expected `{VALUE}`")))
        }
    }
}

impl<const VALUE: bool> JsonSchema for Flag<VALUE> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        if VALUE { "True" } else { "False" }.into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "boolean", "const": VALUE })
    }
}
