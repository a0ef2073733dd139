#!/usr/bin/env bash
# make demo: one over-the-air update on the virtual board, end to end, with the real binaries.
#
#   1. version 1 is build/fw (factory.hex: bootloader + installed application); version 2 is the
#      same sources built in build/fw-v2 with the next major version, signed (app.img)
#   2. otaserver serves version 2 on the loopback (any free port)
#   3. vboard runs a fresh board from factory.hex; the application's update server address is
#      mapped onto otaserver's port; the button is pressed when the application is ready
#   4. the download (progress bar from the application's log), the reset, the bootloader's
#      install, and version 2 running; then a power cycle to show version 2 boots on its own
#
# No arguments. Exit status 0 and a last line "demo: OK, running <version>" on success; non-zero
# with "demo: FAILED: <why>" otherwise. Everything started here is stopped and every temporary file
# removed on every exit path. See docs/demo.md.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
HOST="$BUILD/host"
FW="$BUILD/fw"
FW2="$BUILD/fw-v2"
BENCHB="$BUILD/bench"
GEN=${GEN:-Ninja}

TMP=""
SERVER_PID=""
VB_PID=""

cleanup() {
    for pid in "$VB_PID" "$SERVER_PID"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    VB_PID=""
    SERVER_PID=""
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT
trap 'echo "demo: terminated" >&2; exit 143' TERM

die() {
    echo "demo: FAILED: $*" >&2
    exit 1
}

step() {
    echo
    echo "== $* =="
}

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

T0=$(now_s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ota-demo.XXXXXX") || die "cannot create a temporary directory"

for f in "$HOST/otapack" "$HOST/otaserver" "$FW/factory.hex" "$FW/app.img" "$FW/app.server.txt"; do
    [ -e "$f" ] || die "$f is missing: run 'make tools firmware' first"
done

# ---- versions ------------------------------------------------------------------------------
V1=$("$HOST/otapack" info "$FW/app.img" | awk '$1 == "version:" { print $2 }')
[ -n "$V1" ] || die "cannot read the version of $FW/app.img"
if [ -n "${DEMO_V2_VERSION:-}" ]; then
    V2=$DEMO_V2_VERSION
else
    # The next major version: its LED pattern differs (app/main.c).
    V2=$(echo "$V1" | awk -F'[.+]' '{ printf "%d.0.0+%d", $1 + 1, $4 + 1 }')
fi

step "1/5 version 2 ($V2): the same sources in $FW2"
cmake -S "$ROOT" -B "$FW2" -G "$GEN" -DCMAKE_BUILD_TYPE=MinSizeRel \
      -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/arm-none-eabi.cmake" -DOTAPACK="$HOST/otapack" \
      -DAPP_VERSION="$V2" -DAPP_TEST_VARIANTS=OFF >"$TMP/fw2-configure.log" 2>&1 ||
    { cat "$TMP/fw2-configure.log" >&2; die "configuring $FW2 failed"; }
cmake --build "$FW2" --target app_img >"$TMP/fw2-build.log" 2>&1 ||
    { tail -30 "$TMP/fw2-build.log" >&2; die "building version 2 failed"; }
IMG2="$FW2/app.img"
got=$("$HOST/otapack" info "$IMG2" | awk '$1 == "version:" { print $2 }')
[ "$got" = "$V2" ] || die "$IMG2 is version '$got', not $V2"
SIZE2=$(stat -c %s "$IMG2")
echo "version 1: $V1 ($FW/app.img, installed by factory.hex)"
echo "version 2: $V2 ($IMG2, $SIZE2 bytes, signed with the build's key)"

# ---- the virtual board, optimised: the sanitizer build in build/host emulates 5x slower ------
step "2/5 virtual board"
VBOARD=""
if cmake -S "$ROOT" -B "$BENCHB" -G "$GEN" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
         -DOTA_SANITIZE=OFF -DOTA_FW_DIR="$FW" >"$TMP/vb-configure.log" 2>&1 &&
   cmake --build "$BENCHB" --target vboard >"$TMP/vb-build.log" 2>&1; then
    VBOARD="$BENCHB/vboard"
elif [ -x "$HOST/vboard" ]; then
    echo "demo: the optimised vboard did not build (see below); using $HOST/vboard (slower)"
    tail -5 "$TMP/vb-build.log" 2>/dev/null
    VBOARD="$HOST/vboard"
else
    die "no vboard: build the host tools"
fi
echo "vboard: $VBOARD"

# Where the application looks for its server (app/app_config.h, via app/app_server_info.h).
srv=$(grep '^app_server ' "$FW/app.server.txt") || die "$FW/app.server.txt has no app_server line"
APP_HOST=$(echo "$srv" | sed -n 's/.* host="\([^"]*\)".*/\1/p')
APP_PORT=$(echo "$srv" | sed -n 's/.* port=\([0-9]*\).*/\1/p')
APP_PROTO=$(echo "$srv" | sed -n 's/.* proto=\([0-9]\).*/\1/p')
[ -n "$APP_HOST" ] && [ -n "$APP_PORT" ] && [ -n "$APP_PROTO" ] || die "cannot parse: $srv"
DNS_ARGS=()
LAN_IP="$APP_HOST"
if ! echo "$APP_HOST" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'; then
    LAN_IP=192.168.1.10
    DNS_ARGS=(--dns "$APP_HOST=$LAN_IP")
fi

# ---- server ----------------------------------------------------------------------------------
step "3/5 otaserver serving version 2 on the loopback"
"$HOST/otaserver" --image "$IMG2" --port 0 --http-port 0 >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
line=""
for _ in $(seq 1 200); do
    line=$(grep -m1 'listening' "$TMP/server.log" 2>/dev/null) && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
done
[ -n "$line" ] || { cat "$TMP/server.log" >&2; die "otaserver did not start"; }
RAW_PORT=$(echo "$line" | sed -n 's/.*raw_port=\([0-9]*\).*/\1/p')
HTTP_PORT=$(echo "$line" | sed -n 's/.*http_port=\([0-9]*\).*/\1/p')
if [ "$APP_PROTO" = 2 ]; then PORT=$HTTP_PORT; PROTO=HTTP; else PORT=$RAW_PORT; PROTO="raw TCP"; fi
echo "otaserver: $PROTO on 127.0.0.1:$PORT; the board's $APP_HOST:$APP_PORT is mapped there"

# ---- the update ------------------------------------------------------------------------------
step "4/5 board: factory image (version $V1), button pressed when ready"
FLASH="$TMP/board.flash"
LOG="$TMP/board.log"
: >"$LOG"
"$VBOARD" --flash "$FLASH" --fresh --load "$FW/factory.hex" \
    --map "$LAN_IP:$APP_PORT=$PORT" "${DNS_ARGS[@]}" \
    --press-button-on "app: running v$V1" --stop-on "app: running v$V2" \
    --timeout-ms 120000 --max-resets 4 --summary </dev/null >"$LOG" 2>&1 &
VB_PID=$!

TTY=0
[ -t 1 ] && TTY=1
bar() {
    local pct=$1 done=$2 total=$3 n
    n=$((pct * 30 / 100))
    printf '  download [%-30s] %3d%%  %s/%s bytes' "$(printf '%*s' "$n" '' | tr ' ' '#')" \
        "$pct" "$done" "$total"
}
in_bar=0
carry=""
show_line() {
    local l=$1
    case "$l" in
    *"app: download "*"% ("*)
        local pct done total
        pct=$(echo "$l" | sed -n 's/.*app: download \([0-9]*\)% (\([0-9]*\)\/\([0-9]*\) bytes).*/\1/p')
        done=$(echo "$l" | sed -n 's/.*app: download \([0-9]*\)% (\([0-9]*\)\/\([0-9]*\) bytes).*/\2/p')
        total=$(echo "$l" | sed -n 's/.*app: download \([0-9]*\)% (\([0-9]*\)\/\([0-9]*\) bytes).*/\3/p')
        if [ "$TTY" = 1 ]; then
            printf '\r'; bar "$pct" "$done" "$total"; in_bar=1
        else
            bar "$pct" "$done" "$total"; echo
        fi
        return ;;
    esac
    if [ "$in_bar" = 1 ]; then echo; in_bar=0; fi
    case "$l" in
    boot:* | app:*) echo "  | $l" ;;
    ", press B1 to update") ;; # the rest of the ready line, cut by the button message
    "[vboard"*"] reset:"* | "[vboard"*"] power cut"*)
        echo "  [board] ${l#*] } (at ${l#\[vboard}" | sed 's/ (at *\([0-9.]*\) ms\].*/ (virtual time \1 ms)/' ;;
    "[vboard"*"] button PC13 pressed"*) echo "  [board] button B1 pressed" ;;
    esac
}
while IFS= read -r l; do
    l=${l%$'\r'}
    if [ -n "$carry" ]; then l="$carry$l"; carry=""; fi
    case "$l" in
    ?*"[vboard"*)
        # A board message that arrived in the middle of a UART line: show it, keep the line.
        carry=${l%%\[vboard*}
        show_line "[vboard${l#*\[vboard}"
        continue ;;
    esac
    show_line "$l"
done < <(tail -n +1 -f --pid="$VB_PID" "$LOG")
[ "$in_bar" = 1 ] && echo
wait "$VB_PID"
rc=$?
VB_PID=""
[ "$rc" = 0 ] || { grep -E 'stopped:|result:' "$LOG" >&2; die "the update did not reach version $V2 (vboard exit $rc)"; }
grep -q "app: stm32-ota application v$V2" "$LOG" || die "version $V2 did not start"
grep -q "boot: update installed" "$LOG" || die "the bootloader did not report the install"

# Device-side figures (virtual time of the board at 180 MHz) from the logs.
t_press=$(sed -n 's/^.*\[vboard *\([0-9.]*\) ms\] button PC13 pressed.*/\1/p' "$LOG" | head -1)
t_reset=$(sed -n 's/^\[vboard *\([0-9.]*\) ms\] reset: software.*/\1/p' "$LOG" | head -1)
t_done=$(sed -n 's/^\[vboard *\([0-9.]*\) ms\] done: .*/\1/p' "$LOG" | head -1)
dl=$(grep -m1 'app: update done after' "$LOG")
dl_ms=$(echo "$dl" | sed -n 's/.*after \([0-9]*\) ms.*/\1/p')
dl_bytes=$(echo "$dl" | sed -n 's/.*(\([0-9]*\) bytes received.*/\1/p')
flash_line=$(grep -m1 '^  flash: ' "$LOG" | sed 's/^  flash: //')
w5500_line=$(grep -m1 '^  w5500: ' "$LOG" | sed 's/^  w5500: //')
vtime=$(grep -m1 '^  virtual time: ' "$LOG" | sed 's/^  virtual time: //')
[ -n "$t_press" ] && [ -n "$t_reset" ] && [ -n "$t_done" ] && [ -n "$dl_ms" ] ||
    die "the board log lacks the press, reset or download lines"

# ---- power cycle -----------------------------------------------------------------------------
step "5/5 power cycle: version $V2 boots by itself"
LOG2="$TMP/board2.log"
"$VBOARD" --flash "$FLASH" --timeout-ms 2000 --summary </dev/null >"$LOG2" 2>&1 &
VB_PID=$!
wait "$VB_PID"
rc=$?
VB_PID=""
[ "$rc" = 0 ] || die "the power-cycle run failed (vboard exit $rc)"
tr -d '\r' <"$LOG2" >"$LOG2.txt" && mv "$LOG2.txt" "$LOG2" || die "cannot read $LOG2"
grep -E '^(boot: starting application [0-9]|app: stm32-ota application|app: last update|app: running)' "$LOG2" |
    sed 's/^/  | /'
started=$(sed -n 's/^boot: starting application \([0-9][0-9.+]*\)$/\1/p' "$LOG2" | tail -1)
[ "$started" = "$V2" ] || die "after the power cycle the bootloader started '$started', not $V2"
leds=$(grep -c 'LED PA0 ' "$LOG2")
ops2=$(sed -n 's/^  flash: .*\b\([0-9][0-9]*\) operations.*/\1/p' "$LOG2")
[ "$ops2" = 0 ] || die "the plain boot wrote to flash ($ops2 operations)"
echo "  LED: $leds changes in 2 s (version 1 toggles every 200 ms; version $V2 double-blinks once a second)"

# ---- summary ---------------------------------------------------------------------------------
inst_ms=$(awk -v a="$t_reset" -v b="$t_done" 'BEGIN { printf "%.0f", b - a }')
echo
echo "demo summary (device times: the virtual board's clock, STM32F446 at 180 MHz)"
echo "  image        $V1 -> $V2, $SIZE2 bytes, $PROTO from otaserver ($APP_HOST:$APP_PORT on the board's LAN)"
echo "  download     $dl_ms ms from the press to the verified, marked image; $dl_bytes bytes received"
echo "  install      $inst_ms ms from the reset to version $V2 running (verify, copy, verify, header)"
echo "  board time   $vtime"
echo "  flash        $flash_line"
echo "  w5500        $w5500_line"
echo "  host time    $(elapsed "$T0") s for the whole demo (builds included)"
echo "demo: OK, running $V2"
