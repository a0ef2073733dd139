#!/bin/sh
# Flash and RAM use of the two firmware programs (arm-none-eabi-size, Berkeley format), and the
# bootloader's flash use against its region and its size goal.
# Usage: fw_size.sh FW_DIR BOOT_SIZE APP_LIMIT BOOT_TARGET
set -eu
if [ $# -ne 4 ]; then
    echo "usage: fw_size.sh FW_DIR BOOT_SIZE APP_LIMIT BOOT_TARGET" >&2
    exit 2
fi
fw=$1
boot_size=$(($2))
app_limit=$(($3))
boot_target=$(($4))
for f in "$fw/bootloader.elf" "$fw/app.elf"; do
    if [ ! -f "$f" ]; then
        echo "fw_size: $f missing (make firmware)" >&2
        exit 1
    fi
done
arm-none-eabi-size "$fw/bootloader.elf" "$fw/app.elf"
# Per section (size -A): flash holds the vector table, version record, code, constants and the
# initial values of .data (which also carries .ramfunc); RAM holds .data and .bss, plus the
# stack reserve the linker script checks.
for f in "$fw/bootloader.elf" "$fw/app.elf"; do
    case "$f" in *bootloader*) lim=$boot_size goal=$boot_target ;; *) lim=$app_limit goal=0 ;; esac
    arm-none-eabi-size -A -d "$f" | awk -v lim="$lim" -v goal="$goal" -v name="$(basename "$f")" '
        $1 == ".isr_vector" || $1 == ".app_info" || $1 == ".text" || $1 == ".ARM.exidx" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" { ram += $2 }
        $1 == ".stack_reserve" { stack = $2 }
        END {
            printf "%-16s flash %6d B of %6d B (%5.1f%%)  static RAM %6d B + stack reserve %d B\n",
                   name, flash, lim, 100.0 * flash / lim, ram, stack
            if (goal > 0) {
                d = flash - goal
                printf "%-16s flash %6d B: target %d B (%s %d B), limit %d B (%d B free)\n",
                       name, flash, goal, (d > 0) ? "over by" : "under by", (d > 0) ? d : -d,
                       lim, lim - flash
            }
        }'
done
