/*
 * SHA-512 (FIPS 180-4, section 6.4), needed by Ed25519 (RFC 8032 hashes R || A || M with it).
 * The whole 80-word schedule, and the working variables as two growing arrays (a_t, e_t): on a
 * 32-bit core, moving eight 64-bit variables per round (or rotating an index into them) costs
 * code and spills; appending costs 1.3 KB of stack off Ed25519's deepest path. Cortex-M4 (-Os):
 * 886 -> 632 bytes of code, 116 -> 89 instructions per byte (bench/crypto/m4).
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
    /* a_t and e_t determine every working variable (b_t = a_(t-1), ..., h_t = e_(t-3)), so the
     * rounds only append to two arrays: no moves, fixed offsets from the round's pointers. */
    uint64_t w[80];
    uint64_t av[84];
    uint64_t ev[84];

    for (unsigned i = 0; i < 4; i++) {
        av[3 - i] = state[i];     /* a, b, c, d */
        ev[3 - i] = state[4 + i]; /* e, f, g, h */
    }
    for (size_t t = 0; t < 80; t++) {
        if (t < 16) {
            w[t] = sha512_get_be64(&block[8 * t]);
        } else {
            uint64_t w15 = w[t - 15];
            uint64_t w2 = w[t - 2];
            uint64_t s0 = sha512_rotr(w15, 1) ^ sha512_rotr(w15, 8) ^ (w15 >> 7);
            uint64_t s1 = sha512_rotr(w2, 19) ^ sha512_rotr(w2, 61) ^ (w2 >> 6);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        const uint64_t *pa = &av[t]; /* pa[3] = a, pa[2] = b, pa[1] = c, pa[0] = d */
        const uint64_t *pe = &ev[t]; /* pe[3] = e, pe[2] = f, pe[1] = g, pe[0] = h */
        uint64_t a = pa[3];
        uint64_t e = pe[3];
        uint64_t S1 = sha512_rotr(e, 14) ^ sha512_rotr(e, 18) ^ sha512_rotr(e, 41);
        uint64_t ch = (e & pe[2]) ^ (~e & pe[1]);
        uint64_t t1 = pe[0] + S1 + ch + sha2_k[t] + w[t];
        uint64_t S0 = sha512_rotr(a, 28) ^ sha512_rotr(a, 34) ^ sha512_rotr(a, 39);
        uint64_t maj = (a & pa[2]) ^ (a & pa[1]) ^ (pa[2] & pa[1]);
        av[t + 4] = t1 + S0 + maj;
        ev[t + 4] = pa[0] + t1;
    }
    for (unsigned i = 0; i < 4; i++) {
        state[i] += av[83 - i];
        state[4 + i] += ev[83 - i];
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
