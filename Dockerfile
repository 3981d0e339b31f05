# Punyaka image: punyaka-api, punyaka-worker, punyaka-notifier, punyaka-mailer, punyaka-migrate
# (and the other production tools) on Debian 12. Used by docker-compose.yml; one image, the
# service's `command` picks the process. punyaka-devkafka (the librdkafka mock
# cluster) is deliberately left out: production talks to real Kafka.
#
#   docker build -t punyaka:latest .

# ---- build -----------------------------------------------------------------
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libpq-dev libhiredis-dev libh2o-evloop-dev libh2o-dev-common \
      libmsgpack-dev libcmocka-dev libsodium-dev libjansson-dev zlib1g-dev \
      libcurl4-openssl-dev \
      python3 python3-yaml \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# Build and install exactly as tests/sh/test_install.sh checks: the CMake
# install() rules (CMakeLists.txt) choose what ships — the production
# programs in /out/bin (not the dev-only mock Kafka, not the tests) and the
# migrations, web UI and OpenAPI document in /out/share/punyaka.
RUN cmake -S /src -B /src/build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /src/build -j"$(nproc)" \
 && ctest --test-dir /src/build -R '^unit\.' --output-on-failure \
 && cmake --install /src/build --prefix /out --strip

# ---- runtime ---------------------------------------------------------------
FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libpq5 libhiredis0.14 libh2o-evloop0.13 libmsgpackc2 libsodium23 libjansson4 \
      libcurl4 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin punyaka \
 && mkdir -p /var/lib/punyaka/outbox \
 && chown punyaka:punyaka /var/lib/punyaka/outbox && chmod 0700 /var/lib/punyaka/outbox

COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/share/punyaka/ /usr/share/punyaka/

# Fail the build, not the first start, if a runtime library is missing.
RUN ! ldd /usr/local/bin/punyaka-* | grep 'not found'

ENV PUNYAKA_MIGRATIONS_DIR=/usr/share/punyaka/migrations \
    PUNYAKA_WEB_ROOT=/usr/share/punyaka/web \
    PUNYAKA_OPENAPI_FILE=/usr/share/punyaka/openapi.yaml \
    PUNYAKA_MAIL_TEMPLATES=/usr/share/punyaka/mail-templates \
    PUNYAKA_HTTP_PORT=8080

USER punyaka:punyaka
WORKDIR /usr/share/punyaka
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["punyaka-api"]
