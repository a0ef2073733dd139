#!/bin/sh
# otaserver vs nginx: CONNS concurrent HTTP downloads of a 200 KB image on loopback, side by side in
# one run. A round is one loadgen run of WAVES waves of CONNS downloads against one server (about
# 1 GB, a few hundred ms); the servers take turns round by round, in rotating order, with the same
# client binary and options. Prints every round, then per server the median with the interquartile
# range (p25-p75) and the min-max over the rounds, the server's CPU time per round, its memory
# (VmHWM / VmRSS from /proc), and the ratio otaserver/nginx of the rounds run back to back (pairs
# share the machine's momentary load, so the ratio is steadier than either figure). Bounded: every
# round has a time limit.
# Like with like: otaserver is one thread with one epoll loop and nginx runs with one worker
# process configured as a user would for static files (tests/e2e/servers/nginx.sh,
# NGINX_WORKERS=1: sendfile on, tcp_nopush on, access_log off). Nothing is pinned to a CPU.
#   run.sh OTASERVER LOADGEN MKIMAGE NGINX_SH
# Environment: CONNS (1000), WAVES (5), ROUNDS (15; 41 with OTA_BENCH_LONG=1), PAYLOAD (204800
#   bytes), BASELINE=path of another otaserver binary (say, one built from an older commit): it runs
#   as a third server in the same rounds, so a before/after table shares the run conditions.
set -eu
otaserver=$1
loadgen=$2
mkimage=$3
nginx_sh=$4
conns=${CONNS:-1000}
waves=${WAVES:-5}
rounds=${ROUNDS:-15}
[ "${OTA_BENCH_LONG:-0}" = 1 ] && rounds=${ROUNDS:-41}
payload=${PAYLOAD:-204800}
baseline=${BASELINE:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/ota-bench-srv-XXXXXX")
srv_pids=""
ngx_port=""
cleanup() {
    for p in $srv_pids; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ -n "$ngx_port" ]; then NGINX_WORKERS=1 sh "$nginx_sh" stop "$ngx_port" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$mkimage" --out "$work/app.img" --size "$payload" >/dev/null
size=$(wc -c < "$work/app.img")

# start_otaserver NAME BINARY: quiet, so no server logs per request (nginx: access_log off). In a
# session of its own, as nginx (a daemon) is: with the kernel's autogroup scheduling every session
# is one group with its own share of the CPUs, so a server left in this script's session would share
# the load generator's share while nginx has one of its own (otaserver got ~25 % less MB/s than
# nginx on a loaded machine that way, at the same CPU time per round).
start_otaserver() {
    setsid "$2" --image "$work/app.img" --port 0 --http-port 0 --max-clients $((conns + 100)) \
        --quiet > "$work/$1.log" 2>&1 &
    pid=$!
    srv_pids="$srv_pids $pid"
    echo "$pid" > "$work/$1.pid"
    i=0
    while ! grep -q "listening" "$work/$1.log" 2>/dev/null; do
        i=$((i + 1)); [ $i -le 200 ] || { echo "bench: $1 did not start" >&2; exit 1; }
        sleep 0.05
    done
    sed -n 's/.*http_port=\([0-9]*\).*/\1/p' "$work/$1.log" > "$work/$1.port"
}
start_otaserver otaserver "$otaserver"
servers="otaserver nginx"
if [ -n "$baseline" ]; then
    start_otaserver baseline "$baseline"
    servers="otaserver nginx baseline"
fi

ngx_port=$("$loadgen" --free-port)
echo "$ngx_port" > "$work/nginx.port"
ln -s "$work/app.img" "$work/firmware"
ngx_state=$(NGINX_WORKERS=1 sh "$nginx_sh" start "$ngx_port" "$work")
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

echo "otaserver bench: $conns concurrent HTTP downloads of $size bytes, loopback; a round = $waves waves"
echo "of $conns, $rounds rounds per server, servers in turn;"
echo "otaserver: 1 thread; nginx: 1 worker process${baseline:+; baseline: $baseline}"
# CPU time (us) the server's processes have used: /proc/PID/schedstat counts nanoseconds, so the
# server's own cost per round is measured even when other load on the machine makes the wall-clock
# figures noisy.
cpu_us() {
    total=0
    for p in "$@"; do
        v=$(awk '{ printf "%d", $1 / 1000 }' "/proc/$p/schedstat" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
server_pids() {
    if [ "$1" = nginx ]; then ps -o pid= --ppid "$ngx_master" | tr -d ' '; else cat "$work/$1.pid"; fi
}
run() { # run WHO ROUND: one round against one server
    port=$(cat "$work/$1.port")
    pids=$(server_pids "$1")
    # shellcheck disable=SC2086
    c0=$(cpu_us $pids)
    line=$(timeout 300 "$loadgen" --port "$port" --path /firmware --conns "$conns" \
           --waves "$waves" --file "$work/app.img" --timeout 60) || { echo "bench: $1 round $2 failed: $line" >&2; exit 1; }
    # shellcheck disable=SC2086
    c1=$(cpu_us $pids)
    bytes=$(echo "$line" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
    echo "round $2 $1 $line $(awk -v a="$c0" -v b="$c1" -v n="${bytes:-0}" 'BEGIN {
        c = (b - a) / 1000; g = 0; if (c > 0) g = n / c / 1e6;
        printf "cpu_ms=%.1f GB_per_cpu_s=%.2f", c, g }')"
}
# Each server in a scheduling group of its own, the load generator in this script's.
group() { sed 's/ nice.*//; s/.*autogroup-//' "/proc/$1/autogroup" 2>/dev/null || echo "-"; }
line="autogroups: bench $(group $$)"
for who in $servers; do
    # shellcheck disable=SC2046
    set -- $(server_pids "$who")
    line="$line, $who $(group "$1") ($(cat "/proc/$1/comm" 2>/dev/null))"
done
echo "$line"
# A warm-up round each (not counted), then rounds in rotating order so no server always runs right
# after the same other server's burst of closing connections.
for who in $servers; do run "$who" 0 >/dev/null; done
# shellcheck disable=SC2086
set -- $servers
nserv=$#
for r in $(seq 1 "$rounds"); do
    k=$(( (r - 1) % nserv ))
    order=""
    j=0
    for who in $servers; do
        [ $j -ge $k ] && order="$order $who"
        j=$((j + 1))
    done
    j=0
    for who in $servers; do
        [ $j -lt $k ] && order="$order $who"
        j=$((j + 1))
    done
    for who in $order; do
        out=$(run "$who" "$r")
        echo "$out"
        echo "$who $r ${out#round * * }" >> "$work/results"
    done
done
# The raw TCP protocol (otaserver only: nginx has no equivalent).
raw_port=$(sed -n 's/.*raw_port=\([0-9]*\).*/\1/p' "$work/otaserver.log")
raw_line=$(timeout 300 "$loadgen" --raw --port "$raw_port" --conns "$conns" --waves "$waves" \
           --file "$work/app.img" --timeout 60) || { echo "bench: raw round failed: $raw_line" >&2; exit 1; }
echo "raw otaserver $raw_line"
workers=$(ps -o pid= --ppid "$ngx_master" | tr -d ' ')

values() { # the values of one field over the rounds of one server, sorted
    grep "^$1 " "$work/results" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n
}
# quantiles: "median p25-p75 min-max" of sorted values on stdin (nearest rank).
quantiles() {
    awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - -"; exit }
        printf "%s %s-%s %s-%s\n", v[int((NR + 1) / 2)], v[int((NR + 3) / 4)],
               v[NR + 1 - int((NR + 3) / 4)], v[1], v[NR] }'
}
stat() { values "$1" "$2" | quantiles; }
ratios() { # per round: field of server $1 / field of nginx, sorted
    awk -v a="$1" -v f="$2=" '
        { for (i = 3; i <= NF; i++) if (index($i, f) == 1) x = substr($i, length(f) + 1);
          if ($1 == a) s[$2] = x; else if ($1 == "nginx") n[$2] = x }
        END { for (r in s) if ((r in n) && n[r] > 0) printf "%.3f\n", s[r] / n[r] }' \
        "$work/results" | sort -n
}
echo
printf '%-13s %-8s %-16s %-16s\n' "" median "p25-p75" "min-max"
for who in $servers; do
    case "$who" in nginx) label="nginx(1w)" ;; *) label=$who ;; esac
    for f in MBps p50_ms p99_ms cpu_ms GB_per_cpu_s; do
        # shellcheck disable=SC2046
        set -- $(stat "$who" "$f")
        printf '%-13s %-8s %-16s %-16s %s\n' "$label" "$1" "$2" "$3" "$f"
    done
done
printf '%-13s %-8s %-16s %-16s\n' "" median "p25-p75" "min-max"
for who in $servers; do
    [ "$who" = nginx ] && continue
    for f in MBps cpu_ms; do
        # shellcheck disable=SC2046
        set -- $(ratios "$who" "$f" | quantiles)
        printf '%-13s %-8s %-16s %-16s %s\n' "$who/nginx" "$1" "$2" "$3" "$f ratio, same round"
    done
done
echo
printf '%-10s %10s %10s\n' server "VmHWM kB" "VmRSS kB"
for who in $servers; do
    case "$who" in
    nginx) label="nginx(1w)"; pids="$ngx_master $workers" ;;
    *) label=$who; pids=$(cat "$work/$who.pid") ;;
    esac
    # shellcheck disable=SC2086
    printf '%-10s %10s %10s\n' "$label" "$(mem VmHWM $pids)" "$(mem VmRSS $pids)"
done
field() { echo "$raw_line" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
echo "raw TCP (otaserver only, one round): $(field MBps) MB/s, p50 $(field p50_ms) ms, p99 $(field p99_ms) ms"
echo "(MB/s: image bytes over the summed wave times; p50/p99: completion time of each download from"
echo " the start of its wave; cpu_ms: the server's CPU time per round from /proc/PID/schedstat (nginx:"
echo " its worker), which other load on the machine disturbs far less than MB/s; GB_per_cpu_s: image"
echo " bytes per second of server CPU, what one core could serve if the server alone were the limit."
echo " Ratios > 1 favour otaserver for MB/s, < 1 for cpu_ms. nginx memory = master + worker;"
echo " otaserver memory includes the raw round)"
