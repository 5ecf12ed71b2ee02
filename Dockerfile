# Sidecar for users: an ordinary multi-stage build.
# (The tests never pull images: they build theirs from local files, FROM scratch.)
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked && strip target/dist/sidecar

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /sidecar
COPY --from=build /src/target/dist/sidecar /sidecar/sidecar
COPY templates /sidecar/templates
COPY static /sidecar/static
COPY config /sidecar/config
EXPOSE 7777/tcp 7946/tcp 7946/udp 7776/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/sidecar/sidecar"]
