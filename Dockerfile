# stackwatch in one container: build with the pinned Rust toolchain, run as a non-root user
# on a slim Debian with the database in the /data volume.

FROM rust:1.95-slim-bookworm AS build
# make builds the jemalloc allocator (the image has the C compiler already).
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
COPY config config
RUN cargo build --release --locked && strip target/release/stackwatch

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin stackwatch \
    && mkdir -p /data && chown stackwatch:stackwatch /data
COPY --from=build /src/target/release/stackwatch /usr/local/bin/stackwatch
ENV STACKWATCH_LISTEN=0.0.0.0:8080 \
    STACKWATCH_DATA_DIR=/data
USER stackwatch
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["stackwatch", "healthcheck"]
ENTRYPOINT ["stackwatch"]
CMD ["serve"]
