//! One health check: its kind and arguments ([`CheckSpec`]), its status machine ([`Check`],
//! docs/COMPATIBILITY.md §11) and the default check of a service (same section).
//!
//! Pure: nothing here runs a check; the HealthChecker actor does, and feeds the
//! [`CheckResult`] back in.

use std::time::Duration;

use crate::catalog::{Service, ServiceStatus};

/// How many results in a row change an established status, as HAProxy's own `rise` and
/// `fall`. The defaults (1 and 1) are Go's rule: every result counts at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Healthy results in a row before a service that is not ALIVE is ALIVE again.
    pub rise: u32,
    /// Failed results in a row before an ALIVE service stops being ALIVE.
    pub fall: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { rise: 1, fall: 1 }
    }
}

/// Quick re-checks of a new service whose first run failed (a server that listens a moment
/// after its container started): the failure is held back and the check run again after
/// `first`, then twice as long each time, while the waits add up to at most `budget`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartupRecheck {
    /// The first wait.
    pub first: Duration,
    /// The most the waits add up to before the failure is shown.
    pub budget: Duration,
}

/// How a check is run (docs/COMPATIBILITY.md §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// HTTP GET of the args (a URL): 2xx is healthy.
    HttpGet,
    /// `bash -c <args>`: exit status 0 is healthy.
    External,
    /// Always healthy.
    AlwaysSuccessful,
}

impl CheckKind {
    /// The kind named `name`; unknown names mean `HttpGet`, as in Go.
    pub fn from_name(name: &str) -> CheckKind {
        match name {
            "External" => CheckKind::External,
            "AlwaysSuccessful" => CheckKind::AlwaysSuccessful,
            _ => CheckKind::HttpGet,
        }
    }

    /// The Go name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::HttpGet => "HttpGet",
            CheckKind::External => "External",
            CheckKind::AlwaysSuccessful => "AlwaysSuccessful",
        }
    }
}

/// The status of a check (docs/COMPATIBILITY.md §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckStatus {
    /// The last run passed.
    Healthy,
    /// The last run failed, fewer than `max_count` times in a row.
    Sickly,
    /// Failed `max_count` times in a row (in production: failed once).
    Failed,
    /// The check could not run (transport error, timeout).
    Unknown,
}

impl CheckStatus {
    /// The status of a service with this check: Healthy and Sickly are ALIVE, Unknown is
    /// UNKNOWN, Failed is UNHEALTHY.
    pub fn service_status(self) -> ServiceStatus {
        match self {
            CheckStatus::Healthy | CheckStatus::Sickly => ServiceStatus::Alive,
            CheckStatus::Unknown => ServiceStatus::Unknown,
            CheckStatus::Failed => ServiceStatus::Unhealthy,
        }
    }
}

/// The status of a service with the given check; UNKNOWN when it has none.
pub fn service_status(check: Option<CheckStatus>) -> ServiceStatus {
    check.map_or(ServiceStatus::Unknown, CheckStatus::service_status)
}

/// What one run of a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// It passed.
    Healthy,
    /// It ran and failed (non-2xx status, non-zero exit).
    Sickly {
        /// What failed, for the logs.
        reason: String,
    },
    /// It could not run (connection refused, DNS, spawn failure).
    Error {
        /// The real cause, for the logs.
        reason: String,
    },
    /// It did not finish within the timeout.
    TimedOut,
}

impl CheckResult {
    /// Why the run failed; `None` when it passed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            CheckResult::Healthy => None,
            CheckResult::Sickly { reason } | CheckResult::Error { reason } => Some(reason),
            CheckResult::TimedOut => Some("timed out"),
        }
    }
}

/// What a check runs: its kind and its (already rendered) arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSpec {
    /// How it runs.
    pub kind: CheckKind,
    /// The URL or command.
    pub args: String,
}

/// A check's status before and after one result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The status before the result.
    pub before: CheckStatus,
    /// The status after it.
    pub after: CheckStatus,
}

impl Transition {
    /// Whether the status changed.
    pub fn changed(self) -> bool {
        self.before != self.after
    }
}

/// A check and its status machine (Go's `Check.UpdateStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What it runs.
    pub spec: CheckSpec,
    status: CheckStatus,
    count: u32,
    max_count: u32,
    results: u64,
    last_error: Option<String>,
    thresholds: Thresholds,
    healthy_streak: u32,
    startup: Option<StartupRecheck>,
    startup_waited: Duration,
    startup_next: Duration,
}

impl Check {
    /// A check starting in `initial` status with `max_count` 0 (production: any non-healthy
    /// result makes it FAILED).
    pub fn new(spec: CheckSpec, initial: CheckStatus) -> Check {
        Check {
            spec,
            status: initial,
            count: 0,
            max_count: 0,
            results: 0,
            last_error: None,
            thresholds: Thresholds::default(),
            healthy_streak: 0,
            startup: None,
            startup_waited: Duration::ZERO,
            startup_next: Duration::ZERO,
        }
    }

    /// The same check, changing an established status only after `thresholds` results.
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Check {
        self.thresholds = thresholds;
        self
    }

    /// The same check, re-run quickly while its first results fail (see [`StartupRecheck`]).
    pub fn with_startup_recheck(mut self, recheck: Option<StartupRecheck>) -> Check {
        self.startup = recheck;
        self.startup_next = recheck.map_or(Duration::ZERO, |r| r.first);
        self
    }

    /// Before any result counts: when `result` is a quick failure (not a timeout) of a new
    /// check still within its startup budget, holds it back and says when to run again.
    pub fn defer_first_failure(&mut self, result: &CheckResult) -> Option<Duration> {
        let recheck = self.startup?;
        let quick_failure = matches!(
            result,
            CheckResult::Sickly { .. } | CheckResult::Error { .. }
        );
        let wait = self.startup_next;
        let within = self.startup_waited + wait <= recheck.budget;
        if self.results > 0 || !quick_failure || !within || wait.is_zero() {
            return None;
        }
        self.startup_waited += wait;
        self.startup_next = wait.saturating_mul(2);
        Some(wait)
    }

    /// The same check, FAILED only after `max_count` non-healthy results in a row.
    pub fn with_max_count(mut self, max_count: u32) -> Check {
        self.max_count = max_count;
        self
    }

    /// The current status.
    pub fn status(&self) -> CheckStatus {
        self.status
    }

    /// Non-healthy results in a row.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// How many results were applied.
    pub fn results(&self) -> u64 {
        self.results
    }

    /// The reason of the last non-healthy result.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Applies one result (docs/COMPATIBILITY.md §11): errors and timeouts make it UNKNOWN, a failure SICKLY,
    /// and `max_count` non-healthy results in a row FAILED; a healthy one resets it. Once a
    /// first result set the status, it leaves ALIVE only after `fall` failures in a row
    /// (SICKLY, still ALIVE, until then) and comes back after `rise` healthy results in a row.
    pub fn update(&mut self, result: &CheckResult) -> Transition {
        let before = self.status;
        let established = self.results > 0;
        self.results += 1;
        let was_alive = before.service_status() == ServiceStatus::Alive;
        self.status = match result {
            CheckResult::Healthy => {
                self.count = 0;
                self.healthy_streak = self.healthy_streak.saturating_add(1);
                let risen = self.healthy_streak >= self.thresholds.rise;
                if !established || was_alive || risen {
                    CheckStatus::Healthy
                } else {
                    before
                }
            }
            CheckResult::Sickly { .. } => CheckStatus::Sickly,
            CheckResult::Error { .. } | CheckResult::TimedOut => CheckStatus::Unknown,
        };
        if let Some(reason) = result.reason() {
            self.healthy_streak = 0;
            self.last_error = Some(reason.to_string());
            self.count = self.count.saturating_add(1);
            if self.count >= self.max_count {
                self.status = CheckStatus::Failed;
            }
            if established && was_alive && self.count < self.thresholds.fall {
                self.status = CheckStatus::Sickly;
            }
        }
        Transition {
            before,
            after: self.status,
        }
    }
}

/// The check of a service that defines none (docs/COMPATIBILITY.md §11): an HTTP GET of
/// `http://<published ip>:<first tcp Port><endpoint>` starting FAILED, or, without a tcp
/// port, an always-successful check starting HEALTHY. An empty endpoint means `/`.
pub fn default_check(
    service: &Service,
    published_ip: &str,
    endpoint: &str,
) -> (CheckSpec, CheckStatus) {
    let Some(port) = service.ports().iter().find(|p| p.kind == "tcp") else {
        let spec = CheckSpec {
            kind: CheckKind::AlwaysSuccessful,
            args: String::new(),
        };
        return (spec, CheckStatus::Healthy);
    };
    let host = if published_ip.contains(':') {
        format!("[{published_ip}]")
    } else {
        published_ip.to_string()
    };
    let endpoint = if endpoint.is_empty() { "/" } else { endpoint };
    let spec = CheckSpec {
        kind: CheckKind::HttpGet,
        args: format!("http://{host}:{}{endpoint}", port.port),
    };
    (spec, CheckStatus::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Port;

    fn http(args: &str) -> CheckSpec {
        CheckSpec {
            kind: CheckKind::HttpGet,
            args: args.into(),
        }
    }

    fn sick() -> CheckResult {
        CheckResult::Sickly {
            reason: "HTTP 500".into(),
        }
    }

    fn error() -> CheckResult {
        CheckResult::Error {
            reason: "connection refused".into(),
        }
    }

    fn port(kind: &str, port: i64) -> Port {
        Port {
            kind: kind.into(),
            port,
            service_port: 0,
            ip: String::new(),
        }
    }

    #[test]
    fn kinds_are_looked_up_by_name_and_unknown_names_mean_http_get() {
        assert_eq!(CheckKind::from_name("HttpGet"), CheckKind::HttpGet);
        assert_eq!(CheckKind::from_name("External"), CheckKind::External);
        assert_eq!(
            CheckKind::from_name("AlwaysSuccessful"),
            CheckKind::AlwaysSuccessful
        );
        assert_eq!(CheckKind::from_name("Bogus"), CheckKind::HttpGet);
        assert_eq!(CheckKind::External.as_str(), "External");
    }

    #[test]
    fn statuses_map_to_service_statuses_as_in_go() {
        assert_eq!(CheckStatus::Healthy.service_status(), ServiceStatus::Alive);
        assert_eq!(CheckStatus::Sickly.service_status(), ServiceStatus::Alive);
        assert_eq!(
            CheckStatus::Unknown.service_status(),
            ServiceStatus::Unknown
        );
        assert_eq!(
            CheckStatus::Failed.service_status(),
            ServiceStatus::Unhealthy
        );
        assert_eq!(service_status(None), ServiceStatus::Unknown);
    }

    #[test]
    fn a_healthy_check_stays_healthy() {
        let mut check = Check::new(http("x"), CheckStatus::Healthy);
        let t = check.update(&CheckResult::Healthy);
        assert!(!t.changed());
        assert_eq!((check.status(), check.count()), (CheckStatus::Healthy, 0));
    }

    #[test]
    fn a_sickly_result_below_max_count_stays_sickly() {
        let mut check = Check::new(http("x"), CheckStatus::Healthy).with_max_count(3);
        check.update(&sick());
        assert_eq!(check.status(), CheckStatus::Sickly);
        assert_eq!(check.last_error(), Some("HTTP 500"));
    }

    #[test]
    fn an_error_below_max_count_is_unknown() {
        let mut check = Check::new(http("x"), CheckStatus::Healthy).with_max_count(3);
        check.update(&error());
        assert_eq!(check.status(), CheckStatus::Unknown);
        check.update(&CheckResult::TimedOut);
        assert_eq!(check.status(), CheckStatus::Unknown);
        assert_eq!(check.last_error(), Some("timed out"));
    }

    #[test]
    fn max_count_failures_in_a_row_make_it_failed() {
        let mut check = Check::new(http("x"), CheckStatus::Healthy).with_max_count(2);
        check.update(&sick());
        let t = check.update(&sick());
        assert_eq!(t.after, CheckStatus::Failed);
        assert_eq!(check.count(), 2);
    }

    #[test]
    fn a_failed_check_with_a_healthy_result_is_healthy_with_count_zero() {
        let mut check = Check::new(http("x"), CheckStatus::Failed);
        let t = check.update(&CheckResult::Healthy);
        assert!(t.changed());
        assert_eq!((check.status(), check.count()), (CheckStatus::Healthy, 0));
        assert_eq!(check.results(), 1);
    }

    #[test]
    fn in_production_any_non_healthy_result_fails_at_once() {
        for result in [sick(), error(), CheckResult::TimedOut] {
            let mut check = Check::new(http("x"), CheckStatus::Healthy);
            let t = check.update(&result);
            assert_eq!(t.after, CheckStatus::Failed, "{result:?}");
            assert_eq!(t.after.service_status(), ServiceStatus::Unhealthy);
        }
    }

    #[test]
    fn the_default_check_gets_the_first_tcp_port_and_starts_failed() {
        let svc = Service {
            ports: Some(vec![port("udp", 53), port("tcp", 1234), port("tcp", 99)]),
            ..Service::default()
        };
        let (spec, initial) = default_check(&svc, "10.1.2.3", "");
        assert_eq!(spec, http("http://10.1.2.3:1234/"));
        assert_eq!(initial, CheckStatus::Failed);
    }

    #[test]
    fn the_default_check_endpoint_is_configurable() {
        let svc = Service {
            ports: Some(vec![port("tcp", 1234)]),
            ..Service::default()
        };
        let (spec, _) = default_check(&svc, "10.1.2.3", "/version");
        assert_eq!(spec.args, "http://10.1.2.3:1234/version");
        let (spec, _) = default_check(&svc, "fd00::1", "/");
        assert_eq!(spec.args, "http://[fd00::1]:1234/");
    }

    #[test]
    fn without_a_tcp_port_the_default_check_always_succeeds_and_starts_healthy() {
        let svc = Service {
            ports: Some(vec![port("udp", 53)]),
            ..Service::default()
        };
        let (spec, initial) = default_check(&svc, "10.1.2.3", "/");
        assert_eq!(spec.kind, CheckKind::AlwaysSuccessful);
        assert_eq!(initial, CheckStatus::Healthy);
    }

    fn alive(check: &Check) -> bool {
        check.status().service_status() == ServiceStatus::Alive
    }

    #[test]
    fn with_a_fall_of_three_two_failures_keep_an_alive_service_alive() {
        let fall = Thresholds { rise: 1, fall: 3 };
        let mut check = Check::new(http("x"), CheckStatus::Failed).with_thresholds(fall);
        check.update(&CheckResult::Healthy);
        check.update(&sick());
        check.update(&error());
        assert!(alive(&check), "{:?}", check.status());
        check.update(&sick());
        assert_eq!(check.status(), CheckStatus::Failed);
    }

    #[test]
    fn with_a_rise_of_two_one_success_does_not_bring_a_failed_service_back() {
        let rise = Thresholds { rise: 2, fall: 1 };
        let mut check = Check::new(http("x"), CheckStatus::Failed).with_thresholds(rise);
        check.update(&sick());
        check.update(&CheckResult::Healthy);
        assert_eq!(check.status(), CheckStatus::Failed);
        check.update(&CheckResult::Healthy);
        assert_eq!(check.status(), CheckStatus::Healthy);
    }

    #[test]
    fn the_first_result_is_taken_as_it_is_whatever_the_thresholds() {
        let slow = Thresholds { rise: 3, fall: 3 };
        let mut up = Check::new(http("x"), CheckStatus::Failed).with_thresholds(slow);
        up.update(&CheckResult::Healthy);
        assert_eq!(up.status(), CheckStatus::Healthy);
        let mut down = Check::new(http("x"), CheckStatus::Failed).with_thresholds(slow);
        down.update(&sick());
        assert_eq!(down.status(), CheckStatus::Failed);
    }

    #[test]
    fn the_default_thresholds_count_every_result_at_once_as_go_does() {
        let mut check = Check::new(http("x"), CheckStatus::Failed);
        check.update(&CheckResult::Healthy);
        check.update(&error());
        assert_eq!(check.status(), CheckStatus::Failed);
        check.update(&CheckResult::Healthy);
        assert_eq!(check.status(), CheckStatus::Healthy);
    }

    #[test]
    fn a_new_check_failing_quickly_is_rechecked_with_a_doubling_wait_within_its_budget() {
        let recheck = StartupRecheck {
            first: Duration::from_millis(100),
            budget: Duration::from_secs(3),
        };
        let mut check =
            Check::new(http("x"), CheckStatus::Failed).with_startup_recheck(Some(recheck));
        let waits: Vec<Duration> = std::iter::from_fn(|| check.defer_first_failure(&error()))
            .take(10)
            .collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800]);
        assert_eq!(check.results(), 0, "nothing counted while deferred");
    }

    #[test]
    fn a_timeout_or_an_established_check_is_not_rechecked_early() {
        let recheck = Some(StartupRecheck {
            first: Duration::from_millis(100),
            budget: Duration::from_secs(3),
        });
        let mut check = Check::new(http("x"), CheckStatus::Failed).with_startup_recheck(recheck);
        assert_eq!(check.defer_first_failure(&CheckResult::TimedOut), None);
        check.update(&CheckResult::Healthy);
        assert_eq!(check.defer_first_failure(&sick()), None);
        let mut plain = Check::new(http("x"), CheckStatus::Failed);
        assert_eq!(plain.defer_first_failure(&sick()), None);
    }
}
