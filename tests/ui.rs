//! The web UI in a real browser: headless Chromium loads `/ui/` from the built binary and the
//! page's script renders the catalogue from `/api/services.json`.

#![allow(clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{eventually, node_with_service};

fn rendered_dom(url: &str) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=3000",
        ])
        .args(["--dump-dom", url])
        .output()
        .expect("chromium runs (installed by .ci/install-deps)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_ui_shows_each_service_with_its_status_and_the_cluster_members() {
    let (node, _target, _dir) = node_with_service("web", &[]);
    eventually(Duration::from_secs(10), "web ALIVE", || {
        let doc = node.get_json("/api/services.json");
        (doc["Services"]["web"][0]["Status"] == 0).then_some(())
    });
    let dom = rendered_dom(&format!("http://{}/ui/", node.http));
    assert!(dom.contains("<td>web</td>"), "{dom}");
    assert!(
        dom.contains(r#"<span class="status s0">Alive</span>"#),
        "{dom}"
    );
    assert!(dom.contains("<td>test-node</td>"), "{dom}");
    assert!(dom.contains("cluster default"), "{dom}");
}
