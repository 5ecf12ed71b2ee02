//! Shared test harness: run the real `sidecar` binary, talk HTTP to it, poll until a
//! condition holds (never a bare sleep), and a tiny HTTP target whose health can be switched.

#![allow(dead_code, unreachable_pub)]
// Black-box tests run on plain threads, outside any actix arbiter: blocking waits are fine here.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
// Test harness: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cluster;
pub mod docker;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// Polls `pred` every 25 ms until it returns `Some`, or panics after `timeout` saying `what`.
pub fn eventually<T>(timeout: Duration, what: &str, mut pred: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = pred() {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A running `sidecar` process, killed when dropped. Its stderr (JSON logs) is collected.
pub struct Sidecar {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    pub http: SocketAddr,
}

/// The environment every test node starts from: nothing from the developer's shell leaks in.
pub fn base_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (k, v) in [
        ("SIDECAR_LOGGING_FORMAT", "json"),
        ("SIDECAR_LOGGING_LEVEL", "debug"),
        ("SIDECAR_ADVERTISE_IP", "127.0.0.1"),
        ("SIDECAR_HTTP_BIND_IP", "127.0.0.1"),
        ("SIDECAR_HTTP_PORT", "0"),
        ("SIDECAR_BIND_IP", "127.0.0.1"),
        ("SIDECAR_BIND_PORT", "0"),
        ("SIDECAR_HOSTNAME", "test-node"),
        ("SIDECAR_DISCOVERY", "static"),
        ("HAPROXY_DISABLE", "true"),
        // Tests that want the xDS server turn it on with their own address.
        ("ENVOY_USE_GRPC_API", "false"),
    ] {
        env.insert(k.to_owned(), v.to_owned());
    }
    if let Ok(path) = std::env::var("PATH") {
        env.insert("PATH".to_owned(), path);
    }
    env
}

/// `base_env()` with every address on `ip` (HTTP and gossip on any free port) and health
/// checks every 300 ms (200 ms timeout): a node of its own on a loopback address.
pub fn env_on(ip: &str) -> BTreeMap<String, String> {
    let mut env = base_env();
    for (k, v) in [
        ("SIDECAR_ADVERTISE_IP", ip),
        ("SIDECAR_HTTP_BIND_IP", ip),
        ("SIDECAR_BIND_IP", ip),
        ("SIDECAR_HEALTH_INTERVAL", "300ms"),
        ("SIDECAR_HEALTH_TIMEOUT", "200ms"),
    ] {
        env.insert(k.to_owned(), v.to_owned());
    }
    env
}

/// Runs the binary with exactly `env` and `args`, without waiting for it to start.
pub fn spawn(env: &BTreeMap<String, String>, args: &[&str]) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sidecar"))
        .args(args)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sidecar binary starts");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("stderr is piped");
    let sink = Arc::clone(&logs);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (child, logs)
}

impl Sidecar {
    /// Starts the binary and waits until its HTTP API is up.
    pub fn start(env: &BTreeMap<String, String>, args: &[&str]) -> Sidecar {
        let (child, logs) = spawn(env, args);
        let mut node = Sidecar {
            child,
            logs,
            http: "0.0.0.0:0".parse().unwrap(),
        };
        node.http = eventually(
            Duration::from_secs(20),
            "the node logs 'Sidecar started'",
            || {
                if let Ok(Some(status)) = node.child.try_wait() {
                    panic!("sidecar exited early with {status}:\n{}", node.logs_text());
                }
                node.log_lines().iter().find_map(|line| {
                    let value: Value = serde_json::from_str(line).ok()?;
                    (value["msg"] == "Sidecar started")
                        .then(|| value["http"].as_str()?.parse().ok())?
                })
            },
        );
        node
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// All logs as one string (for assertion messages).
    pub fn logs_text(&self) -> String {
        self.log_lines().join("\n")
    }

    /// `GET path` → (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_request(self.http, "GET", path)
    }

    /// `GET path` parsed as JSON (panics on a non-200 answer).
    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }

    /// Sends a signal to the process (`kill -<sig>`).
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        eventually(timeout, "the process exits", || {
            self.child.try_wait().ok().flatten()
        })
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.0 request; returns (status, body). Panics if the server does not answer.
pub fn http_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    http_call(addr, method, path, "")
}

/// Opens `/api/watch` (HTTP/1.0, so the body is close-delimited) and collects every JSON
/// document the node pushes, on a background thread.
pub fn watch(addr: SocketAddr, path: &str) -> Arc<Mutex<Vec<Value>>> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let docs = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&docs);
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let Some(start) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let parsed: Vec<Value> = serde_json::Deserializer::from_slice(&buf[start + 4..])
                .into_iter::<Value>()
                .map_while(Result::ok)
                .collect();
            *sink.lock().unwrap() = parsed;
        }
    });
    docs
}

/// A health-check target on 127.0.0.1 answering 200, or 500 while `failing` is set.
pub struct Target {
    pub addr: SocketAddr,
    failing: Arc<AtomicBool>,
}

impl Target {
    pub fn start() -> Target {
        Target::start_on("127.0.0.1", "ok")
    }

    /// A target on `ip` (any free port) whose answers carry `body`.
    pub fn start_on(ip: &str, body: &'static str) -> Target {
        let listener = TcpListener::bind(format!("{ip}:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let failing = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failing);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let status = if flag.load(Ordering::SeqCst) {
                    "500 Oops"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Target { addr, failing }
    }

    /// Makes the target answer 500 (`true`) or 200 (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

/// A node (the built binary) with one static service `name` checked on a fresh healthy
/// [`Target`], plus `extra` environment. Keep the target and the directory alive with it.
pub fn node_with_service(
    name: &str,
    extra: &[(&str, &str)],
) -> (Sidecar, Target, tempfile::TempDir) {
    let target = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env();
    let file = static_file(dir.path(), name, target.addr);
    env.insert("STATIC_CONFIG_FILE".into(), file.display().to_string());
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    (Sidecar::start(&env, &[]), target, dir)
}

/// Writes a static.json with one service `name` checked by HttpGet on `target`.
pub fn static_file(dir: &std::path::Path, name: &str, target: SocketAddr) -> std::path::PathBuf {
    let path = dir.join("static.json");
    let body = serde_json::json!([{
        "Service": {
            "Name": name,
            "Image": "example:1",
            "Ports": [{"Type": "tcp", "Port": target.port(), "ServicePort": 9999, "IP": "127.0.0.1"}],
            "ProxyMode": "http"
        },
        "Check": {"Type": "HttpGet", "Args": format!("http://{target}/health")}
    }]);
    std::fs::write(&path, body.to_string()).unwrap();
    path
}

/// The status of `svc` announced by `host`, as `node` sees it.
pub fn status(node: &Sidecar, svc: &str, host: &str) -> Option<i64> {
    let body = node.get_json("/api/services.json");
    body["Services"][svc]
        .as_array()?
        .iter()
        .find(|s| s["Hostname"] == host)?["Status"]
        .as_i64()
}

/// The cluster members `node` lists, sorted.
pub fn members(node: &Sidecar) -> Vec<String> {
    let body: Value = node.get_json("/api/services.json");
    let mut names: Vec<String> = body["ClusterMembers"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// One HTTP/1.0 request with a method, extra header lines and status + body back.
pub fn http_call(addr: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, String) {
    try_http_call(addr, method, path, headers).expect("response")
}

/// [`http_call`], with a connection that fails or is reset (a server being restarted) as an
/// error instead of a panic.
pub fn try_http_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: test\r\n{headers}\r\n"
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A network namespace with a veth pair: a test host with its own (non-loopback) address,
/// removed on drop. Needs root and iproute2.
pub struct NetNs {
    pub name: String,
    host_if: String,
    /// The address of the host side (this machine, reachable from inside the namespace).
    pub host_ip: String,
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip runs");
    assert!(status.success(), "ip {args:?} failed");
}

impl NetNs {
    /// Creates namespace `sc<tag>` linked to this machine over 10.231.<tag>.0/30.
    pub fn create(tag: u8) -> NetNs {
        let name = format!("sc{tag}-{}", std::process::id());
        let (host_if, ns_if) = (format!("vsc{tag}h"), format!("vsc{tag}n"));
        let _ = Command::new("ip").args(["link", "del", &host_if]).output();
        ip(&["netns", "add", &name]);
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ]);
        ip(&["link", "set", &ns_if, "netns", &name]);
        let host_ip = format!("10.231.{tag}.1");
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        let ns_addr = format!("10.231.{tag}.2/30");
        ip(&[
            "netns", "exec", &name, "ip", "addr", "add", &ns_addr, "dev", &ns_if,
        ]);
        ip(&["netns", "exec", &name, "ip", "link", "set", &ns_if, "up"]);
        NetNs {
            name,
            host_if,
            host_ip,
        }
    }

    /// Runs curl inside the namespace; returns (status, body).
    pub fn curl(&self, method: &str, url: &str, header: Option<&str>) -> (u16, String) {
        let mut args = vec![
            "netns", "exec", &self.name, "curl", "-s", "-m", "5", "-X", method,
        ];
        if let Some(header) = header {
            args.extend(["-H", header]);
        }
        args.extend(["-w", "\n%{http_code}", url]);
        let out = Command::new("ip").args(&args).output().expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Starts the binary with `base_env()` plus `extra`; expects exit code 2 and every one of
/// `needles` in its log.
pub fn refused_at_start(extra: &[(&str, &str)], needles: &[&str]) {
    let mut env = base_env();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let (mut child, logs) = spawn(&env, &[]);
    assert_eq!(child.wait().unwrap().code(), Some(2));
    eventually(Duration::from_secs(5), "the error explains", || {
        let text = logs.lock().unwrap().join("\n");
        needles.iter().all(|n| text.contains(n)).then_some(())
    });
}

/// `GET path` with short timeouts; the body of a 200 answer, else `None`.
pub fn try_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(800)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    (head.split(' ').nth(1) == Some("200")).then(|| body.to_owned())
}
