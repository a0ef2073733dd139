/*
 * SHA-256 (FIPS 180-4, section 6.2). Written for small code: one compression loop with the
 * message schedule kept as a 16-word ring, so the working set on the stack is 64 bytes of
 * schedule plus 8 state words.
 */
#include "sha256.h"

#include <string.h>

#include "ota_util.h"
#include "sha2_const.h"

static inline uint32_t sha256_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void sha256_compress(uint32_t state[8], const uint8_t block[SHA256_BLOCK_SIZE])
{
    /* The whole 64-word schedule up front: 192 more bytes of stack than a 16-word ring, but no
     * index masking in the rounds: 53.7 instead of 67.7 instructions per byte on the Cortex-M4
     * (bench/crypto/m4). Not on the deepest stack path, which is Ed25519. */
    uint32_t w[64];
    for (size_t t = 0; t < 16; t++) {
        w[t] = ota_get_be32(&block[4 * t]);
    }
    for (size_t t = 16; t < 64; t++) {
        uint32_t s0 = sha256_rotr(w[t - 15], 7) ^ sha256_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = sha256_rotr(w[t - 2], 17) ^ sha256_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0];
    uint32_t b = state[1];
    uint32_t c = state[2];
    uint32_t d = state[3];
    uint32_t e = state[4];
    uint32_t f = state[5];
    uint32_t g = state[6];
    uint32_t h = state[7];

    for (size_t t = 0; t < 64; t++) {
        uint32_t wt = w[t];
        uint32_t S1 = sha256_rotr(e, 6) ^ sha256_rotr(e, 11) ^ sha256_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + (uint32_t)(sha2_k[t] >> 32) + wt;
        uint32_t S0 = sha256_rotr(a, 2) ^ sha256_rotr(a, 13) ^ sha256_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }

    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void sha256_init(struct sha256_ctx *ctx)
{
    OTA_ASSERT(ctx != NULL);
    for (size_t i = 0; i < 8; i++) {
        ctx->state[i] = (uint32_t)(sha2_iv[i] >> 32); /* FIPS 180-4 5.3.3 */
    }
    ctx->total = 0;
    ctx->buf_len = 0;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
    OTA_ASSERT(ctx != NULL && (data != NULL || len == 0));
    OTA_ASSERT(ctx->buf_len < SHA256_BLOCK_SIZE);
    const uint8_t *p = (const uint8_t *)data;

    if (len == 0) {
        return; /* data may be NULL then, and memcpy must not see it */
    }
    ctx->total += len;
    if (ctx->buf_len != 0) {
        size_t room = SHA256_BLOCK_SIZE - ctx->buf_len;
        size_t n = len < room ? len : room;
        memcpy(&ctx->buf[ctx->buf_len], p, n);
        ctx->buf_len += (uint32_t)n;
        p += n;
        len -= n;
        if (ctx->buf_len < SHA256_BLOCK_SIZE) {
            return;
        }
        sha256_compress(ctx->state, ctx->buf);
        ctx->buf_len = 0;
    }
    /* Whole blocks straight from the caller's buffer: no copy. */
    while (len >= SHA256_BLOCK_SIZE) {
        sha256_compress(ctx->state, p);
        p += SHA256_BLOCK_SIZE;
        len -= SHA256_BLOCK_SIZE;
    }
    if (len != 0) {
        memcpy(ctx->buf, p, len);
        ctx->buf_len = (uint32_t)len;
    }
}

void sha256_final(struct sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_SIZE])
{
    OTA_ASSERT(ctx != NULL && digest != NULL);
    OTA_ASSERT(ctx->buf_len < SHA256_BLOCK_SIZE);
    uint64_t bits = ctx->total << 3;
    uint32_t n = ctx->buf_len;

    /* FIPS 180-4 5.1.1: a 1 bit, zeros, then the 64-bit big-endian length in bits. */
    ctx->buf[n++] = 0x80u;
    if (n > SHA256_BLOCK_SIZE - 8) {
        memset(&ctx->buf[n], 0, SHA256_BLOCK_SIZE - n);
        sha256_compress(ctx->state, ctx->buf);
        n = 0;
    }
    memset(&ctx->buf[n], 0, SHA256_BLOCK_SIZE - 8 - n);
    ota_put_be32(&ctx->buf[SHA256_BLOCK_SIZE - 8], (uint32_t)(bits >> 32));
    ota_put_be32(&ctx->buf[SHA256_BLOCK_SIZE - 4], (uint32_t)bits);
    sha256_compress(ctx->state, ctx->buf);

    for (size_t i = 0; i < 8; i++) {
        ota_put_be32(&digest[4 * i], ctx->state[i]);
    }
    /* Wipe message-derived state; sha256_init() must be called before the context is reused. */
    memset(ctx, 0, sizeof(*ctx));
}

void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_SIZE])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, data, len);
    sha256_final(&ctx, digest);
}
