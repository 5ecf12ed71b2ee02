//! The one table of environment variables (docs/COMPATIBILITY.md §2) and the Go-envconfig parsing
//! of each kind of value.
//!
//! Pure: values come in as strings, typed figment values go out; nothing here reads the
//! process environment.

use figment::value::Value;

use super::duration::{format_go_duration, parse_go_duration};
use super::values::{LogLevel, parse_discovery, split_list};

/// How a variable's text is parsed (Go envconfig rules, with the fixes noted per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    /// Taken verbatim; empty stays empty.
    Str,
    /// Taken verbatim; empty means unset (`None`).
    OptStr,
    /// Comma list; elements trimmed, empty elements dropped (Go kept both).
    List,
    /// Comma list of discovery methods (`docker`, `static`, `kubernetes_api`).
    Methods,
    /// Go `strconv.ParseBool`.
    Bool,
    /// Go `time.ParseDuration` (negative refused).
    Duration,
    /// Go integer syntax (`0x`, `0o`, `0b`, leading `0` octal, `_` separators), 0..=65535.
    U16,
    /// Go integer syntax, 0..=4294967295.
    U32,
    /// Go integer syntax, 0..=usize::MAX.
    Usize,
    /// `debug`/`info`/`warn`/`error`, case-insensitive, empty = info.
    Level,
}

/// One supported environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    /// Section (TOML table) of the target field, e.g. `sidecar`.
    pub section: &'static str,
    /// Field (TOML key) inside the section, e.g. `bind_port`.
    pub field: &'static str,
    /// How the value is parsed.
    pub kind: EnvKind,
    /// The prefixed Go name, looked up first, e.g. `SIDECAR_BIND_PORT`.
    pub name: &'static str,
    /// The bare Go fallback name, looked up when `name` is unset, e.g. `BIND_PORT`.
    pub bare: Option<&'static str>,
}

const fn var(
    section: &'static str,
    field: &'static str,
    kind: EnvKind,
    name: &'static str,
    bare: Option<&'static str>,
) -> EnvVar {
    EnvVar {
        section,
        field,
        kind,
        name,
        bare,
    }
}

use EnvKind::{Bool, Duration as Dur, Level, List, Methods, OptStr, Str, U16, U32, Usize};

/// Every supported variable, in Go Sidecar's order (docs/COMPATIBILITY.md §2), then the new ones
/// (no bare fallback, because `BIND_IP`, `CONFIG_FILE`… already mean something else in Go). Bare
/// `BIND_IP` feeds both HAProxy and Envoy, bare `CONFIG_FILE` both the static file and HAProxy's
/// file, and a bare `USER` becomes the HAProxy user: Go does the same
/// (docs/COMPATIBILITY.md §13.1).
#[rustfmt::skip]
pub static ENV_VARS: &[EnvVar] = &[
    var("sidecar", "logging_level", Level, "SIDECAR_LOGGING_LEVEL", Some("LOGGING_LEVEL")),
    var("sidecar", "logging_format", Str, "SIDECAR_LOGGING_FORMAT", Some("LOGGING_FORMAT")),
    var("sidecar", "discovery", Methods, "SIDECAR_DISCOVERY", Some("DISCOVERY")),
    var("sidecar", "seeds", List, "SIDECAR_SEEDS", Some("SEEDS")),
    var("sidecar", "cluster_name", Str, "SIDECAR_CLUSTER_NAME", Some("CLUSTER_NAME")),
    var("sidecar", "bind_port", U16, "SIDECAR_BIND_PORT", Some("BIND_PORT")),
    var("sidecar", "advertise_ip", OptStr, "SIDECAR_ADVERTISE_IP", Some("ADVERTISE_IP")),
    var("sidecar", "exclude_ips", List, "SIDECAR_EXCLUDE_IPS", Some("EXCLUDE_IPS")),
    var("sidecar", "stats_addr", OptStr, "SIDECAR_STATS_ADDR", Some("STATS_ADDR")),
    var("sidecar", "push_pull_interval", Dur, "SIDECAR_PUSH_PULL_INTERVAL", Some("PUSH_PULL_INTERVAL")),
    var("sidecar", "gossip_messages", U32, "SIDECAR_GOSSIP_MESSAGES", Some("GOSSIP_MESSAGES")),
    var("sidecar", "gossip_interval", Dur, "SIDECAR_GOSSIP_INTERVAL", Some("GOSSIP_INTERVAL")),
    var("sidecar", "handoff_queue_depth", U32, "SIDECAR_HANDOFF_QUEUE_DEPTH", Some("HANDOFF_QUEUE_DEPTH")),
    var("sidecar", "default_check_endpoint", Str, "SIDECAR_DEFAULT_CHECK_ENDPOINT", Some("DEFAULT_CHECK_ENDPOINT")),
    var("sidecar", "debug", Bool, "SIDECAR_DEBUG", Some("DEBUG")),
    var("sidecar", "discovery_sleep_interval", Dur, "SIDECAR_DISCOVERY_SLEEP_INTERVAL", Some("DISCOVERY_SLEEP_INTERVAL")),
    var("docker", "url", OptStr, "DOCKER_URL", Some("URL")),
    var("static_discovery", "config_file", Str, "STATIC_CONFIG_FILE", Some("CONFIG_FILE")),
    var("services", "namer", Str, "SERVICES_NAMER", Some("NAMER")),
    var("services", "name_match", Str, "SERVICES_NAME_MATCH", Some("NAME_MATCH")),
    var("services", "name_label", Str, "SERVICES_NAME_LABEL", Some("NAME_LABEL")),
    var("listeners", "urls", List, "LISTENERS_URLS", Some("URLS")),
    var("haproxy", "disable", Bool, "HAPROXY_DISABLE", Some("DISABLE")),
    var("haproxy", "reload_command", OptStr, "HAPROXY_RELOAD_COMMAND", Some("RELOAD_COMMAND")),
    var("haproxy", "verify_command", OptStr, "HAPROXY_VERIFY_COMMAND", Some("VERIFY_COMMAND")),
    var("haproxy", "bind_ip", Str, "HAPROXY_BIND_IP", Some("BIND_IP")),
    var("haproxy", "template_file", Str, "HAPROXY_TEMPLATE_FILE", Some("TEMPLATE_FILE")),
    var("haproxy", "config_file", Str, "HAPROXY_CONFIG_FILE", Some("CONFIG_FILE")),
    var("haproxy", "pid_file", Str, "HAPROXY_PID_FILE", Some("PID_FILE")),
    var("haproxy", "user", Str, "HAPROXY_USER", Some("USER")),
    var("haproxy", "group", Str, "HAPROXY_GROUP", Some("GROUP")),
    var("haproxy", "use_hostnames", Bool, "HAPROXY_USE_HOSTNAMES", Some("USE_HOSTNAMES")),
    var("envoy", "use_grpc_api", Bool, "ENVOY_USE_GRPC_API", Some("USE_GRPC_API")),
    var("envoy", "bind_ip", Str, "ENVOY_BIND_IP", Some("BIND_IP")),
    var("envoy", "use_hostnames", Bool, "ENVOY_USE_HOSTNAMES", Some("USE_HOSTNAMES")),
    var("envoy", "grpc_port", U16, "ENVOY_GRPC_PORT", Some("GRPC_PORT")),
    var("k8s", "kube_api_ip", Str, "K8S_KUBE_API_IP", Some("KUBE_API_IP")),
    var("k8s", "kube_api_port", U16, "K8S_KUBE_API_PORT", Some("KUBE_API_PORT")),
    var("k8s", "namespace", Str, "K8S_NAMESPACE", Some("NAMESPACE")),
    var("k8s", "kube_timeout", Dur, "K8S_KUBE_TIMEOUT", Some("KUBE_TIMEOUT")),
    var("k8s", "creds_path", Str, "K8S_CREDS_PATH", Some("CREDS_PATH")),
    var("k8s", "announce_all_nodes", Bool, "K8S_ANNOUNCE_ALL_NODES", Some("ANNOUNCE_ALL_NODES")),
    // New in the Rust rebuild: no bare fallback.
    var("sidecar", "hostname", OptStr, "SIDECAR_HOSTNAME", None),
    var("sidecar", "bind_ip", Str, "SIDECAR_BIND_IP", None),
    var("sidecar", "http_bind_ip", Str, "SIDECAR_HTTP_BIND_IP", None),
    var("sidecar", "http_port", U16, "SIDECAR_HTTP_PORT", None),
    var("sidecar", "health_concurrency", Usize, "SIDECAR_HEALTH_CONCURRENCY", None),
    var("sidecar", "max_watchers", Usize, "SIDECAR_MAX_WATCHERS", None),
    var("sidecar", "health_interval", Dur, "SIDECAR_HEALTH_INTERVAL", None),
    var("sidecar", "health_timeout", Dur, "SIDECAR_HEALTH_TIMEOUT", None),
    var("sidecar", "health_rise", Usize, "SIDECAR_HEALTH_RISE", None),
    var("sidecar", "health_fall", Usize, "SIDECAR_HEALTH_FALL", None),
    var("sidecar", "admin_token", OptStr, "SIDECAR_ADMIN_TOKEN", None),
    var("sidecar", "max_restarts", U32, "SIDECAR_MAX_RESTARTS", None),
    var("sidecar", "restart_window", Dur, "SIDECAR_RESTART_WINDOW", None),
    var("sidecar", "gossip_keys", List, "SIDECAR_GOSSIP_KEYS", None),
    var("sidecar", "max_clock_skew", Dur, "SIDECAR_MAX_CLOCK_SKEW", None),
    var("static_discovery", "reload_interval", Dur, "STATIC_RELOAD_INTERVAL", None),
    var("docker", "host", OptStr, "DOCKER_HOST", None),
    var("docker", "tls_verify", OptStr, "DOCKER_TLS_VERIFY", None),
    var("docker", "cert_path", OptStr, "DOCKER_CERT_PATH", None),
    var("envoy", "grpc_bind_ip", Str, "ENVOY_GRPC_BIND_IP", None),
];

/// `SIDECAR_CONFIG_FILE` (no bare fallback): path of the TOML file, if `--config` is not given.
pub const CONFIG_FILE_VAR: &str = "SIDECAR_CONFIG_FILE";

impl EnvKind {
    /// Parses `text` into the value the field deserialises from; `Err` is the reason shown
    /// after `invalid NAME="text": `.
    pub fn parse(self, text: &str) -> Result<Value, String> {
        match self {
            Str | OptStr => Ok(Value::from(text)),
            List => Ok(Value::from(split_list(text))),
            Methods => parse_discovery(text)
                .map(|methods| Value::from(methods.iter().map(|m| m.as_str()).collect::<Vec<_>>())),
            Bool => parse_go_bool(text).map(Value::from).ok_or_else(|| {
                "expected a boolean (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)"
                    .to_owned()
            }),
            Dur => parse_go_duration(text)
                .map(|d| Value::from(format_go_duration(d)))
                .map_err(|e| e.to_string()),
            U16 => parse_unsigned(text, u64::from(u16::MAX)),
            U32 => parse_unsigned(text, u64::from(u32::MAX)),
            Usize => parse_unsigned(text, u64::try_from(usize::MAX).unwrap_or(u64::MAX)),
            Level => text
                .parse::<LogLevel>()
                .map(|l| Value::from(l.as_str()))
                .map_err(str::to_owned),
        }
    }
}

/// Go `strconv.ParseBool`.
pub(crate) fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn parse_unsigned(text: &str, max: u64) -> Result<Value, String> {
    let value = parse_go_int(text).ok_or_else(|| "expected an integer".to_owned())?;
    u64::try_from(value)
        .ok()
        .filter(|v| *v <= max)
        .map(Value::from)
        .ok_or_else(|| format!("out of range (expected 0 to {max})"))
}

/// Go `strconv.ParseInt(text, 0, 64)` syntax: optional sign, `0x`/`0o`/`0b` prefix or a
/// leading `0` for octal, `_` only between digits (or after a prefix). `None` on bad syntax
/// or overflow of i128.
pub(crate) fn parse_go_int(text: &str) -> Option<i128> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    let magnitude = parse_digits(digits, radix, prefixed)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Digits in `radix` with Go's underscore rule; `after_prefix` lets a leading `_` follow the
/// base prefix (`0x_ff`).
fn parse_digits(digits: &str, radix: u32, after_prefix: bool) -> Option<i128> {
    let mut value: i128 = 0;
    let mut previous_was_digit = after_prefix;
    let mut seen_digit = false;
    for c in digits.chars() {
        if c == '_' {
            if !previous_was_digit {
                return None;
            }
            previous_was_digit = false;
            continue;
        }
        let digit = c.to_digit(radix)?;
        value = value
            .checked_mul(i128::from(radix))?
            .checked_add(i128::from(digit))?;
        previous_was_digit = true;
        seen_digit = true;
    }
    (seen_digit && previous_was_digit).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_integer_syntax_detects_the_base() {
        let table = [
            ("7946", Some(7946)),
            ("0x1F", Some(31)),
            ("0o17", Some(15)),
            ("017", Some(15)),
            ("0b101", Some(5)),
            ("0", Some(0)),
            ("+12", Some(12)),
            ("-3", Some(-3)),
            ("1_000", Some(1000)),
            ("0x_ff", Some(255)),
            ("08", None),
            ("1__0", None),
            ("_1", None),
            ("1_", None),
            ("0x", None),
            ("", None),
            ("abc", None),
            (" 1", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse_go_int(text), expected, "{text:?}");
        }
    }

    #[test]
    fn integers_are_range_checked_for_the_target_type() {
        assert_eq!(U16.parse("65535"), Ok(Value::from(65535_u64)));
        assert_eq!(
            U16.parse("65536"),
            Err("out of range (expected 0 to 65535)".into())
        );
        assert_eq!(
            U32.parse("-1"),
            Err("out of range (expected 0 to 4294967295)".into())
        );
        assert_eq!(Usize.parse("x"), Err("expected an integer".into()));
    }

    #[test]
    fn booleans_accept_exactly_the_go_parse_bool_set() {
        for yes in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(yes), Some(true));
        }
        for no in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(no), Some(false));
        }
        for bad in ["", "yes", "tRuE", " true"] {
            assert_eq!(parse_go_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_variable_name_appears_once() {
        let mut names: Vec<_> = ENV_VARS.iter().map(|v| v.name).collect();
        names.push(CONFIG_FILE_VAR);
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
