#!/bin/sh
# Start or stop a throw-away nginx serving ROOT_DIR on 127.0.0.1:PORT for tests and benchmarks.
#   nginx.sh start PORT ROOT_DIR   prints the state directory (config, pid, logs) and returns once
#                                  nginx accepts connections
#   nginx.sh stop PORT             stops it and removes the state directory
# Runs as the current user with its own prefix under ${TMPDIR:-/tmp}; nothing system-wide is used.
# NGINX_WORKERS (default 1) sets worker_processes; NGINX_ACCESS_LOG=1 keeps an access log.
set -eu

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
cmd=${1:-}
port=${2:-}

usage() {
    echo "usage: $0 start PORT ROOT_DIR | stop PORT" >&2
    exit 2
}

case "$port" in
    ''|*[!0-9]*) usage ;;
esac
state="${TMPDIR:-/tmp}/ota-nginx-$(id -u)-$port"

case "$cmd" in
start)
    root=${3:-}
    [ -n "$root" ] && [ -d "$root" ] || usage
    root=$(cd "$root" && pwd)
    [ -x "$NGINX" ] || { echo "nginx.sh: nginx not found (apt-get install nginx-light)" >&2; exit 1; }
    if [ -f "$state/nginx.pid" ] && kill -0 "$(cat "$state/nginx.pid")" 2>/dev/null; then
        echo "nginx.sh: already running on port $port ($state)" >&2
        exit 1
    fi
    rm -rf "$state"
    mkdir -p "$state/tmp"
    user_line=""
    if [ "$(id -u)" = 0 ]; then
        # As root nginx would switch its workers to 'nobody', who may not read ROOT_DIR.
        user_line="user root $(id -gn);"
    fi
    access="access_log off;"
    if [ "${NGINX_ACCESS_LOG:-0}" = 1 ]; then
        access="access_log $state/access.log;"
    fi
    cat > "$state/nginx.conf" <<CONF
$user_line
daemon on;
worker_processes ${NGINX_WORKERS:-1};
worker_rlimit_nofile 8192;
pid $state/nginx.pid;
error_log $state/error.log warn;
events {
    worker_connections 4096;
    multi_accept on;
}
http {
    $access
    client_body_temp_path $state/tmp/body;
    proxy_temp_path $state/tmp/proxy;
    fastcgi_temp_path $state/tmp/fastcgi;
    uwsgi_temp_path $state/tmp/uwsgi;
    scgi_temp_path $state/tmp/scgi;
    types { application/octet-stream img bin; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30;
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $root;
        location / { }
    }
}
CONF
    "$NGINX" -p "$state" -c "$state/nginx.conf" -e "$state/error.log" 2>"$state/start.log" || {
        cat "$state/start.log" "$state/error.log" >&2 2>/dev/null || true
        exit 1
    }
    # nginx daemonises after binding, but wait for the pid file so 'stop' always finds it. Up to
    # 30 s: the daemon writes it when it is scheduled, which on a loaded machine can take seconds.
    i=0
    while [ ! -s "$state/nginx.pid" ]; do
        i=$((i + 1))
        [ $i -le 600 ] || { echo "nginx.sh: nginx did not start" >&2; exit 1; }
        sleep 0.05
    done
    echo "$state"
    ;;
stop)
    if [ ! -f "$state/nginx.pid" ]; then
        echo "nginx.sh: not running on port $port" >&2
        rm -rf "$state"
        exit 1
    fi
    pid=$(cat "$state/nginx.pid")
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    rm -rf "$state"
    ;;
*)
    usage
    ;;
esac
