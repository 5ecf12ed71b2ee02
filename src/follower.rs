//! `sidecar haproxy --from URL`: a HAProxy manager outside the cluster. It follows another
//! node's `/api/watch` stream and manages the local HAProxy with the same code as a node does
//! (README, "HAProxy"), so HAProxy can run (and be redeployed) in a container of its own.
//!
//! The `HAPROXY_*` settings come from the environment as for a node; `HAPROXY_DISABLE` is
//! ignored (this mode exists only to manage HAProxy).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use actix::prelude::*;
use clap::Parser;
use slog::{Logger, crit, info};

use crate::actors::haproxy_manager::{HaproxyManager, HaproxySettings, SUBSYSTEM};
use crate::actors::watch_follower::WatchFollower;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{self, Cli, Config};
use crate::logging;
use crate::messages::supervisor::ShutdownSupervisor;
use crate::supervisor::{RestartPolicy, Supervisor};

/// The `sidecar haproxy` command line.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "sidecar haproxy",
    about = "Manage the local HAProxy from another node's watch stream"
)]
pub struct FollowerCli {
    /// The HTTP API of the node to follow, e.g. http://10.0.0.5:7777.
    #[arg(long, value_name = "URL")]
    pub from: String,
}

/// Runs the follower when `args` (the whole command line) start with `haproxy`; `None`
/// otherwise (the caller runs a node).
pub fn run_if_asked(args: &[OsString], env: &BTreeMap<String, String>) -> Option<ExitCode> {
    if args.get(1).is_none_or(|a| a != "haproxy") {
        return None;
    }
    let cli = match FollowerCli::try_parse_from(args.iter().skip(1)) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return Some(ExitCode::from(if err.use_stderr() { 2 } else { 0 }));
        }
    };
    let config = match config::load(&Cli::default(), env) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("sidecar haproxy: {err}");
            return Some(ExitCode::from(2));
        }
    };
    let (log, guard) = logging::init(
        config.sidecar.logging_level,
        config.sidecar.logging_format,
        std::io::stderr(),
        logging::LogBridge::Install,
    );
    let code = run(&cli.from, &config, &log);
    drop(guard);
    Some(code)
}

/// Follows `from` and manages HAProxy until SIGTERM or SIGINT.
fn run(from: &str, config: &Config, log: &Logger) -> ExitCode {
    let system = System::new();
    let supervisor = system.block_on(async { start(from, config, log) });
    info!(log, "HAProxy follower started"; "from" => from);
    let code = crate::node::run_until_signal(system, log, move || async move {
        let _ = supervisor.send(ShutdownSupervisor).await;
    });
    if code != 0 {
        crit!(log, "HAProxy follower stopped"; "exit_code" => code);
    }
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The follower and the manager, supervised.
fn start(from: &str, config: &Config, log: &Logger) -> Addr<Supervisor> {
    let policy = RestartPolicy {
        max_restarts: config.sidecar.max_restarts,
        window: config.sidecar.restart_window,
        ..RestartPolicy::default()
    };
    let mut supervisor = Supervisor::new(policy, log);
    let supervisor_ctx = Context::<Supervisor>::new();
    let (from, lg) = (from.to_owned(), log.clone());
    let follower = supervisor.spawn("watch_follower", move || WatchFollower::new(&from, &lg));
    let settings = HaproxySettings::from_config(&config.haproxy);
    let clock: SharedClock = Arc::new(SystemClock);
    let (report, lg) = (supervisor_ctx.address().recipient(), log.clone());
    supervisor.spawn(SUBSYSTEM, move || {
        let (report, link) = (Some(report.clone()), follower.link());
        HaproxyManager::new(settings.clone(), link, report, Arc::clone(&clock), &lg)
    });
    supervisor_ctx.run(supervisor)
}
