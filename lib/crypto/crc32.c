/*
 * CRC-32 (zlib / IEEE 802.3, reflected polynomial 0xEDB88320). A 16-entry nibble table keeps the
 * flash cost at 64 bytes (a byte table would be 1 KB) for two look-ups per byte; the bootloader
 * only checks small headers with it, so the slower loop costs nothing that matters.
 */
#include "crc32.h"

#include "ota_util.h"

/* CRC32_NIBBLE_TABLE 1 (default): the table below, 11 instructions per byte on the Cortex-M4.
 * 0: bit at a time, no table (76 bytes less code, about 4 times slower); the bootloader's build
 * takes it (boot/CMakeLists.txt), where the CRC runs over a header and once over an installed
 * payload, next to sector erases that take seconds. */
#ifndef CRC32_NIBBLE_TABLE
#define CRC32_NIBBLE_TABLE 1
#endif
_Static_assert(CRC32_NIBBLE_TABLE == 0 || CRC32_NIBBLE_TABLE == 1, "CRC32_NIBBLE_TABLE: 0 or 1");

#if CRC32_NIBBLE_TABLE
/* crc32_nibble[i] = the CRC register after shifting the 4-bit value i through the polynomial. */
static const uint32_t crc32_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};
#endif

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
    OTA_ASSERT(data != NULL || len == 0);
    const uint8_t *p = (const uint8_t *)data;

    /* Like zlib: the running value is kept post-inverted, so 0 starts a new CRC and results chain. */
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
#if CRC32_NIBBLE_TABLE
        crc = (crc >> 4) ^ crc32_nibble[crc & 0x0fu];
        crc = (crc >> 4) ^ crc32_nibble[crc & 0x0fu];
#else
        for (unsigned b = 0; b < 8u; b++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
#endif
    }
    return ~crc;
}
