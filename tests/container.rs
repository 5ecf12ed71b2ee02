//! The image, built from local files (`scripts/local-image.sh`, no registry), runs a
//! three-node cluster on a Docker network this test creates: the nodes find each other by
//! container name and advertise their own network address, with nothing of this machine's
//! addresses configured; `docker stop` makes a node leave gracefully.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::docker::docker;
use common::{eventually, try_get};
use serde_json::Value;

const IMAGE: &str = "sidecar-cluster-test:local";

/// The containers and the network of one run, removed on drop.
struct Containers {
    network: String,
    names: Vec<String>,
}

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("docker").args(["rm", "-f", name]).output();
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &self.network])
            .output();
    }
}

/// `/api/state.json` of the node at `ip`: host → service name → status.
fn statuses(ip: &str) -> Option<Vec<(String, String, u64)>> {
    let addr: SocketAddr = format!("{ip}:7777").parse().ok()?;
    let state: Value = serde_json::from_str(&try_get(addr, "/api/state.json")?).ok()?;
    let mut all = Vec::new();
    for (host, server) in state["Servers"].as_object()? {
        for svc in server["Services"].as_object()?.values() {
            let name = svc["Name"].as_str()?.to_owned();
            all.push((host.clone(), name, svc["Status"].as_u64()?));
        }
    }
    Some(all)
}

fn status_of(ip: &str, service: &str) -> Option<u64> {
    statuses(ip)?
        .into_iter()
        .find(|(_, name, _)| name == service)
        .map(|(_, _, s)| s)
}

#[test]
fn three_containers_form_a_cluster_by_name_and_docker_stop_leaves_it_gracefully() {
    let built = Command::new("scripts/local-image.sh")
        .args([env!("CARGO_BIN_EXE_sidecar"), IMAGE])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = format!("sc{}", std::process::id());
    let mut containers = Containers {
        network: format!("{run}-net"),
        names: Vec::new(),
    };
    docker(&["network", "create", &containers.network]);
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=3 {
        let file = format!(
            r#"[{{"Service": {{"Name": "svc-{n}", "Image": "img:1", "Ports": [{{"Type": "tcp", "Port": 80, "ServicePort": 8080}}]}}, "Check": {{"Type": "AlwaysSuccessful"}}}}]"#
        );
        std::fs::write(dir.path().join(format!("node-{n}.json")), file).unwrap();
    }
    let mut ips = Vec::new();
    for n in 1..=3 {
        let name = format!("{run}-node-{n}");
        containers.names.push(name.clone());
        let env = [
            format!("SIDECAR_HOSTNAME=node-{n}"),
            format!("SIDECAR_SEEDS={run}-node-1"),
            "SIDECAR_DISCOVERY=static".to_owned(),
            format!("STATIC_CONFIG_FILE=/data/node-{n}.json"),
            "SIDECAR_LOGGING_FORMAT=json".to_owned(),
            "HAPROXY_DISABLE=true".to_owned(),
        ];
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &containers.network,
        ];
        let volume = format!("{}:/data:ro", dir.path().display());
        args.extend(["-v", &volume]);
        for e in &env {
            args.extend(["-e", e]);
        }
        args.push(IMAGE);
        docker(&args);
        let format = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}";
        ips.push(docker(&["inspect", "-f", format, &name]));
    }
    eventually(
        Duration::from_secs(30),
        "every node shows every service ALIVE",
        || {
            ips.iter()
                .all(|ip| (1..=3).all(|n| status_of(ip, &format!("svc-{n}")) == Some(0)))
                .then_some(())
        },
    );
    let stop = Instant::now();
    docker(&["stop", "-t", "10", &containers.names[2]]);
    let stopped = stop.elapsed();
    let exit = docker(&["inspect", "-f", "{{.State.ExitCode}}", &containers.names[2]]);
    assert_eq!(exit, "0", "docker stop is a clean exit");
    eventually(
        Duration::from_secs(5),
        "node-3's service TOMBSTONE on the others",
        || {
            ips[..2]
                .iter()
                .all(|ip| status_of(ip, "svc-3") == Some(1))
                .then_some(())
        },
    );
    assert!(
        stopped < Duration::from_secs(10),
        "left before docker's kill: {stopped:?}"
    );
}
