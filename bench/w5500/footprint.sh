#!/bin/sh
# Flash/RAM footprint of lib/w5500 for the Cortex-M4 build (arm-none-eabi-gcc -Os), the size of
# the caller-owned state structs, and the deepest stack frame (-fstack-usage).
# Usage: footprint.sh <source root> <scratch dir>
set -eu
SRC=$1
OUT=$2
mkdir -p "$OUT"
CFLAGS="-Os -std=c11 -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard -ffunction-sections
 -fdata-sections -fstack-usage -Wall -Wextra -Werror -I$SRC/lib/w5500 -I$SRC/lib/common -I$SRC/include"
OBJS=""
for f in w5500 w5500_dhcp w5500_dns; do
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $CFLAGS -c "$SRC/lib/w5500/$f.c" -o "$OUT/$f.o"
    OBJS="$OBJS $OUT/$f.o"
done
cat > "$OUT/state_sizes.c" <<'C'
#include "w5500.h"
#include "w5500_dhcp.h"
#include "w5500_dns.h"
char sizeof_w5500_dev[sizeof(struct w5500_dev)];
char sizeof_w5500_dhcp[sizeof(struct w5500_dhcp)];
char sizeof_w5500_dns[sizeof(struct w5500_dns)];
C
# shellcheck disable=SC2086
arm-none-eabi-gcc $CFLAGS -c "$OUT/state_sizes.c" -o "$OUT/state_sizes.o"
echo "== lib/w5500 on Cortex-M4, arm-none-eabi-gcc -Os (text = flash, data+bss = static RAM)"
# shellcheck disable=SC2086
arm-none-eabi-size -t $OBJS
echo "== caller-owned state (RAM the application allocates statically)"
arm-none-eabi-nm -S -t d "$OUT/state_sizes.o" | awk '{ printf "%-22s %6d bytes\n", $4, $2 }'
echo "== deepest stack frames (bytes, -fstack-usage)"
cat "$OUT"/*.su | sort -t'	' -k2 -n -r | head -5
