//! Benchmark: `/api/watch` at scale (BENCHMARKS.md, "Watch streams and operators' tools").
//!
//! `bench_watch --sidecar PATH [--streams N] [--changes K] [VAR=value …]` (or
//! `scripts/bench-watch.sh`, which builds first). Starts the daemon at PATH on 127.0.0.140
//! with static discovery of K+2 services (AlwaysSuccessful checks), waits until all are
//! ALIVE, then opens N watch streams from 127.0.0.141–149 over raw HTTP/1.1 and reads each
//! stream's first document. It then records the daemon's RSS with every stream idle, and makes
//! K changes one after the other: each drains one service (`POST /api/services/{id}/drain`,
//! which changes the catalogue before it answers) and measures, for every stream, the time
//! from just before the drain request is sent to the moment the stream has read the whole
//! document showing that service DRAINING. Prints the RSS per idle stream, p50/p99/max of the
//! delivery latency over all N×K deliveries, the bytes delivered, and the CPU time of the
//! daemon and of this client over the changes (to show which one was the bottleneck).
//! `VAR=value` arguments are added to the daemon's environment. With `--via-actix`, each
//! connection first sends `OPTIONS /api/watch` (the CORS preflight), so that its watch request
//! is served by actix-web rather than by the front door (src/api/front_door.rs): the same
//! binary measured both ways.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

/// Streams opened at the same time (the daemon's accept backlog is 1,024).
const OPENING_AT_ONCE: usize = 256;
/// What a stream's document must contain once a service is drained (`"Status":4`).
const DRAINING: &[u8] = b"\"Status\":4";

#[derive(Parser, Debug)]
struct Args {
    /// The daemon binary.
    #[arg(long)]
    sidecar: PathBuf,
    /// Watch streams to open.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// Changes to deliver (one drained service each).
    #[arg(long, default_value_t = 10)]
    changes: usize,
    /// The daemon's address; the streams come from the next nine addresses.
    #[arg(long, default_value = "127.0.0.140")]
    ip: Ipv4Addr,
    /// The daemon's HTTP port.
    #[arg(long, default_value_t = 17840)]
    port: u16,
    /// Seconds the streams stay idle before the RSS is read.
    #[arg(long, default_value_t = 5)]
    idle: u64,
    /// Ask for the stream as the second request of each connection (actix-web's path).
    #[arg(long)]
    via_actix: bool,
    /// `VAR=value` settings added to the daemon's environment.
    extra_env: Vec<String>,
}

/// One whole document read by one stream.
struct Delivery {
    stream: usize,
    drained: usize,
    bytes: usize,
    at: Instant,
}

fn main() {
    let args = Args::parse();
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().unwrap();
    let services = args.changes + 2;
    let server = SocketAddr::from((args.ip, args.port));
    let daemon = Daemon::start(&args, &dir.path().join("static.json"), services);
    let ids = daemon.wait_until_alive(server, services).await;
    sleep(Duration::from_secs(2)).await;
    let rss_before = daemon.rss_kb();
    let (tx, mut rx) = mpsc::channel(65_536);
    open_streams(server, args.streams, args.via_actix, tx).await;
    let first = collect(&mut rx, args.streams, 0, Instant::now()).await;
    let first_bytes = first.bytes / args.streams.max(1);
    sleep(Duration::from_secs(args.idle)).await;
    let rss_idle = daemon.rss_kb();
    report_memory(&args, rss_before, rss_idle, first_bytes);
    let (daemon_cpu, client_cpu) = (daemon.cpu_seconds(), cpu_seconds("self"));
    let mut all = Vec::with_capacity(args.streams * args.changes);
    let mut bytes = 0;
    for (k, id) in ids.iter().take(args.changes).enumerate() {
        let t0 = Instant::now();
        drain(server, id).await;
        let round = collect(&mut rx, args.streams, k + 1, t0).await;
        println!(
            "change {:>2}: {} streams, max {:.1} ms",
            k + 1,
            round.latencies.len(),
            ms(*round.latencies.iter().max().unwrap_or(&Duration::ZERO))
        );
        bytes += round.bytes;
        all.extend(round.latencies);
        sleep(Duration::from_millis(200)).await;
    }
    let daemon_cpu = daemon.cpu_seconds() - daemon_cpu;
    let client_cpu = cpu_seconds("self") - client_cpu;
    report_latency(&args, &mut all, bytes, daemon_cpu, client_cpu);
}

/// Raises this process's open-file limit to its hard limit (one descriptor per stream).
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit).unwrap();
}

/// The daemon under test; killed when dropped.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(args: &Args, static_file: &std::path::Path, services: usize) -> Daemon {
        write_static_file(static_file, services);
        let ip = args.ip.to_string();
        let mut command = Command::new(&args.sidecar);
        command
            .env_clear()
            .env("SIDECAR_DISCOVERY", "static")
            .env("STATIC_CONFIG_FILE", static_file)
            .env("SIDECAR_ADVERTISE_IP", &ip)
            .env("SIDECAR_BIND_IP", &ip)
            .env("SIDECAR_BIND_PORT", (args.port + 100).to_string())
            .env("SIDECAR_HTTP_BIND_IP", &ip)
            .env("SIDECAR_HTTP_PORT", args.port.to_string())
            .env("SIDECAR_HOSTNAME", "bench")
            .env("SIDECAR_MAX_WATCHERS", args.streams.max(10_000).to_string())
            .env("ENVOY_USE_GRPC_API", "false")
            .env("HAPROXY_DISABLE", "true")
            .env("SIDECAR_LOGGING_LEVEL", "warn");
        for pair in &args.extra_env {
            let (var, value) = pair.split_once('=').expect("extra settings are VAR=value");
            command.env(var, value);
        }
        let child = command.stdout(Stdio::null()).spawn().unwrap();
        Daemon { child }
    }

    /// Waits until all `services` are ALIVE; their IDs, in name order.
    async fn wait_until_alive(&self, server: SocketAddr, services: usize) -> Vec<String> {
        for _ in 0..200 {
            if let Some(body) = get(server, "/api/state.json").await {
                let ids = alive_ids(&body);
                if ids.len() == services {
                    return ids;
                }
            }
            sleep(Duration::from_millis(100)).await;
        }
        panic!("the daemon did not report {services} ALIVE services within 20 s");
    }

    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.child.id().to_string())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of `/proc/<pid>` in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn write_static_file(path: &std::path::Path, services: usize) {
    let entries: Vec<serde_json::Value> = (0..services)
        .map(|i| {
            serde_json::json!({
                "Service": {
                    "Name": format!("watch-{i:03}"),
                    "Image": format!("example/watch-{i:03}:1.0"),
                    "Ports": [{"Type": "tcp", "Port": 30000 + i, "ServicePort": 20000 + i,
                               "IP": "127.0.0.1"}],
                    "ProxyMode": "http"
                },
                "Check": {"Type": "AlwaysSuccessful", "Args": ""}
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_vec(&entries).unwrap()).unwrap();
}

/// The IDs of the ALIVE records in a `/api/state.json` body, ordered by service name.
fn alive_ids(body: &[u8]) -> Vec<String> {
    let Ok(state) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut alive: Vec<(String, String)> = state["Servers"]["bench"]["Services"]
        .as_object()
        .into_iter()
        .flat_map(|services| services.values())
        .filter(|svc| svc["Status"] == 0)
        .map(|svc| {
            (
                svc["Name"].to_string(),
                svc["ID"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    alive.sort();
    alive.into_iter().map(|(_, id)| id).collect()
}

/// The body of `GET path` (`Connection: close`, read to the end); `None` on any failure.
async fn get(server: SocketAddr, path: &str) -> Option<Vec<u8>> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    let answer = exchange(server, &request).await?;
    let start = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then(|| answer[start..].to_vec())
}

/// Drains the service `id`; the daemon answers 202 once the catalogue has changed.
async fn drain(server: SocketAddr, id: &str) {
    let request = format!(
        "POST /api/services/{id}/drain HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    let answer = exchange(server, &request).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 202"), "drain {id} refused");
}

async fn exchange(server: SocketAddr, request: &str) -> Option<Vec<u8>> {
    let mut tcp = TcpStream::connect(server).await.ok()?;
    tcp.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    Some(answer)
}

/// Opens `count` streams, from 127.0.0.141–149 in turn, each read by a task of its own that
/// reports every document it reads to `tx`.
async fn open_streams(
    server: SocketAddr,
    count: usize,
    via_actix: bool,
    tx: mpsc::Sender<Delivery>,
) {
    let server_ip = match server.ip() {
        std::net::IpAddr::V4(ip) => ip.octets(),
        std::net::IpAddr::V6(_) => panic!("IPv4 only"),
    };
    let opened = futures_util::stream::iter(0..count)
        .map(|stream| {
            let octets = [server_ip[0], server_ip[1], server_ip[2], server_ip[3] + 1];
            let source = Ipv4Addr::from(octets).to_bits() + (stream % 9) as u32;
            open_stream(Ipv4Addr::from_bits(source), server, via_actix)
        })
        .buffered(OPENING_AT_ONCE)
        .enumerate();
    let tx = Arc::new(tx);
    opened
        .for_each(|(stream, reader)| {
            let tx = Arc::clone(&tx);
            tokio::spawn(async move { read_documents(stream, reader, &tx).await });
            async {}
        })
        .await;
}

/// Connects from `source` and sends the request (after a preflight when `via_actix`); the
/// reader is past the response head.
async fn open_stream(
    source: Ipv4Addr,
    server: SocketAddr,
    via_actix: bool,
) -> BufReader<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let tcp = socket.connect(server).await.unwrap();
    let mut reader = BufReader::with_capacity(16 * 1024, tcp);
    if via_actix {
        request(
            &mut reader,
            "OPTIONS /api/watch HTTP/1.1\r\nHost: bench\r\n\r\n",
        )
        .await;
    }
    request(
        &mut reader,
        "GET /api/watch HTTP/1.1\r\nHost: bench\r\n\r\n",
    )
    .await;
    reader
}

/// Sends `text` and reads the answer's head, which must be 200 (a body is not read).
async fn request(reader: &mut BufReader<TcpStream>, text: &str) {
    reader.get_mut().write_all(text.as_bytes()).await.unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    assert!(
        line.starts_with("HTTP/1.1 200"),
        "{text:?} answered {line:?}"
    );
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
    }
}

/// Reads chunks (one document each) until the stream ends, reporting each one.
async fn read_documents(
    stream: usize,
    mut reader: BufReader<TcpStream>,
    tx: &mpsc::Sender<Delivery>,
) {
    let mut line = String::new();
    let mut document = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let Ok(size) = usize::from_str_radix(line.trim_end(), 16) else {
            return;
        };
        document.resize(size + 2, 0);
        if size == 0 || reader.read_exact(&mut document).await.is_err() {
            return;
        }
        let at = Instant::now();
        let drained = document
            .windows(DRAINING.len())
            .filter(|w| *w == DRAINING)
            .count();
        let delivery = Delivery {
            stream,
            drained,
            bytes: size,
            at,
        };
        if tx.send(delivery).await.is_err() {
            return;
        }
    }
}

/// Every stream's delivery of the document showing `drained` services drained.
struct Round {
    latencies: Vec<Duration>,
    bytes: usize,
}

/// Waits (60 s at most) until each of `streams` has read a document with `drained` drained
/// services; latencies are from `t0`.
async fn collect(
    rx: &mut mpsc::Receiver<Delivery>,
    streams: usize,
    drained: usize,
    t0: Instant,
) -> Round {
    let mut done = vec![false; streams];
    let mut round = Round {
        latencies: Vec::with_capacity(streams),
        bytes: 0,
    };
    let deadline = t0 + Duration::from_secs(60);
    while round.latencies.len() < streams {
        let Ok(Some(delivery)) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            panic!(
                "only {} of {streams} streams delivered change {drained}",
                round.latencies.len()
            );
        };
        round.bytes += delivery.bytes;
        if delivery.drained >= drained && !done[delivery.stream] {
            done[delivery.stream] = true;
            round.latencies.push(delivery.at - t0);
        }
    }
    round
}

fn report_memory(args: &Args, before: u64, idle: u64, document: usize) {
    let per_stream = (idle.saturating_sub(before)) as f64 * 1024.0 / args.streams as f64;
    println!(
        "streams: {}; document: {document} bytes; daemon RSS before {before} kB, with the \
         streams idle {idle} kB; per idle stream {:.0} bytes ({:.2} KB)",
        args.streams,
        per_stream,
        per_stream / 1024.0
    );
}

fn report_latency(args: &Args, all: &mut [Duration], bytes: usize, daemon: f64, client: f64) {
    all.sort();
    let at = |q: f64| {
        all[((all.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(all.len() - 1)]
    };
    println!(
        "delivery over {} changes × {} streams: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         {:.1} MB delivered",
        args.changes,
        args.streams,
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(1.0)),
        bytes as f64 / 1e6
    );
    println!("CPU over the changes: daemon {daemon:.2} s, this client {client:.2} s");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
