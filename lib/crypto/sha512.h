/* SHA-512 (FIPS 180-4), used by Ed25519. Streaming; no allocation. */
#ifndef SHA512_H
#define SHA512_H

#include <stddef.h>
#include <stdint.h>

#define SHA512_DIGEST_SIZE 64
#define SHA512_BLOCK_SIZE 128

struct sha512_ctx {
    uint64_t state[8];
    uint64_t total; /* bytes hashed so far (inputs above 2^64 bits are out of scope) */
    uint8_t buf[SHA512_BLOCK_SIZE];
    uint32_t buf_len;
};

void sha512_init(struct sha512_ctx *ctx);
void sha512_update(struct sha512_ctx *ctx, const void *data, size_t len);
void sha512_final(struct sha512_ctx *ctx, uint8_t digest[SHA512_DIGEST_SIZE]);
void sha512(const void *data, size_t len, uint8_t digest[SHA512_DIGEST_SIZE]);

#endif
