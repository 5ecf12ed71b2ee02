//! One health check: its kind and arguments ([`CheckSpec`]), its status machine ([`Check`],
//! docs/COMPATIBILITY.md §11) and the default check of a service (same section).
//!
//! Pure: nothing here runs a check; the HealthChecker actor does, and feeds the
//! [`CheckResult`] back in.

use crate::catalog::{Service, ServiceStatus};

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
        }
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

    /// Applies one result (docs/COMPATIBILITY.md §11): errors and timeouts make it UNKNOWN, a
    /// failure SICKLY, and `max_count` non-healthy results in a row FAILED; a healthy one resets
    /// it.
    pub fn update(&mut self, result: &CheckResult) -> Transition {
        let before = self.status;
        self.results += 1;
        self.status = match result {
            CheckResult::Healthy => {
                self.count = 0;
                CheckStatus::Healthy
            }
            CheckResult::Sickly { .. } => CheckStatus::Sickly,
            CheckResult::Error { .. } | CheckResult::TimedOut => CheckStatus::Unknown,
        };
        if let Some(reason) = result.reason() {
            self.last_error = Some(reason.to_string());
            self.count = self.count.saturating_add(1);
            if self.count >= self.max_count {
                self.status = CheckStatus::Failed;
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
}
