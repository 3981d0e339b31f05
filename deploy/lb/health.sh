#!/bin/sh
# health.sh — the load balancer's health-based routing: every
# PUNYAKA_LB_INTERVAL_S (2) seconds, GET /readyz of each API in
# PUNYAKA_LB_UPSTREAMS ("host:port ..."); an API that does not answer 200
# within a second is written `down` in /etc/nginx/punyaka-upstreams.conf,
# and nginx reloads when the list changed. Runs nginx in the foreground's
# stead (PID 1 here), so the container stops when nginx does.
set -eu
UPSTREAMS=${PUNYAKA_LB_UPSTREAMS:?"PUNYAKA_LB_UPSTREAMS=host:port ..."}
INTERVAL=${PUNYAKA_LB_INTERVAL_S:-2}
CONF=/etc/nginx/punyaka-upstreams.conf

# upstreams: the list as nginx reads it; all down still names them (nginx
# refuses an empty upstream block) and answers 502 until one is ready.
upstreams() {
    for u in $UPSTREAMS; do
        if curl -fsS -o /dev/null --max-time 1 "http://$u/readyz" 2>/dev/null; then
            echo "server $u max_fails=1 fail_timeout=2s;"
        else
            echo "server $u down;"
        fi
    done
}

upstreams >"$CONF"
nginx -g 'daemon off;' &
nginx_pid=$!
trap 'kill -QUIT "$nginx_pid" 2>/dev/null; wait "$nginx_pid"; exit 0' TERM INT QUIT
while kill -0 "$nginx_pid" 2>/dev/null; do
    sleep "$INTERVAL" & wait $! || true
    upstreams >"$CONF.new"
    if ! cmp -s "$CONF.new" "$CONF"; then
        mv "$CONF.new" "$CONF"
        nginx -s reload || true
    fi
done
wait "$nginx_pid"
