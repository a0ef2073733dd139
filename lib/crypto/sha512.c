/*
 * SHA-512 (FIPS 180-4, section 6.4), needed by Ed25519 (RFC 8032 hashes R || A || M with it).
 * A 16-word ring for the message schedule; the working variables a..h stay in an array whose
 * index rotates with the round instead of being moved (178 bytes less code on the Cortex-M4).
 */
#include "sha512.h"

#include <string.h>

#include "ota_util.h"
#include "sha2_const.h"


static inline uint64_t sha512_rotr(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64u - n));
}

static uint64_t sha512_get_be64(const uint8_t *p)
{
    return ((uint64_t)ota_get_be32(p) << 32) | ota_get_be32(p + 4);
}

static void sha512_put_be64(uint8_t *p, uint64_t v)
{
    ota_put_be32(p, (uint32_t)(v >> 32));
    ota_put_be32(p + 4, (uint32_t)v);
}

static void sha512_compress(uint64_t state[8], const uint8_t block[SHA512_BLOCK_SIZE])
{
    uint64_t w[16];
    uint64_t v[8];
    memcpy(v, state, sizeof v);
    for (unsigned t = 0; t < 80; t++) {
        uint64_t wt;
        if (t < 16) {
            wt = sha512_get_be64(&block[8 * t]);
        } else {
            uint64_t w15 = w[(t - 15) & 15];
            uint64_t w2 = w[(t - 2) & 15];
            uint64_t s0 = sha512_rotr(w15, 1) ^ sha512_rotr(w15, 8) ^ (w15 >> 7);
            uint64_t s1 = sha512_rotr(w2, 19) ^ sha512_rotr(w2, 61) ^ (w2 >> 6);
            wt = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
        }
        w[t & 15] = wt;
        /* v[(i - t) & 7] is working variable i (a = 0 .. h = 7) of round t */
#define V(i) v[((i) - t) & 7u]
        uint64_t e = V(4);
        uint64_t a = V(0);
        uint64_t S1 = sha512_rotr(e, 14) ^ sha512_rotr(e, 18) ^ sha512_rotr(e, 41);
        uint64_t ch = (e & V(5)) ^ (~e & V(6));
        uint64_t t1 = V(7) + S1 + ch + sha2_k[t] + wt;
        uint64_t S0 = sha512_rotr(a, 28) ^ sha512_rotr(a, 34) ^ sha512_rotr(a, 39);
        uint64_t maj = (a & V(1)) ^ (a & V(2)) ^ (V(1) & V(2));
        V(3) += t1;
        V(7) = t1 + S0 + maj;
#undef V
    }
    for (unsigned i = 0; i < 8; i++) {
        state[i] += v[i];
    }
}

void sha512_init(struct sha512_ctx *ctx)
{
    OTA_ASSERT(ctx != NULL);
    for (size_t i = 0; i < 8; i++) {
        ctx->state[i] = sha2_iv[i];
    }
    ctx->total = 0;
    ctx->buf_len = 0;
}

void sha512_update(struct sha512_ctx *ctx, const void *data, size_t len)
{
    OTA_ASSERT(ctx != NULL && (data != NULL || len == 0));
    OTA_ASSERT(ctx->buf_len < SHA512_BLOCK_SIZE);
    const uint8_t *p = (const uint8_t *)data;

    if (len == 0) {
        return; /* data may be NULL then, and memcpy must not see it */
    }
    ctx->total += len;
    if (ctx->buf_len != 0) {
        size_t room = SHA512_BLOCK_SIZE - ctx->buf_len;
        size_t n = len < room ? len : room;
        memcpy(&ctx->buf[ctx->buf_len], p, n);
        ctx->buf_len += (uint32_t)n;
        p += n;
        len -= n;
        if (ctx->buf_len < SHA512_BLOCK_SIZE) {
            return;
        }
        sha512_compress(ctx->state, ctx->buf);
        ctx->buf_len = 0;
    }
    while (len >= SHA512_BLOCK_SIZE) {
        sha512_compress(ctx->state, p);
        p += SHA512_BLOCK_SIZE;
        len -= SHA512_BLOCK_SIZE;
    }
    if (len != 0) {
        memcpy(ctx->buf, p, len);
        ctx->buf_len = (uint32_t)len;
    }
}

void sha512_final(struct sha512_ctx *ctx, uint8_t digest[SHA512_DIGEST_SIZE])
{
    OTA_ASSERT(ctx != NULL && digest != NULL);
    OTA_ASSERT(ctx->buf_len < SHA512_BLOCK_SIZE);
    uint32_t n = ctx->buf_len;

    /*
     * FIPS 180-4 5.1.2: a 1 bit, zeros, then the 128-bit big-endian length in bits. Lengths are
     * kept in bytes in 64 bits, so the top 64 bits of the field hold only the 3 bits shifted out.
     */
    ctx->buf[n++] = 0x80u;
    if (n > SHA512_BLOCK_SIZE - 16) {
        memset(&ctx->buf[n], 0, SHA512_BLOCK_SIZE - n);
        sha512_compress(ctx->state, ctx->buf);
        n = 0;
    }
    memset(&ctx->buf[n], 0, SHA512_BLOCK_SIZE - 16 - n);
    sha512_put_be64(&ctx->buf[SHA512_BLOCK_SIZE - 16], ctx->total >> 61);
    sha512_put_be64(&ctx->buf[SHA512_BLOCK_SIZE - 8], ctx->total << 3);
    sha512_compress(ctx->state, ctx->buf);

    for (size_t i = 0; i < 8; i++) {
        sha512_put_be64(&digest[8 * i], ctx->state[i]);
    }
    /* Wipe message-derived state; sha512_init() must be called before the context is reused. */
    memset(ctx, 0, sizeof(*ctx));
}

void sha512(const void *data, size_t len, uint8_t digest[SHA512_DIGEST_SIZE])
{
    struct sha512_ctx ctx;
    sha512_init(&ctx);
    sha512_update(&ctx, data, len);
    sha512_final(&ctx, digest);
}
