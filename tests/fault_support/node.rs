//! One daemon in its namespace: started with `ip netns exec` (which execs the binary, so the
//! child's pid is the daemon's and signals reach it), logs kept in a file for the failure
//! message, killed on drop.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::net::Net;
use crate::common::try_get as get;

/// `SIDECAR_ADMIN_TOKEN` of every node.
const ADMIN_TOKEN: &str = "fault-suite";

/// The HTTP port of every node (each has its own address).
pub const HTTP_PORT: u16 = 7777;

/// A node's process and what it was started with.
pub struct Node {
    /// 1-based index (`node-<i>`).
    pub i: usize,
    /// Its HTTP API.
    pub http: SocketAddr,
    ns: String,
    env: BTreeMap<String, String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Node `i` of `net`, its static file and flag files in `dir`, seeded by nodes 1 and 2.
    pub fn new(net: &Net, i: usize, dir: &Path) -> Node {
        let ip = net.node_ip(i).to_string();
        let file = static_file(dir, i);
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("SIDECAR_HOSTNAME", format!("node-{i}")),
            ("SIDECAR_BIND_IP", ip.clone()),
            ("SIDECAR_ADVERTISE_IP", ip.clone()),
            ("SIDECAR_HTTP_BIND_IP", ip.clone()),
            ("SIDECAR_HTTP_PORT", HTTP_PORT.to_string()),
            (
                "SIDECAR_SEEDS",
                format!("{},{}", net.node_ip(1), net.node_ip(2)),
            ),
            ("SIDECAR_DISCOVERY", "static".to_owned()),
            ("STATIC_CONFIG_FILE", file.display().to_string()),
            ("SIDECAR_HEALTH_INTERVAL", "1s".to_owned()),
            ("SIDECAR_HEALTH_TIMEOUT", "900ms".to_owned()),
            ("SIDECAR_LOGGING_FORMAT", "json".to_owned()),
            ("SIDECAR_LOGGING_LEVEL", "info".to_owned()),
            ("HAPROXY_DISABLE", "true".to_owned()),
            ("SIDECAR_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
        ] {
            env.insert(k.to_owned(), v);
        }
        Node {
            i,
            http: SocketAddr::new(net.node_ip(i).into(), HTTP_PORT),
            ns: net.ns(i),
            env,
            log: dir.join(format!("node-{i}.log")),
            child: None,
        }
    }

    /// Starts the daemon (again) and waits until its API answers.
    pub fn start(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, env!("CARGO_BIN_EXE_sidecar")])
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the daemon starts");
        self.child = Some(child);
        let start = Instant::now();
        while get(self.http, "/api/state.json").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "node-{} did not start:\n{}",
                self.i,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /api/admin/gossip` (with the admin token: the test is not on the node's loopback).
    pub fn gossip_stats(&self) -> serde_json::Value {
        let auth = format!("Authorization: Bearer {ADMIN_TOKEN}\r\n");
        let (status, body) = crate::common::http_call(self.http, "GET", "/api/admin/gossip", &auth);
        assert_eq!(status, 200, "node-{}: {body}", self.i);
        serde_json::from_str(&body).unwrap_or_default()
    }

    /// Sends `signal` (`KILL`, `TERM`, `STOP`, `CONT`) to the daemon.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().map(Child::id).expect("running");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
    }

    /// Waits for the daemon to exit (after SIGTERM or SIGKILL); its exit code, if any.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut().expect("running");
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            assert!(start.elapsed() < timeout, "node-{} did not exit", self.i);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node's logs so far.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        let _ = File::open(&self.log).and_then(|mut f| f.read_to_string(&mut text));
        text
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The flag file whose presence keeps node `i`'s `flappy` service healthy.
pub fn flag(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("node-{i}.up"))
}

/// Node `i`'s static file: `steady-<i>` (always healthy) and `flappy-<i>` (healthy while its
/// flag file exists; created here).
fn static_file(dir: &Path, i: usize) -> PathBuf {
    let up = flag(dir, i);
    File::create(&up).unwrap();
    let entry = |name: &str, port: u16, check: String| {
        format!(
            r#"{{"Service": {{"Name": "{name}-{i}", "Image": "img:1", "Ports": [{{"Type": "tcp", "Port": {port}, "ServicePort": {port}}}]}}, "Check": {check}}}"#
        )
    };
    let steady = entry("steady", 9000, r#"{"Type": "AlwaysSuccessful"}"#.to_owned());
    let flappy = entry(
        "flappy",
        9001,
        format!(
            r#"{{"Type": "External", "Args": "test -e {}"}}"#,
            up.display()
        ),
    );
    let path = dir.join(format!("node-{i}.json"));
    File::create(&path)
        .unwrap()
        .write_all(format!("[{steady}, {flappy}]").as_bytes())
        .unwrap();
    path
}
