//! The test network: one Linux bridge on this machine and one network namespace per node,
//! each joined to the bridge by a veth pair, on 10.233.<subnet>.0/24 (the bridge is .1, node
//! `i` is .(10 + i)). Faults are iptables rules inside a node's namespace; every namespace,
//! link and rule is removed on drop, also when a test fails (and stale ones of an earlier,
//! killed run are removed first).

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// Runs `ip` with `args`; panics with the command when it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ip` with `args`, ignoring failures (cleanup).
fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip").args(args).stderr(Stdio::null()).output();
}

/// Runs this machine's `iptables -w` with `args`; panics when it fails.
fn host_iptables(args: &[&str]) {
    let out = Command::new("iptables")
        .arg("-w")
        .args(args)
        .output()
        .expect("iptables runs");
    assert!(
        out.status.success(),
        "iptables {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs this machine's `iptables -w` with `args`; whether it succeeded.
fn host_iptables_quiet(args: &[&str]) -> bool {
    Command::new("iptables")
        .arg("-w")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The bridge and the namespaces of one scenario.
pub struct Net {
    subnet: u8,
    nodes: usize,
}

impl Net {
    /// Creates the bridge `sfb<subnet>` and `nodes` namespaces `sf<subnet>n<i>` (i from 1).
    pub fn create(subnet: u8, nodes: usize) -> Net {
        let net = Net { subnet, nodes };
        net.remove();
        let bridge = net.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"]);
        // Bridged frames cross this machine's FORWARD chain (br_netfilter), whose policy Docker
        // sets to DROP: let the bridge's own traffic through, first in the chain.
        host_iptables(&[
            "-I", "FORWARD", "1", "-i", &bridge, "-o", &bridge, "-j", "ACCEPT",
        ]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", net.host_ip()),
            "dev",
            &bridge,
        ]);
        ip(&["link", "set", &bridge, "up"]);
        for i in 1..=nodes {
            let (ns, host_if, ns_if) = (net.ns(i), net.host_if(i), format!("eth{i}"));
            ip(&["netns", "add", &ns]);
            ip(&[
                "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
            ]);
            ip(&["link", "set", &ns_if, "netns", &ns]);
            ip(&["link", "set", &host_if, "master", &bridge]);
            ip(&["link", "set", &host_if, "up"]);
            let addr = format!("{}/24", net.node_ip(i));
            ip(&[
                "netns", "exec", &ns, "ip", "addr", "add", &addr, "dev", &ns_if,
            ]);
            ip(&["netns", "exec", &ns, "ip", "link", "set", &ns_if, "up"]);
            ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]);
        }
        net
    }

    /// Node `i`'s address.
    pub fn node_ip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 233, self.subnet, 10 + u8::try_from(i).unwrap_or(0))
    }

    /// This machine's address on the bridge (where the observer polls from).
    pub fn host_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 233, self.subnet, 1)
    }

    /// Node `i`'s namespace.
    pub fn ns(&self, i: usize) -> String {
        format!("sf{}n{i}", self.subnet)
    }

    fn host_if(&self, i: usize) -> String {
        format!("sf{}h{i}", self.subnet)
    }

    fn bridge(&self) -> String {
        format!("sfb{}", self.subnet)
    }

    /// Node `at` drops every packet that comes from node `from` (a one-way cut).
    pub fn drop_from(&self, at: usize, from: usize) {
        self.iptables(
            at,
            &[
                "-A",
                "INPUT",
                "-s",
                &self.node_ip(from).to_string(),
                "-j",
                "DROP",
            ],
        );
    }

    /// Nodes of `a` and of `b` drop each other's packets (a partition).
    pub fn partition(&self, a: &[usize], b: &[usize]) {
        for &x in a {
            for &y in b {
                self.drop_from(x, y);
                self.drop_from(y, x);
            }
        }
    }

    /// Node `at` drops each packet from another node with probability `p` (the observer's
    /// polls from the bridge address are spared).
    pub fn lossy(&self, at: usize, p: f64) {
        let (host, subnet) = (
            self.host_ip().to_string(),
            format!("10.233.{}.0/24", self.subnet),
        );
        self.iptables(at, &["-A", "INPUT", "-s", &host, "-j", "ACCEPT"]);
        let p = format!("{p}");
        self.iptables(
            at,
            &[
                "-A",
                "INPUT",
                "-s",
                &subnet,
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                &p,
                "-j",
                "DROP",
            ],
        );
    }

    /// Removes every fault rule.
    pub fn heal(&self) {
        for i in 1..=self.nodes {
            self.iptables(i, &["-F", "INPUT"]);
        }
    }

    fn iptables(&self, at: usize, args: &[&str]) {
        let ns = self.ns(at);
        let mut all = vec!["netns", "exec", ns.as_str(), "iptables", "-w"];
        all.extend_from_slice(args);
        ip(&all);
    }

    fn remove(&self) {
        for i in 1..=self.nodes.max(9) {
            ip_quiet(&["netns", "del", &self.ns(i)]);
            ip_quiet(&["link", "del", &self.host_if(i)]);
        }
        let bridge = self.bridge();
        while host_iptables_quiet(&[
            "-D", "FORWARD", "-i", &bridge, "-o", &bridge, "-j", "ACCEPT",
        ]) {}
        ip_quiet(&["link", "del", &bridge]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}
