# syntax=docker/dockerfile:1
# xbot-redis runner for Railway: a small image with just the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p xbot-redis \
 && strip target/release/xbot-redis

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 xbot
COPY --from=build /src/target/release/xbot-redis /usr/local/bin/xbot-redis
USER xbot
ENV PORT=8080
EXPOSE 8080
# SIGTERM (Railway's stop signal) drains in-flight items before exit.
STOPSIGNAL SIGTERM
CMD ["xbot-redis", "worker"]
