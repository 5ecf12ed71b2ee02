//! The fault harness: N real daemons, each in its own network namespace on a bridge, faults
//! injected from this machine (iptables rules inside a namespace, signals to a process), and
//! an observer that polls every node and records every breach of the scenario's invariant.
//! Needs root, iproute2 and iptables (CI runs as root; `.ci/install-deps` installs them).

#![allow(dead_code)]

pub mod net;
pub mod node;
pub mod observer;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use net::Net;
use node::Node;
use observer::{ALIVE, View};

/// Scenarios run one at a time: five daemons each on two cores are enough.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes the scenario lock (a failed scenario does not block the others).
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the full-length scenarios were asked for (`FAULTS_FULL=1`); CI runs the short ones.
pub fn full_length() -> bool {
    std::env::var("FAULTS_FULL").is_ok_and(|v| v == "1")
}

/// `short` in CI, `full` with `FAULTS_FULL=1`.
pub fn length(short: Duration, full: Duration) -> Duration {
    if full_length() { full } else { short }
}

/// A network and its running nodes.
pub struct Cluster {
    /// Nodes by index (node `i` is `nodes[i - 1]`).
    pub nodes: Vec<Node>,
    /// The network (dropped after the nodes).
    pub net: Net,
    /// Static files, flag files and logs.
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` nodes on subnet 10.233.`subnet`.0/24, started one after the other.
    pub fn start(subnet: u8, n: usize) -> Cluster {
        let net = Net::create(subnet, n);
        let dir = tempfile::tempdir().unwrap();
        let mut nodes: Vec<Node> = (1..=n).map(|i| Node::new(&net, i, dir.path())).collect();
        for node in &mut nodes {
            node.start();
        }
        Cluster { nodes, net, dir }
    }

    /// Node `i`.
    pub fn node(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i - 1]
    }

    /// Every node's API address by index.
    pub fn addrs(&self) -> BTreeMap<usize, SocketAddr> {
        self.nodes.iter().map(|n| (n.i, n.http)).collect()
    }

    /// The logs of every node, for a failure message.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- node-{}\n{}", n.i, n.logs()))
            .collect()
    }
}

/// Whether `view` shows both services of every node in `hosts` ALIVE.
pub fn shows_alive(view: &View, hosts: impl IntoIterator<Item = usize>) -> bool {
    hosts.into_iter().all(|h| {
        let services = view.get(&format!("node-{h}"));
        ["steady", "flappy"]
            .iter()
            .all(|s| services.and_then(|m| m.get(&format!("{s}-{h}"))) == Some(&ALIVE))
    })
}

/// Whether `view` shows no service of node `h` ALIVE (tombstoned or gone).
pub fn shows_gone(view: &View, h: usize) -> bool {
    view.get(&format!("node-{h}"))
        .is_none_or(|services| services.values().all(|s| *s != ALIVE))
}

/// Prints a scenario's figures and appends them to `$CARGO_TARGET_TMPDIR/faults-report.txt`.
pub fn report(scenario: &str, figures: &[(&str, String)]) {
    let line: Vec<String> = figures.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mode = if full_length() { "full" } else { "short" };
    let text = format!("{scenario} ({mode}): {}\n", line.join(" "));
    print!("{text}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("faults-report.txt");
    if let Ok(mut file) = std::fs::File::options()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(text.as_bytes());
    }
}

/// `d` in seconds with two decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}
