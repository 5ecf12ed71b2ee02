#!/usr/bin/env bash
# Cluster latency (issue 5): N nodes (default 5) on 127.0.0.1..N with one gossip port, node 2
# announcing one static service checked on a local HTTP target. Per trial: node 2 started →
# its service ALIVE on every other node; after a random 0–2 s, SIGKILL node 2 → TOMBSTONE everywhere; node 2
# started again, then SIGTERM → TOMBSTONE everywhere, and → node 2 exited. Prints p50 and max as a Markdown table.
# Then the steady state: every node announcing the service, catalogues converged, the gossip
# traffic per node per second over STEADY_SECONDS (default 60) from GET /api/admin/gossip.
# Usage: scripts/bench-cluster.sh [trials] [nodes]   (debug build under $CARGO_TARGET_DIR;
# SIDECAR_BIN=path runs that binary instead, to compare two builds under the same conditions)
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-5}
NODES=${2:-5}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --quiet --bin sidecar
python3 - "$TRIALS" "$NODES" "${SIDECAR_BIN:-$TARGET_DIR/debug/sidecar}" <<'PY'
import http.server, json, os, random, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.request

trials, nodes, binary = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
steady_seconds = int(os.environ.get("STEADY_SECONDS", "60"))
rng = random.Random(int(os.environ.get("BENCH_SEED", "5")))

class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
threading.Thread(target=target.serve_forever, daemon=True).start()
work = tempfile.mkdtemp()
static = os.path.join(work, "static.json")
with open(static, "w") as f:
    json.dump([{"Service": {"Name": "bench", "Image": "bench:1", "ProxyMode": "http",
        "Ports": [{"Type": "tcp", "Port": target.server_port, "ServicePort": 9999,
                   "IP": "127.0.0.1"}]},
        "Check": {"Type": "HttpGet",
                  "Args": f"http://127.0.0.1:{target.server_port}/health"}}], f)

def free_port():
    while True:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        try:
            for n in range(1, nodes + 1):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    t = socket.socket(socket.AF_INET, kind); t.bind((f"127.0.0.{n}", port)); t.close()
            return port
        except OSError:
            pass

HTTP = 18000
def start(n, port, announcing=(2,)):
    ip = f"127.0.0.{n}"
    env = {"PATH": os.environ["PATH"], "SIDECAR_HOSTNAME": f"node-{n}",
           "SIDECAR_BIND_IP": ip, "SIDECAR_ADVERTISE_IP": ip, "SIDECAR_HTTP_BIND_IP": ip,
           "SIDECAR_HTTP_PORT": str(HTTP), "SIDECAR_BIND_PORT": str(port),
           "SIDECAR_SEEDS": f"127.0.0.1:{port}", "SIDECAR_LOGGING_LEVEL": "warn",
           "HAPROXY_DISABLE": "true", "ENVOY_USE_GRPC_API": "false",
           "SIDECAR_DISCOVERY": "static" if n in announcing else "",
           "STATIC_CONFIG_FILE": static}
    return subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

def get(n, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.{n}:{HTTP}{path}", timeout=1) as r:
            return json.load(r)
    except OSError:
        return None

def status(n, host="node-2"):
    doc = get(n, "/api/services.json") or {}
    for s in doc.get("Services", {}).get("bench") or []:
        if s["Hostname"] == host:
            return s["Status"]
    return None

def wait_all(want, since, timeout=30.0):
    others = [n for n in range(1, nodes + 1) if n != 2]
    while time.monotonic() - since < timeout:
        others = [n for n in others if status(n) != want]
        if not others:
            return time.monotonic() - since
        time.sleep(0.01)
    raise SystemExit(f"status {want} not reached everywhere in {timeout}s")

results = {"join → ALIVE everywhere": [], "SIGKILL → TOMBSTONE everywhere": [],
           "SIGTERM → TOMBSTONE everywhere": [], "SIGTERM → process exited": []}
for trial in range(trials):
    port = free_port()
    procs = {n: start(n, port) for n in range(1, nodes + 1) if n != 2}
    time.sleep(1.5)
    try:
        t = time.monotonic(); procs[2] = start(2, port)
        results["join → ALIVE everywhere"].append(wait_all(0, t))
        # A death comes at any point of the probe cycle, not always right after the join.
        time.sleep(rng.uniform(0.0, 2.0))
        t = time.monotonic(); procs[2].send_signal(signal.SIGKILL)
        results["SIGKILL → TOMBSTONE everywhere"].append(wait_all(1, t))
        procs[2].wait()
        procs[2] = start(2, port); wait_all(0, time.monotonic())
        t = time.monotonic(); procs[2].send_signal(signal.SIGTERM)
        results["SIGTERM → TOMBSTONE everywhere"].append(wait_all(1, t))
        procs[2].wait(timeout=10)
        results["SIGTERM → process exited"].append(time.monotonic() - t)
    finally:
        for p in procs.values():
            p.kill(); p.wait()

print(f"| {nodes} nodes, {trials} trials | p50 | max |")
print("|---|---|---|")
for name, xs in results.items():
    xs.sort()
    print(f"| {name} | {xs[len(xs) // 2]:.2f} s | {xs[-1]:.2f} s |")

# Steady state: every node announces "bench"; no change happens while the counters run.
everyone = range(1, nodes + 1)
port = free_port()
procs = {n: start(n, port, announcing=everyone) for n in everyone}
try:
    since = time.monotonic()
    while not all(status(n, f"node-{m}") == 0 for n in everyone for m in everyone):
        if time.monotonic() - since > 60:
            raise SystemExit("the steady-state cluster did not converge in 60 s")
        time.sleep(0.1)
    time.sleep(5)
    before = {n: get(n, "/api/admin/gossip") for n in everyone}
    time.sleep(steady_seconds)
    after = {n: get(n, "/api/admin/gossip") for n in everyone}
finally:
    for p in procs.values():
        p.kill(); p.wait()

def grew(n, *path):
    a, b = after[n], before[n]
    for key in path:
        a, b = a[key], b[key]
    return a - b

# Bytes on the wire: payload plus 28 bytes of IPv4 + UDP header per datagram; TCP payload
# only (handshakes and ACKs not counted; exchanges are rare and small in a steady cluster).
udp = sum(grew(n, "udp_sent", "bytes") + 28 * grew(n, "udp_sent", "packets") for n in everyone)
tcp = sum(grew(n, "tcp_sent_bytes") for n in everyone)
exchanges = sum(grew(n, "exchanges") for n in everyone)
in_sync = sum(grew(n, "exchanges_in_sync") for n in everyone)
broadcasts = sum(grew(n, "broadcasts") for n in everyone)
per = nodes * steady_seconds
print()
print(f"| steady state, {nodes} nodes, {steady_seconds} s, each announcing 1 service | per node |")
print("|---|---|")
print(f"| gossip sent (UDP incl. headers + TCP payload) | {(udp + tcp) / per:.0f} B/s |")
print(f"| of which UDP (SWIM) | {udp / per:.0f} B/s |")
print(f"| of which TCP (anti-entropy) | {tcp / per:.0f} B/s |")
print(f"| exchanges (in sync) | {exchanges} ({in_sync}) in all |")
print(f"| record broadcasts | {broadcasts} in all |")
PY
