/*
 * CRC-32 as used by zlib and the tutorial's headers (reflected, poly 0xEDB88320, init and final
 * XOR 0xFFFFFFFF; check value of "123456789" is 0xCBF43926). Chainable like zlib's crc32():
 * crc32_update(0, a) then crc32_update(that, b) equals the CRC of a followed by b.
 */
#ifndef CRC32_H
#define CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif
