//! The web UI tests' tools: a node of the built binary on an address of its own with the
//! static services a test lists, and a real headless Chromium driven over the DevTools
//! protocol, so a test can load the page once and watch it change without a reload.
#![allow(dead_code, reason = "each test uses a part")]
// Black-box tests run on plain threads: blocking waits are fine here.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod websocket;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Sidecar, Target, env_on};
use websocket::WebSocket;

/// How long a page may take to show what a test waits for (CI runs on two busy cores).
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

// ---- Nodes -------------------------------------------------------------------------------

/// A static service entry (docs/COMPATIBILITY.md §9) named `name` on `host` (empty: the
/// node's own name), with one port `service_port` → `ip:port`, checked by `check`.
pub(crate) fn service(
    name: &str,
    host: &str,
    image: &str,
    ports: (u16, &str, u16),
    check: Value,
) -> Value {
    let (service_port, ip, port) = ports;
    json!({
        "Service": {
            "Name": name, "Hostname": host, "Image": image, "ProxyMode": "http",
            "Ports": [{"Type": "tcp", "Port": port, "ServicePort": service_port, "IP": ip}],
        },
        "Check": check,
    })
}

/// A check that always passes.
pub(crate) fn always_healthy() -> Value {
    json!({"Type": "AlwaysSuccessful", "Args": ""})
}

/// An HTTP check on `target` (failing while the target fails).
pub(crate) fn checked_on(target: &Target) -> Value {
    json!({"Type": "HttpGet", "Args": format!("http://{}/health", target.addr)})
}

/// A node on `ip`, HTTP on `http_port` (0: any), announcing `entries` from a static file in
/// `dir`, plus `extra` environment.
pub(crate) fn node_on(
    ip: &str,
    http_port: u16,
    dir: &Path,
    entries: &[Value],
    extra: &[(&str, &str)],
) -> Sidecar {
    let file = dir.join("static.json");
    std::fs::write(&file, Value::from(entries.to_vec()).to_string()).unwrap();
    let mut env = env_on(ip);
    env.insert("SIDECAR_HTTP_PORT".into(), http_port.to_string());
    env.insert("STATIC_CONFIG_FILE".into(), file.display().to_string());
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Sidecar::start(&env, &[])
}

/// A node on `ip` announcing `entries` (plus `extra` environment), and its UI open in a
/// browser. Keep the directory (the node's static file) alive with the node.
pub(crate) fn open_ui(
    ip: &str,
    entries: &[Value],
    extra: &[(&str, &str)],
) -> (Browser, Sidecar, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = node_on(ip, 0, dir.path(), entries, extra);
    let page = Browser::open(&format!("http://{}/ui/", node.http));
    (page, node, dir)
}

// ---- The browser -------------------------------------------------------------------------

/// Headless Chromium with one page, driven over the DevTools protocol. Dropping it kills
/// the browser and removes its profile, after checking that the page's scripts threw
/// nothing uncaught (unless the test is already failing).
pub(crate) struct Browser {
    child: Child,
    socket: WebSocket,
    session: Option<String>,
    next_id: u64,
    /// Uncaught exceptions the page reported (`Runtime.exceptionThrown`).
    script_errors: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium and loads `url` in a new page.
    pub(crate) fn open(url: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
            ])
            .args([
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
            ])
            .args(["--remote-debugging-port=0", "--window-size=1280,900"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium runs (installed by .ci/install-deps)");
        let endpoint = devtools_endpoint(&mut child);
        let socket = WebSocket::connect(&endpoint);
        let mut browser = Browser {
            child,
            socket,
            session: None,
            next_id: 0,
            script_errors: Vec::new(),
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}));
        let attach = json!({"targetId": target["targetId"], "flatten": true});
        let session = browser.call("Target.attachToTarget", attach)["sessionId"].clone();
        browser.session = Some(session.as_str().expect("a session id").to_owned());
        browser.call("Runtime.enable", json!({}));
        browser.call("Page.navigate", json!({"url": url}));
        browser
    }

    /// Sends one DevTools command (to the page once attached) and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            command["sessionId"] = json!(session);
        }
        self.socket.send(&command.to_string());
        loop {
            let message: Value = serde_json::from_str(&self.socket.receive()).unwrap();
            if message["method"] == "Runtime.exceptionThrown" {
                self.script_errors
                    .push(message["params"]["exceptionDetails"].clone());
            }
            if message["id"] != id {
                continue; // an event
            }
            assert!(message["error"].is_null(), "{method}: {}", message["error"]);
            return message["result"].clone();
        }
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    pub(crate) fn eval(&mut self, expression: &str) -> Value {
        let params = json!({"expression": expression, "returnByValue": true, "awaitPromise": true});
        let result = self.call("Runtime.evaluate", params);
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// The rendered text of the first element matching `selector` ("" if none).
    pub(crate) fn text(&mut self, selector: &str) -> String {
        let js = format!(
            "document.querySelector({})?.innerText ?? ''",
            json!(selector)
        );
        self.eval(&js).as_str().unwrap_or_default().to_owned()
    }

    /// Polls until `condition` (a JavaScript expression) is true; panics after [`DEADLINE`]
    /// with `what` and the page's text.
    pub(crate) fn wait_until(&mut self, what: &str, condition: &str) {
        let start = Instant::now();
        while self.eval(condition) != json!(true) {
            if start.elapsed() > DEADLINE {
                let page = self.text("body");
                panic!("timed out after {DEADLINE:?} waiting for: {what}\n--- page ---\n{page}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the text of `selector` contains every one of `needles`.
    pub(crate) fn wait_for_text(&mut self, selector: &str, needles: &[&str]) {
        let text = format!(
            "(document.querySelector({})?.innerText ?? '')",
            json!(selector)
        );
        let all = needles
            .iter()
            .map(|n| format!("{text}.includes({})", json!(n)))
            .collect::<Vec<_>>()
            .join(" && ");
        self.wait_until(&format!("{selector} to show {needles:?}"), &all);
    }

    /// The names of the services the page shows, in order.
    pub(crate) fn services_shown(&mut self) -> Vec<String> {
        let js = "[...document.querySelectorAll('#services details.svc')].map(d => d.dataset.name)";
        serde_json::from_value(self.eval(js)).unwrap()
    }

    /// Types `text` into the input `selector` as a user would (value, then an input event).
    pub(crate) fn type_into(&mut self, selector: &str, text: &str) {
        self.eval(&format!(
            "(() => {{ const el = document.querySelector({}); el.value = {};
               el.dispatchEvent(new Event('input', {{ bubbles: true }})); }})()",
            json!(selector),
            json!(text)
        ));
    }

    /// Clicks the element `selector`.
    pub(crate) fn click(&mut self, selector: &str) {
        self.eval(&format!(
            "document.querySelector({}).click()",
            json!(selector)
        ));
    }

    /// Resizes the page to `width`×`height` CSS pixels (`phone`: a touch screen at twice
    /// the density, honouring the viewport meta tag), and writes a PNG of it to `path`.
    pub(crate) fn screenshot(&mut self, width: u32, height: u32, phone: bool, path: &Path) -> u64 {
        let metrics = json!({
            "width": width, "height": height, "mobile": phone,
            "deviceScaleFactor": if phone { 2 } else { 1 },
        });
        self.call("Emulation.setDeviceMetricsOverride", metrics);
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64_decode(shot["data"].as_str().expect("PNG data"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &png).unwrap();
        png.len() as u64
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.eval("0"); // reads the events still queued
            let errors = std::mem::take(&mut self.script_errors);
            let _ = self.child.kill();
            let _ = self.child.wait();
            assert!(errors.is_empty(), "the page threw: {errors:#?}");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads Chromium's stderr until it prints `DevTools listening on ws://…`; a thread keeps
/// draining it afterwards so the browser never blocks on a full pipe.
fn devtools_endpoint(child: &mut Child) -> String {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(DEADLINE)
        .expect("chromium prints its DevTools endpoint")
}

/// Standard base64 (with or without padding) to bytes.
fn base64_decode(text: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(digit).collect();
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    for quad in digits.chunks(4) {
        let bits = quad.iter().fold(0u32, |n, &d| n << 6 | u32::from(d)) << (6 * (4 - quad.len()));
        bytes.extend_from_slice(&bits.to_be_bytes()[1..quad.len()]);
    }
    bytes
}

/// Where screenshots for review go: `target/` of the worktree.
pub(crate) fn review_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name)
}
