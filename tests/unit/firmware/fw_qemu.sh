#!/bin/sh
# Runs the real firmware binaries on QEMU's netduinoplus2 (an STM32F405: same Cortex-M4F core,
# NVIC, SysTick, USART2 and flash address; RCC, GPIO, IWDG and the flash interface are absent
# there, so the clock code takes its timeout fallback to HSI and flash is read-only) and checks
# the USART2 log.
#
#   fw_qemu.sh SCENARIO FW_DIR APP_VERSION WORK_DIR [OTAFACTORY]
#
# Scenarios:
#   boot-no-app      bootloader alone: no header, no descriptor -> stays, reason 22 (no app)
#   app              application alone, started at its entry: banner with APP_VERSION, the W5500
#                    probe's answer (no chip on QEMU's SPI1), main loop reached
#   factory          factory image: bootloader verifies the installed image and jumps to it
#                    (made here by OTAFACTORY from bootloader.bin + app.img when given, else
#                    FW_DIR/factory.hex)
#   factory-tampered factory image with one payload byte flipped: bootloader refuses to jump
#
# QEMU runs until every expected line has appeared (checked every 0.2 s, at most GUARD polls),
# then is stopped; the verdict depends only on the log, never on how long it took.
set -u
scenario=$1
fw=$2
version=$3
work=$4
otafactory=${5:-}
GUARD=${FW_QEMU_GUARD:-150}
QEMU=${QEMU:-qemu-system-arm}

mkdir -p "$work" || exit 1
log="$work/$scenario.log"
: > "$log" || exit 1

factory_hex="$fw/factory.hex"
case "$scenario" in
factory*)
    if [ -n "$otafactory" ]; then
        # One file per scenario: factory and factory-tampered run in parallel (ctest -j), and a
        # shared one could be rewritten by the other while QEMU or objcopy reads it.
        factory_hex="$work/$scenario.factory.hex"
        out="$work/$scenario.otafactory.out"
        "$otafactory" --boot "$fw/bootloader.bin" --image "$fw/app.img" --hex "$factory_hex" \
            > "$out" 2>&1 || { cat "$out"; exit 1; }
    fi
    ;;
esac

case "$scenario" in
boot-no-app)
    load="-kernel $fw/bootloader.elf"
    expect="boot: stm32-ota bootloader|boot: staying in the bootloader: |(22)"
    reject="boot: starting application"
    ;;
app)
    load="-device loader,file=$fw/app.elf,cpu-num=0"
    expect="app: stm32-ota application v$version|app: W5500 not answering|app: running"
    reject="boot:"
    ;;
factory)
    load="-device loader,file=$factory_hex"
    expect="boot: stm32-ota bootloader|boot: starting application at 0x08040000|app: stm32-ota application v$version|app: running"
    reject="staying in the bootloader"
    ;;
factory-tampered)
    # The factory image as a raw flash dump, with the byte at APP_ADDR + 0x300 (application
    # code, past the vector table and the version record) inverted.
    raw="$work/factory-tampered.bin"
    arm-none-eabi-objcopy -I ihex -O binary --gap-fill 0xff "$factory_hex" "$raw" || exit 1
    off=$((0x40000 + 0x300))
    byte=$(od -An -tu1 -j "$off" -N1 "$raw" | tr -d ' ')
    [ -n "$byte" ] || { echo "fw_qemu: factory image too short" >&2; exit 1; }
    printf "$(printf '\\%03o' $((255 - byte)))" |
        dd of="$raw" bs=1 seek="$off" count=1 conv=notrunc 2>/dev/null || exit 1
    load="-device loader,file=$raw,addr=0x08000000,force-raw=on"
    expect="boot: stm32-ota bootloader|boot: staying in the bootloader: "
    reject="boot: starting application|app: stm32-ota application"
    ;;
*)
    echo "fw_qemu: unknown scenario $scenario" >&2
    exit 2
    ;;
esac

# shellcheck disable=SC2086 # $load holds several arguments on purpose
$QEMU -M netduinoplus2 -display none -monitor none -serial null -serial "file:$log" $load \
    >"$work/$scenario.qemu.out" 2>&1 &
pid=$!

echo "$expect" | tr '|' '\n' > "$work/$scenario.expect"
echo "$reject" | tr '|' '\n' > "$work/$scenario.reject"

all_seen() {
    while IFS= read -r want; do
        grep -qF -- "$want" "$log" || return 1
    done < "$work/$scenario.expect"
    return 0
}

n=0
while ! all_seen; do
    if ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    n=$((n + 1))
    [ "$n" -ge "$GUARD" ] && break
    sleep 0.2
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

echo "---- USART2 log ($scenario) ----"
cat "$log"
echo "--------------------------------"
status=0
while IFS= read -r want; do
    if ! grep -qF -- "$want" "$log"; then
        echo "FAIL: expected line not seen: $want"
        status=1
    fi
done < "$work/$scenario.expect"
while IFS= read -r bad; do
    if grep -qF -- "$bad" "$log"; then
        echo "FAIL: unexpected line seen: $bad"
        status=1
    fi
done < "$work/$scenario.reject"
if [ "$status" -ne 0 ] && [ -s "$work/$scenario.qemu.out" ]; then
    echo "---- qemu ----"
    cat "$work/$scenario.qemu.out"
fi
[ "$status" -eq 0 ] && echo "PASS: $scenario"
exit "$status"
