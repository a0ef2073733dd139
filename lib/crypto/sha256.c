/*
 * SHA-256 (FIPS 180-4, section 6.2). Written for small code: one compression loop with the
 * message schedule kept as a 16-word ring, so the working set on the stack is 64 bytes of
 * schedule plus 8 state words.
 */
#include "sha256.h"

#include <string.h>

#include "ota_util.h"

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

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
        uint32_t t1 = h + S1 + ch + sha256_k[t] + wt;
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
    /* FIPS 180-4 5.3.3. */
    ctx->state[0] = 0x6a09e667u;
    ctx->state[1] = 0xbb67ae85u;
    ctx->state[2] = 0x3c6ef372u;
    ctx->state[3] = 0xa54ff53au;
    ctx->state[4] = 0x510e527fu;
    ctx->state[5] = 0x9b05688cu;
    ctx->state[6] = 0x1f83d9abu;
    ctx->state[7] = 0x5be0cd19u;
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
