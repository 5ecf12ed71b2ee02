#!/usr/bin/env bash
# Builds a Sidecar image from local files only (no registry is reachable here): FROM scratch,
# the binary, the shared libraries it links (as ldd lists them), busybox as /bin/sh, and the
# templates, static assets and example config, laid out as the Dockerfile lays them out.
#
#   scripts/local-image.sh [BINARY] [TAG]
#
# BINARY defaults to target/dist/sidecar (cargo build --profile dist), TAG to sidecar:local.
# The Dockerfile stays the ordinary multi-stage build for users; this is its equivalent for a
# machine that cannot pull images. Unlike the Dockerfile's image it has no HAProxy.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-target/dist/sidecar}
tag=${2:-sidecar:local}
[ -x "$binary" ] || { echo "no binary at $binary (cargo build --profile dist)" >&2; exit 2; }
[ -x /bin/busybox ] || { echo "/bin/busybox missing: apt-get install busybox-static" >&2; exit 2; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/sidecar" "$ctx/bin" "$ctx/tmp"
cp "$binary" "$ctx/sidecar/sidecar"
cp /bin/busybox "$ctx/bin/busybox"
ln -s busybox "$ctx/bin/sh"
cp -r templates static config "$ctx/sidecar/"
# Every shared library the binary needs, at the path the loader looks for it.
ldd "$binary" | grep -o '/[^ ]*' | while read -r lib; do
  cp --parents -L "$lib" "$ctx"
done
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY . /
WORKDIR /sidecar
EXPOSE 7777/tcp 7946/tcp 7946/udp 7776/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/sidecar/sidecar"]
DOCKERFILE
printf "Dockerfile\n.dockerignore\n" > "$ctx/.dockerignore"
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
