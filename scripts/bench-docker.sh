#!/usr/bin/env bash
# Docker discovery latency (issue 4): 20 labelled containers on the local engine; time from
# `docker run` returning to the service ALIVE in the API (its HttpGet check passing), and from
# `docker stop` returning to TOMBSTONE. Prints p50 and max of each as a Markdown table.
# Needs the Docker engine and /bin/busybox (busybox-static). Usage: scripts/bench-docker.sh [n]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
PORT=17778
IMAGE=sidecar-test-web:local
TARGET_DIR=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
prefix="bench-docker-$$"
cleanup() {
  kill "${node_pid:-}" 2>/dev/null || true
  docker ps -aq --filter "name=^${prefix}-" | xargs -r docker rm -f >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/image/www"
cp /bin/busybox "$work/image/busybox"
echo ok > "$work/image/www/index.html"
cat > "$work/image/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
COPY www /www
ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
DOCKERFILE
docker build -q -t "$IMAGE" "$work/image" >/dev/null 2>&1

cargo build --release --locked --quiet --bin sidecar
env -i PATH="$PATH" SIDECAR_DISCOVERY=docker DOCKER_URL=unix:///var/run/docker.sock \
  SIDECAR_ADVERTISE_IP=127.0.0.1 SIDECAR_HTTP_BIND_IP=127.0.0.1 SIDECAR_HTTP_PORT=$PORT \
  SIDECAR_BIND_IP=127.0.0.1 SIDECAR_BIND_PORT=0 HAPROXY_DISABLE=true ENVOY_USE_GRPC_API=false SIDECAR_LOGGING_LEVEL=warn \
  "${SIDECAR_BIN:-$TARGET_DIR/release/sidecar}" 2>"$work/node.log" & node_pid=$!

python3 - "$N" "$PORT" "$prefix" "$IMAGE" <<'PY'
import json, subprocess, sys, time, urllib.request
n, port, prefix, image = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

def status(name, sid):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/services.json", timeout=2) as r:
            doc = json.load(r)
    except OSError:
        return None
    for s in doc.get("Services", {}).get(name) or []:
        if s["ID"] == sid:
            return s["Status"]
    return None

def wait(name, sid, want, timeout=30.0):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if status(name, sid) == want:
            return time.monotonic() - start
        time.sleep(0.005)
    raise SystemExit(f"{name}: status {want} not reached in {timeout}s")

deadline = time.monotonic() + 20
while status("none", "none") is None and time.monotonic() < deadline:
    time.sleep(0.05)

run_s, stop_s, ids = [], [], []
for i in range(n):
    name = f"{prefix}-{i}"
    labels = ["-l", f"ServiceName={name}", "-l", "ServicePort_8080=8080", "-l", "HealthCheck=HttpGet",
              "-l", "HealthCheckArgs=http://{{ host }}:{{ tcp 8080 }}/index.html"]
    cid = subprocess.check_output(["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::8080",
                                   *labels, image], text=True).strip()
    run_s.append(wait(name, cid[:12], 0))
    ids.append((name, cid[:12]))
for name, sid in ids:
    subprocess.check_output(["docker", "stop", "-t", "1", name])
    stop_s.append(wait(name, sid, 1))

def row(label, xs):
    xs = sorted(xs)
    p50 = xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
    return f"| {label} | {len(xs)} | {p50 * 1000:.0f} ms | {xs[-1] * 1000:.0f} ms |"

print("| measure | containers | p50 | max |")
print("|---|---|---|---|")
print(row("`docker run` returned → ALIVE (check passing)", run_s))
print(row("`docker stop` returned → TOMBSTONE", stop_s))
PY
