#!/bin/sh
# health.sh — the load balancer's health-based routing: every
# PUNYAKA_LB_INTERVAL_S (2) seconds, GET /readyz of each API in
# PUNYAKA_LB_UPSTREAMS ("host:port ..."); an API that does not answer 200
# within a second is written `down` in the upstream list nginx includes,
# and nginx reloads when the list changed. It is the container's PID 1 and
# runs nginx as its child, so the container stops when nginx does.
# PUNYAKA_LB_UPSTREAMS_FILE and PUNYAKA_LB_NGINX_CONF (the image's paths by
# default) let tests/sh/test_compose.sh run it outside the image.
set -eu
UPSTREAMS=${PUNYAKA_LB_UPSTREAMS:?"PUNYAKA_LB_UPSTREAMS=host:port ..."}
INTERVAL=${PUNYAKA_LB_INTERVAL_S:-2}
CONF=${PUNYAKA_LB_UPSTREAMS_FILE:-/etc/nginx/punyaka-upstreams.conf}
NGINX_CONF=${PUNYAKA_LB_NGINX_CONF:-/etc/nginx/nginx.conf}

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
nginx -c "$NGINX_CONF" -g 'daemon off;' &
nginx_pid=$!
trap 'kill -QUIT "$nginx_pid" 2>/dev/null; wait "$nginx_pid"; exit 0' TERM INT QUIT
while kill -0 "$nginx_pid" 2>/dev/null; do
    sleep "$INTERVAL" & wait $! || true
    upstreams >"$CONF.new"
    if cmp -s "$CONF.new" "$CONF"; then
        rm -f "$CONF.new"
    else
        mv "$CONF.new" "$CONF"
        nginx -c "$NGINX_CONF" -s reload || true
    fi
done
wait "$nginx_pid"
