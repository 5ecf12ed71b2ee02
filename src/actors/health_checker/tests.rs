//! HealthChecker actor tests against real local targets: an HTTP responder, a listener that
//! never answers, and `bash -c` commands.

use crate::actors::recorder::Recorder;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, o};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::*;
use crate::catalog::{Service, ServiceStatus};
use crate::discovery::{CheckDefinition, Discovered, DiscoverySource};

type Reports = Arc<Mutex<Vec<ApplyLocalServices>>>;

/// Stores every ApplyLocalServices it is sent.
fn settings() -> HealthSettings {
    HealthSettings {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(300),
        concurrency: 16,
        refresh_interval: Duration::from_millis(100),
        published_ip: "127.0.0.1".into(),
        default_check_endpoint: "/".into(),
        ..HealthSettings::default()
    }
}

fn start(settings: HealthSettings) -> (Addr<HealthChecker>, Reports) {
    let reports = Reports::default();
    let recorder = Recorder(Arc::clone(&reports)).start();
    let log = Logger::root(slog::Discard, o!());
    let checker = HealthChecker::new(
        settings,
        crate::supervisor::Link::fixed(recorder.recipient()),
        &log,
    )
    .start();
    (checker, reports)
}

fn service(id: &str, kind: &str, args: &str) -> Discovered {
    Discovered {
        service: Service {
            id: id.into(),
            name: format!("svc-{id}"),
            hostname: "node-a".into(),
            ..Service::default()
        },
        check: Some(CheckDefinition {
            kind: kind.into(),
            args: args.into(),
        }),
        listener: None,
    }
}

/// Observes one service `a` checked by HttpGet on `addr`.
fn observe_http(checker: &Addr<HealthChecker>, addr: SocketAddr) {
    observe(
        checker,
        vec![service("a", "HttpGet", &format!("http://{addr}/"))],
    );
}

fn observe(checker: &Addr<HealthChecker>, services: Vec<Discovered>) {
    checker.do_send(ObservedLocalServices {
        source: DiscoverySource::Static,
        services,
    });
}

/// The status of service `id` in the latest report (`None`: absent or pending).
fn status_of(reports: &Reports, id: &str) -> Option<ServiceStatus> {
    let reports = reports.lock().unwrap();
    let last = reports.last()?;
    last.services.iter().find(|s| s.id == id).map(|s| s.status)
}

/// Polls `pred` every 20 ms until it holds; panics with `what` after `timeout`.
async fn eventually(timeout: Duration, what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An HTTP server on 127.0.0.1:0 answering every request with the status in `status`.
async fn http_responder(status: Arc<AtomicU16>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let code = status.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

/// A listener on 127.0.0.1:0 that accepts connections and never answers.
async fn hanging_target() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

#[actix::test]
async fn a_new_service_is_pending_until_its_first_result_then_alive() {
    let status = Arc::new(AtomicU16::new(200));
    let addr = http_responder(Arc::clone(&status)).await;
    let (checker, reports) = start(HealthSettings {
        interval: Duration::from_secs(60),
        ..settings()
    });
    observe_http(&checker, addr);
    eventually(Duration::from_secs(5), "a is alive", || {
        status_of(&reports, "a") == Some(ServiceStatus::Alive)
    })
    .await;
    let reports = reports.lock().unwrap();
    // Reports are coalesced for 10 ms, so the first one may already carry the result; if it
    // does not, the service is pending in it.
    let first = &reports[0];
    if first.services.is_empty() {
        let pending = BTreeSet::from([crate::catalog::RecordKey::new("node-a", "a")]);
        assert_eq!(first.pending, pending);
    }
    // Never reported as anything but ALIVE.
    let statuses: BTreeSet<_> = (reports.iter())
        .flat_map(|r| r.services.iter().map(|s| s.status))
        .collect();
    assert_eq!(statuses, BTreeSet::from([ServiceStatus::Alive]));
}

#[actix::test]
async fn a_failing_http_target_is_unhealthy_and_recovers() {
    let status = Arc::new(AtomicU16::new(500));
    let addr = http_responder(Arc::clone(&status)).await;
    let (checker, reports) = start(settings());
    observe_http(&checker, addr);
    eventually(Duration::from_secs(5), "a is unhealthy", || {
        status_of(&reports, "a") == Some(ServiceStatus::Unhealthy)
    })
    .await;
    status.store(200, Ordering::SeqCst);
    eventually(Duration::from_secs(5), "a is alive again", || {
        status_of(&reports, "a") == Some(ServiceStatus::Alive)
    })
    .await;
}

#[actix::test]
async fn a_refused_connection_is_unhealthy() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (checker, reports) = start(settings());
    observe_http(&checker, addr);
    eventually(Duration::from_secs(5), "a is unhealthy", || {
        status_of(&reports, "a") == Some(ServiceStatus::Unhealthy)
    })
    .await;
}

#[actix::test]
async fn a_hanging_target_fails_at_the_timeout_not_before() {
    let addr = hanging_target().await;
    let (checker, reports) = start(HealthSettings {
        interval: Duration::from_secs(60),
        ..settings()
    });
    let begun = Instant::now();
    observe_http(&checker, addr);
    eventually(Duration::from_secs(5), "a has a result", || {
        status_of(&reports, "a").is_some()
    })
    .await;
    let took = begun.elapsed();
    assert!(took >= Duration::from_millis(300), "result after {took:?}");
    assert!(took < Duration::from_secs(2), "result after {took:?}");
    assert_eq!(status_of(&reports, "a"), Some(ServiceStatus::Unhealthy));
    let stats = checker.send(GetHealthStats).await.unwrap();
    assert_eq!((stats.runs, stats.timeouts), (1, 1));
}

#[actix::test]
async fn external_commands_pass_on_exit_zero_and_fail_otherwise() {
    let (checker, reports) = start(settings());
    observe(
        &checker,
        vec![
            service("t", "External", "true"),
            service("f", "External", "false"),
            service("s", "External", "test -d / && [ 1 -lt 2 ]"),
        ],
    );
    eventually(Duration::from_secs(5), "all three have results", || {
        status_of(&reports, "t") == Some(ServiceStatus::Alive)
            && status_of(&reports, "f") == Some(ServiceStatus::Unhealthy)
            && status_of(&reports, "s") == Some(ServiceStatus::Alive)
    })
    .await;
}

#[actix::test]
async fn a_command_that_never_exits_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let command = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
    let begun = Instant::now();
    let result = probe::external(&command, Duration::from_millis(300)).await;
    assert_eq!(result, CheckResult::TimedOut);
    assert!(begun.elapsed() < Duration::from_secs(5));
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    // Gone, or a zombie waiting for a reaper: either way no longer sleeping.
    eventually(Duration::from_secs(5), "sleep 60 is dead", || {
        std::fs::read_to_string(&stat).map_or(true, |s| s.contains(") Z "))
    })
    .await;
}

#[actix::test]
async fn a_sleeping_external_check_is_unhealthy_after_the_timeout() {
    let (checker, reports) = start(settings());
    observe(&checker, vec![service("s", "External", "sleep 60")]);
    eventually(Duration::from_secs(5), "s is unhealthy", || {
        status_of(&reports, "s") == Some(ServiceStatus::Unhealthy)
    })
    .await;
    let stats = checker.send(GetHealthStats).await.unwrap();
    assert!(stats.timeouts >= 1);
}

#[actix::test]
async fn a_thousand_hanging_checks_never_exceed_the_concurrency() {
    let addr = hanging_target().await;
    let (checker, _reports) = start(HealthSettings {
        timeout: Duration::from_millis(150),
        ..settings()
    });
    let url = format!("http://{addr}/");
    let services = (0..1000)
        .map(|i| service(&format!("s{i:04}"), "HttpGet", &url))
        .collect();
    observe(&checker, services);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = HealthStats::default();
    while last.timeouts < 64 {
        assert!(Instant::now() < deadline, "too few timeouts: {last:?}");
        last = checker.send(GetHealthStats).await.unwrap();
        assert!(last.in_flight <= 16, "{last:?}");
        assert!(last.in_flight + last.waiting <= 1000, "{last:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last.checks, 1000);
    assert_eq!(last.peak_in_flight, 16, "{last:?}");
}

#[actix::test]
async fn vanished_services_leave_the_report_and_the_list_is_refreshed() {
    let (checker, reports) = start(settings());
    observe(&checker, vec![service("a", "AlwaysSuccessful", "")]);
    eventually(Duration::from_secs(5), "a is alive", || {
        status_of(&reports, "a") == Some(ServiceStatus::Alive)
    })
    .await;
    observe(&checker, vec![]);
    eventually(Duration::from_secs(5), "the report is empty", || {
        let reports = reports.lock().unwrap();
        let last = reports.last().unwrap();
        last.services.is_empty() && last.pending.is_empty()
    })
    .await;
    let count = reports.lock().unwrap().len();
    eventually(Duration::from_secs(5), "refreshes keep coming", || {
        reports.lock().unwrap().len() >= count + 3
    })
    .await;
    let stats = checker.send(GetHealthStats).await.unwrap();
    assert_eq!(stats.checks, 0);
}

#[actix::test]
async fn nothing_is_reported_before_the_first_observation() {
    tokio::time::pause();
    let (_checker, reports) = start(settings());
    // Paused time: three refresh ticks pass at once.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(reports.lock().unwrap().is_empty());
}

#[actix::test]
async fn services_without_an_id_are_never_checked() {
    let (checker, reports) = start(settings());
    observe(
        &checker,
        vec![
            service("", "External", "true"),
            service("b", "External", "true"),
        ],
    );
    eventually(Duration::from_secs(5), "b is alive", || {
        status_of(&reports, "b") == Some(ServiceStatus::Alive)
    })
    .await;
    let last = reports.lock().unwrap().pop().unwrap();
    assert_eq!(last.services.len(), 1);
    assert!(last.pending.is_empty());
}

#[actix::test]
async fn results_that_arrive_together_are_reported_together() {
    let (checker, reports) = start(HealthSettings {
        interval: Duration::from_secs(60),
        refresh_interval: Duration::from_secs(60),
        ..settings()
    });
    let services = (0..200)
        .map(|i| service(&format!("s{i}"), "AlwaysSuccessful", ""))
        .collect();
    observe(&checker, services);
    eventually(Duration::from_secs(5), "all 200 alive", || {
        let reports = reports.lock().unwrap();
        reports.last().is_some_and(|r| r.services.len() == 200)
    })
    .await;
    // Without coalescing this takes one report per result (200); allow a few batches.
    assert!(
        reports.lock().unwrap().len() <= 5,
        "{}",
        reports.lock().unwrap().len()
    );
}

#[actix::test]
async fn nothing_is_reported_until_every_expected_source_has_reported() {
    let (checker, reports) = start(HealthSettings {
        sources: BTreeSet::from([DiscoverySource::Static, DiscoverySource::Docker]),
        ..settings()
    });
    observe(&checker, vec![service("a", "AlwaysSuccessful", "")]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        reports.lock().unwrap().is_empty(),
        "reported before Docker did"
    );
    checker.do_send(ObservedLocalServices {
        source: DiscoverySource::Docker,
        services: vec![],
    });
    eventually(Duration::from_secs(5), "a is reported", || {
        status_of(&reports, "a") == Some(ServiceStatus::Alive)
    })
    .await;
}

#[actix::test]
async fn a_silent_source_is_given_up_on_after_the_grace_period() {
    let (checker, reports) = start(HealthSettings {
        sources: BTreeSet::from([DiscoverySource::Static, DiscoverySource::Docker]),
        first_report_grace: Duration::from_millis(400),
        ..settings()
    });
    observe(&checker, vec![service("a", "AlwaysSuccessful", "")]);
    eventually(
        Duration::from_secs(5),
        "a is reported without Docker",
        || status_of(&reports, "a") == Some(ServiceStatus::Alive),
    )
    .await;
}

#[actix::test]
async fn a_new_service_whose_server_listens_a_moment_late_is_never_shown_unhealthy() {
    // A free port, closed again: the "container" starts its server 300 ms later.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (checker, reports) = start(HealthSettings {
        interval: Duration::from_secs(3),
        timeout: Duration::from_secs(1),
        ..settings()
    });
    observe_http(&checker, addr);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let listener = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
        }
    });
    eventually(Duration::from_secs(3), "a is alive", || {
        status_of(&reports, "a") == Some(ServiceStatus::Alive)
    })
    .await;
    let statuses: BTreeSet<_> = (reports.lock().unwrap().iter())
        .flat_map(|r| r.services.iter().map(|s| s.status))
        .collect();
    assert_eq!(statuses, BTreeSet::from([ServiceStatus::Alive]));
}
