//! Benchmark: HTTP load through a managed HAProxy while it is reloaded and while a backend
//! flaps (BENCHMARKS.md, "HAProxy").
//!
//! `cargo run --release --example bench_haproxy -- [wrk seconds] [wrk extra args...]`
//! (needs `haproxy` and `wrk`). Frontends on 127.0.0.30, backends on 127.0.0.31; files in a
//! temp dir. While `wrk -t2 -c16` loads the frontend of service `web` (two backends), it
//! adds 20 services (each a new frontend: a reload), then flaps one of `web`'s backends 100
//! times (UNHEALTHY / ALIVE: runtime API). Prints wrk's report and, for each kind of change,
//! the time from the catalogue change to HAProxy routing accordingly: for a reload, until the
//! new frontend answers; for a flap, until HAProxy's stats socket shows the server out of
//! rotation (deleted or in maintenance) or back in it, until requests through `web` follow (four in a row
//! reach `a` only, or one reaches `b` again), and until the manager has also rewritten the
//! file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]
#![allow(clippy::disallowed_methods, clippy::disallowed_types, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use slog::{Logger, o};

use sidecar::actors::haproxy_manager::{HaproxyManager, HaproxySettings};
use sidecar::actors::{StateKeeper, StateKeeperMemory, StateKeeperSettings};
use sidecar::catalog::{Lifespans, Port, Service, ServiceStatus};
use sidecar::clock::{SharedClock, SystemClock};
use sidecar::config::HaproxyConfig;
use sidecar::messages::{ApplyRemoteServices, GetHaproxyStatus};
use sidecar::supervisor::Slot;

const FRONT_IP: &str = "127.0.0.30";
const BACK_IP: &str = "127.0.0.31";

fn backend(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind(format!("{BACK_IP}:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || serve(stream, name));
        }
    });
    addr
}

fn serve(mut stream: TcpStream, name: &str) {
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            seen.drain(..end + 4);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{name}",
                name.len()
            );
            if stream.write_all(reply.as_bytes()).is_err() {
                return;
            }
        }
    }
}

fn get(addr: &str) -> bool {
    body(addr).is_some()
}

/// The body of a 200 answer to `GET /` through `addr`.
fn body(addr: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = "GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    if !reply.starts_with("HTTP/1.1 200") {
        return None;
    }
    reply.split("\r\n\r\n").nth(1).map(str::to_owned)
}

/// Whether HAProxy holds `server` of `backend` out of rotation (`out`: deleted or in
/// maintenance) or in it, as its stats socket says.
fn haproxy_says(stats: &std::path::Path, backend: &str, server: &str, out: bool) -> bool {
    use std::os::unix::net::UnixStream;
    let Ok(mut socket) = UnixStream::connect(stats) else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = socket.write_all(format!("show servers state {backend}\n").as_bytes());
    let _ = socket.shutdown(std::net::Shutdown::Write);
    let mut reply = String::new();
    let _ = socket.read_to_string(&mut reply);
    // Fields: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...
    let admin_state = reply
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(3) == Some(&server))
        .and_then(|f| f.get(6).and_then(|a| a.parse::<u32>().ok()));
    match admin_state {
        None => out,
        Some(state) => (state & 1 == 1) == out,
    }
}

/// Whether `b` gets no request (`out`) or gets one (`!out`) among the next few through
/// `addr` (round robin over two: b would answer every other one).
fn b_routed(addr: &str, out: bool) -> bool {
    if out {
        (0..4).all(|_| body(addr).as_deref() == Some("a"))
    } else {
        (0..2).any(|_| body(addr).as_deref() == Some("b"))
    }
}

fn instance(host: &str, name: &str, backend: SocketAddr, service_port: i64) -> Service {
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
        proxy_mode: "http".to_owned(),
        status: ServiceStatus::Alive,
        ..Service::default()
    }
}

struct Bench {
    keeper: Addr<StateKeeper>,
    manager: Addr<HaproxyManager>,
    clock: SharedClock,
}

impl Bench {
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

    async fn runtime_updates(&self) -> (u64, u64) {
        let status = self.manager.send(GetHaproxyStatus).await.unwrap();
        (status.runtime_updates, status.reloads)
    }
}

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
}

async fn run(wrk_seconds: u64, wrk_extra: Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let haproxy = KillOnDrop(dir.path().join("haproxy.pid"));
    let config = HaproxyConfig {
        bind_ip: FRONT_IP.to_owned(),
        user: String::new(),
        config_file: dir.path().join("haproxy.cfg"),
        pid_file: dir.path().join("haproxy.pid"),
        ..HaproxyConfig::default()
    };
    let mut settings = HaproxySettings::from_config(&config);
    settings.proxy.stats_bind_ip = FRONT_IP.to_owned();
    let clock: SharedClock = Arc::new(SystemClock);
    let log = Logger::root(slog::Discard, o!());
    let keeper_settings = StateKeeperSettings {
        hostname: "bench".to_owned(),
        cluster_name: "default".to_owned(),
        lifespans: Lifespans::default(),
        expire_interval: Duration::from_secs(2),
    };
    let memory = StateKeeperMemory::default();
    let keeper = StateKeeper::new(keeper_settings, Arc::clone(&clock), memory, &log).start();
    let link = Slot::new(keeper.clone()).link();
    let manager = HaproxyManager::new(settings, link, None, Arc::clone(&clock), &log).start();
    let bench = Bench {
        keeper,
        manager,
        clock,
    };
    let (a, b) = (backend("a"), backend("b"));
    let (web_a, web_b) = (
        instance("host-a", "web", a, 18100),
        instance("host-b", "web", b, 18100),
    );
    bench.announce(vec![web_a, web_b.clone()]).await;
    let front = format!("{FRONT_IP}:18100");
    while !get(&front) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut wrk = Command::new("wrk");
    wrk.args(["-t2", "-c16", &format!("-d{wrk_seconds}s"), "--latency"])
        .args(&wrk_extra)
        .arg(format!("http://{front}/"))
        .stdout(Stdio::piped());
    let wrk = wrk.spawn().expect("wrk runs");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut reloads = Vec::new();
    for i in 0..20 {
        let port = 18200 + i;
        let started = Instant::now();
        bench
            .announce(vec![instance("host-a", &format!("extra{i}"), a, port)])
            .await;
        let addr = format!("{FRONT_IP}:{port}");
        while !get(&addr) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        reloads.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut flaps = Vec::new();
    let mut in_haproxy = Vec::new();
    let mut acknowledged = Vec::new();
    let stats = dir.path().join("haproxy_stats.sock");
    let b_server = format!("host-b-web{}", b.port());
    let (mut seen, reloads_before_flaps) = bench.runtime_updates().await;
    for i in 0..100 {
        let out = i % 2 == 0;
        let status = if out {
            ServiceStatus::Unhealthy
        } else {
            ServiceStatus::Alive
        };
        let started = Instant::now();
        bench
            .announce(vec![Service {
                status,
                ..web_b.clone()
            }])
            .await;
        while !haproxy_says(&stats, "web-18100", &b_server, out) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        in_haproxy.push(started.elapsed());
        while !b_routed(&front, out) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        flaps.push(started.elapsed());
        loop {
            let (updates, _) = bench.runtime_updates().await;
            if updates > seen {
                seen = updates;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        acknowledged.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, reloads_after) = bench.runtime_updates().await;
    let output = wrk.wait_with_output().unwrap();
    drop(haproxy);
    println!("{}", String::from_utf8_lossy(&output.stdout));
    percentiles("reload (new frontend answers)", reloads);
    percentiles("flap (HAProxy's server state)", in_haproxy);
    percentiles("flap (requests follow)", flaps);
    percentiles("flap (applied, file rewritten)", acknowledged);
    println!(
        "reloads during the flaps: {}",
        reloads_after - reloads_before_flaps
    );
}

/// Stops the HAProxy master this benchmark started (by the pid it wrote), even on a panic.
struct KillOnDrop(std::path::PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let extra: Vec<String> = args.collect();
    System::new().block_on(run(seconds, extra));
}
