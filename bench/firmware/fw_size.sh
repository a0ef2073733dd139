#!/bin/sh
# Flash and RAM use of the two firmware programs (arm-none-eabi-size, Berkeley format), and the
# bootloader's flash use against its region. Usage: fw_size.sh FW_DIR BOOT_SIZE APP_LIMIT
set -eu
fw=$1
boot_size=$(($2))
app_limit=$(($3))
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
    case "$f" in *bootloader*) lim=$boot_size ;; *) lim=$app_limit ;; esac
    arm-none-eabi-size -A -d "$f" | awk -v lim="$lim" -v name="$(basename "$f")" '
        $1 == ".isr_vector" || $1 == ".app_info" || $1 == ".text" || $1 == ".ARM.exidx" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" { ram += $2 }
        $1 == ".stack_reserve" { stack = $2 }
        END {
            printf "%-16s flash %6d B of %6d B (%5.1f%%)  static RAM %6d B + stack reserve %d B\n",
                   name, flash, lim, 100.0 * flash / lim, ram, stack
        }'
done
