# Sourced by the bench scripts: starts one node on $IP:$PORT (HTTP) with the 200 static
# services of "$work/static.json", its log in "$work/node.log", and waits until all are
# ALIVE (at most 10 s) and 2 s more. Sets node_pid.
# Usage: start_bench_node BINARY GOSSIP_PORT [VAR=value…]
start_bench_node() {
  local bin=$1 gossip_port=$2; shift 2
  env -i PATH="$PATH" SIDECAR_DISCOVERY=static STATIC_CONFIG_FILE="$work/static.json" \
    SIDECAR_ADVERTISE_IP="$IP" SIDECAR_HTTP_BIND_IP="$IP" SIDECAR_HTTP_PORT="$PORT" \
    SIDECAR_BIND_IP="$IP" SIDECAR_BIND_PORT="$gossip_port" ENVOY_USE_GRPC_API=false \
    SIDECAR_HOSTNAME=bench HAPROXY_DISABLE=true SIDECAR_LOGGING_LEVEL=warn "$@" \
    "$bin" 2>"$work/node.log" & node_pid=$!
  local n
  for _ in $(seq 1 100); do
    n=$(curl -sf "http://$IP:$PORT/api/state.json" | grep -o '"Status":0' | wc -l || true)
    [ "$n" -ge 200 ] && break; sleep 0.1
  done
  sleep 2
}
