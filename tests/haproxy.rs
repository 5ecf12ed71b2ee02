//! The HaproxyManager driving a real HAProxy (Debian's `haproxy`, see `.ci/install-deps`):
//! each test runs its own master-worker HAProxy with its files in a temp dir, frontends and
//! stats on one loopback address of 127.0.0.20–39, and small backends it starts itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, o};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use sidecar::actors::haproxy_manager::{HaproxyControl, HaproxyManager, HaproxySettings};
use sidecar::actors::{StateKeeper, StateKeeperMemory, StateKeeperSettings};
use sidecar::catalog::{Lifespans, Port, Service, ServiceStatus};
use sidecar::clock::{SharedClock, SystemClock};
use sidecar::haproxy::{DEFAULT_TEMPLATE, ProxySettings};
use sidecar::messages::{ApplyRemoteServices, GetHaproxyStatus, HaproxyStatus};
use sidecar::supervisor::Slot;

/// Where every test's backends listen (ephemeral ports).
const BACKEND_IP: &str = "127.0.0.39";

/// One manager, its StateKeeper and its HAProxy (stopped on drop, by its pid).
struct Rig {
    dir: tempfile::TempDir,
    ip: &'static str,
    keeper: Addr<StateKeeper>,
    manager: Addr<HaproxyManager>,
    clock: SharedClock,
}

impl Rig {
    async fn start(
        ip: &'static str,
        customize: impl FnOnce(&mut HaproxySettings, &PathBuf),
    ) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let stats_socket = path.join("stats.sock");
        let mut settings = HaproxySettings {
            proxy: ProxySettings {
                bind_ip: ip.to_owned(),
                user: String::new(),
                group: String::new(),
                use_hostnames: false,
                stats_bind_ip: ip.to_owned(),
                stats_socket: stats_socket.to_string_lossy().into_owned(),
            },
            template_file: None,
            control: HaproxyControl {
                config_file: path.join("haproxy.cfg"),
                pid_file: path.join("haproxy.pid"),
                master_socket: path.join("master.sock"),
                stats_socket,
                binary: "haproxy".to_owned(),
                verify_command: None,
                reload_command: None,
                timeout: Duration::from_secs(10),
            },
            debounce: Duration::from_millis(20),
            retry_interval: Duration::from_secs(60),
        };
        customize(&mut settings, &path);
        let clock: SharedClock = Arc::new(SystemClock);
        let log = Logger::root(slog::Discard, o!());
        let keeper_settings = StateKeeperSettings {
            hostname: "haproxy-test".to_owned(),
            cluster_name: "default".to_owned(),
            lifespans: Lifespans::default(),
            expire_interval: Duration::from_secs(2),
        };
        let keeper = StateKeeper::new(
            keeper_settings,
            Arc::clone(&clock),
            StateKeeperMemory::default(),
            &log,
        )
        .start();
        let link = Slot::new(keeper.clone()).link();
        let manager = HaproxyManager::new(settings, link, None, Arc::clone(&clock), &log).start();
        Rig {
            dir,
            ip,
            keeper,
            manager,
            clock,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Tells the StateKeeper about `services`, as heard from peers, versioned now.
    async fn announce(&self, services: Vec<Service>) {
        let now = self.clock.now();
        let services = services
            .into_iter()
            .map(|s| Service { updated: now, ..s })
            .collect();
        self.keeper
            .send(ApplyRemoteServices {
                services,
                source: sidecar::messages::RemoteSource::Broadcast,
            })
            .await
            .unwrap();
    }

    async fn status(&self) -> HaproxyStatus {
        self.manager.send(GetHaproxyStatus).await.unwrap()
    }

    async fn wait_status(
        &self,
        what: &str,
        pred: impl Fn(&HaproxyStatus) -> bool,
    ) -> HaproxyStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let status = self.status().await;
            if pred(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn frontend(&self, service_port: u16) -> SocketAddr {
        format!("{}:{service_port}", self.ip).parse().unwrap()
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.path("haproxy.cfg")).unwrap_or_default()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // Only the master this test started, by the pid it wrote.
        if let Ok(pid) = std::fs::read_to_string(self.path("haproxy.pid")) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}

fn instance(host: &str, name: &str, mode: &str, backend: SocketAddr, service_port: i64) -> Service {
    Service {
        id: format!("{name}{}", backend.port()),
        name: name.to_owned(),
        image: format!("{name}:1"),
        hostname: host.to_owned(),
        ports: Some(vec![Port {
            kind: "tcp".to_owned(),
            port: i64::from(backend.port()),
            service_port,
            ip: backend.ip().to_string(),
        }]),
        proxy_mode: mode.to_owned(),
        status: ServiceStatus::Alive,
        ..Service::default()
    }
}

/// An HTTP server answering every request with `name`.
async fn http_backend(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind(format!("{BACKEND_IP}:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 65536 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                    name.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

/// A TCP server that echoes what it reads.
async fn echo_backend() -> SocketAddr {
    let listener = TcpListener::bind(format!("{BACKEND_IP}:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    addr
}

/// The body of `GET /` through `addr`, or `None` if the request failed.
async fn get(addr: SocketAddr) -> Option<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.ok()?;
        let reply = String::from_utf8_lossy(&reply).into_owned();
        if !reply.starts_with("HTTP/1.1 200") {
            return None;
        }
        reply.split("\r\n\r\n").nth(1).map(str::to_owned)
    };
    tokio::time::timeout(Duration::from_secs(3), exchange)
        .await
        .ok()
        .flatten()
}

/// Polls until `count` requests in a row through `addr` reach exactly the backends `names`.
async fn wait_routing(addr: SocketAddr, names: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut want: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    want.sort();
    loop {
        let mut seen = Vec::new();
        for _ in 0..(names.len() * 4) {
            seen.push(get(addr).await.unwrap_or_else(|| "<failed>".to_owned()));
        }
        seen.sort();
        seen.dedup();
        if seen == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr} routes to {seen:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix::test]
async fn http_requests_to_a_service_port_reach_both_alive_backends() {
    let rig = Rig::start("127.0.0.20", |_, _| {}).await;
    let (a, b) = (http_backend("a").await, http_backend("b").await);
    rig.announce(vec![
        instance("host-a", "web", "http", a, 18080),
        instance("host-b", "web", "http", b, 18080),
    ])
    .await;
    wait_routing(rig.frontend(18080), &["a", "b"]).await;
    let status = rig.wait_status("a reload", |s| s.reloads >= 1).await;
    assert_eq!((status.reloads, status.failures), (1, 0), "{status:?}");
    let written = rig.config();
    assert!(written.contains("frontend web-18080"));

    // A refreshed record (new version, same routing) writes and reloads nothing.
    rig.announce(vec![instance("host-a", "web", "http", a, 18080)])
        .await;
    let status = rig
        .wait_status("an unchanged routing", |s| s.unchanged >= 1)
        .await;
    assert_eq!(
        (status.reloads, status.runtime_updates),
        (1, 0),
        "{status:?}"
    );
    assert_eq!(rig.config(), written);
}

#[actix::test]
async fn a_backend_that_fails_its_check_leaves_the_rotation_and_comes_back_without_a_reload() {
    let rig = Rig::start("127.0.0.21", |_, _| {}).await;
    let (a, b, c) = (
        http_backend("a").await,
        http_backend("b").await,
        http_backend("c").await,
    );
    let web_a = instance("host-a", "web", "http", a, 18081);
    let web_b = instance("host-b", "web", "http", b, 18081);
    rig.announce(vec![web_a.clone(), web_b.clone()]).await;
    let front = rig.frontend(18081);
    wait_routing(front, &["a", "b"]).await;

    let failing = Service {
        status: ServiceStatus::Unhealthy,
        ..web_b.clone()
    };
    rig.announce(vec![failing]).await;
    wait_routing(front, &["a"]).await;
    rig.announce(vec![web_b]).await;
    wait_routing(front, &["a", "b"]).await;
    // A new instance of the known service joins the same way.
    rig.announce(vec![instance("host-c", "web", "http", c, 18081)])
        .await;
    wait_routing(front, &["a", "b", "c"]).await;

    let status = rig
        .wait_status("three runtime updates", |s| s.runtime_updates >= 3)
        .await;
    assert_eq!((status.reloads, status.failures), (1, 0), "{status:?}");
    assert!(
        rig.config().contains("server host-c-web"),
        "the file follows"
    );
}

#[actix::test]
async fn tcp_mode_passes_bytes_through() {
    let rig = Rig::start("127.0.0.22", |_, _| {}).await;
    let echo = echo_backend().await;
    rig.announce(vec![instance("host-a", "echo", "tcp", echo, 18082)])
        .await;
    rig.wait_status("a reload", |s| s.reloads == 1).await;
    assert!(rig.config().contains("\tmode tcp\n\tbind 127.0.0.22:18082"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = async {
            let mut stream = TcpStream::connect(rig.frontend(18082)).await.ok()?;
            stream.write_all(b"\x00\x01 raw bytes\xff").await.ok()?;
            let mut back = [0u8; 13];
            stream.read_exact(&mut back).await.ok()?;
            Some(back)
        };
        if let Ok(Some(back)) = tokio::time::timeout(Duration::from_secs(2), attempt).await {
            assert_eq!(&back, b"\x00\x01 raw bytes\xff");
            return;
        }
        assert!(Instant::now() < deadline, "no echo through HAProxy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix::test]
async fn a_new_service_gets_its_frontend_by_a_reload() {
    let rig = Rig::start("127.0.0.23", |_, _| {}).await;
    let (a, b) = (http_backend("a").await, http_backend("b").await);
    rig.announce(vec![instance("host-a", "one", "http", a, 18083)])
        .await;
    wait_routing(rig.frontend(18083), &["a"]).await;
    rig.announce(vec![instance("host-b", "two", "http", b, 18084)])
        .await;
    wait_routing(rig.frontend(18084), &["b"]).await;
    wait_routing(rig.frontend(18083), &["a"]).await;
    let status = rig.wait_status("two reloads", |s| s.reloads >= 2).await;
    assert_eq!(
        (status.reloads, status.runtime_updates),
        (2, 0),
        "{status:?}"
    );
}

#[actix::test]
async fn a_broken_user_template_keeps_the_old_config_and_haproxy_serving() {
    let rig = Rig::start("127.0.0.24", |settings, dir| {
        let template = dir.join("user.cfg.tera");
        std::fs::write(&template, DEFAULT_TEMPLATE).unwrap();
        settings.template_file = Some(template);
    })
    .await;
    let (a, b) = (http_backend("a").await, http_backend("b").await);
    rig.announce(vec![instance("host-a", "one", "http", a, 18085)])
        .await;
    wait_routing(rig.frontend(18085), &["a"]).await;
    let before = rig.config();

    std::fs::write(rig.path("user.cfg.tera"), "{% for broken %}").unwrap();
    rig.announce(vec![instance("host-b", "two", "http", b, 18086)])
        .await;
    let status = rig.wait_status("a failure", |s| s.failures == 1).await;
    let error = status.last_error.unwrap();
    assert!(error.contains("user.cfg.tera"), "{error}");
    assert_eq!(rig.config(), before);
    wait_routing(rig.frontend(18085), &["a"]).await;
    assert_eq!(get(rig.frontend(18086)).await, None);

    // Repaired, the next change applies.
    std::fs::write(rig.path("user.cfg.tera"), DEFAULT_TEMPLATE).unwrap();
    rig.announce(vec![instance("host-b", "two", "http", b, 18086)])
        .await;
    wait_routing(rig.frontend(18086), &["b"]).await;
}

#[actix::test]
async fn a_failing_verify_command_keeps_the_old_config_and_haproxy_serving() {
    let rig = Rig::start("127.0.0.25", |settings, dir| {
        let (refuse, config) = (dir.join("refuse"), dir.join("haproxy.cfg"));
        settings.control.verify_command = Some(format!(
            "test ! -e {} && haproxy -c -f {}",
            refuse.display(),
            config.display()
        ));
    })
    .await;
    let (a, b) = (http_backend("a").await, http_backend("b").await);
    rig.announce(vec![instance("host-a", "one", "http", a, 18087)])
        .await;
    wait_routing(rig.frontend(18087), &["a"]).await;
    let before = rig.config();

    std::fs::write(rig.path("refuse"), "").unwrap();
    rig.announce(vec![instance("host-b", "two", "http", b, 18088)])
        .await;
    let status = rig.wait_status("a failure", |s| s.failures == 1).await;
    let error = status.last_error.unwrap();
    assert!(
        error.starts_with("Failed to verify HAProxy config!"),
        "{error}"
    );
    assert_eq!(rig.config(), before);
    wait_routing(rig.frontend(18087), &["a"]).await;
    assert_eq!(status.reloads, 1);
}

#[actix::test]
async fn a_failing_reload_keeps_the_old_config_and_haproxy_serving() {
    let rig = Rig::start("127.0.0.26", |_, _| {}).await;
    let (a, b) = (http_backend("a").await, http_backend("b").await);
    rig.announce(vec![instance("host-a", "one", "http", a, 18089)])
        .await;
    wait_routing(rig.frontend(18089), &["a"]).await;
    let before = rig.config();

    // The new frontend's port is taken: the configuration is valid, the reload fails.
    let _squatter = TcpListener::bind(rig.frontend(18090)).await.unwrap();
    rig.announce(vec![instance("host-b", "two", "http", b, 18090)])
        .await;
    let status = rig.wait_status("a failure", |s| s.failures == 1).await;
    let error = status.last_error.unwrap();
    assert!(error.contains("refused to reload"), "{error}");
    assert_eq!(rig.config(), before);
    wait_routing(rig.frontend(18089), &["a"]).await;
    assert_eq!(status.reloads, 1);
}

#[actix::test]
async fn haproxy_missing_is_a_counted_failure_not_a_crash() {
    let rig = Rig::start("127.0.0.27", |settings, _| {
        settings.control.binary = "/nonexistent/haproxy".to_owned();
    })
    .await;
    let a = http_backend("a").await;
    rig.announce(vec![instance("host-a", "one", "http", a, 18091)])
        .await;
    let status = rig.wait_status("a failure", |s| s.failures >= 1).await;
    assert!(status.last_error.unwrap().contains("/nonexistent/haproxy"));
    assert!(rig.manager.connected(), "the manager keeps running");
    assert_eq!(rig.config(), "", "nothing unverified was installed");
}

/// A user's template without the stats listeners (which Go binds on every address).
const NODE_TEMPLATE: &str = "global
\tstats socket {{ stats_socket }} mode 666 level admin
defaults
\ttimeout connect 5s
\ttimeout client 1m
\ttimeout server 1m
\tbalance roundrobin
{% for service in proxied %}{% for fe in service.frontends %}
frontend {{ fe.name }}
\tmode {{ fe.mode }}
\tbind {{ bind_ip }}:{{ fe.service_port }}
\tdefault_backend {{ fe.name }}
backend {{ fe.name }}
\tmode {{ fe.mode }}
{% for server in fe.servers %}\tserver {{ server.name }} {{ server.ip }}:{{ server.port }}
{% endfor %}{% endfor %}{% endfor %}";

/// A blocking HTTP server answering `name`, or 500 while failing (its health check too).
fn named_target(name: &'static str) -> (SocketAddr, Arc<std::sync::atomic::AtomicBool>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = std::net::TcpListener::bind(format!("{BACKEND_IP}:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&failing);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let status = match flag.load(Ordering::SeqCst) {
                true => "500 Oops",
                false => "200 OK",
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                name.len()
            );
        }
    });
    (addr, failing)
}

/// Blocking `GET /` through `addr`: the body of a 200, else `None`.
fn get_blocking(addr: SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let request = "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    if !reply.starts_with("HTTP/1.1 200") {
        return None;
    }
    reply.split("\r\n\r\n").nth(1).map(str::to_owned)
}

fn routes_to(addr: SocketAddr, names: &[&str]) -> bool {
    let mut seen: Vec<String> = (0..names.len() * 4)
        .map(|_| get_blocking(addr).unwrap_or_else(|| "<failed>".to_owned()))
        .collect();
    seen.sort();
    seen.dedup();
    seen == names
}

/// The whole node as `main` runs it: static discovery, real health checks, the manager with a
/// user's template, and the admin API's counts.
#[test]
fn a_node_routes_its_healthy_instances_through_haproxy_and_reports_its_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _a_failing) = named_target("a");
    let (b, b_failing) = named_target("b");
    let entry = |target: SocketAddr| {
        serde_json::json!({
            "Service": {"Name": "web", "Image": "web:1", "ProxyMode": "http",
                "Ports": [{"Type": "tcp", "Port": target.port(), "ServicePort": 18092,
                    "IP": target.ip().to_string()}]},
            "Check": {"Type": "HttpGet", "Args": format!("http://{target}/health")}
        })
    };
    let services = serde_json::json!([entry(a), entry(b)]);
    std::fs::write(dir.path().join("static.json"), services.to_string()).unwrap();
    std::fs::write(dir.path().join("template.cfg"), NODE_TEMPLATE).unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let mut env = common::base_env();
    for (k, v) in [
        ("STATIC_CONFIG_FILE", path("static.json")),
        ("SIDECAR_HEALTH_INTERVAL", "200ms".to_owned()),
        ("SIDECAR_HEALTH_TIMEOUT", "150ms".to_owned()),
        ("HAPROXY_DISABLE", "false".to_owned()),
        ("HAPROXY_BIND_IP", "127.0.0.28".to_owned()),
        ("HAPROXY_CONFIG_FILE", path("haproxy.cfg")),
        ("HAPROXY_PID_FILE", path("haproxy.pid")),
        ("HAPROXY_TEMPLATE_FILE", path("template.cfg")),
        ("HAPROXY_USER", String::new()),
    ] {
        env.insert(k.to_owned(), v);
    }
    let _haproxy = KillOnDrop(dir.path().join("haproxy.pid"));
    let node = common::Sidecar::start(&env, &[]);
    let front: SocketAddr = "127.0.0.28:18092".parse().unwrap();
    let long = Duration::from_secs(20);
    common::eventually(long, "both instances are routed", || {
        routes_to(front, &["a", "b"]).then_some(())
    });
    b_failing.store(true, std::sync::atomic::Ordering::SeqCst);
    common::eventually(long, "the failing instance leaves", || {
        routes_to(front, &["a"]).then_some(())
    });
    b_failing.store(false, std::sync::atomic::Ordering::SeqCst);
    common::eventually(long, "it comes back", || {
        routes_to(front, &["a", "b"]).then_some(())
    });
    let details = common::eventually(long, "the admin API shows the reloads", || {
        let list = node.get_json("/api/admin/subsystems");
        let manager = list
            .as_array()?
            .iter()
            .find(|s| s["name"] == "haproxy_manager")?
            .clone();
        (manager["details"]["reloads"].as_u64()? >= 3).then_some(manager["details"].clone())
    });
    assert_eq!(details["failures"], 0, "{details}");
    assert_eq!(details["last_error"], serde_json::Value::Null, "{details}");
}

/// Stops the HAProxy master whose pid file this is (only the one the test started, by its
/// pid), when the test ends.
struct KillOnDrop(PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}
