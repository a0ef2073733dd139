#!/bin/sh
# Worst-case stack of the crypto library's public functions on the Cortex-M4, as the firmware
# build compiles it (arm-none-eabi-gcc -Os, same CPU flags), from GCC's -fstack-usage call graph.
# Usage: bench/crypto/stack_usage.sh [extra compiler flags, e.g. -DCRC32_NIBBLE_TABLE=0]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in sha2_const sha256 sha512 crc32 ed25519; do
    arm-none-eabi-gcc -I"$src/lib/crypto" -I"$src/include" -I"$src/lib/common" \
        -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard \
        -ffunction-sections -fdata-sections -fno-common -Os -DNDEBUG -std=c11 \
        -Wall -Wextra -Werror "$@" \
        -fstack-usage -fcallgraph-info=su -c "$src/lib/crypto/$f.c" -o "$out/$f.o"
done
python3 "$here/stack_usage.py" "$out"/*.ci -- \
    ed25519_verify ed25519_verify_buf sha256 sha256_init sha256_update sha256_final \
    sha512 sha512_update sha512_final crc32_update
