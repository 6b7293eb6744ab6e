# The same images as deploy/docker/Dockerfile, for people WITHOUT a Rust
# toolchain: a builder stage compiles the static binary inside Docker. It
# needs the `rust` image from a registry (Docker Hub), so our offline CI uses
# deploy/docker/build.sh instead; the runtime stage is identical.
#
#   docker build -f deploy/docker/Dockerfile.builder --build-arg BINARY=users-service -t mythoughts/users .
#
# BINARY = users-service | thoughts-service | frontend-service | mythoughts
FROM rust:1.95-bookworm AS build
ARG BINARY
WORKDIR /src
COPY . .
RUN RUSTFLAGS='-C target-feature=+crt-static' \
      cargo build --release --locked --bin "${BINARY}" --target x86_64-unknown-linux-gnu \
 && cp "target/x86_64-unknown-linux-gnu/release/${BINARY}" /app \
 && mkdir /empty-data

FROM scratch
ARG BINARY
ARG VERSION_NAME=dev
ARG VERSION_SHA=unknown
ARG SOURCE=https://example.invalid/mythoughts
LABEL org.opencontainers.image.title="mythoughts ${BINARY}" \
      org.opencontainers.image.version="${VERSION_NAME}" \
      org.opencontainers.image.revision="${VERSION_SHA}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /empty-data /data
COPY --from=build /app /app
ENV VERSION_NAME=${VERSION_NAME} \
    VERSION_SHA=${VERSION_SHA} \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json \
    DATA_DIR=/data \
    MYTHOUGHTS_BIND=0.0.0.0 \
    MYTHOUGHTS_DATA_DIR=/data
USER 65532:65532
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/app", "--healthcheck"]
ENTRYPOINT ["/app"]
