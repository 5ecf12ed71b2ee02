//! The `sidecar` daemon: parse the configuration, start logging, run one node until SIGTERM.
//! Client commands (`sidecar services`, …) go to [`sidecar::client`] instead.
//!
//! Exit codes: 0 after a clean shutdown, 2 for bad configuration or input files, 1 when the
//! environment refuses (a port in use).

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use slog::{crit, info};

use sidecar::config::{self, Cli, NodePlan};
use sidecar::{logging, node};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `sidecar services`, `sidecar watch`…: the command-line client of a node's API.
    if let Some(code) = sidecar::client::run_if_client(&args) {
        return code;
    }
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    // `sidecar haproxy --from URL`: only manage HAProxy, following another node.
    if let Some(code) = sidecar::follower::run_if_asked(&args, &env) {
        return code;
    }
    let cli = Cli::parse_from(args);
    let config = match config::load(&cli, &env) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("sidecar: {err}");
            return ExitCode::from(2);
        }
    };
    let (log, guard) = logging::init(
        config.sidecar.logging_level,
        config.sidecar.logging_format,
        std::io::stderr(),
        logging::LogBridge::Install,
    );
    for line in config.describe() {
        info!(log, "Config"; "setting" => line);
    }
    let plan = match NodePlan::new(&config) {
        Ok(plan) => plan,
        Err(err) => {
            crit!(log, "Cannot start"; "error" => %err);
            drop(guard);
            return ExitCode::from(2);
        }
    };
    let code = node::run(plan, log);
    drop(guard);
    code
}
