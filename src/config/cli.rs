//! Command-line flags (docs/COMPATIBILITY.md §3, plus the new ones), the top configuration layer.
//!
//! Only flags that were given (and are not empty) override; repeatable flags replace the
//! whole list. Pure apart from clap's own `--help`/`--version` output in `main`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use super::ConfigError;
use super::sources::Layer;
use super::values::{LogLevel, parse_discovery, split_list};

/// The `sidecar` command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Parser)]
#[command(
    name = "sidecar",
    version,
    about = "Peer-to-peer service discovery daemon",
    after_help = "Client commands, to ask a running node (see `sidecar services --help`):\n  \
                  sidecar [--node URL] [--json] services | service NAME | members | watch | \
                  drain ID | subsystems | restart NAME | gossip"
)]
pub struct Cli {
    /// Published IP (replaces SIDECAR_ADVERTISE_IP).
    #[arg(short = 'a', long, value_name = "IP")]
    pub advertise_ip: Option<String>,
    /// Seed host to join; repeat for more (replaces the whole SIDECAR_SEEDS list).
    #[arg(short = 'c', long = "cluster-ip", value_name = "HOST")]
    pub cluster_ips: Vec<String>,
    /// Cluster name (replaces SIDECAR_CLUSTER_NAME).
    #[arg(short = 'n', long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Discovery method; repeat for more (replaces the whole SIDECAR_DISCOVERY list).
    #[arg(short = 'd', long = "discover", value_name = "METHOD")]
    pub discover: Vec<String>,
    /// Logging level: debug, info, warn or error (replaces SIDECAR_LOGGING_LEVEL).
    #[arg(short = 'l', long, value_name = "LEVEL")]
    pub logging_level: Option<String>,
    /// Name this node publishes (replaces SIDECAR_HOSTNAME).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Address the gossip sockets bind (replaces SIDECAR_BIND_IP).
    #[arg(long, value_name = "IP")]
    pub bind_ip: Option<String>,
    /// Address the HTTP API binds (replaces SIDECAR_HTTP_BIND_IP).
    #[arg(long, value_name = "IP")]
    pub http_bind_ip: Option<String>,
    /// HTTP API port, 0 = any free port (replaces SIDECAR_HTTP_PORT).
    #[arg(long, value_name = "PORT")]
    pub http_port: Option<u16>,
    /// TOML configuration file (replaces SIDECAR_CONFIG_FILE); it must exist.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Accepted so Go-era command lines still start; does nothing (Go wrote a CPU profile).
    #[arg(short = 'p', long)]
    pub cpuprofile: bool,
}

impl Cli {
    /// Parses `args` (the first element is the program name), as `main` does with
    /// `std::env::args_os()`. `--help` and `--version` come back as [`ConfigError::Cli`];
    /// `main` prints them with `clap::Error::exit`.
    pub fn from_args<I, T>(args: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Ok(Self::try_parse_from(args)?)
    }

    /// The flags layer: one override per flag that was given and is not empty.
    pub fn layer(&self) -> Result<Layer, ConfigError> {
        let mut layer = Layer::new("command line");
        let strings = [
            ("advertise_ip", &self.advertise_ip),
            ("cluster_name", &self.cluster_name),
            ("hostname", &self.hostname),
            ("bind_ip", &self.bind_ip),
            ("http_bind_ip", &self.http_bind_ip),
        ];
        for (field, value) in strings {
            if let Some(text) = value.as_deref().filter(|text| !text.is_empty()) {
                layer.set("sidecar", field, text);
            }
        }
        let seeds: Vec<String> = self
            .cluster_ips
            .iter()
            .flat_map(|v| split_list(v))
            .collect();
        if !seeds.is_empty() {
            layer.set("sidecar", "seeds", seeds);
        }
        let methods =
            parse_discovery(&self.discover.join(",")).map_err(|reason| ConfigError::Invalid {
                var: "--discover".to_owned(),
                value: self.discover.join(","),
                reason,
            })?;
        if !methods.is_empty() {
            let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            layer.set("sidecar", "discovery", names);
        }
        if let Some(port) = self.http_port {
            layer.set("sidecar", "http_port", u64::from(port));
        }
        if let Some(text) = self
            .logging_level
            .as_deref()
            .filter(|text| !text.is_empty())
        {
            let level: LogLevel = text.parse().map_err(|reason: &str| ConfigError::Invalid {
                var: "--logging-level".to_owned(),
                value: text.to_owned(),
                reason: reason.to_owned(),
            })?;
            layer.set("sidecar", "logging_level", level.as_str());
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use figment::value::Value;

    use super::*;

    fn layer(args: &[&str]) -> Layer {
        let argv = std::iter::once("sidecar").chain(args.iter().copied());
        Cli::from_args(argv).unwrap().layer().unwrap()
    }

    #[test]
    fn no_flags_means_no_overrides() {
        assert!(layer(&[]).is_empty());
    }

    #[test]
    fn repeatable_flags_collect_every_value() {
        let layer = layer(&[
            "-c",
            "a",
            "--cluster-ip",
            "b:7946",
            "-d",
            "static",
            "-d",
            "docker",
        ]);
        assert_eq!(
            layer.get("sidecar", "seeds"),
            Some(&Value::from(vec!["a", "b:7946"]))
        );
        assert_eq!(
            layer.get("sidecar", "discovery"),
            Some(&Value::from(vec!["static", "docker"]))
        );
    }

    #[test]
    fn empty_flags_do_not_override() {
        let layer = layer(&["--advertise-ip", "", "-c", "", "-l", ""]);
        assert!(layer.is_empty());
    }

    #[test]
    fn short_flags_match_go() {
        let layer = layer(&["-a", "10.1.1.1", "-n", "prod", "-l", "DEBUG", "-p"]);
        assert_eq!(
            layer.get("sidecar", "advertise_ip"),
            Some(&Value::from("10.1.1.1"))
        );
        assert_eq!(
            layer.get("sidecar", "cluster_name"),
            Some(&Value::from("prod"))
        );
        assert_eq!(
            layer.get("sidecar", "logging_level"),
            Some(&Value::from("debug"))
        );
    }

    #[test]
    fn bad_logging_level_flag_is_named_in_the_error() {
        let cli = Cli::from_args(["sidecar", "-l", "loud"]).unwrap();
        let error = cli.layer().unwrap_err().to_string();
        assert!(
            error.starts_with(r#"invalid --logging-level="loud""#),
            "{error}"
        );
    }

    #[test]
    fn unknown_flags_are_errors() {
        assert!(matches!(
            Cli::from_args(["sidecar", "--nope"]),
            Err(ConfigError::Cli(_))
        ));
    }
}
