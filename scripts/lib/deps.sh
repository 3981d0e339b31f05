#!/usr/bin/env bash
# Installs the Debian 12 packages Punyaka needs, only those missing
# (a no-op when everything is present). Sourced or run by scripts/run and scripts/test.
set -euo pipefail

PUNYAKA_PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libpq-dev libhiredis-dev libh2o-evloop-dev libh2o-dev-common
  libmsgpack-dev libcmocka-dev libsodium-dev libjansson-dev zlib1g-dev
  postgresql postgresql-contrib redis-server
  kcat curl wrk nghttp2-client iproute2 procps
)
# punyaka-mailer sends over SMTP with libcurl (STARTTLS, smtps, AUTH, timeouts:
# a mature client we need not write); the mail tests run Debian's aiosmtpd as
# a local SMTP sink (tests/support/smtp_sink.py).
PUNYAKA_PACKAGES+=(libcurl4-openssl-dev python3-aiosmtpd)
# bench/run.sh plots throughput and p99 against connections (docs/performance.md).
PUNYAKA_PACKAGES+=(gnuplot-nox)
# The build renders schemas/openapi.yaml as JSON (scripts/lib/openapi_json.py).
PUNYAKA_PACKAGES+=(python3 python3-yaml)
# Fuzzers (tests/fuzz, scripts/lib/fuzz.sh): Debian's clang and its libFuzzer runtime.
PUNYAKA_PACKAGES+=(clang libclang-rt-dev)
# Browser tests (tests/browser): Debian's Chromium, driven by playwright-core from npm.
# Node.js and npm only when missing: a NodeSource nodejs already bundles npm and
# conflicts with Debian's npm package.
PUNYAKA_PACKAGES+=(chromium)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PUNYAKA_PACKAGES+=(nodejs npm)
fi
# Compose v1 only validates docker-compose.yml here (no Docker engine); installed without recommends.
PUNYAKA_PACKAGES_NORECOMMENDS=(docker-compose)
# promtool (tests/sh/test_metrics_lint.sh) ships only in Debian's prometheus package;
# its server is never started here; without recommends (node exporter).
PUNYAKA_PACKAGES_NORECOMMENDS+=(prometheus)
# h2o, the server: the production profile's TLS front (deploy/tls/) runs it;
# tests/sh/test_compose.sh serves HTTPS through that very h2o.conf here.
PUNYAKA_PACKAGES_NORECOMMENDS+=(h2o)
# nginx, the cluster profile's load balancer (deploy/lb/): test_compose.sh
# routes through that very nginx.conf and health.sh here.
PUNYAKA_PACKAGES_NORECOMMENDS+=(nginx-light)

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  local missing missing_nr sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  missing=$(missing_packages "${PUNYAKA_PACKAGES[@]}" "$@")
  missing_nr=$(missing_packages "${PUNYAKA_PACKAGES_NORECOMMENDS[@]}")
  [ -z "$missing$missing_nr" ] && return 0
  echo "installing: $missing $missing_nr" >&2
  $sudo apt-get update -q >&2
  # shellcheck disable=SC2086
  [ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing >&2
  # shellcheck disable=SC2086
  [ -z "$missing_nr" ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing_nr >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  install_packages "$@"
fi
