//! Running one check: an HTTP GET, a `bash -c` command or nothing at all, under a
//! concurrency permit and a timeout.
//!
//! The I/O half of the HealthChecker; what a result means is decided in [`crate::health`].

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::Semaphore;

use crate::health::{CheckKind, CheckResult, CheckSpec};

/// How many runs are waiting for a permit and how many hold one.
#[derive(Debug, Default)]
pub(super) struct Gauges {
    pub(super) waiting: AtomicUsize,
    pub(super) in_flight: AtomicUsize,
    pub(super) peak_in_flight: AtomicUsize,
}

/// Counts one unit in a gauge while alive.
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn enter(gauge: &'a AtomicUsize) -> Held<'a> {
        gauge.fetch_add(1, Ordering::Relaxed);
        Held(gauge)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Everything a spawned run needs; cheap to clone.
#[derive(Clone, Debug)]
pub(super) struct Runner {
    /// The actor's own HTTP client (`None` if it could not be built).
    pub(super) client: Option<reqwest::Client>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) gauges: Arc<Gauges>,
    pub(super) timeout: Duration,
}

impl Runner {
    /// Waits for a permit, then runs `spec` for at most the timeout.
    pub(super) async fn run(self, spec: CheckSpec) -> CheckResult {
        let waiting = Held::enter(&self.gauges.waiting);
        let Ok(_permit) = self.permits.acquire().await else {
            return CheckResult::Error {
                reason: "health checker is shutting down".into(),
            };
        };
        drop(waiting);
        let in_flight = Held::enter(&self.gauges.in_flight);
        let now = self.gauges.in_flight.load(Ordering::Relaxed);
        self.gauges.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        let result = match spec.kind {
            CheckKind::AlwaysSuccessful => CheckResult::Healthy,
            CheckKind::HttpGet => {
                let get = http_get(self.client.as_ref(), &spec.args);
                (tokio::time::timeout(self.timeout, get).await).unwrap_or(CheckResult::TimedOut)
            }
            CheckKind::External => external(&spec.args, self.timeout).await,
        };
        drop(in_flight);
        result
    }
}

/// The client health checks use: no proxy, a timeout, redirects followed, no idle pool (a
/// check every few seconds gains nothing from keep-alive, and idle connections would pile up
/// per target).
pub(super) fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
}

/// GET `url`: 2xx is healthy, another status sickly, no response an error. The body is
/// never read.
async fn http_get(client: Option<&reqwest::Client>, url: &str) -> CheckResult {
    let Some(client) = client else {
        return CheckResult::Error {
            reason: "no HTTP client".into(),
        };
    };
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => CheckResult::Healthy,
        Ok(response) => CheckResult::Sickly {
            reason: format!("HTTP status {}", response.status().as_u16()),
        },
        Err(err) if err.is_timeout() => CheckResult::TimedOut,
        Err(err) => CheckResult::Error {
            reason: crate::actors::http::error_chain(&err),
        },
    }
}

/// Runs `bash -c <command>` in its own process group: exit 0 is healthy, another exit
/// sickly. At the timeout the whole group is killed.
pub(super) async fn external(command: &str, timeout: Duration) -> CheckResult {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => {
            return CheckResult::Error {
                reason: format!("cannot run bash: {err}"),
            };
        }
    };
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => CheckResult::Healthy,
        Ok(Ok(status)) => CheckResult::Sickly {
            reason: format!("command {status}"),
        },
        Ok(Err(err)) => CheckResult::Error {
            reason: format!("cannot wait for the command: {err}"),
        },
        Err(_) => {
            kill_group(pid).await;
            // Reaps bash (already killed with its group, or killed now).
            let _ = child.kill().await;
            CheckResult::TimedOut
        }
    }
}

/// Kills the process group led by `pid` (the command and anything it started), with bash's
/// builtin `kill` (no `kill` binary needed).
async fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid else { return };
    let _ = Command::new("bash")
        .args(["-c", &format!("kill -KILL -- -{pid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}
