#!/bin/sh
# make-secrets.sh — the docker secrets docker-compose.yml reads, one file per
# secret, made with `openssl rand -hex 32` (hex needs no quoting in URLs,
# JAAS strings or ACL files). Never committed (.gitignore: deploy/secrets/).
#
#   deploy/make-secrets.sh [DIR]        (DIR defaults to deploy/secrets)
#
# Idempotent: a file that exists is kept, so a re-run only adds what is
# missing and never rotates a key by accident (rotation: docs/operations.md
# "Secrets"). The directory is 0700 (nobody else on the host reads it); the
# files are 0644 because compose (not swarm) bind-mounts each one into
# /run/secrets/ with its host owner and mode, and the containers run as
# other users (punyaka 10001, kafka's appuser, postgres, redis).
set -eu

dir=${1:-"$(dirname "$0")/secrets"}
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

# put NAME VALUE: writes DIR/NAME unless it exists.
put() {
    [ -e "$dir/$1" ] && return 0
    printf '%s\n' "$2" >"$dir/$1.tmp"
    chmod 0644 "$dir/$1.tmp"
    mv "$dir/$1.tmp" "$dir/$1"
    echo "made $dir/$1"
}
rand() { openssl rand -hex 32; }
value() { tr -d '\n' <"$dir/$1"; }

for name in postgres_password db_reader_password db_writer_password \
            redis_api_password redis_worker_password \
            kafka_admin_password kafka_api_password kafka_worker_password \
            kafka_replay_password kafka_operator_password \
            command_key session_key idempotency_key credential_key data_key \
            admin_password pg_replication_password; do
    put "$name" "$(rand)"
done
# The mailer's SMTP server (docs/mail.md): $SMTP_URL when set at the first
# run, else empty, which makes the mailer write .eml files instead of
# sending. Edit the file to point it at a real server.
put smtp_url "${SMTP_URL:-}"
# Verify-only key during a command-key rotation; empty means "none".
put command_key_previous ""
# The services read Redis as a URL (REDIS_URL_FILE); derived from the
# passwords above, so regenerate both together.
put redis_api_url "redis://api:$(value redis_api_password)@redis:6379"
put redis_worker_url "redis://worker:$(value redis_worker_password)@redis:6379"
