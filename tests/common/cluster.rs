//! Clusters of real processes on loopback: each node on its own 127.0.0.n with the same
//! gossip port, started from the built binary.

use std::collections::BTreeMap;
use std::net::{TcpListener, UdpSocket};

use super::{Sidecar, Target, base_env, static_file};

/// A port free for TCP and UDP on 127.0.0.n for every n in `hosts`.
pub fn free_gossip_port(hosts: std::ops::RangeInclusive<u8>) -> u16 {
    let first = format!("127.0.0.{}", hosts.start());
    loop {
        let probe = TcpListener::bind((first.as_str(), 0)).unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let free = hosts.clone().all(|n| {
            let ip = format!("127.0.0.{n}");
            TcpListener::bind((ip.as_str(), port)).is_ok()
                && UdpSocket::bind((ip.as_str(), port)).is_ok()
        });
        if free {
            return port;
        }
    }
}

/// A running node with what it needs kept alive: its health-check target, if it announces a
/// service, and the directory of its static file.
pub struct ClusterNode {
    pub node: Sidecar,
    pub target: Option<Target>,
    _dir: tempfile::TempDir,
}

/// `node-n` on 127.0.0.n:`port` in `cluster`, seeded by 127.0.0.`seed`:`port`, announcing a
/// static service `svc` checked on a fresh healthy [`Target`] (none: no discovery), with
/// `extra` environment on top.
pub fn cluster_node(
    n: u8,
    seed: u8,
    port: u16,
    cluster: &str,
    svc: Option<&str>,
    extra: &[(&str, &str)],
) -> ClusterNode {
    let ip = format!("127.0.0.{n}");
    let dir = tempfile::tempdir().unwrap();
    let mut env: BTreeMap<String, String> = base_env();
    for (k, v) in [
        ("SIDECAR_HOSTNAME", format!("node-{n}")),
        ("SIDECAR_BIND_IP", ip.clone()),
        ("SIDECAR_ADVERTISE_IP", ip.clone()),
        ("SIDECAR_HTTP_BIND_IP", ip),
        ("SIDECAR_BIND_PORT", port.to_string()),
        ("SIDECAR_SEEDS", format!("127.0.0.{seed}:{port}")),
        ("SIDECAR_CLUSTER_NAME", cluster.to_owned()),
        ("SIDECAR_LOGGING_LEVEL", "debug".to_owned()),
    ] {
        env.insert(k.to_owned(), v);
    }
    let target = svc.map(|name| {
        let target = Target::start();
        let file = static_file(dir.path(), name, target.addr);
        env.insert("STATIC_CONFIG_FILE".into(), file.display().to_string());
        target
    });
    if target.is_none() {
        env.insert("SIDECAR_DISCOVERY".into(), String::new());
    }
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    ClusterNode {
        node: Sidecar::start(&env, &[]),
        target,
        _dir: dir,
    }
}
