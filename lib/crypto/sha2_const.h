/*
 * Constants shared by SHA-256 and SHA-512 (FIPS 180-4 4.2.2/4.2.3, 5.3.3/5.3.5). SHA-256's round
 * constants and initial hash value are the upper 32 bits of SHA-512's (both are fractional parts
 * of the cube / square roots of the same primes), so one 64-bit table serves both: 256 + 32 bytes
 * of flash fewer in a program that links both hashes (the bootloader and the application do).
 */
#ifndef SHA2_CONST_H
#define SHA2_CONST_H

#include <stdint.h>

/* Round constants: SHA-512 uses all 80, SHA-256 the upper halves of the first 64. */
extern const uint64_t sha2_k[80];
/* Initial hash value: SHA-512's, and SHA-256's in the upper halves. */
extern const uint64_t sha2_iv[8];

#endif
