//! The command-line client (`sidecar services`, …) against a running node of the built binary
//! on 127.0.0.110–119: each command's output, `--json`, and the exit codes for an
//! unreachable node (3), a wrong admin token (4) and an unknown name (5).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ops_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Sidecar, eventually};
use ops_support::ops_node;
use serde_json::Value;

const TOKEN: &str = "s3cret";

/// Runs `sidecar args…` against `node` with `token`; exit code, stdout, stderr.
fn client(node: &Sidecar, token: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let url = format!("http://{}", node.http);
    client_at(&url, token, args)
}

fn client_at(url: &str, token: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sidecar"));
    command.args(args).args(["--node", url]).env_clear();
    if let Some(token) = token {
        command.env("SIDECAR_ADMIN_TOKEN", token);
    }
    let out = command.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn web_alive(node: &Sidecar) -> String {
    eventually(Duration::from_secs(10), "web ALIVE", || {
        let doc = node.get_json("/api/services.json");
        let web = &doc["Services"]["web"][0];
        (web["Status"] == 0).then(|| web["ID"].as_str().unwrap().to_owned())
    })
}

#[test]
fn the_read_commands_print_tables_or_json_and_fail_with_clear_exit_codes() {
    let (node, _target, _dir) = ops_node("127.0.0.110", 17_950, &[("SIDECAR_ADMIN_TOKEN", TOKEN)]);
    let id = web_alive(&node);

    let (code, out, _) = client(&node, None, &["services"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("web") && l.contains("1 Alive") && l.ends_with("9999")),
        "{out}"
    );
    let (code, out, _) = client(&node, None, &["services", "--json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["Services"]["web"][0]["ID"], id.as_str());

    let (code, out, _) = client(&node, None, &["service", "web"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&id) && out.contains("Alive") && out.contains("9999->"),
        "{out}"
    );
    let (code, _, err) = client(&node, None, &["service", "nope"]);
    assert_eq!(
        (code, err.trim()),
        (5, "sidecar: no instances of nope found")
    );

    let (code, out, _) = client(&node, None, &["members"]);
    assert_eq!(code, 0);
    assert!(
        out.lines().nth(1).unwrap().starts_with("test-node"),
        "{out}"
    );

    let (code, out, _) = client(&node, Some(TOKEN), &["subsystems"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("state_keeper") && l.contains("running")),
        "{out}"
    );
    let (code, out, _) = client(&node, Some(TOKEN), &["gossip"]);
    assert_eq!(code, 0);
    assert!(out.contains("exchanges:"), "{out}");

    for command in ["subsystems", "gossip"] {
        let (code, _, err) = client(&node, Some("wrong"), &[command]);
        assert_eq!(code, 4, "{command}: {err}");
        assert!(err.contains("refused the admin token"), "{err}");
        let (code, _, _) = client(&node, None, &[command]);
        assert_eq!(code, 4, "{command} without a token");
    }
}

#[test]
fn an_unreachable_node_exits_3_naming_the_node() {
    let (code, out, err) = client_at("http://127.0.0.111:9", None, &["services"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(
        err.starts_with("sidecar: cannot reach the node at http://127.0.0.111:9: "),
        "{err}"
    );
}

#[test]
fn drain_and_restart_act_and_unknown_names_exit_5() {
    let (node, _target, _dir) = ops_node("127.0.0.112", 17_951, &[("SIDECAR_ADMIN_TOKEN", TOKEN)]);
    let id = web_alive(&node);

    let (code, out, err) = client(&node, None, &["drain", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("set to DRAINING") && out.contains(&id),
        "{out}"
    );
    let (code, _, err) = client(&node, None, &["drain", "nope"]);
    assert_eq!(code, 5, "{err}");

    let (code, _, err) = client(&node, Some(TOKEN), &["restart", "gossiper"]);
    assert_eq!(code, 0, "{err}");
    eventually(
        Duration::from_secs(10),
        "the gossiper's restart listed",
        || {
            let (_, out, _) = client(&node, Some(TOKEN), &["subsystems", "--json"]);
            let list: Vec<Value> = serde_json::from_str(&out).unwrap();
            let gossiper = list.into_iter().find(|s| s["name"] == "gossiper")?;
            (gossiper["restarts"] == 1).then_some(())
        },
    );
    let (code, _, err) = client(&node, Some(TOKEN), &["restart", "nope"]);
    assert_eq!(code, 5, "{err}");
    let (code, _, _) = client(&node, Some("wrong"), &["restart", "gossiper"]);
    assert_eq!(code, 4);
}

#[test]
fn watch_prints_one_line_per_change_as_it_happens() {
    let (node, target, _dir) = ops_node("127.0.0.114", 17_952, &[]);
    let id = web_alive(&node);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sidecar"))
        .args(["watch", "--node", &format!("http://{}", node.http)])
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first, format!("web {id} on test-node: Alive"));
    target.set_failing(true);
    let next = lines.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(next, format!("web {id} on test-node: Alive -> Unhealthy"));
    child.kill().unwrap();
    let _ = child.wait();
}
