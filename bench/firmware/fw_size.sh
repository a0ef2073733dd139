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
# Flash = text + data (the initialised data and .ramfunc are stored in flash too).
arm-none-eabi-size "$fw/bootloader.elf" "$fw/app.elf" | awk -v bs="$boot_size" -v al="$app_limit" '
    NR > 1 {
        flash = $1 + $2; ram = $2 + $3
        lim = ($6 ~ /bootloader/) ? bs : al
        name = $6; sub(".*/", "", name)
        printf "%-16s flash %6d B of %6d B (%5.1f%%)  static RAM %6d B\n", name, flash, lim, 100.0 * flash / lim, ram
    }'
