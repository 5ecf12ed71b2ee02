//! Applying one [`Plan`]: runtime-API commands, or write → verify → replace → reload. A
//! failure leaves the previous configuration file in place and the running HAProxy as it
//! was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::process::{cli, run_program, run_shell};
use crate::haproxy::{Plan, RuntimeCommand};

/// How often the master is asked whether a reload happened.
const RELOAD_POLL: Duration = Duration::from_millis(5);

/// Where HAProxy's files are and which commands drive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaproxyControl {
    /// `HAPROXY_CONFIG_FILE`.
    pub config_file: PathBuf,
    /// `HAPROXY_PID_FILE`.
    pub pid_file: PathBuf,
    /// The master CLI socket of the master-worker process the default reload starts.
    pub master_socket: PathBuf,
    /// The admin stats socket (the runtime API), as written into the configuration.
    pub stats_socket: PathBuf,
    /// The HAProxy binary of the default commands.
    pub binary: String,
    /// `HAPROXY_VERIFY_COMMAND`; `None`: `haproxy -c -f <new file>` before it replaces the
    /// old one.
    pub verify_command: Option<String>,
    /// `HAPROXY_RELOAD_COMMAND`; `None`: start HAProxy in master-worker mode, or reload it
    /// through its master socket (listening sockets handed over, no connection refused).
    pub reload_command: Option<String>,
    /// The limit of every command and socket exchange.
    pub timeout: Duration,
}

/// What an application did.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The file was replaced and HAProxy reloaded (or started).
    Reloaded,
    /// The runtime commands were applied (the file rewritten too, unless `file_error`).
    Runtime {
        /// How many commands were sent.
        sent: usize,
        /// Deletions HAProxy refused (servers left parked in maintenance).
        not_deleted: Vec<RuntimeCommand>,
        /// Why the file could not be rewritten, if it could not.
        file_error: Option<String>,
    },
}

/// Applies `plan` (never [`Plan::Nothing`]) with the rendered `text`.
pub(super) async fn execute(
    control: &HaproxyControl,
    plan: Plan,
    text: String,
) -> Result<Outcome, String> {
    if let Plan::Runtime(commands) = plan {
        let sent = commands.len();
        if let Ok(not_deleted) = runtime(control, commands).await {
            let file_error = install(control, &text).await.err();
            return Ok(Outcome::Runtime {
                sent,
                not_deleted,
                file_error,
            });
        }
    }
    let previous = install(control, &text).await?;
    if let Err(err) = reload(control).await {
        restore(&control.config_file, previous).await;
        return Err(err);
    }
    Ok(Outcome::Reloaded)
}

/// Sends `commands` in order; a refused deletion is returned (the server stays parked),
/// any other refusal is an error.
async fn runtime(
    control: &HaproxyControl,
    commands: Vec<RuntimeCommand>,
) -> Result<Vec<RuntimeCommand>, String> {
    let mut not_deleted = Vec::new();
    for command in commands {
        let reply = cli(&control.stats_socket, &command.line(), control.timeout).await?;
        if command.succeeded(&reply) {
            continue;
        }
        if !command.may_fail() {
            return Err(format!("'{}': {}", command.line(), reply.trim()));
        }
        not_deleted.push(command);
    }
    Ok(not_deleted)
}

/// Writes `text` beside the configuration file, verifies it and puts it in place; returns
/// the previous content. On failure the previous file is left (or put back) as it was.
async fn install(control: &HaproxyControl, text: &str) -> Result<Option<Vec<u8>>, String> {
    let config = &control.config_file;
    let previous = tokio::fs::read(config).await.ok();
    let candidate = candidate_path(config);
    tokio::fs::write(&candidate, text)
        .await
        .map_err(|e| format!("cannot write {}: {e}", candidate.display()))?;
    match &control.verify_command {
        None => {
            let file = candidate.to_string_lossy();
            let args = ["-c", "-f", &file];
            if let Err(err) = run_program(&control.binary, &args, control.timeout).await {
                let _ = tokio::fs::remove_file(&candidate).await;
                return Err(format!("Failed to verify HAProxy config! ({err})"));
            }
            replace(&candidate, config).await?;
        }
        // A user's command checks the configuration file itself (as in Go): put the new one
        // there, and the old one back if it is refused.
        Some(command) => {
            replace(&candidate, config).await?;
            if let Err(err) = run_shell(command, control.timeout).await {
                restore(config, previous).await;
                return Err(format!("Failed to verify HAProxy config! ({err})"));
            }
        }
    }
    Ok(previous)
}

fn candidate_path(config: &Path) -> PathBuf {
    let name = config
        .file_name()
        .map_or_else(|| "haproxy.cfg".into(), |n| n.to_string_lossy());
    config.with_file_name(format!(".{name}.sidecar-new"))
}

async fn replace(from: &Path, to: &Path) -> Result<(), String> {
    tokio::fs::rename(from, to)
        .await
        .map_err(|e| format!("cannot replace {}: {e}", to.display()))
}

/// Puts `previous` back as the configuration file (atomically), or removes the file when
/// there was none.
async fn restore(config: &Path, previous: Option<Vec<u8>>) {
    match previous {
        Some(bytes) => {
            let candidate = candidate_path(config);
            if tokio::fs::write(&candidate, bytes).await.is_ok() {
                let _ = replace(&candidate, config).await;
            }
        }
        None => {
            let _ = tokio::fs::remove_file(config).await;
        }
    }
}

async fn reload(control: &HaproxyControl) -> Result<(), String> {
    if let Some(command) = &control.reload_command {
        return run_shell(command, control.timeout)
            .await
            .map_err(|e| format!("Failed to reload HAProxy config ({e})"));
    }
    let timeout = control.timeout;
    let before = cli(&control.master_socket, "show proc", timeout).await;
    let Some(before) = before.ok().as_deref().and_then(master_reloads) else {
        return start_master(control).await;
    };
    // The master re-executes itself at once: the connection ends without a reply.
    let _ = cli(&control.master_socket, "reload", timeout).await;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let now = cli(&control.master_socket, "show proc", timeout).await;
        if let Some((reloads, failed)) = now.ok().as_deref().and_then(master_reloads) {
            if reloads > before.0 && failed > before.1 {
                return Err("HAProxy refused to reload; the previous workers keep serving".into());
            }
            if reloads > before.0 {
                return Ok(());
            }
        }
        tokio::time::sleep(RELOAD_POLL).await;
    }
    Err(format!("HAProxy did not reload within {timeout:?}"))
}

/// `haproxy -W -D -S <master socket> -p <pid file> -f <config file>`: master-worker mode,
/// in the background; exits non-zero when the configuration cannot be served.
async fn start_master(control: &HaproxyControl) -> Result<(), String> {
    let (master, pid, config) = (
        control.master_socket.to_string_lossy(),
        control.pid_file.to_string_lossy(),
        control.config_file.to_string_lossy(),
    );
    let args = ["-W", "-D", "-S", &master, "-p", &pid, "-f", &config];
    run_program(&control.binary, &args, control.timeout)
        .await
        .map_err(|e| format!("Failed to start HAProxy ({e})"))
}

/// The master's reload count and failed-reload count from its `show proc` reply:
/// `<pid> master <reloads> [failed: <n>] <uptime> <version>`.
pub(super) fn master_reloads(show_proc: &str) -> Option<(u64, u64)> {
    let line = show_proc
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("master"))?;
    let reloads = line.split_whitespace().nth(2)?.parse().ok()?;
    let failed = line
        .split("[failed:")
        .nth(1)?
        .split(']')
        .next()?
        .trim()
        .parse()
        .ok()?;
    Some((reloads, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_reload_counts_are_read_from_show_proc() {
        let reply = "#<PID>          <type>          <reloads>       <uptime>        <version>\n\
            11866           master          2 [failed: 1]   0d00h10m15s     2.6.12-1+deb12u4\n\
            # workers\n\
            8419            worker          1               0d00h00m05s     2.6.12-1+deb12u4\n";
        assert_eq!(master_reloads(reply), Some((2, 1)));
        assert_eq!(master_reloads("Unknown command.\n"), None);
    }
}
