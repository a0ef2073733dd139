#!/bin/sh
# otaserver vs nginx (1 worker, sendfile): CONNS concurrent HTTP downloads of a 200 KB image on
# loopback, ROUNDS rounds each, alternating; prints each round and a table of medians with the
# servers' memory (VmHWM / VmRSS from /proc). Bounded: every round has a time limit.
#   run.sh OTASERVER LOADGEN MKIMAGE NGINX_SH
# Environment: CONNS (1000), ROUNDS (5; 15 with OTA_BENCH_LONG=1), PAYLOAD (204800 bytes).
set -eu
otaserver=$1
loadgen=$2
mkimage=$3
nginx_sh=$4
conns=${CONNS:-1000}
rounds=${ROUNDS:-5}
[ "${OTA_BENCH_LONG:-0}" = 1 ] && rounds=${ROUNDS:-15}
payload=${PAYLOAD:-204800}

work=$(mktemp -d "${TMPDIR:-/tmp}/ota-bench-srv-XXXXXX")
srv_pid=""
ngx_port=""
cleanup() {
    if [ -n "$srv_pid" ]; then kill -TERM "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
    if [ -n "$ngx_port" ]; then sh "$nginx_sh" stop "$ngx_port" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$mkimage" --out "$work/app.img" --size "$payload" >/dev/null
size=$(wc -c < "$work/app.img")

# otaserver: quiet, so both servers log nothing per request (nginx: access_log off).
"$otaserver" --image "$work/app.img" --port 0 --http-port 0 --max-clients $((conns + 100)) \
    --quiet > "$work/otaserver.log" 2>&1 &
srv_pid=$!
i=0
while ! grep -q "listening" "$work/otaserver.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 200 ] || { echo "bench: otaserver did not start" >&2; exit 1; }
    sleep 0.05
done
srv_port=$(sed -n 's/.*http_port=\([0-9]*\).*/\1/p' "$work/otaserver.log")

ngx_port=$("$loadgen" --free-port)
ln -s "$work/app.img" "$work/firmware"
ngx_state=$(sh "$nginx_sh" start "$ngx_port" "$work")
ngx_master=$(cat "$ngx_state/nginx.pid")

# kB of a field of /proc/PID/status summed over the given pids.
mem() {
    field=$1; shift
    total=0
    for p in "$@"; do
        v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

echo "otaserver bench: $conns concurrent HTTP downloads of $size bytes, $rounds rounds, loopback"
run() { # run WHO ROUND: one round against one server
    if [ "$1" = otaserver ]; then port=$srv_port; else port=$ngx_port; fi
    line=$(timeout 120 "$loadgen" --port "$port" --path /firmware --conns "$conns" \
           --file "$work/app.img" --timeout 90) || { echo "bench: $1 round $2 failed: $line" >&2; exit 1; }
    echo "round $2 $1 $line"
}
# A warm-up round each (not counted), then rounds in alternating order so neither server always
# runs right after the other's burst of closing connections.
run otaserver 0 >/dev/null
run nginx 0 >/dev/null
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="otaserver nginx"; else order="nginx otaserver"; fi
    for who in $order; do
        out=$(run "$who" "$r")
        echo "$out"
        echo "$who ${out#round * * }" >> "$work/results"
    done
done
# The raw TCP protocol (otaserver only: nginx has no equivalent).
raw_port=$(sed -n 's/.*raw_port=\([0-9]*\).*/\1/p' "$work/otaserver.log")
raw_line=$(timeout 120 "$loadgen" --raw --port "$raw_port" --conns "$conns" --file "$work/app.img" \
           --timeout 90) || { echo "bench: raw round failed: $raw_line" >&2; exit 1; }
echo "raw otaserver $raw_line"
workers=$(ps -o pid= --ppid "$ngx_master" | tr -d ' ')
srv_hwm=$(mem VmHWM "$srv_pid"); srv_rss=$(mem VmRSS "$srv_pid")
ngx_hwm=$(mem VmHWM "$ngx_master" $workers); ngx_rss=$(mem VmRSS "$ngx_master" $workers)

median() { # median of a field over the rounds of one server
    grep "^$1 " "$work/results" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
echo
printf '%-10s %10s %10s %10s %10s %14s %14s\n' server "MB/s" "p50 ms" "p99 ms" "max ms" "VmHWM kB" "VmRSS kB"
printf '%-10s %10s %10s %10s %10s %14s %14s\n' otaserver "$(median otaserver MBps)" \
    "$(median otaserver p50_ms)" "$(median otaserver p99_ms)" "$(median otaserver max_ms)" "$srv_hwm" "$srv_rss"
printf '%-10s %10s %10s %10s %10s %14s %14s\n' "nginx(1w)" "$(median nginx MBps)" \
    "$(median nginx p50_ms)" "$(median nginx p99_ms)" "$(median nginx max_ms)" "$ngx_hwm" "$ngx_rss"
field() { echo "$raw_line" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
printf '%-10s %10s %10s %10s %10s\n' "otas. raw" "$(field MBps)" "$(field p50_ms)" "$(field p99_ms)" \
    "$(field max_ms)"
echo "(HTTP: medians over $rounds rounds; raw TCP: one round. Both servers use sendfile and one"
echo " worker/thread; nginx memory = master + workers; otaserver memory includes the raw round)"
