//! Small value types and serde helpers shared by every configuration layer: the log level and
//! format, the discovery methods, comma lists and "empty means unset" strings.
//!
//! Pure: no environment, file or clock access here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

/// `SIDECAR_LOGGING_LEVEL`: the minimum level that is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// `debug`: per-decision detail.
    Debug,
    /// `info` (the default): lifecycle events.
    #[default]
    Info,
    /// `warn`: unexpected but recovered.
    Warn,
    /// `error`: an operator must act.
    Error,
}

impl LogLevel {
    /// The lower-case name used in the environment and the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// The reason given when a log level is not recognised.
pub(crate) const LOG_LEVEL_EXPECTED: &str = "expected one of debug, info, warn, error";

impl FromStr for LogLevel {
    type Err = &'static str;

    /// Case-insensitive; surrounding blanks ignored; empty means `info` (as in Go).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "info" => Ok(Self::Info),
            "debug" => Ok(Self::Debug),
            "warn" => Ok(Self::Warn),
            "error" => Ok(Self::Error),
            _ => Err(LOG_LEVEL_EXPECTED),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<LogLevel> for slog::Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Debug => slog::Level::Debug,
            LogLevel::Info => slog::Level::Info,
            LogLevel::Warn => slog::Level::Warning,
            LogLevel::Error => slog::Level::Error,
        }
    }
}

impl Serialize for LogLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|reason| D::Error::custom(format!("invalid log level {text:?}: {reason}")))
    }
}

/// `SIDECAR_LOGGING_FORMAT`: how log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Anything but `json` (the default): human-readable text lines.
    #[default]
    Text,
    /// Exactly `json`: one JSON object per line.
    Json,
}

impl LogFormat {
    /// `json` for [`LogFormat::Json`], `text` otherwise.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }

    /// Go's rule: the value `json` (exactly) selects JSON, any other value selects text.
    pub fn from_go(text: &str) -> Self {
        if text == "json" {
            Self::Json
        } else {
            Self::Text
        }
    }
}

impl Serialize for LogFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LogFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_go(&String::deserialize(deserializer)?))
    }
}

/// A `SIDECAR_DISCOVERY` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiscoveryMethod {
    /// `docker`: containers of the Docker engine.
    Docker,
    /// `static`: the static JSON file.
    Static,
    /// `kubernetes_api`: accepted for compatibility; not available in this version (the node
    /// warns at start and runs without it).
    KubernetesApi,
}

impl DiscoveryMethod {
    /// The name used in the environment and the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Static => "static",
            Self::KubernetesApi => "kubernetes_api",
        }
    }
}

impl FromStr for DiscoveryMethod {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "docker" => Ok(Self::Docker),
            "static" => Ok(Self::Static),
            "kubernetes_api" => Ok(Self::KubernetesApi),
            other => Err(format!(
                "unknown discovery method {other:?} (expected docker, static or kubernetes_api)"
            )),
        }
    }
}

impl fmt::Display for DiscoveryMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for DiscoveryMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Parses a comma list of discovery methods (`"docker, static"`); the error names the first
/// unknown one.
pub fn parse_discovery(text: &str) -> Result<Vec<DiscoveryMethod>, String> {
    split_list(text).iter().map(|item| item.parse()).collect()
}

/// `deserialize_with` for the discovery list: an array or a comma string of method names.
pub(crate) fn discovery_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<DiscoveryMethod>, D::Error> {
    string_list(d)?
        .iter()
        .map(|item| item.parse().map_err(D::Error::custom))
        .collect()
}

/// Splits a comma list, trims each element and drops empty ones: `"docker, static"` →
/// `["docker", "static"]`, `""` → `[]`. (Go kept the blanks and the empty elements.)
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A list written either as an array or as one comma-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ListForm {
    Many(Vec<String>),
    One(String),
}

/// `deserialize_with` for `Vec<String>` fields: an array or a comma string, elements trimmed,
/// empty elements dropped.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match ListForm::deserialize(d)? {
        ListForm::One(text) => split_list(&text),
        ListForm::Many(items) => items.iter().flat_map(|item| split_list(item)).collect(),
    })
}

/// `deserialize_with` for `Option<String>` fields where an empty string means "unset".
pub(crate) fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|text| !text.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_is_case_insensitive_and_empty_means_info() {
        assert_eq!("DEBUG".parse(), Ok(LogLevel::Debug));
        assert_eq!(" Warn ".parse(), Ok(LogLevel::Warn));
        assert_eq!("".parse(), Ok(LogLevel::Info));
        assert_eq!("error".parse(), Ok(LogLevel::Error));
        assert_eq!("verbose".parse::<LogLevel>(), Err(LOG_LEVEL_EXPECTED));
    }

    #[test]
    fn only_lower_case_json_selects_json_logs() {
        assert_eq!(LogFormat::from_go("json"), LogFormat::Json);
        assert_eq!(LogFormat::from_go("JSON"), LogFormat::Text);
        assert_eq!(LogFormat::from_go(""), LogFormat::Text);
    }

    #[test]
    fn comma_lists_are_trimmed_and_empty_elements_dropped() {
        assert_eq!(split_list("docker, static"), ["docker", "static"]);
        assert_eq!(split_list(" a ,, b ,"), ["a", "b"]);
        assert!(split_list("").is_empty());
        assert!(split_list(" , ").is_empty());
    }
}
